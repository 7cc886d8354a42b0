/*
 * sm_record.c - keys, writers and readers of the engine's records
 * (sm_record.h; the formats: docs/engine.md).
 */
#include "sm_record.h"

#include <string.h>

#include "sm_interp_private.h"
#include "sm_model.h"

int
sm_record_key_instance(struct store_key *k, const char *id)
{
	store_key_init(k);
	return store_key_add_bytes(k, id, strlen(id));
}

int
sm_record_key_of(struct store_key *k, const char *id)
{
	store_key_init(k);
	return store_key_add_str(k, id);
}

int
sm_record_key_history(struct store_key *k, const char *id, uint64_t seq)
{
	sm_record_key_of(k, id);
	store_key_add_u64(k, seq);
	return k->overflow ? SM_ETOOBIG : 0;
}

int
sm_record_key_inbox(struct store_key *k, const char *id, uint64_t seq)
{
	return sm_record_key_history(k, id, seq); /* the same layout, another table */
}

int
sm_record_key_timer(struct store_key *k, int64_t due, const char *id, const char *tid)
{
	store_key_init(k);
	store_key_add_u64(k, (uint64_t)due);
	store_key_add_str(k, id);
	store_key_add_bytes(k, tid, strlen(tid));
	return k->overflow ? SM_ETOOBIG : 0;
}

/* ---- writers ------------------------------------------------------------- */

/* A required member is missing: the record is not written. */
static int
jw_fail(struct sm_jw *w, int code)
{
	if (!w->err)
		w->err = code;
	return w->err;
}

static const char *const status_names[] = { "running", "done", "failed" };

int
sm_record_instance_build(struct sm_jw *w, const struct sm_record_instance *r)
{
	struct sm_record_timer t;
	int first = 1;

	sm_jw_reset(w);
	if (!r->id || (unsigned)r->status > SM_RECORD_FAILED)
		return jw_fail(w, SM_EINVAL);
	sm_jw_lit(w, "{\"v\":");
	sm_jw_int(w, SM_RECORD_FORMAT);
	sm_jw_lit(w, ",\"id\":");
	sm_jw_str(w, r->id);
	sm_jw_lit(w, ",\"machine\":");
	sm_jw_str(w, r->machine ? r->machine : "");
	sm_jw_lit(w, ",\"machine_name\":");
	sm_jw_str(w, r->machine_name ? r->machine_name : "");
	sm_jw_lit(w, ",\"machine_path\":");
	sm_jw_str(w, r->machine_path ? r->machine_path : "");
	sm_jw_lit(w, ",\"status\":\"");
	sm_jw_lit(w, status_names[r->status]);
	sm_jw_lit(w, "\",\"final\":");
	/* a session that stopped without reaching a final state has none */
	sm_jw_str(w, r->status == SM_RECORD_DONE && r->final && r->final[0] ? r->final : NULL);
	if (r->status == SM_RECORD_FAILED) {
		sm_jw_lit(w, ",\"error\":");
		sm_jw_str(w, r->error ? r->error : "");
	}
	if (r->status != SM_RECORD_RUNNING && !r->parent)
		sm_jw_lit(w, r->acked ? ",\"acked\":true" : ",\"acked\":false");
	if (r->restarts) {
		sm_jw_lit(w, ",\"restarts\":");
		sm_jw_int(w, r->restarts);
	}
	sm_jw_lit(w, ",\"created\":");
	sm_jw_int(w, r->created);
	sm_jw_lit(w, ",\"updated\":");
	sm_jw_int(w, r->updated);
	sm_jw_lit(w, ",\"hist_seq\":");
	sm_jw_int(w, (int64_t)r->hist_seq);
	sm_jw_lit(w, ",\"inbox_seq\":");
	sm_jw_int(w, (int64_t)r->inbox_seq);
	sm_jw_lit(w, ",\"task\":");
	if (r->task_text)
		sm_jw_raw(w, r->task_text, r->task_len);
	else
		sm_jw_json(w, r->task);
	if (r->parent) {
		sm_jw_lit(w, ",\"parent\":");
		sm_jw_str(w, r->parent);
		sm_jw_lit(w, ",\"invokeid\":");
		sm_jw_str(w, r->invokeid);
	}
	sm_jw_lit(w, ",\"session\":");
	if (r->session)
		sm__session_write(r->session, w);
	else
		sm_jw_raw(w, "null", 4);
	sm_jw_lit(w, ",\"timers\":[");
	while (r->timer_next && r->timer_next(r->timer_arg, &t)) {
		if (!t.id || !t.payload)
			return jw_fail(w, SM_EINVAL);
		sm_jw_lit(w, first ? "{\"id\":" : ",{\"id\":");
		sm_jw_str(w, t.id);
		sm_jw_lit(w, ",\"due\":");
		sm_jw_int(w, t.due);
		sm_jw_lit(w, ",\"payload\":");
		sm_jw_json(w, t.payload);
		sm_jw_raw(w, "}", 1);
		first = 0;
	}
	sm_jw_lit(w, "]}");
	return w->err;
}

static const char *const step_names[] = { "start", "event", "retry", "abort", "fail" };

/* The configuration after a step; a session that ended shows its final. */
static void
write_to(struct sm_jw *w, const struct sm_record_history *h)
{
	const struct sm_session *s = h->session;
	const char *f;

	if (h->failed) {
		sm_jw_raw(w, "[]", 2);
		return;
	}
	if (sm__session_running(s)) {
		sm__config_write(sm__session_machine(s), sm__session_active(s), w);
		return;
	}
	f = sm__session_final(s);
	sm_jw_raw(w, "[", 1);
	if (f)
		sm_jw_str(w, f);
	sm_jw_raw(w, "]", 1);
}

int
sm_record_history_build(struct sm_jw *w, const struct sm_record_history *h)
{
	const struct sm_machine *m;
	const struct sm_effect *f;
	int first = 1;

	sm_jw_reset(w);
	if (!h->session || (unsigned)h->kind > SM_RECORD_STEP_FAIL)
		return jw_fail(w, SM_EINVAL);
	m = sm__session_machine(h->session);
	sm_jw_lit(w, "{\"kind\":\"");
	sm_jw_lit(w, step_names[h->kind]);
	sm_jw_lit(w, "\",\"seq\":");
	sm_jw_int(w, (int64_t)h->seq);
	sm_jw_lit(w, ",\"time\":");
	sm_jw_int(w, h->time);
	sm_jw_lit(w, ",\"event\":");
	if (h->event)
		sm__event_write(h->event, w);
	else
		sm_jw_raw(w, "null", 4);
	sm_jw_lit(w, ",\"from\":");
	if (h->from)
		sm__config_write(m, h->from, w);
	else
		sm_jw_raw(w, "null", 4);
	sm_jw_lit(w, ",\"to\":");
	write_to(w, h);
	sm_jw_lit(w, ",\"actions\":[");
	for (f = h->effects; f; f = f->next) {
		if (f->kind == SM_FX_INVOKE) {
			const struct sm_invoke *iv = &m->states[f->state].invokes[f->inv_index];

			sm_jw_lit(w, first ? "{\"invokeid\":" : ",{\"invokeid\":");
			sm_jw_str(w, f->invokeid);
			sm_jw_lit(w,
			    iv->kind == SM_INV_ACTION ? ",\"type\":\"action\",\"src\":" :
			                                ",\"type\":\"scxml\",\"src\":");
			sm_jw_str(w, iv->src ? iv->src : "");
			sm_jw_raw(w, "}", 1);
			first = 0;
		} else if (f->kind == SM_FX_UNINVOKE) {
			sm_jw_lit(w, first ? "{\"invokeid\":" : ",{\"invokeid\":");
			sm_jw_str(w, f->invokeid);
			sm_jw_lit(w, ",\"type\":\"cancel\"}");
			first = 0;
		}
	}
	sm_jw_lit(w, "],\"errors\":");
	if (h->failed) {
		sm_jw_raw(w, "[", 1);
		sm_jw_str(w, h->failed);
		sm_jw_raw(w, "]", 1);
	} else if (h->errors) {
		sm_jw_json(w, h->errors);
	} else {
		sm_jw_raw(w, "[]", 2);
	}
	sm_jw_raw(w, "}", 1);
	return w->err;
}

int
sm_record_retry_data(
    json_t **out, const char *invokeid, const char *message, int next_attempt, int64_t delay_ms)
{
	*out = NULL;
	if (!invokeid)
		return SM_EINVAL;
	*out = json_pack("{s:s,s:s,s:i,s:I}", "invokeid", invokeid, "message",
	    message ? message : "", "next_attempt", next_attempt, "delay_ms", (json_int_t)delay_ms);
	return *out ? 0 : SM_ENOMEM;
}

int
sm_record_inbox_event_build(struct sm_jw *w, const struct sm_event *ev)
{
	sm_jw_reset(w);
	if (!ev)
		return jw_fail(w, SM_EINVAL);
	sm__event_write(ev, w);
	return w->err;
}

int
sm_record_timer_send(
    json_t **out, const char *target, const char *name, json_t *data, const char *sendid)
{
	json_t *ev;

	*out = NULL;
	if (!name)
		return SM_EINVAL;
	ev = json_pack(
	    "{s:s,s:O,s:s?}", "name", name, "data", data ? data : json_null(), "sendid", sendid);
	*out = json_pack("{s:s,s:o,s:s?}", "kind", "send", "event", ev, "target", target);
	return *out ? 0 : SM_ENOMEM;
}

int
sm_record_timer_retry(
    json_t **out, const char *invokeid, int attempt, const char *error, const char *message)
{
	*out = NULL;
	if (!invokeid || !error)
		return SM_EINVAL;
	*out = json_pack("{s:s,s:s,s:i,s:s,s:s}", "kind", "retry", "invokeid", invokeid, "attempt",
	    attempt, "error", error, "message", message ? message : "");
	return *out ? 0 : SM_ENOMEM;
}

int
sm_record_timer_build(struct sm_jw *w, const json_t *payload)
{
	sm_jw_reset(w);
	if (!payload)
		return jw_fail(w, SM_EINVAL);
	sm_jw_json(w, payload);
	return w->err;
}

/* ---- readers ------------------------------------------------------------- */

int
sm_record_timer_parse(const json_t *payload, struct sm_record_timer_payload *out)
{
	const char *kind = json_string_value(json_object_get(payload, "kind"));
	json_t *ev;

	memset(out, 0, sizeof(*out));
	if (kind && strcmp(kind, "send") == 0) {
		ev = json_object_get(payload, "event");
		out->kind = SM_RECORD_TIMER_SEND;
		out->target = json_string_value(json_object_get(payload, "target"));
		out->name = json_string_value(json_object_get(ev, "name"));
		out->data = json_object_get(ev, "data");
		out->sendid = json_string_value(json_object_get(ev, "sendid"));
		return 0;
	}
	if (kind && strcmp(kind, "retry") == 0) {
		out->kind = SM_RECORD_TIMER_RETRY;
		out->invokeid = json_string_value(json_object_get(payload, "invokeid"));
		out->attempt = (int)json_integer_value(json_object_get(payload, "attempt"));
		out->error = json_string_value(json_object_get(payload, "error"));
		out->message = json_string_value(json_object_get(payload, "message"));
		return 0;
	}
	return SM_ECORRUPT;
}

int
sm_record_instance_parse(
    const void *key, size_t kl, const void *val, size_t vl, json_t **out, struct sm_error *err)
{
	json_t *j = json_loadb(val, vl, JSON_ALLOW_NUL, NULL);
	const char *id = json_string_value(json_object_get(j, "id"));
	json_t *v;

	*out = NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return sm_error_set(err, SM_ECORRUPT, "is not json");
	}
	v = json_object_get(j, "v");
	if (v && !json_is_integer(v)) {
		json_decref(j);
		return sm_error_set(err, SM_ECORRUPT, "has a format \"v\" that is not a number");
	}
	if (json_integer_value(v) > SM_RECORD_FORMAT) {
		int rc = sm_error_set(err, SM_EVERSION,
		    "has format %" JSON_INTEGER_FORMAT ", newer than this program reads (%d)",
		    json_integer_value(v), SM_RECORD_FORMAT);

		json_decref(j);
		return rc;
	}
	if (!id || strlen(id) != kl || memcmp(id, key, kl) != 0 ||
	    !json_is_string(json_object_get(j, "machine"))) {
		json_decref(j);
		return sm_error_set(err, SM_ECORRUPT, "has no machine or does not name its own id");
	}
	*out = j;
	return 0;
}

int
sm_record_instance_get(struct store_txn *txn, const char *id, json_t **out, struct sm_error *err)
{
	const void *v;
	size_t vl;
	int rc;

	*out = NULL;
	rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
	if (rc != 0)
		return sm_error_set(err, rc, "no instance record '%s'", id);
	return sm_record_instance_parse(id, strlen(id), v, vl, out, err);
}

int
sm_record_instances_each(struct store_txn *txn, sm_record_instance_fn *fn, void *arg)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	if ((rc = store_cursor_open(txn, STORE_T_INSTANCES, &c)) != 0)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		json_t *j = json_loadb(v, vl, JSON_ALLOW_NUL, NULL);

		rc = fn(arg, k, kl, j);
		json_decref(j);
		if (rc != 0)
			break;
	}
	store_cursor_close(c);
	return rc == SM_ENOTFOUND ? 0 : rc;
}

/* Walk keys "id\0" + be64 of `t` (every id when id is NULL). */
static int
seq_each(struct store_txn *txn, enum store_table t, const char *id,
    int (*fn)(void *arg, const char *id, uint64_t seq, json_t *rec), void *arg)
{
	struct store_cursor *c;
	struct store_key pfx;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	store_key_init(&pfx);
	if (id && sm_record_key_of(&pfx, id) != 0)
		return SM_ETOOBIG;
	if ((rc = store_cursor_open(txn, t, &c)) != 0)
		return rc;
	for (rc = store_cursor_seek_prefix(c, pfx.len ? pfx.buf : NULL, pfx.len, &k, &kl, &v,
	    &vl); rc == 0;
	    rc = store_cursor_next_prefix(c, &k, &kl, &v, &vl)) {
		size_t pos = 0, sl;
		const char *s;
		uint64_t seq;
		char who[STORE_KEY_MAX + 1];
		json_t *j;

		if (store_key_get_str(k, kl, &pos, &s, &sl) != 0 ||
		    store_key_get_u64(k, kl, &pos, &seq) != 0 || pos != kl)
			continue; /* not a key of ours */
		memcpy(who, s, sl);
		who[sl] = 0;
		j = json_loadb(v, vl, JSON_ALLOW_NUL, NULL);
		rc = fn(arg, who, seq, j);
		json_decref(j);
		if (rc != 0)
			break;
	}
	store_cursor_close(c);
	return rc == SM_ENOTFOUND ? 0 : rc;
}

struct hist_walk {
	sm_record_history_fn *fn;
	void *arg;
};

static int
hist_one(void *arg, const char *id, uint64_t seq, json_t *rec)
{
	struct hist_walk *w = arg;

	(void)id;
	return w->fn(w->arg, seq, rec);
}

int
sm_record_history_each(struct store_txn *txn, const char *id, sm_record_history_fn *fn, void *arg)
{
	struct hist_walk w = { fn, arg };

	return seq_each(txn, STORE_T_HISTORY, id, hist_one, &w);
}

int
sm_record_inbox_each(struct store_txn *txn, const char *id, sm_record_inbox_fn *fn, void *arg)
{
	return seq_each(txn, STORE_T_INBOX, id, fn, arg);
}

int
sm_record_timers_each(struct store_txn *txn, sm_record_timer_fn *fn, void *arg)
{
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	if ((rc = store_cursor_open(txn, STORE_T_TIMERS, &c)) != 0)
		return rc;
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		size_t pos = 0, sl;
		const char *s;
		uint64_t due;
		char who[STORE_KEY_MAX + 1];
		json_t *j;

		if (store_key_get_u64(k, kl, &pos, &due) != 0 ||
		    store_key_get_str(k, kl, &pos, &s, &sl) != 0)
			continue;
		memcpy(who, s, sl);
		who[sl] = 0;
		j = json_loadb(v, vl, JSON_ALLOW_NUL, NULL);
		rc = fn(arg, (int64_t)due, who, (const char *)k + pos, kl - pos, j);
		json_decref(j);
		if (rc != 0)
			break;
	}
	store_cursor_close(c);
	return rc == SM_ENOTFOUND ? 0 : rc;
}
