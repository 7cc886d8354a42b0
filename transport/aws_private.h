/*
 * aws_private.h - the "aws" backend's shared state and its signed,
 * retried request layer (tp__aws_ functions; used by sqs.c, s3.c and aws_ops.c,
 * which sit above it: aws.c calls none of them).
 *
 * tp__aws_call() sends one logical AWS request: for each attempt it signs the
 * request with SigV4 (time = now + clock offset, fresh credentials), sends
 * it through http.h, parses a service error with the spec's parser and
 * classifies the outcome after the AWS SDK "standard" retry mode:
 *
 *   - 2xx (and the caller's accepted statuses): success, refund quota;
 *   - throttling codes (Throttling, SlowDown, RequestLimitExceeded, ...),
 *     transient codes (InternalError, RequestTimeout...), HTTP 500/502/
 *     503/504, connection refused/reset/timeout: retried while attempts
 *     remain and the retry quota (500 tokens; 5 a retry, 10 after a
 *     timeout or connection error) allows, after random(0, min(20 s,
 *     1 s * 2^attempt)) or the server's x-amz-retry-after (capped at 20 s);
 *   - clock skew (RequestTimeTooSkewed, RequestExpired,
 *     InvalidSignatureException, SignatureDoesNotMatch when the server's
 *     Date differs from ours by more than 4 min): the clock offset is set
 *     from the server's Date and the request retried at once;
 *   - any other 4xx: not retried.
 *
 * The callback gets a tp_result (code, status, service error code, a whole
 * message naming the operation, the subject, status, code, message and the
 * attempt count; never secrets) and the last HTTP response (NULL when none
 * arrived).  On success resp->status is 2xx (or accepted).
 */
#ifndef AWS_PRIVATE_H
#define AWS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "sm_rand.h"
#include "transport_private.h"

struct creds_provider;
struct awsconf;

/* Retry quota of the standard mode. */
#define AWS_QUOTA_INITIAL 500
#define AWS_QUOTA_RETRY_COST 5
#define AWS_QUOTA_TIMEOUT_COST 10
#define AWS_QUOTA_SUCCESS_REFUND 1
#define AWS_BACKOFF_MAX_MS 20000
#define AWS_SKEW_THRESHOLD_S 240

/* The backend state behind tp->impl. */
struct aws_backend {
	struct tp *tp;
	struct sm_loop *loop;
	struct http *http;
	struct creds_provider *creds;
	struct awsconf *conf;
	int max_attempts;          /* >= 1 */
	long connect_timeout_ms;
	long request_timeout_ms;
	long low_speed_bytes;      /* streaming requests: stalled below this */
	long low_speed_window_s;   /* ... for this long */
	size_t multipart_threshold;
	int64_t clock_offset_s;    /* server time - our time */
	int quota;                 /* retry tokens left */
	unsigned backoff_scale_pct;/* tests: 100 = real delays; 0 = no wait */
	struct aws_call *calls;    /* in flight (for destroy) */
	struct sm_rng rng;         /* jitter */
	int creds_waiting;         /* a tp__creds_wait() is pending */
	int destroying;
	size_t jobs;               /* the backend's own work (s3.c: aborts
	                              after a cancel), for tp_pending */
};

static inline struct aws_backend *
aws_backend(struct tp *tp)
{
	return (struct aws_backend *)tp->impl;
}

/* A service error parsed from an answer; both strings NUL-terminated,
 * empty when unknown. */
struct aws_service_error {
	char code[128];
	char message[512];
};

/* Fill `out` from a non-2xx answer.  Return 0 if something was found. */
typedef int aws_error_parser(const struct http_response *resp, struct aws_service_error *out);

/* SQS/JSON: body {"__type": "com.amazonaws.sqs#QueueDoesNotExist",
 * "message": "..."} (the part after '#'), else the x-amzn-query-error
 * header ("AWS.SimpleQueueService.NonExistentQueue;Sender"), which wins
 * for the code when present. */
int tp__aws_parse_error_json(const struct http_response *resp, struct aws_service_error *out);
/* XML: the text of the first <Code> and <Message> elements, found by a
 * plain scan (s3.c first tries its hardened XML parser). */
int tp__aws_parse_error_xml(const struct http_response *resp, struct aws_service_error *out);

struct aws_query {
	const char *name;          /* raw (not encoded) */
	const char *value;         /* raw; NULL or "" for a valueless key */
};

struct aws_call_spec {
	const char *service;       /* signing name: "sqs", "s3" */
	const char *op;            /* for messages: "SendMessage", "PutObject" */
	const char *subject;       /* for messages: queue URL, "bucket/key" */
	const char *method;        /* "POST", "GET", ... */
	/* scheme://host[:port] without a path; NULL: the configured endpoint
	 * of `service` (conf->endpoint_sqs / endpoint_s3). */
	const char *endpoint;
	const char *path;          /* raw path beginning with '/'; NULL: "/" */
	int s3_path;               /* 1: S3 rules (no double encoding or
	                              normalisation of the path) */
	const struct aws_query *query;
	size_t nquery;
	const struct http_header *headers;   /* extra headers (Content-Type...) */
	size_t nheaders;
	/* body: memory (copied per attempt) or a file range, as in http.h */
	const void *body;
	size_t body_len;
	const char *body_file;
	uint64_t body_file_offset;
	uint64_t body_file_len;
	/* hex SHA-256 of the payload, "UNSIGNED-PAYLOAD", or NULL: computed */
	const char *payload_hash;
	size_t resp_max;
	const char *resp_file;
	long timeout_ms;           /* 0: backend default */
	/* 1: a transfer of any length (object bodies, parts): no whole-
	 * request timeout, it fails only when it moves fewer than
	 * low_speed_bytes a second for low_speed_window_s (or cannot
	 * connect); timeout_ms is then unused. */
	int streaming;
	/* Who the call works for: tp__aws_cancel_owner(owner) stops every call of
	 * that owner at once.  NULL: none. */
	const void *owner;
	aws_error_parser *parse_error; /* NULL: tp__aws_parse_error_json */
	/* A non-2xx status that counts as success (e.g. 404 for a delete
	 * that may miss), 0 for none. */
	int accept_status;
};

typedef void aws_done_cb(void *arg, const struct tp_result *r,
    const struct http_response *resp);

/*
 * Start a call.  0: started, `cb` runs exactly once from the loop.
 * Negative SM_E*: not started, no callback.  Every pointer of `spec` is
 * copied before return.
 */
int tp__aws_call(struct tp *tp, const struct aws_call_spec *spec, aws_done_cb *cb, void *arg);

/*
 * Stop every call whose spec named `owner` (NULL: none): disarm its retry
 * timer, remove its request from curl, stop waiting for credentials, free
 * it.  Their callbacks never run.  For the cancel of sqs.c and s3.c.
 */
void tp__aws_cancel_owner(struct aws_backend *b, const void *owner);

/* The backend's create and destroy entries (aws_ops.c puts them in the
 * table).  Destroy finishes the calls still running with SM_ECANCELED. */
int tp__aws_backend_create(struct tp *tp, const struct tp_config *cfg, struct sm_error *err);
void tp__aws_backend_destroy(struct tp *tp);
/* Our wall clock corrected by the server's (seconds since the epoch). */
int64_t tp__aws_now(struct aws_backend *b);

/* For tests and tools: how many retry tokens are left. */
int tp__aws_quota_left(struct tp *tp);
/* Tests: scale every backoff delay (100: real; 0: no waiting). */
void tp__aws_set_backoff_scale(struct tp *tp, unsigned pct);

/* Is this service code throttling / transient (for the classifier)? */
int tp__aws_code_is_throttling(const char *code);
int tp__aws_code_is_transient(const char *code);

/*
 * The handle every operation of sqs.c and s3.c stores for cancel starts
 * with this: aws_ops.c's cancel entry calls it.  It stops the operation's
 * calls (tp__aws_cancel_owner), frees it, and never calls its callback.
 */
struct aws_op {
	void (*cancel)(struct tp *tp, struct aws_op *op);
};

/* SQS entry points (sqs.c), matching struct tp__ops. */
int tp__aws_sqs_get_url(struct tp *, const char *, tp_url_cb *, void *, void **);
int tp__aws_sqs_create(
    struct tp *, const char *, const struct tp_attr *, size_t, tp_url_cb *, void *, void **);
int tp__aws_sqs_receive(struct tp *, const char *, int, int, int, tp_recv_cb *, void *, void **);
int tp__aws_sqs_send(struct tp *, const char *, const char *, int, tp_sent_cb *, void *, void **);
int tp__aws_sqs_delete(struct tp *, const char *, const char *, tp_done_cb *, void *, void **);
int tp__aws_sqs_change_visibility(
    struct tp *, const char *, const char *, int, tp_done_cb *, void *, void **);
int tp__aws_sqs_send_batch(struct tp *, const char *, const struct tp_batch_entry *, size_t,
    tp_batch_cb *, void *, void **);
int tp__aws_sqs_delete_batch(struct tp *, const char *, const struct tp_batch_entry *, size_t,
    tp_batch_cb *, void *, void **);
int tp__aws_sqs_change_visibility_batch(struct tp *, const char *, const struct tp_batch_entry *,
    size_t, tp_batch_cb *, void *, void **);
int tp__aws_sqs_attributes(
    struct tp *, const char *, const char *const *, size_t, tp_attrs_cb *, void *, void **);

#endif
