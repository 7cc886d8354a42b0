/*
 * act_op.h - the call state every transport-facing action of actions/
 * keeps (prefix act__op), so that each honours cancel the same way.
 *
 * An action allocates its state with act__op_new() (the struct act__op
 * first).  Each transport operation it starts gets a record from
 * act__op_tp(): the record is the operation's callback argument and its
 * `id` slot receives the tp_op_id, so the call knows every operation it
 * has in flight (several at once if it likes):
 *
 *   rc = SM_ENOMEM;
 *   if ((t = act__op_tp(op)) != NULL)
 *           rc = tp_queue_send(tp, url, body, 0, on_sent, t, &t->id);
 *   if (act__op_started(t, rc) != 0)
 *           act__op_fail(op, ...);
 *
 * Its transport callbacks begin with `op = act__op_back(arg)`: NULL means
 * the call is over (cancelled, or reported meanwhile) and the state is
 * not the callback's to touch: return at once.
 *
 * When the call ends - cancel (act__op_cancel, the action's cancel
 * function), act__op_done or act__op_fail - every operation still in
 * flight is cancelled with tp_cancel (its callback runs then, with
 * SM_ECANCELED, and returns at act__op_back), a queue URL lookup is
 * cancelled, and the state is freed, all before the function returns:
 * nothing of the call keeps running and nothing calls back later.
 */
#ifndef ACT_OP_H
#define ACT_OP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "transport.h"

struct sm_action_call;
struct act_ctx;
struct act__op;

/* One transport operation of a call in flight: its callback's `arg`. */
struct act__tp {
	struct act__tp *next;
	struct act__op *op; /* NULL once the call is over */
	tp_op_id id;        /* set by the tp_* call that starts it */
};

struct act__op {
	struct sm_action_call *call; /* NULL once the call is over */
	struct act_ctx *ctx;
	struct act__tp *tps;                 /* transport operations in flight */
	uint64_t url_handle;                 /* act_ctx_queue_url lookup, 0: none */
	void (*free_fn)(struct act__op *op); /* frees what the action added */
	/* for act__op_on_put: the result {done_key: true}, and what failed */
	const char *done_key;
	const char *what;
};

/* Allocate `size` bytes (>= sizeof(struct act__op)), zeroed, bound to the
 * call; sets it as the call's data.  NULL when out of memory. */
void *act__op_new(struct sm_action_call *call, size_t size);
/* The cancel function of every such action. */
void act__op_cancel(struct sm_action_call *call);
/* A record for a transport operation about to start (linked into op's
 * list); NULL when out of memory. */
struct act__tp *act__op_tp(struct act__op *op);
/* Record `t` and the return code `rc` of the tp_* call that got it: 0
 * keeps it in flight; otherwise the record is dropped and `rc` returned
 * (SM_ENOMEM for t NULL). */
int act__op_started(struct act__tp *t, int rc);
/* First thing in a transport callback, with its `arg` (a struct act__tp,
 * freed here): the call's state to go on, or NULL when the call is over. */
void *act__op_back(void *arg);
/* Report, cancel what is in flight, free (result borrowed). */
void act__op_done(struct act__op *op, json_t *result);
void act__op_fail(struct act__op *op, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A tp_object_cb for a single put (arg: its struct act__tp): reports
 * {op->done_key: true}, or fails "cannot <op->what>: <reason>". */
void act__op_on_put(void *arg, const struct tp_result *r, const struct tp_object *obj);
/* The same for an operation without an object (a delete). */
void act__op_on_done(void *arg, const struct tp_result *r);

/* sm_action_done(call, res) and json_decref(res): SM_ENOMEM when res is
 * NULL (a json_pack that failed). */
int act__done_new(struct sm_action_call *call, json_t *res);

/* "2015-04-03T08:01:31.528410" for wall time `us` (microseconds, UTC). */
void act__utc_datetime(int64_t us, char out[64]);
/* Wall clock in microseconds. */
int64_t act__wall_us(void);

/* The action error for a transport code: "error.io" for what a retry may
 * cure (network, throttling, service, timeout), "error.execution" else. */
const char *act__tp_error(int code);

#endif
