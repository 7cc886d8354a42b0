/*
 * test_engine_crash.c - kill -9 at random moments, restart, same outcome.
 *
 * A child process (fork, no exec) opens the store, recovers, starts the
 * instances that do not exist yet and runs the loop; the parent SIGKILLs it
 * after a random time, many times, then lets a last child run to the end.
 * Every instance must end in 'end' with n == 20 (each of 20 rounds goes
 * through a delayed send and an action that fails its first attempt and is
 * retried by a persisted timer), and its history must have no gaps.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "store.h"
#include "tap.h"

#define NINST 20
#define NKILLS 30

static const char *machine_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='s'>"
    " <datamodel><data id='n' expr='0'/></datamodel>"
    " <state id='s'>"
    "  <onentry><send event='tick' delay='30ms'/></onentry>"
    "  <transition event='tick' cond='n &lt; 20' target='w'><assign location='n' expr='n + 1'/></transition>"
    "  <transition event='tick' target='end'/>"
    " </state>"
    " <state id='w'>"
    "  <invoke id='job' type='urn:smd:scxml:1' src='work' sm:attempts='100' sm:delay='10ms'"
    "   sm:jitter='none' sm:backoff='1.0'/>"
    "  <transition event='done.invoke.job' target='s'/>"
    "  <transition event='error.invoke.job' target='bad'/>"
    " </state>"
    " <final id='end'/><final id='bad'/>"
    "</scxml>";

static struct sm_loop *g_loop;

struct pending_call {
	struct sm_action_call *call;
	uint64_t timer;
};

static int64_t
work_finish(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct pending_call *p = arg;

	(void)loop;
	(void)id;
	if (sm_action_call_attempt(p->call) == 1)
		sm_action_fail(p->call, "error.io", "first attempts fail");
	else
		sm_action_done(p->call, NULL);
	free(p);
	return -1;
}

static int
work_start(struct sm_action_call *call)
{
	struct pending_call *p = calloc(1, sizeof(*p));

	if (!p)
		return SM_ENOMEM;
	p->call = call;
	p->timer = sm_loop_timer_add(g_loop, 5, work_finish, p);
	sm_action_call_set_data(call, p);
	return 0;
}

static void
work_cancel(struct sm_action_call *call)
{
	struct pending_call *p = sm_action_call_data(call);

	if (p) {
		sm_loop_timer_del(g_loop, p->timer);
		free(p);
	}
}

static int ndone;

static void
on_done(struct sm_engine *e, const char *id, const char *f, json_t *d, void *a)
{
	(void)e;
	(void)id;
	(void)f;
	(void)d;
	(void)a;
	ndone++;
}

/* The child: never returns. */
static void
child(const char *dir, int run_to_end)
{
	struct sm_machine *m = NULL;
	struct sm_diags d = { 0 };
	struct store *st;
	struct store_options o;
	struct sm_engine *e;
	struct sm_error err;
	struct sm_action_def def = { "work", work_start, work_cancel, NULL };
	char id[32];
	int i;
	uint64_t end;

	sm_log_init(stderr, SM_LOG_ERROR, "crash-child");
	if (sm_machine_load_memory(machine_xml, strlen(machine_xml), "crash.scxml", NULL, NULL, &m,
	    &d) != 0) {
		sm_diags_print(&d, stderr);
		_exit(3);
	}
	sm_loop_create(&g_loop);
	store_options_init(&o);
	o.durability = STORE_DURABLE_PROCESS; /* a process crash, not a power cut */
	if (store_open(&st, dir, &o, &err) != 0)
		_exit(4);
	sm_engine_create(&e, g_loop, st, &err);
	sm_engine_register_action(e, &def);
	sm_engine_add_machine(e, m);
	sm_engine_on_done(e, on_done, NULL);
	if (sm_engine_recover(e, &err) != 0)
		_exit(5);
	for (i = 0; i < NINST; i++) {
		snprintf(id, sizeof(id), "c%02d", i);
		sm_engine_start(e, m, id, NULL, &err); /* SM_EEXISTS after a restart */
	}
	end = sm_time_mono_ms() + 30000;
	while (sm_time_mono_ms() < end) {
		sm_loop_run_once(g_loop, 50);
		if (run_to_end && sm_engine_running_count(e) == 0)
			break;
	}
	sm_engine_flush(e, &err);
	_exit(sm_engine_running_count(e) == 0 ? 0 : 6);
}

static pid_t
spawn(const char *dir, int run_to_end)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		child(dir, run_to_end);
	return pid;
}

int
main(void)
{
	char tmpl[] = "/tmp/sm_engine_crash.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct store *st;
	struct store_options o;
	struct store_txn *txn;
	struct sm_error err;
	int k, status, i, all_end = 1, all_n = 1, no_gaps = 1, killed = 0;
	unsigned seed = (unsigned)time(NULL);
	pid_t pid;
	char cmd[300];

	plan_no_plan();
	if (!dir)
		bail_out("mkdtemp failed");
	srand(seed);
	diag("seed %u", seed);
	for (k = 0; k < NKILLS; k++) {
		int ms = 5 + rand() % 35;

		pid = spawn(dir, 0);
		usleep((useconds_t)ms * 1000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else
			diag("child %d ended before the kill (status %d)", k, status);
	}
	is_int(killed, NKILLS, "children killed with SIGKILL at random moments");
	{
		/* how far did the killed runs get? (closed again before the fork) */
		int done = 0, steps = 0;

		store_options_init(&o);
		o.read_only = 1;
		if (store_open(&st, dir, &o, &err) == 0) {
			store_txn_begin(st, STORE_TXN_READ, &txn, &err);
			for (i = 0; i < NINST; i++) {
				char id[32];
				const void *v;
				size_t vl;
				json_t *j;

				snprintf(id, sizeof(id), "c%02d", i);
				if (store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl) != 0)
					continue;
				j = json_loadb(v, vl, 0, NULL);
				done += json_is_string(json_object_get(j, "final"));
				steps += (int)json_integer_value(json_object_get(j, "hist_seq"));
				json_decref(j);
			}
			store_txn_abort(txn);
			store_close(st);
		}
		diag("after the kills: %d of %d instances finished, %d steps committed", done, NINST,
		    steps);
		ok(done < NINST, "the kills interrupted instances mid-flight");
	}
	pid = spawn(dir, 1);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the last run finishes every instance");

	store_options_init(&o);
	o.read_only = 1;
	if (store_open(&st, dir, &o, &err) != 0)
		bail_out("reopen: %s", err.msg);
	store_txn_begin(st, STORE_TXN_READ, &txn, &err);
	for (i = 0; i < NINST; i++) {
		char id[32];
		const void *v;
		size_t vl;
		json_t *j = NULL;
		json_int_t seq, s;

		snprintf(id, sizeof(id), "c%02d", i);
		if (store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl) == 0)
			j = json_loadb(v, vl, 0, NULL);
		if (!j || strcmp(json_string_value(json_object_get(j, "final")) ?
		    json_string_value(json_object_get(j, "final")) : "", "end") != 0) {
			all_end = 0;
			diag("%s did not end in 'end'", id);
		}
		if (json_integer_value(json_object_get(json_object_get(json_object_get(j, "session"),
		    "datamodel"), "n")) != 20) {
			all_n = 0;
			diag("%s: n is not 20", id);
		}
		seq = json_integer_value(json_object_get(j, "hist_seq"));
		for (s = 1; s <= seq; s++) {
			unsigned char key[64];
			size_t l = strlen(id);

			memcpy(key, id, l);
			key[l] = 0;
			store_be64_put(key + l + 1, (uint64_t)s);
			if (store_get(txn, STORE_T_HISTORY, key, l + 9, &v, &vl) != 0) {
				no_gaps = 0;
				diag("%s: history record %lld missing", id, (long long)s);
				break;
			}
		}
		json_decref(j);
	}
	store_txn_abort(txn);
	store_close(st);
	ok(all_end, "every instance reached 'end'");
	ok(all_n, "every instance counted exactly 20 rounds");
	ok(no_gaps, "every history is complete (no gaps)");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
