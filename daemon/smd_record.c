/*
 * smd_record.c - the task record (docs/fleet-formats.md "smd-task-record"):
 * when a run ends in reported or failed, its record goes to the bucket
 * beside its outputs as <name>.state.json.zip.  Crash safety
 * (docs/daemon.md "The task record"): the run's index row "record" is
 * committed before its end is acknowledged, and goes only once the record
 * is in the bucket; at start every pending row is uploaded.  The record is
 * composed from the store at upload time (the run's records stay there),
 * so a record composed after a restart is the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "act_names.h"
#include "act_pack.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_record.h"
#include "smd_index.h"
#include "smd_private.h"
#include "smd_view.h"
#include "store.h"
#include "transport.h"

/* A failed upload is tried again after this, doubling up to the max. */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS (5 * 60 * 1000)

struct pending {
	struct pending *next;
	char id[SMD_INDEX_ID_SIZE];
};

struct smd__records {
	struct store *st;
	struct tp *tp;
	struct sm_loop *loop;
	const char *bucket;   /* borrowed from the configuration in force */
	const char *instance; /* this daemon's 28 characters */
	struct pending *head, *tail;
	size_t n;
	tp_op_id op;             /* the upload in flight, 0: none */
	uint64_t timer;          /* the retry timer, 0: none */
	int64_t delay_ms;        /* the next retry's delay */
	char *body;              /* the zip in flight */
	void (*idle)(void *arg); /* smd__records_on_idle */
	void *idle_arg;
};

/* ---- the record ---------------------------------------------------------- */

/* The keys the run put into the bucket, under the names of the format. */
static json_t *
record_keys(json_t *dm, json_t *hist, const char *state)
{
	static const char *const map[][2] = { { "data", "s3_key_data" }, { "csv", "csv_data_key" },
		{ "logs", "s3_key_logs" }, { "progress", "progress" } };
	json_t *keys = json_object(), *from = json_object_get(dm, "keys");

	if (!keys)
		return NULL;
	if (strcmp(state, "failed") == 0) {
		/* a failed run uploads its spider log only, when it ran */
		const char *log = smd_view_log_key(dm, hist, state);

		if (log)
			json_object_set_new(keys, "logs", json_string(log));
		return keys;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		json_t *v = json_object_get(from, map[i][1]);

		if (json_is_string(v))
			json_object_set(keys, map[i][0], v);
	}
	return keys;
}

static json_t *
orn(json_t *v)
{
	return v ? v : json_null();
}

int
smd__record_compose(struct store *st, const char *smd_instance, const char *id, int64_t now_ms,
    json_t **out, char *key, struct sm_error *err)
{
	struct smd_view_opts vo = { NULL, 0, -1 };
	struct store_txn *txn = NULL;
	json_t *inst = NULL, *view = NULL, *rec = NULL, *dm, *task, *job, *cache, *c, *source;
	const char *state, *name, *src;
	int64_t received, finished;
	int rc;

	*out = NULL;
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, err)) != 0)
		return rc;
	rc = sm_record_instance_get(txn, id, &inst, err);
	if (rc == 0 && !(view = smd_view_run(txn, &vo, id, inst, NULL)))
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
	store_txn_abort(txn);
	if (rc != 0)
		goto out;
	dm = json_object_get(json_object_get(inst, "session"), "datamodel");
	task = json_object_get(inst, "task");
	job = json_object_get(dm, "job");
	state = json_string_value(json_object_get(view, "state"));
	name = json_string_value(json_object_get(job, "name"));
	if (!json_is_true(json_object_get(view, "final")) || !state ||
	    (strcmp(state, "reported") != 0 && strcmp(state, "failed") != 0)) {
		rc = sm_error_set(err, SM_ENOTFOUND, "run '%s' ended in '%s': it has no record", id,
		    state ? state : "no final state");
		goto out;
	}
	if (!name || act_key_build(name, ACT_KEY_RECORD, key, ACT_KEY_SIZE) != 0) {
		rc = sm_error_set(err, SM_ENOTFOUND,
		    "run '%s' has no name (its message was not valid): it has no record", id);
		goto out;
	}
	received = json_integer_value(json_object_get(task, "received_ms"));
	finished = json_integer_value(json_object_get(inst, "updated"));
	cache = json_object_get(view, "cache");
	/* the name of the task whose results were served, as "name" is */
	src = json_string_value(json_object_get(cache, "source"));
	source = src ? json_string(act_name_base(src)) : json_null();
	c = json_is_object(cache) ?
	    json_pack("{s:O,s:O,s:o,s:O}", "result", orn(json_object_get(cache, "result")), "hit",
	        orn(json_object_get(cache, "hit")), "source", source, "key",
	        orn(json_object_get(cache, "key"))) :
	    json_null();
	json_object_del(view, "logs");
	rec = json_pack("{s:s,s:i,s:I,s:s,s:s,s:s,s:O,s:O,s:O,s:s,s:O,s:I,s:I,s:I,s:o,s:o,s:O,s:O}",
	    "format", SMD_RECORD_FORMAT, "version", SMD_RECORD_VERSION, "written_ms",
	    (json_int_t)now_ms, "smd_instance", smd_instance, "smd_version", SMD_VERSION, "name",
	    act_name_base(name), "task_id", orn(json_object_get(view, "task_id")), "server_name",
	    orn(json_object_get(view, "server_name")), "site",
	    orn(json_object_get(json_object_get(job, "msg"), "site")), "state", state, "reason",
	    orn(json_object_get(dm, "reason")), "received_ms", (json_int_t)received, "finished_ms",
	    (json_int_t)finished, "duration_ms", (json_int_t)(finished - received), "cache",
	    c ? c : json_null(), "keys", record_keys(dm, json_object_get(view, "history"), state),
	    "receive_count", orn(json_object_get(task, "receive_count")), "queue",
	    orn(json_object_get(task, "queue")));
	if (!rec || json_object_set(rec, "run", view) != 0 ||
	    json_object_set_new(rec, "history_dropped", json_integer(0)) != 0) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	*out = rec;
	rec = NULL;
out:
	json_decref(rec);
	json_decref(view);
	json_decref(inst);
	return rc;
}

/* The records of run.history before the cut, and after it at least. */
#define HISTORY_HEAD 20
#define HISTORY_TAIL 200

/* Compact JSON of `v` and its length; NULL out of memory. */
static char *
dump(const json_t *v, size_t *len)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	*len = t ? strlen(t) : 0;
	return t;
}

int
smd__record_text(json_t *rec, size_t max, char **out, size_t *outlen)
{
	json_t *hist = json_object_get(json_object_get(rec, "run"), "history"), *kept;
	size_t len, n, cut = 0, gain = 0, elen, i;
	char *text, *e;

	*out = NULL;
	*outlen = 0;
	if (!(text = dump(rec, &len)))
		return SM_ENOMEM;
	n = json_array_size(hist);
	if (len <= max || n <= HISTORY_HEAD + HISTORY_TAIL) {
		*out = text;
		*outlen = len;
		return 0;
	}
	/* the records right after the head go until the rest fits: the start and
	 * the end of the run are what an operator reads */
	while (len - gain > max && HISTORY_HEAD + cut < n - HISTORY_TAIL) {
		if (!(e = dump(json_array_get(hist, HISTORY_HEAD + cut), &elen))) {
			free(text);
			return SM_ENOMEM;
		}
		free(e);
		gain += elen + 1; /* and its comma */
		cut++;
	}
	if (!(kept = json_array())) {
		free(text);
		return SM_ENOMEM;
	}
	for (i = 0; i < n; i++)
		if ((i < HISTORY_HEAD || i >= HISTORY_HEAD + cut) &&
		    json_array_append(kept, json_array_get(hist, i)) != 0)
			break;
	free(text);
	if (i < n || json_object_set_new(json_object_get(rec, "run"), "history", kept) != 0 ||
	    json_object_set_new(rec, "history_dropped", json_integer((json_int_t)cut)) != 0 ||
	    !(text = dump(rec, &len))) {
		if (i < n)
			json_decref(kept);
		return SM_ENOMEM;
	}
	*out = text;
	*outlen = len;
	return 0;
}

/* ---- the uploads ----------------------------------------------------------- */

static void pump(struct smd__records *r);

static void
drop_head(struct smd__records *r)
{
	struct pending *p = r->head;

	r->head = p->next;
	if (!r->head)
		r->tail = NULL;
	r->n--;
	free(p);
}

/* The head's row goes: its record is in the bucket, or it has none. */
static void
done_head(struct smd__records *r)
{
	struct sm_error err;

	sm_error_clear(&err);
	if (smd_index_record_pending(r->st, r->head->id, 0, &err) != 0)
		sm_log_warn("task record of '%s': cannot clear its pending row (it is uploaded "
		            "again at the next start): %s",
		    r->head->id, err.msg);
	drop_head(r);
}

static int64_t
on_retry(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct smd__records *r = arg;

	(void)loop;
	(void)id;
	r->timer = 0;
	pump(r);
	return -1;
}

/* The head failed: it goes to the back, and everything waits a while. */
static void
retry_later(struct smd__records *r)
{
	struct pending *p = r->head;

	if (r->n > 1) {
		r->head = p->next;
		p->next = NULL;
		r->tail->next = p;
		r->tail = p;
	}
	r->timer = sm_loop_timer_add(r->loop, r->delay_ms, on_retry, r);
	r->delay_ms = r->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : r->delay_ms * 2;
}

static void
on_put(void *arg, const struct tp_result *res, const struct tp_object *obj)
{
	struct smd__records *r = arg;

	(void)obj;
	r->op = 0;
	free(r->body);
	r->body = NULL;
	if (res->code == SM_ECANCELED)
		return; /* smd__records_close: the row stays pending */
	if (res->code != 0) {
		sm_log_warn("task record of '%s': upload failed (tried again in %lld ms; %zu "
		            "pending): %s",
		    r->head->id, (long long)r->delay_ms, r->n,
		    res->message ? res->message : sm_strerror(res->code));
		retry_later(r);
		return;
	}
	sm_log_info("task record of '%s' uploaded", r->head->id);
	r->delay_ms = RETRY_FIRST_MS;
	done_head(r);
	pump(r);
}

/* Start the upload of the head, unless one is in flight or waiting. */
static void
pump(struct smd__records *r)
{
	while (r->head && !r->op && !r->timer) {
		struct sm_error err;
		char key[ACT_KEY_SIZE], member[ACT_KEY_SIZE + 16];
		json_t *rec = NULL;
		char *text = NULL;
		size_t len = 0;
		int rc;

		sm_error_clear(&err);
		rc = smd__record_compose(
		    r->st, r->instance, r->head->id, sm_time_wall_ms(), &rec, key, &err);
		if (rc == SM_ENOTFOUND) {
			sm_log_info("task record of '%s': none: %s", r->head->id, err.msg);
			done_head(r);
			continue;
		}
		if (rc == 0 && smd__record_text(rec, SMD_RECORD_TEXT_MAX, &text, &len) != 0)
			rc = sm_error_set(&err, SM_ENOMEM, "out of memory");
		if (rc == 0 && json_integer_value(json_object_get(rec, "history_dropped")) > 0)
			sm_log_info("task record of '%s': %lld history records cut from the middle "
			            "(the record was over %u bytes)",
			    r->head->id,
			    (long long)json_integer_value(json_object_get(rec, "history_dropped")),
			    SMD_RECORD_TEXT_MAX);
		/* the one member: <name>.state.json */
		snprintf(member, sizeof(member), "%s%s",
		    json_string_value(json_object_get(rec, "name")) ?: "",
		    ACT_RECORD_MEMBER_SUFFIX);
		json_decref(rec);
		if (rc == 0)
			rc = act_zip_mem(text, len, member, &r->body, &len, &err);
		free(text);
		if (rc == 0)
			rc = tp_object_put_mem(r->tp, r->bucket, key, r->body, len,
			    "application/zip", on_put, r, &r->op);
		if (rc != 0) {
			free(r->body);
			r->body = NULL;
			r->op = 0;
			sm_log_warn(
			    "task record of '%s': cannot upload it (tried again in %lld ms): %s",
			    r->head->id, (long long)r->delay_ms,
			    err.msg[0] ? err.msg : sm_strerror(rc));
			retry_later(r);
			return;
		}
	}
	if (!r->head && r->idle)
		r->idle(r->idle_arg);
}

int
smd__records_open(struct smd__records **out, struct store *st, struct tp *tp, struct sm_loop *loop,
    const char *instance)
{
	struct smd__records *r = calloc(1, sizeof(*r));

	if (!r)
		return SM_ENOMEM;
	r->st = st;
	r->tp = tp;
	r->loop = loop;
	r->instance = instance;
	r->delay_ms = RETRY_FIRST_MS;
	*out = r;
	return 0;
}

void
smd__records_config(struct smd__records *r, const char *bucket)
{
	if (r)
		r->bucket = bucket;
}

static int
add_pending(struct smd__records *r, const char *id)
{
	struct pending *p;

	for (p = r->head; p; p = p->next)
		if (strcmp(p->id, id) == 0)
			return 0;
	if (!(p = calloc(1, sizeof(*p))))
		return SM_ENOMEM;
	snprintf(p->id, sizeof(p->id), "%s", id);
	if (r->tail)
		r->tail->next = p;
	else
		r->head = p;
	r->tail = p;
	r->n++;
	return 0;
}

int
smd__records_ended(struct smd__records *r, const char *id, const char *final_id)
{
	struct sm_error err;
	int rc;

	if (strcmp(final_id, "reported") != 0 && strcmp(final_id, "failed") != 0)
		return 0;
	sm_error_clear(&err);
	if ((rc = smd_index_record_pending(r->st, id, 1, &err)) != 0) {
		sm_log_error("task record of '%s': cannot mark it pending (it is not uploaded "
		             "unless the run's end is reported again after a restart): %s",
		    id, err.msg);
		return rc;
	}
	if (add_pending(r, id) != 0)
		sm_log_error("task record of '%s': out of memory (uploaded at the next start)", id);
	pump(r);
	return 0;
}

static int
resume_one(void *arg, const char *instance)
{
	return add_pending(arg, instance) != 0;
}

void
smd__records_resume(struct smd__records *r)
{
	smd_index_each_record(r->st, resume_one, r);
	if (r->n)
		sm_log_info("%zu task record(s) pending from before the restart", r->n);
	pump(r);
}

size_t
smd__records_pending(const struct smd__records *r)
{
	return r ? r->n : 0;
}

void
smd__records_on_idle(struct smd__records *r, void (*fn)(void *arg), void *arg)
{
	r->idle = fn;
	r->idle_arg = arg;
}

void
smd__records_close(struct smd__records *r)
{
	if (!r)
		return;
	if (r->timer)
		sm_loop_timer_del(r->loop, r->timer);
	r->idle = NULL;
	if (r->op)
		tp_cancel(r->tp, r->op);
	free(r->body);
	while (r->head)
		drop_head(r);
	free(r);
}
