/*
 * bench_bucket.h - the bucket of the fleet benchmarks (bench_fleet,
 * bench_stats; header-only, link sm_fleet sm_runtime sm_transport):
 * opening it on either backend, and filling it with many puts in flight.
 *
 *	struct bench_bucket b;
 *
 *	if ((rc = bench_bucket_open(&b, "bench_fleet", "bench-fleet", mode)) != 0)
 *		return rc;                // 77: aws outside with_moto.sh; 2: bad mode
 *	bench_put(&b, key, data, len);  // returns once the put is started
 *	bench_put_drain(&b);            // every put answered
 *	... fl_search(b.fl, ...) ...
 *	bench_bucket_close(&b);         // local: the state directory removed
 *
 * "local": a new temporary state directory (b.dir), backend=local; "aws":
 * backend=aws, the endpoint and credentials from the environment, which
 * test/support/with_moto.sh exports (without AWS_ENDPOINT_URL it returns
 * 77, a skip).  The bucket is created when missing.
 *
 * bench_put() keeps up to b.window PutObject requests in flight (the
 * transport's curl multi on aws; BENCH_PUTS_IN_FLIGHT unless the caller
 * sets another window after open, 1 for one put after the other): each is a real put, answered by the
 * server; only the waiting overlaps.  A failed put, or none answered in
 * BENCH_PUT_WAIT_MS, ends the program with status 1 and a message naming
 * the key.  Any failure to open does too.
 */
#ifndef BENCH_BUCKET_H
#define BENCH_BUCKET_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "fl_private.h"
#include "fleet.h"
#include "rt_config.h"
#include "transport.h"

#define BENCH_PUTS_IN_FLIGHT 32
#define BENCH_PUT_WAIT_MS 120000

struct bench_bucket {
	struct rt_config cfg;
	struct fl *fl;
	const char *prog;  /* borrowed: the program name for messages */
	int window;        /* puts in flight at most: BENCH_PUTS_IN_FLIGHT after open */
	char dir[64];      /* local: the state directory made for the run; aws: "" */
	int in_flight;     /* puts started, not answered yet */
	int answered;      /* set by each answer: what bench_put waits for */
	long puts;         /* puts answered */
	char failed[1400]; /* the first put that failed, "" while none has */
};

/* Print "<prog>: <what>: <why>" and exit 1. */
static inline void
bench_bucket_die(const char *prog, const char *what, const struct sm_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, err && err->msg[0] ? err->msg : "failed");
	exit(1);
}

static void
bench__bucket_created(void *arg, const struct tp_result *r)
{
	(void)r; /* one that exists already is fine; a real failure shows at the first put */
	*(int *)arg = 1;
}

/*
 * Open the bucket `bucket` on the backend `mode` ("local" or "aws").
 * 0; 77 (aws without AWS_ENDPOINT_URL) or 2 (another mode) after printing
 * why; exits 1 when the bucket cannot be opened.
 */
static inline int
bench_bucket_open(struct bench_bucket *b, const char *prog, const char *bucket, const char *mode)
{
	struct sm_error err;
	char opt[128];
	int done = 0;

	memset(b, 0, sizeof(*b));
	b->prog = prog;
	b->window = BENCH_PUTS_IN_FLIGHT;
	sm_error_clear(&err);
	if (strcmp(mode, "aws") != 0 && strcmp(mode, "local") != 0) {
		fprintf(stderr, "%s: '%s': the backend is local or aws\n", prog, mode);
		return 2;
	}
	if (strcmp(mode, "aws") == 0 && !getenv("AWS_ENDPOINT_URL")) {
		fprintf(stderr, "%s: aws: run it through test/support/with_moto.sh\n", prog);
		return 77;
	}
	if (rt_config_init(&b->cfg) != 0)
		bench_bucket_die(prog, "config", NULL);
	if (strcmp(mode, "aws") == 0) {
		if (rt_config_set_option(&b->cfg, "backend=aws", &err) != 0)
			bench_bucket_die(prog, "config", &err);
	} else {
		snprintf(b->dir, sizeof(b->dir), "/tmp/%s.XXXXXX", prog);
		if (!mkdtemp(b->dir))
			bench_bucket_die(prog, "mkdtemp", NULL);
		snprintf(opt, sizeof(opt), "state_dir=%s", b->dir);
		if (rt_config_set_option(&b->cfg, "backend=local", &err) != 0 ||
		    rt_config_set_option(&b->cfg, opt, &err) != 0)
			bench_bucket_die(prog, "config", &err);
	}
	snprintf(opt, sizeof(opt), "bucket=%s", bucket);
	if (rt_config_set_option(&b->cfg, opt, &err) != 0 || fl_open(&b->fl, &b->cfg, &err) != 0)
		bench_bucket_die(prog, "open", &err);
	if (tp_bucket_create(b->fl->tp, bucket, bench__bucket_created, &done, NULL) == 0)
		tp_wait(b->fl->tp, &done, 30000);
	return 0;
}

struct bench__put {
	struct bench_bucket *b;
	char key[1024];
};

static void
bench__put_done(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct bench__put *p = arg;
	struct bench_bucket *b = p->b;

	(void)obj;
	b->in_flight--;
	b->answered = 1;
	b->puts++;
	if (r->code != 0 && !b->failed[0])
		snprintf(b->failed, sizeof(b->failed), "put '%s': %s", p->key,
		    r->message ? r->message : "failed");
	free(p);
}

/* Run the loop until fewer than `max` puts are in flight; exits 1 on a failed put. */
static inline void
bench__put_wait(struct bench_bucket *b, int max)
{
	while (b->in_flight >= max && b->in_flight > 0 && !b->failed[0]) {
		b->answered = 0;
		if (tp_wait(b->fl->tp, &b->answered, BENCH_PUT_WAIT_MS) != 0 && !b->answered) {
			fprintf(stderr, "%s: no put answered in %d s (%d in flight)\n", b->prog,
			    BENCH_PUT_WAIT_MS / 1000, b->in_flight);
			exit(1);
		}
	}
	if (b->failed[0]) {
		fprintf(stderr, "%s: %s\n", b->prog, b->failed);
		exit(1);
	}
}

/* Start a put of `len` bytes (copied) at `key`, once a place is free. */
static inline void
bench_put(struct bench_bucket *b, const char *key, const void *data, size_t len)
{
	struct bench__put *p;
	int rc;

	bench__put_wait(b, b->window > 0 ? b->window : 1);
	if (!(p = calloc(1, sizeof(*p)))) {
		fprintf(stderr, "%s: out of memory\n", b->prog);
		exit(1);
	}
	p->b = b;
	snprintf(p->key, sizeof(p->key), "%s", key);
	rc = tp_object_put_mem(
	    b->fl->tp, fl_bucket(b->fl), key, data, len, "text/plain", bench__put_done, p, NULL);
	if (rc != 0) {
		fprintf(stderr, "%s: put '%s': %s\n", b->prog, key, sm_strerror(rc));
		exit(1);
	}
	b->in_flight++;
}

/* Wait for every put started; exits 1 when one failed. */
static inline void
bench_put_drain(struct bench_bucket *b)
{
	bench__put_wait(b, 1);
}

/* Close the bucket; local: remove the state directory made by open. */
static inline void
bench_bucket_close(struct bench_bucket *b)
{
	fl_close(b->fl);
	rt_config_free(&b->cfg);
	if (b->dir[0])
		bench_rm_tree(b->dir);
	memset(b, 0, sizeof(*b));
}

#endif
