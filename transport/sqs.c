/*
 * sqs.c - SQS over the AWS JSON 1.0 protocol for the "aws" backend.
 *
 * Every operation is a POST of a JSON object to the service endpoint with
 * X-Amz-Target: AmazonSQS.<Operation>; answers are JSON objects, errors
 * {"__type": "com.amazonaws.sqs#Code", "message": ...} plus the
 * x-amzn-query-error header (tp__aws_parse_error_json).  Answers are treated
 * as hostile: anything missing or of the wrong type is a clear SM_EPROTO,
 * never a crash, and received bodies are checked against their MD5OfBody.
 */
#include "aws_private.h"
#include "sqs_private.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sm_digest.h"
#include "sm_log.h"
#include "sm_text.h"

/* Largest answer we read: 10 messages of 256 KiB, JSON-escaped. */
#define SQS_RECV_MAX (16u * 1024 * 1024)
#define SQS_RESP_MAX (1024u * 1024)

struct sqs_ctx {
	struct aws_op base;         /* first: the handle for cancel */
	enum tp__cb_kind kind;
	const char *op;
	union tp__cb cb;
	void *arg;
	char sent_md5[33];          /* SendMessage: MD5 of the body we sent */
	char **ids;                 /* batch: entry ids in order */
	char (*md5s)[33];           /* SendMessageBatch: MD5 of each body sent */
	size_t nids;
};

static void
ctx_free(struct sqs_ctx *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->nids; i++)
		free(x->ids[i]);
	free(x->ids);
	free(x->md5s);
	free(x);
}

/* Deliver a failure to whichever callback the context holds. */
static void
deliver_error(struct sqs_ctx *x, const struct tp_result *r)
{
	tp__cb_fail(x->kind, x->cb, x->arg, r);
}

__attribute__((format(printf, 4, 5))) static void
deliver_proto(struct sqs_ctx *x, const struct tp_result *base, int code, const char *fmt, ...)
{
	struct tp_result r = *base;
	char what[512], msg[SM_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "sqs %s: %s", x->op, what);
	r.code = code;
	r.message = msg;
	deliver_error(x, &r);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
on_receive(struct sqs_ctx *x, const struct tp_result *r, json_t *root)
{
	json_t *arr = json_object_get(root, "Messages"), *m;
	struct tp_message *msgs = NULL;
	size_t i, n = 0;

	if (arr != NULL && !json_is_array(arr)) {
		deliver_proto(x, r, SM_EPROTO, "'Messages' in the answer is not a list");
		return;
	}
	if (arr != NULL && json_array_size(arr) > 0) {
		if (json_array_size(arr) > 10) {
			deliver_proto(x, r, SM_EPROTO, "answer holds %zu messages, at most 10 "
			    "were asked for", json_array_size(arr));
			return;
		}
		if ((msgs = calloc(json_array_size(arr), sizeof(*msgs))) == NULL) {
			deliver_proto(x, r, SM_ENOMEM, "out of memory");
			return;
		}
	}
	json_array_foreach(arr, i, m) {
		struct tp_message *t = &msgs[n];
		json_t *body = json_object_get(m, "Body"), *attrs;
		const char *rc, *ts;
		char md5[33];

		t->message_id = jstr(m, "MessageId");
		t->receipt = jstr(m, "ReceiptHandle");
		t->md5_body = jstr(m, "MD5OfBody");
		if (!json_is_object(m) || t->message_id == NULL || t->receipt == NULL ||
		    !json_is_string(body)) {
			free(msgs);
			deliver_proto(x, r, SM_EPROTO, "message %zu of the answer lacks "
			    "MessageId, ReceiptHandle or Body", i + 1);
			return;
		}
		t->body = json_string_value(body);
		t->body_len = json_string_length(body);
		if (t->md5_body != NULL) {
			sm_digest_hex(SM_DIGEST_MD5, t->body, t->body_len, md5);
			if (strcasecmp(md5, t->md5_body) != 0) {
				/* it will come back after its visibility timeout */
				sm_log_warn("sqs ReceiveMessage: message '%s' body does not "
				    "match its MD5OfBody (got %s, want %.40s); skipped",
				    t->message_id, md5, t->md5_body);
				continue;
			}
		}
		attrs = json_object_get(m, "Attributes");
		rc = jstr(attrs, "ApproximateReceiveCount");
		ts = jstr(attrs, "SentTimestamp");
		t->receive_count = rc != NULL ? (unsigned)strtoul(rc, NULL, 10) : 0;
		t->sent_ms = ts != NULL ? strtoll(ts, NULL, 10) : 0;
		n++;
	}
	x->cb.recv(x->arg, r, msgs, n);
	free(msgs);
}

static void
on_batch(struct sqs_ctx *x, const struct tp_result *r, json_t *root)
{
	json_t *ok = json_object_get(root, "Successful");
	json_t *bad = json_object_get(root, "Failed");
	struct tp_batch_outcome *out;
	char (*msgs)[512];
	int send = strcmp(x->op, "SendMessageBatch") == 0;
	size_t i, j;
	json_t *e;

	if ((ok != NULL && !json_is_array(ok)) || (bad != NULL && !json_is_array(bad))) {
		deliver_proto(x, r, SM_EPROTO, "'Successful' or 'Failed' is not a list");
		return;
	}
	out = calloc(x->nids, sizeof(*out));
	msgs = calloc(x->nids, sizeof(*msgs));
	if (out == NULL || msgs == NULL) {
		free(out);
		free(msgs);
		deliver_proto(x, r, SM_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < x->nids; i++) {
		out[i].id = x->ids[i];
		out[i].code = SM_EPROTO;
		out[i].message = msgs[i];
		snprintf(msgs[i], sizeof(msgs[i]),
		    "sqs %s: the answer says nothing about entry '%s'", x->op, x->ids[i]);
	}
	json_array_foreach(ok, j, e) {
		const char *id = jstr(e, "Id");
		for (i = 0; id != NULL && i < x->nids; i++) {
			if (strcmp(id, x->ids[i]) != 0)
				continue;
			const char *md5 = jstr(e, "MD5OfMessageBody");

			/* as SendMessage: a sent message without an id is no answer,
			 * and the service must say it saw the body we sent */
			if (send && jstr(e, "MessageId") == NULL) {
				snprintf(msgs[i], sizeof(msgs[i]), "sqs %s: entry '%s' is listed "
				    "as sent but has no 'MessageId'", x->op, x->ids[i]);
			} else if (send && md5 == NULL) {
				snprintf(msgs[i], sizeof(msgs[i]), "sqs %s: entry '%s' is listed "
				    "as sent but has no 'MD5OfMessageBody': what the service "
				    "received is unchecked", x->op, x->ids[i]);
			} else if (send && (x->md5s == NULL ||
			    strcasecmp(md5, x->md5s[i]) != 0)) {
				out[i].code = SM_ECORRUPT;
				snprintf(msgs[i], sizeof(msgs[i]), "sqs %s: the service saw a "
				    "different body for entry '%s': MD5OfMessageBody %.40s, ours "
				    "%s", x->op, x->ids[i], md5,
				    x->md5s != NULL ? x->md5s[i] : "");
			} else {
				out[i].code = 0;
				out[i].message = NULL;
				out[i].message_id = jstr(e, "MessageId");
			}
		}
	}
	json_array_foreach(bad, j, e) {
		const char *id = jstr(e, "Id");
		const char *code = jstr(e, "Code"), *m = jstr(e, "Message");
		for (i = 0; id != NULL && i < x->nids; i++) {
			if (strcmp(id, x->ids[i]) != 0)
				continue;
			out[i].code = code != NULL && strstr(code, "ReceiptHandle") != NULL ?
			    SM_EINVAL : SM_ESERVICE;
			out[i].err_code = code;
			snprintf(msgs[i], sizeof(msgs[i]), "sqs %s: entry '%s' failed: %s%s%s",
			    x->op, x->ids[i], code ? code : "unknown error", m ? ": " : "",
			    m ? m : "");
			out[i].message = msgs[i];
		}
	}
	x->cb.batch(x->arg, r, out, x->nids);
	free(out);
	free(msgs);
}

static void
on_attrs(struct sqs_ctx *x, const struct tp_result *r, json_t *root)
{
	json_t *o = json_object_get(root, "Attributes"), *v;
	struct tp_attr *a = NULL;
	const char *k;
	size_t n = 0;

	if (o != NULL && !json_is_object(o)) {
		deliver_proto(x, r, SM_EPROTO, "'Attributes' is not an object");
		return;
	}
	if (json_object_size(o) > 0 && (a = calloc(json_object_size(o), sizeof(*a))) == NULL) {
		deliver_proto(x, r, SM_ENOMEM, "out of memory");
		return;
	}
	json_object_foreach(o, k, v) {
		if (!json_is_string(v))
			continue;
		a[n].name = k;
		a[n].value = json_string_value(v);
		n++;
	}
	x->cb.attrs(x->arg, r, a, n);
	free(a);
}

static void
on_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct sqs_ctx *x = arg;
	json_error_t jerr;
	json_t *root = NULL;
	const char *s;

	if (r->code != 0) {
		deliver_error(x, r);
		goto out;
	}
	if (resp->body_len == 0 && (x->kind == TP__CB_DONE)) {
		x->cb.done(x->arg, r);
		goto out;
	}
	root = json_loadb(resp->body, resp->body_len, 0, &jerr);
	if (!json_is_object(root)) {
		if (root == NULL)
			deliver_proto(x, r, SM_EPROTO, "the answer (HTTP %d, %zu bytes) is not "
			    "JSON: line %d column %d: %s", r->http_status, resp->body_len,
			    jerr.line, jerr.column, jerr.text);
		else
			deliver_proto(x, r, SM_EPROTO, "the answer is JSON but not an object");
		goto out;
	}
	switch (x->kind) {
	case TP__CB_URL:
		if ((s = jstr(root, "QueueUrl")) == NULL || *s == '\0') {
			deliver_proto(x, r, SM_EPROTO, "the answer has no 'QueueUrl'");
			break;
		}
		x->cb.url(x->arg, r, s);
		break;
	case TP__CB_RECV:
		on_receive(x, r, root);
		break;
	case TP__CB_SENT:
		if ((s = jstr(root, "MessageId")) == NULL) {
			deliver_proto(x, r, SM_EPROTO, "the answer has no 'MessageId'");
			break;
		}
		{
			const char *md5 = jstr(root, "MD5OfMessageBody");
			if (md5 == NULL) {
				deliver_proto(x, r, SM_EPROTO, "the answer has no "
				    "'MD5OfMessageBody': what the service received is unchecked "
				    "(message '%.100s')", s);
				break;
			}
			if (strcasecmp(md5, x->sent_md5) != 0) {
				deliver_proto(x, r, SM_ECORRUPT, "the service saw a different "
				    "body: MD5OfMessageBody %.40s, ours %s (message '%.100s')",
				    md5, x->sent_md5, s);
				break;
			}
		}
		x->cb.sent(x->arg, r, s);
		break;
	case TP__CB_DONE:
		x->cb.done(x->arg, r);
		break;
	case TP__CB_BATCH:
		on_batch(x, r, root);
		break;
	case TP__CB_ATTRS:
		on_attrs(x, r, root);
		break;
	default:                   /* object kinds: never made by ctx_new here */
		deliver_proto(x, r, SM_EPROTO, "no handler for this answer");
		break;
	}
out:
	json_decref(root);
	ctx_free(x);
}

static void
sqs_cancel(struct tp *tp, struct aws_op *op)
{
	struct sqs_ctx *x = (struct sqs_ctx *)op;

	tp__aws_cancel_owner(aws_backend(tp), x);
	ctx_free(x);
}

/* Send `body` (stolen) as AmazonSQS.<op>; *h = x once started. */
static int
sqs_call(struct tp *tp, struct sqs_ctx *x, const char *subject, json_t *body, long extra_ms,
    size_t resp_max, void **handle)
{
	struct aws_backend *b = aws_backend(tp);
	struct http_header h[2];
	struct aws_call_spec s;
	char target[64];
	char *text;
	int rc;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		ctx_free(x);
		return SM_ENOMEM;
	}
	snprintf(target, sizeof(target), "AmazonSQS.%s", x->op);
	h[0].name = "Content-Type";
	h[0].value = "application/x-amz-json-1.0";
	h[1].name = "X-Amz-Target";
	h[1].value = target;
	memset(&s, 0, sizeof(s));
	s.service = "sqs";
	s.op = x->op;
	s.subject = subject;
	s.method = "POST";
	s.path = "/";
	s.headers = h;
	s.nheaders = 2;
	s.body = text;
	s.body_len = strlen(text);
	s.resp_max = resp_max;
	s.timeout_ms = b->request_timeout_ms + extra_ms;
	s.parse_error = tp__aws_parse_error_json;
	s.owner = x;
	x->base.cancel = sqs_cancel;
	rc = tp__aws_call(tp, &s, on_done, x);
	free(text);
	if (rc != 0)
		ctx_free(x);
	else
		*handle = x;
	return rc;
}

static struct sqs_ctx *
ctx_new(enum tp__cb_kind kind, const char *op, void *cb, void *arg)
{
	struct sqs_ctx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->kind = kind;
	x->op = op;
	switch (kind) {
	case TP__CB_URL: x->cb.url = (tp_url_cb *)cb; break;
	case TP__CB_RECV: x->cb.recv = (tp_recv_cb *)cb; break;
	case TP__CB_SENT: x->cb.sent = (tp_sent_cb *)cb; break;
	case TP__CB_DONE: x->cb.done = (tp_done_cb *)cb; break;
	case TP__CB_BATCH: x->cb.batch = (tp_batch_cb *)cb; break;
	case TP__CB_ATTRS: x->cb.attrs = (tp_attrs_cb *)cb; break;
	default: break;            /* object kinds: not SQS */
	}
	x->arg = arg;
	return x;
}

/* json_stringn that refuses invalid UTF-8 (NULL) */
static json_t *
jsn(const char *s)
{
	return json_stringn(s, strlen(s));
}

/* Set key to a new value; 0 or -1 (NULL value: bad UTF-8 or no memory). */
static int
jset(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(o, key, v);
}

#define FUNCPTR(f) ((void *)(uintptr_t)(f))

int
tp__aws_sqs_get_url(struct tp *tp, const char *name, tp_url_cb *cb, void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_URL, "GetQueueUrl", FUNCPTR(cb), arg);
	json_t *b = json_object();

	if (x == NULL || b == NULL || jset(b, "QueueName", jsn(name)) != 0) {
		ctx_free(x);
		json_decref(b);
		return x == NULL || b == NULL ? SM_ENOMEM : SM_EINVAL;
	}
	return sqs_call(tp, x, name, b, 0, SQS_RESP_MAX, h);
}

int
tp__aws_sqs_create(struct tp *tp, const char *name, const struct tp_attr *attrs, size_t n,
    tp_url_cb *cb, void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_URL, "CreateQueue", FUNCPTR(cb), arg);
	json_t *b = json_object(), *a = NULL;
	size_t i;

	if (x == NULL || b == NULL)
		goto nomem;
	if (jset(b, "QueueName", jsn(name)) != 0)
		goto inval;
	if (n > 0) {
		if ((a = json_object()) == NULL)
			goto nomem;
		for (i = 0; i < n; i++)
			if (attrs[i].name == NULL || attrs[i].value == NULL ||
			    jset(a, attrs[i].name, jsn(attrs[i].value)) != 0)
				goto inval;
		json_object_set_new(b, "Attributes", a);
		a = NULL;
	}
	return sqs_call(tp, x, name, b, 0, SQS_RESP_MAX, h);
inval:
	ctx_free(x);
	json_decref(b);
	json_decref(a);
	return SM_EINVAL;
nomem:
	ctx_free(x);
	json_decref(b);
	return SM_ENOMEM;
}

int
tp__aws_sqs_receive(struct tp *tp, const char *url, int max, int wait_s, int visibility_s,
    tp_recv_cb *cb, void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_RECV, "ReceiveMessage", FUNCPTR(cb), arg);
	json_t *b = json_object(), *names;

	if (x == NULL || b == NULL)
		goto nomem;
	if (jset(b, "QueueUrl", jsn(url)) != 0)
		goto nomem;
	json_object_set_new(b, "MaxNumberOfMessages", json_integer(max));
	json_object_set_new(b, "WaitTimeSeconds", json_integer(wait_s));
	if (visibility_s >= 0)
		json_object_set_new(b, "VisibilityTimeout", json_integer(visibility_s));
	names = json_pack("[ss]", "ApproximateReceiveCount", "SentTimestamp");
	if (names == NULL)
		goto nomem;
	/* the new name, and the old one for services that predate it */
	json_object_set(b, "MessageSystemAttributeNames", names);
	json_object_set_new(b, "AttributeNames", names);
	return sqs_call(tp, x, url, b, (long)wait_s * 1000, SQS_RECV_MAX, h);
nomem:
	ctx_free(x);
	json_decref(b);
	return SM_ENOMEM;
}

int
tp__aws_sqs_send(struct tp *tp, const char *url, const char *body, int delay_s, tp_sent_cb *cb,
    void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_SENT, "SendMessage", FUNCPTR(cb), arg);
	json_t *b = json_object();

	if (x == NULL || b == NULL) {
		ctx_free(x);
		json_decref(b);
		return SM_ENOMEM;
	}
	if (jset(b, "QueueUrl", jsn(url)) != 0 || jset(b, "MessageBody", jsn(body)) != 0) {
		/* a body that is not UTF-8 cannot be sent over SQS */
		ctx_free(x);
		json_decref(b);
		return SM_EINVAL;
	}
	if (delay_s > 0)
		json_object_set_new(b, "DelaySeconds", json_integer(delay_s));
	sm_digest_hex(SM_DIGEST_MD5, body, strlen(body), x->sent_md5);
	return sqs_call(tp, x, url, b, 0, SQS_RESP_MAX, h);
}

static int
receipt_op(struct tp *tp, const char *op, const char *url, const char *receipt, int vis,
    tp_done_cb *cb, void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_DONE, op, FUNCPTR(cb), arg);
	json_t *b = json_object();

	if (x == NULL || b == NULL) {
		ctx_free(x);
		json_decref(b);
		return SM_ENOMEM;
	}
	if (jset(b, "QueueUrl", jsn(url)) != 0 || jset(b, "ReceiptHandle", jsn(receipt)) != 0) {
		ctx_free(x);
		json_decref(b);
		return SM_EINVAL;
	}
	if (vis >= 0)
		json_object_set_new(b, "VisibilityTimeout", json_integer(vis));
	return sqs_call(tp, x, url, b, 0, SQS_RESP_MAX, h);
}

int
tp__aws_sqs_delete(
    struct tp *tp, const char *url, const char *receipt, tp_done_cb *cb, void *arg, void **h)
{
	return receipt_op(tp, "DeleteMessage", url, receipt, -1, cb, arg, h);
}

int
tp__aws_sqs_change_visibility(struct tp *tp, const char *url, const char *receipt, int vis,
    tp_done_cb *cb, void *arg, void **h)
{
	return receipt_op(tp, "ChangeMessageVisibility", url, receipt, vis, cb, arg, h);
}

enum batch_kind { B_SEND, B_DELETE, B_VIS };

static int
batch_op(struct tp *tp, enum batch_kind kind, const char *url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg, void **h)
{
	static const char *const ops[] = { "SendMessageBatch", "DeleteMessageBatch",
		"ChangeMessageVisibilityBatch" };
	struct sqs_ctx *x = ctx_new(TP__CB_BATCH, ops[kind], FUNCPTR(cb), arg);
	json_t *b = json_object(), *arr = json_array(), *o = NULL;
	int rc = SM_ENOMEM;
	size_t i;

	if (x == NULL || b == NULL || arr == NULL)
		goto fail;
	if ((x->ids = calloc(n, sizeof(*x->ids))) == NULL)
		goto fail;
	if (kind == B_SEND && (x->md5s = calloc(n, sizeof(*x->md5s))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((x->ids[i] = strdup(e[i].id)) == NULL)
			goto fail;
		x->nids++;
		if ((o = json_object()) == NULL)
			goto fail;
		rc = SM_EINVAL;
		if (jset(o, "Id", jsn(e[i].id)) != 0)
			goto fail;
		switch (kind) {
		case B_SEND:
			if (jset(o, "MessageBody", jsn(e[i].body)) != 0)
				goto fail;
			sm_digest_hex(SM_DIGEST_MD5, e[i].body, strlen(e[i].body), x->md5s[i]);
			if (e[i].delay_s > 0)
				json_object_set_new(o, "DelaySeconds", json_integer(e[i].delay_s));
			break;
		case B_DELETE:
			if (jset(o, "ReceiptHandle", jsn(e[i].receipt)) != 0)
				goto fail;
			break;
		case B_VIS:
			if (jset(o, "ReceiptHandle", jsn(e[i].receipt)) != 0)
				goto fail;
			json_object_set_new(o, "VisibilityTimeout",
			    json_integer(e[i].visibility_s));
			break;
		}
		rc = SM_ENOMEM;
		if (json_array_append_new(arr, o) != 0) {
			o = NULL;
			goto fail;
		}
		o = NULL;
	}
	rc = SM_EINVAL;
	if (jset(b, "QueueUrl", jsn(url)) != 0)
		goto fail;
	json_object_set_new(b, "Entries", arr);
	return sqs_call(tp, x, url, b, 0, SQS_RESP_MAX, h);
fail:
	json_decref(o);
	json_decref(arr);
	json_decref(b);
	ctx_free(x);
	return rc;
}

int
tp__aws_sqs_send_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e, size_t n,
    tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, B_SEND, url, e, n, cb, arg, h);
}

int
tp__aws_sqs_delete_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e, size_t n,
    tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, B_DELETE, url, e, n, cb, arg, h);
}

int
tp__aws_sqs_change_visibility_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e,
    size_t n, tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, B_VIS, url, e, n, cb, arg, h);
}

int
tp__aws_sqs_attributes(struct tp *tp, const char *url, const char *const *names, size_t n,
    tp_attrs_cb *cb, void *arg, void **h)
{
	struct sqs_ctx *x = ctx_new(TP__CB_ATTRS, "GetQueueAttributes", FUNCPTR(cb), arg);
	json_t *b = json_object(), *arr = json_array();
	size_t i;

	if (x == NULL || b == NULL || arr == NULL) {
		ctx_free(x);
		json_decref(b);
		json_decref(arr);
		return SM_ENOMEM;
	}
	if (n == 0)
		json_array_append_new(arr, json_string("All"));
	for (i = 0; i < n; i++) {
		if (names[i] == NULL || json_array_append_new(arr, jsn(names[i])) != 0) {
			ctx_free(x);
			json_decref(b);
			json_decref(arr);
			return SM_EINVAL;
		}
	}
	json_object_set_new(b, "AttributeNames", arr);
	if (jset(b, "QueueUrl", jsn(url)) != 0) {
		ctx_free(x);
		json_decref(b);
		return SM_EINVAL;
	}
	return sqs_call(tp, x, url, b, 0, SQS_RESP_MAX, h);
}

/* ---- the parser alone (sqs_private.h) ----------------------------------- */

int
tp__sqs_parse_answer(const char *op, const char *body, size_t len, const char *sent_body,
    const char *const *ids, const char *const *bodies, size_t nids,
    const struct tp__sqs_sink *sink)
{
	static const struct {
		const char *op;
		enum tp__cb_kind kind;
	} ops[] = {
		{ "GetQueueUrl", TP__CB_URL }, { "CreateQueue", TP__CB_URL },
		{ "ReceiveMessage", TP__CB_RECV }, { "SendMessage", TP__CB_SENT },
		{ "DeleteMessage", TP__CB_DONE }, { "ChangeMessageVisibility", TP__CB_DONE },
		{ "SendMessageBatch", TP__CB_BATCH }, { "DeleteMessageBatch", TP__CB_BATCH },
		{ "ChangeMessageVisibilityBatch", TP__CB_BATCH },
		{ "GetQueueAttributes", TP__CB_ATTRS },
	};
	struct http_response resp;
	struct tp_result r;
	struct sqs_ctx *x;
	void *cb = NULL;
	size_t i, k;

	if (op == NULL || sink == NULL || (body == NULL && len > 0))
		return SM_EINVAL;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].op) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return SM_EINVAL;
	switch (ops[i].kind) {
	case TP__CB_URL: cb = FUNCPTR(sink->url); break;
	case TP__CB_RECV: cb = FUNCPTR(sink->recv); break;
	case TP__CB_SENT: cb = FUNCPTR(sink->sent); break;
	case TP__CB_DONE: cb = FUNCPTR(sink->done); break;
	case TP__CB_BATCH: cb = FUNCPTR(sink->batch); break;
	case TP__CB_ATTRS: cb = FUNCPTR(sink->attrs); break;
	default: break;
	}
	if (cb == NULL)
		return SM_EINVAL;
	if ((x = ctx_new(ops[i].kind, ops[i].op, cb, sink->arg)) == NULL)
		return SM_ENOMEM;
	if (ops[i].kind == TP__CB_SENT)
		sm_digest_hex(SM_DIGEST_MD5, sent_body != NULL ? sent_body : "",
		    sent_body != NULL ? strlen(sent_body) : 0, x->sent_md5);
	if (ops[i].kind == TP__CB_BATCH && nids > 0) {
		if ((x->ids = calloc(nids, sizeof(*x->ids))) == NULL ||
		    (strcmp(op, "SendMessageBatch") == 0 &&
		    (x->md5s = calloc(nids, sizeof(*x->md5s))) == NULL)) {
			ctx_free(x);
			return SM_ENOMEM;
		}
		for (k = 0; x->md5s != NULL && k < nids; k++) {
			const char *b = bodies != NULL && bodies[k] != NULL ? bodies[k] : "";
			sm_digest_hex(SM_DIGEST_MD5, b, strlen(b), x->md5s[k]);
		}
		for (; x->nids < nids; x->nids++) {
			if (ids[x->nids] == NULL ||
			    (x->ids[x->nids] = strdup(ids[x->nids])) == NULL) {
				int rc = ids[x->nids] == NULL ? SM_EINVAL : SM_ENOMEM;
				ctx_free(x);
				return rc;
			}
		}
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	resp.body = body != NULL ? body : "";
	resp.body_len = len;
	memset(&r, 0, sizeof(r));
	r.http_status = 200;
	r.attempts = 1;
	on_done(x, &r, &resp);   /* frees x */
	return 0;
}
