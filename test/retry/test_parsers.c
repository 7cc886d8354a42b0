/*
 * test_parsers.c - the aws layer's error parsers and code classifiers on
 * good, bad and random input (no network).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_private.h"
#include "sqs_private.h"
#include "tap.h"

static int
parse(aws_error_parser *p, const char *body, size_t len, struct aws_service_error *se)
{
	struct http_response r;

	memset(&r, 0, sizeof(r));
	r.status = 400;
	r.body = body;
	r.body_len = len;
	return p(&r, se);
}

static int
sane(const struct aws_service_error *se)
{
	size_t i;

	if (strlen(se->code) >= sizeof(se->code) || strlen(se->message) >= sizeof(se->message))
		return 0;
	for (i = 0; se->code[i]; i++)
		if ((unsigned char)se->code[i] < 0x20)
			return 0;
	for (i = 0; se->message[i]; i++)
		if ((unsigned char)se->message[i] < 0x20)
			return 0;
	return 1;
}

/* ---- SQS answers (tp__sqs_parse_answer) ---- */

struct sqs_seen {
	int calls, code, n;
	int codes[4];
	char ids[4][16], msgs[4][160];
};

static void
sqs_batch_cb(void *arg, const struct tp_result *r, const struct tp_batch_outcome *o, size_t n)
{
	struct sqs_seen *s = arg;
	size_t i;

	s->calls++;
	s->code = r->code;
	s->n = (int)n;
	for (i = 0; i < n && i < 4; i++) {
		s->codes[i] = o[i].code;
		snprintf(s->ids[i], sizeof(s->ids[i]), "%s",
		    o[i].message_id != NULL ? o[i].message_id : "(null)");
		snprintf(s->msgs[i], sizeof(s->msgs[i]), "%s",
		    o[i].message != NULL ? o[i].message : "");
	}
}

static void
sqs_recv_cb(void *arg, const struct tp_result *r, const struct tp_message *m, size_t n)
{
	struct sqs_seen *s = arg;

	(void)m;
	s->calls++;
	s->code = r->code;
	s->n = (int)n;
}

static void
sqs_sent_cb(void *arg, const struct tp_result *r, const char *id)
{
	struct sqs_seen *s = arg;

	(void)id;
	s->calls++;
	s->code = r->code;
}

static void
test_sqs_answers(void)
{
	static const char *const ids[] = { "e0", "e1", "e2" };
	static const char *const bodies[] = { "b0", "b1", "b2" };
	struct tp__sqs_sink sink;
	struct sqs_seen s;
	const char *a;
	char many[2048];
	size_t k;

	memset(&sink, 0, sizeof(sink));
	sink.batch = sqs_batch_cb;
	sink.recv = sqs_recv_cb;
	sink.arg = &s;

	/* found by fuzz_sqs_json: a "Successful" send entry without a MessageId
	 * was reported sent with a NULL message id */
	memset(&s, 0, sizeof(s));
	a = "{\"Successful\":[{\"Id\":\"e0\",\"MessageId\":\"m0\",\"MD5OfMessageBody\":"
	    "\"f851f55ba1a84e37c4e03439954dcb09\"},{\"Id\":\"e1\"}],"
	    "\"Failed\":[{\"Id\":\"e2\",\"Code\":\"X\",\"Message\":\"no\"}]}";
	is_int(tp__sqs_parse_answer("SendMessageBatch", a, strlen(a), NULL, ids, bodies, 3,
	    &sink), 0, "send batch answer parsed");
	is_int(s.calls, 1, "callback ran once");
	is_int(s.n, 3, "one outcome per entry");
	is_int(s.codes[0], 0, "e0 sent");
	is_str(s.ids[0], "m0", "with its message id");
	is_int(s.codes[1], SM_EPROTO, "e1 listed as sent without a MessageId: SM_EPROTO");
	like_str(s.msgs[1], "entry 'e1' is listed as sent but has no 'MessageId'",
	    "and says so");
	is_int(s.codes[2], SM_ESERVICE, "e2 failed");
	/* each sent entry's MD5OfMessageBody is checked as SendMessage's is */
	memset(&s, 0, sizeof(s));
	a = "{\"Successful\":[{\"Id\":\"e0\",\"MessageId\":\"m0\",\"MD5OfMessageBody\":"
	    "\"F851F55BA1A84E37C4E03439954DCB09\"},{\"Id\":\"e1\",\"MessageId\":\"m1\","
	    "\"MD5OfMessageBody\":\"f851f55ba1a84e37c4e03439954dcb09\"},{\"Id\":\"e2\","
	    "\"MessageId\":\"m2\"}]}";
	tp__sqs_parse_answer("SendMessageBatch", a, strlen(a), NULL, ids, bodies, 3, &sink);
	is_int(s.codes[0], 0, "e0: its MD5 matches (any case)");
	is_int(s.codes[1], SM_ECORRUPT, "e1: the MD5 of another body is SM_ECORRUPT");
	like_str(s.msgs[1], "different body for entry 'e1'", "and says so");
	is_int(s.codes[2], SM_EPROTO, "e2: no MD5OfMessageBody is SM_EPROTO");
	like_str(s.msgs[2], "no 'MD5OfMessageBody'", "and says so");
	/* SendMessage likewise: without the MD5 nothing says the body arrived */
	{
		struct tp__sqs_sink ss;
		memset(&ss, 0, sizeof(ss));
		ss.sent = sqs_sent_cb;
		ss.arg = &s;
		memset(&s, 0, sizeof(s));
		a = "{\"MessageId\":\"m0\"}";
		tp__sqs_parse_answer("SendMessage", a, strlen(a), "hello", NULL, NULL, 0, &ss);
		is_int(s.code, SM_EPROTO, "SendMessage without MD5OfMessageBody: SM_EPROTO");
		memset(&s, 0, sizeof(s));
		a = "{\"MessageId\":\"m0\",\"MD5OfMessageBody\":"
		    "\"5d41402abc4b2a76b9719d911017c592\"}";
		tp__sqs_parse_answer("SendMessage", a, strlen(a), "hello", NULL, NULL, 0, &ss);
		is_int(s.code, 0, "SendMessage with the right MD5: sent");
	}
	/* a delete batch answer carries no message ids */
	memset(&s, 0, sizeof(s));
	a = "{\"Successful\":[{\"Id\":\"e0\"}]}";
	tp__sqs_parse_answer("DeleteMessageBatch", a, strlen(a), NULL, ids, NULL, 2, &sink);
	is_int(s.codes[0], 0, "delete batch: e0 deleted without a message id");
	is_int(s.codes[1], SM_EPROTO, "e1 not mentioned: SM_EPROTO");

	/* receive: more than 10 messages, not JSON, a body not matching its MD5 */
	k = (size_t)snprintf(many, sizeof(many), "{\"Messages\":[");
	for (int i = 0; i < 11; i++)
		k += (size_t)snprintf(many + k, sizeof(many) - k, "%s{\"MessageId\":\"m%d\","
		    "\"ReceiptHandle\":\"r\",\"Body\":\"b\"}", i ? "," : "", i);
	snprintf(many + k, sizeof(many) - k, "]}");
	memset(&s, 0, sizeof(s));
	tp__sqs_parse_answer("ReceiveMessage", many, strlen(many), NULL, NULL, NULL, 0, &sink);
	is_int(s.code, SM_EPROTO, "11 messages in an answer: SM_EPROTO");
	memset(&s, 0, sizeof(s));
	tp__sqs_parse_answer("ReceiveMessage", "<html>", 6, NULL, NULL, NULL, 0, &sink);
	is_int(s.code, SM_EPROTO, "an HTML answer: SM_EPROTO");
	memset(&s, 0, sizeof(s));
	a = "{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"b\","
	    "\"MD5OfBody\":\"00000000000000000000000000000000\"}]}";
	tp__sqs_parse_answer("ReceiveMessage", a, strlen(a), NULL, NULL, NULL, 0, &sink);
	ok(s.code == 0 && s.n == 0, "a message whose body does not match its MD5 is skipped");
	is_int(tp__sqs_parse_answer("NoSuchOperation", "{}", 2, NULL, NULL, NULL, 0, &sink), SM_EINVAL,
	    "unknown operation refused");
}

int
main(void)
{
	struct aws_service_error se;
	static const char *const seeds[] = {
		"{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"gone\"}",
		("<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>sig</Message>"
		"</Error></ErrorResponse>"),
		"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>k</Message></Error>",
		"{\"code\":\"X\",\"Message\":\"y\"}",
	};
	char buf[4096], big[300000];
	unsigned seed = 12345;
	int i, all_sane = 1;
	size_t k;

	plan_no_plan();

	is_int(parse(tp__aws_parse_error_json, seeds[0], strlen(seeds[0]), &se), 0, "json error");
	is_str(se.code, "QueueDoesNotExist", "code after '#'");
	is_str(se.message, "gone", "message");
	is_int(parse(tp__aws_parse_error_json, seeds[1], strlen(seeds[1]), &se), 0,
	    "json parser reads a query-style XML error too (moto's auth errors)");
	is_str(se.code, "SignatureDoesNotMatch", "its code");
	is_int(parse(tp__aws_parse_error_xml, seeds[2], strlen(seeds[2]), &se), 0, "s3 xml error");
	is_str(se.code, "NoSuchKey", "its code");
	is_str(se.message, "k", "its message");
	is_int(parse(tp__aws_parse_error_json, seeds[3], strlen(seeds[3]), &se), 0,
	    "'code' and 'Message' spellings");
	is_str(se.code, "X", "code");
	is_int(parse(tp__aws_parse_error_json, "", 0, &se), SM_EPARSE, "empty body: nothing");
	is_int(parse(tp__aws_parse_error_json, "{", 1, &se), SM_EPARSE, "truncated JSON: nothing");
	is_int(parse(tp__aws_parse_error_json, "<Code>", 6, &se), SM_EPARSE, "unclosed tag");
	is_int(parse(tp__aws_parse_error_json, "{\"__type\": 5}", 13, &se), SM_EPARSE,
	    "a number as __type is ignored");

	/* a 200 KB code is cut, never overflows */
	memcpy(big, "<Code>", 6);
	memset(big + 6, 'A', 200000);
	memcpy(big + 200006, "</Code>", 7);
	is_int(parse(tp__aws_parse_error_json, big, 200013, &se), 0, "huge code parsed");
	is_int(strlen(se.code), sizeof(se.code) - 1, "and truncated to the buffer");
	/* deep nesting */
	for (k = 0; k < 100000; k++)
		big[k] = '[';
	parse(tp__aws_parse_error_json, big, 100000, &se);
	ok(1, "100000 nested '[' do not crash the parser");
	for (k = 0; k < 50000; k++) {
		big[2 * k] = '{';
		big[2 * k + 1] = '"';
	}
	parse(tp__aws_parse_error_json, big, 100000, &se);
	ok(1, "nested unterminated objects do not crash the parser");

	/* random mutations of the seeds and random bytes */
	for (i = 0; i < 20000; i++) {
		const char *s = seeds[(size_t)i % 4];
		size_t len = strlen(s), j, n;
		memcpy(buf, s, len);
		n = (size_t)(rand_r(&seed) % 8) + 1;
		for (j = 0; j < n; j++)
			buf[rand_r(&seed) % len] = (char)(rand_r(&seed) & 0xff);
		if (i % 3 == 0)
			len = (size_t)rand_r(&seed) % (len + 1);
		if (i % 7 == 0) {
			len = (size_t)rand_r(&seed) % sizeof(buf);
			for (j = 0; j < len; j++)
				buf[j] = (char)(rand_r(&seed) & 0xff);
		}
		parse(tp__aws_parse_error_json, buf, len, &se);
		all_sane &= sane(&se);
		parse(tp__aws_parse_error_xml, buf, len, &se);
		all_sane &= sane(&se);
	}
	ok(all_sane, "20000 mutated bodies: codes and messages bounded, no control bytes");

	ok(tp__aws_code_is_throttling("ThrottlingException"), "ThrottlingException throttles");
	ok(tp__aws_code_is_throttling("SlowDown"), "SlowDown throttles");
	ok(tp__aws_code_is_throttling("AWS.SimpleQueueService.RequestThrottled"),
	    "the SQS query code throttles");
	ok(tp__aws_code_is_throttling("RequestLimitExceeded"), "RequestLimitExceeded throttles");
	ok(!tp__aws_code_is_throttling("InvalidParameterValue"), "InvalidParameterValue does not");
	ok(!tp__aws_code_is_throttling(""), "empty does not");
	ok(!tp__aws_code_is_throttling(NULL), "NULL does not");
	ok(tp__aws_code_is_transient("InternalError"), "InternalError is transient");
	ok(tp__aws_code_is_transient("RequestTimeout"), "RequestTimeout is transient");
	ok(!tp__aws_code_is_transient("AccessDenied"), "AccessDenied is not");
	test_sqs_answers();
	return done_testing();
}
