/*
 * bench_engine.c - what durability costs the engine, against the raw
 * durable commit of the same LMDB, measured in the same run, in one
 * directory on one file system, with the rounds interleaved:
 *
 *   LMDB raw        one 100-byte put per write transaction, raw mdb_* calls
 *                   with the store's environment flags (MDB_NOTLS, no
 *                   MDB_WRITEMAP, synced commits: what STORE_DURABLE_FULL
 *                   opens); also, for context, the same through the store API
 *                   (store_batch_commit of a one-put batch)
 *   SQLite          WAL, synchronous=FULL, one insert per transaction
 *   engine x1       ONE instance of a machine whose every macrostep is one
 *                   transition (an action that reports at once; its
 *                   done.invoke event re-enters the state and invokes it
 *                   again), store FULL: one durable commit per transition
 *   engine x64      64 such instances stepping at once: the engine's group
 *                   commit puts the 64 macrosteps of a turn in one commit
 *   resume          sm_engine_recover() of 10,000 unfinished instances (each
 *                   with an action in flight), and the first turn after it
 *                   (restarting the 10,000 actions, committing their states)
 *
 *	bench_engine [-n transitions-per-round] [-r rounds] [-d directory]
 *	             [-R instances-to-resume] [-x e1|e64|resume]
 *
 * -x runs one engine case alone (for perf/callgrind; no ratios printed).
 *
 * The last line is "engine/lmdb: R", R = engine x1 transitions per second
 * divided by raw LMDB commits per second (medians).
 *
 * The three baselines (LMDB raw, store API, SQLite) are bench_baselines.h's
 * cases with one record per transaction and a VALUE_BYTES value, the same
 * code as bench_store's.
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_baselines.h"
#include "bench_util.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "store.h"

#define VALUE_BYTES 100
#define GROUP 64
#define CHUNKS 6

static unsigned char value[VALUE_BYTES];

/* ---- the engine ------------------------------------------------------------ */

/*
 * Every macrostep is one transition: "step" reports from its start, so its
 * done.invoke.s is queued when the effects of the previous macrostep are
 * performed (after that macrostep's commit); the next engine round takes
 * the transition (re-entering 'a': n + 1, a new invocation) and commits.
 */
static const char *loop_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' name='bench' initial='a'>"
    " <datamodel><data id='n' expr='0'/></datamodel>"
    " <state id='a'>"
    "  <invoke id='s' type='urn:smd:scxml:1' src='step'><param name='n' expr='n'/></invoke>"
    "  <transition event='done.invoke.s' target='a'><assign location='n' expr='n + 1'/></transition>"
    "  <transition event='stop' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

struct engine_case {
	struct store *st;
	struct sm_loop *loop;
	struct sm_engine *e;
	struct sm_machine *m;
	uint64_t transitions;
	int hang;               /* "step" never reports (resume bench) */
	long ninst;
};

static int
step_start(struct sm_action_call *call)
{
	struct engine_case *c = sm_action_call_arg(call);
	json_t *r;

	if (c->hang)
		return 0;
	r = json_pack("{s:i}", "attempt", sm_action_call_attempt(call));
	sm_action_done(call, r);
	json_decref(r);
	return 0;
}

static void
step_cancel(struct sm_action_call *call)
{
	(void)call;
}

static void
on_trace(struct sm_engine *e, const char *id, const char *event, const char *from,
    const char *targets, void *arg)
{
	struct engine_case *c = arg;

	(void)e;
	(void)id;
	(void)event;
	(void)from;
	(void)targets;
	c->transitions++;
}

static struct sm_machine *
load_machine(void)
{
	struct sm_machine *m = NULL;
	struct sm_diags d = { 0 };

	if (sm_machine_load_memory(loop_machine, strlen(loop_machine), "bench.scxml", NULL, NULL,
	    &m, &d) != 0) {
		sm_diags_print(&d, stderr);
		return NULL;
	}
	sm_diags_free(&d);
	return m;
}

static int
engine_open(struct engine_case *c, const char *dir, enum store_durability dur,
    struct sm_machine *m)
{
	struct store_options o;
	struct sm_error err;
	struct sm_action_def def = { "step", step_start, step_cancel, NULL };

	store_options_init(&o);
	o.durability = dur;
	if (store_open(&c->st, dir, &o, &err) != 0) {
		fprintf(stderr, "bench_engine: %s\n", err.msg);
		return 1;
	}
	if (sm_loop_create(&c->loop) != 0 || sm_engine_create(&c->e, c->loop, c->st, &err) != 0) {
		fprintf(stderr, "bench_engine: cannot create the engine\n");
		return 1;
	}
	def.arg = c;
	sm_engine_register_action(c->e, &def);
	sm_engine_add_machine(c->e, m);
	sm_engine_on_trace(c->e, on_trace, c);
	c->m = m;
	return 0;
}

static void
engine_close(struct engine_case *c)
{
	sm_engine_destroy(c->e);
	sm_loop_destroy(c->loop);
	store_close(c->st);
	c->e = NULL;
	c->loop = NULL;
	c->st = NULL;
}

static int
engine_start(struct engine_case *c, long n, const char *prefix)
{
	struct sm_error err;
	long i;

	for (i = 0; i < n; i++) {
		char id[64];

		snprintf(id, sizeof(id), "%s-%06ld", prefix, i);
		if (sm_engine_start(c->e, c->m, id, NULL, &err) != 0) {
			fprintf(stderr, "bench_engine: start %s: %s\n", id, err.msg);
			return 1;
		}
	}
	c->ninst = n;
	return 0;
}

/*
 * Run loop turns until at least `ops` more transitions were taken; one turn
 * may take many (the engine runs up to MAX_ROUNDS rounds, one commit each,
 * per turn), so the rate is computed from the transitions actually taken.
 * Every transition traced in a turn is committed by the end of that turn.
 */
static int
engine_run_timed(struct engine_case *c, long ops, double *count, double *secs)
{
	uint64_t start = c->transitions;
	double t0 = bench_now();

	while (c->transitions - start < (uint64_t)ops) {
		if (sm_loop_run_once(c->loop, 10) < 0)
			return 1;
	}
	*secs = bench_now() - t0;
	*count = (double)(c->transitions - start);
	return 0;
}

static int
engine_run(struct engine_case *c, long ops, double *rate)
{
	double n, dt;

	if (engine_run_timed(c, ops, &n, &dt) != 0)
		return 1;
	if (rate)
		*rate = dt > 0 ? n / dt : 0;
	return 0;
}

/* ---- commits per loop turn ------------------------------------------------------ */

/* A chain of 100 internal self-sends (each one macrostep), then the end. */
static const char *chain_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " name='chain' initial='a'>"
    " <datamodel><data id='n' expr='0'/></datamodel>"
    " <state id='a'>"
    "  <onentry><send event='c'/></onentry>"
    "  <transition event='c' cond='n &lt; 99'><assign location='n' expr='n + 1'/>"
    "   <send event='c'/></transition>"
    "  <transition event='c' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

/*
 * Count loop turns and store commits (store_commit_count) while (1) the
 * chain of 100 self-sends runs to its end and (2) the engine x1 case takes
 * `ops` transitions (an action that completes inside its start: each
 * transition needs the previous commit, so one turn and one commit each).
 */
static int
commits_per_turn(const char *dir, struct sm_machine *m, long ops)
{
	char path[1200];
	struct engine_case c;
	struct sm_machine *cm = NULL;
	struct sm_diags d = { 0 };
	struct sm_error err;
	struct sm_instance_status stt;
	uint64_t c0, turns = 0;
	double t0;

	if (sm_machine_load_memory(chain_machine, strlen(chain_machine), "chain.scxml", NULL,
	    NULL, &cm, &d) != 0) {
		sm_diags_print(&d, stderr);
		return 1;
	}
	sm_diags_free(&d);
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/chain", dir);
	if (engine_open(&c, path, STORE_DURABLE_FULL, cm) != 0)
		return 1;
	c0 = store_commit_count(c.st);
	t0 = bench_now();
	if (sm_engine_start(c.e, cm, "chain", NULL, &err) != 0)
		return 1;
	do {
		sm_loop_run_once(c.loop, 0);
		turns++;
	} while (sm_engine_instance_status(c.e, "chain", &stt) == 0 &&
	    stt.state == SM_INSTANCE_RUNNING && turns < 10000);
	printf("%-44s %6llu commits in %llu loop turn(s), %.1f ms, %llu transitions\n",
	    "chain of 100 internal self-sends", (unsigned long long)(store_commit_count(c.st) - c0),
	    (unsigned long long)turns, (bench_now() - t0) * 1000,
	    (unsigned long long)c.transitions);
	engine_close(&c);
	sm_machine_free(cm);

	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/sync", dir);
	if (engine_open(&c, path, STORE_DURABLE_FULL, m) != 0 || engine_start(&c, 1, "sync") != 0)
		return 1;
	sm_loop_run_once(c.loop, 0); /* the start */
	c0 = store_commit_count(c.st);
	c.transitions = 0;
	for (turns = 0; c.transitions < (uint64_t)ops; turns++)
		sm_loop_run_once(c.loop, 10);
	printf("%-44s %6llu commits in %llu loop turns, %llu transitions\n",
	    "action done inside its start", (unsigned long long)(store_commit_count(c.st) - c0),
	    (unsigned long long)turns, (unsigned long long)c.transitions);
	engine_close(&c);
	return 0;
}

/* ---- resume ------------------------------------------------------------------- */

static int
resume_prepare(const char *dir, struct sm_machine *m, long n)
{
	struct engine_case c;
	struct sm_error err;

	memset(&c, 0, sizeof(c));
	c.hang = 1;
	/* created fast (PROCESS); store_close syncs it */
	if (engine_open(&c, dir, STORE_DURABLE_PROCESS, m) != 0 || engine_start(&c, n, "r") != 0)
		goto fail;
	if (sm_engine_flush(c.e, &err) != 0) {
		fprintf(stderr, "bench_engine: %s\n", err.msg);
		goto fail;
	}
	if (sm_engine_running_count(c.e) != (size_t)n) {
		fprintf(stderr, "bench_engine: %zu of %ld instances running\n",
		    sm_engine_running_count(c.e), n);
		goto fail;
	}
	engine_close(&c);
	return 0;
fail:
	engine_close(&c);
	return 1;
}

static int
resume_round(const char *dir, struct sm_machine *m, long n, double *t_recover,
    double *t_turn)
{
	struct engine_case c;
	struct sm_error err;
	double t0, t1, t2;

	memset(&c, 0, sizeof(c));
	c.hang = 1;
	if (engine_open(&c, dir, STORE_DURABLE_FULL, m) != 0)
		goto fail;
	t0 = bench_now();
	if (sm_engine_recover(c.e, &err) != 0) {
		fprintf(stderr, "bench_engine: recover: %s\n", err.msg);
		goto fail;
	}
	t1 = bench_now();
	if (sm_engine_flush(c.e, &err) != 0) {
		fprintf(stderr, "bench_engine: %s\n", err.msg);
		goto fail;
	}
	t2 = bench_now();
	if (sm_engine_running_count(c.e) != (size_t)n) {
		fprintf(stderr, "bench_engine: resumed %zu of %ld instances\n",
		    sm_engine_running_count(c.e), n);
		goto fail;
	}
	*t_recover = t1 - t0;
	*t_turn = t2 - t1;
	engine_close(&c);
	return 0;
fail:
	engine_close(&c);
	return 1;
}

/* ---- main --------------------------------------------------------------------- */

static void usage(void);

/* One engine case alone, for profiling. */
static int
run_only(const char *what, const char *dir, struct sm_machine *m, long ops,
    int rounds, long nresume)
{
	char path[1200];
	struct engine_case c;
	double rate, t_rec, t_turn;
	int i, n = strcmp(what, "e64") == 0 ? GROUP : 1;

	memset(&c, 0, sizeof(c));
	if (strcmp(what, "resume") == 0) {
		snprintf(path, sizeof(path), "%s/resume", dir);
		if (resume_prepare(path, m, nresume) != 0)
			return 1;
		for (i = 0; i < rounds; i++) {
			if (resume_round(path, m, nresume, &t_rec, &t_turn) != 0)
				return 1;
			printf("resume %ld: recover %.3f s, first turn %.3f s\n", nresume, t_rec,
			    t_turn);
		}
		return 0;
	}
	if (strcmp(what, "e1") != 0 && strcmp(what, "e64") != 0)
		usage();
	snprintf(path, sizeof(path), "%s/%s", dir, what);
	if (engine_open(&c, path, STORE_DURABLE_FULL, m) != 0 || engine_start(&c, n, what) != 0)
		return 1;
	for (i = 0; i < rounds; i++) {
		if (engine_run(&c, ops * n, &rate) != 0)
			return 1;
		printf("engine x%d: %.0f transitions/s\n", n, rate);
	}
	engine_close(&c);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_engine [-n transitions-per-round] [-r rounds] "
	    "[-d directory] [-R instances-to-resume] [-x e1|e64|resume]\n");
	exit(2);
}

static void
report(const char *name, const double *rates, int n, const char *unit)
{
	double lo, hi;

	bench_minmax(rates, (size_t)n, &lo, &hi);
	printf("%-44s %10.0f %s/s  (min %.0f, max %.0f)\n", name, bench_median(rates, (size_t)n),
	    unit, lo, hi);
}

int
main(int argc, char **argv)
{
	long ops = 300, nresume = 10000;
	int rounds = 5, ch, i, own_dir = 0;
	const char *only = NULL;
	char dir[1024] = "", path[1200];
	struct bench_lmdb lc;
	struct bench_storeapi sc;
	struct bench_sqlite qc;
	struct engine_case e1, e64;
	struct sm_machine *m;
	double *r_l = NULL, *r_s = NULL, *r_q = NULL, *r_e1 = NULL, *r_e64 = NULL;
	double *t_rec = NULL, *t_turn = NULL;
	double med_l, med_e1, med_e64;
	int rc, status = 1;

	while ((ch = getopt(argc, argv, "n:r:d:R:x:")) != -1) {
		switch (ch) {
		case 'n':
			ops = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'R':
			nresume = strtol(optarg, NULL, 10);
			break;
		case 'x':
			only = optarg;
			break;
		default:
			usage();
		}
	}
	if (ops <= 0 || rounds <= 0 || nresume <= 0)
		usage();
	sm_log_init(stderr, SM_LOG_WARN, "bench_engine");
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "./bench-engine-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("bench_engine: mkdtemp");
			return 1;
		}
		own_dir = 1;
	} else if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		perror("bench_engine: mkdir");
		return 1;
	}
	for (i = 0; i < (int)sizeof(value); i++)
		value[i] = (unsigned char)(i * 37);
	m = load_machine();
	if (!m)
		return 1;

	printf("bench_engine: %ld transitions/commits per round, %d rounds, in %s\n", ops, rounds,
	    dir);
	printf("%s, SQLite %s, %ld cpus\n", MDB_VERSION_STRING, sqlite3_libversion(),
	    sysconf(_SC_NPROCESSORS_ONLN));
	if (bench_on_tmpfs(dir))
		printf("WARNING: %s is on tmpfs: fsync is free there, the figures are not "
		    "durable-commit figures\n", dir);

	if (only) {
		rc = run_only(only, dir, m, ops, rounds, nresume);
		sm_machine_free(m);
		if (own_dir)
			bench_rm_tree(dir);
		return rc;
	}
	memset(&lc, 0, sizeof(lc));
	memset(&sc, 0, sizeof(sc));
	memset(&qc, 0, sizeof(qc));
	memset(&e1, 0, sizeof(e1));
	memset(&e64, 0, sizeof(e64));
	snprintf(path, sizeof(path), "%s/lmdb", dir);
	if ((rc = bench_lmdb_open(&lc, path, 0, value, sizeof(value))) != 0) {
		fprintf(stderr, "bench_engine: lmdb '%s': %s\n", path, mdb_strerror(rc));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/storeapi", dir);
	if (bench_storeapi_open(&sc, path, STORE_T_META, value, sizeof(value), "bench_engine") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/sqlite.db", dir);
	if (bench_sqlite_open(&qc, path, "FULL", value, sizeof(value), "bench_engine") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/engine1", dir);
	if (engine_open(&e1, path, STORE_DURABLE_FULL, m) != 0 || engine_start(&e1, 1, "one") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/engine64", dir);
	if (engine_open(&e64, path, STORE_DURABLE_FULL, m) != 0 ||
	    engine_start(&e64, GROUP, "grp") != 0)
		goto out;

	r_l = calloc((size_t)rounds, sizeof(double));
	r_s = calloc((size_t)rounds, sizeof(double));
	r_q = calloc((size_t)rounds, sizeof(double));
	r_e1 = calloc((size_t)rounds, sizeof(double));
	r_e64 = calloc((size_t)rounds, sizeof(double));
	t_rec = calloc((size_t)rounds, sizeof(double));
	t_turn = calloc((size_t)rounds, sizeof(double));
	if (!r_l || !r_s || !r_q || !r_e1 || !r_e64 || !t_rec || !t_turn) {
		fprintf(stderr, "bench_engine: out of memory\n");
		goto out;
	}
	/* warm-up: files, first pages, WAL; the engines' first macrosteps */
	if (bench_lmdb_round(&lc, 30) || bench_storeapi_round(&sc, 30) ||
	    bench_sqlite_round(&qc, 30) || engine_run(&e1, 30, NULL) ||
	    engine_run(&e64, 30 * GROUP, NULL)) {
		fprintf(stderr, "bench_engine: warm-up failed\n");
		goto out;
	}
	/*
	 * Interleave finely: the fsync cost of a virtual disk drifts within
	 * seconds, so each round is CHUNKS slices of every case in turn, and a
	 * case's rate for the round is its operations over its own time.
	 */
	for (i = 0; i < rounds; i++) {
		double n[5] = { 0 }, t[5] = { 0 }, cnt, dt, t0;
		long chunk = ops / CHUNKS > 0 ? ops / CHUNKS : 1;
		int k;

		for (k = 0; k < CHUNKS; k++) {
			t0 = bench_now();
			if (bench_lmdb_round(&lc, chunk) != 0)
				goto round_fail;
			t[0] += bench_now() - t0;
			n[0] += (double)chunk;
			t0 = bench_now();
			if (bench_sqlite_round(&qc, chunk) != 0)
				goto round_fail;
			t[1] += bench_now() - t0;
			n[1] += (double)chunk;
			if (engine_run_timed(&e1, chunk, &cnt, &dt) != 0)
				goto round_fail;
			t[2] += dt;
			n[2] += cnt;
			if (engine_run_timed(&e64, chunk * GROUP, &cnt, &dt) != 0)
				goto round_fail;
			t[3] += dt;
			n[3] += cnt;
			t0 = bench_now();
			if (bench_storeapi_round(&sc, chunk) != 0)
				goto round_fail;
			t[4] += bench_now() - t0;
			n[4] += (double)chunk;
		}
		r_l[i] = n[0] / t[0];
		r_q[i] = n[1] / t[1];
		r_e1[i] = n[2] / t[2];
		r_e64[i] = n[3] / t[3];
		r_s[i] = n[4] / t[4];
		fprintf(stderr, "round %d/%d: lmdb %.0f/s, sqlite %.0f/s, engine x1 %.0f/s, "
		    "engine x%d %.0f/s, store %.0f/s\n", i + 1, rounds, r_l[i], r_q[i], r_e1[i], GROUP,
		    r_e64[i], r_s[i]);
		continue;
round_fail:
		fprintf(stderr, "bench_engine: round %d failed\n", i + 1);
		goto out;
	}
	engine_close(&e1);
	engine_close(&e64);

	/* resume */
	snprintf(path, sizeof(path), "%s/resume", dir);
	fprintf(stderr, "creating %ld unfinished instances...\n", nresume);
	if (resume_prepare(path, m, nresume) != 0)
		goto out;
	for (i = 0; i < rounds; i++) {
		if (resume_round(path, m, nresume, &t_rec[i], &t_turn[i]) != 0)
			goto out;
		fprintf(stderr, "resume %d/%d: recover %.3f s, first turn %.3f s\n", i + 1, rounds,
		    t_rec[i], t_turn[i]);
	}

	printf("-- commits per loop turn (FULL) --\n");
	if (commits_per_turn(dir, m, 1000) != 0)
		goto out;

	med_l = bench_median(r_l, (size_t)rounds);
	med_e1 = bench_median(r_e1, (size_t)rounds);
	med_e64 = bench_median(r_e64, (size_t)rounds);
	printf("\nmedian of %d rounds:\n", rounds);
	printf("-- durable commits, one small write per transaction --\n");
	report("LMDB raw, store flags (FULL)", r_l, rounds, "commits");
	report("SQLite WAL, synchronous=FULL", r_q, rounds, "commits");
	report("store_batch_commit, 1 put (FULL)", r_s, rounds, "commits");
	printf("-- engine, every macrostep committed (FULL) --\n");
	report("engine, 1 instance", r_e1, rounds, "transitions");
	{
		char name[64];

		snprintf(name, sizeof(name), "engine, %d instances (group commit)", GROUP);
		report(name, r_e64, rounds, "transitions");
	}
	printf("-- resume %ld unfinished instances (each with an action in flight) --\n", nresume);
	{
		double lo, hi;

		bench_minmax(t_rec, (size_t)rounds, &lo, &hi);
		printf("%-44s %10.3f s  (min %.3f, max %.3f)\n", "sm_engine_recover",
		    bench_median(t_rec, (size_t)rounds), lo, hi);
		bench_minmax(t_turn, (size_t)rounds, &lo, &hi);
		printf("%-44s %10.3f s  (min %.3f, max %.3f)\n",
		    "first turn after it (restart actions, commit)",
		    bench_median(t_turn, (size_t)rounds), lo, hi);
	}
	printf("\nratio SQLite WAL FULL / LMDB raw: %.2f\n",
	    bench_median(r_q, (size_t)rounds) / med_l);
	printf("ratio engine x%d / LMDB raw (aim >= 10): %.2f\n", GROUP, med_e64 / med_l);
	printf("resume of %ld in < 1 s (aim): %s\n", nresume,
	    bench_median(t_rec, (size_t)rounds) < 1.0 ? "yes" : "NO");
	{
		double pr[64];
		int k, np = rounds < 64 ? rounds : 64;

		for (k = 0; k < np; k++)
			pr[k] = r_e1[k] / r_l[k];
		printf("ratio engine x1 / LMDB raw, median of per-round ratios: %.2f\n",
		    bench_median(pr, (size_t)np));
		for (k = 0; k < np; k++)
			pr[k] = r_e64[k] / r_l[k];
		printf("ratio engine x%d / LMDB raw, median of per-round ratios: %.2f\n", GROUP,
		    bench_median(pr, (size_t)np));
	}
	printf("engine/lmdb: %.2f\n", med_e1 / med_l);
	status = 0;

out:
	engine_close(&e1);
	engine_close(&e64);
	bench_sqlite_close(&qc);
	bench_storeapi_close(&sc);
	bench_lmdb_close(&lc);
	sm_machine_free(m);
	free(r_l);
	free(r_s);
	free(r_q);
	free(r_e1);
	free(r_e64);
	free(t_rec);
	free(t_turn);
	if (own_dir) /* our own fresh mkdtemp directory, nothing else */
		bench_rm_tree(dir);
	return status;
}
