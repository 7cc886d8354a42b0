/*
 * test_sigv4_moto.c - our signatures against a verifier: moto_server with
 * authentication enforced (run under test/support/with_moto.sh).
 *
 * With plain libcurl (no transport layer, so this tests the signer alone):
 * S3 bucket and object PUT/GET signed in headers (S3 path rules, a key
 * with a space and a '/', payload hash), an SQS JSON call (non-S3 rules);
 * and the negative side: a wrong secret is refused.
 *
 * moto's verifier has limits that boto3 hits as well (checked with boto3
 * against the same moto): keys with '+', '$', '=' and the like, and '/'
 * in a query value, give SignatureDoesNotMatch; presigned URLs give a 500
 * when authentication is enforced.  Those cases are covered by the
 * byte-for-byte comparisons with botocore in test_sigv4.c instead.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsconf.h"
#include "sigv4.h"
#include "tap.h"

struct body {
	char buf[65536];
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;

	if (b->len + add >= sizeof(b->buf))
		add = sizeof(b->buf) - 1 - b->len;
	memcpy(b->buf + b->len, ptr, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return size * n;
}

static char *scheme, *host, *epath;
static struct sigv4_creds creds;

/*
 * Send a request signed in headers.  `path` is raw (encoded by the
 * signer).  Returns the HTTP status (0 on transport failure).
 */
static long
send_signed(const char *service, const char *method, const char *path,
    const struct sigv4_param *q, size_t nq, const struct sigv4_header *extra, size_t nextra,
    const char *body, const struct sigv4_creds *c, time_t now, struct body *out)
{
	struct sigv4_header h[8];
	struct sigv4_request req;
	struct sigv4_result res;
	struct curl_slist *sl = NULL;
	char hash[65], url[4096], line[8192];
	CURL *e;
	long code = 0;
	size_t i, nh = 0;

	h[nh++] = (struct sigv4_header){ "Host", host };
	for (i = 0; i < nextra && nh < 8; i++)
		h[nh++] = extra[i];
	tp__sigv4_sha256_hex(body ? body : "", body ? strlen(body) : 0, hash);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.path_raw = 1;
	req.s3 = strcmp(service, "s3") == 0;
	req.query = q;
	req.nquery = nq;
	req.headers = h;
	req.nheaders = nh;
	req.payload_hash = hash;
	if (tp__sigv4_sign(&req, c, "us-east-1", service, now, &res) != 0) {
		tp__sigv4_result_free(&res);
		return 0;
	}
	snprintf(url, sizeof(url), "%s://%s%s%s%s", scheme, host, res.path,
	    res.query[0] ? "?" : "", res.query);
	for (i = 1; i < nh; i++) {
		snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
		sl = curl_slist_append(sl, line);
	}
	for (i = 0; i < res.nadd; i++) {
		snprintf(line, sizeof(line), "%s: %s", res.add[i].name, res.add[i].value);
		sl = curl_slist_append(sl, line);
	}
	snprintf(line, sizeof(line), "Authorization: %s", res.authorization);
	sl = curl_slist_append(sl, line);
	sl = curl_slist_append(sl, "Expect:");
	tp__sigv4_result_free(&res);

	e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	out->len = 0;
	out->buf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(sl);
	return code;
}

int
main(void)
{
	const char *ep = getenv("AWS_ENDPOINT_URL");
	const char *content = "hello from the sigv4 test\n";
	const char *key_path = "/sigv4-test-bucket/dir/a b_c~.txt";
	struct sigv4_creds bad;
	struct body b;
	time_t now = time(NULL);
	long code;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	if (ep == NULL || strncmp(ep, "http://127.0.0.1:", 17) != 0)
		skip_all("run me under test/support/with_moto.sh (loopback moto only)");
	creds.access_key = getenv("AWS_ACCESS_KEY_ID");
	creds.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	if (creds.access_key == NULL || creds.secret_key == NULL)
		skip_all("with_moto.sh did not export credentials");
	if (tp__awsconf_split_url(ep, &scheme, &host, &epath, NULL) != 0)
		skip_all("bad AWS_ENDPOINT_URL");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	bad = creds;
	bad.secret_key = "wrong-secret-wrong-secret-wrong-secret00";

	/* the verifier is really verifying */
	code = send_signed("s3", "PUT", "/sigv4-test-bucket", NULL, 0, NULL, 0, NULL, &bad,
	    now, &b);
	ok(code == 403, "s3: bucket PUT with a wrong secret refused (status %ld)", code);

	code = send_signed("s3", "PUT", "/sigv4-test-bucket", NULL, 0, NULL, 0, NULL, &creds,
	    now, &b);
	is_int(code, 200, "s3: bucket PUT signed in headers");
	{
		struct sigv4_header ct[] = { { "Content-Type", "text/plain" },
			{ "x-amz-meta-note", "  two   spaces  " } };

		code = send_signed("s3", "PUT", key_path, NULL, 0, ct, 2, content, &creds, now,
		    &b);
		is_int(code, 200, "s3: object PUT (space and '/' in the key, payload hash, "
		    "meta header with blanks)");
	}
	code = send_signed("s3", "GET", key_path, NULL, 0, NULL, 0, NULL, &creds, now, &b);
	is_int(code, 200, "s3: object GET signed in headers");
	is_str(b.buf, content, "s3: body round-trips");
	{
		struct sigv4_param q[] = { { "list-type", "2" }, { "prefix", "dir" },
			{ "max-keys", "5" } };

		code = send_signed("s3", "GET", "/sigv4-test-bucket", q, 3, NULL, 0, NULL, &creds,
		    now, &b);
		is_int(code, 200, "s3: ListObjectsV2 with encoded query signed");
		like_str(b.buf, "<KeyCount>1</KeyCount>", "s3: the listing finds the key");
	}

	/* SQS, JSON 1.0: non-S3 rules */
	{
		struct sigv4_header h[] = { { "Content-Type", "application/x-amz-json-1.0" },
			{ "X-Amz-Target", "AmazonSQS.CreateQueue" } };

		code = send_signed("sqs", "POST", "/", NULL, 0, h, 2,
		    "{\"QueueName\":\"sigv4-test-queue\"}", &creds, now, &b);
		is_int(code, 200, "sqs: CreateQueue signed with non-S3 rules");
		like_str(b.buf, "sigv4-test-queue", "sqs: answer names the queue");
		h[1].value = "AmazonSQS.ListQueues";
		code = send_signed("sqs", "POST", "/", NULL, 0, h, 2, "{}", &bad, now, &b);
		ok(code == 403 || code == 400,
		    "sqs: wrong secret refused (status %ld)", code);
		code = send_signed("sqs", "POST", "/", NULL, 0, h, 2, "{}", &creds, now, &b);
		is_int(code, 200, "sqs: ListQueues signed");
	}
	free(scheme);
	free(host);
	free(epath);
	curl_global_cleanup();
	return done_testing();
}
