/*
 * act_validate.c - the task_validate action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "act_ctx.h"
#include "act_logup.h"
#include "act_op.h"
#include "act_task.h"
#include "act_validate.h"
#include "sm_engine.h"
#include "sm_err.h"

#define NAME_MAX_BYTES 200

static json_t *bad(const char *reason, json_t *msg, const char *pq)
{
	json_t *r = json_pack("{s:b,s:s,s:o,s:s?}", "ok", 0, "reason", reason,
	    "msg", msg ? msg : json_null(), "progress_queue", pq);

	if (r && !pq)
		json_object_set_new(r, "progress_queue", json_null());
	return r;
}

static json_t *bad_peek(const struct act_ctx *ctx, const char *body, size_t len,
    const char *reason)
{
	int64_t id;
	char server[ACT_SERVER_MAX + 1];
	char pq[ACT_SERVER_MAX + 128];

	if (!body || act_task_peek(body, len, &id, server, sizeof(server)) != 0)
		return bad(reason, NULL, NULL);
	snprintf(pq, sizeof(pq), "%s%s", server, ctx->progress_queue_suffix);
	return bad(reason, json_pack("{s:I,s:s}", "task_id", (json_int_t)id, "server_name",
	    server), pq);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* The term part of the name: searchterms_str without '/', '\' and control
 * characters, or the fixed words of the url modes. */
static char *term_part(const struct act_task *t)
{
	char *out, *o;

	if (t->mode == ACT_MODE_URL)
		return strdup("single-product-url-request");
	if (t->mode == ACT_MODE_URLS)
		return strdup("multiple-product-urls-request");
	out = malloc(strlen(t->term) + 1);
	if (!out)
		return NULL;
	o = out;
	for (const unsigned char *p = (const unsigned char *)t->term; *p; p++)
		if (*p != '/' && *p != '\\' && *p >= 0x20 && *p != 0x7f)
			*o++ = (char)*p;
	*o = 0;
	return out;
}

/* Cut a name over NAME_MAX_BYTES at a UTF-8 boundary and add a short hash
 * of the whole, so two tasks never share a name. */
static void name_fit(char *name)
{
	size_t n = strlen(name), cut;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char h[17];

	if (n <= NAME_MAX_BYTES)
		return;
	SHA256((const unsigned char *)name, n, md);
	hex(md, 8, h);
	cut = NAME_MAX_BYTES - 18;
	while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(name + cut, n + 1 - cut, "-%s", h);
}

json_t *act_validate_run(const struct act_ctx *ctx, const json_t *env)
{
	const char *body = json_string_value(json_object_get(env, "body"));
	size_t len = json_string_length(json_object_get(env, "body"));
	json_int_t count = json_integer_value(json_object_get(env, "receive_count"));
	json_int_t received = json_integer_value(json_object_get(env, "received_ms"));
	struct act_task t;
	struct sm_error err;
	json_t *msg = NULL, *args = NULL, *canon = NULL, *res = NULL;
	char *term = NULL, *name = NULL, *ctext = NULL;
	char reason[SM_ERROR_MSG_MAX + 32], date[64], key[65], logkey[512];
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *pq = NULL, *oq = NULL;
	const char *branch;
	time_t secs;
	struct tm tm;
	size_t nlen;

	if (!body)
		return bad("the message has no body", NULL, NULL);
	if (ctx->max_receives > 0 && count > (json_int_t)ctx->max_receives) {
		snprintf(reason, sizeof(reason), "the message was received %" JSON_INTEGER_FORMAT
		    " times (max_receives %u)", count, ctx->max_receives);
		return bad_peek(ctx, body, len, reason);
	}
	sm_error_clear(&err);
	if (act_task_parse(body, len, &t, &err) != 0) {
		if (err.code == SM_ENOMEM)
			return NULL;
		snprintf(reason, sizeof(reason), "bad message: %s", err.msg);
		return bad_peek(ctx, body, len, reason);
	}
	branch = t.branch_name ? t.branch_name : ctx->default_branch;
	args = json_object();
	for (size_t i = 0; args && i < t.nargs; i++)
		json_object_set_new(args, t.args[i].key, json_string(t.args[i].value));
	msg = json_pack("{s:I,s:s,s:s,s:s,s:O,s:s?,s:b,s:s}", "task_id", (json_int_t)t.task_id,
	    "server_name", t.server_name, "site", t.site, act_mode_field(t.mode), t.term,
	    "cmd_args", args, "branch_name", branch, "with_best_seller_ranking",
	    t.with_best_seller_ranking, "sqs_cache_time_limit",
	    act_cache_limit_name(t.cache_limit));
	/* SPEC 6: never task_id or server_name */
	canon = json_pack("{s:s,s:s,s:b,s:s?,s:O}", "site", t.site, act_mode_field(t.mode),
	    t.term, "with_best_seller_ranking", t.with_best_seller_ranking, "branch_name",
	    branch, "cmd_args", args);
	ctext = canon ? json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	term = term_part(&t);
	if (!msg || !ctext || !term)
		goto out;
	SHA256((const unsigned char *)ctext, strlen(ctext), md);
	hex(md, SHA256_DIGEST_LENGTH, key);
	secs = (time_t)(received / 1000);
	gmtime_r(&secs, &tm);
	snprintf(date, sizeof(date), "%04d/%02d/%02d/%02d-%02d-%04d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900);
	nlen = strlen(date) + strlen(ctx->instance_id) + strlen(t.server_name) + strlen(term) +
	    strlen(t.site) + 64;
	name = malloc(nlen);
	if (!name)
		goto out;
	snprintf(name, nlen, "%s____%s____%s--%lld____%s____%s", date, ctx->instance_id,
	    t.server_name, (long long)t.task_id, term, t.site);
	name_fit(name);
	if (asprintf(&pq, "%s%s", t.server_name, ctx->progress_queue_suffix) < 0)
		pq = NULL;
	if (asprintf(&oq, "%s%s", t.server_name, ctx->output_queue_suffix) < 0)
		oq = NULL;
	if (!pq || !oq || act_logup_key(ctx->started_ms, ctx->instance_id, logkey,
	    sizeof(logkey)) != 0)
		goto out;
	res = json_pack("{s:b,s:O,s:s,s:s,s:{s:s+,s:s+,s:s+,s:s+,s:s},s:s,s:b,s:b,s:s,s:s}",
	    "ok", 1, "msg", msg, "name", name, "bucket", ctx->bucket, "keys",
	    "s3_key_data", name, ".jl.zip", "s3_key_logs", name, ".log.zip",
	    "csv_data_key", name, ".csv.zip", "progress", name, ".progress.zip",
	    "s3_key_instance_starter_logs", logkey,
	    "cache_key", key, "cache_get", !t.cache_get_ignore, "cache_save",
	    !t.cache_save_ignore, "progress_queue", pq, "output_queue", oq);
out:
	act_task_clear(&t);
	json_decref(msg);
	json_decref(args);
	json_decref(canon);
	free(ctext);
	free(term);
	free(name);
	free(pq);
	free(oq);
	return res;
}

static int validate_start(struct sm_action_call *call)
{
	const struct act_ctx *ctx = sm_action_call_arg(call);
	return act__done_new(call, act_validate_run(ctx,
	    json_object_get(sm_action_call_params(call), "envelope")));
}

int act_validate_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "task_validate", validate_start, NULL, ctx };

	return sm_engine_register_action(e, &def);
}
