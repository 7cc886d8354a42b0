/*
 * transport.h - everything said to the outside world: queues and objects,
 * behind one handle with two backends (after OpenSMTPD queue_backend.c):
 *
 *   "aws"   - SQS (JSON 1.0 protocol) and S3 (REST/XML) over libcurl multi,
 *             SigV4-signed, standard-mode retries; works with AWS, moto,
 *             LocalStack, ElasticMQ, MinIO, Ceph RGW.
 *   "local" - the embedded default: queues in the state directory's LMDB
 *             store, objects as files under <state>/objects.
 *
 * Every operation is asynchronous: it returns 0 when started (the callback
 * will run exactly once, later, from the loop, or from tp_cancel /
 * tp_destroy) or a negative SM_E* code when it could not start (the
 * callback will not run).  Callbacks receive a `struct tp_result` that is
 * valid only during the call; so are all pointers inside the results they
 * receive (copy what you keep).
 *
 * Every operation takes as its last argument `tp_op_id *op` (may be NULL):
 * when it starts, *op receives its id, which tp_cancel() takes; when it
 * does not start, *op is set to 0.  See tp_cancel() below.
 *
 * Neither actions nor smctl know which backend they talk to.  Secrets never
 * appear in any message this layer produces.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

struct sm_loop;
struct store;
struct tp;

/*
 * The id of an operation in flight.  Nonzero; each struct tp numbers its
 * operations from 1 up and never gives an id twice, so an id that is kept
 * after its operation ended names nothing (tp_cancel says SM_ENOTFOUND):
 * there is no handle to free and none that can dangle.
 */
typedef uint64_t tp_op_id;

struct tp_config {
	/* "aws", "local", or NULL: "aws" when an endpoint, a region or
	 * credentials are configured in the environment, else "local". */
	const char *backend;
	/* local: the state directory (objects go under <state_dir>/objects)
	 * and its open store (queues live there).  Not owned. */
	const char *state_dir;
	struct store *store;
	/* aws: overrides of the environment (NULL: from the environment). */
	const char *region;
	const char *endpoint_sqs;
	const char *endpoint_s3;
	int s3_path_style;         /* -1: decide from endpoint, 0 virtual, 1 path */
	int max_attempts;          /* 0: AWS_MAX_ATTEMPTS or 3 */
	long connect_timeout_ms;   /* 0: 10 s */
	/* Requests other than object transfers: 0: 60 s (an SQS receive
	 * gets its wait time on top). */
	long request_timeout_ms;
	/* Object transfers (get, put, multipart parts) have no whole-request
	 * timeout: one fails when it moves fewer than low_speed_bytes a
	 * second for low_speed_window_s seconds in a row (0: the defaults
	 * below), or cannot connect. */
	long low_speed_bytes;
	long low_speed_window_s;
	size_t multipart_threshold;/* 0: 16 MiB; parts of the same size */
	/* Plain http:// endpoints to a host that is not loopback (127.0.0.0/8,
	 * ::1, localhost): 1 allows them (a warning is logged), 0 defers to
	 * the environment (SM_ALLOW_INSECURE_HTTP=1 allows), else refused. */
	int allow_insecure_http;
};

#define TP_LOW_SPEED_BYTES_DEFAULT 1024L
#define TP_LOW_SPEED_WINDOW_S_DEFAULT 30L

/* Defaults for everything (backend chosen from the environment). */
void tp_config_init(struct tp_config *cfg);

int tp_create(struct tp **out, struct sm_loop *loop, const struct tp_config *cfg,
    struct sm_error *err);
/*
 * Cancels outstanding operations as tp_cancel does (their callbacks run
 * with SM_ECANCELED before it returns), except that nothing more is sent:
 * a multipart upload in progress is not aborted on the server (a bucket
 * lifecycle rule for incomplete uploads cleans it up).  Operations started
 * from those callbacks fail to start (SM_ECANCELED).
 */
void tp_destroy(struct tp *tp);

/*
 * Cancel operation `op` (in the manner of uv_cancel and
 * curl_multi_remove_handle).  When `op` is in flight, before tp_cancel
 * returns:
 *   - its work stops: requests in flight are removed from curl (their
 *     connections closed), a retry waiting for its timer is disarmed, a
 *     long poll (aws or local) is released, credentials are no longer
 *     waited for;
 *   - what it holds is freed: memory, and the temporary file of a download
 *     (tp_object_get_file; the destination `path` is never touched);
 *   - its callback runs exactly once, from inside tp_cancel, with
 *     r->code == SM_ECANCELED, a message naming the operation ("queue
 *     receive canceled"), empty outputs (NULL pointers, zero counts),
 *     r->attempts and r->http_status 0;
 * and tp_cancel returns 0.  Once it has returned, the transport holds
 * nothing of the caller's: `arg` may be freed.
 *
 * A multipart upload (tp_object_put_file above the threshold) that was
 * created on the server is then aborted there (AbortMultipartUpload, in
 * the background, retried like any request; a failure is logged with the
 * upload id); one whose CreateMultipartUpload is still in flight is
 * aborted as soon as its answer names the upload.  That cleanup belongs to
 * the transport (tp_pending counts it) and calls nothing of the caller's.
 *
 * What was already sent may have taken effect: a message sent, an object
 * written or deleted.  Canceling stops the work; it does not undo it.
 *
 * SM_ENOTFOUND (nothing happens) when `op` is 0, was never given by this
 * `tp`, or its callback has already run or is running now (an operation
 * cannot cancel itself from its own callback: it is done).  Callable from
 * any transport callback.
 */
int tp_cancel(struct tp *tp, tp_op_id op);

/*
 * Work the transport still has in flight: the caller's operations plus
 * its own cleanup (multipart aborts after a cancel).  0 means nothing runs
 * and nothing will call back; for tests and for an orderly shutdown.
 */
size_t tp_pending(const struct tp *tp);
/* "aws" or "local". */
const char *tp_backend_name(const struct tp *tp);

struct tp_result {
	int code;              /* 0 or SM_E* */
	int http_status;       /* aws: last HTTP status, 0 if none; local: 0 */
	const char *err_code;  /* service error code ("NoSuchKey",
	                          "AWS.SimpleQueueService.NonExistentQueue") or NULL */
	const char *message;   /* whole human message when code != 0, else NULL */
	int attempts;          /* how many attempts were made */
};

/* ---- queues ----------------------------------------------------------- */

struct tp_message {
	const char *message_id;
	const char *receipt;     /* receipt handle: delete / change visibility */
	const char *body;
	size_t body_len;
	unsigned receive_count;  /* ApproximateReceiveCount */
	int64_t sent_ms;         /* SentTimestamp (wall ms) */
	const char *md5_body;    /* MD5OfBody as sent by the service, or NULL */
};

typedef void tp_done_cb(void *arg, const struct tp_result *r);
typedef void tp_url_cb(void *arg, const struct tp_result *r, const char *queue_url);
typedef void tp_recv_cb(void *arg, const struct tp_result *r,
    const struct tp_message *msgs, size_t n);
typedef void tp_sent_cb(void *arg, const struct tp_result *r, const char *message_id);

/* One entry of a batch operation, and its outcome. */
struct tp_batch_entry {
	const char *id;          /* caller's id, unique in the batch */
	const char *body;        /* send: message body */
	const char *receipt;     /* delete / change visibility */
	int delay_s;             /* send */
	int visibility_s;        /* change visibility */
};
struct tp_batch_outcome {
	const char *id;
	int code;                /* 0 or SM_E* */
	const char *err_code;
	const char *message;
	const char *message_id;  /* send */
};
typedef void tp_batch_cb(void *arg, const struct tp_result *r,
    const struct tp_batch_outcome *out, size_t n);

/* Queue attributes: name/value pairs ("ApproximateNumberOfMessages"...). */
struct tp_attr {
	const char *name;
	const char *value;
};
typedef void tp_attrs_cb(void *arg, const struct tp_result *r,
    const struct tp_attr *attrs, size_t n);

int tp_queue_get_url(struct tp *tp, const char *name, tp_url_cb *cb, void *arg,
    tp_op_id *op);
/* Creates the queue (no error if it exists with the same attributes). */
int tp_queue_create(struct tp *tp, const char *name, const struct tp_attr *attrs,
    size_t nattrs, tp_url_cb *cb, void *arg,
    tp_op_id *op);
/* Long poll up to `wait_s` (0..20) for up to `max` (1..10) messages. */
int tp_queue_receive(struct tp *tp, const char *queue_url, int max, int wait_s,
    int visibility_s, tp_recv_cb *cb, void *arg,
    tp_op_id *op);
int tp_queue_send(struct tp *tp, const char *queue_url, const char *body, int delay_s,
    tp_sent_cb *cb, void *arg,
    tp_op_id *op);
int tp_queue_delete(struct tp *tp, const char *queue_url, const char *receipt,
    tp_done_cb *cb, void *arg,
    tp_op_id *op);
int tp_queue_change_visibility(struct tp *tp, const char *queue_url, const char *receipt,
    int visibility_s, tp_done_cb *cb, void *arg,
    tp_op_id *op);
/* Batch forms: 1..10 entries. */
int tp_queue_send_batch(struct tp *tp, const char *queue_url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op);
int tp_queue_delete_batch(struct tp *tp, const char *queue_url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op);
int tp_queue_change_visibility_batch(struct tp *tp, const char *queue_url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op);
/* names NULL: "All". */
int tp_queue_attributes(struct tp *tp, const char *queue_url, const char *const *names,
    size_t nnames, tp_attrs_cb *cb, void *arg,
    tp_op_id *op);

/* ---- objects ---------------------------------------------------------- */

struct tp_object {
	const char *key;
	uint64_t size;
	int64_t mtime_ms;        /* LastModified (wall ms) */
	const char *etag;
};

typedef void tp_object_cb(void *arg, const struct tp_result *r, const struct tp_object *obj);
/*
 * One page of a listing.  `prefixes` are the CommonPrefixes when a
 * delimiter was given.  `next` is the continuation token (NULL: last page).
 */
typedef void tp_list_cb(void *arg, const struct tp_result *r,
    const struct tp_object *objs, size_t n, const char *const *prefixes, size_t nprefixes,
    const char *next);

int tp_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg,
    tp_op_id *op);
/* Upload a file (multipart above the threshold, aborted on failure). */
int tp_object_put_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, const char *content_type, tp_object_cb *cb, void *arg,
    tp_op_id *op);
/* Upload bytes (copied before the call returns). */
int tp_object_put_mem(struct tp *tp, const char *bucket, const char *key,
    const void *data, size_t len, const char *content_type, tp_object_cb *cb, void *arg,
    tp_op_id *op);
/* Download to `path` (written to a temporary file, renamed on success). */
int tp_object_get_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, tp_object_cb *cb, void *arg,
    tp_op_id *op);
/* Download into memory, at most `max` bytes (SM_ETOOBIG beyond). */
typedef void tp_data_cb(void *arg, const struct tp_result *r, const void *data, size_t len);
int tp_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg,
    tp_op_id *op);
int tp_object_head(struct tp *tp, const char *bucket, const char *key,
    tp_object_cb *cb, void *arg,
    tp_op_id *op);
/* Deleting a missing key succeeds (as S3 does). */
int tp_object_delete(struct tp *tp, const char *bucket, const char *key,
    tp_done_cb *cb, void *arg,
    tp_op_id *op);
int tp_object_list(struct tp *tp, const char *bucket, const char *prefix,
    const char *delimiter, const char *continuation, int max_keys, tp_list_cb *cb, void *arg,
    tp_op_id *op);
int tp_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg,
    tp_op_id *op);

/* Presigned GET URL valid for `expires_s` seconds (aws only; local gives a
 * file:// URL).  Returns a malloc'd string or NULL with `err` set. */
char *tp_presign_get(struct tp *tp, const char *bucket, const char *key, int expires_s,
    struct sm_error *err);

/*
 * Run the loop until `*done` becomes nonzero (set by the caller's callback)
 * or `timeout_ms` passes (-1: no limit).  For tools and tests that want a
 * synchronous call.  Returns 0, SM_ETIMEOUT, or a loop error.
 */
int tp_wait(struct tp *tp, const int *done, int64_t timeout_ms);

#endif
