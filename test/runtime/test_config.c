/*
 * test_config.c - smd's configuration parser under hostile input: the
 * defaults issue 8 lists, every value kind, long lines, NUL bytes, CR,
 * missing '=', duplicate and unknown keys, bad durations and counts,
 * environment and -o overrides in their order, every problem reported with
 * its file:line, a round trip through rt_config_write, and a reload
 * (rt_config_reload: the keys that need a restart keep their values).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_config.h"
#include "tap.h"

static char tmpdir[256];

/* a literal where the API takes char * (argv, environ) */
#define S(lit) ((char *)(lit))

#define LOAD(cfg, text, err) rt_config_load_mem(cfg, "t.conf", text, strlen(text), err)

/* Load `text` into a fresh config; the code; the config is freed. */
static int
load1(const char *text, struct sm_error *err)
{
	struct rt_config c;
	int rc;

	rt_config_init(&c);
	sm_error_clear(err);
	rc = LOAD(&c, text, err);
	rt_config_free(&c);
	return rc;
}

/* The config as rt_config_write prints it (malloc'd). */
static char *
dump(const struct rt_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	rt_config_write(c, fp);
	fclose(fp);
	return buf;
}

static void
test_defaults(void)
{
	struct rt_config c;
	char env[64];

	is_int(rt_config_init(&c), 0, "defaults");
	is_int(c.backend, RT_BACKEND_LOCAL, "backend local");
	is_str(c.state_dir, "/var/lib/smd", "state_dir");
	is_int(c.durability, STORE_DURABLE_FULL, "durability full");
	is_str(c.bucket, "spyder-bucket", "bucket");
	is_int(c.nqueues, 4, "four incoming queues");
	is_str(c.queues[0], "sqs_ranking_spiders_tasks_urgent", "urgent first");
	is_str(c.queues[1], "sqs_ranking_spiders_tasks", "then tasks");
	is_str(c.queues[2], "sqs_ranking_spiders_tasks_dev", "then dev");
	is_str(c.queues[3], "sqs_ranking_spiders_tasks_tests", "then tests");
	is_str(c.output_queue_suffix, "sqs_ranking_spiders_output", "output suffix");
	is_str(c.progress_queue_suffix, "sqs_ranking_spiders_progress", "progress suffix");
	is_str(c.spider_program, "scrapy", "spider_program");
	is_str(c.spiders_dir, ".", "spiders_dir");
	ok(c.spiders_repo == NULL, "spiders_repo unset");
	is_str(c.default_branch, "sc_production", "default_branch");
	ok(c.machines_dir && c.machines_dir[0], "machines_dir: %s", c.machines_dir);
	is_int(c.max_concurrent_tasks, 16, "max_concurrent_tasks");
	is_int(c.task_timeout_ms, 7200000, "task_timeout 7200 s");
	is_int(c.spider_start_timeout_ms, 120000, "spider_start_timeout 120 s");
	is_int(c.progress_interval_ms, 30000, "progress_interval 30 s");
	is_int(c.visibility_timeout_ms, 300000, "visibility_timeout 300 s");
	is_int(c.max_receives, 3, "max_receives");
	is_int(c.max_restarts, 3, "max_restarts");
	is_int(c.poll_wait_ms, 20000, "poll_wait 20 s");
	is_int(c.shutdown_grace_ms, 90000, "shutdown_grace 90 s");
	is_int(c.stop_flag_interval_ms, 60000, "stop_flag_interval 60 s");
	is_int(c.log_upload_interval_ms, 300000, "log_upload_interval 300 s");
	is_int(c.heartbeat_interval_ms, 60000, "heartbeat_interval 60 s");
	is_int(c.failed_work_keep_ms, 168 * 3600000LL, "failed_work_keep 7 days");
	is_int(c.set, 0, "nothing set by a source");
	is_str(rt_config_key_name(RT_KEY_poll_wait), "poll_wait", "key name");
	is_str(rt_config_env_name(RT_KEY_max_concurrent_tasks, env, sizeof(env)),
	    "SMD_MAX_CONCURRENT_TASKS", "environment name");
	ok(rt_config_key_name(RT_KEY__COUNT) == NULL, "no name past the last key");
	rt_config_free(&c);
	rt_config_free(&c); /* twice is harmless */
}

static void
test_file(void)
{
	static const char text[] =
	    "# smd.conf\n"
	    "\n"
	    "   backend   =   aws   \n"
	    "state_dir=/srv/smd\r\n"
	    "\tdurability = process\n"
	    "bucket = my.bucket-1\n"
	    "queues = a , b,c\n"
	    "output_queue_suffix = _out\n"
	    "progress_queue_suffix = _prog\n"
	    "spider_program = /opt/scrapy/bin/scrapy\n"
	    "spiders_dir = /srv/spiders\n"
	    "spiders_repo = git@example.invalid:spiders.git#main\n"
	    "default_branch = feature/x_1.2\n"
	    "machines_dir = /usr/share/smd/machines\n"
	    "max_concurrent_tasks = 4\n"
	    "task_timeout = 2h\n"
	    "spider_start_timeout = 90s\n"
	    "progress_interval = 1.5s\n"
	    "visibility_timeout = 5m\n"
	    "max_receives = 1000\n"
	    "max_restarts = 0\n"
	    "poll_wait = 0s\n"
	    "shutdown_grace = 500ms\n"
	    "stop_flag_interval = 1s\n"
	    "log_upload_interval = 10m\n"
	    "heartbeat_interval = 2s\n"
	    "failed_work_keep = 0s\n"
	    "# the end, no newline after the last line\n"
	    "  # indented comment";
	struct rt_config c;
	struct sm_error err;

	rt_config_init(&c);
	sm_error_clear(&err);
	is_int(LOAD(&c, text, &err), 0, "a file with every key");
	if (err.code)
		diag("%s", err.msg);
	is_int(c.backend, RT_BACKEND_AWS, "backend aws");
	is_str(c.state_dir, "/srv/smd", "CR before LF dropped");
	is_int(c.durability, STORE_DURABLE_PROCESS, "durability process (tab before the key)");
	is_str(c.bucket, "my.bucket-1", "bucket");
	is_int(c.nqueues, 3, "three queues");
	ok(c.nqueues == 3 && strcmp(c.queues[0], "a") == 0 && strcmp(c.queues[1], "b") == 0 &&
	    strcmp(c.queues[2], "c") == 0, "blanks around commas trimmed");
	is_str(c.spiders_repo, "git@example.invalid:spiders.git#main", "'#' inside a value stays");
	is_str(c.default_branch, "feature/x_1.2", "branch with '/'");
	is_int(c.max_concurrent_tasks, 4, "count");
	is_int(c.task_timeout_ms, 7200000, "2h");
	is_int(c.spider_start_timeout_ms, 90000, "90s");
	is_int(c.shutdown_grace_ms, 500, "500ms");
	is_int(c.progress_interval_ms, 1500, "1.5s");
	is_int(c.visibility_timeout_ms, 300000, "5m");
	is_int(c.max_receives, 1000, "count at its maximum");
	is_int(c.max_restarts, 0, "zero restarts allowed");
	is_int(c.poll_wait_ms, 0, "poll_wait 0s (short polls)");
	is_int(c.log_upload_interval_ms, 600000, "10m");
	is_int(c.heartbeat_interval_ms, 2000, "heartbeat_interval 2s");
	is_int(c.failed_work_keep_ms, 0, "failed_work_keep 0s: removed at the next sweep");
	is_int(c.set, ((uint64_t)1 << RT_KEY__COUNT) - 1, "every key marked as set");

	/* the printed form reads back to the same configuration */
	char *d1 = dump(&c), *d2 = NULL;
	struct rt_config c2;

	rt_config_init(&c2);
	is_int(LOAD(&c2, d1 ? d1 : "", &err), 0, "rt_config_write's output loads");
	d2 = dump(&c2);
	is_str(d2, d1, "and prints the same");
	like_str(d1, "task_timeout = 2h\n", "durations in the largest whole unit");
	like_str(d1, "progress_interval = 1500ms\n", "or in ms");
	like_str(d1, "queues = a,b,c\n", "queues joined by commas");
	free(d1);
	free(d2);
	rt_config_free(&c2);

	/* spiders_repo can be unset again */
	is_int(LOAD(&c, "spiders_repo =\n", &err), 0, "an empty spiders_repo");
	ok(c.spiders_repo == NULL, "unsets it");
	rt_config_free(&c);
}

struct bad {
	const char *text;
	const char *want;   /* in the message */
};

static void
test_refused(void)
{
	static const struct bad bad[] = {
		{ "poll_wait 5s\n", "t.conf:1: expected 'key = value'" },
		{ "\n\n# c\nnonsense\n", "t.conf:4: expected 'key = value'" },
		{ "= 5s\n", "t.conf:1: no key before '='" },
		{ "poll_wiat = 5s\n", "t.conf:1: unknown key 'poll_wiat'" },
		{ "POLL_WAIT = 5s\n", "(keys are lower case)" },
		{ "poll_wait = 5s\npoll_wait = 6s\n", "t.conf:2: poll_wait: given twice (first at line 1)" },
		{ "task_timeout = 1.s\n", "task_timeout: '1.s' is not a duration" },
		{ "task_timeout = -1s\n", "is not a duration" },
		{ "task_timeout = 1e3s\n", "is not a duration" },
		{ "task_timeout = NaN\n", "is not a duration" },
		{ "task_timeout = 30\n", "is not a duration" },
		{ "task_timeout = 30 s\n", "is not a duration" },
		{ "task_timeout = 999999999s\n", "task_timeout: '999999999s'" },
		{ "task_timeout = 5d\n", "is not a duration" },
		{ "task_timeout =\n", "task_timeout: no value" },
		{ "task_timeout = 0s\n", "out of range: at least 1s" },
		{ "task_timeout = 20s # a comment\n", "is not a duration" },
		{ "poll_wait = 21s\n", "poll_wait: '21s' is out of range: from 0s to 20s" },
		{ "poll_wait = 1500ms\n", "whole seconds only" },
		{ "visibility_timeout = 13h\n", "out of range" },
		{ "max_concurrent_tasks = 0\n", "a whole number from 1 to 4096" },
		{ "max_concurrent_tasks = 4097\n", "from 1 to 4096" },
		{ "max_concurrent_tasks = +3\n", "'+3' is refused" },
		{ "max_concurrent_tasks = 0x10\n", "is refused" },
		{ "max_concurrent_tasks = 99999999999\n", "is refused" },
		{ "max_concurrent_tasks = 3.0\n", "is refused" },
		{ "backend = s3\n", "backend: 's3' is refused: use 'local' or 'aws'" },
		{ "backend = LOCAL\n", "is refused" },
		{ "durability = fast\n", "use 'full' or 'process'" },
		{ "bucket = My_Bucket\n", "bucket name 'My_Bucket' is refused" },
		{ "bucket = ab\n", "bucket name" },
		{ "bucket = -ab\n", "bucket name" },
		{ "queues = a,,b\n", "queue name '' is refused" },
		{ "queues = a,b,a\n", "queue 'a' is listed twice" },
		{ "queues = a b\n", "queue name 'a b' is refused" },
		{ "queues = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", "more than 16 queues" },
		{ "output_queue_suffix = a.b\n", "is refused: 1 to 80" },
		{ "default_branch = ../x\n", "branch name '../x' is refused" },
		{ "default_branch = -x\n", "branch name" },
		{ "default_branch = a/../b\n", "branch name" },
		{ "default_branch = a b\n", "branch name" },
		{ "state_dir = /a\x01" "b\n", "state_dir: '/a\\x01b' holds a control character" },
		{ "state_dir = /a\x7f\n", "holds a control character" },
		{ "spider_program =\n", "spider_program: no value" },
	};
	struct sm_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load1(bad[i].text, &err);
		char shown[80];

		snprintf(shown, sizeof(shown), "%s", bad[i].text);
		shown[strcspn(shown, "\n")] = '\0';
		is_int(rc, SM_EPARSE, "refused: %s", shown);
		like_str(err.msg, bad[i].want, "  message for: %s", shown);
	}
}

static void
test_hostile(void)
{
	struct rt_config c;
	struct sm_error err;
	char *big;
	size_t n;

	/* a long line is refused, and the lines after it are still read */
	n = RT_CONFIG_LINE_MAX + 100;
	big = malloc(n + 64);
	memcpy(big, "state_dir = /", 13);
	memset(big + 13, 'a', n - 13);
	memcpy(big + n, "\nmax_receives = 7\nbad line\n", 27);
	rt_config_init(&c);
	is_int(rt_config_load_mem(&c, "t.conf", big, n + 26, &err), SM_EPARSE,
	    "a line over 4096 bytes is refused");
	like_str(err.msg, "t.conf:1: line longer than 4096 bytes", "with its line number");
	like_str(err.msg, "t.conf:3: expected 'key = value'", "the parser went on");
	is_int(c.max_receives, 7, "the good line after it was read");
	is_str(c.state_dir, "/var/lib/smd", "the long value was not taken");
	rt_config_free(&c);

	/* a line of exactly the maximum is fine */
	n = RT_CONFIG_LINE_MAX;
	memcpy(big, "state_dir = /", 13);
	memset(big + 13, 'b', n - 13);
	rt_config_init(&c);
	is_int(rt_config_load_mem(&c, "t.conf", big, n, &err), 0, "a 4096-byte line is fine");
	is_int(c.state_dir ? strlen(c.state_dir) : 0, n - 12, "and its value is whole");
	rt_config_free(&c);
	free(big);

	/* NUL bytes */
	static const char nul[] = "max_receives = 5\nstate_dir = /x\0/y\nmax_restarts = 9\n";
	rt_config_init(&c);
	is_int(rt_config_load_mem(&c, "t.conf", nul, sizeof(nul) - 1, &err), SM_EPARSE,
	    "a NUL byte in a line is refused");
	like_str(err.msg, "t.conf:2: NUL byte", "with its line number");
	is_str(c.state_dir, "/var/lib/smd", "the value around it is not taken");
	is_int(c.max_restarts, 9, "the next line is read");
	rt_config_free(&c);

	/* every problem is reported; too many are summed up */
	static const char many[] = "a\nb\nmax_receives = x\nd\n";
	is_int(load1(many, &err), SM_EPARSE, "several problems");
	like_str(err.msg, "t.conf:1:", "first");
	like_str(err.msg, "t.conf:2:", "second");
	like_str(err.msg, "t.conf:3: max_receives", "third");
	like_str(err.msg, "t.conf:4:", "fourth");
	big = malloc(200 * 8);
	for (n = 0; n < 200; n++)
		memcpy(big + n * 8, "garbage\n", 8);
	rt_config_init(&c);
	is_int(rt_config_load_mem(&c, "t.conf", big, 200 * 8, &err), SM_EPARSE, "200 bad lines");
	like_str(err.msg, "more problems", "summed up");
	ok(strlen(err.msg) < SM_ERROR_MSG_MAX, "the message fits");
	rt_config_free(&c);
	free(big);

	/* control characters from the input never reach the message raw */
	is_int(load1("\x1b[31mkey\x1b[0m = 1\n", &err), SM_EPARSE, "escape sequence in a key");
	ok(strchr(err.msg, 0x1b) == NULL, "the message has no raw ESC: %s", err.msg);
	like_str(err.msg, "\\x1b[31mkey", "shown as \\xNN");

	/* an empty file and a file of blank lines and comments are the defaults */
	is_int(load1("", &err), 0, "empty file");
	is_int(load1("\n\n   \n#x\n\t# y\r\n", &err), 0, "blank lines and comments");
}

static void
test_files(void)
{
	char path[400];
	struct rt_config c;
	struct sm_error err;
	int fd;

	rt_config_init(&c);
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	is_int(rt_config_load_file(&c, path, &err), SM_ENOTFOUND, "a missing file");
	like_str(err.msg, "missing.conf: cannot read the configuration file", "says so");
	is_int(rt_config_load_file(&c, tmpdir, &err), SM_EIO, "a directory");
	like_str(err.msg, "not a regular file", "says so");

	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, RT_CONFIG_FILE_MAX + 1) != 0)
		diag("cannot make %s", path);
	if (fd >= 0)
		close(fd);
	is_int(rt_config_load_file(&c, path, &err), SM_ETOOBIG, "a file over 1 MiB");

	snprintf(path, sizeof(path), "%s/smd.conf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "poll_wait = 7s\nbogus = 1\n", 25) != 25)
		diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);
	is_int(rt_config_load_file(&c, path, &err), SM_EPARSE, "a file with a bad line");
	char want[450];
	snprintf(want, sizeof(want), "%s:2: unknown key 'bogus'", path);
	like_str(err.msg, want, "file:line: in the message");
	is_int(c.poll_wait_ms, 7000, "its good line was read");
	rt_config_free(&c);
}

static void
test_sources(void)
{
	char path[400];
	struct rt_config c;
	struct sm_error err;
	int fd;
	char *env[] = { S("HOME=/root"), S("SMD_POLL_WAIT=2s"), S("SMD_MAX_RECEIVES=5"), S("SMDX=1"),
		S("SMD_=x"), NULL };
	char *env_bad[] = { S("SMD_POLL_WIAT=2s"), S("SMD_poll_wait=3s"), S("SMD_TASK_TIMEOUT=1.s"),
		S("SMD_STATE_DIR=/ok"), NULL };
	char *opts[] = { S("poll_wait=3s"), S(" max_restarts = 8 ") };
	char *opts_twice[] = { S("poll_wait=3s"), S("poll_wait=4s") };
	char *opts_bad[] = { S("poll_wait"), S("nokey=1"), S("=1") };
	char *env_none[] = { NULL };

	snprintf(path, sizeof(path), "%s/prec.conf", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static const char prec[] = "poll_wait = 1s\nmax_receives = 4\nmax_restarts = 6\n"
	    "bucket = from-file\n";
	if (fd < 0 || write(fd, prec, sizeof(prec) - 1) != (ssize_t)sizeof(prec) - 1)
		diag("cannot write %s", path);
	if (fd >= 0)
		close(fd);

	rt_config_init(&c);
	is_int(rt_config_load(&c, path, env_none, NULL, 0, &err), 0, "file only");
	is_int(c.poll_wait_ms, 1000, "file sets poll_wait");
	rt_config_free(&c);

	rt_config_init(&c);
	sm_error_clear(&err);
	is_int(rt_config_load(&c, path, env, NULL, 0, &err), SM_EPARSE,
	    "'SMD_' with no key is refused");
	like_str(err.msg, "environment SMD_: no configuration key", "names the variable");
	rt_config_free(&c);

	env[4] = NULL;
	rt_config_init(&c);
	is_int(rt_config_load(&c, path, env, opts, 2, &err), 0, "file, environment, -o");
	is_int(c.poll_wait_ms, 3000, "-o wins over the environment and the file");
	is_int(c.max_receives, 5, "the environment wins over the file");
	is_int(c.max_restarts, 8, "-o with blanks");
	is_str(c.bucket, "from-file", "the file wins over the default");
	ok((c.set & ((uint64_t)1 << RT_KEY_poll_wait)) && (c.set & ((uint64_t)1 << RT_KEY_bucket)) &&
	    !(c.set & ((uint64_t)1 << RT_KEY_state_dir)), "set bits name what a source gave");
	rt_config_free(&c);

	rt_config_init(&c);
	is_int(rt_config_load(&c, NULL, env_bad, NULL, 0, &err), SM_EPARSE, "bad environment");
	like_str(err.msg, "environment SMD_POLL_WIAT: no configuration key", "unknown SMD_ key");
	like_str(err.msg, "environment SMD_poll_wait: no configuration key",
	    "a lower-case SMD_ name is not a key");
	like_str(err.msg, "environment SMD_TASK_TIMEOUT: task_timeout: '1.s' is not a duration",
	    "bad value with the variable's name");
	is_str(c.state_dir, "/ok", "the good variable was taken");
	rt_config_free(&c);

	rt_config_init(&c);
	is_int(rt_config_load(&c, NULL, env_none, opts_twice, 2, &err), SM_EPARSE,
	    "-o twice for a key");
	like_str(err.msg, "poll_wait: given twice with -o", "says so");
	rt_config_free(&c);

	rt_config_init(&c);
	is_int(rt_config_load(&c, NULL, env_none, opts_bad, 3, &err), SM_EPARSE, "bad -o");
	like_str(err.msg, "-o 'poll_wait': expected key=value", "no '='");
	like_str(err.msg, "-o 'nokey=1': unknown key 'nokey'", "unknown key");
	like_str(err.msg, "-o '=1': unknown key ''", "empty key");
	rt_config_free(&c);

	rt_config_init(&c);
	is_int(rt_config_set_option(&c, "backend=aws", &err), 0, "rt_config_set_option");
	is_int(c.backend, RT_BACKEND_AWS, "applies");
	rt_config_free(&c);

	/* the process environment is read when envp is NULL */
	setenv("SMD_SHUTDOWN_GRACE", "5s", 1);
	rt_config_init(&c);
	is_int(rt_config_load(&c, NULL, NULL, NULL, 0, &err), 0, "the process environment");
	is_int(c.shutdown_grace_ms, 5000, "SMD_SHUTDOWN_GRACE read from environ");
	rt_config_free(&c);
	unsetenv("SMD_SHUTDOWN_GRACE");
}

/* rt_config_reload's reports, one line each: "key applied was now". */
static void
on_change(void *arg, enum rt_key key, int applied, const char *was, const char *now)
{
	char *buf = arg;
	size_t len = strlen(buf);

	snprintf(
	    buf + len, 4096 - len, "%s %d '%s' '%s'\n", rt_config_key_name(key), applied, was, now);
}

static void
test_reload(void)
{
	struct rt_config cur, next;
	struct sm_error err;
	char got[4096] = "";

	rt_config_init(&cur);
	rt_config_init(&next);
	sm_error_clear(&err);
	is_int(LOAD(&cur, "spiders_repo = /srv/s.git\nbucket = old-bucket\n", &err), 0,
	    "the configuration in force");
	is_int(LOAD(&next,
	           "bucket = new-bucket\nqueues = a, b\nstate_dir = /elsewhere\n"
	           "poll_wait = 5s\nmax_restarts = 9\ndurability = process\n",
	           &err),
	    0, "the configuration reloaded");
	is_int(rt_config_reload(&next, &cur, on_change, got), 0, "rt_config_reload");
	is_str(got,
	    "state_dir 0 '/var/lib/smd' '/elsewhere'\n"
	    "durability 0 'full' 'process'\n"
	    "bucket 0 'old-bucket' 'new-bucket'\n"
	    "queues 0 'sqs_ranking_spiders_tasks_urgent,sqs_ranking_spiders_tasks,"
	    "sqs_ranking_spiders_tasks_dev,sqs_ranking_spiders_tasks_tests' 'a,b'\n"
	    "spiders_repo 1 '/srv/s.git' ''\n"
	    "max_restarts 0 '3' '9'\n"
	    "poll_wait 1 '20s' '5s'\n",
	    "every changed key reported once, in table order, with applies or not");
	is_str(next.bucket, "old-bucket", "the bucket in force is kept");
	is_str(next.state_dir, "/var/lib/smd", "state_dir is kept");
	is_int(next.nqueues, 4, "the queues are kept");
	is_str(next.queues[0], "sqs_ranking_spiders_tasks_urgent", "in their order");
	is_int(next.durability, STORE_DURABLE_FULL, "durability is kept");
	is_int(next.max_restarts, 3, "max_restarts is kept");
	is_int(next.poll_wait_ms, 5000, "poll_wait takes the new value");
	ok(next.spiders_repo == NULL, "spiders_repo is unset as reloaded");
	got[0] = 0;
	is_int(rt_config_reload(&next, &next, on_change, got), 0, "a reload without a change");
	is_str(got, "", "reports nothing");
	rt_config_free(&cur);
	rt_config_free(&next);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX", t && t[0] ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	/* the tests assume no SMD_* variable from the caller's shell */
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; e && *e; e++)
			if (strncmp(*e, "SMD_", 4) == 0) {
				char name[128];

				snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
				unsetenv(name);
				again = 1;
				break;
			}
	}
	test_defaults();
	test_file();
	test_refused();
	test_hostile();
	test_files();
	test_sources();
	test_reload();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
