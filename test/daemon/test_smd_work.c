/*
 * test_smd_work.c - smd end to end: the work directories of task runs
 * (<state>/work/task-<n>).  A reported run's goes at once, without
 * following the symbolic links a spider planted in it (the files they
 * point to, outside work/, survive), and `smctl inspect` then shows its
 * spider log's tail from the bucket (the key named; a hostile log of 10
 * MiB bounded and escaped; a removed object one line, exit status 0); a
 * failed run's stays for smctl
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

/* Write a zip at `path` of one member `name` holding `len` bytes of `data`. */
static int
write_zip(const char *path, const char *name, const char *data, size_t len)
{
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	zip_source_t *src;

	if (!z)
		return -1;
	if (!(src = zip_source_buffer(z, data, len, 0)) ||
	    zip_file_add(z, name, src, ZIP_FL_OVERWRITE) < 0) {
		zip_source_free(src);
		zip_discard(z);
		return -1;
	}
	return zip_close(z) == 0 ? 0 : -1;
}

/* A hostile spider log of 10 MiB: binary bytes (NULs, escapes), a line of
 * 2 MiB, then a terminal escape, invalid UTF-8 and a last line. */
static char *
hostile_log(size_t *len)
{
	static const char tail[] = "\x1b]0;owned\x07\x1b[31mred\x1b[0m\n"
	                           "bad utf-8 \xff\xfe here\n"
	                           "the last line\n";
	size_t n = 10u << 20, body = n - sizeof(tail) + 1;
	char *b = malloc(n);

	if (!b)
		return NULL;
	for (size_t i = 0; i < body - (2u << 20); i++)
		b[i] = (char)((i * 131u) & 0xff);
	memset(b + body - (2u << 20), 'A', 2u << 20);
	b[body - 1] = '\n';
	memcpy(b + body, tail, sizeof(tail) - 1);
	*len = n;
	return b;
}

/* The size of the last smctl run's stdout, or -1. */
static long
smctl_out_size(struct st_env *e)
{
	char path[600];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/smctl.stdout", e->dir);
	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/*
 * `smctl inspect` of a reported run whose work directory is gone: the
 * tail of its spider log comes from the bucket (the key named), bounded
 * and escaped when hostile; a missing object is one line, exit 0.
 */
static void
inspect_from_bucket(struct st_env *e)
{
	static const char *const text[] = { "inspect", "7701", NULL };
	static const char *const js[] = { "inspect", "--json", "--log-lines", "3", "7701", NULL };
	static char out[1 << 20];
	char key[600], want[800], path[700];
	json_t *j, *l;
	char *log;
	size_t len = 0;

	if (!ok(st_bucket_key(e, "7701____w____walmart.log.zip", key, sizeof(key)),
	        "task 7701's log is in the bucket"))
		return;
	is_int(st_smctl(e, text, 60, out, sizeof(out)), 0, "inspect 7701: exit 0");
	snprintf(want, sizeof(want), ", from the bucket: %s):\n", key);
	ok(strstr(out, "\nlog main.log (last ") && strstr(out, want),
	    "the log's tail is labelled as from the bucket, with its key");
	ok(strstr(out, "Spider closed (finished)\n") != NULL, "with the log's last line");
	is_int(st_smctl(e, js, 60, out, sizeof(out)), 0, "inspect 7701 --json: exit 0");
	j = json_loads(out, 0, NULL);
	l = json_array_get(json_object_get(j, "logs"), 0);
	ok(json_array_size(json_object_get(j, "logs")) == 1 &&
	        strcmp(json_string_value(json_object_get(l, "source")) ?: "", "bucket") == 0 &&
	        strcmp(json_string_value(json_object_get(l, "key")) ?: "", key) == 0 &&
	        strcmp(json_string_value(json_object_get(l, "file")) ?: "", "main.log") == 0 &&
	        !json_object_get(l, "path"),
	    "--json: logs [{file main.log, key, source bucket}]");
	ok(json_array_size(json_object_get(l, "lines")) == 3 &&
	        strstr(json_string_value(json_array_get(json_object_get(l, "lines"), 2)) ?: "",
	            "Spider closed"),
	    "--json: its last --log-lines lines");
	json_decref(j);

	/* a hostile log in its place: bounded and escaped */
	snprintf(path, sizeof(path), "%s/hostile.log.zip", e->dir);
	log = hostile_log(&len);
	ok(log && write_zip(path, "hostile.log", log, len) == 0, "a hostile log of 10 MiB zipped");
	free(log);
	s_put_file(e->tp, &e->t, ST_BUCKET, key, path);
	is_int(e->t.code, 0, "and put in its place");
	is_int(st_smctl(e, text, 60, out, sizeof(out)), 0, "inspect 7701: exit 0");
	ok(smctl_out_size(e) > 0 && smctl_out_size(e) < 200 * 1024,
	    "the output is bounded (%ld bytes)", smctl_out_size(e));
	ok(strchr(out, '\x1b') == NULL && strchr(out, '\x07') == NULL,
	    "no terminal escape reaches the terminal");
	ok(strstr(out, "\\x1b[31mred") && strstr(out, "bad utf-8 \xef\xbf\xbd\xef\xbf\xbd here") &&
	        strstr(out, "  the last line\n"),
	    "its lines shown escaped, invalid UTF-8 replaced");
	ok(strstr(out, "AAAAAAAA") == NULL, "the piece of the 2 MiB line is left out");
	is_int(st_smctl(e, js, 60, out, sizeof(out)), 0, "inspect 7701 --json: exit 0");
	j = json_loads(out, 0, NULL);
	l = json_object_get(json_array_get(json_object_get(j, "logs"), 0), "lines");
	ok(json_array_size(l) == 3 &&
	        strcmp(json_string_value(json_array_get(l, 2)) ?: "", "the last line") == 0 &&
	        strcmp(json_string_value(json_array_get(l, 0)) ?: "",
	            "\x1b]0;owned\x07\x1b[31mred\x1b[0m") == 0,
	    "--json: the last 3 lines, as JSON strings");
	json_decref(j);

	/* the object removed: one line in the log section, the rest shown */
	s_odelete(e->tp, &e->t, ST_BUCKET, key);
	is_int(st_smctl(e, text, 60, out, sizeof(out)), 0,
	    "inspect 7701 with its log gone from the bucket: exit 0 still");
	snprintf(want, sizeof(want), "\nlog main.log: cannot read %s from the bucket: ", key);
	ok(strstr(out, want) != NULL, "one line says the log cannot be read");
	ok(strstr(out, "\nstate        reported (final)\n") && strstr(out, "\nhistory ("),
	    "and the run is shown as before");
	is_int(st_smctl(e, js, 60, out, sizeof(out)), 0, "inspect 7701 --json: exit 0");
	j = json_loads(out, 0, NULL);
	l = json_array_get(json_object_get(j, "logs"), 0);
	ok(json_is_string(json_object_get(l, "error")) && !json_object_get(l, "lines") &&
	        strcmp(json_string_value(json_object_get(l, "key")) ?: "", key) == 0,
	    "--json: the log has its key and an error");
	json_decref(j);
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
	inspect_from_bucket(&e);

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
