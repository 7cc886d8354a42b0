/*
 * test_engine_child.c - child SCXML sessions are persisted with their
 * parent: close the engine mid-conversation (what a kill -9 leaves is the
 * last commit; engine destroy writes nothing more), reopen, recover, and
 * the conversation goes on where the last commit left it, with no event
 * between parent and child lost or duplicated.  Also: the stored layout
 * (child record "<parent>/<invokeid>", its inbox), cleanup when a child
 * ends or is cancelled, and instance id checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "store.h"
#include "tap.h"

#include "engine_test_util.h"

struct env {
	struct sm_loop *loop;
	struct store *st;
	struct sm_engine *e;
	struct sm_machine *m;
	char final_id[128];
	json_t *donedata;
	int done;
	int halted;      /* the 'halt' action was started */
	const char *snap; /* if set: snap_probe copies the store here */
	int snaps;        /* copies made by snap_probe */
};

static void
on_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd,
    void *arg)
{
	struct env *v = arg;

	(void)e;
	(void)id;
	v->done++;
	snprintf(v->final_id, sizeof(v->final_id), "%s", final_id);
	json_decref(v->donedata);
	v->donedata = dd ? json_deep_copy(dd) : NULL;
}

/* 'halt': never reports. */
static int
halt_start(struct sm_action_call *call)
{
	struct env *v = sm_action_call_arg(call);

	v->halted++;
	return 0;
}

/* Copy the store to v->snap right after the first commit: what a kill -9
 * at that instant leaves behind. */
static void
snap_probe(struct sm_engine *e, enum sm_probe_kind kind, uint64_t n, void *arg)
{
	struct env *v = arg;
	char cmd[1024];

	(void)e;
	(void)n;
	if (kind != SM_PROBE_AFTER_COMMIT || v->snaps++ > 0)
		return;
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/store' && cp '%s/data.mdb' '%s/store/'",
	    v->snap, store_path(v->st), v->snap);
	if (system(cmd) != 0)
		bail_out("cannot snapshot the store: %s", cmd);
}

static void
env_open(struct env *v, const char *dir, const char *xml)
{
	struct sm_error err;
	struct store_options o;
	struct sm_action_def def = { "halt", halt_start, NULL, v };

	v->halted = 0;
	if (sm_loop_create(&v->loop) != 0)
		bail_out("loop");
	store_options_init(&o);
	o.durability = STORE_DURABLE_PROCESS;
	if (store_open(&v->st, dir, &o, &err) != 0)
		bail_out("store_open: %s", err.msg);
	if (sm_engine_create(&v->e, v->loop, v->st, &err) != 0)
		bail_out("engine: %s", err.msg);
	sm_engine_register_action(v->e, &def);
	sm_engine_on_done(v->e, on_done, v);
	if (!v->m)
		v->m = etu_load(xml, "child.scxml");
	sm_engine_add_machine(v->e, v->m);
}

static void
env_close(struct env *v)
{
	sm_engine_destroy(v->e);
	store_close(v->st);
	sm_loop_destroy(v->loop);
	v->e = NULL;
	v->st = NULL;
	v->loop = NULL;
}

static void
env_free(struct env *v)
{
	sm_machine_free(v->m);
	json_decref(v->donedata);
	memset(v, 0, sizeof(*v));
}

/* Run until done (or halted, if stop_on_halt) or `ms` pass. */
static void
run_for(struct env *v, uint64_t ms, int stop_on_halt)
{
	struct sm_error err;
	uint64_t end = sm_time_mono_ms() + ms;

	sm_engine_flush(v->e, &err);
	while (sm_time_mono_ms() < end && !v->done && !(stop_on_halt && v->halted)) {
		sm_loop_run_once(v->loop, 5);
		sm_engine_flush(v->e, &err);
	}
}

/* The stored record of `key` in `t` as JSON (new ref) or NULL. */
static json_t *
stored(struct store *st, enum store_table t, const char *key)
{
	struct store_txn *txn;
	const void *v;
	size_t vl;
	json_t *j = NULL;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return NULL;
	if (store_get(txn, t, key, strlen(key), &v, &vl) == 0)
		j = json_loadb(v, vl, 0, NULL);
	store_txn_abort(txn);
	return j;
}

static int
count_table(struct store *st, enum store_table t)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *val;
	size_t kl, vl;
	int n = 0, rc;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return -1;
	store_cursor_open(txn, t, &c);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &val, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &val, &vl))
		n++;
	store_cursor_close(c);
	store_txn_abort(txn);
	return n;
}

/* ---- 1. the kill point of test/crash, in process ----------------------------- */

static const char *child_send_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='p'>"
    " <state id='p' initial='p1'>"
    "  <invoke id='kid'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "    initial='w'>"
    "    <datamodel><data id='readies' expr='0'/></datamodel>"
    "    <state id='w'>"
    "     <onentry><assign location='readies' expr='readies + 1'/>"
    "      <send event='ready' target='#_parent'/></onentry>"
    "     <transition event='go' target='k_end'/>"
    "    </state>"
    "    <final id='k_end'><donedata><param name='readies' expr='readies'/></donedata>"
    "    </final>"
    "   </scxml>"
    "  </content></invoke>"
    "  <state id='p1'>"
    "   <transition event='ready' target='p2'><send event='go' target='#_kid'/></transition>"
    "  </state>"
    "  <state id='p2'>"
    "   <invoke id='boom' type='urn:smd:scxml:1' src='halt'/>"
    "  </state>"
    "  <transition event='done.invoke.kid' target='end'>"
    "   <assign location='kid_readies' expr='_event.data.readies'/></transition>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
test_send_to_child_survives(void)
{
	char *dir = etu_tmpdir("sm_engine_child"), *snap = etu_tmpdir("sm_engine_child");
	struct env v;
	struct sm_error err;
	json_t *rec;
	char names[256];
	struct sm_instance_status stt;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, child_send_xml);
	v.snap = snap;
	sm_engine_on_probe(v.e, snap_probe, &v);
	is_int(sm_engine_start(v.e, v.m, "x", NULL, &err), 0, "start x");
	run_for(&v, 2000, 0);
	is_int(v.snaps, 1, "the store was copied right after the first commit");
	is_int(v.halted, 0, "'halt', invoked and cancelled in the same turn, never started");
	env_close(&v);
	v.snap = NULL;
	etu_rmtree(dir);
	free(dir);
	dir = snap; /* what a kill right after that commit leaves */

	/* one turn, one commit: the parent's send, the child's 'go' through its
	 * inbox, the child's end and done.invoke.kid are all in it */
	store_open(&v.st, dir, NULL, &err);
	rec = stored(v.st, STORE_T_INSTANCES, "x");
	is_str(json_string_value(json_object_get(rec, "final")), "end",
	    "the first commit holds the whole conversation: x ended in 'end'");
	json_decref(rec);
	rec = stored(v.st, STORE_T_INSTANCES, "x/kid");
	ok(rec == NULL, "the child's record was written and deleted in that commit");
	json_decref(rec);
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "x/kid", names, sizeof(names)), 0,
	    "nothing waits in the child's inbox ('go' was consumed in the same commit)");
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "x", NULL, 0), 0,
	    "the parent's inbox is empty ('ready' was consumed)");
	store_close(v.st);
	v.st = NULL;

	env_open(&v, dir, child_send_xml);
	is_int(sm_engine_recover(v.e, &err), 0, "recover");
	run_for(&v, 2000, 0);
	is_str(v.final_id, "end", "the end of x, not yet acknowledged, is reported after recovery");
	is_int((int)json_integer_value(json_object_get(v.donedata, "readies")), 0,
	    "(x has no donedata)");
	{
		json_t *dm = sm_engine_instance_datamodel(v.e, "x");

		is_int((int)json_integer_value(json_object_get(dm, "kid_readies")), 1,
		    "the child started once (it said 'ready' once)");
		json_decref(dm);
	}
	rec = stored(v.st, STORE_T_INSTANCES, "x/kid");
	ok(rec == NULL, "the record of the finished child is gone");
	json_decref(rec);
	is_int(count_table(v.st, STORE_T_INBOX), 0, "no inbox record is left");
	is_int(count_table(v.st, STORE_T_TIMERS), 0, "no timer record is left");
	is_int(sm_engine_instance_status(v.e, "x", &stt), 0, "status of x");
	is_int((int)stt.state, SM_INSTANCE_DONE, "x is done");
	env_close(&v);
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* ---- 2. a ping-pong conversation, closed and reopened many times -------------- */

#define ROUNDS 25

static const char *pingpong_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='p'>"
    " <datamodel><data id='pongs' expr='0'/><data id='trail' expr='\"\"'/></datamodel>"
    " <state id='p'>"
    "  <invoke id='kid' autoforward='true'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "    initial='k'>"
    "    <datamodel><data id='pings' expr='0'/><data id='taps' expr='0'/></datamodel>"
    "    <state id='k'>"
    "     <transition event='ping' cond='pings &lt; 24'>"
    "      <assign location='pings' expr='pings + 1'/>"
    "      <send event='pong' target='#_parent' delay='3ms'>"
    "       <param name='n' expr='pings'/></send></transition>"
    "     <transition event='ping' target='kf'><assign location='pings' expr='pings + 1'/>"
    "     </transition>"
    "     <transition event='tap'><assign location='taps' expr='taps + 1'/></transition>"
    "    </state>"
    "    <final id='kf'><donedata><param name='pings' expr='pings'/>"
    "     <param name='taps' expr='taps'/></donedata></final>"
    "   </scxml>"
    "  </content></invoke>"
    "  <onentry><send event='ping' target='#_kid' delay='2ms'/></onentry>"
    "  <transition event='pong'><assign location='pongs' expr='pongs + 1'/>"
    "   <assign location='trail' expr='trail + \"p\"'/>"
    "   <send event='ping' target='#_kid'/></transition>"
    "  <transition event='tap'><assign location='trail' expr='trail + \"t\"'/></transition>"
    "  <transition event='done.invoke.kid' target='end'>"
    "   <assign location='kid' expr='_event.data'/></transition>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
test_pingpong_restarts(void)
{
	char *dir = etu_tmpdir("sm_engine_child");
	struct env v;
	struct sm_error err;
	json_t *dm;
	int restarts = 0, i, taps = 0;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, pingpong_xml);
	is_int(sm_engine_start(v.e, v.m, "pp", NULL, &err), 0, "start pp");
	for (i = 0; i < 200 && !v.done; i++) {
		/* a few ms of conversation, an external event now and then
		 * (autoforwarded to the child), then "crash" and reopen */
		run_for(&v, (uint64_t)(1 + i % 7), 0);
		if (i % 3 == 0 && !v.done && sm_engine_post(v.e, "pp", "tap", NULL) == 0) {
			taps++;
			sm_engine_flush(v.e, &err); /* committed: it must not be lost */
		}
		if (v.done)
			break;
		env_close(&v);
		env_open(&v, dir, pingpong_xml);
		if (sm_engine_recover(v.e, &err) != 0)
			bail_out("recover: %s", err.msg);
		restarts++;
	}
	run_for(&v, 3000, 0);
	diag("%d restarts, %d taps posted", restarts, taps);
	ok(restarts >= 5, "the conversation was interrupted by restarts (%d)", restarts);
	is_str(v.final_id, "end", "the conversation ends");
	dm = sm_engine_instance_datamodel(v.e, "pp");
	is_int((int)json_integer_value(json_object_get(dm, "pongs")), ROUNDS - 1,
	    "the parent got every pong exactly once");
	is_int((int)json_integer_value(json_object_get(json_object_get(dm, "kid"), "pings")),
	    ROUNDS, "the child got every ping exactly once");
	{
		const char *trail = json_string_value(json_object_get(dm, "trail"));
		int tp = 0, kt = (int)json_integer_value(json_object_get(json_object_get(dm, "kid"),
		    "taps"));

		for (; trail && *trail; trail++)
			tp += *trail == 't';
		is_int(tp, taps, "the parent consumed every committed tap exactly once");
		/* each was autoforwarded to the child, unless the child had ended */
		ok(kt >= 1 && kt <= taps, "the child got %d of the %d taps (not more)", kt, taps);
	}
	json_decref(dm);
	is_int(count_table(v.st, STORE_T_INBOX), 0, "no inbox record is left");
	is_int(count_table(v.st, STORE_T_TIMERS), 0, "no timer record is left");
	ok(stored(v.st, STORE_T_INSTANCES, "pp/kid") == NULL, "no child record is left");
	env_close(&v);
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* ---- 3. a cancelled child is deleted in the same commit ---------------------- */

static const char *cancel_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='a'>"
    " <state id='a'>"
    "  <invoke id='kid'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "    initial='k'>"
    "    <state id='k'><onentry><send event='later' delay='60s'/></onentry>"
    "     <transition event='later' target='kf'/></state><final id='kf'/>"
    "   </scxml>"
    "  </content></invoke>"
    "  <transition event='leave' target='b'><send event='hello' target='#_kid'/></transition>"
    " </state>"
    " <state id='b'><invoke id='h' type='urn:smd:scxml:1' src='halt'/>"
    "  <transition event='finish' target='end'/></state>"
    " <final id='end'/>"
    "</scxml>";

static void
test_cancelled_child(void)
{
	char *dir = etu_tmpdir("sm_engine_child");
	struct env v;
	struct sm_error err;
	json_t *rec;

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, cancel_xml);
	sm_engine_start(v.e, v.m, "c", NULL, &err);
	run_for(&v, 200, 0);
	rec = stored(v.st, STORE_T_INSTANCES, "c/kid");
	ok(rec != NULL, "the running child has a record");
	json_decref(rec);
	is_int(count_table(v.st, STORE_T_TIMERS), 1, "its delayed send is a stored timer");
	sm_engine_post(v.e, "c", "leave", NULL);
	run_for(&v, 2000, 1);
	is_int(v.halted, 1, "the parent left 'a' (the child is cancelled)");
	env_close(&v);

	store_open(&v.st, dir, NULL, &err);
	rec = stored(v.st, STORE_T_INSTANCES, "c/kid");
	ok(rec == NULL, "the cancelled child's record was deleted in the commit that left 'a'");
	json_decref(rec);
	is_int(count_table(v.st, STORE_T_TIMERS), 0, "and its timer");
	is_int(count_table(v.st, STORE_T_INBOX), 0,
	    "and the event sent to it in the same macrostep");
	store_close(v.st);
	v.st = NULL;

	env_open(&v, dir, cancel_xml);
	is_int(sm_engine_recover(v.e, &err), 0, "recover");
	sm_engine_post(v.e, "c", "finish", NULL);
	run_for(&v, 2000, 0);
	is_str(v.final_id, "end", "the parent goes on without the child");
	env_close(&v);
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* ---- 3b. grandchildren ------------------------------------------------------ */

static const char *nested_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    " initial='p'>"
    " <state id='p' initial='p1'>"
    "  <invoke id='kid'><content>"
    "   <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "    initial='k'>"
    "    <state id='k' initial='k1'>"
    "     <invoke id='sub'><content>"
    "      <scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
    "       initial='s'>"
    "       <datamodel><data id='ups' expr='0'/></datamodel>"
    "       <state id='s'><onentry><assign location='ups' expr='ups + 1'/>"
    "        <send event='up' target='#_parent'/></onentry>"
    "        <transition event='down' target='sf'/></state>"
    "       <final id='sf'><donedata><param name='ups' expr='ups'/></donedata></final>"
    "      </scxml>"
    "     </content></invoke>"
    "     <state id='k1'><transition event='up' target='k2'>"
    "      <send event='hi' target='#_parent'/></transition></state>"
    "     <state id='k2'><transition event='go'><send event='down' target='#_sub'/>"
    "      </transition></state>"
    "     <transition event='done.invoke.sub' target='kf'>"
    "      <assign location='sub_ups' expr='_event.data.ups'/></transition>"
    "    </state>"
    "    <final id='kf'><donedata><param name='sub_ups' expr='sub_ups'/></donedata></final>"
    "   </scxml>"
    "  </content></invoke>"
    "  <state id='p1'><transition event='hi' target='p2'>"
    "   <send event='go' target='#_kid'/></transition></state>"
    "  <state id='p2'><invoke id='boom' type='urn:smd:scxml:1' src='halt'/></state>"
    "  <transition event='done.invoke.kid' target='end'>"
    "   <assign location='sub_ups' expr='_event.data.sub_ups'/></transition>"
    " </state>"
    " <final id='end'/>"
    "</scxml>";

static void
test_grandchild(void)
{
	char *dir = etu_tmpdir("sm_engine_child"), *snap = etu_tmpdir("sm_engine_child");
	struct env v;
	struct sm_error err;
	json_t *rec, *dm;
	char names[256];

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, nested_xml);
	v.snap = snap;
	sm_engine_on_probe(v.e, snap_probe, &v);
	sm_engine_start(v.e, v.m, "g", NULL, &err);
	run_for(&v, 2000, 0);
	is_int(v.snaps, 1, "nested: the store was copied right after the first commit");
	env_close(&v);
	v.snap = NULL;
	etu_rmtree(dir);
	free(dir);
	dir = snap;

	/* one turn: grandchild, child and parent talked and ended in one commit */
	store_open(&v.st, dir, NULL, &err);
	rec = stored(v.st, STORE_T_INSTANCES, "g/kid/sub");
	ok(rec == NULL, "nested: the grandchild's record was written and deleted in it");
	json_decref(rec);
	is_int(etu_count_prefix(v.st, STORE_T_INBOX, "g/kid", names, sizeof(names)), 0,
	    "nested: 'go' was consumed in the same commit");
	store_close(v.st);
	v.st = NULL;

	env_open(&v, dir, nested_xml);
	is_int(sm_engine_recover(v.e, &err), 0, "nested: recover");
	run_for(&v, 2000, 0);
	is_str(v.final_id, "end", "nested: the end of g is reported after the restart");
	dm = sm_engine_instance_datamodel(v.e, "g");
	is_int((int)json_integer_value(json_object_get(dm, "sub_ups")), 1,
	    "nested: the grandchild started once (one 'up')");
	json_decref(dm);
	is_int(count_table(v.st, STORE_T_INSTANCES), 1, "nested: only the parent's record is left");
	is_int(count_table(v.st, STORE_T_INBOX), 0, "nested: no inbox record is left");
	env_close(&v);
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

/* ---- 4. instance ids ----------------------------------------------------------- */

static void
test_ids(void)
{
	const char *xml =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='null'"
	    " initial='a'><state id='a'><transition event='x' target='f'/></state>"
	    "<final id='f'/></scxml>";
	char *dir = etu_tmpdir("sm_engine_child");
	struct env v;
	struct sm_error err;
	char id[512];

	memset(&v, 0, sizeof(v));
	env_open(&v, dir, xml);
	memset(id, 'a', sizeof(id));
	id[SM_ENGINE_ID_MAX] = 0;
	is_int(sm_engine_start(v.e, v.m, id, NULL, &err), 0, "an id of %d bytes is fine",
	    SM_ENGINE_ID_MAX);
	id[SM_ENGINE_ID_MAX] = 'a';
	id[SM_ENGINE_ID_MAX + 1] = 0;
	is_int(sm_engine_start(v.e, v.m, id, NULL, &err), SM_EINVAL, "one byte more is refused");
	like_str(err.msg, "1 to 200 bytes", "the error says the limit");
	memset(id, 'a', sizeof(id));
	id[sizeof(id) - 1] = 0;
	is_int(sm_engine_start(v.e, v.m, id, NULL, &err), SM_EINVAL,
	    "an id over STORE_KEY_MAX is refused");
	is_int(sm_engine_start(v.e, v.m, "", NULL, &err), SM_EINVAL, "an empty id is refused");
	is_int(sm_engine_start(v.e, v.m, "a\nb", NULL, &err), SM_EINVAL,
	    "an id with a newline is refused");
	like_str(err.msg, "control character", "the error says why");
	is_int(sm_engine_start(v.e, v.m, "a\x7f", NULL, &err), SM_EINVAL, "DEL is refused");
	is_int(sm_engine_start(v.e, v.m, "a/b", NULL, &err), SM_EINVAL,
	    "'/' is refused (reserved for child sessions)");
	like_str(err.msg, "reserved for child sessions", "the error says why");
	is_int(sm_engine_start(v.e, v.m, "bad\xff", NULL, &err), SM_EINVAL,
	    "an id that is not UTF-8 is refused");
	like_str(err.msg, "UTF-8", "the error says why");
	is_int(sm_engine_start(v.e, v.m, "\xc0\xaf", NULL, &err), SM_EINVAL,
	    "an overlong UTF-8 sequence is refused");
	is_int(sm_engine_start(v.e, v.m, "task-42.\xc3\xa9", NULL, &err), 0,
	    "UTF-8 and punctuation are fine");
	run_for(&v, 50, 0);
	env_close(&v);
	env_free(&v);
	etu_rmtree(dir);
	free(dir);
}

int
main(void)
{
	plan_no_plan();
	sm_log_init(stderr, SM_LOG_ERROR, "test_engine_child");
	test_send_to_child_survives();
	test_pingpong_restarts();
	test_cancelled_child();
	test_grandchild();
	test_ids();
	return done_testing();
}
