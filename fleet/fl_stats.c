/*
 * fl_stats.c - the fleet's figures (fl_stats.h): an accumulator of task
 * records, heartbeats, start markers and queue depths, and its JSON.
 *
 * Every record is one run of a task.  A task is a (server_name, task_id)
 * pair (a record whose task_id is null, a message that could not be read,
 * is a task of its own; a null server_name is "(none)"): its runs are sorted together and the last one (by finished_ms, then
 * written_ms) decides whether the task finished or failed and whether it
 * was served from the cache; the runs before it are retries.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fl_private.h"
#include "fl_stats.h"
#include "rt_config.h"
#include "sm_text.h"
#include "sm_time.h"
#include "transport.h"

#define DAY_MS ((int64_t)86400 * 1000)
/* a key or reason quoted in a message is cut to this many bytes */
#define QUOTE_MAX 200

struct run {
	char *server;
	char *site; /* NULL: the record says null */
	int64_t task_id;
	int64_t received_ms, finished_ms, written_ms, duration_ms;
	int reported;
	int cache_hit, cache_lookup; /* looked up: hit, miss or error */
};

struct fl_stats {
	int64_t first_ms, end_ms; /* [first day 00:00, the day after the last) */
	int64_t last_day_ms;      /* 00:00 of the last day */
	int days;
	int64_t now_ms;
	struct run *runs;
	size_t nruns, cap;
	json_t *refused; /* [{key, error}] */
	json_t *started; /* {instance: true} */
	json_t *queues;  /* {name: depth|null} */
	json_t *qerrors; /* {name: why} */
	json_t *alive;   /* [instance] */
	size_t heartbeats, running;
	uint64_t requests;
};

int
fl_stats_new(struct fl_stats **out, time_t last_day, int days, int64_t now_ms)
{
	struct fl_stats *s;
	int64_t day;

	*out = NULL;
	if (days < 1 || days > FL_STATS_DAYS_MAX || last_day < 0)
		return SM_EINVAL;
	if (!(s = calloc(1, sizeof(*s))))
		return SM_ENOMEM;
	day = (int64_t)last_day / 86400;
	s->last_day_ms = day * DAY_MS;
	s->end_ms = s->last_day_ms + DAY_MS;
	s->first_ms = s->end_ms - (int64_t)days * DAY_MS;
	s->days = days;
	s->now_ms = now_ms;
	s->refused = json_array();
	s->started = json_object();
	s->queues = json_object();
	s->qerrors = json_object();
	s->alive = json_array();
	if (!s->refused || !s->started || !s->queues || !s->qerrors || !s->alive) {
		fl_stats_free(s);
		return SM_ENOMEM;
	}
	*out = s;
	return 0;
}

void
fl_stats_free(struct fl_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nruns; i++) {
		free(s->runs[i].server);
		free(s->runs[i].site);
	}
	free(s->runs);
	json_decref(s->refused);
	json_decref(s->started);
	json_decref(s->queues);
	json_decref(s->qerrors);
	json_decref(s->alive);
	free(s);
}

/* `s` as a JSON string (a key of the local backend may hold any bytes:
 * those that are not UTF-8 become U+FFFD). */
static json_t *
json_bytes(const char *s)
{
	size_t n = strlen(s);
	char *buf;
	json_t *j;

	if (sm_utf8_valid(s, n))
		return json_string(s);
	if (!(buf = malloc(n * 3 + 1)))
		return NULL;
	j = json_stringn(buf, sm_utf8_repair(buf, s, n));
	free(buf);
	return j;
}

int
fl_stats_refuse(struct fl_stats *s, const char *key, const char *why)
{
	json_t *r = json_object();

	if (!r || json_object_set_new(r, "key", json_bytes(key ? key : "")) != 0 ||
	    json_object_set_new(r, "error", json_bytes(why ? why : "")) != 0 ||
	    json_array_append_new(s->refused, r) != 0)
		return SM_ENOMEM;
	return 0;
}

/* ---- checking what the bucket gave ------------------------------------------- */

/*
 * The "format"/"version" rule of docs/fleet-formats.md: any version 1 of
 * `format` is read; another format, a higher version or no usable version is
 * refused (SM_EVERSION / SM_ECORRUPT, why in `err`).
 */
static int
check_format(const json_t *j, const char *format, const char *key, struct sm_error *err)
{
	const char *f = json_string_value(json_object_get(j, "format"));
	const json_t *v = json_object_get(j, "version");

	if (!json_is_object(j))
		return sm_error_set(err, SM_ECORRUPT, "%.*s: not a JSON object", QUOTE_MAX, key);
	if (!f || strcmp(f, format) != 0)
		return sm_error_set(err, SM_EVERSION,
		    "%.*s: not an %s (its \"format\" is %s%.40s%s)", QUOTE_MAX, key, format,
		    f ? "'" : "", f ? f : "missing", f ? "'" : "");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return sm_error_set(err, SM_ECORRUPT,
		    "%.*s: \"version\" is missing or not a positive integer", QUOTE_MAX, key);
	if (json_integer_value(v) > 1)
		return sm_error_set(err, SM_EVERSION,
		    "%.*s: %s version %lld, written by a newer smd: use a newer smctl", QUOTE_MAX,
		    key, format, (long long)json_integer_value(v));
	return 0;
}

/* Member `name` of `j` as an integer >= 0 into *v; SM_ECORRUPT naming it. */
static int
get_int(const json_t *j, const char *name, int64_t *v, const char *key, struct sm_error *err)
{
	const json_t *m = json_object_get(j, name);

	if (!json_is_integer(m) || json_integer_value(m) < 0)
		return sm_error_set(err, SM_ECORRUPT, "%.*s: \"%s\" is %s, not an integer >= 0",
		    QUOTE_MAX, key, name, m ? "of the wrong type" : "missing");
	*v = (int64_t)json_integer_value(m);
	return 0;
}

static int
get_str(const json_t *j, const char *name, int null_ok, const char **v, const char *key,
    struct sm_error *err)
{
	const json_t *m = json_object_get(j, name);

	if (json_is_string(m) || (null_ok && json_is_null(m))) {
		*v = json_string_value(m);
		return 0;
	}
	return sm_error_set(err, SM_ECORRUPT, "%.*s: \"%s\" is %s, not a string%s", QUOTE_MAX, key,
	    name, m ? "of the wrong type" : "missing", null_ok ? " or null" : "");
}

/* The refusal in `err` goes to the "refused" list too. */
static int
refused(struct fl_stats *s, const char *key, int rc, struct sm_error *err)
{
	const char *why = err && err->msg[0] ? err->msg : sm_strerror(rc);
	size_t kl = strlen(key);

	/* the message starts with the key: list the reason alone */
	if (strncmp(why, key, kl) == 0 && strncmp(why + kl, ": ", 2) == 0)
		why += kl + 2;
	else if (kl > QUOTE_MAX && strncmp(why, key, QUOTE_MAX) == 0 &&
	    strncmp(why + QUOTE_MAX, ": ", 2) == 0)
		why += QUOTE_MAX + 2;
	if (fl_stats_refuse(s, key, why) != 0)
		return SM_ENOMEM;
	return rc;
}

int
fl_stats_add_record(struct fl_stats *s, const char *key, const json_t *rec, struct sm_error *err)
{
	struct sm_error e2;
	struct run r;
	const char *server = NULL, *site = NULL, *state = NULL, *res = NULL;
	const json_t *cache;
	int rc;

	if (!err)
		err = &e2;
	sm_error_clear(err);
	if (!key)
		key = "(no key)";
	memset(&r, 0, sizeof(r));
	if ((rc = check_format(rec, "smd-task-record", key, err)) != 0 ||
	    (rc = get_str(rec, "server_name", 1, &server, key, err)) != 0 ||
	    (rc = get_str(rec, "site", 1, &site, key, err)) != 0 ||
	    (rc = get_str(rec, "state", 0, &state, key, err)) != 0 ||
	    (rc = get_int(rec, "received_ms", &r.received_ms, key, err)) != 0 ||
	    (rc = get_int(rec, "finished_ms", &r.finished_ms, key, err)) != 0 ||
	    (rc = get_int(rec, "duration_ms", &r.duration_ms, key, err)) != 0 ||
	    (rc = get_int(rec, "written_ms", &r.written_ms, key, err)) != 0)
		return refused(s, key, rc, err);
	/* a message whose task_id could not be read (it failed validation)
	 * is a task of its own: a negative id no other record has */
	if (json_is_null(json_object_get(rec, "task_id")))
		r.task_id = -(int64_t)s->nruns - 1;
	else if ((rc = get_int(rec, "task_id", &r.task_id, key, err)) != 0)
		return refused(s, key, rc, err);
	if (!server)
		server = "(none)";
	if (strcmp(state, "reported") != 0 && strcmp(state, "failed") != 0) {
		rc = sm_error_set(err, SM_ECORRUPT,
		    "%.*s: \"state\" is '%.40s', not 'reported' or 'failed'", QUOTE_MAX, key,
		    state);
		return refused(s, key, rc, err);
	}
	cache = json_object_get(rec, "cache");
	if (cache && !json_is_null(cache) &&
	    (!json_is_object(cache) || (rc = get_str(cache, "result", 0, &res, key, err)) != 0 ||
	        !json_is_boolean(json_object_get(cache, "hit")))) {
		if (!rc)
			rc = sm_error_set(err, SM_ECORRUPT,
			    "%.*s: \"cache\" is not an object with \"result\" and a boolean "
			    "\"hit\"",
			    QUOTE_MAX, key);
		return refused(s, key, rc, err);
	}
	r.reported = strcmp(state, "reported") == 0;
	r.cache_hit = res && json_is_true(json_object_get(cache, "hit"));
	r.cache_lookup = res &&
	    (strcmp(res, "hit") == 0 || strcmp(res, "miss") == 0 || strcmp(res, "error") == 0);
	if (s->nruns == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct run *v = realloc(s->runs, cap * sizeof(*v));

		if (!v)
			return sm_error_set(err, SM_ENOMEM, "out of memory");
		s->runs = v;
		s->cap = cap;
	}
	r.server = strdup(server);
	r.site = site ? strdup(site) : NULL;
	if (!r.server || (site && !r.site)) {
		free(r.server);
		free(r.site);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	s->runs[s->nruns++] = r;
	return 0;
}

int
fl_stats_add_heartbeat(struct fl_stats *s, const char *key, const json_t *hb, struct sm_error *err)
{
	struct sm_error e2;
	const char *inst = NULL;
	const json_t *tasks;
	int64_t last = 0, interval = 0;
	int rc;

	if (!err)
		err = &e2;
	sm_error_clear(err);
	if (!key)
		key = "(no key)";
	if ((rc = check_format(hb, "smd-heartbeat", key, err)) != 0 ||
	    (rc = get_str(hb, "instance", 0, &inst, key, err)) != 0 ||
	    (rc = get_int(hb, "last_seen_ms", &last, key, err)) != 0 ||
	    (rc = get_int(hb, "interval_ms", &interval, key, err)) != 0)
		return refused(s, key, rc, err);
	tasks = json_object_get(hb, "tasks");
	if (interval == 0 || interval > FL_HEARTBEAT_INTERVAL_MAX ||
	    (tasks && !json_is_array(tasks))) {
		rc = sm_error_set(err, SM_ECORRUPT,
		    "%.*s: \"interval_ms\" is not 1 ms to a day, or \"tasks\" is not an array",
		    QUOTE_MAX, key);
		return refused(s, key, rc, err);
	}
	s->heartbeats++;
	/* alive as `smctl instances` says (a clock ahead of ours counts too,
	 * up to FL_CLOCK_AHEAD_MAX) */
	if (fl_heartbeat_alive(hb, s->now_ms)) {
		if (json_array_append_new(s->alive, json_string(inst)) != 0)
			return sm_error_set(err, SM_ENOMEM, "out of memory");
		s->running += json_array_size(tasks);
	}
	return 0;
}

int
fl_stats_add_started(struct fl_stats *s, const char *key)
{
	const char *base = strrchr(key, '/');
	size_t n;
	char *inst;
	int rc;

	base = base ? base + 1 : key;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (n == 0)
		return 0;
	if (!(inst = strndup(base, n)))
		return SM_ENOMEM;
	if (!sm_utf8_valid(inst, n)) { /* not an instance id smd writes */
		free(inst);
		return fl_stats_refuse(s, key, "not a start marker: its name is not UTF-8");
	}
	rc = json_object_set_new(s->started, inst, json_true()) == 0 ? 0 : SM_ENOMEM;
	free(inst);
	return rc;
}

int
fl_stats_add_queue(struct fl_stats *s, const char *name, int64_t depth, const char *why)
{
	if (depth < 0) {
		if (json_object_set_new(s->queues, name, json_null()) != 0 ||
		    json_object_set_new(s->qerrors, name, json_string(why ? why : "unknown")) != 0)
			return SM_ENOMEM;
		return 0;
	}
	return json_object_set_new(s->queues, name, json_integer((json_int_t)depth)) == 0 ?
	    0 :
	    SM_ENOMEM;
}

void
fl_stats_set_requests(struct fl_stats *s, uint64_t requests)
{
	s->requests = requests;
}

/* ---- the figures ------------------------------------------------------------ */

static int
run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;
	int c = strcmp(x->server, y->server);

	if (c)
		return c;
	if (x->task_id != y->task_id)
		return x->task_id < y->task_id ? -1 : 1;
	if (x->finished_ms != y->finished_ms)
		return x->finished_ms < y->finished_ms ? -1 : 1;
	if (x->written_ms != y->written_ms)
		return x->written_ms < y->written_ms ? -1 : 1;
	return 0;
}

static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Add one task to the counters of `group` (per_site / per_server). */
static int
group_add(json_t *group, const char *name, const struct run *last, size_t runs)
{
	json_t *g = json_object_get(group, name);
	static const char *const names[] = { "received", "finished", "failed", "cache_hits",
		"retries" };
	int64_t add[5];

	if (!g) {
		g = json_pack("{s:i,s:i,s:i,s:i,s:i}", names[0], 0, names[1], 0, names[2], 0,
		    names[3], 0, names[4], 0);
		if (!g || json_object_set_new(group, name, g) != 0)
			return SM_ENOMEM;
	}
	add[0] = 1;
	add[1] = last->reported;
	add[2] = !last->reported;
	add[3] = last->reported && last->cache_hit;
	add[4] = (int64_t)runs - 1;
	for (size_t i = 0; i < 5; i++) {
		json_t *v = json_object_get(g, names[i]);

		json_integer_set(v, json_integer_value(v) + add[i]);
	}
	return 0;
}

/* The nearest-rank percentile p (0..100] of n sorted values. */
static int64_t
percentile(const int64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	return v[rank ? rank - 1 : 0];
}

static void
day_string(char *buf, size_t size, int64_t ms)
{
	char t[SM_TIME_FMT_SIZE];

	sm_time_format(t, sizeof(t), ms);
	snprintf(buf, size, "%.10s", t);
}

json_t *
fl_stats_json(const struct fl_stats *s)
{
	json_t *o = NULL, *site = json_object(), *server = json_object(), *hours = json_array();
	json_t *dur = NULL;
	struct run *runs = NULL;
	int64_t *durs = NULL;
	size_t tasks = 0, finished = 0, failed = 0, hits = 0, lookups = 0, i, j;
	int64_t per_hour[24] = { 0 };
	char d1[16], d0[16];

	if (!site || !server || !hours)
		goto fail;
	if (s->nruns) {
		runs = malloc(s->nruns * sizeof(*runs));
		durs = malloc(s->nruns * sizeof(*durs));
		if (!runs || !durs)
			goto fail;
		memcpy(runs, s->runs, s->nruns * sizeof(*runs));
		qsort(runs, s->nruns, sizeof(*runs), run_cmp);
	}
	for (i = 0; i < s->nruns; i = j) {
		const struct run *last;
		int64_t first_received = runs[i].received_ms;

		for (j = i + 1; j < s->nruns && runs[j].task_id == runs[i].task_id &&
		     strcmp(runs[j].server, runs[i].server) == 0;
		     j++)
			if (runs[j].received_ms < first_received)
				first_received = runs[j].received_ms;
		last = &runs[j - 1];
		tasks++;
		if (last->reported) {
			finished++;
			hits += last->cache_hit != 0;
		} else {
			failed++;
		}
		lookups += last->cache_lookup != 0;
		if (first_received >= s->last_day_ms && first_received < s->end_ms)
			per_hour[(first_received - s->last_day_ms) / (3600 * 1000)]++;
		if (group_add(site, last->site ? last->site : "(none)", last, j - i) != 0 ||
		    group_add(server, last->server, last, j - i) != 0)
			goto fail;
	}
	for (i = 0; i < s->nruns; i++)
		durs[i] = s->runs[i].duration_ms;
	if (s->nruns) {
		qsort(durs, s->nruns, sizeof(*durs), i64_cmp);
		dur = json_pack("{s:I,s:I,s:I,s:I,s:I}", "p50",
		    (json_int_t)percentile(durs, s->nruns, 50), "p90",
		    (json_int_t)percentile(durs, s->nruns, 90), "p99",
		    (json_int_t)percentile(durs, s->nruns, 99), "max",
		    (json_int_t)durs[s->nruns - 1], "runs", (json_int_t)s->nruns);
	} else {
		dur = json_pack("{s:n,s:n,s:n,s:n,s:i}", "p50", "p90", "p99", "max", "runs", 0);
	}
	for (i = 0; i < 24; i++)
		if (json_array_append_new(hours, json_integer((json_int_t)per_hour[i])) != 0)
			goto fail;
	day_string(d1, sizeof(d1), s->last_day_ms);
	day_string(d0, sizeof(d0), s->first_ms);
	o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "date", d1, "from", d0,
	    "days", s->days, "received", (json_int_t)tasks, "finished", (json_int_t)finished,
	    "failed", (json_int_t)failed, "cache_hits", (json_int_t)hits, "cache_lookups",
	    (json_int_t)lookups, "runs", (json_int_t)s->nruns, "retries",
	    (json_int_t)(s->nruns - tasks), "running", (json_int_t)s->running);
	if (!o || !dur ||
	    json_object_set_new(o, "hit_rate",
	        lookups ? json_real((double)hits / (double)lookups) : json_null()) != 0 ||
	    json_object_set_new(o, "per_site", site) != 0 ||
	    json_object_set_new(o, "per_server", server) != 0 ||
	    json_object_set_new(o, "per_hour", hours) != 0 ||
	    json_object_set_new(o, "duration_ms", dur) != 0) {
		site = server = hours = dur = NULL;
		goto fail;
	}
	site = server = hours = dur = NULL;
	if (json_object_set(o, "queues", s->queues) != 0 ||
	    json_object_set(o, "queue_errors", s->qerrors) != 0 ||
	    json_object_set_new(
	        o, "instances_alive", json_integer((json_int_t)json_array_size(s->alive))) != 0 ||
	    json_object_set(o, "alive", s->alive) != 0 ||
	    json_object_set_new(o, "heartbeats", json_integer((json_int_t)s->heartbeats)) != 0 ||
	    json_object_set_new(o, "instances_started",
	        json_integer((json_int_t)json_object_size(s->started))) != 0 ||
	    json_object_set_new(o, "now_ms", json_integer((json_int_t)s->now_ms)) != 0 ||
	    json_object_set_new(o, "requests", json_integer((json_int_t)s->requests)) != 0 ||
	    json_object_set(o, "refused", s->refused) != 0)
		goto fail;
	free(runs);
	free(durs);
	return o;
fail:
	free(runs);
	free(durs);
	json_decref(o);
	json_decref(site);
	json_decref(server);
	json_decref(hours);
	json_decref(dur);
	return NULL;
}

/* ---- reading the bucket -------------------------------------------------------- */

struct keys {
	char **v;
	size_t n, cap;
	const char *suffix; /* only keys ending so; NULL: all */
};

static int
keys_add(void *arg, const struct fl_key *k)
{
	struct keys *ks = arg;
	size_t n = strlen(k->key), sl = ks->suffix ? strlen(ks->suffix) : 0;

	if (sl && (n < sl || strcmp(k->key + n - sl, ks->suffix) != 0))
		return 0;
	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 256;
		char **v = realloc(ks->v, cap * sizeof(*v));

		if (!v)
			return SM_ENOMEM;
		ks->v = v;
		ks->cap = cap;
	}
	if (!(ks->v[ks->n] = strdup(k->key)))
		return SM_ENOMEM;
	ks->n++;
	return 0;
}

static void
keys_free(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i]);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

struct got {
	struct fl_stats *s;
	const struct keys *ks;
	int heartbeats; /* 1: heartbeat objects, 0: task records */
	int oom;
};

/* Why a fetch of a record or heartbeat failed, for the "refused" list. */
static const char *
fetch_why(int code, char *buf, size_t size, size_t max)
{
	if (code == SM_ETOOBIG)
		snprintf(buf, size, "over %zu bytes: not read", max);
	else if (code == SM_ENOTFOUND)
		snprintf(buf, size, "gone between the listing and the fetch");
	else
		snprintf(buf, size, "cannot fetch it: %s", sm_strerror(code));
	return buf;
}

static int
got_one(void *arg, size_t i, int code, const char *data, size_t len)
{
	struct got *g = arg;
	const char *key = g->ks->v[i];
	size_t max = g->heartbeats ? FL_HEARTBEAT_MAX : FL_RECORD_MAX;
	struct sm_error err;
	char *json = NULL, why[128];
	size_t jlen = 0;
	json_t *j = NULL;
	int rc;

	sm_error_clear(&err);
	if (code != 0) {
		rc = fl_stats_refuse(g->s, key, fetch_why(code, why, sizeof(why), max));
	} else if (g->heartbeats) {
		json_error_t je;

		if (!(j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)))
			rc = fl_stats_refuse(g->s, key, "not JSON");
		else
			rc = fl_stats_add_heartbeat(g->s, key, j, &err);
	} else if ((rc = fl_unzip_one(data, len, FL_RECORD_MAX, &json, &jlen, &err)) != 0 ||
	    (rc = fl_record_parse(json, jlen, &j, &err)) != 0) {
		rc = fl_stats_refuse(g->s, key, err.msg[0] ? err.msg : sm_strerror(rc));
	} else {
		rc = fl_stats_add_record(g->s, key, j, &err);
	}
	free(json);
	json_decref(j);
	if (rc == SM_ENOMEM) {
		g->oom = 1;
		return rc;
	}
	return 0; /* a refused record does not stop the others */
}

/* Fetch every key of `ks` in parallel and count each. */
static int
fetch_all(
    struct fl *fl, struct fl_stats *s, const struct keys *ks, int heartbeats, struct sm_error *err)
{
	struct got g = { s, ks, heartbeats, 0 };
	int rc;

	if (ks->n == 0)
		return 0;
	rc = fl_get_many(fl, (const char *const *)ks->v, ks->n,
	    heartbeats ? FL_HEARTBEAT_MAX : FL_RECORD_MAX, got_one, &g, err);
	if (g.oom)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	return rc;
}

struct qwait {
	int done, code;
	char *url;
	int64_t depth;
	char why[SM_ERROR_MSG_MAX];
};

static void
q_url(void *arg, const struct tp_result *r, const char *url)
{
	struct qwait *q = arg;

	q->done = 1;
	q->code = r->code;
	if (r->code == 0 && !(q->url = strdup(url)))
		q->code = SM_ENOMEM;
	else if (r->code != 0)
		snprintf(
		    q->why, sizeof(q->why), "%s", r->message ? r->message : sm_strerror(r->code));
}

static void
q_attrs(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	struct qwait *q = arg;

	q->done = 1;
	q->code = r->code;
	if (r->code != 0) {
		snprintf(
		    q->why, sizeof(q->why), "%s", r->message ? r->message : sm_strerror(r->code));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *end;
		long long v;

		if (strcmp(a[i].name, "ApproximateNumberOfMessages") != 0 || !a[i].value)
			continue;
		v = strtoll(a[i].value, &end, 10);
		if (end != a[i].value && *end == '\0' && v >= 0)
			q->depth = v;
	}
}

/* Run one queue operation to its end within the handle's time limit. */
static int
q_wait(struct fl *fl, struct qwait *q, int started)
{
	int rc;

	if (started != 0) {
		snprintf(q->why, sizeof(q->why), "cannot ask: %s", sm_strerror(started));
		return started;
	}
	fl->io.requests++;
	rc = tp_wait(fl->tp, &q->done, fl->timeout_ms);
	if (rc != 0) {
		snprintf(
		    q->why, sizeof(q->why), "no answer within %lld ms", (long long)fl->timeout_ms);
		return rc;
	}
	return q->code;
}

/* The depth of queue `name` (ApproximateNumberOfMessages); never fails the
 * whole: a queue that cannot be read is listed with why. */
static int
queue_depth(struct fl *fl, struct fl_stats *s, const char *name)
{
	static const char *const names[] = { "ApproximateNumberOfMessages" };
	struct qwait q;
	tp_op_id op = 0;
	int rc;

	memset(&q, 0, sizeof(q));
	q.depth = -1;
	rc = q_wait(fl, &q, tp_queue_get_url(fl->tp, name, q_url, &q, &op));
	if (rc == SM_ETIMEOUT)
		tp_cancel(fl->tp, op);
	if (rc == 0) {
		memset(&q.done, 0, sizeof(q.done));
		rc = q_wait(fl, &q, tp_queue_attributes(fl->tp, q.url, names, 1, q_attrs, &q, &op));
		if (rc == SM_ETIMEOUT)
			tp_cancel(fl->tp, op);
	}
	free(q.url);
	if (rc == 0 && q.depth < 0)
		snprintf(q.why, sizeof(q.why), "the answer has no ApproximateNumberOfMessages");
	return fl_stats_add_queue(s, name, rc == 0 ? q.depth : -1, q.why);
}

int
fl_stats_collect(struct fl *fl, struct fl_stats *s, const struct rt_config *cfg, FILE *progress,
    struct sm_error *err)
{
	struct keys ks;
	int rc;

	memset(&ks, 0, sizeof(ks));
	ks.suffix = FL_STATS_RECORD_SUFFIX;
	/* the task records of those days */
	if ((rc = fl_list_days(
	         fl, (time_t)(s->last_day_ms / 1000), s->days, NULL, keys_add, &ks, err)) != 0)
		goto out;
	if (progress)
		fprintf(progress, "reading %zu task record(s)...\n", ks.n);
	if ((rc = fetch_all(fl, s, &ks, 0, err)) != 0)
		goto out;
	keys_free(&ks);
	/* the heartbeats: alive now */
	ks.suffix = ".json";
	if ((rc = fl_list_prefix(fl, FL_HEARTBEAT_PREFIX, keys_add, &ks, err)) != 0 ||
	    (rc = fetch_all(fl, s, &ks, 1, err)) != 0)
		goto out;
	keys_free(&ks);
	/* the start markers of those days: their names are enough */
	for (int64_t day = s->first_ms; day < s->end_ms; day += DAY_MS) {
		char t[SM_TIME_FMT_SIZE], prefix[64];

		sm_time_format(t, sizeof(t), day);
		snprintf(prefix, sizeof(prefix), "%s%.4s/%.2s/%.2s/", FL_STATS_STARTED_PREFIX, t,
		    t + 5, t + 8);
		ks.suffix = ".json";
		if ((rc = fl_list_prefix(fl, prefix, keys_add, &ks, err)) != 0)
			goto out;
	}
	for (size_t i = 0; i < ks.n; i++)
		if ((rc = fl_stats_add_started(s, ks.v[i])) != 0)
			goto out;
	/* the queues' depths now */
	for (size_t i = 0; cfg && i < cfg->nqueues; i++)
		if ((rc = queue_depth(fl, s, cfg->queues[i])) != 0)
			goto out;
	fl_stats_set_requests(s, fl_counters(fl).requests);
out:
	if (rc == SM_ENOMEM && err && !err->msg[0])
		sm_error_set(err, SM_ENOMEM, "out of memory");
	keys_free(&ks);
	return rc;
}

/* ---- the text view ------------------------------------------------------------- */

static long long
num(const json_t *o, const char *name)
{
	return (long long)json_integer_value(json_object_get(o, name));
}

static void
print_group(const char *title, const json_t *group, FILE *out)
{
	const char *name;
	json_t *g;

	if (!json_object_size(group))
		return;
	fprintf(out, "\n%-24s %9s %9s %9s %9s %9s\n", title, "received", "finished", "failed",
	    "cached", "retries");
	json_object_foreach((json_t *)group, name, g)
	    fprintf(out, "  %-22.22s %9lld %9lld %9lld %9lld %9lld\n", name, num(g, "received"),
	        num(g, "finished"), num(g, "failed"), num(g, "cache_hits"), num(g, "retries"));
}

void
fl_stats_print(const json_t *st, FILE *out)
{
	const json_t *d = json_object_get(st, "duration_ms"), *hr = json_object_get(st, "hit_rate");
	const json_t *v, *hours = json_object_get(st, "per_hour");
	const char *name;
	size_t i;

	if (num(st, "days") > 1)
		fprintf(out, "tasks of %s to %s (UTC), %lld days\n",
		    json_string_value(json_object_get(st, "from")),
		    json_string_value(json_object_get(st, "date")), num(st, "days"));
	else
		fprintf(out, "tasks of %s (UTC)\n", json_string_value(json_object_get(st, "date")));
	fprintf(out, "  %-20s %lld\n  %-20s %lld\n  %-20s %lld\n", "received", num(st, "received"),
	    "finished", num(st, "finished"), "failed", num(st, "failed"));
	fprintf(out, "  %-20s %lld of %lld looked up", "served from cache", num(st, "cache_hits"),
	    num(st, "cache_lookups"));
	if (json_is_number(hr))
		fprintf(out, " (hit rate %.1f%%)\n", 100.0 * json_number_value(hr));
	else
		fputs(" (no hit rate: no lookup)\n", out);
	fprintf(out, "  %-20s %lld (%lld runs)\n", "retries", num(st, "retries"), num(st, "runs"));
	if (num(d, "runs"))
		fprintf(out, "  %-20s p50 %lld  p90 %lld  p99 %lld  max %lld (ms, %lld runs)\n",
		    "duration", num(d, "p50"), num(d, "p90"), num(d, "p99"), num(d, "max"),
		    num(d, "runs"));
	fprintf(out, "  %-20s %lld alive now (%lld heartbeats), %lld started, %lld tasks running\n",
	    "instances", num(st, "instances_alive"), num(st, "heartbeats"),
	    num(st, "instances_started"), num(st, "running"));
	json_object_foreach((json_t *)json_object_get(st, "queues"), name, v)
	{
		if (json_is_integer(v))
			fprintf(out, "  queue %-14s %lld messages\n", name,
			    (long long)json_integer_value(v));
		else
			fprintf(out, "  queue %-14s ? (%s)\n", name,
			    json_string_value(json_object_get(json_object_get(st, "queue_errors"), name)) ?:
			        "?");
	}
	print_group("per site", json_object_get(st, "per_site"), out);
	print_group("per server", json_object_get(st, "per_server"), out);
	fprintf(out, "\nreceived per hour of %s (UTC)\n",
	    json_string_value(json_object_get(st, "date")));
	for (i = 0; i < json_array_size(hours); i++)
		fprintf(out, "  %02zu:00 %6lld%s", i,
		    (long long)json_integer_value(json_array_get(hours, i)),
		    i % 6 == 5 ? "\n" : "");
	if (json_array_size(json_object_get(st, "refused")))
		fprintf(out, "\n%zu record(s) refused, not counted (listed on stderr)\n",
		    json_array_size(json_object_get(st, "refused")));
}
