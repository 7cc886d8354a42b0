/*
 * smctl_remote.c - a task taken from its records in the bucket
 * (<name>.state.json.zip, docs/fleet-formats.md) rather than from the local
 * store: `smctl inspect TASK_ID --remote` (and when the local store has no
 * such task) and `smctl replay TASK_ID --remote` (smctl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fl_stats.h"
#include "fleet.h"
#include "rt_config.h"
#include "sm_err.h"
#include "smctl.h"
#include "smd.h"
#include "smd_view.h"

struct found {
	char needle[64]; /* "--<task_id>____" */
	const char *server;
	size_t nserver;
	char **keys;
	size_t n;
	int oom;
};

static int
match_key(void *arg, const struct fl_key *k)
{
	struct found *f = arg;
	size_t n = strlen(k->key), sl = strlen(FL_STATS_RECORD_SUFFIX);
	const char *at = strstr(k->key, f->needle);
	char **v;

	if (!at || n < sl || strcmp(k->key + n - sl, FL_STATS_RECORD_SUFFIX) != 0)
		return 0;
	/* ...____<server>--<task_id>____...: the server is right before */
	if (f->server &&
	    ((size_t)(at - k->key) < f->nserver + 4 ||
	        memcmp(at - f->nserver, f->server, f->nserver) != 0 ||
	        memcmp(at - f->nserver - 4, "____", 4) != 0))
		return 0;
	if (!(v = realloc(f->keys, (f->n + 1) * sizeof(*v))) || !(v[f->n] = strdup(k->key))) {
		if (v)
			f->keys = v;
		f->oom = 1;
		return SM_ENOMEM;
	}
	f->keys = v;
	f->n++;
	return 0;
}

struct got {
	const char *const *keys;
	int64_t task_id;
	const char *server;
	json_t *runs; /* [{"key", "record"}] */
	int bad;
};

static int
got_record(void *arg, size_t i, int code, const char *data, size_t len)
{
	struct got *g = arg;
	struct sm_error err;
	char *json = NULL;
	size_t jlen = 0;
	json_t *rec = NULL;
	const char *srv;
	int rc = code;

	sm_error_clear(&err);
	if (rc == 0 && (rc = fl_unzip_one(data, len, FL_RECORD_MAX, &json, &jlen, &err)) == 0)
		rc = fl_record_parse(json, jlen, &rec, &err);
	free(json);
	if (rc != 0) {
		smctl_safe_printf(stderr, "%s: record %s cannot be read: %s\n", smctl_progname,
		    g->keys[i], err.msg[0] ? err.msg : sm_strerror(rc));
		g->bad = 1;
		return 0;
	}
	srv = json_string_value(json_object_get(rec, "server_name"));
	if (!json_is_integer(json_object_get(rec, "task_id")) ||
	    json_integer_value(json_object_get(rec, "task_id")) != g->task_id ||
	    !json_is_object(json_object_get(rec, "run")) || !srv) {
		smctl_safe_printf(stderr,
		    "%s: record %s is not a record of task %lld (its task_id, server_name or run "
		    "is missing or another): skipped\n",
		    smctl_progname, g->keys[i], (long long)g->task_id);
		g->bad = 1;
	} else if (!g->server || strcmp(srv, g->server) == 0) {
		if (json_array_append_new(
		        g->runs, json_pack("{s:s,s:O}", "key", g->keys[i], "record", rec)) != 0) {
			json_decref(rec);
			return SM_ENOMEM;
		}
	}
	json_decref(rec);
	return 0;
}

/* Oldest run first: finished_ms, then written_ms, then the key. */
static int
run_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_t *rx = json_object_get(x, "record"), *ry = json_object_get(y, "record");
	static const char *const by[] = { "finished_ms", "written_ms" };

	for (size_t i = 0; i < 2; i++) {
		json_int_t p = json_integer_value(json_object_get(rx, by[i]));
		json_int_t q = json_integer_value(json_object_get(ry, by[i]));

		if (p != q)
			return p < q ? -1 : 1;
	}
	return strcmp(json_string_value(json_object_get(x, "key")),
	    json_string_value(json_object_get(y, "key")));
}

int
smctl_remote_find(struct fl *fl, int64_t task_id, const char *server, long days, json_t **runs,
    int *bad, struct sm_error *err)
{
	struct found f;
	struct got g;
	json_t **v = NULL;
	size_t n, i;
	int rc;

	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	*runs = NULL;
	*bad = 0;
	snprintf(f.needle, sizeof(f.needle), "--%lld____", (long long)task_id);
	f.server = server;
	f.nserver = server ? strlen(server) : 0;
	if ((rc = fl_list_days(fl, time(NULL), (int)days, NULL, match_key, &f, err)) != 0)
		goto fail;
	g.keys = (const char *const *)f.keys;
	g.task_id = task_id;
	g.server = server;
	if (!(g.runs = json_array())) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto fail;
	}
	if (f.n && (rc = fl_get_many(fl, g.keys, f.n, FL_RECORD_MAX, got_record, &g, err)) != 0)
		goto fail;
	/* sort oldest first */
	n = json_array_size(g.runs);
	if (n > 1) {
		if (!(v = malloc(n * sizeof(*v)))) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		for (i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(g.runs, i));
		qsort(v, n, sizeof(*v), run_cmp);
		json_array_clear(g.runs);
		for (i = 0; i < n; i++)
			json_array_append_new(g.runs, v[i]);
		free(v);
	}
	*runs = g.runs;
	*bad = g.bad;
	rc = 0;
	goto out;
fail:
	if (f.oom)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
	json_decref(g.runs);
out:
	for (i = 0; i < f.n; i++)
		free(f.keys[i]);
	free(f.keys);
	return rc;
}

int
smctl_remote_records(const char *name, const struct rt_config *cfg, int64_t task_id,
    const char *server, long days, json_t **runs, int *bad)
{
	struct sm_error err;
	struct fl *fl = NULL;
	int rc;

	*runs = NULL;
	*bad = 0;
	sm_error_clear(&err);
	if ((rc = fl_open(&fl, cfg, &err)) == 0)
		rc = smctl_remote_find(fl, task_id, server, days, runs, bad, &err);
	if (rc != 0)
		fprintf(stderr, "%s %s: %s\n", smctl_progname, name,
		    err.msg[0] ? err.msg : sm_strerror(rc));
	fl_close(fl);
	return rc;
}

/* One spider log from the bucket: its last `max` lines, or "error". */
static int
bucket_log(struct fl *fl, json_t *l, long max)
{
	const char *key = json_string_value(json_object_get(l, "key"));
	struct sm_error err;
	char *zip = NULL, *text = NULL;
	size_t zlen = 0, tlen = 0;
	json_t *lines = NULL;
	int rc;

	sm_error_clear(&err);
	if ((rc = fl_get(fl, key, SMCTL_LOG_ZIP_MAX, &zip, &zlen, &err)) == SM_ETOOBIG)
		sm_error_set(&err, rc, "its .log.zip is over %u MiB: fetch it with 'smctl results'",
		    SMCTL_LOG_ZIP_MAX >> 20);
	else if (rc == 0 &&
	    (rc = fl_unzip_one(zip, zlen, SMCTL_LOG_MAX, &text, &tlen, &err)) == SM_ETOOBIG)
		sm_error_set(&err, rc, "the log is over %u MiB: fetch it with 'smctl results'",
		    SMCTL_LOG_MAX >> 20);
	free(zip);
	if (rc == 0 && !(lines = smd_view_log_lines(text, tlen, 0, max)))
		rc = SM_ENOMEM;
	free(text);
	if (rc == SM_ENOMEM)
		return rc;
	if (rc == 0)
		return json_object_set_new(l, "lines", lines) == 0 ? 0 : SM_ENOMEM;
	return json_object_set_new(
	           l, "error", json_string(err.msg[0] ? err.msg : sm_strerror(rc))) == 0 ?
	    0 :
	    SM_ENOMEM;
}

int
smctl_inspect_bucket_logs(const struct rt_config *cfg, json_t *runs, long max)
{
	struct sm_error err;
	struct fl *fl = NULL;
	json_t *view, *l;
	size_t i, k;
	int rc = 0, open_rc = 1; /* 1: not opened yet */

	sm_error_clear(&err);
	json_array_foreach(runs, i, view)
	{
		json_array_foreach(json_object_get(view, "logs"), k, l)
		{
			if (!json_is_string(json_object_get(l, "key")) ||
			    json_object_get(l, "lines") || json_object_get(l, "error"))
				continue;
			if (max == 0) { /* nothing to show: no request */
				if (json_object_set_new(l, "lines", json_array()) != 0)
					rc = SM_ENOMEM;
				continue;
			}
			if (open_rc == 1 && (open_rc = fl_open(&fl, cfg, &err)) == 0)
				fl_set_timeout(fl, SMCTL_LOG_TIMEOUT_MS);
			if (open_rc != 0)
				rc = json_object_set_new(l, "error", json_string(err.msg)) == 0 ?
				    rc :
				    SM_ENOMEM;
			else if (bucket_log(fl, l, max) != 0)
				rc = SM_ENOMEM;
		}
	}
	fl_close(fl);
	return rc;
}

json_t *
smctl_remote_run_view(json_t *r, long last)
{
	json_t *run = json_deep_copy(json_object_get(json_object_get(r, "record"), "run"));
	json_t *hist;
	const char *logs;

	if (!run || json_object_set_new(run, "source", json_string("bucket")) != 0 ||
	    json_object_set(run, "record_key", json_object_get(r, "key")) != 0) {
		json_decref(run);
		return NULL;
	}
	/* the spider log the run uploaded (a record's run has no "logs"): fetched
	 * by smctl_inspect_bucket_logs, like a local run's whose work dir is gone */
	logs = json_string_value(json_object_get(json_object_get(run, "keys"), "logs"));
	if (json_object_set_new(run, "logs",
	        logs ? json_pack("[{s:s,s:s,s:s}]", "file", SMD_SPIDER_MAIN SMD_SPIDER_LOG, "key",
	                   logs, "source", "bucket") :
	               json_array()) != 0) {
		json_decref(run);
		return NULL;
	}
	hist = json_object_get(run, "history");
	if (last >= 0 && json_is_array(hist))
		while (json_array_size(hist) > (size_t)last)
			json_array_remove(hist, 0);
	return run;
}

int
smctl_inspect_remote(const struct smctl_cmd *cmd, const struct rt_config *cfg, int64_t task_id,
    const char *server, long days, int as_json, long last, long log_lines)
{
	json_t *recs = NULL, *runs = json_array(), *r;
	size_t i, n;
	int bad, status = 1;

	if (!runs || smctl_remote_records(cmd->name, cfg, task_id, server, days, &recs, &bad) != 0)
		goto out;
	n = json_array_size(recs);
	if (n == 0 && bad) {
		fprintf(stderr,
		    "%s %s: no readable record of task %lld%s%s in the bucket: those found cannot "
		    "be read (above)\n",
		    smctl_progname, cmd->name, (long long)task_id, server ? " from server " : "",
		    server ? server : "");
		goto out;
	}
	if (n == 0) {
		fprintf(stderr,
		    "%s %s: no record of task %lld%s%s in the bucket in the last %ld day(s): check "
		    "the id, or look further back with --days N\n",
		    smctl_progname, cmd->name, (long long)task_id, server ? " from server " : "",
		    server ? server : "", days);
		goto out;
	}
	json_array_foreach(recs, i, r)
	{
		json_t *run = smctl_remote_run_view(r, last);

		if (!run || json_array_append_new(runs, run) != 0)
			goto oom;
	}
	if (smctl_inspect_bucket_logs(cfg, runs, log_lines) != 0)
		goto oom;
	if (as_json) {
		if (smctl_inspect_print_json(runs, stdout) != 0)
			goto oom;
	} else {
		json_array_foreach(runs, i, r)
		{
			json_t *one = json_pack("[O]", r);

			if (!one)
				goto oom;
			smctl_safe_printf(stdout, "%s== run %zu of %zu, from the bucket: %s\n",
			    i ? "\n" : "", i + 1, n,
			    json_string_value(json_object_get(r, "record_key")));
			if (smctl_inspect_print(one, log_lines, stdout) != 0) {
				json_decref(one);
				goto oom;
			}
			json_decref(one);
		}
	}
	status = fflush(stdout) == 0 && !bad ? 0 : 1;
	goto out;
oom:
	fprintf(stderr, "%s %s: out of memory\n", smctl_progname, cmd->name);
out:
	json_decref(recs);
	json_decref(runs);
	return status;
}
