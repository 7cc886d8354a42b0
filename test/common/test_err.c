/* test_err.c - the error table and struct sm_error. */
#include <errno.h>

#include "sm_err.h"
#include "tap.h"

int
main(void)
{
	struct sm_error err;
	int rc;

	plan_no_plan();
	is_str(sm_strerror(SM_ENOMEM), "out of memory", "strerror of ENOMEM");
	is_str(sm_errname(SM_ENOTFOUND), "SM_ENOTFOUND", "errname of ENOTFOUND");
	is_str(sm_strerror(12345), "unknown error", "unknown code");
	ok(SM_EBUG < 0 && SM_ENOMEM < 0, "codes are negative");
	sm_error_clear(&err);
	errno = EACCES;
	rc = sm_error_set(&err, SM_EIO, "cannot read '%s'", "x.scxml");
	is_int(rc, SM_EIO, "sm_error_set returns the code");
	is_int(errno, EACCES, "errno preserved");
	is_str(err.msg, "cannot read 'x.scxml'", "message formatted");
	sm_error_prefix(&err, "loading %s", "m");
	is_str(err.msg, "loading m: cannot read 'x.scxml'", "prefix added");
	is_int(sm_error_set(NULL, SM_EINVAL, "x"), SM_EINVAL, "NULL error struct allowed");
	is_int(sm_error_from_errno(ENOENT), SM_ENOTFOUND, "ENOENT -> NOTFOUND");
	is_int(sm_error_from_errno(ENOSPC), SM_EFULL, "ENOSPC -> FULL");
	return done_testing();
}
