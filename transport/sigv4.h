/*
 * sigv4.h - AWS Signature Version 4: pure functions, no I/O, no clock.
 *
 * The caller describes a request (method, path, query pairs, headers,
 * payload hash); tp__sigv4_sign() computes the canonical request, the string
 * to sign, the signature and the Authorization header value, and tells
 * which headers the caller must add to the request it sends (X-Amz-Date,
 * X-Amz-Security-Token, X-Amz-Content-Sha256).  Time is an argument, so a
 * caller corrects clock skew by passing `now + offset`.
 *
 * Rules (after the AWS SigV4 test suite and the S3 documentation):
 *   - URI encoding keeps A-Z a-z 0-9 - _ . ~ and encodes every other byte
 *     as %XX (upper-case hex); '/' is kept in paths, encoded in query parts.
 *   - Path, non-S3 services: the wire path is normalised (empty, "." and
 *     ".." segments removed, a trailing '/' kept) and URI-encoded again, so
 *     an encoded wire path ends up double-encoded, as AWS expects.
 *   - Path, S3 (`s3` set, or service "s3"): no normalisation, no double
 *     encoding: the canonical path is the wire path with its escapes
 *     decoded and encoded once (idempotent for a correctly encoded path).
 *   - Query: pairs are given raw; the signer encodes names and values and
 *     sorts by encoded name, then encoded value.  A NULL value is an empty
 *     value ("key=").
 *   - Headers: names lower-cased; values trimmed, runs of spaces collapsed
 *     to one, a value spanning lines (obs-fold "\n  ...") folded into
 *     comma-separated parts; repeated names joined with ',' in the order
 *     given; every given header is signed (sorted by name).
 *   - A session token is sent as X-Amz-Security-Token and signed (unless
 *     `token_unsigned`); S3 requests always carry X-Amz-Content-Sha256.
 *     A header that the caller already put in `headers` (X-Amz-Date,
 *     X-Amz-Security-Token, X-Amz-Content-Sha256, any case) is used as is
 *     and not added again.
 *
 * Secrets (secret key, session token, signing key) never appear in the
 * results' strings except the token in the header the caller must send.
 */
#ifndef SIGV4_H
#define SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sm_err.h"

/* Hex SHA-256 of the empty string, the payload hash of a bodyless request. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_param {
	const char *name;          /* raw (not encoded) */
	const char *value;         /* raw; NULL: empty value */
};

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL or "": none */
};

struct sigv4_request {
	const char *method;        /* "GET", "POST"... */
	/* The path beginning with '/' (NULL: "/"), as sent on the wire
	 * (URI-encoded) unless `path_raw`: then raw bytes that the signer
	 * encodes once (keeping '/') to make the wire path.  Either way
	 * sigv4_result.path is the wire path to send. */
	const char *path;
	int path_raw;
	int s3;                    /* S3 path rules (also when service is "s3") */
	const struct sigv4_param *query;
	size_t nquery;
	/* Headers to sign; must include Host ("host[:port]" as sent). */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* Hex SHA-256 of the body, SIGV4_UNSIGNED_PAYLOAD, or NULL: the hash
	 * of an empty body. */
	const char *payload_hash;
	/* 1: do not sign the session token; it is still returned in `add`
	 * for the caller to send (the suite's post-sts-header-after). */
	int token_unsigned;
};

#define SIGV4_ADD_MAX 3

/* Everything malloc'd belongs to the result; free with tp__sigv4_result_free. */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;      /* "host;x-amz-date" */
	char *authorization;       /* the Authorization header value */
	char *path;                /* wire path (encoded) */
	char *query;               /* canonical query: sorted, encoded; also the
	                              wire query (without '?'); "" if none */
	char signature[65];        /* lower-case hex */
	char amz_date[17];         /* "20150830T123600Z" */
	char scope[128];           /* "20150830/us-east-1/service/aws4_request" */
	/* Headers to add to the request besides Authorization, pointing into
	 * this result or the creds/request (valid as long as those are). */
	struct sigv4_header add[SIGV4_ADD_MAX];
	size_t nadd;
};

/*
 * Sign a request at `now` (seconds since the epoch; the date of an
 * X-Amz-Date header given in `req->headers` wins).  On success fills `out`
 * (free with tp__sigv4_result_free even on failure: it is zeroed first).
 * Returns 0, SM_EINVAL (missing method/creds/region/service, a header name
 * with a control character, a date that does not parse) or SM_ENOMEM.
 */
int tp__sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
    const char *region, const char *service, time_t now, struct sigv4_result *out);
void tp__sigv4_result_free(struct sigv4_result *r);

struct sigv4_presign {
	const char *method;        /* NULL: "GET" */
	const char *scheme;        /* "https" or "http" */
	const char *host;          /* host[:port] as in the Host header */
	const char *path;          /* as in sigv4_request (path_raw applies) */
	int path_raw;
	const struct sigv4_param *query; /* extra parameters, signed */
	size_t nquery;
	long expires_s;            /* 1..604800 */
};

/*
 * A presigned URL (query-string authentication: X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host,
 * X-Amz-Security-Token when the creds have one, X-Amz-Signature last) with
 * S3 path rules and UNSIGNED-PAYLOAD.  `*url` is malloc'd (caller frees).
 * Returns 0, SM_EINVAL or SM_ENOMEM, with `err` set.
 */
int tp__sigv4_presign_url(const struct sigv4_presign *p, const struct sigv4_creds *creds,
    const char *region, const char *service, time_t now, char **url, struct sm_error *err);

/* Lower-case hex SHA-256 of `len` bytes into out[65] (NUL-terminated). */
void tp__sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* The same over `len` bytes of `fd` from `offset` (pread; the file offset
 * does not move).  Returns 0, SM_EIO (short file, read error) or SM_ENOMEM. */
int tp__sigv4_sha256_fd_hex(int fd, uint64_t offset, uint64_t len, char out[65]);

/*
 * URI-encode `len` bytes of `s` (AWS rules, see above; `keep_slash` keeps
 * '/').  Returns a malloc'd NUL-terminated string or NULL (out of memory).
 */
char *tp__sigv4_uri_encode(const char *s, size_t len, int keep_slash);

/* The 32-byte signing key: HMAC chain over "AWS4"+secret, date
 * ("20150830"), region, service, "aws4_request".  Returns 0 or SM_EINVAL. */
int tp__sigv4_signing_key(const char *secret, const char *date8, const char *region,
    const char *service, unsigned char key[32]);

/*
 * Signature of one chunk of an aws-chunked upload (STREAMING-AWS4-HMAC-
 * SHA256-PAYLOAD): string to sign "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date
 * "\n" scope "\n" prev_signature "\n" sha256("") "\n" sha256(chunk).
 * Returns 0 or SM_EINVAL.
 */
int tp__sigv4_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope,
    const char *prev_signature, const void *chunk, size_t len, char out[65]);

#endif
