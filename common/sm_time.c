#include "sm_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sm_err.h"

const char *
sm_time_format(char *buf, size_t size, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
		snprintf(buf, size, "-");
		return buf;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

/* Howard Hinnant's algorithm: days since 1970-01-01 (no timegm, no TZ). */
static int
days_from_civil(int y, int m, int d, int64_t *out)
{
	int64_t era, yoe, doy, doe;

	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = era * 146097 + doe - 719468;
	return 0;
}

static int
ms_from_parts(int y, int mo, int d, int h, int mi, int s, int ms, int64_t *out)
{
	int64_t days;

	if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || ms < 0 || ms > 999 ||
	    y < 1970 || y > 9999 || days_from_civil(y, mo, d, &days) != 0)
		return SM_EPARSE;
	*out = ((days * 86400) + h * 3600 + mi * 60 + s) * 1000 + ms;
	return 0;
}

int
sm_time_parse(const char *s, int64_t *ms_out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int y, mo, d, h, mi, sec, ms = 0, n = 0;
	char mon[4], frac[16];
	const char *p;

	if (s == NULL)
		return SM_EPARSE;
	/* ISO 8601: 2009-10-12T17:50:30.000Z */
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6) {
		p = s + n;
		if (*p == '.') {
			size_t k = 0;
			p++;
			while (p[k] >= '0' && p[k] <= '9' && k < sizeof(frac) - 1) {
				frac[k] = p[k];
				k++;
			}
			if (k == 0)
				return SM_EPARSE;
			frac[k] = '\0';
			p += k;
			while (*p >= '0' && *p <= '9')
				p++;
			ms = (frac[0] - '0') * 100 + (k > 1 ? (frac[1] - '0') * 10 : 0) +
			    (k > 2 ? frac[2] - '0' : 0);
		}
		if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
			return SM_EPARSE;
		return ms_from_parts(y, mo, d, h, mi, sec, ms, ms_out);
	}
	/* RFC 1123: Wed, 12 Oct 2009 17:50:00 GMT */
	if ((p = strchr(s, ',')) == NULL)
		return SM_EPARSE;
	if (sscanf(p + 1, " %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &h, &mi, &sec, &n) != 6 ||
	    p[1 + n] != '\0')
		return SM_EPARSE;
	for (mo = 0; mo < 12; mo++)
		if (strncmp(months + mo * 3, mon, 3) == 0)
			break;
	if (mo == 12 || strlen(mon) != 3)
		return SM_EPARSE;
	return ms_from_parts(y, mo + 1, d, h, mi, sec, 0, ms_out);
}
