/*
 * act_cache.c - cache_lookup and cache_save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_cache.h"
#include "act_ctx.h"
#include "act_names.h"
#include "act_op.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "store.h"
#include "transport.h"

#define CACHE_ENTRY_MAX (64 * 1024)

/* The enum of a limit name ("day", "hour", ...); day for anything else. */
static enum act_cache_limit
limit_of(const char *name)
{
	static const enum act_cache_limit all[] = { ACT_CACHE_DAY, ACT_CACHE_HOUR,
		ACT_CACHE_30MIN, ACT_CACHE_15MIN };

	for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(act_cache_limit_name(all[i]), name) == 0)
			return all[i];
	return ACT_CACHE_DAY;
}

static int
key_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n != 64)
		return 0;
	return strspn(k, "0123456789abcdef") == 64;
}

/* {"hit": true, "name", "keys"} from an entry, or NULL when it does not
 * hold what a hit needs or is stale. */
static json_t *
hit_from(json_t *entry, const char *limit)
{
	json_t *name = json_object_get(entry, "name");
	json_t *keys = json_object_get(entry, "keys");
	json_int_t saved = json_integer_value(json_object_get(entry, "saved_ms"));

	if (!json_is_string(name) || !json_is_object(keys) ||
	    !json_is_string(json_object_get(keys, "s3_key_data")) ||
	    !json_is_string(json_object_get(keys, "s3_key_logs")) ||
	    !json_is_string(json_object_get(keys, "csv_data_key")) ||
	    saved < 0 || saved > sm_time_wall_ms() ||
	    !act_cache_fresh(limit_of(limit), (time_t)(saved / 1000),
	    (time_t)(sm_time_wall_ms() / 1000)))
		return NULL;
	return json_pack("{s:b,s:O,s:O}", "hit", 1, "name", name, "keys", keys);
}

struct lookup_op {
	struct act__op op;
	char key[65];
	char *limit;
	json_int_t task_id;
	char *server;
};

static void
lookup_free(struct act__op *op)
{
	struct lookup_op *lo = (struct lookup_op *)op;

	free(lo->limit);
	free(lo->server);
}

static void
lookup_hit(struct lookup_op *lo, json_t *hit)
{
	sm_log_info("Got cached result for task %" JSON_INTEGER_FORMAT " (%s): %s", lo->task_id,
	    lo->server ? lo->server : "?", json_string_value(json_object_get(hit, "name")));
	act__op_done(&lo->op, hit);
	json_decref(hit);
}

static void
lookup_miss(struct lookup_op *lo)
{
	json_t *res = json_pack("{s:b}", "hit", 0);

	act__op_done(&lo->op, res);
	json_decref(res);
}

static int
put_entry(struct store_txn *txn, void *arg, struct sm_error *err)
{
	const char **kv = arg;

	(void)err;
	return store_put(txn, STORE_T_CACHE, kv[0], strlen(kv[0]), kv[1], strlen(kv[1]));
}

static int
store_entry(struct act_ctx *ctx, const char *key, const char *text)
{
	const char *kv[2] = { key, text };
	struct sm_error err;

	sm_error_clear(&err);
	if (!ctx->store)
		return 0;
	return store_write(ctx->store, put_entry, kv, &err);
}

static void
on_remote(void *arg, const struct tp_result *r, const void *data, size_t len)
{
	struct lookup_op *lo = act__op_back(arg);
	json_t *entry, *hit;

	if (!lo)
		return;
	if (r->code != 0) {
		if (r->code != SM_ENOTFOUND)
			sm_log_warn("cannot read the shared cache entry %s: %s", lo->key,
			    r->message ? r->message : sm_strerror(r->code));
		lookup_miss(lo);
		return;
	}
	entry = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	hit = entry ? hit_from(entry, lo->limit) : NULL;
	if (hit) {
		char *text = json_dumps(entry, JSON_COMPACT);

		/* the next lookup here does not need the bucket */
		if (text && store_entry(lo->op.ctx, lo->key, text) != 0)
			sm_log_warn("cannot keep the shared cache entry %s in the store", lo->key);
		free(text);
	}
	json_decref(entry);
	if (hit)
		lookup_hit(lo, hit);
	else
		lookup_miss(lo);
}

static int
lookup_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	const char *key = json_string_value(json_object_get(p, "cache_key"));
	const char *limit = json_string_value(json_object_get(p, "limit"));
	json_t *msg = json_object_get(p, "msg");
	const char *server = json_string_value(json_object_get(msg, "server_name"));
	struct lookup_op *lo;
	struct act__tp *t;
	struct store_txn *txn = NULL;
	const void *v;
	size_t vl;
	json_t *hit = NULL;
	char okey[128];
	int rc;

	if (!key_ok(key))
		return sm_action_fail(call, "error.execution", "not a cache key");
	lo = act__op_new(call, sizeof(*lo));
	if (!lo)
		return SM_ENOMEM;
	lo->op.free_fn = lookup_free;
	memcpy(lo->key, key, 65);
	lo->limit = strdup(limit ? limit : "day");
	lo->server = server ? strdup(server) : NULL;
	lo->task_id = json_integer_value(json_object_get(msg, "task_id"));
	if (ctx->store && store_txn_begin(ctx->store, STORE_TXN_READ, &txn, NULL) == 0) {
		if (store_get(txn, STORE_T_CACHE, key, strlen(key), &v, &vl) == 0) {
			json_t *entry = json_loadb(v, vl, 0, NULL);

			hit = entry ? hit_from(entry, lo->limit) : NULL;
			json_decref(entry);
		}
		store_txn_abort(txn);
	}
	if (hit) {
		lookup_hit(lo, hit);
		return 0;
	}
	if (strcmp(tp_backend_name(ctx->tp), "aws") != 0) {
		lookup_miss(lo);
		return 0;
	}
	snprintf(okey, sizeof(okey), ACT_CACHE_PREFIX "%s.json", key);
	rc = SM_ENOMEM;
	if ((t = act__op_tp(&lo->op)) != NULL)
		rc = tp_object_get_mem(
		    ctx->tp, ctx->bucket, okey, CACHE_ENTRY_MAX, on_remote, t, &t->id);
	if (act__op_started(t, rc) != 0)
		lookup_miss(lo);
	return 0;
}

/* ---- cache_save ------------------------------------------------------------ */

static int
save_start(struct sm_action_call *call)
{
	struct act_ctx *ctx = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	const char *key = json_string_value(json_object_get(p, "cache_key"));
	json_t *entry;
	char *text;
	char okey[128];
	struct act__op *op;
	struct act__tp *t;
	int rc;

	if (!key_ok(key))
		return sm_action_fail(call, "error.execution", "not a cache key");
	entry = json_pack("{s:i,s:O?,s:O?,s:O?,s:I}", "v", 1, "name", json_object_get(p, "name"),
	    "keys", json_object_get(p, "keys"), "items", json_object_get(p, "items"),
	    "saved_ms", (json_int_t)sm_time_wall_ms());
	text = entry ? json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(entry);
	if (!text)
		return SM_ENOMEM;
	rc = store_entry(ctx, key, text);
	if (rc != 0) {
		free(text);
		return sm_action_fail(call, "error.execution", "cannot write the cache entry");
	}
	if (strcmp(tp_backend_name(ctx->tp), "aws") != 0) {
		free(text);
		return act__done_new(call, json_pack("{s:b}", "saved", 1));
	}
	op = act__op_new(call, sizeof(*op));
	if (!op) {
		free(text);
		return SM_ENOMEM;
	}
	op->done_key = "saved";
	op->what = "write the shared cache entry";
	snprintf(okey, sizeof(okey), ACT_CACHE_PREFIX "%s.json", key);
	rc = SM_ENOMEM;
	if ((t = act__op_tp(op)) != NULL)
		rc = tp_object_put_mem(ctx->tp, ctx->bucket, okey, text, strlen(text),
		    "application/json", act__op_on_put, t, &t->id);
	free(text);
	if (act__op_started(t, rc) != 0)
		act__op_fail(op, act__tp_error(rc), "cannot write the shared cache entry: %s",
		    sm_strerror(rc));
	return 0;
}

int
act_cache_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def lookup = { "cache_lookup", lookup_start, act__op_cancel, ctx };
	struct sm_action_def save = { "cache_save", save_start, act__op_cancel, ctx };
	int rc = sm_engine_register_action(e, &lookup);

	return rc != 0 ? rc : sm_engine_register_action(e, &save);
}
