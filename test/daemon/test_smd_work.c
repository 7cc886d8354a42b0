/*
 * test_smd_work.c - smd end to end: the work directories of task runs
 * (<state>/work/task-<n>).  A reported run's goes at once, without
 * following the symbolic links a spider planted in it (the files they
 * point to, outside work/, survive); a failed run's stays for smctl
 * replay; the sweep removes it once failed_work_keep has passed, at start
 * and while smd runs; what a crash left half removed goes at start.
 *
 * SM_TEST_BACKEND=local (default) or aws (under test/support/with_moto.sh).
 */
#include "smd_test_util.h"

#define TASK(id, extra) "{\"task_id\": " #id ", \"server_name\": \"" ST_SERVER "\", " extra "}"

/* Wait up to `secs` for smd's log to have `text`. */
static int
wait_log(struct st_env *e, const char *text, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		if (st_log_has(e, text))
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Wait up to `secs` for <dir>/`rel` to be gone. */
static int
wait_gone(struct st_env *e, const char *rel, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		if (!st_exists(e, rel))
			return 1;
		usleep(50000);
	}
	return 0;
}

int
main(void)
{
	struct st_env e;
	char out[400], p[900], q[900];
	static const char *const keep_1h[] = { "failed_work_keep=1h", NULL };
	static const char *const keep_1s[] = { "failed_work_keep=1s", NULL };
	static const char *const keep_2s[] = { "failed_work_keep=2s", NULL };
	FILE *f;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	if (st_open(&e, "work") != 0)
		bail_out("set up");
	/* files outside work/ a spider points links at */
	snprintf(out, sizeof(out), "%s/outside", e.dir);
	mkdir(out, 0700);
	snprintf(p, sizeof(p), "%s/secret", out);
	if ((f = fopen(p, "w")) != NULL) {
		fputs("keep me", f);
		fclose(f);
	}

	/* a reported run: its work directory goes, the links' targets stay */
	st_send(&e, ST_QUEUE,
	    TASK(7701,
	        "\"site\": \"walmart\", \"searchterms_str\": \"w\", "
	        "\"cmd_args\": {\"fake_items\": 4, \"fake_delay_ms\": 600}"));
	st_smd_start(&e, 0, keep_1h);
	ok(st_wait_spider(&e, 0, 20), "task 7701's spider runs");
	ok(st_exists(&e, "work/task-1"), "it has a work directory");
	snprintf(p, sizeof(p), "%s/work/task-1/link-file", e.dir);
	snprintf(q, sizeof(q), "%s/secret", out);
	ok(symlink(q, p) == 0, "a link to a file outside planted in it");
	snprintf(p, sizeof(p), "%s/work/task-1/link-dir", e.dir);
	ok(symlink(out, p) == 0, "and a link to a directory outside");
	ok(wait_log(&e, "task instance 'task-1' ended in 'reported'", 60), "task 7701 reported");
	ok(wait_gone(&e, "work/task-1", 5), "its work directory is removed");
	ok(!st_exists(&e, "work/.trash-task-1"), "all of it");
	ok(st__file_has(&e, "outside/secret", "keep me"),
	    "the file outside a link pointed to is untouched");
	ok(access(out, F_OK) == 0, "and the directory outside");

	/* a failed run: kept */
	st_send(&e, ST_QUEUE,
	    TASK(7702,
	        "\"site\": \"walmart\", \"searchterms_str\": \"x\", "
	        "\"cmd_args\": {\"fake_mode\": \"fail\", \"fake_items\": 1}"));
	ok(wait_log(&e, "task instance 'task-2' ended in 'failed'", 60), "task 7702 failed");
	usleep(300000);
	ok(st_exists(&e, "work/task-2/main.log"), "its work directory stays (for smctl replay)");
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "smd stops");
	ok(st_exists(&e, "work/task-2"),
	    "the failed run's directory is still there after the stop");

	/* the sweep at start: failed_work_keep=1s has passed for task-2; a
	 * trash left by a crash mid-removal goes too */
	snprintf(p, sizeof(p), "%s/work/.trash-task-9", e.dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/work/.trash-task-9/main.jl", e.dir);
	if ((f = fopen(p, "w")) != NULL)
		fclose(f);
	sleep(2);
	st_smd_start(&e, 1, keep_1s);
	is_int(st_smd_wait(&e, 30), 0, "smd with failed_work_keep=1s starts and exits (idle)");
	ok(!st_exists(&e, "work/task-2"), "the sweep at start removed the failed run's directory");
	ok(st_log_has(&e, "work directory of 'task-2' removed"), "and logged it");
	ok(!st_exists(&e, "work/.trash-task-9"), "and the trash a crash left");

	/* the sweep while smd runs: failed_work_keep=2s */
	st_send(&e, ST_QUEUE,
	    TASK(7703,
	        "\"site\": \"walmart\", \"searchterms_str\": \"y\", "
	        "\"cmd_args\": {\"fake_mode\": \"fail\", \"fake_items\": 1}"));
	st_smd_start(&e, 0, keep_2s);
	ok(wait_log(&e, "task instance 'task-3' ended in 'failed'", 60), "task 7703 failed");
	ok(st_exists(&e, "work/task-3"), "its work directory is there at first");
	ok(wait_gone(&e, "work/task-3", 10),
	    "and removed by a sweep within failed_work_keep and "
	    "the sweep interval");
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 30), 0, "smd stops");
	ok(st__file_has(&e, "outside/secret", "keep me"), "the file outside is still untouched");
	if (!ok(st_log_has(&e, "smd exits"), "the log ends"))
		st_show_log(&e);
	json_decref(st_drain(&e, ST_PROGRESS));
	json_decref(st_drain(&e, ST_OUTPUT));
	st_close(&e);
	return done_testing();
}
