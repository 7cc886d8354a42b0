/*
 * test_crash.c - the engine's crash-recovery proof.
 *
 * The test program is its own child (fork, libuv spawn_helper style): a
 * child opens a store, registers two test actions, loads crash.scxml,
 * recovers what the store holds, starts the instances that do not exist yet
 * and runs the loop until every instance reached a final state.  The parent
 *
 *  1. runs one child without interruption: the reference outcomes;
 *  2. runs children on a fresh store with durability FULL and kills each
 *     with SIGKILL after a random delay (from 0 ms, i.e. during startup, to
 *     a few hundred ms), restarts, kills again ... then lets the last one
 *     finish; the same with durability PROCESS;
 *  3. compares, per instance, the final state, the deterministic datamodel
 *     values and the multiset of events consumed with the reference, and
 *     checks that nothing is lost or duplicated (every id once, history
 *     sequence contiguous, inbox and timers empty), that an action killed
 *     mid-flight restarts with the next attempt number (never from 1), and
 *     that a delayed <send> whose timer was pending at a kill fires in a later
 *     process;
 *  4. map growth: a store opened with a 128 KiB map runs instances that
 *     need many MiB through the engine.
 *
 * Before all that, two deterministic kill points (an action that SIGKILLs
 * its own process when started, i.e. right after the commit of the
 * macrostep that invoked it): a zero-delay <send> to the instance itself in
 * that macrostep, and one to a child SCXML session (persisted with its
 * parent: the event waits in the child's stored inbox).
 *
 * Environment: SM_CRASH_SEED=n replays a kill schedule; SM_CRASH_KILLS=n
 * sets the number of kills of the FULL run (default 40).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "store.h"
#include "tap.h"

#define N_INST 50
#define ROUNDS 8 /* rounds of crash.scxml (task.rounds) */
#define CHILD_DEADLINE_MS 20000

/* What a child is doing, in memory shared with the parent (MAP_SHARED
 * before fork), so that every kill can be classified. */
enum phase {
	PH_FORKED = 0,   /* forked, nothing opened yet */
	PH_OPEN,         /* opening the store, loading the machine */
	PH_RECOVER,      /* sm_engine_recover */
	PH_START,        /* starting the instances that do not exist yet */
	PH_RUN0,         /* running the loop, no transition taken yet */
	PH_RUN,          /* running the loop */
	PH_CLOSE,        /* every instance done: closing */
	PH__COUNT
};

static const char *const phase_names[PH__COUNT] = {
	"just forked", "opening store/loading machine", "recovering", "starting instances",
	"running, before the first transition", "running", "closing"
};

struct shared {
	volatile int phase;
	volatile int inflight;      /* actions started and not yet reported */
	volatile int ndone;         /* on_done callbacks in this process */
};

/* ---- the child ---------------------------------------------------------- */

struct child {
	struct sm_loop *loop;
	struct sm_engine *e;
	struct shared *sh;
	int logfd;
	int gen;
};

struct job {
	struct child *cx;
	struct sm_action_call *call;
	uint64_t timer;
	int fail;               /* report error.io instead of success */
	int round;
	json_int_t value;
};

static void logline(struct child *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logline(struct child *cx, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(buf)) {
		/* one write(2) on an O_APPEND file: a kill cannot tear a line */
		if (write(cx->logfd, buf, (size_t)n) != n)
			sm_log_error("test_crash: cannot write the action log");
	}
}

static int64_t
job_fire(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct job *j = arg;
	struct child *cx = j->cx;
	struct sm_action_call *call = j->call;

	(void)loop;
	(void)id;
	cx->sh->inflight--;
	logline(cx, "%c %d %s %s %d %d\n", j->fail ? 'F' : 'D', cx->gen,
	    sm_action_call_instance(call), sm_action_call_name(call),
	    sm_action_call_attempt(call), j->round);
	sm_action_call_set_data(call, NULL);
	if (j->fail) {
		free(j);
		sm_action_fail(call, "error.io", "scripted failure");
	} else {
		json_t *r = json_pack("{s:I,s:i}", "value", j->value, "attempt",
		    sm_action_call_attempt(call));

		free(j);
		sm_action_done(call, r);
		json_decref(r);
	}
	return -1;
}

/* "work": done after 20..100 ms with value = seed * 7 + count + 100 * round.
 * "flaky": error.io on attempts 1 and 2 (after 5 ms), then value =
 * (seed^2 + round) % 101. */
static int
action_start(struct sm_action_call *call)
{
	struct child *cx = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	json_int_t seed = json_integer_value(json_object_get(p, "seed"));
	json_int_t count = json_integer_value(json_object_get(p, "count"));
	json_int_t round = json_integer_value(json_object_get(p, "round"));
	int attempt = sm_action_call_attempt(call);
	int is_work = strcmp(sm_action_call_name(call), "work") == 0;
	struct job *j = calloc(1, sizeof(*j));
	int64_t delay;

	if (!j)
		return SM_ENOMEM;
	j->cx = cx;
	j->call = call;
	if (is_work) {
		j->value = seed * 7 + count + 100 * round;
		delay = 20 + (seed % 5) * 20;
	} else {
		j->fail = attempt < 3;
		j->value = (seed * seed + round) % 101;
		delay = 5;
	}
	j->round = (int)round;
	logline(cx, "S %d %s %s %d %d\n", cx->gen, sm_action_call_instance(call),
	    sm_action_call_name(call), attempt, j->round);
	j->timer = sm_loop_timer_add(cx->loop, delay, job_fire, j);
	if (!j->timer) {
		free(j);
		return SM_ENOMEM;
	}
	sm_action_call_set_data(call, j);
	cx->sh->inflight++;
	return 0;
}

static void
action_cancel(struct sm_action_call *call)
{
	struct child *cx = sm_action_call_arg(call);
	struct job *j = sm_action_call_data(call);

	if (!j)
		return;
	sm_loop_timer_del(cx->loop, j->timer);
	cx->sh->inflight--;
	sm_action_call_set_data(call, NULL);
	free(j);
}

static void
child_on_done(struct sm_engine *e, const char *id, const char *final_id,
    json_t *donedata, void *arg)
{
	struct child *cx = arg;

	(void)e;
	(void)donedata;
	cx->sh->ndone++;
	logline(cx, "E %d %s %s\n", cx->gen, id, final_id);
}

static void
child_on_trace(struct sm_engine *e, const char *id, const char *event,
    const char *from, const char *targets, void *arg)
{
	struct child *cx = arg;

	(void)e;
	(void)from;
	(void)targets;
	if (cx->sh->phase == PH_RUN0)
		cx->sh->phase = PH_RUN;
	if (event && strcmp(event, "tick") == 0)
		logline(cx, "T %d %s tick\n", cx->gen, id);
}

static void
quiet_log(struct sm_engine *e, const char *id, const char *text, void *arg)
{
	(void)e;
	(void)id;
	(void)text;
	(void)arg;
}

static void
instance_id(char *buf, size_t size, int i)
{
	snprintf(buf, size, "inst-%03d", i);
}

static json_t *
instance_task(int i)
{
	return json_pack("{s:i,s:i,s:i}", "seed", i, "n", 3 + i % 8, "rounds", ROUNDS);
}

/* Runs in the forked child; returns its exit status. */
static int
child_main(const char *dir, enum store_durability dur, const char *machine_path,
    const char *logpath, int gen, struct shared *sh)
{
	struct child cx;
	struct store *st = NULL;
	struct store_options o;
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	struct sm_load_opts lo;
	struct sm_error err;
	struct sm_action_def work = { "work", action_start, action_cancel, NULL };
	struct sm_action_def flaky = { "flaky", action_start, action_cancel, NULL };
	uint64_t deadline;
	int i, rc;

	memset(&cx, 0, sizeof(cx));
	cx.sh = sh;
	cx.gen = gen;
	sh->phase = PH_OPEN;
	sh->inflight = 0;
	sh->ndone = 0;
	cx.logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (cx.logfd < 0)
		return 10;
	store_options_init(&o);
	o.durability = dur;
	if (store_open(&st, dir, &o, &err) != 0) {
		fprintf(stderr, "child %d: %s\n", gen, err.msg);
		return 11;
	}
	if (sm_loop_create(&cx.loop) != 0 || sm_engine_create(&cx.e, cx.loop, st, &err) != 0)
		return 12;
	work.arg = flaky.arg = &cx;
	if (sm_engine_register_action(cx.e, &work) != 0 ||
	    sm_engine_register_action(cx.e, &flaky) != 0)
		return 13;
	memset(&lo, 0, sizeof(lo));
	lo.action_known = sm_engine_action_known;
	lo.action_arg = cx.e;
	if (sm_machine_load_file(machine_path, &lo, &m, &diags) != 0) {
		sm_diags_print(&diags, stderr);
		return 14;
	}
	sm_diags_free(&diags);
	sm_engine_add_machine(cx.e, m);
	sm_engine_on_done(cx.e, child_on_done, &cx);
	sm_engine_on_trace(cx.e, child_on_trace, &cx);
	sm_engine_on_log(cx.e, quiet_log, NULL);

	sh->phase = PH_RECOVER;
	if (sm_engine_recover(cx.e, &err) != 0) {
		fprintf(stderr, "child %d: recover: %s\n", gen, err.msg);
		return 15;
	}
	sh->phase = PH_START;
	for (i = 0; i < N_INST; i++) {
		char id[32];
		json_t *task = instance_task(i);

		instance_id(id, sizeof(id), i);
		rc = sm_engine_start(cx.e, m, id, task, &err);
		json_decref(task);
		if (rc != 0 && rc != SM_EEXISTS) {
			fprintf(stderr, "child %d: start %s: %s\n", gen, id, err.msg);
			return 16;
		}
	}
	sh->phase = PH_RUN0;
	deadline = sm_time_mono_ms() + CHILD_DEADLINE_MS;
	for (;;) {
		if ((rc = sm_engine_flush(cx.e, &err)) != 0) {
			fprintf(stderr, "child %d: flush: %s\n", gen, err.msg);
			return 17;
		}
		if (sm_engine_running_count(cx.e) == 0)
			break;
		if (sm_time_mono_ms() > deadline) {
			fprintf(stderr, "child %d: %zu instance(s) still running after %d ms\n", gen,
			    sm_engine_running_count(cx.e), CHILD_DEADLINE_MS);
			return 18;
		}
		sm_loop_run_once(cx.loop, 100);
	}
	sh->phase = PH_CLOSE;
	sm_engine_destroy(cx.e);
	sm_loop_destroy(cx.loop);
	store_close(st);
	sm_machine_free(m);
	close(cx.logfd);
	return 0;
}

/* ---- the parent: reading a store after its child died ------------------- */

struct outcome {
	char id[32];
	char status[16];
	char final_id[32];
	char config[128];
	char *dm;        /* deterministic datamodel values, canonical json */
	char *events;    /* sorted names of the events consumed ("event" records) */
	uint64_t hist_seq;
	int hist_ok;     /* records 1..hist_seq, each once, nothing else */
	int seen;
};

struct result {
	struct outcome o[N_INST];
	size_t ninstances;   /* records in the instances table */
	size_t nforeign;     /* records with an id we never started */
	size_t ninbox;
	size_t ntimers;
};

static void
result_free(struct result *r)
{
	int i;

	for (i = 0; i < N_INST; i++) {
		free(r->o[i].dm);
		free(r->o[i].events);
	}
	memset(r, 0, sizeof(*r));
}

static int
index_of(const char *id, size_t len)
{
	int i;

	if (len != 8 || strncmp(id, "inst-", 5) != 0)
		return -1;
	i = atoi(id + 5);
	return i >= 0 && i < N_INST ? i : -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
events_of(struct store_txn *txn, const char *id, uint64_t hist_seq, int *ok)
{
	struct store_cursor *c;
	struct store_key pk;
	const void *k, *v;
	size_t kl, vl, n = 0, cap = 64, len = 0, i;
	char **names = malloc(cap * sizeof(*names)), *out;
	uint64_t expect = 1;
	int rc;

	*ok = 1;
	store_key_init(&pk);
	store_key_add_str(&pk, id);
	if (store_cursor_open(txn, STORE_T_HISTORY, &c) != 0)
		return NULL;
	for (rc = store_cursor_seek_prefix(c, pk.buf, pk.len, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next_prefix(c, &k, &kl, &v, &vl)) {
		size_t pos = pk.len;
		uint64_t seq;
		json_t *rec;

		if (store_key_get_u64(k, kl, &pos, &seq) != 0 || pos != kl || seq != expect++)
			*ok = 0;
		rec = json_loadb(v, vl, 0, NULL);
		if (!rec) {
			*ok = 0;
			continue;
		}
		if (strcmp(json_string_value(json_object_get(rec, "kind")) ?
		    json_string_value(json_object_get(rec, "kind")) : "", "event") == 0) {
			const char *name = json_string_value(json_object_get(json_object_get(rec,
			    "event"), "name"));

			if (n == cap)
				names = realloc(names, (cap *= 2) * sizeof(*names));
			names[n++] = strdup(name ? name : "?");
		}
		json_decref(rec);
	}
	store_cursor_close(c);
	if (expect - 1 != hist_seq)
		*ok = 0;
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	out = calloc(1, len + 1);
	for (i = 0; i < n; i++) {
		strcat(out, names[i]);
		strcat(out, " ");
		free(names[i]);
	}
	free(names);
	return out;
}

static int
read_result(const char *dir, struct result *r)
{
	static const char *const keys[] = { "round", "count", "ticks", "work_out", "work_sum",
	    "flaky_out", "child_out", "trail" };
	struct store *st;
	struct store_options o;
	struct store_txn *txn;
	struct store_cursor *c;
	struct sm_error err;
	const void *k, *v;
	size_t kl, vl, i;
	int rc;

	memset(r, 0, sizeof(*r));
	store_options_init(&o);
	o.read_only = 1;
	if (store_open(&st, dir, &o, &err) != 0) {
		diag("cannot open %s: %s", dir, err.msg);
		return -1;
	}
	if (store_txn_begin(st, STORE_TXN_READ, &txn, &err) != 0) {
		store_close(st);
		return -1;
	}
	store_cursor_open(txn, STORE_T_INSTANCES, &c);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		int idx = index_of(k, kl);
		json_t *j, *dm, *sel;
		struct outcome *oc;

		r->ninstances++;
		if (idx < 0) {
			r->nforeign++;
			continue;
		}
		oc = &r->o[idx];
		oc->seen++;
		j = json_loadb(v, vl, 0, NULL);
		if (!j)
			continue;
		instance_id(oc->id, sizeof(oc->id), idx);
		snprintf(oc->status, sizeof(oc->status), "%s",
		    json_string_value(json_object_get(j, "status")) ?
		    json_string_value(json_object_get(j, "status")) : "?");
		snprintf(oc->final_id, sizeof(oc->final_id), "%s",
		    json_string_value(json_object_get(j, "final")) ?
		    json_string_value(json_object_get(j, "final")) : "");
		oc->hist_seq = (uint64_t)json_integer_value(json_object_get(j, "hist_seq"));
		{
			char *cf = json_dumps(json_object_get(json_object_get(j, "session"), "config"),
			    JSON_COMPACT | JSON_ENCODE_ANY);

			snprintf(oc->config, sizeof(oc->config), "%s", cf ? cf : "?");
			free(cf);
		}
		dm = json_object_get(json_object_get(j, "session"), "datamodel");
		sel = json_object();
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			json_t *x = json_object_get(dm, keys[i]);

			json_object_set(sel, keys[i], x ? x : json_string("(missing)"));
		}
		free(oc->dm);
		oc->dm = json_dumps(sel, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(sel);
		json_decref(j);
	}
	store_cursor_close(c);
	for (i = 0; i < N_INST; i++) {
		struct outcome *oc = &r->o[i];
		char id[32];

		if (!oc->seen)
			continue;
		instance_id(id, sizeof(id), (int)i);
		free(oc->events);
		oc->events = events_of(txn, id, oc->hist_seq, &oc->hist_ok);
	}
	store_count(txn, STORE_T_INBOX, &r->ninbox);
	store_count(txn, STORE_T_TIMERS, &r->ntimers);
	store_txn_abort(txn);
	store_close(st);
	return 0;
}

/* The "tick" timers pending in the store (after a kill), as instance indexes. */
static int
pending_ticks(const char *dir, int *idx, int max)
{
	struct store *st;
	struct store_options o;
	struct store_txn *txn;
	struct store_cursor *c;
	struct sm_error err;
	const void *k, *v;
	size_t kl, vl;
	int rc, n = 0;

	store_options_init(&o);
	o.read_only = 1;
	if (store_open(&st, dir, &o, &err) != 0)
		return 0; /* killed before the store existed */
	if (store_txn_begin(st, STORE_TXN_READ, &txn, &err) != 0) {
		store_close(st);
		return 0;
	}
	store_cursor_open(txn, STORE_T_TIMERS, &c);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0 && n < max;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		const char *p = (const char *)k + 8;
		size_t idl = kl > 8 ? strnlen(p, kl - 8) : 0;

		if (kl > 8 && idl + 9 + 4 == kl && memcmp(p + idl + 1, "tick", 4) == 0) {
			int i = index_of(p, idl);

			if (i >= 0)
				idx[n++] = i;
		}
	}
	store_cursor_close(c);
	store_txn_abort(txn);
	store_close(st);
	return n;
}

/* ---- the parent: running children ---------------------------------------- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 2685821657736338717ULL;
}

struct run {
	const char *name;
	char dir[256];
	char logpath[300];
	enum store_durability dur;
	int kills_wanted;
	int kills;
	int gens;
	int points[PH__COUNT];
	int killed_inflight;          /* kills with at least one action in flight */
	int killed_ticks;             /* kills with at least one tick timer pending */
	int pending_ticks;            /* (kill, instance) pairs with a pending tick */
	int tick_gen[N_INST * 64];    /* generation at whose kill a tick was pending */
	int tick_inst[N_INST * 64];
	double seconds;
	int ok;
};

static struct shared *g_sh;
static const char *g_machine;

static pid_t
spawn(struct run *r, int gen)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	g_sh->phase = PH_FORKED;
	g_sh->inflight = 0;
	g_sh->ndone = 0;
	pid = fork();
	if (pid == 0)
		_exit(child_main(r->dir, r->dur, g_machine, r->logpath, gen, g_sh));
	return pid;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Wait for `pid` up to `ms`; returns its status, or -1 on timeout. */
static int
wait_for(pid_t pid, int64_t ms)
{
	uint64_t end = sm_time_mono_ms() + (uint64_t)ms;
	int status;

	for (;;) {
		pid_t p = waitpid(pid, &status, WNOHANG);

		if (p == pid)
			return status;
		if (p < 0 && errno != EINTR)
			return -1;
		if (sm_time_mono_ms() > end)
			return -1;
		sleep_ms(2);
	}
}

static void
run_children(struct run *r)
{
	uint64_t t0 = sm_time_mono_ms();
	int gen = 0, status;
	pid_t pid;

	r->ok = 0;
	while (r->kills < r->kills_wanted) {
		int64_t delay;
		int n;

		/* a quarter of the kills land during startup (0..4 ms), the rest
		 * anywhere in the first 250 ms of a process's life */
		delay = rnd() % 4 == 0 ? (int64_t)(rnd() % 5) : 4 + (int64_t)(rnd() % 247);
		pid = spawn(r, ++gen);
		if (pid < 0)
			return;
		r->gens++;
		sleep_ms(delay);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* finished before the kill */
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				goto finished;
			diag("%s: child %d ended with status 0x%x", r->name, gen, status);
			return;
		}
		{
			int ph = g_sh->phase;

			kill(pid, SIGKILL);
			if (wait_for(pid, 10000) < 0)
				return;
			r->kills++;
			if (ph >= 0 && ph < PH__COUNT)
				r->points[ph]++;
			if (g_sh->inflight > 0)
				r->killed_inflight++;
		}
		n = pending_ticks(r->dir, r->tick_inst + r->pending_ticks,
		    (int)(sizeof(r->tick_inst) / sizeof(r->tick_inst[0])) - r->pending_ticks);
		if (n > 0)
			r->killed_ticks++;
		while (n-- > 0)
			r->tick_gen[r->pending_ticks++] = gen;
	}
	/* the last one runs to the end */
	pid = spawn(r, ++gen);
	r->gens++;
	status = wait_for(pid, CHILD_DEADLINE_MS + 5000);
	if (status < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		diag("%s: last child did not finish", r->name);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		diag("%s: last child ended with status 0x%x", r->name, status);
		return;
	}
finished:
	r->seconds = (double)(sm_time_mono_ms() - t0) / 1000.0;
	r->ok = 1;
}

/* ---- the action log ------------------------------------------------------ */

struct logrec {
	char kind;
	int gen;
	char inst[32];
	char what[32];
	int n;
	int round;
};

static struct logrec *
read_log(const char *path, size_t *count)
{
	FILE *fp = fopen(path, "r");
	struct logrec *v = NULL, rec;
	size_t n = 0, cap = 0;
	char line[256];

	*count = 0;
	if (!fp)
		return NULL;
	while (fgets(line, sizeof(line), fp)) {
		memset(&rec, 0, sizeof(rec));
		if (line[0] == 'S' || line[0] == 'D' || line[0] == 'F') {
			if (sscanf(line, "%c %d %31s %31s %d %d", &rec.kind, &rec.gen, rec.inst,
			    rec.what, &rec.n, &rec.round) != 6)
				continue;
		} else if (line[0] == 'T' || line[0] == 'E') {
			if (sscanf(line, "%c %d %31s %31s", &rec.kind, &rec.gen, rec.inst,
			    rec.what) != 4)
				continue;
		} else {
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = rec;
	}
	fclose(fp);
	*count = n;
	return v;
}

/*
 * Attempt numbers: per instance, round and action, the starts' attempts strictly
 * increase (the first is 1 in an uninterrupted run; after a kill between the
 * commit that recorded attempt n and the action's start, the first start seen
 * is n + 1), and "work" (which never fails) only gets a new attempt from a
 * restart: attempt > 1 in a later process than the previous start.  "flaky" succeeds only on attempt >= 3.  Returns the number of
 * violations; *restarted counts "work" starts with attempt > 1.
 */
static int
check_attempts(const struct logrec *v, size_t n, int *restarted, int *max_attempt,
    int expect_exact)
{
	int bad = 0, i, a;
	size_t k;

	*restarted = 0;
	*max_attempt = 0;
	for (i = 0; i < N_INST; i++) {
		char id[32];

		instance_id(id, sizeof(id), i);
		for (a = 0; a < 2 * ROUNDS; a++) {
			const char *what = a % 2 ? "flaky" : "work";
			int rd = a / 2 + 1, last = 0, last_gen = 0, starts = 0, dones = 0;

			for (k = 0; k < n; k++) {
				if (strcmp(v[k].inst, id) != 0 || strcmp(v[k].what, what) != 0 ||
				    v[k].round != rd)
					continue;
				if (v[k].kind == 'S') {
					if ((expect_exact && starts == 0 && v[k].n != 1) || v[k].n <= last) {
						if (bad++ < 5)
							diag("%s %s round %d: start with attempt %d after %d", id,
							    what, rd, v[k].n, last);
					}
					if (a % 2 == 0 && starts > 0 && v[k].gen <= last_gen) {
						if (bad++ < 5)
							diag("%s work: attempt %d in the same process as %d", id,
							    v[k].n, last);
					}
					if (a % 2 == 0 && v[k].n > 1)
						(*restarted)++;
					if (v[k].n > *max_attempt)
						*max_attempt = v[k].n;
					last = v[k].n;
					last_gen = v[k].gen;
					starts++;
				} else if (v[k].kind == 'D') {
					dones++;
					if (a % 2 == 1 && v[k].n < 3 && bad++ < 5)
						diag("%s flaky: succeeded on attempt %d", id, v[k].n);
				}
			}
			if (dones < 1 && bad++ < 5)
				diag("%s %s round %d: never succeeded", id, what, rd);
			if (expect_exact && starts != (a % 2 ? 3 : 1) && bad++ < 5)
				diag("%s %s: %d starts in an uninterrupted run", id, what, starts);
		}
	}
	return bad;
}

/* Every tick pending at the kill of process g is consumed by a process > g. */
static int
check_ticks(const struct run *r, const struct logrec *v, size_t n)
{
	int i, bad = 0;
	size_t k;

	for (i = 0; i < r->pending_ticks; i++) {
		char id[32];
		int found = 0;

		instance_id(id, sizeof(id), r->tick_inst[i]);
		for (k = 0; k < n && !found; k++)
			if (v[k].kind == 'T' && v[k].gen > r->tick_gen[i] && strcmp(v[k].inst, id) == 0)
				found = 1;
		if (!found && bad++ < 5)
			diag("%s: tick pending at kill %d never fired afterwards", id, r->tick_gen[i]);
	}
	return bad;
}

/* ---- the checks ------------------------------------------------------------ */

static void
compare(const char *name, const struct result *ref, const struct result *got)
{
	int i, same_final = 0, same_dm = 0, same_ev = 0, done = 0, hist = 0, once = 0;

	for (i = 0; i < N_INST; i++) {
		const struct outcome *a = &ref->o[i], *b = &got->o[i];

		once += b->seen == 1;
		done += strcmp(b->status, "done") == 0;
		hist += b->hist_ok;
		if (strcmp(a->final_id, b->final_id) == 0)
			same_final++;
		else
			diag("%s: %s final '%s', reference '%s'", name, b->id, b->final_id, a->final_id);
		if (a->dm && b->dm && strcmp(a->dm, b->dm) == 0)
			same_dm++;
		else
			diag("%s: inst-%03d datamodel %s, reference %s", name, i, b->dm ? b->dm : "-",
			    a->dm ? a->dm : "-");
		if (a->events && b->events && strcmp(a->events, b->events) == 0)
			same_ev++;
		else
			diag("%s: inst-%03d events [%s], reference [%s]", name, i,
			    b->events ? b->events : "-", a->events ? a->events : "-");
	}
	is_int(got->ninstances, N_INST, "%s: %d instance records, no more, no fewer", name, N_INST);
	is_int(got->nforeign, 0, "%s: no record with an id that was never started", name);
	is_int(once, N_INST, "%s: every instance exists exactly once", name);
	is_int(done, N_INST, "%s: every instance reached a final state", name);
	is_int(same_final, N_INST, "%s: final states equal the uninterrupted run", name);
	is_int(same_dm, N_INST, "%s: datamodel values equal the uninterrupted run", name);
	is_int(same_ev, N_INST,
	    "%s: each instance consumed the same events as in the uninterrupted run "
	    "(nothing lost, nothing twice)", name);
	is_int(hist, N_INST, "%s: history records 1..hist_seq, contiguous, per instance", name);
	is_int(got->ninbox, 0, "%s: inbox empty at the end", name);
	is_int(got->ntimers, 0, "%s: no timer left at the end", name);
}

static void
report_points(const struct run *r)
{
	int i;

	diag("%s: %d kills over %d processes in %.1f s, kill points:", r->name, r->kills,
	    r->gens, r->seconds);
	for (i = 0; i < PH__COUNT; i++)
		if (r->points[i])
			diag("  %3d while %s", r->points[i], phase_names[i]);
	diag("  %3d with actions in flight, %d with delayed sends pending (%d timers)",
	    r->killed_inflight, r->killed_ticks, r->pending_ticks);
}

static int
make_dir(char *buf, size_t size, const char *what)
{
	const char *t = getenv("TMPDIR");

	/* not tmpfs if we can avoid it: fsync must cost what it costs */
	snprintf(buf, size, "%s/sm_crash_%s.XXXXXX", t && t[0] ? t : "/tmp", what);
	return mkdtemp(buf) ? 0 : -1;
}

static void
rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

static void
crash_run(struct run *r, const struct result *ref, struct result *got)
{
	struct logrec *v;
	size_t n;
	int restarted, max_attempt, bad;
	size_t entries = 0;
	struct sm_error err;

	run_children(r);
	ok(r->ok, "%s: every instance finished after %d kills", r->name, r->kills);
	ok(r->kills >= r->kills_wanted * 3 / 4, "%s: %d kills (wanted %d, at least %d)", r->name,
	    r->kills, r->kills_wanted, r->kills_wanted * 3 / 4);
	report_points(r);
	if (!r->ok) {
		/* say where the instances that never finished are stuck */
		if (read_result(r->dir, got) == 0) {
			int i, shown = 0, running = 0;

			for (i = 0; i < N_INST; i++)
				running += got->o[i].seen && strcmp(got->o[i].status, "running") == 0;
			diag("%s: %d instance(s) still running; %zu inbox record(s), %zu timer(s) stored",
			    r->name, running, got->ninbox, got->ntimers);
			for (i = 0; i < N_INST && shown < 5; i++) {
				if (!got->o[i].seen || strcmp(got->o[i].status, "running") != 0)
					continue;
				diag("  %s in %s, datamodel %s", got->o[i].id, got->o[i].config,
				    got->o[i].dm ? got->o[i].dm : "-");
				shown++;
			}
		}
		return;
	}
	if (read_result(r->dir, got) != 0) {
		ok(0, "%s: store readable", r->name);
		return;
	}
	compare(r->name, ref, got);
	v = read_log(r->logpath, &n);
	bad = check_attempts(v, n, &restarted, &max_attempt, 0);
	is_int(bad, 0, "%s: attempt numbers continue across restarts (strictly increasing, "
	    "never back to 1)", r->name);
	ok(restarted > 0, "%s: %d 'work' runs were killed mid-action and restarted with "
	    "attempt > 1 (highest attempt seen: %d)", r->name, restarted, max_attempt);
	ok(r->pending_ticks > 0, "%s: %d kills hit a pending delayed send", r->name,
	    r->killed_ticks);
	is_int(check_ticks(r, v, n), 0,
	    "%s: every delayed send pending at a kill fired in a later process", r->name);
	free(v);
	is_int(store_check(r->dir, &entries, &err), 0, "%s: store_check after the kills (%zu "
	    "entries)", r->name, entries);
}

/* ---- map growth ------------------------------------------------------------- */

static const char *growth_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='loop'>"
    " <datamodel><data id='n' expr='0'/></datamodel>"
    " <state id='loop'>"
    "  <onentry><assign location='n' expr='n + 1'/>"
    "   <send event='again'><param name='pad' expr='task.pad'/></send></onentry>"
    "  <transition event='again' cond='n &lt; 40' target='loop'/>"
    "  <transition event='again' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

#define GROWTH_INST 200

struct growth {
	int done;
	int ends;
};

static void
growth_done(struct sm_engine *e, const char *id, const char *final_id,
    json_t *dd, void *arg)
{
	struct growth *g = arg;

	(void)e;
	(void)id;
	(void)dd;
	g->done++;
	g->ends += strcmp(final_id, "end") == 0;
}

static void
test_map_growth(void)
{
	char dir[256], pad[1001];
	struct store *st;
	struct store_options o;
	struct sm_loop *loop;
	struct sm_engine *e;
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	struct sm_error err;
	struct growth g = { 0, 0 };
	size_t before, after;
	uint64_t end;
	int i, rc, nright = 0;
	json_t *task;

	if (make_dir(dir, sizeof(dir), "growth") != 0)
		bail_out("mkdtemp failed");
	store_options_init(&o);
	o.map_size = 128 * 1024;
	if (store_open(&st, dir, &o, &err) != 0)
		bail_out("store_open: %s", err.msg);
	before = store_map_size(st);
	ok(before <= 256 * 1024, "growth: store opened with a small map (%zu bytes)", before);
	sm_loop_create(&loop);
	if (sm_engine_create(&e, loop, st, &err) != 0)
		bail_out("engine: %s", err.msg);
	sm_engine_on_done(e, growth_done, &g);
	if (sm_machine_load_memory(growth_machine, strlen(growth_machine), "growth.scxml", NULL,
	    NULL, &m, &diags) != 0) {
		sm_diags_print(&diags, stderr);
		bail_out("growth machine does not load");
	}
	sm_diags_free(&diags);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = 0;
	task = json_pack("{s:s}", "pad", pad);
	for (i = 0; i < GROWTH_INST; i++) {
		char id[32];

		snprintf(id, sizeof(id), "g-%04d", i);
		if (sm_engine_start(e, m, id, task, &err) != 0)
			break;
	}
	json_decref(task);
	is_int(i, GROWTH_INST, "growth: %d instances started", GROWTH_INST);
	end = sm_time_mono_ms() + 30000;
	rc = 0;
	while (g.done < GROWTH_INST && sm_time_mono_ms() < end) {
		if ((rc = sm_engine_flush(e, &err)) != 0)
			break;
		sm_loop_run_once(loop, 10);
	}
	is_int(rc, 0, "growth: every commit succeeded%s%s", rc ? ": " : "", rc ? err.msg : "");
	is_int(g.done, GROWTH_INST, "growth: every instance finished");
	is_int(g.ends, GROWTH_INST, "growth: every instance ended in 'end'");
	for (i = 0; i < GROWTH_INST; i++) {
		char id[32];
		json_t *dm, *n;

		snprintf(id, sizeof(id), "g-%04d", i);
		dm = sm_engine_instance_datamodel(e, id);
		n = json_object_get(dm, "n");
		nright += json_integer_value(n) == 40;
		json_decref(dm);
	}
	is_int(nright, GROWTH_INST, "growth: every instance counted to 40");
	after = store_map_size(st);
	ok(after >= (size_t)8 << 20, "growth: the map grew from %zu KiB to %zu KiB", before >> 10,
	    after >> 10);
	sm_engine_destroy(e);
	sm_loop_destroy(loop);
	store_close(st);

	/* reopen: everything committed, nothing to resume */
	{
		struct sm_instance_status s;

		store_options_init(&o);
		o.map_size = 128 * 1024;
		rc = store_open(&st, dir, &o, &err);
		is_int(rc, 0, "growth: the grown store reopens");
		if (rc == 0) {
			sm_loop_create(&loop);
			sm_engine_create(&e, loop, st, &err);
			is_int(sm_engine_recover(e, &err), 0, "growth: recover");
			is_int(sm_engine_running_count(e), 0, "growth: nothing left running");
			is_int(sm_engine_instance_status(e, "g-0199", &s), 0, "growth: last instance stored");
			is_str(s.final_id, "end", "growth: with its final state");
			ok(s.steps >= 41, "growth: and its %llu history records",
			    (unsigned long long)s.steps);
			sm_engine_destroy(e);
			sm_loop_destroy(loop);
			store_close(st);
		}
	}
	sm_machine_free(m);
	rmtree(dir);
}

/* ---- a zero-delay <send> and a kill right after its macrostep's commit ---- */

/*
 * Deterministic: the macrostep that enters 'a' sends 'go' to itself (no
 * delay) and invokes "crash_now".  The engine commits once per loop turn:
 * 'go' is delivered and consumed in the same turn, its inbox record written
 * and deleted in the same batch, and the start of crash_now waits for that
 * commit.  The process is killed right after the turn's commit (a probe at
 * SM_PROBE_AFTER_COMMIT; crash_now would kill it at its start otherwise).
 * Invariant 2 says a restart reaches the same outcome: 'go' must not be
 * lost, so the recovered instance must reach 'end'.
 */
static const char *lost_send_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='a'>"
    " <state id='a'>"
    "  <onentry><send event='go'/></onentry>"
    "  <invoke id='boom' type='urn:smd:scxml:1' src='crash_now'/>"
    "  <transition event='go' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
kill_after_commit_probe(struct sm_engine *e, enum sm_probe_kind kind, uint64_t n,
    void *arg)
{
	(void)e;
	(void)n;
	(void)arg;
	if (kind == SM_PROBE_AFTER_COMMIT) {
		fflush(NULL);
		kill(getpid(), SIGKILL);
	}
}

static int
crash_now_start(struct sm_action_call *call)
{
	if (sm_action_call_attempt(call) == 1) {
		fflush(NULL);
		kill(getpid(), SIGKILL);
	}
	return 0; /* later attempts: never report (the state is left by 'go') */
}

struct lost_env {
	struct store *st;
	struct sm_loop *loop;
	struct sm_engine *e;
	struct sm_machine *m;
	char final_id[64];
};

static void
lost_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd,
    void *arg)
{
	struct lost_env *v = arg;

	(void)e;
	(void)id;
	(void)dd;
	snprintf(v->final_id, sizeof(v->final_id), "%s", final_id);
}

static int
lost_open(struct lost_env *v, const char *dir, const char *xml)
{
	struct store_options o;
	struct sm_error err;
	struct sm_diags diags = { 0 };
	struct sm_action_def def = { "crash_now", crash_now_start, NULL, NULL };

	memset(v, 0, sizeof(*v));
	store_options_init(&o); /* FULL */
	if (store_open(&v->st, dir, &o, &err) != 0 || sm_loop_create(&v->loop) != 0 ||
	    sm_engine_create(&v->e, v->loop, v->st, &err) != 0)
		return -1;
	sm_engine_register_action(v->e, &def);
	sm_engine_on_done(v->e, lost_done, v);
	if (sm_machine_load_memory(xml, strlen(xml), "lost.scxml", NULL, NULL, &v->m,
	    &diags) != 0) {
		sm_diags_print(&diags, stderr);
		return -1;
	}
	sm_engine_add_machine(v->e, v->m);
	return 0;
}

static void
lost_close(struct lost_env *v)
{
	sm_engine_destroy(v->e);
	sm_loop_destroy(v->loop);
	store_close(v->st);
	sm_machine_free(v->m);
}

/*
 * Start instance "x" of `xml` in a child that the crash_now action kills;
 * then recover it here and run it for up to a second.  `final_id` gets the
 * final state reached ("" if none), `conf` the configuration.
 */
static void
kill_after_commit(const char *name, const char *xml, char *final_id, size_t fsize,
    char *conf, size_t csize)
{
	char dir[256];
	struct lost_env v;
	struct sm_error err;
	json_t *c;
	char *txt;
	pid_t pid;
	int status = 0;
	uint64_t end;

	if (make_dir(dir, sizeof(dir), "lost") != 0)
		bail_out("mkdtemp failed");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (lost_open(&v, dir, xml) != 0 || sm_engine_start(v.e, v.m, "x", NULL, &err) != 0)
			_exit(3);
		sm_engine_on_probe(v.e, kill_after_commit_probe, NULL);
		for (;;) { /* until crash_now kills this process */
			sm_engine_flush(v.e, &err);
			sm_loop_run_once(v.loop, 10);
		}
	}
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "%s: the child died by SIGKILL right after its first commit (status 0x%x)", name, status);
	if (lost_open(&v, dir, xml) != 0)
		bail_out("%s: cannot reopen", name);
	is_int(sm_engine_recover(v.e, &err), 0, "%s: recover", name);
	end = sm_time_mono_ms() + 1000;
	while (!v.final_id[0] && sm_time_mono_ms() < end) {
		sm_engine_flush(v.e, &err);
		sm_loop_run_once(v.loop, 10);
	}
	snprintf(final_id, fsize, "%s", v.final_id);
	c = sm_engine_instance_config(v.e, "x");
	txt = c ? json_dumps(c, JSON_COMPACT) : NULL;
	snprintf(conf, csize, "%s", txt ? txt : "-");
	free(txt);
	json_decref(c);
	lost_close(&v);
	rmtree(dir);
}

static void
test_lost_send(void)
{
	char final_id[64], conf[256];

	kill_after_commit("lost send", lost_send_machine, final_id, sizeof(final_id), conf,
	    sizeof(conf));
	ok(strcmp(final_id, "end") == 0,
	    "lost send: after a kill right after the commit of the macrostep that sent 'go', "
	    "the recovered instance still gets 'go' and ends in 'end' (final '%s', "
	    "configuration %s)", final_id, conf);
}

/*
 * The same kill point, but the event goes to a child SCXML session: the
 * parent, told 'ready' by its child, sends it 'go' and (next state) invokes
 * crash_now.  The whole conversation (the parent's move to p2, 'go' through
 * the child's inbox, the child's end, done.invoke.kid) is one turn and one
 * commit; after the kill the recovered parent has ended in 'end' and its
 * end is reported (it was not acknowledged).
 */
static const char *child_send_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='p'>"
    " <state id='p' initial='p1'>"
    "  <invoke id='kid'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "    initial='w'>"
    "    <state id='w'>"
    "     <onentry><send event='ready' target='#_parent'/></onentry>"
    "     <transition event='go' target='k_end'/>"
    "    </state>"
    "    <final id='k_end'/>"
    "   </scxml>"
    "  </content></invoke>"
    "  <state id='p1'>"
    "   <transition event='ready' target='p2'><send event='go' target='#_kid'/></transition>"
    "  </state>"
    "  <state id='p2'>"
    "   <invoke id='boom' type='urn:smd:scxml:1' src='crash_now'/>"
    "  </state>"
    "  <transition event='done.invoke.kid' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
test_child_send(void)
{
	char final_id[64], conf[256];

	kill_after_commit("child send", child_send_machine, final_id, sizeof(final_id), conf,
	    sizeof(conf));
	ok(strcmp(final_id, "end") == 0,
	    "child send: after a kill right after the parent committed its <send> to a child "
	    "session, the restarted child still completes and the parent ends in 'end' "
	    "(final '%s', configuration %s)", final_id, conf);
}

/* ---- main --------------------------------------------------------------------- */

int
main(void)
{
	static struct run full, proc, refrun;
	static struct result ref, got;
	struct logrec *v;
	size_t n;
	char machine[1024];
	const char *src = getenv("SM_SOURCE_DIR"), *s;
	uint64_t seed;
	int restarted, max_attempt, finals = 0, i;

	plan_no_plan();
	sm_log_init(stderr, SM_LOG_ERROR, "test_crash");
	snprintf(machine, sizeof(machine), "%s/test/crash/crash.scxml", src ? src : ".");
	if (access(machine, R_OK) != 0)
		bail_out("cannot read %s: set SM_SOURCE_DIR", machine);
	g_machine = machine;
	s = getenv("SM_CRASH_SEED");
	seed = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	if (!seed)
		seed = 1;
	rng_state = seed;
	diag("kill schedule seed %llu (SM_CRASH_SEED=%llu replays it)", (unsigned long long)seed,
	    (unsigned long long)seed);
	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_sh == MAP_FAILED)
		bail_out("mmap failed");

	/* 0. a deterministic kill point: right after a commit, before the next */
	test_lost_send();
	test_child_send();

	/* 1. the reference: one process, no kill */
	refrun.name = "reference";
	refrun.dur = STORE_DURABLE_PROCESS;
	if (make_dir(refrun.dir, sizeof(refrun.dir), "ref") != 0)
		bail_out("mkdtemp failed");
	snprintf(refrun.logpath, sizeof(refrun.logpath), "%s/actions.log", refrun.dir);
	run_children(&refrun);
	ok(refrun.ok, "reference: uninterrupted run finished (%.1f s)", refrun.seconds);
	if (!refrun.ok || read_result(refrun.dir, &ref) != 0)
		bail_out("no reference run");
	for (i = 0; i < N_INST; i++)
		finals += strcmp(ref.o[i].status, "done") == 0 && (strcmp(ref.o[i].final_id,
		    "fizz") == 0 || strcmp(ref.o[i].final_id, "plain") == 0);
	is_int(finals, N_INST, "reference: every instance ends in 'fizz' or 'plain'");
	is_str(ref.o[7].dm, "{\"child_out\":240,\"count\":10,\"flaky_out\":428,\"round\":8,"
	    "\"ticks\":8,\"trail\":\"cccccccccctwpcccccccccctwpcccccccccctwpcccccccccctwp"
	    "cccccccccctwpcccccccccctwpcccccccccctwpcccccccccctwp\","
	    "\"work_out\":859,\"work_sum\":4072}", "reference: inst-007's datamodel");
	is_str(ref.o[7].final_id, "plain", "reference: inst-007 ends in 'plain' (859 %% 3 != 0)");
	is_str(ref.o[2].final_id, "fizz", "reference: inst-002 ends in 'fizz' (819 %% 3 == 0)");
	v = read_log(refrun.logpath, &n);
	is_int(check_attempts(v, n, &restarted, &max_attempt, 1), 0,
	    "reference: per round, work once with attempt 1, flaky three times (1, 2 fail; "
	    "3 succeeds)");
	free(v);

	/* 2. kills with durability FULL */
	full.name = "FULL";
	full.dur = STORE_DURABLE_FULL;
	s = getenv("SM_CRASH_KILLS");
	full.kills_wanted = s ? atoi(s) : 40;
	if (make_dir(full.dir, sizeof(full.dir), "full") != 0)
		bail_out("mkdtemp failed");
	snprintf(full.logpath, sizeof(full.logpath), "%s/actions.log", full.dir);
	crash_run(&full, &ref, &got);
	result_free(&got);

	/* 3. kills with durability PROCESS (kill -9 is a process crash) */
	proc.name = "PROCESS";
	proc.dur = STORE_DURABLE_PROCESS;
	proc.kills_wanted = 30;
	if (make_dir(proc.dir, sizeof(proc.dir), "proc") != 0)
		bail_out("mkdtemp failed");
	snprintf(proc.logpath, sizeof(proc.logpath), "%s/actions.log", proc.dir);
	crash_run(&proc, &ref, &got);
	result_free(&got);

	/* 4. map growth */
	test_map_growth();

	result_free(&ref);
	if (tap__.failed == 0) {
		rmtree(refrun.dir);
		rmtree(full.dir);
		rmtree(proc.dir);
	} else {
		diag("stores kept for inspection: %s %s %s", refrun.dir, full.dir, proc.dir);
	}
	munmap(g_sh, sizeof(*g_sh));
	return done_testing();
}
