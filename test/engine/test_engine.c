/*
 * test_engine.c - the engine runtime: descriptor matching, durations, retry
 * arithmetic, the action registry, actions finishing/failing/retrying/being
 * cancelled, and persistence (close the engine, reopen from the store,
 * continue, same outcome; timers and retry counts survive a restart; the
 * end of an instance reported again after a crash until acknowledged;
 * overdue timers fire in due order after a restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_interp_private.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "store.h"
#include "tap.h"

#include "engine_test_util.h"

/* ---- a scriptable action --------------------------------------------------- */

#define MAX_CALLS 16

struct script {
	/* per attempt (1-based): 0 succeed, 1 fail with fail_error, 2 hang */
	int plan[MAX_CALLS];
	const char *fail_error;
	int attempts_seen[MAX_CALLS];
	uint64_t start_ms[MAX_CALLS];
	int nstarts;
	int ncancels;
	struct sm_action_call *hanging;
	json_t *last_params;
};

static int
script_start(struct sm_action_call *call)
{
	struct script *s = sm_action_call_arg(call);
	int a = sm_action_call_attempt(call);
	int what = a < MAX_CALLS ? s->plan[a] : 0;

	if (s->nstarts < MAX_CALLS) {
		s->attempts_seen[s->nstarts] = a;
		s->start_ms[s->nstarts] = sm_time_mono_ms();
	}
	s->nstarts++;
	json_decref(s->last_params);
	s->last_params = json_deep_copy(sm_action_call_params(call));
	if (what == 0) {
		json_t *r = json_pack("{s:i,s:O}", "attempt", a, "params",
		    sm_action_call_params(call));

		sm_action_done(call, r);
		json_decref(r);
	} else if (what == 1) {
		sm_action_fail(call, s->fail_error, "scripted failure");
	} else {
		s->hanging = call;
	}
	return 0;
}

static void
script_cancel(struct sm_action_call *call)
{
	struct script *s = sm_action_call_arg(call);

	s->ncancels++;
	if (s->hanging == call)
		s->hanging = NULL;
}

/* ---- helpers ------------------------------------------------------------------ */

struct env {
	struct sm_loop *loop;
	struct store *st;
	struct sm_engine *e;
	struct sm_machine *m;
	struct script sc;
	int done;
	int exit_on_done;  /* the done callback ends the process (a crash there) */
	char final_id[64];
	json_t *donedata;
};

static void
on_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd,
    void *arg)
{
	struct env *v = arg;

	(void)e;
	(void)id;
	if (v->exit_on_done)
		_exit(42);
	v->done++;
	snprintf(v->final_id, sizeof(v->final_id), "%s", final_id);
	json_decref(v->donedata);
	v->donedata = dd ? json_incref(dd) : NULL;
}

static void
env_open(struct env *v, const char *dir, const char *xml)
{
	struct sm_error err;
	struct sm_action_def def = { "script", script_start, script_cancel, &v->sc };

	sm_loop_create(&v->loop);
	if (dir) {
		struct store_options o;

		store_options_init(&o);
		o.durability = STORE_DURABLE_PROCESS;
		if (store_open(&v->st, dir, &o, &err) != 0)
			bail_out("store_open: %s", err.msg);
	}
	if (sm_engine_create(&v->e, v->loop, v->st, &err) != 0)
		bail_out("engine: %s", err.msg);
	sm_engine_register_action(v->e, &def);
	sm_engine_on_done(v->e, on_done, v);
	if (!v->m)
		v->m = etu_load(xml, "test.scxml");
	sm_engine_add_machine(v->e, v->m);
}

static void
env_close(struct env *v, int keep_machine)
{
	sm_engine_destroy(v->e);
	v->e = NULL;
	if (v->st)
		store_close(v->st);
	v->st = NULL;
	sm_loop_destroy(v->loop);
	v->loop = NULL;
	if (!keep_machine) {
		sm_machine_free(v->m);
		v->m = NULL;
	}
}

/* The end of a case: what the script and on_done kept, the engine, the
 * store, the loop and the machine. */
static void
env_free(struct env *v)
{
	json_decref(v->sc.last_params);
	json_decref(v->donedata);
	env_close(v, 0);
}

/* Run the loop until the instance is done or `ms` pass. */
static void
run_for(struct env *v, uint64_t ms, int until_done)
{
	struct sm_error err;
	uint64_t end = sm_time_mono_ms() + ms;

	sm_engine_flush(v->e, &err);
	while (sm_time_mono_ms() < end) {
		if (until_done && v->done)
			break;
		sm_loop_run_once(v->loop, 20);
		sm_engine_flush(v->e, &err);
	}
}

static json_t *
dm_get(struct env *v, const char *id, const char *key)
{
	json_t *dm = sm_engine_instance_datamodel(v->e, id);
	json_t *r = dm ? json_incref(json_object_get(dm, key)) : NULL;

	json_decref(dm);
	return r;
}

/* ---- unit tests --------------------------------------------------------------- */

static void
test_matching(void)
{
	static char d_foo[] = "foo", d_foostar[] = "foo.*", d_star[] = "*", d_ab[] = "a.b",
	    d_c[] = "c";
	char *foo[] = { d_foo, NULL };
	char *foostar[] = { d_foostar, NULL };
	char *star[] = { d_star, NULL };
	char *multi[] = { d_ab, d_c, NULL };

	ok(sm__event_match(foo, "foo"), "'foo' matches foo");
	ok(sm__event_match(foo, "foo.bar"), "'foo' matches foo.bar");
	ok(!sm__event_match(foo, "foos"), "'foo' does not match foos");
	ok(!sm__event_match(foo, "fo"), "'foo' does not match fo");
	ok(sm__event_match(foostar, "foo.bar.baz"), "'foo.*' matches foo.bar.baz");
	ok(sm__event_match(foostar, "foo"), "'foo.*' matches foo");
	ok(!sm__event_match(foostar, "foobar"), "'foo.*' does not match foobar");
	ok(sm__event_match(star, "anything.at.all"), "'*' matches all");
	ok(sm__event_match(multi, "c.d"), "second descriptor matches");
	ok(!sm__event_match(multi, "a"), "'a.b' does not match a");
	ok(!sm__event_match(NULL, "x"), "eventless matches no event");
}

static void
test_retry_math(void)
{
	static char e_timeout[] = "error.timeout", e_io[] = "error.io";
	char *on[] = { e_timeout, e_io, NULL };
	struct sm_retry r = { 5, 1000, 2.0, 5000, 0, NULL };
	int i, inside = 1, varied = 0;
	int64_t first = -1;

	is_int(sm_retry_delay_ms(&r, 1, 0), 1000, "after attempt 1: initial delay");
	is_int(sm_retry_delay_ms(&r, 2, 0), 2000, "after attempt 2: doubled");
	is_int(sm_retry_delay_ms(&r, 3, 0), 4000, "after attempt 3: doubled again");
	is_int(sm_retry_delay_ms(&r, 4, 0), 5000, "after attempt 4: capped at max delay");
	is_int(sm_retry_delay_ms(&r, 60, 0), 5000, "huge attempt numbers stay capped");
	r.backoff_rate = 1.5;
	is_int(sm_retry_delay_ms(&r, 2, 0), 1500, "rate 1.5");
	r.jitter = 1;
	r.backoff_rate = 2.0;
	for (i = 0; i < 1000; i++) {
		int64_t d = sm_retry_delay_ms(&r, 3, (uint64_t)i * 2654435761u + 12345);

		if (d < 0 || d > 4000)
			inside = 0;
		if (first < 0)
			first = d;
		else if (d != first)
			varied = 1;
	}
	ok(inside, "full jitter stays in [0, 4000]");
	ok(varied, "full jitter varies");

	ok(sm_retry_should(&r, 1, "error.timeout"), "attempt 1 of 5 retried");
	ok(sm_retry_should(&r, 4, "error.io"), "attempt 4 of 5 retried");
	ok(!sm_retry_should(&r, 5, "error.io"), "attempt 5 of 5 not retried");
	r.errors = on;
	ok(sm_retry_should(&r, 1, "error.timeout"), "retry-on lists error.timeout");
	ok(sm_retry_should(&r, 1, "error.io.read"), "retry-on matches by token prefix");
	ok(!sm_retry_should(&r, 1, "error.execution"), "error.execution not in retry-on");
	ok(!sm_retry_should(&r, 1, "error.timeouts"), "no partial-token match");
	r.max_attempts = 1;
	r.errors = NULL;
	ok(!sm_retry_should(&r, 1, "error.io"), "attempts=1 never retries");
}

static void
test_registry(void)
{
	struct sm_loop *loop;
	struct sm_engine *e;
	struct sm_error err;
	struct sm_action_def def = { "a", script_start, NULL, NULL };
	struct sm_action_def bad = { "", script_start, NULL, NULL };
	struct sm_action_def nostart = { "b", NULL, NULL, NULL };

	sm_loop_create(&loop);
	sm_engine_create(&e, loop, NULL, &err);
	is_int(sm_engine_register_action(e, &def), 0, "register 'a'");
	is_int(sm_engine_register_action(e, &def), SM_EEXISTS, "second 'a' refused");
	is_int(sm_engine_register_action(e, &bad), SM_EINVAL, "empty name refused");
	is_int(sm_engine_register_action(e, &nostart), SM_EINVAL, "no start function refused");
	ok(sm_engine_action_known(e, "a"), "'a' known");
	ok(!sm_engine_action_known(e, "b"), "'b' unknown");
	sm_engine_destroy(e);
	sm_loop_destroy(loop);
}

/* ---- actions ------------------------------------------------------------------ */

static const char *action_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='work'>"
    " <datamodel><data id='result' expr='null'/><data id='error' expr='null'/></datamodel>"
    " <state id='work'>"
    "  <invoke id='job' type='urn:smd:scxml:1' src='script' sm:attempts='3' sm:delay='100ms'"
    "   sm:backoff='2.0' sm:max-delay='1s' sm:jitter='none' sm:retry-on='error.timeout'>"
    "   <param name='site' expr='task.site'/>"
    "   <param name='n' expr='1 + 1'/>"
    "  </invoke>"
    "  <transition event='done.invoke.job' target='ok'>"
    "   <assign location='result' expr='_event.data'/>"
    "  </transition>"
    "  <transition event='error.invoke.job' target='failed'>"
    "   <assign location='error' expr='_event.data'/>"
    "  </transition>"
    "  <transition event='leave' target='left'/>"
    " </state>"
    " <final id='ok'/><final id='failed'/><final id='left'/>"
    "</scxml>";

static void
test_action_done(void)
{
	struct env v;
	struct sm_error err;
	json_t *task = json_pack("{s:s}", "site", "walmart"), *res;

	memset(&v, 0, sizeof(v));
	env_open(&v, NULL, action_machine);
	is_int(sm_engine_start(v.e, v.m, "t1", task, &err), 0, "start t1");
	is_int(sm_engine_start(v.e, v.m, "t1", task, &err), SM_EEXISTS, "same id refused");
	run_for(&v, 2000, 1);
	is_str(v.final_id, "ok", "action success reaches 'ok'");
	is_int(v.sc.nstarts, 1, "one start");
	is_int(v.sc.attempts_seen[0], 1, "attempt 1");
	res = dm_get(&v, "t1", "result");
	is_str(json_string_value(json_object_get(json_object_get(res, "params"), "site")), "walmart",
	    "params reach the action and come back in _event.data");
	is_int((int)json_integer_value(json_object_get(json_object_get(res, "params"), "n")), 2,
	    "param expressions are evaluated");
	json_decref(res);
	is_int(sm_engine_post(v.e, "t1", "x", NULL), SM_ENOTFOUND, "post to a finished instance");
	is_int(sm_engine_post(v.e, "nope", "x", NULL), SM_ENOTFOUND, "post to an unknown instance");
	json_decref(task);
	env_free(&v);
}

static void
test_action_retry(void)
{
	struct env v;
	struct sm_error err;
	json_t *e;
	uint64_t d1, d2;

	/* fails twice with a retried error, then succeeds on attempt 3 */
	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 1;
	v.sc.plan[2] = 1;
	v.sc.fail_error = "error.timeout";
	env_open(&v, NULL, action_machine);
	sm_engine_start(v.e, v.m, "r1", NULL, &err);
	run_for(&v, 3000, 1);
	is_str(v.final_id, "ok", "succeeds on the third attempt");
	is_int(v.sc.nstarts, 3, "three starts");
	is_int(v.sc.attempts_seen[0], 1, "attempt numbers: 1");
	is_int(v.sc.attempts_seen[1], 2, "attempt numbers: 2");
	is_int(v.sc.attempts_seen[2], 3, "attempt numbers: 3");
	d1 = v.sc.start_ms[1] - v.sc.start_ms[0];
	d2 = v.sc.start_ms[2] - v.sc.start_ms[1];
	/* the delays are lower bounds (a timer never fires early); the upper
	 * bound only catches a wrong unit: a loaded machine fires late */
	ok(d1 >= 95 && d1 < 5000, "first backoff ~100ms (got %llu)", (unsigned long long)d1);
	ok(d2 >= 195 && d2 < 5000, "second backoff ~200ms (got %llu)", (unsigned long long)d2);
	env_free(&v);

	/* all three attempts fail: error.invoke.job with attempt 3 */
	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = v.sc.plan[2] = v.sc.plan[3] = 1;
	v.sc.fail_error = "error.timeout";
	env_open(&v, NULL, action_machine);
	sm_engine_start(v.e, v.m, "r2", NULL, &err);
	run_for(&v, 3000, 1);
	is_str(v.final_id, "failed", "gives up after sm:attempts");
	is_int(v.sc.nstarts, 3, "exactly three starts");
	e = dm_get(&v, "r2", "error");
	is_str(json_string_value(json_object_get(e, "error")), "error.timeout",
	    "_event.data.error names the error");
	is_int((int)json_integer_value(json_object_get(e, "attempt")), 3, "_event.data.attempt");
	json_decref(e);
	env_free(&v);

	/* an error outside sm:retry-on is not retried */
	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 1;
	v.sc.fail_error = "error.io";
	env_open(&v, NULL, action_machine);
	sm_engine_start(v.e, v.m, "r3", NULL, &err);
	run_for(&v, 2000, 1);
	is_str(v.final_id, "failed", "error.io is not in retry-on: fails at once");
	is_int(v.sc.nstarts, 1, "one start only");
	env_free(&v);
}

static void
test_action_cancel(void)
{
	struct env v;
	struct sm_error err;

	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 2; /* hangs */
	env_open(&v, NULL, action_machine);
	sm_engine_start(v.e, v.m, "c1", NULL, &err);
	run_for(&v, 100, 0);
	ok(v.sc.hanging != NULL, "action is in flight");
	sm_engine_post(v.e, "c1", "leave", NULL);
	run_for(&v, 500, 1);
	is_str(v.final_id, "left", "leaving the state ends the instance");
	is_int(v.sc.ncancels, 1, "the action was cancelled");
	ok(v.sc.hanging == NULL, "cancel released the call");
	env_free(&v);
}

static void
test_unknown_action(void)
{
	const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task' initial='w'>"
	    " <datamodel><data id='err' expr='null'/></datamodel>"
	    " <state id='w'>"
	    "  <invoke id='j' type='urn:smd:scxml:1' src='not_registered'/>"
	    "  <transition event='error.invoke.j' target='f'><assign location='err' expr='_event.data'/></transition>"
	    " </state><final id='f'/></scxml>";
	struct env v;
	struct sm_error err;
	json_t *e;

	memset(&v, 0, sizeof(v));
	env_open(&v, NULL, xml);
	sm_engine_start(v.e, v.m, "u1", NULL, &err);
	run_for(&v, 1000, 1);
	is_str(v.final_id, "f", "an unregistered action gives error.invoke");
	e = dm_get(&v, "u1", "err");
	like_str(json_string_value(json_object_get(e, "message")), "not_registered",
	    "the message names the action");
	json_decref(e);
	json_decref(v.donedata);
	env_close(&v, 0);
}

/* ---- persistence ------------------------------------------------------------- */

static const char *persist_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='a'>"
    " <datamodel><data id='log' expr=\"''\"/><data id='res' expr='null'/></datamodel>"
    " <state id='a'>"
    "  <transition event='step' target='b'><assign location='log' expr=\"log + 'a'\"/></transition>"
    " </state>"
    " <state id='b' initial='b1'>"
    "  <onentry><assign location='log' expr=\"log + 'b'\"/></onentry>"
    "  <invoke id='job' type='urn:smd:scxml:1' src='script' sm:attempts='4' sm:delay='300ms'"
    "   sm:jitter='none'><param name='k' expr='log'/></invoke>"
    "  <state id='b1'><transition event='step' target='b2'/></state>"
    "  <state id='b2'/>"
    "  <transition event='done.invoke.job' target='c'><assign location='res' expr='_event.data'/></transition>"
    "  <transition event='error.invoke.job' target='bad'/>"
    " </state>"
    " <state id='c'>"
    "  <onentry><send event='tick' delay='300ms'/></onentry>"
    "  <transition event='tick' target='end'><assign location='log' expr=\"log + 't'\"/></transition>"
    " </state>"
    " <final id='end'/><final id='bad'/>"
    "</scxml>";

static int
count_history(struct store *st, const char *id)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *val;
	size_t kl, vl, idl = strlen(id);
	int n = 0, rc;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return -1;
	store_cursor_open(txn, STORE_T_HISTORY, &c);
	for (rc = store_cursor_seek(c, id, idl, &k, &kl, &val, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &val, &vl)) {
		if (kl != idl + 9 || memcmp(k, id, idl) != 0)
			break;
		n++;
	}
	store_cursor_close(c);
	store_txn_abort(txn);
	return n;
}

static void
test_persistence(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v, ref;
	struct sm_error err;
	struct sm_instance_status stt;
	json_t *ref_log, *log, *res;
	int hist;

	/* reference: one uninterrupted run (the action hangs on attempt 1, then
	 * is completed by hand) */
	memset(&ref, 0, sizeof(ref));
	ref.sc.plan[1] = 2;
	env_open(&ref, NULL, persist_machine);
	sm_engine_start(ref.e, ref.m, "p1", NULL, &err);
	sm_engine_post(ref.e, "p1", "step", NULL);
	sm_engine_post(ref.e, "p1", "step", NULL);
	run_for(&ref, 100, 0);
	ok(ref.sc.hanging != NULL, "reference: action in flight");
	if (ref.sc.hanging)
		sm_action_done(ref.sc.hanging, NULL);
	run_for(&ref, 2000, 1);
	is_str(ref.final_id, "end", "reference run ends in 'end'");
	ref_log = dm_get(&ref, "p1", "log");

	/* the same with a restart while the action is in flight */
	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 2;
	v.sc.plan[2] = 2;
	env_open(&v, dir, persist_machine);
	is_int(sm_engine_start(v.e, v.m, "p1", NULL, &err), 0, "start persisted instance");
	sm_engine_post(v.e, "p1", "step", NULL);
	sm_engine_post(v.e, "p1", "step", NULL);
	run_for(&v, 100, 0);
	ok(v.sc.hanging != NULL, "action in flight before the restart");
	is_int(v.sc.attempts_seen[0], 1, "first run: attempt 1");
	hist = count_history(v.st, "p1");
	is_int(hist, 3, "three history records: start and two events");
	env_close(&v, 1); /* the engine goes away; the store keeps the instance */
	v.sc.hanging = NULL;

	env_open(&v, dir, persist_machine);
	is_int(sm_engine_instance_status(v.e, "p1", &stt), 0, "stored instance visible");
	is_int(stt.state, SM_INSTANCE_RUNNING, "still running");
	is_int(sm_engine_start(v.e, v.m, "p1", NULL, &err), SM_EEXISTS,
	    "a stored id cannot be started again");
	is_int(sm_engine_recover(v.e, &err), 0, "recover");
	run_for(&v, 100, 0);
	{
		json_t *conf = sm_engine_instance_config(v.e, "p1");
		char *t = json_dumps(conf, JSON_COMPACT);

		is_str(t, "[\"b\",\"b2\"]", "configuration restored exactly");
		free(t);
		json_decref(conf);
	}
	is_int(v.sc.nstarts, 2, "the in-flight action was restarted");
	is_int(v.sc.attempts_seen[1], 2, "with attempt 2 (the count continues)");
	is_str(json_string_value(json_object_get(v.sc.last_params, "k")), "ab",
	    "with its original params");
	if (v.sc.hanging)
		sm_action_done(v.sc.hanging, NULL);
	/* close again while the delayed 'tick' is pending, wait past its due time */
	run_for(&v, 50, 0);
	env_close(&v, 1);
	usleep(400 * 1000);
	env_open(&v, dir, persist_machine);
	sm_engine_recover(v.e, &err);
	run_for(&v, 2000, 1);
	is_str(v.final_id, "end", "after two restarts the instance ends in 'end'");
	log = dm_get(&v, "p1", "log");
	ok(json_equal(log, ref_log), "same datamodel as the uninterrupted run ('%s')",
	    json_string_value(log));
	res = dm_get(&v, "p1", "res");
	ok(res && json_is_null(res), "done.invoke data restored as null");
	json_decref(res);
	json_decref(log);
	run_for(&v, 50, 0);
	env_close(&v, 1);

	/* finished: status from the store, nothing reloaded */
	env_open(&v, dir, persist_machine);
	sm_engine_recover(v.e, &err);
	is_int(sm_engine_instance_status(v.e, "p1", &stt), 0, "finished instance readable");
	is_int(stt.state, SM_INSTANCE_DONE, "status done");
	is_str(stt.final_id, "end", "final id stored");
	is_int((int)sm_engine_running_count(v.e), 0, "nothing running after recovery");
	is_int(count_history(v.st, "p1"), 5,
	    "history: start, step, step, done.invoke.job, tick (a restart adds none)");
	env_close(&v, 0);

	json_decref(ref_log);
	json_decref(ref.donedata);
	json_decref(ref.sc.last_params);
	json_decref(v.sc.last_params);
	json_decref(v.donedata);
	env_close(&ref, 0);
	etu_rmtree(dir);
	free(dir);
}

static void
test_retry_survives_restart(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;

	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 1; /* attempt 1 fails: retry in 300ms */
	v.sc.fail_error = "error.io";
	env_open(&v, dir, persist_machine);
	sm_engine_start(v.e, v.m, "q1", NULL, &err);
	sm_engine_post(v.e, "q1", "step", NULL);
	run_for(&v, 50, 0);
	is_int(v.sc.nstarts, 1, "attempt 1 ran and failed");
	env_close(&v, 1);

	json_decref(v.sc.last_params);
	memset(&v.sc, 0, sizeof(v.sc));
	env_open(&v, dir, persist_machine);
	sm_engine_recover(v.e, &err);
	run_for(&v, 150, 0);
	is_int(v.sc.nstarts, 0, "the retry waits for its persisted timer");
	run_for(&v, 2000, 1);
	is_int(v.sc.nstarts, 1, "the retry ran once after the restart");
	is_int(v.sc.attempts_seen[0], 2, "as attempt 2");
	is_str(v.final_id, "end", "and the instance finished");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

static void
test_machine_from_store(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct sm_action_def def = { "script", script_start, script_cancel, NULL };
	struct store_options o;

	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 2;
	env_open(&v, dir, persist_machine);
	sm_engine_start(v.e, v.m, "s1", NULL, &err);
	sm_engine_post(v.e, "s1", "step", NULL);
	run_for(&v, 50, 0);
	env_close(&v, 0); /* the machine object is gone too */
	json_decref(v.sc.last_params);

	/* a new engine that knows no machine: the stored document is used */
	memset(&v, 0, sizeof(v));
	def.arg = &v.sc;
	sm_loop_create(&v.loop);
	store_options_init(&o);
	store_open(&v.st, dir, &o, &err);
	sm_engine_create(&v.e, v.loop, v.st, &err);
	sm_engine_register_action(v.e, &def);
	sm_engine_on_done(v.e, on_done, &v);
	is_int(sm_engine_recover(v.e, &err), 0, "recover without the machine registered");
	run_for(&v, 50, 0);
	is_int(v.sc.nstarts, 1, "the action restarted from the stored machine");
	is_int(v.sc.attempts_seen[0], 2, "as attempt 2");
	if (v.sc.hanging)
		sm_action_done(v.sc.hanging, NULL);
	run_for(&v, 2000, 1);
	is_str(v.final_id, "end", "the instance finishes on the stored machine");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

static void
test_inbox(void)
{
	const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null' initial='a'>"
	    " <state id='a'><transition event='go' target='f'/></state><final id='f'/></scxml>";
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, xml);
	sm_engine_start(v.e, v.m, "in1", NULL, &err);
	sm_engine_start(v.e, v.m, "in2", NULL, &err);
	run_for(&v, 20, 0);
	sm_engine_post(v.e, "in1", "noise", NULL);
	sm_engine_post(v.e, "in1", "go", NULL);
	sm_engine_post(v.e, "in1", "after", NULL);
	sm_engine_post(v.e, "in2", "noise", NULL);
	run_for(&v, 50, 0);
	is_int(v.done, 1, "in1 finished");
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "in1", NULL, 0), 0,
	    "no inbox record left behind by a finished instance");
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "in2", NULL, 0), 0,
	    "consumed events leave the inbox");
	is_int(etu_count_prefix(v.st, STORE_T_HISTORY, "in1", NULL, 0), 3, "in1: start, noise, go");
	is_int(etu_count_prefix(v.st, STORE_T_HISTORY, "in2", NULL, 0), 2, "in2: start, noise");
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

static void
test_child_restart(void)
{
	const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task' initial='p'>"
	    " <datamodel><data id='hellos' expr='0'/></datamodel>"
	    " <state id='p'>"
	    "  <invoke id='kid' type='scxml' autoforward='true'><content>"
	    "   <scxml version='1.0' datamodel='null' initial='k0'>"
	    "    <state id='k0'><onentry><send target='#_parent' event='hello'/></onentry>"
	    "     <transition event='go' target='kf'/></state>"
	    "    <final id='kf'/></scxml>"
	    "  </content></invoke>"
	    "  <transition event='hello'><assign location='hellos' expr='hellos + 1'/></transition>"
	    "  <transition event='done.invoke.kid' target='end'/>"
	    " </state><final id='end'/></scxml>";
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *h;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, xml);
	sm_engine_start(v.e, v.m, "k1", NULL, &err);
	run_for(&v, 50, 0);
	h = dm_get(&v, "k1", "hellos");
	is_int((int)json_integer_value(h), 1, "the child said hello once");
	json_decref(h);
	env_close(&v, 1);

	env_open(&v, dir, xml);
	sm_engine_recover(v.e, &err);
	run_for(&v, 50, 0);
	h = dm_get(&v, "k1", "hellos");
	is_int((int)json_integer_value(h), 1,
	    "after a restart the child is restored from its record, not restarted (one hello)");
	json_decref(h);
	sm_engine_post(v.e, "k1", "go", NULL);
	run_for(&v, 1000, 1);
	is_str(v.final_id, "end", "the restored child gets autoforwarded events and ends");
	json_decref(v.donedata);
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/* ---- hostile persisted data ---------------------------------------------------- */

/*
 * An invocation whose outcome was committed is not started again by
 * recovery: the machine stays in the invoking state after done.invoke (an
 * action and a child session), the process stops, and the recovered
 * instance must not get a second done.invoke of either.
 */
static void
test_finished_invoke_restart(void)
{
	const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task' initial='w'>"
	    " <datamodel><data id='dones' expr='0'/><data id='kids' expr='0'/></datamodel>"
	    " <state id='w'>"
	    "  <invoke id='job' type='urn:smd:scxml:1' src='script'/>"
	    "  <invoke id='kid'><content>"
	    "   <scxml version='1.0' datamodel='null' initial='kf'><final id='kf'/></scxml>"
	    "  </content></invoke>"
	    "  <transition event='done.invoke.job'><assign location='dones' expr='dones + 1'/></transition>"
	    "  <transition event='done.invoke.kid'><assign location='kids' expr='kids + 1'/></transition>"
	    "  <transition event='next' target='end'/>"
	    " </state><final id='end'/></scxml>";
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *d, *k;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, xml);
	sm_engine_start(v.e, v.m, "fi", NULL, &err);
	run_for(&v, 50, 0);
	d = dm_get(&v, "fi", "dones");
	k = dm_get(&v, "fi", "kids");
	ok(v.sc.nstarts == 1 && json_integer_value(d) == 1 && json_integer_value(k) == 1,
	    "the action and the child session reported once (starts %d, dones %d, kids %d)",
	    v.sc.nstarts, (int)json_integer_value(d), (int)json_integer_value(k));
	json_decref(d);
	json_decref(k);
	env_close(&v, 1);

	json_decref(v.sc.last_params);
	memset(&v.sc, 0, sizeof(v.sc));
	env_open(&v, dir, xml);
	sm_engine_recover(v.e, &err);
	run_for(&v, 50, 0);
	d = dm_get(&v, "fi", "dones");
	k = dm_get(&v, "fi", "kids");
	is_int(v.sc.nstarts, 0, "after a restart the finished action is not started again");
	is_int(json_integer_value(d), 1, "no second done.invoke of the action");
	is_int(json_integer_value(k), 1, "no second done.invoke of the child (not started again)");
	json_decref(d);
	json_decref(k);
	sm_engine_post(v.e, "fi", "next", NULL);
	run_for(&v, 1000, 1);
	is_str(v.final_id, "end", "the instance goes on");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

static void
test_hostile_state(void)
{
	static const char *bad[] = {
		"[]",
		"{}",
		"{\"config\": 5}",
		"{\"config\": [\"nope\"]}",
		"{\"config\": [7]}",
		"{\"config\": [], \"history\": {\"zz\": []}}",
		"{\"config\": [], \"history\": {\"a\": 3}}",
		"{\"config\": [], \"history\": {\"a\": [\"ghost\"]}}",
		"{\"config\": [], \"invocations\": [{\"id\": \"j\", \"state\": \"b\", \"index\": 9}]}",
		"{\"config\": [], \"invocations\": [{\"id\": \"j\", \"state\": \"b\", \"index\": -1}]}",
		"{\"config\": [], \"invocations\": [{\"state\": \"b\", \"index\": 0}]}",
		"{\"config\": [], \"invocations\": [{\"id\": \"j\", \"state\": \"a\", \"index\": 0}]}",
		NULL
	};
	struct sm_machine *m = etu_load(persist_machine, "test.scxml");
	struct sm_session *s;
	struct sm_error err;
	size_t i;

	for (i = 0; bad[i]; i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		int rc;

		sm__session_create(m, "h", NULL, &s, &err);
		sm_error_clear(&err);
		rc = sm__session_restore(s, j, &err);
		ok(rc != 0 && err.msg[0], "corrupt state refused: %s (%s)", bad[i], err.msg);
		sm__session_free(s);
		json_decref(j);
	}
	{
		json_t *j = json_loads("{\"config\": [\"b\", \"b1\"], \"running\": true,"
		    " \"datamodel\": {\"log\": \"x\"}, \"send_seq\": \"bogus\"}", 0, NULL);

		sm__session_create(m, "h", NULL, &s, &err);
		is_int(sm__session_restore(s, j, &err), 0, "a valid state with odd extras restores");
		ok(sm__session_running(s), "and runs");
		sm__session_free(s);
		json_decref(j);
	}
	{
		static const char *evs[] = { "[]", "{}", "{\"name\": 3}", "5", NULL };
		json_t *j;
		struct sm_event *ev;

		for (i = 0; evs[i]; i++) {
			j = json_loads(evs[i], JSON_DECODE_ANY, NULL);
			ok(sm__event_from_json(j) == NULL, "bad event refused: %s", evs[i]);
			json_decref(j);
		}
		j = json_loads("{\"name\": \"x\", \"data\": [1], \"sendid\": 4, \"type\": \"weird\"}",
		    0, NULL);
		ev = sm__event_from_json(j);
		ok(ev && strcmp(ev->name, "x") == 0 && !ev->sendid && ev->type == SM_EV_EXTERNAL,
		    "odd members of an event are ignored");
		sm__event_free(ev);
		json_decref(j);
	}
	sm_machine_free(m);
}

/*
 * Hostile task values: what sm_engine_start accepts must come back from the
 * store unchanged after a restart (a NUL inside a string, a big document,
 * deep nesting); what it cannot store it must refuse at start.
 */
static json_t *
nested(int depth)
{
	json_t *j = json_string("bottom"), *o;
	int i;

	for (i = 0; i < depth; i++) {
		o = json_array();
		json_array_append_new(o, j);
		j = o;
	}
	return j;
}

static void
test_hostile_task(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *nul, *big, *deep, *deeper, *edge, *got, *dm;
	char *blob = malloc(4u << 20);
	int rc;

	memset(blob, 'x', (4u << 20) - 1);
	blob[(4u << 20) - 1] = '\0';
	nul = json_pack("{s:s%}", "s", "a\0b\0c", (size_t)5);
	big = json_pack("{s:s}", "blob", blob);
	deep = json_pack("{s:o}", "d", nested(799));
	deeper = json_pack("{s:o}", "d", nested(10000));
	edge = json_pack("{s:o}", "d", nested(899));
	free(blob);

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, persist_machine);
	is_int(sm_engine_start(v.e, v.m, "nul", nul, &err), 0, "task with NUL in a string starts");
	is_int(sm_engine_start(v.e, v.m, "big", big, &err), 0, "4 MB task starts");
	is_int(sm_engine_start(v.e, v.m, "deep", deep, &err), 0, "task nested 800 deep starts");
	sm_error_clear(&err);
	rc = sm_engine_start(v.e, v.m, "deeper", deeper, &err);
	is_int(rc, SM_ETOOBIG, "task nested 10000 deep is refused at start");
	like_str(err.msg, "nested deeper than 899 levels", "with a message saying the limit");
	sm_error_clear(&err);
	is_int(sm_engine_start(v.e, v.m, "edge", edge, &err), SM_ETOOBIG,
	    "task nested 900 deep is refused (the datamodel adds a level)");
	is_int(sm_engine_post(v.e, "big", "step", deeper), SM_ETOOBIG,
	    "event data nested 10000 deep is refused by post");
	run_for(&v, 50, 0);
	env_close(&v, 1);

	env_open(&v, dir, persist_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "recover hostile tasks");
	dm = sm_engine_instance_datamodel(v.e, "nul");
	got = dm ? json_object_get(dm, "task") : NULL;
	ok(got && json_equal(got, nul), "NUL in a string survives a restart");
	json_decref(dm);
	dm = sm_engine_instance_datamodel(v.e, "big");
	got = dm ? json_object_get(dm, "task") : NULL;
	ok(got && json_equal(got, big), "4 MB task survives a restart");
	json_decref(dm);
	dm = sm_engine_instance_datamodel(v.e, "deep");
	got = dm ? json_object_get(dm, "task") : NULL;
	ok(got && json_equal(got, deep), "800-deep task survives a restart");
	json_decref(dm);
	is_int(sm_engine_post(v.e, "nul", "step", NULL), 0, "the NUL instance runs on");
	run_for(&v, 50, 0);
	json_decref(v.sc.last_params);
	env_close(&v, 0);
	json_decref(nul);
	json_decref(big);
	json_decref(deep);
	json_decref(deeper);
	json_decref(edge);
	etu_rmtree(dir);
	free(dir);
}

static void
test_hostile_store(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct store_batch *b;
	static const char *recs[][2] = {
		{ "junk", "not json" },
		{ "nomachine", "{\"id\": \"nomachine\", \"status\": \"running\", \"machine\": \"00\"}" },
		{ "noid", "{\"status\": \"running\"}" },
		{ "badsession", NULL },
	};
	size_t i;
	char hash[65], *bs;
	FILE *logf;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, persist_machine);
	sm_machine_hash_hex(v.m, hash);
	/* a real instance first, so the machine is stored */
	sm_engine_start(v.e, v.m, "good", NULL, &err);
	run_for(&v, 20, 0);
	store_batch_create(&b);
	for (i = 0; i < 3; i++)
		store_batch_put(b, STORE_T_INSTANCES, recs[i][0], strlen(recs[i][0]), recs[i][1],
		    strlen(recs[i][1]));
	bs = NULL;
	if (asprintf(&bs, "{\"id\": \"badsession\", \"status\": \"running\", \"machine\": \"%s\","
	    " \"session\": {\"config\": [\"ghost\"]}}", hash) > 0)
		store_batch_put(b, STORE_T_INSTANCES, "badsession", 10, bs, strlen(bs));
	free(bs);
	/* a valid record of a newer format: skipped, not misread */
	bs = NULL;
	if (asprintf(&bs, "{\"v\": 99, \"id\": \"future\", \"status\": \"running\","
	    " \"machine\": \"%s\", \"session\": {\"config\": [\"a\"], \"running\": true,"
	    " \"datamodel\": {\"log\": \"\", \"res\": null}}}", hash) > 0)
		store_batch_put(b, STORE_T_INSTANCES, "future", 6, bs, strlen(bs));
	free(bs);
	/* a valid record stored under another key, and a key that could forge
	 * a log line */
	bs = NULL;
	if (asprintf(&bs, "{\"id\": \"other\", \"status\": \"running\","
	    " \"machine\": \"%s\", \"session\": {\"config\": [\"a\"], \"running\": true,"
	    " \"datamodel\": {\"log\": \"\", \"res\": null}}}", hash) > 0)
		store_batch_put(b, STORE_T_INSTANCES, "copied", 6, bs, strlen(bs));
	free(bs);
	store_batch_put(b, STORE_T_INSTANCES, "evil\nengine: forged", 19, "{", 1);
	store_batch_put(b, STORE_T_INBOX, "x", 1, "y", 1);
	is_int(store_batch_commit(v.st, b, &err), 0, "hostile records written");
	store_batch_destroy(b);
	env_close(&v, 1);

	env_open(&v, dir, persist_machine);
	logf = tmpfile();
	sm_log_init(logf, SM_LOG_WARN, "test_engine");
	is_int(sm_engine_recover(v.e, &err), 0, "recovery survives corrupt records");
	sm_log_init(stderr, SM_LOG_WARN, "test_engine");
	{
		char text[8192];
		size_t n;

		rewind(logf);
		n = fread(text, 1, sizeof(text) - 1, logf);
		text[n] = 0;
		like_str(text, "instance record 'noid' has no machine or does not name its own id: "
		    "skipped", "a record without an id is logged");
		like_str(text, "instance record 'copied' has no machine or does not name its own "
		    "id", "a record under another instance's key is logged");
		like_str(text, "instance record 'evil\\x0aengine: forged' is not json",
		    "a control character in a key is escaped in the log");
		ok(strstr(text, "\nengine: forged") == NULL, "the key cannot forge a log line");
		fclose(logf);
	}
	is_int((int)sm_engine_running_count(v.e), 1, "only the good instance is loaded");
	ok(sm_engine_instance_config(v.e, "badsession") == NULL, "the corrupt one is skipped");
	ok(sm_engine_instance_config(v.e, "other") == NULL,
	    "a record stored under another key is not loaded");
	ok(sm_engine_instance_config(v.e, "future") == NULL,
	    "a record of a newer format is skipped");
	sm_engine_post(v.e, "good", "step", NULL);
	run_for(&v, 50, 0);
	{
		json_t *c = sm_engine_instance_config(v.e, "good");
		char *t = json_dumps(c, JSON_COMPACT);

		is_str(t, "[\"c\"]", "the good instance still runs (step, action, done)");
		free(t);
		json_decref(c);
	}
	json_decref(v.sc.last_params);
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/* ---- machines that never settle ------------------------------------------------ */

static void
test_runaway(void)
{
	const char *loop_xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null' initial='a'>"
	    " <state id='a'><transition target='b'/><transition event='x' target='f'/></state>"
	    " <state id='b'><transition target='a'/></state>"
	    " <final id='f'/></scxml>";
	const char *busy_xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null' initial='a'>"
	    " <state id='a'>"
	    "  <onentry><send event='ping'/><send event='stop' delay='200ms'/></onentry>"
	    "  <transition event='ping'><send event='ping'/></transition>"
	    "  <transition event='stop' target='f'/>"
	    " </state><final id='f'/></scxml>";
	struct env v;
	struct sm_error err;
	uint64_t t0;

	memset(&v, 0, sizeof(v));
	env_open(&v, NULL, loop_xml);
	sm_engine_start(v.e, v.m, "loop", NULL, &err);
	t0 = sm_time_mono_ms();
	run_for(&v, 3000, 1);
	ok(v.done == 1, "an eventless loop is stopped instead of hanging");
	is_str(v.final_id, "", "without a final state");
	ok(sm_time_mono_ms() - t0 < 3000, "within the time limit");
	is_int(sm_engine_forget(v.e, "loop"), 0, "a finished instance can be forgotten");
	is_int(sm_engine_forget(v.e, "loop"), SM_ENOTFOUND, "once");
	ok(sm_engine_instance_config(v.e, "loop") == NULL, "it is gone from memory");
	json_decref(v.donedata);
	env_close(&v, 0);

	memset(&v, 0, sizeof(v));
	env_open(&v, NULL, busy_xml);
	sm_engine_start(v.e, v.m, "busy", NULL, &err);
	is_int(sm_engine_forget(v.e, "busy"), SM_EBUSY, "a running instance cannot be forgotten");
	t0 = sm_time_mono_ms();
	while (!v.done && sm_time_mono_ms() - t0 < 3000)
		sm_loop_run_once(v.loop, 1000); /* the prepare hook alone drives it */
	is_str(v.final_id, "f", "a machine that keeps sending itself events does not starve timers");
	json_decref(v.donedata);
	env_close(&v, 0);

	{
		const char *storm_xml =
		    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null' initial='a'>"
		    " <state id='a'>"
		    "  <onentry><send event='ping'/></onentry>"
		    "  <transition event='ping'><send event='ping'/><send event='ping'/></transition>"
		    "  <transition event='stop' target='f'/>"
		    " </state><final id='f'/></scxml>";

		memset(&v, 0, sizeof(v));
		env_open(&v, NULL, storm_xml);
		sm_engine_start(v.e, v.m, "storm", NULL, &err);
		t0 = sm_time_mono_ms();
		while (!v.done && sm_time_mono_ms() - t0 < 20000)
			sm_loop_run_once(v.loop, 100);
		ok(v.done == 1, "an event storm (each event sends two) stops the instance");
		is_str(v.final_id, "", "without a final state");
		json_decref(v.donedata);
		env_close(&v, 0);
	}
}

/*
 * A delayed send with an id, armed before a restart, is cancelled by
 * <cancel> of the same session after the restart: the recovered timer must
 * be found by its sendid, and never fire.
 */
static const char *cancel_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null'"
    " initial='s0'>"
    " <state id='s0'>"
    "  <onentry><send event='late' id='t1' delay='400ms'/></onentry>"
    "  <transition event='stop' target='s1'/>"
    "  <transition event='late' target='fail'/>"
    " </state>"
    " <state id='s1'>"
    "  <onentry><cancel sendid='t1'/><send event='ok' delay='700ms'/></onentry>"
    "  <transition event='late' target='fail'/>"
    "  <transition event='ok' target='pass'/>"
    " </state>"
    " <final id='pass'/><final id='fail'/>"
    "</scxml>";

static void
test_cancel_after_restart(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, cancel_machine);
	is_int(sm_engine_start(v.e, v.m, "c1", NULL, &err), 0, "cancel: start");
	run_for(&v, 50, 0);
	env_close(&v, 1); /* 'late' (id t1) is armed and stored */

	env_open(&v, dir, cancel_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "cancel: recover");
	is_int(sm_engine_post(v.e, "c1", "stop", NULL), 0, "cancel: post stop");
	run_for(&v, 2000, 1);
	is_str(v.final_id, "pass", "a delayed send armed before a restart is cancelled "
	    "by its sendid after it");
	json_decref(v.donedata);
	sm_engine_forget(v.e, "c1"); /* acknowledged: its end is not reported again */
	run_for(&v, 50, 0);
	env_close(&v, 1);

	/* and the cancelled timer is gone from the store: a second recovery
	 * of the finished instance fires nothing */
	v.done = 0;
	env_open(&v, dir, cancel_machine);
	sm_engine_recover(v.e, &err);
	run_for(&v, 600, 0);
	is_int(v.done, 0, "nothing fires for the finished instance");
	is_int((int)sm_engine_running_count(v.e), 0, "nothing running");
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/*
 * binding="late": a state's <data> get their value when it is first
 * entered, and only then; which states were bound survives a restart (a
 * restart before the entry binds it after, one after it does not bind it
 * again).
 */
static const char *late_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " binding='late' initial='s0'>"
    " <datamodel><data id='a' expr='1'/></datamodel>"
    " <state id='s0'>"
    "  <transition event='go' cond='b == null' target='s1'>"
    "   <assign location='a' expr='5'/></transition>"
    "  <transition event='go' target='fail'/>"
    " </state>"
    " <state id='s1'>"
    "  <datamodel><data id='b' expr='a + 1'/><data id='c'>[7]</data></datamodel>"
    "  <onentry><assign location='b' expr='b * 10'/></onentry>"
    "  <transition event='next' target='s2'/>"
    "  <transition event='check' cond='b == 600 &amp;&amp; c[0] == 7' target='pass'/>"
    "  <transition event='check' target='fail'/>"
    " </state>"
    " <state id='s2'><transition event='back' target='s1'/></state>"
    " <final id='pass'/><final id='fail'/>"
    "</scxml>";

static void
test_late_binding_restart(void)
{
	static const char *const steps[] = { "go", "next", "back", "check" };
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *b;
	size_t i;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, late_machine);
	is_int(sm_engine_start(v.e, v.m, "late", NULL, &err), 0, "late binding: start");
	run_for(&v, 50, 0);
	b = dm_get(&v, "late", "b");
	ok(json_is_null(b), "late binding: b is null before its state is entered");
	json_decref(b);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		env_close(&v, 1);
		env_open(&v, dir, late_machine);
		is_int(
		    sm_engine_recover(v.e, &err), 0, "late binding: recover before '%s'", steps[i]);
		is_int(sm_engine_post(v.e, "late", steps[i], NULL), 0, "late binding: post '%s'",
		    steps[i]);
		run_for(&v, i + 1 < sizeof(steps) / sizeof(steps[0]) ? 100 : 2000, 1);
		if (i == 0) {
			b = dm_get(&v, "late", "b");
			is_int(json_integer_value(b), 60,
			    "late binding: b = a + 1 with the "
			    "a of the entry, then * 10 by onentry");
			json_decref(b);
		}
	}
	is_str(v.final_id, "pass",
	    "late binding: entering s1 again after restarts does "
	    "not bind its data again (b == 600)");
	json_decref(v.donedata);
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/*
 * A child machine loaded when it was invoked (<content expr>: its markup
 * held in a variable) is loaded again from the invocation's record when
 * its parent is recovered, and runs on from its own record.
 */
static const char *content_expr_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='s0'>"
    " <datamodel><data id='doc'/></datamodel>"
    " <state id='s0'>"
    "  <onentry><assign location='doc'><scxml version='1.0' datamodel='task'>"
    "   <state id='w'><transition event='bye' target='f'/></state>"
    "   <final id='f'><donedata><content expr='\"child \" + _sessionid'/></donedata></final>"
    "  </scxml></assign></onentry>"
    "  <invoke id='kid'><content expr='doc'/></invoke>"
    "  <transition event='poke'><send target='#_kid' event='bye'/></transition>"
    "  <transition event='done.invoke.kid' target='pass'>"
    "   <assign location='doc' expr='_event.data'/></transition>"
    " </state>"
    " <final id='pass'/>"
    "</scxml>";

static void
test_content_expr_restart(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *d;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, content_expr_machine);
	is_int(sm_engine_start(v.e, v.m, "ce", NULL, &err), 0, "content expr: start");
	run_for(&v, 100, 0);
	ok(!v.done, "content expr: the child waits");
	{
		/* the stored datamodel leaves the derived system variables out */
		struct store_txn *txn;
		const void *val;
		size_t vl;
		json_t *rec = NULL, *dm;

		if (store_txn_begin(v.st, STORE_TXN_READ, &txn, NULL) == 0) {
			if (store_get(txn, STORE_T_INSTANCES, "ce", 2, &val, &vl) == 0)
				rec = json_loadb(val, vl, 0, NULL);
			store_txn_abort(txn);
		}
		dm = json_object_get(json_object_get(rec, "session"), "datamodel");
		ok(json_is_object(dm) && json_object_get(dm, "doc") &&
		        json_object_get(dm, "_event") && !json_object_get(dm, "_sessionid") &&
		        !json_object_get(dm, "_name") && !json_object_get(dm, "_ioprocessors"),
		    "the record's datamodel has _event, not _sessionid, _name, _ioprocessors "
		    "(derived: a restored session has them, see its done data below)");
		json_decref(rec);
	}
	env_close(&v, 1);
	env_open(&v, dir, content_expr_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "content expr: recover");
	is_int(sm_engine_post(v.e, "ce", "poke", NULL), 0, "content expr: poke");
	run_for(&v, 2000, 1);
	is_str(v.final_id, "pass",
	    "a child loaded from <content expr> is reloaded after a "
	    "restart and ends when told");
	d = dm_get(&v, "ce", "doc");
	is_str(json_string_value(d), "child ce/kid",
	    "its done data came from the restored child "
	    "(with its _sessionid)");
	json_decref(d);
	json_decref(v.donedata);
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/* An action whose result is too deep to store: the call fails instead. */
static int
deep_start(struct sm_action_call *call)
{
	json_t *r = nested(2000);

	sm_action_done(call, r);
	json_decref(r);
	return 0;
}

static void
test_deep_result(void)
{
	static const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
	    " initial='w'>"
	    " <datamodel><data id='err' expr='null'/></datamodel>"
	    " <state id='w'>"
	    "  <invoke id='j' type='urn:smd:scxml:1' src='deep'/>"
	    "  <transition event='done.invoke.j' target='stored'/>"
	    "  <transition event='error.invoke.j' target='refused'>"
	    "   <assign location='err' expr='_event.data.error'/></transition>"
	    " </state>"
	    " <final id='stored'/><final id='refused'/>"
	    "</scxml>";
	struct sm_action_def def = { "deep", deep_start, NULL, NULL };
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	json_t *e;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, xml);
	sm_engine_register_action(v.e, &def);
	is_int(sm_engine_start(v.e, v.m, "d1", NULL, &err), 0, "deep result: start");
	run_for(&v, 1000, 1);
	is_str(v.final_id, "refused", "a result nested 2000 deep fails the invoke");
	e = dm_get(&v, "d1", "err");
	is_str(json_string_value(e), "error.execution", "with error.execution");
	json_decref(e);
	json_decref(v.donedata);
	env_close(&v, 0);
	etu_rmtree(dir);
	free(dir);
}

/*
 * A delayed send named like a retry timer ("retry:<invokeid>") is not taken
 * for one: after a restart the in-flight action is restarted.
 */
static void
test_retry_name_clash(void)
{
	static const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null'"
	    " initial='w'>"
	    " <state id='w'>"
	    "  <onentry><send event='late' id='retry:job' delay='5s'/></onentry>"
	    "  <invoke id='job' type='urn:smd:scxml:1' src='script'/>"
	    "  <transition event='done.invoke.job' target='end'/>"
	    "  <transition event='late' target='end'/>"
	    " </state>"
	    " <final id='end'/>"
	    "</scxml>";
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;

	memset(&v, 0, sizeof(v));
	v.sc.plan[1] = 2; /* attempt 1 hangs */
	env_open(&v, dir, xml);
	sm_engine_start(v.e, v.m, "rc1", NULL, &err);
	run_for(&v, 50, 0);
	is_int(v.sc.nstarts, 1, "name clash: attempt 1 in flight");
	env_close(&v, 1);
	v.sc.hanging = NULL;
	json_decref(v.sc.last_params);
	memset(&v.sc, 0, sizeof(v.sc));
	env_open(&v, dir, xml);
	sm_engine_recover(v.e, &err);
	run_for(&v, 1000, 1);
	is_int(v.sc.nstarts, 1, "a send named 'retry:job' does not stop the restart of 'job'");
	is_int(v.sc.attempts_seen[0], 2, "restarted as attempt 2");
	is_str(v.final_id, "end", "and the instance ends");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* <log> text from the task goes to the default sink as one escaped line. */
static void
test_log_escaped(void)
{
	static const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
	    " initial='a'>"
	    " <state id='a'><onentry><log label='site' expr='task.s'/></onentry>"
	    "  <transition target='end'/></state>"
	    " <final id='end'/>"
	    "</scxml>";
	struct env v;
	struct sm_error err;
	json_t *task = json_pack("{s:s}", "s", "x\n2026-01-01T00:00:00.000Z forged\033[2J\\y");
	FILE *logf = tmpfile();
	char text[4096];
	size_t n;

	memset(&v, 0, sizeof(v));
	env_open(&v, NULL, xml);
	sm_log_init(logf, SM_LOG_INFO, "test_engine");
	sm_engine_start(v.e, v.m, "l1", task, &err);
	run_for(&v, 200, 1);
	sm_log_init(stderr, SM_LOG_WARN, "test_engine");
	rewind(logf);
	n = fread(text, 1, sizeof(text) - 1, logf);
	text[n] = 0;
	like_str(text, "l1: log: site: x\\x0a2026-01-01T00:00:00.000Z forged\\x1b[2J\\x5cy\n",
	    "log text escaped on one line");
	ok(strchr(text, '\033') == NULL, "no raw escape character in the log");
	fclose(logf);
	json_decref(task);
	json_decref(v.donedata);
	env_close(&v, 0);
}

/* ---- the done callback survives a crash after the last commit ---------------- */

static const char *done_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='a'>"
    " <state id='a'><transition event='go' target='end'/></state>"
    " <final id='end'><donedata><param name='x' expr='41 + 1'/></donedata></final>"
    "</scxml>";

static void
test_done_after_crash(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct sm_instance_status stt;
	pid_t pid;
	int status = 0;

	/* the child is killed (exits) inside the done callback: after the
	 * commit of the final macrostep, before the daemon could act on it */
	pid = fork();
	if (pid == 0) {
		memset(&v, 0, sizeof(v));
		v.exit_on_done = 1;
		env_open(&v, dir, done_machine);
		if (sm_engine_start(v.e, v.m, "d1", NULL, &err) != 0)
			_exit(1);
		sm_engine_post(v.e, "d1", "go", NULL);
		run_for(&v, 5000, 1);
		_exit(2);
	}
	waitpid(pid, &status, 0);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 42,
	    "child ended inside the done callback");

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, done_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "recover");
	run_for(&v, 200, 1);
	is_int(v.done, 1, "the unacknowledged end is reported after recovery");
	is_str(v.final_id, "end", "with its final state");
	is_int((int)json_integer_value(json_object_get(v.donedata, "x")), 42,
	    "and its donedata");
	is_int((int)sm_engine_running_count(v.e), 0, "nothing runs");
	is_int(sm_engine_instance_status(v.e, "d1", &stt), 0, "status readable");
	is_int(stt.state, SM_INSTANCE_DONE, "status done");

	/* not acknowledged yet: a second restart reports it again */
	env_close(&v, 1);
	v.done = 0;
	env_open(&v, dir, done_machine);
	sm_engine_recover(v.e, &err);
	run_for(&v, 200, 1);
	is_int(v.done, 1, "reported again while not acknowledged");
	is_int(sm_engine_forget(v.e, "d1"), 0, "forget acknowledges it");
	run_for(&v, 50, 0);
	env_close(&v, 1);

	v.done = 0;
	env_open(&v, dir, done_machine);
	sm_engine_recover(v.e, &err);
	run_for(&v, 200, 0);
	is_int(v.done, 0, "an acknowledged end is not reported again");
	is_int(sm_engine_instance_status(v.e, "d1", &stt), 0, "stored status readable");
	is_int(stt.state, SM_INSTANCE_DONE, "still done");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* ---- overdue timers after recovery -------------------------------------------- */

static const char *timers_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='a'>"
    " <datamodel><data id='seen' expr=\"''\"/></datamodel>"
    " <state id='a'>"
    "  <onentry><send event='B' delay='400ms'/><send event='A' delay='200ms'/>"
    "   <send event='C' delay='300ms'/><send event='D' delay='300ms'/></onentry>"
    "  <transition event='A'><assign location='seen' expr=\"seen + 'A'\"/></transition>"
    "  <transition event='B'><assign location='seen' expr=\"seen + 'B'\"/></transition>"
    "  <transition event='C'><assign location='seen' expr=\"seen + 'C'\"/></transition>"
    "  <transition event='D'><assign location='seen' expr=\"seen + 'D'\"/>"
    "   <send event='E' delay='1500ms'/></transition>"
    "  <transition event='E' target='end'><assign location='seen' expr=\"seen + 'E'\"/>"
    "  </transition>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
timers_case(const char *dir, int restart_ms, const char *what)
{
	struct env v;
	struct sm_error err;
	json_t *dm;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, timers_machine);
	sm_engine_start(v.e, v.m, "t1", NULL, &err);
	run_for(&v, 30, 0);
	env_close(&v, 1);
	if (restart_ms)
		usleep((useconds_t)restart_ms * 1000);
	env_open(&v, dir, timers_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "recover (%s)", what);
	run_for(&v, 3000, 1);
	is_str(v.final_id, "end", "instance ended (%s)", what);
	dm = sm_engine_instance_datamodel(v.e, "t1");
	is_str(json_string_value(json_object_get(dm, "seen")), "ACDBE",
	    "timers fired in due order, ties in the order they were armed (%s)", what);
	json_decref(dm);
	env_free(&v);
}

static void
test_timer_order(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	char *dir2 = etu_tmpdir("sm_engine_test");

	timers_case(dir, 600, "all overdue at recovery");
	timers_case(dir2, 250, "A overdue, the others pending");
	etu_rmtree(dir);
	etu_rmtree(dir2);
	free(dir);
	free(dir2);
}

/* max_restarts: an instance whose action was in flight across more daemon
 * restarts than allowed gets error.restarts (counted in its record). */
static const char *restart_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='work'>"
    " <datamodel><data id='why' expr='null'/></datamodel>"
    " <state id='work'>"
    "  <invoke id='job' type='urn:smd:scxml:1' src='script'/>"
    "  <transition event='done.invoke.job' target='end'/>"
    "  <transition event='error.restarts' target='gave_up'>"
    "   <assign location='why' expr='_event.data'/></transition>"
    " </state>"
    " <final id='end'/><final id='gave_up'/>"
    "</scxml>";

static json_t *stored_instance(struct store *st, const char *id);

static void
test_max_restarts(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct sm_instance_status stt;
	json_t *why;

	for (int limit = 0; limit <= 2; limit += 2) {
		etu_rmtree(dir);
		mkdir(dir, 0700);
		memset(&v, 0, sizeof(v));
		for (int i = 1; i < 8; i++)
			v.sc.plan[i] = 2; /* every attempt hangs: a task that crashes smd */
		env_open(&v, dir, restart_machine);
		sm_engine_start(v.e, v.m, limit ? "r2" : "r0", NULL, &err);
		run_for(&v, 50, 0);
		for (int round = 1; round <= 3; round++) {
			env_close(&v, 1);
			json_decref(v.sc.last_params);
			memset(&v.sc, 0, sizeof(v.sc));
			for (int i = 1; i < 8; i++)
				v.sc.plan[i] = 2;
			env_open(&v, dir, restart_machine);
			sm_engine_set_max_restarts(v.e, (unsigned)limit);
			sm_engine_recover(v.e, &err);
			run_for(&v, 100, 0);
			sm_engine_instance_status(v.e, limit ? "r2" : "r0", &stt);
			if (limit && round == 3) {
				is_int(stt.state, SM_INSTANCE_DONE, "restart 3 of max 2: the instance ends");
				is_str(stt.final_id, "gave_up", "through error.restarts");
				why = dm_get(&v, "r2", "why");
				is_int((int)json_integer_value(json_object_get(why, "restarts")), 3,
				    "the event says 3 restarts");
				is_int((int)json_integer_value(json_object_get(why, "max")), 2,
				    "and the limit");
				json_decref(why);
				ok(v.sc.ncancels == v.sc.nstarts, "no action of it is left running "
				    "(%d started, %d cancelled)", v.sc.nstarts, v.sc.ncancels);
			} else
				is_int(stt.state, SM_INSTANCE_RUNNING, "limit %d, restart %d: still running",
				    limit, round);
		}
		if (limit) {
			json_t *rec;

			/* its end is reported again after a restart; acknowledging it
			 * rewrites the record, which keeps its restart count */
			env_close(&v, 1);
			json_decref(v.sc.last_params);
			json_decref(v.donedata);
			memset(&v.sc, 0, sizeof(v.sc));
			v.donedata = NULL;
			v.done = 0;
			env_open(&v, dir, restart_machine);
			sm_engine_recover(v.e, &err);
			run_for(&v, 100, 1);
			ok(v.done, "the end is reported again after a restart");
			is_int(sm_engine_forget(v.e, "r2"), 0, "and acknowledged");
			sm_engine_flush(v.e, &err);
			rec = stored_instance(v.st, "r2");
			ok(json_is_true(json_object_get(rec, "acked")), "the record says acked");
			is_int(json_integer_value(json_object_get(rec, "restarts")), 3,
			    "and keeps its 3 restarts");
			json_decref(rec);
		}
		env_close(&v, 0);
		json_decref(v.sc.last_params);
		json_decref(v.donedata);
	}
	etu_rmtree(dir);
	free(dir);
}

/* ---- one instance at the map maximum, records that cannot be written ---------- */

/* The stored record of instance `id` (new ref) or NULL. */
static json_t *
stored_instance(struct store *st, const char *id)
{
	struct store_txn *txn;
	const void *val;
	size_t vl;
	json_t *j = NULL;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return NULL;
	if (store_get(txn, STORE_T_INSTANCES, id, strlen(id), &val, &vl) == 0)
		j = json_loadb(val, vl, 0, NULL);
	store_txn_abort(txn);
	return j;
}

static const char *pair_machine =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='a'>"
    " <datamodel><data id='x' expr=\"'0123456789abcdef'\"/><data id='n' expr='0'/>"
    "  <data id='y' expr='0'/></datamodel>"
    " <state id='a'>"
    "  <transition event='dbl'><assign location='x' expr='x + x'/></transition>"
    "  <transition event='grow'><assign location='x' expr='x + x'/>"
    "   <send event='grow' delay='5ms'/></transition>"
    "  <transition event='poke'><assign location='y' expr='y + 1'/></transition>"
    "  <transition event='tick' cond='n &lt; 9'><assign location='n' expr='n + 1'/>"
    "   <send event='tick' delay='20ms'/></transition>"
    "  <transition event='tick' target='end'/>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

/* Open `dir` with a map of 1 MiB growing to at most `max`. */
static void
env_open_max(struct env *v, const char *dir, size_t max)
{
	struct sm_error err;
	struct store_options o;

	store_options_init(&o);
	o.durability = STORE_DURABLE_PROCESS;
	o.map_size = (size_t)1 << 20;
	o.map_size_max = max;
	if (store_open(&v->st, dir, &o, &err) != 0)
		bail_out("store_open: %s", err.msg);
	env_open(v, NULL, pair_machine);
	sm_engine_destroy(v->e); /* again, on the store opened here */
	if (sm_engine_create(&v->e, v->loop, v->st, &err) != 0)
		bail_out("engine: %s", err.msg);
	sm_engine_on_done(v->e, on_done, v);
	sm_engine_add_machine(v->e, v->m);
}

/* Instance `id` failed, its record says so and why (`why` in "error"), and
 * its history records agree with the stored hist_seq, without gaps. */
static void
check_failed(struct env *v, const char *id, const char *why, const char *what)
{
	struct sm_instance_status stt;
	json_t *rec = stored_instance(v->st, id);

	is_int(sm_engine_instance_status(v->e, id, &stt), 0, "%s: %s known", what, id);
	is_int(stt.state, SM_INSTANCE_FAILED, "%s: %s failed", what, id);
	is_str(json_string_value(json_object_get(rec, "status")), "failed",
	    "%s: its record says failed", what);
	like_str(json_string_value(json_object_get(rec, "error")), why, "%s: and why", what);
	is_int(count_history(v->st, id), (int)json_integer_value(json_object_get(rec, "hist_seq")),
	    "%s: as many history records as the stored hist_seq says", what);
	json_decref(rec);
}

static void
test_map_maximum(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct sm_instance_status stt;
	int i;

	memset(&v, 0, sizeof(v));
	env_open_max(&v, dir, (size_t)16 << 20);
	sm_engine_start(v.e, v.m, "hog", NULL, &err);
	sm_engine_start(v.e, v.m, "calm", NULL, &err);
	sm_engine_post(v.e, "hog", "grow", NULL);
	sm_engine_post(v.e, "calm", "tick", NULL);
	for (i = 0; i < 300 && !v.done; i++)
		run_for(&v, 10, 0);
	run_for(&v, 3000, 0);
	is_int(sm_engine_instance_status(v.e, "calm", &stt), 0, "map maximum: calm known");
	is_int(stt.state, SM_INSTANCE_DONE, "map maximum: the other instance went on and ended");
	check_failed(&v, "hog", "maximum map size", "map maximum (the instance that fills it)");
	is_int(v.done, 2, "map maximum: the done callback came for both");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

#if !defined(__SANITIZE_ADDRESS__)
/* Allocation failure injection: realloc of more than this many bytes fails
 * (0: off).  The engine's record writer grows its buffer with realloc. */
static size_t realloc_limit;
extern void *__libc_realloc(void *p, size_t n);

void *realloc(void *p, size_t n);
void *
realloc(void *p, size_t n)
{
	if (realloc_limit && n > realloc_limit)
		return NULL;
	return __libc_realloc(p, n);
}
#endif

static void
test_record_unwritable(void)
{
	char *dir = etu_tmpdir("sm_engine_test");
	struct env v;
	struct sm_error err;
	struct sm_instance_status stt;
	int i;

#if defined(__SANITIZE_ADDRESS__)
	ok(1, "# SKIP realloc cannot be replaced under AddressSanitizer");
	free(dir);
	return;
#endif
	memset(&v, 0, sizeof(v));
	env_open_max(&v, dir, (size_t)1 << 30);
	sm_engine_start(v.e, v.m, "big", NULL, &err);
	sm_engine_start(v.e, v.m, "calm", NULL, &err);
	for (i = 0; i < 17; i++) /* x: 16 bytes -> 2 MiB */
		sm_engine_post(v.e, "big", "dbl", NULL);
	run_for(&v, 100, 0);
	/* a record of 2 MiB cannot be written any more; calm's are small */
#if !defined(__SANITIZE_ADDRESS__)
	realloc_limit = (size_t)3 << 20;
#endif
	sm_engine_post(v.e, "big", "poke", NULL);
	sm_engine_post(v.e, "calm", "tick", NULL);
	run_for(&v, 50, 0);
#if !defined(__SANITIZE_ADDRESS__)
	realloc_limit = 0;
#endif
	check_failed(&v, "big", "serialized", "unwritable (the instance whose state cannot be saved)");
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "big", NULL, 0), 0,
	    "unwritable: nothing is left waiting in its inbox");
	run_for(&v, 3000, 0);
	is_int(sm_engine_instance_status(v.e, "calm", &stt), 0, "unwritable: calm known");
	is_int(stt.state, SM_INSTANCE_DONE, "unwritable: the other instance went on and ended");
	env_close(&v, 1);

	/* after a restart: the failure is reported (not acknowledged), nothing runs */
	v.done = 0;
	env_open(&v, dir, pair_machine);
	is_int(sm_engine_recover(v.e, &err), 0, "unwritable: recover");
	run_for(&v, 200, 0);
	is_int(v.done, 2, "unwritable: both ends are reported again after recovery");
	is_int((int)sm_engine_running_count(v.e), 0, "unwritable: nothing runs");
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}


int
main(void)
{
	plan_no_plan();
	sm_log_init(stderr, SM_LOG_WARN, "test_engine");
	test_matching();
	test_retry_math();
	test_registry();
	test_action_done();
	test_action_retry();
	test_action_cancel();
	test_unknown_action();
	test_persistence();
	test_retry_survives_restart();
	test_cancel_after_restart();
	test_late_binding_restart();
	test_content_expr_restart();
	test_retry_name_clash();
	test_machine_from_store();
	test_inbox();
	test_child_restart();
	test_finished_invoke_restart();
	test_hostile_state();
	test_hostile_task();
	test_deep_result();
	test_log_escaped();
	test_hostile_store();
	test_runaway();
	test_done_after_crash();
	test_timer_order();
	test_max_restarts();
	test_map_maximum();
	test_record_unwritable();
	return done_testing();
}
