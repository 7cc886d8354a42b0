/*
 * act_logup.c - the log_upload action.
 */
#include <stdio.h>
#include <time.h>

#include "act_ctx.h"
#include "act_logup.h"
#include "act_names.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "transport.h"

static int
logup_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct act__op *op;
	struct act__tp *t;
	char key[ACT_KEY_SIZE];
	struct sm_error err;
	int rc;

	if (!ctx->log_path)
		return act__done_new(call, json_pack("{s:b}", "uploaded", 0));
	sm_error_clear(&err);
	if (act_daemon_log_key(ctx->instance_id, (time_t)(ctx->started_ms / 1000), key, &err) != 0)
		return sm_action_fail(call, "error.execution", err.msg);
	op = act__op_new(call, sizeof(*op));
	if (!op)
		return SM_ENOMEM;
	op->done_key = "uploaded";
	op->what = "upload the daemon log";
	rc = SM_ENOMEM;
	if ((t = act__op_tp(op)) != NULL)
		rc = tp_object_put_file(ctx->tp, ctx->bucket, key, ctx->log_path, "text/plain",
		    act__op_on_put, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(
		    op, act__tp_error(rc), "cannot upload the daemon log: %s", sm_strerror(rc));
	return 0;
}

int
act_logup_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "log_upload", logup_start, act__op_cancel, ctx };

	return sm_engine_register_action(e, &def);
}
