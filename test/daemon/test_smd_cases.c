/*
 * test_smd_cases.c - smd end to end, the cases beyond the happy flow: a
 * failing spider, an unknown site, bad messages of every kind that can
 * reach a queue, a message past max_receives, the stop flag, SIGTERM
 * mid-task (released to the queue, no spider left) and within the grace
 * period (finished), max_concurrent_tasks, a visibility timeout
 * shorter than the spider's run (the heartbeat keeps the message hidden),
 * and SIGHUP (machines; a changed configuration file; smd.log opened
 * again after a rotation).
 *
 * SM_TEST_BACKEND=local (default) or aws (under test/support/with_moto.sh).
 */
#include <math.h>

#include "smd_test_util.h"

#define TASK(id, extra) "{\"task_id\": " #id ", \"server_name\": \"" ST_SERVER "\", " extra "}"

static int
visible_count(struct st_env *e, const char *queue)
{
	char url[512];
	const char *v;

	st_queue(e, queue, url, sizeof(url));
	s_attrs(e->tp, &e->t, url, NULL, 0);
	v = tres_attr(&e->t, "ApproximateNumberOfMessages");
	return v ? atoi(v) : -1;
}

static void
case_failures(void)
{
	struct st_env e;
	json_t *prog, *outs;
	static const char *const opts[] = { "max_receives=2", NULL };
	char url[512];

	if (st_open(&e, "fail") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE, TASK(7001, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"cmd_args\": {\"fake_mode\": \"fail\", \"fake_items\": 2}"));
	st_send(&e, ST_QUEUE, TASK(7002, "\"site\": \"nosuchsite\", \"searchterms_str\": \"x\""));
	st_send(&e, ST_QUEUE, "this is not json");
	st_send(&e, ST_QUEUE, TASK(7003, "\"site\": 5, \"searchterms_str\": \"x\""));
	st_send(&e, ST_QUEUE, TASK(7004, "\"site\": \"walmart\""));
	st_send(&e, ST_QUEUE, TASK(7005, "\"site\": \"walmart\", \"url\": \"u\", "
	    "\"searchterms_str\": \"x\""));
	st_send(&e, ST_QUEUE, TASK(7006, "\"site\": \"wal mart\", \"searchterms_str\": \"x\""));
	st_send(&e, ST_QUEUE, TASK(7007, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"cmd_args\": {\"a;rm -rf /\": 1}"));
	st_send(&e, ST_QUEUE, TASK(7008, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"with_best_seller_ranking\": \"maybe\""));
	st_send(&e, ST_QUEUE, "{\"task_id\": 7009, \"task_id\": 7010, \"server_name\": \"" ST_SERVER
	    "\", \"site\": \"walmart\", \"searchterms_str\": \"x\"}");
	st_send(&e, ST_QUEUE, "[1, 2, 3]");
	st_send(&e, ST_QUEUE, "{\"task_id\": 7011, \"server_name\": \"bad server!\", \"site\": "
	    "\"walmart\", \"searchterms_str\": \"x\"}");
	st_send(&e, ST_QUEUE, TASK(7012, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"cmd_args\": {\"fake_mode\": \"crash\", \"fake_items\": 1}"));
	/* a message already delivered twice: the third delivery is past max_receives */
	st_queue(&e, "sqs_ranking_spiders_tasks_tests", url, sizeof(url));
	st_send(&e, "sqs_ranking_spiders_tasks_tests", TASK(7013, "\"site\": \"walmart\", "
	    "\"searchterms_str\": \"x\""));
	for (int i = 0; i < 2; i++) {
		s_receive(e.tp, &e.t, url, 1, 0, 1);
		ok(e.t.nm == 1, "delivery %d of the max_receives message", i + 1);
		usleep(1100000); /* visible again after its 1 s */
	}
	st_smd_start(&e, 1, opts);
	is_int(st_smd_wait(&e, 90), 0, "smd ran every bad task and exited 0");
	prog = st_drain(&e, ST_PROGRESS);
	outs = st_drain(&e, ST_OUTPUT);
	st_expect_failed(prog, outs, 7001, 1, "exited with code 1", "a failing spider");
	{
		size_t len;
		json_t *last, *seq = st_progress_of(prog, 7001, &last);
		char key[600];
		char *logz;

		json_decref(seq);
		/* the failed spider's log is still uploaded (SPEC 3) */
		(void)last;
		snprintf(key, sizeof(key), "%s", "");
		s_list(e.tp, &e.t, ST_BUCKET, "", NULL, NULL, 1000);
		for (size_t i = 0; i < e.t.nkeys; i++)
			if (strstr(e.t.keys[i], "--7001____") && strstr(e.t.keys[i], ".log.zip"))
				snprintf(key, sizeof(key), "%s", e.t.keys[i]);
		ok(key[0] != 0, "a failing spider: its log is uploaded");
		logz = key[0] ? st_get(&e, key, &len) : NULL;
		if (logz) {
			char name[512];
			size_t fl;
			char *log = st_unzip(logz, len, name, sizeof(name), &fl);

			ok(log && strstr(log, "told to fail"), "the log is the spider's");
			free(log);
		}
		free(logz);
	}
	st_expect_failed(prog, outs, 7002, 0, "exited with code 1", "an unknown site");
	st_expect_failed(prog, outs, 7003, 0, "site", "a site of the wrong type");
	st_expect_failed(prog, outs, 7004, 0, "searchterms_str", "no search term nor url");
	st_expect_failed(prog, outs, 7005, 0, "exactly one", "both a url and a search term");
	st_expect_failed(prog, outs, 7006, 0, "site", "a site with a blank");
	st_expect_failed(prog, outs, 7007, 0, "cmd_args", "a cmd_args key with shell characters");
	st_expect_failed(
	    prog, outs, 7008, 0, "with_best_seller_ranking", "a boolean that is not one");
	st_expect_failed(prog, outs, 7012, 1, "signal", "a spider that crashes");
	st_expect_failed(prog, outs, 7013, 0, "received 3 times", "a message past max_receives");
	{
		json_t *last, *seq = st_progress_of(prog, 7009, &last);

		is_int((int)json_array_size(seq), 0, "duplicate keys: nothing reported for either id");
		json_decref(seq);
		seq = st_progress_of(prog, 7011, &last);
		is_int((int)json_array_size(seq), 0, "a server name that names no queue: no report");
		json_decref(seq);
	}
	is_int(st_queue_count(&e, ST_QUEUE), 0, "every bad message was deleted (no loop)");
	is_int(st_queue_count(&e, "sqs_ranking_spiders_tasks_tests"), 0,
	    "the max_receives message was deleted");
	ok(st_log_has(&e, "ended in 'failed'"), "the log says tasks failed");
	is_int(st_spiders_alive(&e), 0, "no spider left");
	json_decref(prog);
	json_decref(outs);
	st_close(&e);
}

static void
case_stop_flag(void)
{
	struct st_env e;
	json_t *prog;

	if (st_open(&e, "flag") != 0) {
		ok(0, "set up");
		return;
	}
	s_put_mem(e.tp, &e.t, ST_BUCKET, "scrapy_daemon_stop_flag", "true", 4);
	st_send(&e, ST_QUEUE, TASK(7101, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"cmd_args\": {\"fake_items\": 1}"));
	st_smd_start(&e, 0, NULL);
	sleep(4);
	is_int(st_queue_count(&e, ST_QUEUE), 1, "stop flag 'true': the task is not taken");
	prog = st_drain(&e, ST_PROGRESS);
	is_int((int)json_array_size(prog), 0, "stop flag 'true': nothing started");
	json_decref(prog);
	s_put_mem(e.tp, &e.t, ST_BUCKET, "scrapy_daemon_stop_flag", "false\n", 6);
	for (int i = 0; i < 100 && st_queue_count(&e, ST_QUEUE) != 0; i++)
		usleep(100000);
	is_int(st_queue_count(&e, ST_QUEUE), 0, "stop flag 'false': the task is taken and done");
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "SIGTERM while idle: smd exits 0");
	prog = st_drain(&e, ST_PROGRESS);
	{
		json_t *last, *seq = st_progress_of(prog, 7101, &last);

		is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "finished",
		    "the task finished once the flag was cleared");
		json_decref(seq);
	}
	json_decref(prog);
	json_decref(st_drain(&e, ST_OUTPUT));
	st_close(&e);
}

static void
case_sigterm(void)
{
	struct st_env e;
	json_t *prog, *outs;
	static const char *const grace_short[] = { "shutdown_grace=1s", NULL };
	static const char *const grace_long[] = { "shutdown_grace=30s", NULL };
	int starts;

	if (st_open(&e, "term") != 0) {
		ok(0, "set up");
		return;
	}
	/* past the grace period: released */
	st_send(&e, ST_QUEUE, TASK(7201, "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	    "\"cmd_args\": {\"fake_items\": 8, \"fake_delay_ms\": 1000}"));
	st_smd_start(&e, 0, grace_short);
	ok(st_wait_spider(&e, 0, 10), "the spider started");
	sleep(1);
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "SIGTERM mid-task: smd exits 0 after the grace period");
	is_int(st_spiders_alive(&e), 0, "SIGTERM mid-task: no spider left");
	is_int(visible_count(&e, ST_QUEUE), 1, "SIGTERM mid-task: the message is back in its queue");
	outs = st_drain(&e, ST_OUTPUT);
	is_int(st_has_output(outs, 7201), 0, "SIGTERM mid-task: no output message");
	json_decref(outs);
	ok(st_log_has(&e, "ended in 'released'"), "the log says the task was released");
	/* within the grace period: finished; the released task runs again */
	json_decref(st_drain(&e, ST_PROGRESS));
	{
		char url[512];

		/* the released message is visible again: make it short */
		(void)st_queue(&e, ST_QUEUE, url, sizeof(url));
	}
	st_send(&e, ST_QUEUE, TASK(7202, "\"site\": \"walmart\", \"searchterms_str\": \"y\", "
	    "\"cmd_args\": {\"fake_items\": 3, \"fake_delay_ms\": 700}"));
	st_smd_start(&e, 1, grace_long);
	/* the released task (8 s of items) runs again from the start, then
	 * 7202; --exit-when-idle ends the run */
	is_int(st_smd_wait(&e, 120), 0, "after the release smd runs the task again and 7202");
	prog = st_drain(&e, ST_PROGRESS);
	outs = st_drain(&e, ST_OUTPUT);
	{
		json_t *last, *seq = st_progress_of(prog, 7201, &last);

		is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "finished",
		    "the released task finished on the next run");
		json_decref(seq);
	}
	is_int(st_has_output(outs, 7201), 1, "with one output message");
	json_decref(prog);
	json_decref(outs);
	st_send(&e, ST_QUEUE, TASK(7203, "\"site\": \"walmart\", \"searchterms_str\": \"z\", "
	    "\"cmd_args\": {\"fake_items\": 3, \"fake_delay_ms\": 700}"));
	starts = st_spider_starts(&e);
	st_smd_start(&e, 0, grace_long);
	ok(st_wait_spider(&e, starts, 10), "the third spider started");
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 40), 0, "SIGTERM within shutdown_grace: smd exits 0");
	prog = st_drain(&e, ST_PROGRESS);
	outs = st_drain(&e, ST_OUTPUT);
	{
		json_t *last, *seq = st_progress_of(prog, 7203, &last);

		is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "finished",
		    "the running task finished before smd stopped");
		json_decref(seq);
	}
	is_int(st_has_output(outs, 7203), 1, "and sent its output");
	is_int(st_queue_count(&e, ST_QUEUE), 0, "and its message was deleted");
	json_decref(prog);
	json_decref(outs);
	st_close(&e);
}

static void
case_concurrency_and_visibility(void)
{
	struct st_env e;
	json_t *outs;
	static const char *const opts[] = { "max_concurrent_tasks=2", "visibility_timeout=2s",
		NULL };
	int starts, most, hidden = 1;

	if (st_open(&e, "conc") != 0) {
		ok(0, "set up");
		return;
	}
	for (int i = 0; i < 5; i++) {
		char body[300];

		snprintf(body, sizeof(body), TASK(%d, "\"site\": \"walmart\", \"searchterms_str\": "
		    "\"t%d\", \"cmd_args\": {\"fake_items\": 5, \"fake_delay_ms\": 800}"), 7301 + i, i);
		st_send(&e, ST_QUEUE, body);
	}
	st_smd_start(&e, 1, opts);
	/* each spider runs ~4 s, twice the visibility timeout: while smd holds
	 * them the messages stay hidden */
	for (int i = 0; i < 12; i++) {
		int v;

		sleep(1);
		v = visible_count(&e, ST_QUEUE);
		/* at most 5 - (taken so far) are visible; none taken may reappear:
		 * taken ones are hidden, so visible + running <= 5 and visible only
		 * decreases */
		if (v > 5 - (i >= 1 ? 2 : 0))
			hidden = 0;
	}
	is_int(st_smd_wait(&e, 120), 0, "smd ran five tasks two at a time and exited 0");
	ok(hidden, "messages in flight stayed hidden past their visibility timeout");
	ok(!st_log_has(&e, "redelivered"), "no message was delivered twice");
	most = st_max_tasks_at_once(&e, &starts);
	is_int(starts, 5, "five spiders ran, once each");
	ok(most == 2, "max_concurrent_tasks=2 honoured: at most %d at once", most);
	outs = st_drain(&e, ST_OUTPUT);
	{
		int n = 0;

		for (int i = 0; i < 5; i++)
			n += st_has_output(outs, 7301 + i);
		is_int(n, 5, "five output messages, one per task");
	}
	json_decref(outs);
	is_int(st_queue_count(&e, ST_QUEUE), 0, "every message deleted");
	st_close(&e);
}

static void
case_sighup(void)
{
	struct st_env e;
	char mdir[400], cmd[2400], m1[80], m2[80], m3[80];
	const char *opts[1] = { NULL };
	json_t *prog, *outs;

	if (st_open(&e, "hup") != 0) {
		ok(0, "set up");
		return;
	}
	snprintf(mdir, sizeof(mdir), "%s/machines", e.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/machines/*.scxml %s/", mdir, e.src, mdir);
	(void)!system(cmd);
	snprintf(e.machines, sizeof(e.machines), "%s", mdir);
	st_send(&e, ST_QUEUE, TASK(7401, "\"site\": \"walmart\", \"searchterms_str\": \"a\", "
	    "\"cmd_args\": {\"fake_items\": 6, \"fake_delay_ms\": 500}"));
	st_smd_start(&e, 0, opts);
	ok(st_wait_spider(&e, 0, 10), "task 7401 runs");
	/* a new machine version: the same machine with a comment more */
	snprintf(cmd, sizeof(cmd), "echo '<!-- v2 -->' >> %s/task.scxml", mdir);
	(void)!system(cmd);
	kill(e.pid, SIGHUP);
	usleep(500000);
	ok(st_log_has(&e, "SIGHUP: new tasks run machine version"), "SIGHUP: the new machine is "
	    "taken");
	st_send(&e, ST_QUEUE, TASK(7402, "\"site\": \"walmart\", \"searchterms_str\": \"b\", "
	    "\"cmd_args\": {\"fake_items\": 1}"));
	/* a broken machine file: refused, the last good one stays */
	snprintf(cmd, sizeof(cmd), "printf '<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">"
	    "<state id=\"x\"><transition target=\"nowhere\"/></state></scxml>' > %s/task.scxml",
	    mdir);
	usleep(2500000);
	(void)!system(cmd);
	kill(e.pid, SIGHUP);
	usleep(500000);
	ok(st_log_has(&e, "SIGHUP: machine file") && st_log_has(&e, "the old machine stays"),
	    "SIGHUP with a broken machine: refused and logged, the old one stays");
	ok(st_log_has(&e, "task.scxml:1:"), "the refusal names file:line");
	/* valid SCXML that can never end: smd refuses it (smctl check warns) */
	snprintf(cmd, sizeof(cmd),
	    "printf '<scxml xmlns=\"http://www.w3.org/2005/07/scxml\">\\n"
	    "<state id=\"x\"><transition event=\"e\" target=\"x\"/></state></scxml>' "
	    "> %s/task.scxml",
	    mdir);
	(void)!system(cmd);
	kill(e.pid, SIGHUP);
	usleep(500000);
	ok(st_log_has(&e, "task.scxml:1: machine has no <final> state"),
	    "a task machine without a final state is refused, with file:line");
	st_send(&e, ST_QUEUE, TASK(7403, "\"site\": \"walmart\", \"searchterms_str\": \"c\", "
	    "\"cmd_args\": {\"fake_items\": 1}"));
	for (int i = 0; i < 200 && st_queue_count(&e, ST_QUEUE) != 0; i++)
		usleep(100000);
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "smd stops cleanly");
	prog = st_drain(&e, ST_PROGRESS);
	outs = st_drain(&e, ST_OUTPUT);
	is_int(st_has_output(outs, 7401) + st_has_output(outs, 7402) + st_has_output(outs, 7403), 3,
	    "the task in flight and both new ones finished");
	json_decref(prog);
	json_decref(outs);
	st_instance_machine(&e, "task-1", m1);
	st_instance_machine(&e, "task-2", m2);
	st_instance_machine(&e, "task-3", m3);
	ok(m1[0] && m2[0] && strcmp(m1, m2) != 0, "the task in flight kept its machine version, "
	    "the next one ran the new version");
	is_str(m3, m2, "after the refused file new tasks still run the last good version");
	st_close(&e);
}

/*
 * SIGHUP with a changed configuration file: the keys read only at start
 * (bucket, durability, max_restarts) keep their values and each is logged
 * as not applied; the others apply: max_concurrent_tasks for the next
 * poll, log_upload_interval from the reload (the log is uploaded within
 * it, where the old 1 h timer would not have).
 */
static void
case_sighup_config(void)
{
	struct st_env e;
	char key[600], logkey[200];
	int starts, most, n = 0, uploaded = 0;
	json_t *outs;

	if (st_open(&e, "hupcfg") != 0) {
		ok(0, "set up");
		return;
	}
	snprintf(e.conf, sizeof(e.conf), "%s/smd.conf", e.dir);
	st_write_file(&e, "smd.conf",
	    "bucket = " ST_BUCKET "\nmax_concurrent_tasks = 1\n"
	    "log_upload_interval = 1h\n");
	st_smd_start(&e, 0, NULL);
	for (int i = 0; i < 100 && !st_log_has(&e, "starting: state directory"); i++)
		usleep(50000);
	usleep(500000);
	st_log_key_part(&e, logkey, sizeof(logkey));
	st_write_file(&e, "smd.conf",
	    "bucket = other-bucket\ndurability = process\n"
	    "max_restarts = 5\nmax_concurrent_tasks = 2\nlog_upload_interval = 1s\n");
	ok(!st_bucket_key(&e, logkey, key, sizeof(key)),
	    "before the reload the log is not uploaded (log_upload_interval 1h)");
	kill(e.pid, SIGHUP);
	for (int i = 0; i < 100 && !st_log_has(&e, "SIGHUP: new tasks run"); i++)
		usleep(50000);
	ok(st_log_has(&e, "SIGHUP: 'bucket' changes only with a restart; still '" ST_BUCKET "'"),
	    "SIGHUP: the bucket is kept, and the log says so");
	ok(st_log_has(&e, "SIGHUP: 'durability' changes only with a restart; still 'full'"),
	    "durability is kept, and the log says so");
	ok(st_log_has(&e, "SIGHUP: 'max_restarts' changes only with a restart; still '3'"),
	    "max_restarts is kept, and the log says so");
	ok(!st_log_has(&e, "'max_concurrent_tasks' changes only") &&
	        !st_log_has(&e, "'log_upload_interval' changes only") &&
	        !st_log_has(&e, "'state_dir' changes only") &&
	        !st_log_has(&e, "'queues' changes only"),
	    "no other key is said to need a restart");
	ok(st_log_has(&e, "SIGHUP: 'max_concurrent_tasks' is now '2' (was '1')") &&
	        st_log_has(&e, "SIGHUP: 'log_upload_interval' is now '1s' (was '1h')"),
	    "the keys that apply are logged with their values");
	for (int i = 0; i < 60 && !uploaded; i++) {
		uploaded = st_bucket_key(&e, logkey, key, sizeof(key));
		if (!uploaded)
			usleep(100000);
	}
	ok(uploaded, "log_upload_interval applies from the reload: the log is uploaded");
	for (int i = 0; i < 2; i++) {
		char body[300];

		snprintf(body, sizeof(body),
		    TASK(% d,
		        "\"site\": \"walmart\", \"searchterms_str\": "
		        "\"h%d\", \"cmd_args\": {\"fake_items\": 4, \"fake_delay_ms\": 600}"),
		    7501 + i, i);
		st_send(&e, ST_QUEUE, body);
	}
	for (int i = 0; i < 300 && st_queue_count(&e, ST_QUEUE) != 0; i++)
		usleep(100000);
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 60), 0, "smd stops cleanly");
	most = st_max_tasks_at_once(&e, &starts);
	is_int(most, 2, "max_concurrent_tasks 2 applies after the reload (both tasks at once)");
	outs = st_drain(&e, ST_OUTPUT);
	for (size_t i = 0; i < json_array_size(outs); i++) {
		json_t *m = json_array_get(outs, i);

		n += json_is_string(json_object_get(m, "bucket_name")) &&
		    strcmp(json_string_value(json_object_get(m, "bucket_name")), ST_BUCKET) == 0;
	}
	is_int(n, 2, "both tasks' results went to the bucket smd started with");
	json_decref(outs);
	json_decref(st_drain(&e, ST_PROGRESS));
	if (!ok(st_log_has(&e, "smd exits"), "the log ends"))
		st_show_log(&e);
	st_close(&e);
}

/*
 * logrotate without copytruncate: smd.log renamed, then SIGHUP.  smd opens
 * a new smd.log, writes every later line there and none into the rotated
 * file, and log_upload follows the file by its path: the bucket's copy is
 * the new file.
 */
static void
case_log_reopen(void)
{
	struct st_env e;
	static const char *const opts[] = { "log_upload_interval=1s", NULL };
	char key[600], from[600], to[600], logkey[200];
	char *obj = NULL;
	size_t len;
	json_t *outs;

	if (st_open(&e, "logrot") != 0) {
		ok(0, "set up");
		return;
	}
	st_smd_start(&e, 0, opts);
	for (int i = 0; i < 100 && !st_log_has(&e, "starting: state directory"); i++)
		usleep(50000);
	usleep(300000);
	st_log_key_part(&e, logkey, sizeof(logkey));
	snprintf(from, sizeof(from), "%s/smd.log", e.dir);
	snprintf(to, sizeof(to), "%s/smd.log.1", e.dir);
	ok(rename(from, to) == 0, "smd.log rotated (renamed to smd.log.1)");
	kill(e.pid, SIGHUP);
	for (int i = 0; i < 100 && !st_log_has(&e, "SIGHUP: new tasks run"); i++)
		usleep(50000);
	ok(st_exists(&e, "smd.log"), "SIGHUP: a new smd.log is made");
	ok(st_log_has(&e, "SIGHUP: log file") && st_log_has(&e, "SIGHUP: new tasks run"),
	    "the reload's lines go to the new file");
	st_send(&e, ST_QUEUE,
	    TASK(7601,
	        "\"site\": \"walmart\", \"searchterms_str\": \"r\", "
	        "\"cmd_args\": {\"fake_items\": 1}"));
	for (int i = 0; i < 200 && !st_log_has(&e, "ended in 'reported'"); i++)
		usleep(50000);
	ok(st_log_has(&e, "task instance 'task-1' ended in 'reported'"),
	    "the next task's lines go to the new file");
	ok(!st__file_has(&e, "smd.log.1", "SIGHUP: reading") &&
	        !st__file_has(&e, "smd.log.1", "task-1"),
	    "and none to the rotated file");
	ok(st__file_has(&e, "smd.log.1", "starting: state directory"),
	    "which keeps what was written before");
	/* the next uploads hold the new file */
	for (int i = 0; i < 60; i++) {
		free(obj);
		obj = st_bucket_key(&e, logkey, key, sizeof(key)) ? st_get(&e, key, &len) : NULL;
		if (obj && strstr(obj, "ended in 'reported'"))
			break;
		usleep(100000);
	}
	ok(obj && strstr(obj, "ended in 'reported'") && !strstr(obj, "starting: state directory"),
	    "log_upload uploads the new smd.log after the reopen");
	free(obj);
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "smd stops cleanly");
	ok(st_log_has(&e, "smd exits"), "its last line is in the new file");
	outs = st_drain(&e, ST_OUTPUT);
	is_int(st_has_output(outs, 7601), 1, "the task was reported");
	json_decref(outs);
	json_decref(st_drain(&e, ST_PROGRESS));
	st_close(&e);
}

int
main(void)
{
	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	case_failures();
	case_stop_flag();
	case_sigterm();
	case_concurrency_and_visibility();
	case_sighup();
	case_sighup_config();
	case_log_reopen();
	return done_testing();
}
