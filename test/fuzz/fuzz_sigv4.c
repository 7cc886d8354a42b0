/*
 * fuzz_sigv4.c - the SigV4 signer on arbitrary requests.
 *
 * The input is split at '\n': method, path, then "name:value" lines (a
 * header when there is a ':', a query pair split at '=' otherwise).  Each
 * request is signed with non-S3 and S3 rules and presigned.  Invariants:
 * the only failure is SM_EINVAL; the string to sign ends with the SHA-256
 * of the canonical request; the Authorization ends with the signature;
 * signing is deterministic; the secret never appears in any output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 64

/* 1 when the input itself holds the secret (then it may be echoed). */
static int input_has_secret;

static void
check(const struct sigv4_request *req, const struct sigv4_creds *c, const char *service)
{
	struct sigv4_result a, b;
	char hash[65];
	int rc, rc2;

	rc = tp__sigv4_sign(req, c, "us-east-1", service, 1440938160, &a);
	if (rc != 0 && rc != SM_EINVAL)
		abort();
	rc2 = tp__sigv4_sign(req, c, "us-east-1", service, 1440938160, &b);
	if (rc != rc2)
		abort();
	if (rc == 0) {
		size_t sl = strlen(a.string_to_sign), al = strlen(a.authorization);

		tp__sigv4_sha256_hex(a.canonical_request, strlen(a.canonical_request), hash);
		if (sl < 64 || strcmp(a.string_to_sign + sl - 64, hash) != 0)
			abort();
		if (al < 64 || strcmp(a.authorization + al - 64, a.signature) != 0)
			abort();
		if (strcmp(a.signature, b.signature) != 0 ||
		    strcmp(a.canonical_request, b.canonical_request) != 0)
			abort();
		if (!input_has_secret && (strstr(a.canonical_request, c->secret_key) ||
		    strstr(a.string_to_sign, c->secret_key) ||
		    strstr(a.authorization, c->secret_key)))
			abort();
		if (a.path[0] != '/')
			abort();
	}
	tp__sigv4_result_free(&a);
	tp__sigv4_result_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_creds c = { "AKIDEXAMPLE", "Zq9secretKEYthatNeverAppears", NULL };
	struct sigv4_header h[MAXF];
	struct sigv4_param q[MAXF];
	struct sigv4_request req;
	char *buf, *fields[2 + 2 * MAXF], *s, *url = NULL;
	size_t nf = 0, nh = 0, nq = 0, i;

	if (size > 65536)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	input_has_secret = memmem(data, size, c.secret_key, strlen(c.secret_key)) != NULL;
	for (s = buf; nf < 2 + 2 * MAXF;) {
		char *e = strchr(s, '\n');

		fields[nf++] = s;
		if (e == NULL)
			break;
		*e = '\0';
		s = e + 1;
	}
	memset(&req, 0, sizeof(req));
	req.method = nf > 0 ? fields[0] : NULL;
	req.path = nf > 1 ? fields[1] : NULL;
	for (i = 2; i < nf; i++) {
		char *colon = strchr(fields[i], ':'), *eq = strchr(fields[i], '=');

		if (colon && nh < MAXF) {
			*colon = '\0';
			h[nh++] = (struct sigv4_header){ fields[i], colon + 1 };
		} else if (nq < MAXF) {
			if (eq)
				*eq = '\0';
			q[nq++] = (struct sigv4_param){ fields[i], eq ? eq + 1 : NULL };
		}
	}
	req.headers = h;
	req.nheaders = nh;
	req.query = q;
	req.nquery = nq;
	req.payload_hash = size & 1 ? SIGV4_UNSIGNED_PAYLOAD : NULL;
	check(&req, &c, "service");
	req.path_raw = 1;
	check(&req, &c, "s3");
	c.session_token = "TOKEN";
	req.token_unsigned = (size & 2) != 0;
	req.path_raw = 0;
	check(&req, &c, "sqs");
	{
		struct sigv4_presign p = { 0 };
		struct sm_error err;

		p.scheme = "https";
		p.host = "examplebucket.s3.amazonaws.com";
		p.path = req.path;
		p.path_raw = (size & 4) != 0;
		p.query = q;
		p.nquery = nq;
		p.expires_s = 3600;
		if (tp__sigv4_presign_url(&p, &c, "us-east-1", "s3", 1369353600, &url, &err) == 0) {
			if ((!input_has_secret && strstr(url, c.secret_key)) || strstr(url, "X-Amz-Signature=") == NULL)
				abort();
			free(url);
		} else if (url != NULL) {
			abort();
		}
	}
	free(buf);
	return 0;
}
