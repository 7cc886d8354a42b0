/*
 * act_op.h - the call state every transport-facing action of actions/
 * keeps (prefix act__op), so that each honours cancel the same way.
 *
 * An action allocates its state with act__op_new() (the struct act__op
 * first), starts transport operations with `op` as their argument and
 * counts them in op->inflight.  Its transport callbacks begin with
 * act__op_back(op): when that returns 1 the call was cancelled meanwhile
 * and the state has been freed: return at once.  cancel is act__op_cancel:
 * it forgets the call, cancels a queue URL lookup, and frees the state
 * unless a transport callback is still to come (that callback frees it).
 */
#ifndef ACT_OP_H
#define ACT_OP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct sm_action_call;
struct act_ctx;

struct act__op {
	struct sm_action_call *call;  /* NULL once cancelled or reported */
	struct act_ctx *ctx;
	int inflight;                 /* transport callbacks still to come */
	uint64_t url_handle;          /* act_ctx_queue_url lookup, 0: none */
	void (*free_fn)(struct act__op *op);  /* frees what the action added */
	/* for act__op_on_put: the result {done_key: true}, and what failed */
	const char *done_key;
	const char *what;
};

/* Allocate `size` bytes (>= sizeof(struct act__op)), zeroed, bound to the
 * call; sets it as the call's data.  NULL when out of memory. */
void *act__op_new(struct sm_action_call *call, size_t size);
/* Free the state (calls free_fn first). */
void act__op_free(struct act__op *op);
/* The cancel function of every such action. */
void act__op_cancel(struct sm_action_call *call);
/* A transport callback arrived: 1 if the op was cancelled (and is now freed
 * if nothing else is in flight), 0 to go on. */
int act__op_back(struct act__op *op);
/* Report and free (result borrowed). */
void act__op_done(struct act__op *op, json_t *result);
void act__op_fail(struct act__op *op, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A tp_object_cb for a single put whose arg is the op: reports
 * {op->done_key: true}, or fails "cannot <op->what>: <reason>". */
struct tp_result;
struct tp_object;
void act__op_on_put(void *arg, const struct tp_result *r, const struct tp_object *obj);

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
