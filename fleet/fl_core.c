/*
 * fl_core.c - the handle, the bounded parallel runner of list pages and
 * gets, and the friendly errors.  See fleet.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fl_private.h"
#include "rt_boot.h"
#include "rt_config.h"
#include "sm_loop.h"
#include "sm_text.h"
#include "transport.h"

#define FL_PAGE_KEYS 1000

int
fl_open(struct fl **out, const struct rt_config *cfg, struct sm_error *err)
{
	struct fl *fl;
	struct stat st;
	int rc;

	*out = NULL;
	if (cfg->backend != RT_BACKEND_AWS && stat(cfg->state_dir, &st) != 0)
		return sm_error_set(err, SM_ENOTFOUND,
		    "no state directory '%s' (local backend): give the one smd uses with -d DIR "
		    "or -c FILE, or -o backend=aws for a bucket on AWS",
		    cfg->state_dir);
	if ((fl = calloc(1, sizeof(*fl))) == NULL || (fl->bucket = strdup(cfg->bucket)) == NULL) {
		free(fl);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	fl->timeout_ms = FL_TIMEOUT_MS_DEFAULT;
	if ((rc = rt_open(&fl->rt, cfg, RT_CLIENT, err)) != 0) {
		fl_close(fl);
		return rc;
	}
	fl->tp = rt_transport(fl->rt);
	*out = fl;
	return 0;
}

void
fl_close(struct fl *fl)
{
	if (fl == NULL)
		return;
	rt_close(fl->rt);
	free(fl->bucket);
	free(fl);
}

const char *
fl_bucket(const struct fl *fl)
{
	return fl->bucket;
}

const char *
fl_backend(const struct fl *fl)
{
	return tp_backend_name(fl->tp);
}

void
fl_set_timeout(struct fl *fl, int64_t ms)
{
	if (ms > 0)
		fl->timeout_ms = ms;
}

void
fl_set_progress(struct fl *fl, fl_progress_fn *fn, void *arg)
{
	fl->progress = fn;
	fl->progress_arg = arg;
}

struct fl_stats_io
fl_counters(const struct fl *fl)
{
	return fl->io;
}

void
fl_counters_reset(struct fl *fl)
{
	memset(&fl->io, 0, sizeof(fl->io));
}

int
fl_task_name_parse(const char *key, struct fl_name *out)
{
	return act_name_parse(key, out);
}

void
fl__name_date(const struct fl_name *n, char out[11])
{
	unsigned y = (unsigned)n->year % 10000u, m = (unsigned)n->month % 100u,
	         d = (unsigned)n->day % 100u;

	snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
}

static int
is_denied(const char *c)
{
	return c &&
	    (strcmp(c, "AccessDenied") == 0 || strcmp(c, "InvalidAccessKeyId") == 0 ||
	        strcmp(c, "SignatureDoesNotMatch") == 0 || strcmp(c, "ExpiredToken") == 0 ||
	        strcmp(c, "InvalidToken") == 0);
}

int
fl__tp_error(struct fl *fl, int code, const char *err_code, const char *message, const char *what,
    struct sm_error *err)
{
	const char *m = message && *message ? message : sm_strerror(code);

	if (code == SM_ECREDS)
		return sm_error_set(err, code,
		    "no AWS credentials found (%s): set AWS_ACCESS_KEY_ID and "
		    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where an instance role "
		    "gives them",
		    m);
	if (err_code && strcmp(err_code, "NoSuchBucket") == 0)
		return sm_error_set(err, SM_ENOTFOUND,
		    "bucket '%s' does not exist (%s backend): check the configuration's "
		    "bucket (-o bucket=NAME) and backend",
		    fl->bucket, tp_backend_name(fl->tp));
	if (code == SM_EAUTH || is_denied(err_code))
		return sm_error_set(err, SM_EAUTH,
		    "access to bucket '%s' denied (%s): check the AWS credentials and "
		    "their policy",
		    fl->bucket, err_code ? err_code : m);
	if (code == SM_ENET || code == SM_ETLS)
		return sm_error_set(err, code,
		    "cannot reach the bucket '%s' (%s): check the endpoint "
		    "(AWS_ENDPOINT_URL, region) and the network",
		    fl->bucket, m);
	if (code == SM_ETIMEOUT)
		return sm_error_set(err, code,
		    "no answer from bucket '%s' in time (%s): check the endpoint and the "
		    "network, or try again",
		    fl->bucket, what);
	return sm_error_set(err, code, "%s: %s", what, m);
}

/* ---- the runner ---------------------------------------------------------- */

/*
 * Jobs (a prefix to list page after page, or a key to get) run
 * FL_LIST_PARALLEL at a time; each slot holds one request in flight.
 */
enum { JOB_LIST, JOB_GET };

struct run;
struct slot {
	struct run *run;
	size_t job;
	tp_op_id op;
	int busy;
};

struct run {
	struct fl *fl;
	int kind;
	const char *const *items; /* prefixes or keys */
	size_t n, next, done, inflight, parallel;
	size_t max; /* JOB_GET: bytes */
	fl_key_fn *key_cb;
	fl_got_fn *got_cb;
	void *arg;
	uint64_t keys;
	int rc, stop, finished;
	struct sm_error *err;
	struct slot slots[FL_LIST_PARALLEL];
};

static void pump(struct run *run);

static void
run_fail(struct run *run, int code, const char *err_code, const char *message, size_t job)
{
	char what[512];

	if (run->rc == 0) {
		snprintf(what, sizeof(what), "cannot %s '%s' in bucket '%s'",
		    run->kind == JOB_LIST ? "list" : "get", run->items[job], run->fl->bucket);
		run->rc = fl__tp_error(run->fl, code, err_code, message, what, run->err);
	}
	run->stop = 1;
}

static void
slot_done(struct slot *s)
{
	struct run *run = s->run;

	s->busy = 0;
	s->op = 0;
	run->inflight--;
}

static void
job_done(struct run *run)
{
	run->done++;
	if (run->fl->progress && run->kind == JOB_LIST)
		run->fl->progress(run->fl->progress_arg, run->done, run->n, run->keys);
}

static int start_list(struct slot *s, const char *cont);

/*
 * A key as text: a key of the local backend may hold any bytes, and a JSON
 * string (the commands' objects) only UTF-8; *fixed is NULL when `key` is
 * UTF-8, else a copy with each bad byte as U+FFFD (the caller frees).
 */
static int
key_text(const char *key, char **fixed)
{
	size_t len = strlen(key);

	*fixed = NULL;
	if (sm_utf8_valid(key, len))
		return 0;
	if ((*fixed = malloc(len * 3 + 1)) == NULL)
		return SM_ENOMEM;
	(*fixed)[sm_utf8_repair(*fixed, key, len)] = '\0';
	return 0;
}

static void
on_list(void *arg, const struct tp_result *r, const struct tp_object *objs, size_t n,
    const char *const *prefixes, size_t nprefixes, const char *next)
{
	struct slot *s = arg;
	struct run *run = s->run;
	struct fl_key k;
	int rc;

	(void)prefixes;
	(void)nprefixes;
	slot_done(s);
	if (r->code != 0) {
		if (r->code != SM_ECANCELED)
			run_fail(run, r->code, r->err_code, r->message, s->job);
		goto out;
	}
	for (size_t i = 0; i < n && !run->stop; i++) {
		char *fixed = NULL;

		if ((rc = key_text(objs[i].key, &fixed)) == 0) {
			k.key = fixed ? fixed : objs[i].key;
			k.size = objs[i].size;
			k.mtime_ms = objs[i].mtime_ms;
			run->keys++;
			rc = run->key_cb(run->arg, &k);
			free(fixed);
		}
		if (rc != 0) {
			if (run->rc == 0)
				run->rc = rc;
			run->stop = 1;
		}
	}
	if (run->stop)
		goto out;
	if (next && *next) {
		if ((rc = start_list(s, next)) != 0)
			run_fail(run, rc, NULL, NULL, s->job);
		else if (run->fl->progress)
			run->fl->progress(run->fl->progress_arg, run->done, run->n, run->keys);
		goto out;
	}
	job_done(run);
out:
	pump(run);
}

static void
on_got(void *arg, const struct tp_result *r, const void *data, size_t len)
{
	struct slot *s = arg;
	struct run *run = s->run;
	int rc;

	slot_done(s);
	if (r->code == SM_ECANCELED)
		goto out;
	if (r->code != 0 && r->code != SM_ENOTFOUND && r->code != SM_ETOOBIG) {
		run_fail(run, r->code, r->err_code, r->message, s->job);
		goto out;
	}
	if (r->code == 0)
		run->fl->io.bytes += len;
	if (!run->stop &&
	    (rc = run->got_cb(run->arg, s->job, r->code, r->code == 0 ? data : NULL,
	         r->code == 0 ? len : 0)) != 0) {
		if (run->rc == 0)
			run->rc = rc;
		run->stop = 1;
	}
	job_done(run);
out:
	pump(run);
}

static int
start_list(struct slot *s, const char *cont)
{
	struct run *run = s->run;
	int rc = tp_object_list(run->fl->tp, run->fl->bucket, run->items[s->job], NULL, cont,
	    FL_PAGE_KEYS, on_list, s, &s->op);

	if (rc == 0) {
		s->busy = 1;
		run->inflight++;
		run->fl->io.requests++;
	}
	return rc;
}

static void
pump(struct run *run)
{
	struct slot *s;
	int rc;

	while (!run->stop && run->next < run->n && run->inflight < run->parallel) {
		s = NULL;
		for (size_t i = 0; i < run->parallel; i++)
			if (!run->slots[i].busy) {
				s = &run->slots[i];
				break;
			}
		if (s == NULL)
			break;
		s->job = run->next++;
		if (run->kind == JOB_LIST) {
			rc = start_list(s, NULL);
		} else {
			rc = tp_object_get_mem(run->fl->tp, run->fl->bucket, run->items[s->job],
			    run->max, on_got, s, &s->op);
			if (rc == 0) {
				s->busy = 1;
				run->inflight++;
				run->fl->io.requests++;
			}
		}
		if (rc != 0)
			run_fail(run, rc, NULL, NULL, s->job);
	}
	if (run->inflight == 0 && (run->stop || run->next >= run->n))
		run->finished = 1;
}

static int
run_all(struct run *run)
{
	int rc;

	for (size_t i = 0; i < FL_LIST_PARALLEL; i++)
		run->slots[i].run = run;
	pump(run);
	rc = run->finished ? 0 : tp_wait(run->fl->tp, &run->finished, run->fl->timeout_ms);
	if (rc != 0 && !run->finished) {
		run->stop = 1;
		for (size_t i = 0; i < run->parallel; i++)
			if (run->slots[i].busy)
				tp_cancel(run->fl->tp, run->slots[i].op);
		if (run->rc == 0)
			run->rc = rc == SM_ETIMEOUT ?
			    sm_error_set(run->err, SM_ETIMEOUT,
			        "no answer from bucket '%s' within %lld s (%zu of %zu %s done): "
			        "check the endpoint and the network, or try again",
			        run->fl->bucket, (long long)(run->fl->timeout_ms / 1000), run->done,
			        run->n, run->kind == JOB_LIST ? "listings" : "downloads") :
			    sm_error_set(run->err, rc, "event loop: %s", sm_strerror(rc));
	}
	return run->rc;
}

static int
list_many(struct fl *fl, const char *const *prefixes, size_t n, size_t parallel, fl_key_fn *cb,
    void *arg, struct sm_error *err)
{
	struct run *run = calloc(1, sizeof(*run));
	int rc;

	if (run == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	run->fl = fl;
	run->kind = JOB_LIST;
	run->items = prefixes;
	run->n = n;
	run->parallel = parallel;
	run->key_cb = cb;
	run->arg = arg;
	run->err = err;
	rc = run_all(run);
	free(run);
	return rc;
}

int
fl_list_days(struct fl *fl, time_t last_day, int days, const char *prefix_extra, fl_key_fn *cb,
    void *arg, struct sm_error *err)
{
	char **prefixes;
	struct tm tm;
	time_t t;
	int rc = 0;

	if (days < 1 || days > FL_DAYS_MAX)
		return sm_error_set(
		    err, SM_ERANGE, "days must be 1 to %d, not %d", FL_DAYS_MAX, days);
	if ((prefixes = calloc((size_t)days, sizeof(*prefixes))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	/* newest day first: a terminal shows today's keys soonest */
	for (int i = 0; i < days && rc == 0; i++) {
		t = last_day - (time_t)i * 86400;
		if (gmtime_r(&t, &tm) == NULL ||
		    asprintf(&prefixes[i], "%04d/%02d/%02d/%s", tm.tm_year + 1900, tm.tm_mon + 1,
		        tm.tm_mday, prefix_extra ? prefix_extra : "") < 0) {
			prefixes[i] = NULL;
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		}
	}
	if (rc == 0)
		rc = list_many(fl, (const char *const *)prefixes, (size_t)days, FL_LIST_PARALLEL,
		    cb, arg, err);
	for (int i = 0; i < days; i++)
		free(prefixes[i]);
	free(prefixes);
	return rc;
}

int
fl_list_prefix(struct fl *fl, const char *prefix, fl_key_fn *cb, void *arg, struct sm_error *err)
{
	const char *one[1] = { prefix };

	return list_many(fl, one, 1, 1, cb, arg, err);
}

int
fl_get_many(struct fl *fl, const char *const *keys, size_t n, size_t max, fl_got_fn *cb, void *arg,
    struct sm_error *err)
{
	struct run *run;
	int rc;

	if (n == 0)
		return 0;
	if ((run = calloc(1, sizeof(*run))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	run->fl = fl;
	run->kind = JOB_GET;
	run->items = keys;
	run->n = n;
	run->max = max;
	run->parallel = FL_LIST_PARALLEL;
	run->got_cb = cb;
	run->arg = arg;
	run->err = err;
	rc = run_all(run);
	free(run);
	return rc;
}

struct one_get {
	int code;
	char *data;
	size_t len;
};

static int
got_one(void *arg, size_t i, int code, const char *data, size_t len)
{
	struct one_get *g = arg;

	(void)i;
	g->code = code;
	if (code == 0) {
		if ((g->data = malloc(len + 1)) == NULL)
			return g->code = SM_ENOMEM;
		memcpy(g->data, data, len);
		g->data[len] = '\0';
		g->len = len;
	}
	return 0;
}

int
fl_get(struct fl *fl, const char *key, size_t max, char **data, size_t *len, struct sm_error *err)
{
	struct one_get g = { 0, NULL, 0 };
	const char *one[1] = { key };
	int rc;

	*data = NULL;
	*len = 0;
	if ((rc = fl_get_many(fl, one, 1, max, got_one, &g, err)) != 0)
		return rc;
	if (g.code == SM_ENOTFOUND)
		return sm_error_set(
		    err, SM_ENOTFOUND, "no key '%s' in bucket '%s'", key, fl->bucket);
	if (g.code == SM_ETOOBIG)
		return sm_error_set(err, SM_ETOOBIG, "key '%s' is over %zu bytes", key, max);
	if (g.code != 0)
		return sm_error_set(err, g.code, "out of memory");
	*data = g.data;
	*len = g.len;
	return 0;
}

/* ---- single writes --------------------------------------------------------- */

struct one_op {
	int done, code;
	char err_code[64];
	char message[SM_ERROR_MSG_MAX];
};

static void
one_result(struct one_op *o, const struct tp_result *r)
{
	o->done = 1;
	o->code = r->code;
	snprintf(o->err_code, sizeof(o->err_code), "%s", r->err_code ? r->err_code : "");
	snprintf(o->message, sizeof(o->message), "%s", r->message ? r->message : "");
}

static void
on_put(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	(void)obj;
	one_result(arg, r);
}

static void
on_done(void *arg, const struct tp_result *r)
{
	one_result(arg, r);
}

static int
one_wait(
    struct fl *fl, struct one_op *o, int rc, tp_op_id op, const char *what, struct sm_error *err)
{
	if (rc == 0) {
		fl->io.requests++;
		rc = tp_wait(fl->tp, &o->done, fl->timeout_ms);
		if (rc != 0 && !o->done) {
			tp_cancel(fl->tp, op);
			return fl__tp_error(fl, SM_ETIMEOUT, NULL, NULL, what, err);
		}
		rc = o->code;
	}
	if (rc != 0)
		return fl__tp_error(
		    fl, rc, o->err_code[0] ? o->err_code : NULL, o->message, what, err);
	return 0;
}

int
fl_put(struct fl *fl, const char *key, const void *data, size_t len, struct sm_error *err)
{
	struct one_op o;
	char what[400];
	tp_op_id op = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	snprintf(what, sizeof(what), "cannot put '%s' in bucket '%s'", key, fl->bucket);
	rc = tp_object_put_mem(fl->tp, fl->bucket, key, data, len, "text/plain", on_put, &o, &op);
	return one_wait(fl, &o, rc, op, what, err);
}

int
fl_delete(struct fl *fl, const char *key, struct sm_error *err)
{
	struct one_op o;
	char what[400];
	tp_op_id op = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	snprintf(what, sizeof(what), "cannot delete '%s' in bucket '%s'", key, fl->bucket);
	rc = tp_object_delete(fl->tp, fl->bucket, key, on_done, &o, &op);
	return one_wait(fl, &o, rc, op, what, err);
}
