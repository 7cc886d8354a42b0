/*
 * test_s3_fault.c - S3 paths moto cannot show, against the scripted
 * test/support/faultd.py: CompleteMultipartUpload and CopyObject answering
 * 200 with an <Error> body, a part failing (retried / not retried), parts
 * in flight at once, the abort after any failure, the request shapes
 * (copy source encoding, CreateBucket LocationConstraint, Complete body),
 * and hostile answers.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws_private.h"
#include "sigv4.h"
#include "sm_loop.h"
#include "support/faultd_client.h"
#include "support/tp_collect.h"
#include "tap.h"
#include "transport.h"

#define MiB (1024u * 1024u)
#define SECRET "faultd-s3-secret-never-shown"

static struct sm_loop *loop;
static struct faultd fd;
static char bigfile[256];

static struct tp *
make_tp(const char *region)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;

	setenv("AWS_REGION", region, 1);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.multipart_threshold = 5 * MiB;
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	tp__aws_set_backoff_scale(tp, 0);
	return tp;
}

static int
wait_for(struct tp *tp, struct tp_out *x, int rc)
{
	if (rc != 0) {
		x->code = rc;
		return rc;
	}
	if ((rc = tp_wait(tp, &x->done, 60000)) != 0)
		x->code = rc;
	return x->code;
}

static const char *
req_field(json_t *log, size_t i, const char *name)
{
	return json_string_value(json_object_get(json_array_get(log, i), name));
}

static const char *
req_header(json_t *log, size_t i, const char *name)
{
	json_t *h = json_object_get(json_array_get(log, i), "headers");
	const char *k;
	json_t *v;

	json_object_foreach(h, k, v)
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	return NULL;
}

#define INIT_OK "{\"status\":200,\"body\":\"<?xml version=\\\"1.0\\\"?><InitiateMultipartUploadResult>" \
	"<Bucket>b</Bucket><Key>k</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>\"}"
#define PART_OK "{\"status\":200,\"headers\":{\"ETag\":\"\\\"e1\\\"\"},\"delay\":0.4}"
#define ERR200 "{\"status\":200,\"body\":\"<?xml version=\\\"1.0\\\"?>\\n<Error><Code>InternalError</Code>" \
	"<Message>We encountered an internal error. Please try again.</Message></Error>\"}"
#define ABORT_OK "{\"status\":204}"

/* S3's own skew error (XML RequestTimeTooSkewed, our clock an hour ahead
 * of the server's Date): corrected from Date and retried at once; the
 * retry is signed with the server's time. */
static void
test_s3_skew(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;
	const char *d;
	struct tm tm;
	int64_t now = (int64_t)time(NULL), signed_at = 0;

	faultd_script(&fd, "{\"steps\":[{\"status\":403,\"date_skew\":-3600,"
	    "\"headers\":{\"Content-Type\":\"application/xml\"},\"body\":\"<?xml version="
	    "\\\"1.0\\\"?><Error><Code>RequestTimeTooSkewed</Code><Message>The difference "
	    "between the request time and the current time is too large.</Message></Error>\"}],"
	    "\"default\":{\"date_skew\":-3600,\"body\":\"hello\"}}");
	wait_for(tp, &x, tp_object_get_mem(tp, "b", "k", 100, tpc_on_data, &x, NULL));
	is_int(x.code, 0, "RequestTimeTooSkewed: corrected and retried (%s)", x.msg);
	is_str(x.data, "hello", "the retry's answer is delivered");
	log = faultd_log(&fd);
	is_int((int)json_array_size(log), 2, "2 requests");
	d = req_header(log, 1, "x-amz-date");
	memset(&tm, 0, sizeof(tm));
	if (d != NULL && strptime(d, "%Y%m%dT%H%M%SZ", &tm) != NULL)
		signed_at = (int64_t)timegm(&tm);
	ok(signed_at > 0 && llabs(signed_at - (now - 3600)) < 60,
	    "the retry is signed with the server's clock (%lld s off ours)",
	    (long long)(signed_at - now));
	json_decref(log);
	tpc_reset(&x);
	tp_destroy(tp);
}

static void
test_complete_error_body(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;
	size_t n, i;
	double tmin = 1e300, tmax = 0;
	const char *last, *body = NULL;

	faultd_script(&fd, "{\"steps\":[" INIT_OK "," PART_OK "," PART_OK "," PART_OK "," PART_OK
	    "," ERR200 "," ERR200 "," ERR200 "," ABORT_OK "]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "dir/k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	ok(x.code != 0, "CompleteMultipartUpload 200 with <Error> is a failure (%s)",
	    sm_errname(x.code));
	is_str(x.err_code, "InternalError", "its code is reported");
	like_str(x.msg, "3 attempts", "a transient one was sent 3 times (max attempts)");
	like_str(x.msg, "CompleteMultipartUpload", "message names the operation");
	like_str(x.msg, "b/dir/k", "message names bucket and key");
	diag("%s", x.msg);
	log = faultd_log(&fd);
	n = json_array_size(log);
	is_int((int)n, 9, "init, 4 parts, 3 completes, abort");
	is_int(faultd_log_count(log, "PUT", "uploadId=UP1"), 4, "4 UploadPart with the upload id");
	for (i = 0; i < n; i++) {
		if (strcmp(req_field(log, i, "method"), "PUT") == 0) {
			double t = json_real_value(json_object_get(json_array_get(log, i), "time"));
			if (t < tmin)
				tmin = t;
			if (t > tmax)
				tmax = t;
		}
		if (strcmp(req_field(log, i, "method"), "POST") == 0 &&
		    strstr(req_field(log, i, "path"), "uploadId=UP1") != NULL)
			body = req_field(log, i, "body");
	}
	/* each part is answered after 0.4 s: one after the other they would
	 * arrive at least 1.2 s apart (hashing 5 MiB per part on a loaded
	 * machine can delay a start by a few tenths) */
	ok(n == 9 && tmax - tmin < 1.0, "the 4 parts were in flight at once (%.2f s apart)",
	    tmax - tmin);
	ok(body != NULL && strstr(body, "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;"
	    "</ETag></Part>") != NULL, "Complete lists part 1 with its quoted ETag");
	ok(body != NULL && strstr(body, "<PartNumber>4</PartNumber>") != NULL &&
	    strstr(body, "<PartNumber>5</PartNumber>") == NULL, "Complete lists parts 1..4");
	last = n > 0 ? req_field(log, n - 1, "method") : "";
	is_str(last, "DELETE", "the upload is aborted last");
	like_str(n > 0 ? req_field(log, n - 1, "path") : "", "uploadId=UP1",
	    "abort names the upload id");
	json_decref(log);

	/* once, then fine: success, no abort */
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[" INIT_OK "," PART_OK "," PART_OK "," PART_OK "," PART_OK
	    "," ERR200 ",{\"status\":200,\"body\":\"<CompleteMultipartUploadResult><ETag>f-4"
	    "</ETag></CompleteMultipartUploadResult>\"}]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "dir/k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_int(x.code, 0, "a transient 200-with-Error on Complete is sent again (%s)", x.msg);
	is_str(x.etag, "f-4", "and succeeds");
	log = faultd_log(&fd);
	is_int(faultd_log_count(log, "DELETE", NULL), 0, "no abort");
	json_decref(log);

	/* a non-transient error body is not sent again */
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[" INIT_OK "," PART_OK "," PART_OK "," PART_OK "," PART_OK
	    ",{\"status\":200,\"body\":\"<Error><Code>InvalidPart</Code><Message>m</Message>"
	    "</Error>\"}," ABORT_OK "]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "dir/k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_str(x.err_code, "InvalidPart", "InvalidPart in a 200 answer fails");
	log = faultd_log(&fd);
	is_int(faultd_log_count(log, "POST", "uploadId=UP1"), 1, "Complete sent once");
	is_int(faultd_log_count(log, "DELETE", "uploadId=UP1"), 1, "then aborted");
	json_decref(log);
	tp_destroy(tp);
}

static void
test_part_retry(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;

	faultd_script(&fd, "{\"steps\":[" INIT_OK ",{\"preset\":\"slowdown\"}," PART_OK ","
	    PART_OK "," PART_OK "," PART_OK ",{\"status\":200,\"body\":\"<CompleteMultipartUploadResult>"
	    "<ETag>&quot;final-4&quot;</ETag></CompleteMultipartUploadResult>\"}]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_int(x.code, 0, "a part answered 503 SlowDown once is retried (%s)", x.msg);
	is_str(x.etag, "final-4", "the final ETag comes from the Complete answer");
	is_int((long long)x.size, (long long)(15 * MiB + 100), "size of the whole file");
	log = faultd_log(&fd);
	is_int(faultd_log_count(log, "PUT", "partNumber="), 5, "5 UploadPart requests (one retry)");
	is_int(faultd_log_count(log, "DELETE", NULL), 0, "no abort after success");
	json_decref(log);
	tp_destroy(tp);
}

static void
test_part_denied(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;
	size_t n;

	faultd_script(&fd, "{\"steps\":[" INIT_OK ",{\"status\":403,\"body\":\"<Error><Code>"
	    "AccessDenied</Code><Message>Access Denied</Message></Error>\"}," PART_OK ","
	    PART_OK "," PART_OK "," ABORT_OK "]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_int(x.code, SM_EAUTH, "a part refused with 403 fails the upload");
	is_str(x.err_code, "AccessDenied", "AccessDenied");
	like_str(x.msg, "UploadPart", "message names UploadPart");
	log = faultd_log(&fd);
	n = json_array_size(log);
	is_int(faultd_log_count(log, "PUT", "partNumber="), 4, "403 is not retried");
	is_int(faultd_log_count(log, "POST", "uploadId="), 0, "no Complete after a failed part");
	is_str(n > 0 ? req_field(log, n - 1, "method") : "", "DELETE",
	    "aborted after the parts in flight ended");
	json_decref(log);

	/* the abort itself failing is said too */
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[" INIT_OK ",{\"status\":400,\"body\":\"<Error><Code>"
	    "InvalidPart</Code><Message>bad part</Message></Error>\"}," PART_OK ","
	    PART_OK "," PART_OK ",{\"status\":403,\"body\":\"<Error><Code>AccessDenied</Code>"
	    "<Message>no abort for you</Message></Error>\"}]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_str(x.err_code, "InvalidPart", "the first failure is reported");
	like_str(x.msg, "aborting multipart upload 'UP1' failed too",
	    "and that the abort failed, with the upload id");
	diag("%s", x.msg);
	tp_destroy(tp);
}

static void
test_init_garbage(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };

	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"body\":\"<!DOCTYPE x [<!ENTITY a "
	    "\\\"UP\\\">]><InitiateMultipartUploadResult><UploadId>&a;</UploadId>"
	    "</InitiateMultipartUploadResult>\"}]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &x,
	    NULL));
	is_int(x.code, SM_EPROTO, "an Initiate answer with a DTD is refused");
	like_str(x.msg, "UploadId", "message says the upload id is missing");
	is_int(faultd_count(&fd), 1, "nothing else sent (no upload to abort)");
	tp_destroy(tp);
}

static void
test_copy(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;

	faultd_script(&fd, "{\"steps\":[" ERR200 "," ERR200 "," ERR200 "]}");
	wait_for(tp, &x, tp_object_copy(tp, "src-bucket", "dir/a b+c\xc3\xa9", "dst", "k2",
	    tpc_on_object, &x, NULL));
	ok(x.code != 0, "CopyObject 200 with <Error> is a failure (%s)", sm_errname(x.code));
	is_str(x.err_code, "InternalError", "its code is reported");
	like_str(x.msg, "CopyObject", "message names the operation");
	like_str(x.msg, "3 attempts", "after 3 attempts");
	is_int(faultd_count(&fd), 3, "3 requests");
	log = faultd_log(&fd);
	is_str(req_header(log, 0, "x-amz-copy-source"), "/src-bucket/dir/a%20b%2Bc%C3%A9",
	    "copy source is URL-encoded");
	is_str(req_field(log, 0, "path"), "/dst/k2", "copy goes to the destination (path style)");
	json_decref(log);

	x.done = 0;
	faultd_script(&fd, "{\"steps\":[" ERR200 ",{\"status\":200,\"body\":\"<CopyObjectResult><ETag>"
	    "&quot;abc&quot;</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
	    "</CopyObjectResult>\"},{\"status\":200,\"headers\":{\"Content-Length\":\"0\","
	    "\"ETag\":\"\\\"abc\\\"\"}}]}");
	wait_for(tp, &x, tp_object_copy(tp, "s", "a", "d", "b", tpc_on_object, &x, NULL));
	is_int(x.code, 0, "a transient 200-with-Error copy is sent again, then succeeds (%s)",
	    x.msg);
	is_str(x.etag, "abc", "with the ETag");
	tp_destroy(tp);
}

static void
test_bucket_region(void)
{
	struct tp *tp = make_tp("eu-west-1");
	struct tp_out x = { 0 };
	json_t *log;
	const char *body;

	faultd_script(&fd, "{\"steps\":[{\"status\":200}]}");
	wait_for(tp, &x, tp_bucket_create(tp, "new-bucket", tpc_on_done, &x, NULL));
	is_int(x.code, 0, "create bucket in eu-west-1");
	log = faultd_log(&fd);
	body = req_field(log, 0, "body");
	like_str(body, "<LocationConstraint>eu-west-1</LocationConstraint>",
	    "CreateBucket carries the LocationConstraint");
	is_str(req_field(log, 0, "path"), "/new-bucket", "path style on 127.0.0.1");
	like_str(req_header(log, 0, "Authorization"), "/eu-west-1/s3/aws4_request",
	    "signed for the region");
	json_decref(log);

	x.done = 0;
	faultd_script(&fd, "{\"steps\":[{\"status\":409,\"body\":\"<Error><Code>"
	    "BucketAlreadyOwnedByYou</Code><Message>yours</Message></Error>\"}]}");
	wait_for(tp, &x, tp_bucket_create(tp, "new-bucket", tpc_on_done, &x, NULL));
	is_int(x.code, 0, "BucketAlreadyOwnedByYou is success");
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[{\"status\":409,\"body\":\"<Error><Code>"
	    "BucketAlreadyExists</Code><Message>taken</Message></Error>\"}]}");
	wait_for(tp, &x, tp_bucket_create(tp, "new-bucket", tpc_on_done, &x, NULL));
	is_int(x.code, SM_EEXISTS, "BucketAlreadyExists (someone else's) is SM_EEXISTS");
	tp_destroy(tp);

	tp = make_tp("us-east-1");
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[{\"status\":200}]}");
	wait_for(tp, &x, tp_bucket_create(tp, "new-bucket", tpc_on_done, &x, NULL));
	log = faultd_log(&fd);
	is_str(req_field(log, 0, "body"), "", "no LocationConstraint body in us-east-1");
	json_decref(log);
	tp_destroy(tp);
}

static void
test_hostile_list(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	json_t *log;
	const char *path;

	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"body\":\"<ListBucketResult>"
	    "<IsTruncated>true</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>\"}]}");
	wait_for(tp, &x, tp_object_list(tp, "b", "p/", "/", "tok/=+", 7, tpc_on_list, &x,
	    NULL));
	is_int(x.code, SM_EPROTO, "truncated listing without a token is a protocol error");
	like_str(x.msg, "ListObjectsV2", "message names the operation");
	log = faultd_log(&fd);
	path = req_field(log, 0, "path");
	like_str(path, "list-type=2", "list-type=2");
	like_str(path, "prefix=p%2F", "prefix encoded");
	like_str(path, "delimiter=%2F", "delimiter encoded");
	like_str(path, "continuation-token=tok%2F%3D%2B", "token encoded");
	like_str(path, "max-keys=7", "max-keys");
	like_str(path, "encoding-type=url", "encoding-type=url asked");
	json_decref(log);

	x.done = 0;
	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"big\":9000000,\"body\":\"<ListBucketResult>\"}]}");
	wait_for(tp, &x, tp_object_list(tp, "b", NULL, NULL, NULL, 0, tpc_on_list, &x, NULL));
	ok(x.code != 0, "a 9 MB listing answer is refused (%s)", sm_errname(x.code));
	tpc_reset(&x);
	tp_destroy(tp);
}

/* What we send: Content-Type, Content-Length and x-amz-content-sha256 of the
 * real bytes, for memory, file and every part. */
static void
test_put_headers(void)
{
	struct tp *tp = make_tp("us-east-1");
	struct tp_out x = { 0 };
	char sha[65], small[300];
	json_t *log;
	size_t i, n;
	int parts_ok = 0, fdsc;
	FILE *f;

	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"headers\":{\"ETag\":\"\\\"m\\\"\"}}]}");
	wait_for(tp, &x, tp_object_put_mem(tp, "b", "mem key", "hello", 5, "text/plain",
	    tpc_on_object, &x, NULL));
	is_int(x.code, 0, "put_mem (%s)", x.msg);
	is_str(x.etag, "m", "ETag from the answer, unquoted");
	log = faultd_log(&fd);
	tp__sigv4_sha256_hex("hello", 5, sha);
	is_str(req_header(log, 0, "x-amz-content-sha256"), sha, "payload hash of the bytes");
	is_str(req_header(log, 0, "Content-Type"), "text/plain", "Content-Type as given");
	is_str(req_header(log, 0, "Content-Length"), "5", "Content-Length");
	is_str(req_field(log, 0, "path"), "/b/mem%20key", "key encoded in the path");
	is_str(req_field(log, 0, "body"), "hello", "body sent");
	json_decref(log);

	snprintf(small, sizeof(small), "%s.small", bigfile);
	f = fopen(small, "wb");
	fputs("file body\n", f);
	fclose(f);
	x.done = 0;
	faultd_script(&fd, "{\"steps\":[{\"status\":200}]}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "f", small, NULL, tpc_on_object, &x,
	    NULL));
	is_int(x.code, 0, "put_file below the threshold: one PUT (%s)", x.msg);
	is_int((int)x.size, 10, "size of the file");
	log = faultd_log(&fd);
	tp__sigv4_sha256_hex("file body\n", 10, sha);
	is_str(req_header(log, 0, "x-amz-content-sha256"), sha, "file streamed through SHA-256");
	is_str(req_header(log, 0, "Content-Type"), "application/octet-stream",
	    "default Content-Type");
	is_str(req_field(log, 0, "body"), "file body\n", "file body sent");
	json_decref(log);
	unlink(small);

	x.done = 0;
	faultd_script(&fd, "{\"steps\":[" INIT_OK "],\"default\":{\"status\":200,\"headers\":"
	    "{\"ETag\":\"\\\"p\\\"\"},\"body\":\"<CompleteMultipartUploadResult><ETag>x-4</ETag>"
	    "</CompleteMultipartUploadResult>\"}}");
	wait_for(tp, &x, tp_object_put_file(tp, "b", "big", bigfile, "application/x-ndjson",
	    tpc_on_object, &x, NULL));
	is_int(x.code, 0, "multipart put (%s)", x.msg);
	log = faultd_log(&fd);
	n = json_array_size(log);
	is_str(req_header(log, 0, "Content-Type"), "application/x-ndjson",
	    "Content-Type given at CreateMultipartUpload");
	if ((fdsc = open(bigfile, O_RDONLY)) >= 0) {
		for (i = 0; i < n; i++) {
			const char *path = req_field(log, i, "path");
			const char *pn = strstr(path, "partNumber=");
			char want[65];
			uint64_t off, len;
			if (pn == NULL)
				continue;
			off = (uint64_t)(atoi(pn + 11) - 1) * 5 * MiB;
			len = off + 5 * MiB > 15 * MiB + 100 ? 15 * MiB + 100 - off : 5 * MiB;
			tp__sigv4_sha256_fd_hex(fdsc, off, len, want);
			if (req_header(log, i, "x-amz-content-sha256") != NULL &&
			    strcmp(req_header(log, i, "x-amz-content-sha256"), want) == 0 &&
			    json_integer_value(json_object_get(json_array_get(log, i),
			        "body_len")) == (json_int_t)len &&
			    strcmp(req_field(log, i, "body_sha256"), want) == 0)
				parts_ok++;
		}
		close(fdsc);
	}
	is_int(parts_ok, 4, "each part carries its own range's bytes, SHA-256 and length");
	json_decref(log);
	tp_destroy(tp);
}

/* tp_destroy with a multipart upload in flight: one callback, canceled. */
static int destroy_calls;
static int destroy_code;

static void
on_destroyed(void *arg, const struct tp_result *r, const struct tp_object *o)
{
	(void)arg;
	(void)o;
	destroy_calls++;
	destroy_code = r->code;
}

static void
test_destroy_midway(void)
{
	struct tp *tp = make_tp("us-east-1");
	uint64_t until;

	faultd_script(&fd, "{\"steps\":[" INIT_OK "],\"default\":{\"status\":200,"
	    "\"delay\":3,\"headers\":{\"ETag\":\"\\\"p\\\"\"}}}");
	is_int(tp_object_put_file(tp, "b", "k", bigfile, NULL, on_destroyed, NULL, NULL), 0,
	    "multipart started");
	until = sm_time_mono_ms() + 1500;
	while (sm_time_mono_ms() < until)
		sm_loop_run_once(loop, 100);
	is_int(destroy_calls, 0, "still running after 1.5 s (parts take 3 s)");
	tp_destroy(tp);
	is_int(destroy_calls, 1, "tp_destroy ran the callback once");
	is_int(destroy_code, SM_ECANCELED, "with SM_ECANCELED");
	until = sm_time_mono_ms() + 200;
	while (sm_time_mono_ms() < until)
		sm_loop_run_once(loop, 50);
	is_int(destroy_calls, 1, "and never again");
}

/*
 * Long transfers: an object download that keeps moving is never cut off by
 * the whole-request timeout (1 s here, the trickle takes about 2 s); one
 * that stalls fails with SM_ETIMEOUT once it moved less than 1000 bytes a
 * second for 1 s, and is retried.  Other requests keep the whole-request
 * timeout.  No timing is asserted beyond completed / timed out.
 */
static void
test_slow_transfers(void)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;
	struct tp_out x = { 0 };
	char path[300];
	struct stat st;

	setenv("AWS_REGION", "us-east-1", 1);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.request_timeout_ms = 1000;
	cfg.low_speed_bytes = 1000;
	cfg.low_speed_window_s = 1;
	cfg.max_attempts = 2;
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	tp__aws_set_backoff_scale(tp, 0);

	/* 40 KB at 2 KB every 0.1 s: about 20 KB/s for 2 s */
	faultd_script(&fd, "{\"default\":{\"action\":\"trickle\",\"size\":40000,"
	    "\"chunk\":2000,\"interval\":0.1}}");
	wait_for(tp, &x, tp_object_get_mem(tp, "b", "slow", 100000, tpc_on_data, &x, NULL));
	is_int(x.code, 0, "a slow but moving download to memory completes (%s)", x.msg);
	is_int((int)x.len, 40000, "all of it");
	is_int(x.attempts, 1, "in one attempt");
	tpc_reset(&x);
	snprintf(path, sizeof(path), "%s.slow", bigfile);
	wait_for(tp, &x, tp_object_get_file(tp, "b", "slow", path, tpc_on_object, &x, NULL));
	is_int(x.code, 0, "a slow but moving download to a file completes (%s)", x.msg);
	ok(stat(path, &st) == 0 && st.st_size == 40000, "the file holds all of it");
	unlink(path);
	tpc_reset(&x);

	/* 2 KB, then nothing */
	faultd_script(&fd, "{\"default\":{\"action\":\"stall\",\"size\":40000,"
	    "\"chunk\":2000,\"delay\":30}}");
	wait_for(tp, &x, tp_object_get_mem(tp, "b", "stalled", 100000, tpc_on_data, &x, NULL));
	is_int(x.code, SM_ETIMEOUT, "a stalled download fails with SM_ETIMEOUT (%s)", x.msg);
	is_int(x.attempts, 2, "after being retried");
	is_int(faultd_count(&fd), 2, "two requests sent");
	tpc_reset(&x);
	wait_for(tp, &x, tp_object_get_file(tp, "b", "stalled", path, tpc_on_object, &x, NULL));
	is_int(x.code, SM_ETIMEOUT, "a stalled download to a file fails too");
	ok(stat(path, &st) != 0, "and leaves no file");
	tpc_reset(&x);

	/* a small request that takes too long as a whole */
	faultd_script(&fd, "{\"default\":{\"status\":200,\"delay\":3}}");
	wait_for(tp, &x, tp_object_head(tp, "b", "k", tpc_on_object, &x, NULL));
	is_int(x.code, SM_ETIMEOUT, "HEAD keeps the whole-request timeout (%s)", x.msg);
	tpc_reset(&x);
	tp_destroy(tp);
}

/* Addressing as seen in presigned URLs (nothing is sent anywhere). */
static void
test_addressing(void)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;
	struct tp_out x = { 0 };
	char *url, key[1100];

	setenv("AWS_REGION", "eu-west-1", 1);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.endpoint_s3 = "https://s3.eu-west-1.amazonaws.com";
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0) {
		ok(0, "tp_create with an AWS endpoint (%s)", err.msg);
		return;
	}
	url = tp_presign_get(tp, "my-bucket", "dir/a b+c", 60, &err);
	like_str(url, "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc?",
	    "virtual-hosted style on AWS, key encoded once");
	like_str(url, "%2Feu-west-1%2Fs3%2Faws4_request", "credential scope names the region");
	free(url);
	url = tp_presign_get(tp, "my.dotted.bucket", "k", 60, &err);
	like_str(url, "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k?",
	    "a dotted bucket over TLS falls back to path style");
	free(url);
	tp_destroy(tp);

	cfg.s3_path_style = 1;
	if (tp_create(&tp, loop, &cfg, &err) == 0) {
		url = tp_presign_get(tp, "my-bucket", "k", 60, &err);
		like_str(url, "https://s3.eu-west-1.amazonaws.com/my-bucket/k?",
		    "path style when configured");
		free(url);
		memset(key, 'k', 1025);
		key[1025] = '\0';
		is_int(tp_object_put_mem(tp, "b", key, "x", 1, NULL, tpc_on_object, &x, NULL),
		    SM_EINVAL,
		    "a key over 1024 bytes is refused at once");
		tp_destroy(tp);
	}
	setenv("AWS_REGION", "us-east-1", 1);
}

int
main(void)
{
	FILE *f;
	size_t i;
	static char chunk[1024 * 1024];

	plan_no_plan();
	if (faultd_start(&fd) != 0) {
		skip_all("python3 cannot run test/support/faultd.py");
		return 0;
	}
	faultd_aws_env(&fd, SECRET);
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_S3_FORCE_PATH_STYLE");
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");
	/* 15 MiB + 100 bytes of ASCII: 4 parts of 5 MiB at threshold 5 MiB */
	snprintf(bigfile, sizeof(bigfile), "%s/test_s3_fault.%d.bin",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	memset(chunk, 'a', sizeof(chunk));
	if ((f = fopen(bigfile, "wb")) == NULL)
		bail_out("cannot create %s", bigfile);
	for (i = 0; i < 15; i++)
		fwrite(chunk, 1, sizeof(chunk), f);
	fwrite(chunk, 1, 100, f);
	fclose(f);

	test_s3_skew();
	test_complete_error_body();
	test_part_retry();
	test_part_denied();
	test_init_garbage();
	test_copy();
	test_bucket_region();
	test_hostile_list();
	test_put_headers();
	test_destroy_midway();
	test_slow_transfers();
	test_addressing();

	unlink(bigfile);
	sm_loop_destroy(loop);
	faultd_stop(&fd);
	return done_testing();
}
