/*
 * smctl_timeout.c - the value of `smctl simulate --timeout`: a duration in
 * the project's one syntax (common/sm_duration.h), or, as the option took
 * before, a bare number of seconds.  A function of its own so that the
 * duration test (test/engine/test_durations.c) checks it with every other
 * path that reads a duration.
 */
#include "smctl.h"

#include "sm_duration.h"
#include "sm_err.h"

int
smctl_timeout_parse(const char *arg, int64_t *ms)
{
	int64_t v;
	int rc = sm_duration_parse_bare(arg, 1000, &v);

	if (rc != 0)
		return rc;
	if (v < 1 || v > SMCTL_TIMEOUT_MAX_MS)
		return SM_ERANGE;
	*ms = v;
	return 0;
}
