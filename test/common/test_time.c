/* test_time.c - times as text (common/sm_time.h): the ISO 8601 form the
 * project writes, and the ISO 8601 and RFC 1123 forms AWS answers with. */
#include <string.h>

#include "sm_err.h"
#include "sm_time.h"
#include "tap.h"

static void
test_parse(void)
{
	int64_t ms = -1;

	/* RFC 1123, as in HTTP headers (Date, Last-Modified) */
	is_int(sm_time_parse("Wed, 12 Oct 2009 17:50:00 GMT", &ms), 0, "RFC 1123 parses");
	is_int(ms, 1255369800000LL, "RFC 1123 value");
	ok(sm_time_parse("Wed, 12 Foo 2009 17:50:00 GMT", &ms) != 0, "bad month refused");
	ok(sm_time_parse("Wed, 12 Oct 2009 17:50:00 GMT trailing", &ms) != 0,
	    "trailing garbage refused");
	ok(sm_time_parse("Wed, 12 Oct 2009 17:50:00", &ms) != 0, "no GMT refused");
	ok(sm_time_parse("Wed, 12 Oct 1969 17:50:00 GMT", &ms) != 0, "before 1970 refused");
	/* ISO 8601, as in listings and credentials */
	is_int(sm_time_parse("1970-01-01T00:00:00.000Z", &ms), 0, "epoch parses");
	is_int(ms, 0, "epoch is 0");
	is_int(sm_time_parse("2026-11-28T19:20:53.5Z", &ms), 0, "one-digit fraction parses");
	is_int(ms % 1000, 500, "fraction .5 = 500 ms");
	is_int(sm_time_parse("2015-08-30T12:36:00Z", &ms), 0, "credentials' Expiration parses");
	is_int(ms, 1440938160000LL, "its value");
	is_int(sm_time_parse("2015-08-30T12:36:00.123456Z", &ms), 0, "six fraction digits");
	is_int(ms, 1440938160123LL, "ms kept, the rest dropped");
	is_int(sm_time_parse("2015-08-30T12:36:00+00:00", &ms), 0, "+00:00 parses");
	is_int(ms, 1440938160000LL, "as Z");
	is_int(sm_time_parse("2015-08-30T12:36:00+02:00", &ms), SM_EPARSE, "other offsets refused");
	is_int(sm_time_parse("2015-08-30 12:36:00", &ms), SM_EPARSE, "space for T refused");
	is_int(sm_time_parse("2009-10-12T17:50:30", &ms), SM_EPARSE, "no zone refused");
	is_int(sm_time_parse("2009-10-12T17:50:30.Z", &ms), SM_EPARSE, "empty fraction refused");
	is_int(sm_time_parse("2009-13-12T17:50:30Z", &ms), SM_EPARSE, "month 13 refused");
	is_int(sm_time_parse("2009-10-12T25:50:30Z", &ms), SM_EPARSE, "hour 25 refused");
	is_int(sm_time_parse("10000-01-01T00:00:00Z", &ms), SM_EPARSE, "year 10000 refused");
	is_int(sm_time_parse("", &ms), SM_EPARSE, "empty refused");
	is_int(sm_time_parse(NULL, &ms), SM_EPARSE, "NULL refused");
	is_int(ms, 1440938160000LL, "refusals leave *ms alone");
}

static void
test_format(void)
{
	char b[SM_TIME_FMT_SIZE];
	int64_t back = -1;

	is_str(sm_time_format(b, sizeof(b), 1440938160123LL), "2015-08-30T12:36:00.123Z",
	    "ms since the epoch as ISO 8601 UTC");
	is_str(sm_time_format(b, sizeof(b), 1000), "1970-01-01T00:00:01.000Z", "one second in");
	is_str(sm_time_format(b, sizeof(b), 0), "-", "0 is no time");
	is_str(sm_time_format(b, sizeof(b), -5), "-", "a negative time is no time");
	is_str(sm_time_format(b, sizeof(b), 253402300800000LL), "-", "past 9999 is no time");
	is_str(sm_time_format(b, sizeof(b), 253402300799999LL), "9999-12-31T23:59:59.999Z",
	    "the last ms of 9999");
	is_int(sm_time_parse(sm_time_format(b, sizeof(b), 1255369800042LL), &back), 0,
	    "what is written parses back");
	is_int(back, 1255369800042LL, "to the same ms");
}

int
main(void)
{
	plan_no_plan();
	test_parse();
	test_format();
	return done_testing();
}
