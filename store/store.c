/*
 * store.c - store.h on LMDB.
 *
 * One environment per state directory, in <dir>/store/ (data.mdb and
 * lock.mdb), one named sub-database per enum store_table.  The layout of
 * each table is in docs/store.md.
 *
 * Why the flags:
 *  - MDB_NOTLS: read transactions are not tied to a thread slot, so one
 *    thread may hold several (an iteration plus a lookup) and smctl-style
 *    readers can live anywhere.
 *  - no MDB_WRITEMAP: pages reach the file through write(), so a commit
 *    made with MDB_NOSYNC is in the kernel's page cache when
 *    mdb_txn_commit() returns and survives a crash of this process.
 *  - STORE_DURABLE_FULL: LMDB's default, fdatasync of data and meta page
 *    at every commit.  No MDB_NOMETASYNC: FULL means full.
 *
 * Map growth: a write that does not fit gives MDB_MAP_FULL; the write
 * transaction is aborted, the map doubled (up to map_size_max) and the
 * batch (data, so it can be replayed) or the store_write() callback is
 * applied again.  Changing the map size remaps the file, so it is refused
 * while this process holds other transactions of this store.
 */
#include "store.h"
#include "store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_log.h"
#include "sm_statedir.h"

#define STORE_FORMAT_KEY STORE_META_FORMAT_KEY
#define STORE_SUBDIR SM_STATEDIR_STORE /* the layout is sm_statedir.h's */
#define STORE_DEFAULT_MAP ((size_t)64 << 20)
#define STORE_DEFAULT_MAP_MAX ((size_t)64 << 30)

static const char *const store_table_names[STORE_T__COUNT] = {
	[STORE_T_META] = "meta",
	[STORE_T_MACHINES] = "machines",
	[STORE_T_INSTANCES] = "instances",
	[STORE_T_HISTORY] = "history",
	[STORE_T_INBOX] = "inbox",
	[STORE_T_TIMERS] = "timers",
	[STORE_T_CACHE] = "cache",
	[STORE_T_QUEUES] = "queues",
	[STORE_T_QUEUE_META] = "queue_meta",
	[STORE_T_INDEX] = "index",
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_T__COUNT];
	char *path;             /* <dir>/store */
	struct store_options opt;
	unsigned txns;          /* open transactions of this handle */
	uint64_t commits;       /* write transactions committed (store_commit_count) */
	int writer;             /* a write transaction is open */
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int write;
	int map_full;           /* a put hit MDB_MAP_FULL: only abort is left */
	int failed;             /* a put failed otherwise: commit is refused */
	struct store_cursor *cursors;
};

struct store_cursor {
	struct store_txn *txn;  /* NULL once the transaction ended */
	MDB_cursor *cur;
	struct store_cursor *next, *prev;
	unsigned char *prefix;
	size_t plen;
};

enum { OP_PUT, OP_DEL, OP_DEL_PREFIX };

struct store_op {
	unsigned char kind;
	unsigned char table;
	size_t off;             /* key at buf+off, then value */
	size_t klen, vlen;
};

struct store_batch {
	struct store_op *ops;
	size_t nops, capops;
	unsigned char *buf;
	size_t len, cap;
};

/* ---- errors ------------------------------------------------------------ */

static int store_closed(struct store *st, struct sm_error *err);

static int
store_code(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return SM_ENOTFOUND;
	case MDB_KEYEXIST:
		return SM_EEXISTS;
	case MDB_MAP_FULL:
	case MDB_DBS_FULL:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
	case ENOSPC:
		return SM_EFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_DBI:
		return SM_ECORRUPT;
	case MDB_VERSION_MISMATCH:
		return SM_EVERSION;
	case MDB_BAD_VALSIZE:
		return SM_ETOOBIG;
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		return SM_EBUSY;
	case MDB_BAD_TXN:
	case MDB_BAD_RSLOT:
		return SM_EBUG;
	case EACCES:
	case EPERM:
	case EROFS:
		return SM_EPERM;
	default:
		if (rc > 0)
			return sm_error_from_errno(rc);
		return SM_ESTORE;
	}
}

/* Fill err with "store '<path>': <what>: <lmdb text>" and return the code. */
static int
store_fail(struct sm_error *err, const char *path, int rc, const char *what)
{
	int code = store_code(rc);
	const char *hint = "";

	switch (rc) {
	case EACCES:
	case EPERM:
	case EROFS:
		hint = ": check the owner and mode of the state directory";
		break;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		hint = ": the file is not an intact smd store; restore it from a backup "
		    "or move it away to start empty";
		break;
	case MDB_VERSION_MISMATCH:
		hint = ": the store was written by another LMDB version";
		break;
	case ENOSPC:
		hint = ": free disk space";
		break;
	case ENOENT:
		hint = ": no store here yet: give the daemon's state directory";
		break;
	default:
		break;
	}
	return sm_error_set(err, code, "store '%s': %s: %s%s", path ? path : "?", what,
	    mdb_strerror(rc), hint);
}

/* ---- open/close --------------------------------------------------------- */

void
store_options_init(struct store_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->durability = STORE_DURABLE_FULL;
	opt->map_size = STORE_DEFAULT_MAP;
	opt->map_size_max = STORE_DEFAULT_MAP_MAX;
	opt->read_only = 0;
}

static int
store_mkdir(const char *path, int read_only, struct sm_error *err)
{
	struct stat sb;

	if (stat(path, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return sm_error_set(err, SM_EINVAL,
			    "store: '%s' is not a directory: give a directory as the state "
			    "directory", path);
		return 0;
	}
	if (errno != ENOENT) {
		int e = errno;

		return sm_error_set(err, (e == EACCES || e == EPERM) ? SM_EPERM :
		    e == ENOTDIR ? SM_EINVAL : sm_error_from_errno(e),
		    "store: cannot examine '%s': %s%s", path, strerror(e),
		    e == ENOTDIR ? ": a part of the path is not a directory" :
		    (e == EACCES || e == EPERM) ? ": check the owner and mode of the "
		    "directories on the path" : "");
	}
	if (read_only)
		return sm_error_set(err, SM_ENOTFOUND,
		    "store: '%s' does not exist: give the daemon's state directory", path);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		int code = (e == EACCES || e == EPERM || e == EROFS) ? SM_EPERM :
		    sm_error_from_errno(e);
		return sm_error_set(err, code, "store: cannot create directory '%s': %s%s",
		    path, strerror(e),
		    code == SM_EPERM ? ": check the owner and mode of its parent" : "");
	}
	return 0;
}

/* mdb_txn_begin that follows a map grown by another process. */
static int
store_begin_raw(struct store *st, unsigned flags, MDB_txn **out)
{
	int rc, tries;

	for (tries = 0; tries < 8; tries++) {
		rc = mdb_txn_begin(st->env, NULL, flags, out);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		/* Another process grew the map: adopt its size.  Remapping is
		 * only safe when no transaction of ours points into the map. */
		if (st->txns > 0)
			return rc;
		rc = mdb_env_set_mapsize(st->env, 0);
		if (rc != 0)
			return rc;
	}
	return MDB_MAP_RESIZED;
}

static int
store_check_format(struct store *st, MDB_txn *txn, struct sm_error *err)
{
	MDB_val k = { sizeof(STORE_FORMAT_KEY) - 1, (void *)STORE_FORMAT_KEY }, v;
	unsigned char buf[8];
	uint64_t ver;
	int rc;

	rc = mdb_get(txn, st->dbi[STORE_T_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		if (st->opt.read_only)
			return sm_error_set(err, SM_ECORRUPT,
			    "store '%s': no format version in the meta table: the store was "
			    "never completely created; start smd on it once", st->path);
		store_be64_put(buf, STORE_FORMAT_VERSION);
		v.mv_size = sizeof(buf);
		v.mv_data = buf;
		rc = mdb_put(txn, st->dbi[STORE_T_META], &k, &v, 0);
		if (rc != 0)
			return store_fail(err, st->path, rc, "cannot write the format version");
		return 0;
	}
	if (rc != 0)
		return store_fail(err, st->path, rc, "cannot read the format version");
	if (v.mv_size != 8)
		return sm_error_set(err, SM_ECORRUPT,
		    "store '%s': format version has %zu bytes instead of 8: the meta table "
		    "is damaged", st->path, v.mv_size);
	ver = store_be64_get(v.mv_data);
	if (ver > STORE_FORMAT_VERSION)
		return sm_error_set(err, SM_EVERSION,
		    "store '%s': format version %llu is newer than this program reads (%d): "
		    "run a newer smd/smctl", st->path, (unsigned long long)ver,
		    STORE_FORMAT_VERSION);
	if (ver == 0)
		return sm_error_set(err, SM_ECORRUPT,
		    "store '%s': format version 0 is invalid: the meta table is damaged",
		    st->path);
	return 0;
}

/*
 * A data.mdb shorter than its last used page would make LMDB touch mapped
 * pages past the end of the file (SIGBUS): refuse it instead.
 */
static int
store_check_size(struct store *st, struct sm_error *err)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	char file[4096];
	int rc;

	if ((rc = mdb_env_info(st->env, &info)) != 0 || (rc = mdb_env_stat(st->env, &ms)) != 0)
		return store_fail(err, st->path, rc, "cannot read the environment's header");
	snprintf(file, sizeof(file), "%s/data.mdb", st->path);
	if (stat(file, &sb) != 0)
		return sm_error_set(err, sm_error_from_errno(errno),
		    "store '%s': cannot examine '%s': %s", st->path, file, strerror(errno));
	if ((uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize)
		return sm_error_set(err, SM_ECORRUPT,
		    "store '%s': data.mdb is truncated (%lld bytes, its header says %llu): "
		    "restore it from a backup or move it away to start empty", st->path,
		    (long long)sb.st_size,
		    ((unsigned long long)info.me_last_pgno + 1) * ms.ms_psize);
	return 0;
}

/*
 * Create and open the LMDB environment of st->path with a map of
 * `map_size` bytes, open every table and check the format.  On failure
 * st->env is NULL.
 */
static int
store_env_open(struct store *st, size_t map_size, struct sm_error *err)
{
	MDB_txn *txn = NULL;
	unsigned flags = MDB_NOTLS;
	int rc, code, dead = 0, i;

	if ((rc = mdb_env_create(&st->env)) != 0) {
		code = store_fail(err, st->path, rc, "cannot create the environment");
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(st->env, STORE_T__COUNT + 4)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, map_size)) != 0) {
		code = store_fail(err, st->path, rc, "cannot configure the environment");
		goto fail;
	}
	if (st->opt.durability == STORE_DURABLE_PROCESS)
		flags |= MDB_NOSYNC;
	if (st->opt.read_only)
		flags |= MDB_RDONLY;
	if ((rc = mdb_env_open(st->env, st->path, flags, 0600)) != 0) {
		code = store_fail(err, st->path, rc, "cannot open");
		goto fail;
	}
	if ((code = store_check_size(st, err)) != 0)
		goto fail;
	/* Reader slots of processes that died (kill -9 of smctl). */
	if ((rc = mdb_reader_check(st->env, &dead)) != 0) {
		code = store_fail(err, st->path, rc, "cannot check the reader table");
		goto fail;
	}
	if (dead > 0)
		sm_log_info("store '%s': cleared %d stale reader slot(s)", st->path, dead);

	rc = store_begin_raw(st, st->opt.read_only ? MDB_RDONLY : 0, &txn);
	if (rc != 0) {
		code = store_fail(err, st->path, rc, "cannot begin the opening transaction");
		goto fail;
	}
	for (i = 0; i < STORE_T__COUNT; i++) {
		rc = mdb_dbi_open(txn, store_table_names[i],
		    st->opt.read_only ? 0 : MDB_CREATE, &st->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			code = sm_error_set(err, SM_ECORRUPT,
			    "store '%s': table '%s' is missing: not an smd store, or never "
			    "opened by smd", st->path, store_table_names[i]);
			goto fail;
		}
		if (rc != 0) {
			char what[64];

			snprintf(what, sizeof(what), "cannot open table '%s'",
			    store_table_names[i]);
			code = store_fail(err, st->path, rc, what);
			goto fail;
		}
	}
	if ((code = store_check_format(st, txn, err)) != 0)
		goto fail;
	/* Commit (not abort) even when reading: it keeps the dbi handles. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		code = store_fail(err, st->path, rc, "cannot commit the opening transaction");
		goto fail;
	}
	return 0;

fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	return code;
}

int
store_open(struct store **out, const char *dir, const struct store_options *opt,
    struct sm_error *err)
{
	struct store *st = NULL;
	struct store_options defaults;
	int code;
	size_t n;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return sm_error_set(err, SM_EINVAL, "store: no state directory given");
	if (opt == NULL) {
		store_options_init(&defaults);
		opt = &defaults;
	}
	if (opt->durability != STORE_DURABLE_FULL && opt->durability != STORE_DURABLE_PROCESS)
		return sm_error_set(err, SM_EINVAL, "store: unknown durability %d",
		    (int)opt->durability);

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return sm_error_set(err, SM_ENOMEM, "store: out of memory");
	st->opt = *opt;
	if (st->opt.map_size == 0)
		st->opt.map_size = STORE_DEFAULT_MAP;
	if (st->opt.map_size_max == 0)
		st->opt.map_size_max = STORE_DEFAULT_MAP_MAX;
	if (st->opt.map_size_max < st->opt.map_size)
		st->opt.map_size_max = st->opt.map_size;

	n = strlen(dir) + sizeof("/" STORE_SUBDIR);
	st->path = malloc(n);
	if (st->path == NULL) {
		code = sm_error_set(err, SM_ENOMEM, "store: out of memory");
		goto fail;
	}
	snprintf(st->path, n, "%s/%s", dir, STORE_SUBDIR);

	if ((code = store_mkdir(dir, st->opt.read_only, err)) != 0)
		goto fail;
	if ((code = store_mkdir(st->path, st->opt.read_only, err)) != 0)
		goto fail;

	if ((code = store_env_open(st, st->opt.map_size, err)) != 0)
		goto fail;
	*out = st;
	return 0;

fail:
	free(st->path);
	free(st);
	return code;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->txns > 0)
		SM_BUG("store_close('%s') with %u transaction(s) open", st->path, st->txns);
	if (st->env != NULL && st->opt.durability == STORE_DURABLE_PROCESS &&
	    !st->opt.read_only) {
		int rc = mdb_env_sync(st->env, 1);

		if (rc != 0)
			sm_log_warn("store '%s': sync at close failed: %s: the last commits "
			    "may be lost if the machine crashes now", st->path, mdb_strerror(rc));
	}
	mdb_env_close(st->env);
	free(st->path);
	free(st);
}

int
store_sync(struct store *st, struct sm_error *err)
{
	int rc;

	if (st->opt.read_only)
		return 0;
	if (st->env == NULL)
		return store_closed(st, err);
	rc = mdb_env_sync(st->env, 1);
	if (rc != 0)
		return store_fail(err, st->path, rc, "cannot sync");
	return 0;
}

size_t
store_map_size(struct store *st)
{
	MDB_envinfo info;

	if (st->env == NULL || mdb_env_info(st->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

enum store_durability
store_durability(const struct store *st)
{
	return st->opt.durability;
}

const char *
store_table_name(enum store_table t)
{
	if ((int)t < 0 || t >= STORE_T__COUNT)
		return "?";
	return store_table_names[t];
}

MDB_env *
store__env(struct store *st)
{
	return st->env;
}

/* Every call on a handle whose environment could not be reopened. */
static int
store_closed(struct store *st, struct sm_error *err)
{
	return sm_error_set(err, SM_ESTORE, "store '%s': closed after a failed map growth "
	    "(see the log): restart the process", st->path);
}

/* Double the map (capped).  Only with no transaction of ours open. */
static int
store_grow(struct store *st, struct sm_error *err)
{
	size_t cur = store_map_size(st), next;
	int rc;

	if (st->txns > 0)
		return sm_error_set(err, SM_EFULL,
		    "store '%s': the map (%zu bytes) is full and cannot grow while %u "
		    "other transaction(s) of this process are open: end them first",
		    st->path, cur, st->txns);
	if (cur >= st->opt.map_size_max)
		return sm_error_set(err, SM_EFULL,
		    "store '%s': the map is full at its maximum of %zu bytes: raise the "
		    "maximum map size or free space by purging old history", st->path,
		    st->opt.map_size_max);
	next = cur > st->opt.map_size_max / 2 ? st->opt.map_size_max : cur * 2;
	rc = mdb_env_set_mapsize(st->env, next);
	if (rc != 0) {
		struct sm_error again;
		char what[160];

		/* LMDB unmapped the old map and could not map the new one: the
		 * environment has no map now and must not be used.  Reopen it at
		 * the size that worked; if even that fails the handle is closed
		 * and every call says so. */
		mdb_env_close(st->env);
		st->env = NULL;
		sm_error_clear(&again);
		if (store_env_open(st, cur, &again) != 0) {
			sm_log_error("store '%s': cannot reopen after a failed map growth: %s: the "
			    "store is closed; restart the process", st->path, again.msg);
			snprintf(what, sizeof(what), "cannot grow the map from %zu to %zu bytes, "
			    "and the store is closed", cur, next);
			return store_fail(err, st->path, rc, what);
		}
		snprintf(what, sizeof(what), "cannot grow the map from %zu to %zu bytes (it "
		    "stays at %zu; free memory or address space, e.g. ulimit -v)", cur, next,
		    store_map_size(st));
		return store_fail(err, st->path, rc, what);
	}
	sm_log_debug("store '%s': map grown from %zu to %zu bytes", st->path, cur,
	    store_map_size(st));
	return 0;
}

/* ---- batches ------------------------------------------------------------ */

int
store_batch_create(struct store_batch **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? SM_ENOMEM : 0;
}

void
store_batch_destroy(struct store_batch *b)
{
	if (b == NULL)
		return;
	free(b->ops);
	free(b->buf);
	free(b);
}

void
store_batch_reset(struct store_batch *b)
{
	b->nops = 0;
	b->len = 0;
}

size_t
store_batch_count(const struct store_batch *b)
{
	return b->nops;
}

static int
store_batch_add(struct store_batch *b, int kind, enum store_table t, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct store_op *op;
	size_t need;

	if ((int)t < 0 || t >= STORE_T__COUNT || key == NULL || klen == 0 ||
	    (vlen > 0 && val == NULL))
		return SM_EINVAL;
	if (klen > STORE_KEY_MAX)
		return SM_ETOOBIG;
	if (vlen > SIZE_MAX / 2 - klen || b->len > SIZE_MAX / 2 - klen - vlen)
		return SM_ETOOBIG;
	if (b->nops == b->capops) {
		size_t nc = b->capops ? b->capops * 2 : 16;
		struct store_op *n = realloc(b->ops, nc * sizeof(*n));

		if (n == NULL)
			return SM_ENOMEM;
		b->ops = n;
		b->capops = nc;
	}
	need = b->len + klen + vlen;
	if (need > b->cap) {
		size_t nc = b->cap ? b->cap : 1024;
		unsigned char *n;

		while (nc < need)
			nc *= 2;
		n = realloc(b->buf, nc);
		if (n == NULL)
			return SM_ENOMEM;
		b->buf = n;
		b->cap = nc;
	}
	op = &b->ops[b->nops++];
	op->kind = (unsigned char)kind;
	op->table = (unsigned char)t;
	op->off = b->len;
	op->klen = klen;
	op->vlen = vlen;
	memcpy(b->buf + b->len, key, klen);
	if (vlen > 0)
		memcpy(b->buf + b->len + klen, val, vlen);
	b->len = need;
	return 0;
}

int
store_batch_put(struct store_batch *b, enum store_table t, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	return store_batch_add(b, OP_PUT, t, key, klen, val, vlen);
}

int
store_batch_del(struct store_batch *b, enum store_table t, const void *key, size_t klen)
{
	return store_batch_add(b, OP_DEL, t, key, klen, NULL, 0);
}

int
store_batch_del_prefix(struct store_batch *b, enum store_table t, const void *prefix,
    size_t plen)
{
	return store_batch_add(b, OP_DEL_PREFIX, t, prefix, plen, NULL, 0);
}

size_t
store_batch_bytes(const struct store_batch *b)
{
	return b->len;
}

/* Delete every key of `dbi` that starts with (p, plen). */
static int
store_del_prefix_raw(MDB_txn *txn, MDB_dbi dbi, const void *p, size_t plen)
{
	MDB_cursor *c;
	MDB_val k = { plen, (void *)p }, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	/* after mdb_cursor_del, MDB_NEXT gives the entry that followed */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, p, plen) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* One attempt; MDB_MAP_FULL is returned raw so the caller can grow. */
static int
store_batch_apply(struct store *st, struct store_batch *const *bv, size_t n,
    size_t *failed_b, size_t *failed_op)
{
	MDB_txn *txn;
	size_t i, j;
	int rc;

	*failed_b = *failed_op = (size_t)-1;
	if ((rc = store_begin_raw(st, 0, &txn)) != 0)
		return rc;
	for (j = 0; j < n; j++) {
		const struct store_batch *b = bv[j];

		for (i = 0; i < b->nops; i++) {
			const struct store_op *op = &b->ops[i];
			MDB_val k = { op->klen, b->buf + op->off };
			MDB_val v = { op->vlen, b->buf + op->off + op->klen };

			if (op->kind == OP_PUT) {
				rc = mdb_put(txn, st->dbi[op->table], &k, &v, 0);
			} else if (op->kind == OP_DEL) {
				rc = mdb_del(txn, st->dbi[op->table], &k, NULL);
				if (rc == MDB_NOTFOUND)
					rc = 0;
			} else {
				rc = store_del_prefix_raw(txn, st->dbi[op->table], k.mv_data,
				    k.mv_size);
			}
			if (rc != 0) {
				*failed_b = j;
				*failed_op = i;
				mdb_txn_abort(txn);
				return rc;
			}
		}
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0)
		st->commits++;
	return rc;
}

int
store_batch_commit(struct store *st, struct store_batch *b, struct sm_error *err)
{
	return store_batch_commit_many(st, &b, 1, err);
}

int
store_batch_commit_many(struct store *st, struct store_batch *const *bv, size_t n,
    struct sm_error *err)
{
	size_t fb, failed, j, nops = 0;
	int rc, code;

	if (st->opt.read_only)
		return sm_error_set(err, SM_EPERM, "store '%s': opened read-only", st->path);
	if (st->env == NULL)
		return store_closed(st, err);
	if (st->writer)
		return sm_error_set(err, SM_EBUSY,
		    "store '%s': a write transaction is already open: commit it before "
		    "committing a batch", st->path);
	for (j = 0; j < n; j++)
		nops += bv[j]->nops;
	if (nops == 0)
		return 0;
	for (;;) {
		rc = store_batch_apply(st, bv, n, &fb, &failed);
		if (rc == 0)
			break;
		if (rc == MDB_MAP_FULL) {
			if ((code = store_grow(st, err)) != 0)
				return code;
			continue;
		}
		if (failed != (size_t)-1) {
			static const char *const kinds[] = { "put", "del", "del prefix" };
			const struct store_op *op = &bv[fb]->ops[failed];
			char what[112];

			snprintf(what, sizeof(what), "batch op %zu of %zu (%s in table '%s')",
			    failed + 1, bv[fb]->nops, kinds[op->kind],
			    store_table_names[op->table]);
			return store_fail(err, st->path, rc, what);
		}
		return store_fail(err, st->path, rc, "cannot commit a batch");
	}
	for (j = 0; j < n; j++)
		store_batch_reset(bv[j]);
	return 0;
}

uint64_t
store_commit_count(const struct store *st)
{
	return st->commits;
}

size_t
store_map_size_max(const struct store *st)
{
	return st->opt.map_size_max;
}

/* ---- transactions ------------------------------------------------------- */

int
store_txn_begin(struct store *st, int mode, struct store_txn **out, struct sm_error *err)
{
	struct store_txn *t;
	int rc;

	*out = NULL;
	if (mode != STORE_TXN_READ && mode != STORE_TXN_WRITE)
		return sm_error_set(err, SM_EINVAL, "store '%s': bad transaction mode %d",
		    st->path, mode);
	if (st->env == NULL)
		return store_closed(st, err);
	if (mode == STORE_TXN_WRITE) {
		if (st->opt.read_only)
			return sm_error_set(err, SM_EPERM, "store '%s': opened read-only",
			    st->path);
		/* LMDB would deadlock on its own writer lock. */
		if (st->writer)
			return sm_error_set(err, SM_EBUSY,
			    "store '%s': a write transaction is already open", st->path);
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return sm_error_set(err, SM_ENOMEM, "store: out of memory");
	rc = store_begin_raw(st, mode == STORE_TXN_READ ? MDB_RDONLY : 0, &t->txn);
	if (rc != 0) {
		free(t);
		if (rc == MDB_MAP_RESIZED)
			return sm_error_set(err, SM_EAGAIN,
			    "store '%s': another process grew the map; end this process's "
			    "open transactions and begin again", st->path);
		return store_fail(err, st->path, rc, "cannot begin a transaction");
	}
	t->st = st;
	t->write = mode == STORE_TXN_WRITE;
	st->txns++;
	if (t->write)
		st->writer = 1;
	*out = t;
	return 0;
}

/* Close the cursors still open on `t` and detach their handles. */
static void
store_txn_detach_cursors(struct store_txn *t)
{
	struct store_cursor *c, *next;

	for (c = t->cursors; c != NULL; c = next) {
		next = c->next;
		mdb_cursor_close(c->cur);
		c->cur = NULL;
		c->txn = NULL;
		c->next = c->prev = NULL;
	}
	t->cursors = NULL;
}

static void
store_txn_release(struct store_txn *t)
{
	t->st->txns--;
	if (t->write)
		t->st->writer = 0;
	free(t);
}

/* Commit; *map_full says MDB_MAP_FULL happened (in a put or the commit). */
static int
store_txn_commit2(struct store_txn *t, int *map_full, struct sm_error *err)
{
	struct store *st = t->st;
	int rc;

	*map_full = 0;
	store_txn_detach_cursors(t);
	if (t->map_full || t->failed) {
		*map_full = t->map_full;
		mdb_txn_abort(t->txn);
		store_txn_release(t);
		if (*map_full)
			return sm_error_set(err, SM_EFULL,
			    "store '%s': the map filled up during the transaction: it was "
			    "aborted; redo it (store_write does)", st->path);
		return sm_error_set(err, SM_ESTORE,
		    "store '%s': a write failed earlier in the transaction: it was aborted",
		    st->path);
	}
	rc = mdb_txn_commit(t->txn);
	if (rc == 0 && t->write)
		st->commits++;
	store_txn_release(t);
	if (rc == MDB_MAP_FULL)
		*map_full = 1;
	if (rc != 0)
		return store_fail(err, st->path, rc, "cannot commit");
	return 0;
}

int
store_txn_commit(struct store_txn *txn, struct sm_error *err)
{
	int map_full;

	return store_txn_commit2(txn, &map_full, err);
}

void
store_txn_abort(struct store_txn *txn)
{
	if (txn == NULL)
		return;
	store_txn_detach_cursors(txn);
	mdb_txn_abort(txn->txn);
	store_txn_release(txn);
}

static int
store_table_ok(enum store_table t)
{
	return (int)t >= 0 && t < STORE_T__COUNT;
}

int
store_get(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	*val = NULL;
	*vlen = 0;
	if (!store_table_ok(t) || key == NULL || klen == 0)
		return SM_EINVAL;
	if (klen > STORE_KEY_MAX)
		return SM_ENOTFOUND;
	rc = mdb_get(txn->txn, txn->st->dbi[t], &k, &v);
	if (rc != 0)
		return store_code(rc);
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

/* Remember failures of a write so that commit does not half-commit. */
static int
store_write_rc(struct store_txn *txn, int rc)
{
	if (rc == MDB_MAP_FULL)
		txn->map_full = 1;
	else if (rc != 0 && rc != MDB_NOTFOUND)
		txn->failed = 1;
	return store_code(rc);
}

int
store_put(struct store_txn *txn, enum store_table t, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };

	if (!store_table_ok(t) || key == NULL || klen == 0 || (vlen > 0 && val == NULL))
		return SM_EINVAL;
	if (!txn->write)
		return SM_EPERM;
	if (klen > STORE_KEY_MAX)
		return SM_ETOOBIG;
	if (txn->map_full || txn->failed)
		return txn->map_full ? SM_EFULL : SM_ESTORE;
	return store_write_rc(txn, mdb_put(txn->txn, txn->st->dbi[t], &k, &v, 0));
}

int
store_del(struct store_txn *txn, enum store_table t, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };

	if (!store_table_ok(t) || key == NULL || klen == 0)
		return SM_EINVAL;
	if (!txn->write)
		return SM_EPERM;
	if (klen > STORE_KEY_MAX)
		return SM_ENOTFOUND;
	if (txn->map_full || txn->failed)
		return txn->map_full ? SM_EFULL : SM_ESTORE;
	return store_write_rc(txn, mdb_del(txn->txn, txn->st->dbi[t], &k, NULL));
}

int
store_write(struct store *st, store_write_fn *fn, void *arg, struct sm_error *err)
{
	struct store_txn *txn;
	int rc, map_full;

	for (;;) {
		if ((rc = store_txn_begin(st, STORE_TXN_WRITE, &txn, err)) != 0)
			return rc;
		rc = fn(txn, arg, err);
		if (txn->map_full) {
			store_txn_abort(txn);
			sm_error_clear(err);
			if ((rc = store_grow(st, err)) != 0)
				return rc;
			continue;
		}
		if (rc != 0) {
			store_txn_abort(txn);
			return rc;
		}
		rc = store_txn_commit2(txn, &map_full, err);
		if (rc != 0 && map_full) {
			sm_error_clear(err);
			if ((rc = store_grow(st, err)) != 0)
				return rc;
			continue;
		}
		return rc;
	}
}

int
store_count(struct store_txn *txn, enum store_table t, size_t *out)
{
	MDB_stat ms;
	int rc;

	if (!store_table_ok(t))
		return SM_EINVAL;
	rc = mdb_stat(txn->txn, txn->st->dbi[t], &ms);
	if (rc != 0)
		return store_code(rc);
	*out = ms.ms_entries;
	return 0;
}

int
store_next_seq(struct store_txn *txn, const char *name, uint64_t *out)
{
	struct store_key k;
	const void *v;
	size_t vl;
	unsigned char buf[8];
	uint64_t cur = 0;
	int rc;

	store_key_init(&k);
	store_key_add_bytes(&k, "seq:", 4);
	store_key_add_bytes(&k, name, strlen(name));
	if (k.overflow)
		return SM_ETOOBIG;
	rc = store_get(txn, STORE_T_META, k.buf, k.len, &v, &vl);
	if (rc == 0) {
		if (vl != 8)
			return SM_ECORRUPT;
		cur = store_be64_get(v);
	} else if (rc != SM_ENOTFOUND) {
		return rc;
	}
	if (cur == UINT64_MAX)
		return SM_ERANGE;
	store_be64_put(buf, cur + 1);
	if ((rc = store_put(txn, STORE_T_META, k.buf, k.len, buf, 8)) != 0)
		return rc;
	*out = cur + 1;
	return 0;
}

/* ---- cursors ------------------------------------------------------------ */

int
store_cursor_open(struct store_txn *txn, enum store_table t, struct store_cursor **out)
{
	struct store_cursor *c;
	int rc;

	*out = NULL;
	if (!store_table_ok(t))
		return SM_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SM_ENOMEM;
	rc = mdb_cursor_open(txn->txn, txn->st->dbi[t], &c->cur);
	if (rc != 0) {
		free(c);
		return store_code(rc);
	}
	c->txn = txn;
	c->next = txn->cursors;
	if (txn->cursors != NULL)
		txn->cursors->prev = c;
	txn->cursors = c;
	*out = c;
	return 0;
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c == NULL)
		return;
	if (c->txn != NULL) {
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			c->txn->cursors = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		mdb_cursor_close(c->cur);
	}
	free(c->prefix);
	free(c);
}

static int
store_cursor_get(struct store_cursor *c, MDB_val *k, MDB_cursor_op op,
    const void **kp, size_t *kl, const void **vp, size_t *vl)
{
	MDB_val v;
	int rc;

	if (c->txn == NULL)
		return SM_EINVAL;
	rc = mdb_cursor_get(c->cur, k, &v, op);
	if (rc != 0)
		return store_code(rc);
	if (kp != NULL)
		*kp = k->mv_data;
	if (kl != NULL)
		*kl = k->mv_size;
	if (vp != NULL)
		*vp = v.mv_data;
	if (vl != NULL)
		*vl = v.mv_size;
	return 0;
}

int
store_cursor_seek(struct store_cursor *c, const void *key, size_t klen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	MDB_val mk = { klen, (void *)key };

	if (key == NULL || klen == 0)
		return store_cursor_get(c, &mk, MDB_FIRST, k, kl, v, vl);
	if (klen > STORE_KEY_MAX) {
		/* LMDB refuses such a key; seek to the longest prefix that fits and
		 * skip what sorts before the requested key. */
		const void *kk = NULL;
		size_t kkl = 0;
		int rc;

		mk.mv_size = STORE_KEY_MAX;
		rc = store_cursor_get(c, &mk, MDB_SET_RANGE, &kk, &kkl, v, vl);
		while (rc == 0) {
			size_t m = kkl < klen ? kkl : klen;
			int d = memcmp(kk, key, m);

			if (d > 0 || (d == 0 && kkl >= klen))
				break;
			rc = store_cursor_get(c, &mk, MDB_NEXT, &kk, &kkl, v, vl);
		}
		if (rc == 0) {
			if (k != NULL)
				*k = kk;
			if (kl != NULL)
				*kl = kkl;
		}
		return rc;
	}
	return store_cursor_get(c, &mk, MDB_SET_RANGE, k, kl, v, vl);
}

int
store_cursor_next(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	MDB_val mk = { 0, NULL };

	return store_cursor_get(c, &mk, MDB_NEXT, k, kl, v, vl);
}

int
store_cursor_del(struct store_cursor *c)
{
	int rc;

	if (c->txn == NULL)
		return SM_EINVAL;
	if (!c->txn->write)
		return SM_EPERM;
	rc = mdb_cursor_del(c->cur, 0);
	return store_write_rc(c->txn, rc);
}

static int
store_cursor_check_prefix(struct store_cursor *c, int rc, const void **k, size_t *kl)
{
	if (rc != 0)
		return rc;
	if (!store_key_has_prefix(*k, *kl, c->prefix, c->plen))
		return SM_ENOTFOUND;
	return 0;
}

int
store_cursor_seek_prefix(struct store_cursor *c, const void *prefix, size_t plen,
    const void **k, size_t *kl, const void **v, size_t *vl)
{
	const void *kk = NULL;
	size_t kkl = 0;
	int rc;

	free(c->prefix);
	c->prefix = NULL;
	c->plen = 0;
	if (plen > 0) {
		c->prefix = malloc(plen);
		if (c->prefix == NULL)
			return SM_ENOMEM;
		memcpy(c->prefix, prefix, plen);
		c->plen = plen;
	}
	rc = store_cursor_seek(c, prefix, plen, &kk, &kkl, v, vl);
	rc = store_cursor_check_prefix(c, rc, &kk, &kkl);
	if (rc == 0) {
		if (k != NULL)
			*k = kk;
		if (kl != NULL)
			*kl = kkl;
	}
	return rc;
}

int
store_cursor_next_prefix(struct store_cursor *c, const void **k, size_t *kl,
    const void **v, size_t *vl)
{
	const void *kk = NULL;
	size_t kkl = 0;
	int rc;

	rc = store_cursor_next(c, &kk, &kkl, v, vl);
	rc = store_cursor_check_prefix(c, rc, &kk, &kkl);
	if (rc == 0) {
		if (k != NULL)
			*k = kk;
		if (kl != NULL)
			*kl = kkl;
	}
	return rc;
}

/* ---- keys --------------------------------------------------------------- */

void
store_be64_put(unsigned char out[8], uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
store_be64_get(const unsigned char in[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void
store_key_init(struct store_key *k)
{
	k->len = 0;
	k->overflow = 0;
}

int
store_key_add_bytes(struct store_key *k, const void *p, size_t n)
{
	if (n > sizeof(k->buf) - k->len) {
		k->overflow = 1;
		return SM_ETOOBIG;
	}
	if (n > 0)
		memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

int
store_key_add_str(struct store_key *k, const char *s)
{
	size_t n = strlen(s);

	if (n + 1 > sizeof(k->buf) - k->len) {
		k->overflow = 1;
		return SM_ETOOBIG;
	}
	memcpy(k->buf + k->len, s, n + 1);
	k->len += n + 1;
	return 0;
}

int
store_key_add_u64(struct store_key *k, uint64_t v)
{
	if (8 > sizeof(k->buf) - k->len) {
		k->overflow = 1;
		return SM_ETOOBIG;
	}
	store_be64_put(k->buf + k->len, v);
	k->len += 8;
	return 0;
}

int
store_key_get_str(const void *key, size_t klen, size_t *pos, const char **s, size_t *slen)
{
	const unsigned char *p = key, *z;

	if (*pos >= klen)
		return SM_ECORRUPT;
	z = memchr(p + *pos, 0, klen - *pos);
	if (z == NULL)
		return SM_ECORRUPT;
	*s = (const char *)(p + *pos);
	*slen = (size_t)(z - (p + *pos));
	*pos += *slen + 1;
	return 0;
}

int
store_key_get_u64(const void *key, size_t klen, size_t *pos, uint64_t *v)
{
	const unsigned char *p = key;

	if (*pos > klen || klen - *pos < 8)
		return SM_ECORRUPT;
	*v = store_be64_get(p + *pos);
	*pos += 8;
	return 0;
}

int
store_key_has_prefix(const void *key, size_t klen, const void *prefix, size_t plen)
{
	if (plen == 0)
		return 1;
	return klen >= plen && memcmp(key, prefix, plen) == 0;
}

/* ---- check -------------------------------------------------------------- */

struct store_check_report {
	int code;
	size_t entries;
	char msg[SM_ERROR_MSG_MAX];
};

/* The child's side of store_check(): read everything, touch every byte. */
static void
store_check_child(const char *dir, struct store_check_report *rep)
{
	struct store_options opt;
	struct store *st = NULL;
	struct store_txn *txn = NULL;
	struct store_cursor *c;
	struct sm_error err;
	const void *k = NULL, *v = NULL;
	size_t kl = 0, vl = 0, i;
	volatile unsigned char sum = 0;
	int t, rc;

	sm_error_clear(&err);
	store_options_init(&opt);
	opt.read_only = 1;
	if ((rc = store_open(&st, dir, &opt, &err)) != 0) {
		rep->code = rc;
		memcpy(rep->msg, err.msg, sizeof(rep->msg));
		return;
	}
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, &err)) != 0) {
		rep->code = rc;
		memcpy(rep->msg, err.msg, sizeof(rep->msg));
		store_close(st);
		return;
	}
	for (t = 0; t < STORE_T__COUNT; t++) {
		if ((rc = store_cursor_open(txn, (enum store_table)t, &c)) != 0)
			break;
		for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
		    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
			for (i = 0; i < kl; i++)
				sum ^= ((const unsigned char *)k)[i];
			for (i = 0; i < vl; i++)
				sum ^= ((const unsigned char *)v)[i];
			rep->entries++;
		}
		store_cursor_close(c);
		if (rc != SM_ENOTFOUND)
			break;
		rc = 0;
	}
	(void)sum;
	if (rc != 0) {
		rep->code = rc == SM_EBUG ? SM_ECORRUPT : rc;
		snprintf(rep->msg, sizeof(rep->msg),
		    "store '%s': reading table '%s' failed: %s: restore the store from a "
		    "backup or move it away to start empty", st->path, store_table_names[t],
		    sm_strerror(rc));
	}
	store_txn_abort(txn);
	store_close(st);
}

int
store_check(const char *dir, size_t *entries, struct sm_error *err)
{
	struct store_check_report rep;
	int fds[2], status = 0, e;
	ssize_t got = 0, r;
	pid_t pid;

	if (entries != NULL)
		*entries = 0;
	if (dir == NULL || dir[0] == '\0')
		return sm_error_set(err, SM_EINVAL, "store: no state directory given");
	if (pipe2(fds, O_CLOEXEC) != 0)
		return sm_error_set(err, sm_error_from_errno(errno),
		    "store '%s': cannot check: pipe: %s", dir, strerror(errno));
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(fds[0]);
		close(fds[1]);
		return sm_error_set(err, sm_error_from_errno(e),
		    "store '%s': cannot check: fork: %s", dir, strerror(e));
	}
	if (pid == 0) {
		close(fds[0]);
		memset(&rep, 0, sizeof(rep));
		store_check_child(dir, &rep);
		if (write(fds[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	memset(&rep, 0, sizeof(rep));
	while ((size_t)got < sizeof(rep)) {
		r = read(fds[0], (char *)&rep + got, sizeof(rep) - (size_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		return sm_error_set(err, SM_ECORRUPT,
		    "store '%s/%s': reading it crashed the checker (signal %d): the data "
		    "file is damaged: restore it from a backup or move it away to start "
		    "empty", dir, STORE_SUBDIR, WTERMSIG(status));
	/* No report: the child died inside LMDB in another way (a sanitizer
	 * turns SIGSEGV into exit(1)); it did nothing but read the store. */
	if ((size_t)got != sizeof(rep))
		return sm_error_set(err, SM_ECORRUPT,
		    "store '%s/%s': reading it killed the checker (exit status %d): the "
		    "data file is damaged: restore it from a backup or move it away to "
		    "start empty", dir, STORE_SUBDIR,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sm_error_set(err, SM_ECHILD,
		    "store '%s/%s': the checker process failed (status %d)", dir,
		    STORE_SUBDIR, status);
	if (entries != NULL)
		*entries = rep.entries;
	if (rep.code != 0)
		return sm_error_set(err, rep.code, "%s", rep.msg);
	return 0;
}
