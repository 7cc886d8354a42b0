/*
 * bench_stats.c - `smctl stats` over N task records (default 10,000) of one
 * day: fl_stats_collect (parallel listing and fetches, fleet/fl_stats.c)
 * against a baseline in the same run: a plain sequential listing of the
 * day's folder and a sequential fetch of each record, counted by the same
 * accumulator.  Requests made and wall time of each; both must agree.
 *
 *   bench_stats [-n N] local        a bucket under a new temporary state dir
 *   bench_stats [-n N] aws          the bucket "bench-stats" at AWS_ENDPOINT_URL
 *                                   (run through test/support/with_moto.sh)
 *
 * Records are version-1 task records (docs/fleet-formats.md) of 2 servers,
 * 3 sites, every 10th a cache hit, every 7th failed, every 50th task id
 * run twice.  Figures: docs/bench-fleet.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_bucket.h"
#include "bench_util.h"
#include "bench_zip.h"

#include "fl_private.h"
#include "fl_stats.h"
#include "fleet.h"
#include "sm_loop.h"
#include "sm_time.h"

#define DAY_S 86400

static void
die(const char *what, const struct sm_error *err)
{
	bench_bucket_die("bench_stats", what, err);
}

static void
fill(struct bench_bucket *b, time_t day, int n)
{
	char d[SM_TIME_FMT_SIZE], name[256], key[300];
	static const char *const sites[] = { "walmart", "amazon", "target" };
	int64_t base = (int64_t)(day - day % DAY_S) * 1000;

	sm_time_format(d, sizeof(d), base);
	for (int i = 0; i < n; i++) {
		int task = i % 50 == 49 ? i - 1 : i; /* every 50th: a second run */
		const char *server = task % 2 ? "s1" : "s2", *site = sites[task % 3];
		int64_t rec_ms = base + (int64_t)i * 8000, dur = 100 + i % 997;
		json_t *r;
		char *js, *z = NULL;
		size_t zl = 0;

		snprintf(name, sizeof(name),
		    "%.2s-%.2s-%.4s____i-0%016d-20260101____%s--%d____term____%s", d + 8, d + 5, d,
		    i % 4, server, 100000 + task, site);
		snprintf(
		    key, sizeof(key), "%.4s/%.2s/%.2s/%s.state.json.zip", d, d + 5, d + 8, name);
		r = json_pack(
		    "{s:s,s:i,s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:{s:s,s:b,s:n,s:s},"
		    "s:{s:s},s:i,s:s,s:{s:s,s:s}}",
		    "format", "smd-task-record", "version", 1, "written_ms",
		    (json_int_t)(rec_ms + dur), "smd_instance", "i-0000000000000000-20260101",
		    "smd_version", "0.1.0", "name", name, "task_id", (json_int_t)(100000 + task),
		    "server_name", server, "site", site, "state",
		    i % 7 == 3 ? "failed" : "reported", "received_ms", (json_int_t)rec_ms,
		    "finished_ms", (json_int_t)(rec_ms + dur), "duration_ms", (json_int_t)dur,
		    "cache", "result", i % 10 == 0 ? "hit" : "miss", "hit", i % 10 == 0, "source",
		    "key", "abababab", "keys", "logs", key, "receive_count", 1, "queue", "q", "run",
		    "state", "reported", "message", "{\"task_id\": 1}");
		js = r ? json_dumps(r, JSON_COMPACT) : NULL;
		json_decref(r);
		strcat(name, ".state.json");
		if (!js || !(z = zip_mem(name, js, strlen(js), &zl)))
			die("cannot build a record", NULL);
		free(js);
		bench_put(b, key, z, zl);
		free(z);
	}
	bench_put_drain(b);
}

/* ---- the baseline: one request at a time -------------------------------------- */

struct seq {
	char **keys;
	size_t n, cap;
};

static int
seq_key(void *arg, const struct fl_key *k)
{
	struct seq *s = arg;
	size_t l = strlen(k->key), sl = strlen(FL_STATS_RECORD_SUFFIX);

	if (l < sl || strcmp(k->key + l - sl, FL_STATS_RECORD_SUFFIX) != 0)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		if (!(s->keys = realloc(s->keys, s->cap * sizeof(*s->keys))))
			return SM_ENOMEM;
	}
	s->keys[s->n++] = strdup(k->key);
	return 0;
}

static json_t *
baseline(struct fl *fl, time_t day)
{
	struct fl_stats *st;
	struct seq s = { NULL, 0, 0 };
	struct sm_error err;
	char d[SM_TIME_FMT_SIZE], prefix[16];
	json_t *out;

	sm_time_format(d, sizeof(d), (int64_t)day * 1000);
	snprintf(prefix, sizeof(prefix), "%.4s/%.2s/%.2s/", d, d + 5, d + 8);
	sm_error_clear(&err);
	if (fl_stats_new(&st, day, 1, sm_time_wall_ms()) != 0 ||
	    fl_list_prefix(fl, prefix, seq_key, &s, &err) != 0)
		die("baseline listing", &err);
	for (size_t i = 0; i < s.n; i++) {
		char *zip = NULL, *js = NULL;
		size_t zl = 0, jl = 0;
		json_t *rec = NULL;

		if (fl_get(fl, s.keys[i], FL_RECORD_MAX, &zip, &zl, &err) != 0 ||
		    fl_unzip_one(zip, zl, FL_RECORD_MAX, &js, &jl, &err) != 0 ||
		    fl_record_parse(js, jl, &rec, &err) != 0)
			fl_stats_refuse(st, s.keys[i], err.msg);
		else
			fl_stats_add_record(st, s.keys[i], rec, NULL);
		json_decref(rec);
		free(zip);
		free(js);
		free(s.keys[i]);
	}
	free(s.keys);
	fl_stats_set_requests(st, fl_counters(fl).requests);
	out = fl_stats_json(st);
	fl_stats_free(st);
	return out;
}

int
main(int argc, char **argv)
{
	struct bench_bucket bk;
	struct sm_error err;
	struct fl *fl;
	struct fl_stats *st;
	const char *mode;
	int n = 10000, c, rc;
	time_t day = time(NULL) - 3 * DAY_S; /* a day of its own */
	json_t *a, *b;
	double t0, t1, t2;
	uint64_t ra, rb;

	while ((c = getopt(argc, argv, "n:")) != -1)
		if (c == 'n')
			n = atoi(optarg);
	mode = optind < argc ? argv[optind] : "local";
	if ((rc = bench_bucket_open(&bk, "bench_stats", "bench-stats", mode)) != 0)
		return rc;
	fl = bk.fl;
	fprintf(stderr, "bench_stats: putting %d records (%s)...\n", n, mode);
	t0 = bench_now();
	fill(&bk, day, n);
	fprintf(stderr, "bench_stats: %ld puts in %.1f s, %d in flight\n", bk.puts,
	    bench_now() - t0, bk.window);
	/* fl_stats_collect: parallel */
	sm_error_clear(&err);
	fl_counters_reset(fl);
	t0 = bench_now();
	if (fl_stats_new(&st, day, 1, sm_time_wall_ms()) != 0 ||
	    fl_stats_collect(fl, st, NULL, NULL, &err) != 0)
		die("stats", &err);
	t1 = bench_now();
	ra = fl_counters(fl).requests;
	a = fl_stats_json(st);
	fl_stats_free(st);
	/* the baseline: sequential */
	fl_counters_reset(fl);
	t2 = bench_now();
	b = baseline(fl, day);
	rb = fl_counters(fl).requests;
	t0 = t1 - t0;
	t2 = bench_now() - t2;
	if (!a || !b ||
	    json_integer_value(json_object_get(a, "received")) !=
	        json_integer_value(json_object_get(b, "received")) ||
	    json_integer_value(json_object_get(a, "runs")) != n) {
		fprintf(
		    stderr, "bench_stats: the two counts differ, or not all %d runs counted\n", n);
		return 1;
	}
	printf("%s: %d records, %lld tasks (%lld retries, %lld failed, %lld cached)\n", mode, n,
	    (long long)json_integer_value(json_object_get(a, "received")),
	    (long long)json_integer_value(json_object_get(a, "retries")),
	    (long long)json_integer_value(json_object_get(a, "failed")),
	    (long long)json_integer_value(json_object_get(a, "cache_hits")));
	printf("%s: stats    %8llu requests %8.2f s (%.0f records/s)\n", mode,
	    (unsigned long long)ra, t0, n / t0);
	printf("%s: baseline %8llu requests %8.2f s (%.0f records/s)\n", mode,
	    (unsigned long long)rb, t2, n / t2);
	printf("%s: stats/baseline time %.2f\n", mode, t0 / t2);
	json_decref(a);
	json_decref(b);
	bench_bucket_close(&bk);
	return 0;
}
