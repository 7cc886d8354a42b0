/*
 * test_retry.c - the aws request layer's retries against faultd.py: which
 * answers are retried and how often, the final error text when attempts
 * run out, 4xx not retried, clock skew corrected from the server's Date,
 * x-amz-retry-after honoured, the retry quota, and hostile SQS answers.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws_private.h"
#include "sm_loop.h"
#include "support/faultd_client.h"
#include "support/tp_collect.h"
#include "tap.h"
#include "transport.h"

#define SECRET "faultd-secret-never-shown"

static struct sm_loop *loop;
static struct faultd fd;
static char qurl[128];

static struct tp *
make_tp(int max_attempts, long timeout_ms)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;

	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.max_attempts = max_attempts;
	cfg.request_timeout_ms = timeout_ms;
	cfg.connect_timeout_ms = 1000;
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0) {
		diag("tp_create: %s", err.msg);
		return NULL;
	}
	tp__aws_set_backoff_scale(tp, 0);
	return tp;
}

static void
run_delete(struct tp *tp, struct tp_out *o)
{
	memset(o, 0, sizeof(*o));
	if (tp_queue_delete(tp, qurl, "rh-1", tpc_on_done, o, NULL) != 0) {
		o->code = -1;
		return;
	}
	tp_wait(tp, &o->done, 60000);
}

/* X-Amz-Date of logged request i, as seconds since the epoch (-1: none) */
static int64_t
logged_amz_date(json_t *log, size_t i)
{
	json_t *h = json_object_get(json_array_get(log, i), "headers");
	const char *d = json_string_value(json_object_get(h, "X-Amz-Date"));
	struct tm tm;

	if (d == NULL)
		d = json_string_value(json_object_get(h, "x-amz-date"));
	memset(&tm, 0, sizeof(tm));
	if (d == NULL || strptime(d, "%Y%m%dT%H%M%SZ", &tm) == NULL)
		return -1;
	return (int64_t)timegm(&tm);
}

static void
test_retries(void)
{
	struct tp *tp = make_tp(0, 1000);
	struct tp_out o;

	ok(tp != NULL, "aws backend against faultd");
	if (tp == NULL)
		return;

	faultd_script(&fd, "{\"steps\":[{\"preset\":\"500\"}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "500 then success: succeeds");
	is_int(o.attempts, 2, "after 2 attempts");
	is_int(faultd_count(&fd), 2, "the server saw 2 requests");

	faultd_script(&fd, "{\"steps\":[{\"preset\":\"503\"},{\"preset\":\"503\"}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "503, 503, then success");
	is_int(o.attempts, 3, "3 attempts");

	faultd_script(&fd, "{\"default\":{\"preset\":\"slowdown\"}}");
	run_delete(tp, &o);
	is_int(o.code, SM_ETHROTTLED, "SlowDown until attempts run out: SM_ETHROTTLED");
	is_int(o.attempts, 3, "3 attempts (the default maximum)");
	is_int(faultd_count(&fd), 3, "the server saw 3 requests");
	is_int(o.status, 503, "last status 503");
	is_str(o.err_code, "SlowDown", "service code from the XML body");
	like_str(o.msg, "DeleteMessage", "message names the operation");
	like_str(o.msg, qurl, "message names the queue");
	like_str(o.msg, "HTTP 503", "message has the status");
	like_str(o.msg, "Please reduce your request rate", "message has the service's text");
	like_str(o.msg, "3 attempts", "message has the attempt count");

	faultd_script(&fd, "{\"steps\":[{\"preset\":\"throttle\"}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "400 ThrottlingException is retried");
	is_int(o.attempts, 2, "2 attempts");

	faultd_script(&fd, "{\"default\":{\"preset\":\"throttle\"}}");
	run_delete(tp, &o);
	is_str(o.err_code, "AWS.SimpleQueueService.RequestThrottled",
	    "x-amzn-query-error code wins over __type");

	faultd_script(&fd, "{\"default\":{\"status\":400,\"headers\":{\"x-amzn-query-error\":"
	    "\"AWS.SimpleQueueService.InvalidParameterValue;Sender\"},\"body\":"
	    "\"{\\\"__type\\\":\\\"com.amazonaws.sqs#InvalidParameterValue\\\","
	    "\\\"message\\\":\\\"bad value\\\"}\"}}");
	run_delete(tp, &o);
	is_int(o.attempts, 1, "400 InvalidParameterValue is not retried");
	is_int(faultd_count(&fd), 1, "the server saw 1 request");
	is_int(o.code, SM_ESERVICE, "SM_ESERVICE");
	like_str(o.msg, "bad value", "with the service's message");
	like_str(o.msg, "1 attempt)", "and '1 attempt'");

	faultd_script(&fd, "{\"default\":{\"status\":404,\"body\":\"{\\\"__type\\\":"
	    "\\\"com.amazonaws.sqs#QueueDoesNotExist\\\",\\\"message\\\":\\\"gone\\\"}\"}}");
	run_delete(tp, &o);
	is_int(o.code, SM_ENOTFOUND, "QueueDoesNotExist: SM_ENOTFOUND, not retried");
	is_str(o.err_code, "QueueDoesNotExist", "code after the '#'");
	is_int(o.attempts, 1, "1 attempt");

	faultd_script(&fd, "{\"default\":{\"action\":\"reset\"}}");
	run_delete(tp, &o);
	is_int(o.code, SM_ENET, "connection resets: SM_ENET after retries");
	is_int(o.attempts, 3, "3 attempts");
	like_str(o.msg, "check the endpoint", "says what to check");

	faultd_script(&fd, "{\"steps\":[{\"action\":\"reset\"},{\"action\":\"reset\"}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "resets then an answer: succeeds");

	faultd_script(&fd, "{\"steps\":[{\"delay\":2.5}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "a slow answer (beyond the 1 s timeout), then success");
	is_int(o.attempts, 2, "2 attempts");

	faultd_script(&fd, "{\"default\":{\"delay\":2.5}}");
	run_delete(tp, &o);
	is_int(o.code, SM_ETIMEOUT, "always slow: SM_ETIMEOUT");
	is_int(o.attempts, 3, "3 attempts");
	like_str(o.msg, "no answer in time", "message says it timed out");

	faultd_script(&fd, "{\"default\":{\"status\":500,\"big\":3000000}}");
	run_delete(tp, &o);
	ok(o.code != 0 && strlen(o.msg) < 1000, "a 3 MB error body gives a short message");

	faultd_script(&fd, "{\"default\":{\"status\":500,\"body\":\"\\u0000\\n\\r<Code>"
	    "Evil\\nCode</Code>\"}}");
	run_delete(tp, &o);
	ok(strchr(o.msg, '\n') == NULL, "control characters never reach the message");

	ok(!tpc_watch_seen, "no message ever held the secret key");
	tp_destroy(tp);
}

static void
test_skew(void)
{
	struct tp *tp = make_tp(0, 5000);
	struct tp_out o;
	json_t *log;
	int64_t now = (int64_t)time(NULL), d0, d1, d2;

	if (tp == NULL)
		return;
	faultd_script(&fd, "{\"steps\":[{\"preset\":\"skew\"}],"
	    "\"default\":{\"date_skew\":3600,\"body\":\"{}\"}}");
	run_delete(tp, &o);
	is_int(o.code, 0, "skewed server: the second attempt succeeds");
	is_int(o.attempts, 2, "2 attempts");
	run_delete(tp, &o);
	log = faultd_log(&fd);
	d0 = logged_amz_date(log, 0);
	d1 = logged_amz_date(log, 1);
	d2 = logged_amz_date(log, 2);
	ok(d0 > 0 && llabs(d0 - now) < 60, "first attempt signed with our clock");
	ok(d1 > 0 && llabs(d1 - (now + 3600)) < 60,
	    "retry signed with the server's clock (+%lld s)", (long long)(d1 - now));
	ok(d2 > 0 && llabs(d2 - (now + 3600)) < 60, "later calls keep the correction");
	json_decref(log);

	/* SignatureDoesNotMatch with the clocks in agreement: a real auth error */
	faultd_script(&fd, "{\"default\":{\"status\":403,\"date_skew\":3600,\"body\":"
	    "\"{\\\"__type\\\":\\\"SignatureDoesNotMatch\\\",\\\"message\\\":"
	    "\\\"The request signature we calculated does not match\\\"}\"}}");
	run_delete(tp, &o);
	is_int(o.attempts, 1, "signature mismatch without skew: not retried");
	is_int(o.code, SM_EAUTH, "SM_EAUTH");
	like_str(o.msg, "signature", "message says signature");
	like_str(o.msg, "check the credentials", "and what to check");
	tp_destroy(tp);
}

static void
test_retry_after(void)
{
	struct tp *tp = make_tp(0, 5000);
	struct tp_out o;
	json_t *log;
	double t0, t1;

	if (tp == NULL)
		return;
	tp__aws_set_backoff_scale(tp, 100);
	faultd_script(&fd, "{\"steps\":[{\"preset\":\"retry_after\"}]}");
	run_delete(tp, &o);
	is_int(o.code, 0, "503 with x-amz-retry-after, then success");
	log = faultd_log(&fd);
	t0 = json_real_value(json_object_get(json_array_get(log, 0), "time"));
	t1 = json_real_value(json_object_get(json_array_get(log, 1), "time"));
	ok(t1 - t0 >= 0.28 && t1 - t0 < 2.0, "waited x-amz-retry-after (300 ms): %.3f s",
	    t1 - t0);
	json_decref(log);

	/* full jitter, real delays: 3 attempts wait at most 1 s + 2 s */
	faultd_script(&fd, "{\"default\":{\"preset\":\"500\"}}");
	{
		uint64_t s = sm_time_mono_ms();
		run_delete(tp, &o);
		ok(sm_time_mono_ms() - s < 3500, "backoff within the caps (%llu ms)",
		    (unsigned long long)(sm_time_mono_ms() - s));
	}
	tp_destroy(tp);
}

static void
test_quota(void)
{
	struct tp *tp = make_tp(100, 5000);
	struct tp_out o;

	ok(tp != NULL, "backend with 100 attempts");
	if (tp == NULL)
		return;
	is_int(tp__aws_quota_left(tp), AWS_QUOTA_INITIAL, "quota starts at 500");
	faultd_script(&fd, "{\"default\":{\"preset\":\"500\"}}");
	run_delete(tp, &o);
	is_int(o.attempts, 100, "100 attempts allowed: 99 retries");
	is_int(tp__aws_quota_left(tp), 5, "99 retries cost 495 tokens");
	run_delete(tp, &o);
	is_int(o.attempts, 2, "the next call stops after one more retry");
	is_int(tp__aws_quota_left(tp), 0, "quota used up");
	like_str(o.msg, "retry quota exhausted", "message says why it stopped");
	faultd_script(&fd, "{\"steps\":[{\"preset\":\"500\"}]}");
	run_delete(tp, &o);
	is_int(o.attempts, 1, "an empty quota: no retry at all");
	faultd_script(&fd, "{}");
	run_delete(tp, &o);
	is_int(tp__aws_quota_left(tp), 1, "a success gives one token back");
	tp_destroy(tp);

	tp = make_tp(0, 5000);
	faultd_script(&fd, "{\"default\":{\"action\":\"reset\"}}");
	run_delete(tp, &o);
	is_int(tp__aws_quota_left(tp), AWS_QUOTA_INITIAL - 20,
	    "connection errors cost 10 tokens a retry");
	faultd_script(&fd, "{\"steps\":[{\"preset\":\"500\"}]}");
	run_delete(tp, &o);
	is_int(
	    tp__aws_quota_left(tp), AWS_QUOTA_INITIAL - 20, "a successful retry refunds its cost");
	tp_destroy(tp);
}

static void
test_hostile(void)
{
	struct tp *tp = make_tp(1, 5000);
	struct tp_out o;
	char script[4096];

	if (tp == NULL)
		return;
#define RECV(json_body)                                                         \
	do {                                                                    \
		snprintf(script, sizeof(script), "{\"default\":{\"body\":%s}}", json_body); \
		faultd_script(&fd, script);                                     \
		memset(&o, 0, sizeof(o));                                       \
		tp_queue_receive(tp, qurl, 10, 0, 30, tpc_on_recv, &o, NULL);             \
		tp_wait(tp, &o.done, 30000);                                    \
	} while (0)

	RECV("\"not json\"");
	is_int(o.code, SM_EPROTO, "receive: an answer that is not JSON is SM_EPROTO");
	like_str(o.msg, "not JSON", "and says so");
	like_str(o.msg, "ReceiveMessage", "naming the operation");
	RECV("\"[1,2]\"");
	is_int(o.code, SM_EPROTO, "receive: a JSON list is SM_EPROTO");
	RECV("\"{\\\"Messages\\\": 5}\"");
	is_int(o.code, SM_EPROTO, "receive: Messages not a list");
	RECV("\"{\\\"Messages\\\": [{\\\"MessageId\\\": \\\"m\\\", \\\"Body\\\": \\\"x\\\"}]}\"");
	is_int(o.code, SM_EPROTO, "receive: a message without a receipt handle");
	like_str(o.msg, "ReceiptHandle", "names the missing field");
	RECV("\"{}\"");
	ok(o.code == 0 && o.n == 0, "receive: no Messages is an empty receive");
	/* md5("hello") = 5d41402abc4b2a76b9719d911017c592 */
	RECV("\"{\\\"Messages\\\": [{\\\"MessageId\\\": \\\"m1\\\", \\\"ReceiptHandle\\\": \\\"r1\\\","
	    " \\\"Body\\\": \\\"hello\\\", \\\"MD5OfBody\\\": \\\"5d41402abc4b2a76b9719d911017c592\\\","
	    " \\\"Attributes\\\": {\\\"ApproximateReceiveCount\\\": \\\"3\\\"}},"
	    " {\\\"MessageId\\\": \\\"m2\\\", \\\"ReceiptHandle\\\": \\\"r2\\\","
	    " \\\"Body\\\": \\\"tampered\\\", \\\"MD5OfBody\\\": \\\"5d41402abc4b2a76b9719d911017c592\\\"}]}\"");
	is_int(o.code, 0, "receive: good and corrupt messages");
	is_int(o.n, 1, "the message whose body does not match its MD5 is dropped");
	is_str(o.m[0].body, "hello", "the good one is delivered");
	RECV("\"{\\\"Messages\\\": [{\\\"MessageId\\\": 1, \\\"ReceiptHandle\\\": [], \\\"Body\\\": {}}]}\"");
	is_int(o.code, SM_EPROTO, "receive: wrong types are SM_EPROTO");

	/* an answer over the receive cap (16 MiB) */
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"Messages\\\":[\",\"big\":17000000}}");
	memset(&o, 0, sizeof(o));
	tp_queue_receive(tp, qurl, 10, 0, 30, tpc_on_recv, &o, NULL);
	tp_wait(tp, &o.done, 60000);
	is_int(o.code, SM_ETOOBIG, "receive: a 17 MB answer is refused (SM_ETOOBIG)");

	/* send: the service must have seen our body */
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"MessageId\\\":\\\"id1\\\","
	    "\\\"MD5OfMessageBody\\\":\\\"00000000000000000000000000000000\\\"}\"}}");
	memset(&o, 0, sizeof(o));
	tp_queue_send(tp, qurl, "hello", 0, tpc_on_sent, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, SM_ECORRUPT, "send: an MD5OfMessageBody that is not ours: SM_ECORRUPT");
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"MessageId\\\":\\\"id1\\\","
	    "\\\"MD5OfMessageBody\\\":\\\"5d41402abc4b2a76b9719d911017c592\\\"}\"}}");
	memset(&o, 0, sizeof(o));
	tp_queue_send(tp, qurl, "hello", 0, tpc_on_sent, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	ok(o.code == 0 && strcmp(o.msgid, "id1") == 0, "send: matching MD5 accepted");
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"MessageId\\\":\\\"id1\\\"}\"}}");
	memset(&o, 0, sizeof(o));
	tp_queue_send(tp, qurl, "hello", 0, tpc_on_sent, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, SM_EPROTO, "send: an answer without MD5OfMessageBody is SM_EPROTO");
	like_str(o.msg, "MD5OfMessageBody", "and names it (%s)", o.msg);

	/* send batch: each entry's MD5 checked ("one" right, "two" answered
	 * with the MD5 of "one", "three" without one) */
	{
		static const struct tp_batch_entry be[3] = {
			{ .id = "a", .body = "one" }, { .id = "b", .body = "two" },
			{ .id = "c", .body = "three" },
		};
		faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"Successful\\\":["
		    "{\\\"Id\\\":\\\"a\\\",\\\"MessageId\\\":\\\"ma\\\","
		    "\\\"MD5OfMessageBody\\\":\\\"f97c5d29941bfb1b2fdab0874906ab82\\\"},"
		    "{\\\"Id\\\":\\\"b\\\",\\\"MessageId\\\":\\\"mb\\\","
		    "\\\"MD5OfMessageBody\\\":\\\"f97c5d29941bfb1b2fdab0874906ab82\\\"},"
		    "{\\\"Id\\\":\\\"c\\\",\\\"MessageId\\\":\\\"mc\\\"}]}\"}}");
		memset(&o, 0, sizeof(o));
		is_int(tp_queue_send_batch(tp, qurl, be, 3, tpc_on_batch, &o, NULL), 0,
		    "send batch started");
		tp_wait(tp, &o.done, 30000);
		is_int(o.code, 0, "send batch: the answer parsed");
		is_int((int)o.nout, 3, "three outcomes");
		is_int(o.out_codes[0], 0, "entry with its MD5: sent");
		is_str(o.out_msgids[0], "ma", "with its message id");
		is_int(o.out_codes[1], SM_ECORRUPT, "entry with another body's MD5: SM_ECORRUPT");
		is_int(o.out_codes[2], SM_EPROTO, "entry without an MD5: SM_EPROTO");
		like_str(o.out_msgs[2], "MD5OfMessageBody", "and says so (%s)", o.out_msgs[2]);
	}
	faultd_script(&fd, "{\"default\":{\"body\":\"{}\"}}");
	memset(&o, 0, sizeof(o));
	tp_queue_send(tp, qurl, "hello", 0, tpc_on_sent, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, SM_EPROTO, "send: no MessageId is SM_EPROTO");
	memset(&o, 0, sizeof(o));
	is_int(tp_queue_send(tp, qurl, "\xff\xfe bad utf-8", 0, tpc_on_sent, &o, NULL),
	    SM_EINVAL,
	    "send: a body that is not UTF-8 is refused before sending");

	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"QueueUrl\\\": null}\"}}");
	memset(&o, 0, sizeof(o));
	tp_queue_get_url(tp, "q", tpc_on_url, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, SM_EPROTO, "get_url: no QueueUrl is SM_EPROTO");

	/* batch: one entry answered, one failed, one not mentioned */
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"Successful\\\":[{\\\"Id\\\":\\\"a\\\"}],"
	    "\\\"Failed\\\":[{\\\"Id\\\":\\\"b\\\",\\\"Code\\\":\\\"ReceiptHandleIsInvalid\\\","
	    "\\\"Message\\\":\\\"bad handle\\\",\\\"SenderFault\\\":true}]}\"}}");
	{
		struct tp_batch_entry e[3] = {
			{ .id = "a", .receipt = "r-a" }, { .id = "b", .receipt = "r-b" },
			{ .id = "c", .receipt = "r-c" } };
		memset(&o, 0, sizeof(o));
		tp_queue_delete_batch(tp, qurl, e, 3, tpc_on_batch, &o, NULL);
		tp_wait(tp, &o.done, 30000);
		is_int(o.code, 0, "batch: the call succeeds");
		is_int(o.nout, 3, "3 outcomes");
		is_int(o.out_codes[0], 0, "entry a ok");
		is_int(o.out_codes[1], SM_EINVAL, "entry b failed (invalid receipt)");
		like_str(o.out_msgs[1], "bad handle", "with the service's message");
		is_int(o.out_codes[2], SM_EPROTO, "entry c: not in the answer is SM_EPROTO");
	}
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"Successful\\\": {}}\"}}");
	{
		struct tp_batch_entry e[1] = { { .id = "a", .receipt = "r-a" } };
		memset(&o, 0, sizeof(o));
		tp_queue_delete_batch(tp, qurl, e, 1, tpc_on_batch, &o, NULL);
		tp_wait(tp, &o.done, 30000);
		is_int(o.code, SM_EPROTO, "batch: Successful not a list is SM_EPROTO");
	}
	tp_destroy(tp);
}

/* Connection reuse through the whole aws layer: 10 signed requests made
 * one after the other travel on one TCP connection (faultd logs each
 * request's client port).  moto cannot show this: it answers with
 * "Connection: close". */
static void
test_reuse(void)
{
	struct tp *tp = make_tp(0, 5000);
	struct tp_out o;
	json_t *log;
	json_int_t first = -1;
	int i, same = 1, all_ok = 1;

	if (tp == NULL)
		return;
	faultd_script(&fd, "{\"default\":{\"body\":\"{\\\"MessageId\\\": \\\"m\\\", "
	    "\\\"MD5OfMessageBody\\\": \\\"9dd4e461268c8034f5c8564e155c67a6\\\"}\"}}");
	for (i = 0; i < 10; i++) {
		memset(&o, 0, sizeof(o));
		if (tp_queue_send(tp, qurl, "x", 0, tpc_on_sent, &o, NULL) != 0) {
			all_ok = 0;
			break;
		}
		tp_wait(tp, &o.done, 30000);
		all_ok &= o.done && o.code == 0;
	}
	ok(all_ok, "reuse: 10 sequential sends succeed (%s)", o.msg);
	log = faultd_log(&fd);
	is_int((int)json_array_size(log), 10, "reuse: the server saw 10 requests");
	for (i = 0; i < (int)json_array_size(log); i++) {
		json_int_t peer = json_integer_value(json_object_get(json_array_get(log,
		    (size_t)i), "peer"));
		if (first < 0)
			first = peer;
		same &= peer == first;
	}
	ok(same && first > 0, "reuse: all 10 on one connection (client port %lld)",
	    (long long)first);
	json_decref(log);
	tp_destroy(tp);
}

/* TLS through the aws layer: a self-signed server is refused with a TLS
 * error that says what to do, not retried; trusting its certificate with
 * AWS_CA_BUNDLE makes the same call succeed. */
static void
test_tls(void)
{
	char dir[] = "/tmp/test_retry_tls.XXXXXX", cmd[1024], cert[256], key[256];
	char url[160];
	struct faultd tls;
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;
	struct tp_out o;

	if (mkdtemp(dir) == NULL)
		bail_out("mkdtemp");
	if (faultd_make_cert(dir, cert, sizeof(cert), key, sizeof(key)) != 0 ||
	    faultd_start_tls(&tls, cert, key) != 0) {
		skip("openssl or python3 ssl not available");
		goto out;
	}
	snprintf(url, sizeof(url), "%s/123456789012/q", tls.url);

	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.endpoint_sqs = tls.url;
	cfg.connect_timeout_ms = 2000;
	cfg.request_timeout_ms = 5000;
	unsetenv("AWS_CA_BUNDLE");
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0) {
		ok(0, "tls: tp_create (%s)", err.msg);
		goto stop;
	}
	tp__aws_set_backoff_scale(tp, 0);
	memset(&o, 0, sizeof(o));
	tp_queue_delete(tp, url, "r", tpc_on_done, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, SM_ETLS, "tls: a self-signed server is refused (SM_ETLS)");
	is_int(o.attempts, 1, "tls: not retried");
	like_str(o.msg, "certificate", "tls: the message says it is the certificate");
	like_str(o.msg, "AWS_CA_BUNDLE", "tls: and how to trust a private CA");
	diag("%s", o.msg);
	tp_destroy(tp);
	tp = NULL;

	setenv("AWS_CA_BUNDLE", cert, 1);
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0) {
		ok(0, "tls: tp_create with AWS_CA_BUNDLE (%s)", err.msg);
		goto stop;
	}
	memset(&o, 0, sizeof(o));
	tp_queue_delete(tp, url, "r", tpc_on_done, &o, NULL);
	tp_wait(tp, &o.done, 30000);
	is_int(o.code, 0, "tls: trusted through AWS_CA_BUNDLE, the call succeeds (%s)", o.msg);
	tp_destroy(tp);
	tp = NULL;

	setenv("AWS_CA_BUNDLE", "/nonexistent/smd-ca.pem", 1);
	sm_error_clear(&err);
	is_int(tp_create(&tp, loop, &cfg, &err), SM_EINVAL, "tls: an unreadable CA bundle is refused");
	like_str(err.msg, "/nonexistent/smd-ca.pem", "tls: the message names the file");
	if (tp != NULL)
		tp_destroy(tp);
stop:
	unsetenv("AWS_CA_BUNDLE");
	faultd_stop(&tls);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

static void
test_destroy_cancels(void)
{
	struct tp *tp = make_tp(0, 5000);
	struct tp_out o1, o2;

	if (tp == NULL)
		return;
	faultd_script(&fd, "{\"default\":{\"delay\":2}}");
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	tp_queue_delete(tp, qurl, "r", tpc_on_done, &o1, NULL);
	tp_queue_delete(tp, qurl, "r", tpc_on_done, &o2, NULL);
	ok(!o1.done, "no callback inside the call");
	sm_loop_run_once(loop, 50);
	tp_destroy(tp);
	ok(o1.done && o1.code == SM_ECANCELED && o2.done && o2.code == SM_ECANCELED,
	    "tp_destroy cancels calls in flight");
}

int
main(void)
{
	plan_no_plan();
	if (faultd_start(&fd) != 0) {
		skip_all("python3 cannot run test/support/faultd.py");
		return 0;
	}
	snprintf(qurl, sizeof(qurl), "%s/123456789012/q", fd.url);
	faultd_aws_env(&fd, SECRET);
	tpc_watch = SECRET;
	setenv("AWS_REGION", "us-east-1", 1);
	unsetenv("AWS_ENDPOINT_URL_SQS");
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");

	test_retries();
	test_skew();
	test_retry_after();
	test_quota();
	test_hostile();
	test_reuse();
	test_tls();
	test_destroy_cancels();

	sm_loop_destroy(loop);
	faultd_stop(&fd);
	return done_testing();
}
