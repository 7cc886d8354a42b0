/*
 * act_flag.c - the stop_flag action.
 */
#include <strings.h>

#include "act_ctx.h"
#include "act_flag.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "transport.h"

int
act_flag_is_true(const void *data, size_t len)
{
	const char *p = data;

	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n' ||
	    p[len - 1] == '\r'))
		len--;
	return len == 4 && strncasecmp(p, "true", 4) == 0;
}

static void
on_flag(void *arg, const struct tp_result *r, const void *data, size_t len)
{
	struct act__op *op = act__op_back(arg);
	json_t *res;

	if (!op)
		return;
	if (r->code != 0 && r->code != SM_ENOTFOUND) {
		act__op_fail(op, act__tp_error(r->code), "cannot read the stop flag: %s",
		    r->message ? r->message : sm_strerror(r->code));
		return;
	}
	res = json_pack("{s:b}", "stop", r->code == 0 && act_flag_is_true(data, len));
	act__op_done(op, res);
	json_decref(res);
}

static int
flag_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct act__op *op = act__op_new(call, sizeof(*op));
	struct act__tp *t;
	int rc;

	if (!op)
		return SM_ENOMEM;
	rc = SM_ENOMEM;
	if ((t = act__op_tp(op)) != NULL)
		rc =
		    tp_object_get_mem(ctx->tp, ctx->bucket, ACT_FLAG_KEY, 4096, on_flag, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(
		    op, act__tp_error(rc), "cannot read the stop flag: %s", sm_strerror(rc));
	return 0;
}

int
act_flag_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "stop_flag", flag_start, act__op_cancel, ctx };

	return sm_engine_register_action(e, &def);
}
