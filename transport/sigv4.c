/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h for the rules).
 *
 * Everything is built in growable buffers; the only secret material is the
 * secret key and the derived keys, which stay in local arrays and are
 * wiped before return.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#include "sm_digest.h"
#include "sm_text.h"

/* ---- a small growable string ------------------------------------------ */

struct buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

static void
buf_grow(struct buf *b, size_t add)
{
	size_t need, cap;
	char *np;

	if (b->oom)
		return;
	need = b->len + add + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (np == NULL) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void
buf_addn(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_add(struct buf *b, const char *s)
{
	buf_addn(b, s, strlen(s));
}

static void
buf_addc(struct buf *b, char c)
{
	buf_addn(b, &c, 1);
}

/* Hand over the string (never NULL unless out of memory). */
static char *
buf_take(struct buf *b)
{
	char *p;

	if (b->oom) {
		free(b->p);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	if (b->p == NULL) {
		p = strdup("");
	} else {
		p = b->p;
	}
	memset(b, 0, sizeof(*b));
	return p;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- hashing ---------------------------------------------------------- */

void
tp__sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	sm_digest_hex(SM_DIGEST_SHA256, data, len, out);
}

int
tp__sigv4_sha256_fd_hex(int fd, uint64_t offset, uint64_t len, char out[65])
{
	struct sm_digest d;
	unsigned char *chunk;
	unsigned char md[SM_DIGEST_SHA256];
	const size_t csz = 256 * 1024;

	if ((chunk = malloc(csz)) == NULL)
		return SM_ENOMEM;
	sm_digest_init(&d, SM_DIGEST_SHA256);
	while (len > 0) {
		size_t want = len < csz ? (size_t)len : csz;
		ssize_t n = pread(fd, chunk, want, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(chunk);
			return SM_EIO;
		}
		sm_digest_update(&d, chunk, (size_t)n);
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(chunk);
	sm_digest_final(&d, md);
	sm_hex_encode(md, sizeof(md), out);
	return 0;
}

static int
hmac256(const void *key, size_t klen, const void *data, size_t dlen, unsigned char out[32])
{
	unsigned int olen = 0;

	if (HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) == NULL || olen != 32)
		return SM_EINVAL;
	return 0;
}

int
tp__sigv4_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char key[32])
{
	unsigned char k[32];
	char *first;
	size_t slen;
	int rc;

	if (secret == NULL || date8 == NULL || region == NULL || service == NULL)
		return SM_EINVAL;
	slen = strlen(secret);
	first = malloc(slen + 5);
	if (first == NULL)
		return SM_ENOMEM;
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, secret, slen + 1);
	rc = hmac256(first, slen + 4, date8, strlen(date8), k);
	OPENSSL_cleanse(first, slen + 4);
	free(first);
	if (rc == 0)
		rc = hmac256(k, 32, region, strlen(region), k);
	if (rc == 0)
		rc = hmac256(k, 32, service, strlen(service), k);
	if (rc == 0)
		rc = hmac256(k, 32, "aws4_request", 12, key);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

int
tp__sigv4_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
    const char *prev_signature, const void *chunk, size_t len, char out[65])
{
	struct buf sts = { 0 };
	char hash[65];
	unsigned char sig[32];
	int rc;

	if (key == NULL || amz_date == NULL || scope == NULL || prev_signature == NULL ||
	    (chunk == NULL && len > 0))
		return SM_EINVAL;
	tp__sigv4_sha256_hex(chunk ? chunk : "", len, hash);
	buf_add(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n");
	buf_add(&sts, amz_date);
	buf_addc(&sts, '\n');
	buf_add(&sts, scope);
	buf_addc(&sts, '\n');
	buf_add(&sts, prev_signature);
	buf_addc(&sts, '\n');
	buf_add(&sts, SIGV4_EMPTY_SHA256);
	buf_addc(&sts, '\n');
	buf_add(&sts, hash);
	if (sts.oom) {
		buf_free(&sts);
		return SM_ENOMEM;
	}
	rc = hmac256(key, 32, sts.p, sts.len, sig);
	buf_free(&sts);
	if (rc == 0)
		sm_hex_encode(sig, 32, out);
	return rc;
}

/* ---- encoding --------------------------------------------------------- */

static void
buf_add_encoded(struct buf *b, const char *s, size_t len, int keep_slash)
{
	if (len > (SIZE_MAX - 1 - b->len) / 3) {
		b->oom = 1;
		return;
	}
	buf_grow(b, 3 * len);
	if (b->oom)
		return;
	b->len += sm_uri_encode(b->p + b->len, s, len, keep_slash);
}

char *
tp__sigv4_uri_encode(const char *s, size_t len, int keep_slash)
{
	struct buf b = { 0 };

	buf_add_encoded(&b, s ? s : "", s ? len : 0, keep_slash);
	return buf_take(&b);
}

/* Decode %XX escapes (a '%' not followed by two hex digits stays). */
static char *
pct_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), i, o = 0;
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
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
	*outlen = o;
	return d;
}

/*
 * Remove empty, "." and ".." segments of an absolute path (non-S3 rule).
 * The result begins with '/'; it ends with '/' when the input did or its
 * last segment was "." or "..", unless it is the root.
 */
static char *
normalize_path(const char *path)
{
	size_t n = strlen(path), i = 0, nseg = 0;
	size_t *starts, *lens;
	struct buf b = { 0 };
	int trailing = 0;

	starts = calloc(n / 2 + 2, sizeof(*starts));
	lens = calloc(n / 2 + 2, sizeof(*lens));
	if (starts == NULL || lens == NULL) {
		free(starts);
		free(lens);
		return NULL;
	}
	while (i < n) {
		size_t s, l;

		while (i < n && path[i] == '/')
			i++;
		if (i >= n) {
			trailing = 1;
			break;
		}
		s = i;
		while (i < n && path[i] != '/')
			i++;
		l = i - s;
		trailing = (i >= n) ? 0 : 1;
		if (l == 1 && path[s] == '.') {
			trailing = 1;
			continue;
		}
		if (l == 2 && path[s] == '.' && path[s + 1] == '.') {
			if (nseg > 0)
				nseg--;
			trailing = 1;
			continue;
		}
		starts[nseg] = s;
		lens[nseg] = l;
		nseg++;
	}
	buf_addc(&b, '/');
	for (i = 0; i < nseg; i++) {
		buf_addn(&b, path + starts[i], lens[i]);
		if (i + 1 < nseg || trailing)
			buf_addc(&b, '/');
	}
	free(starts);
	free(lens);
	return buf_take(&b);
}

/* ---- canonical parts -------------------------------------------------- */

struct cparam {
	char *name;
	char *value;
};

static int
cparam_cmp(const void *a, const void *b)
{
	const struct cparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* The sorted, encoded query of `extra` then `q` pairs. */
static char *
canonical_query(const struct sigv4_param *q, size_t nq, const struct sigv4_param *q2,
    size_t nq2)
{
	struct cparam *ps;
	struct buf b = { 0 };
	size_t i, n = nq + nq2;
	char *res = NULL;

	if (n == 0)
		return strdup("");
	ps = calloc(n, sizeof(*ps));
	if (ps == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const struct sigv4_param *p = i < nq ? &q[i] : &q2[i - nq];
		const char *nm = p->name ? p->name : "";
		const char *v = p->value ? p->value : "";

		ps[i].name = tp__sigv4_uri_encode(nm, strlen(nm), 0);
		ps[i].value = tp__sigv4_uri_encode(v, strlen(v), 0);
		if (ps[i].name == NULL || ps[i].value == NULL)
			goto out;
	}
	qsort(ps, n, sizeof(*ps), cparam_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			buf_addc(&b, '&');
		buf_add(&b, ps[i].name);
		buf_addc(&b, '=');
		buf_add(&b, ps[i].value);
	}
	res = buf_take(&b);
out:
	for (i = 0; i < n; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	free(ps);
	buf_free(&b);
	return res;
}

struct chdr {
	char *name;        /* lower-case */
	struct buf value;  /* canonical value(s), joined with ',' */
	size_t order;      /* first appearance, to keep the sort stable */
};

static int
chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
valid_header_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 32 || c >= 127 || c == ':')
			return 0;
	}
	return 1;
}

/* Append the canonical form of a header value: each line trimmed, runs of
 * blanks collapsed, lines joined with ','. */
static void
add_canonical_value(struct buf *b, const char *v)
{
	int first_line = 1;

	while (1) {
		const char *e = v;
		const char *s;
		int pending_space = 0, wrote = 0;

		while (*e && *e != '\n')
			e++;
		for (s = v; s < e; s++) {
			unsigned char c = (unsigned char)*s;

			if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
				pending_space = wrote;
				continue;
			}
			if (wrote == 0 && !first_line)
				buf_addc(b, ',');
			if (pending_space)
				buf_addc(b, ' ');
			pending_space = 0;
			buf_addc(b, (char)c);
			wrote = 1;
		}
		if (wrote)
			first_line = 0;
		if (*e == '\0')
			break;
		v = e + 1;
	}
}

static const char *
find_header(const struct sigv4_request *req, const char *lname)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, lname) == 0)
			return req->headers[i].value ? req->headers[i].value : "";
	return NULL;
}

static int
valid_amz_date(const char *d)
{
	int i;

	if (strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return 0;
	return 1;
}

static int
is_s3(const struct sigv4_request *req, const char *service)
{
	return req->s3 || strcmp(service, "s3") == 0;
}

void
tp__sigv4_result_free(struct sigv4_result *r)
{
	if (r == NULL)
		return;
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->signed_headers);
	free(r->authorization);
	free(r->path);
	free(r->query);
	memset(r, 0, sizeof(*r));
}

/*
 * The core, shared with presigning: `extra` query pairs are signed along
 * with the request's.  `hdr_extra` are headers added by the signer.
 */
static int
sign_core(const struct sigv4_request *req, const struct sigv4_param *extra, size_t nextra,
    const struct sigv4_header *hdr_extra, size_t nhdr_extra, const struct sigv4_creds *creds,
    const char *region, const char *service, const char *amz_date,
    struct sigv4_result *out)
{
	struct chdr *hs = NULL;
	size_t nh = 0, i, j, total;
	struct buf b = { 0 };
	char *cpath = NULL, *tmp = NULL;
	const char *path = req->path ? req->path : "/";
	const char *payload;
	unsigned char key[32], sig[32];
	char hash[65];
	int rc = SM_ENOMEM, s3 = is_s3(req, service);

	/* wire path */
	if (req->path_raw)
		out->path = tp__sigv4_uri_encode(path, strlen(path), 1);
	else
		out->path = strdup(path);
	if (out->path == NULL)
		goto out;
	if (out->path[0] != '/') {
		rc = SM_EINVAL;
		goto out;
	}
	/* canonical path */
	if (s3) {
		size_t dl;

		tmp = pct_decode(out->path, &dl);
		if (tmp == NULL)
			goto out;
		cpath = tp__sigv4_uri_encode(tmp, dl, 1);
	} else {
		tmp = normalize_path(out->path);
		if (tmp == NULL)
			goto out;
		cpath = tp__sigv4_uri_encode(tmp, strlen(tmp), 1);
	}
	if (cpath == NULL)
		goto out;

	out->query = canonical_query(req->query, req->nquery, extra, nextra);
	if (out->query == NULL)
		goto out;

	/* canonical headers */
	total = req->nheaders + nhdr_extra;
	hs = calloc(total ? total : 1, sizeof(*hs));
	if (hs == NULL)
		goto out;
	for (i = 0; i < total; i++) {
		const struct sigv4_header *h = i < req->nheaders ? &req->headers[i] :
		    &hdr_extra[i - req->nheaders];
		char *lname;

		if (!valid_header_name(h->name)) {
			rc = SM_EINVAL;
			goto out;
		}
		lname = strdup(h->name);
		if (lname == NULL)
			goto out;
		for (j = 0; lname[j]; j++)
			lname[j] = (char)tolower((unsigned char)lname[j]);
		for (j = 0; j < nh; j++)
			if (strcmp(hs[j].name, lname) == 0)
				break;
		if (j == nh) {
			hs[nh].name = lname;
			hs[nh].order = nh;
			nh++;
		} else {
			free(lname);
			buf_addc(&hs[j].value, ',');
		}
		add_canonical_value(&hs[j].value, h->value ? h->value : "");
		if (hs[j].value.oom)
			goto out;
	}
	qsort(hs, nh, sizeof(*hs), chdr_cmp);

	for (i = 0; i < nh; i++) {
		if (i)
			buf_addc(&b, ';');
		buf_add(&b, hs[i].name);
	}
	out->signed_headers = buf_take(&b);
	if (out->signed_headers == NULL)
		goto out;

	payload = req->payload_hash;
	if (payload == NULL)
		payload = find_header(req, "x-amz-content-sha256");
	if (payload == NULL)
		payload = SIGV4_EMPTY_SHA256;

	buf_add(&b, req->method);
	buf_addc(&b, '\n');
	buf_add(&b, cpath);
	buf_addc(&b, '\n');
	buf_add(&b, out->query);
	buf_addc(&b, '\n');
	for (i = 0; i < nh; i++) {
		buf_add(&b, hs[i].name);
		buf_addc(&b, ':');
		if (hs[i].value.p)
			buf_addn(&b, hs[i].value.p, hs[i].value.len);
		buf_addc(&b, '\n');
	}
	buf_addc(&b, '\n');
	buf_add(&b, out->signed_headers);
	buf_addc(&b, '\n');
	buf_add(&b, payload);
	out->canonical_request = buf_take(&b);
	if (out->canonical_request == NULL)
		goto out;

	memcpy(out->amz_date, amz_date, 16);
	out->amz_date[16] = '\0';
	{
		char date8[9];
		int n;

		memcpy(date8, amz_date, 8);
		date8[8] = '\0';
		n = snprintf(out->scope, sizeof(out->scope), "%s/%s/%s/aws4_request", date8,
		    region, service);
		if (n < 0 || (size_t)n >= sizeof(out->scope)) {
			rc = SM_EINVAL;
			goto out;
		}
		rc = tp__sigv4_signing_key(creds->secret_key, date8, region, service, key);
		if (rc)
			goto out;
	}
	rc = SM_ENOMEM;

	tp__sigv4_sha256_hex(out->canonical_request, strlen(out->canonical_request), hash);
	buf_add(&b, SIGV4_ALGORITHM "\n");
	buf_add(&b, out->amz_date);
	buf_addc(&b, '\n');
	buf_add(&b, out->scope);
	buf_addc(&b, '\n');
	buf_add(&b, hash);
	out->string_to_sign = buf_take(&b);
	if (out->string_to_sign == NULL)
		goto out_key;

	rc = hmac256(key, 32, out->string_to_sign, strlen(out->string_to_sign), sig);
	if (rc)
		goto out_key;
	sm_hex_encode(sig, 32, out->signature);

	rc = SM_ENOMEM;
	buf_add(&b, SIGV4_ALGORITHM " Credential=");
	buf_add(&b, creds->access_key);
	buf_addc(&b, '/');
	buf_add(&b, out->scope);
	buf_add(&b, ", SignedHeaders=");
	buf_add(&b, out->signed_headers);
	buf_add(&b, ", Signature=");
	buf_add(&b, out->signature);
	out->authorization = buf_take(&b);
	if (out->authorization == NULL)
		goto out_key;
	rc = 0;
out_key:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(sig, sizeof(sig));
out:
	if (hs) {
		for (i = 0; i < nh; i++) {
			free(hs[i].name);
			buf_free(&hs[i].value);
		}
		free(hs);
	}
	buf_free(&b);
	free(cpath);
	free(tmp);
	return rc;
}

static int
format_amz_date(time_t now, char out[17])
{
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return SM_EINVAL;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return SM_EINVAL;
	return 0;
}

static int
args_ok(const struct sigv4_creds *creds, const char *region, const char *service)
{
	return creds && creds->access_key && *creds->access_key && creds->secret_key &&
	    *creds->secret_key && region && *region && service && *service &&
	    !strchr(region, '/') && !strchr(service, '/');
}

int
tp__sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds, const char *region,
    const char *service, time_t now, struct sigv4_result *out)
{
	struct sigv4_header add[SIGV4_ADD_MAX];
	size_t nadd = 0, nsigned;
	const char *date_hdr, *payload;
	char date[17];
	int rc, token, s3;

	if (out == NULL)
		return SM_EINVAL;
	memset(out, 0, sizeof(*out));
	if (req == NULL || req->method == NULL || *req->method == '\0' ||
	    !args_ok(creds, region, service) || (req->nheaders && req->headers == NULL) ||
	    (req->nquery && req->query == NULL))
		return SM_EINVAL;
	s3 = is_s3(req, service);

	date_hdr = find_header(req, "x-amz-date");
	if (date_hdr) {
		if (!valid_amz_date(date_hdr))
			return SM_EINVAL;
		memcpy(date, date_hdr, 17);
	} else {
		rc = format_amz_date(now, date);
		if (rc)
			return rc;
	}

	/* Headers the signer adds; the signed ones first. */
	if (date_hdr == NULL)
		add[nadd++] = (struct sigv4_header){ "X-Amz-Date", NULL };
	payload = req->payload_hash;
	if (s3 && find_header(req, "x-amz-content-sha256") == NULL)
		add[nadd++] = (struct sigv4_header){ "X-Amz-Content-Sha256",
		    payload ? payload : SIGV4_EMPTY_SHA256 };
	token = creds->session_token && *creds->session_token &&
	    find_header(req, "x-amz-security-token") == NULL;
	if (token && !req->token_unsigned)
		add[nadd++] = (struct sigv4_header){ "X-Amz-Security-Token",
		    creds->session_token };
	nsigned = nadd;
	if (token && req->token_unsigned)
		add[nadd++] = (struct sigv4_header){ "X-Amz-Security-Token",
		    creds->session_token };
	if (date_hdr == NULL)
		add[0].value = date;

	rc = sign_core(req, NULL, 0, add, nsigned, creds, region, service, date, out);
	if (rc) {
		tp__sigv4_result_free(out);
		return rc;
	}
	/* The date must point into the result, not our stack. */
	if (date_hdr == NULL)
		add[0].value = out->amz_date;
	memcpy(out->add, add, nadd * sizeof(add[0]));
	out->nadd = nadd;
	return 0;
}

int
tp__sigv4_presign_url(const struct sigv4_presign *p, const struct sigv4_creds *creds,
    const char *region, const char *service, time_t now, char **url, struct sm_error *err)
{
	struct sigv4_param qp[6];
	struct sigv4_header host;
	struct sigv4_request req;
	struct sigv4_result res;
	struct buf b = { 0 };
	char date[17], expires[24], credential[256];
	size_t nq = 0;
	int rc, n;

	if (url)
		*url = NULL;
	if (p == NULL || url == NULL || !args_ok(creds, region, service))
		return sm_error_set(err, SM_EINVAL,
		    "cannot presign: credentials, region and service are required");
	if (p->scheme == NULL || (strcmp(p->scheme, "https") && strcmp(p->scheme, "http")))
		return sm_error_set(err, SM_EINVAL,
		    "cannot presign: scheme must be \"http\" or \"https\"");
	if (p->host == NULL || *p->host == '\0' || strpbrk(p->host, "/?#@ \r\n"))
		return sm_error_set(err, SM_EINVAL, "cannot presign: a host is required");
	if (p->expires_s < 1 || p->expires_s > 604800)
		return sm_error_set(err, SM_EINVAL,
		    "cannot presign: expiry %ld s is outside 1..604800 s", p->expires_s);
	if (p->nquery && p->query == NULL)
		return sm_error_set(err, SM_EINVAL, "cannot presign: query pairs missing");
	rc = format_amz_date(now, date);
	if (rc)
		return sm_error_set(err, rc, "cannot presign: time out of range");
	n = snprintf(credential, sizeof(credential), "%s/%.8s/%s/%s/aws4_request",
	    creds->access_key, date, region, service);
	if (n < 0 || (size_t)n >= sizeof(credential))
		return sm_error_set(err, SM_EINVAL, "cannot presign: access key or region too long");
	snprintf(expires, sizeof(expires), "%ld", p->expires_s);

	qp[nq++] = (struct sigv4_param){ "X-Amz-Algorithm", SIGV4_ALGORITHM };
	qp[nq++] = (struct sigv4_param){ "X-Amz-Credential", credential };
	qp[nq++] = (struct sigv4_param){ "X-Amz-Date", date };
	qp[nq++] = (struct sigv4_param){ "X-Amz-Expires", expires };
	qp[nq++] = (struct sigv4_param){ "X-Amz-SignedHeaders", "host" };
	if (creds->session_token && *creds->session_token)
		qp[nq++] = (struct sigv4_param){ "X-Amz-Security-Token", creds->session_token };

	host = (struct sigv4_header){ "host", p->host };
	memset(&req, 0, sizeof(req));
	req.method = p->method ? p->method : "GET";
	req.path = p->path ? p->path : "/";
	req.path_raw = p->path_raw;
	req.s3 = 1;
	req.query = p->query;
	req.nquery = p->nquery;
	req.headers = &host;
	req.nheaders = 1;
	req.payload_hash = SIGV4_UNSIGNED_PAYLOAD;

	memset(&res, 0, sizeof(res));
	rc = sign_core(&req, qp, nq, NULL, 0, creds, region, service, date, &res);
	if (rc) {
		tp__sigv4_result_free(&res);
		return sm_error_set(err, rc, "cannot presign: %s", sm_strerror(rc));
	}
	buf_add(&b, p->scheme);
	buf_add(&b, "://");
	buf_add(&b, p->host);
	buf_add(&b, res.path);
	buf_addc(&b, '?');
	buf_add(&b, res.query);
	buf_add(&b, "&X-Amz-Signature=");
	buf_add(&b, res.signature);
	tp__sigv4_result_free(&res);
	*url = buf_take(&b);
	if (*url == NULL)
		return sm_error_set(err, SM_ENOMEM, "cannot presign: out of memory");
	return 0;
}
