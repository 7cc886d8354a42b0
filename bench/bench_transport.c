/*
 * bench_transport.c - what one SQS request costs us, and what concurrency
 * buys against a local moto_server.
 *
 *   test/support/with_moto.sh build/bench/bench_transport [send|attrs] [ops] [rounds]
 *
 * 1. SigV4 signing cost: ns per tp__sigv4_sign() of an SQS JSON request.
 * 2. Requests per second through the whole stack (tp_* -> tp__aws_call ->
 *    sign -> libcurl multi on the loop -> moto -> parse), with 1 and with 32
 *    requests in flight; medians of several rounds and the ratio 32 / 1.
 * The figures are moto's as much as ours (moto is one Python process);
 * the signing figure says how much of a request is our CPU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "sigv4.h"
#include "sm_loop.h"
#include "transport.h"

#define ROUNDS_MAX 20

struct pump {
	struct tp *tp;
	const char *url;
	int send;               /* 1: SendMessage, 0: GetQueueAttributes */
	long todo;              /* not yet started */
	long running;
	long failed;
	char last_error[512];
};

static void start_one(struct pump *p);

static void
finished(struct pump *p, const struct tp_result *r)
{
	p->running--;
	if (r->code != 0) {
		p->failed++;
		snprintf(p->last_error, sizeof(p->last_error), "%s", r->message);
	}
	if (p->todo > 0)
		start_one(p);
}

static void
on_attrs(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	(void)a;
	(void)n;
	finished(arg, r);
}

static void
on_sent(void *arg, const struct tp_result *r, const char *id)
{
	(void)id;
	finished(arg, r);
}

static void
start_one(struct pump *p)
{
	static const char *const names[] = { "ApproximateNumberOfMessages" };
	int rc;

	p->todo--;
	p->running++;
	if (p->send)
		rc = tp_queue_send(p->tp, p->url, "{\"task_id\": 1, \"site\": \"bench\"}", 0,
		    on_sent, p, NULL);
	else
		rc = tp_queue_attributes(p->tp, p->url, names, 1, on_attrs, p, NULL);
	if (rc != 0) {
		p->running--;
		p->failed++;
		snprintf(p->last_error, sizeof(p->last_error), "cannot start: %s",
		    sm_strerror(rc));
	}
}

/* `ops` requests with `inflight` at once; returns requests per second. */
static double
run_round(struct pump *p, long ops, int inflight)
{
	double t0 = bench_now();
	int i;
	int zero = 0;

	p->todo = ops;
	p->running = 0;
	for (i = 0; i < inflight && p->todo > 0; i++)
		start_one(p);
	while (p->running > 0)
		if (tp_wait(p->tp, &zero, 100) < 0 && p->running > 0 &&
		    bench_now() - t0 > 600)
			break;
	return (double)ops / (bench_now() - t0);
}

struct url_out {
	int done;
	int code;
	char url[512];
	char msg[512];
};

static void
on_url(void *arg, const struct tp_result *r, const char *url)
{
	struct url_out *o = arg;

	o->done = 1;
	o->code = r->code;
	snprintf(o->url, sizeof(o->url), "%s", url ? url : "");
	snprintf(o->msg, sizeof(o->msg), "%s", r->message ? r->message : "");
}

static double
bench_sign(long n)
{
	static const struct sigv4_header hdrs[] = {
		{ "Host", "sqs.us-east-1.amazonaws.com" },
		{ "Content-Type", "application/x-amz-json-1.0" },
		{ "X-Amz-Target", "AmazonSQS.SendMessage" },
	};
	struct sigv4_creds creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		NULL };
	struct sigv4_request req;
	struct sigv4_result res;
	double t0 = bench_now();
	char hash[65];
	long i;

	tp__sigv4_sha256_hex("{\"QueueUrl\":\"x\",\"MessageBody\":\"y\"}", 35, hash);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/";
	req.headers = hdrs;
	req.nheaders = 3;
	req.payload_hash = hash;
	for (i = 0; i < n; i++) {
		if (tp__sigv4_sign(
		        &req, &creds, "us-east-1", "sqs", (time_t)1700000000 + i, &res) != 0)
			return -1;
		tp__sigv4_result_free(&res);
	}
	return (bench_now() - t0) * 1e9 / (double)n;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "attrs";
	long ops = argc > 2 ? atol(argv[2]) : 300;
	int rounds = argc > 3 ? atoi(argv[3]) : 5, i;
	double sign[ROUNDS_MAX], r1[ROUNDS_MAX], r32[ROUNDS_MAX], lo, hi, m1, m32;
	struct tp_config cfg;
	struct sm_error err;
	struct sm_loop *loop;
	struct url_out uo;
	struct pump p;
	const char *ep = getenv("AWS_ENDPOINT_URL");

	if (rounds < 1 || rounds > ROUNDS_MAX || ops < 1) {
		fprintf(stderr, "usage: bench_transport [send|attrs] [ops] [rounds 1..%d]\n",
		    ROUNDS_MAX);
		return 2;
	}
	for (i = 0; i < rounds; i++)
		sign[i] = bench_sign(20000);
	bench_minmax(sign, (size_t)rounds, &lo, &hi);
	printf("sigv4_sign (SQS JSON request): median %.0f ns/op (min %.0f, max %.0f), "
	    "%d rounds of 20000\n", bench_median(sign, (size_t)rounds), lo, hi, rounds);

	if (ep == NULL || strncmp(ep, "http://127.0.0.1:", 17) != 0) {
		printf("no loopback AWS_ENDPOINT_URL: run under test/support/with_moto.sh "
		    "for the request figures\n");
		return 0;
	}
	if (sm_loop_create(&loop) != 0)
		return 1;
	/* loopback only: the SQS endpoint is the one we checked, and no
	 * instance metadata is asked for credentials */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.endpoint_sqs = ep;
	if (tp_create(&p.tp, loop, &cfg, &err) != 0) {
		fprintf(stderr, "bench_transport: %s\n", err.msg);
		return 1;
	}
	memset(&uo, 0, sizeof(uo));
	tp_queue_create(p.tp, "bench-transport", NULL, 0, on_url, &uo, NULL);
	tp_wait(p.tp, &uo.done, 30000);
	if (uo.code != 0) {
		fprintf(stderr, "bench_transport: %s\n", uo.msg);
		return 1;
	}
	p.url = uo.url;
	p.send = strcmp(mode, "send") == 0;
	p.failed = 0;
	p.last_error[0] = '\0';
	/* warm up: connections, moto's caches */
	run_round(&p, 50, 32);
	for (i = 0; i < rounds; i++) {
		r1[i] = run_round(&p, ops, 1);
		r32[i] = run_round(&p, ops, 32);
	}
	m1 = bench_median(r1, (size_t)rounds);
	m32 = bench_median(r32, (size_t)rounds);
	bench_minmax(r1, (size_t)rounds, &lo, &hi);
	printf("%s against moto, 1 in flight:  median %.0f req/s (min %.0f, max %.0f)\n",
	    p.send ? "SendMessage" : "GetQueueAttributes", m1, lo, hi);
	bench_minmax(r32, (size_t)rounds, &lo, &hi);
	printf("%s against moto, 32 in flight: median %.0f req/s (min %.0f, max %.0f)\n",
	    p.send ? "SendMessage" : "GetQueueAttributes", m32, lo, hi);
	printf("ratio 32 in flight / 1 in flight: %.2f  (%d rounds of %ld requests each)\n",
	    m1 > 0 ? m32 / m1 : 0, rounds, ops);
	printf("signing share of one request at 1 in flight: %.2f%%\n",
	    m1 > 0 ? bench_median(sign, (size_t)rounds) / (1e9 / m1) * 100 : 0);
	if (p.failed > 0)
		printf("FAILED requests: %ld (last: %s)\n", p.failed, p.last_error);
	tp_destroy(p.tp);
	sm_loop_destroy(loop);
	return p.failed > 0;
}
