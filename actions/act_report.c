/*
 * act_report.c - the report and report_compose actions.
 */
#include <stdlib.h>
#include <string.h>

#include "act_ctx.h"
#include "act_op.h"
#include "act_report.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_jw.h"
#include "transport.h"

struct report_op {
	struct act__op op;
	char *body;
};

static void
report_free(struct act__op *op)
{
	free(((struct report_op *)op)->body);
}

/* The writer's output as a NUL-terminated malloc'd string (NULL on error). */
static char *
jw_take(struct sm_jw *w)
{
	char *t = w->err ? NULL : malloc(w->len + 1);

	if (t) {
		memcpy(t, w->buf, w->len);
		t[w->len] = 0;
	}
	sm_jw_free(w);
	return t;
}

/* `"_msg_id":<task_id>` (null when the task id is unknown) */
static void
jw_msg_id(struct sm_jw *w, const json_t *msg)
{
	json_t *id = json_object_get(msg, "task_id");

	sm_jw_lit(w, "\"_msg_id\":");
	sm_jw_json(w, id ? id : json_null());
}

char *
act_report_progress_text(const json_t *msg, const json_t *progress, const char *error,
    int64_t wall_us)
{
	struct sm_jw w = SM_JW_INIT;
	json_t *server = json_object_get(msg, "server_name");
	json_t *site = json_object_get(msg, "site");
	char dt[64];

	act__utc_datetime(wall_us, dt);
	sm_jw_lit(&w, "{");
	jw_msg_id(&w, msg);
	sm_jw_lit(&w, ",\"utc_datetime\":");
	sm_jw_str(&w, dt);
	sm_jw_lit(&w, ",\"progress\":");
	sm_jw_json(&w, progress);
	sm_jw_lit(&w, ",\"server_name\":");
	sm_jw_json(&w, server ? server : json_null());
	sm_jw_lit(&w, ",\"site\":");
	sm_jw_json(&w, site ? site : json_null());
	if (error) {
		sm_jw_lit(&w, ",\"error\":");
		sm_jw_str(&w, error);
	}
	sm_jw_lit(&w, "}");
	return jw_take(&w);
}

char *
act_report_output_text(const json_t *msg, const char *bucket, const json_t *keys,
    const char *instance_log, int64_t wall_us, const char **why)
{
	static const char *const names[] = { "s3_key_data", "s3_key_logs", "csv_data_key" };
	struct sm_jw w = SM_JW_INIT;
	const char *vals[3];
	char dt[64];

	*why = NULL;
	for (size_t i = 0; i < 3; i++) {
		vals[i] = json_string_value(json_object_get(keys, names[i]));
		if (!vals[i]) {
			*why = names[i];
			return NULL;
		}
	}
	if (!bucket) {
		*why = "bucket_name";
		return NULL;
	}
	act__utc_datetime(wall_us, dt);
	sm_jw_lit(&w, "{");
	jw_msg_id(&w, msg);
	sm_jw_lit(&w, ",\"type\":\"ranking_spiders\"");
	for (size_t i = 0; i < 3; i++) {
		sm_jw_lit(&w, ",\"");
		sm_jw_lit(&w, names[i]);
		sm_jw_lit(&w, "\":");
		sm_jw_str(&w, vals[i]);
	}
	sm_jw_lit(&w, ",\"bucket_name\":");
	sm_jw_str(&w, bucket);
	sm_jw_lit(&w, ",\"utc_datetime\":");
	sm_jw_str(&w, dt);
	sm_jw_lit(&w, ",\"s3_key_instance_starter_logs\":");
	if (instance_log)
		sm_jw_str(&w, instance_log);
	else
		sm_jw_lit(&w, "null");
	sm_jw_lit(&w, "}");
	return jw_take(&w);
}

static void
on_sent(void *arg, const struct tp_result *r, const char *message_id)
{
	struct report_op *ro = act__op_back(arg);
	json_t *res;

	(void)message_id;
	if (!ro)
		return;
	if (r->code != 0) {
		act__op_fail(&ro->op, act__tp_error(r->code), "cannot send the message: %s",
		    r->message ? r->message : sm_strerror(r->code));
		return;
	}
	res = json_pack("{s:b}", "sent", 1);
	act__op_done(&ro->op, res);
	json_decref(res);
}

static void
send_to(struct report_op *ro, const char *url)
{
	struct act__tp *t = act__op_tp(&ro->op);
	int rc = SM_ENOMEM;

	if (t)
		rc = tp_queue_send(ro->op.ctx->tp, url, ro->body, 0, on_sent, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(
		    &ro->op, act__tp_error(rc), "cannot send the message: %s", sm_strerror(rc));
}

static void
on_url(void *arg, int code, const char *message, const char *url)
{
	struct report_op *ro = arg;

	ro->op.url_handle = 0;
	if (code != 0) {
		act__op_fail(&ro->op, act__tp_error(code), "cannot find the queue: %s",
		    message ? message : sm_strerror(code));
		return;
	}
	send_to(ro, url);
}

static int
report_start(struct sm_action_call *call)
{
	json_t *p = sm_action_call_params(call);
	const char *queue = json_string_value(json_object_get(p, "queue"));
	json_t *body = json_object_get(p, "body");
	json_t *progress = json_object_get(p, "progress");
	struct report_op *ro;
	const char *url = NULL;
	int rc;

	if (!queue || !*queue)
		return act__done_new(call, json_pack("{s:b}", "sent", 0));
	ro = act__op_new(call, sizeof(*ro));
	if (!ro)
		return SM_ENOMEM;
	ro->op.free_fn = report_free;
	if (json_is_string(body))
		ro->body = strdup(json_string_value(body));
	else if (progress)
		ro->body = act_report_progress_text(json_object_get(p, "msg"), progress,
		    json_string_value(json_object_get(p, "error")), act__wall_us());
	else {
		act__op_fail(&ro->op, "error.execution", "report needs a body or a progress");
		return 0;
	}
	if (!ro->body) {
		act__op_fail(&ro->op, "error.execution", "out of memory");
		return 0;
	}
	rc = act_ctx_queue_url(ro->op.ctx, queue, &url, on_url, ro, &ro->op.url_handle);
	if (rc == 1)
		send_to(ro, url);
	else if (rc < 0)
		act__op_fail(&ro->op, act__tp_error(rc), "cannot find queue '%s': %s", queue,
		    sm_strerror(rc));
	return 0;
}

static int
compose_start(struct sm_action_call *call)
{
	json_t *p = sm_action_call_params(call);
	const char *why;
	char *text = act_report_output_text(json_object_get(p, "msg"),
	    json_string_value(json_object_get(p, "bucket")), json_object_get(p, "keys"),
	    json_string_value(json_object_get(p, "instance_log")), act__wall_us(), &why);
	json_t *res;

	if (!text) {
		if (why)
			return sm_action_fail(call, "error.execution",
			    why[0] == 'b' ? "no bucket name" : "a key of the output is missing");
		return SM_ENOMEM;
	}
	res = json_pack("{s:s}", "body", text);
	free(text);
	return act__done_new(call, res);
}

int
act_report_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def report = { "report", report_start, act__op_cancel, ctx };
	struct sm_action_def compose = { "report_compose", compose_start, NULL, ctx };
	int rc = sm_engine_register_action(e, &report);

	return rc != 0 ? rc : sm_engine_register_action(e, &compose);
}
