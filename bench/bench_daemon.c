/*
 * bench_daemon.c - smd end to end: tasks per second through the whole task
 * lifecycle with a trivial spider, against a plain sequential loop of the
 * same SQS/S3 calls measured in the same run; smd's own CPU per task; its
 * memory and CPU while idle and with 16 tasks in flight.
 *
 *	bench_daemon [-n local-tasks] [-m moto-tasks] [-r rounds] [-w idle-window-s]
 *	             [-b local|moto|both] [-d directory] [-k]
 *
 * For each backend (local; then moto, through test/support/with_moto.sh,
 * which starts a private moto_server on a free loopback port with request
 * signing enforced; skipped with a message when moto_server is missing):
 *
 *   daemon     N task messages are sent to one incoming queue, then the real
 *              smd (cmd/smd --exit-when-idle, default configuration but
 *              queues=<that queue> and poll_wait=1s) runs them with
 *              test/spider/fake_scrapy as spider_program (3 items, no
 *              delay).  Drain time = smd's start to the end of its last task
 *              (the "task instance ... ended" line of smd.log); tasks/s =
 *              N / drain time.  Checked: exit 0, N tasks ended in
 *              'reported', the incoming queue empty, N output messages.
 *   baseline   the same N messages (another queue) drained by a sequential C
 *              loop through the transport, no engine and no store: receive
 *              (10 at most), [moto: get of the cache entry, a miss], send of
 *              progress 0, put of the four zips (the sizes smd's zips had),
 *              [moto: put of the cache entry], send of the output message,
 *              send of progress "finished", delete.  Bodies and object sizes
 *              are copied from a warm-up run of smd.
 *   rounds     daemon, baseline, daemon, baseline, ... (-r of each), after
 *              one warm-up run of smd; each run in a fresh state directory
 *              and fresh queues.  Medians and the ratio daemon / baseline.
 *   CPU        smd's own utime + stime (/proc/<pid>/stat read while it is a
 *              zombie: the spiders' CPU is in cutime/cstime, not counted) /
 *              N; minus the same for a run on empty queues (start and exit).
 *              The baseline's CPU per task is the loop's getrusage.
 *   idle       smd with the default configuration (4 queues, poll_wait 20s)
 *              on empty queues: VmRSS, VmHWM, RssAnon, RssFile after 3 s,
 *              then CPU ticks and context switches (all threads) over -w
 *              seconds.
 *   busy       16 tasks whose spider waits for a signal (fake_mode hang),
 *              max_concurrent_tasks 16: the same figures once all 16
 *              spiders have started.
 *
 * The last line is "daemon/baseline tasks/s: local R, moto R".  The machine
 * this runs on is shared and noisy: read medians and ratios only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "ops_sync.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "store.h"
#include "transport.h"

#define ROUNDS_MAX 20
#define BUCKET "spyder-bucket"
#define PROGRESS_SUFFIX "sqs_ranking_spiders_progress"
#define OUTPUT_SUFFIX "sqs_ranking_spiders_output"
#define ITEMS_ARGS "\"fake_items\": 3"
#define HANG_ARGS "\"fake_mode\": \"hang\""
#define BUSY_TASKS 16
#define WARMUP_TASKS 20
#define RUN_TIMEOUT_S 900

enum { Z_JL, Z_CSV, Z_LOG, Z_PROGRESS, Z_CACHE, Z_KINDS };
static const char *const kind_suffix[Z_KINDS] = { ".jl.zip", ".csv.zip", ".log.zip",
	".progress.zip", ".json" };

struct opts {
	long n_local, n_moto;
	int rounds;
	int window_s;
	const char *dir;      /* where the run directories are made */
	const char *backends; /* local, moto or both */
	int keep;
	int aws_child; /* running under with_moto.sh: the moto part only */
	char smd[PATH_MAX], spider[PATH_MAX], machines[PATH_MAX], with_moto[PATH_MAX];
};

/* The UI server's side: a transport on the backend (local: on the store of
 * the state directory smd will use). */
struct ui {
	int aws;
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp;
	struct tres t;
};

/* What the baseline copies from smd's warm-up run. */
struct shape {
	double size[Z_KINDS]; /* average object size of each kind */
	char *cache;          /* moto: one cache entry's bytes */
	size_t cache_len;
	char *out_body, *prog0, *progfin;
};

/* One figure of /proc/<pid>: CPU in seconds, switches, memory in kB. */
struct psnap {
	double self_s, children_s;
	long vol, invol;
	long rss, hwm, anon, file, pss;
};

struct run {
	double rate;         /* tasks/s (drain) */
	double exit_rate;    /* tasks/s (start to exit) */
	double cpu_ms;       /* smd's CPU per task, ms */
	double spider_ms;    /* the spiders' CPU per task, ms */
	double empty_s;      /* empty-queue run: start to exit */
	double empty_cpu_ms; /* and its CPU, ms */
	long requests;       /* moto requests in the timed window, -1: unknown */
	long sqs;            /* of them SQS */
};

/* ---- small helpers ---------------------------------------------------------- */

static int
make_run_dir(const struct opts *o, char *out, size_t size)
{
	snprintf(out, size, "%s/bench-daemon-XXXXXX", o->dir);
	if (mkdtemp(out) == NULL) {
		fprintf(stderr, "bench_daemon: cannot make a directory in '%s': %s\n", o->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Remove a run directory, unless -k or the run failed (`rc`: it is kept to look at). */
static void
drop_run_dir(const struct opts *o, const char *dir, int rc)
{
	if (rc != 0)
		fprintf(stderr, "bench_daemon: kept %s\n", dir);
	else if (!o->keep)
		bench_rm_tree(dir);
}

/* Requests in the moto_server log (not /moto-api/), and of them SQS's (all
 * "POST /": S3's have a bucket in the path); -1 without the log. */
static long
moto_requests(long *sqs)
{
	const char *path = getenv("SM_MOTO_LOG");
	char line[1024];
	long n = 0;
	FILE *f;

	*sqs = 0;
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, " HTTP/1.1\" ") == NULL || strstr(line, "/moto-api/") != NULL)
			continue;
		n++;
		*sqs += strstr(line, "\"POST / HTTP/1.1\"") != NULL;
	}
	fclose(f);
	return n;
}

/* Wall seconds of a log line "2026-12-05T07:55:21.686Z ...", or -1. */
static double
line_wall(const char *line)
{
	struct tm tm;
	double sec;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(line, "%d-%d-%dT%d:%d:%lfZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	        &tm.tm_min, &sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = 0;
	return (double)timegm(&tm) + sec;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * From smd.log in `state`: tasks ended (*ended), of them in 'reported'
 * (*reported), the wall time of the last end (*last), spiders started
 * (*spiders).
 */
static void
read_log(const char *state, long *ended, long *reported, double *last, long *spiders)
{
	char path[PATH_MAX], line[4096];
	FILE *f;

	*ended = *reported = *spiders = 0;
	*last = -1;
	snprintf(path, sizeof(path), "%s/smd.log", state);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "task instance '") && strstr(line, "' ended in '")) {
			(*ended)++;
			*reported += strstr(line, "' ended in 'reported'") != NULL;
			*last = line_wall(line);
		} else if (strstr(line, ": spider ") && strstr(line, " started (")) {
			(*spiders)++;
		}
	}
	fclose(f);
}

/* ---- /proc -------------------------------------------------------------------- */

static long
status_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);

	return p ? atol(p + strlen(name)) : 0;
}

static int
read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * CPU of `pid` itself and of its reaped children (utime+stime,
 * cutime+cstime: /proc/<pid>/stat, also readable while it is a zombie),
 * context switches of all its threads, memory (none for a zombie).
 */
static int
psnap_read(pid_t pid, struct psnap *s)
{
	char path[64], buf[4096];
	unsigned long ut, st;
	long cut, cst, tick = sysconf(_SC_CLK_TCK);
	const char *p;
	DIR *d;
	struct dirent *de;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_text(path, buf, sizeof(buf)) != 0 || (p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime cutime cstime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &ut, &st,
	        &cut, &cst) != 4)
		return -1;
	s->self_s = (double)(ut + st) / (double)tick;
	s->children_s = (double)(cut + cst) / (double)tick;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_text(path, buf, sizeof(buf)) == 0) {
		s->rss = status_field(buf, "VmRSS:");
		s->hwm = status_field(buf, "VmHWM:");
		s->anon = status_field(buf, "RssAnon:");
		s->file = status_field(buf, "RssFile:");
	}
	/* Pss: shared pages divided by the processes that map them */
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (read_text(path, buf, sizeof(buf)) == 0)
		s->pss = status_field(buf, "\nPss:");
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char tpath[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		if (read_text(tpath, buf, sizeof(buf)) == 0) {
			s->vol += status_field(buf, "voluntary_ctxt_switches:");
			s->invol += status_field(buf, "nonvoluntary_ctxt_switches:");
		}
	}
	closedir(d);
	return 0;
}

/* ---- smd ------------------------------------------------------------------------ */

/*
 * Start smd on state directory `state` (its output in <state>.out) with the
 * bench's -o options, then `extra` (NULL ended).
 */
static pid_t
smd_start(
    const struct opts *o, const char *state, int aws, int exit_when_idle, const char *const *extra)
{
	char opt[8][PATH_MAX + 32], out[PATH_MAX + 8], spiders[PATH_MAX];
	char *argv[48];
	char s_q[] = "-q", s_idle[] = "--exit-when-idle", s_o[] = "-o";
	int n = 0, k = 0, fd;
	sigset_t none;
	pid_t pid;

	snprintf(spiders, sizeof(spiders), "%s", state);
	if (strrchr(spiders, '/'))
		*strrchr(spiders, '/') = '\0';
	snprintf(opt[k++], sizeof(opt[0]), "state_dir=%s", state);
	snprintf(opt[k++], sizeof(opt[0]), "backend=%s", aws ? "aws" : "local");
	snprintf(opt[k++], sizeof(opt[0]), "machines_dir=%s", o->machines);
	snprintf(opt[k++], sizeof(opt[0]), "spider_program=%s", o->spider);
	snprintf(opt[k++], sizeof(opt[0]), "spiders_dir=%s", spiders);
	argv[n++] = (char *)o->smd;
	argv[n++] = s_q;
	if (exit_when_idle)
		argv[n++] = s_idle;
	for (int i = 0; i < k; i++) {
		argv[n++] = s_o;
		argv[n++] = opt[i];
	}
	for (size_t i = 0; extra && extra[i] && n < 46; i++) {
		argv[n++] = s_o;
		argv[n++] = (char *)extra[i];
	}
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s.out", state);
	fflush(stdout);
	if ((pid = fork()) != 0)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	execv(o->smd, argv);
	_exit(127);
}

/*
 * Wait up to `timeout_s` for `pid` to exit without reaping it (its /proc
 * figures stay readable): 0, or -1 on timeout.  SIGCHLD is blocked (main).
 */
static int
smd_exited(pid_t pid, double timeout_s)
{
	double end = bench_now() + timeout_s;
	sigset_t chld;
	siginfo_t si;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		double left;
		struct timespec ts;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return 0;
		if ((left = end - bench_now()) <= 0)
			return -1;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* Reap `pid`: its exit status (128 + signal when killed), -1 on error. */
static int
smd_reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* SIGTERM, then SIGKILL after `grace_s`; the exit status. */
static int
smd_stop(pid_t pid, double grace_s)
{
	kill(pid, SIGTERM);
	if (smd_exited(pid, grace_s) != 0) {
		fprintf(stderr, "bench_daemon: smd %d did not stop in %.0f s: killed\n", (int)pid,
		    grace_s);
		kill(pid, SIGKILL);
	}
	return smd_reap(pid);
}

/* ---- the UI side ------------------------------------------------------------------ */

static int
ui_open(struct ui *u, int aws, const char *state)
{
	struct tp_config c;
	struct sm_error err;

	memset(u, 0, sizeof(*u));
	u->aws = aws;
	sm_error_clear(&err);
	if (sm_loop_create(&u->loop) != 0)
		return -1;
	if (!aws && store_open(&u->st, state, NULL, &err) != 0) {
		fprintf(stderr, "bench_daemon: %s\n", err.msg);
		return -1;
	}
	tp_config_init(&c);
	c.backend = aws ? "aws" : "local";
	c.state_dir = state;
	c.store = u->st;
	if (tp_create(&u->tp, u->loop, &c, &err) != 0) {
		fprintf(stderr, "bench_daemon: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void
ui_close(struct ui *u)
{
	tres_free(&u->t);
	tp_destroy(u->tp);
	store_close(u->st);
	sm_loop_destroy(u->loop);
	memset(u, 0, sizeof(*u));
}

/* The URL of queue `name`, created when missing; 0 or -1 (message printed). */
static int
ui_queue(struct ui *u, const char *name, char *url, size_t size)
{
	s_create_queue(u->tp, &u->t, name, NULL, 0);
	if (u->t.code != 0) {
		fprintf(stderr, "bench_daemon: cannot create queue '%s': %s\n", name, u->t.msg);
		return -1;
	}
	snprintf(url, size, "%s", u->t.url);
	return 0;
}

/* Send tasks first_id .. first_id + n - 1 from `server` (cmd_args `args`). */
static int
ui_submit(
    struct ui *u, const char *url, const char *server, long first_id, long n, const char *args)
{
	struct tp_batch_entry e[10];
	char body[10][512], id[10][16];
	long i = 0;

	while (i < n) {
		size_t k;

		for (k = 0; k < 10 && i < n; k++, i++) {
			snprintf(body[k], sizeof(body[k]),
			    "{\"task_id\": %ld, \"server_name\": "
			    "\"%s\", \"site\": \"walmart\", \"searchterms_str\": \"bench%ld\", "
			    "\"cmd_args\": {%s}}",
			    first_id + i, server, first_id + i, args);
			snprintf(id[k], sizeof(id[k]), "e%zu", k);
			memset(&e[k], 0, sizeof(e[k]));
			e[k].id = id[k];
			e[k].body = body[k];
		}
		s_send_batch(u->tp, &u->t, url, e, k);
		for (size_t j = 0; u->t.code == 0 && j < u->t.nb; j++)
			if (u->t.b[j].code != 0)
				u->t.code = u->t.b[j].code;
		if (u->t.code != 0) {
			fprintf(stderr, "bench_daemon: cannot send the tasks: %s\n", u->t.msg);
			return -1;
		}
	}
	return 0;
}

/* Messages in the queue (visible + not visible), or -1. */
static long
ui_count(struct ui *u, const char *url)
{
	const char *v, *nv;

	s_attrs(u->tp, &u->t, url, NULL, 0);
	v = tres_attr(&u->t, "ApproximateNumberOfMessages");
	nv = tres_attr(&u->t, "ApproximateNumberOfMessagesNotVisible");
	return u->t.code == 0 && v && nv ? atol(v) + atol(nv) : -1;
}

/* ---- one run's directory, UI side and queues ---------------------------------------- */

struct run_env {
	char dir[PATH_MAX];       /* the run directory (removed at the end) */
	char state[PATH_MAX + 8]; /* <dir>/state: smd's (local: and the UI's store) */
	char queue[64], url[512]; /* the incoming queue bench_tasks_<tag><n> */
	char server[32];          /* the tasks' server_name, bench<tag><n> */
	struct ui u;
};

/*
 * A fresh run directory with its state directory, the UI side open on it
 * and the incoming queue created.  0, or -1 after printing why; either way
 * run_env_close() follows.
 */
static int
run_env_open(const struct opts *o, int aws, char tag, int n, struct run_env *e)
{
	memset(e, 0, sizeof(*e));
	if (make_run_dir(o, e->dir, sizeof(e->dir)) != 0) {
		e->dir[0] = '\0';
		return -1;
	}
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	mkdir(e->state, 0700);
	snprintf(e->queue, sizeof(e->queue), "bench_tasks_%c%d", tag, n);
	snprintf(e->server, sizeof(e->server), "bench%c%d", tag, n);
	if (ui_open(&e->u, aws, e->state) != 0)
		return -1;
	return ui_queue(&e->u, e->queue, e->url, sizeof(e->url));
}

/* The incoming queue is empty and the output queue holds n messages: 0, or
 * -1 after printing what was found. */
static int
run_env_check(struct run_env *e, long n, const char *who)
{
	char out[128], url[512];
	long left = ui_count(&e->u, e->url), outs;

	snprintf(out, sizeof(out), "%s" OUTPUT_SUFFIX, e->server);
	outs = ui_queue(&e->u, out, url, sizeof(url)) == 0 ? ui_count(&e->u, url) : -1;
	if (left == 0 && outs == n)
		return 0;
	fprintf(stderr,
	    "bench_daemon: after the %s run %ld message(s) are left in '%s' and %ld are in "
	    "'%s' (want 0 and %ld)\n",
	    who, left, e->queue, outs, out, n);
	return -1;
}

/* Close the UI side; remove the run directory unless -k or `rc` != 0. */
static void
run_env_close(const struct opts *o, struct run_env *e, int rc)
{
	ui_close(&e->u);
	if (e->dir[0])
		drop_run_dir(o, e->dir, rc);
}

/* ---- the shape of a task, from smd's warm-up run ------------------------------------ */

struct list_acc {
	int done, code;
	double sum[Z_KINDS];
	long count[Z_KINDS];
	char cache_key[1100];
	char next[1200];
	int more;
};

static void
on_list(void *arg, const struct tp_result *r, const struct tp_object *objs, size_t n,
    const char *const *prefixes, size_t np, const char *next)
{
	struct list_acc *a = arg;

	(void)prefixes;
	(void)np;
	a->done = 1;
	a->code = r->code;
	a->more = next != NULL;
	snprintf(a->next, sizeof(a->next), "%s", next ? next : "");
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(objs[i].key);

		for (int k = 0; k < Z_KINDS; k++) {
			size_t sl = strlen(kind_suffix[k]);

			if (kl < sl || strcmp(objs[i].key + kl - sl, kind_suffix[k]) != 0 ||
			    (k == Z_CACHE && strncmp(objs[i].key, "cache/", 6) != 0))
				continue;
			a->sum[k] += (double)objs[i].size;
			a->count[k]++;
			if (k == Z_CACHE)
				snprintf(a->cache_key, sizeof(a->cache_key), "%s", objs[i].key);
			break;
		}
	}
}

/* The body of one message of `url` whose "progress" is `want` (NULL: any
 * message), malloc'd; NULL when none. */
static char *
take_body(struct ui *u, const char *url, const char *want)
{
	for (int tries = 0; tries < 50; tries++) {
		/* hidden for a minute: the next receive brings other messages */
		s_receive(u->tp, &u->t, url, 10, 0, 60);
		if (u->t.code != 0 || u->t.nm == 0)
			return NULL;
		for (size_t i = 0; i < u->t.nm; i++) {
			json_t *j = json_loadb(u->t.m[i].body, u->t.m[i].len, 0, NULL);
			json_t *p = json_object_get(j, "progress");
			int match = want == NULL ||
			    (strcmp(want, "0") == 0 && json_is_integer(p) &&
			        json_integer_value(p) == 0) ||
			    (json_is_string(p) && strcmp(json_string_value(p), want) == 0);

			json_decref(j);
			if (match)
				return strdup(u->t.m[i].body);
		}
	}
	return NULL;
}

/* Object sizes and message bodies of smd's run (the tasks of `server`). */
static int
shape_read(struct ui *u, const char *server, struct shape *sh)
{
	struct list_acc a;
	char q[128], url[512];

	memset(&a, 0, sizeof(a));
	do {
		a.done = 0;
		if (tp_object_list(u->tp, BUCKET, NULL, NULL, a.next[0] ? a.next : NULL, 1000,
		        on_list, &a, NULL) != 0 ||
		    tp_wait(u->tp, &a.done, TRES_WAIT_MS) != 0 || a.code != 0) {
			fprintf(stderr, "bench_daemon: cannot list the bucket\n");
			return -1;
		}
	} while (a.more);
	for (int k = 0; k < Z_KINDS; k++)
		sh->size[k] = a.count[k] ? a.sum[k] / (double)a.count[k] : 0;
	if (u->aws && a.cache_key[0]) {
		s_get_mem(u->tp, &u->t, BUCKET, a.cache_key, 1 << 20);
		if (u->t.code == 0) {
			sh->cache = malloc(u->t.len + 1);
			memcpy(sh->cache, u->t.data, u->t.len + 1);
			sh->cache_len = u->t.len;
		}
	}
	snprintf(q, sizeof(q), "%s" OUTPUT_SUFFIX, server);
	if (ui_queue(u, q, url, sizeof(url)) == 0)
		sh->out_body = take_body(u, url, NULL);
	snprintf(q, sizeof(q), "%s" PROGRESS_SUFFIX, server);
	if (ui_queue(u, q, url, sizeof(url)) == 0) {
		sh->prog0 = take_body(u, url, "0");
		sh->progfin = take_body(u, url, "finished");
	}
	if (a.count[Z_JL] == 0 || (u->aws && sh->cache == NULL) || !sh->out_body || !sh->prog0 ||
	    !sh->progfin) {
		fprintf(stderr,
		    "bench_daemon: the warm-up run left no zips, cache entry or "
		    "messages to copy\n");
		return -1;
	}
	return 0;
}

static void
shape_free(struct shape *sh)
{
	free(sh->cache);
	free(sh->out_body);
	free(sh->prog0);
	free(sh->progfin);
	memset(sh, 0, sizeof(*sh));
}

/* Write a file of `size` bytes that do not compress (a zip's). */
static int
write_blob(const char *path, size_t size)
{
	FILE *f = fopen(path, "w");
	unsigned x = 2463534242u;

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fputc((int)(x & 0xff), f);
	}
	return fclose(f);
}

/* ---- one daemon run, one baseline run ---------------------------------------------- */

/*
 * smd --exit-when-idle on `state` with queues=`queue`: returns the exit
 * status (-1 on timeout) and smd's figures at its exit.
 */
static int
smd_drain(const struct opts *o, const char *state, int aws, const char *queue, double *t_exit,
    struct psnap *ps)
{
	char q[160];
	const char *extra[] = { q, "poll_wait=1s", NULL };
	double t0 = bench_now();
	pid_t pid;

	snprintf(q, sizeof(q), "queues=%s", queue);
	pid = smd_start(o, state, aws, 1, extra);
	if (pid < 0)
		return -1;
	if (smd_exited(pid, RUN_TIMEOUT_S) != 0) {
		kill(pid, SIGKILL);
		smd_reap(pid);
		return -1;
	}
	*t_exit = bench_now() - t0;
	psnap_read(pid, ps);
	return smd_reap(pid);
}

/*
 * One daemon run of `n` tasks (round `r`; r < 0: the warm-up, which fills
 * `sh`).  0, or -1 after printing why.
 */
static int
daemon_round(const struct opts *o, int aws, long n, int r, struct run *res, struct shape *sh)
{
	struct run_env e;
	struct psnap ps;
	double t_exit, wall0, last;
	long m0, q0, ended, reported, spiders;
	int rc = -1, st;

	if (run_env_open(o, aws, 'd', r + 1, &e) != 0)
		goto out;
	/* an empty-queue run first: smd's fixed cost (start, resolve, poll, exit) */
	if ((st = smd_drain(o, e.state, aws, e.queue, &res->empty_s, &ps)) != 0) {
		fprintf(stderr, "bench_daemon: smd on empty queues exited %d (see %s.out)\n", st,
		    e.state);
		goto out;
	}
	res->empty_cpu_ms = ps.self_s * 1e3;
	if (ui_submit(&e.u, e.url, e.server, (long)(r + 2) * 1000000, n, ITEMS_ARGS) != 0)
		goto out;
	m0 = moto_requests(&q0);
	wall0 = wall_now();
	st = smd_drain(o, e.state, aws, e.queue, &t_exit, &ps);
	res->requests = m0 < 0 ? -1 : moto_requests(&res->sqs) - m0;
	res->sqs -= q0;
	read_log(e.state, &ended, &reported, &last, &spiders);
	/* the log also holds the empty run: it ended no task */
	if (st != 0 || reported != n || last < wall0) {
		fprintf(stderr, "bench_daemon: smd exited %d with %ld of %ld tasks reported\n", st,
		    reported, n);
		goto out;
	}
	res->rate = (double)n / (last - wall0);
	res->exit_rate = (double)n / t_exit;
	res->cpu_ms = ps.self_s * 1e3 / (double)n;
	res->spider_ms = ps.children_s * 1e3 / (double)n;
	if (run_env_check(&e, n, "smd") != 0 || (sh != NULL && shape_read(&e.u, e.server, sh) != 0))
		goto out;
	rc = 0;
out:
	run_env_close(o, &e, rc);
	return rc;
}

struct base {
	const struct opts *o;
	struct ui *u;
	const struct shape *sh;
	char zip[4][PATH_MAX + 16];
	char progress_url[512], output_url[512];
	int r;
};

/* One task of the baseline: the calls smd makes for it. */
static int
base_task(struct base *b, const struct tres_msg *m, const char *in_url)
{
	static const char *const ext[4] = { ".jl.zip", ".csv.zip", ".log.zip", ".progress.zip" };
	struct ui *u = b->u;
	struct tres t2;
	char key[256], receipt[1024];
	json_t *j = json_loadb(m->body, m->len, 0, NULL);
	json_int_t id = json_integer_value(json_object_get(j, "task_id"));
	int ok = json_is_string(json_object_get(j, "server_name"));

	json_decref(j);
	if (!ok)
		return -1;
	memset(&t2, 0, sizeof(t2));
	snprintf(receipt, sizeof(receipt), "%s", m->receipt);
	if (u->aws) {
		snprintf(key, sizeof(key), "cache/%064llx.json", (unsigned long long)id);
		s_get_mem(u->tp, &t2, BUCKET, key, 1 << 16);
		if (t2.code != SM_ENOTFOUND)
			goto fail;
	}
	s_send(u->tp, &t2, b->progress_url, b->sh->prog0, 0);
	if (t2.code != 0)
		goto fail;
	for (int k = 0; k < 4; k++) {
		snprintf(key, sizeof(key), "bench/b%d/%lld%s", b->r, (long long)id, ext[k]);
		s_put_file(u->tp, &t2, BUCKET, key, b->zip[k]);
		if (t2.code != 0)
			goto fail;
	}
	if (u->aws) {
		snprintf(key, sizeof(key), "cache/%064llx.json", (unsigned long long)id);
		s_put_mem(u->tp, &t2, BUCKET, key, b->sh->cache, b->sh->cache_len);
		if (t2.code != 0)
			goto fail;
	}
	s_send(u->tp, &t2, b->output_url, b->sh->out_body, 0);
	if (t2.code == 0)
		s_send(u->tp, &t2, b->progress_url, b->sh->progfin, 0);
	if (t2.code == 0)
		s_delete(u->tp, &t2, in_url, receipt);
	if (t2.code != 0)
		goto fail;
	tres_free(&t2);
	return 0;
fail:
	fprintf(stderr, "bench_daemon: baseline: %s\n", t2.msg);
	tres_free(&t2);
	return -1;
}

/* Resolve a reply queue as smd does: GetQueueUrl, CreateQueue when missing. */
static int
base_reply_queue(struct ui *u, const char *name, char *url, size_t size)
{
	s_get_url(u->tp, &u->t, name);
	if (u->t.code == SM_ENOTFOUND)
		s_create_queue(u->tp, &u->t, name, NULL, 0);
	if (u->t.code != 0)
		return -1;
	snprintf(url, size, "%s", u->t.url);
	return 0;
}

static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One baseline run of `n` tasks: rate, CPU per task (ms), requests. */
static int
baseline_round(
    const struct opts *o, int aws, long n, int r, const struct shape *sh, struct run *res)
{
	struct run_env e;
	struct base b;
	char name[128];
	double t0, c0;
	long done = 0, m0, q0;
	int rc = -1;

	memset(&b, 0, sizeof(b));
	if (run_env_open(o, aws, 'b', r + 1, &e) != 0)
		goto out;
	b.o = o;
	b.u = &e.u;
	b.sh = sh;
	b.r = r + 1;
	for (int k = 0; k < 4; k++) {
		snprintf(b.zip[k], sizeof(b.zip[k]), "%s/zip%d", e.dir, k);
		if (write_blob(b.zip[k], (size_t)sh->size[k]) != 0)
			goto out;
	}
	if (!aws) {
		s_bucket(e.u.tp, &e.u.t, BUCKET);
		if (e.u.t.code != 0)
			goto out;
	}
	if (ui_submit(&e.u, e.url, e.server, (long)(r + 2) * 1000000 + 500000, n, ITEMS_ARGS) != 0)
		goto out;
	m0 = moto_requests(&q0);
	c0 = cpu_self();
	t0 = bench_now();
	snprintf(name, sizeof(name), "%s" PROGRESS_SUFFIX, e.server);
	if (base_reply_queue(&e.u, name, b.progress_url, sizeof(b.progress_url)) != 0)
		goto out;
	snprintf(name, sizeof(name), "%s" OUTPUT_SUFFIX, e.server);
	if (base_reply_queue(&e.u, name, b.output_url, sizeof(b.output_url)) != 0)
		goto out;
	while (done < n) {
		s_receive(e.u.tp, &e.u.t, e.url, 10, 0, 300);
		if (e.u.t.code != 0) {
			fprintf(stderr, "bench_daemon: baseline receive: %s\n", e.u.t.msg);
			goto out;
		}
		if (e.u.t.nm == 0 && bench_now() - t0 > RUN_TIMEOUT_S) {
			fprintf(stderr, "bench_daemon: baseline: %ld of %ld tasks came\n", done, n);
			goto out;
		}
		for (size_t i = 0; i < e.u.t.nm; i++, done++)
			if (base_task(&b, &e.u.t.m[i], e.url) != 0)
				goto out;
	}
	res->rate = (double)n / (bench_now() - t0);
	res->cpu_ms = (cpu_self() - c0) * 1e3 / (double)n;
	res->requests = m0 < 0 ? -1 : moto_requests(&res->sqs) - m0;
	res->sqs -= q0;
	if (run_env_check(&e, n, "baseline") != 0)
		goto out;
	rc = 0;
out:
	run_env_close(o, &e, rc);
	return rc;
}

/* ---- idle and busy ---------------------------------------------------------------------- */

struct rest {
	struct psnap a, b; /* at the start and the end of the window */
	double window_s;
	int ok;
};

/*
 * smd with the default configuration (+ `extra`) on a fresh state
 * directory; with `busy` tasks (fake_mode hang) waiting in queue
 * bench_busy: the window starts once all their spiders run.
 */
static int
rest_run(const struct opts *o, int aws, int busy, struct rest *res)
{
	char q[128];
	const char *idle_extra[] = { NULL };
	const char *busy_extra[] = { q, "max_concurrent_tasks=16", "shutdown_grace=0s", NULL };
	struct run_env e;
	pid_t pid = -1;
	double t0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (run_env_open(o, aws, busy ? 'x' : 'i', 1, &e) != 0 ||
	    (busy && ui_submit(&e.u, e.url, e.server, 9000000, busy, HANG_ARGS) != 0))
		goto out;
	snprintf(q, sizeof(q), "queues=%s", e.queue);
	pid = smd_start(o, e.state, aws, 0, busy ? busy_extra : idle_extra);
	t0 = bench_now();
	sleep(3);
	while (busy) {
		long ended, reported, spiders;
		double last;

		read_log(e.state, &ended, &reported, &last, &spiders);
		if (spiders >= busy)
			break;
		if (bench_now() - t0 > 300 || smd_exited(pid, 0.2) == 0) {
			fprintf(stderr,
			    "bench_daemon: %ld of %d spiders started (see %s/smd.log)\n", spiders,
			    busy, e.state);
			goto out;
		}
	}
	if (busy)
		sleep(2);
	if (psnap_read(pid, &res->a) != 0)
		goto out;
	t0 = bench_now();
	sleep((unsigned)o->window_s);
	res->window_s = bench_now() - t0;
	if (psnap_read(pid, &res->b) != 0 || res->b.rss == 0) {
		fprintf(stderr, "bench_daemon: smd is gone (see %s.out)\n", e.state);
		goto out;
	}
	res->ok = 1;
	rc = 0;
out:
	if (pid > 0 && smd_stop(pid, 60) != 0 && rc == 0)
		fprintf(
		    stderr, "bench_daemon: smd did not stop cleanly (see %s/smd.log)\n", e.state);
	run_env_close(o, &e, rc);
	return rc;
}

static void
print_rest(const char *what, const struct rest *r)
{
	long ticks = (long)((r->b.self_s - r->a.self_s) * (double)sysconf(_SC_CLK_TCK) + 0.5);

	if (!r->ok) {
		printf("  %-22s not measured\n", what);
		return;
	}
	printf("  %-22s VmRSS %.1f MiB (RssAnon %.1f, RssFile %.1f), VmHWM %.1f MiB, Pss %.1f "
	       "MiB\n",
	    what, (double)r->b.rss / 1024, (double)r->b.anon / 1024, (double)r->b.file / 1024,
	    (double)r->b.hwm / 1024, (double)r->b.pss / 1024);
	printf("  %-22s CPU %ld ticks (%.0f ms) in %.0f s; %ld voluntary switches (%.2f/s), "
	       "%ld involuntary\n",
	    "", ticks, (r->b.self_s - r->a.self_s) * 1e3, r->window_s, r->b.vol - r->a.vol,
	    (double)(r->b.vol - r->a.vol) / r->window_s, r->b.invol - r->a.invol);
}

/* ---- one backend ---------------------------------------------------------------------------- */

#define FIELD(runs, n, f, out) \
	do { \
		for (int i_ = 0; i_ < (n); i_++) \
			(out)[i_] = (runs)[i_].f; \
	} while (0)

static void
print_dist(const char *what, const double *v, int n, const char *unit, const char *fmt)
{
	double lo, hi;
	char m[32], a[32], b[32];

	bench_minmax(v, (size_t)n, &lo, &hi);
	snprintf(m, sizeof(m), fmt, bench_median(v, (size_t)n));
	snprintf(a, sizeof(a), fmt, lo);
	snprintf(b, sizeof(b), fmt, hi);
	printf("  %-44s median %s %s (min %s, max %s)\n", what, m, unit, a, b);
}

/* Run everything on one backend; *ratio = daemon / baseline tasks/s. */
static int
backend_bench(const struct opts *o, int aws, double *ratio)
{
	long n = aws ? o->n_moto : o->n_local;
	struct run d[ROUNDS_MAX], b[ROUNDS_MAX], warm;
	struct shape sh;
	struct rest idle, busy;
	double v[ROUNDS_MAX], dr, br;
	const char *name = aws ? "moto" : "local";

	memset(&sh, 0, sizeof(sh));
	memset(d, 0, sizeof(d));
	memset(b, 0, sizeof(b));
	printf("%s: %ld tasks a run (fake_scrapy, 3 items, no delay), %d rounds of daemon "
	       "and baseline interleaved\n",
	    name, n, o->rounds);
	fflush(stdout);
	if (daemon_round(o, aws, n < WARMUP_TASKS ? n : WARMUP_TASKS, -1, &warm, &sh) != 0)
		return -1;
	printf("  warm-up: zips %.0f/%.0f/%.0f/%.0f bytes (jl/csv/log/progress), output "
	       "message %zu bytes",
	    sh.size[Z_JL], sh.size[Z_CSV], sh.size[Z_LOG], sh.size[Z_PROGRESS],
	    strlen(sh.out_body));
	if (aws)
		printf(", cache entry %.0f bytes", sh.size[Z_CACHE]);
	printf("\n");
	fflush(stdout);
	for (int r = 0; r < o->rounds; r++) {
		if (daemon_round(o, aws, n, r, &d[r], NULL) != 0 ||
		    baseline_round(o, aws, n, r, &sh, &b[r]) != 0) {
			shape_free(&sh);
			return -1;
		}
		printf("  round %d: daemon %.1f tasks/s, baseline %.1f tasks/s\n", r + 1, d[r].rate,
		    b[r].rate);
		fflush(stdout);
	}
	shape_free(&sh);
	FIELD(d, o->rounds, rate, v);
	dr = bench_median(v, (size_t)o->rounds);
	print_dist("daemon (smd, start to last task ended)", v, o->rounds, "tasks/s", "%.1f");
	FIELD(d, o->rounds, exit_rate, v);
	print_dist("daemon (smd, start to exit)", v, o->rounds, "tasks/s", "%.1f");
	FIELD(b, o->rounds, rate, v);
	br = bench_median(v, (size_t)o->rounds);
	print_dist("baseline (sequential transport loop)", v, o->rounds, "tasks/s", "%.1f");
	FIELD(d, o->rounds, empty_s, v);
	print_dist("smd on empty queues, start to exit", v, o->rounds, "s", "%.2f");
	FIELD(d, o->rounds, cpu_ms, v);
	print_dist("smd CPU per task (utime+stime / N)", v, o->rounds, "ms", "%.2f");
	for (int r = 0; r < o->rounds; r++)
		v[r] = d[r].cpu_ms - d[r].empty_cpu_ms / (double)n;
	print_dist("  less the empty-queue run's CPU / N", v, o->rounds, "ms", "%.2f");
	FIELD(d, o->rounds, empty_cpu_ms, v);
	print_dist("  the empty-queue run's CPU", v, o->rounds, "ms", "%.0f");
	FIELD(b, o->rounds, cpu_ms, v);
	print_dist("baseline loop CPU per task (getrusage)", v, o->rounds, "ms", "%.2f");
	FIELD(d, o->rounds, spider_ms, v);
	print_dist("spider CPU per task (smd's cutime+cstime)", v, o->rounds, "ms", "%.2f");
	if (d[0].requests >= 0) {
		for (int r = 0; r < o->rounds; r++)
			v[r] = (double)d[r].requests / (double)n;
		print_dist("moto requests per task, daemon", v, o->rounds, "", "%.2f");
		for (int r = 0; r < o->rounds; r++)
			v[r] = (double)b[r].requests / (double)n;
		print_dist("moto requests per task, baseline", v, o->rounds, "", "%.2f");
		for (int r = 0; r < o->rounds; r++)
			v[r] = (double)d[r].sqs / (double)n;
		print_dist("  of them SQS, daemon", v, o->rounds, "", "%.2f");
		for (int r = 0; r < o->rounds; r++)
			v[r] = (double)b[r].sqs / (double)n;
		print_dist("  of them SQS, baseline", v, o->rounds, "", "%.2f");
	}
	fflush(stdout);
	if (rest_run(o, aws, 0, &idle) != 0 || rest_run(o, aws, BUSY_TASKS, &busy) != 0)
		return -1;
	print_rest("idle (poll_wait 20s):", &idle);
	print_rest("16 tasks in flight:", &busy);
	*ratio = br > 0 ? dr / br : 0;
	printf("%s daemon/baseline: %.2f\n", name, *ratio);
	fflush(stdout);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

/* Run the moto part under with_moto.sh; its output goes through.  1 when
 * skipped, 0 with *ratio, -1 on failure. */
static int
moto_child(const struct opts *o, double *ratio)
{
	char self[PATH_MAX], n[32], r[32], w[32], line[4096];
	char *argv[16];
	int fd[2], k = 0, st;
	ssize_t sl;
	pid_t pid;
	FILE *f;

	if ((sl = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return -1;
	self[sl] = '\0';
	snprintf(n, sizeof(n), "%ld", o->n_moto);
	snprintf(r, sizeof(r), "%d", o->rounds);
	snprintf(w, sizeof(w), "%d", o->window_s);
	argv[k++] = (char *)o->with_moto;
	argv[k++] = self;
	argv[k++] = (char *)"--aws";
	argv[k++] = (char *)"-m";
	argv[k++] = n;
	argv[k++] = (char *)"-r";
	argv[k++] = r;
	argv[k++] = (char *)"-w";
	argv[k++] = w;
	argv[k++] = (char *)"-d";
	argv[k++] = (char *)o->dir;
	if (o->keep)
		argv[k++] = (char *)"-k";
	argv[k] = NULL;
	if (pipe(fd) != 0)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(o->with_moto, argv);
		_exit(127);
	}
	close(fd[1]);
	*ratio = -1;
	f = fdopen(fd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "moto daemon/baseline: ", 22) == 0)
			*ratio = atof(line + 22);
		if (strncmp(line, "1..0 # SKIP", 11) != 0)
			fputs(line, stdout);
		fflush(stdout);
	}
	if (f)
		fclose(f);
	st = smd_reap(pid);
	if (st == 77) {
		printf("moto: skipped (test/support/with_moto.sh: moto_server or boto3 missing)\n");
		return 1;
	}
	return st == 0 && *ratio >= 0 ? 0 : -1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_daemon [-n local-tasks] [-m moto-tasks] [-r rounds 1..%d] "
	    "[-w idle-window-s] [-b local|moto|both] [-d directory] [-k]\n",
	    ROUNDS_MAX);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = { { "aws", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 } };
	struct opts o;
	sigset_t chld;
	double rl = -1, rm = -1;
	int c, mrc = 1, lrc = 0;
	const char *ep;

	memset(&o, 0, sizeof(o));
	o.n_local = 200;
	o.n_moto = 100;
	o.rounds = 3;
	o.window_s = 20;
	o.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	o.backends = "both";
	snprintf(o.smd, sizeof(o.smd), "%s", BENCH_SMD);
	snprintf(o.spider, sizeof(o.spider), "%s", BENCH_SPIDER);
	snprintf(o.machines, sizeof(o.machines), "%s/machines", BENCH_SOURCE_DIR);
	snprintf(
	    o.with_moto, sizeof(o.with_moto), "%s/test/support/with_moto.sh", BENCH_SOURCE_DIR);
	while ((c = getopt_long(argc, argv, "n:m:r:w:b:d:k", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.n_local = atol(optarg);
			break;
		case 'm':
			o.n_moto = atol(optarg);
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'w':
			o.window_s = atoi(optarg);
			break;
		case 'b':
			o.backends = optarg;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'k':
			o.keep = 1;
			break;
		case 'A':
			o.aws_child = 1;
			break;
		default:
			usage();
		}
	}
	if (o.n_local < 1 || o.n_moto < 1 || o.rounds < 1 || o.rounds > ROUNDS_MAX ||
	    o.window_s < 1 ||
	    (strcmp(o.backends, "local") != 0 && strcmp(o.backends, "moto") != 0 &&
	        strcmp(o.backends, "both") != 0))
		usage();
	/* the transport's info lines (credentials found) are not figures */
	sm_log_init(NULL, SM_LOG_WARN, "bench_daemon");
	/* children are waited for with sigtimedwait (smd_exited) */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (o.aws_child) {
		struct ui u;

		ep = getenv("AWS_ENDPOINT_URL");
		if (ep == NULL || strncmp(ep, "http://127.0.0.1:", 17) != 0) {
			fprintf(stderr,
			    "bench_daemon: --aws needs a loopback AWS_ENDPOINT_URL "
			    "(test/support/with_moto.sh)\n");
			return 1;
		}
		if (ui_open(&u, 1, o.dir) != 0)
			return 1;
		s_bucket(u.tp, &u.t, BUCKET);
		ui_close(&u);
		return backend_bench(&o, 1, &rm) == 0 ? 0 : 1;
	}
	if (bench_on_tmpfs(o.dir))
		printf("note: %s is on tmpfs: fsync is free there (-d to choose)\n", o.dir);
	if (strcmp(o.backends, "moto") != 0)
		lrc = backend_bench(&o, 0, &rl);
	if (strcmp(o.backends, "local") != 0)
		mrc = moto_child(&o, &rm);
	if (lrc != 0 || mrc < 0)
		return 1;
	printf("daemon/baseline tasks/s:");
	if (rl >= 0)
		printf(" local %.2f%s", rl, rm >= 0 ? "," : "");
	if (rm >= 0)
		printf(" moto %.2f", rm);
	else if (strcmp(o.backends, "local") != 0)
		printf(" moto skipped");
	printf("\n");
	return 0;
}
