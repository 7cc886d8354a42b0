/*
 * test_store_basic.c - the store API on one process: open/reopen, every
 * table, batches, transactions, cursors, keys, counters, format version.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_private.h"
#include "tap.h"
#include "store_test_util.h"

static char dir[512];

static struct store *
open_store(enum store_durability d, int read_only)
{
	struct store_options opt;
	struct store *st = NULL;
	struct sm_error err;
	int rc;

	store_options_init(&opt);
	opt.durability = d;
	opt.read_only = read_only;
	sm_error_clear(&err);
	rc = store_open(&st, dir, &opt, &err);
	if (rc != 0)
		diag("store_open: %s", err.msg);
	return st;
}

/* Get key as string value ("" when missing, NULL on error). */
static int
get_str(struct store *st, enum store_table t, const char *key, char *out, size_t cap)
{
	struct store_txn *txn;
	const void *v;
	size_t vl;
	int rc;

	out[0] = '\0';
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) != 0)
		return rc;
	rc = store_get(txn, t, key, strlen(key), &v, &vl);
	if (rc == 0) {
		if (vl >= cap)
			vl = cap - 1;
		memcpy(out, v, vl);
		out[vl] = '\0';
	}
	store_txn_abort(txn);
	return rc;
}

static void
test_open_reopen(void)
{
	struct store *st;
	struct store_batch *b;
	struct sm_error err;
	struct stat sb;
	char path[600], val[64];
	int t, rc;

	st = open_store(STORE_DURABLE_FULL, 0);
	ok(st != NULL, "open creates the store");
	if (st == NULL)
		return;
	snprintf(path, sizeof(path), "%s/store", dir);
	is_str(store_path(st), path, "store_path is <dir>/store");
	ok(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
	    "store directory has mode 0700");
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "data.mdb has mode 0600");
	snprintf(path, sizeof(path), "%s/store/lock.mdb", dir);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "lock.mdb has mode 0600");
	ok(store_map_size(st) >= ((size_t)64 << 20), "default map size is 64 MiB");

	/* one key per table, the value names the table */
	is_int(store_batch_create(&b), 0, "batch create");
	for (t = 0; t < STORE_T__COUNT; t++)
		store_batch_put(b, (enum store_table)t, "k", 1, store_table_name(t),
		    strlen(store_table_name(t)));
	is_int(store_batch_count(b), STORE_T__COUNT, "batch counts its ops");
	sm_error_clear(&err);
	rc = store_batch_commit(st, b, &err);
	is_int(rc, 0, "batch over every table commits (%s)", err.msg);
	is_int(store_batch_count(b), 0, "batch is reset after commit");
	store_batch_destroy(b);
	store_close(st);

	st = open_store(STORE_DURABLE_FULL, 0);
	ok(st != NULL, "reopen");
	if (st == NULL)
		return;
	for (t = 0; t < STORE_T__COUNT; t++) {
		rc = get_str(st, (enum store_table)t, "k", val, sizeof(val));
		ok(rc == 0 && strcmp(val, store_table_name(t)) == 0,
		    "table '%s' keeps its value across reopen", store_table_name(t));
	}
	store_close(st);

	st = open_store(STORE_DURABLE_FULL, 1);
	ok(st != NULL, "read-only open of an existing store");
	if (st != NULL) {
		struct store_txn *txn = NULL;

		rc = get_str(st, STORE_T_INSTANCES, "k", val, sizeof(val));
		is_str(val, "instances", "read-only handle reads");
		sm_error_clear(&err);
		rc = store_txn_begin(st, STORE_TXN_WRITE, &txn, &err);
		is_int(rc, SM_EPERM, "read-only handle refuses a write txn");
		like_str(err.msg, "read-only", "and says so");
		store_close(st);
	}
}

static void
test_batches(struct store *st)
{
	struct store_batch *b;
	struct sm_error err;
	char val[64], big[600];
	int rc;

	store_batch_create(&b);
	store_batch_put(b, STORE_T_CACHE, "a", 1, "1", 1);
	store_batch_put(b, STORE_T_CACHE, "a", 1, "2", 1);
	store_batch_put(b, STORE_T_CACHE, "b", 1, "x", 1);
	store_batch_del(b, STORE_T_CACHE, "b", 1);
	store_batch_del(b, STORE_T_CACHE, "never", 5);
	store_batch_put(b, STORE_T_CACHE, "empty", 5, NULL, 0);
	sm_error_clear(&err);
	rc = store_batch_commit(st, b, &err);
	is_int(rc, 0, "batch with overwrite, delete, missing delete commits (%s)", err.msg);
	get_str(st, STORE_T_CACHE, "a", val, sizeof(val));
	is_str(val, "2", "ops apply in order: last put wins");
	is_int(get_str(st, STORE_T_CACHE, "b", val, sizeof(val)), SM_ENOTFOUND,
	    "put then delete in one batch leaves nothing");
	is_int(get_str(st, STORE_T_CACHE, "empty", val, sizeof(val)), 0,
	    "an empty value is stored");
	is_str(val, "", "and read back empty");
	is_int(store_batch_commit(st, b, &err), 0, "an empty batch commits");

	memset(big, 'k', sizeof(big));
	is_int(store_batch_put(b, STORE_T_CACHE, big, STORE_KEY_MAX + 1, "v", 1), SM_ETOOBIG,
	    "a key longer than STORE_KEY_MAX is refused at put");
	is_int(store_batch_put(b, STORE_T_CACHE, big, STORE_KEY_MAX, "v", 1), 0,
	    "a key of STORE_KEY_MAX bytes is accepted");
	is_int(store_batch_put(b, STORE_T_CACHE, "", 0, "v", 1), SM_EINVAL,
	    "an empty key is refused");
	is_int(store_batch_put(b, STORE_T__COUNT, "k", 1, "v", 1), SM_EINVAL,
	    "a table out of range is refused");
	is_int(store_batch_count(b), 1, "refused ops are not queued");
	rc = store_batch_commit(st, b, &err);
	is_int(rc, 0, "batch with a max-size key commits (%s)", err.msg);
	store_batch_destroy(b);
}

struct write_arg {
	int calls;
	int fail;
};

static int
write_cb(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct write_arg *wa = arg;
	int rc;

	wa->calls++;
	if ((rc = store_put(txn, STORE_T_QUEUES, "w1", 2, "one", 3)) != 0)
		return rc;
	if ((rc = store_put(txn, STORE_T_QUEUES, "w2", 2, "two", 3)) != 0)
		return rc;
	if (wa->fail)
		return sm_error_set(err, SM_EEXEC, "callback failed on purpose");
	return 0;
}

static void
test_txns(struct store *st)
{
	struct store_txn *w, *r, *r2;
	struct sm_error err;
	struct write_arg wa = { 0, 1 };
	const void *v;
	size_t vl;
	uint64_t seq = 0;
	char val[64];
	int rc;

	is_int(store_txn_begin(st, STORE_TXN_WRITE, &w, NULL), 0, "begin write txn");
	is_int(store_put(w, STORE_T_INBOX, "x", 1, "1", 1), 0, "put in txn");
	is_int(store_get(w, STORE_T_INBOX, "x", 1, &v, &vl), 0, "txn sees its own put");
	is_int(store_txn_begin(st, STORE_TXN_READ, &r, NULL), 0, "read txn beside writer");
	is_int(store_get(r, STORE_T_INBOX, "x", 1, &v, &vl), SM_ENOTFOUND,
	    "reader does not see uncommitted put");
	sm_error_clear(&err);
	is_int(store_txn_begin(st, STORE_TXN_WRITE, &r2, &err), SM_EBUSY,
	    "a second write txn is refused, not deadlocked");
	is_int(store_del(w, STORE_T_INBOX, "nope", 4), SM_ENOTFOUND, "del missing key");
	is_int(store_next_seq(w, "hist", &seq), 0, "next_seq");
	is_int(seq, 1, "first sequence value is 1");
	store_next_seq(w, "hist", &seq);
	is_int(seq, 2, "second is 2");
	store_next_seq(w, "other", &seq);
	is_int(seq, 1, "counters are independent");
	is_int(store_txn_commit(w, NULL), 0, "commit write txn");
	is_int(store_get(r, STORE_T_INBOX, "x", 1, &v, &vl), SM_ENOTFOUND,
	    "old reader keeps its snapshot after commit");
	is_int(store_put(r, STORE_T_INBOX, "y", 1, "1", 1), SM_EPERM, "put in read txn refused");
	store_txn_abort(r);
	is_int(get_str(st, STORE_T_INBOX, "x", val, sizeof(val)), 0, "new reader sees commit");

	store_txn_begin(st, STORE_TXN_WRITE, &w, NULL);
	store_next_seq(w, "hist", &seq);
	store_put(w, STORE_T_INBOX, "aborted", 7, "1", 1);
	store_txn_abort(w);
	is_int(get_str(st, STORE_T_INBOX, "aborted", val, sizeof(val)), SM_ENOTFOUND,
	    "abort discards puts");
	store_txn_begin(st, STORE_TXN_WRITE, &w, NULL);
	store_next_seq(w, "hist", &seq);
	store_txn_commit(w, NULL);
	is_int(seq, 3, "aborted increment is undone");

	sm_error_clear(&err);
	rc = store_write(st, write_cb, &wa, &err);
	is_int(rc, SM_EEXEC, "store_write returns the callback's error");
	like_str(err.msg, "on purpose", "with the callback's message");
	is_int(get_str(st, STORE_T_QUEUES, "w1", val, sizeof(val)), SM_ENOTFOUND,
	    "a failed store_write commits nothing");
	wa.fail = 0;
	wa.calls = 0;
	is_int(store_write(st, write_cb, &wa, &err), 0, "store_write commits");
	is_int(wa.calls, 1, "callback ran once");
	get_str(st, STORE_T_QUEUES, "w2", val, sizeof(val));
	is_str(val, "two", "store_write's puts are visible");
}

static void
put_keys(struct store *st, enum store_table t, const char *const *keys)
{
	struct store_batch *b;
	int i;

	store_batch_create(&b);
	for (i = 0; keys[i] != NULL; i++)
		store_batch_put(b, t, keys[i], strlen(keys[i]), keys[i], strlen(keys[i]));
	store_batch_commit(st, b, NULL);
	store_batch_destroy(b);
}

static void
test_cursors(struct store *st)
{
	static const char *const keys[] = { "a", "b/1", "b/2", "b/3", "c", NULL };
	struct store_txn *txn;
	struct store_cursor *c, *c2;
	const void *k, *v;
	size_t kl, vl, n;
	char seen[128];
	int rc;

	/* the open test left "k" in every table */
	store_txn_begin(st, STORE_TXN_WRITE, &txn, NULL);
	store_del(txn, STORE_T_INDEX, "k", 1);
	store_txn_commit(txn, NULL);
	put_keys(st, STORE_T_INDEX, keys);
	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	is_int(store_cursor_open(txn, STORE_T_INDEX, &c), 0, "cursor open");
	seen[0] = '\0';
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		strncat(seen, k, kl);
		strcat(seen, " ");
	}
	is_str(seen, "a b/1 b/2 b/3 c ", "seek(NULL) + next walks every key in order");
	is_int(rc, SM_ENOTFOUND, "end of table is SM_ENOTFOUND");
	rc = store_cursor_seek(c, "b/", 2, &k, &kl, &v, &vl);
	ok(rc == 0 && kl == 3 && memcmp(k, "b/1", 3) == 0, "seek lands on first key >= b/");
	ok(vl == 3 && memcmp(v, "b/1", 3) == 0, "and gives its value");
	rc = store_cursor_seek(c, "bz", 2, &k, &kl, &v, &vl);
	ok(rc == 0 && kl == 1 && memcmp(k, "c", 1) == 0, "seek between keys");
	is_int(store_cursor_seek(c, "d", 1, &k, &kl, &v, &vl), SM_ENOTFOUND,
	    "seek past the end");
	seen[0] = '\0';
	for (rc = store_cursor_seek_prefix(c, "b/", 2, &k, &kl, NULL, NULL); rc == 0;
	    rc = store_cursor_next_prefix(c, &k, &kl, NULL, NULL)) {
		strncat(seen, k, kl);
		strcat(seen, " ");
	}
	is_str(seen, "b/1 b/2 b/3 ", "prefix iteration stops at the prefix end");
	is_int(store_cursor_seek_prefix(c, "zz", 2, &k, &kl, NULL, NULL), SM_ENOTFOUND,
	    "prefix with no keys");
	is_int(store_cursor_del(c), SM_EPERM, "cursor delete in read txn refused");
	{
		char longk[600];

		/* keys over LMDB's limit cannot exist, but seeking with one works */
		memset(longk, 'b', sizeof(longk));
		longk[1] = '/';
		longk[2] = '2';
		rc = store_cursor_seek(c, longk, sizeof(longk), &k, &kl, NULL, NULL);
		ok(rc == 0 && kl == 3 && memcmp(k, "b/3", 3) == 0,
		    "seek with a 600-byte key lands on the next key");
		is_int(store_get(txn, STORE_T_INDEX, longk, sizeof(longk), &v, &vl),
		    SM_ENOTFOUND, "get with a 600-byte key: not found");
		memset(longk, 'c', sizeof(longk));
		is_int(store_cursor_seek(c, longk, sizeof(longk), &k, &kl, NULL, NULL),
		    SM_ENOTFOUND, "seek with a long key past the last key");
	}
	/* a cursor left open is closed by the txn end; close afterwards is safe */
	store_cursor_open(txn, STORE_T_INDEX, &c2);
	store_cursor_close(c);
	store_txn_abort(txn);
	store_cursor_close(c2);
	ok(1, "closing a cursor after its txn ended is safe");

	store_txn_begin(st, STORE_TXN_WRITE, &txn, NULL);
	store_cursor_open(txn, STORE_T_INDEX, &c);
	n = 0;
	for (rc = store_cursor_seek_prefix(c, "b/", 2, &k, &kl, NULL, NULL); rc == 0;
	    rc = store_cursor_next_prefix(c, &k, &kl, NULL, NULL)) {
		if (kl == 3 && memcmp(k, "b/2", 3) == 0)
			continue;
		if (store_cursor_del(c) == 0)
			n++;
	}
	is_int(n, 2, "cursor delete during prefix walk deletes b/1 and b/3");
	store_cursor_close(c);
	is_int(store_txn_commit(txn, NULL), 0, "commit deletes");

	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	store_cursor_open(txn, STORE_T_INDEX, &c);
	seen[0] = '\0';
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, NULL, NULL); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, NULL, NULL)) {
		strncat(seen, k, kl);
		strcat(seen, " ");
	}
	is_str(seen, "a b/2 c ", "deleted keys are gone, the rest stayed");
	store_count(txn, STORE_T_INDEX, &n);
	is_int(n, 3, "store_count counts entries");
	store_cursor_close(c);
	store_txn_abort(txn);

	/* delete everything with seek/del/next */
	store_txn_begin(st, STORE_TXN_WRITE, &txn, NULL);
	store_cursor_open(txn, STORE_T_INDEX, &c);
	n = 0;
	for (rc = store_cursor_seek(c, NULL, 0, NULL, NULL, NULL, NULL); rc == 0;
	    rc = store_cursor_next(c, NULL, NULL, NULL, NULL)) {
		if (store_cursor_del(c) == 0)
			n++;
	}
	is_int(n, 3, "seek/del/next visits and deletes every key");
	store_cursor_close(c);
	store_count(txn, STORE_T_INDEX, &n);
	is_int(n, 0, "table is empty");
	store_txn_commit(txn, NULL);
}

static void
test_keys(void)
{
	struct store_key k;
	unsigned char be[8];
	const char *s;
	size_t sl, pos = 0;
	uint64_t u;
	char longs[600];

	store_be64_put(be, 0x0102030405060708ULL);
	ok(be[0] == 1 && be[7] == 8, "be64 is big-endian");
	is_int(store_be64_get(be) == 0x0102030405060708ULL, 1, "be64 round trip");

	store_key_init(&k);
	store_key_add_str(&k, "inst");
	store_key_add_u64(&k, 258);
	is_int(k.len, 5 + 8, "key = str + NUL + be64");
	is_int(store_key_get_str(k.buf, k.len, &pos, &s, &sl), 0, "decode string part");
	ok(sl == 4 && memcmp(s, "inst", 4) == 0, "string part is 'inst'");
	is_int(store_key_get_u64(k.buf, k.len, &pos, &u), 0, "decode u64 part");
	is_int(u, 258, "u64 part is 258");
	is_int(pos, k.len, "all consumed");
	is_int(store_key_get_u64(k.buf, k.len, &pos, &u), SM_ECORRUPT, "past end: corrupt");
	pos = 0;
	is_int(store_key_get_str("abc", 3, &pos, &s, &sl), SM_ECORRUPT,
	    "string part without terminator is corrupt");
	pos = 10;
	is_int(store_key_get_u64(k.buf, k.len, &pos, &u), SM_ECORRUPT,
	    "short u64 part is corrupt");
	ok(store_key_has_prefix(k.buf, k.len, "inst", 5), "has_prefix with the NUL");
	ok(!store_key_has_prefix(k.buf, k.len, "inst2", 5), "has_prefix mismatch");
	ok(!store_key_has_prefix("a", 1, "ab", 2), "has_prefix longer prefix");

	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	store_key_init(&k);
	store_key_add_u64(&k, 1);
	is_int(store_key_add_str(&k, longs), SM_ETOOBIG, "too long string part");
	ok(k.overflow && k.len == 8, "overflow flagged, key unchanged");
	longs[STORE_KEY_MAX - 9] = '\0';
	store_key_init(&k);
	store_key_add_u64(&k, 1);
	is_int(store_key_add_str(&k, longs), 0, "string filling the key to the max");
	is_int(k.len, STORE_KEY_MAX, "key is exactly STORE_KEY_MAX");
	is_int(store_key_add_bytes(&k, "", 0), 0, "adding nothing fits");
	is_int(store_key_add_bytes(&k, "x", 1), SM_ETOOBIG, "one more byte does not");

	/* order: be64 keys sort numerically */
	{
		unsigned char a[8], b2[8];

		store_be64_put(a, 255);
		store_be64_put(b2, 256);
		ok(memcmp(a, b2, 8) < 0, "be64 order is numeric order");
	}
	{
		/* hostile keys: random bytes decoded as random part sequences
		 * never read past the key (ASan build) and never move backwards */
		unsigned x = 99, bad = 0;
		int round;

		for (round = 0; round < 20000; round++) {
			unsigned char *rk;
			size_t len, p = 0, prev, i;

			x = x * 1103515245u + 12345u;
			len = (x >> 16) % 40;
			rk = malloc(len ? len : 1);
			for (i = 0; i < len; i++) {
				x = x * 1103515245u + 12345u;
				rk[i] = (x >> 16) % 4 == 0 ? 0 : (unsigned char)(x >> 8);
			}
			for (;;) {
				int r;

				prev = p;
				x = x * 1103515245u + 12345u;
				if ((x >> 16) & 1)
					r = store_key_get_str(rk, len, &p, &s, &sl);
				else
					r = store_key_get_u64(rk, len, &p, &u);
				if (r != 0) {
					if (r != SM_ECORRUPT || p != prev)
						bad++;
					break;
				}
				if (p <= prev || p > len)
					bad++;
			}
			free(rk);
		}
		is_int(bad, 0, "20000 random keys decode without overrun");
	}
	is_str(store_table_name(STORE_T_HISTORY), "history", "table name");
	is_str(store_table_name(STORE_T__COUNT), "?", "table name out of range");
}

static void
test_durability_flags(void)
{
	struct store *st;
	unsigned flags = 0;

	st = open_store(STORE_DURABLE_FULL, 0);
	if (st == NULL) {
		ok(0, "open FULL");
		return;
	}
	mdb_env_get_flags(store__env(st), &flags);
	is_int(store_durability(st), STORE_DURABLE_FULL, "durability FULL reported");
	ok(!(flags & MDB_NOSYNC) && !(flags & MDB_NOMETASYNC) && !(flags & MDB_MAPASYNC),
	    "FULL: no NOSYNC, NOMETASYNC or MAPASYNC");
	ok(flags & MDB_NOTLS, "MDB_NOTLS set");
	ok(!(flags & MDB_WRITEMAP), "no MDB_WRITEMAP");
	store_close(st);

	st = open_store(STORE_DURABLE_PROCESS, 0);
	if (st == NULL) {
		ok(0, "open PROCESS");
		return;
	}
	flags = 0;
	mdb_env_get_flags(store__env(st), &flags);
	is_int(store_durability(st), STORE_DURABLE_PROCESS, "durability PROCESS reported");
	ok(flags & MDB_NOSYNC, "PROCESS: MDB_NOSYNC");
	is_int(store_sync(st, NULL), 0, "store_sync");
	ok(!(flags & MDB_WRITEMAP), "PROCESS: still no MDB_WRITEMAP");
	store_close(st);
}

static void
test_version(void)
{
	struct store *st;
	struct store_txn *txn;
	struct store_options opt;
	struct sm_error err;
	unsigned char v[8];
	int rc;

	st = open_store(STORE_DURABLE_FULL, 0);
	if (st == NULL) {
		ok(0, "open");
		return;
	}
	store_txn_begin(st, STORE_TXN_WRITE, &txn, NULL);
	store_be64_put(v, STORE_FORMAT_VERSION + 1);
	store_put(txn, STORE_T_META, STORE_META_FORMAT_KEY, strlen(STORE_META_FORMAT_KEY),
	    v, 8);
	store_txn_commit(txn, NULL);
	store_close(st);

	store_options_init(&opt);
	st = (struct store *)1;
	sm_error_clear(&err);
	rc = store_open(&st, dir, &opt, &err);
	is_int(rc, SM_EVERSION, "a newer format version is refused");
	ok(st == NULL, "and *out is NULL");
	like_str(err.msg, "format version 2 is newer", "the message names the version");
	like_str(err.msg, dir, "and the path");
	opt.read_only = 1;
	rc = store_open(&st, dir, &opt, &err);
	is_int(rc, SM_EVERSION, "read-only open refuses it too");
}

int
main(void)
{
	struct store *st;

	plan_no_plan();
	stu_tmpdir(dir, sizeof(dir), "basic");
	test_open_reopen();
	st = open_store(STORE_DURABLE_FULL, 0);
	if (st == NULL)
		bail_out("cannot open the store in %s", dir);
	test_batches(st);
	test_txns(st);
	test_cursors(st);
	store_close(st);
	test_keys();
	test_durability_flags();
	test_version();
	stu_rmtree(dir);
	return done_testing();
}
