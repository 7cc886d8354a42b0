/*
 * aws.c - the "aws" transport backend's state and its signed and retried
 * request layer (tp__aws_call, see aws_private.h).  sqs.c and s3.c build on it;
 * aws_ops.c puts them together into the backend table.  Nothing here knows
 * SQS or S3 answers.
 *
 * Retries follow the AWS SDKs' "standard" mode: a retry quota shared by
 * every call of the backend (500 tokens, 5 per retry, 10 per retry after a
 * timeout or connection error, given back on success), exponential backoff
 * with full jitter capped at 20 s, and x-amz-retry-after (milliseconds, as
 * the SDKs read it) when the service sends it.  Every attempt is signed
 * anew: fresh credentials and the clock corrected by the last skew seen.
 */
#include "aws_private.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "awsconf.h"
#include "creds.h"
#include "sigv4.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_rand.h"
#include "sm_time.h"

enum call_state {
	CALL_TIMER,         /* waiting for the timer of the next attempt */
	CALL_CREDS,         /* waiting for credentials */
	CALL_HTTP           /* request in flight */
};

struct aws_call {
	struct aws_backend *b;
	struct aws_call *prev, *next;
	enum call_state state;
	aws_done_cb *cb;
	void *arg;
	const void *owner; /* tp__aws_cancel_owner() */

	/* copied spec */
	char *service, *op, *subject, *method;
	char *scheme, *host, *path;      /* path = endpoint path + spec path */
	int s3_path;
	struct sigv4_param *query;
	size_t nquery;
	struct http_header *headers;
	size_t nheaders;
	void *body;
	size_t body_len;
	char *body_file;
	uint64_t body_file_offset, body_file_len;
	char payload_hash[80];
	size_t resp_max;
	char *resp_file;
	long timeout_ms;
	int streaming;
	aws_error_parser *parse_error;
	int accept_status;

	int attempts;                    /* attempts started */
	int last_cost;                   /* quota taken for the current retry */
	uint64_t timer_id;
	struct http_request *req;
};

/* ---- small helpers ---------------------------------------------------- */

int64_t
tp__aws_now(struct aws_backend *b)
{
	return (int64_t)time(NULL) + b->clock_offset_s;
}

int
tp__aws_quota_left(struct tp *tp)
{
	return aws_backend(tp)->quota;
}

void
tp__aws_set_backoff_scale(struct tp *tp, unsigned pct)
{
	aws_backend(tp)->backoff_scale_pct = pct;
}

static int
in_list(const char *code, const char *const *list)
{
	size_t i;

	if (code == NULL || *code == '\0')
		return 0;
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(code, list[i]) == 0)
			return 1;
	return 0;
}

int
tp__aws_code_is_throttling(const char *code)
{
	static const char *const list[] = {
		"Throttling", "ThrottlingException", "ThrottledException",
		"RequestThrottledException", "TooManyRequestsException",
		"ProvisionedThroughputExceededException", "TransactionInProgressException",
		"RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
		"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
		"EC2ThrottledException", "AWS.SimpleQueueService.RequestThrottled",
		"RequestThrottledException", "KMS.ThrottlingException", NULL
	};

	return in_list(code, list);
}

int
tp__aws_code_is_transient(const char *code)
{
	static const char *const list[] = {
		"RequestTimeout", "RequestTimeoutException", "InternalError",
		"InternalFailure", "ServiceUnavailable", "InternalServerError",
		"AWS.SimpleQueueService.InternalError", "IDPCommunicationError", NULL
	};

	return in_list(code, list);
}

static int
code_is_skew(const char *code)
{
	static const char *const list[] = {
		"RequestTimeTooSkewed", "RequestExpired", "RequestInTheFuture",
		"InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", NULL
	};

	return in_list(code, list);
}

static int
code_is_auth(const char *code)
{
	static const char *const list[] = {
		"SignatureDoesNotMatch", "InvalidSignatureException", "InvalidClientTokenId",
		"UnrecognizedClientException", "InvalidAccessKeyId", "AccessDenied",
		"AccessDeniedException", "AuthFailure", "ExpiredToken", "ExpiredTokenException",
		"MissingAuthenticationToken", "IncompleteSignature",
		"AWS.SimpleQueueService.AccessDenied", NULL
	};

	return in_list(code, list);
}

static int
code_is_notfound(const char *code)
{
	static const char *const list[] = {
		"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
		"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", NULL
	};

	return in_list(code, list);
}

/* Copy at most `size`-1 bytes of [s, s+n), dropping control characters
 * (a hostile body never reaches a log line with a line break in it). */
static void
copy_clean(char *dst, size_t size, const char *s, size_t n)
{
	size_t i, j = 0;

	for (i = 0; i < n && j + 1 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[j] = '\0';
}

/* Text between <tag> and </tag> in the first `len` bytes of `body`. */
static int
xml_scan(const char *body, size_t len, const char *tag, char *out, size_t size)
{
	char open[64], close[64];
	const char *p, *e;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((p = memmem(body, len, open, strlen(open))) == NULL)
		return -1;
	p += strlen(open);
	if ((e = memmem(p, len - (size_t)(p - body), close, strlen(close))) == NULL)
		return -1;
	copy_clean(out, size, p, (size_t)(e - p));
	return 0;
}

int
tp__aws_parse_error_json(const struct http_response *resp, struct aws_service_error *out)
{
	const char *qe = tp__http_response_header(resp, "x-amzn-query-error");
	const char *body = resp->body;
	size_t len = resp->body_len, i = 0;

	out->code[0] = out->message[0] = '\0';
	while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
	    body[i] == '\t'))
		i++;
	if (i < len && body[i] == '{' && len <= 1024 * 1024) {
		json_error_t jerr;
		json_t *root = json_loadb(body, len, 0, &jerr);
		if (json_is_object(root)) {
			const char *t = json_string_value(json_object_get(root, "__type"));
			const char *msg = json_string_value(json_object_get(root, "message"));
			if (t == NULL)
				t = json_string_value(json_object_get(root, "code"));
			if (msg == NULL)
				msg = json_string_value(json_object_get(root, "Message"));
			if (t != NULL) {
				const char *h = strrchr(t, '#');
				t = h != NULL ? h + 1 : t;
				copy_clean(out->code, sizeof(out->code), t, strlen(t));
			}
			if (msg != NULL)
				copy_clean(out->message, sizeof(out->message), msg, strlen(msg));
		}
		json_decref(root);
	} else if (i < len && body[i] == '<') {
		xml_scan(body, len, "Code", out->code, sizeof(out->code));
		xml_scan(body, len, "Message", out->message, sizeof(out->message));
	}
	if (qe != NULL && *qe != '\0')
		copy_clean(out->code, sizeof(out->code), qe, strcspn(qe, ";"));
	return out->code[0] != '\0' || out->message[0] != '\0' ? 0 : SM_EPARSE;
}

int
tp__aws_parse_error_xml(const struct http_response *resp, struct aws_service_error *out)
{
	out->code[0] = out->message[0] = '\0';
	if (resp->body_len > 0) {
		xml_scan(resp->body, resp->body_len, "Code", out->code, sizeof(out->code));
		xml_scan(resp->body, resp->body_len, "Message", out->message,
		    sizeof(out->message));
	}
	return out->code[0] != '\0' ? 0 : SM_EPARSE;
}

/* ---- call lifetime ---------------------------------------------------- */

static void
call_unlink(struct aws_call *c)
{
	struct aws_backend *b = c->b;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (b->calls == c)
		b->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void
call_free(struct aws_call *c)
{
	size_t i;

	free(c->service);
	free(c->op);
	free(c->subject);
	free(c->method);
	free(c->scheme);
	free(c->host);
	free(c->path);
	for (i = 0; i < c->nquery; i++) {
		free((char *)c->query[i].name);
		free((char *)c->query[i].value);
	}
	free(c->query);
	for (i = 0; i < c->nheaders; i++) {
		free((char *)c->headers[i].name);
		free((char *)c->headers[i].value);
	}
	free(c->headers);
	free(c->body);
	free(c->body_file);
	free(c->resp_file);
	free(c);
}

/* Finish the call: callback, then free.  `resp` may be NULL. */
static void
call_finish(struct aws_call *c, const struct tp_result *r, const struct http_response *resp)
{
	call_unlink(c);
	c->cb(c->arg, r, resp);
	call_free(c);
}

static const char *
plural(int n)
{
	return n == 1 ? "" : "s";
}

/* Finish with an error that is not an HTTP answer. */
static void
call_fail(struct aws_call *c, int code, const char *what, const char *hint)
{
	struct tp_result r;
	char msg[SM_ERROR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s %s on '%s' failed: %s (%d attempt%s)%s%s",
	    c->service, c->op, c->subject, what, c->attempts, plural(c->attempts),
	    hint ? "; " : "", hint ? hint : "");
	memset(&r, 0, sizeof(r));
	r.code = code;
	r.message = msg;
	r.attempts = c->attempts;
	call_finish(c, &r, NULL);
}

static void start_attempt(struct aws_call *c);

static int64_t
on_attempt_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct aws_call *c = arg;

	(void)loop;
	(void)id;
	c->timer_id = 0;
	start_attempt(c);
	return -1;
}

static int
schedule(struct aws_call *c, int64_t delay_ms)
{
	c->state = CALL_TIMER;
	c->timer_id = sm_loop_timer_add(c->b->loop, delay_ms, on_attempt_timer, c);
	return c->timer_id != 0 ? 0 : SM_ENOMEM;
}

static void
on_creds(void *arg, int code)
{
	struct aws_backend *b = arg;
	struct aws_call *c;

	if (b->destroying)
		return;
	b->creds_waiting = 0;
	/* restart the scan after each call: callbacks may change the list */
	for (;;) {
		for (c = b->calls; c != NULL; c = c->next)
			if (c->state == CALL_CREDS)
				break;
		if (c == NULL)
			break;
		if (code == 0) {
			start_attempt(c);
			/* credentials gone again (they expired in between): the
			 * call waits anew and the next on_creds resumes the rest;
			 * scanning on would pick the same call forever */
			if (b->creds_waiting)
				break;
		} else {
			c->attempts++;
			call_fail(c, SM_ECREDS,
			    tp__creds_last_error(b->creds)[0] ? tp__creds_last_error(b->creds) :
			                                        "no credentials",
			    "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an "
			    "instance role");
		}
	}
}

/* ---- one attempt ------------------------------------------------------ */

static void on_http_done(void *arg, const struct http_response *resp);

static void
start_attempt(struct aws_call *c)
{
	struct aws_backend *b = c->b;
	struct sigv4_creds creds;
	struct sigv4_request sreq;
	struct sigv4_result sres;
	struct sigv4_header *sh = NULL;
	struct http_header *hh = NULL;
	struct http_req_spec hs;
	struct sm_error err;
	char *url = NULL;
	size_t i, nh = 0;
	int rc;

	rc = tp__creds_get(b->creds, &creds);
	if (rc == SM_EAGAIN) {
		c->state = CALL_CREDS;
		if (!b->creds_waiting) {
			if (tp__creds_wait(b->creds, on_creds, b) != 0) {
				c->attempts++;
				call_fail(c, SM_ECREDS, "cannot wait for credentials", NULL);
				return;
			}
			b->creds_waiting = 1;
		}
		return;
	}
	c->attempts++;
	if (rc != 0) {
		call_fail(c, SM_ECREDS,
		    tp__creds_last_error(b->creds)[0] ? tp__creds_last_error(b->creds) :
		                                        "no credentials",
		    "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or an instance role");
		return;
	}

	memset(&sres, 0, sizeof(sres));
	sh = calloc(c->nheaders + 1, sizeof(*sh));
	hh = calloc(c->nheaders + 2 + SIGV4_ADD_MAX + 1, sizeof(*hh));
	if (sh == NULL || hh == NULL)
		goto nomem;
	sh[0].name = "Host";
	sh[0].value = c->host;
	for (i = 0; i < c->nheaders; i++) {
		sh[i + 1].name = c->headers[i].name;
		sh[i + 1].value = c->headers[i].value;
	}
	memset(&sreq, 0, sizeof(sreq));
	sreq.method = c->method;
	sreq.path = c->path;
	sreq.path_raw = 1;
	sreq.s3 = c->s3_path;
	sreq.query = c->query;
	sreq.nquery = c->nquery;
	sreq.headers = sh;
	sreq.nheaders = c->nheaders + 1;
	sreq.payload_hash = c->payload_hash;
	rc = tp__sigv4_sign(
	    &sreq, &creds, b->conf->region, c->service, (time_t)tp__aws_now(b), &sres);
	if (rc != 0) {
		tp__sigv4_result_free(&sres);
		free(sh);
		free(hh);
		call_fail(c, rc, "cannot sign the request", NULL);
		return;
	}
	for (i = 0; i < c->nheaders; i++)
		hh[nh++] = c->headers[i];
	hh[nh].name = "Host";
	hh[nh++].value = c->host;
	hh[nh].name = "Authorization";
	hh[nh++].value = sres.authorization;
	for (i = 0; i < sres.nadd; i++) {
		hh[nh].name = sres.add[i].name;
		hh[nh++].value = sres.add[i].value;
	}
	if (asprintf(&url, "%s://%s%s%s%s", c->scheme, c->host, sres.path,
	    sres.query[0] ? "?" : "", sres.query) < 0) {
		url = NULL;
		tp__sigv4_result_free(&sres);
		goto nomem;
	}
	memset(&hs, 0, sizeof(hs));
	hs.method = c->method;
	hs.url = url;
	hs.headers = hh;
	hs.nheaders = nh;
	hs.body = c->body;
	hs.body_len = c->body_len;
	hs.body_file = c->body_file;
	hs.body_file_offset = c->body_file_offset;
	hs.body_file_len = c->body_file_len;
	hs.resp_max = c->resp_max;
	hs.resp_file = c->resp_file;
	hs.connect_timeout_ms = b->connect_timeout_ms;
	hs.ca_file = b->conf->ca_bundle;
	if (c->streaming) {
		/* moving data is never cut off; a stalled transfer is */
		hs.timeout_ms = -1;
		hs.low_speed_bytes = b->low_speed_bytes;
		hs.low_speed_window_s = b->low_speed_window_s;
	} else {
		hs.timeout_ms = c->timeout_ms;
	}
	sm_error_clear(&err);
	c->state = CALL_HTTP;
	rc = tp__http_start(b->http, &hs, on_http_done, c, &c->req, &err);
	tp__sigv4_result_free(&sres);
	free(url);
	free(sh);
	free(hh);
	if (rc != 0)
		call_fail(c, rc, err.msg, NULL);
	return;
nomem:
	free(sh);
	free(hh);
	call_fail(c, SM_ENOMEM, "out of memory", NULL);
}

static int
result_code(long status, const char *code, int throttled)
{
	if (throttled)
		return SM_ETHROTTLED;
	if (code_is_auth(code) || status == 401 || status == 403)
		return SM_EAUTH;
	if (code_is_notfound(code) || status == 404)
		return SM_ENOTFOUND;
	return SM_ESERVICE;
}

/* Take retry tokens; 0 if the quota cannot pay. */
static int
quota_take(struct aws_backend *b, int cost)
{
	if (b->quota < cost)
		return 0;
	b->quota -= cost;
	return 1;
}

static int64_t
backoff_ms(struct aws_call *c, const struct http_response *resp)
{
	struct aws_backend *b = c->b;
	const char *ra = resp != NULL ? tp__http_response_header(resp, "x-amz-retry-after") : NULL;
	int64_t cap, d;
	int shift = c->attempts - 1;

	if (ra != NULL) {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(ra, &end, 10);
		if (errno == 0 && end != ra && *end == '\0' && v >= 0) {
			d = v > AWS_BACKOFF_MAX_MS ? AWS_BACKOFF_MAX_MS : v;
			return d * (int64_t)b->backoff_scale_pct / 100;
		}
	}
	if (shift > 15)
		shift = 15;
	cap = (int64_t)1000 << shift;
	if (cap > AWS_BACKOFF_MAX_MS)
		cap = AWS_BACKOFF_MAX_MS;
	d = (int64_t)sm_rng_below(&b->rng, (uint64_t)cap + 1);
	return d * (int64_t)b->backoff_scale_pct / 100;
}

/* Retry if attempts and quota allow; 1 if a retry was scheduled. */
static int
try_retry(struct aws_call *c, const struct http_response *resp, int cost, char *why,
    size_t why_size)
{
	struct aws_backend *b = c->b;

	if (c->attempts >= b->max_attempts)
		return 0;
	if (!quota_take(b, cost)) {
		snprintf(why, why_size, "; retry quota exhausted (too many failures "
		    "recently), not retried");
		return 0;
	}
	c->last_cost = cost;
	if (schedule(c, backoff_ms(c, resp)) != 0) {
		b->quota += cost;
		return 0;
	}
	return 1;
}

static void
on_http_done(void *arg, const struct http_response *resp)
{
	struct aws_call *c = arg;
	struct aws_backend *b = c->b;
	struct aws_service_error se;
	struct tp_result r;
	char msg[SM_ERROR_MSG_MAX], extra[160] = "";
	int throttled = 0, transient = 0, cost = AWS_QUOTA_RETRY_COST;

	c->req = NULL;
	if (resp->code == SM_ECANCELED) {
		call_fail(c, SM_ECANCELED, "canceled", NULL);
		return;
	}
	if (resp->code != 0) {
		char what[512];
		if (resp->code == SM_ETIMEOUT || resp->code == SM_ENET) {
			if (try_retry(c, NULL, AWS_QUOTA_TIMEOUT_COST, extra, sizeof(extra)))
				return;
		}
		snprintf(what, sizeof(what), "%s: %s%s",
		    resp->code == SM_ETIMEOUT ? "no answer in time" :
		    resp->code == SM_ENET ? "no answer" : sm_strerror(resp->code),
		    resp->error ? resp->error : "", extra);
		call_fail(c, resp->code, what,
		    resp->code == SM_ENET || resp->code == SM_ETIMEOUT ?
		    "check the endpoint and the network" :
		    resp->code == SM_ETLS ? "the server's certificate was not accepted; "
		    "for a private CA set AWS_CA_BUNDLE to its PEM file" : NULL);
		return;
	}
	if ((resp->status >= 200 && resp->status < 300) ||
	    (c->accept_status != 0 && resp->status == c->accept_status)) {
		if (c->last_cost > 0)
			b->quota += c->last_cost;
		else
			b->quota += AWS_QUOTA_SUCCESS_REFUND;
		if (b->quota > AWS_QUOTA_INITIAL)
			b->quota = AWS_QUOTA_INITIAL;
		memset(&r, 0, sizeof(r));
		r.http_status = (int)resp->status;
		r.attempts = c->attempts;
		call_finish(c, &r, resp);
		return;
	}

	memset(&se, 0, sizeof(se));
	(c->parse_error ? c->parse_error : tp__aws_parse_error_json)(resp, &se);

	if (code_is_skew(se.code)) {
		const char *date = tp__http_response_header(resp, "Date");
		int64_t server_ms = 0, ours = tp__aws_now(b);
		int64_t server = sm_time_parse(date, &server_ms) == 0 ? server_ms / 1000 : -1;
		int64_t diff = server - ours;

		if (server > 0 && (diff > AWS_SKEW_THRESHOLD_S || -diff > AWS_SKEW_THRESHOLD_S)) {
			sm_log_warn("%s %s: clock skew of %lld s against the server, "
			    "correcting and retrying", c->service, c->op, (long long)diff);
			b->clock_offset_s += diff;
			if (c->attempts < b->max_attempts && schedule(c, 0) == 0)
				return;
			snprintf(extra, sizeof(extra),
			    "; our clock is %lld s off the server's: fix the system clock",
			    (long long)-diff);
		}
	}
	throttled = tp__aws_code_is_throttling(se.code) || resp->status == 429;
	transient = tp__aws_code_is_transient(se.code) || resp->status == 500 ||
	    resp->status == 502 || resp->status == 503 || resp->status == 504;
	if ((throttled || transient) && try_retry(c, resp, cost, extra, sizeof(extra)))
		return;

	snprintf(msg, sizeof(msg), "%s %s on '%s' failed: HTTP %ld%s%s%s%s (%d attempt%s)%s%s",
	    c->service, c->op, c->subject, resp->status, se.code[0] ? " " : "", se.code,
	    se.message[0] ? ": " : "", se.message, c->attempts, plural(c->attempts), extra,
	    code_is_auth(se.code) ? "; check the credentials (access key and secret) "
	    "and the region" : "");
	memset(&r, 0, sizeof(r));
	r.code = result_code(resp->status, se.code, throttled);
	r.http_status = (int)resp->status;
	r.err_code = se.code[0] ? se.code : NULL;
	r.message = msg;
	r.attempts = c->attempts;
	call_finish(c, &r, resp);
}

void
tp__aws_cancel_owner(struct aws_backend *b, const void *owner)
{
	struct aws_call *c, *next;

	for (c = b->calls; c != NULL; c = next) {
		next = c->next;
		if (owner == NULL || c->owner != owner)
			continue;
		if (c->timer_id != 0)
			sm_loop_timer_del(b->loop, c->timer_id);
		if (c->req != NULL)
			tp__http_cancel(c->req);
		/* CALL_CREDS: on_creds finds it no more */
		call_unlink(c);
		call_free(c);
	}
}

/* ---- tp__aws_call --------------------------------------------------------- */

static char *
dup_or_null(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

int
tp__aws_call(struct tp *tp, const struct aws_call_spec *spec, aws_done_cb *cb, void *arg)
{
	struct aws_backend *b = aws_backend(tp);
	struct aws_call *c;
	const char *endpoint;
	char *epath = NULL;
	size_t i;
	int bad = 0, rc = SM_ENOMEM;

	if (b == NULL || b->destroying)
		return SM_ECANCELED;
	if (spec->service == NULL || spec->op == NULL || spec->method == NULL || cb == NULL)
		return SM_EINVAL;
	endpoint = spec->endpoint;
	if (endpoint == NULL)
		endpoint = strcmp(spec->service, "s3") == 0 ? b->conf->endpoint_s3 :
		    b->conf->endpoint_sqs;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SM_ENOMEM;
	c->b = b;
	c->cb = cb;
	c->arg = arg;
	c->owner = spec->owner;
	c->streaming = spec->streaming;
	if (tp__awsconf_split_url(endpoint, &c->scheme, &c->host, &epath, NULL) != 0) {
		rc = SM_EINVAL;
		goto fail;
	}
	if (asprintf(&c->path, "%s%s", epath,
	    spec->path != NULL ? spec->path : (*epath ? "" : "/")) < 0) {
		c->path = NULL;
		goto fail;
	}
	c->service = dup_or_null(spec->service, &bad);
	c->op = dup_or_null(spec->op, &bad);
	c->subject = dup_or_null(spec->subject ? spec->subject : endpoint, &bad);
	c->method = dup_or_null(spec->method, &bad);
	c->body_file = dup_or_null(spec->body_file, &bad);
	c->resp_file = dup_or_null(spec->resp_file, &bad);
	if (bad)
		goto fail;
	c->s3_path = spec->s3_path;
	if (spec->nquery > 0) {
		if ((c->query = calloc(spec->nquery, sizeof(*c->query))) == NULL)
			goto fail;
		c->nquery = spec->nquery;
		for (i = 0; i < spec->nquery; i++) {
			c->query[i].name = dup_or_null(spec->query[i].name ?
			    spec->query[i].name : "", &bad);
			c->query[i].value = dup_or_null(spec->query[i].value ?
			    spec->query[i].value : "", &bad);
		}
	}
	if (spec->nheaders > 0) {
		if ((c->headers = calloc(spec->nheaders, sizeof(*c->headers))) == NULL)
			goto fail;
		c->nheaders = spec->nheaders;
		for (i = 0; i < spec->nheaders; i++) {
			c->headers[i].name = dup_or_null(spec->headers[i].name, &bad);
			c->headers[i].value = dup_or_null(spec->headers[i].value ?
			    spec->headers[i].value : "", &bad);
		}
	}
	if (bad)
		goto fail;
	if (spec->body_len > 0) {
		if ((c->body = malloc(spec->body_len)) == NULL)
			goto fail;
		memcpy(c->body, spec->body, spec->body_len);
		c->body_len = spec->body_len;
	}
	c->body_file_offset = spec->body_file_offset;
	c->body_file_len = spec->body_file_len;
	if (spec->payload_hash != NULL) {
		snprintf(c->payload_hash, sizeof(c->payload_hash), "%s", spec->payload_hash);
	} else if (c->body_file != NULL) {
		int fd = open(c->body_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = sm_error_from_errno(errno);
			goto fail;
		}
		rc = tp__sigv4_sha256_fd_hex(
		    fd, c->body_file_offset, c->body_file_len, c->payload_hash);
		close(fd);
		if (rc != 0)
			goto fail;
	} else {
		tp__sigv4_sha256_hex(c->body, c->body_len, c->payload_hash);
	}
	c->resp_max = spec->resp_max;
	c->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : b->request_timeout_ms;
	c->parse_error = spec->parse_error;
	c->accept_status = spec->accept_status;
	/* the first attempt starts from the loop: callbacks never run inside
	 * tp__aws_call, even when it fails at once */
	if (schedule(c, 0) != 0)
		goto fail;
	c->next = b->calls;
	if (b->calls != NULL)
		b->calls->prev = c;
	b->calls = c;
	free(epath);
	return 0;
fail:
	free(epath);
	call_free(c);
	return rc;
}

/* ---- backend ---------------------------------------------------------- */

int
tp__aws_backend_create(struct tp *tp, const struct tp_config *cfg, struct sm_error *err)
{
	struct aws_backend *b;
	int rc;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	b->tp = tp;
	b->loop = tp->loop;
	if ((b->conf = calloc(1, sizeof(*b->conf))) == NULL) {
		free(b);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	if ((rc = tp__awsconf_load(b->conf, cfg, err)) != 0)
		goto fail;
	if ((rc = tp__http_create(&b->http, tp->loop, err)) != 0)
		goto fail;
	if ((rc = tp__creds_provider_create(&b->creds, tp->loop, b->http, NULL, err)) != 0)
		goto fail;
	b->max_attempts = b->conf->max_attempts > 0 ? b->conf->max_attempts : 3;
	if (cfg != NULL && cfg->max_attempts > 0)
		b->max_attempts = cfg->max_attempts;
	b->connect_timeout_ms = cfg && cfg->connect_timeout_ms > 0 ?
	    cfg->connect_timeout_ms : 10000;
	b->request_timeout_ms = cfg && cfg->request_timeout_ms > 0 ?
	    cfg->request_timeout_ms : 60000;
	b->low_speed_bytes = cfg && cfg->low_speed_bytes > 0 ?
	    cfg->low_speed_bytes : TP_LOW_SPEED_BYTES_DEFAULT;
	b->low_speed_window_s = cfg && cfg->low_speed_window_s > 0 ?
	    cfg->low_speed_window_s : TP_LOW_SPEED_WINDOW_S_DEFAULT;
	b->multipart_threshold = cfg && cfg->multipart_threshold > 0 ?
	    cfg->multipart_threshold : 16u * 1024 * 1024;
	b->quota = AWS_QUOTA_INITIAL;
	b->backoff_scale_pct = 100;
	sm_rng_init(&b->rng);
	tp->impl = b;
	return 0;
fail:
	if (b->creds != NULL)
		tp__creds_provider_destroy(b->creds);
	if (b->http != NULL)
		tp__http_destroy(b->http);
	tp__awsconf_free(b->conf);
	free(b->conf);
	free(b);
	return rc;
}

void
tp__aws_backend_destroy(struct tp *tp)
{
	struct aws_backend *b = aws_backend(tp);
	struct aws_call *c;
	struct tp_result r;

	if (b == NULL)
		return;
	b->destroying = 1;
	tp__creds_provider_destroy(b->creds);
	b->creds = NULL;
	while ((c = b->calls) != NULL) {
		if (c->timer_id != 0)
			sm_loop_timer_del(b->loop, c->timer_id);
		if (c->req != NULL)
			tp__http_cancel(c->req);
		memset(&r, 0, sizeof(r));
		r.code = SM_ECANCELED;
		r.message = "canceled: the transport is shutting down";
		r.attempts = c->attempts;
		call_finish(c, &r, NULL);
	}
	tp__http_destroy(b->http);
	tp__awsconf_free(b->conf);
	free(b->conf);
	free(b);
	tp->impl = NULL;
}
