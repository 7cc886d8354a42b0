/*
 * smd_test_util.h - the UI server's side of smd's end-to-end tests: send
 * tasks, run smd (the real program) on a state directory, read the
 * progress and output queues and the bucket as a UI server would, unzip.
 *
 * The backend is SM_TEST_BACKEND (local: the state directory's own queues
 * and objects; aws: the endpoint of test/support/with_moto.sh).
 */
#ifndef SMD_TEST_UTIL_H
#define SMD_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zip.h>

#include "ops/ops_sync.h"
#include "sm_loop.h"
#include "store.h"
#include "tap.h"
#include "transport.h"

#define ST_BUCKET "spyder-bucket"
#define ST_QUEUE "sqs_ranking_spiders_tasks"
#define ST_SERVER "uiserver"
#define ST_PROGRESS ST_SERVER "sqs_ranking_spiders_progress"
#define ST_OUTPUT ST_SERVER "sqs_ranking_spiders_output"

struct st_env {
	char dir[256];
	int aws;
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp;
	struct tres t;
	char smd[512], src[512], build[512];
	char machines[400];     /* machines_dir; "": the source tree's */
	char conf[400];         /* smd's -c FILE; "": none */
	pid_t pid;              /* a running smd or 0 */
	char opt[16][600];      /* st__options' -o values */
};

__attribute__((unused)) static void st_rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

/* Open the UI side's transport (and, local, the state directory's store). */
__attribute__((unused)) static int st_open(struct st_env *e, const char *name)
{
	struct tp_config c;
	struct sm_error err;
	const char *b = getenv("SM_TEST_BACKEND");

	memset(e, 0, sizeof(*e));
	e->aws = b && strcmp(b, "aws") == 0;
	snprintf(e->dir, sizeof(e->dir), "%s/smd-%s-%d", getenv("TMPDIR") ? getenv("TMPDIR") :
	    "/tmp", name, (int)getpid());
	st_rmtree(e->dir);
	mkdir(e->dir, 0700);
	snprintf(e->smd, sizeof(e->smd), "%s/cmd/smd", getenv("SM_BUILD_DIR"));
	snprintf(e->src, sizeof(e->src), "%s", getenv("SM_SOURCE_DIR"));
	snprintf(e->build, sizeof(e->build), "%s", getenv("SM_BUILD_DIR"));
	if (sm_loop_create(&e->loop) != 0)
		return -1;
	sm_error_clear(&err);
	if (!e->aws && store_open(&e->st, e->dir, NULL, &err) != 0) {
		diag("store_open: %s", err.msg);
		return -1;
	}
	tp_config_init(&c);
	c.backend = e->aws ? "aws" : "local";
	c.state_dir = e->dir;
	c.store = e->st;
	if (tp_create(&e->tp, e->loop, &c, &err) != 0) {
		diag("tp_create: %s", err.msg);
		return -1;
	}
	s_bucket(e->tp, &e->t, ST_BUCKET);
	return 0;
}

__attribute__((unused)) static void st_close(struct st_env *e)
{
	if (e->pid > 0) {
		kill(e->pid, SIGKILL);
		waitpid(e->pid, NULL, 0);
	}
	tres_free(&e->t);
	tp_destroy(e->tp);
	store_close(e->st);
	sm_loop_destroy(e->loop);
	if (!getenv("SM_TEST_KEEP"))
		st_rmtree(e->dir);
}

/* The URL of queue `name` (created when missing), or "" on failure. */
__attribute__((unused)) static const char *st_queue(struct st_env *e, const char *name,
    char *url, size_t size)
{
	s_create_queue(e->tp, &e->t, name, NULL, 0);
	snprintf(url, size, "%s", e->t.code == 0 ? e->t.url : "");
	return url;
}

__attribute__((unused)) static int st_send(struct st_env *e, const char *queue, const char *body)
{
	char url[512];

	st_queue(e, queue, url, sizeof(url));
	s_send(e->tp, &e->t, url, body, 0);
	return e->t.code;
}

/* Every message now in `queue` (received and deleted), as parsed JSON (an
 * array; a body that is not JSON becomes a string). */
__attribute__((unused)) static json_t *st_drain(struct st_env *e, const char *queue)
{
	char url[512];
	json_t *all = json_array();

	st_queue(e, queue, url, sizeof(url));
	for (;;) {
		s_receive(e->tp, &e->t, url, 10, 0, 30);
		if (e->t.code != 0 || e->t.nm == 0)
			break;
		for (size_t i = 0; i < e->t.nm; i++) {
			json_t *j = json_loadb(e->t.m[i].body, e->t.m[i].len, 0, NULL);
			struct tres d = { 0 };

			json_array_append_new(all, j ? j : json_stringn(e->t.m[i].body, e->t.m[i].len));
			s_delete(e->tp, &d, url, e->t.m[i].receipt);
			tres_free(&d);
		}
	}
	return all;
}

/* Messages in `queue` (visible or not): ApproximateNumberOfMessages +
 * ...NotVisible, or -1. */
__attribute__((unused)) static int st_queue_count(struct st_env *e, const char *queue)
{
	char url[512];
	const char *v, *nv;

	st_queue(e, queue, url, sizeof(url));
	s_attrs(e->tp, &e->t, url, NULL, 0);
	v = tres_attr(&e->t, "ApproximateNumberOfMessages");
	nv = tres_attr(&e->t, "ApproximateNumberOfMessagesNotVisible");
	if (!v || !nv)
		return -1;
	return atoi(v) + atoi(nv);
}

/* The progress values of task `id` among the messages `all` (st_drain), in
 * order (new array); *last the last such message (borrowed). */
__attribute__((unused)) static json_t *
st_progress_of(json_t *all, int64_t id, json_t **last)
{
	json_t *seq = json_array();

	*last = NULL;
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *m = json_array_get(all, i);

		if (json_integer_value(json_object_get(m, "_msg_id")) == id) {
			json_array_append(seq, json_object_get(m, "progress"));
			*last = m;
		}
	}
	return seq;
}

/* The number of output messages (st_drain) of task `id` in `outs`. */
__attribute__((unused)) static int
st_has_output(json_t *outs, int64_t id)
{
	int n = 0;

	for (size_t i = 0; i < json_array_size(outs); i++)
		n += json_integer_value(json_object_get(json_array_get(outs, i), "_msg_id")) == id;
	return n;
}

/* Task `id` failed: `"failed"` last (after progress 0 first when it
 * `started`), its error holding `reason`, and no output message. */
__attribute__((unused)) static void
st_expect_failed(
    json_t *prog, json_t *outs, int64_t id, int started, const char *reason, const char *what)
{
	json_t *last, *seq = st_progress_of(prog, id, &last);
	const char *err = json_string_value(json_object_get(last, "error"));

	if (started)
		ok(json_is_integer(json_array_get(seq, 0)) &&
		        json_integer_value(json_array_get(seq, 0)) == 0,
		    "%s: progress 0 first", what);
	is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "failed",
	    "%s: \"failed\" reported", what);
	ok(err && strstr(err, reason), "%s: the error says why ('%s' in '%s')", what, reason,
	    err ? err : "(none)");
	is_int(st_has_output(outs, id), 0, "%s: no output message", what);
	json_decref(seq);
}

/* 1 if the bucket has a key containing `text` (the first in `key`). */
__attribute__((unused)) static int
st_bucket_key(struct st_env *e, const char *text, char *key, size_t size)
{
	s_list(e->tp, &e->t, ST_BUCKET, "", NULL, NULL, 1000);
	for (size_t i = 0; e->t.code == 0 && i < e->t.nkeys; i++)
		if (strstr(e->t.keys[i], text)) {
			snprintf(key, size, "%s", e->t.keys[i]);
			return 1;
		}
	return 0;
}

/* The state directory's instance id (its file instance-id; "" if none). */
__attribute__((unused)) static void
st_instance_id(struct st_env *e, char id[64])
{
	char path[600];
	FILE *f;

	id[0] = 0;
	snprintf(path, sizeof(path), "%s/instance-id", e->dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (!fgets(id, 64, f))
			id[0] = 0;
		fclose(f);
	}
	id[strcspn(id, "\n")] = 0;
}

/* The key part "<instance id>____remote_instance_starter2.log" of smd's own
 * log in the bucket, from the state directory's instance-id ("" if none). */
__attribute__((unused)) static void
st_log_key_part(struct st_env *e, char *out, size_t size)
{
	char id[64];

	st_instance_id(e, id);
	snprintf(out, size, "%s%s", id, id[0] ? "____remote_instance_starter2.log" : "");
}

/*
 * Make the uploads of task outputs fail (on) or work again (off).  aws:
 * the bucket is emptied and deleted (and made again);
 * local: a file where the year's directory of the keys must go.
 */
__attribute__((unused)) static void
st_fault(struct st_env *e, int on)
{
	char cmd[1200];

	if (e->aws) {
		/* its objects go first (a bucket must be empty to be deleted):
		 * smd's own (heartbeat, start marker, task records) too */
		if (on) {
			snprintf(cmd, sizeof(cmd),
			    "python3 -c 'import boto3, os; b=boto3.resource(\"s3\", "
			    "endpoint_url=os.environ[\"AWS_ENDPOINT_URL\"]).Bucket(\"%s\"); "
			    "b.objects.all().delete(); b.delete()'",
			    ST_BUCKET);
			(void)!system(cmd);
		} else {
			s_bucket(e->tp, &e->t, ST_BUCKET);
		}
		return;
	}
	/* keys start with the UTC year of the task's receipt: a file there
	 * makes every upload of the day fail */
	for (int i = 0; i < 2; i++) {
		time_t t = time(NULL) + i * 3600;
		struct tm tm;
		char path[700];

		gmtime_r(&t, &tm);
		snprintf(
		    path, sizeof(path), "%s/objects/%s/%04d", e->dir, ST_BUCKET, tm.tm_year + 1900);
		if (on) {
			FILE *f = fopen(path, "w");

			if (f)
				fclose(f);
		} else {
			unlink(path);
		}
	}
}

/* Write `text` to the file <dir>/`name`. */
__attribute__((unused)) static void
st_write_file(struct st_env *e, const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* An object's bytes (malloc'd, *len) or NULL. */
__attribute__((unused)) static char *st_get(struct st_env *e, const char *key, size_t *len)
{
	char *d;

	s_get_mem(e->tp, &e->t, ST_BUCKET, key, 64 << 20);
	if (e->t.code != 0)
		return NULL;
	d = malloc(e->t.len + 1);
	memcpy(d, e->t.data, e->t.len);
	d[e->t.len] = 0;
	*len = e->t.len;
	return d;
}

/* The one entry of a zip held in memory: its name and bytes. */
__attribute__((unused)) static char *st_unzip(const char *zipdata, size_t ziplen, char *name,
    size_t namesize, size_t *len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *z;
	zip_stat_t zs;
	zip_file_t *f;
	char *out = NULL;

	zip_error_init(&ze);
	src = zip_source_buffer_create(zipdata, ziplen, 0, &ze);
	if (!src || !(z = zip_open_from_source(src, ZIP_RDONLY, &ze))) {
		zip_source_free(src);
		return NULL;
	}
	if (zip_get_num_entries(z, 0) == 1 && zip_stat_index(z, 0, 0, &zs) == 0 &&
	    (f = zip_fopen_index(z, 0, 0)) != NULL) {
		out = malloc(zs.size + 1);
		if (zip_fread(f, out, zs.size) == (zip_int64_t)zs.size) {
			out[zs.size] = 0;
			*len = zs.size;
			snprintf(name, namesize, "%s", zs.name);
		} else {
			free(out);
			out = NULL;
		}
		zip_fclose(f);
	}
	zip_close(z);
	return out;
}

/* The -o options every test run of smd (and smctl replay) gets, as
 * "-o" "key=value" pairs appended to argv at *n. */
__attribute__((unused)) static void
st__options(struct st_env *e, char **argv, int *n)
{
	static char s_o[] = "-o";
	int k = 0;

#define ST_OPT(...) \
	do { \
		snprintf(e->opt[k], sizeof(e->opt[k]), __VA_ARGS__); \
		argv[(*n)++] = s_o; \
		argv[(*n)++] = e->opt[k++]; \
	} while (0)
	ST_OPT("state_dir=%s", e->dir);
	ST_OPT("backend=%s", e->aws ? "aws" : "local");
	if (e->machines[0])
		ST_OPT("machines_dir=%s", e->machines);
	else
		ST_OPT("machines_dir=%s/machines", e->src);
	ST_OPT("spider_program=%s/test/spider/fake_scrapy", e->build);
	ST_OPT("spiders_dir=%s", e->dir);
	ST_OPT("poll_wait=1s");
	ST_OPT("progress_interval=1s");
	ST_OPT("stop_flag_interval=2s");
#undef ST_OPT
}

/* Exec `argv` in a child with stdout and stderr appended to `out`
 * (stdout to `out_stdout` when not NULL); its pid. */
__attribute__((unused)) static pid_t
st__spawn(char **argv, const char *out, const char *out_stdout)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int fo = out_stdout ? open(out_stdout, O_WRONLY | O_CREAT | O_TRUNC, 0600) : fd;

		dup2(fo, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * Start smd on the state directory with `extra` -o options (NULL ended),
 * --exit-when-idle when `idle`.  Its log goes to <dir>/smd.out.
 */
__attribute__((unused)) static pid_t
st_smd_start(struct st_env *e, int idle, const char *const *extra)
{
	char *argv[64];
	char s_q[] = "-q", s_idle[] = "--exit-when-idle", s_o[] = "-o", s_c[] = "-c", out[600];
	int n = 0;

	argv[n++] = e->smd;
	argv[n++] = s_q;
	if (idle)
		argv[n++] = s_idle;
	if (e->conf[0]) {
		argv[n++] = s_c;
		argv[n++] = e->conf;
	}
	st__options(e, argv, &n);
	for (size_t i = 0; extra && extra[i]; i++) {
		argv[n++] = s_o;
		argv[n++] = (char *)extra[i];
	}
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/smd.out", e->dir);
	e->pid = st__spawn(argv, out, NULL);
	return e->pid;
}

/*
 * Start `smctl COMMAND ARGS...` (args: COMMAND first, then its options and
 * operands, NULL ended; smd's -o options are put after COMMAND): its pid.
 * Its stdout goes to <dir>/smctl.stdout, its stderr to <dir>/smctl.last.
 */
__attribute__((unused)) static pid_t
st_smctl_start(struct st_env *e, const char *const *args)
{
	char *argv[64], path[600], opath[600], epath[600];
	int n = 0;

	snprintf(path, sizeof(path), "%s/cmd/smctl", e->build);
	argv[n++] = path;
	argv[n++] = (char *)args[0];
	st__options(e, argv, &n);
	for (size_t i = 1; args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	snprintf(opath, sizeof(opath), "%s/smctl.stdout", e->dir);
	snprintf(epath, sizeof(epath), "%s/smctl.last", e->dir);
	unlink(epath);
	return st__spawn(argv, epath, opath);
}

/*
 * Wait up to `secs` for the smctl started as `pid`: its exit status (-1:
 * it was killed).  Its stdout into `out` (`size` bytes, NUL-terminated);
 * its stderr is appended to <dir>/smctl.err.
 */
__attribute__((unused)) static int
st_smctl_wait(struct st_env *e, pid_t pid, int secs, char *out, size_t size)
{
	char opath[600], cmd[1400];
	int status = -1;
	FILE *f;

	for (int i = 0; i < secs * 20; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		usleep(50000);
	}
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	out[0] = 0;
	snprintf(opath, sizeof(opath), "%s/smctl.stdout", e->dir);
	if ((f = fopen(opath, "r")) != NULL) {
		size_t len = fread(out, 1, size - 1, f);

		out[len] = 0;
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "cat '%s/smctl.last' >> '%s/smctl.err'", e->dir, e->dir);
	(void)!system(cmd);
	return status;
}

/* Run smctl (st_smctl_start) and wait for it (st_smctl_wait). */
__attribute__((unused)) static int
st_smctl(struct st_env *e, const char *const *args, int secs, char *out, size_t size)
{
	return st_smctl_wait(e, st_smctl_start(e, args), secs, out, size);
}

/* 1 if the file <dir>/`name` has a line containing `text`. */
__attribute__((unused)) static int
st__file_has(struct st_env *e, const char *name, const char *text)
{
	char path[600], line[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* 1 if <dir>/`rel` exists (a link is not followed). */
__attribute__((unused)) static int
st_exists(struct st_env *e, const char *rel)
{
	char path[800];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", e->dir, rel);
	return lstat(path, &sb) == 0;
}

/* 1 if the last smctl run's stderr has `text`. */
__attribute__((unused)) static int
st_smctl_said(struct st_env *e, const char *text)
{
	return st__file_has(e, "smctl.last", text);
}

/* The machine hash in instance `id`'s record ("" if none). */
__attribute__((unused)) static void
st_instance_machine(struct st_env *e, const char *id, char out[80])
{
	struct store *st = e->st;
	struct store_options so;
	struct store_txn *txn;
	const void *v;
	size_t vl;

	out[0] = 0;
	store_options_init(&so);
	so.read_only = 1;
	if (!st && store_open(&st, e->dir, &so, NULL) != 0)
		return;
	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) == 0) {
		if (store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl) == 0) {
			json_t *j = json_loadb(v, vl, 0, NULL);
			const char *h = json_string_value(json_object_get(j, "machine"));

			snprintf(out, 80, "%s", h ? h : "");
			json_decref(j);
		}
		store_txn_abort(txn);
	}
	if (st != e->st)
		store_close(st);
}

/* Wait for smd to exit within `secs`: its exit status, or -1 (then it is
 * killed). */
__attribute__((unused)) static int st_smd_wait(struct st_env *e, int secs)
{
	int status;

	for (int i = 0; i < secs * 20; i++) {
		pid_t r = waitpid(e->pid, &status, WNOHANG);

		if (r == e->pid) {
			e->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(50000);
	}
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
	return -1;
}

/* Print smd's log as TAP diagnostics (for a failed check). */
__attribute__((unused)) static void st_show_log(struct st_env *e)
{
	char path[600], line[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/smd.log", e->dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f))
		printf("# smd: %s", line);
	fclose(f);
}

/* 1 if smd's log has a line containing `text`. */
__attribute__((unused)) static int st_log_has(struct st_env *e, const char *text)
{
	return st__file_has(e, "smd.log", text);
}

/* Lines of smd's log for which `match` says yes. */
__attribute__((unused)) static int st__log_lines(struct st_env *e,
    int (*match)(const char *line, const char *arg), const char *arg)
{
	char path[600], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/smd.log", e->dir);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		n += match(line, arg) != 0;
	fclose(f);
	return n;
}

__attribute__((unused)) static int st__has(const char *line, const char *text)
{
	return strstr(line, text) != NULL;
}

/* Lines of smd's log containing `text`. */
__attribute__((unused)) static int st_log_count(struct st_env *e, const char *text)
{
	return st__log_lines(e, st__has, text);
}

__attribute__((unused)) static int st__spider_started(const char *line, const char *arg)
{
	(void)arg;
	return (strstr(line, ": spider ") || strstr(line, ": bsr ")) && strstr(line, " started (");
}

/* Spiders smd started (act_spider's "<task>: spider N started" lines). */
__attribute__((unused)) static int st_spider_starts(struct st_env *e)
{
	return st__log_lines(e, st__spider_started, NULL);
}

/* Wait up to `secs` for more than `n` spider starts. */
__attribute__((unused)) static int st_wait_spider(struct st_env *e, int n, int secs)
{
	for (int i = 0; i < secs * 20; i++) {
		if (st_spider_starts(e) > n)
			return 1;
		usleep(50000);
	}
	return 0;
}

/* Processes of the test spider working for this state directory (their
 * argv names files under it), zombies not counted. */
__attribute__((unused)) static int st_spiders_alive(struct st_env *e)
{
	FILE *p;
	char cmd[800], buf[64];
	int n = 0;

	snprintf(cmd, sizeof(cmd), "for d in /proc/[0-9]*; do "
	    "grep -q ') Z ' $d/stat 2>/dev/null && continue; "
	    "case $(readlink $d/exe 2>/dev/null) in */fake_scrapy) ;; *) continue ;; esac; "
	    "tr '\\0' ' ' < $d/cmdline 2>/dev/null | grep -q '%s/' && echo x; "
	    "done | wc -l", e->dir);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), p))
			n = atoi(buf);
		pclose(p);
	}
	return n;
}

/* Seconds of the day of a log line ("2026-12-04T19:52:13.922Z ..."). */
static double st__line_time(const char *line)
{
	int h, m;
	double sec;

	if (sscanf(line, "%*10cT%d:%d:%lfZ", &h, &m, &sec) != 3)
		return -1;
	return h * 3600 + m * 60 + sec;
}

/* The most task instances running at once, from smd's log ("spider ...
 * started" opens a task's run, "task instance '...' ended" closes it). */
__attribute__((unused)) static int st_max_tasks_at_once(struct st_env *e, int *runs)
{
	char path[600], line[4096];
	FILE *f;
	int cur = 0, most = 0;
	json_t *open = json_object();

	*runs = 0;
	snprintf(path, sizeof(path), "%s/smd.log", e->dir);
	if (!(f = fopen(path, "r"))) {
		json_decref(open);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char id[64];
		const char *p;

		if ((p = strstr(line, "info: task-")) && strstr(line, " started (") &&
		    sscanf(p, "info: %63[^:]:", id) == 1) {
			if (!json_object_get(open, id)) {
				json_object_set_new(open, id, json_real(st__line_time(line)));
				cur++;
				(*runs)++;
			}
		} else if ((p = strstr(line, "task instance '")) && strstr(line, "' ended") &&
		    sscanf(p, "task instance '%63[^']'", id) == 1 && json_object_get(open, id)) {
			json_object_del(open, id);
			cur--;
		}
		if (cur > most)
			most = cur;
	}
	fclose(f);
	json_decref(open);
	return most;
}

#endif
