/*
 * test_parsers.c - the aws layer's error parsers and code classifiers on
 * good, bad and random input (no network).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_private.h"
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

	is_int(parse(aws_parse_error_json, seeds[0], strlen(seeds[0]), &se), 0, "json error");
	is_str(se.code, "QueueDoesNotExist", "code after '#'");
	is_str(se.message, "gone", "message");
	is_int(parse(aws_parse_error_json, seeds[1], strlen(seeds[1]), &se), 0,
	    "json parser reads a query-style XML error too (moto's auth errors)");
	is_str(se.code, "SignatureDoesNotMatch", "its code");
	is_int(parse(aws_parse_error_xml, seeds[2], strlen(seeds[2]), &se), 0, "s3 xml error");
	is_str(se.code, "NoSuchKey", "its code");
	is_str(se.message, "k", "its message");
	is_int(parse(aws_parse_error_json, seeds[3], strlen(seeds[3]), &se), 0,
	    "'code' and 'Message' spellings");
	is_str(se.code, "X", "code");
	is_int(parse(aws_parse_error_json, "", 0, &se), SM_EPARSE, "empty body: nothing");
	is_int(parse(aws_parse_error_json, "{", 1, &se), SM_EPARSE, "truncated JSON: nothing");
	is_int(parse(aws_parse_error_json, "<Code>", 6, &se), SM_EPARSE, "unclosed tag");
	is_int(parse(aws_parse_error_json, "{\"__type\": 5}", 13, &se), SM_EPARSE,
	    "a number as __type is ignored");

	/* a 200 KB code is cut, never overflows */
	memcpy(big, "<Code>", 6);
	memset(big + 6, 'A', 200000);
	memcpy(big + 200006, "</Code>", 7);
	is_int(parse(aws_parse_error_json, big, 200013, &se), 0, "huge code parsed");
	is_int(strlen(se.code), sizeof(se.code) - 1, "and truncated to the buffer");
	/* deep nesting */
	for (k = 0; k < 100000; k++)
		big[k] = '[';
	parse(aws_parse_error_json, big, 100000, &se);
	ok(1, "100000 nested '[' do not crash the parser");
	for (k = 0; k < 50000; k++) {
		big[2 * k] = '{';
		big[2 * k + 1] = '"';
	}
	parse(aws_parse_error_json, big, 100000, &se);
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
		parse(aws_parse_error_json, buf, len, &se);
		all_sane &= sane(&se);
		parse(aws_parse_error_xml, buf, len, &se);
		all_sane &= sane(&se);
	}
	ok(all_sane, "20000 mutated bodies: codes and messages bounded, no control bytes");

	ok(aws_code_is_throttling("ThrottlingException"), "ThrottlingException throttles");
	ok(aws_code_is_throttling("SlowDown"), "SlowDown throttles");
	ok(aws_code_is_throttling("AWS.SimpleQueueService.RequestThrottled"),
	    "the SQS query code throttles");
	ok(aws_code_is_throttling("RequestLimitExceeded"), "RequestLimitExceeded throttles");
	ok(!aws_code_is_throttling("InvalidParameterValue"), "InvalidParameterValue does not");
	ok(!aws_code_is_throttling(""), "empty does not");
	ok(!aws_code_is_throttling(NULL), "NULL does not");
	ok(aws_code_is_transient("InternalError"), "InternalError is transient");
	ok(aws_code_is_transient("RequestTimeout"), "RequestTimeout is transient");
	ok(!aws_code_is_transient("AccessDenied"), "AccessDenied is not");
	return done_testing();
}
