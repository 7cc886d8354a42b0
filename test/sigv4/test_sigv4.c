/*
 * test_sigv4.c - SigV4 against the AWS test suite (31 cases x canonical
 * request, string to sign, authorization), the S3 documentation vectors
 * (incl. the aws-chunked seed and chunk signatures), the documented
 * presigned URL, and hostile inputs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigv4.h"
#include "sm_text.h"
#include "tap.h"

#define SUITE_TIME ((time_t)1440938160) /* 20150830T123600Z */
#define S3_TIME ((time_t)1369353600)    /* 20130524T000000Z */

static const char *suite_token =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAe"
    "MicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZ"
    "ampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xV"
    "qr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2IC"
    "CR/oLxBA==";

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *np;

			cap = cap ? cap * 2 : 8192;
			np = realloc(p, cap + 1);
			if (np == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = np;
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	p[len] = '\0';
	if (lenp)
		*lenp = len;
	return p;
}

static char *
pct_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && sm_hexval((unsigned char)s[i + 1]) >= 0 &&
		    sm_hexval((unsigned char)s[i + 2]) >= 0) {
			d[o++] = (char)(sm_hexval((unsigned char)s[i + 1]) * 16 +
			    sm_hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	return d;
}

/* A raw HTTP request of the suite, parsed. */
#define MAXH 32
struct rawreq {
	char method[16];
	char *path;
	struct sigv4_param q[MAXH];
	size_t nq;
	struct sigv4_header h[MAXH];
	char *hv[MAXH];            /* owned header values (folded lines) */
	char *hn[MAXH];
	size_t nh;
	char payload[65];
};

static void
rawreq_free(struct rawreq *r)
{
	size_t i;

	free(r->path);
	for (i = 0; i < r->nq; i++) {
		free((char *)r->q[i].name);
		free((char *)r->q[i].value);
	}
	for (i = 0; i < r->nh; i++) {
		free(r->hn[i]);
		free(r->hv[i]);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * The .req format: request line (the target may hold spaces), header lines
 * "Name:value", continuation lines starting with blanks (kept as
 * "\n<line>" in the value; the signer folds them), a blank line and a
 * body.  No trailing newline.
 */
static int
rawreq_parse(const char *text, size_t len, struct rawreq *r)
{
	const char *p = text, *end = text + len, *eol, *sp1, *sp2, *qm, *body = NULL;

	memset(r, 0, sizeof(*r));
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		return -1;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	for (sp2 = eol - 1; sp2 > sp1 && *sp2 != ' '; sp2--)
		;
	if (sp1 == NULL || sp2 <= sp1 || (size_t)(sp1 - p) >= sizeof(r->method))
		return -1;
	memcpy(r->method, p, (size_t)(sp1 - p));
	qm = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	r->path = strndup(sp1 + 1, (size_t)((qm ? qm : sp2) - sp1 - 1));
	if (qm) {
		const char *s = qm + 1;

		while (s < sp2 && r->nq < MAXH) {
			const char *amp = memchr(s, '&', (size_t)(sp2 - s));
			const char *e = amp ? amp : sp2;
			const char *eq = memchr(s, '=', (size_t)(e - s));

			r->q[r->nq].name = pct_decode(s, (size_t)((eq ? eq : e) - s));
			r->q[r->nq].value = eq ? pct_decode(eq + 1, (size_t)(e - eq - 1)) : NULL;
			r->nq++;
			s = e + 1;
		}
	}
	p = eol + 1;
	while (p < end) {
		const char *colon;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p) { /* blank line: the body follows */
			body = eol + 1;
			break;
		}
		if ((*p == ' ' || *p == '\t') && r->nh > 0) {
			char *v = r->hv[r->nh - 1];
			size_t vl = strlen(v), ll = (size_t)(eol - p);

			v = realloc(v, vl + ll + 2);
			v[vl] = '\n';
			memcpy(v + vl + 1, p, ll);
			v[vl + 1 + ll] = '\0';
			r->hv[r->nh - 1] = v;
		} else {
			colon = memchr(p, ':', (size_t)(eol - p));
			if (colon == NULL || r->nh >= MAXH)
				return -1;
			r->hn[r->nh] = strndup(p, (size_t)(colon - p));
			r->hv[r->nh] = strndup(colon + 1, (size_t)(eol - colon - 1));
			r->nh++;
		}
		p = eol + 1;
	}
	for (size_t i = 0; i < r->nh; i++)
		r->h[i] = (struct sigv4_header){ r->hn[i], r->hv[i] };
	if (body && body <= end)
		tp__sigv4_sha256_hex(body, (size_t)(end - body), r->payload);
	else
		tp__sigv4_sha256_hex("", 0, r->payload);
	return 0;
}

static char *
case_file(const char *dir, const char *name, const char *ext)
{
	char *path = NULL, *r;

	if (asprintf(&path, "%s/%s.%s", dir, name, ext) < 0)
		return NULL;
	r = slurp(path, NULL);
	free(path);
	return r;
}

static int ncases;

static void
run_suite_case(const char *dir, const char *name)
{
	struct sigv4_creds creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		NULL };
	struct sigv4_request req;
	struct sigv4_result res;
	struct rawreq r;
	char *text, *creq, *sts, *authz, *sreq;
	size_t len = 0;
	char *path = NULL;
	int rc;

	if (asprintf(&path, "%s/%s.req", dir, name) < 0)
		path = NULL;
	text = path ? slurp(path, &len) : NULL;
	free(path);
	creq = case_file(dir, name, "creq");
	sts = case_file(dir, name, "sts");
	authz = case_file(dir, name, "authz");
	sreq = case_file(dir, name, "sreq");
	if (!text || !creq || !sts || !authz || !sreq || rawreq_parse(text, len, &r) != 0) {
		ok(0, "%s: case files readable and parsed", name);
		goto out;
	}
	ncases++;
	memset(&req, 0, sizeof(req));
	req.method = r.method;
	req.path = r.path;
	req.query = r.q;
	req.nquery = r.nq;
	req.headers = r.h;
	req.nheaders = r.nh;
	req.payload_hash = r.payload;
	if (strstr(name, "post-sts-header")) {
		creds.session_token = suite_token;
		req.token_unsigned = strcmp(name, "post-sts-header-after") == 0;
	}
	rc = tp__sigv4_sign(&req, &creds, "us-east-1", "service", SUITE_TIME, &res);
	is_int(rc, 0, "%s: signs", name);
	is_str(res.canonical_request, creq, "%s: canonical request", name);
	is_str(res.string_to_sign, sts, "%s: string to sign", name);
	is_str(res.authorization, authz, "%s: authorization", name);
	if (rc == 0) {
		char line[2048];

		snprintf(line, sizeof(line), "Authorization: %s", res.authorization);
		like_str(sreq, line, "%s: signed request carries our authorization", name);
		if (strcmp(name, "post-sts-header-after") == 0) {
			/* the token goes on the wire, unsigned */
			int found = 0;

			for (size_t i = 0; i < res.nadd; i++)
				if (strcmp(res.add[i].name, "X-Amz-Security-Token") == 0 &&
				    strcmp(res.add[i].value, suite_token) == 0)
					found = 1;
			ok(found, "%s: token header returned to add after signing", name);
		}
		if (strcmp(name, "post-sts-header-before") == 0)
			is_int(res.nadd, 0, "%s: nothing added (date and token given)", name);
	}
	tp__sigv4_result_free(&res);
	rawreq_free(&r);
out:
	free(text);
	free(creq);
	free(sts);
	free(authz);
	free(sreq);
}

/* Every folder holding <name>/<name>.req is a case; recurse into others. */
static void
walk_suite(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	if (d == NULL) {
		ok(0, "open suite folder %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), (int (*)(const void *, const void *))strcmp);
	for (i = 0; i < n; i++) {
		char *sub = NULL, *req = NULL;
		struct stat st;

		if (asprintf(&sub, "%s/%s", dir, names[i]) < 0)
			sub = NULL;
		if (sub && stat(sub, &st) == 0 && S_ISDIR(st.st_mode) &&
		    asprintf(&req, "%s/%s.req", sub, names[i]) >= 0) {
			if (access(req, R_OK) == 0)
				run_suite_case(sub, names[i]);
			else
				walk_suite(sub);
			free(req);
		}
		free(sub);
		free(names[i]);
	}
	free(names);
}

/* ---- S3 documentation vectors ----------------------------------------- */

static const struct sigv4_creds s3creds = { "AKIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL };

static void
check_s3(const char *name, const struct sigv4_request *req, struct sigv4_result *keep)
{
	const char *dir = getenv("SM_SHARED_DIR");
	char d[4096];
	char *creq, *sts, *authz;
	struct sigv4_result res;
	int rc;

	snprintf(d, sizeof(d), "%s/testdata/s3-sigv4-vectors", dir ? dir : "/work/shared");
	creq = case_file(d, name, "creq");
	sts = case_file(d, name, "sts");
	authz = case_file(d, name, "authz");
	rc = tp__sigv4_sign(req, &s3creds, "us-east-1", "s3", S3_TIME, &res);
	is_int(rc, 0, "s3 %s: signs", name);
	is_str(res.canonical_request, creq, "s3 %s: canonical request", name);
	is_str(res.string_to_sign, sts, "s3 %s: string to sign", name);
	is_str(res.authorization, authz, "s3 %s: authorization", name);
	if (keep)
		*keep = res;
	else
		tp__sigv4_result_free(&res);
	free(creq);
	free(sts);
	free(authz);
}

static const char *
added(const struct sigv4_result *r, const char *name)
{
	for (size_t i = 0; i < r->nadd; i++)
		if (strcasecmp(r->add[i].name, name) == 0)
			return r->add[i].value;
	return NULL;
}

static void
test_s3_vectors(void)
{
	struct sigv4_request req;
	struct sigv4_result res;
	char put_hash[65];
	const char *put_body = "Welcome to Amazon S3.";

	{
		struct sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" },
			{ "Range", "bytes=0-9" } };

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/test.txt";
		req.headers = h;
		req.nheaders = 2;
		check_s3("get-object-range", &req, &res);
		is_str(added(&res, "x-amz-content-sha256"), SIGV4_EMPTY_SHA256,
		    "s3: x-amz-content-sha256 added for S3");
		is_str(added(&res, "x-amz-date"), "20130524T000000Z", "s3: x-amz-date added");
		is_int(res.nadd, 2, "s3: exactly two headers added");
		tp__sigv4_result_free(&res);
	}
	{
		struct sigv4_header h[] = { { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
			{ "Host", "examplebucket.s3.amazonaws.com" },
			{ "x-amz-storage-class", "REDUCED_REDUNDANCY" } };

		tp__sigv4_sha256_hex(put_body, strlen(put_body), put_hash);
		memset(&req, 0, sizeof(req));
		req.method = "PUT";
		req.path = "/test$file.text";
		req.headers = h;
		req.nheaders = 3;
		req.payload_hash = put_hash;
		check_s3("put-object-dollar-key", &req, &res);
		is_str(res.path, "/test$file.text", "s3: wire path kept as given");
		tp__sigv4_result_free(&res);
		/* the same key given raw: encoded once for the wire */
		req.path_raw = 1;
		check_s3("put-object-dollar-key", &req, &res);
		is_str(res.path, "/test%24file.text", "s3: raw path encoded for the wire");
		tp__sigv4_result_free(&res);
		/* already encoded on the wire: not encoded twice */
		req.path_raw = 0;
		req.path = "/test%24file.text";
		check_s3("put-object-dollar-key", &req, NULL);
	}
	{
		struct sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
		struct sigv4_param q[] = { { "lifecycle", NULL } };

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = "/";
		req.query = q;
		req.nquery = 1;
		req.headers = h;
		req.nheaders = 1;
		check_s3("get-bucket-lifecycle", &req, &res);
		is_str(res.query, "lifecycle=", "s3: valueless key canonical as 'lifecycle='");
		tp__sigv4_result_free(&res);
	}
	{
		struct sigv4_header h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
		struct sigv4_param q[] = { { "prefix", "J" }, { "max-keys", "2" } };

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.path = NULL;
		req.query = q;
		req.nquery = 2;
		req.headers = h;
		req.nheaders = 1;
		check_s3("list-objects-max-keys-prefix", &req, NULL);
	}
	{
		struct sigv4_header h[] = { { "Host", "s3.amazonaws.com" },
			{ "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" },
			{ "Content-Encoding", "aws-chunked" },
			{ "x-amz-decoded-content-length", "66560" },
			{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
			{ "Content-Length", "66824" } };
		unsigned char key[32];
		char sig[65], prev[65];
		char *chunks_txt, *want[3] = { NULL, NULL, NULL }, *sp;
		const char *dir = getenv("SM_SHARED_DIR");
		char d[4096];
		size_t sizes[3] = { 65536, 1024, 0 };
		char *data = malloc(65536);

		memset(data, 'a', 65536);
		memset(&req, 0, sizeof(req));
		req.method = "PUT";
		req.path = "/examplebucket/chunkObject.txt";
		req.headers = h;
		req.nheaders = 6;
		check_s3("chunked-put-seed", &req, &res);
		is_int(
		    tp__sigv4_signing_key(s3creds.secret_key, "20130524", "us-east-1", "s3", key),
		    0, "signing key derived");
		snprintf(d, sizeof(d), "%s/testdata/s3-sigv4-vectors/chunked-put-chunk-headers.txt",
		    dir ? dir : "/work/shared");
		chunks_txt = slurp(d, NULL);
		ok(chunks_txt != NULL, "chunk headers file readable");
		sp = chunks_txt;
		for (int i = 0; i < 3 && sp; i++) {
			char *s = strstr(sp, "chunk-signature=");

			if (s == NULL)
				break;
			want[i] = strndup(s + 16, 64);
			sp = s + 16;
		}
		snprintf(prev, sizeof(prev), "%s", res.signature);
		for (int i = 0; i < 3; i++) {
			int rc = tp__sigv4_chunk_signature(
			    key, res.amz_date, res.scope, prev, data, sizes[i], sig);

			is_int(rc, 0, "chunk %d signed", i + 1);
			is_str(sig, want[i], "chunk %d signature (%zu bytes)", i + 1, sizes[i]);
			snprintf(prev, sizeof(prev), "%s", sig);
			free(want[i]);
		}
		free(chunks_txt);
		free(data);
		tp__sigv4_result_free(&res);
	}
}

/* ---- presign ---------------------------------------------------------- */

static void
test_presign_doc(void)
{
	struct sigv4_presign p = { .method = "GET", .scheme = "https",
		.host = "examplebucket.s3.amazonaws.com", .path = "/test.txt", .expires_s = 86400 };
	struct sm_error err = { 0 };
	char *url = NULL;
	int rc;

	rc = tp__sigv4_presign_url(&p, &s3creds, "us-east-1", "s3", S3_TIME, &url, &err);
	is_int(rc, 0, "presign: documented example signs");
	is_str(url,
	    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
	    "presign: URL equals the AWS documentation's, byte for byte");
	free(url);

	p.expires_s = 0;
	rc = tp__sigv4_presign_url(&p, &s3creds, "us-east-1", "s3", S3_TIME, &url, &err);
	is_int(rc, SM_EINVAL, "presign: 0 s expiry refused");
	ok(url == NULL, "presign: no URL on failure");
	like_str(err.msg, "expiry", "presign: message names the expiry");
	p.expires_s = 604801;
	is_int(tp__sigv4_presign_url(&p, &s3creds, "us-east-1", "s3", S3_TIME, &url, &err),
	    SM_EINVAL, "presign: more than 7 days refused");
	p.expires_s = 60;
	p.scheme = "ftp";
	is_int(tp__sigv4_presign_url(&p, &s3creds, "us-east-1", "s3", S3_TIME, &url, &err),
	    SM_EINVAL, "presign: ftp scheme refused");
	p.scheme = "https";
	p.host = "evil.com/x";
	is_int(tp__sigv4_presign_url(&p, &s3creds, "us-east-1", "s3", S3_TIME, &url, &err),
	    SM_EINVAL, "presign: host with a path refused");
}

static int
strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The URL with its query parameters sorted (botocore puts the token
 * before the signature, we keep the canonical order: both are valid). */
static char *
sorted_url(const char *url)
{
	char *copy = strdup(url), *q = strchr(copy, '?'), *parts[64], *save = NULL, *tok;
	size_t n = 0, i, len = strlen(url) + 2;
	char *out = calloc(1, len);

	if (q == NULL) {
		free(out);
		return copy;
	}
	*q++ = '\0';
	for (tok = strtok_r(q, "&", &save); tok && n < 64; tok = strtok_r(NULL, "&", &save))
		parts[n++] = tok;
	qsort(parts, n, sizeof(parts[0]), strpcmp);
	strcat(out, copy);
	for (i = 0; i < n; i++) {
		strcat(out, i ? "&" : "?");
		strcat(out, parts[i]);
	}
	free(copy);
	return out;
}

/*
 * Cross-check with botocore: the same inputs through boto3's
 * generate_presigned_url with botocore's clock frozen (presign_boto.py;
 * no network traffic is made).  Skipped when python3/boto3 is missing.
 */
static void
test_presign_boto(void)
{
	const char *src = getenv("SM_SOURCE_DIR");
	struct {
		const char *key;
		const char *token;
		long expires;
		const char *endpoint;
		const char *scheme, *host, *prefix;
	} cases[] = {
		{ "test.txt", NULL, 86400, "https://s3.amazonaws.com", "https",
		  "examplebucket.s3.amazonaws.com", "" },
		{ "dir/a b+c$%~é.txt", NULL, 3600, "http://127.0.0.1:9000", "http",
		  "127.0.0.1:9000", "/examplebucket" },
		{ "k/with spaces", "FQoGZXIvYXdzEXAMPLE/token+with=chars", 600,
		  "http://127.0.0.1:9000", "http", "127.0.0.1:9000", "/examplebucket" },
	};
	char cmd[8192], out[8192];
	size_t i;

	if (src == NULL || system("python3 -c 'import boto3' >/dev/null 2>&1") != 0) {
		skip("boto3 not available for the presign cross-check");
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sigv4_creds c = s3creds;
		struct sigv4_presign p = { 0 };
		struct sm_error err = { 0 };
		char path[1024], *url = NULL;
		FILE *f;
		size_t n;
		int st;

		c.session_token = cases[i].token;
		snprintf(path, sizeof(path), "%s/%s", cases[i].prefix, cases[i].key);
		p.scheme = cases[i].scheme;
		p.host = cases[i].host;
		p.path = path;
		p.path_raw = 1;
		p.expires_s = cases[i].expires;
		is_int(tp__sigv4_presign_url(&p, &c, "us-east-1", "s3", S3_TIME, &url, &err), 0,
		    "boto case %zu: presigned", i);
		/* arguments through the environment: no shell quoting games */
		setenv("PB_ENDPOINT", cases[i].endpoint, 1);
		setenv("PB_KEY", cases[i].key, 1);
		setenv("PB_TOKEN", cases[i].token ? cases[i].token : "", 1);
		snprintf(out, sizeof(out), "%ld", cases[i].expires);
		setenv("PB_EXPIRES", out, 1);
		snprintf(cmd, sizeof(cmd), "python3 '%s/test/sigv4/presign_boto.py'", src);
		f = popen(cmd, "r");
		n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
		out[n] = '\0';
		if (n && out[n - 1] == '\n')
			out[n - 1] = '\0';
		st = f ? pclose(f) : -1;
		is_int(st, 0, "boto case %zu: botocore ran", i);
		{
			char *a = sorted_url(url ? url : ""), *b = sorted_url(out);

			is_str(a, b, "boto case %zu: URL equals botocore's (%s)", i, cases[i].key);
			free(a);
			free(b);
		}
		if (i == 0)
			is_str(url, out, "boto case 0: same parameter order too");
		free(url);
	}
}

/* ---- hostile and edge inputs ------------------------------------------ */

static void
test_edges(void)
{
	struct sigv4_creds creds = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		NULL };
	struct sigv4_header h[] = { { "Host", "example.amazonaws.com" } };
	struct sigv4_request req = { .method = "GET", .path = "/", .headers = h, .nheaders = 1 };
	struct sigv4_result res;
	char *e;

	e = tp__sigv4_uri_encode("a b/c~d%é", strlen("a b/c~d%é"), 0);
	is_str(e, "a%20b%2Fc~d%25%C3%A9", "uri encode: query component");
	free(e);
	e = tp__sigv4_uri_encode("a b/c", 5, 1);
	is_str(e, "a%20b/c", "uri encode: path keeps '/'");
	free(e);
	e = tp__sigv4_uri_encode("\0x", 2, 0);
	is_str(e, "%00x", "uri encode: NUL byte encoded");
	free(e);

	/* non-S3: encoded wire path is double-encoded */
	req.path = "/a%20b";
	is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "service", SUITE_TIME, &res), 0,
	    "non-s3 encoded path signs");
	like_str(res.canonical_request, "\n/a%2520b\n", "non-s3: double encoding");
	tp__sigv4_result_free(&res);
	/* S3: no normalisation, no double encoding */
	req.path = "/my-object//example//photo.user";
	is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "s3", SUITE_TIME, &res), 0, "s3 signs");
	like_str(res.canonical_request, "\n/my-object//example//photo.user\n",
	    "s3: path not normalised");
	tp__sigv4_result_free(&res);
	req.path = "/a%20b%2fc";
	is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "s3", SUITE_TIME, &res), 0, "s3 signs");
	like_str(res.canonical_request, "\n/a%20b/c\n", "s3: escapes decoded and encoded once");
	tp__sigv4_result_free(&res);
	req.path = "/../a/./b/..";
	is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "service", SUITE_TIME, &res), 0,
	    "dot segments above the root sign");
	like_str(res.canonical_request, "\n/a/\n", "non-s3: '..' above root is dropped");
	tp__sigv4_result_free(&res);

	/* session token signed by default; unsigned when asked */
	creds.session_token = "TOKEN";
	req.path = "/";
	is_int(
	    tp__sigv4_sign(&req, &creds, "us-east-1", "sqs", SUITE_TIME, &res), 0, "token signs");
	like_str(res.signed_headers, "x-amz-security-token", "token is a signed header");
	is_str(added(&res, "X-Amz-Security-Token"), "TOKEN", "token header to add");
	tp__sigv4_result_free(&res);
	creds.session_token = NULL;

	/* date from the clock */
	is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "sqs", (time_t)0, &res), 0, "epoch signs");
	is_str(res.amz_date, "19700101T000000Z", "x-amz-date from the given time");
	is_str(res.scope, "19700101/us-east-1/sqs/aws4_request", "scope from the given time");
	ok(strstr(res.canonical_request, "wJalr") == NULL &&
	    strstr(res.string_to_sign, "wJalr") == NULL &&
	    strstr(res.authorization, "wJalr") == NULL, "secret appears in no output");
	tp__sigv4_result_free(&res);

	/* hostile */
	{
		struct sigv4_header bad[] = { { "Host", "x" }, { "Bad Name", "v" } };
		struct sigv4_header bad2[] = { { "Host", "x" }, { "X-Amz-Date", "yesterday" } };
		struct sigv4_header bad3[] = { { "Host", "x" }, { "", "v" } };
		struct sigv4_request r2 = req;

		r2.headers = bad;
		r2.nheaders = 2;
		is_int(tp__sigv4_sign(&r2, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "header name with a space refused");
		tp__sigv4_result_free(&res);
		r2.headers = bad2;
		is_int(tp__sigv4_sign(&r2, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "malformed X-Amz-Date refused");
		tp__sigv4_result_free(&res);
		r2.headers = bad3;
		is_int(tp__sigv4_sign(&r2, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "empty header name refused");
		tp__sigv4_result_free(&res);
		r2 = req;
		r2.path = "relative";
		is_int(tp__sigv4_sign(&r2, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "relative path refused");
		tp__sigv4_result_free(&res);
		r2 = req;
		r2.method = NULL;
		is_int(tp__sigv4_sign(&r2, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "missing method refused");
		is_int(tp__sigv4_sign(&req, &creds, "", "sqs", 0, &res), SM_EINVAL,
		    "empty region refused");
		is_int(tp__sigv4_sign(&req, &creds, "us/east", "sqs", 0, &res), SM_EINVAL,
		    "region with '/' refused");
		creds.secret_key = "";
		is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "sqs", 0, &res), SM_EINVAL,
		    "empty secret refused");
		creds.secret_key = "s";
	}
	/* a big request: many headers and params, long values */
	{
		enum { N = 200 };
		struct sigv4_header hh[N];
		struct sigv4_param qq[N];
		char names[N][16], *big = malloc(100001);

		memset(big, 'v', 100000);
		big[100000] = '\0';
		for (int i = 0; i < N; i++) {
			snprintf(names[i], sizeof(names[i]), "X-H%03d", N - i);
			hh[i] = (struct sigv4_header){ names[i], i == 7 ? big : "  a \t b  " };
			qq[i] = (struct sigv4_param){ names[i], i == 9 ? big : "=&?" };
		}
		req.headers = hh;
		req.nheaders = N;
		req.query = qq;
		req.nquery = N;
		is_int(tp__sigv4_sign(&req, &creds, "us-east-1", "sqs", 0, &res), 0,
		    "200 headers and params with 100 kB values sign");
		ok(res.canonical_request && strstr(res.canonical_request, "x-h001:a b\n") &&
		    strstr(res.canonical_request, "X-H001=%3D%26%3F&X-H002"),
		    "headers and params sorted, values trimmed and encoded");
		tp__sigv4_result_free(&res);
		free(big);
	}
	{
		char hex[65];
		int fd;
		char tmpl[] = "/tmp/sigv4-test-XXXXXX";
		const char *txt = "0123456789Welcome to Amazon S3.0123";

		tp__sigv4_sha256_hex("abc", 3, hex);
		is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		    "sha256 of 'abc'");
		fd = mkstemp(tmpl);
		ok(fd >= 0 && write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt), "temp file");
		is_int(tp__sigv4_sha256_fd_hex(fd, 10, 21, hex), 0, "sha256 of a file range");
		is_str(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		    "file range hash equals the S3 example payload hash");
		is_int(
		    tp__sigv4_sha256_fd_hex(fd, 30, 100, hex), SM_EIO, "range past the end: EIO");
		close(fd);
		unlink(tmpl);
	}
}

int
main(void)
{
	const char *shared = getenv("SM_SHARED_DIR");
	char dir[4096];

	plan_no_plan();
	snprintf(dir, sizeof(dir), "%s/testdata/aws-sig-v4-test-suite",
	    shared ? shared : "/work/shared");
	walk_suite(dir);
	is_int(ncases, 31, "all 31 suite cases ran");
	test_s3_vectors();
	test_presign_doc();
	test_presign_boto();
	test_edges();
	return done_testing();
}
