/*
 * s3.c - S3 REST/XML operations for the "aws" backend (see s3.h).
 *
 * Every request goes through tp__aws_call() (aws_private.h), which signs each
 * attempt, retries and corrects clock skew; this file builds the requests
 * (addressing from tp__awsconf_s3_target, S3 path rules), parses the XML
 * answers with a hardened libxml2 and drives the multipart upload.
 */
#include "s3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "aws_private.h"
#include "awsconf.h"
#include "creds.h"
#include "sigv4.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_text.h"
#include "sm_time.h"
#include "transport_private.h"

#define S3_MIN_PART (5u * 1024 * 1024)
#define S3_MAX_PARTS 10000
#define S3_DEFAULT_THRESHOLD (16u * 1024 * 1024)
#define S3_PARTS_IN_FLIGHT 4
#define S3_KEY_MAX 1024
#define S3_DEFAULT_CTYPE "application/octet-stream"
#define S3_ERR_BODY_MAX (64u * 1024)

/* ---- XML (hardened libxml2) ------------------------------------------- */

/*
 * Parse an S3 answer.  A document type declaration is refused before
 * libxml2 sees it: S3 never sends one, and without it there can be no
 * entity other than the five predefined ones (no XXE, no expansion bombs).
 * Never touches the network, never prints to stderr.
 */
static xmlDocPtr
s3_xml_read(const char *body, size_t len)
{
	xmlDocPtr doc;

	if (body == NULL || len == 0 || len > TP__S3_XML_MAX)
		return NULL;
	if (memmem(body, len, "<!DOCTYPE", 9) != NULL ||
	    memmem(body, len, "<!ENTITY", 8) != NULL)
		return NULL;
	xmlInitParser();
	doc = xmlReadMemory(body, (int)len, "s3-response.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return NULL;
	if (doc->intSubset != NULL || doc->extSubset != NULL ||
	    xmlDocGetRootElement(doc) == NULL) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static int
s3_xml_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr
s3_xml_child(const xmlNode *parent, const char *name)
{
	xmlNodePtr c;

	if (parent == NULL)
		return NULL;
	for (c = parent->children; c != NULL; c = c->next)
		if (s3_xml_is(c, name))
			return c;
	return NULL;
}

/* Text of a child element, malloc'd ("" for an empty element), or NULL
 * when there is no such child (or out of memory: *oom set). */
static char *
s3_xml_text(const xmlNode *parent, const char *name, int *oom)
{
	xmlNodePtr c = s3_xml_child(parent, name);
	xmlChar *t;
	char *s;

	if (c == NULL)
		return NULL;
	t = xmlNodeGetContent(c);
	s = strdup(t != NULL ? (const char *)t : "");
	xmlFree(t);
	if (s == NULL && oom != NULL)
		*oom = 1;
	return s;
}

static void
s3_copy_trunc(char *dst, size_t size, const char *src)
{
	size_t n;

	if (size == 0)
		return;
	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
tp__s3_parse_error(const char *body, size_t len, char *code, size_t code_size,
    char *message, size_t message_size)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	char *c = NULL, *m = NULL;
	int rc = SM_EPARSE;

	if (code_size > 0)
		code[0] = '\0';
	if (message_size > 0)
		message[0] = '\0';
	if ((doc = s3_xml_read(body, len)) == NULL)
		return SM_EPARSE;
	root = xmlDocGetRootElement(doc);
	if (!s3_xml_is(root, "Error"))
		goto out;
	if ((c = s3_xml_text(root, "Code", NULL)) == NULL || *c == '\0')
		goto out;
	s3_copy_trunc(code, code_size, c);
	if ((m = s3_xml_text(root, "Message", NULL)) != NULL)
		s3_copy_trunc(message, message_size, m);
	rc = 0;
out:
	free(c);
	free(m);
	xmlFreeDoc(doc);
	return rc;
}

/*
 * The error parser hook s3.c gives the aws request layer: the XML body
 * (tp__s3_parse_error, else the plain scan of tp__aws_parse_error_xml), else
 * for bodyless answers (HEAD) a code named after the status.
 */
static int
s3_parse_error_resp(const struct http_response *resp, struct aws_service_error *out)
{
	out->code[0] = '\0';
	out->message[0] = '\0';
	if (resp->body_len > 0 &&
	    (tp__s3_parse_error(resp->body, resp->body_len, out->code, sizeof(out->code),
	         out->message, sizeof(out->message)) == 0 ||
	        tp__aws_parse_error_xml(resp, out) == 0))
		return 0;
	out->code[0] = '\0';
	out->message[0] = '\0';
	/* HEAD answers (and some proxies) carry no body: name the status. */
	switch (resp->status) {
	case 301:
		s3_copy_trunc(out->code, sizeof(out->code), "PermanentRedirect");
		s3_copy_trunc(out->message, sizeof(out->message),
		    "the bucket is in another region: set AWS_REGION to the bucket's region");
		return 0;
	case 400:
		s3_copy_trunc(out->code, sizeof(out->code), "BadRequest");
		s3_copy_trunc(out->message, sizeof(out->message), "bad request");
		return 0;
	case 403:
		s3_copy_trunc(out->code, sizeof(out->code), "AccessDenied");
		s3_copy_trunc(out->message, sizeof(out->message),
		    "access denied: check the credentials and the bucket policy");
		return 0;
	case 404:
		s3_copy_trunc(out->code, sizeof(out->code), "NotFound");
		s3_copy_trunc(out->message, sizeof(out->message),
		    "no such bucket or key");
		return 0;
	case 412:
		s3_copy_trunc(out->code, sizeof(out->code), "PreconditionFailed");
		s3_copy_trunc(out->message, sizeof(out->message), "precondition failed");
		return 0;
	case 503:
		s3_copy_trunc(out->code, sizeof(out->code), "SlowDown");
		s3_copy_trunc(out->message, sizeof(out->message), "service unavailable");
		return 0;
	default:
		return SM_EPARSE;
	}
}

/* ---- small helpers ------------------------------------------------------ */

/*
 * Decode an encoding-type=url value in place ('+' is a space as S3 writes
 * it, %XX a byte).  Returns 0, or SM_EPARSE for a bad escape or %00.
 */
static int
s3_url_decode(char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	while (*r != '\0') {
		if (*r == '+') {
			*w++ = ' ';
			r++;
		} else if (*r == '%') {
			if ((hi = sm_hexval((unsigned char)r[1])) < 0 ||
			    (lo = sm_hexval((unsigned char)r[2])) < 0 || (hi | lo) == 0)
				return SM_EPARSE;
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return 0;
}

/* An ETag without its surrounding quotes, into buf. */
static const char *
s3_etag(const char *raw, char *buf, size_t size)
{
	size_t n;

	if (raw == NULL)
		return NULL;
	n = strlen(raw);
	if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
		raw++;
		n -= 2;
	}
	if (n >= size)
		n = size - 1;
	memcpy(buf, raw, n);
	buf[n] = '\0';
	return buf;
}

static int
s3_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return SM_EPARSE;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return SM_EPARSE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* ---- the listing parser ------------------------------------------------- */

void
tp__s3_list_free(struct tp__s3_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free((char *)l->objs[i].key);
		free((char *)l->objs[i].etag);
	}
	free(l->objs);
	for (i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->prefixes);
	free(l->next);
	memset(l, 0, sizeof(*l));
}

int
tp__s3_parse_list(const char *body, size_t len, struct tp__s3_list *out,
    struct sm_error *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, c, p;
	char *enc = NULL, *trunc = NULL, *t = NULL;
	char etagbuf[256];
	int url = 0, oom = 0, rc = 0;
	size_t ncap = 0, pcap = 0;

	memset(out, 0, sizeof(*out));
	if ((doc = s3_xml_read(body, len)) == NULL)
		return sm_error_set(err, SM_EPROTO,
		    "listing answer is not well-formed XML (or has a DTD, or is over %u bytes)",
		    TP__S3_XML_MAX);
	root = xmlDocGetRootElement(doc);
	if (!s3_xml_is(root, "ListBucketResult")) {
		rc = sm_error_set(err, SM_EPROTO, "listing answer has root <%s>, not <ListBucketResult>",
		    (const char *)root->name);
		goto out;
	}
	enc = s3_xml_text(root, "EncodingType", &oom);
	url = enc != NULL && strcmp(enc, "url") == 0;
	if ((trunc = s3_xml_text(root, "IsTruncated", &oom)) != NULL &&
	    strcmp(trunc, "true") == 0) {
		out->truncated = 1;
		out->next = s3_xml_text(root, "NextContinuationToken", &oom);
		if (out->next == NULL && !oom) {
			rc = sm_error_set(err, SM_EPROTO,
			    "listing is truncated but has no NextContinuationToken");
			goto out;
		}
	}
	for (c = root->children; c != NULL && !oom; c = c->next) {
		if (s3_xml_is(c, "Contents")) {
			struct tp_object *o;
			if (out->n == ncap) {
				size_t nc = ncap ? ncap * 2 : 16;
				void *n = realloc(out->objs, nc * sizeof(*out->objs));
				if (n == NULL) {
					oom = 1;
					break;
				}
				out->objs = n;
				ncap = nc;
			}
			o = &out->objs[out->n];
			memset(o, 0, sizeof(*o));
			out->n++;
			if ((o->key = s3_xml_text(c, "Key", &oom)) == NULL || *o->key == '\0') {
				if (oom)
					break;
				rc = sm_error_set(err, SM_EPROTO, "listing entry %zu has no <Key>",
				    out->n);
				goto out;
			}
			if (url && s3_url_decode((char *)o->key) != 0) {
				rc = sm_error_set(err, SM_EPROTO,
				    "listing entry %zu has a bad url-encoded key", out->n);
				goto out;
			}
			free(t);
			if ((t = s3_xml_text(c, "Size", &oom)) == NULL || s3_parse_u64(t, &o->size) != 0) {
				if (oom)
					break;
				rc = sm_error_set(err, SM_EPROTO,
				    "listing entry %zu has a missing or bad <Size>", out->n);
				goto out;
			}
			free(t);
			if ((t = s3_xml_text(c, "LastModified", &oom)) != NULL &&
			    sm_time_parse(t, &o->mtime_ms) != 0) {
				rc = sm_error_set(err, SM_EPROTO,
				    "listing entry %zu has a bad <LastModified>", out->n);
				goto out;
			}
			free(t);
			if ((t = s3_xml_text(c, "ETag", &oom)) != NULL) {
				if ((o->etag = strdup(s3_etag(t, etagbuf, sizeof(etagbuf)))) == NULL)
					oom = 1;
			}
		} else if (s3_xml_is(c, "CommonPrefixes")) {
			for (p = c->children; p != NULL && !oom; p = p->next) {
				char *s;
				if (!s3_xml_is(p, "Prefix"))
					continue;
				if (out->nprefixes == pcap) {
					size_t nc = pcap ? pcap * 2 : 8;
					void *n = realloc(out->prefixes, nc * sizeof(char *));
					if (n == NULL) {
						oom = 1;
						break;
					}
					out->prefixes = n;
					pcap = nc;
				}
				xmlChar *x = xmlNodeGetContent(p);
				s = strdup(x != NULL ? (const char *)x : "");
				xmlFree(x);
				if (s == NULL) {
					oom = 1;
					break;
				}
				out->prefixes[out->nprefixes++] = s;
				if (url && s3_url_decode(s) != 0) {
					rc = sm_error_set(err, SM_EPROTO,
					    "listing has a bad url-encoded common prefix");
					goto out;
				}
			}
		}
	}
	if (oom)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory parsing a listing");
out:
	free(t);
	free(enc);
	free(trunc);
	xmlFreeDoc(doc);
	if (rc != 0)
		tp__s3_list_free(out);
	return rc;
}

/* ---- results ------------------------------------------------------------ */

struct s3_res {
	struct tp_result r;
	char code[128];
	char msg[SM_ERROR_MSG_MAX];
};

static int
s3_code_in(const char *code, const char *const *set)
{
	if (code == NULL)
		return 0;
	for (; *set != NULL; set++)
		if (strcmp(code, *set) == 0)
			return 1;
	return 0;
}

static const char *const s3_notfound_codes[] = {
	"NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload", NULL
};
static const char *const s3_auth_codes[] = {
	"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
	"InvalidToken", "TokenRefreshRequired", NULL
};

/* Copy an aws layer result, refining its code by the service error code. */
static void
s3_res_copy(struct s3_res *d, const struct tp_result *r)
{
	memset(d, 0, sizeof(*d));
	d->r.code = r->code;
	d->r.http_status = r->http_status;
	d->r.attempts = r->attempts;
	if (r->err_code != NULL) {
		s3_copy_trunc(d->code, sizeof(d->code), r->err_code);
		d->r.err_code = d->code;
	}
	if (r->message != NULL) {
		s3_copy_trunc(d->msg, sizeof(d->msg), r->message);
		d->r.message = d->msg;
	}
	if (d->r.code != 0 && d->r.code != SM_ECANCELED && d->r.code != SM_ESKEW) {
		if (s3_code_in(d->r.err_code, s3_notfound_codes))
			d->r.code = SM_ENOTFOUND;
		else if (s3_code_in(d->r.err_code, s3_auth_codes))
			d->r.code = SM_EAUTH;
	}
}

static void s3_res_set(struct s3_res *d, int code, int status, const char *err_code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
s3_res_set(struct s3_res *d, int code, int status, const char *err_code, const char *fmt, ...)
{
	va_list ap;

	memset(d, 0, sizeof(*d));
	d->r.code = code;
	d->r.http_status = status;
	d->r.attempts = 1;
	if (err_code != NULL) {
		s3_copy_trunc(d->code, sizeof(d->code), err_code);
		d->r.err_code = d->code;
	}
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	d->r.message = d->msg;
}

/* ---- operations --------------------------------------------------------- */

struct s3_mpu;

struct s3_op {
	struct aws_op base;        /* first: the handle for cancel */
	struct tp *tp;
	const char *opname;        /* static: "PutObject" */
	char *bucket;
	char *key;                 /* NULL for bucket operations */
	char *subject;             /* "bucket/key" or "bucket" */
	enum tp__cb_kind kind;
	union tp__cb cb;
	void *arg;
	uint64_t size;             /* put: bytes sent */
	size_t max;                /* get_mem */
	char *path;                /* get_file destination, put_file source */
	char *tmp;                 /* get_file temporary file */
	char *content_type;
	char *copy_src;            /* copy: the x-amz-copy-source value */
	int tries;                 /* copy: attempts after 200-with-Error */
	struct s3_mpu *mpu;
};

static void
s3_op_free(struct s3_op *op)
{
	if (op == NULL)
		return;
	free(op->bucket);
	free(op->key);
	free(op->subject);
	free(op->path);
	free(op->tmp);
	free(op->content_type);
	free(op->copy_src);
	free(op);
}

static void s3_cancel(struct tp *tp, struct aws_op *base);

static struct s3_op *
s3_op_new(struct tp *tp, const char *opname, const char *bucket, const char *key,
    enum tp__cb_kind kind, void *arg)
{
	struct s3_op *op;
	size_t n;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	op->base.cancel = s3_cancel;
	op->tp = tp;
	op->opname = opname;
	op->kind = kind;
	op->arg = arg;
	if ((op->bucket = strdup(bucket)) == NULL)
		goto fail;
	if (key != NULL && (op->key = strdup(key)) == NULL)
		goto fail;
	n = strlen(bucket) + (key != NULL ? strlen(key) + 1 : 0) + 1;
	if ((op->subject = malloc(n)) == NULL)
		goto fail;
	snprintf(op->subject, n, "%s%s%s", bucket, key != NULL ? "/" : "",
	    key != NULL ? key : "");
	return op;
fail:
	s3_op_free(op);
	return NULL;
}

/* Everything a request needs besides what the op knows. */
struct s3_req {
	const char *method;
	const char *opname;        /* NULL: op->opname */
	const char *key;           /* NULL: bucket level */
	const struct aws_query *query;
	size_t nquery;
	const struct http_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	const char *body_file;
	uint64_t body_file_offset;
	uint64_t body_file_len;
	const char *payload_hash;
	size_t resp_max;
	const char *resp_file;
	int accept_status;
	int streaming;             /* an object body or part: see aws_call_spec */
	const void *owner;         /* NULL: the op (tp__aws_cancel_owner) */
};

static int
s3_send(struct s3_op *op, const struct s3_req *rq, aws_done_cb *cb, void *arg)
{
	struct aws_backend *b = aws_backend(op->tp);
	struct aws_call_spec spec;
	char *base = NULL, *host = NULL, *path = NULL;
	int rc;

	if ((rc = tp__awsconf_s3_target(b->conf, op->bucket, rq->key, &base, &host, &path, NULL)) !=
	    0)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.service = "s3";
	spec.op = rq->opname != NULL ? rq->opname : op->opname;
	spec.subject = op->subject;
	spec.method = rq->method;
	spec.endpoint = base;
	spec.path = path;
	spec.s3_path = 1;
	spec.query = rq->query;
	spec.nquery = rq->nquery;
	spec.headers = rq->headers;
	spec.nheaders = rq->nheaders;
	spec.body = rq->body;
	spec.body_len = rq->body_len;
	spec.body_file = rq->body_file;
	spec.body_file_offset = rq->body_file_offset;
	spec.body_file_len = rq->body_file_len;
	spec.payload_hash = rq->payload_hash;
	spec.resp_max = rq->resp_max;
	spec.resp_file = rq->resp_file;
	spec.parse_error = s3_parse_error_resp;
	spec.accept_status = rq->accept_status;
	spec.streaming = rq->streaming;
	spec.owner = rq->owner != NULL ? rq->owner : op;
	rc = tp__aws_call(op->tp, &spec, cb, arg);
out:
	free(base);
	free(host);
	free(path);
	return rc;
}

/* Send `rq` for `op` with `cb` called back on `op`: on success the
 * caller's handle is `op`, on failure `op` is freed. */
static int
s3_start(struct s3_op *op, const struct s3_req *rq, aws_done_cb *cb, void **handle)
{
	int rc = s3_send(op, rq, cb, op);

	if (rc != 0)
		s3_op_free(op);
	else
		*handle = op;
	return rc;
}

/* Fill an object description from a response's headers. */
static void
s3_object_from_headers(const struct s3_op *op, const struct http_response *resp,
    struct tp_object *obj, char *etag, size_t etag_size)
{
	const char *v;
	uint64_t n;

	memset(obj, 0, sizeof(*obj));
	obj->key = op->key;
	obj->size = op->size;
	if (resp == NULL)
		return;
	if ((v = tp__http_response_header(resp, "Content-Length")) != NULL &&
	    s3_parse_u64(v, &n) == 0)
		obj->size = n;
	obj->etag = s3_etag(tp__http_response_header(resp, "ETag"), etag, etag_size);
	if ((v = tp__http_response_header(resp, "Last-Modified")) == NULL ||
	    sm_time_parse(v, &obj->mtime_ms) != 0) {
		if ((v = tp__http_response_header(resp, "Date")) == NULL ||
		    sm_time_parse(v, &obj->mtime_ms) != 0)
			obj->mtime_ms = sm_time_wall_ms();
	}
}

/* Report a failure (or a bare success) through the op's callback and free it. */
static void
s3_finish(struct s3_op *op, const struct tp_result *r)
{
	tp__cb_fail(op->kind, op->cb, op->arg, r);
	s3_op_free(op);
}

static int
s3_check_key(const char *key)
{
	size_t n = strlen(key);

	return n == 0 || n > S3_KEY_MAX ? SM_EINVAL : 0;
}

/* ---- bucket create ------------------------------------------------------ */

static void
s3_bucket_create_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;

	(void)resp;
	s3_res_copy(&res, r);
	/* Creating a bucket we already own is success, as for queues. */
	if (res.r.code != 0 && res.r.err_code != NULL &&
	    strcmp(res.r.err_code, "BucketAlreadyOwnedByYou") == 0) {
		res.r.code = 0;
		res.r.err_code = NULL;
		res.r.message = NULL;
	} else if (res.r.code != 0 && res.r.err_code != NULL &&
	    strcmp(res.r.err_code, "BucketAlreadyExists") == 0)
		res.r.code = SM_EEXISTS;
	s3_finish(op, &res.r);
}

int
tp__s3_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg,
    void **handle)
{
	struct aws_backend *b = aws_backend(tp);
	struct s3_op *op;
	struct s3_req rq;
	struct http_header h = { "Content-Type", "application/xml" };
	char body[512];

	if ((op = s3_op_new(tp, "CreateBucket", bucket, NULL, TP__CB_DONE, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.done = cb;
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	if (b->conf->region != NULL && strcmp(b->conf->region, "us-east-1") != 0) {
		int n = snprintf(body, sizeof(body),
		    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		    "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
		    b->conf->region);
		if (n < 0 || (size_t)n >= sizeof(body) || strpbrk(b->conf->region, "<&>") != NULL) {
			s3_op_free(op);
			return SM_EINVAL;
		}
		rq.body = body;
		rq.body_len = (size_t)n;
		rq.headers = &h;
		rq.nheaders = 1;
	}
	return s3_start(op, &rq, s3_bucket_create_done, handle);
}

/* ---- put (single request) ---------------------------------------------- */

static void
s3_put_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct tp_object obj;
	char etag[256];

	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_finish(op, &res.r);
		return;
	}
	s3_object_from_headers(op, resp, &obj, etag, sizeof(etag));
	obj.size = op->size; /* a PUT answer's Content-Length is its own (0) */
	op->cb.object(op->arg, &res.r, &obj);
	s3_op_free(op);
}

int
tp__s3_object_put_mem(struct tp *tp, const char *bucket, const char *key,
    const void *data, size_t len, const char *content_type, tp_object_cb *cb, void *arg,
    void **handle)
{
	struct s3_op *op;
	struct s3_req rq;
	struct http_header h;
	char hash[65];

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "PutObject", bucket, key, TP__CB_OBJECT, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.object = cb;
	op->size = len;
	tp__sigv4_sha256_hex(len > 0 ? data : "", len, hash);
	h.name = "Content-Type";
	h.value = content_type != NULL ? content_type : S3_DEFAULT_CTYPE;
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.key = key;
	rq.headers = &h;
	rq.nheaders = 1;
	rq.body = len > 0 ? data : NULL;
	rq.body_len = len;
	rq.payload_hash = hash;
	rq.streaming = 1;
	return s3_start(op, &rq, s3_put_done, handle);
}

/* ---- multipart upload --------------------------------------------------- */

struct s3_mpu;

struct s3_part {
	struct s3_mpu *m;
	unsigned index;
};

struct s3_mpu {
	struct s3_op *op;
	char *upload_id;
	struct s3_part *parts;     /* one per part: the argument of its calls */
	uint64_t part_size;
	unsigned nparts;
	unsigned next;             /* next part index to start (0-based) */
	unsigned inflight;
	unsigned done;
	char **etags;              /* as sent by the service (quotes kept) */
	int failed;
	int completing;
	int complete_tries;
	/* canceled: the caller has had its callback; what is left (the
	 * CreateMultipartUpload answer to wait for, the abort) is the
	 * backend's own job (aws_backend.jobs) and calls back no one */
	int canceled;
	struct s3_res err;         /* the first failure */
};

static void s3_mpu_pump(struct s3_mpu *m);

static void
s3_mpu_free(struct s3_mpu *m)
{
	unsigned i;

	if (m == NULL)
		return;
	if (m->etags != NULL)
		for (i = 0; i < m->nparts; i++)
			free(m->etags[i]);
	free(m->etags);
	free(m->parts);
	free(m->upload_id);
	free(m);
}

static void
s3_mpu_report(struct s3_mpu *m)
{
	struct s3_op *op = m->op;

	op->mpu = NULL;
	if (m->canceled) {
		aws_backend(op->tp)->jobs--;
		s3_op_free(op);
	} else {
		s3_finish(op, &m->err.r);
	}
	s3_mpu_free(m);
}

static void
s3_mpu_abort_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_mpu *m = arg;
	size_t n;

	(void)resp;
	if (r->code != 0 && m->canceled)
		sm_log_warn("s3: aborting multipart upload '%s' of '%s' after a cancel failed "
		    "(%s): remove it with AbortMultipartUpload or a bucket lifecycle rule",
		    m->upload_id, m->op->subject, r->message != NULL ? r->message :
		    sm_strerror(r->code));
	if (r->code != 0) {
		/* Keep the first failure; say the abort failed too. */
		n = strlen(m->err.msg);
		snprintf(m->err.msg + n, sizeof(m->err.msg) - n,
		    "; aborting multipart upload '%s' failed too (%s): remove it with "
		    "AbortMultipartUpload or a bucket lifecycle rule",
		    m->upload_id, r->message != NULL ? r->message : sm_strerror(r->code));
		m->err.r.message = m->err.msg;
	}
	s3_mpu_report(m);
}

/* Called when a failure is recorded and nothing is in flight. */
static void
s3_mpu_abort(struct s3_mpu *m)
{
	struct aws_query q = { "uploadId", m->upload_id };
	struct s3_req rq;

	/* when the transport is going away, nothing may be sent */
	if (m->upload_id == NULL || m->op->tp->closing || aws_backend(m->op->tp)->destroying) {
		s3_mpu_report(m);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "DELETE";
	rq.opname = "AbortMultipartUpload";
	rq.key = m->op->key;
	rq.query = &q;
	rq.nquery = 1;
	if (s3_send(m->op, &rq, s3_mpu_abort_done, m) != 0) {
		size_t n = strlen(m->err.msg);
		if (m->canceled)
			sm_log_warn("s3: could not start aborting multipart upload '%s' of "
			    "'%s' after a cancel: remove it with AbortMultipartUpload or a "
			    "bucket lifecycle rule", m->upload_id, m->op->subject);
		snprintf(m->err.msg + n, sizeof(m->err.msg) - n,
		    "; could not start aborting multipart upload '%s'", m->upload_id);
		s3_mpu_report(m);
	}
}

static void
s3_mpu_fail(struct s3_mpu *m, const struct s3_res *res)
{
	if (!m->failed) {
		m->failed = 1;
		m->err = *res;
		if (m->err.r.err_code != NULL)
			m->err.r.err_code = m->err.code;
		m->err.r.message = m->err.msg;
	}
	if (m->inflight == 0 && !m->completing)
		s3_mpu_abort(m);
}

static void s3_mpu_complete(struct s3_mpu *m);

/* Send again after a 200 answer with a transient <Error> body? */
static int
s3_error_200_retryable(struct tp *tp, const char *code, int tries)
{
	return (tp__aws_code_is_transient(code) || tp__aws_code_is_throttling(code)) &&
	    tries < aws_backend(tp)->max_attempts;
}

static void
s3_mpu_complete_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_mpu *m = arg;
	struct s3_op *op = m->op;
	struct s3_res res;
	struct tp_object obj;
	xmlDocPtr doc;
	xmlNodePtr root;
	char code[128], msg[512], etag[256];
	char *t;

	m->completing = 0;
	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_mpu_fail(m, &res);
		return;
	}
	/* 200 with an <Error> body: the service failed after answering;
	 * a transient one is sent again, as the SDKs do. */
	if (resp != NULL && tp__s3_parse_error(resp->body, resp->body_len, code, sizeof(code),
	    msg, sizeof(msg)) == 0) {
		if (s3_error_200_retryable(op->tp, code, m->complete_tries)) {
			s3_mpu_complete(m);
			return;
		}
		s3_res_set(&res, SM_ESERVICE, (int)resp->status, code,
		    "s3 CompleteMultipartUpload on '%s' failed: %s: %s (http %ld with an error "
		    "body, %d attempt%s)", op->subject, code, msg, resp->status, m->complete_tries,
		    m->complete_tries == 1 ? "" : "s");
		s3_mpu_fail(m, &res);
		return;
	}
	if (resp == NULL || (doc = s3_xml_read(resp->body, resp->body_len)) == NULL) {
		s3_res_set(&res, SM_EPROTO, resp != NULL ? (int)resp->status : 0, NULL,
		    "s3 CompleteMultipartUpload on '%s' failed: the answer is not XML", op->subject);
		s3_mpu_fail(m, &res);
		return;
	}
	root = xmlDocGetRootElement(doc);
	/* moto says CompleteMultipartUploadResponse */
	if (!s3_xml_is(root, "CompleteMultipartUploadResult") &&
	    !s3_xml_is(root, "CompleteMultipartUploadResponse")) {
		s3_res_set(&res, SM_EPROTO, (int)resp->status, NULL,
		    "s3 CompleteMultipartUpload on '%s' failed: unexpected answer <%s>", op->subject,
		    (const char *)root->name);
		xmlFreeDoc(doc);
		s3_mpu_fail(m, &res);
		return;
	}
	t = s3_xml_text(root, "ETag", NULL);
	xmlFreeDoc(doc);
	memset(&obj, 0, sizeof(obj));
	obj.key = op->key;
	obj.size = op->size;
	obj.etag = t != NULL ? s3_etag(t, etag, sizeof(etag)) : NULL;
	obj.mtime_ms = sm_time_wall_ms();
	free(t);
	op->mpu = NULL;
	op->cb.object(op->arg, &res.r, &obj);
	s3_op_free(op);
	s3_mpu_free(m);
}

static int
s3_xml_escape_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		char one[2] = { *s, '\0' };
		size_t n;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: rep = one; break;
		}
		n = strlen(rep);
		if (*len + n + 1 > *cap) {
			size_t nc = (*cap + n + 1) * 2;
			char *nb = realloc(*buf, nc);
			if (nb == NULL)
				return SM_ENOMEM;
			*buf = nb;
			*cap = nc;
		}
		memcpy(*buf + *len, rep, n + 1);
		*len += n;
	}
	return 0;
}

static void
s3_mpu_complete(struct s3_mpu *m)
{
	struct aws_query q = { "uploadId", m->upload_id };
	struct http_header h = { "Content-Type", "application/xml" };
	struct s3_req rq;
	struct s3_res res;
	char *body = NULL, num[48];
	size_t len = 0, cap = 0;
	unsigned i;
	int rc = 0;

	/* Built with raw appends for the markup, escaped appends for ETags. */
#define RAW(s) do { size_t n_ = strlen(s); if (rc == 0 && len + n_ + 1 > cap) { \
	size_t nc_ = (cap + n_ + 1) * 2; char *nb_ = realloc(body, nc_); \
	if (nb_ == NULL) rc = SM_ENOMEM; else { body = nb_; cap = nc_; } } \
	if (rc == 0) { memcpy(body + len, s, n_ + 1); len += n_; } } while (0)
	RAW("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (i = 0; i < m->nparts && rc == 0; i++) {
		snprintf(num, sizeof(num), "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
		RAW(num);
		if (rc == 0)
			rc = s3_xml_escape_append(&body, &len, &cap, m->etags[i]);
		RAW("</ETag></Part>");
	}
	RAW("</CompleteMultipartUpload>");
#undef RAW
	if (rc != 0) {
		free(body);
		s3_res_set(&res, SM_ENOMEM, 0, NULL,
		    "s3 CompleteMultipartUpload on '%s' failed: out of memory", m->op->subject);
		s3_mpu_fail(m, &res);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.opname = "CompleteMultipartUpload";
	rq.key = m->op->key;
	rq.query = &q;
	rq.nquery = 1;
	rq.headers = &h;
	rq.nheaders = 1;
	rq.body = body;
	rq.body_len = len;
	m->completing = 1;
	m->complete_tries++;
	rc = s3_send(m->op, &rq, s3_mpu_complete_done, m);
	free(body);
	if (rc != 0) {
		m->completing = 0;
		s3_res_set(&res, rc, 0, NULL,
		    "s3 CompleteMultipartUpload on '%s' failed: could not start the request: %s",
		    m->op->subject, sm_strerror(rc));
		s3_mpu_fail(m, &res);
	}
}

static void
s3_mpu_part_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_part *p = arg;
	struct s3_mpu *m = p->m;
	unsigned index = p->index;
	struct s3_res res;
	const char *etag;

	m->inflight--;
	s3_res_copy(&res, r);
	if (res.r.code == 0) {
		etag = resp != NULL ? tp__http_response_header(resp, "ETag") : NULL;
		if (etag == NULL || *etag == '\0') {
			s3_res_set(&res, SM_EPROTO, resp != NULL ? (int)resp->status : 0, NULL,
			    "s3 UploadPart on '%s' failed: part %u: the answer has no ETag",
			    m->op->subject, index + 1);
		} else if ((m->etags[index] = strdup(etag)) == NULL) {
			s3_res_set(&res, SM_ENOMEM, 0, NULL, "s3 UploadPart on '%s' failed: out of memory",
			    m->op->subject);
		} else {
			m->done++;
		}
	}
	if (res.r.code != 0 || m->failed) {
		s3_mpu_fail(m, &res);
		return;
	}
	if (m->done == m->nparts)
		s3_mpu_complete(m);
	else
		s3_mpu_pump(m);
}

static int
s3_mpu_part_start(struct s3_mpu *m, unsigned index, struct s3_res *res)
{
	struct s3_op *op = m->op;
	struct s3_part *p;
	struct aws_query q[2];
	struct s3_req rq;
	char num[16], hash[65];
	uint64_t off = (uint64_t)index * m->part_size;
	uint64_t len = op->size - off < m->part_size ? op->size - off : m->part_size;
	int fd, rc;

	if ((fd = open(op->path, O_RDONLY | O_CLOEXEC)) < 0) {
		s3_res_set(res, sm_error_from_errno(errno), 0, NULL,
		    "s3 UploadPart on '%s' failed: part %u: cannot open '%s': %s", op->subject, index + 1,
		    op->path, strerror(errno));
		return res->r.code;
	}
	rc = tp__sigv4_sha256_fd_hex(fd, off, len, hash);
	close(fd);
	if (rc != 0) {
		s3_res_set(res, rc, 0, NULL,
		    "s3 UploadPart on '%s' failed: part %u: cannot read bytes %" PRIu64 "..%" PRIu64
		    " of '%s' (file shrank or read error)", op->subject, index + 1, off,
		    off + len, op->path);
		return rc;
	}
	p = &m->parts[index];
	p->m = m;
	p->index = index;
	snprintf(num, sizeof(num), "%u", index + 1);
	q[0].name = "partNumber";
	q[0].value = num;
	q[1].name = "uploadId";
	q[1].value = m->upload_id;
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.opname = "UploadPart";
	rq.key = op->key;
	rq.query = q;
	rq.nquery = 2;
	rq.body_file = op->path;
	rq.body_file_offset = off;
	rq.body_file_len = len;
	rq.payload_hash = hash;
	rq.streaming = 1;
	if ((rc = s3_send(op, &rq, s3_mpu_part_done, p)) != 0) {
		s3_res_set(res, rc, 0, NULL, "s3 UploadPart on '%s' failed: part %u: could not start: %s",
		    op->subject, index + 1, sm_strerror(rc));
		return rc;
	}
	m->inflight++;
	return 0;
}

static void
s3_mpu_pump(struct s3_mpu *m)
{
	struct s3_res res;

	while (!m->failed && m->inflight < S3_PARTS_IN_FLIGHT && m->next < m->nparts) {
		if (s3_mpu_part_start(m, m->next, &res) != 0) {
			s3_mpu_fail(m, &res);
			return;
		}
		m->next++;
	}
}

static void
s3_mpu_create_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_mpu *m = arg;
	struct s3_res res;
	xmlDocPtr doc = NULL;
	xmlNodePtr root;

	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_mpu_fail(m, &res);
		return;
	}
	if (resp == NULL || (doc = s3_xml_read(resp->body, resp->body_len)) == NULL ||
	    !s3_xml_is((root = xmlDocGetRootElement(doc)), "InitiateMultipartUploadResult") ||
	    (m->upload_id = s3_xml_text(root, "UploadId", NULL)) == NULL ||
	    *m->upload_id == '\0') {
		s3_res_set(&res, SM_EPROTO, resp != NULL ? (int)resp->status : 0, NULL,
		    "s3 CreateMultipartUpload on '%s' failed: the answer has no UploadId", m->op->subject);
		xmlFreeDoc(doc);
		free(m->upload_id);
		m->upload_id = NULL;
		s3_mpu_fail(m, &res);
		return;
	}
	xmlFreeDoc(doc);
	if (m->canceled) {
		/* canceled while this answer was on its way: abort what it made */
		s3_mpu_abort(m);
		return;
	}
	s3_mpu_pump(m);
}

static int
s3_mpu_start(struct s3_op *op, size_t threshold)
{
	struct s3_mpu *m;
	struct aws_query q = { "uploads", NULL };
	struct http_header h;
	struct s3_req rq;
	uint64_t ps = threshold < S3_MIN_PART ? S3_MIN_PART : threshold;
	int rc;

	while ((op->size + ps - 1) / ps > S3_MAX_PARTS)
		ps *= 2;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SM_ENOMEM;
	m->op = op;
	m->part_size = ps;
	m->nparts = (unsigned)((op->size + ps - 1) / ps);
	if ((m->etags = calloc(m->nparts, sizeof(char *))) == NULL ||
	    (m->parts = calloc(m->nparts, sizeof(*m->parts))) == NULL) {
		s3_mpu_free(m);
		return SM_ENOMEM;
	}
	h.name = "Content-Type";
	h.value = op->content_type;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.opname = "CreateMultipartUpload";
	rq.key = op->key;
	rq.query = &q;
	rq.nquery = 1;
	rq.headers = &h;
	rq.nheaders = 1;
	/* its own owner: a cancel lets this answer arrive, to abort what it made */
	rq.owner = m;
	if ((rc = s3_send(op, &rq, s3_mpu_create_done, m)) != 0) {
		s3_mpu_free(m);
		return rc;
	}
	op->mpu = m;
	return 0;
}

int
tp__s3_object_put_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, const char *content_type, tp_object_cb *cb, void *arg, void **handle)
{
	struct aws_backend *b = aws_backend(tp);
	struct s3_op *op;
	struct s3_req rq;
	struct http_header h;
	struct stat st;
	size_t threshold;
	char hash[65];
	int fd, rc;

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return sm_error_from_errno(errno);
	if (fstat(fd, &st) != 0) {
		rc = sm_error_from_errno(errno);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return SM_EINVAL;
	}
	if ((op = s3_op_new(tp, "PutObject", bucket, key, TP__CB_OBJECT, arg)) == NULL ||
	    (op->path = strdup(path)) == NULL ||
	    (op->content_type = strdup(content_type != NULL ? content_type :
	    S3_DEFAULT_CTYPE)) == NULL) {
		close(fd);
		s3_op_free(op);
		return SM_ENOMEM;
	}
	op->cb.object = cb;
	op->size = (uint64_t)st.st_size;
	threshold = b->multipart_threshold != 0 ? b->multipart_threshold : S3_DEFAULT_THRESHOLD;
	if (op->size > threshold) {
		close(fd);
		if ((rc = s3_mpu_start(op, threshold)) != 0)
			s3_op_free(op);
		else
			*handle = op;
		return rc;
	}
	/* Stream the file through SHA-256 for x-amz-content-sha256. */
	rc = tp__sigv4_sha256_fd_hex(fd, 0, op->size, hash);
	close(fd);
	if (rc != 0) {
		s3_op_free(op);
		return rc;
	}
	h.name = "Content-Type";
	h.value = op->content_type;
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.key = key;
	rq.headers = &h;
	rq.nheaders = 1;
	if (op->size > 0) {
		rq.body_file = op->path;
		rq.body_file_len = op->size;
	}
	rq.payload_hash = hash;
	rq.streaming = 1;
	return s3_start(op, &rq, s3_put_done, handle);
}

/* ---- cancel ------------------------------------------------------------- */

/*
 * Stop `op` for tp_cancel: its calls end (a download's temporary file is
 * removed), its callback never runs.  A multipart upload becomes the
 * backend's own job: aborted on the server now if it has an id, else when
 * the CreateMultipartUpload answer (left running) brings one.
 */
static void
s3_cancel(struct tp *tp, struct aws_op *base)
{
	struct s3_op *op = (struct s3_op *)base;
	struct aws_backend *b = aws_backend(tp);
	struct s3_mpu *m = op->mpu;

	tp__aws_cancel_owner(b, op);
	if (op->tmp != NULL)
		unlink(op->tmp);
	if (m == NULL) {
		s3_op_free(op);
		return;
	}
	m->inflight = 0;
	m->completing = 0;
	m->canceled = 1;
	b->jobs++;
	if (!m->failed) {
		m->failed = 1;
		s3_res_set(&m->err, SM_ECANCELED, 0, NULL, "s3 PutObject on '%s' canceled",
		    op->subject);
	}
	if (tp->closing) {
		tp__aws_cancel_owner(b, m);
		s3_mpu_report(m);
	} else if (m->upload_id != NULL) {
		s3_mpu_abort(m);
	}
}

/* ---- get ---------------------------------------------------------------- */

static int
s3_fsync_dir(const char *path)
{
	char *dir, *slash;
	int fd, rc = 0;

	if ((dir = strdup(path)) == NULL)
		return SM_ENOMEM;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0)
		rc = sm_error_from_errno(errno);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static void
s3_get_file_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct tp_object obj;
	char etag[256];
	int fd, e;

	s3_res_copy(&res, r);
	if (res.r.code != 0)
		goto fail;
	s3_object_from_headers(op, resp, &obj, etag, sizeof(etag));
	if (resp != NULL)
		obj.size = resp->file_bytes;
	if ((fd = open(op->tmp, O_WRONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		e = errno;
		if (fd >= 0)
			close(fd);
		s3_res_set(&res, sm_error_from_errno(e), r->http_status, NULL,
		    "s3 GetObject on '%s' failed: cannot sync '%s': %s", op->subject, op->tmp, strerror(e));
		goto fail;
	}
	close(fd);
	if (rename(op->tmp, op->path) != 0) {
		e = errno;
		s3_res_set(&res, sm_error_from_errno(e), r->http_status, NULL,
		    "s3 GetObject on '%s' failed: cannot rename '%s' to '%s': %s", op->subject, op->tmp,
		    op->path, strerror(e));
		goto fail;
	}
	(void)s3_fsync_dir(op->path);
	op->cb.object(op->arg, &res.r, &obj);
	s3_op_free(op);
	return;
fail:
	unlink(op->tmp);
	s3_finish(op, &res.r);
}

int
tp__s3_object_get_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, tp_object_cb *cb, void *arg, void **handle)
{
	struct s3_op *op;
	struct s3_req rq;
	size_t n;
	int fd, rc;

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "GetObject", bucket, key, TP__CB_OBJECT, arg)) == NULL ||
	    (op->path = strdup(path)) == NULL)
		goto nomem;
	n = strlen(path) + sizeof(".tmp.XXXXXX");
	if ((op->tmp = malloc(n)) == NULL)
		goto nomem;
	snprintf(op->tmp, n, "%s.tmp.XXXXXX", path);
	if ((fd = mkostemp(op->tmp, O_CLOEXEC)) < 0) {
		rc = sm_error_from_errno(errno);
		s3_op_free(op);
		return rc;
	}
	close(fd);
	op->cb.object = cb;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.key = key;
	rq.resp_file = op->tmp;
	rq.streaming = 1;
	if ((rc = s3_send(op, &rq, s3_get_file_done, op)) != 0) {
		unlink(op->tmp);
		s3_op_free(op);
	} else {
		*handle = op;
	}
	return rc;
nomem:
	s3_op_free(op);
	return SM_ENOMEM;
}

static void
s3_get_mem_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;

	s3_res_copy(&res, r);
	if (res.r.code == 0 && (resp == NULL || resp->body_len > op->max))
		s3_res_set(&res, SM_ETOOBIG, r->http_status, NULL,
		    "s3 GetObject on '%s' failed: the object is larger than the %zu bytes allowed",
		    op->subject, op->max);
	else if (res.r.code == SM_ETOOBIG)
		s3_res_set(&res, SM_ETOOBIG, r->http_status, NULL,
		    "s3 GetObject on '%s' failed: the object is larger than the %zu bytes allowed",
		    op->subject, op->max);
	if (res.r.code != 0) {
		s3_finish(op, &res.r);
		return;
	}
	op->cb.data(op->arg, &res.r, resp->body, resp->body_len);
	s3_op_free(op);
}

int
tp__s3_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg, void **handle)
{
	struct s3_op *op;
	struct s3_req rq;

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "GetObject", bucket, key, TP__CB_DATA, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.data = cb;
	op->max = max;
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.key = key;
	/* One more byte than allowed so "exactly max" and "beyond" differ;
	 * at least S3_ERR_BODY_MAX so that an error body still parses. */
	rq.resp_max = max < S3_ERR_BODY_MAX ? S3_ERR_BODY_MAX : max < SIZE_MAX ? max + 1 : max;
	rq.streaming = 1;
	return s3_start(op, &rq, s3_get_mem_done, handle);
}

/* ---- head, delete ------------------------------------------------------- */

static void
s3_head_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct tp_object obj;
	char etag[256];

	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_finish(op, &res.r);
		return;
	}
	s3_object_from_headers(op, resp, &obj, etag, sizeof(etag));
	op->cb.object(op->arg, &res.r, &obj);
	s3_op_free(op);
}

int
tp__s3_object_head(struct tp *tp, const char *bucket, const char *key,
    tp_object_cb *cb, void *arg, void **handle)
{
	struct s3_op *op;
	struct s3_req rq;

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "HeadObject", bucket, key, TP__CB_OBJECT, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.object = cb;
	memset(&rq, 0, sizeof(rq));
	rq.method = "HEAD";
	rq.key = key;
	return s3_start(op, &rq, s3_head_done, handle);
}

static void
s3_delete_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;

	(void)resp;
	s3_res_copy(&res, r);
	/* A missing key is success (S3 says 204 anyway); a missing bucket is not. */
	if (res.r.code != 0 && res.r.err_code != NULL && strcmp(res.r.err_code, "NoSuchKey") == 0) {
		res.r.code = 0;
		res.r.err_code = NULL;
		res.r.message = NULL;
	}
	s3_finish(op, &res.r);
}

int
tp__s3_object_delete(struct tp *tp, const char *bucket, const char *key,
    tp_done_cb *cb, void *arg, void **handle)
{
	struct s3_op *op;
	struct s3_req rq;

	if (s3_check_key(key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "DeleteObject", bucket, key, TP__CB_DONE, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.done = cb;
	memset(&rq, 0, sizeof(rq));
	rq.method = "DELETE";
	rq.key = key;
	return s3_start(op, &rq, s3_delete_done, handle);
}

/* ---- list --------------------------------------------------------------- */

static void
s3_list_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct tp__s3_list l;
	struct sm_error err;

	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_finish(op, &res.r);
		return;
	}
	sm_error_clear(&err);
	if (tp__s3_parse_list(resp != NULL ? resp->body : NULL, resp != NULL ? resp->body_len : 0,
	    &l, &err) != 0) {
		s3_res_set(&res, err.code, r->http_status, NULL, "s3 ListObjectsV2 on '%s' failed: %s",
		    op->subject, err.msg);
		s3_finish(op, &res.r);
		return;
	}
	op->cb.list(op->arg, &res.r, l.objs, l.n, (const char *const *)l.prefixes,
	    l.nprefixes, l.truncated ? l.next : NULL);
	tp__s3_list_free(&l);
	s3_op_free(op);
}

int
tp__s3_object_list(struct tp *tp, const char *bucket, const char *prefix,
    const char *delimiter, const char *continuation, int max_keys, tp_list_cb *cb,
    void *arg, void **handle)
{
	struct s3_op *op;
	struct s3_req rq;
	struct aws_query q[6];
	char mk[16];
	size_t nq = 0;

	if ((op = s3_op_new(tp, "ListObjectsV2", bucket, NULL, TP__CB_LIST, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.list = cb;
	q[nq].name = "list-type";
	q[nq++].value = "2";
	/* Keys may hold bytes XML 1.0 cannot carry: ask for them url-encoded. */
	q[nq].name = "encoding-type";
	q[nq++].value = "url";
	if (prefix != NULL && *prefix != '\0') {
		q[nq].name = "prefix";
		q[nq++].value = prefix;
	}
	if (delimiter != NULL && *delimiter != '\0') {
		q[nq].name = "delimiter";
		q[nq++].value = delimiter;
	}
	if (continuation != NULL && *continuation != '\0') {
		q[nq].name = "continuation-token";
		q[nq++].value = continuation;
	}
	if (max_keys > 0) {
		snprintf(mk, sizeof(mk), "%d", max_keys);
		q[nq].name = "max-keys";
		q[nq++].value = mk;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.query = q;
	rq.nquery = nq;
	return s3_start(op, &rq, s3_list_done, handle);
}

/* ---- copy --------------------------------------------------------------- */

static void
s3_copy_head_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct tp_object obj;
	char etag[256];

	/* The copy succeeded; the HEAD only tells its size.  Should it fail,
	 * the copy is still reported done, with the size unknown (0). */
	s3_res_copy(&res, r);
	s3_object_from_headers(op, res.r.code == 0 ? resp : NULL, &obj, etag, sizeof(etag));
	memset(&res, 0, sizeof(res));
	res.r.attempts = r->attempts;
	res.r.http_status = 200;
	op->cb.object(op->arg, &res.r, &obj);
	s3_op_free(op);
}

static int s3_copy_send(struct s3_op *op);

static void
s3_copy_done(void *arg, const struct tp_result *r, const struct http_response *resp)
{
	struct s3_op *op = arg;
	struct s3_res res;
	struct s3_req rq;
	char code[128], msg[512];
	xmlDocPtr doc;

	s3_res_copy(&res, r);
	if (res.r.code != 0) {
		s3_finish(op, &res.r);
		return;
	}
	if (resp != NULL && tp__s3_parse_error(resp->body, resp->body_len, code, sizeof(code),
	    msg, sizeof(msg)) == 0) {
		if (s3_error_200_retryable(op->tp, code, op->tries) &&
		    s3_copy_send(op) == 0)
			return;
		s3_res_set(&res, SM_ESERVICE, (int)resp->status, code,
		    "s3 CopyObject on '%s' failed: %s: %s (http %ld with an error body, %d "
		    "attempt%s)", op->subject, code, msg, resp->status, op->tries,
		    op->tries == 1 ? "" : "s");
		if (s3_code_in(code, s3_notfound_codes))
			res.r.code = SM_ENOTFOUND;
		s3_finish(op, &res.r);
		return;
	}
	if (resp == NULL || (doc = s3_xml_read(resp->body, resp->body_len)) == NULL) {
		s3_res_set(&res, SM_EPROTO, r->http_status, NULL,
		    "s3 CopyObject on '%s' failed: the answer is not XML", op->subject);
		s3_finish(op, &res.r);
		return;
	}
	if (!s3_xml_is(xmlDocGetRootElement(doc), "CopyObjectResult") &&
	    !s3_xml_is(xmlDocGetRootElement(doc), "CopyObjectResponse")) {
		s3_res_set(&res, SM_EPROTO, r->http_status, NULL,
		    "s3 CopyObject on '%s' failed: unexpected answer <%s>", op->subject,
		    (const char *)xmlDocGetRootElement(doc)->name);
		xmlFreeDoc(doc);
		s3_finish(op, &res.r);
		return;
	}
	xmlFreeDoc(doc);
	memset(&rq, 0, sizeof(rq));
	rq.method = "HEAD";
	rq.opname = "HeadObject";
	rq.key = op->key;
	if (s3_send(op, &rq, s3_copy_head_done, op) != 0)
		s3_copy_head_done(op, r, NULL);
}

static int
s3_copy_send(struct s3_op *op)
{
	struct s3_req rq;
	struct http_header h = { "x-amz-copy-source", op->copy_src };

	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.key = op->key;
	rq.headers = &h;
	rq.nheaders = 1;
	op->tries++;
	return s3_send(op, &rq, s3_copy_done, op);
}

int
tp__s3_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg, void **handle)
{
	struct s3_op *op;
	char *enc = NULL;
	size_t n;
	int rc = SM_ENOMEM;

	if (s3_check_key(src_key) != 0 || s3_check_key(dst_key) != 0)
		return SM_EINVAL;
	if ((op = s3_op_new(tp, "CopyObject", dst_bucket, dst_key, TP__CB_OBJECT, arg)) == NULL)
		return SM_ENOMEM;
	op->cb.object = cb;
	/* the source key URL-encoded as in a path ('/' kept) */
	if ((enc = tp__sigv4_uri_encode(src_key, strlen(src_key), 1)) == NULL)
		goto out;
	n = strlen(src_bucket) + strlen(enc) + 3;
	if ((op->copy_src = malloc(n)) == NULL)
		goto out;
	snprintf(op->copy_src, n, "/%s/%s", src_bucket, enc);
	rc = s3_copy_send(op);
out:
	free(enc);
	if (rc != 0)
		s3_op_free(op);
	else
		*handle = op;
	return rc;
}

/* ---- presign ------------------------------------------------------------ */

char *
tp__s3_presign_get(struct tp *tp, const char *bucket, const char *key, int expires_s,
    struct sm_error *err)
{
	struct aws_backend *b = aws_backend(tp);
	struct sigv4_presign p;
	struct sigv4_creds c;
	char *base = NULL, *host = NULL, *path = NULL, *url = NULL, *sep;
	int rc;

	if (s3_check_key(key) != 0) {
		sm_error_set(err, SM_EINVAL, "presign '%s': the key must be 1 to %d bytes",
		    bucket, S3_KEY_MAX);
		return NULL;
	}
	if ((rc = tp__creds_get(b->creds, &c)) != 0) {
		sm_error_set(err, rc == SM_EAGAIN ? SM_EAGAIN : SM_ECREDS,
		    "presign '%s/%s': no credentials yet (%s): retry once the credentials "
		    "are fetched",
		    bucket, key,
		    tp__creds_last_error(b->creds) != NULL ? tp__creds_last_error(b->creds) :
		                                             sm_strerror(rc));
		return NULL;
	}
	if ((rc = tp__awsconf_s3_target(b->conf, bucket, key, &base, &host, &path, err)) != 0)
		goto out;
	if ((sep = strstr(base, "://")) == NULL) {
		sm_error_set(err, SM_EINVAL, "presign '%s/%s': bad endpoint '%s'", bucket, key,
		    base);
		goto out;
	}
	*sep = '\0';
	memset(&p, 0, sizeof(p));
	p.method = "GET";
	p.scheme = base;
	p.host = host;
	p.path = path;
	p.path_raw = 1;
	p.expires_s = expires_s;
	if (tp__sigv4_presign_url(
	        &p, &c, b->conf->region, "s3", (time_t)tp__aws_now(b), &url, err) != 0)
		url = NULL;
out:
	free(base);
	free(host);
	free(path);
	return url;
}
