/*
 * sm_record.c - keys and readers of the engine's records (sm_record.h).
 */
#include "sm_record.h"

#include <string.h>

int
smr_key_instance(struct store_key *k, const char *id)
{
	store_key_init(k);
	return store_key_add_bytes(k, id, strlen(id));
}

int
smr_key_of(struct store_key *k, const char *id)
{
	store_key_init(k);
	return store_key_add_str(k, id);
}

int
smr_key_history(struct store_key *k, const char *id, uint64_t seq)
{
	smr_key_of(k, id);
	store_key_add_u64(k, seq);
	return k->overflow ? SM_ETOOBIG : 0;
}

int
smr_key_inbox(struct store_key *k, const char *id, uint64_t seq)
{
	return smr_key_history(k, id, seq); /* the same layout, another table */
}

int
smr_key_timer(struct store_key *k, int64_t due, const char *id, const char *tid)
{
	store_key_init(k);
	store_key_add_u64(k, (uint64_t)due);
	store_key_add_str(k, id);
	store_key_add_bytes(k, tid, strlen(tid));
	return k->overflow ? SM_ETOOBIG : 0;
}

int
smr_instance_parse(const void *key, size_t kl, const void *val, size_t vl, json_t **out,
    struct sm_error *err)
{
	json_t *j = json_loadb(val, vl, JSON_ALLOW_NUL, NULL);
	const char *id = json_string_value(json_object_get(j, "id"));

	*out = NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return sm_error_set(err, SM_ECORRUPT, "is not json");
	}
	if (json_integer_value(json_object_get(j, "v")) > SMR_FORMAT) {
		int rc = sm_error_set(err, SM_EVERSION, "has format %" JSON_INTEGER_FORMAT
		    ", newer than this program reads (%d)",
		    json_integer_value(json_object_get(j, "v")), SMR_FORMAT);

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
smr_instance_get(struct store_txn *txn, const char *id, json_t **out, struct sm_error *err)
{
	const void *v;
	size_t vl;
	int rc;

	*out = NULL;
	rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
	if (rc != 0)
		return sm_error_set(err, rc, "no instance record '%s'", id);
	return smr_instance_parse(id, strlen(id), v, vl, out, err);
}

int
smr_instances_each(struct store_txn *txn, smr_instance_fn *fn, void *arg)
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
	if (id && smr_key_of(&pfx, id) != 0)
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
	smr_history_fn *fn;
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
smr_history_each(struct store_txn *txn, const char *id, smr_history_fn *fn, void *arg)
{
	struct hist_walk w = { fn, arg };

	return seq_each(txn, STORE_T_HISTORY, id, hist_one, &w);
}

int
smr_inbox_each(struct store_txn *txn, const char *id, smr_inbox_fn *fn, void *arg)
{
	return seq_each(txn, STORE_T_INBOX, id, fn, arg);
}

int
smr_timers_each(struct store_txn *txn, smr_timer_fn *fn, void *arg)
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
