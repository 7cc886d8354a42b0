/*
 * smd_index.c - the daemon's index rows.
 */
#include <stdio.h>
#include <string.h>

#include "smd_index.h"
#include "store.h"

#define KIND_MSG "msg"
#define KIND_TASK "task_id"
#define KIND_RECORD "record"

static int
msg_key(struct store_key *k, const char *message_id)
{
	store_key_init(k);
	store_key_add_str(k, KIND_MSG);
	store_key_add_str(k, message_id);
	return k->overflow ? SM_ETOOBIG : 0;
}

/* The prefix of every task_id row of `task_id`. */
static void
task_key(struct store_key *k, int64_t task_id)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)task_id);
	store_key_init(k);
	store_key_add_str(k, KIND_TASK);
	store_key_add_str(k, num);
}

static int
copy_id(const void *v, size_t vl, char id[SMD_INDEX_ID_SIZE])
{
	if (vl == 0 || vl >= SMD_INDEX_ID_SIZE || memchr(v, 0, vl))
		return SM_ECORRUPT;
	memcpy(id, v, vl);
	id[vl] = 0;
	return 0;
}

int
smd_index_find_msg(struct store *st, const char *message_id, char id[SMD_INDEX_ID_SIZE])
{
	struct store_key k;
	struct store_txn *txn;
	const void *v;
	size_t vl;
	int rc;

	if ((rc = msg_key(&k, message_id)) != 0)
		return rc;
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) != 0)
		return rc;
	rc = store_get(txn, STORE_T_INDEX, k.buf, k.len, &v, &vl);
	if (rc == 0)
		rc = copy_id(v, vl, id);
	store_txn_abort(txn);
	return rc;
}

struct new_args {
	const char *message_id;
	int64_t task_id;
	char *id;
};

static int
write_new(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct new_args *a = arg;
	struct store_key k;
	uint64_t n;
	int rc;

	(void)err;
	if ((rc = store_next_seq(txn, "task", &n)) != 0)
		return rc;
	snprintf(a->id, SMD_INDEX_ID_SIZE, "task-%llu", (unsigned long long)n);
	if (a->message_id) {
		if ((rc = msg_key(&k, a->message_id)) != 0)
			return rc;
		if ((rc = store_put(txn, STORE_T_INDEX, k.buf, k.len, a->id, strlen(a->id))) != 0)
			return rc;
	}
	if (a->task_id < 0)
		return 0;
	task_key(&k, a->task_id);
	store_key_add_u64(&k, n);
	return store_put(txn, STORE_T_INDEX, k.buf, k.len, a->id, strlen(a->id));
}

int
smd_index_new(struct store *st, const char *message_id, int64_t task_id, char id[SMD_INDEX_ID_SIZE],
    struct sm_error *err)
{
	struct new_args a = { message_id, task_id, id };
	struct store_key k;
	int rc;

	if (message_id && (rc = msg_key(&k, message_id)) != 0)
		return sm_error_set(err, rc, "message id too long for the index");
	return store_write(st, write_new, &a, err);
}

/* Walk the rows under `prefix`, oldest first: fn(arg, key, klen, id). */
static int
each_row(struct store *st, const struct store_key *prefix,
    int (*fn)(void *arg, const void *k, size_t kl, const char *id), void *arg)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) != 0)
		return rc;
	if ((rc = store_cursor_open(txn, STORE_T_INDEX, &cur)) != 0) {
		store_txn_abort(txn);
		return rc;
	}
	for (rc = store_cursor_seek_prefix(cur, prefix->buf, prefix->len, &k, &kl, &v, &vl);
	     rc == 0; rc = store_cursor_next_prefix(cur, &k, &kl, &v, &vl)) {
		char id[SMD_INDEX_ID_SIZE];

		if (copy_id(v, vl, id) != 0)
			continue;
		if (fn(arg, k, kl, id) != 0)
			break;
	}
	store_cursor_close(cur);
	store_txn_abort(txn);
	return rc == SM_ENOTFOUND ? 0 : rc;
}

struct run_args {
	int (*fn)(void *arg, const char *instance);
	void *arg;
};

static int
run_one(void *arg, const void *k, size_t kl, const char *id)
{
	struct run_args *a = arg;

	(void)k;
	(void)kl;
	return a->fn(a->arg, id);
}

int
smd_index_each_run(struct store *st, int (*fn)(void *arg, const char *instance), void *arg)
{
	struct run_args a = { fn, arg };
	struct store_key k;

	store_key_init(&k);
	store_key_add_str(&k, KIND_TASK);
	return each_row(st, &k, run_one, &a);
}

struct msg_args {
	int (*fn)(void *arg, const char *message_id, const char *instance);
	void *arg;
	size_t plen;
};

static int
msg_one(void *arg, const void *k, size_t kl, const char *id)
{
	struct msg_args *a = arg;
	size_t pos = a->plen;
	const char *mid;
	size_t mlen;
	char msgid[STORE_KEY_MAX + 1];

	if (store_key_get_str(k, kl, &pos, &mid, &mlen) != 0)
		return 0;
	memcpy(msgid, mid, mlen);
	msgid[mlen] = 0;
	return a->fn(a->arg, msgid, id);
}

int
smd_index_each_msg(
    struct store *st, int (*fn)(void *arg, const char *message_id, const char *instance), void *arg)
{
	struct msg_args a = { fn, arg, 0 };
	struct store_key prefix;

	store_key_init(&prefix);
	store_key_add_str(&prefix, KIND_MSG);
	a.plen = prefix.len;
	return each_row(st, &prefix, msg_one, &a);
}

int
smd_index_task_runs(
    struct store_txn *txn, int64_t task_id, int (*fn)(void *arg, const char *instance), void *arg)
{
	struct store_key prefix;
	struct store_cursor *cur;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	task_key(&prefix, task_id);
	if ((rc = store_cursor_open(txn, STORE_T_INDEX, &cur)) != 0)
		return rc;
	for (rc = store_cursor_seek_prefix(cur, prefix.buf, prefix.len, &k, &kl, &v, &vl); rc == 0;
	     rc = store_cursor_next_prefix(cur, &k, &kl, &v, &vl)) {
		char id[SMD_INDEX_ID_SIZE];

		if (fn(arg, copy_id(v, vl, id) == 0 ? id : NULL) != 0)
			break;
	}
	store_cursor_close(cur);
	return rc == SM_ENOTFOUND ? 0 : rc;
}

struct record_args {
	const char *instance;
	int pending;
};

static int
write_record(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct record_args *a = arg;
	struct store_key k;

	(void)err;
	store_key_init(&k);
	store_key_add_str(&k, KIND_RECORD);
	store_key_add_str(&k, a->instance);
	if (k.overflow)
		return SM_ETOOBIG;
	if (!a->pending) {
		int rc = store_del(txn, STORE_T_INDEX, k.buf, k.len);

		return rc == SM_ENOTFOUND ? 0 : rc;
	}
	return store_put(txn, STORE_T_INDEX, k.buf, k.len, a->instance, strlen(a->instance));
}

int
smd_index_record_pending(struct store *st, const char *instance, int pending, struct sm_error *err)
{
	struct record_args a = { instance, pending };

	return store_write(st, write_record, &a, err);
}

int
smd_index_each_record(struct store *st, int (*fn)(void *arg, const char *instance), void *arg)
{
	struct run_args a = { fn, arg };
	struct store_key k;

	store_key_init(&k);
	store_key_add_str(&k, KIND_RECORD);
	return each_row(st, &k, run_one, &a);
}
