/*
 * test_smd_crash.c - smd killed with SIGKILL at random moments while tasks
 * run, then started again, over many rounds.  Afterwards:
 *   - every task ended as it would without the kills (good ones finished
 *     with an output message, failing ones reported "failed");
 *   - each output message was sent once, or resent byte for byte;
 *   - no spider process is left;
 *   - every task's record is in the bucket once, with its final state;
 *   - after every kill, no more task messages were gone from the queue than
 *     tasks had their final report sent (a message is deleted only after its
 *     report).
 * SM_CRASH_ROUNDS (default 20) and SM_CRASH_SEED change the run.
 */
#include "smd_test_util.h"

#define NTASKS 12

struct seen {
	json_t *outputs; /* task id (string) -> array of raw bodies */
	json_t *finals;  /* task id (string) -> "finished" | "failed" */
};

/* Read (and delete) everything in the reply queues into `s`. */
static void
collect(struct st_env *e, struct seen *s)
{
	const char *queues[2] = { ST_OUTPUT, ST_PROGRESS };

	for (int q = 0; q < 2; q++) {
		char url[512];

		st_queue(e, queues[q], url, sizeof(url));
		for (;;) {
			s_receive(e->tp, &e->t, url, 10, 0, 30);
			if (e->t.code != 0 || e->t.nm == 0)
				break;
			for (size_t i = 0; i < e->t.nm; i++) {
				json_t *j = json_loadb(e->t.m[i].body, e->t.m[i].len, 0, NULL);
				char id[32];
				struct tres d = { 0 };

				snprintf(id, sizeof(id), "%lld",
				    (long long)json_integer_value(json_object_get(j, "_msg_id")));
				if (q == 0) {
					json_t *arr = json_object_get(s->outputs, id);

					if (!arr)
						json_object_set_new(
						    s->outputs, id, arr = json_array());
					json_array_append_new(
					    arr, json_stringn(e->t.m[i].body, e->t.m[i].len));
				} else {
					const char *p =
					    json_string_value(json_object_get(j, "progress"));

					if (p &&
					    (strcmp(p, "finished") == 0 ||
					        strcmp(p, "failed") == 0)) {
						json_t *had = json_object_get(s->finals, id);

						if (had && strcmp(json_string_value(had), p) != 0)
							json_object_set_new(
							    s->finals, id, json_string("both"));
						else
							json_object_set_new(
							    s->finals, id, json_string(p));
					}
				}
				json_decref(j);
				s_delete(e->tp, &d, url, e->t.m[i].receipt);
				tres_free(&d);
			}
		}
	}
}

/* max_restarts=1: a task in flight across two crashes fails with that
 * reason instead of running a third time. */
static void
case_max_restarts(void)
{
	struct st_env e;
	static const char *const opts[] = { "max_restarts=1", NULL };
	json_t *prog, *m;
	size_t i;
	const char *err = NULL, *last = NULL;
	int outputs = 0;

	if (st_open(&e, "restarts") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE,
	    "{\"task_id\": 8100, \"server_name\": \"" ST_SERVER "\", "
	    "\"site\": \"walmart\", \"searchterms_str\": \"x\", \"cmd_args\": "
	    "{\"fake_items\": 40, \"fake_delay_ms\": 500}}");
	for (int k = 1; k <= 2; k++) {
		st_smd_start(&e, 1, opts);
		for (int w = 0; w < 200 && st_spider_starts(&e) < k; w++)
			usleep(50000);
		usleep(300000);
		kill(e.pid, SIGKILL);
		waitpid(e.pid, NULL, 0);
		e.pid = 0;
	}
	is_int(st_spider_starts(&e), 2, "the spider ran twice (two crashes)");
	st_smd_start(&e, 1, opts);
	is_int(st_smd_wait(&e, 60), 0, "the third smd run ends");
	prog = st_drain(&e, ST_PROGRESS);
	json_array_foreach(prog, i, m)
	{
		last = json_string_value(json_object_get(m, "progress"));
		if (json_object_get(m, "error"))
			err = json_string_value(json_object_get(m, "error"));
	}
	is_str(last, "failed", "past max_restarts the task fails");
	ok(err && strstr(err, "max_restarts 1"), "with that reason ('%s')", err ? err : "");
	is_int(st_spider_starts(&e), 2, "and its spider did not run a third time");
	{
		json_t *outs = st_drain(&e, ST_OUTPUT);

		json_array_foreach(outs, i, m) outputs +=
		    json_integer_value(json_object_get(m, "_msg_id")) == 8100;
		json_decref(outs);
	}
	is_int(outputs, 0, "no output message");
	is_int(st_queue_count(&e, ST_QUEUE), 0, "its message was deleted");
	json_decref(prog);
	st_close(&e);
}

int
main(void)
{
	struct st_env e;
	struct seen s;
	static const char *const opts[] = { "max_concurrent_tasks=3", "visibility_timeout=3s",
		"max_restarts=1000", "shutdown_grace=1s", NULL };
	int rounds = getenv("SM_CRASH_ROUNDS") ? atoi(getenv("SM_CRASH_ROUNDS")) : 20;
	unsigned seed = getenv("SM_CRASH_SEED") ? (unsigned)atoi(getenv("SM_CRASH_SEED")) :
	                                          (unsigned)time(NULL);
	int early_deletes = 0, ran = 0, left, rc;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	diag("seed %u (SM_CRASH_SEED), %d rounds", seed, rounds);
	srand(seed);
	if (st_open(&e, "crash") != 0) {
		ok(0, "set up");
		return done_testing();
	}
	s.outputs = json_object();
	s.finals = json_object();
	for (int i = 0; i < NTASKS; i++) {
		char body[400];

		snprintf(body, sizeof(body),
		    "{\"task_id\": %d, \"server_name\": \"" ST_SERVER
		    "\", \"site\": \"walmart\", \"searchterms_str\": \"term %d\", \"cmd_args\": "
		    "{\"fake_items\": %d, \"fake_delay_ms\": 500%s}}",
		    8000 + i, i, 2 + i % 3, i % 4 == 3 ? ", \"fake_mode\": \"fail\"" : "");
		st_send(&e, ST_QUEUE, body);
	}
	for (int r = 0; r < rounds; r++) {
		int ms = 150 + rand() % 1000;
		int remaining, reported;

		st_smd_start(&e, 1, opts);
		usleep((useconds_t)ms * 1000);
		if (e.pid > 0 && waitpid(e.pid, NULL, WNOHANG) == 0) {
			kill(e.pid, SIGKILL);
			waitpid(e.pid, NULL, 0);
		}
		e.pid = 0;
		collect(&e, &s);
		remaining = st_queue_count(&e, ST_QUEUE);
		reported = (int)json_object_size(s.finals);
		if (NTASKS - remaining > reported) {
			early_deletes++;
			diag("round %d (kill after %d ms): %d messages gone, %d reports", r, ms,
			    NTASKS - remaining, reported);
		}
	}
	is_int(early_deletes, 0, "after every kill: no message deleted before its report");
	/* run to the end: again until every message is gone (a message whose
	 * task had not started comes back after its visibility timeout) */
	for (int i = 0; i < 20 && st_queue_count(&e, ST_QUEUE) != 0; i++) {
		st_smd_start(&e, 1, opts);
		rc = st_smd_wait(&e, 120);
		if (rc != 0)
			diag("final run %d: exit %d", i, rc);
		collect(&e, &s);
		if (st_queue_count(&e, ST_QUEUE) != 0)
			sleep(1);
	}
	is_int(st_queue_count(&e, ST_QUEUE), 0, "every task message was deleted in the end");
	for (int i = 0; i < NTASKS; i++) {
		char id[32];
		json_t *outs;
		const char *fin;
		int fails = i % 4 == 3;

		snprintf(id, sizeof(id), "%d", 8000 + i);
		fin = json_string_value(json_object_get(s.finals, id));
		outs = json_object_get(s.outputs, id);
		is_str(fin, fails ? "failed" : "finished", "task %s ended %s, as without the kills",
		    id, fails ? "failed" : "finished");
		{
			/* the task record: written once the run is final, whatever the kills */
			char part[64];
			int state_ok = 0, n = 0;

			snprintf(part, sizeof(part), "--%s____", id);
			s_list(e.tp, &e.t, ST_BUCKET, "", NULL, NULL, 1000);
			for (size_t k = 0; e.t.code == 0 && k < e.t.nkeys; k++) {
				char key[600], member[600], *zip, *text;
				size_t zl, tl;
				json_t *r;

				if (!strstr(e.t.keys[k], part) ||
				    !strstr(e.t.keys[k], ".state.json.zip"))
					continue;
				snprintf(key, sizeof(key), "%s", e.t.keys[k]);
				n++;
				zip = st_get(&e, key, &zl);
				text = zip ? st_unzip(zip, zl, member, sizeof(member), &tl) : NULL;
				r = text ? json_loads(text, 0, NULL) : NULL;
				state_ok =
				    strcmp(json_string_value(json_object_get(r, "state")) ?: "",
				        fails ? "failed" : "reported") == 0;
				json_decref(r);
				free(text);
				free(zip);
				s_list(e.tp, &e.t, ST_BUCKET, "", NULL, NULL, 1000);
			}
			ok(n == 1 && state_ok, "task %s: its record in the bucket, state %s", id,
			    fails ? "failed" : "reported");
		}
		if (fails) {
			is_int((int)json_array_size(outs), 0, "task %s: no output message", id);
			continue;
		}
		ok(json_array_size(outs) >= 1, "task %s: an output message (%zu sent)", id,
		    json_array_size(outs));
		{
			int same = 1;

			for (size_t k = 1; k < json_array_size(outs); k++)
				same &= strcmp(json_string_value(json_array_get(outs, 0)),
				            json_string_value(json_array_get(outs, k))) == 0;
			ok(same, "task %s: every resend of the output is byte-identical", id);
		}
	}
	left = st_spiders_alive(&e);
	ran = st_spider_starts(&e);
	is_int(left, 0, "no spider left");
	diag("%d spiders started for %d tasks (kills mid-run make reruns)", ran, NTASKS);
	if (!ok(early_deletes == 0 && left == 0, "crash run clean"))
		st_show_log(&e);
	json_decref(s.outputs);
	json_decref(s.finals);
	st_close(&e);
	case_max_restarts();
	return done_testing();
}
