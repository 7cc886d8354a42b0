/*
 * fuzz_sqs_json.c - the SQS answer parsers on hostile server answers.
 *
 * Input: the first byte picks the operation (byte % 10) and, for the
 * batch operations, how many entry ids were sent (byte / 10 % 11: ids
 * "e0".."e9"); the rest is the answer body, parsed as a 200 answer
 * (tp__sqs_parse_answer) and as an error answer (tp__aws_parse_error_json).
 *
 * Invariants: the callback runs exactly once; a failure has a message
 * naming the operation; a success is well-formed for its kind (a non-empty
 * queue URL; at most 10 messages, each with an id, a receipt, a body whose
 * MD5 matches MD5OfBody when one is given; one batch outcome per sent id,
 * in order, each failure with a message, each sent one with a message id;
 * attributes with names and
 * values); the error parser returns 0 or SM_EPARSE with printable,
 * NUL-terminated code and message.
 *
 * SM_FUZZ_VERBOSE=1 prints each outcome (to see what a corpus file does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "aws_private.h"
#include "sqs_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ops[] = {
	"GetQueueUrl", "CreateQueue", "ReceiveMessage", "SendMessage", "DeleteMessage",
	"ChangeMessageVisibility", "SendMessageBatch", "DeleteMessageBatch",
	"ChangeMessageVisibilityBatch", "GetQueueAttributes",
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static const char *const ids[] = { "e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9" };

struct seen {
	const char *op;
	size_t nids;
	int calls;
};

/* A failure: a code and a message that names the operation. */
static int
check_result(struct seen *s, const struct tp_result *r)
{
	char want[64];

	s->calls++;
	if (r == NULL)
		abort();
	if (getenv("SM_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s: %s\n", s->op, r->code == 0 ? "ok" : r->message);
	if (r->code == 0)
		return 0;
	if (r->code != SM_EPROTO && r->code != SM_ECORRUPT && r->code != SM_ENOMEM)
		abort();
	snprintf(want, sizeof(want), "sqs %s: ", s->op);
	if (r->message == NULL || strncmp(r->message, want, strlen(want)) != 0)
		abort();
	return -1;
}

static void
on_url(void *arg, const struct tp_result *r, const char *url)
{
	if (check_result(arg, r) != 0) {
		if (url != NULL)
			abort();
		return;
	}
	if (url == NULL || *url == '\0')
		abort();
}

static void
md5_hex(const void *p, size_t n, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0, i;

	if (EVP_Digest(p, n, d, &dn, EVP_md5(), NULL) != 1 || dn != 16)
		abort();
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
on_recv(void *arg, const struct tp_result *r, const struct tp_message *m, size_t n)
{
	size_t i;
	char md5[33];

	if (check_result(arg, r) != 0) {
		if (m != NULL || n != 0)
			abort();
		return;
	}
	if (n > 10 || (n > 0 && m == NULL))
		abort();
	for (i = 0; i < n; i++) {
		if (m[i].message_id == NULL || m[i].receipt == NULL || m[i].body == NULL)
			abort();
		if (m[i].body[m[i].body_len] != '\0')
			abort();
		if (m[i].md5_body != NULL) {
			md5_hex(m[i].body, m[i].body_len, md5);
			if (strcasecmp(md5, m[i].md5_body) != 0)
				abort();
		}
	}
}

static void
on_sent(void *arg, const struct tp_result *r, const char *id)
{
	if (check_result(arg, r) != 0) {
		if (id != NULL)
			abort();
		return;
	}
	if (id == NULL)
		abort();
}

static void
on_done(void *arg, const struct tp_result *r)
{
	check_result(arg, r);
}

static void
on_batch(void *arg, const struct tp_result *r, const struct tp_batch_outcome *o, size_t n)
{
	struct seen *s = arg;
	size_t i;

	if (check_result(s, r) != 0) {
		if (o != NULL || n != 0)
			abort();
		return;
	}
	if (n != s->nids || (n > 0 && o == NULL))
		abort();
	for (i = 0; i < n; i++) {
		if (o[i].id == NULL || strcmp(o[i].id, ids[i]) != 0)
			abort();
		if (o[i].code != 0 && o[i].code != SM_EPROTO && o[i].code != SM_EINVAL &&
		    o[i].code != SM_ESERVICE)
			abort();
		if (o[i].code != 0 && (o[i].message == NULL || strstr(o[i].message, ids[i]) == NULL))
			abort();
		if (o[i].code == 0 && o[i].message != NULL)
			abort();
		/* as for SendMessage: a sent message has an id */
		if (o[i].code == 0 && strcmp(s->op, "SendMessageBatch") == 0 &&
		    o[i].message_id == NULL)
			abort();
	}
}

static void
on_attrs(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	size_t i;

	if (check_result(arg, r) != 0) {
		if (a != NULL || n != 0)
			abort();
		return;
	}
	if (n > 0 && a == NULL)
		abort();
	for (i = 0; i < n; i++)
		if (a[i].name == NULL || a[i].value == NULL)
			abort();
}

static void
check_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size), i;

	if (n == size)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp__sqs_sink sink = { on_url, on_recv, on_sent, on_done, on_batch, on_attrs, NULL };
	struct aws_service_error se;
	struct http_response resp;
	struct seen s;
	char *body;
	int rc;

	if (size < 1 || size > 1024 * 1024)
		return 0;
	memset(&s, 0, sizeof(s));
	s.op = ops[data[0] % NOPS];
	s.nids = (size_t)(data[0] / NOPS) % 11;
	sink.arg = &s;
	/* NUL-terminated as http.c delivers bodies; the length is exact */
	if ((body = malloc(size)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	rc = tp__sqs_parse_answer(s.op, body, size - 1, "hello", ids, NULL, s.nids, &sink);
	if (rc != 0 || s.calls != 1)
		abort();

	memset(&resp, 0, sizeof(resp));
	resp.status = 400;
	resp.body = body;
	resp.body_len = size - 1;
	memset(&se, 0x55, sizeof(se));
	rc = tp__aws_parse_error_json(&resp, &se);
	if (rc != 0 && rc != SM_EPARSE)
		abort();
	check_printable(se.code, sizeof(se.code));
	check_printable(se.message, sizeof(se.message));
	if (rc == 0 && se.code[0] == '\0' && se.message[0] == '\0')
		abort();
	free(body);
	return 0;
}
