/*
 * fl_private.h - what the files of fleet/ share: the handle's body and the
 * error translation.
 */
#ifndef FL_PRIVATE_H
#define FL_PRIVATE_H

#include "fleet.h"

struct rt;
struct tp;
struct tp_result;

struct fl {
	struct rt *rt;
	struct tp *tp;
	char *bucket;
	int64_t timeout_ms;
	fl_progress_fn *progress;
	void *progress_arg;
	struct fl_stats_io io;
};

/*
 * A transport failure `r` of `what` ("list 2024/01/02/") as a message that
 * says what to do: no credentials, no such bucket, access denied, the
 * endpoint unreachable, a timeout; else the transport's own message.
 * Returns the code (sm_error_set).
 */
int fl__tp_error(struct fl *fl, int code, const char *err_code, const char *message,
    const char *what, struct sm_error *err);

/* "YYYY-MM-DD" of a parsed name into out[11]. */
void fl__name_date(const struct fl_name *n, char out[11]);

#endif
