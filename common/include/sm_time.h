/*
 * sm_time.h - wall-clock times as text, both ways: the ISO 8601 form the
 * project writes (log lines, smctl inspect) and the two forms AWS answers
 * with (ISO 8601 in JSON and XML bodies and credentials, RFC 1123 in HTTP
 * headers).  The clocks themselves are sm_time_mono_ms() and
 * sm_time_wall_ms() in sm_loop.h.
 */
#ifndef SM_TIME_H
#define SM_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Bytes sm_time_format() needs: "2026-11-28T19:20:53.500Z" and its NUL. */
#define SM_TIME_FMT_SIZE 32

/*
 * Write `ms` (wall-clock ms since the epoch) as UTC ISO 8601 with
 * milliseconds, "2026-11-28T19:20:53.500Z", into buf; 0 or less (no
 * time) and times past the year 9999 are written as "-".  Returns buf.
 */
const char *sm_time_format(char *buf, size_t size, int64_t ms);

/*
 * Parse a UTC time into wall-clock ms since the epoch:
 *   ISO 8601   "2009-10-12T17:50:30Z", "2009-10-12T17:50:30.000Z" (any
 *              number of fraction digits, ms kept), "...+00:00";
 *   RFC 1123   "Wed, 12 Oct 2009 17:50:00 GMT".
 * No other offset, nothing after the time, years 1970 to 9999.  Returns 0,
 * or SM_EPARSE (*ms untouched); NULL is SM_EPARSE.  No time zone or locale
 * is consulted.
 */
int sm_time_parse(const char *s, int64_t *ms);

#endif
