/*
 * fl_cmds.c - the objects of smctl's fleet commands (search, failed,
 * instances, stop-flag, results), one function each, so that the command
 * line and `smctl serve` show the same thing.  See fleet.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "act_flag.h"
#include "fl_private.h"

#define FL_RESULT_MAX ((size_t)1 << 30) /* one output, unzipped */

static json_t *
key_json(const struct fl_key *k)
{
	return json_pack("{s:s, s:I, s:I}", "key", k->key, "size", (json_int_t)k->size, "mtime_ms",
	    (json_int_t)k->mtime_ms);
}

/* A task group for `key` (parsed into `n`, or not a task key: n->kind 0). */
static json_t *
task_json(const char *key, const struct fl_name *n)
{
	char date[11];

	if (n->kind == 0)
		return json_pack("{s:s, s:n, s:n, s:n, s:n, s:n, s:n, s:I, s:[]}", "name", key,
		    "task_id", "server_name", "instance", "site", "term", "date", "newest_ms",
		    (json_int_t)0, "keys");
	fl__name_date(n, date);
	if (n->kind == ACT_NAME_DAEMON_LOG)
		return json_pack("{s:s, s:n, s:n, s:s, s:n, s:n, s:s, s:I, s:[]}", "name", n->name,
		    "task_id", "server_name", "instance", n->instance, "site", "term", "date", date,
		    "newest_ms", (json_int_t)0, "keys");
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:[]}", "name", n->name,
	    "task_id", (json_int_t)n->task_id, "server_name", n->server, "instance", n->instance,
	    "site", n->site, "term", n->term, "date", date, "newest_ms", (json_int_t)0, "keys");
}

/* Add `k` to its task group in `groups` (name -> task object). */
static int
group_add(json_t *groups, const struct fl_key *k, const struct fl_name *n)
{
	const char *name = n->kind ? n->name : k->key;
	json_t *t = json_object_get(groups, name), *kj;

	if (t == NULL) {
		if ((t = task_json(k->key, n)) == NULL || json_object_set_new(groups, name, t) != 0)
			return SM_ENOMEM;
	}
	if ((kj = key_json(k)) == NULL || json_array_append_new(json_object_get(t, "keys"), kj))
		return SM_ENOMEM;
	if (k->mtime_ms > json_integer_value(json_object_get(t, "newest_ms")))
		json_object_set_new(t, "newest_ms", json_integer(k->mtime_ms));
	return 0;
}

static int
newest_first(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *dx = json_string_value(json_object_get(x, "date"));
	const char *dy = json_string_value(json_object_get(y, "date"));
	int c = strcmp(dy ? dy : "", dx ? dx : "");
	json_int_t tx = json_integer_value(json_object_get(x, "newest_ms"));
	json_int_t ty = json_integer_value(json_object_get(y, "newest_ms"));

	if (c != 0)
		return c; /* the day folder first: a key put late in an old day stays old */
	if (tx != ty)
		return tx < ty ? 1 : -1;
	return strcmp(json_string_value(json_object_get(x, "name")),
	    json_string_value(json_object_get(y, "name")));
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "key")),
	    json_string_value(json_object_get(*(json_t *const *)b, "key")));
}

/* The groups as an array, newest first, each group's keys sorted. */
static json_t *
groups_sorted(json_t *groups)
{
	size_t n = json_object_size(groups), i = 0, j;
	json_t **v = calloc(n ? n : 1, sizeof(*v)), *arr = json_array(), *t, *keys;
	const char *name;

	if (v == NULL || arr == NULL) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(groups, name, t) v[i++] = t;
	qsort(v, n, sizeof(*v), newest_first);
	for (i = 0; i < n; i++) {
		keys = json_object_get(v[i], "keys");
		size_t nk = json_array_size(keys);
		json_t **kv = calloc(nk ? nk : 1, sizeof(*kv)), *sorted = json_array();

		if (kv == NULL || sorted == NULL) {
			free(kv);
			json_decref(sorted);
			json_decref(arr);
			free(v);
			return NULL;
		}
		for (j = 0; j < nk; j++)
			kv[j] = json_array_get(keys, j);
		qsort(kv, nk, sizeof(*kv), key_cmp);
		for (j = 0; j < nk; j++)
			json_array_append(sorted, kv[j]);
		free(kv);
		json_object_set_new(v[i], "keys", sorted);
		json_array_append(arr, v[i]);
	}
	free(v);
	return arr;
}

/* ---- search ------------------------------------------------------------- */

struct search {
	const char *text;
	json_t *groups;
};

static int
search_key(void *arg, const struct fl_key *k)
{
	struct search *s = arg;
	struct fl_name n;

	if (strstr(k->key, s->text) == NULL)
		return 0;
	if (fl_task_name_parse(k->key, &n) != 0)
		n.kind = 0;
	return group_add(s->groups, k, &n) != 0 ? SM_ENOMEM : 0;
}

int
fl_search(
    struct fl *fl, const char *text, time_t last_day, int days, json_t **out, struct sm_error *err)
{
	struct search s = { text, json_object() };
	uint64_t before = fl->io.requests;
	json_t *tasks = NULL;
	int rc;

	*out = NULL;
	if (s.groups == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	if ((rc = fl_list_days(fl, last_day, days, NULL, search_key, &s, err)) != 0) {
		if (rc == SM_ENOMEM)
			sm_error_set(err, rc, "out of memory");
		goto out;
	}
	if ((tasks = groups_sorted(s.groups)) == NULL ||
	    (*out = json_pack("{s:s, s:i, s:o, s:I}", "text", text, "days", days, "tasks", tasks,
	         "requests", (json_int_t)(fl->io.requests - before))) == NULL)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
out:
	json_decref(s.groups);
	return rc;
}

/* ---- failed --------------------------------------------------------------- */

struct failed {
	const char *server, *site;
	json_t *groups;
	json_t *flags; /* name -> bits: 1 log, 2 data, 4 record */
};

static int
failed_key(void *arg, const struct fl_key *k)
{
	struct failed *f = arg;
	struct fl_name n;
	json_t *bits;
	int bit;

	if (fl_task_name_parse(k->key, &n) != 0 || n.kind != ACT_NAME_TASK)
		return 0;
	if ((f->server && strcmp(n.server, f->server) != 0) ||
	    (f->site && strcmp(n.site, f->site) != 0))
		return 0;
	switch (n.key_kind) {
	case ACT_KEY_LOG:
		bit = 1;
		break;
	case ACT_KEY_JL:
		bit = 2;
		break;
	case ACT_KEY_RECORD:
		bit = 4;
		break;
	default:
		bit = 0;
		break;
	}
	if (group_add(f->groups, k, &n) != 0)
		return SM_ENOMEM;
	bits = json_object_get(f->flags, n.name);
	if (json_object_set_new(f->flags, n.name, json_integer(json_integer_value(bits) | bit)) !=
	    0)
		return SM_ENOMEM;
	return 0;
}

struct failed_rec {
	json_t **tasks;
	int bad; /* records that could not be read */
	struct sm_error *first;
};

static int
failed_got(void *arg, size_t i, int code, const char *data, size_t len)
{
	struct failed_rec *fr = arg;
	json_t *t = fr->tasks[i], *rec = NULL;
	char *json = NULL;
	size_t jlen = 0;
	struct sm_error e;
	int rc = code;

	if (rc == 0 && (rc = fl_unzip_one(data, len, FL_RECORD_MAX, &json, &jlen, &e)) == 0)
		rc = fl_record_parse(json, jlen, &rec, &e);
	free(json);
	if (rc != 0) {
		/* the task stays listed, with why its record could not be read */
		fr->bad++;
		json_object_set_new(
		    t, "record_error", json_string(code != 0 ? sm_strerror(code) : e.msg));
		return 0;
	}
	json_object_set(t, "reason", json_object_get(rec, "reason"));
	json_object_set(t, "state", json_object_get(rec, "state"));
	json_decref(rec);
	return 0;
}

int
fl_failed(struct fl *fl, time_t last_day, int days, const char *server, const char *site,
    json_t **out, struct sm_error *err)
{
	struct failed f = { server, site, json_object(), json_object() };
	uint64_t before = fl->io.requests;
	json_t *all = NULL, *tasks = json_array(), *t;
	const char **keys = NULL;
	struct failed_rec fr = { NULL, 0, NULL };
	size_t i, n, nrec = 0;
	int rc;

	*out = NULL;
	if (f.groups == NULL || f.flags == NULL || tasks == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fl_list_days(fl, last_day, days, NULL, failed_key, &f, err)) != 0) {
		if (rc == SM_ENOMEM)
			sm_error_set(err, rc, "out of memory");
		goto out;
	}
	if ((all = groups_sorted(f.groups)) == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	n = json_array_size(all);
	keys = calloc(n ? n : 1, sizeof(*keys));
	fr.tasks = calloc(n ? n : 1, sizeof(*fr.tasks));
	if (keys == NULL || fr.tasks == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *name;
		json_int_t bits;

		t = json_array_get(all, i);
		name = json_string_value(json_object_get(t, "name"));
		bits = json_integer_value(json_object_get(f.flags, name));
		if ((bits & 3) != 1)
			continue; /* no log, or data: not a failed task */
		json_object_set_new(t, "reason", json_null());
		json_object_set_new(t, "state", json_null());
		if (bits & 4) {
			char *rk = NULL;

			if (asprintf(&rk, "%s%s", name, act_key_suffix(ACT_KEY_RECORD)) < 0 ||
			    json_object_set_new(t, "record_key", json_string(rk)) != 0) {
				free(rk);
				rc = sm_error_set(err, SM_ENOMEM, "out of memory");
				goto out;
			}
			free(rk);
			keys[nrec] = json_string_value(json_object_get(t, "record_key"));
			fr.tasks[nrec++] = t;
		} else {
			json_object_set_new(t, "record_key", json_null());
		}
		json_object_del(t, "term");
		json_array_append(tasks, t);
	}
	if ((rc = fl_get_many(fl, keys, nrec, FL_RECORD_MAX, failed_got, &fr, err)) != 0)
		goto out;
	if ((*out = json_pack("{s:i, s:o, s:I, s:i}", "days", days, "tasks", tasks, "requests",
	         (json_int_t)(fl->io.requests - before), "unreadable_records", fr.bad)) == NULL)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
	tasks = NULL;
out:
	free(keys);
	free(fr.tasks);
	json_decref(all);
	json_decref(tasks);
	json_decref(f.groups);
	json_decref(f.flags);
	return rc;
}

/* ---- instances -------------------------------------------------------------- */

struct hb_keys {
	char **v;
	size_t n, a;
};

static int
hb_key(void *arg, const struct fl_key *k)
{
	struct hb_keys *h = arg;
	size_t len = strlen(k->key);

	if (len < 6 || strcmp(k->key + len - 5, ".json") != 0)
		return 0;
	if (h->n == h->a) {
		size_t na = h->a ? h->a * 2 : 16;
		char **nv = realloc(h->v, na * sizeof(*nv));

		if (nv == NULL)
			return SM_ENOMEM;
		h->v = nv;
		h->a = na;
	}
	if ((h->v[h->n] = strdup(k->key)) == NULL)
		return SM_ENOMEM;
	h->n++;
	return 0;
}

static int
hb_got(void *arg, size_t i, int code, const char *data, size_t len)
{
	json_t *arr = arg, *o, *v;
	const char *format;

	(void)i;
	if (code != 0)
		return 0; /* removed since the listing: that instance stopped */
	/* duplicate keys are refused, as `smctl stats` refuses them: which one
	 * would count is not said */
	if ((o = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	format = json_string_value(json_object_get(o, "format"));
	v = json_object_get(o, "version");
	if (format && strcmp(format, FL_HEARTBEAT_FORMAT) == 0 && json_is_integer(v) &&
	    json_integer_value(v) >= 1 && json_integer_value(v) <= FL_HEARTBEAT_VERSION &&
	    json_is_string(json_object_get(o, "instance")))
		json_array_append(arr, o);
	json_decref(o);
	return 0;
}

static int
by_instance(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "instance")),
	    json_string_value(json_object_get(*(json_t *const *)b, "instance")));
}

int
fl_heartbeats(struct fl *fl, json_t **arr, struct sm_error *err)
{
	struct hb_keys h = { NULL, 0, 0 };
	json_t *got = json_array(), *sorted = json_array();
	json_t **v = NULL;
	size_t i, n;
	int rc;

	*arr = NULL;
	if (got == NULL || sorted == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fl_list_prefix(fl, FL_HEARTBEAT_PREFIX, hb_key, &h, err)) != 0 ||
	    (rc = fl_get_many(
	         fl, (const char *const *)h.v, h.n, FL_HEARTBEAT_MAX, hb_got, got, err)) != 0)
		goto out;
	n = json_array_size(got);
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(got, i);
	qsort(v, n, sizeof(*v), by_instance);
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	*arr = sorted;
	sorted = NULL;
out:
	free(v);
	for (i = 0; i < h.n; i++)
		free(h.v[i]);
	free(h.v);
	json_decref(got);
	json_decref(sorted);
	return rc;
}

int
fl_heartbeat_alive(const json_t *hb, int64_t now_ms)
{
	json_int_t seen = json_integer_value(json_object_get(hb, "last_seen_ms"));
	json_int_t every = json_integer_value(json_object_get(hb, "interval_ms"));

	/* bounded before the arithmetic: no overflow whatever the object says */
	if (every <= 0 || every > FL_HEARTBEAT_INTERVAL_MAX || seen <= 0 || now_ms < 0 ||
	    seen - now_ms > FL_CLOCK_AHEAD_MAX)
		return 0;
	return now_ms - seen <= 3 * every;
}

int
fl_instances(struct fl *fl, int64_t now_ms, int all, json_t **out, struct sm_error *err)
{
	json_t *hbs = NULL, *list = json_array(), *hb;
	size_t i;
	int rc;

	*out = NULL;
	if (list == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	if ((rc = fl_heartbeats(fl, &hbs, err)) != 0) {
		json_decref(list);
		return rc;
	}
	json_array_foreach(hbs, i, hb)
	{
		int alive = fl_heartbeat_alive(hb, now_ms);

		json_object_set_new(hb, "alive", json_boolean(alive));
		if (alive || all)
			json_array_append(list, hb);
	}
	json_decref(hbs);
	if ((*out = json_pack("{s:I, s:o}", "now_ms", (json_int_t)now_ms, "instances", list)) ==
	    NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	return 0;
}

/* ---- the stop flag ------------------------------------------------------------ */

int
fl_stop_flag_get(struct fl *fl, json_t **out, struct sm_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = fl_get(fl, ACT_FLAG_KEY, 4096, &data, &len, err);

	*out = NULL;
	if (rc != 0 && rc != SM_ENOTFOUND)
		return rc;
	*out = json_pack("{s:s, s:b, s:b, s:s%}", "key", ACT_FLAG_KEY, "stop",
	    rc == 0 && act_flag_is_true(data, len), "exists", rc == 0, "value", data ? data : "",
	    len);
	if (rc != 0 && *out)
		json_object_set_new(*out, "value", json_null());
	free(data);
	if (*out == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	sm_error_clear(err);
	return 0;
}

int
fl_stop_flag_set(struct fl *fl, int on, struct sm_error *err)
{
	return fl_put(fl, ACT_FLAG_KEY, on ? "true" : "false", on ? 4 : 5, err);
}

/* ---- results --------------------------------------------------------------------- */

struct results {
	char idpart[32]; /* "--<id>____" */
	int64_t task_id;
	const char *server;
	json_t *groups;
};

static int
results_key(void *arg, const struct fl_key *k)
{
	struct results *r = arg;
	struct fl_name n;

	if (strstr(k->key, r->idpart) == NULL || fl_task_name_parse(k->key, &n) != 0 ||
	    n.kind != ACT_NAME_TASK || n.task_id != r->task_id ||
	    (r->server && strcmp(r->server, n.server) != 0))
		return 0;
	return group_add(r->groups, k, &n) != 0 ? SM_ENOMEM : 0;
}

/* The only member of `zip` into the file `path`, as it inflates, through a
 * temporary file and a rename; *len its size. */
static int
write_member(const char *path, const char *zip, size_t zlen, size_t *len, struct sm_error *err)
{
	char *tmp = NULL;
	int fd, rc;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	/* never through what is there already: a symlink planted at the name */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		rc = sm_error_set(
		    err, sm_error_from_errno(errno), "cannot write '%s': %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	rc = fl_unzip_one_fd(zip, zlen, FL_RESULT_MAX, fd, len, err);
	if (close(fd) != 0 && rc == 0)
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", path, strerror(errno));
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
fl_results(struct fl *fl, int64_t task_id, const char *server, time_t last_day, int days,
    const char *dir, json_t **out, struct sm_error *err)
{
	struct results r;
	json_t *tasks = NULL, *pick = NULL, *servers = json_array(), *others = json_array();
	json_t *files = json_array(), *t, *k;
	size_t i;
	int rc;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	snprintf(r.idpart, sizeof(r.idpart), "--%" PRId64 "____", task_id);
	r.task_id = task_id;
	r.server = server;
	if ((r.groups = json_object()) == NULL || servers == NULL || others == NULL ||
	    files == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fl_list_days(fl, last_day, days, NULL, results_key, &r, err)) != 0)
		goto out;
	if ((tasks = groups_sorted(r.groups)) == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if (json_array_size(tasks) == 0) {
		rc = sm_error_set(err, SM_ENOTFOUND,
		    "no task %" PRId64 "%s%s in the last %d days of bucket '%s': check the id, "
		    "or look further back with --days N",
		    task_id, server ? " of server " : "", server ? server : "", days, fl->bucket);
		goto out;
	}
	json_array_foreach(tasks, i, t)
	{
		json_t *s = json_object_get(t, "server_name");
		size_t j;
		json_t *have;
		int seen = 0;

		json_array_foreach(servers, j, have) seen |= json_equal(have, s);
		if (!seen)
			json_array_append(servers, s);
	}
	if (json_array_size(servers) > 1) {
		char list[512] = "";

		json_array_foreach(servers, i, t)
		{
			size_t l = strlen(list);

			snprintf(list + l, sizeof(list) - l, "%s'%s'", i ? ", " : "",
			    json_string_value(t));
		}
		rc = sm_error_set(err, SM_EEXISTS,
		    "task %" PRId64
		    " exists on several servers (%s): choose one with --server NAME",
		    task_id, list);
		goto out;
	}
	pick = json_array_get(tasks, 0); /* the newest run */
	for (i = 1; i < json_array_size(tasks); i++)
		json_array_append(others, json_object_get(json_array_get(tasks, i), "name"));
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		rc = sm_error_set(err, sm_error_from_errno(errno), "cannot make directory '%s': %s",
		    dir, strerror(errno));
		goto out;
	}
	json_array_foreach(json_object_get(pick, "keys"), i, k)
	{
		const char *key = json_string_value(json_object_get(k, "key"));
		struct fl_name n;
		char *zip = NULL, *path = NULL;
		size_t zlen = 0, dlen = 0, sl;

		if (fl_task_name_parse(key, &n) != 0)
			continue;
		sl = strlen(n.suffix) - 4; /* without ".zip" */
		if (asprintf(&path, "%s/%s%.*s", dir, act_name_base(n.name), (int)sl, n.suffix) <
		    0) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = fl_get(fl, key, FL_RESULT_MAX, &zip, &zlen, err)) == 0 &&
		    (rc = write_member(path, zip, zlen, &dlen, err)) != 0)
			sm_error_prefix(err, "'%s'", key);
		if (rc == 0)
			json_array_append_new(files,
			    json_pack("{s:s, s:s, s:I}", "key", key, "path", path, "size",
			        (json_int_t)dlen));
		free(zip);
		free(path);
		if (rc != 0)
			goto out;
	}
	if ((*out = json_pack("{s:I, s:O, s:O, s:s, s:O, s:O}", "task_id", (json_int_t)task_id,
	         "server_name", json_object_get(pick, "server_name"), "name",
	         json_object_get(pick, "name"), "dir", dir, "files", files, "other_names",
	         others)) == NULL)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
out:
	json_decref(tasks);
	json_decref(r.groups);
	json_decref(servers);
	json_decref(others);
	json_decref(files);
	return rc;
}
