/*
 * bench_store.c - durable commits per second: raw LMDB with the store's
 * environment flags against SQLite in WAL mode with synchronous=FULL, one
 * small write per transaction, measured in the same run with the rounds
 * interleaved (so both see the same disk and the same load).
 *
 *	bench_store [-n commits-per-round] [-r rounds] [-d directory] [-v bytes]
 *	            [-g records-per-group-commit]
 *
 * The directory (default: a fresh one under the current directory) must be
 * on the file system the state directory will use: on tmpfs fsync costs
 * nothing and the figures mean little (the program says so).
 *
 * Also printed, for context: the store API (store_batch_commit of a
 * one-put batch, FULL), and the "survives a process crash only" variants:
 * LMDB MDB_NOSYNC (STORE_DURABLE_PROCESS) and SQLite WAL synchronous=NORMAL.
 * The cases themselves (shared with bench_engine) are in bench_baselines.h.
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_baselines.h"
#include "bench_util.h"
#include "sm_err.h"
#include "store.h"

struct cfg {
	long ops;
	int rounds;
	size_t vlen;
	long group;
	char dir[1024];
};

static unsigned char value[4096];

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
	struct bench_lmdb lf, lp, lg;
	struct bench_storeapi sc;
	struct bench_sqlite qf, qn, qg;
	double *r_lf = NULL, *r_lp = NULL, *r_sc = NULL, *r_qf = NULL, *r_qn = NULL;
	double *r_lg = NULL, *r_qg = NULL;
	char path[1200];
	int ch, i, rc, own_dir = 0, status = 1;

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
	if (bench_on_tmpfs(cfg.dir))
		printf("WARNING: %s is on tmpfs: fsync is free there, the figures are not "
		    "durable-commit figures\n", cfg.dir);

	memset(&lf, 0, sizeof(lf));
	memset(&lp, 0, sizeof(lp));
	memset(&lg, 0, sizeof(lg));
	memset(&sc, 0, sizeof(sc));
	memset(&qf, 0, sizeof(qf));
	memset(&qn, 0, sizeof(qn));
	memset(&qg, 0, sizeof(qg));
	snprintf(path, sizeof(path), "%s/lmdb-full", cfg.dir);
	if ((rc = bench_lmdb_open(&lf, path, 0, value, cfg.vlen)) != 0)
		goto lmdb_fail;
	snprintf(path, sizeof(path), "%s/lmdb-nosync", cfg.dir);
	if ((rc = bench_lmdb_open(&lp, path, MDB_NOSYNC, value, cfg.vlen)) != 0)
		goto lmdb_fail;
	snprintf(path, sizeof(path), "%s/lmdb-group", cfg.dir);
	if ((rc = bench_lmdb_open(&lg, path, 0, value, cfg.vlen)) != 0)
		goto lmdb_fail;
	lg.group = cfg.group;
	snprintf(path, sizeof(path), "%s/storeapi", cfg.dir);
	if (bench_storeapi_open(&sc, path, STORE_T_HISTORY, value, cfg.vlen, "bench_store") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/sqlite-full.db", cfg.dir);
	if (bench_sqlite_open(&qf, path, "FULL", value, cfg.vlen, "bench_store") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/sqlite-normal.db", cfg.dir);
	if (bench_sqlite_open(&qn, path, "NORMAL", value, cfg.vlen, "bench_store") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/sqlite-group.db", cfg.dir);
	if (bench_sqlite_open(&qg, path, "FULL", value, cfg.vlen, "bench_store") != 0)
		goto out;
	qg.group = cfg.group;

	r_lf = calloc((size_t)cfg.rounds, sizeof(double));
	r_lp = calloc((size_t)cfg.rounds, sizeof(double));
	r_sc = calloc((size_t)cfg.rounds, sizeof(double));
	r_qf = calloc((size_t)cfg.rounds, sizeof(double));
	r_qn = calloc((size_t)cfg.rounds, sizeof(double));
	r_lg = calloc((size_t)cfg.rounds, sizeof(double));
	r_qg = calloc((size_t)cfg.rounds, sizeof(double));
	if (!r_lf || !r_lp || !r_sc || !r_qf || !r_qn || !r_lg || !r_qg) {
		fprintf(stderr, "bench_store: out of memory\n");
		goto out;
	}
	/* warm-up: creates files, first pages, WAL */
	if (bench_lmdb_round(&lf, 50) || bench_sqlite_round(&qf, 50) ||
	    bench_storeapi_round(&sc, 50)) {
		fprintf(stderr, "bench_store: warm-up failed\n");
		goto out;
	}
	/* interleave the rounds so that every case sees the same conditions */
	for (i = 0; i < cfg.rounds; i++) {
		if (bench_run(bench_lmdb_round, &lf, cfg.ops, 1, &r_lf[i]) != 0 ||
		    bench_run(bench_sqlite_round, &qf, cfg.ops, 1, &r_qf[i]) != 0 ||
		    bench_run(bench_storeapi_round, &sc, cfg.ops, 1, &r_sc[i]) != 0 ||
		    bench_run(bench_lmdb_round, &lp, cfg.ops, 1, &r_lp[i]) != 0 ||
		    bench_run(bench_sqlite_round, &qn, cfg.ops, 1, &r_qn[i]) != 0 ||
		    bench_run(bench_lmdb_round, &lg, cfg.ops * 4, 1, &r_lg[i]) != 0 ||
		    bench_run(bench_sqlite_round, &qg, cfg.ops * 4, 1, &r_qg[i]) != 0) {
			fprintf(stderr, "bench_store: round %d failed\n", i + 1);
			goto out;
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
	status = 0;
	goto out;

lmdb_fail:
	fprintf(stderr, "bench_store: lmdb '%s': %s\n", path, mdb_strerror(rc));
out:
	bench_sqlite_close(&qf);
	bench_sqlite_close(&qn);
	bench_sqlite_close(&qg);
	bench_storeapi_close(&sc);
	bench_lmdb_close(&lf);
	bench_lmdb_close(&lp);
	bench_lmdb_close(&lg);
	free(r_lf);
	free(r_lp);
	free(r_sc);
	free(r_qf);
	free(r_qn);
	free(r_lg);
	free(r_qg);
	if (own_dir) /* our own fresh mkdtemp directory, nothing else */
		bench_rm_tree(cfg.dir);
	return status;
}
