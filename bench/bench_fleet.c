/*
 * bench_fleet.c - `smctl search` and `smctl failed` over a bucket of N keys
 * (default 100,000) in 30 day folders: fl_search / fl_failed (the 30 day
 * folders listed in parallel, the failed tasks' records fetched 16 at a
 * time) against a baseline in the same run: a plain sequential listing of
 * the whole bucket (ListObjectsV2 pages of 1000 keys one after another)
 * filtered the same way, the records fetched one after the other.
 * Requests made and wall time (median of interleaved rounds); the answers
 * must be the same, or it exits 1.
 *
 *   bench_fleet [-n N] [-r ROUNDS] local   files written straight under a new
 *                                          state dir's objects/ (the local
 *                                          backend's layout, docs/local-backend.md)
 *   bench_fleet [-n N] [-r ROUNDS] [-p P] aws
 *                                          the bucket "bench-fleet" at
 *                                          AWS_ENDPOINT_URL, P PutObject
 *                                          requests in flight (default 32; 1:
 *                                          one after the other) (run through
 *                                          test/support/with_moto.sh)
 *
 * The bucket: N keys in the 30 days ending today, about N / 30 a day: tasks'
 * outputs (.jl.zip .csv.zip .log.zip .progress.zip .state.json.zip), every
 * 10th task failed (log and record, no data), every 37th a log alone, two
 * daemon logs a day; N / 3 more keys in 10 older days, N / 20 under cache/
 * and 20 heartbeats under smd/instances/.  Figures: docs/bench-fleet.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "act_names.h"
#include "bench_bucket.h"
#include "bench_util.h"
#include "bench_zip.h"
#include "fl_private.h"
#include "fleet.h"
#include "sm_digest.h"
#include "sm_text.h"
#include "sm_time.h"

#define DAY_S 86400
#define DAYS 30
#define OLDER_DAYS 10
#define BUCKET "bench-fleet"
#define SEARCH_TERM "usb cable"

static const char *const terms[] = { "usb cable", "laptop stand", "coffee maker", "desk lamp",
	"garden hose", "running shoes", "water bottle", "phone case" };
static const char *const sites[] = { "walmart", "amazon", "target" };

static void
die(const char *what, const struct sm_error *err)
{
	bench_bucket_die("bench_fleet", what, err);
}

/* ---- filling the bucket ------------------------------------------------------ */

struct filler {
	struct bench_bucket *b;
	const char *objdir; /* local: <state>/objects/<bucket>, else NULL */
	long keys;
};

/* mkdir -p of the directories of `path` (the part before its last '/'). */
static void
mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				die(path, NULL);
			*p = '/';
		}
}

static void
put(struct filler *f, const char *key, const char *data, size_t len)
{
	f->keys++;
	if (f->objdir) {
		/* the local backend's layout: the file at objects/<bucket>/<key>, its
		 * MD5 in the ETag xattr as a put leaves it (no fsync: a benchmark) */
		unsigned char md[SM_DIGEST_MD5];
		char path[1400], etag[33];
		struct sm_digest d;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", f->objdir, key);
		mkdirs(path);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    write(fd, data, len) != (ssize_t)len)
			die(path, NULL);
		sm_digest_init(&d, SM_DIGEST_MD5);
		sm_digest_update(&d, data, len);
		sm_digest_final(&d, md);
		sm_hex_encode(md, sizeof(md), etag);
		(void)fsetxattr(fd, "user.smd.etag", etag, 32, 0);
		close(fd);
		return;
	}
	bench_put(f->b, key, data, len);
}

/* A failed task's record, zipped. */
static char *
failed_record(const char *name, int64_t ms, size_t *zl)
{
	char member[ACT_NAME_SIZE + 16], *js, *z = NULL;
	json_t *r = json_pack("{s:s,s:i,s:s,s:s,s:I,s:I,s:s}", "format", FL_RECORD_FORMAT,
	    "version", 1, "name", name, "state", "failed", "received_ms", (json_int_t)ms,
	    "finished_ms", (json_int_t)ms + 5000, "reason", "spider exited with status 1");

	js = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	snprintf(member, sizeof(member), "%s%s", act_name_base(name), ACT_RECORD_MEMBER_SUFFIX);
	if (!js || !(z = zip_mem(member, js, strlen(js), zl)))
		die("cannot build a record", NULL);
	free(js);
	return z;
}

/* One day folder of about `n` keys; task ids from *next_id. */
static void
fill_day(struct filler *f, time_t day, long n, long *next_id)
{
	static const char inst[2][ACT_INSTANCE_LEN + 1] = { "ibenchfleetaaaaaaaaaaaaaaaaa",
		"ibenchfleetbbbbbbbbbbbbbbbbb" };
	char name[ACT_NAME_SIZE], key[ACT_KEY_SIZE];
	struct sm_error err;
	long start = f->keys;

	day -= day % DAY_S; /* the day's first second: every key stays in its folder */

	for (int i = 0; i < 2; i++) {
		if (act_daemon_log_key(inst[i], day + 60 * i, key, &err) != 0)
			die("daemon log key", &err);
		put(f, key, "log", 3);
	}
	while (f->keys - start < n) {
		long id = (*next_id)++;
		struct act_task t = { 0 };
		time_t rec = day + (time_t)(id % 86000);

		t.task_id = id;
		t.server_name = (char *)(id % 2 ? "s1" : "s2");
		t.site = (char *)sites[id % 3];
		t.mode = ACT_MODE_SEARCH;
		t.term = (char *)terms[(id / 3) % 8];
		if (act_name_build(&t, inst[id % 2], rec, name, &err) != 0)
			die("name", &err);
		for (int k = 0; k < ACT_KEY_KINDS; k++) {
			if (id % 37 == 0 && k != ACT_KEY_LOG)
				continue; /* a log alone: failed without a record */
			if (id % 10 == 0 && k != ACT_KEY_LOG && k != ACT_KEY_RECORD)
				continue; /* failed: log and record, no data */
			if (act_key_build(name, (enum act_key_kind)k, key, sizeof(key)) != 0)
				die("key", NULL);
			if (k == ACT_KEY_RECORD && id % 10 == 0) {
				size_t zl = 0;
				char *z = failed_record(name, (int64_t)rec * 1000, &zl);

				put(f, key, z, zl);
				free(z);
			} else {
				put(f, key, "PK\5\6 bench output", 18);
			}
		}
	}
}

static void
fill(struct filler *f, time_t last_day, long n, long *in_days)
{
	char key[128];
	long id = 1000000;

	for (int i = 0; i < DAYS; i++)
		fill_day(f, last_day - (time_t)i * DAY_S, n / DAYS, &id);
	*in_days = f->keys;
	for (int i = DAYS; i < DAYS + OLDER_DAYS; i++)
		fill_day(f, last_day - (time_t)i * DAY_S, n / 3 / OLDER_DAYS, &id);
	for (long i = 0; i < n / 20; i++) {
		snprintf(key, sizeof(key), "cache/%064lx.jl.zip", (unsigned long)i * 2654435761u);
		put(f, key, "cached", 6);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "%si%027d.json", FL_HEARTBEAT_PREFIX, i);
		put(f, key, "{}", 2);
	}
	bench_put_drain(f->b);
}

/* ---- answers as sorted lines, for the comparison -------------------------------- */

struct lines {
	char **v;
	size_t n, cap;
};

static void
lines_add(struct lines *l, const char *a, const char *b)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if (!(l->v = realloc(l->v, l->cap * sizeof(*l->v))))
			die("out of memory", NULL);
	}
	if (asprintf(&l->v[l->n++], "%s\t%s", a, b ? b : "-") < 0)
		die("out of memory", NULL);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* 1 if both hold the same lines (sorted here). */
static int
lines_same(struct lines *a, struct lines *b)
{
	qsort(a->v, a->n, sizeof(*a->v), str_cmp);
	qsort(b->v, b->n, sizeof(*b->v), str_cmp);
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* search: "name<TAB>key" per key; failed: "name<TAB>reason" per task. */
static void
answer_lines(const json_t *out, int failed, struct lines *l)
{
	size_t i, j;
	json_t *t, *k;

	json_array_foreach(json_object_get(out, "tasks"), i, t)
	{
		const char *name = json_string_value(json_object_get(t, "name"));

		if (failed) {
			lines_add(l, name, json_string_value(json_object_get(t, "reason")));
			continue;
		}
		json_array_foreach(json_object_get(t, "keys"), j, k)
		    lines_add(l, name, json_string_value(json_object_get(k, "key")));
	}
}

/* ---- the baseline: the whole bucket, one request at a time ----------------------- */

struct base {
	char prefixes[DAYS][12]; /* "YYYY/MM/DD/" of the 30 days */
	const char *text;        /* search: the text; failed: NULL */
	struct lines *out;
	json_t *flags; /* failed: name -> bits 1 log, 2 data, 4 record */
};

static int
in_days(const struct base *b, const char *key)
{
	for (int i = 0; i < DAYS; i++)
		if (strncmp(key, b->prefixes[i], 11) == 0)
			return 1;
	return 0;
}

static int
base_key(void *arg, const struct fl_key *k)
{
	struct base *b = arg;
	struct fl_name n;
	int bit;

	if (!in_days(b, k->key))
		return 0;
	if (b->text) {
		if (strstr(k->key, b->text))
			lines_add(
			    b->out, fl_task_name_parse(k->key, &n) == 0 ? n.name : k->key, k->key);
		return 0;
	}
	if (fl_task_name_parse(k->key, &n) != 0 || n.kind != ACT_NAME_TASK)
		return 0;
	bit = n.key_kind == ACT_KEY_LOG  ? 1 :
	    n.key_kind == ACT_KEY_JL     ? 2 :
	    n.key_kind == ACT_KEY_RECORD ? 4 :
	                                   0;
	json_object_set_new(b->flags, n.name,
	    json_integer(json_integer_value(json_object_get(b->flags, n.name)) | bit));
	return 0;
}

static void
baseline(struct fl *fl, time_t last_day, const char *text, struct lines *out)
{
	struct base b = { .text = text, .out = out, .flags = json_object() };
	struct sm_error err;
	const char *name;
	json_t *bits;

	for (int i = 0; i < DAYS; i++) {
		char d[SM_TIME_FMT_SIZE];

		sm_time_format(d, sizeof(d), (int64_t)(last_day - (time_t)i * DAY_S) * 1000);
		snprintf(b.prefixes[i], sizeof(b.prefixes[i]), "%.4s/%.2s/%.2s/", d, d + 5, d + 8);
	}
	sm_error_clear(&err);
	if (fl_list_prefix(fl, "", base_key, &b, &err) != 0)
		die("baseline listing", &err);
	json_object_foreach(b.flags, name, bits)
	{
		char rk[ACT_KEY_SIZE], *zip = NULL, *js = NULL;
		size_t zl = 0, jl = 0;
		json_t *rec = NULL;

		if ((json_integer_value(bits) & 3) != 1)
			continue;
		if (!(json_integer_value(bits) & 4)) {
			lines_add(out, name, NULL);
			continue;
		}
		snprintf(rk, sizeof(rk), "%s%s", name, act_key_suffix(ACT_KEY_RECORD));
		if (fl_get(fl, rk, FL_RECORD_MAX, &zip, &zl, &err) != 0 ||
		    fl_unzip_one(zip, zl, FL_RECORD_MAX, &js, &jl, &err) != 0 ||
		    fl_record_parse(js, jl, &rec, &err) != 0)
			die("baseline record", &err);
		lines_add(out, name, json_string_value(json_object_get(rec, "reason")));
		json_decref(rec);
		free(zip);
		free(js);
	}
	json_decref(b.flags);
}

/* ---- the rounds ------------------------------------------------------------------- */

enum { Q_ID, Q_TERM, Q_FAILED, QUERIES };
static const char *const qname[QUERIES] = { "search <task id>", "search '" SEARCH_TERM "'",
	"failed" };

struct figures {
	double t_fl[QUERIES][16], t_base[QUERIES][16];
	uint64_t r_fl[QUERIES], r_base[QUERIES];
	size_t answer[QUERIES];
};

static void
one_round(struct fl *fl, time_t last_day, const char *id_text, int round, struct figures *fg)
{
	for (int q = 0; q < QUERIES; q++) {
		const char *text = q == Q_ID ? id_text : q == Q_TERM ? SEARCH_TERM : NULL;
		struct lines a = { 0 }, b = { 0 };
		struct sm_error err;
		json_t *out = NULL;
		double t0;
		int rc;

		sm_error_clear(&err);
		fl_counters_reset(fl);
		t0 = bench_now();
		rc = text ? fl_search(fl, text, last_day, DAYS, &out, &err) :
		            fl_failed(fl, last_day, DAYS, NULL, NULL, &out, &err);
		fg->t_fl[q][round] = bench_now() - t0;
		fg->r_fl[q] = fl_counters(fl).requests;
		if (rc != 0)
			die(qname[q], &err);
		fl_counters_reset(fl);
		t0 = bench_now();
		baseline(fl, last_day, text, &b);
		fg->t_base[q][round] = bench_now() - t0;
		fg->r_base[q] = fl_counters(fl).requests;
		answer_lines(out, text == NULL, &a);
		json_decref(out);
		if (!lines_same(&a, &b) || a.n == 0) {
			fprintf(stderr,
			    "bench_fleet: %s: the answers differ (%zu lines, baseline %zu)\n",
			    qname[q], a.n, b.n);
			exit(1);
		}
		fg->answer[q] = a.n;
		fprintf(stderr, "bench_fleet: round %d, %s: fleet %.3f s, baseline %.3f s\n",
		    round + 1, qname[q], fg->t_fl[q][round], fg->t_base[q][round]);
		lines_free(&a);
		lines_free(&b);
	}
}

int
main(int argc, char **argv)
{
	struct bench_bucket bk;
	struct fl *fl;
	char objdir[200], id_text[32];
	const char *mode;
	long n = 100000, days_keys = 0;
	int rounds = 3, window = BENCH_PUTS_IN_FLIGHT, c, rc;
	time_t last_day = time(NULL);
	struct filler f = { 0 };
	static struct figures fg;
	double t0, dt;

	while ((c = getopt(argc, argv, "n:r:p:")) != -1)
		if (c == 'n')
			n = atol(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'p')
			window = atoi(optarg);
		else
			n = 0;
	if (rounds < 1 || rounds > 16 || n < 3000 || window < 1 || window > 64) {
		fprintf(stderr,
		    "usage: bench_fleet [-n keys >= 3000] [-r rounds 1..16] "
		    "[-p puts in flight 1..64] local|aws\n");
		return 2;
	}
	mode = optind < argc ? argv[optind] : "local";
	if ((rc = bench_bucket_open(&bk, "bench_fleet", BUCKET, mode)) != 0)
		return rc;
	bk.window = window;
	fl = bk.fl;
	if (bk.dir[0]) {
		snprintf(objdir, sizeof(objdir), "%s/objects/" BUCKET, bk.dir);
		f.objdir = objdir;
	}
	f.b = &bk;
	fprintf(stderr, "bench_fleet: filling %s (%ld keys in %d days)...\n", mode, n, DAYS);
	t0 = bench_now();
	fill(&f, last_day, n, &days_keys);
	dt = bench_now() - t0;
	printf("%s: bucket: %ld keys, %ld in the %d day folders, %ld in %d older days and "
	       "outside them (cache/, smd/instances/)\n",
	    mode, f.keys, days_keys, DAYS, f.keys - days_keys, OLDER_DAYS);
	if (f.objdir)
		printf("%s: filled in %.1f s (files written directly)\n", mode, dt);
	else
		printf("%s: filled in %.1f s: %ld PutObject, %d in flight, %.0f puts/s\n", mode, dt,
		    bk.puts, window, (double)bk.puts / dt);
	fflush(stdout);
	/* a task id of the middle of the 30 days */
	snprintf(id_text, sizeof(id_text), "%ld", 1000000L + (days_keys / 4) / 2);
	for (int r = 0; r < rounds; r++)
		one_round(fl, last_day, id_text, r, &fg);
	for (int q = 0; q < QUERIES; q++) {
		double a = bench_median(fg.t_fl[q], (size_t)rounds);
		double b = bench_median(fg.t_base[q], (size_t)rounds);

		printf("%s: %-22s fleet %6llu requests %8.3f s | baseline %6llu requests %8.3f s | "
		       "time fleet/baseline %.3f (answer: %zu lines, the same)\n",
		    mode, qname[q], (unsigned long long)fg.r_fl[q], a,
		    (unsigned long long)fg.r_base[q], b, a / b, fg.answer[q]);
	}
	printf("%s: medians of %d interleaved rounds\n", mode, rounds);
	bench_bucket_close(&bk);
	return 0;
}
