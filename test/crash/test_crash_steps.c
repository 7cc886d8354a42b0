/*
 * test_crash_steps.c - kill the process at every fault point of a run in
 * turn, recover, and get the outcome of the uninterrupted run.
 *
 * The engine calls its probe (sm_engine_on_probe) before and after every
 * commit and before every effect, with a running count.  For each machine
 * below the test (its own child: fork, no exec)
 *
 *  1. runs it twice without interruption in a child process: the reference
 *     (final state, session with its datamodel, history, consumed events,
 *     one completion callback, the action starts) and the number P of
 *     fault points; both runs must agree;
 *  2. for every N in 1..P, on a fresh store: a child that SIGKILLs itself
 *     at its N-th fault point (no cleanup, as kill -9), then a fresh child
 *     that recovers and runs to the end; durability PROCESS, and FULL at
 *     every other N;
 *  3. kills during recovery: for every N and every fault point M that the
 *     recovering child hits in its first turn (recover + the first flush:
 *     restarting actions, re-arming timers, reporting an unacknowledged
 *     end), a second child that dies at M, then a third that finishes;
 *  4. for the machines with timers pending at once: every N again, with the
 *     recovery only after every pending timer is overdue.
 *
 * After each case of 2 and 3 a last child recovers once more: it must find
 * nothing to do and report no completion again.  Then the store must hold
 * what the reference holds: the instance record with the same status, final state
 * and session (configuration, datamodel, counters, no invocation), the same
 * history records (without their wall-clock "time") in the same order, and
 * no inbox event, timer or child session record left.
 *
 * Exceptions, as docs/engine.md ("What a kill -9 may change") promises:
 *  - actions are at least once: an action cut off by a kill is started again
 *    by recovery with the next attempt number (a restart counts as an
 *    attempt, so attempt numbers of one invocation strictly increase across
 *    processes and never go back; within one process they go up by one per
 *    retry).  So the "flaky" action, which fails attempt 1, may succeed at
 *    once after a restart, and the run then lacks the reference's `retry`
 *    history record: retry records of a killed run must be a subset of the
 *    reference's; every other record is compared exactly (without "seq");
 *  - the completion callback is at least once: the child acknowledges it
 *    with sm_engine_forget() from the callback (as the daemon does); a kill
 *    between the callback and the commit of that acknowledgement makes
 *    recovery report it again, a kill before the callback must not lose it.
 *
 * Delays are tens of ms; SM_CRASH_STEPS_ONLY=name runs one machine.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tap.h"
#include "../engine/engine_test_util.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_jw.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "store.h"

#define MAX_PROBES 512
#define MAX_LOG 512
#define CHILD_DEADLINE_MS 5000
#define OVERDUE_WAIT_MS 60   /* longer than any delay below */

/* ---- the machines -------------------------------------------------------- */

#define SCXML "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'" \
    " version='1.0' datamodel='task'"

/* A chain of delayed sends, then a zero-delay send that cancels one of two
 * pending ones (a cancelled send that fired anyway would be consumed in
 * 'c' and show in the history). */
static const char *m_delayed = SCXML " initial='a'>"
    " <datamodel><data id='n' expr='0'/><data id='trail' expr=\"''\"/></datamodel>"
    " <state id='a'>"
    "  <onentry><assign location='n' expr='n + 1'/><assign location='trail' expr=\"trail + 'a'\"/>"
    "   <send event='t' delay='10ms'/></onentry>"
    "  <transition event='t' cond='n &lt; 3' target='a'/>"
    "  <transition event='t' target='b'/>"
    " </state>"
    " <state id='b'>"
    "  <onentry><send id='late' event='late' delay='15ms'/><send id='dead' event='dead' delay='12ms'/>"
    "   <send event='now'/><log expr=\"'in b'\"/></onentry>"
    "  <transition event='now' target='c'><cancel sendid='dead'/>"
    "   <assign location='trail' expr=\"trail + 'n'\"/></transition>"
    " </state>"
    " <state id='c'>"
    "  <transition event='late' target='end'><assign location='trail' expr=\"trail + 'l'\"/></transition>"
    " </state>"
    " <final id='end'><donedata><param name='trail' expr='trail'/></donedata></final>"
    "</scxml>";

/* Three regions: delayed sends, an event between regions, raise, an action
 * that reports inside its start; done.state of the parallel. */
static const char *m_parallel = SCXML " initial='p'>"
    " <datamodel><data id='trail' expr=\"''\"/><data id='w' expr='0'/></datamodel>"
    " <parallel id='p'>"
    "  <state id='r1' initial='r1a'>"
    "   <state id='r1a'><onentry><send event='x1' delay='10ms'/></onentry>"
    "    <transition event='x1' target='r1b'><assign location='trail' expr=\"trail + '1'\"/>"
    "     <send event='ping'/></transition></state>"
    "   <final id='r1b'/>"
    "  </state>"
    "  <state id='r2' initial='r2a'>"
    "   <state id='r2a'><transition event='ping' target='r2b'>"
    "    <assign location='trail' expr=\"trail + '2'\"/></transition></state>"
    "   <state id='r2b'><onentry><send event='x2' delay='10ms'/></onentry>"
    "    <transition event='x2' target='r2c'><assign location='trail' expr=\"trail + '3'\"/>"
    "    </transition></state>"
    "   <final id='r2c'/>"
    "  </state>"
    "  <state id='r3' initial='r3a'>"
    "   <state id='r3a'><onentry><raise event='go3'/></onentry>"
    "    <transition event='go3' target='r3b'/></state>"
    "   <state id='r3b'>"
    "    <invoke id='sy' type='urn:smd:scxml:1' src='sync'><param name='x' expr='20'/></invoke>"
    "    <transition event='done.invoke.sy' target='r3c'><assign location='w' expr='_event.data.v'/>"
    "    </transition></state>"
    "   <final id='r3c'/>"
    "  </state>"
    "  <transition event='done.state.p' target='end'/>"
    " </parallel>"
    " <final id='end'/>"
    "</scxml>";

/* Child sessions: a conversation with delayed sends on both sides; the
 * parent stays in the invoking state after done.invoke.kid (the finished
 * child must not be started again), and a second child is cancelled (with
 * its pending timer) when the parent ends. */
static const char *m_child = SCXML " initial='p'>"
    " <datamodel><data id='got' expr='0'/><data id='out' expr='0'/></datamodel>"
    " <state id='p' initial='p1'>"
    "  <invoke id='kid'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task' initial='k1'>"
    "    <datamodel><data id='k' expr='0'/></datamodel>"
    "    <state id='k1'>"
    "     <onentry><send event='ready' target='#_parent'/></onentry>"
    "     <transition event='go' target='k2'><assign location='k' expr='5 + _event.data.n'/></transition>"
    "    </state>"
    "    <state id='k2'>"
    "     <onentry><send event='kt' delay='10ms'/></onentry>"
    "     <transition event='kt' target='k3'>"
    "      <send event='progress' target='#_parent'><param name='k' expr='k'/></send></transition>"
    "    </state>"
    "    <state id='k3'>"
    "     <onentry><send event='kt2' delay='10ms'/></onentry>"
    "     <transition event='kt2' target='kend'/>"
    "    </state>"
    "    <final id='kend'><donedata><param name='k' expr='k * 10'/></donedata></final>"
    "   </scxml>"
    "  </content></invoke>"
    "  <state id='p1'>"
    "   <transition event='ready' target='p2'>"
    "    <send event='go' target='#_kid'><param name='n' expr='2'/></send></transition>"
    "  </state>"
    "  <state id='p2'>"
    "   <transition event='progress' target='p3'><assign location='got' expr='_event.data.k'/>"
    "   </transition>"
    "  </state>"
    "  <state id='p3'>"
    "   <invoke id='idle'><content>"
    "    <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task' initial='i'>"
    "     <state id='i'><onentry><send event='never' delay='5s'/></onentry>"
    "      <transition event='never' target='idle_end'/></state>"
    "     <final id='idle_end'/>"
    "    </scxml>"
    "   </content></invoke>"
    "  </state>"
    "  <transition event='done.invoke.kid'><assign location='out' expr='_event.data.k'/>"
    "   <send event='fin' delay='10ms'/></transition>"
    "  <transition event='fin' target='end'/>"
    " </state>"
    " <final id='end'><donedata><param name='got' expr='got'/></donedata></final>"
    "</scxml>";

/* An action that fails its first attempt (retried by a persisted timer),
 * then one that reports inside its start next to one that reports later. */
static const char *m_retry = SCXML " initial='f'>"
    " <datamodel><data id='fv' expr='0'/><data id='wv' expr='0'/><data id='sv' expr='0'/></datamodel>"
    " <state id='f'>"
    "  <invoke id='fl' type='urn:smd:scxml:1' src='flaky' sm:attempts='20' sm:delay='10ms'"
    "   sm:backoff='1.0' sm:jitter='none' sm:retry-on='error.io'/>"
    "  <transition event='done.invoke.fl' target='g'><assign location='fv' expr='_event.data.v'/>"
    "  </transition>"
    "  <transition event='error.invoke.fl' target='bad'/>"
    " </state>"
    " <state id='g'>"
    "  <invoke id='sy' type='urn:smd:scxml:1' src='sync'><param name='x' expr='fv'/></invoke>"
    "  <invoke id='wk' type='urn:smd:scxml:1' src='work'><param name='x' expr='fv'/></invoke>"
    "  <transition event='done.invoke.sy'><assign location='sv' expr='_event.data.v'/></transition>"
    "  <transition event='done.invoke.wk' target='end'><assign location='wv' expr='_event.data.v'/>"
    "  </transition>"
    "  <transition event='error.invoke.wk' target='bad'/>"
    " </state>"
    " <final id='end'/><final id='bad'/>"
    "</scxml>";

/* Two timers racing: the first due wins and ends the instance (a late
 * loser, fired in the same loop turn, is dropped with the instance's queue,
 * so only the due order decides). */
static const char *m_race = SCXML " initial='w'>"
    " <datamodel><data id='winner' expr=\"''\"/></datamodel>"
    " <state id='w'>"
    "  <onentry><send id='ta' event='a' delay='20ms'/><send id='tb' event='b' delay='30ms'/></onentry>"
    "  <transition event='a' target='won_a'><cancel sendid='tb'/>"
    "   <assign location='winner' expr=\"'a'\"/></transition>"
    "  <transition event='b' target='won_b'><cancel sendid='ta'/>"
    "   <assign location='winner' expr=\"'b'\"/></transition>"
    " </state>"
    " <final id='won_a'/><final id='won_b'/>"
    "</scxml>";

/* Three timers pending at once (two with the same delay): consumed in due
 * order, ties in the order they were armed. */
static const char *m_pair = SCXML " initial='w'>"
    " <datamodel><data id='trail' expr=\"''\"/></datamodel>"
    " <state id='w'>"
    "  <onentry><send event='a' delay='15ms'/><send event='b' delay='25ms'/>"
    "   <send event='c' delay='25ms'/></onentry>"
    "  <transition event='a'><assign location='trail' expr=\"trail + 'a'\"/></transition>"
    "  <transition event='b'><assign location='trail' expr=\"trail + 'b'\"/></transition>"
    "  <transition event='c' target='end'><assign location='trail' expr=\"trail + 'c'\"/></transition>"
    " </state>"
    " <final id='end'><donedata><param name='trail' expr='trail'/></donedata></final>"
    "</scxml>";

/* Ends in its first macrostep: the completion callback is all there is. */
static const char *m_instant = SCXML " initial='s'>"
    " <datamodel><data id='v' expr='3'/></datamodel>"
    " <state id='s'><onentry><log expr=\"'instant'\"/></onentry><transition target='end'/></state>"
    " <final id='end'><donedata><param name='v' expr='v'/></donedata></final>"
    "</scxml>";

struct mcase {
	const char *name;
	const char **xml;
	int overdue;            /* also recover after every pending timer is due */
	struct sm_machine *m;
};

static struct mcase cases[] = {
	{ "delayed", &m_delayed, 0, NULL },
	{ "parallel", &m_parallel, 0, NULL },
	{ "child", &m_child, 0, NULL },
	{ "retry", &m_retry, 0, NULL },
	{ "race", &m_race, 1, NULL },
	{ "pair", &m_pair, 1, NULL },
	{ "instant", &m_instant, 0, NULL },
};

/* ---- what children tell the parent (shared memory) ----------------------- */

struct logrec {
	int gen;
	char what;          /* S start, D done, F fail, C cancel, E completion, K ack committed */
	char name[12];      /* action name, or the final state for E */
	char inv[12];
	int attempt;
};

struct shared {
	int gen;
	int die_at;         /* fault point at which the child kills itself (0: never) */
	int nprobe;         /* fault points passed by the current child */
	int recov_end;      /* fault points of its first turn (recover + first flush) */
	int ended;          /* completion seen in this child, ack commit not yet */
	unsigned char kinds[MAX_PROBES];
	int nlog;
	struct logrec log[MAX_LOG];
};

static struct shared *g_sh;

static void
log_add(char what, const char *name, const char *inv, int attempt)
{
	struct logrec *r;

	if (g_sh->nlog >= MAX_LOG)
		return;
	r = &g_sh->log[g_sh->nlog++];
	r->gen = g_sh->gen;
	r->what = what;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	snprintf(r->inv, sizeof(r->inv), "%s", inv ? inv : "");
	r->attempt = attempt;
}

/* ---- the child ----------------------------------------------------------- */

struct child {
	struct sm_loop *loop;
	struct sm_engine *e;
};

struct job {
	struct child *cx;
	struct sm_action_call *call;
	uint64_t timer;
};

static json_t *
action_result(struct sm_action_call *call)
{
	const char *name = sm_action_call_name(call);
	json_int_t x = json_integer_value(json_object_get(sm_action_call_params(call), "x"));

	if (strcmp(name, "flaky") == 0)
		return json_pack("{s:i}", "v", 7);
	if (strcmp(name, "work") == 0)
		return json_pack("{s:I}", "v", x * 2);
	return json_pack("{s:I}", "v", x + 1); /* sync */
}

static void
action_report(struct sm_action_call *call)
{
	const char *name = sm_action_call_name(call), *inv = sm_action_call_invokeid(call);
	int attempt = sm_action_call_attempt(call);

	if (strcmp(name, "flaky") == 0 && attempt == 1) {
		log_add('F', name, inv, attempt);
		sm_action_fail(call, "error.io", "the first attempt fails");
	} else {
		json_t *r = action_result(call);

		log_add('D', name, inv, attempt);
		sm_action_done(call, r);
		json_decref(r);
	}
}

static int64_t
job_fire(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct job *j = arg;
	struct sm_action_call *call = j->call;

	(void)loop;
	(void)id;
	sm_action_call_set_data(call, NULL);
	free(j);
	action_report(call);
	return -1;
}

/* flaky: reports after 3 ms; work: after 5 ms; sync: inside start. */
static int
action_start(struct sm_action_call *call)
{
	struct child *cx = sm_action_call_arg(call);
	const char *name = sm_action_call_name(call);
	struct job *j;

	log_add('S', name, sm_action_call_invokeid(call), sm_action_call_attempt(call));
	if (strcmp(name, "sync") == 0) {
		action_report(call);
		return 0;
	}
	if (!(j = calloc(1, sizeof(*j))))
		return SM_ENOMEM;
	j->cx = cx;
	j->call = call;
	j->timer = sm_loop_timer_add(cx->loop, strcmp(name, "flaky") == 0 ? 3 : 5, job_fire, j);
	if (!j->timer) {
		free(j);
		return SM_ENOMEM;
	}
	sm_action_call_set_data(call, j);
	return 0;
}

static void
action_cancel(struct sm_action_call *call)
{
	struct child *cx = sm_action_call_arg(call);
	struct job *j = sm_action_call_data(call);

	log_add('C', sm_action_call_name(call), sm_action_call_invokeid(call),
	    sm_action_call_attempt(call));
	if (j) {
		sm_loop_timer_del(cx->loop, j->timer);
		free(j);
	}
}

static void
child_done(struct sm_engine *e, const char *id, const char *final_id,
    json_t *donedata, void *arg)
{
	(void)donedata;
	(void)arg;
	log_add('E', final_id, id, 0);
	g_sh->ended = 1;
	sm_engine_forget(e, id); /* the end is dealt with, as the daemon does */
}

static void
child_probe(struct sm_engine *e, enum sm_probe_kind kind, uint64_t n, void *arg)
{
	(void)e;
	(void)arg;
	g_sh->nprobe = (int)n;
	if (n <= MAX_PROBES)
		g_sh->kinds[n - 1] = (unsigned char)kind;
	if (kind == SM_PROBE_AFTER_COMMIT && g_sh->ended) {
		log_add('K', "", "", 0); /* the acknowledgement is committed */
		g_sh->ended = 0;
	}
	if ((int)n == g_sh->die_at) {
		fflush(NULL);
		kill(getpid(), SIGKILL); /* no cleanup at all, as kill -9 */
	}
}

static void
quiet_log(struct sm_engine *e, const char *id, const char *text, void *arg)
{
	(void)e;
	(void)id;
	(void)text;
	(void)arg;
}

static int
child_main(const struct mcase *mc, const char *dir, enum store_durability dur)
{
	struct child cx;
	struct store *st;
	struct store_options o;
	struct sm_error err;
	struct sm_action_def defs[] = {
		{ "flaky", action_start, action_cancel, &cx },
		{ "work", action_start, action_cancel, &cx },
		{ "sync", action_start, action_cancel, &cx },
	};
	uint64_t deadline;
	size_t i;
	int rc;

	sm_log_init(stderr, SM_LOG_ERROR, "crash-steps");
	memset(&cx, 0, sizeof(cx));
	store_options_init(&o);
	o.durability = dur;
	o.map_size = 1 << 20;
	if (store_open(&st, dir, &o, &err) != 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		return 11;
	}
	if (sm_loop_create(&cx.loop) != 0 || sm_engine_create(&cx.e, cx.loop, st, &err) != 0)
		return 12;
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (sm_engine_register_action(cx.e, &defs[i]) != 0)
			return 13;
	sm_engine_add_machine(cx.e, mc->m);
	sm_engine_on_done(cx.e, child_done, NULL);
	sm_engine_on_log(cx.e, quiet_log, NULL);
	sm_engine_on_probe(cx.e, child_probe, NULL);
	if (sm_engine_recover(cx.e, &err) != 0) {
		fprintf(stderr, "child: recover: %s\n", err.msg);
		return 15;
	}
	/* a task whose first commit was lost is started again (its message is
	 * redelivered); an existing one is recovered */
	rc = sm_engine_start(cx.e, mc->m, "x", NULL, &err);
	if (rc != 0 && rc != SM_EEXISTS) {
		fprintf(stderr, "child: start: %s\n", err.msg);
		return 16;
	}
	if (sm_engine_flush(cx.e, &err) != 0)
		return 17;
	g_sh->recov_end = g_sh->nprobe;
	deadline = sm_time_mono_ms() + CHILD_DEADLINE_MS;
	while (sm_engine_running_count(cx.e) > 0) {
		if (sm_time_mono_ms() > deadline) {
			fprintf(stderr, "child: %s still running after %d ms\n", mc->name,
			    CHILD_DEADLINE_MS);
			return 18;
		}
		sm_loop_run_once(cx.loop, 20);
	}
	if (sm_engine_flush(cx.e, &err) != 0)
		return 17;
	sm_engine_destroy(cx.e);
	sm_loop_destroy(cx.loop);
	store_close(st);
	return 0;
}

/* ---- the parent ---------------------------------------------------------- */

/* Run one child generation; returns its wait status (-1: it hung and was
 * killed). */
static int
run_gen(const struct mcase *mc, const char *dir, enum store_durability dur, int gen,
    int die_at)
{
	uint64_t end = sm_time_mono_ms() + CHILD_DEADLINE_MS + 5000;
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	g_sh->gen = gen;
	g_sh->die_at = die_at;
	g_sh->nprobe = 0;
	g_sh->recov_end = -1;
	g_sh->ended = 0;
	pid = fork();
	if (pid < 0)
		bail_out("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(child_main(mc, dir, dur));
	for (;;) {
		pid_t p = waitpid(pid, &status, WNOHANG);

		if (p == pid)
			return status;
		if (p < 0 && errno != EINTR)
			bail_out("waitpid: %s", strerror(errno));
		if (sm_time_mono_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(2000);
	}
}

static int
killed(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static int
exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* What the store holds at the end of a case. */
struct outcome {
	char *status;       /* "done"/"running" and the final state */
	char *session;      /* the whole session, canonical json */
	char *datamodel;
	char *history;      /* records other than retry, without time and seq, in order */
	char *retries;      /* retry records, one a line */
	char *events;       /* names of the events consumed, in order */
	int hist_ok;        /* records 1..hist_seq, no gap */
	size_t others;      /* other instance records (child sessions) */
	size_t inbox, timers;
};

static void
outcome_free(struct outcome *o)
{
	free(o->status);
	free(o->session);
	free(o->datamodel);
	free(o->history);
	free(o->retries);
	free(o->events);
	memset(o, 0, sizeof(*o));
}

/* The text written to `w` (a growing buffer) as a new string; frees `w`. */
static char *
jw_take(struct sm_jw *w)
{
	char *t = w->err ? NULL : strndup(w->buf ? w->buf : "", w->len);

	sm_jw_free(w);
	if (!t)
		bail_out("out of memory");
	return t;
}

static char *
dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;

	return s ? s : strdup("(none)");
}

static void
read_history(struct store_txn *txn, uint64_t hist_seq, struct outcome *o)
{
	struct store_cursor *c;
	struct store_key pk;
	struct sm_jw h = SM_JW_INIT, r = SM_JW_INIT, ev = SM_JW_INIT;
	const void *k, *v;
	size_t kl, vl;
	uint64_t expect = 1;
	int rc;

	o->hist_ok = 1;
	store_key_init(&pk);
	store_key_add_str(&pk, "x");
	if (store_cursor_open(txn, STORE_T_HISTORY, &c) != 0)
		bail_out("cannot open a history cursor");
	for (rc = store_cursor_seek_prefix(c, pk.buf, pk.len, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next_prefix(c, &k, &kl, &v, &vl)) {
		size_t pos = pk.len;
		uint64_t seq;
		json_t *rec = json_loadb(v, vl, 0, NULL);
		const char *kind;
		char *txt;

		if (store_key_get_u64(k, kl, &pos, &seq) != 0 || pos != kl || seq != expect++)
			o->hist_ok = 0;
		if (!rec) {
			o->hist_ok = 0;
			continue;
		}
		kind = json_string_value(json_object_get(rec, "kind"));
		json_object_del(rec, "time");
		json_object_del(rec, "seq");
		txt = dump(rec);
		if (kind && strcmp(kind, "retry") == 0) {
			sm_jw_lit(&r, txt);
			sm_jw_lit(&r, "\n");
		} else {
			sm_jw_lit(&h, txt);
			sm_jw_lit(&h, "\n");
		}
		if (kind && strcmp(kind, "event") == 0) {
			const char *name = json_string_value(json_object_get(json_object_get(rec,
			    "event"), "name"));

			sm_jw_lit(&ev, name ? name : "?");
			sm_jw_lit(&ev, " ");
		}
		free(txt);
		json_decref(rec);
	}
	store_cursor_close(c);
	if (expect - 1 != hist_seq)
		o->hist_ok = 0;
	o->history = jw_take(&h);
	o->retries = jw_take(&r);
	o->events = jw_take(&ev);
}

static int
read_outcome(const char *dir, struct outcome *o)
{
	struct store *st;
	struct store_options opt;
	struct store_txn *txn;
	struct store_cursor *c;
	struct sm_error err;
	const void *k, *v;
	size_t kl, vl;
	uint64_t hist_seq = 0;
	int rc;

	memset(o, 0, sizeof(*o));
	store_options_init(&opt);
	opt.read_only = 1;
	if (store_open(&st, dir, &opt, &err) != 0) {
		diag("cannot open %s: %s", dir, err.msg);
		return -1;
	}
	if (store_txn_begin(st, STORE_TXN_READ, &txn, &err) != 0)
		bail_out("read transaction: %s", err.msg);
	store_cursor_open(txn, STORE_T_INSTANCES, &c);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		json_t *j, *s;
		char buf[200];

		if (kl != 1 || *(const char *)k != 'x') {
			o->others++;
			continue;
		}
		if (!(j = json_loadb(v, vl, 0, NULL)))
			continue;
		snprintf(buf, sizeof(buf), "%s %s",
		    json_string_value(json_object_get(j, "status")) ?
		    json_string_value(json_object_get(j, "status")) : "?",
		    json_string_value(json_object_get(j, "final")) ?
		    json_string_value(json_object_get(j, "final")) : "-");
		o->status = strdup(buf);
		s = json_object_get(j, "session");
		o->session = dump(s);
		o->datamodel = dump(json_object_get(s, "datamodel"));
		hist_seq = (uint64_t)json_integer_value(json_object_get(j, "hist_seq"));
		json_decref(j);
	}
	store_cursor_close(c);
	if (!o->status) {
		o->status = strdup("(no record)");
		o->session = strdup("");
		o->datamodel = strdup("");
	}
	read_history(txn, hist_seq, o);
	store_count(txn, STORE_T_INBOX, &o->inbox);
	store_count(txn, STORE_T_TIMERS, &o->timers);
	store_txn_abort(txn);
	store_close(st);
	return 0;
}

/* ---- checks ---------------------------------------------------------------- */

enum check {
	C_KILL,       /* every planned kill happened, the last child finished */
	C_OUTCOME,
	C_DATAMODEL,
	C_SESSION,
	C_HISTORY,
	C_EVENTS,
	C_CLEAN,      /* no inbox, timer or child record left; history complete */
	C_DONE,       /* completion reported at least once, at most once after its ack */
	C_QUIET,      /* a later recovery finds nothing to do and reports nothing */
	C_ACTIONS,    /* at least once, attempt numbers as documented */
	C__COUNT
};

static const char *const check_what[C__COUNT] = {
	"each child died at its fault point and the last one finished",
	"same final state as the uninterrupted run",
	"same datamodel",
	"same session (configuration, datamodel, counters, invocations)",
	"same history records in the same order (retry records: a subset)",
	"same events consumed in the same order",
	"no inbox event, timer or child session left; history without gaps",
	"completion callback seen at least once, and never again after its ack was committed",
	"a further recovery finds nothing to do and reports no completion",
	"actions: each reference success seen at least once; attempts continue across restarts",
};

struct sweep {
	char label[96];
	int cases;
	int nkill;
	int bad[C__COUNT];
	int shown[C__COUNT];
	int kept;           /* stores of failed cases kept for inspection */
	int quiet;          /* check C_QUIET (one more child per case) */
	int nshort;         /* children that finished before their fault point */
};

struct reference {
	struct outcome o;
	struct logrec log[MAX_LOG];
	int nlog;
	int nprobe;
	unsigned char kinds[MAX_PROBES];
	int recov[MAX_PROBES + 1];    /* fault points of the first turn after a kill at N */
};

static void fail_check(struct sweep *sw, enum check c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail_check(struct sweep *sw, enum check c, const char *fmt, ...)
{
	va_list ap;
	char buf[4096];

	sw->bad[c]++;
	if (sw->shown[c]++ >= 3)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag("%s: %s", sw->label, buf);
}

/* Each line of `sub` is a line of `all` (as a multiset). */
static int
lines_subset(const char *sub, const char *all)
{
	char *pool = strdup(all), *line, *save = NULL, *copy = strdup(sub);
	int ok_ = 1;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = pool;
		size_t n = strlen(line);

		for (;;) {
			char *hit = strstr(p, line);

			if (!hit) {
				ok_ = 0;
				break;
			}
			if ((hit == pool || hit[-1] == '\n') && hit[n] == '\n') {
				hit[0] = '\x01'; /* used */
				break;
			}
			p = hit + 1;
		}
		if (!ok_)
			break;
	}
	free(pool);
	free(copy);
	return ok_;
}

static int
log_has(const struct logrec *v, int n, char what, const char *inv)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].what == what && strcmp(v[i].inv, inv) == 0)
			return 1;
	return 0;
}

static void
check_actions(struct sweep *sw, const char *tag, const struct reference *ref,
    const struct logrec *v, int n)
{
	int i, j;

	for (i = 0; i < ref->nlog; i++) {
		if (ref->log[i].what == 'D' && !log_has(v, n, 'D', ref->log[i].inv)) {
			fail_check(sw, C_ACTIONS, "%s: action '%s' never succeeded", tag,
			    ref->log[i].inv);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		if (v[i].what != 'S')
			continue;
		for (j = i + 1; j < n; j++) {
			if (v[j].what != 'S' || strcmp(v[j].inv, v[i].inv) != 0)
				continue;
			/* a retry in the same process: the next number; a restart in
			 * a later one: higher (a restart counts as an attempt) */
			if (v[j].gen == v[i].gen ? v[j].attempt != v[i].attempt + 1 :
			    v[j].attempt <= v[i].attempt) {
				fail_check(sw, C_ACTIONS, "%s: '%s' attempt %d (child %d) after "
				    "attempt %d (child %d)", tag, v[i].inv, v[j].attempt, v[j].gen,
				    v[i].attempt, v[i].gen);
				return;
			}
			break;
		}
	}
}

/*
 * Completions: at least one, each with the reference's final state; once a
 * child committed the acknowledgement (K after E), no later child reports
 * it.  (That a later recovery reports nothing is C_QUIET.)
 */
static void
check_done(struct sweep *sw, const char *tag, const char *final_want,
    const struct logrec *v, int n)
{
	int i, ends = 0, acked_gen = 0;

	for (i = 0; i < n; i++) {
		if (v[i].what == 'E') {
			ends++;
			if (strcmp(v[i].name, final_want) != 0) {
				fail_check(sw, C_DONE, "%s: completion with final '%s', want '%s'", tag,
				    v[i].name, final_want);
				return;
			}
			if (acked_gen) {
				fail_check(sw, C_DONE, "%s: completion reported again by child %d after "
				    "child %d committed its acknowledgement", tag, v[i].gen, acked_gen);
				return;
			}
		} else if (v[i].what == 'K') {
			acked_gen = v[i].gen;
		}
	}
	if (ends == 0)
		fail_check(sw, C_DONE, "%s: the completion callback was never called", tag);
}

/*
 * A child that was to die at its fault point `at`.  How many points a run
 * passes depends a little on timing (two timers due in one loop turn are
 * one commit, in two turns two), so a child that finished cleanly before
 * reaching `at` is counted, not failed.
 */
static void
note_kill(struct sweep *sw, const char *tag, const char *which, int at, int status)
{
	if (killed(status))
		sw->nkill++;
	else if (exited_ok(status) && g_sh->nprobe < at)
		sw->nshort++;
	else
		fail_check(sw, C_KILL, "%s: %s child not killed at point %d (status 0x%x, %d "
		    "points passed)", tag, which, at, status, g_sh->nprobe);
}

static const char *
durability_name(enum store_durability d)
{
	return d == STORE_DURABLE_FULL ? "FULL" : "PROCESS";
}

/*
 * One case: a child killed at fault point `n` (0: none), then (if `m`) a
 * recovering child killed at its fault point `m`, then one that finishes,
 * then (sw->quiet) one more recovery that must find nothing.  `wait_ms` before each
 * recovery.  Returns the fault points of the first recovery's first turn
 * (-1 if unknown).
 */
static int
run_case(struct sweep *sw, const struct mcase *mc, const struct reference *ref,
    enum store_durability dur, int n, int m, int wait_ms)
{
	char *dir = etu_tmpdir("sm_crash_steps");
	char tag[64];
	struct outcome o;
	int status, gen = 0, recov = -1, quiet_from, c, nbad = 0, bad_before = 0;

	for (c = 0; c < C__COUNT; c++)
		bad_before += sw->bad[c];
	snprintf(tag, sizeof(tag), "N=%d%s%.0d", n, m ? " M=" : "", m);
	sw->cases++;
	g_sh->nlog = 0;
	if (n) {
		status = run_gen(mc, dir, dur, ++gen, n);
		note_kill(sw, tag, "first", n, status);
		if (wait_ms)
			usleep((useconds_t)wait_ms * 1000);
	}
	if (m) {
		status = run_gen(mc, dir, dur, ++gen, m);
		note_kill(sw, tag, "recovering", m, status);
		if (wait_ms)
			usleep((useconds_t)wait_ms * 1000);
	}
	status = run_gen(mc, dir, dur, ++gen, 0);
	recov = g_sh->recov_end;
	if (!exited_ok(status))
		fail_check(sw, C_KILL, "%s: last child did not finish (status 0x%x)", tag, status);
	quiet_from = g_sh->nlog;
	if (sw->quiet) {
		status = run_gen(mc, dir, dur, ++gen, 0);
		if (!exited_ok(status) || g_sh->nprobe != 0 || g_sh->nlog != quiet_from)
			fail_check(sw, C_QUIET, "%s: a recovery after the end passed %d fault points "
			    "and logged %d action/completion records (status 0x%x)", tag,
			    g_sh->nprobe, g_sh->nlog - quiet_from, status);
	}
	if (read_outcome(dir, &o) != 0)
		bail_out("%s %s: store unreadable", sw->label, tag);
	if (strcmp(o.status, ref->o.status) != 0)
		fail_check(sw, C_OUTCOME, "%s: '%s', want '%s'", tag, o.status, ref->o.status);
	if (strcmp(o.datamodel, ref->o.datamodel) != 0)
		fail_check(sw, C_DATAMODEL, "%s: %s, want %s", tag, o.datamodel, ref->o.datamodel);
	if (strcmp(o.session, ref->o.session) != 0)
		fail_check(sw, C_SESSION, "%s: %s, want %s", tag, o.session, ref->o.session);
	if (strcmp(o.history, ref->o.history) != 0 || !lines_subset(o.retries, ref->o.retries))
		fail_check(sw, C_HISTORY, "%s:\n%s%s# want:\n%s%s", tag, o.history, o.retries,
		    ref->o.history, ref->o.retries);
	if (strcmp(o.events, ref->o.events) != 0)
		fail_check(sw, C_EVENTS, "%s: '%s', want '%s'", tag, o.events, ref->o.events);
	if (!o.hist_ok || o.inbox || o.timers || o.others)
		fail_check(sw, C_CLEAN, "%s: history %s, %zu inbox, %zu timers, %zu other records",
		    tag, o.hist_ok ? "complete" : "with gaps", o.inbox, o.timers, o.others);
	{
		char final_want[64];
		const char *sp = strchr(ref->o.status, ' ');

		snprintf(final_want, sizeof(final_want), "%s", sp ? sp + 1 : "");
		check_done(sw, tag, final_want, g_sh->log, quiet_from);
	}
	check_actions(sw, tag, ref, g_sh->log, quiet_from);
	outcome_free(&o);
	for (c = 0; c < C__COUNT; c++)
		nbad += sw->bad[c];
	if (nbad == bad_before || sw->kept++ >= 3)
		etu_rmtree(dir);
	else
		diag("%s %s: store kept in %s", sw->label, tag, dir);
	free(dir);
	return recov;
}

static void
report(const struct sweep *sw)
{
	int c;

	for (c = 0; c < C__COUNT; c++) {
		if (c == C_QUIET && !sw->quiet)
			continue;
		if (c == C_KILL)
			ok(sw->bad[c] == 0, "%s: %d cases, %d kills (%d children finished before "
			    "their point: fewer turns that time): %s", sw->label, sw->cases,
			    sw->nkill, sw->nshort, check_what[c]);
		else
			ok(sw->bad[c] == 0, "%s: %s (%d of %d cases differ)", sw->label,
			    check_what[c], sw->bad[c], sw->cases);
	}
}

static void
reference_run(const struct mcase *mc, struct reference *ref)
{
	char *dir = etu_tmpdir("sm_crash_steps_ref");
	struct outcome again;
	int status, i, nk[4] = { 0, 0, 0, 0 }, ends = 0;

	memset(ref, 0, sizeof(*ref));
	g_sh->nlog = 0;
	status = run_gen(mc, dir, STORE_DURABLE_PROCESS, 1, 0);
	if (!exited_ok(status))
		bail_out("%s: the uninterrupted run failed (status 0x%x)", mc->name, status);
	ref->nprobe = g_sh->nprobe;
	memcpy(ref->kinds, g_sh->kinds, sizeof(ref->kinds));
	ref->nlog = g_sh->nlog;
	memcpy(ref->log, g_sh->log, sizeof(ref->log));
	if (read_outcome(dir, &ref->o) != 0)
		bail_out("%s: reference store unreadable", mc->name);
	etu_rmtree(dir);
	free(dir);
	for (i = 0; i < ref->nprobe && i < MAX_PROBES; i++)
		nk[ref->kinds[i] & 3]++;
	for (i = 0; i < ref->nlog; i++)
		ends += ref->log[i].what == 'E';
	ok(ref->nprobe > 0 && ref->nprobe < MAX_PROBES && strncmp(ref->o.status, "done ", 5) == 0,
	    "%s: uninterrupted run ends in '%s' after %d fault points (%d before a commit, %d "
	    "after a commit, %d before an effect)", mc->name, ref->o.status, ref->nprobe,
	    nk[SM_PROBE_BEFORE_COMMIT], nk[SM_PROBE_AFTER_COMMIT], nk[SM_PROBE_BEFORE_EFFECT]);
	is_int(ends, 1, "%s: completion callback seen once", mc->name);
	ok(ref->o.hist_ok && !ref->o.inbox && !ref->o.timers && !ref->o.others,
	    "%s: the reference store is clean", mc->name);

	/* the reference must be deterministic, or nothing below means anything */
	dir = etu_tmpdir("sm_crash_steps_ref");
	g_sh->nlog = 0;
	status = run_gen(mc, dir, STORE_DURABLE_PROCESS, 1, 0);
	if (!exited_ok(status) || read_outcome(dir, &again) != 0)
		bail_out("%s: the second uninterrupted run failed", mc->name);
	ok(strcmp(again.session, ref->o.session) == 0 &&
	    strcmp(again.history, ref->o.history) == 0 &&
	    strcmp(again.retries, ref->o.retries) == 0,
	    "%s: a second uninterrupted run is identical (%d fault points)", mc->name,
	    g_sh->nprobe);
	outcome_free(&again);
	etu_rmtree(dir);
	free(dir);
}

static void
run_machine(struct mcase *mc)
{
	static struct reference ref;
	struct sweep sw;
	int n, m, total = 0;
	uint64_t t0 = sm_time_mono_ms();

	mc->m = etu_load(*mc->xml, mc->name);
	reference_run(mc, &ref);

	/* every fault point, durability PROCESS (kill -9 is a process crash) */
	memset(&sw, 0, sizeof(sw));
	snprintf(sw.label, sizeof(sw.label), "%s, kill at each point, %s", mc->name,
	    durability_name(STORE_DURABLE_PROCESS));
	sw.quiet = 1;
	for (n = 1; n <= ref.nprobe; n++)
		ref.recov[n] = run_case(&sw, mc, &ref, STORE_DURABLE_PROCESS, n, 0, 0);
	report(&sw);
	total += sw.cases;

	/* the same with FULL (every commit synced) at every other point: the
	 * recovery does not depend on the durability, the store's files do */
	memset(&sw, 0, sizeof(sw));
	snprintf(sw.label, sizeof(sw.label), "%s, kill at every other point, %s", mc->name,
	    durability_name(STORE_DURABLE_FULL));
	for (n = 1; n <= ref.nprobe; n += 2)
		run_case(&sw, mc, &ref, STORE_DURABLE_FULL, n, 0, 0);
	report(&sw);
	total += sw.cases;

	/* kills during recovery: every fault point of the recovering child's
	 * first turn */
	memset(&sw, 0, sizeof(sw));
	snprintf(sw.label, sizeof(sw.label), "%s, then a kill while recovering", mc->name);
	sw.quiet = 1;
	for (n = 1; n <= ref.nprobe; n++)
		for (m = 1; m <= ref.recov[n]; m++)
			run_case(&sw, mc, &ref, STORE_DURABLE_PROCESS, n, m, 0);
	report(&sw);
	total += sw.cases;

	if (mc->overdue) {
		memset(&sw, 0, sizeof(sw));
		snprintf(sw.label, sizeof(sw.label), "%s, kill at each point, recover when every "
		    "timer is overdue", mc->name);
		for (n = 1; n <= ref.nprobe; n++)
			run_case(&sw, mc, &ref, STORE_DURABLE_PROCESS, n, 0, OVERDUE_WAIT_MS);
		report(&sw);
		total += sw.cases;
	}
	diag("%s: %d cases in %.1f s", mc->name, total,
	    (double)(sm_time_mono_ms() - t0) / 1000.0);
	outcome_free(&ref.o);
	sm_machine_free(mc->m);
	mc->m = NULL;
}

int
main(void)
{
	const char *only = getenv("SM_CRASH_STEPS_ONLY");
	size_t i;
	uint64_t t0 = sm_time_mono_ms();

	plan_no_plan();
	sm_log_init(stderr, SM_LOG_ERROR, "test_crash_steps");
	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_sh == MAP_FAILED)
		bail_out("mmap failed");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!only || strcmp(only, cases[i].name) == 0)
			run_machine(&cases[i]);
	diag("all machines in %.1f s", (double)(sm_time_mono_ms() - t0) / 1000.0);
	munmap(g_sh, sizeof(*g_sh));
	return done_testing();
}
