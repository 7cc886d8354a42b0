/*
 * act_op.c - call state and cancel for the transport-facing actions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act_ctx.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "transport.h"

void *
act__op_new(struct sm_action_call *call, size_t size)
{
	struct act__op *op = calloc(1, size);

	if (!op)
		return NULL;
	op->call = call;
	op->ctx = sm_action_call_arg(call);
	sm_action_call_set_data(call, op);
	return op;
}

/*
 * The call is over: cancel what it has in flight and free its state.
 * Each record is detached first (its op NULL): the callback that
 * tp_cancel runs at once then frees the record and touches nothing else.
 * (A record stays in the list only until its callback runs, so tp_cancel
 * finds every one; were it not to, the record would wait, detached, for
 * its callback.)
 */
static void
op_end(struct act__op *op)
{
	struct act__tp *t;

	op->call = NULL;
	if (op->url_handle) {
		act_ctx_queue_url_cancel(op->ctx, op->url_handle);
		op->url_handle = 0;
	}
	while ((t = op->tps) != NULL) {
		op->tps = t->next;
		t->next = NULL;
		t->op = NULL;
		tp_cancel(op->ctx->tp, t->id);
	}
	if (op->free_fn)
		op->free_fn(op);
	free(op);
}

void
act__op_cancel(struct sm_action_call *call)
{
	struct act__op *op = sm_action_call_data(call);

	if (op)
		op_end(op);
}

struct act__tp *
act__op_tp(struct act__op *op)
{
	struct act__tp *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->op = op;
	t->next = op->tps;
	op->tps = t;
	return t;
}

/* Take `t` out of its call's list (if it is in one) and free it; its op. */
static struct act__op *
op_drop_tp(struct act__tp *t)
{
	struct act__op *op = t->op;
	struct act__tp **pp;

	for (pp = op ? &op->tps : NULL; pp && *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	free(t);
	return op;
}

int
act__op_started(struct act__tp *t, int rc)
{
	if (!t)
		return rc != 0 ? rc : SM_ENOMEM;
	if (rc != 0)
		op_drop_tp(t);
	return rc;
}

void *
act__op_back(void *arg)
{
	return op_drop_tp(arg);
}

void
act__op_done(struct act__op *op, json_t *result)
{
	struct sm_action_call *call = op->call;

	op_end(op);
	sm_action_call_set_data(call, NULL);
	sm_action_done(call, result);
}

void
act__op_fail(struct act__op *op, const char *error, const char *fmt, ...)
{
	struct sm_action_call *call = op->call;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	op_end(op);
	sm_action_call_set_data(call, NULL);
	sm_action_fail(call, error, msg);
}

int64_t
act__wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
act__utc_datetime(int64_t us, char out[64])
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

const char *
act__tp_error(int code)
{
	switch (code) {
	case SM_ENET:
	case SM_ETIMEOUT:
	case SM_ETHROTTLED:
	case SM_ESERVICE:
	case SM_EHTTP:
	case SM_ESKEW:
	case SM_EAGAIN:
	case SM_EIO:
	case SM_ETLS:
	case SM_ECREDS:
	case SM_EAUTH:
		return "error.io";
	default:
		return "error.execution";
	}
}

/* {op->done_key: true}, or the failure "cannot <op->what>: <reason>". */
static void
op_finish(void *arg, const struct tp_result *r)
{
	struct act__op *op = act__op_back(arg);
	json_t *res;

	if (!op)
		return;
	if (r->code != 0) {
		act__op_fail(op, act__tp_error(r->code), "cannot %s: %s", op->what,
		    r->message ? r->message : sm_strerror(r->code));
		return;
	}
	res = json_pack("{s:b}", op->done_key, 1);
	act__op_done(op, res);
	json_decref(res);
}

void
act__op_on_put(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	(void)obj;
	op_finish(arg, r);
}

void
act__op_on_done(void *arg, const struct tp_result *r)
{
	op_finish(arg, r);
}

int
act__done_new(struct sm_action_call *call, json_t *res)
{
	int rc;

	if (!res)
		return SM_ENOMEM;
	rc = sm_action_done(call, res);
	json_decref(res);
	return rc;
}
