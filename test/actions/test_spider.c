/*
 * test_spider.c - the spider actions through the engine with real child
 * processes: items and progress, the child's environment (session, fds,
 * signals, cwd), non-zero exit, signals, the deadline (whole group killed,
 * grandchildren included, SIGTERM ignored), exec failures, the start
 * timeout, cancel, garbage and huge lines, adoption after a restart, the
 * orphan sweep, kill_instance and stop_all.
 *
 * The children are /bin/sh -c scripts standing in for a spider (the test
 * only): "$1" is the .jl output, "$2" a side file.  This process is a
 * child subreaper (act_spider_create does it), so that a group's orphans
 * come back here and "no process left" can be checked with kill(-pgid, 0)
 * == ESRCH even where pid 1 does not reap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "act_spider.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "tap.h"

#include "engine/engine_test_util.h"

/*
 * pick: a task with waitonly = true goes straight to spider_wait with
 * task.started; startonly = true stops after spider_start (in `idle`).
 * spider.items events are counted in `nitems`.
 */
static const char *machine_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='pick'>"
    " <datamodel><data id='started' expr='task.started'/><data id='result' expr='null'/>"
    "  <data id='error' expr='null'/><data id='nitems' expr='-1'/></datamodel>"
    " <state id='pick'>"
    "  <transition cond='task.waitonly == true' target='wait'/>"
    "  <transition target='start'/>"
    " </state>"
    " <state id='start'>"
    "  <invoke id='s' type='urn:smd:scxml:1' src='spider_start'>"
    "   <param name='argv' expr='task.argv'/>"
    "   <param name='cwd' expr='task.cwd'/>"
    "   <param name='work_dir' expr='task.work'/>"
    "   <param name='log_path' expr='task.log'/>"
    "   <param name='output_path' expr='task.out'/>"
    "   <param name='start_timeout_ms' expr='task.start_timeout'/>"
    "   <param name='deadline_ms' expr='task.deadline'/>"
    "   <param name='kind' expr='task.kind'/>"
    "  </invoke>"
    "  <transition event='done.invoke.s' cond='task.startonly == true' target='idle'>"
    "   <assign location='started' expr='_event.data'/></transition>"
    "  <transition event='done.invoke.s' target='wait'>"
    "   <assign location='started' expr='_event.data'/></transition>"
    "  <transition event='error.invoke.s' target='failed'>"
    "   <assign location='error' expr='_event.data'/></transition>"
    "  <transition event='cancel' target='cancelled'/>"
    " </state>"
    " <state id='idle'><transition event='cancel' target='cancelled'/></state>"
    " <state id='wait'>"
    "  <invoke id='w' type='urn:smd:scxml:1' src='spider_wait'>"
    "   <param name='spider' expr='started'/>"
    "   <param name='output_path' expr='task.wait_out'/>"
    "   <param name='progress_interval_ms' expr='task.interval'/>"
    "   <param name='deadline_ms' expr='task.deadline'/>"
    "  </invoke>"
    "  <transition event='spider.items'><assign location='nitems' expr='_event.data.items'/>"
    "  </transition>"
    "  <transition event='done.invoke.w' target='ok'>"
    "   <assign location='result' expr='_event.data'/></transition>"
    "  <transition event='error.invoke.w' target='failed'>"
    "   <assign location='error' expr='_event.data'/></transition>"
    "  <transition event='cancel' target='cancelled'/>"
    " </state>"
    " <final id='ok'/><final id='failed'/><final id='cancelled'/>"
    "</scxml>";

/* spider_wait with explicit pid, start_time and output_path */
static const char *explicit_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='wait'>"
    " <datamodel><data id='result' expr='null'/><data id='error' expr='null'/></datamodel>"
    " <state id='wait'>"
    "  <invoke id='w' type='urn:smd:scxml:1' src='spider_wait'>"
    "   <param name='pid' expr='task.pid'/>"
    "   <param name='start_time' expr='task.start_time'/>"
    "   <param name='output_path' expr='task.out'/>"
    "   <param name='progress_interval_ms' expr='50'/>"
    "  </invoke>"
    "  <transition event='done.invoke.w' target='ok'>"
    "   <assign location='result' expr='_event.data'/></transition>"
    "  <transition event='error.invoke.w' target='failed'>"
    "   <assign location='error' expr='_event.data'/></transition>"
    " </state>"
    " <final id='ok'/><final id='failed'/>"
    "</scxml>";

static struct sm_machine *machine, *explicit_machine;

#define TEST_LINE_MAX (5u << 20)        /* opts.line_max: a cheap overlong line */
static char *tmp;               /* the test's directory */
static int ncase;

struct env {
	struct sm_loop *loop;
	struct sm_engine *e;
	struct act_spider *sp;
	int done;
	char final_id[64];
	uint64_t progress[256];
	int nprogress;
	char pidfile[600];
	int pidfile_mode;       /* seen during the run */
	int session_ok;         /* pgid = sid = pid, seen during the run */
	char fds[64];           /* the spider's open fds then ("0 1 2 ") */
};

struct task {
	char work[256], log[512], out[512], side[512];
	json_t *j;
};

static void
on_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd,
    void *arg)
{
	struct env *v = arg;

	(void)e;
	(void)id;
	(void)dd;
	v->done++;
	snprintf(v->final_id, sizeof(v->final_id), "%s", final_id);
}

static int
proc_fields(pid_t pid, long *pgrp, long *sid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice threads itreal starttime */
	if (sscanf(p + 2, "%*c %*d %ld %ld %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	    "%*d %*d %llu", pgrp, sid, start) != 3)
		return -1;
	return 0;
}

/* The fd numbers open in `pid`, ascending, each followed by a space. */
static void
list_fds(pid_t pid, char *out, size_t size)
{
	char path[64];
	int have[64] = { 0 }, n = 0;
	size_t o = 0;
	DIR *d;
	struct dirent *de;

	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (fd >= 0 && fd < 64)
			have[fd] = 1;
		else
			n++;
	}
	closedir(d);
	for (int fd = 0; fd < 64 && o + 4 < size; fd++)
		if (have[fd])
			o += (size_t)snprintf(out + o, size - o, "%d ", fd);
	if (n && o + 4 < size)
		snprintf(out + o, size - o, "+%d", n);
}

static void
on_progress(struct sm_action_call *call, uint64_t items, void *arg)
{
	struct env *v = arg;
	json_t *p = sm_action_call_params(call);
	struct stat st;
	long pgrp, sid;
	unsigned long long start;
	pid_t pid = (pid_t)json_integer_value(json_object_get(json_object_get(p, "spider"), "pid"));

	if (v->nprogress < 256)
		v->progress[v->nprogress++] = items;
	if (v->pidfile[0] && stat(v->pidfile, &st) == 0)
		v->pidfile_mode = (int)(st.st_mode & 0777);
	if (proc_fields(pid, &pgrp, &sid, &start) == 0)
		v->session_ok = pgrp == pid && sid == pid;
	list_fds(pid, v->fds, sizeof(v->fds));
}

static void
env_open_hook(struct env *v, int64_t grace_ms, act_spider_params_fn *hook,
    void *hook_arg)
{
	struct sm_error err;
	struct act_spider_opts o;

	memset(v, 0, sizeof(*v));
	if (sm_loop_create(&v->loop) != 0)
		bail_out("loop");
	if (sm_engine_create(&v->e, v->loop, NULL, &err) != 0)
		bail_out("engine: %s", err.msg);
	act_spider_opts_init(&o);
	o.kill_grace_ms = grace_ms;
	o.start_poll_ms = 20;
	o.line_max = TEST_LINE_MAX;
	o.progress = on_progress;
	o.progress_arg = v;
	o.start_params = hook;
	o.start_params_arg = hook_arg;
	if (act_spider_create(&v->sp, v->loop, &o, &err) != 0)
		bail_out("act_spider_create: %s", err.msg);
	if (act_spider_register(v->sp, v->e) != 0)
		bail_out("register");
	sm_engine_on_done(v->e, on_done, v);
	sm_engine_add_machine(v->e, machine);
	sm_engine_add_machine(v->e, explicit_machine);
}

static void
env_open(struct env *v, int64_t grace_ms)
{
	env_open_hook(v, grace_ms, NULL, NULL);
}

static void
env_close(struct env *v)
{
	sm_engine_destroy(v->e);
	act_spider_destroy(v->sp);
	sm_loop_destroy(v->loop);
}

static void
turn(struct env *v)
{
	struct sm_error err;

	sm_engine_flush(v->e, &err);
	sm_loop_run_once(v->loop, 10);
	sm_engine_flush(v->e, &err);
}

static void
run_until_done(struct env *v, uint64_t ms)
{
	uint64_t end = sm_time_mono_ms() + ms;

	while (!v->done && sm_time_mono_ms() < end)
		turn(v);
}

/* Run until the registry holds nothing (every group gone); 1 if so. */
static int
run_until_empty(struct env *v, uint64_t ms)
{
	uint64_t end = sm_time_mono_ms() + ms;

	while (act_spider_count(v->sp) > 0 && sm_time_mono_ms() < end)
		turn(v);
	return act_spider_count(v->sp) == 0;
}

static int
in_state(struct env *v, const char *id, const char *state)
{
	json_t *c = sm_engine_instance_config(v->e, id);
	size_t i;
	json_t *s;
	int r = 0;

	json_array_foreach(c, i, s)
		if (strcmp(json_string_value(s), state) == 0)
			r = 1;
	json_decref(c);
	return r;
}

static int
run_until_state(struct env *v, const char *id, const char *state, uint64_t ms)
{
	uint64_t end = sm_time_mono_ms() + ms;

	while (!in_state(v, id, state) && !v->done && sm_time_mono_ms() < end)
		turn(v);
	return in_state(v, id, state);
}

static json_t *
dm(struct env *v, const char *id, const char *key)
{
	return etu_dm(v->e, id, key);
}

static const char *
dm_str(struct env *v, const char *id, const char *path1, const char *key,
    char *buf, size_t size)
{
	json_t *o = dm(v, id, path1);
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, size, "%s", s ? s : "");
	json_decref(o);
	return buf;
}

static long long dm_int(struct env *v, const char *id, const char *path1, const char *key)
{
	json_t *o = dm(v, id, path1);
	json_t *x = key ? json_object_get(o, key) : o;
	long long r = json_is_integer(x) ? json_integer_value(x) :
	    json_is_real(x) ? (long long)json_real_value(x) : -999;

	json_decref(o);
	return r;
}

/* A task running `script` under /bin/sh in a fresh work dir. */
static void
task_new(struct task *t, const char *script)
{
	snprintf(t->work, sizeof(t->work), "%s/work/case%d", tmp, ++ncase);
	snprintf(t->log, sizeof(t->log), "%s/spider.log", t->work);
	snprintf(t->out, sizeof(t->out), "%s/items.jl", t->work);
	snprintf(t->side, sizeof(t->side), "%s/side%d", tmp, ncase);
	t->j = json_pack("{s:[s,s,s,s,s,s],s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:b,s:n}",
	    "argv", "/bin/sh", "-c", script, "sh", t->out, t->side,
	    "cwd", tmp, "work", t->work, "log", t->log, "out", t->out,
	    "start_timeout", 3000, "interval", 50, "deadline", 0,
	    "waitonly", 0, "startonly", 0, "started");
	json_object_set_new(t->j, "wait_out", json_null()); /* spider_start's */
	json_object_set_new(t->j, "kind", json_null());
	if (t->j == NULL)
		bail_out("json_pack");
}

static void
task_start(struct env *v, struct task *t, const char *id)
{
	struct sm_error err;

	if (sm_engine_start(v->e, machine, id, t->j, &err) != 0)
		bail_out("start %s: %s", id, err.msg);
	json_decref(t->j);
	t->j = NULL;
}

static int
group_gone(long pgid)
{
	return pgid > 1 && kill(-(pid_t)pgid, 0) == -1 && errno == ESRCH;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = calloc(1, 1 << 16);
	size_t n;

	if (f == NULL || b == NULL) {
		if (f)
			fclose(f);
		return b;
	}
	n = fread(b, 1, (1 << 16) - 1, f);
	b[n] = 0;
	fclose(f);
	return b;
}

static long
read_long(const char *path)
{
	char *s = slurp(path);
	long r = s ? strtol(s, NULL, 10) : 0;

	free(s);
	return r;
}

/* An instance of the explicit machine waiting on pid/start_time. */
static void
start_explicit(struct env *v, const char *id, long long pid, long long st,
    const char *out)
{
	struct sm_error err;
	json_t *task;

	task = json_pack("{s:I,s:I,s:s}", "pid", (json_int_t)pid, "start_time", (json_int_t)st,
	    "out", out);
	if (sm_engine_start(v->e, explicit_machine, id, task, &err) != 0)
		bail_out("start %s: %s", id, err.msg);
	json_decref(task);
}

/* Run until instance `id` is final; its final state id ("" if not). */
static const char *
wait_final(struct env *v, const char *id, uint64_t ms, char *buf,
    size_t size)
{
	uint64_t end = sm_time_mono_ms() + ms;
	struct sm_instance_status st = { 0 };

	while (sm_time_mono_ms() < end && (sm_engine_instance_status(v->e, id, &st) != 0 ||
	    st.state != SM_INSTANCE_DONE))
		turn(v);
	snprintf(buf, size, "%s", st.state == SM_INSTANCE_DONE ? st.final_id : "");
	return buf;
}

/* Run until the script wrote a pid to its side file; that process's group
 * (-1 after 3 s). */
static long
wait_side_group(struct env *v, const char *side)
{
	uint64_t end = sm_time_mono_ms() + 3000;
	long pid;

	while ((pid = read_long(side)) <= 1 && sm_time_mono_ms() < end)
		turn(v);
	return pid > 1 ? (long)getpgid((pid_t)pid) : -1;
}

/* The instance `id` ended in `failed` with `error` and a message holding
 * `part` (copied to msg). */
static void
check_failed(struct env *v, const char *id, const char *error, const char *part,
    char *msg, size_t msize, const char *what)
{
	char buf[512];

	is_str(v->final_id, "failed", "%s: fails", what);
	is_str(dm_str(v, id, "error", "error", buf, sizeof(buf)), error, "%s: with %s", what, error);
	like_str(dm_str(v, id, "error", "message", msg, msize), part, "%s: message", what);
}

/* A case whose spider fails: run `script` as `id` and check the failure. */
static void
run_failing(const char *script, const char *id, const char *error,
    const char *part, const char *what)
{
	struct env v;
	struct task t;
	char msg[512];

	env_open(&v, 2000);
	task_new(&t, script);
	task_start(&v, &t, id);
	run_until_done(&v, 10000);
	check_failed(&v, id, error, part, msg, sizeof(msg), what);
	ok(run_until_empty(&v, 5000), "%s: registry empty, group gone", what);
	env_close(&v);
}

/* ---- cases --------------------------------------------------------------------- */

static void
test_success(void)
{
	struct env v;
	struct task t;
	char buf[512], *log;
	long pgid;
	int i, mono = 1;

	env_open(&v, 2000);
	task_new(&t, "pwd >&2;"
	    " while read -r l; do case $l in Sig[BI]*) printf '%s\\n' \"$l\" >&2;; esac;"
	    " done < /proc/$$/status;"
	    " read x; echo \"stdin:$?\" >&2;"
	    " printf '{\"a\":1}\\n{\"a\":2}\\n' >> \"$1\"; sleep 0.4;"
	    " printf '{\"a\":3}\\n' >> \"$1\"; sleep 0.4; exit 0");
	snprintf(v.pidfile, sizeof(v.pidfile), "%s/%s", t.work, ACT_SPIDER_PIDFILE);
	task_start(&v, &t, "ok1");
	run_until_done(&v, 10000);
	is_str(v.final_id, "ok", "a spider that exits 0 ends the wait with done");
	is_int(dm_int(&v, "ok1", "result", "items"), 3, "items: the complete JSON lines");
	is_int(dm_int(&v, "ok1", "result", "exit_code"), 0, "exit_code 0");
	is_int(dm_int(&v, "ok1", "result", "garbage"), 0, "no garbage");
	pgid = dm_int(&v, "ok1", "started", "pgid");
	is_int(pgid, dm_int(&v, "ok1", "started", "pid"), "pgid = pid");
	ok(dm_int(&v, "ok1", "started", "start_time") > 0, "start_time from /proc");
	ok(dm_int(&v, "ok1", "started", "started_ms") > 1700000000000LL, "started_ms is wall time");
	ok(v.nprogress >= 2, "the progress hook ran as the count changed (%d calls)", v.nprogress);
	for (i = 1; i < v.nprogress; i++)
		if (v.progress[i] <= v.progress[i - 1])
			mono = 0;
	ok(mono, "each progress call has a new, higher count");
	is_int(v.nprogress ? (long long)v.progress[v.nprogress - 1] : -1, 3, "the last progress is 3");
	is_int(v.progress[0], 2, "the first progress is 2");
	is_int(dm_int(&v, "ok1", "nitems", NULL), 3, "spider.items events reached the instance");
	is_int(v.pidfile_mode, 0600, "spider.pid was there during the run, mode 0600");
	ok(v.session_ok, "the spider leads its own session and group");
	log = slurp(t.log);
	like_str(log, tmp, "cwd is the spiders dir");
	is_str(v.fds, "0 1 2 ", "only fds 0, 1, 2 are open in the spider");
	like_str(log, "SigBlk:\t0000000000000000", "no signal blocked in the spider");
	like_str(log, "SigIgn:\t0000000000000000", "no signal ignored in the spider");
	like_str(log, "stdin:1", "stdin is /dev/null (EOF at once)");
	free(log);
	ok(run_until_empty(&v, 5000), "the registry lets the child go");
	ok(group_gone(pgid), "no process of the group is left");
	ok(access(v.pidfile, F_OK) == -1, "spider.pid is removed once the group is gone");
	(void)buf;
	env_close(&v);
}

static void
test_exit_code(void)
{
	run_failing("echo started >&2; printf '{\"a\":1}\\n' >> \"$1\"; sleep 0.2; exit 3",
	    "ex1", "error.spider.exit", "code 3 after 1 items", "a non-zero exit");
	run_failing("exit 4", "qe2", "error.spider.start",
	    "exited with code 4 before writing its log", "an exit before writing anything");
	run_failing("echo started >&2; sleep 0.2; kill -SEGV $$; sleep 5", "sg1",
	    "error.spider.signal", "by signal 11 (SIGSEGV)", "killed by a signal");
}

static void
test_quick_exit(void)
{
	struct env v;
	struct task t;

	/* exits before spider_start looked: its log is there, the exit is kept */
	env_open(&v, 2000);
	task_new(&t, "echo started >&2; printf '{\"a\":1}\\n{\"a\":2}\\n' >> \"$1\"; exit 0");
	task_start(&v, &t, "qe1");
	run_until_done(&v, 10000);
	is_str(v.final_id, "ok", "a spider done before spider_wait adopted it: done");
	is_int(dm_int(&v, "qe1", "result", "items"), 2, "with its items");
	ok(run_until_empty(&v, 5000), "registry empty");
	env_close(&v);
}

static void
test_deadline(void)
{
	struct env v;
	struct task t;
	char buf[512];
	long pgid, grandchild;
	uint64_t t0;

	env_open(&v, 300);
	/* SIGTERM ignored by the spider and its grandchild: SIGKILL must follow */
	task_new(&t, "trap '' TERM; sleep 30 & echo $! > \"$2\"; echo started >&2; sleep 30");
	json_object_set_new(t.j, "deadline", json_integer(sm_time_wall_ms() + 700));
	task_start(&v, &t, "dl1");
	t0 = sm_time_mono_ms();
	run_until_done(&v, 10000);
	check_failed(&v, "dl1", "error.spider.timeout", "past the task deadline", buf, sizeof(buf),
	    "a spider past the task deadline");
	ok(sm_time_mono_ms() - t0 < 3000, "at the deadline");
	pgid = dm_int(&v, "dl1", "started", "pgid");
	grandchild = read_long(t.side);
	ok(grandchild > 1 && kill((pid_t)grandchild, 0) == 0, "its grandchild was alive");
	ok(run_until_empty(&v, 5000), "the registry watched the group to its end");
	ok(group_gone(pgid), "no process of the group survives (SIGTERM ignored, SIGKILL)");
	ok(grandchild > 1 && kill((pid_t)grandchild, 0) == -1 && errno == ESRCH,
	    "the grandchild is gone");
	env_close(&v);
}

static void
test_exec_failure(void)
{
	struct env v;
	struct task t;
	char buf[512];

	env_open(&v, 2000);
	task_new(&t, "");
	json_object_set_new(t.j, "argv", json_pack("[s,s]", "/nonexistent/spider", "crawl"));
	task_start(&v, &t, "xf1");
	run_until_done(&v, 5000);
	check_failed(&v, "xf1", "error.spider.start",
	    "cannot run spider program '/nonexistent/spider': No such file or directory", buf,
	    sizeof(buf), "a missing program (the exec error comes back through the pipe)");
	ok(access(t.work, F_OK) == 0, "the work dir was made");
	snprintf(buf, sizeof(buf), "%s/%s", t.work, ACT_SPIDER_PIDFILE);
	ok(access(buf, F_OK) == -1, "no spider.pid for a spider that never ran");
	is_int(act_spider_count(v.sp), 0, "nothing registered");
	env_close(&v);

	env_open(&v, 2000);
	task_new(&t, "");
	json_object_set_new(t.j, "argv", json_pack("[s]", "no-such-spider-program-42"));
	task_start(&v, &t, "xf2");
	run_until_done(&v, 5000);
	like_str(dm_str(&v, "xf2", "error", "message", buf, sizeof(buf)),
	    "'no-such-spider-program-42' not found in PATH", "a name not in PATH");
	env_close(&v);

	env_open(&v, 2000);
	task_new(&t, "echo hi >&2");
	json_object_set_new(t.j, "cwd", json_string("/nonexistent-spiders-dir"));
	task_start(&v, &t, "xf3");
	run_until_done(&v, 5000);
	like_str(dm_str(&v, "xf3", "error", "message", buf, sizeof(buf)),
	    "cannot enter the spiders dir '/nonexistent-spiders-dir'", "a missing cwd");
	env_close(&v);

	/* params that point outside the work dir run nothing */
	env_open(&v, 2000);
	task_new(&t, "echo hi >&2");
	json_object_set_new(t.j, "out", json_string("/tmp/../etc/x.jl"));
	task_start(&v, &t, "xf4");
	run_until_done(&v, 5000);
	is_str(dm_str(&v, "xf4", "error", "error", buf, sizeof(buf)), "error.execution",
	    "an output path outside the work dir is refused");
	is_int(act_spider_count(v.sp), 0, "and nothing ran");
	env_close(&v);
}

static void
test_start_timeout(void)
{
	struct env v;
	struct task t;
	char buf[512];
	long pgid;

	env_open(&v, 300);
	task_new(&t, "sleep 30 & echo $! > \"$2\"; sleep 30");
	json_object_set_new(t.j, "start_timeout", json_integer(300));
	task_start(&v, &t, "st1");
	pgid = wait_side_group(&v, t.side);
	run_until_done(&v, 5000);
	check_failed(&v, "st1", "error.spider.start", "wrote nothing", buf, sizeof(buf),
	    "a spider silent past start_timeout");
	ok(pgid > 1, "its group was alive before the failure");
	ok(run_until_empty(&v, 5000), "then the registry killed it");
	ok(group_gone(pgid), "no process of the group is left");
	env_close(&v);
}

static void
test_cancel(void)
{
	struct env v;
	struct task t;
	long pgid;

	env_open(&v, 2000);
	task_new(&t, "sleep 30 & echo started >&2; printf '{\"a\":1}\\n' >> \"$1\"; sleep 30");
	task_start(&v, &t, "cx1");
	ok(run_until_state(&v, "cx1", "wait", 5000), "the spider runs");
	pgid = dm_int(&v, "cx1", "started", "pgid");
	ok(!group_gone(pgid), "its group is alive");
	sm_engine_post(v.e, "cx1", "cancel", NULL);
	run_until_done(&v, 5000);
	is_str(v.final_id, "cancelled", "leaving the state cancels spider_wait");
	ok(run_until_empty(&v, 5000), "the registry watched the group to its end");
	ok(group_gone(pgid), "no process of the cancelled group is left");
	env_close(&v);

	/* cancelled while starting */
	env_open(&v, 2000);
	task_new(&t, "sleep 30 & echo $! > \"$2\"; sleep 30");
	task_start(&v, &t, "cx2");
	pgid = wait_side_group(&v, t.side);
	ok(pgid > 1, "a spider that has not written its log yet");
	sm_engine_post(v.e, "cx2", "cancel", NULL);
	run_until_done(&v, 5000);
	is_str(v.final_id, "cancelled", "leaving the state cancels spider_start");
	ok(run_until_empty(&v, 5000), "registry empty");
	ok(group_gone(pgid), "no process of that group is left");
	env_close(&v);
}

static void
test_garbage(void)
{
	struct env v;
	struct task t;

	env_open(&v, 2000);
	task_new(&t, "echo started >&2; printf '{\"a\":1}\\nnot json\\n[1,2]\\n\\n{\"b\":2}\\n"
	    "  {\"c\":3}  \\n{\"big\":123456789012345678901234567890}\\n{\"nul\":\"\\\\u0000\"}\\n"
	    "{\"a\":1} {\"b\":2}\\n{\"partial\":' >> \"$1\"; exit 0");
	task_start(&v, &t, "gb1");
	run_until_done(&v, 10000);
	is_str(v.final_id, "ok", "garbage in the output does not fail the spider");
	is_int(dm_int(&v, "gb1", "result", "items"), 5, "only complete JSON-object lines count");
	is_int(dm_int(&v, "gb1", "result", "garbage"), 4,
	    "not JSON, an array, an empty line, two objects on a line are garbage");
	env_close(&v);

	ok(act_spider_jl_item("{}", 2), "{} is an item");
	ok(!act_spider_jl_item("{}x", 3), "{}x is not");
	ok(!act_spider_jl_item("\"s\"", 3), "a string is not");
	ok(!act_spider_jl_item("{\"a\":\xff}", 7), "invalid bytes are not");
}

static void
test_huge_line(void)
{
	struct env v;
	struct task t;
	char big[600];
	FILE *f;
	size_t i;

	/* a 3 MiB object split across two writes (and progress ticks), a line
	 * over the line limit (TEST_LINE_MAX here), then a small one */
	snprintf(big, sizeof(big), "%s/big.jl", tmp);
	if ((f = fopen(big, "w")) == NULL)
		bail_out("cannot write %s", big);
	fputs("{\"x\":\"", f);
	for (i = 0; i < (3u << 20); i++)
		fputc('a' + (int)(i % 26), f);
	fputs("\"}\n{\"y\":\"", f);
	for (i = 0; i < TEST_LINE_MAX + 10; i++)
		fputc('b', f);
	fputs("\"}\n{\"z\":1}\n", f);
	fclose(f);
	env_open(&v, 2000);
	task_new(&t, "echo started >&2; head -c 1000000 \"$2\" >> \"$1\"; sleep 0.3;"
	    " tail -c +1000001 \"$2\" | head -c 4000000 >> \"$1\"; sleep 0.3;"
	    " tail -c +5000001 \"$2\" >> \"$1\"; sleep 0.3; exit 0");
	json_array_set_new(json_object_get(t.j, "argv"), 5, json_string(big));
	task_start(&v, &t, "hl1");
	run_until_done(&v, 30000);
	is_str(v.final_id, "ok", "huge lines do not break the count");
	is_int(dm_int(&v, "hl1", "result", "items"), 2, "a 3 MiB object counts, split or not");
	is_int(dm_int(&v, "hl1", "result", "garbage"), 1, "a line over the limit is garbage");
	env_close(&v);
	unlink(big);
}

static void
test_lost(void)
{
	struct env a, b;
	struct task t;
	char buf[512];
	json_t *started;

	env_open(&a, 2000);
	task_new(&t, "echo started >&2; sleep 30");
	task_start(&a, &t, "lo1");
	ok(run_until_state(&a, "lo1", "wait", 5000), "a spider runs under daemon A");
	started = dm(&a, "lo1", "started");

	/* daemon B (after a restart) has never spawned it */
	env_open(&b, 2000);
	task_new(&t, "");
	json_object_set_new(t.j, "waitonly", json_true());
	json_object_set(t.j, "started", started);
	task_start(&b, &t, "lo2");
	run_until_done(&b, 5000);
	check_failed(&b, "lo2", "error.spider.lost", "not a child of this daemon", buf, sizeof(buf),
	    "spider_wait of a spider this daemon did not spawn");
	env_close(&b);

	/* the same pid with another start time (a reused pid) is not it either */
	start_explicit(&a, "lo3", json_integer_value(json_object_get(started, "pid")),
	    json_integer_value(json_object_get(started, "start_time")) + 1, "/nonexistent.jl");
	is_str(wait_final(&a, "lo3", 3000, buf, sizeof(buf)), "failed",
	    "a pid whose start time differs");
	is_str(dm_str(&a, "lo3", "error", "error", buf, sizeof(buf)), "error.spider.lost",
	    "is lost too");
	ok(in_state(&a, "lo1", "wait"), "the real waiter is untouched");
	json_decref(started);
	sm_engine_post(a.e, "lo1", "cancel", NULL);
	run_until_done(&a, 5000);
	ok(run_until_empty(&a, 5000), "cancelled and gone");
	env_close(&a);
}

static void
test_explicit_wait(void)
{
	struct env v;
	struct task t;
	char buf[64], kindfile[600];
	long long pid, st;

	env_open(&v, 2000);
	task_new(&t, "echo started >&2; sleep 0.3; printf '{\"a\":1}\\n{\"a\":2}\\n' >> \"$1\"");
	json_object_set_new(t.j, "startonly", json_true());
	json_object_set_new(t.j, "kind", json_string("best_sellers"));
	snprintf(kindfile, sizeof(kindfile), "%s/spider-best_sellers.pid", t.work);
	task_start(&v, &t, "ew1");
	ok(run_until_state(&v, "ew1", "idle", 5000), "spider_start handed the spider over");
	ok(access(kindfile, F_OK) == 0, "another kind's record is spider-<kind>.pid");
	pid = dm_int(&v, "ew1", "started", "pid");
	st = dm_int(&v, "ew1", "started", "start_time");
	start_explicit(&v, "ew2", pid, st, t.out);
	is_str(wait_final(&v, "ew2", 5000, buf, sizeof(buf)), "ok",
	    "another instance adopts it with explicit pid, start_time and output_path");
	is_int(dm_int(&v, "ew2", "result", "items"), 2, "and counts its items");
	sm_engine_post(v.e, "ew1", "cancel", NULL);
	ok(run_until_empty(&v, 5000), "registry empty");
	ok(access(kindfile, F_OK) == -1, "its record is gone with it");
	env_close(&v);
}

/* The daemon's builder: spider params from the call's; `arg` the params to
 * give (NULL: refuse, as for a site without a spider). */
static int
build_params(struct sm_action_call *call, json_t **params, struct sm_error *err,
    void *arg)
{
	if (!json_is_object(sm_action_call_params(call)))
		return sm_error_set(err, SM_EINVAL, "no params");
	if (arg == NULL)
		return sm_error_set(err, SM_ENOTFOUND, "no spider for site 'nowhere'");
	*params = json_deep_copy(arg);
	return 0;
}

static void
test_start_params(void)
{
	struct env v;
	struct task t, built;
	json_t *p;
	char buf[512];

	task_new(&built, "echo started >&2; printf '{\"a\":1}\\n' >> \"$1\"; exit 0");
	p = json_pack("{s:O,s:O,s:O,s:O,s:O}", "argv", json_object_get(built.j, "argv"),
	    "cwd", json_object_get(built.j, "cwd"), "work_dir", json_object_get(built.j, "work"),
	    "log_path", json_object_get(built.j, "log"), "output_path",
	    json_object_get(built.j, "out"));
	json_decref(built.j);
	env_open_hook(&v, 2000, build_params, p);
	task_new(&t, "exit 9"); /* the call's own params are not what runs */
	task_start(&v, &t, "bp1");
	run_until_done(&v, 10000);
	is_str(v.final_id, "ok", "spider_start runs what opts.start_params built");
	is_int(dm_int(&v, "bp1", "result", "items"), 1, "and spider_wait reads its output");
	env_close(&v);
	json_decref(p);

	env_open_hook(&v, 2000, build_params, NULL);
	task_new(&t, "exit 9");
	task_start(&v, &t, "bp2");
	run_until_done(&v, 10000);
	check_failed(&v, "bp2", "error.spider.start", "no spider for site 'nowhere'", buf,
	    sizeof(buf), "a builder's refusal");
	is_int(act_spider_count(v.sp), 0, "nothing ran");
	env_close(&v);
}

static void
test_kill_instance(void)
{
	struct env v;
	struct task t;
	long pgid;

	env_open(&v, 2000);
	task_new(&t, "sleep 30 & echo started >&2; sleep 30");
	json_object_set_new(t.j, "startonly", json_true());
	task_start(&v, &t, "ki1");
	ok(run_until_state(&v, "ki1", "idle", 5000), "spider_start handed the spider over");
	pgid = dm_int(&v, "ki1", "started", "pgid");
	is_int(act_spider_count(v.sp), 1, "the registry holds it, unowned");
	act_spider_kill_instance(v.sp, "ki1");
	ok(run_until_empty(&v, 5000), "kill_instance ends and forgets it");
	ok(group_gone(pgid), "no process of the group is left");
	env_close(&v);

	/* the task deadline holds for an unowned spider too */
	env_open(&v, 200);
	task_new(&t, "trap '' TERM; echo started >&2; sleep 30");
	json_object_set_new(t.j, "startonly", json_true());
	json_object_set_new(t.j, "deadline", json_integer(sm_time_wall_ms() + 500));
	task_start(&v, &t, "ki2");
	ok(run_until_state(&v, "ki2", "idle", 5000), "an unowned spider");
	pgid = dm_int(&v, "ki2", "started", "pgid");
	{
		uint64_t end = sm_time_mono_ms() + 5000;

		while (!group_gone(pgid) && sm_time_mono_ms() < end)
			turn(&v);
	}
	ok(group_gone(pgid), "is killed at its deadline");
	is_int(act_spider_count(v.sp), 1, "and kept for an adopter to learn it timed out");
	act_spider_kill_instance(v.sp, "ki2");
	ok(run_until_empty(&v, 2000), "until the instance ends");
	env_close(&v);
}

static void
test_stop_all(void)
{
	struct env v;
	struct task t;
	long pg1, pg2;
	char buf[512];
	uint64_t t0;

	env_open(&v, 10000);
	task_new(&t, "sleep 30 & echo started >&2; sleep 30");
	task_start(&v, &t, "sa1");
	task_new(&t, "trap '' TERM; sleep 30 & echo started >&2; sleep 30");
	task_start(&v, &t, "sa2");
	ok(run_until_state(&v, "sa1", "wait", 5000) && run_until_state(&v, "sa2", "wait", 5000),
	    "two spiders run");
	pg1 = dm_int(&v, "sa1", "started", "pgid");
	pg2 = dm_int(&v, "sa2", "started", "pgid");
	t0 = sm_time_mono_ms();
	is_int(act_spider_stop_all(v.sp, 300), 0, "stop_all: nothing survives");
	ok(sm_time_mono_ms() - t0 < 3000, "within the grace period it was given (+ SIGKILL)");
	ok(group_gone(pg1) && group_gone(pg2), "both groups are gone");
	is_int(act_spider_count(v.sp), 0, "the registry is empty");
	run_until_done(&v, 2000);
	run_until_done(&v, 2000);
	is_str(dm_str(&v, "sa1", "error", "error", buf, sizeof(buf)), "error.spider.signal",
	    "a waiting call learns its spider was killed");
	env_close(&v);
}

/* ---- the orphan sweep ------------------------------------------------------------ */

static void
write_record(const char *dir, const char *name, long pid, unsigned long long start,
    const char *boot)
{
	char path[700];
	FILE *f;

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		bail_out("cannot write %s", path);
	fprintf(f, "{\"pid\":%ld,\"pgid\":%ld,\"start_time\":%llu,\"boot_id\":\"%s\"}\n", pid, pid,
	    start, boot);
	fclose(f);
}

/* A process in its own session (a spider left running). */
static pid_t
spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	/* wait until it is in its own session */
	for (int i = 0; i < 200 && getpgid(pid) != pid; i++)
		usleep(5000);
	return pid;
}

/* The "daemon" in a child process: start a spider, report its group, die
 * without any cleanup (as under kill -9). */
static void
crashed_daemon(const char *root, int wfd)
{
	struct env v;
	struct task t;
	long pgid;

	env_open(&v, 2000);
	task_new(&t, "sleep 30 & echo $! > \"$2\"; echo started >&2; sleep 30");
	if ((size_t)snprintf(t.work, sizeof(t.work), "%.200s/task-1", root) >= sizeof(t.work))
		_exit(4);
	snprintf(t.log, sizeof(t.log), "%s/task-1/s.log", root);
	snprintf(t.out, sizeof(t.out), "%s/task-1/s.jl", root);
	json_object_set_new(t.j, "work", json_string(t.work));
	json_object_set_new(t.j, "log", json_string(t.log));
	json_object_set_new(t.j, "out", json_string(t.out));
	snprintf(t.side, sizeof(t.side), "%.200s/side", root);
	json_array_set_new(json_object_get(t.j, "argv"), 5, json_string(t.side));
	task_start(&v, &t, "task-1");
	if (!run_until_state(&v, "task-1", "wait", 5000))
		_exit(2);
	pgid = dm_int(&v, "task-1", "started", "pgid");
	if (write(wfd, &pgid, sizeof(pgid)) != (ssize_t)sizeof(pgid))
		_exit(3);
	_exit(0);
}

static void
test_sweep(void)
{
	char root[200], dir[400], path[600], boot[64] = "";
	int pfd[2];
	pid_t d, leader, reused;
	long pgid = -1, gc;
	unsigned killed = 99;
	struct sm_error err;
	long pg, sid;
	unsigned long long start;
	FILE *f;
	int st;

	snprintf(root, sizeof(root), "%s/state-work", tmp);
	is_int(act_spider_sweep(root, &killed, &err), 0, "a missing work root is fine");
	is_int(killed, 0, "nothing killed");
	mkdir(root, 0700);

	/* 1: a daemon killed while its spider ran (the leader dies by PDEATHSIG,
	 * the grandchild is left) */
	if (pipe(pfd) != 0)
		bail_out("pipe");
	if ((d = fork()) == 0) {
		close(pfd[0]);
		crashed_daemon(root, pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &pgid, sizeof(pgid)) != (ssize_t)sizeof(pgid))
		pgid = -1;
	close(pfd[0]);
	waitpid(d, &st, 0);
	ok(pgid > 1, "the crashed daemon's spider group %ld", pgid);
	{
		/* its leader came to this process (subreaper) when it died */
		uint64_t end = sm_time_mono_ms() + 3000;
		pid_t r = 0;

		while (pgid > 1 && (r = waitpid((pid_t)pgid, &st, WNOHANG)) == 0 &&
		    sm_time_mono_ms() < end)
			usleep(10000);
		ok(r == (pid_t)pgid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		    "the leader died with the daemon (PR_SET_PDEATHSIG)");
	}
	snprintf(path, sizeof(path), "%s/side", root);
	gc = read_long(path);
	usleep(100000);
	ok(!group_gone(pgid), "survives the daemon (its grandchild)");

	/* 2: a leader still alive, recorded with its start time */
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (f == NULL || fgets(boot, sizeof(boot), f) == NULL)
		bail_out("no boot id");
	fclose(f);
	boot[strcspn(boot, "\n")] = 0;
	leader = spawn_sleeper();
	proc_fields(leader, &pg, &sid, &start);
	snprintf(dir, sizeof(dir), "%s/task-2", root);
	write_record(dir, "spider-best_sellers.pid", leader, start, boot);

	/* 3: a live pid with another start time (the number was reused) */
	reused = spawn_sleeper();
	proc_fields(reused, &pg, &sid, &start);
	snprintf(dir, sizeof(dir), "%s/task-3", root);
	write_record(dir, ACT_SPIDER_PIDFILE, reused, start + 1, boot);

	/* 4: another boot */
	snprintf(dir, sizeof(dir), "%s/task-4", root);
	write_record(dir, ACT_SPIDER_PIDFILE, reused, start, "00000000-0000-0000-0000-000000000000");

	/* 5: not a record */
	snprintf(dir, sizeof(dir), "%s/task-5", root);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, ACT_SPIDER_PIDFILE);
	f = fopen(path, "w");
	fputs("{\"pid\": \"1; rm -rf /\"}", f);
	fclose(f);

	is_int(act_spider_sweep(root, &killed, &err), 0, "the sweep succeeds");
	is_int(killed, 2, "it killed the two recorded groups still alive");
	ok(group_gone(pgid), "the crashed daemon's group is gone, grandchild included");
	ok(gc <= 1 || (kill((pid_t)gc, 0) == -1 && errno == ESRCH), "the grandchild is gone");
	ok(waitpid(leader, &st, WNOHANG) == leader || (kill(leader, 0) == -1 && errno == ESRCH),
	    "the live leader (a spider-<kind>.pid record) is gone");
	snprintf(path, sizeof(path), "%s/task-2/spider-best_sellers.pid", root);
	ok(access(path, F_OK) == -1, "its record is removed");
	ok(kill(reused, 0) == 0 && waitpid(reused, &st, WNOHANG) == 0,
	    "a reused pid is left alone");
	snprintf(path, sizeof(path), "%s/task-1/%s", root, ACT_SPIDER_PIDFILE);
	ok(access(path, F_OK) == -1, "the swept record is removed");
	snprintf(path, sizeof(path), "%s/task-3/%s", root, ACT_SPIDER_PIDFILE);
	ok(access(path, F_OK) == -1, "a stale record is removed");
	snprintf(path, sizeof(path), "%s/task-4/%s", root, ACT_SPIDER_PIDFILE);
	ok(access(path, F_OK) == -1, "a record of another boot is removed");
	snprintf(path, sizeof(path), "%s/task-5/%s", root, ACT_SPIDER_PIDFILE);
	ok(access(path, F_OK) == 0, "a broken record is left alone");
	kill(reused, SIGKILL);
	waitpid(reused, &st, 0);
	waitpid(leader, &st, WNOHANG);
}

int
main(void)
{
	struct sm_error err;
	struct act_spider *probe;
	sigset_t block;

	plan_no_plan();
	sm_log_init(stderr, SM_LOG_WARN, "test_spider");
	tmp = etu_tmpdir("sm_spider_test");
	machine = etu_load(machine_xml, "spider.scxml");
	explicit_machine = etu_load(explicit_xml, "explicit.scxml");
	/* what the spider must not inherit */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGUSR2, SIG_IGN);
	if (open("/dev/null", O_RDONLY) < 3) /* an fd without close-on-exec */
		bail_out("open /dev/null");
	/* this process is the subreaper from here on (see the top) */
	if (act_spider_create(&probe, NULL, NULL, &err) != 0)
		bail_out("act_spider_create: %s", err.msg);
	act_spider_destroy(probe);

	test_success();
	test_exit_code();
	test_quick_exit();
	test_deadline();
	test_exec_failure();
	test_start_timeout();
	test_cancel();
	test_garbage();
	test_huge_line();
	test_lost();
	test_explicit_wait();
	test_start_params();
	test_kill_instance();
	test_stop_all();
	test_sweep();

	sm_machine_free(machine);
	sm_machine_free(explicit_machine);
	etu_rmtree(tmp);
	free(tmp);
	return done_testing();
}
