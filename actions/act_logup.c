/*
 * act_logup.c - the log_upload action.
 */
#include <stdio.h>
#include <time.h>

#include "act_ctx.h"
#include "act_logup.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "transport.h"

int act_logup_key(int64_t wall_ms, const char *instance, char *out, size_t size)
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	int n;

	gmtime_r(&secs, &tm);
	n = snprintf(out, size, "%04d/%02d/%02d/%02d-%02d-%04d____%s____remote_instance_starter2.log",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_mday, tm.tm_mon + 1,
	    tm.tm_year + 1900, instance);
	return n < 0 || (size_t)n >= size ? SM_ETOOBIG : 0;
}

static int logup_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct act__op *op;
	char key[512];
	int rc;

	if (!ctx->log_path)
		return act__done_new(call, json_pack("{s:b}", "uploaded", 0));
	if (act_logup_key(ctx->started_ms, ctx->instance_id, key, sizeof(key)) != 0)
		return sm_action_fail(call, "error.execution", "instance id too long");
	op = act__op_new(call, sizeof(*op));
	if (!op)
		return SM_ENOMEM;
	op->done_key = "uploaded";
	op->what = "upload the daemon log";
	rc = tp_object_put_file(ctx->tp, ctx->bucket, key, ctx->log_path, "text/plain",
	    act__op_on_put, op);
	if (rc != 0) {
		act__op_fail(op, act__tp_error(rc), "cannot upload the daemon log: %s",
		    sm_strerror(rc));
		return 0;
	}
	op->inflight++;
	return 0;
}

int act_logup_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "log_upload", logup_start, act__op_cancel, ctx };

	return sm_engine_register_action(e, &def);
}
