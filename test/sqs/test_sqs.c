/*
 * test_sqs.c - the SQS operations of the aws backend against moto_server
 * (run by test/support/with_moto.sh, which exports the endpoint and a key
 * that moto checks): every operation, long polls that block nobody and wake
 * on a message, batches with per-entry failures, a missing queue, a wrong
 * secret, awkward bodies, and a cross-check with boto3 both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm_loop.h"
#include "support/tp_collect.h"
#include "tap.h"
#include "transport.h"

static struct sm_loop *loop;
static struct tp *tp;

static const char *
attr(const struct tp_out *o, const char *name)
{
	size_t i;

	for (i = 0; i < o->nattrs && i < 32; i++)
		if (strcmp(o->attr_names[i], name) == 0)
			return o->attr_values[i];
	return NULL;
}

static void
wait_for(struct tp_out *o)
{
	if (tp_wait(tp, &o->done, 60000) != 0)
		diag("timed out waiting");
}

static int
create_queue(const char *name, char *url, size_t size)
{
	struct tp_out o;

	memset(&o, 0, sizeof(o));
	if (tp_queue_create(tp, name, NULL, 0, tpc_on_url, &o, NULL) != 0)
		return -1;
	wait_for(&o);
	snprintf(url, size, "%s", o.url);
	return o.code;
}

static void
send_one(const char *url, const char *body, struct tp_out *o)
{
	memset(o, 0, sizeof(*o));
	if (tp_queue_send(tp, url, body, 0, tpc_on_sent, o, NULL) != 0) {
		o->code = -1;
		return;
	}
	wait_for(o);
}

static void
recv_some(const char *url, int max, int wait_s, int vis, struct tp_out *o)
{
	memset(o, 0, sizeof(*o));
	if (tp_queue_receive(tp, url, max, wait_s, vis, tpc_on_recv, o, NULL) != 0) {
		o->code = -1;
		return;
	}
	wait_for(o);
}

static void
test_basic(void)
{
	struct tp_attr qa[1] = { { "VisibilityTimeout", "45" } };
	const char *names[2] = { "VisibilityTimeout", "ApproximateNumberOfMessages" };
	char url[512], url2[512];
	struct tp_out o;

	is_int(create_queue("smd-basic", url, sizeof(url)), 0, "CreateQueue");
	like_str(url, "smd-basic", "queue URL names the queue");
	is_int(create_queue("smd-basic", url2, sizeof(url2)), 0, "CreateQueue again is fine");
	is_str(url2, url, "same URL");

	memset(&o, 0, sizeof(o));
	tp_queue_get_url(tp, "smd-basic", tpc_on_url, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "GetQueueUrl");
	is_str(o.url, url, "GetQueueUrl gives the created URL");

	memset(&o, 0, sizeof(o));
	tp_queue_create(tp, "smd-attrs", qa, 1, tpc_on_url, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "CreateQueue with attributes");
	snprintf(url2, sizeof(url2), "%s", o.url);
	memset(&o, 0, sizeof(o));
	tp_queue_attributes(tp, url2, names, 2, tpc_on_attrs, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "GetQueueAttributes (two names)");
	is_str(attr(&o, "VisibilityTimeout"), "45", "the attribute we created it with");
	is_str(attr(&o, "ApproximateNumberOfMessages"), "0", "empty queue");

	send_one(url, "first message", &o);
	is_int(o.code, 0, "SendMessage");
	ok(o.msgid[0] != '\0', "with a message id");
	recv_some(url, 10, 2, 0, &o);
	is_int(o.code, 0, "ReceiveMessage");
	is_int(o.n, 1, "one message");
	is_str(o.m[0].body, "first message", "same body");
	is_int(o.m[0].count, 1, "ApproximateReceiveCount 1");
	ok(o.m[0].sent_ms > 1700000000000LL, "SentTimestamp in ms (%lld)",
	    (long long)o.m[0].sent_ms);
	ok(o.m[0].has_md5, "MD5OfBody present (and checked)");
	/* visibility 0: visible again at once, so the count goes up */
	recv_some(url, 10, 2, 30, &o);
	is_int(o.n, 1, "received again");
	is_int(o.m[0].count, 2, "ApproximateReceiveCount 2");
	{
		char receipt[1024];
		struct tp_out d;
		snprintf(receipt, sizeof(receipt), "%s", o.m[0].receipt);
		memset(&d, 0, sizeof(d));
		tp_queue_change_visibility(tp, url, receipt, 0, tpc_on_done, &d, NULL);
		wait_for(&d);
		is_int(d.code, 0, "ChangeMessageVisibility to 0");
		recv_some(url, 10, 2, 30, &o);
		is_int(o.n, 1, "visible again after ChangeMessageVisibility");
		memset(&d, 0, sizeof(d));
		tp_queue_delete(tp, url, o.m[0].receipt, tpc_on_done, &d, NULL);
		wait_for(&d);
		is_int(d.code, 0, "DeleteMessage");
	}
	memset(&o, 0, sizeof(o));
	tp_queue_attributes(tp, url, NULL, 0, tpc_on_attrs, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "GetQueueAttributes All");
	ok(o.nattrs >= 5, "several attributes (%zu)", o.nattrs);
	is_str(attr(&o, "ApproximateNumberOfMessages"), "0", "queue empty after delete");
	is_str(attr(&o, "ApproximateNumberOfMessagesNotVisible"), "0", "nothing in flight");
}

static void
test_missing(void)
{
	struct tp_out o;
	char url[512];

	memset(&o, 0, sizeof(o));
	tp_queue_get_url(tp, "smd-no-such-queue", tpc_on_url, &o, NULL);
	wait_for(&o);
	is_int(o.code, SM_ENOTFOUND, "GetQueueUrl of a missing queue: SM_ENOTFOUND");
	ok(strstr(o.err_code, "NonExistentQueue") || strstr(o.err_code, "QueueDoesNotExist"),
	    "service code %s", o.err_code);
	like_str(o.msg, "GetQueueUrl", "message names the operation");
	like_str(o.msg, "smd-no-such-queue", "and the queue");
	is_int(o.attempts, 1, "not retried");
	diag("%s", o.msg);

	create_queue("smd-basic", url, sizeof(url));
	snprintf(url + strlen(url) - strlen("smd-basic"), 32, "smd-gone");
	send_one(url, "x", &o);
	ok(o.code != 0, "SendMessage to a missing queue URL fails");
	like_str(o.msg, "smd-gone", "naming the queue URL");
}

static void
test_batches(void)
{
	struct tp_batch_entry e[4];
	char url[512], receipts[3][1024];
	struct tp_out o, r;
	size_t got = 0, i;
	int tries;

	create_queue("smd-batch", url, sizeof(url));
	memset(e, 0, sizeof(e));
	e[0].id = "e1";
	e[0].body = "batch one";
	e[1].id = "e2";
	e[1].body = "batch two";
	e[2].id = "e3";
	e[2].body = "batch three";
	memset(&o, 0, sizeof(o));
	tp_queue_send_batch(tp, url, e, 3, tpc_on_batch, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "SendMessageBatch");
	ok(o.nout == 3 && o.out_codes[0] == 0 && o.out_codes[1] == 0 && o.out_codes[2] == 0,
	    "3 entries sent");
	ok(strcmp(o.out_ids[1], "e2") == 0 && o.out_msgids[1][0] != '\0',
	    "outcomes in entry order with message ids");

	for (tries = 0; tries < 5 && got < 3; tries++) {
		recv_some(url, 10, 1, 60, &r);
		for (i = 0; i < r.n && got < 3; i++)
			snprintf(receipts[got++], sizeof(receipts[0]), "%s", r.m[i].receipt);
	}
	is_int(got, 3, "received the 3 batch messages");

	memset(e, 0, sizeof(e));
	e[0].id = "v1";
	e[0].receipt = receipts[0];
	e[0].visibility_s = 120;
	e[1].id = "v2";
	e[1].receipt = "not-a-receipt-handle";
	e[1].visibility_s = 120;
	memset(&o, 0, sizeof(o));
	tp_queue_change_visibility_batch(tp, url, e, 2, tpc_on_batch, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "ChangeMessageVisibilityBatch call");
	is_int(o.out_codes[0], 0, "the valid entry succeeded");
	ok(o.out_codes[1] != 0, "the invalid receipt failed on its own");
	like_str(o.out_msgs[1], "v2", "its message names the entry");
	diag("%s", o.out_msgs[1]);

	memset(e, 0, sizeof(e));
	for (i = 0; i < 3; i++) {
		static const char *ids[] = { "d1", "d2", "d3" };
		e[i].id = ids[i];
		e[i].receipt = receipts[i];
	}
	e[3].id = "d4";
	e[3].receipt = "bogus-receipt";
	memset(&o, 0, sizeof(o));
	tp_queue_delete_batch(tp, url, e, 4, tpc_on_batch, &o, NULL);
	wait_for(&o);
	is_int(o.code, 0, "DeleteMessageBatch call");
	ok(o.out_codes[0] == 0 && o.out_codes[1] == 0 && o.out_codes[2] == 0,
	    "3 valid deletes");
	ok(o.out_codes[3] != 0, "the bogus receipt failed on its own");
	diag("%s", o.out_msgs[3]);
	recv_some(url, 10, 1, 60, &r);
	is_int(r.n, 0, "the queue is empty");
}

static void
test_bodies(void)
{
	static const char *bodies[] = {
		"{\"task_id\": 1, \"q\": \"\\\"quoted\\\" \\\\ back\\/slash\", \"u\": "
		"\"Gr\xc3\xbc\xc3\x9f" "e \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\"}",
		"tab\there\nnewline\r\ncrlf <xml attr='1'>&amp; </xml> %00 %zz +plus",
		"\xe2\x80\xa8 line separator, \xef\xbb\xbf bom, \xf4\x8f\xbf\xbd max plane",
	};
	char url[512];
	struct tp_out o, r;
	size_t i;

	create_queue("smd-bodies", url, sizeof(url));
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		send_one(url, bodies[i], &o);
		is_int(o.code, 0, "send awkward body %zu", i);
		recv_some(url, 1, 2, 60, &r);
		ok(r.n == 1 && r.m[0].len == strlen(bodies[i]) &&
		    memcmp(r.m[0].body, bodies[i], r.m[0].len) == 0,
		    "body %zu comes back byte for byte", i);
		if (r.n == 1) {
			struct tp_out d;
			memset(&d, 0, sizeof(d));
			tp_queue_delete(tp, url, r.m[0].receipt, tpc_on_done, &d, NULL);
			wait_for(&d);
		}
	}
}

struct timed {
	struct tp_out o;
	int i;
};

static int64_t
send_later(struct sm_loop *l, uint64_t id, void *arg)
{
	struct tp_out *o = arg;

	(void)l;
	(void)id;
	o->at_ms = sm_time_mono_ms();
	return -1;
}

static void
test_long_poll(void)
{
	char url_lp[512], url_other[512];
	struct tp_out lp, others[6], s;
	uint64_t t0;
	int i, all_before = 1, all_ok = 1;

	create_queue("smd-longpoll", url_lp, sizeof(url_lp));
	create_queue("smd-other", url_other, sizeof(url_other));

	/* a 6 s long poll on an empty queue, and other requests meanwhile */
	memset(&lp, 0, sizeof(lp));
	t0 = sm_time_mono_ms();
	is_int(tp_queue_receive(tp, url_lp, 1, 6, 30, tpc_on_recv, &lp, NULL), 0,
	    "long poll started");
	sm_loop_run_once(loop, 200);
	for (i = 0; i < 6; i++) {
		memset(&others[i], 0, sizeof(others[i]));
		if (i % 2 == 0)
			tp_queue_attributes(tp, url_other, NULL, 0, tpc_on_attrs, &others[i],
			    NULL);
		else
			tp_queue_send(tp, url_other, "meanwhile", 0, tpc_on_sent, &others[i],
			    NULL);
	}
	wait_for(&lp);
	for (i = 0; i < 6; i++) {
		all_ok &= others[i].done && others[i].code == 0;
		all_before &= others[i].done && others[i].at_ms < lp.at_ms;
	}
	ok(all_ok, "6 other requests succeeded during the long poll");
	ok(all_before, "all of them finished before the long poll returned");
	is_int(lp.code, 0, "the long poll ends without error");
	is_int(lp.n, 0, "with no message");
	ok(lp.at_ms - t0 >= 5500, "after its wait time (%llu ms)",
	    (unsigned long long)(lp.at_ms - t0));
	for (i = 0; i < 6; i++)
		diag("other request %d done after %llu ms", i,
		    (unsigned long long)(others[i].at_ms - t0));

	/* a 20 s long poll wakes when a message arrives */
	memset(&lp, 0, sizeof(lp));
	memset(&s, 0, sizeof(s));
	t0 = sm_time_mono_ms();
	tp_queue_receive(tp, url_lp, 1, 20, 30, tpc_on_recv, &lp, NULL);
	{
		struct tp_out tick;
		memset(&tick, 0, sizeof(tick));
		sm_loop_timer_add(loop, 1000, send_later, &tick);
		while (tick.at_ms == 0)
			sm_loop_run_once(loop, 100);
	}
	tp_queue_send(tp, url_lp, "wake up", 0, tpc_on_sent, &s, NULL);
	wait_for(&lp);
	is_int(lp.code, 0, "20 s long poll returns");
	is_int(lp.n, 1, "with the message sent during it");
	is_str(lp.m[0].body, "wake up", "the right one");
	ok(lp.at_ms - t0 < 8000, "long before 20 s (%llu ms)",
	    (unsigned long long)(lp.at_ms - t0));
}

static void
test_wrong_secret(void)
{
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	char saved[256];
	struct tp_config cfg;
	struct sm_error err;
	struct tp *bad = NULL;
	struct tp_out o;

	snprintf(saved, sizeof(saved), "%s", secret ? secret : "");
	setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value", 1);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	ok(tp_create(&bad, loop, &cfg, &err) == 0, "backend with a wrong secret");
	setenv("AWS_SECRET_ACCESS_KEY", saved, 1);
	if (bad == NULL)
		return;
	memset(&o, 0, sizeof(o));
	tp_queue_get_url(bad, "smd-basic", tpc_on_url, &o, NULL);
	tp_wait(bad, &o.done, 60000);
	is_int(o.code, SM_EAUTH, "a wrong secret: SM_EAUTH");
	like_str(o.msg, "signature", "the message says 'signature'");
	like_str(o.msg, "check the credentials", "and what to do");
	ok(strstr(o.msg, "wrong-secret-value") == NULL && strstr(o.msg, saved) == NULL,
	    "and never holds a secret");
	is_int(o.attempts, 1, "not retried (the clocks agree)");
	diag("%s", o.msg);
	tp_destroy(bad);
}

/* Run a python3 snippet with the harness's environment; its stdout's first
 * line into `out`.  Returns the exit status. */
static int
py(const char *script, const char *arg1, const char *arg2, char *out, size_t size)
{
	char path[] = "/tmp/test_sqs_py.XXXXXX", cmd[2048];
	FILE *fp;
	int fd, st;

	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, script, strlen(script)) != (ssize_t)strlen(script)) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s '%s' '%s'", path, arg1, arg2);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	out[0] = '\0';
	if (fgets(out, (int)size, fp) != NULL)
		out[strcspn(out, "\n")] = '\0';
	st = pclose(fp);
	unlink(path);
	return st;
}

static const char py_recv[] =
    "import boto3, os, sys\n"
    "sqs = boto3.client('sqs', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\n"
    "want = open(sys.argv[2], 'rb').read().decode('utf-8')\n"
    "r = sqs.receive_message(QueueUrl=sys.argv[1], WaitTimeSeconds=5,\n"
    "    MaxNumberOfMessages=1)\n"
    "m = r.get('Messages', [])\n"
    "if not m: print('NONE'); sys.exit(1)\n"
    "sqs.delete_message(QueueUrl=sys.argv[1], ReceiptHandle=m[0]['ReceiptHandle'])\n"
    "print('MATCH' if m[0]['Body'] == want else 'MISMATCH %r' % m[0]['Body'])\n";

static const char py_send[] =
    "import boto3, os, sys\n"
    "sqs = boto3.client('sqs', endpoint_url=os.environ['AWS_ENDPOINT_URL'])\n"
    "body = open(sys.argv[2], 'rb').read().decode('utf-8')\n"
    "r = sqs.send_message(QueueUrl=sys.argv[1], MessageBody=body)\n"
    "print(r['MessageId'])\n";

static void
test_boto3(void)
{
	static const char body[] = "{\"site\": \"walmart\", \"searchterms_str\": "
	    "\"caf\xc3\xa9 \\\"cr\xc3\xa8me\\\" & <br/>\", \"emoji\": \"\xf0\x9f\x9a\x80\"}\n\ttail";
	char url[512], line[512], bodyf[] = "/tmp/test_sqs_body.XXXXXX";
	struct tp_out o, r;
	int fd;

	if (system("python3 -c 'import boto3' 2>/dev/null") != 0) {
		skip("boto3 not installed");
		return;
	}
	create_queue("smd-boto3", url, sizeof(url));
	fd = mkstemp(bodyf);
	ok(fd >= 0 && write(fd, body, strlen(body)) == (ssize_t)strlen(body), "body file");
	close(fd);

	send_one(url, body, &o);
	is_int(o.code, 0, "we send");
	is_int(py(py_recv, url, bodyf, line, sizeof(line)), 0, "boto3 receives");
	is_str(line, "MATCH", "boto3 got exactly our body");

	is_int(py(py_send, url, bodyf, line, sizeof(line)), 0, "boto3 sends");
	recv_some(url, 1, 5, 60, &r);
	is_int(r.n, 1, "we receive boto3's message");
	ok(r.n == 1 && strcmp(r.m[0].body, body) == 0, "byte for byte");
	ok(r.n == 1 && strcmp(r.m[0].id, line) == 0, "with the message id boto3 was given");
	unlink(bodyf);
}

int
main(void)
{
	struct tp_config cfg;
	struct sm_error err;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP") != NULL || getenv("AWS_ENDPOINT_URL") == NULL)
		skip_all("run under test/support/with_moto.sh (moto_server needed)");
	if (strncmp(getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:", 17) != 0)
		bail_out("refusing to run against a non-loopback endpoint");
	if ((getenv("AWS_ENDPOINT_URL_SQS") != NULL &&
	    strncmp(getenv("AWS_ENDPOINT_URL_SQS"), "http://127.0.0.1:", 17) != 0) ||
	    (getenv("AWS_ENDPOINT_URL_S3") != NULL &&
	    strncmp(getenv("AWS_ENDPOINT_URL_S3"), "http://127.0.0.1:", 17) != 0))
		bail_out("refusing to run against a non-loopback endpoint");
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");
	tp_config_init(&cfg);
	cfg.backend = "aws";
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	is_str(tp_backend_name(tp), "aws", "aws backend");

	test_basic();
	test_missing();
	test_batches();
	test_bodies();
	test_long_poll();
	test_wrong_secret();
	test_boto3();

	tp_destroy(tp);
	sm_loop_destroy(loop);
	return done_testing();
}
