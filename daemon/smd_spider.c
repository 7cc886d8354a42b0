/*
 * smd_spider.c - spider_start, spider_wait and pack for the task machine
 * (SPEC sections 3 and 4), with the table of spider processes.
 *
 *   spider_start  params {"instance", "job", "variant": "main" |
 *                 "best_sellers"}: prepares <state>/work/<instance>/, runs
 *                 `<spider_program> crawl <site>_products -a <mode>=<term>
 *                 [-a key=value]... -s LOG_FILE=<work>/<v>.log -o
 *                 <work>/<v>.jl` in its own session with spiders_dir as
 *                 cwd (no shell), records "pid pgid starttime" in
 *                 <work>/spider.pid, and finishes {"pid", "pgid",
 *                 "start_time"} once the spider wrote its log
 *                 (spider_start_timeout: error.spider.timeout; an exit
 *                 before: error.spider.exit).
 *   spider_wait   params {"instance", "job", "spider", "variant"}: posts
 *                 spider.items {"items": N} every progress_interval while
 *                 the count of complete JSON lines changed; finishes
 *                 {"items": N, "exit": 0}; error.spider.exit /
 *                 error.spider.signal / error.spider.timeout (task_timeout:
 *                 SIGTERM to the group, SIGKILL 10 s later); error.spider.lost
 *                 when the pid is not a child of this daemon (it restarted).
 *                 Cancel kills the process group.
 *   pack          params {"instance", "job", "items", "logs_only"}: keeps
 *                 the lines that are JSON objects (merging best_seller_ranking
 *                 from the best-seller crawl), writes the CSV, zips each file
 *                 on its own, and finishes {"files": [{"path", "key"}...],
 *                 "items": N} with .progress.zip last.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "act_argv.h"
#include "act_ctx.h"
#include "act_names.h"
#include "act_pack.h"
#include "act_task.h"
#include "rt_config.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_statedir.h"
#include "smd_private.h"

#define PID_FILE "spider.pid"
#define KILL_GRACE_MS 10000
#define POLL_START_MS 100

struct child {
	struct child *next;
	pid_t pid;
	int exited;
	int status;
	struct run *waiter;     /* the spider_start or spider_wait watching it */
};

struct smd__spiders {
	struct sm_engine *e;
	struct sm_loop *loop;
	const struct rt_config *cfg;
	struct sm_statedir *sd;
	struct child *children;
};

/* One spider_start or spider_wait call. */
struct run {
	struct smd__spiders *sp;
	struct sm_action_call *call;
	struct child *ch;
	int waiting;            /* 1: spider_wait, 0: spider_start */
	char *work;
	char *jl, *log;
	uint64_t timer, deadline_timer, kill_timer;
	int64_t started_ms, deadline_ms;
	long items;
	int timed_out;
};

static struct child *child_find(struct smd__spiders *sp, pid_t pid)
{
	for (struct child *c = sp->children; c; c = c->next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void child_drop(struct smd__spiders *sp, struct child *ch)
{
	for (struct child **pp = &sp->children; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			free(ch);
			return;
		}
}

static void run_free(struct run *r)
{
	if (r->timer)
		sm_loop_timer_del(r->sp->loop, r->timer);
	if (r->deadline_timer)
		sm_loop_timer_del(r->sp->loop, r->deadline_timer);
	if (r->kill_timer)
		sm_loop_timer_del(r->sp->loop, r->kill_timer);
	if (r->ch && r->ch->waiter == r)
		r->ch->waiter = NULL;
	free(r->work);
	free(r->jl);
	free(r->log);
	free(r);
}

static void run_done(struct run *r, json_t *res)
{
	struct sm_action_call *call = r->call;

	sm_action_call_set_data(call, NULL);
	run_free(r);
	sm_action_done(call, res);
}

static void run_fail(struct run *r, const char *error, const char *msg)
{
	struct sm_action_call *call = r->call;

	sm_action_call_set_data(call, NULL);
	run_free(r);
	sm_action_fail(call, error, msg);
}

/* Complete JSON lines of the .jl so far. */
static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		if (c == '\n')
			n++;
	fclose(f);
	return n;
}

static void post_items(struct run *r)
{
	long n = count_lines(r->jl);
	json_t *data;

	if (n == r->items)
		return;
	r->items = n;
	data = json_pack("{s:I}", "items", (json_int_t)n);
	sm_engine_post(r->sp->e, sm_action_call_instance(r->call), "spider.items", data);
	json_decref(data);
}

static void on_child(struct sm_loop *loop, pid_t pid, int status, void *arg)
{
	struct smd__spiders *sp = arg;
	struct child *ch = child_find(sp, pid);
	struct run *r;
	char msg[256];

	(void)loop;
	if (!ch)
		return;
	ch->exited = 1;
	ch->status = status;
	r = ch->waiter;
	if (!r)
		return;
	ch->waiter = NULL;
	if (!r->waiting && access(r->log, F_OK) == 0) {
		/* it wrote its log and ended before the next look: started; the
		 * exit stays in the table for spider_wait */
		json_t *res = json_pack("{s:i,s:i,s:I}", "pid", (int)pid, "pgid", (int)pid,
		    "start_time", (json_int_t)0);

		run_done(r, res);
		json_decref(res);
		return;
	}
	r->ch = NULL;
	child_drop(sp, ch);
	if (r->timed_out) {
		snprintf(msg, sizeof(msg), "the spider ran longer than task_timeout (%lld ms)",
		    (long long)sp->cfg->task_timeout_ms);
		run_fail(r, "error.spider.timeout", msg);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->waiting) {
		json_t *res = json_pack("{s:I,s:i}", "items", (json_int_t)count_lines(r->jl), "exit",
		    0);

		run_done(r, res);
		json_decref(res);
		return;
	}
	if (WIFEXITED(status))
		snprintf(msg, sizeof(msg), "the spider exited with status %d%s",
		    WEXITSTATUS(status), r->waiting ? "" : " before it wrote its log");
	else
		snprintf(msg, sizeof(msg), "the spider was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	run_fail(r, WIFEXITED(status) ? "error.spider.exit" : "error.spider.signal", msg);
}

/* Start time of `pid` from /proc/<pid>/stat (field 22), 0 if unknown. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;
	char *p;
	unsigned long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	if (!(p = strrchr(buf, ')')))
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		v = strtoull(p, NULL, 10);
	return v;
}

void smd__sweep_orphans(const struct rt_config *cfg, struct sm_statedir *sd)
{
	const char *work = sm_statedir_work_path(sd);
	DIR *dir = opendir(work);
	struct dirent *de;

	(void)cfg;
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		char path[PATH_MAX];
		FILE *f;
		int pid = 0, pgid = 0;
		unsigned long long st = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/" PID_FILE, work, de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fscanf(f, "%d %d %llu", &pid, &pgid, &st) == 3 && pid > 1 && pgid > 1 &&
		    proc_start(pid) == st) {
			sm_log_warn("killing spider %d (group %d) left from before the restart (%s)",
			    pid, pgid, de->d_name);
			kill(-pgid, SIGKILL);
		}
		fclose(f);
		unlink(path);
	}
	closedir(dir);
}

static int64_t on_start_poll(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct run *r = arg;
	struct stat st;
	json_t *res;
	char msg[200];

	(void)loop;
	(void)id;
	if (stat(r->log, &st) == 0) {
		r->timer = 0;
		res = json_pack("{s:i,s:i,s:I}", "pid", (int)r->ch->pid, "pgid", (int)r->ch->pid,
		    "start_time", (json_int_t)proc_start(r->ch->pid));
		run_done(r, res);
		json_decref(res);
		return -1;
	}
	if (sm_loop_now_ms(r->sp->loop) - (uint64_t)r->started_ms >
	    (uint64_t)r->sp->cfg->spider_start_timeout_ms) {
		r->timer = 0;
		kill(-r->ch->pid, SIGKILL);
		snprintf(msg, sizeof(msg), "the spider wrote no log within spider_start_timeout "
		    "(%lld ms)", (long long)r->sp->cfg->spider_start_timeout_ms);
		run_fail(r, "error.spider.timeout", msg);
		return -1;
	}
	return POLL_START_MS;
}

static int start_start(struct sm_action_call *call)
{
	struct smd__spiders *sp = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	const char *inst = json_string_value(json_object_get(p, "instance"));
	const char *variant = json_string_value(json_object_get(p, "variant"));
	json_t *message = json_object_get(p, "message");
	int bsr = variant && strcmp(variant, "best_sellers") == 0;
	const char *v = bsr ? "bsr" : "main";
	char **argv = NULL;
	int rc = 0, errpipe[2] = { -1, -1 };
	struct run *r = NULL;
	struct sm_error err;
	struct act_task t;
	struct act_argv_opts ao;
	char *base = NULL;
	pid_t pid;
	char pidline[128], path[PATH_MAX];
	FILE *f;

	sm_error_clear(&err);
	memset(&t, 0, sizeof(t));
	if (!inst || !json_is_string(message))
		return sm_action_fail(call, "error.execution",
		    "spider_start needs instance and message");
	r = calloc(1, sizeof(*r));
	if (!r)
		return SM_ENOMEM;
	r->sp = sp;
	r->call = call;
	if ((rc = sm_statedir_work_dir(sp->sd, inst, 1, &r->work, &err)) != 0) {
		run_fail(r, "error.execution", err.msg);
		return 0;
	}
	if (asprintf(&base, "%s/%s", r->work, v) < 0 || asprintf(&r->jl, "%s.jl", base) < 0 ||
	    asprintf(&r->log, "%s.log", base) < 0) {
		free(base);
		run_fail(r, "error.execution", "out of memory");
		return 0;
	}
	unlink(r->jl);
	unlink(r->log);
	/* the stored message parsed again: the argv is a function of it */
	if (act_task_parse(json_string_value(message), json_string_length(message), &t,
	    &err) != 0) {
		free(base);
		run_fail(r, "error.execution", err.msg);
		return 0;
	}
	ao.program = sp->cfg->spider_program;
	ao.out_base = base;
	ao.crawl = bsr ? ACT_CRAWL_BEST_SELLERS : ACT_CRAWL_MAIN;
	rc = act_argv_build(&t, &ao, &argv, &err);
	act_task_clear(&t);
	free(base);
	if (rc != 0) {
		run_fail(r, "error.spider.start", err.msg);
		return 0;
	}
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		rc = SM_EIO;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = SM_EIO;
		goto out;
	}
	if (pid == 0) {
		sigset_t all;
		int e;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (chdir(sp->cfg->spiders_dir) != 0) {
			e = errno;
			(void)!write(errpipe[1], &e, sizeof(e));
			_exit(127);
		}
		execvp(argv[0], argv);
		e = errno;
		(void)!write(errpipe[1], &e, sizeof(e));
		_exit(127);
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	{
		int e = 0;
		ssize_t got = read(errpipe[0], &e, sizeof(e));

		if (got == (ssize_t)sizeof(e)) {
			char m[PATH_MAX + 100];

			waitpid(pid, NULL, 0);
			snprintf(m, sizeof(m), "cannot run '%s' in '%s': %s", sp->cfg->spider_program,
			    sp->cfg->spiders_dir, strerror(e));
			run_fail(r, "error.spider.exit", m);
			r = NULL;
			goto out;
		}
	}
	r->ch = calloc(1, sizeof(*r->ch));
	if (!r->ch) {
		kill(-pid, SIGKILL);
		rc = SM_ENOMEM;
		goto out;
	}
	r->ch->pid = pid;
	r->ch->waiter = r;
	r->ch->next = sp->children;
	sp->children = r->ch;
	sm_loop_child_add(sp->loop, pid, on_child, sp);
	snprintf(pidline, sizeof(pidline), "%d %d %llu\n", (int)pid, (int)pid, proc_start(pid));
	snprintf(path, sizeof(path), "%s/" PID_FILE, r->work);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(pidline, f);
		fclose(f);
	}
	sm_log_info("task '%s': spider %d started (%s %s %s)", inst, (int)pid, argv[0],
	    argv[1] ? argv[1] : "", argv[1] && argv[2] ? argv[2] : "");
	r->started_ms = (int64_t)sm_loop_now_ms(sp->loop);
	sm_action_call_set_data(call, r);
	r->timer = sm_loop_timer_add(sp->loop, POLL_START_MS, on_start_poll, r);
	r = NULL;
out:
	act_argv_free(argv);
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	if (r && rc != 0) {
		run_fail(r, "error.execution", sm_strerror(rc));
		rc = 0;
	}
	return rc;
}

static void run_cancel(struct sm_action_call *call)
{
	struct run *r = sm_action_call_data(call);

	if (!r)
		return;
	if (r->ch && !r->ch->exited) {
		/* the state was left: the whole group goes (SPEC 3) */
		kill(-r->ch->pid, SIGKILL);
		r->ch->waiter = NULL;
	}
	run_free(r);
}

static int64_t on_progress(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct run *r = arg;

	(void)loop;
	(void)id;
	post_items(r);
	return r->sp->cfg->progress_interval_ms > 0 ? r->sp->cfg->progress_interval_ms : 30000;
}

static int64_t on_kill(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct run *r = arg;

	(void)loop;
	(void)id;
	r->kill_timer = 0;
	if (r->ch)
		kill(-r->ch->pid, SIGKILL);
	return -1;
}

static int64_t on_deadline(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct run *r = arg;

	(void)id;
	r->deadline_timer = 0;
	r->timed_out = 1;
	if (r->ch) {
		kill(-r->ch->pid, SIGTERM);
		r->kill_timer = sm_loop_timer_add(loop, KILL_GRACE_MS, on_kill, r);
	}
	return -1;
}

static int wait_start(struct sm_action_call *call)
{
	struct smd__spiders *sp = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	json_t *spider = json_object_get(p, "spider");
	const char *inst = json_string_value(json_object_get(p, "instance"));
	const char *variant = json_string_value(json_object_get(p, "variant"));
	pid_t pid = (pid_t)json_integer_value(json_object_get(spider, "pid"));
	struct child *ch = pid > 0 ? child_find(sp, pid) : NULL;
	struct run *r;
	struct sm_error err;
	int64_t ran;

	if (!ch || ch->waiter)
		return sm_action_fail(call, "error.spider.lost",
		    "the spider is not a child of this smd (it restarted): running it again");
	r = calloc(1, sizeof(*r));
	if (!r)
		return SM_ENOMEM;
	r->sp = sp;
	r->call = call;
	r->waiting = 1;
	r->items = -1;
	sm_error_clear(&err);
	if (!inst || sm_statedir_work_dir(sp->sd, inst, 0, &r->work, &err) != 0 ||
	    asprintf(&r->jl, "%s/%s.jl", r->work,
	    variant && strcmp(variant, "best_sellers") == 0 ? "bsr" : "main") < 0) {
		r->jl = NULL;
		run_free(r);
		return sm_action_fail(call, "error.execution", "no work directory");
	}
	r->ch = ch;
	sm_action_call_set_data(call, r);
	if (ch->exited) {
		/* it ended between the two actions */
		ch->waiter = r;
		ch->exited = 0;
		on_child(sp->loop, pid, ch->status, sp);
		return 0;
	}
	ch->waiter = r;
	r->timer = sm_loop_timer_add(sp->loop, sp->cfg->progress_interval_ms > 0 ?
	    sp->cfg->progress_interval_ms : 30000, on_progress, r);
	ran = 0;
	r->deadline_timer = sm_loop_timer_add(sp->loop, sp->cfg->task_timeout_ms - ran,
	    on_deadline, r);
	return 0;
}

/* ---- pack ------------------------------------------------------------------ */

/* Zip `src` as <base><ext> into <work>/<base of key> and list it. */
static int pack_file(json_t *files, const char *work, const char *src, const char *key,
    const char *ext, struct sm_error *err)
{
	char zpath[PATH_MAX], entry[PATH_MAX];
	const char *b = act_name_base(key);
	size_t bl = strlen(b), el = strlen(ext);

	/* the key is <base><ext>.zip: the entry is the key's file name without .zip */
	if (bl < el + 4)
		return sm_error_set(err, SM_EINVAL, "key '%s' does not end in %s.zip", key, ext);
	snprintf(zpath, sizeof(zpath), "%s/%s", work, b);
	snprintf(entry, sizeof(entry), "%.*s", (int)(bl - 4), b);
	if (act_zip_file(src, entry, zpath, err) != 0)
		return err->code;
	return json_array_append_new(files, json_pack("{s:s,s:s}", "path", zpath, "key", key));
}

static int pack_start(struct sm_action_call *call)
{
	struct smd__spiders *sp = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	json_t *job = json_object_get(p, "job");
	json_t *keys = json_object_get(job, "keys");
	json_t *msg = json_object_get(job, "msg");
	const char *inst = json_string_value(json_object_get(p, "instance"));
	int logs_only = json_is_true(json_object_get(p, "logs_only"));
	char *work = NULL;
	char jl_in[PATH_MAX], bsr_in[PATH_MAX], jl[PATH_MAX], csv[PATH_MAX], log[PATH_MAX],
	    prog[PATH_MAX];
	json_t *files = json_array(), *res;
	struct act_pack_opts po;
	struct act_pack_stats st;
	struct sm_error err;
	FILE *f;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	sm_error_clear(&err);
	if (!inst || !json_is_object(keys) ||
	    sm_statedir_work_dir(sp->sd, inst, 1, &work, &err) != 0) {
		json_decref(files);
		return sm_action_fail(call, "error.execution", "pack: no work directory or keys");
	}
	snprintf(log, sizeof(log), "%s/main.log", work);
	if (access(log, R_OK) != 0 && (f = fopen(log, "w")) != NULL)
		fclose(f);
	if (logs_only) {
		rc = pack_file(files, work, log,
		    json_string_value(json_object_get(keys, "s3_key_logs")), ".log", &err);
		goto done;
	}
	snprintf(jl_in, sizeof(jl_in), "%s/main.jl", work);
	snprintf(bsr_in, sizeof(bsr_in), "%s/bsr.jl", work);
	snprintf(jl, sizeof(jl), "%s/items.jl", work);
	snprintf(csv, sizeof(csv), "%s/items.csv", work);
	snprintf(prog, sizeof(prog), "%s/progress.json", work);
	if (access(jl_in, F_OK) != 0 && (f = fopen(jl_in, "w")) != NULL)
		fclose(f); /* a spider that wrote nothing: no items */
	memset(&po, 0, sizeof(po));
	po.jl_in = jl_in;
	po.bsr_in = json_is_true(json_object_get(msg, "with_best_seller_ranking")) ? bsr_in : NULL;
	po.jl_out = jl;
	po.csv_out = csv;
	if ((rc = act_pack(&po, &st, &err)) != 0)
		goto done;
	if (st.dropped + st.bsr_dropped > 0 && (f = fopen(log, "a")) != NULL) {
		/* SPEC 3: lines that are not JSON objects are counted in the log */
		fprintf(f, "smd: %llu line(s) of the output were not JSON objects and were "
		    "dropped (first: %s)\n", (unsigned long long)(st.dropped + st.bsr_dropped),
		    st.first_drop);
		fclose(f);
	}
	if ((f = fopen(prog, "w")) != NULL) {
		fprintf(f, "{\"_msg_id\": %" JSON_INTEGER_FORMAT ", \"progress\": %llu}\n",
		    json_integer_value(json_object_get(msg, "task_id")),
		    (unsigned long long)st.items);
		fclose(f);
	}
	if ((rc = pack_file(files, work, jl, json_string_value(json_object_get(keys,
	    "s3_key_data")), ".jl", &err)) != 0 ||
	    (rc = pack_file(files, work, csv, json_string_value(json_object_get(keys,
	    "csv_data_key")), ".csv", &err)) != 0 ||
	    (rc = pack_file(files, work, log, json_string_value(json_object_get(keys,
	    "s3_key_logs")), ".log", &err)) != 0 ||
	    (rc = pack_file(files, work, prog, json_string_value(json_object_get(keys,
	    "progress")), ".progress", &err)) != 0)
		goto done;
done:
	free(work);
	if (rc != 0) {
		json_decref(files);
		return sm_action_fail(call, "error.execution", err.msg[0] ? err.msg :
		    "cannot write the packed files");
	}
	res = json_pack("{s:o,s:I}", "files", files, "items", (json_int_t)st.items);
	rc = sm_action_done(call, res);
	json_decref(res);
	return rc;
}

int smd__register_task_actions(struct sm_engine *e, struct act_ctx *ctx,
    const struct rt_config *cfg, struct sm_statedir *sd, struct smd__spiders **out)
{
	struct smd__spiders *sp = calloc(1, sizeof(*sp));
	int rc;

	if (!sp)
		return SM_ENOMEM;
	sp->e = e;
	sp->loop = ctx->loop;
	sp->cfg = cfg;
	sp->sd = sd;
	{
		const struct sm_action_def defs[] = {
			{ "spider_start", start_start, run_cancel, sp },
			{ "spider_wait", wait_start, run_cancel, sp },
			{ "pack", pack_start, NULL, sp },
		};

		for (size_t i = 0; i < 3; i++)
			if ((rc = sm_engine_register_action(e, &defs[i])) != 0) {
				free(sp);
				return rc;
			}
	}
	*out = sp;
	return 0;
}

void smd__spiders_config(struct smd__spiders *sp, const struct rt_config *cfg)
{
	if (sp)
		sp->cfg = cfg;
}

void smd__spiders_free(struct smd__spiders *sp)
{
	struct child *c, *n;

	if (!sp)
		return;
	for (c = sp->children; c; c = n) {
		n = c->next;
		if (!c->exited) {
			kill(-c->pid, SIGKILL);
			sm_loop_child_del(sp->loop, c->pid);
		}
		free(c);
	}
	free(sp);
}
