/*
 * act_validate.h - the task_validate action: the first step of every task.
 *
 *   task_validate  params {"envelope": the delivery as smd started the task
 *                  (body, message_id, receipt, queue, queue_url,
 *                  receive_count, received_ms, instance)}.
 *                  Parses the body with act_task_parse (SPEC 2), names the
 *                  outputs (SPEC 4) and the cache key (SPEC 6).  Result, for
 *                  a good message:
 *                    {"ok": true, "msg": {task_id, server_name, site,
 *                     searchterms_str|url|urls, cmd_args, branch_name,
 *                     with_best_seller_ranking, sqs_cache_time_limit},
 *                     "name", "bucket", "keys": {s3_key_data, s3_key_logs,
 *                     csv_data_key, progress, s3_key_instance_starter_logs},
 *                     "cache_key", "cache_get", "cache_save",
 *                     "progress_queue", "output_queue"}
 *                  and for a bad one (SPEC 7) {"ok": false, "reason": TEXT,
 *                  "msg": {task_id, server_name} or null, "progress_queue":
 *                  the queue to tell, or null when the sender cannot be
 *                  read}.  A delivery past max_receives is bad (not a
 *                  replay: an envelope with a "replay" object).
 */
#ifndef ACT_VALIDATE_H
#define ACT_VALIDATE_H

#include <jansson.h>

struct sm_engine;
struct act_ctx;

int act_validate_register(struct sm_engine *e, struct act_ctx *ctx);

/* The result above for `envelope` (new reference; NULL: out of memory). */
json_t *act_validate_run(const struct act_ctx *ctx, const json_t *envelope);

#endif
