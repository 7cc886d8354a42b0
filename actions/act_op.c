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

void
act__op_free(struct act__op *op)
{
	if (!op)
		return;
	if (op->url_handle)
		act_ctx_queue_url_cancel(op->ctx, op->url_handle);
	if (op->free_fn)
		op->free_fn(op);
	free(op);
}

void
act__op_cancel(struct sm_action_call *call)
{
	struct act__op *op = sm_action_call_data(call);

	if (!op)
		return;
	op->call = NULL;
	if (op->url_handle) {
		act_ctx_queue_url_cancel(op->ctx, op->url_handle);
		op->url_handle = 0;
	}
	if (op->inflight == 0)
		act__op_free(op);
}

int
act__op_back(struct act__op *op)
{
	op->inflight--;
	if (op->call)
		return 0;
	if (op->inflight == 0)
		act__op_free(op);
	return 1;
}

void
act__op_done(struct act__op *op, json_t *result)
{
	struct sm_action_call *call = op->call;

	op->call = NULL;
	if (op->inflight == 0)
		act__op_free(op);
	if (call) {
		sm_action_call_set_data(call, NULL);
		sm_action_done(call, result);
	}
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
	op->call = NULL;
	if (op->inflight == 0)
		act__op_free(op);
	if (call) {
		sm_action_call_set_data(call, NULL);
		sm_action_fail(call, error, msg);
	}
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
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(us % 1000000));
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

void
act__op_on_put(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct act__op *op = arg;
	json_t *res;

	(void)obj;
	if (act__op_back(op))
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
