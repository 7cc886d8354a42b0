/*
 * test_http.c - transport/http.c against the scripted server faultd.py:
 * bodies and headers, many requests at once with a slow one that blocks
 * nobody, connection reuse, caps, timeouts, resets, file bodies both ways,
 * cancellation and destroy.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "sm_loop.h"
#include "support/faultd_client.h"
#include "tap.h"

struct res {
	int done;
	int code;
	long status;
	char body[512];
	size_t body_len;
	char reqid[64];
	char date[64];
	uint64_t at_ms;
	uint64_t file_bytes;
	char error[256];
};

static struct sm_loop *loop;
static struct http *h;
static struct faultd fd;

static void
on_done(void *arg, const struct http_response *resp)
{
	struct res *r = arg;
	const char *v;

	r->done = 1;
	r->code = resp->code;
	r->status = resp->status;
	r->body_len = resp->body_len;
	snprintf(r->body, sizeof(r->body), "%s", resp->body);
	if ((v = tp__http_response_header(resp, "X-AMZN-REQUESTID")) != NULL)
		snprintf(r->reqid, sizeof(r->reqid), "%s", v);
	if ((v = tp__http_response_header(resp, "date")) != NULL)
		snprintf(r->date, sizeof(r->date), "%s", v);
	if (resp->error != NULL)
		snprintf(r->error, sizeof(r->error), "%s", resp->error);
	r->file_bytes = resp->file_bytes;
	r->at_ms = sm_time_mono_ms();
}

static void
wait_all(struct res *r, size_t n, int timeout_ms)
{
	uint64_t end = sm_time_mono_ms() + (uint64_t)timeout_ms;
	size_t i;

	for (;;) {
		for (i = 0; i < n; i++)
			if (!r[i].done)
				break;
		if (i == n || sm_time_mono_ms() > end)
			return;
		sm_loop_run_once(loop, 100);
	}
}

static int
start(const char *method, const char *path, const void *body, size_t len, struct res *r,
    struct http_req_spec *extra)
{
	struct http_req_spec s;
	char url[256];

	if (extra != NULL)
		s = *extra;
	else
		memset(&s, 0, sizeof(s));
	snprintf(url, sizeof(url), "%s%s", fd.url, path);
	s.method = method;
	s.url = url;
	if (body != NULL) {
		s.body = body;
		s.body_len = len;
	}
	memset(r, 0, sizeof(*r));
	return tp__http_start(h, &s, on_done, r, NULL, NULL);
}

int
main(void)
{
	struct res r[24];
	struct http_req_spec spec;
	struct http_header hdr[2];
	char path[64], tmpf[] = "/tmp/test_http.XXXXXX", outf[] = "/tmp/test_http_o.XXXXXX";
	struct sm_error err;
	json_t *log;
	int i, tfd;

	plan_no_plan();
	if (faultd_start(&fd) != 0) {
		skip_all("python3 cannot run test/support/faultd.py");
		return 0;
	}
	ok(sm_loop_create(&loop) == 0, "loop");
	ok(tp__http_create(&h, loop, NULL) == 0, "http client");

	/* loopback detection */
	ok(tp__http_url_is_loopback("http://127.0.0.1:8080/x"), "127.0.0.1 is loopback");
	ok(tp__http_url_is_loopback("http://localhost/"), "localhost is loopback");
	ok(tp__http_url_is_loopback("http://[::1]:9/"), "::1 is loopback");
	ok(!tp__http_url_is_loopback("https://sqs.us-east-1.amazonaws.com/"), "aws is not");
	ok(!tp__http_url_is_loopback("http://127.0.0.1.evil.com/"), "127.0.0.1.evil.com is not");
	/* no proxy ever sees loopback or instance metadata traffic */
	ok(tp__http_url_bypasses_proxy("http://127.0.0.1:9/x"), "no proxy for loopback");
	ok(tp__http_url_bypasses_proxy("http://169.254.169.254/latest/api/token"),
	    "no proxy for instance metadata");
	ok(tp__http_url_bypasses_proxy("http://[fd00:ec2::254]/latest/api/token"),
	    "no proxy for instance metadata over IPv6");
	ok(!tp__http_url_bypasses_proxy("http://169.254.169.254.evil.com/"),
	    "169.254.169.254.evil.com may use the proxy");
	ok(!tp__http_url_bypasses_proxy("https://sqs.us-east-1.amazonaws.com/"),
	    "aws endpoints may use the proxy");

	/* a plain answer: body, status, headers */
	faultd_script(&fd, "{\"steps\":[{\"status\":201,\"body\":\"hello\","
	    "\"headers\":{\"ETag\":\"\\\"abc\\\"\"}}]}");
	is_int(start("POST", "/a", "ping", 4, &r[0], NULL), 0, "POST starts");
	ok(!r[0].done, "the callback never runs inside http_start");
	wait_all(r, 1, 5000);
	ok(r[0].done, "POST done");
	is_int(r[0].code, 0, "no transport error");
	is_int(r[0].status, 201, "status 201");
	is_str(r[0].body, "hello", "body");
	ok(strncmp(r[0].reqid, "faultd-", 7) == 0, "x-amzn-requestid header (any case)");
	ok(strstr(r[0].date, "GMT") != NULL, "Date header");
	log = faultd_log(&fd);
	is_str(json_string_value(json_object_get(json_array_get(log, 0), "body")), "ping",
	    "the server got the body");
	json_decref(log);

	/* 20 requests at once, one of them slow: nobody waits for it */
	faultd_script(&fd, "{\"steps\":[{\"delay\":2.0,\"body\":\"slow\"}],"
	    "\"default\":{\"body\":\"fast\"}}");
	start("GET", "/slow", NULL, 0, &r[0], NULL);
	/* the server must take the slow request first: run the loop (sleeping
	 * does not send anything) until it has it */
	for (i = 0; i < 100 && faultd_count(&fd) < 1; i++)
		sm_loop_run_once(loop, 20);
	for (i = 1; i <= 20; i++) {
		snprintf(path, sizeof(path), "/fast/%d", i);
		start("GET", path, NULL, 0, &r[i], NULL);
	}
	ok(tp__http_inflight(h) == 21, "21 requests in flight");
	wait_all(r, 21, 10000);
	{
		int all = 1, before = 1;
		for (i = 1; i <= 20; i++) {
			all &= r[i].done && r[i].status == 200 && strcmp(r[i].body, "fast") == 0;
			before &= r[i].at_ms < r[0].at_ms;
		}
		ok(all, "20 fast requests answered");
		ok(r[0].done && strcmp(r[0].body, "slow") == 0, "the slow one answered too");
		ok(before, "every fast request finished before the slow one");
	}

	/* connection reuse: sequential requests share one connection */
	faultd_script(&fd, "{}");
	start("GET", "/1", NULL, 0, &r[0], NULL);
	wait_all(r, 1, 5000);
	start("GET", "/2", NULL, 0, &r[1], NULL);
	wait_all(&r[1], 1, 5000);
	log = faultd_log(&fd);
	ok(json_array_size(log) == 2 &&
	    json_integer_value(json_object_get(json_array_get(log, 0), "peer")) ==
	    json_integer_value(json_object_get(json_array_get(log, 1), "peer")),
	    "the second request reused the first one's connection");
	json_decref(log);

	/* response cap */
	faultd_script(&fd, "{\"steps\":[{\"big\":100000}]}");
	memset(&spec, 0, sizeof(spec));
	spec.resp_max = 10000;
	start("GET", "/big", NULL, 0, &r[0], &spec);
	wait_all(r, 1, 5000);
	is_int(r[0].code, SM_ETOOBIG, "a body over the cap fails with SM_ETOOBIG");
	like_str(r[0].error, "larger than 10000", "and says the cap");

	/* total timeout */
	faultd_script(&fd, "{\"steps\":[{\"action\":\"hang\",\"delay\":3}]}");
	memset(&spec, 0, sizeof(spec));
	spec.timeout_ms = 300;
	{
		uint64_t t0 = sm_time_mono_ms();
		start("GET", "/hang", NULL, 0, &r[0], &spec);
		wait_all(r, 1, 5000);
		is_int(r[0].code, SM_ETIMEOUT, "a hanging server times out");
		ok(sm_time_mono_ms() - t0 < 2000, "after about the timeout (%llu ms)",
		    (unsigned long long)(sm_time_mono_ms() - t0));
	}

	/* reset and close without an answer (a reset on a pooled connection
	 * makes curl retry on another: the server resets every request) */
	faultd_script(&fd, "{\"default\":{\"action\":\"reset\"}}");
	start("GET", "/reset", NULL, 0, &r[0], NULL);
	wait_all(r, 1, 5000);
	is_int(r[0].code, SM_ENET, "connection reset: SM_ENET");
	faultd_script(&fd, "{\"default\":{\"action\":\"close\"}}");
	start("GET", "/close", NULL, 0, &r[0], NULL);
	wait_all(r, 1, 5000);
	is_int(r[0].code, SM_ENET, "closed without an answer: SM_ENET");
	ok(strstr(r[0].error, "Empty reply") != NULL || r[0].error[0], "error text: %s",
	    r[0].error);

	/* connection refused */
	{
		struct http_req_spec s2;
		memset(&s2, 0, sizeof(s2));
		s2.url = "http://127.0.0.1:1/";
		memset(&r[0], 0, sizeof(r[0]));
		tp__http_start(h, &s2, on_done, &r[0], NULL, NULL);
		wait_all(r, 1, 5000);
		is_int(r[0].code, SM_ENET, "connection refused: SM_ENET");
		ok(r[0].error[0] != '\0', "with curl's text: %s", r[0].error);
	}

	/* request body from a file range, response to a file */
	tfd = mkstemp(tmpf);
	ok(tfd >= 0 && write(tfd, "0123456789abcdefghij", 20) == 20, "temp file");
	close(tfd);
	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"body\":\"file-answer\"}]}");
	memset(&spec, 0, sizeof(spec));
	spec.body_file = tmpf;
	spec.body_file_offset = 5;
	spec.body_file_len = 10;
	tfd = mkstemp(outf);
	close(tfd);
	spec.resp_file = outf;
	start("PUT", "/part", NULL, 0, &r[0], &spec);
	wait_all(r, 1, 5000);
	is_int(r[0].code, 0, "PUT from a file range");
	is_int(r[0].file_bytes, 11, "answer streamed to the file");
	{
		char buf[64] = "";
		FILE *fp = fopen(outf, "r");
		if (fp != NULL) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
			buf[n] = '\0';
			fclose(fp);
		}
		is_str(buf, "file-answer", "file holds the answer");
	}
	log = faultd_log(&fd);
	is_str(json_string_value(json_object_get(json_array_get(log, 0), "body")), "56789abcde",
	    "the server got bytes 5..14");
	is_str(json_string_value(json_object_get(json_array_get(log, 0), "method")), "PUT",
	    "as a PUT");
	json_decref(log);
	/* an error answer goes to memory, not the file */
	faultd_script(&fd, "{\"steps\":[{\"status\":404,\"body\":\"<Error/>\"}]}");
	start("GET", "/missing", NULL, 0, &r[0], &spec);
	wait_all(r, 1, 5000);
	is_int(r[0].status, 404, "404 while downloading to a file");
	is_str(r[0].body, "<Error/>", "error body kept in memory for the parser");
	unlink(tmpf);
	unlink(outf);

	/* a file range past the end of the file */
	memset(&spec, 0, sizeof(spec));
	spec.body_file = "/nonexistent/smd-test";
	spec.body_file_len = 1;
	sm_error_clear(&err);
	is_int(start("PUT", "/x", NULL, 0, &r[0], &spec), SM_ENOTFOUND,
	    "a missing body file fails at start");

	/* header injection is refused */
	memset(&spec, 0, sizeof(spec));
	hdr[0].name = "X-Test";
	hdr[0].value = "a\r\nInjected: 1";
	spec.headers = hdr;
	spec.nheaders = 1;
	ok(start("GET", "/", NULL, 0, &r[0], &spec) == SM_EINVAL,
	    "a header value with CRLF is refused");
	ok(start("GET", "/", NULL, 0, &r[0], NULL) == 0 && (wait_all(r, 1, 5000), r[0].done),
	    "the client still works");
	memset(&spec, 0, sizeof(spec));
	spec.url = "ftp://127.0.0.1/";
	ok(tp__http_start(h, &spec, on_done, &r[0], NULL, NULL) == SM_EINVAL, "ftp:// refused");

	/* cancel: no callback */
	{
		struct http_request *req = NULL;
		struct http_req_spec s3;
		char url[128];
		faultd_script(&fd, "{\"steps\":[{\"delay\":1}]}");
		snprintf(url, sizeof(url), "%s/cancel", fd.url);
		memset(&s3, 0, sizeof(s3));
		s3.url = url;
		memset(&r[0], 0, sizeof(r[0]));
		tp__http_start(h, &s3, on_done, &r[0], &req, NULL);
		sm_loop_run_once(loop, 50);
		tp__http_cancel(req);
		for (i = 0; i < 15; i++)
			sm_loop_run_once(loop, 100);
		ok(!r[0].done, "a canceled request never calls back");
		is_int(tp__http_inflight(h), 0, "nothing in flight");
	}

	/* TLS peers are verified: a self-signed certificate is refused */
	{
		char dir[] = "/tmp/test_http_tls.XXXXXX", cmd[1024], cert[256], key[256];
		struct faultd tls;
		struct http_req_spec s4;
		if (mkdtemp(dir) == NULL)
			bail_out("mkdtemp");
		if (faultd_make_cert(dir, cert, sizeof(cert), key, sizeof(key)) == 0 &&
		    faultd_start_tls(&tls, cert, key) == 0) {
			char url[128];
			snprintf(url, sizeof(url), "%s/", tls.url);
			memset(&s4, 0, sizeof(s4));
			s4.url = url;
			memset(&r[0], 0, sizeof(r[0]));
			tp__http_start(h, &s4, on_done, &r[0], NULL, NULL);
			wait_all(r, 1, 10000);
			is_int(r[0].code, SM_ETLS, "https to a self-signed server: SM_ETLS");
			ok(r[0].status == 0, "no answer was accepted");
			diag("%s", r[0].error);
			faultd_stop(&tls);
		} else {
			skip("openssl or python3 ssl not available");
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("cannot remove %s", dir);
	}

	/* destroy with requests in flight: SM_ECANCELED callbacks */
	faultd_script(&fd, "{\"default\":{\"delay\":2}}");
	start("GET", "/d1", NULL, 0, &r[0], NULL);
	start("GET", "/d2", NULL, 0, &r[1], NULL);
	sm_loop_run_once(loop, 50);
	tp__http_destroy(h);
	ok(r[0].done && r[0].code == SM_ECANCELED && r[1].done && r[1].code == SM_ECANCELED,
	    "destroy cancels what is in flight");
	/* the loop has nothing of ours left */
	ok(sm_loop_idle(loop), "nothing left registered with the loop");
	sm_loop_destroy(loop);
	faultd_stop(&fd);
	return done_testing();
}
