/*
 * bench_baselines.h - the durable-commit baselines the benchmarks measure
 * against (header-only, like bench_util.h; one copy for bench_store and
 * bench_engine).  Each case is a struct with open / round / close:
 *
 *   bench_lmdb      raw LMDB with the store's environment flags: MDB_NOTLS,
 *                   no MDB_WRITEMAP, synced commits (what STORE_DURABLE_FULL
 *                   opens); `extra` env flags add e.g. MDB_NOSYNC (what
 *                   STORE_DURABLE_PROCESS opens).  One operation = one
 *                   mdb_put of an 8-byte big-endian key (a counter) and the
 *                   value; `group` puts (1 after open) share one write
 *                   transaction, so one commit per `group` operations.
 *   bench_storeapi  the store API, default options (STORE_DURABLE_FULL).
 *                   One operation = store_batch_commit of a one-put batch
 *                   (8-byte big-endian key, the value) into one table.
 *   bench_sqlite    SQLite, journal_mode=WAL with synchronous=`sync` ("FULL"
 *                   for durable, "NORMAL" for survives-a-process-crash), a
 *                   table t(k INTEGER PRIMARY KEY, v BLOB).  One operation =
 *                   one prepared INSERT of (counter, value); `group` inserts
 *                   (1 after open) between one BEGIN and one COMMIT.
 *
 * The round functions have the bench_fn shape (bench_util.h): round(c, ops)
 * performs ops operations and returns 0, or nonzero on failure (bench_lmdb:
 * the LMDB code; the others print "<prog>: <what>" to stderr and return 1).
 *
 * The value bytes are borrowed: they must outlive the case.  `prog` (the
 * program name for messages) is borrowed too, normally a string literal.
 */
#ifndef BENCH_BASELINES_H
#define BENCH_BASELINES_H

#include <errno.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sm_err.h"
#include "store.h"

/* ---- raw LMDB ----------------------------------------------------------- */

struct bench_lmdb {
	MDB_env *env;
	MDB_dbi dbi;
	uint64_t next;                  /* next key */
	const unsigned char *value;     /* borrowed */
	size_t vlen;
	long group;                     /* puts per transaction; 1 after open */
};

/*
 * Create directory `path` (if missing) and open an LMDB environment in it
 * with the store's flags plus `extra` (0, or MDB_NOSYNC), a 1 GiB map and
 * a database "bench".  Returns 0, an errno value (mkdir) or an LMDB code;
 * mdb_strerror() describes both.  On failure nothing stays open.
 */
static inline int
bench_lmdb_open(struct bench_lmdb *c, const char *path, unsigned extra,
    const unsigned char *value, size_t vlen)
{
	MDB_txn *txn;
	int rc;

	memset(c, 0, sizeof(*c));
	c->value = value;
	c->vlen = vlen;
	c->group = 1;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return errno;
	if ((rc = mdb_env_create(&c->env)) != 0)
		return rc;
	if ((rc = mdb_env_set_mapsize(c->env, (size_t)1 << 30)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 4)) != 0 ||
	    /* the store's flags: MDB_NOTLS, no WRITEMAP; FULL adds nothing */
	    (rc = mdb_env_open(c->env, path, MDB_NOTLS | extra, 0600)) != 0 ||
	    (rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "bench", MDB_CREATE, &c->dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	mdb_env_close(c->env);
	c->env = NULL;
	return rc;
}

/* ops puts, c->group of them per write transaction; 0 or an LMDB code. */
static inline int
bench_lmdb_round(void *arg, long ops)
{
	struct bench_lmdb *c = arg;
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v = { c->vlen, (void *)c->value };
	MDB_txn *txn;
	long i, g;
	int rc;

	for (i = 0; i < ops; i += c->group) {
		if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
			return rc;
		for (g = 0; g < c->group && i + g < ops; g++) {
			store_be64_put(kb, c->next++);
			if ((rc = mdb_put(txn, c->dbi, &k, &v, 0)) != 0) {
				mdb_txn_abort(txn);
				return rc;
			}
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			return rc;
	}
	return 0;
}

/* Close the environment; a case that failed to open is allowed. */
static inline void
bench_lmdb_close(struct bench_lmdb *c)
{
	mdb_env_close(c->env);
	c->env = NULL;
}

/* ---- the store API ------------------------------------------------------ */

struct bench_storeapi {
	struct store *st;
	struct store_batch *b;
	enum store_table table;         /* where the puts go */
	uint64_t next;                  /* next key */
	const unsigned char *value;     /* borrowed */
	size_t vlen;
	const char *prog;               /* borrowed, for messages */
};

/*
 * Open the store in state directory `path` with the default options
 * (STORE_DURABLE_FULL) and a batch.  Returns 0, or 1 after printing
 * "<prog>: <why>" to stderr (nothing stays open).
 */
static inline int
bench_storeapi_open(struct bench_storeapi *c, const char *path, enum store_table table,
    const unsigned char *value, size_t vlen, const char *prog)
{
	struct store_options opt;
	struct sm_error err;

	memset(c, 0, sizeof(*c));
	c->table = table;
	c->value = value;
	c->vlen = vlen;
	c->prog = prog;
	store_options_init(&opt);
	if (store_open(&c->st, path, &opt, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 1;
	}
	if (store_batch_create(&c->b) != 0) {
		fprintf(stderr, "%s: cannot create a store batch: out of memory\n", prog);
		store_close(c->st);
		c->st = NULL;
		return 1;
	}
	return 0;
}

/* ops commits of a one-put batch; 0, or 1 after printing why. */
static inline int
bench_storeapi_round(void *arg, long ops)
{
	struct bench_storeapi *c = arg;
	unsigned char kb[8];
	struct sm_error err;
	long i;
	int rc;

	for (i = 0; i < ops; i++) {
		store_be64_put(kb, c->next++);
		if ((rc = store_batch_put(c->b, c->table, kb, 8, c->value, c->vlen)) != 0) {
			fprintf(stderr, "%s: store batch put: %s\n", c->prog, sm_strerror(rc));
			return 1;
		}
		if (store_batch_commit(c->st, c->b, &err) != 0) {
			fprintf(stderr, "%s: %s\n", c->prog, err.msg);
			return 1;
		}
	}
	return 0;
}

/* Close the batch and the store; a case that failed to open is allowed. */
static inline void
bench_storeapi_close(struct bench_storeapi *c)
{
	store_batch_destroy(c->b);
	store_close(c->st);
	c->b = NULL;
	c->st = NULL;
}

/* ---- SQLite WAL ----------------------------------------------------------- */

struct bench_sqlite {
	sqlite3 *db;
	sqlite3_stmt *begin, *ins, *commit;
	uint64_t next;                  /* next key */
	const unsigned char *value;     /* borrowed */
	size_t vlen;
	long group;                     /* inserts per transaction; 1 after open */
	const char *prog;               /* borrowed, for messages */
};

static inline void bench_sqlite_close(struct bench_sqlite *c);

/*
 * Open (creating) database file `path` in WAL mode with
 * synchronous=`sync` ("FULL" or "NORMAL", a trusted literal), create the
 * table and prepare the statements.  Returns 0, or 1 after printing
 * "<prog>: sqlite '<path>': <why>" to stderr (nothing stays open).
 */
static inline int
bench_sqlite_open(struct bench_sqlite *c, const char *path, const char *sync,
    const unsigned char *value, size_t vlen, const char *prog)
{
	char sql[128];
	char *msg = NULL;

	memset(c, 0, sizeof(*c));
	c->value = value;
	c->vlen = vlen;
	c->group = 1;
	c->prog = prog;
	if (sqlite3_open(path, &c->db) != SQLITE_OK)
		goto fail;
	snprintf(sql, sizeof(sql),
	    "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
	    "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB);", sync);
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "BEGIN", -1, &c->begin, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "INSERT INTO t(k, v) VALUES(?, ?)", -1, &c->ins,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "COMMIT", -1, &c->commit, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "%s: sqlite '%s': %s\n", prog, path,
	    msg ? msg : c->db ? sqlite3_errmsg(c->db) : "out of memory");
	sqlite3_free(msg);
	bench_sqlite_close(c);
	return 1;
}

/* Step a statement that returns no rows, reset it; 0, or 1 after printing why. */
static inline int
bench_sqlite_step(struct bench_sqlite *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "%s: sqlite: %s\n", c->prog, sqlite3_errmsg(c->db));
		return 1;
	}
	return 0;
}

/* ops inserts, c->group of them per transaction; 0, or 1 after printing why. */
static inline int
bench_sqlite_round(void *arg, long ops)
{
	struct bench_sqlite *c = arg;
	long i, g;

	for (i = 0; i < ops; i += c->group) {
		if (bench_sqlite_step(c, c->begin) != 0)
			return 1;
		for (g = 0; g < c->group && i + g < ops; g++) {
			sqlite3_bind_int64(c->ins, 1, (sqlite3_int64)c->next++);
			sqlite3_bind_blob(c->ins, 2, c->value, (int)c->vlen, SQLITE_STATIC);
			if (bench_sqlite_step(c, c->ins) != 0)
				return 1;
		}
		if (bench_sqlite_step(c, c->commit) != 0)
			return 1;
	}
	return 0;
}

/* Finalize the statements, close the database; a failed open is allowed. */
static inline void
bench_sqlite_close(struct bench_sqlite *c)
{
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->ins);
	sqlite3_finalize(c->commit);
	sqlite3_close(c->db);
	c->begin = c->ins = c->commit = NULL;
	c->db = NULL;
}

#endif
