/*
 * act_beat.c - the heartbeat action (act_beat.h; docs/fleet-formats.md).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "act_beat.h"
#include "act_ctx.h"
#include "act_names.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_loop.h"
#include "transport.h"

#define CONTENT_TYPE "application/json"

struct beat_op {
	struct act__op op;
	char *body;
	size_t len;
	char key[ACT_KEY_SIZE];
	int marker; /* the start marker is still to put (after the heartbeat) */
};

json_t *
act_beat_compose(const struct act_ctx *ctx, int stopping, int64_t now_ms)
{
	char host[256];
	json_t *b, *queues = json_array(), *tasks = NULL;

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	for (size_t i = 0; queues && i < ctx->nqueues; i++)
		json_array_append_new(queues, json_string(ctx->queues[i]));
	if (ctx->hooks.tasks)
		tasks = ctx->hooks.tasks(ctx->hooks.arg);
	if (!tasks)
		tasks = json_array();
	b = json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:s,s:o,s:s,s:b,s:o}", "format",
	    ACT_BEAT_FORMAT, "version", ACT_BEAT_VERSION, "instance", ctx->instance_id, "hostname",
	    host, "pid", (int)getpid(), "smd_version", ctx->version ? ctx->version : "",
	    "started_ms", (json_int_t)ctx->started_ms, "last_seen_ms", (json_int_t)now_ms,
	    "interval_ms", (json_int_t)ctx->heartbeat_interval_ms, "backend",
	    ctx->backend ? ctx->backend : "", "queues", queues, "config_digest",
	    ctx->config_digest ? ctx->config_digest : "", "stopping", stopping, "tasks", tasks);
	return b;
}

static void beat_put(struct beat_op *bo, const char *key);

static void
on_beat(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct beat_op *bo = act__op_back(arg);
	json_t *res;

	(void)obj;
	if (!bo)
		return;
	if (r->code != 0) {
		act__op_fail(&bo->op, act__tp_error(r->code), "cannot put '%s': %s", bo->key,
		    r->message ? r->message : sm_strerror(r->code));
		return;
	}
	if (bo->marker) {
		struct sm_error err;
		char key[ACT_KEY_SIZE];

		bo->marker = 0;
		sm_error_clear(&err);
		if (act_started_key(bo->op.ctx->instance_id,
		        (time_t)(bo->op.ctx->started_ms / 1000), key, &err) != 0) {
			act__op_fail(&bo->op, "error.execution", "%s", err.msg);
			return;
		}
		beat_put(bo, key);
		return;
	}
	res = json_pack("{s:b,s:b}", "put", 1, "marker",
	    json_is_true(json_object_get(sm_action_call_params(bo->op.call), "marker")));
	act__op_done(&bo->op, res);
	json_decref(res);
}

static void
beat_put(struct beat_op *bo, const char *key)
{
	struct act__tp *t;
	int rc = SM_ENOMEM;

	snprintf(bo->key, sizeof(bo->key), "%s", key);
	if ((t = act__op_tp(&bo->op)) != NULL)
		rc = tp_object_put_mem(bo->op.ctx->tp, bo->op.ctx->bucket, bo->key, bo->body,
		    bo->len, CONTENT_TYPE, on_beat, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(
		    &bo->op, act__tp_error(rc), "cannot put '%s': %s", bo->key, sm_strerror(rc));
}

static void
beat_free(struct act__op *op)
{
	free(((struct beat_op *)op)->body);
}

static int
beat_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call), *b;
	struct beat_op *bo;
	struct act__tp *t;
	char key[ACT_KEY_SIZE];
	struct sm_error err;
	int rc;

	sm_error_clear(&err);
	if (act_heartbeat_key(ctx->instance_id, key, &err) != 0)
		return sm_action_fail(call, "error.execution", err.msg);
	if (!(bo = act__op_new(call, sizeof(*bo))))
		return SM_ENOMEM;
	bo->op.free_fn = beat_free;
	if (json_is_true(json_object_get(p, "remove"))) {
		bo->op.done_key = "removed";
		bo->op.what = "remove the heartbeat";
		rc = SM_ENOMEM;
		if ((t = act__op_tp(&bo->op)) != NULL)
			rc =
			    tp_object_delete(ctx->tp, ctx->bucket, key, act__op_on_done, t, &t->id);
		if (act__op_started(t, rc) != 0)
			act__op_fail(&bo->op, act__tp_error(rc), "cannot remove the heartbeat: %s",
			    sm_strerror(rc));
		return 0;
	}
	b = act_beat_compose(ctx, json_is_true(json_object_get(p, "stopping")), sm_time_wall_ms());
	bo->body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!bo->body) {
		act__op_fail(&bo->op, "error.execution", "out of memory");
		return 0;
	}
	bo->len = strlen(bo->body);
	bo->marker = json_is_true(json_object_get(p, "marker"));
	beat_put(bo, key);
	return 0;
}

int
act_beat_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "heartbeat", beat_start, act__op_cancel, ctx };

	return sm_engine_register_action(e, &def);
}
