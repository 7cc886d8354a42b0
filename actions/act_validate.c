/*
 * act_validate.c - the task_validate action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act_ctx.h"
#include "act_names.h"
#include "act_op.h"
#include "act_task.h"
#include "act_validate.h"
#include "sm_engine.h"
#include "sm_err.h"

static json_t *
bad(const char *reason, json_t *msg, const char *pq)
{
	json_t *r = json_pack("{s:b,s:s,s:o,s:s?}", "ok", 0, "reason", reason,
	    "msg", msg ? msg : json_null(), "progress_queue", pq);

	if (r && !pq)
		json_object_set_new(r, "progress_queue", json_null());
	return r;
}

static json_t *
bad_peek(const struct act_ctx *ctx, const char *body, size_t len,
    const char *reason)
{
	int64_t id;
	char server[ACT_SERVER_MAX + 1];
	char pq[ACT_SERVER_MAX + 128];

	if (!body || act_task_peek(body, len, &id, server, sizeof(server)) != 0)
		return bad(reason, NULL, NULL);
	snprintf(pq, sizeof(pq), "%s%s", server, ctx->progress_queue_suffix);
	return bad(reason, json_pack("{s:I,s:s}", "task_id", (json_int_t)id, "server_name",
	    server), pq);
}

json_t *
act_validate_run(const struct act_ctx *ctx, const json_t *env)
{
	const char *body = json_string_value(json_object_get(env, "body"));
	size_t len = json_string_length(json_object_get(env, "body"));
	json_int_t count = json_integer_value(json_object_get(env, "receive_count"));
	json_int_t received = json_integer_value(json_object_get(env, "received_ms"));
	struct act_task t;
	struct sm_error err;
	json_t *msg = NULL, *args = NULL, *res = NULL;
	char reason[SM_ERROR_MSG_MAX + 32];
	char name[ACT_NAME_SIZE], key[ACT_CACHE_KEY_SIZE], logkey[ACT_KEY_SIZE];
	char keys[4][ACT_KEY_SIZE];
	static const enum act_key_kind kinds[4] = { ACT_KEY_JL, ACT_KEY_LOG, ACT_KEY_CSV,
		ACT_KEY_PROGRESS };
	char *pq = NULL, *oq = NULL;
	const char *branch;

	if (!body)
		return bad("the message has no body", NULL, NULL);
	/* a replay (smctl replay) is the operator's decision, not a redelivery */
	if (ctx->max_receives > 0 && count > (json_int_t)ctx->max_receives &&
	    !json_is_object(json_object_get(env, "replay"))) {
		snprintf(reason, sizeof(reason), "the message was received %" JSON_INTEGER_FORMAT
		    " times (max_receives %u)", count, ctx->max_receives);
		return bad_peek(ctx, body, len, reason);
	}
	sm_error_clear(&err);
	if (act_task_parse(body, len, &t, &err) != 0) {
		if (err.code == SM_ENOMEM)
			return NULL;
		snprintf(reason, sizeof(reason), "bad message: %s", err.msg);
		return bad_peek(ctx, body, len, reason);
	}
	branch = t.branch_name ? t.branch_name : ctx->default_branch;
	if (act_name_build(&t, ctx->instance_id, (time_t)(received / 1000), name, &err) != 0 ||
	    act_daemon_log_key(ctx->instance_id, (time_t)(ctx->started_ms / 1000), logkey,
	    &err) != 0) {
		snprintf(reason, sizeof(reason), "cannot name the outputs: %s", err.msg);
		res = bad_peek(ctx, body, len, reason);
		goto out;
	}
	for (size_t i = 0; i < 4; i++)
		if (act_key_build(name, kinds[i], keys[i], sizeof(keys[i])) != 0)
			goto out;
	if (act_cache_key(&t, ctx->default_branch, key) != 0)
		goto out;
	args = json_object();
	for (size_t i = 0; args && i < t.nargs; i++)
		json_object_set_new(args, t.args[i].key, json_string(t.args[i].value));
	msg = json_pack("{s:I,s:s,s:s,s:s,s:O,s:s?,s:b,s:s}", "task_id", (json_int_t)t.task_id,
	    "server_name", t.server_name, "site", t.site, act_mode_field(t.mode), t.term,
	    "cmd_args", args, "branch_name", branch, "with_best_seller_ranking",
	    t.with_best_seller_ranking, "sqs_cache_time_limit",
	    act_cache_limit_name(t.cache_limit));
	if (!msg || asprintf(&pq, "%s%s", t.server_name, ctx->progress_queue_suffix) < 0 ||
	    asprintf(&oq, "%s%s", t.server_name, ctx->output_queue_suffix) < 0)
		goto out;
	res = json_pack("{s:b,s:O,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:s,s:b,s:b,s:s,s:s}",
	    "ok", 1, "msg", msg, "name", name, "bucket", ctx->bucket, "keys",
	    "s3_key_data", keys[0], "s3_key_logs", keys[1], "csv_data_key", keys[2],
	    "progress", keys[3], "s3_key_instance_starter_logs", logkey,
	    "cache_key", key, "cache_get", !t.cache_get_ignore, "cache_save",
	    !t.cache_save_ignore, "progress_queue", pq, "output_queue", oq);
out:
	act_task_clear(&t);
	json_decref(msg);
	json_decref(args);
	free(pq);
	free(oq);
	return res;
}

static int
validate_start(struct sm_action_call *call)
{
	const struct act_ctx *ctx = sm_action_call_arg(call);
	return act__done_new(call, act_validate_run(ctx,
	    json_object_get(sm_action_call_params(call), "envelope")));
}

int
act_validate_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "task_validate", validate_start, NULL, ctx };

	return sm_engine_register_action(e, &def);
}
