/*
 * bench_store.c - durable commits per second: raw LMDB with the store's
 * environment flags against SQLite in WAL mode with synchronous=FULL, one
 * small write per transaction, measured in the same run with the rounds
 * interleaved (so both see the same disk and the same load).
 *
 *	bench_store [-n commits-per-round] [-r rounds] [-d directory] [-v bytes]
 *
 * The directory (default: a fresh one under the current directory) must be
 * on the file system the state directory will use: on tmpfs fsync costs
 * nothing and the figures mean little (the program says so).
 *
 * Also printed, for context: the store API (store_batch_commit of a
 * one-put batch, FULL), and the "survives a process crash only" variants:
 * LMDB MDB_NOSYNC (STORE_DURABLE_PROCESS) and SQLite WAL synchronous=NORMAL.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_util.h"
#include "sm_err.h"
#include "store.h"

#define TMPFS_MAGIC_ 0x01021994

struct cfg {
	long ops;
	int rounds;
	size_t vlen;
	long group;
	char dir[1024];
};

static unsigned char value[4096];

/* ---- raw LMDB ----------------------------------------------------------- */

struct lmdb_case {
	MDB_env *env;
	MDB_dbi dbi;
	uint64_t next;
	size_t vlen;
	long group;             /* puts per transaction */
};

static int
lmdb_open(struct lmdb_case *c, const char *path, unsigned extra, size_t vlen)
{
	MDB_txn *txn;
	int rc;

	memset(c, 0, sizeof(*c));
	c->vlen = vlen;
	c->group = 1;
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return errno;
	if ((rc = mdb_env_create(&c->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(c->env, (size_t)1 << 30)) != 0 ||
	    (rc = mdb_env_set_maxdbs(c->env, 4)) != 0 ||
	    /* the store's flags: MDB_NOTLS, no WRITEMAP; FULL adds nothing */
	    (rc = mdb_env_open(c->env, path, MDB_NOTLS | extra, 0600)) != 0 ||
	    (rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, "bench", MDB_CREATE, &c->dbi)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static int
lmdb_round(void *arg, long ops)
{
	struct lmdb_case *c = arg;
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v = { c->vlen, value };
	MDB_txn *txn;
	long i, g;
	int rc;

	/* ops records, c->group of them per transaction */
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

/* ---- the store API ------------------------------------------------------ */

struct store_case {
	struct store *st;
	struct store_batch *b;
	uint64_t next;
	size_t vlen;
};

static int
store_round(void *arg, long ops)
{
	struct store_case *c = arg;
	unsigned char kb[8];
	struct sm_error err;
	long i;
	int rc;

	for (i = 0; i < ops; i++) {
		store_be64_put(kb, c->next++);
		store_batch_put(c->b, STORE_T_HISTORY, kb, 8, value, c->vlen);
		if ((rc = store_batch_commit(c->st, c->b, &err)) != 0) {
			fprintf(stderr, "bench_store: %s\n", err.msg);
			return 1;
		}
	}
	return 0;
}

/* ---- SQLite ------------------------------------------------------------- */

struct sqlite_case {
	sqlite3 *db;
	sqlite3_stmt *begin, *ins, *commit;
	uint64_t next;
	size_t vlen;
	long group;             /* inserts per transaction */
};

static int
sqlite_open(struct sqlite_case *c, const char *path, const char *sync, size_t vlen)
{
	char sql[128];
	char *msg = NULL;

	memset(c, 0, sizeof(*c));
	c->vlen = vlen;
	c->group = 1;
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
	fprintf(stderr, "bench_store: sqlite '%s': %s\n", path,
	    msg ? msg : sqlite3_errmsg(c->db));
	sqlite3_free(msg);
	return 1;
}

static int
sqlite_step(sqlite3 *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "bench_store: sqlite: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

static int
sqlite_round(void *arg, long ops)
{
	struct sqlite_case *c = arg;
	long i, g;

	for (i = 0; i < ops; i += c->group) {
		if (sqlite_step(c->db, c->begin) != 0)
			return 1;
		for (g = 0; g < c->group && i + g < ops; g++) {
			sqlite3_bind_int64(c->ins, 1, (sqlite3_int64)c->next++);
			sqlite3_bind_blob(c->ins, 2, value, (int)c->vlen, SQLITE_STATIC);
			if (sqlite_step(c->db, c->ins) != 0)
				return 1;
		}
		if (sqlite_step(c->db, c->commit) != 0)
			return 1;
	}
	return 0;
}

static void
sqlite_close(struct sqlite_case *c)
{
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->ins);
	sqlite3_finalize(c->commit);
	sqlite3_close(c->db);
}

/* ---- main --------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_store [-n commits-per-round] [-r rounds] "
	    "[-d directory] [-v value-bytes] [-g records-per-group-commit]\n");
	exit(2);
}

static void
report(const char *name, const double *rates, int n, const char *unit)
{
	double lo, hi;

	bench_minmax(rates, (size_t)n, &lo, &hi);
	printf("%-40s %10.0f %s/s  (min %.0f, max %.0f)\n", name,
	    bench_median(rates, (size_t)n), unit, lo, hi);
}

int
main(int argc, char **argv)
{
	struct cfg cfg = { 2000, 7, 100, 32, "" };
	struct lmdb_case lf, lp, lg;
	struct store_case sc;
	struct sqlite_case qf, qn, qg;
	struct store_options opt;
	struct sm_error err;
	struct statfs sfs;
	double *r_lf, *r_lp, *r_sc, *r_qf, *r_qn, *r_lg, *r_qg;
	char path[1200];
	int ch, i, rc, own_dir = 0;

	while ((ch = getopt(argc, argv, "n:r:d:v:g:")) != -1) {
		switch (ch) {
		case 'n':
			cfg.ops = strtol(optarg, NULL, 10);
			break;
		case 'r':
			cfg.rounds = atoi(optarg);
			break;
		case 'd':
			snprintf(cfg.dir, sizeof(cfg.dir), "%s", optarg);
			break;
		case 'v':
			cfg.vlen = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			cfg.group = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (cfg.ops <= 0 || cfg.rounds <= 0 || cfg.vlen == 0 || cfg.vlen > sizeof(value) ||
	    cfg.group <= 0)
		usage();
	if (cfg.dir[0] == '\0') {
		snprintf(cfg.dir, sizeof(cfg.dir), "./bench-store-XXXXXX");
		if (mkdtemp(cfg.dir) == NULL) {
			perror("bench_store: mkdtemp");
			return 1;
		}
		own_dir = 1;
	} else if (mkdir(cfg.dir, 0700) != 0 && errno != EEXIST) {
		perror("bench_store: mkdir");
		return 1;
	}
	for (i = 0; i < (int)sizeof(value); i++)
		value[i] = (unsigned char)(i * 37);

	printf("bench_store: %ld commits per round, %d rounds, %zu-byte values, in %s\n",
	    cfg.ops, cfg.rounds, cfg.vlen, cfg.dir);
	printf("%s, SQLite %s\n", MDB_VERSION_STRING, sqlite3_libversion());
	if (statfs(cfg.dir, &sfs) == 0 && (unsigned long)sfs.f_type == TMPFS_MAGIC_)
		printf("WARNING: %s is on tmpfs: fsync is free there, the figures are not "
		    "durable-commit figures\n", cfg.dir);

	snprintf(path, sizeof(path), "%s/lmdb-full", cfg.dir);
	if ((rc = lmdb_open(&lf, path, 0, cfg.vlen)) != 0)
		goto lmdb_fail;
	snprintf(path, sizeof(path), "%s/lmdb-nosync", cfg.dir);
	if ((rc = lmdb_open(&lp, path, MDB_NOSYNC, cfg.vlen)) != 0)
		goto lmdb_fail;
	snprintf(path, sizeof(path), "%s/lmdb-group", cfg.dir);
	if ((rc = lmdb_open(&lg, path, 0, cfg.vlen)) != 0)
		goto lmdb_fail;
	lg.group = cfg.group;
	store_options_init(&opt);
	memset(&sc, 0, sizeof(sc));
	sc.vlen = cfg.vlen;
	snprintf(path, sizeof(path), "%s/storeapi", cfg.dir);
	if (store_open(&sc.st, path, &opt, &err) != 0) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		return 1;
	}
	store_batch_create(&sc.b);
	snprintf(path, sizeof(path), "%s/sqlite-full.db", cfg.dir);
	if (sqlite_open(&qf, path, "FULL", cfg.vlen) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/sqlite-normal.db", cfg.dir);
	if (sqlite_open(&qn, path, "NORMAL", cfg.vlen) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/sqlite-group.db", cfg.dir);
	if (sqlite_open(&qg, path, "FULL", cfg.vlen) != 0)
		return 1;
	qg.group = cfg.group;

	r_lf = calloc((size_t)cfg.rounds, sizeof(double));
	r_lp = calloc((size_t)cfg.rounds, sizeof(double));
	r_sc = calloc((size_t)cfg.rounds, sizeof(double));
	r_qf = calloc((size_t)cfg.rounds, sizeof(double));
	r_qn = calloc((size_t)cfg.rounds, sizeof(double));
	r_lg = calloc((size_t)cfg.rounds, sizeof(double));
	r_qg = calloc((size_t)cfg.rounds, sizeof(double));
	/* warm-up: creates files, first pages, WAL */
	if (lmdb_round(&lf, 50) || sqlite_round(&qf, 50) || store_round(&sc, 50)) {
		fprintf(stderr, "bench_store: warm-up failed\n");
		return 1;
	}
	/* interleave the rounds so that every case sees the same conditions */
	for (i = 0; i < cfg.rounds; i++) {
		if (bench_run(lmdb_round, &lf, cfg.ops, 1, &r_lf[i]) != 0 ||
		    bench_run(sqlite_round, &qf, cfg.ops, 1, &r_qf[i]) != 0 ||
		    bench_run(store_round, &sc, cfg.ops, 1, &r_sc[i]) != 0 ||
		    bench_run(lmdb_round, &lp, cfg.ops, 1, &r_lp[i]) != 0 ||
		    bench_run(sqlite_round, &qn, cfg.ops, 1, &r_qn[i]) != 0 ||
		    bench_run(lmdb_round, &lg, cfg.ops * 4, 1, &r_lg[i]) != 0 ||
		    bench_run(sqlite_round, &qg, cfg.ops * 4, 1, &r_qg[i]) != 0) {
			fprintf(stderr, "bench_store: round %d failed\n", i + 1);
			return 1;
		}
		fprintf(stderr, "round %d/%d: lmdb %.0f/s, sqlite %.0f/s\n", i + 1, cfg.rounds,
		    r_lf[i], r_qf[i]);
	}

	printf("\nmedian of %d rounds, one small write per transaction:\n", cfg.rounds);
	printf("-- durable (fsync at every commit) --\n");
	report("LMDB raw, store flags (FULL)", r_lf, cfg.rounds, "commits");
	report("SQLite WAL, synchronous=FULL", r_qf, cfg.rounds, "commits");
	report("store_batch_commit, 1 put (FULL)", r_sc, cfg.rounds, "commits");
	printf("-- survives a process crash, not a machine crash --\n");
	report("LMDB raw, MDB_NOSYNC (PROCESS)", r_lp, cfg.rounds, "commits");
	report("SQLite WAL, synchronous=NORMAL", r_qn, cfg.rounds, "commits");
	printf("-- group commit, %ld records per durable transaction (records/s) --\n",
	    cfg.group);
	report("LMDB raw, store flags (FULL)", r_lg, cfg.rounds, "records");
	report("SQLite WAL, synchronous=FULL", r_qg, cfg.rounds, "records");
	printf("\nratio LMDB FULL / SQLite WAL FULL: %.2f\n",
	    bench_median(r_lf, (size_t)cfg.rounds) / bench_median(r_qf, (size_t)cfg.rounds));
	printf("ratio store API / LMDB raw (FULL): %.2f\n",
	    bench_median(r_sc, (size_t)cfg.rounds) / bench_median(r_lf, (size_t)cfg.rounds));
	printf("ratio LMDB NOSYNC / SQLite WAL NORMAL: %.2f\n",
	    bench_median(r_lp, (size_t)cfg.rounds) / bench_median(r_qn, (size_t)cfg.rounds));
	printf("ratio group commit LMDB / SQLite (FULL, records/s): %.2f\n",
	    bench_median(r_lg, (size_t)cfg.rounds) / bench_median(r_qg, (size_t)cfg.rounds));

	sqlite_close(&qf);
	sqlite_close(&qn);
	sqlite_close(&qg);
	mdb_env_close(lg.env);
	free(r_lg);
	free(r_qg);
	store_batch_destroy(sc.b);
	store_close(sc.st);
	mdb_env_close(lf.env);
	mdb_env_close(lp.env);
	free(r_lf);
	free(r_lp);
	free(r_sc);
	free(r_qf);
	free(r_qn);
	if (own_dir) /* our own fresh mkdtemp directory, nothing else */
		nftw(cfg.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;

lmdb_fail:
	fprintf(stderr, "bench_store: lmdb '%s': %s\n", path, mdb_strerror(rc));
	return 1;
}
