/*
 * sm_duration.h - the one duration syntax of the project: <send delay>,
 * the value of a delayexpr, sm:delay / sm:max-delay, configuration files
 * (file, SMD_<KEY>, -o) and command line options all go through
 * sm_duration_parse() (or sm_duration_parse_bare()), and durations are
 * printed back with sm_duration_format().
 *
 * Grammar (docs/machine-format.md, "Durations"):
 *
 *     duration = number unit
 *     number   = digits [ "." digits ] | "." digits
 *     unit     = "ms" | "s" | "m" | "h"      (milliseconds, seconds,
 *                                             minutes, hours; lower case)
 *
 * "2s", "1.5s", ".5s", "500ms", "0s", "5m", "1.5h".  Nothing else: no
 * spaces, no sign, no exponent, no "1." without digits after the dot, no
 * unit-less number (not even "0"), no other unit, at most
 * SM_DURATION_MAX_LEN bytes.
 *
 * Rounding: the value is computed exactly (no floating point) and a
 * fraction of a millisecond rounds UP, so a delay is never shorter than
 * written ("1.4ms" is 2 ms, "0.0001s" is 1 ms).
 *
 * Range: at most SM_DURATION_MAX_MS (366 days) after rounding.
 */
#ifndef SM_DURATION_H
#define SM_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define SM_DURATION_MAX_MS ((int64_t)366 * 24 * 3600 * 1000) /* a (leap) year */
#define SM_DURATION_MAX_LEN 32                                 /* bytes */

/* What to tell a user whose duration was refused (for messages). */
#define SM_DURATION_HINT \
	"write e.g. \"2s\", \"1.5s\", \".5s\", \"500ms\", \"5m\" or \"1h\" (at most 366 days)"

/*
 * Parse the NUL-terminated `s` (NULL is refused).  Returns 0 and sets *ms;
 * SM_EINVAL when the syntax is wrong (or longer than SM_DURATION_MAX_LEN);
 * SM_ERANGE when the value exceeds SM_DURATION_MAX_MS.  On failure *ms is
 * untouched.
 */
int sm_duration_parse(const char *s, int64_t *ms);

/* The same for the `n` bytes at `s` (need not be NUL-terminated; an
 * embedded NUL is a syntax error). */
int sm_duration_parse_n(const char *s, size_t n, int64_t *ms);

/*
 * The same as sm_duration_parse(), except that a number without a unit
 * ("30", "1.5": the grammar's `number`, nothing else) is taken in units of
 * `bare_unit_ms` (1 ms to 1 h; SM_EINVAL otherwise), rounded up in the
 * same way.  For a command-line option documented as a bare count of
 * seconds before it took durations (smctl simulate --timeout).
 */
int sm_duration_parse_bare(const char *s, int64_t bare_unit_ms, int64_t *ms);

/*
 * Write `ms` (0 to SM_DURATION_MAX_MS) into buf in the largest unit that
 * holds it whole ("2h", "90s", "1500ms", "0s"): text sm_duration_parse()
 * reads back to the same value.  SM_DURATION_FMT_SIZE bytes are always
 * enough.  Returns buf.
 */
#define SM_DURATION_FMT_SIZE 24
const char *sm_duration_format(char *buf, size_t size, int64_t ms);

#endif
