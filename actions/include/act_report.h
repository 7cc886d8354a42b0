/*
 * act_report.h - the messages smd sends (SPEC section 5).
 *
 *   report          params {"queue": NAME, "body": TEXT}: send TEXT as is;
 *                   or {"queue": NAME, "progress": 0 | N | "finished" |
 *                   "failed", "msg": {"task_id", "server_name", "site"},
 *                   "error": TEXT}: a progress message stamped now.
 *                   A null or empty queue sends nothing.  Result {"sent":
 *                   bool}.  The queue is created when missing.  Errors:
 *                   error.io (retry may help), error.execution.
 *   report_compose  params {"msg", "bucket", "keys": {"s3_key_data",
 *                   "s3_key_logs", "csv_data_key"}, "instance_log"}:
 *                   result {"body": TEXT}, the output message stamped now.
 *                   The machine keeps the text, so a resend after a crash
 *                   sends the same bytes.
 */
#ifndef ACT_REPORT_H
#define ACT_REPORT_H

#include <jansson.h>

struct sm_engine;
struct act_ctx;

/* Register both actions with `ctx` as their context.  0 or SM_E*. */
int act_report_register(struct sm_engine *e, struct act_ctx *ctx);

/* The progress message as text (malloc'd) or NULL when out of memory:
 * `progress` borrowed (integer or string), `error` may be NULL. */
char *act_report_progress_text(const json_t *msg, const json_t *progress, const char *error,
    int64_t wall_us);
/* The output message as text (malloc'd) or NULL (out of memory, or a
 * missing key: `why` says which). */
char *act_report_output_text(const json_t *msg, const char *bucket, const json_t *keys,
    const char *instance_log, int64_t wall_us, const char **why);

#endif
