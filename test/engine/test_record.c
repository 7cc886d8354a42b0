/*
 * test_record.c - the engine's persisted records (sm_record.h): each format
 * written by its sm_record_*_build / sm_record_timer_* writer, stored under the key its
 * sm_record_key_* builds, and read back through the readers; the version rule
 * (newer "v" refused, older or absent read as format 1); key order
 * (history oldest first, timers in due order); hostile input (not JSON,
 * an id that differs from its key, truncated keys, bad payloads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_interp_private.h"
#include "sm_jw.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "sm_record.h"
#include "store.h"
#include "tap.h"

#include "engine_test_util.h"

static const char *machine_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    "  version='1.0' datamodel='task' initial='w'>"
    " <datamodel><data id='arr'>[]</data><data id='n' expr='1'/></datamodel>"
    " <state id='w'>"
    "  <onentry><assign location='arr[3]' expr='1'/></onentry>"
    "  <invoke id='j' type='urn:smd:scxml:1' src='job'/>"
    "  <invoke id='kid'><content>"
    "   <scxml version='1.0' datamodel='null' initial='k'><state id='k'><transition event='e' "
    "target='kf'/></state><final id='kf'/></scxml>"
    "  </content></invoke>"
    "  <transition event='go' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static struct store *
open_store(const char *dir)
{
	struct store *st = NULL;
	struct sm_error err;

	sm_error_clear(&err);
	if (store_open(&st, dir, NULL, &err) != 0)
		bail_out("store_open: %s", err.msg);
	return st;
}

static void
put(struct store *st, enum store_table t, const void *k, size_t kl, const void *v, size_t vl)
{
	struct store_batch *b;
	struct sm_error err;

	if (store_batch_create(&b) != 0 || store_batch_put(b, t, k, kl, v, vl) != 0)
		bail_out("cannot queue a record");
	sm_error_clear(&err);
	if (store_batch_commit(st, b, &err) != 0)
		bail_out("commit: %s", err.msg);
	store_batch_destroy(b);
}

static struct store_txn *
rtxn(struct store *st)
{
	struct store_txn *txn;
	struct sm_error err;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, &err) != 0)
		bail_out("txn: %s", err.msg);
	return txn;
}

/* The writer's output as a parsed tree (new ref). */
static json_t *
jw_json(const struct sm_jw *w)
{
	return json_loadb(w->buf, w->len, JSON_ALLOW_NUL, NULL);
}

/* ---- keys ------------------------------------------------------------------ */

/* LMDB's default order: bytes, then length. */
static int
key_cmp(const struct store_key *a, const struct store_key *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->buf, b->buf, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

struct seqs {
	uint64_t v[16];
	size_t n;
	char ids[16][32];
};

static int
collect_seq(void *arg, uint64_t seq, json_t *rec)
{
	struct seqs *s = arg;

	if (s->n < 16)
		s->v[s->n++] = json_is_object(rec) ? seq : 0;
	return 0;
}

static int
collect_timer(
    void *arg, int64_t due, const char *id, const char *tid, size_t tidlen, json_t *payload)
{
	struct seqs *s = arg;

	(void)payload;
	if (s->n < 16) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s:%.*s", id, (int)tidlen, tid);
		s->v[s->n++] = (uint64_t)due;
	}
	return 0;
}

static void
test_keys(const char *dir)
{
	static const uint64_t seqs[] = { 1, 2, 255, 256, 65535, 65536, (uint64_t)1 << 32,
		UINT64_MAX - 1 };
	/* due, id, timer id; listed in due order */
	static const struct {
		int64_t due;
		const char *id, *tid;
	} timers[] = {
		{ 5, "b", "t1" },
		{ 6, "a", "t2" },
		{ 255, "b", "t3" },
		{ 256, "a", "t4" },
		{ (int64_t)1 << 40, "a", "t5" },
		{ 1764355212000, "a", "t6" },
	};
	struct store_key a, b;
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct seqs got;
	char longid[600];
	size_t i, n = sizeof(seqs) / sizeof(seqs[0]);
	int sorted = 1;

	for (i = 0; i + 1 < n; i++) {
		sm_record_key_history(&a, "a", seqs[i]);
		sm_record_key_history(&b, "a", seqs[i + 1]);
		sorted &= key_cmp(&a, &b) < 0;
	}
	ok(sorted, "history keys of one id sort by seq (1, 2, 255, 256, ..., 2^64 - 2)");
	sm_record_key_history(&a, "a", UINT64_MAX - 1);
	sm_record_key_history(&b, "ab", 1);
	ok(key_cmp(&a, &b) < 0, "every history key of 'a' sorts before those of 'ab'");
	sm_record_key_instance(&a, "a");
	sm_record_key_instance(&b, "a/kid");
	ok(key_cmp(&a, &b) < 0, "an instance key sorts before its children's");
	sorted = 1;
	for (i = 0; i + 1 < sizeof(timers) / sizeof(timers[0]); i++) {
		sm_record_key_timer(&a, timers[i].due, timers[i].id, timers[i].tid);
		sm_record_key_timer(&b, timers[i + 1].due, timers[i + 1].id, timers[i + 1].tid);
		sorted &= key_cmp(&a, &b) < 0;
	}
	ok(sorted, "timer keys sort by due time, whatever the instance id");

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	is_int(sm_record_key_instance(&a, longid), SM_ETOOBIG, "an instance key over the limit");
	ok(a.overflow, "sets overflow");
	is_int(sm_record_key_history(&a, longid, 1), SM_ETOOBIG, "a history key over the limit");
	is_int(sm_record_key_inbox(&a, longid, 1), SM_ETOOBIG, "an inbox key over the limit");
	is_int(sm_record_key_timer(&a, 1, "a", longid), SM_ETOOBIG, "a timer key over the limit");

	/* stored in reverse order, walked in key order */
	for (i = n; i-- > 0;) {
		sm_record_key_history(&a, "a", seqs[i]);
		put(st, STORE_T_HISTORY, a.buf, a.len, "{}", 2);
	}
	sm_record_key_history(&a, "ab", 3);
	put(st, STORE_T_HISTORY, a.buf, a.len, "{}", 2);
	memset(&got, 0, sizeof(got));
	txn = rtxn(st);
	is_int(sm_record_history_each(txn, "a", collect_seq, &got), 0, "history walk");
	is_int(got.n, n, "the walk gives every record of 'a' and none of 'ab'");
	ok(memcmp(got.v, seqs, sizeof(seqs)) == 0, "oldest first");
	store_txn_abort(txn);

	for (i = sizeof(timers) / sizeof(timers[0]); i-- > 0;) {
		sm_record_key_timer(&a, timers[i].due, timers[i].id, timers[i].tid);
		put(st, STORE_T_TIMERS, a.buf, a.len, "{}", 2);
	}
	memset(&got, 0, sizeof(got));
	txn = rtxn(st);
	is_int(sm_record_timers_each(txn, collect_timer, &got), 0, "timers walk");
	is_int(got.n, sizeof(timers) / sizeof(timers[0]), "every timer");
	sorted = 1;
	for (i = 0; i < got.n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "%s:%s", timers[i].id, timers[i].tid);
		sorted &= got.v[i] == (uint64_t)timers[i].due && strcmp(got.ids[i], want) == 0;
	}
	ok(sorted, "in due order, with their instance and timer ids");
	store_txn_abort(txn);
	store_close(st);
}

/* ---- instance records -------------------------------------------------------- */

struct tlist {
	const struct sm_record_timer *v;
	size_t n, i;
};

static int
tlist_next(void *arg, struct sm_record_timer *t)
{
	struct tlist *l = arg;

	if (l->i >= l->n)
		return 0;
	*t = l->v[l->i++];
	return 1;
}

static void
test_instance(const char *dir, struct sm_machine *m)
{
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct sm_session *s, *s2;
	struct sm_jw w = SM_JW_INIT;
	struct sm_error err;
	struct store_key k;
	json_t *task = json_pack("{s:s,s:[i,i]}", "site", "caf\xc3\xa9", "ids", 1, 2);
	json_t *send = NULL, *retry = NULL, *rec = NULL, *j, *c1, *c2, *seven = json_integer(7);
	struct sm_record_timer tv[2];
	struct tlist tl;
	struct sm_record_instance r;
	char *task_text;

	sm_error_clear(&err);
	if (sm__session_create(m, "i1", task, &s, &err) != 0 || sm__session_start(s) != 0)
		bail_out("session: %s", err.msg);
	sm__effects_free(sm__session_take_effects(s));
	is_int(sm_record_timer_send(&send, "#_parent", "later", seven, "s1"), 0, "a send payload");
	is_int(sm_record_timer_retry(&retry, "j", 3, "error.io", NULL), 0, "a retry payload");
	tv[0] = (struct sm_record_timer){ "s1", 1764355212000, send };
	tv[1] = (struct sm_record_timer){ "retry:j", 1764355213000, retry };
	tl = (struct tlist){ tv, 2, 0 };
	memset(&r, 0, sizeof(r));
	r.id = "i1";
	r.machine = "ab12";
	r.machine_name = "test";
	r.machine_path = "/m/test.scxml";
	r.status = SM_RECORD_RUNNING;
	r.restarts = 2;
	r.created = 1000;
	r.updated = 2000;
	r.hist_seq = 7;
	r.inbox_seq = 3;
	r.task = task;
	r.session = s;
	r.timer_next = tlist_next;
	r.timer_arg = &tl;
	is_int(sm_record_instance_build(&w, &r), 0, "a running instance record is written");
	sm_record_key_instance(&k, "i1");
	put(st, STORE_T_INSTANCES, k.buf, k.len, w.buf, w.len);
	txn = rtxn(st);
	sm_error_clear(&err);
	is_int(sm_record_instance_get(txn, "i1", &rec, &err), 0,
	    "and read back by sm_record_instance_get");
	store_txn_abort(txn);
	is_int(json_integer_value(json_object_get(rec, "v")), SM_RECORD_FORMAT,
	    "v is the current format");
	is_str(json_string_value(json_object_get(rec, "id")), "i1", "id");
	is_str(json_string_value(json_object_get(rec, "machine")), "ab12", "machine");
	is_str(json_string_value(json_object_get(rec, "machine_name")), "test", "machine_name");
	is_str(json_string_value(json_object_get(rec, "machine_path")), "/m/test.scxml",
	    "machine_path");
	is_str(json_string_value(json_object_get(rec, "status")), "running", "status");
	ok(json_is_null(json_object_get(rec, "final")), "final null while running");
	ok(!json_object_get(rec, "acked") && !json_object_get(rec, "error") &&
	        !json_object_get(rec, "parent"),
	    "no acked, error or parent while running");
	is_int(json_integer_value(json_object_get(rec, "restarts")), 2, "restarts");
	is_int(json_integer_value(json_object_get(rec, "created")), 1000, "created");
	is_int(json_integer_value(json_object_get(rec, "updated")), 2000, "updated");
	is_int(json_integer_value(json_object_get(rec, "hist_seq")), 7, "hist_seq");
	is_int(json_integer_value(json_object_get(rec, "inbox_seq")), 3, "inbox_seq");
	ok(json_equal(json_object_get(rec, "task"), task), "task");
	j = json_object_get(rec, "timers");
	ok(json_array_size(j) == 2 &&
	        strcmp(json_string_value(json_object_get(json_array_get(j, 0), "id")) ?: "",
	            "s1") == 0 &&
	        json_integer_value(json_object_get(json_array_get(j, 0), "due")) == 1764355212000 &&
	        json_equal(json_object_get(json_array_get(j, 0), "payload"), send) &&
	        json_equal(json_object_get(json_array_get(j, 1), "payload"), retry),
	    "timers: id, due and payload, in the order given");
	/* the session snapshot comes back as the same session */
	sm__session_create(m, "i1", task, &s2, &err);
	sm_error_clear(&err);
	is_int(sm__session_restore(s2, json_object_get(rec, "session"), &err), 0,
	    "the session restores from the record");
	c1 = sm__session_config_json(s);
	c2 = sm__session_config_json(s2);
	ok(json_equal(c1, c2) && json_array_size(c1) == 1 &&
	        strcmp(json_string_value(json_array_get(c1, 0)) ?: "", "w") == 0,
	    "with the same configuration");
	json_decref(c1);
	json_decref(c2);
	sm__session_free(s2);
	json_decref(rec);

	/* the task already serialized gives the same bytes */
	{
		char *a = strndup(w.buf, w.len);

		task_text = json_dumps(task, JSON_COMPACT);
		r.task = NULL;
		r.task_text = task_text;
		r.task_len = strlen(task_text);
		tl.i = 0;
		sm_record_instance_build(&w, &r);
		ok(a && w.len == strlen(a) && memcmp(w.buf, a, w.len) == 0,
		    "task_text writes what task writes");
		free(a);
		free(task_text);
		r.task_text = NULL;
		r.task = task;
	}

	/* done without a final state: "final" is null, not "" */
	r.status = SM_RECORD_DONE;
	r.final = "";
	r.timer_next = NULL;
	sm_record_instance_build(&w, &r);
	rec = jw_json(&w);
	ok(json_is_null(json_object_get(rec, "final")),
	    "done without reaching a final state: final is null");
	ok(json_is_false(json_object_get(rec, "acked")), "acked false until acknowledged");
	is_int(json_array_size(json_object_get(rec, "timers")), 0, "no timer_next: timers []");
	json_decref(rec);
	r.final = "end";
	r.acked = 1;
	sm_record_instance_build(&w, &r);
	rec = jw_json(&w);
	is_str(json_string_value(json_object_get(rec, "final")), "end", "done: the final state");
	ok(json_is_true(json_object_get(rec, "acked")), "acked true once acknowledged");
	json_decref(rec);

	/* failed: an error, no session, final null, acked */
	r.status = SM_RECORD_FAILED;
	r.acked = 0;
	r.error = "disk full";
	r.session = NULL;
	sm_record_instance_build(&w, &r);
	sm_record_key_instance(&k, "i1");
	put(st, STORE_T_INSTANCES, k.buf, k.len, w.buf, w.len);
	txn = rtxn(st);
	is_int(
	    sm_record_instance_get(txn, "i1", &rec, &err), 0, "a failed instance's record reads");
	store_txn_abort(txn);
	is_str(json_string_value(json_object_get(rec, "status")), "failed", "status failed");
	is_str(json_string_value(json_object_get(rec, "error")), "disk full", "with its error");
	ok(json_is_null(json_object_get(rec, "session")) &&
	        json_is_null(json_object_get(rec, "final")) &&
	        json_is_false(json_object_get(rec, "acked")),
	    "session null, final null, acked false");
	json_decref(rec);

	/* a child session: parent and invokeid, never acked */
	memset(&r, 0, sizeof(r));
	r.id = "i1/kid";
	r.status = SM_RECORD_DONE;
	r.parent = "i1";
	r.invokeid = "kid";
	r.session = s;
	is_int(sm_record_instance_build(&w, &r), 0, "a child session's record");
	rec = jw_json(&w);
	ok(json_is_string(json_object_get(rec, "machine")) &&
	        strcmp(json_string_value(json_object_get(rec, "machine")), "") == 0,
	    "machine NULL is written \"\" (readers require a string)");
	is_str(json_string_value(json_object_get(rec, "parent")), "i1", "parent");
	is_str(json_string_value(json_object_get(rec, "invokeid")), "kid", "invokeid");
	ok(!json_object_get(rec, "acked") && !json_object_get(rec, "restarts"),
	    "a child has no acked; restarts 0 is not written");
	json_decref(rec);
	sm_error_clear(&err);
	is_int(sm_record_instance_parse("i1/kid", 6, w.buf, w.len, &rec, &err), 0,
	    "sm_record_instance_parse reads it under its key");
	json_decref(rec);

	/* what cannot be written */
	r.id = NULL;
	is_int(sm_record_instance_build(&w, &r), SM_EINVAL, "no id: SM_EINVAL");
	is_int(w.err, SM_EINVAL, "left in w->err");
	r.id = "i1";
	{
		json_t *deep = json_string("x"), *o;
		int i;

		for (i = 0; i < SM_JW_DEPTH_MAX + 5; i++) {
			o = json_array();
			json_array_append_new(o, deep);
			deep = o;
		}
		r.task = deep;
		is_int(sm_record_instance_build(&w, &r), SM_ETOOBIG,
		    "a task nested too deep: SM_ETOOBIG");
		json_decref(deep);
	}
	tv[1].payload = NULL;
	tl = (struct tlist){ tv, 2, 0 };
	r.task = task;
	r.timer_next = tlist_next;
	r.timer_arg = &tl;
	is_int(sm_record_instance_build(&w, &r), SM_EINVAL, "a timer without a payload: SM_EINVAL");
	sm_jw_reset(&w);
	is_int(sm_record_instance_build(&w, &(struct sm_record_instance){ .id = "x", .status = 9 }),
	    SM_EINVAL, "an unknown status: SM_EINVAL");

	json_decref(seven);
	json_decref(send);
	json_decref(retry);
	json_decref(task);
	sm__session_free(s);
	sm_jw_free(&w);
	store_close(st);
}

/* Store what `w` holds as history record `seq` of `id`. */
static void
put_history(struct store *st, const char *id, uint64_t seq, const struct sm_jw *w)
{
	struct store_key k;

	sm_record_key_history(&k, id, seq);
	put(st, STORE_T_HISTORY, k.buf, k.len, w->buf, w->len);
}

/* ---- history records ----------------------------------------------------------- */

struct hist {
	json_t *recs;
};

static int
add_rec(void *arg, uint64_t seq, json_t *rec)
{
	(void)seq;
	json_array_append(arg, rec ? rec : json_null());
	return 0;
}

static void
test_history(const char *dir, struct sm_machine *m)
{
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct sm_session *s;
	struct sm_jw w = SM_JW_INIT;
	struct sm_error err;
	struct sm_effect *fx;
	struct sm_event *ev;
	json_t *recs = json_array(), *r0, *r1, *r2, *a, *errs, *x1 = json_pack("{s:i}", "x", 1);
	unsigned char *before;
	struct sm_record_history h;

	sm_error_clear(&err);
	if (sm__session_create(m, "h1", NULL, &s, &err) != 0 || sm__session_start(s) != 0)
		bail_out("session: %s", err.msg);
	fx = sm__session_take_effects(s);
	errs = json_deep_copy(sm__session_errors(s));
	h = (struct sm_record_history){ .kind = SM_RECORD_STEP_START,
		.seq = 1,
		.time = 1111,
		.session = s,
		.effects = fx,
		.errors = errs };
	is_int(sm_record_history_build(&w, &h), 0, "a start record is written");
	put_history(st, "h1", 1, &w);
	sm__effects_free(fx);

	/* an event step: from -> to, the event, a cancel among the actions */
	before = malloc(m->nstates);
	memcpy(before, sm__session_active(s), m->nstates);
	ev = sm__event_new("go", x1, SM_EV_EXTERNAL);
	ev->invokeid = strdup("j");
	fx = calloc(1, sizeof(*fx));
	fx->kind = SM_FX_UNINVOKE;
	fx->invokeid = strdup("kid");
	sm__session_push(s, sm__event_new("go", NULL, SM_EV_EXTERNAL));
	sm__session_step(s, NULL);
	sm__effects_free(sm__session_take_effects(s));
	h = (struct sm_record_history){ .kind = SM_RECORD_STEP_EVENT,
		.seq = 2,
		.time = 2222,
		.event = ev,
		.session = s,
		.from = before,
		.effects = fx };
	is_int(sm_record_history_build(&w, &h), 0, "an event record is written");
	put_history(st, "h1", 2, &w);
	sm__effects_free(fx);

	/* the instance failed */
	h = (struct sm_record_history){
		.kind = SM_RECORD_STEP_FAIL, .seq = 3, .session = s, .failed = "cannot save"
	};
	is_int(sm_record_history_build(&w, &h), 0, "a fail record is written");
	put_history(st, "h1", 3, &w);

	txn = rtxn(st);
	is_int(sm_record_history_each(txn, "h1", add_rec, recs), 0, "history read back");
	store_txn_abort(txn);
	is_int(json_array_size(recs), 3, "three records");
	r0 = json_array_get(recs, 0);
	r1 = json_array_get(recs, 1);
	r2 = json_array_get(recs, 2);
	is_str(json_string_value(json_object_get(r0, "kind")), "start", "kind start");
	is_int(json_integer_value(json_object_get(r0, "seq")), 1, "seq");
	is_int(json_integer_value(json_object_get(r0, "time")), 1111, "time");
	ok(json_is_null(json_object_get(r0, "event")) && json_is_null(json_object_get(r0, "from")),
	    "start: event and from null");
	a = json_object_get(r0, "to");
	ok(json_array_size(a) == 1 &&
	        strcmp(json_string_value(json_array_get(a, 0)) ?: "", "w") == 0,
	    "to: the configuration after");
	a = json_object_get(r0, "actions");
	ok(json_array_size(a) == 2 &&
	        strcmp(json_string_value(json_object_get(json_array_get(a, 0), "invokeid")) ?: "",
	            "j") == 0 &&
	        strcmp(json_string_value(json_object_get(json_array_get(a, 0), "type")) ?: "",
	            "action") == 0 &&
	        strcmp(json_string_value(json_object_get(json_array_get(a, 0), "src")) ?: "",
	            "job") == 0 &&
	        strcmp(json_string_value(json_object_get(json_array_get(a, 1), "type")) ?: "",
	            "scxml") == 0,
	    "actions: the invokes started (action with its src, scxml)");
	ok(json_array_size(json_object_get(r0, "errors")) == 1 &&
	        json_equal(json_object_get(r0, "errors"), errs),
	    "errors: the step's error.execution messages");
	is_str(json_string_value(json_object_get(r1, "kind")), "event", "kind event");
	a = json_object_get(r1, "event");
	ok(strcmp(json_string_value(json_object_get(a, "name")) ?: "", "go") == 0 &&
	        json_integer_value(json_object_get(json_object_get(a, "data"), "x")) == 1 &&
	        strcmp(json_string_value(json_object_get(a, "invokeid")) ?: "", "j") == 0 &&
	        strcmp(json_string_value(json_object_get(a, "type")) ?: "", "external") == 0 &&
	        json_is_null(json_object_get(a, "sendid")) &&
	        json_is_null(json_object_get(a, "origin")),
	    "event: the _event shape");
	ok(strcmp(json_string_value(json_array_get(json_object_get(r1, "from"), 0)) ?: "", "w") ==
	            0 &&
	        strcmp(json_string_value(json_array_get(json_object_get(r1, "to"), 0)) ?: "",
	            "end") == 0,
	    "from w to the final state end");
	a = json_object_get(r1, "actions");
	ok(json_array_size(a) == 1 &&
	        strcmp(json_string_value(json_object_get(json_array_get(a, 0), "type")) ?: "",
	            "cancel") == 0,
	    "actions: the cancel");
	ok(json_is_array(json_object_get(r1, "errors")) &&
	        json_array_size(json_object_get(r1, "errors")) == 0,
	    "errors NULL: []");
	is_str(json_string_value(json_object_get(r2, "kind")), "fail", "kind fail");
	ok(json_array_size(json_object_get(r2, "to")) == 0 &&
	        strcmp(json_string_value(json_array_get(json_object_get(r2, "errors"), 0)) ?: "",
	            "cannot save") == 0,
	    "fail: to [] and the reason as the error");

	{
		json_t *d = NULL;

		is_int(
		    sm_record_retry_data(&d, "j", NULL, 2, 1500), 0, "a retry record's event data");
		ok(strcmp(json_string_value(json_object_get(d, "invokeid")) ?: "", "j") == 0 &&
		        strcmp(json_string_value(json_object_get(d, "message")) ?: "?", "") == 0 &&
		        json_integer_value(json_object_get(d, "next_attempt")) == 2 &&
		        json_integer_value(json_object_get(d, "delay_ms")) == 1500,
		    "invokeid, message, next_attempt, delay_ms");
		json_decref(d);
		is_int(sm_record_retry_data(&d, NULL, "m", 2, 1), SM_EINVAL,
		    "without an invokeid: SM_EINVAL");
		ok(d == NULL, "and no value");
	}
	memset(&h, 0, sizeof(h));
	is_int(sm_record_history_build(&w, &h), SM_EINVAL, "no session: SM_EINVAL");

	sm__event_free(ev);
	json_decref(x1);
	free(before);
	json_decref(errs);
	json_decref(recs);
	sm__session_free(s);
	sm_jw_free(&w);
	store_close(st);
}

/* ---- inbox events ------------------------------------------------------------- */

struct inbox {
	char ids[8][32];
	uint64_t seq[8];
	struct sm_event *ev[8];
	size_t n;
};

static int
add_inbox(void *arg, const char *id, uint64_t seq, json_t *rec)
{
	struct inbox *b = arg;

	if (b->n < 8) {
		snprintf(b->ids[b->n], sizeof(b->ids[0]), "%s", id);
		b->seq[b->n] = seq;
		b->ev[b->n] = rec ? sm__event_from_json(rec) : NULL;
		b->n++;
	}
	return 0;
}

static void
test_inbox(const char *dir)
{
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct sm_jw w = SM_JW_INIT;
	struct store_key k;
	struct sm_event *ev = sm__event_new("done.invoke.j", NULL, SM_EV_PLATFORM);
	struct inbox b;
	size_t i;
	json_t *d = json_pack("{s:s%}", "nul", "a\0b", (size_t)3);

	ev->data = d;
	ev->sendid = strdup("s9");
	ev->origin = strdup("#_parent");
	ev->invokeid = strdup("j");
	is_int(sm_record_inbox_event_build(&w, ev), 0, "an inbox event is written");
	sm_record_key_inbox(&k, "q1", 2);
	put(st, STORE_T_INBOX, k.buf, k.len, w.buf, w.len);
	sm_record_key_inbox(&k, "q1", 1);
	put(st, STORE_T_INBOX, k.buf, k.len, w.buf, w.len);
	sm_record_key_inbox(&k, "q0", 9);
	put(st, STORE_T_INBOX, k.buf, k.len, "not json", 8);
	memset(&b, 0, sizeof(b));
	txn = rtxn(st);
	is_int(sm_record_inbox_each(txn, "q1", add_inbox, &b), 0, "the inbox of q1 read back");
	store_txn_abort(txn);
	ok(b.n == 2 && b.seq[0] == 1 && b.seq[1] == 2 && strcmp(b.ids[0], "q1") == 0,
	    "oldest first, with its instance id");
	ok(b.ev[0] && strcmp(b.ev[0]->name, "done.invoke.j") == 0 && json_equal(b.ev[0]->data, d) &&
	        strcmp(b.ev[0]->sendid ?: "", "s9") == 0 &&
	        strcmp(b.ev[0]->origin ?: "", "#_parent") == 0 &&
	        strcmp(b.ev[0]->invokeid ?: "", "j") == 0 && b.ev[0]->type == SM_EV_PLATFORM,
	    "the event comes back whole (name, data with a NUL, sendid, origin, invokeid, type)");
	for (i = 0; i < b.n; i++)
		sm__event_free(b.ev[i]);
	memset(&b, 0, sizeof(b));
	txn = rtxn(st);
	is_int(sm_record_inbox_each(txn, NULL, add_inbox, &b), 0, "every inbox");
	store_txn_abort(txn);
	ok(b.n == 3 && strcmp(b.ids[0], "q0") == 0 && b.ev[0] == NULL && b.seq[0] == 9,
	    "a record that is not JSON is given as NULL, the walk goes on");
	for (i = 0; i < b.n; i++)
		sm__event_free(b.ev[i]);
	is_int(sm_record_inbox_event_build(&w, NULL), SM_EINVAL, "no event: SM_EINVAL");
	sm__event_free(ev);
	sm_jw_free(&w);
	store_close(st);
}

/* ---- timer payloads ------------------------------------------------------------- */

struct tpay {
	json_t *p[4];
	size_t n;
};

static int
add_payload(void *arg, int64_t due, const char *id, const char *tid, size_t tidlen, json_t *payload)
{
	struct tpay *t = arg;

	(void)due;
	(void)id;
	(void)tid;
	(void)tidlen;
	if (t->n < 4)
		t->p[t->n++] = json_incref(payload);
	return 0;
}

static void
test_timers(const char *dir)
{
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct sm_jw w = SM_JW_INIT;
	struct store_key k;
	struct sm_record_timer_payload p;
	struct tpay t;
	json_t *send, *retry, *data = json_pack("{s:i}", "n", 5), *bad;
	size_t i;

	is_int(sm_record_timer_send(&send, NULL, "tick", data, "i1.send1"), 0, "a delayed send");
	is_int(
	    sm_record_timer_retry(&retry, "up", 3, "error.timeout", "slow"), 0, "an action retry");
	is_int(sm_record_timer_build(&w, send), 0, "written");
	sm_record_key_timer(&k, 2000, "t1", "i1.send1");
	put(st, STORE_T_TIMERS, k.buf, k.len, w.buf, w.len);
	sm_record_timer_build(&w, retry);
	sm_record_key_timer(&k, 1000, "t1", "retry:up");
	put(st, STORE_T_TIMERS, k.buf, k.len, w.buf, w.len);
	memset(&t, 0, sizeof(t));
	txn = rtxn(st);
	sm_record_timers_each(txn, add_payload, &t);
	store_txn_abort(txn);
	is_int(t.n, 2, "both read back");
	is_int(sm_record_timer_parse(t.p[0], &p), 0, "the first due is the retry");
	ok(p.kind == SM_RECORD_TIMER_RETRY && strcmp(p.invokeid ?: "", "up") == 0 &&
	        p.attempt == 3 && strcmp(p.error ?: "", "error.timeout") == 0 &&
	        strcmp(p.message ?: "", "slow") == 0,
	    "retry: invokeid, attempt, error, message");
	is_int(sm_record_timer_parse(t.p[1], &p), 0, "then the send");
	ok(p.kind == SM_RECORD_TIMER_SEND && p.target == NULL &&
	        strcmp(p.name ?: "", "tick") == 0 && json_equal(p.data, data) &&
	        strcmp(p.sendid ?: "", "i1.send1") == 0,
	    "send: target (null), name, data, sendid");
	for (i = 0; i < t.n; i++)
		json_decref(t.p[i]);
	json_decref(send);
	json_decref(retry);
	is_int(sm_record_timer_send(&send, "#_parent", "tick", NULL, "x"), 0, "a send to #_parent");
	sm_record_timer_parse(send, &p);
	ok(strcmp(p.target ?: "", "#_parent") == 0 && json_is_null(p.data),
	    "target kept, data null");
	json_decref(send);

	is_int(
	    sm_record_timer_send(&send, NULL, NULL, NULL, "x"), SM_EINVAL, "a send without a name");
	ok(send == NULL, "gives no payload");
	is_int(sm_record_timer_send(&send, NULL, "n", NULL, NULL), 0,
	    "a send without a send id (a <send> without id)");
	sm_record_timer_parse(send, &p);
	ok(p.sendid == NULL, "its event has no sendid (blank _event.sendid)");
	json_decref(send);
	send = NULL;
	is_int(sm_record_timer_retry(&retry, NULL, 1, "e", NULL), SM_EINVAL,
	    "a retry without invokeid");
	is_int(
	    sm_record_timer_retry(&retry, "j", 1, NULL, NULL), SM_EINVAL, "a retry without error");
	is_int(sm_record_timer_build(&w, NULL), SM_EINVAL, "no payload: SM_EINVAL");

	/* payloads of another program or damaged */
	bad = json_loads("[1]", 0, NULL);
	is_int(sm_record_timer_parse(bad, &p), SM_ECORRUPT, "an array is not a payload");
	ok(p.kind == SM_RECORD_TIMER_OTHER, "kind other");
	json_decref(bad);
	is_int(sm_record_timer_parse(NULL, &p), SM_ECORRUPT, "NULL (a record that is not JSON)");
	bad = json_loads("{\"kind\": \"wake\"}", 0, NULL);
	is_int(sm_record_timer_parse(bad, &p), SM_ECORRUPT, "an unknown kind");
	json_decref(bad);
	bad = json_loads("{\"kind\": \"send\", \"event\": {\"name\": 5}, \"target\": []}", 0, NULL);
	is_int(sm_record_timer_parse(bad, &p), 0, "a send with odd members");
	ok(p.kind == SM_RECORD_TIMER_SEND && !p.name && !p.target && !p.sendid && !p.data,
	    "reads them as absent");
	json_decref(bad);
	json_decref(data);
	sm_jw_free(&w);
	store_close(st);
}

/* ---- versions and hostile records ------------------------------------------------ */

struct inst_walk {
	int n, null_recs;
};

static int
count_inst(void *arg, const char *key, size_t kl, json_t *rec)
{
	struct inst_walk *c = arg;

	(void)key;
	(void)kl;
	c->n++;
	c->null_recs += rec == NULL;
	return 0;
}

static void
test_versions_hostile(const char *dir)
{
	static const struct {
		const char *key, *rec, *why;
		int rc;
		const char *msg;
	} cases[] = {
		{ "a", "{\"v\": 2, \"id\": \"a\", \"machine\": \"m\"}", "v = SM_RECORD_FORMAT + 1",
		    SM_EVERSION, "has format 2, newer than this program reads (1)" },
		{ "a", "{\"v\": 99, \"id\": \"other\"}",
		    "a newer record is refused before anything else", SM_EVERSION,
		    "has format 99" },
		{ "a", "{\"v\": 1, \"id\": \"a\", \"machine\": \"m\"}", "v = 1", 0, NULL },
		{ "a", "{\"v\": 0, \"id\": \"a\", \"machine\": \"m\"}",
		    "an older v reads as format 1", 0, NULL },
		{ "a", "{\"id\": \"a\", \"machine\": \"m\"}", "no v reads as format 1", 0, NULL },
		{ "a", "{\"v\": \"2\", \"id\": \"a\", \"machine\": \"m\"}", "a v that is a string",
		    SM_ECORRUPT, "not a number" },
		{ "a", "{\"v\": 2.0, \"id\": \"a\", \"machine\": \"m\"}", "a v that is a real",
		    SM_ECORRUPT, "not a number" },
		{ "a", "not json", "not JSON", SM_ECORRUPT, "is not json" },
		{ "a", "", "empty", SM_ECORRUPT, "is not json" },
		{ "a", "{\"id\": \"a\", \"machine\": \"m\"", "truncated JSON", SM_ECORRUPT,
		    "is not json" },
		{ "a", "[\"a\"]", "an array", SM_ECORRUPT, "is not json" },
		{ "a", "{\"id\": \"b\", \"machine\": \"m\"}", "an id that differs from its key",
		    SM_ECORRUPT, "does not name its own id" },
		{ "ab", "{\"id\": \"a\", \"machine\": \"m\"}", "an id that is a prefix of its key",
		    SM_ECORRUPT, "does not name its own id" },
		{ "a", "{\"id\": \"ab\", \"machine\": \"m\"}", "a key that is a prefix of its id",
		    SM_ECORRUPT, "does not name its own id" },
		{ "a", "{\"id\": 5, \"machine\": \"m\"}", "an id that is not a string", SM_ECORRUPT,
		    "does not name its own id" },
		{ "a", "{\"id\": \"a\"}", "no machine", SM_ECORRUPT, "has no machine" },
		{ "a", "{\"id\": \"a\", \"machine\": 1}", "a machine that is not a string",
		    SM_ECORRUPT, "has no machine" },
	};
	struct store *st = open_store(dir);
	struct store_txn *txn;
	struct sm_error err;
	json_t *rec;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sm_error_clear(&err);
		rec = (json_t *)1;
		rc = sm_record_instance_parse(cases[i].key, strlen(cases[i].key), cases[i].rec,
		    strlen(cases[i].rec), &rec, &err);
		is_int(rc, cases[i].rc, "instance record: %s", cases[i].why);
		if (cases[i].rc) {
			ok(rec == NULL, "  gives no record");
			like_str(err.msg, cases[i].msg, "  says why");
		} else {
			ok(rec != NULL, "  gives the record");
		}
		json_decref(rc == 0 ? rec : NULL);
	}
	/* a NUL inside the key: the id must match it byte for byte */
	sm_error_clear(&err);
	{
		const char *r = "{\"id\": \"a\", \"machine\": \"m\"}";

		is_int(sm_record_instance_parse("a\0b", 3, r, strlen(r), &rec, &err), SM_ECORRUPT,
		    "a key with a NUL after the id is not the id");
	}

	/* through the store: newer refused by sm_record_instance_get, not found */
	{
		const char *r = "{\"v\": 2, \"id\": \"fut\", \"machine\": \"m\"}";

		put(st, STORE_T_INSTANCES, "fut", 3, r, strlen(r));
	}
	put(st, STORE_T_INSTANCES, "junk", 4, "\x01\x02", 2);
	txn = rtxn(st);
	sm_error_clear(&err);
	is_int(sm_record_instance_get(txn, "fut", &rec, &err), SM_EVERSION,
	    "sm_record_instance_get: newer");
	sm_error_clear(&err);
	is_int(sm_record_instance_get(txn, "none", &rec, &err), SM_ENOTFOUND,
	    "sm_record_instance_get: none");
	like_str(err.msg, "no instance record 'none'", "  names it");
	{
		struct inst_walk c = { 0, 0 };

		is_int(sm_record_instances_each(txn, count_inst, &c), 0, "the instances walk");
		ok(c.n == 2 && c.null_recs == 1, "gives a record that is not JSON as NULL");
	}
	store_txn_abort(txn);

	/* truncated keys in history, inbox and timers are not ours: skipped */
	{
		struct store_key k;
		struct seqs got;
		struct inbox b;
		size_t n;

		put(st, STORE_T_HISTORY, "hx", 2, "{}", 2);           /* no terminator */
		put(st, STORE_T_HISTORY, "hx\0\0\0\0\1", 7, "{}", 2); /* seq of 4 bytes */
		sm_record_key_history(&k, "hx", 5);
		put(st, STORE_T_HISTORY, k.buf, k.len, "{}", 2);
		store_key_add_bytes(&k, "z", 1); /* a byte too many */
		put(st, STORE_T_HISTORY, k.buf, k.len, "{}", 2);
		sm_record_key_history(&k, "hx", 6);
		put(st, STORE_T_HISTORY, k.buf, k.len, "nope", 4);
		memset(&got, 0, sizeof(got));
		txn = rtxn(st);
		is_int(sm_record_history_each(txn, "hx", collect_seq, &got), 0,
		    "history walk over bad keys");
		ok(got.n == 2 && got.v[0] == 5 && got.v[1] == 0,
		    "only the whole keys (5, and 6 whose record is not JSON: NULL)");
		store_txn_abort(txn);

		put(st, STORE_T_INBOX, "ix\0\1\2", 5, "{\"name\": \"e\"}", 13);
		sm_record_key_inbox(&k, "ix", 1);
		put(st, STORE_T_INBOX, k.buf, k.len, "{\"name\": \"e\"}", 13);
		memset(&b, 0, sizeof(b));
		txn = rtxn(st);
		sm_record_inbox_each(txn, NULL, add_inbox, &b);
		store_txn_abort(txn);
		ok(b.n == 1 && strcmp(b.ids[0], "ix") == 0 && b.seq[0] == 1,
		    "inbox walk: a truncated key is skipped");
		for (n = 0; n < b.n; n++)
			sm__event_free(b.ev[n]);

		put(st, STORE_T_TIMERS, "\0\0\0\1", 4, "{}", 2);            /* half a due */
		put(st, STORE_T_TIMERS, "\0\0\0\0\0\0\0\2tx", 10, "{}", 2); /* no terminator */
		sm_record_key_timer(&k, 3, "tx", "t");
		put(st, STORE_T_TIMERS, k.buf, k.len, "{}", 2);
		memset(&got, 0, sizeof(got));
		txn = rtxn(st);
		sm_record_timers_each(txn, collect_timer, &got);
		store_txn_abort(txn);
		ok(got.n == 1 && got.v[0] == 3 && strcmp(got.ids[0], "tx:t") == 0,
		    "timers walk: truncated keys are skipped");
	}
	store_close(st);
}

int
main(void)
{
	char *dir = etu_tmpdir("sm_record_test");
	struct sm_machine *m = etu_load(machine_xml, "record.scxml");
	char sub[512];

	plan_no_plan();
	snprintf(sub, sizeof(sub), "%s/keys", dir);
	test_keys(sub);
	snprintf(sub, sizeof(sub), "%s/inst", dir);
	test_instance(sub, m);
	snprintf(sub, sizeof(sub), "%s/hist", dir);
	test_history(sub, m);
	snprintf(sub, sizeof(sub), "%s/inbox", dir);
	test_inbox(sub);
	snprintf(sub, sizeof(sub), "%s/timers", dir);
	test_timers(sub);
	snprintf(sub, sizeof(sub), "%s/bad", dir);
	test_versions_hostile(sub);
	sm_machine_free(m);
	etu_rmtree(dir);
	free(dir);
	return done_testing();
}
