/*
 * s3.h - S3 over REST/XML for the "aws" transport backend (tp__s3_ prefix).
 *
 * Each entry has exactly the signature of the matching struct tp__ops
 * member (transport_private.h); aws_ops.c puts them into tp__aws_ops.  The
 * handle they store is a struct aws_op (aws_private.h) whose cancel stops
 * the operation's calls, removes a download's temporary file and turns a
 * multipart upload into the backend's own job that aborts it.  They
 * expect tp->impl to be the aws backend (struct aws_backend, aws_private.h)
 * and send every request through tp__aws_call() (signed per attempt, retried
 * per AWS standard mode, clock skew corrected).
 *
 * Contracts are those of the public tp_object_* / tp_bucket_create /
 * tp_presign_get functions in transport.h; in addition:
 *   - keys are sent as S3 wants them: every byte URI-encoded except the
 *     unreserved characters and '/', never normalised;
 *   - service errors come from the XML body (<Error><Code>, <Message>) into
 *     tp_result.err_code / message, the message naming operation, bucket
 *     and key; NoSuchKey/NoSuchBucket/NoSuchUpload -> SM_ENOTFOUND,
 *     AccessDenied/InvalidAccessKeyId/SignatureDoesNotMatch -> SM_EAUTH;
 *     HEAD errors have no body: 404 -> "NotFound" (SM_ENOTFOUND), 403 ->
 *     "AccessDenied" (SM_EAUTH);
 *   - put_file switches to multipart above cfg->multipart_threshold
 *     (parts of max(threshold, 5 MiB), doubled while over 10000 parts, 4
 *     in flight, each hashed from its file range and retried by tp__aws_call);
 *     a failed multipart upload is aborted before the callback runs (a
 *     failed abort is added to the message with the upload id); a 200
 *     answer with an <Error> body from CompleteMultipartUpload or
 *     CopyObject is sent again while transient/throttling and attempts
 *     remain (max attempts), else fails; an upload canceled by
 *     tp_cancel is aborted (after the CreateMultipartUpload answer when
 *     that is still in flight), one canceled by tp_destroy is not
 *     (nothing may be sent then: a bucket lifecycle rule for incomplete
 *     uploads cleans it up);
 *   - get_file writes <path>.tmp.XXXXXX, fsyncs and renames; the temporary
 *     file is removed on failure;
 *   - tp_object.etag is the ETag without its quotes; put/copy report the
 *     time of the answer as mtime_ms when the service gives none;
 *   - bucket_create: a bucket we already own is success; one owned by
 *     someone else is SM_EEXISTS ("BucketAlreadyExists");
 *   - object_list asks for encoding-type=url and decodes keys/prefixes;
 *   - put_file of something that is not a regular file is SM_EINVAL (no
 *     callback); a file that shrinks during a multipart upload fails it;
 *   - object_copy reports the destination's size from a HEAD after the
 *     copy (0 if that HEAD fails: the copy itself succeeded);
 *   - get_mem: the whole answer is read into memory up to max + 1 bytes
 *     (at least 64 KiB so that an error body still parses).
 * Requests parse errors with tp__s3_parse_error, then the plain scan of
 * tp__aws_parse_error_xml (aws.c), then a fallback naming the status for
 * bodyless (HEAD) answers.
 */
#ifndef TRANSPORT_S3_H
#define TRANSPORT_S3_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

int tp__s3_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg,
    void **handle);
int tp__s3_object_put_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, const char *content_type, tp_object_cb *cb, void *arg, void **handle);
int tp__s3_object_put_mem(struct tp *tp, const char *bucket, const char *key,
    const void *data, size_t len, const char *content_type, tp_object_cb *cb, void *arg,
    void **handle);
int tp__s3_object_get_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, tp_object_cb *cb, void *arg, void **handle);
int tp__s3_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg, void **handle);
int tp__s3_object_head(struct tp *tp, const char *bucket, const char *key,
    tp_object_cb *cb, void *arg, void **handle);
int tp__s3_object_delete(struct tp *tp, const char *bucket, const char *key,
    tp_done_cb *cb, void *arg, void **handle);
int tp__s3_object_list(struct tp *tp, const char *bucket, const char *prefix,
    const char *delimiter, const char *continuation, int max_keys, tp_list_cb *cb,
    void *arg, void **handle);
int tp__s3_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg, void **handle);
char *tp__s3_presign_get(struct tp *tp, const char *bucket, const char *key,
    int expires_s, struct sm_error *err);

/* ---- internals exposed for tests ----------------------------------- */

/* XML answers larger than this are refused. */
#define TP__S3_XML_MAX (8u * 1024 * 1024)

/*
 * The S3 error parser for the aws request layer: from an XML error body
 * (<Error><Code>..</Code><Message>..</Message></Error>) copy the code and
 * message into the caller's buffers (NUL-terminated, truncated).  Returns 0
 * when a code was found, SM_EPARSE otherwise.  Hardened: no entities, no
 * network, no DTD, bodies over TP__S3_XML_MAX refused.
 */
int tp__s3_parse_error(const char *body, size_t len, char *code, size_t code_size,
    char *message, size_t message_size);

/* One parsed ListObjectsV2 page; everything is owned by the struct. */
struct tp__s3_list {
	struct tp_object *objs;    /* key, etag malloc'd (etag without quotes) */
	size_t n;
	char **prefixes;           /* CommonPrefixes */
	size_t nprefixes;
	char *next;                /* NextContinuationToken when truncated */
	int truncated;
};

/*
 * Parse a <ListBucketResult> (decoding url-encoded keys and prefixes when
 * <EncodingType>url</EncodingType>).  0, or SM_EPROTO / SM_ENOMEM with
 * `err` set; on failure `out` holds nothing.  Free with tp__s3_list_free.
 */
int tp__s3_parse_list(const char *body, size_t len, struct tp__s3_list *out,
    struct sm_error *err);
void tp__s3_list_free(struct tp__s3_list *l);

#endif
