/*
 * store.h - persistence on LMDB: one environment per state directory,
 * in <dir>/store/ (data.mdb, lock.mdb).  Layout, durability and
 * concurrency: docs/store.md.
 *
 * The store is a small set of named tables (LMDB sub-databases) and two
 * ways to write them:
 *
 *  - a batch (struct store_batch): an in-memory list of puts and deletes
 *    gathered during one loop turn (every instance's macrostep, history
 *    record and inbox removal) and applied in ONE write transaction by
 *    store_batch_commit().  Because the batch is data, the store can replay
 *    it: when LMDB reports MDB_MAP_FULL the store aborts, grows the map and
 *    applies the batch again, so callers never see "map full" until the
 *    configured maximum is reached.
 *  - a write transaction (store_txn_begin(..., STORE_TXN_WRITE)) for code
 *    that must read and write atomically (local queues).  Such a
 *    transaction can fail with SM_EFULL after a map growth; the caller
 *    redoes it (store_write() wraps this for a callback).
 *
 * Readers (STORE_TXN_READ) never block the writer and may live in another
 * process (smctl) at the same time as the daemon.  One process writes (the
 * writer holds an flock on the state directory through sm_statedir_open();
 * that is its job, not the store's).
 *
 * Threads: a struct store and everything obtained from it belong to one
 * thread (the loop thread).  Several read transactions may be open at once
 * in that thread (MDB_NOTLS), but only one write transaction or batch
 * commit at a time (a second one is SM_EBUSY, never a deadlock).
 *
 * Map growth remaps the file, so it is only possible while this handle
 * has no other transaction open: a batch commit or store_write() that
 * needs more room while a read transaction of this process is open fails
 * with SM_EFULL and a message saying so.  End read transactions within
 * the loop turn that began them.
 *
 * Durability: STORE_DURABLE_FULL (default) syncs every commit to disk
 * before store_batch_commit() returns; STORE_DURABLE_PROCESS does not
 * sync (MDB_NOSYNC, never MDB_WRITEMAP): a commit is in the kernel's page
 * cache when the call returns, so it survives a crash (kill -9) of the
 * process but not of the machine or the kernel; after a machine crash the
 * store opens at an older, consistent commit (LMDB's meta pages) or, if
 * the disk reordered writes, may be damaged (store_check() tells).
 *
 * Keys are byte strings; integers inside keys are big-endian so that
 * LMDB's order is numeric order (see store_key_* helpers).  Values are
 * opaque bytes (the engine stores JSON text).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

struct store;
struct store_txn;
struct store_batch;
struct store_cursor;

/* The tables.  Their key and value layouts are documented in docs/store.md. */
enum store_table {
	STORE_T_META = 0,   /* format version, instance id, counters */
	STORE_T_MACHINES,   /* sha256(document) -> document bytes */
	STORE_T_INSTANCES,  /* instance id -> instance state (JSON) */
	STORE_T_HISTORY,    /* instance id, be64 seq -> history record (JSON) */
	STORE_T_INBOX,      /* instance id, be64 seq -> event (JSON) */
	STORE_T_TIMERS,     /* be64 due wall ms, instance id, timer id -> payload */
	STORE_T_CACHE,      /* cache key -> cache entry (JSON) */
	STORE_T_QUEUES,     /* local backend: queue name, be64 seq -> message record */
	STORE_T_QUEUE_META, /* local backend: queue name -> queue attributes */
	STORE_T_INDEX,      /* secondary keys (e.g. task id -> instance id) */
	STORE_T__COUNT
};

/*
 * The on-disk format this code writes and reads.  It is stored in the META
 * table under the key "format" as 8 big-endian bytes; store_open() refuses a
 * store with a newer format (SM_EVERSION).
 */
#define STORE_FORMAT_VERSION 1
#define STORE_META_FORMAT_KEY "format"

enum store_durability {
	STORE_DURABLE_FULL = 0,
	STORE_DURABLE_PROCESS = 1
};

struct store_options {
	enum store_durability durability;
	size_t map_size;      /* initial map size in bytes; 0 = 64 MiB */
	size_t map_size_max;  /* growth stops here; 0 = 64 GiB */
	int read_only;        /* open for reading only (smctl inspect) */
};

/* Defaults: FULL durability, 64 MiB initial map, 64 GiB max. */
void store_options_init(struct store_options *opt);

/*
 * Open (creating if needed, mode 0700 directories, 0600 files) the store
 * in state directory `dir`: <dir>/store/.  `dir` itself is created if
 * missing, its parents are not.  `opt` NULL means the defaults.  Every
 * table is created if missing, the format version checked (a newer one is
 * SM_EVERSION), reader slots of dead processes are cleared
 * (mdb_reader_check), and a data.mdb shorter than its header says is
 * refused.  With opt->read_only nothing is created: a missing store is
 * SM_ENOTFOUND, an LMDB file without our tables SM_ECORRUPT.
 * On failure *out is NULL and `err` says what and where (path, LMDB's
 * reason, what to do).  Codes: SM_EINVAL (not a directory), SM_EPERM,
 * SM_ENOTFOUND, SM_ECORRUPT (garbage, truncated, foreign), SM_EVERSION,
 * SM_EFULL (disk), SM_ENOMEM, SM_EIO, SM_ESTORE (other LMDB errors).
 * Never fork with a store open and use it in the child: open it again.
 */
int store_open(struct store **out, const char *dir, const struct store_options *opt,
    struct sm_error *err);
/*
 * Close; every transaction must have ended (an open one is a bug).  NULL
 * is allowed.  With STORE_DURABLE_PROCESS the file is synced first, so a
 * clean shutdown leaves every commit on disk.
 */
void store_close(struct store *st);

/*
 * Force every commit so far to disk (fdatasync).  Only useful with
 * STORE_DURABLE_PROCESS, e.g. from a periodic timer to bound what a machine
 * crash can take (FULL commits are already on disk).  No-op when read-only.
 */
int store_sync(struct store *st, struct sm_error *err);

/* The current map size in bytes (grows by itself). */
size_t store_map_size(struct store *st);
/* "<dir>/store" (owned by the store). */
const char *store_path(const struct store *st);

/* ---- batches ---------------------------------------------------------- */

/*
 * A batch copies keys and values on put, so callers may free theirs.  A
 * batch is independent of any store until it is committed.  put/del return
 * 0, SM_EINVAL (no key, bad table), SM_ETOOBIG (key over STORE_KEY_MAX)
 * or SM_ENOMEM; a refused op is not queued.
 */
int store_batch_create(struct store_batch **out);
void store_batch_destroy(struct store_batch *b);
/* Forget every op (keeps the memory for reuse). */
void store_batch_reset(struct store_batch *b);
/* Number of ops queued. */
size_t store_batch_count(const struct store_batch *b);
int store_batch_put(struct store_batch *b, enum store_table t, const void *key, size_t klen,
    const void *val, size_t vlen);
int store_batch_del(struct store_batch *b, enum store_table t, const void *key, size_t klen);
/*
 * Apply every op in one write transaction and commit it (synced per the
 * durability setting).  Deleting a missing key is not an error.  Grows the
 * map and retries on MDB_MAP_FULL.  The batch is reset on success and left
 * intact on failure.  When the map cannot grow (maximum reached, or a
 * transaction of this handle is open) the result is SM_EFULL and nothing
 * of the batch is stored.  When the bigger map cannot be mapped (SM_ENOMEM,
 * address space) nothing is stored either and the store stays usable at
 * its old size; if it cannot even be reopened at that size, this and every
 * later call return SM_ESTORE.  An empty batch commits nothing and returns 0.
 */
int store_batch_commit(struct store *st, struct store_batch *b, struct sm_error *err);

/*
 * Queue the deletion of every key of table `t` that starts with (prefix,
 * plen) (e.g. everything of one instance: "id\0" in history or inbox).
 * Codes as store_batch_put.
 */
int store_batch_del_prefix(struct store_batch *b, enum store_table t, const void *prefix,
    size_t plen);
/* Bytes of keys and values queued (what the batch will write, roughly). */
size_t store_batch_bytes(const struct store_batch *b);
/*
 * store_batch_commit for `n` batches in ONE write transaction, in order
 * (the engine keeps one batch per instance tree so that it can leave one
 * out).  All of them are reset on success and left intact on failure.
 */
int store_batch_commit_many(struct store *st, struct store_batch *const *bv, size_t n,
    struct sm_error *err);
/*
 * Write transactions this handle committed (batches and store_txn_commit):
 * tests and benchmarks count commits per loop turn with it.
 */
uint64_t store_commit_count(const struct store *st);
/* The maximum map size (store_options.map_size_max after defaults). */
size_t store_map_size_max(const struct store *st);

/* ---- transactions ----------------------------------------------------- */

enum { STORE_TXN_READ = 0, STORE_TXN_WRITE = 1 };

/*
 * Begin a transaction.  SM_EBUSY if a write transaction of this handle is
 * already open, SM_EPERM for a write on a read-only store, SM_EAGAIN when
 * another process grew the map and this handle still has transactions
 * open (end them and begin again; with none open the store follows the
 * new size by itself).
 */
int store_txn_begin(struct store *st, int mode, struct store_txn **out, struct sm_error *err);
/*
 * Commit (write) or end (read).  The txn is freed in every case, and so
 * are the LMDB cursors still open on it (their handles must still be
 * given to store_cursor_close()).  A write transaction in which a put or
 * delete failed (other than SM_ENOTFOUND) is not committed: it is aborted
 * and the result is SM_EFULL (map full: redo it after the growth that
 * store_write() does for you) or SM_ESTORE.
 */
int store_txn_commit(struct store_txn *txn, struct sm_error *err);
/* End without committing; NULL is allowed. */
void store_txn_abort(struct store_txn *txn);

/*
 * Look a key up.  On success *val and *vlen point into the map and stay valid
 * until the transaction ends (never write through them).  SM_ENOTFOUND when
 * absent; on any failure *val is NULL and *vlen 0.
 */
int store_get(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    const void **val, size_t *vlen);
/*
 * Insert or replace.  SM_EPERM in a read transaction, SM_ETOOBIG for a key
 * over STORE_KEY_MAX, SM_EFULL when the map is full (the transaction can
 * then only be aborted; see store_write()).
 */
int store_put(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    const void *val, size_t vlen);
/* SM_ENOTFOUND when absent (the transaction stays usable). */
int store_del(struct store_txn *txn, enum store_table t, const void *key, size_t klen);

/*
 * Run `fn` in a write transaction and commit; if the map had to grow
 * (SM_EFULL from a put) the transaction is aborted, the map grown and `fn`
 * called again.  `fn` must therefore only touch the store.
 */
typedef int store_write_fn(struct store_txn *txn, void *arg, struct sm_error *err);
int store_write(struct store *st, store_write_fn *fn, void *arg, struct sm_error *err);

/* ---- cursors ---------------------------------------------------------- */

/*
 * A cursor over one table in `txn`.  Close it with store_cursor_close(),
 * before or after the transaction ends (after the end it only frees the
 * handle; every other cursor call then returns SM_EINVAL).
 */
int store_cursor_open(struct store_txn *txn, enum store_table t, struct store_cursor **out);
void store_cursor_close(struct store_cursor *c);
/*
 * Position at the first key >= (key, klen) (key NULL: the first key) and
 * return it; then store_cursor_next() moves on.  Both return SM_ENOTFOUND
 * at the end.  Pointers are valid until the next cursor call or txn end.
 */
int store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl);
int store_cursor_next(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl);
/*
 * Delete the entry under the cursor (write transactions only; SM_EPERM
 * otherwise).  The next store_cursor_next() returns the entry that
 * followed the deleted one, so "seek; del; next" loops visit every entry.
 */
int store_cursor_del(struct store_cursor *c);

/* ---- key helpers ------------------------------------------------------ */

/* Big-endian 64-bit encode/decode (8 bytes). */
void store_be64_put(unsigned char out[8], uint64_t v);
uint64_t store_be64_get(const unsigned char in[8]);

/*
 * Composite keys.  A key is a sequence of parts: a string part is its bytes
 * followed by one 0x00 byte (so "ab" sorts before "abc" and a prefix of
 * whole parts is a prefix of the key), a u64 part is 8 big-endian bytes.
 * Strings must not contain NUL.  LMDB limits a key to STORE_KEY_MAX bytes.
 *
 *	struct store_key k;
 *	store_key_init(&k);
 *	store_key_add_str(&k, instance_id);
 *	store_key_add_u64(&k, seq);
 *	if (k.overflow) ... SM_ETOOBIG
 *	store_batch_put(b, STORE_T_HISTORY, k.buf, k.len, json, json_len);
 *
 * The add functions return 0 or SM_ETOOBIG (and then set k->overflow and
 * leave the key unchanged), so several adds can be checked once at the end.
 */
#define STORE_KEY_MAX 511
struct store_key {
	unsigned char buf[STORE_KEY_MAX];
	size_t len;
	int overflow;
};
void store_key_init(struct store_key *k);
int store_key_add_str(struct store_key *k, const char *s);
int store_key_add_u64(struct store_key *k, uint64_t v);
int store_key_add_bytes(struct store_key *k, const void *p, size_t n); /* raw, no terminator */
/*
 * Decode the part at *pos of (key, klen) and advance *pos.  A string part
 * is returned as a pointer into the key and its length without the 0x00.
 * SM_ECORRUPT when the key does not hold such a part there.
 */
int store_key_get_str(const void *key, size_t klen, size_t *pos, const char **s, size_t *slen);
int store_key_get_u64(const void *key, size_t klen, size_t *pos, uint64_t *v);
/* 1 if (key, klen) starts with (prefix, plen), else 0. */
int store_key_has_prefix(const void *key, size_t klen, const void *prefix, size_t plen);

/* ---- extras ------------------------------------------------------------ */

/*
 * Verify the store in `dir` by reading every key and value of every table
 * in a child process (fork; the child opens its own read-only handle, so a
 * store of this process may be open meanwhile).  LMDB keeps no page
 * checksums: a damaged data page can make a reader crash, so smd runs this
 * at start and `smctl check` on demand.  0 when every table reads cleanly;
 * SM_ECORRUPT when LMDB reports damage or the reader dies of a signal;
 * other codes when the store cannot be opened or the child not started.
 * Costs one read of the whole file.  Call from a single-threaded process.
 * *entries (may be NULL) receives the number of entries read.
 */
int store_check(const char *dir, size_t *entries, struct sm_error *err);

/* "meta", "machines", ... (the LMDB sub-database name); "?" when out of range. */
const char *store_table_name(enum store_table t);

/* The durability the store was opened with. */
enum store_durability store_durability(const struct store *st);

/*
 * Number of entries in a table as seen by `txn`.
 */
int store_count(struct store_txn *txn, enum store_table t, size_t *out);

/*
 * Monotonic counter `name` in the META table: read it, add one, store it
 * and give the new value in *out (the first call gives 1).  Needs a write
 * transaction; the increment is part of that transaction (an abort undoes
 * it).  Counter keys are "seq:" + name.
 */
int store_next_seq(struct store_txn *txn, const char *name, uint64_t *out);

/*
 * Position the cursor at the first key that starts with (prefix, plen) and
 * return it; then store_cursor_next_prefix() returns the following ones.
 * Both return SM_ENOTFOUND once the keys no longer start with the prefix.
 * Deleting with store_cursor_del() between calls is allowed.
 */
int store_cursor_seek_prefix(struct store_cursor *c, const void *prefix, size_t plen,
    const void **k, size_t *kl, const void **v, size_t *vl);
int store_cursor_next_prefix(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl);

#endif
