/*
 * act_spider.c - the spider actions and their child registry (after
 * OpenSMTPD's children tree and forkmda, libuv's uv_spawn).  See
 * act_spider.h for the contract.
 *
 * A child (struct child) lives from fork until its leader is reaped AND no
 * live process of its group is left AND nobody may still adopt it.  Calls
 * (struct start_call, struct wait_call) only borrow it; cancelling a call
 * detaches it and asks the registry to kill the group.
 */
#include "act_spider.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "act_pack.h"
#include "act_private.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"

#define GROUP_POLL_MS 100       /* looking for a dying group's last member */
#define STOP_WAIT_MS 5000       /* after SIGKILL, before giving up */
#define PIDFILE_MAX 4096
#define READ_CHUNK 65536

/* ---- the registry ---------------------------------------------------------- */

struct start_call;
struct wait_call;

struct child {
	struct act_spider *sp;
	struct child *next;
	pid_t pid;                      /* = pgid = sid */
	uint64_t start_time;            /* /proc/<pid>/stat field 22 */
	char *instance;
	char *kind;
	char *pidfile;                  /* removed once the group is gone */
	char *output;                   /* its .jl, for spider_wait */
	int64_t deadline_wall;          /* 0: none */
	uint64_t deadline_timer, kill_timer, poll_timer;
	int watched;                    /* a loop child watch is armed */
	int reaped, status;             /* the leader's exit */
	int term_sent, kill_sent, gone;
	int timed_out;                  /* killed at its deadline */
	int abandoned;                  /* nobody will adopt it any more */
	struct start_call *starter;     /* at most one owner */
	struct wait_call *waiter;
};

struct act_spider {
	struct sm_loop *loop;
	struct act_spider_opts o;
	struct child *children;
	size_t nchildren;
};

struct start_call {
	struct act_spider *sp;
	struct sm_action_call *call;
	struct child *ch;
	char *log_path, *output_path;
	off_t log_base;
	uint64_t start_deadline;        /* monotonic ms */
	uint64_t timer;
	int64_t started_ms;
};

struct jl_count {
	int fd;
	off_t off;                      /* bytes read so far */
	char *line;                     /* the incomplete last line */
	size_t len, cap;
	int overlong;                   /* skipping a line over line_max */
	size_t line_max;
	uint64_t items, garbage;
};

struct wait_call {
	struct act_spider *sp;
	struct sm_action_call *call;
	struct child *ch;
	char *output_path;
	struct jl_count jl;
	uint64_t timer;
	int64_t interval; /* the params'; 0: the context's at each tick */
	uint64_t reported;
};

static void child_terminate(struct child *ch);
static void child_maybe_free(struct child *ch);
static void start_on_exit(struct start_call *sc);
static void wait_on_exit(struct wait_call *wc);
static void wait_timed_out(struct wait_call *wc);
static void start_timed_out(struct start_call *sc);

void
act_spider_opts_init(struct act_spider_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kill_grace_ms = ACT_SPIDER_KILL_GRACE_MS;
	o->start_poll_ms = 100;
	o->start_timeout_ms = ACT_SPIDER_START_TIMEOUT_MS;
	o->progress_interval_ms = ACT_SPIDER_PROGRESS_MS;
	o->line_max = ACT_PACK_LINE_MAX;
	o->subreaper = 1;
}

int
act_spider_create(struct act_spider **out, struct sm_loop *loop,
    const struct act_spider_opts *o, struct sm_error *err)
{
	struct act_spider *sp;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "spider registry: out of memory");
	sp->loop = loop;
	if (o)
		sp->o = *o;
	else
		act_spider_opts_init(&sp->o);
	if (sp->o.kill_grace_ms < 0)
		sp->o.kill_grace_ms = 0;
	if (sp->o.start_poll_ms <= 0)
		sp->o.start_poll_ms = 100;
	if (sp->o.start_timeout_ms <= 0)
		sp->o.start_timeout_ms = ACT_SPIDER_START_TIMEOUT_MS;
	if (sp->o.progress_interval_ms <= 0)
		sp->o.progress_interval_ms = ACT_SPIDER_PROGRESS_MS;
	if (sp->o.line_max == 0)
		sp->o.line_max = ACT_PACK_LINE_MAX;
	if (sp->o.subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		int e = errno;

		free(sp);
		return sm_error_set(err, sm_error_from_errno(e),
		    "cannot become the subreaper of the spiders: %s", strerror(e));
	}
	*out = sp;
	return 0;
}

size_t
act_spider_count(const struct act_spider *sp)
{
	return sp->nchildren;
}

static struct child *
child_find(struct act_spider *sp, pid_t pid)
{
	struct child *ch;

	for (ch = sp->children; ch; ch = ch->next)
		if (ch->pid == pid)
			return ch;
	return NULL;
}

/* ---- /proc ----------------------------------------------------------------- */

struct proc_info {
	char state;
	pid_t pgrp, sid;
	uint64_t start_time;
};

/* 0, or SM_ENOTFOUND when there is no such process (or it is unreadable). */
static int
proc_read(pid_t pid, struct proc_info *pi)
{
	char path[64], buf[1024], *p, *save = NULL, *tok;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return SM_ENOTFOUND;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return SM_ENOTFOUND;
	buf[n] = 0;
	/* the command name (field 2) may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL)
		return SM_ENOTFOUND;
	memset(pi, 0, sizeof(*pi));
	for (field = 3, tok = strtok_r(p + 1, " ", &save); tok && field <= 22;
	    field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3)
			pi->state = tok[0];
		else if (field == 5)
			pi->pgrp = (pid_t)strtol(tok, NULL, 10);
		else if (field == 6)
			pi->sid = (pid_t)strtol(tok, NULL, 10);
		else if (field == 22)
			pi->start_time = strtoull(tok, NULL, 10);
	}
	return field > 22 ? 0 : SM_ENOTFOUND;
}

static int
proc_is_dead(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

/* Live (not zombie) processes whose group and session are `pgid`; -1 if
 * /proc cannot be read. */
static int
proc_group_live(pid_t pgid)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		struct proc_info pi;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (proc_read((pid_t)pid, &pi) == 0 && pi.pgrp == pgid && pi.sid == pgid &&
		    !proc_is_dead(pi.state))
			n++;
	}
	closedir(d);
	return n;
}

/*
 * 1 while a process of the group lives.  Zombies do not count, except our
 * own (a subreaper's adopted orphans), which are reaped here when `reap`
 * says the leader was reaped already (before, waitpid(-pgid) could take
 * the leader from its own watch).
 */
static int
group_alive(pid_t pgid, int reap)
{
	int st;
	pid_t r;

	for (;;) {
		if (kill(-pgid, 0) == -1 && errno == ESRCH)
			return 0;
		if (proc_group_live(pgid) != 0)
			return 1;
		if (!reap)
			return 0;
		/* only zombies: reap ours, then look again */
		while ((r = waitpid(-pgid, &st, WNOHANG)) == -1 && errno == EINTR)
			;
		if (r == 0)
			return 1;       /* a child of ours in the group still runs */
		if (r == -1)
			return 0;       /* none of ours: the rest are pid 1's zombies */
	}
}

/* ---- the pid file ---------------------------------------------------------- */

struct pid_record {
	pid_t pid, pgid;
	uint64_t start_time;
	char boot_id[64];
};

static int
pidfile_read(const char *path, struct pid_record *r)
{
	char buf[PIDFILE_MAX];
	ssize_t n;
	int fd, rc = SM_ECORRUPT;
	json_t *j, *pid, *pgid, *st, *boot;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return sm_error_from_errno(errno);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n == (ssize_t)sizeof(buf))
		return SM_ECORRUPT;
	if ((j = json_loadb(buf, (size_t)n, 0, NULL)) == NULL)
		return SM_ECORRUPT;
	pid = json_object_get(j, "pid");
	pgid = json_object_get(j, "pgid");
	st = json_object_get(j, "start_time");
	boot = json_object_get(j, "boot_id");
	if (json_is_integer(pid) && json_is_integer(pgid) && json_is_integer(st) &&
	    json_is_string(boot) && json_integer_value(pid) > 1 &&
	    json_integer_value(pid) <= INT32_MAX &&
	    json_integer_value(pgid) == json_integer_value(pid) &&
	    json_integer_value(st) >= 0 && json_string_length(boot) < sizeof(r->boot_id)) {
		r->pid = (pid_t)json_integer_value(pid);
		r->pgid = (pid_t)json_integer_value(pgid);
		r->start_time = (uint64_t)json_integer_value(st);
		snprintf(r->boot_id, sizeof(r->boot_id), "%s", json_string_value(boot));
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/*
 * Written through a temporary file and rename, without fsync: the record
 * only has to survive the daemon's death (the page cache keeps it); after
 * a reboot the boot id makes it void anyway.
 */
static int
pidfile_write(const char *path, const struct child *ch, struct sm_error *err)
{
	char tmp[4200], bid[64];
	char *text;
	json_t *j;
	int fd, rc = 0;
	size_t len;

	act__boot_id(bid);
	j = json_pack("{s:i,s:i,s:I,s:s}", "pid", (int)ch->pid, "pgid", (int)ch->pid,
	    "start_time", (json_int_t)ch->start_time, "boot_id", bid);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return sm_error_set(err, SM_ENOMEM, "spider pid file: out of memory");
	len = strlen(text);
	text[len] = '\n'; /* json_dumps left room for its NUL: reuse it */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		free(text);
		return sm_error_set(err, SM_ETOOBIG, "spider pid file path is too long");
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1 || write(fd, text, len + 1) != (ssize_t)(len + 1)) {
		int e = errno;

		rc = sm_error_set(err, sm_error_from_errno(e), "cannot write '%s': %s", tmp,
		    strerror(e));
	}
	if (fd != -1 && close(fd) == -1 && rc == 0)
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) == -1)
		rc = sm_error_set(err, sm_error_from_errno(errno), "cannot rename '%s': %s", tmp,
		    strerror(errno));
	if (rc != 0 && fd != -1)
		(void)unlink(tmp);
	free(text);
	return rc;
}

/* Remove the record if it is still this child's (a rerun may have written
 * its own since). */
static void
pidfile_remove(const struct child *ch)
{
	struct pid_record r;

	if (ch->pidfile && pidfile_read(ch->pidfile, &r) == 0 && r.pid == ch->pid &&
	    r.start_time == ch->start_time)
		(void)unlink(ch->pidfile);
}

/* ---- killing and watching groups ------------------------------------------ */

static void
child_free(struct child *ch)
{
	struct act_spider *sp = ch->sp;
	struct child **pp;

	for (pp = &sp->children; *pp; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			sp->nchildren--;
			break;
		}
	}
	if (ch->deadline_timer)
		sm_loop_timer_del(sp->loop, ch->deadline_timer);
	if (ch->kill_timer)
		sm_loop_timer_del(sp->loop, ch->kill_timer);
	if (ch->poll_timer)
		sm_loop_timer_del(sp->loop, ch->poll_timer);
	if (ch->watched)
		sm_loop_child_del(sp->loop, ch->pid);
	free(ch->instance);
	free(ch->kind);
	free(ch->pidfile);
	free(ch->output);
	free(ch);
}

static void
child_maybe_free(struct child *ch)
{
	if (!ch->reaped || !ch->gone || !ch->abandoned || ch->starter || ch->waiter)
		return;
	pidfile_remove(ch);
	child_free(ch);
}

/* Returns 1 when the group is gone (and marks it). */
static int
group_check(struct child *ch)
{
	if (ch->gone)
		return 1;
	if (!ch->reaped || group_alive(ch->pid, 1))
		return 0;
	ch->gone = 1;
	if (ch->kill_timer) {
		sm_loop_timer_del(ch->sp->loop, ch->kill_timer);
		ch->kill_timer = 0;
	}
	return 1;
}

static int64_t
group_poll(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct child *ch = arg;

	(void)loop;
	(void)id;
	if (!group_check(ch))
		return GROUP_POLL_MS;
	ch->poll_timer = 0;
	child_maybe_free(ch);
	return -1;
}

static void
group_signal(struct child *ch, int sig)
{
	if (kill(-ch->pid, sig) == -1 && errno != ESRCH)
		sm_log_warn("%s: cannot signal %s group %d: %s", ch->instance, ch->kind,
		    (int)ch->pid, strerror(errno));
}

static int64_t
kill_due(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct child *ch = arg;

	(void)loop;
	(void)id;
	ch->kill_timer = 0;
	if (!group_check(ch)) {
		sm_log_warn("%s: %s group %d still alive %" PRId64 " ms after SIGTERM: SIGKILL",
		    ch->instance, ch->kind, (int)ch->pid, ch->sp->o.kill_grace_ms);
		group_signal(ch, SIGKILL);
		ch->kill_sent = 1;
	}
	return -1;
}

static void
arm_poll(struct child *ch)
{
	if (ch->reaped && !ch->gone && ch->poll_timer == 0)
		ch->poll_timer = sm_loop_timer_add(ch->sp->loop, GROUP_POLL_MS, group_poll, ch);
}

/* SIGTERM (and SIGCONT for stopped members) to the group now, SIGKILL
 * kill_grace_ms later; watched until gone. */
static void
child_terminate(struct child *ch)
{
	if (group_check(ch))
		return;
	if (!ch->term_sent) {
		ch->term_sent = 1;
		group_signal(ch, SIGTERM);
		group_signal(ch, SIGCONT);
		if (ch->sp->o.kill_grace_ms == 0) {
			group_signal(ch, SIGKILL);
			ch->kill_sent = 1;
		} else {
			ch->kill_timer = sm_loop_timer_add(ch->sp->loop, ch->sp->o.kill_grace_ms,
			    kill_due, ch);
		}
	}
	arm_poll(ch);
}

/* Nobody will adopt `ch` (a cancelled call, the end of its instance): its group goes. */
static void
child_give_up(struct child *ch)
{
	ch->abandoned = 1;
	child_terminate(ch);
	child_maybe_free(ch);
}

static void
child_exited(struct child *ch, int status)
{
	ch->watched = 0;
	ch->reaped = 1;
	ch->status = status;
	if (WIFSIGNALED(status))
		sm_log_info("%s: %s %d killed by signal %d", ch->instance, ch->kind,
		    (int)ch->pid, WTERMSIG(status));
	else
		sm_log_info("%s: %s %d exited with code %d", ch->instance, ch->kind,
		    (int)ch->pid, WEXITSTATUS(status));
	if (ch->starter)
		start_on_exit(ch->starter);
	else if (ch->waiter)
		wait_on_exit(ch->waiter);
	/* what the leader left behind goes with it */
	if (!group_check(ch))
		child_terminate(ch);
	child_maybe_free(ch);
}

static void
on_child(struct sm_loop *loop, pid_t pid, int status, void *arg)
{
	(void)loop;
	(void)pid;
	child_exited(arg, status);
}

static int64_t
deadline_due(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct child *ch = arg;

	(void)loop;
	(void)id;
	ch->deadline_timer = 0;
	if (ch->reaped)
		return -1;
	sm_log_warn("%s: %s %d ran past the task deadline: killing its group", ch->instance,
	    ch->kind, (int)ch->pid);
	ch->timed_out = 1;
	if (ch->waiter)
		wait_timed_out(ch->waiter);
	else if (ch->starter)
		start_timed_out(ch->starter);
	child_terminate(ch);
	child_maybe_free(ch);
	return -1;
}

static void
child_set_deadline(struct child *ch, int64_t wall_ms)
{
	int64_t delay;

	if (wall_ms <= 0)
		return;
	ch->deadline_wall = wall_ms;
	if (ch->deadline_timer)
		sm_loop_timer_del(ch->sp->loop, ch->deadline_timer);
	delay = wall_ms - sm_time_wall_ms();
	ch->deadline_timer = sm_loop_timer_add(ch->sp->loop, delay < 0 ? 0 : delay,
	    deadline_due, ch);
}

void
act_spider_kill_instance(struct act_spider *sp, const char *id)
{
	struct child *ch, *next;

	for (ch = sp->children; ch; ch = next) {
		next = ch->next;
		if (strcmp(ch->instance, id) == 0)
			child_give_up(ch);
	}
}

/* ---- spawning ---------------------------------------------------------------- */

/* The spider's argv with stdout and stderr appended to `stdio_path`. */
static int
spawn(char *const argv[], const char *cwd, const char *stdio_path, pid_t *out,
    struct sm_error *err)
{
	struct act__spawn s = { argv, NULL, cwd, -1, -1, "spider", "the spiders dir",
		"install it or configure spider_program with its full path" };
	int rc;

	*out = -1;
	s.out_fd = open(
	    stdio_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	if (s.out_fd == -1)
		return sm_error_set(err, sm_error_from_errno(errno), "cannot open '%s': %s",
		    stdio_path, strerror(errno));
	rc = act__spawn(&s, out, err);
	close(s.out_fd);
	return rc;
}

/* The action has reported: start() returns 0 after a failure it reported
 * itself. */
static int
report_fail(struct sm_action_call *call, const char *error, const char *msg)
{
	sm_action_fail(call, error, msg);
	return 0;
}

/* ---- params ------------------------------------------------------------------ */

static const char *
param_str(json_t *params, const char *key, int required, char *msg, size_t msize)
{
	json_t *v = json_object_get(params, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			snprintf(msg, msize, "param '%s' is missing", key);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, msize, "param '%s' must be a non-empty string without NUL", key);
		return NULL;
	}
	return json_string_value(v);
}

/* The integer param `key` (a JSON number), `def` when absent; -1 and msg
 * when it is not a number >= 0. */
static int64_t
param_int(json_t *params, const char *key, int64_t def, char *msg, size_t msize)
{
	json_t *v = json_object_get(params, key);
	double d;

	if (v == NULL || json_is_null(v))
		return def;
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (int64_t)json_integer_value(v);
	d = json_is_real(v) ? json_real_value(v) : -1;
	if (d >= 0 && d < 9.2e18)
		return (int64_t)d;
	snprintf(msg, msize, "param '%s' must be a number >= 0", key);
	return -1;
}

/* `path` names a file directly inside `dir`. */
static int
path_in_dir(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	const char *name;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (strncmp(path, dir, dl) != 0 || path[dl] != '/')
		return 0;
	name = path + dl + 1;
	return name[0] && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	    strcmp(name, "..") != 0;
}

static int
mkdir_p(const char *dir, struct sm_error *err)
{
	char buf[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return sm_error_set(err, SM_ETOOBIG, "work dir '%s' is too long", dir);
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != 0)
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0700) == -1 && errno != EEXIST)
			return sm_error_set(err, sm_error_from_errno(errno),
			    "cannot create '%s': %s", buf, strerror(errno));
		buf[i] = dir[i];
	}
	return 0;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* ---- spider_start ------------------------------------------------------------ */

static void
start_free(struct start_call *sc)
{
	if (sc->timer)
		sm_loop_timer_del(sc->sp->loop, sc->timer);
	if (sc->ch)
		sc->ch->starter = NULL;
	free(sc->log_path);
	free(sc->output_path);
	free(sc);
}

static int
start_begun(const struct start_call *sc)
{
	return file_size(sc->log_path) > sc->log_base || file_size(sc->output_path) > 0;
}

static void
start_done(struct start_call *sc)
{
	struct child *ch = sc->ch;
	struct sm_action_call *call = sc->call;
	json_t *r = json_pack("{s:i,s:i,s:I,s:I}", "pid", (int)ch->pid, "pgid", (int)ch->pid,
	    "start_time", (json_int_t)ch->start_time, "started_ms", (json_int_t)sc->started_ms);

	start_free(sc);
	if (r == NULL) {
		ch->abandoned = 1;
		child_terminate(ch);
		sm_action_fail(call, "error.execution", "out of memory");
		return;
	}
	sm_action_done(call, r);
	json_decref(r);
}

/* Fail the call and give the child up (the caller terminates it). */
static void
start_fail(struct start_call *sc, const char *error, const char *msg)
{
	struct sm_action_call *call = sc->call;

	if (sc->ch)
		sc->ch->abandoned = 1;
	start_free(sc);
	sm_action_fail(call, error, msg);
}

static void
start_on_exit(struct start_call *sc)
{
	struct child *ch = sc->ch;
	char msg[300];

	if (start_begun(sc)) {
		start_done(sc); /* spider_wait finds the exit status */
		return;
	}
	if (WIFSIGNALED(ch->status))
		snprintf(msg, sizeof(msg), "spider was killed by signal %d before writing its log "
		    "'%s'", WTERMSIG(ch->status), sc->log_path);
	else
		snprintf(msg, sizeof(msg), "spider exited with code %d before writing its log '%s'",
		    WEXITSTATUS(ch->status), sc->log_path);
	start_fail(sc, "error.spider.start", msg);
}

static void
start_timed_out(struct start_call *sc)
{
	start_fail(sc, "error.spider.timeout", "spider ran past the task deadline while starting");
}

static int64_t
start_poll(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct start_call *sc = arg;
	struct child *ch = sc->ch;
	char msg[300];

	(void)id;
	if (start_begun(sc)) {
		sc->timer = 0;
		start_done(sc);
		return -1;
	}
	if (sm_loop_now_ms(loop) < sc->start_deadline)
		return sc->sp->o.start_poll_ms;
	sc->timer = 0;
	snprintf(msg, sizeof(msg), "spider wrote nothing to its log '%s' in time "
	    "(spider_start_timeout): killed", sc->log_path);
	start_fail(sc, "error.spider.start", msg);
	child_terminate(ch);
	child_maybe_free(ch);
	return -1;
}

/* 1 if `s` is 1..32 bytes of [A-Za-z0-9_]. */
static int
kind_valid(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && n <= 32 && s[n] == 0;
}

static int
start_spawn(struct sm_action_call *call, json_t *params)
{
	struct act_spider *sp = sm_action_call_arg(call);
	json_t *jargv;
	const char *cwd, *work, *logp, *outp, *stdiop, *kind;
	char msg[SM_ERROR_MSG_MAX] = "", pidpath[4200], **argv = NULL;
	struct start_call *sc = NULL;
	struct child *ch = NULL;
	struct sm_error err;
	struct proc_info pi;
	int64_t timeout, deadline;
	size_t i, argc;
	pid_t pid;
	int rc;

	sm_error_clear(&err);
	jargv = json_object_get(params, "argv");
	argc = json_is_array(jargv) ? json_array_size(jargv) : 0;
	if (argc == 0 || argc > ACT_SPIDER_ARGV_MAX) {
		snprintf(msg, sizeof(msg), "param 'argv' must be an array of 1 to %d strings",
		    ACT_SPIDER_ARGV_MAX);
		goto bad;
	}
	for (i = 0; i < argc; i++) {
		json_t *a = json_array_get(jargv, i);

		if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a) ||
		    (i == 0 && json_string_length(a) == 0)) {
			snprintf(msg, sizeof(msg), "param 'argv' entry %zu must be a string without "
			    "NUL", i);
			goto bad;
		}
	}
	if (!(cwd = param_str(params, "cwd", 1, msg, sizeof(msg))) ||
	    !(work = param_str(params, "work_dir", 1, msg, sizeof(msg))) ||
	    !(logp = param_str(params, "log_path", 1, msg, sizeof(msg))) ||
	    !(outp = param_str(params, "output_path", 1, msg, sizeof(msg))))
		goto bad;
	stdiop = param_str(params, "stdio_path", 0, msg, sizeof(msg));
	kind = param_str(params, "kind", 0, msg, sizeof(msg));
	if (msg[0])
		goto bad;
	if (stdiop == NULL)
		stdiop = logp;
	if (kind == NULL)
		kind = "spider";
	if (!kind_valid(kind)) {
		snprintf(msg, sizeof(msg), "param 'kind' must be 1 to 32 characters of "
		    "[A-Za-z0-9_]");
		goto bad;
	}
	if (work[0] != '/' || strstr(work, "/../") || strstr(work, "/./") ||
	    (strlen(work) >= 3 && strcmp(work + strlen(work) - 3, "/..") == 0)) {
		snprintf(msg, sizeof(msg), "param 'work_dir' must be an absolute path without . or "
		    ".. components");
		goto bad;
	}
	if (!path_in_dir(logp, work) || !path_in_dir(outp, work) || !path_in_dir(stdiop, work)) {
		snprintf(msg, sizeof(msg), "log_path, output_path and stdio_path must name files "
		    "directly inside work_dir");
		goto bad;
	}
	timeout = param_int(params, "start_timeout_ms", sp->o.start_timeout_ms, msg, sizeof(msg));
	deadline = param_int(params, "deadline_ms", 0, msg, sizeof(msg));
	if (timeout < 0 || deadline < 0)
		goto bad;
	/* spider.pid, or spider-<kind>.pid for another kind in the same dir */
	if ((size_t)snprintf(pidpath, sizeof(pidpath), "%s/spider%s%s.pid", work,
	    strcmp(kind, "spider") ? "-" : "", strcmp(kind, "spider") ? kind : "") >=
	    sizeof(pidpath) - 8) {
		snprintf(msg, sizeof(msg), "param 'work_dir' is too long");
		goto bad;
	}

	if ((rc = mkdir_p(work, &err)) != 0)
		return report_fail(call, "error.execution", err.msg);
	if (unlink(outp) == -1 && errno != ENOENT) {
		snprintf(msg, sizeof(msg), "cannot remove the old output '%s': %s", outp,
		    strerror(errno));
		return report_fail(call, "error.execution", msg);
	}
	if ((argv = calloc(argc + 1, sizeof(*argv))) == NULL ||
	    (sc = calloc(1, sizeof(*sc))) == NULL || (ch = calloc(1, sizeof(*ch))) == NULL ||
	    (sc->log_path = strdup(logp)) == NULL || (sc->output_path = strdup(outp)) == NULL ||
	    (ch->instance = strdup(sm_action_call_instance(call))) == NULL ||
	    (ch->kind = strdup(kind)) == NULL || (ch->pidfile = strdup(pidpath)) == NULL ||
	    (ch->output = strdup(outp)) == NULL) {
		rc = SM_ENOMEM;
		goto fail;
	}
	for (i = 0; i < argc; i++)
		argv[i] = (char *)json_string_value(json_array_get(jargv, i));
	sc->sp = sp;
	sc->call = call;
	sc->log_base = file_size(logp);
	rc = spawn(argv, cwd, stdiop, &pid, &err);
	free(argv);
	argv = NULL;
	if (rc != 0) {
		report_fail(call, "error.spider.start", err.msg);
		rc = 0;
		goto fail;
	}
	sc->started_ms = sm_time_wall_ms();
	ch->sp = sp;
	ch->pid = pid;
	if (proc_read(pid, &pi) == 0)
		ch->start_time = pi.start_time;
	ch->next = sp->children;
	sp->children = ch;
	sp->nchildren++;
	sc->ch = ch;
	ch->starter = sc;
	sm_log_info("%s: %s %d started (%s)", ch->instance, kind, (int)pid,
	    json_string_value(json_array_get(jargv, 0)));
	if ((rc = sm_loop_child_add(sp->loop, pid, on_child, ch)) != 0) {
		/* cannot watch it: it must not run unwatched */
		group_signal(ch, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		ch->reaped = 1;
		ch->abandoned = 1;
		start_free(sc);
		group_check(ch);
		arm_poll(ch);
		child_maybe_free(ch);
		snprintf(msg, sizeof(msg), "cannot watch the spider process: %s", sm_strerror(rc));
		return report_fail(call, "error.spider.start", msg);
	}
	ch->watched = 1;
	if ((rc = pidfile_write(pidpath, ch, &err)) != 0) {
		start_fail(sc, "error.execution", err.msg);
		child_terminate(ch);
		return 0;
	}
	child_set_deadline(ch, deadline);
	sc->start_deadline = sm_time_mono_ms() + (uint64_t)timeout;
	sc->timer = sm_loop_timer_add(sp->loop, sp->o.start_poll_ms, start_poll, sc);
	sm_action_call_set_data(call, sc);
	return 0;

bad:
	return report_fail(call, "error.execution", msg);
fail:
	free(argv);
	if (sc) {
		free(sc->log_path);
		free(sc->output_path);
		free(sc);
	}
	if (ch) {
		free(ch->instance);
		free(ch->kind);
		free(ch->pidfile);
		free(ch->output);
		free(ch);
	}
	return rc;
}

static int
spider_start(struct sm_action_call *call)
{
	struct act_spider *sp = sm_action_call_arg(call);
	struct sm_error err;
	json_t *params = NULL;
	int rc;

	if (sp->o.start_params == NULL)
		return start_spawn(call, sm_action_call_params(call));
	sm_error_clear(&err);
	if ((rc = sp->o.start_params(call, &params, &err, sp->o.start_params_arg)) != 0 ||
	    params == NULL) {
		json_decref(params);
		return report_fail(call,
		    rc == SM_EAGAIN ? "error.spider.lost" : "error.spider.start",
		    err.msg[0] ? err.msg : "the spider's command could not be built");
	}
	rc = start_spawn(call, params);
	json_decref(params);
	return rc;
}

static void
spider_start_cancel(struct sm_action_call *call)
{
	struct start_call *sc = sm_action_call_data(call);
	struct child *ch;

	if (sc == NULL)
		return;
	ch = sc->ch;
	start_free(sc);
	child_give_up(ch);
}

/* ---- counting items ---------------------------------------------------------- */

int
act_spider_jl_item(const char *line, size_t n)
{
	json_t *j = json_loadb(line, n, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
	int r = json_is_object(j);

	json_decref(j);
	return r;
}

static void
jl_line(struct jl_count *c, const char *p, size_t n)
{
	if (act_spider_jl_item(p, n))
		c->items++;
	else
		c->garbage++;
}

static int
jl_feed(struct jl_count *c, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (!c->overlong && c->len + take > c->line_max) {
			c->overlong = 1;
			c->len = 0;
		}
		if (nl && !c->overlong && c->len == 0) {
			jl_line(c, p, take);
		} else if (!c->overlong) {
			if (c->len + take > c->cap) {
				size_t cap = c->cap ? c->cap : 4096;
				char *l;

				while (cap < c->len + take)
					cap *= 2;
				if ((l = realloc(c->line, cap)) == NULL)
					return SM_ENOMEM;
				c->line = l;
				c->cap = cap;
			}
			memcpy(c->line + c->len, p, take);
			c->len += take;
			if (nl) {
				jl_line(c, c->line, c->len);
				c->len = 0;
			}
		} else if (nl) {
			c->garbage++;
			c->overlong = 0;
		}
		if (nl && c->cap > (1u << 20)) {        /* a huge line passed: give it back */
			free(c->line);
			c->line = NULL;
			c->cap = 0;
		}
		take += nl ? 1 : 0;
		p += take;
		n -= take;
	}
	return 0;
}

/* Read what was appended since the last call. */
static int
jl_read(struct jl_count *c, const char *path)
{
	char *buf;
	ssize_t n;
	int rc = 0;

	if (c->fd == -1 && (c->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : sm_error_from_errno(errno);
	if ((buf = malloc(READ_CHUNK)) == NULL)
		return SM_ENOMEM;
	for (;;) {
		n = pread(c->fd, buf, READ_CHUNK, c->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == -1)
				rc = sm_error_from_errno(errno);
			break;
		}
		c->off += n;
		if ((rc = jl_feed(c, buf, (size_t)n)) != 0)
			break;
	}
	free(buf);
	return rc;
}

/* ---- spider_wait ------------------------------------------------------------- */

static void
wait_free(struct wait_call *wc)
{
	if (wc->timer)
		sm_loop_timer_del(wc->sp->loop, wc->timer);
	if (wc->ch)
		wc->ch->waiter = NULL;
	if (wc->jl.fd != -1)
		close(wc->jl.fd);
	free(wc->jl.line);
	free(wc->output_path);
	free(wc);
}

/* Report and release the call; the child is given up (consumed). */
static void
wait_finish(struct wait_call *wc, const char *error, const char *msg, json_t *result)
{
	struct sm_action_call *call = wc->call;

	if (wc->ch)
		wc->ch->abandoned = 1;
	wait_free(wc);
	if (error)
		sm_action_fail(call, error, msg);
	else
		sm_action_done(call, result);
}

static void
wait_on_exit(struct wait_call *wc)
{
	struct child *ch = wc->ch;
	char msg[300];
	int rc = jl_read(&wc->jl, wc->output_path);

	if (rc != 0)
		sm_log_warn("%s: cannot read spider output '%s': %s", ch->instance,
		    wc->output_path, sm_strerror(rc));
	if (ch->timed_out) {
		wait_finish(wc, "error.spider.timeout", "spider ran past the task deadline: "
		    "killed", NULL);
	} else if (WIFSIGNALED(ch->status)) {
		int sig = WTERMSIG(ch->status);

		snprintf(msg, sizeof(msg), "spider was killed by signal %d (SIG%s) after %" PRIu64
		    " items", sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", wc->jl.items);
		wait_finish(wc, "error.spider.signal", msg, NULL);
	} else if (WEXITSTATUS(ch->status) != 0) {
		snprintf(msg, sizeof(msg), "spider exited with code %d after %" PRIu64 " items",
		    WEXITSTATUS(ch->status), wc->jl.items);
		wait_finish(wc, "error.spider.exit", msg, NULL);
	} else {
		json_t *r = json_pack("{s:I,s:i,s:I}", "items", (json_int_t)wc->jl.items,
		    "exit_code", 0, "garbage", (json_int_t)wc->jl.garbage);

		if (r == NULL)
			wait_finish(wc, "error.execution", "out of memory", NULL);
		else
			wait_finish(wc, NULL, NULL, r);
		json_decref(r);
	}
}

static void
wait_timed_out(struct wait_call *wc)
{
	wait_finish(wc, "error.spider.timeout", "spider ran past the task deadline: killed",
	    NULL);
}

static int64_t
wait_interval(const struct wait_call *wc)
{
	return wc->interval > 0 ? wc->interval : wc->sp->o.progress_interval_ms;
}

static int64_t
wait_tick(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct wait_call *wc = arg;
	int rc;

	(void)loop;
	(void)id;
	if ((rc = jl_read(&wc->jl, wc->output_path)) != 0)
		sm_log_warn("%s: cannot read spider output '%s': %s", wc->ch->instance,
		    wc->output_path, sm_strerror(rc));
	if (wc->jl.items != wc->reported) {
		json_t *ev = json_pack("{s:I}", "items", (json_int_t)wc->jl.items);

		wc->reported = wc->jl.items;
		if (wc->sp->o.progress)
			wc->sp->o.progress(wc->call, wc->jl.items, wc->sp->o.progress_arg);
		(void)sm_engine_post(sm_action_call_engine(wc->call),
		    sm_action_call_instance(wc->call), "spider.items", ev);
		json_decref(ev);
	}
	return wait_interval(wc);
}

static int
spider_wait(struct sm_action_call *call)
{
	struct act_spider *sp = sm_action_call_arg(call);
	json_t *params = sm_action_call_params(call), *started;
	char msg[SM_ERROR_MSG_MAX] = "";
	const char *outp;
	int64_t pid, start_time, interval, deadline;
	struct wait_call *wc;
	struct child *ch;
	char *inst;

	/* pid and start_time as given, or inside spider_start's result */
	started = json_object_get(params, "pid") ? params : json_object_get(params, "spider");
	pid = param_int(started, "pid", -1, msg, sizeof(msg));
	start_time = param_int(started, "start_time", -1, msg, sizeof(msg));
	interval = param_int(params, "progress_interval_ms", 0, msg, sizeof(msg));
	deadline = param_int(params, "deadline_ms", 0, msg, sizeof(msg));
	outp = param_str(params, "output_path", 0, msg, sizeof(msg));
	if (msg[0] == 0 && (pid <= 1 || pid > INT32_MAX || start_time < 0))
		snprintf(msg, sizeof(msg), "params 'pid' and 'start_time' (or 'spider' holding "
		    "them) are required");
	if (msg[0])
		return report_fail(call, "error.execution", msg);

	ch = child_find(sp, (pid_t)pid);
	if (ch == NULL || ch->start_time != (uint64_t)start_time || ch->abandoned) {
		snprintf(msg, sizeof(msg), "spider %" PRId64 " is not a child of this daemon (it "
		    "restarted since the spider started): run it again", pid);
		return report_fail(call, "error.spider.lost", msg);
	}
	if (ch->starter || ch->waiter) {
		snprintf(msg, sizeof(msg), "spider %" PRId64 " is already being waited on", pid);
		return report_fail(call, "error.execution", msg);
	}
	if (outp == NULL)
		outp = ch->output;
	if ((wc = calloc(1, sizeof(*wc))) == NULL || (wc->output_path = strdup(outp)) == NULL) {
		free(wc);
		return SM_ENOMEM;
	}
	wc->sp = sp;
	wc->call = call;
	wc->ch = ch;
	wc->jl.fd = -1;
	wc->jl.line_max = sp->o.line_max;
	wc->interval = interval;
	if ((inst = strdup(sm_action_call_instance(call))) == NULL) {
		wc->ch = NULL;
		wait_free(wc);
		return SM_ENOMEM;
	}
	free(ch->instance); /* the adopter's instance owns it from now on */
	ch->instance = inst;
	ch->waiter = wc;
	sm_action_call_set_data(call, wc);
	if (ch->timed_out) {
		wait_timed_out(wc);
	} else if (ch->reaped) {
		wait_on_exit(wc);
		child_maybe_free(ch);
	} else {
		child_set_deadline(ch, deadline);
		wc->timer = sm_loop_timer_add(sp->loop, wait_interval(wc), wait_tick, wc);
	}
	return 0;
}

static void
spider_wait_cancel(struct sm_action_call *call)
{
	struct wait_call *wc = sm_action_call_data(call);
	struct child *ch;

	if (wc == NULL)
		return;
	ch = wc->ch;
	wait_free(wc);
	child_give_up(ch);
}

void
act_spider_set_progress_interval(struct act_spider *sp, int64_t ms)
{
	if (sp && ms > 0)
		sp->o.progress_interval_ms = ms;
}

int
act_spider_register(struct act_spider *sp, struct sm_engine *e)
{
	struct sm_action_def start = { "spider_start", spider_start, spider_start_cancel, sp };
	struct sm_action_def wait = { "spider_wait", spider_wait, spider_wait_cancel, sp };
	int rc;

	if ((rc = sm_engine_register_action(e, &start)) != 0)
		return rc;
	return sm_engine_register_action(e, &wait);
}

/* ---- shutdown ---------------------------------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
act_spider_stop_all(struct act_spider *sp, int64_t grace_ms)
{
	struct child *ch, *next;
	uint64_t end = sm_time_mono_ms() + (uint64_t)(grace_ms > 0 ? grace_ms : 0);
	int killed = 0, left;

	for (ch = sp->children; ch; ch = ch->next) {
		ch->abandoned = 1;
		if (!group_check(ch) && !ch->term_sent) {
			ch->term_sent = 1;
			group_signal(ch, SIGTERM);
			group_signal(ch, SIGCONT);
		}
	}
	for (;;) {
		left = 0;
		for (ch = sp->children; ch; ch = next) {
			int st;

			next = ch->next;
			if (!ch->reaped && waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
				sm_loop_child_del(sp->loop, ch->pid);
				child_exited(ch, st); /* may free ch */
				left++;         /* look at its group next round */
				continue;
			}
			if (!group_check(ch))
				left++;
			else
				child_maybe_free(ch);
		}
		if (left == 0)
			return 0;
		if (!killed && sm_time_mono_ms() >= end) {
			for (ch = sp->children; ch; ch = ch->next) {
				if (!ch->gone) {
					group_signal(ch, SIGKILL);
					ch->kill_sent = 1;
				}
			}
			killed = 1;
			end = sm_time_mono_ms() + STOP_WAIT_MS;
		} else if (killed && sm_time_mono_ms() >= end) {
			sm_log_error("%d spider group(s) survived SIGKILL for %d ms", left,
			    STOP_WAIT_MS);
			return SM_EBUSY;
		}
		sleep_ms(10);
	}
}

void
act_spider_destroy(struct act_spider *sp)
{
	if (sp == NULL)
		return;
	(void)act_spider_stop_all(sp, 0);
	while (sp->children) {
		struct child *ch = sp->children;

		/* calls still attached outlived their engine: drop them unreported */
		if (ch->starter) {
			ch->starter->ch = NULL;
			start_free(ch->starter);
			ch->starter = NULL;
		}
		if (ch->waiter) {
			ch->waiter->ch = NULL;
			wait_free(ch->waiter);
			ch->waiter = NULL;
		}
		child_free(ch);
	}
	free(sp);
}

/* ---- the startup sweep ------------------------------------------------------- */

/* 1 if the recorded group still has a live process that is ours to kill. */
static int
record_alive(const struct pid_record *r)
{
	struct proc_info pi;

	if (proc_read(r->pid, &pi) == 0) {
		if (pi.start_time != r->start_time)
			return 0;  /* the number was reused: the group cannot exist */
		return 1;
	}
	return proc_group_live(r->pgid) > 0;
}

struct sweep {
	char bid[64];
	pid_t *pg;                      /* groups killed; 0 once gone */
	char **files;                   /* their records */
	size_t n, cap;
};

/* One record: stale ones are removed, live groups killed and listed. */
static int
sweep_record(struct sweep *sw, const char *path, struct sm_error *err)
{
	struct pid_record r;
	int rc;

	if ((rc = pidfile_read(path, &r)) != 0) {
		sm_log_warn("sweep: '%s' is not a spider record (%s): left alone", path,
		    sm_strerror(rc));
		return 0;
	}
	if (strcmp(r.boot_id, sw->bid) != 0 || !record_alive(&r)) {
		(void)unlink(path);
		return 0;
	}
	if (sw->n == sw->cap) {
		size_t nc = sw->cap ? sw->cap * 2 : 8;
		pid_t *npg = realloc(sw->pg, nc * sizeof(*npg));
		char **nf;

		if (npg == NULL)
			return sm_error_set(err, SM_ENOMEM, "sweep: out of memory");
		sw->pg = npg;
		if ((nf = realloc(sw->files, nc * sizeof(*nf))) == NULL)
			return sm_error_set(err, SM_ENOMEM, "sweep: out of memory");
		sw->files = nf;
		sw->cap = nc;
	}
	if ((sw->files[sw->n] = strdup(path)) == NULL)
		return sm_error_set(err, SM_ENOMEM, "sweep: out of memory");
	sw->pg[sw->n++] = r.pgid;
	sm_log_warn("sweep: killing spider group %d left by a previous run (%s)", (int)r.pgid,
	    path);
	if (kill(-r.pgid, SIGKILL) == -1 && errno != ESRCH)
		sm_log_warn("sweep: cannot kill group %d: %s", (int)r.pgid, strerror(errno));
	return 0;
}

/* The records of one work dir: spider.pid and spider-<kind>.pid. */
static int
sweep_dir(struct sweep *sw, const char *dir, struct sm_error *err)
{
	DIR *d;
	struct dirent *de;
	char path[4200];
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return 0; /* not a directory, or gone */
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (strncmp(de->d_name, "spider", 6) != 0 || l < 10 ||
		    strcmp(de->d_name + l - 4, ".pid") != 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		rc = sweep_record(sw, path, err);
	}
	closedir(d);
	return rc;
}

int
act_spider_sweep(const char *work_root, unsigned *killed, struct sm_error *err)
{
	struct sweep sw;
	DIR *d;
	struct dirent *de;
	char path[4200];
	size_t i;
	int rc = 0, left = 0;
	uint64_t end;

	if (killed)
		*killed = 0;
	if ((d = opendir(work_root)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return sm_error_set(err, SM_EIO, "cannot read the work dir '%s': %s", work_root,
		    strerror(errno));
	}
	memset(&sw, 0, sizeof(sw));
	act__boot_id(sw.bid);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", work_root, de->d_name) >=
		    sizeof(path))
			continue;
		rc = sweep_dir(&sw, path, err);
	}
	closedir(d);
	end = sm_time_mono_ms() + STOP_WAIT_MS;
	for (;;) {
		left = 0;
		for (i = 0; i < sw.n; i++) {
			if (sw.pg[i] == 0)
				continue;
			if (group_alive(sw.pg[i], 1))
				left++;
			else
				sw.pg[i] = 0;
		}
		if (left == 0 || sm_time_mono_ms() >= end)
			break;
		sleep_ms(10);
	}
	for (i = 0; i < sw.n; i++) {
		if (sw.pg[i] == 0)
			(void)unlink(sw.files[i]);
		else if (rc == 0)
			rc = sm_error_set(err, SM_EBUSY, "spider group %d (%s) survived SIGKILL",
			    (int)sw.pg[i], sw.files[i]);
		free(sw.files[i]);
	}
	if (killed)
		*killed = (unsigned)(sw.n - (size_t)left);
	free(sw.pg);
	free(sw.files);
	return rc;
}
