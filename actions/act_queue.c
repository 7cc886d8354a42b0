/*
 * act_queue.c - daemon_start, poll, visibility, queue_delete, queue_release.
 */
#include <stdlib.h>
#include <string.h>

#include "act_ctx.h"
#include "act_op.h"
#include "act_queue.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "transport.h"

/* ---- daemon_start ---------------------------------------------------------- */

struct start_op {
	struct act__op op;
	size_t next;            /* queue being resolved */
};

static void start_next(struct start_op *so);

/* Keep queue so->next's URL and go on to the next queue. */
static int
start_keep(struct start_op *so, const char *url)
{
	struct act_ctx *ctx = so->op.ctx;

	free(ctx->queue_urls[so->next]);
	if (!(ctx->queue_urls[so->next] = strdup(url))) {
		act__op_fail(&so->op, "error.execution", "out of memory");
		return -1;
	}
	so->next++;
	return 0;
}

static void
start_on_url(void *arg, int code, const char *message, const char *url)
{
	struct start_op *so = arg;
	struct act_ctx *ctx = so->op.ctx;

	so->op.url_handle = 0;
	if (code != 0) {
		act__op_fail(&so->op, act__tp_error(code), "cannot find queue '%s': %s",
		    ctx->queues[so->next], message ? message : sm_strerror(code));
		return;
	}
	if (start_keep(so, url) == 0)
		start_next(so);
}

static void
start_next(struct start_op *so)
{
	struct act_ctx *ctx = so->op.ctx;
	const char *url;
	json_t *res;
	int rc;

	while (so->next < ctx->nqueues) {
		rc = act_ctx_queue_url(ctx, ctx->queues[so->next], &url, start_on_url, so,
		    &so->op.url_handle);
		if (rc == 0)
			return;
		if (rc < 0) {
			act__op_fail(&so->op, act__tp_error(rc), "cannot find queue '%s': %s",
			    ctx->queues[so->next], sm_strerror(rc));
			return;
		}
		if (start_keep(so, url) != 0)
			return;
	}
	res = json_pack("{s:I}", "queues", (json_int_t)ctx->nqueues);
	act__op_done(&so->op, res);
	json_decref(res);
}

static void
on_bucket(void *arg, const struct tp_result *r)
{
	struct start_op *so = act__op_back(arg);

	if (!so)
		return;
	if (r->code != 0 && r->code != SM_EEXISTS) {
		act__op_fail(&so->op, act__tp_error(r->code), "cannot create bucket '%s': %s",
		    so->op.ctx->bucket, r->message ? r->message : sm_strerror(r->code));
		return;
	}
	start_next(so);
}

static int
start_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct start_op *so;
	struct act__tp *t;
	int rc;

	if (!ctx->queue_urls) {
		ctx->queue_urls = calloc(ctx->nqueues ? ctx->nqueues : 1, sizeof(char *));
		if (!ctx->queue_urls)
			return SM_ENOMEM;
	}
	so = act__op_new(call, sizeof(*so));
	if (!so)
		return SM_ENOMEM;
	/* the embedded default makes its bucket; on AWS it is the operators' */
	if (strcmp(tp_backend_name(ctx->tp), "local") == 0) {
		rc = SM_ENOMEM;
		if ((t = act__op_tp(&so->op)) != NULL)
			rc = tp_bucket_create(ctx->tp, ctx->bucket, on_bucket, t, &t->id);
		if (act__op_started(t, rc) == 0)
			return 0;
	}
	start_next(so);
	return 0;
}

/* ---- poll ------------------------------------------------------------------ */

struct poll_op {
	struct act__op op;
	size_t queue;           /* queue of the receive in flight */
	int long_poll;
	int waiting;            /* for a free slot (ctx->poll_waiting) */
};

static void poll_step(struct poll_op *po);

static void
on_redelete(void *arg, const struct tp_result *r)
{
	(void)arg;
	if (r->code != 0)
		sm_log_warn("cannot delete a message of a finished task again: %s",
		    r->message ? r->message : sm_strerror(r->code));
}

static void
poll_finish(struct poll_op *po, int idle, size_t received)
{
	json_t *res = json_pack("{s:b,s:I}", "idle", idle, "received", (json_int_t)received);

	act__op_done(&po->op, res);
	json_decref(res);
}

static void
on_received(void *arg, const struct tp_result *r, const struct tp_message *msgs,
    size_t n)
{
	struct poll_op *po = act__op_back(arg);
	struct act_ctx *ctx;
	const char *url;

	if (!po)
		return;
	ctx = po->op.ctx;
	if (r->code != 0) {
		act__op_fail(&po->op, act__tp_error(r->code), "cannot receive from '%s': %s",
		    ctx->queues[po->queue], r->message ? r->message : sm_strerror(r->code));
		return;
	}
	url = ctx->queue_urls[po->queue];
	for (size_t i = 0; i < n; i++) {
		int rc = ctx->hooks.admit(ctx->hooks.arg, po->queue, url, &msgs[i]);

		/* the daemon's delete, not one of the poll's operations: it
		 * runs to its end although the poll reports below */
		if (rc == 1 && tp_queue_delete(ctx->tp, url, msgs[i].receipt, on_redelete,
		    NULL, NULL) != 0)
			sm_log_warn("cannot delete message %s again", msgs[i].message_id);
		else if (rc < 0)
			sm_log_warn("message %s from '%s' not taken: %s (it comes back after its "
			    "visibility timeout)", msgs[i].message_id, ctx->queues[po->queue],
			    sm_strerror(rc));
	}
	if (n > 0) {
		poll_finish(po, 0, n);
		return;
	}
	if (po->long_poll) {
		poll_finish(po, 0, 0);
		return;
	}
	po->queue++;
	poll_step(po);
}

static void
poll_step(struct poll_op *po)
{
	struct act_ctx *ctx = po->op.ctx;
	size_t free_slots = ctx->hooks.slots_free(ctx->hooks.arg);
	struct act__tp *t;
	int max, wait = 0, rc;

	if (free_slots == 0) {
		po->waiting = 1;
		ctx->poll_waiting = &po->op;
		return;
	}
	max = free_slots > 10 ? 10 : (int)free_slots;
	if (po->queue >= ctx->nqueues) {
		if (ctx->exit_when_idle && ctx->hooks.running(ctx->hooks.arg) == 0) {
			poll_finish(po, 1, 0);
			return;
		}
		po->queue = 0;
		po->long_poll = 1;
		wait = ctx->poll_wait_s;
	}
	if (ctx->nqueues == 0) {
		poll_finish(po, 0, 0);
		return;
	}
	rc = SM_ENOMEM;
	if ((t = act__op_tp(&po->op)) != NULL)
		rc = tp_queue_receive(ctx->tp, ctx->queue_urls[po->queue], max, wait,
		    ctx->visibility_timeout_s, on_received, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(&po->op, act__tp_error(rc), "cannot receive from '%s': %s",
		    ctx->queues[po->queue], sm_strerror(rc));
}

static int
poll_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct poll_op *po;

	if (!ctx->queue_urls)
		return sm_action_fail(call, "error.execution", "the queues are not resolved yet");
	po = act__op_new(call, sizeof(*po));
	if (!po)
		return SM_ENOMEM;
	poll_step(po);
	return 0;
}

static void
poll_cancel(struct sm_action_call *call)
{
	struct act__op *op = sm_action_call_data(call);
	struct act_ctx *ctx = sm_action_call_arg(call);

	if (op && ctx->poll_waiting == op)
		ctx->poll_waiting = NULL;
	act__op_cancel(call);
}

void
act_queue_kick(struct act_ctx *ctx)
{
	struct poll_op *po = (struct poll_op *)ctx->poll_waiting;

	if (!po)
		return;
	ctx->poll_waiting = NULL;
	po->waiting = 0;
	poll_step(po);
}

/* ---- visibility ------------------------------------------------------------ */

struct vis_op {
	struct act__op op;
	uint64_t timer;
};

static void
on_vis(void *arg, const struct tp_result *r)
{
	if (!act__op_back(arg))
		return;
	if (r->code != 0)
		sm_log_warn("cannot extend the visibility of a message in flight: %s",
		    r->message ? r->message : sm_strerror(r->code));
}

/* One extension: an operation of the visibility call, so that its cancel
 * stops the extensions still in flight. */
static void
extend_one(void *arg, const char *queue_url, const char *receipt)
{
	struct vis_op *vo = arg;
	struct act_ctx *ctx = vo->op.ctx;
	struct act__tp *t = act__op_tp(&vo->op);
	int rc = SM_ENOMEM;

	if (t)
		rc = tp_queue_change_visibility(
		    ctx->tp, queue_url, receipt, ctx->visibility_timeout_s, on_vis, t, &t->id);
	if (act__op_started(t, rc) != 0)
		sm_log_warn(
		    "cannot extend the visibility of a message in flight: %s", sm_strerror(rc));
}

static int64_t
vis_period_ms(const struct act_ctx *ctx)
{
	int64_t ms = (int64_t)ctx->visibility_timeout_s * 1000 / 3;

	return ms < 1000 ? 1000 : ms;
}

static int64_t
on_vis_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct vis_op *vo = arg;
	struct act_ctx *ctx = vo->op.ctx;

	(void)loop;
	(void)id;
	ctx->hooks.each_inflight(ctx->hooks.arg, extend_one, vo);
	return vis_period_ms(ctx);
}

static void
vis_free(struct act__op *op)
{
	struct vis_op *vo = (struct vis_op *)op;

	if (vo->timer)
		sm_loop_timer_del(op->ctx->loop, vo->timer);
}

static int
vis_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	struct vis_op *vo = act__op_new(call, sizeof(*vo));

	if (!vo)
		return SM_ENOMEM;
	vo->op.free_fn = vis_free;
	/* at once first: after a restart the messages of recovered tasks may be
	 * close to the end of their visibility timeout */
	vo->timer = sm_loop_timer_add(ctx->loop, 0, on_vis_timer, vo);
	if (!vo->timer) {
		act__op_fail(&vo->op, "error.execution", "out of memory");
		return 0;
	}
	return 0;
}

/* ---- queue_delete, queue_release ------------------------------------------- */

struct msg_op {
	struct act__op op;
	int release;
};

static void
on_msg_done(void *arg, const struct tp_result *r)
{
	struct msg_op *mo = act__op_back(arg);
	json_t *res;

	if (!mo)
		return;
	if (r->code != 0) {
		act__op_fail(&mo->op, act__tp_error(r->code), "cannot %s the message: %s",
		    mo->release ? "release" : "delete", r->message ? r->message :
		    sm_strerror(r->code));
		return;
	}
	res = json_pack("{s:b}", mo->release ? "released" : "deleted", 1);
	act__op_done(&mo->op, res);
	json_decref(res);
}

static int
msg_start(struct sm_action_call *call, int release)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	const char *url = json_string_value(json_object_get(p, "queue_url"));
	const char *receipt = json_string_value(json_object_get(p, "receipt"));
	const char *now = ctx->hooks.receipt ?
	    ctx->hooks.receipt(ctx->hooks.arg, sm_action_call_instance(call)) : NULL;
	struct msg_op *mo;
	struct act__tp *t;
	int rc;

	if (now)
		receipt = now;
	if (!url || !receipt)
		return sm_action_fail(call, "error.execution", "no queue url or receipt handle");
	mo = act__op_new(call, sizeof(*mo));
	if (!mo)
		return SM_ENOMEM;
	mo->release = release;
	if (!(t = act__op_tp(&mo->op)))
		rc = SM_ENOMEM;
	else if (release)
		rc = tp_queue_change_visibility(ctx->tp, url, receipt, 0, on_msg_done, t, &t->id);
	else
		rc = tp_queue_delete(ctx->tp, url, receipt, on_msg_done, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(&mo->op, act__tp_error(rc), "cannot %s the message: %s",
		    release ? "release" : "delete", sm_strerror(rc));
	return 0;
}

static int
delete_start(struct sm_action_call *call)
{
	return msg_start(call, 0);
}

static int
release_start(struct sm_action_call *call)
{
	return msg_start(call, 1);
}

int
act_queue_register(struct sm_engine *e, struct act_ctx *ctx)
{
	const struct sm_action_def defs[] = {
		{ "daemon_start", start_start, act__op_cancel, ctx },
		{ "poll", poll_start, poll_cancel, ctx },
		{ "visibility", vis_start, act__op_cancel, ctx },
		{ "queue_delete", delete_start, act__op_cancel, ctx },
		{ "queue_release", release_start, act__op_cancel, ctx },
	};
	int rc;

	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if ((rc = sm_engine_register_action(e, &defs[i])) != 0)
			return rc;
	return 0;
}
