#include "sm_duration.h"

#include <stdio.h>
#include <string.h>

#include "sm_err.h"

/* Fraction digits that take part in the exact product; any later non-zero
 * digit only means "round up" (it adds less than 3.6e6 / 1e9 ms). */
#define FRAC_DIGITS 9
#define FRAC_SCALE 1000000000LL

/* The grammar, with `bare` the unit (ms) of a number without one; 0: a
 * unit is required. */
static int
parse(const char *s, size_t n, int64_t bare, int64_t *ms)
{
	size_t i = 0, idig = 0, fdig = 0;
	int64_t ipart = 0, fpart = 0, unit, total, fms;
	int tail = 0;

	if (s == NULL || n == 0 || n > SM_DURATION_MAX_LEN)
		return SM_EINVAL;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, idig++) {
		/* the length limit keeps this far below INT64_MAX; clamp anyway */
		if (ipart <= SM_DURATION_MAX_MS)
			ipart = ipart * 10 + (s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, fdig++) {
			if (fdig < FRAC_DIGITS)
				fpart = fpart * 10 + (s[i] - '0');
			else if (s[i] != '0')
				tail = 1;
		}
		if (fdig == 0)
			return SM_EINVAL; /* "1.s", ".s" */
	}
	if (idig == 0 && fdig == 0)
		return SM_EINVAL;
	if (n - i == 2 && s[i] == 'm' && s[i + 1] == 's')
		unit = 1;
	else if (n - i == 1 && s[i] == 's')
		unit = 1000;
	else if (n - i == 1 && s[i] == 'm')
		unit = 60 * 1000;
	else if (n - i == 1 && s[i] == 'h')
		unit = 3600 * 1000;
	else if (n == i && bare > 0)
		unit = bare;
	else
		return SM_EINVAL;
	for (; fdig < FRAC_DIGITS; fdig++)
		fpart *= 10;
	/* fpart / 1e9 of a unit, in ms, rounded up: fpart * unit < 3.6e15 */
	fms = fpart * unit / FRAC_SCALE;
	if ((fpart * unit) % FRAC_SCALE != 0 || tail)
		fms++;
	if (ipart > (SM_DURATION_MAX_MS - fms) / unit)
		return SM_ERANGE;
	total = ipart * unit + fms;
	if (total > SM_DURATION_MAX_MS)
		return SM_ERANGE;
	*ms = total;
	return 0;
}

int
sm_duration_parse_n(const char *s, size_t n, int64_t *ms)
{
	return parse(s, n, 0, ms);
}

int
sm_duration_parse(const char *s, int64_t *ms)
{
	if (s == NULL)
		return SM_EINVAL;
	return parse(s, strnlen(s, SM_DURATION_MAX_LEN + 1), 0, ms);
}

int
sm_duration_parse_bare(const char *s, int64_t bare_unit_ms, int64_t *ms)
{
	if (s == NULL || bare_unit_ms < 1 || bare_unit_ms > 3600 * 1000)
		return SM_EINVAL;
	return parse(s, strnlen(s, SM_DURATION_MAX_LEN + 1), bare_unit_ms, ms);
}

const char *
sm_duration_format(char *buf, size_t size, int64_t ms)
{
	const int64_t s = 1000, m = 60 * s, h = 60 * m;

	if (ms != 0 && ms % h == 0)
		snprintf(buf, size, "%lldh", (long long)(ms / h));
	else if (ms != 0 && ms % m == 0)
		snprintf(buf, size, "%lldm", (long long)(ms / m));
	else if (ms % s == 0)
		snprintf(buf, size, "%llds", (long long)(ms / s));
	else
		snprintf(buf, size, "%lldms", (long long)ms);
	return buf;
}
