/*
 * fuzz_s3_xml.c - the S3 answer parsers on hostile server answers.
 *
 * Each input is given, as an answer body, to tp__s3_parse_error (with
 * small buffers, to exercise truncation), tp__aws_parse_error_xml and
 * tp__s3_parse_list, and, as a string, to sm_time_parse.
 *
 * Invariants: only the documented codes come back; the error strings are
 * NUL-terminated inside their buffers and nothing past them is written; a
 * found code is not empty; a listing that parsed has a non-empty key for
 * every object, a token when truncated, and a failed one holds nothing
 * and says why; a parsed time is within the years 1970..9999 and parsing
 * is deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws_private.h"
#include "s3.h"
#include "sm_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CANARY 0x5a

static void
check_error(const char *body, size_t len)
{
	char code[8 + 4], msg[16 + 4];
	size_t i;
	int rc;

	memset(code, CANARY, sizeof(code));
	memset(msg, CANARY, sizeof(msg));
	rc = tp__s3_parse_error(body, len, code, 8, msg, 16);
	if (rc != 0 && rc != SM_EPARSE)
		abort();
	if (strnlen(code, 8) == 8 || strnlen(msg, 16) == 16)
		abort();
	for (i = 8; i < sizeof(code); i++)
		if ((unsigned char)code[i] != CANARY)
			abort();
	for (i = 16; i < sizeof(msg); i++)
		if ((unsigned char)msg[i] != CANARY)
			abort();
	if (rc == 0 && code[0] == '\0')
		abort();
	if (rc != 0 && (code[0] != '\0' || msg[0] != '\0'))
		abort();
	/* zero-sized buffers are never written */
	rc = tp__s3_parse_error(body, len, NULL, 0, NULL, 0);
	if (rc != 0 && rc != SM_EPARSE)
		abort();
}

static void
check_error_resp(const char *body, size_t len)
{
	struct http_response resp;
	struct aws_service_error se;
	int rc;

	memset(&resp, 0, sizeof(resp));
	resp.status = 500;
	resp.body = body;
	resp.body_len = len;
	memset(&se, CANARY, sizeof(se));
	rc = tp__aws_parse_error_xml(&resp, &se);
	if (rc != 0 && rc != SM_EPARSE)
		abort();
	if (strnlen(se.code, sizeof(se.code)) == sizeof(se.code) ||
	    strnlen(se.message, sizeof(se.message)) == sizeof(se.message))
		abort();
	if (rc == 0 && se.code[0] == '\0')
		abort();
}

static void
check_list(const char *body, size_t len)
{
	struct tp__s3_list l;
	struct sm_error err;
	size_t i;
	int rc;

	memset(&l, CANARY, sizeof(l));
	memset(&err, 0, sizeof(err));
	rc = tp__s3_parse_list(body, len, &l, &err);
	if (rc != 0) {
		if (rc != SM_EPROTO && rc != SM_ENOMEM)
			abort();
		if (l.objs != NULL || l.n != 0 || l.prefixes != NULL || l.nprefixes != 0 ||
		    l.next != NULL || l.truncated != 0)
			abort();
		if (err.msg[0] == '\0')
			abort();
		return;
	}
	if (l.n > 0 && l.objs == NULL)
		abort();
	for (i = 0; i < l.n; i++) {
		if (l.objs[i].key == NULL || l.objs[i].key[0] == '\0')
			abort();
		if (l.objs[i].mtime_ms < 0)
			abort();
	}
	for (i = 0; i < l.nprefixes; i++)
		if (l.prefixes[i] == NULL)
			abort();
	if (l.truncated && l.next == NULL)
		abort();
	tp__s3_list_free(&l);
	if (l.objs != NULL || l.n != 0 || l.next != NULL)
		abort();
}

static void
check_time(const char *s)
{
	/* 1970-01-01 .. 9999-12-31T23:59:60.999 */
	const int64_t max = (int64_t)253402300800 * 1000 + 1000;
	int64_t a = -1, b = -2;
	int rc, rc2;

	rc = sm_time_parse(s, &a);
	rc2 = sm_time_parse(s, &b);
	if (rc != rc2 || (rc != 0 && rc != SM_EPARSE))
		abort();
	if (rc == 0 && (a != b || a < 0 || a > max))
		abort();
	if (sm_time_parse(NULL, &a) != SM_EPARSE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;

	if (size > 1024 * 1024)
		return 0;
	/* NUL-terminated as http.c delivers bodies; the length is exact */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	check_error(body, size);
	check_error_resp(body, size);
	check_list(body, size);
	check_time(body);
	free(body);
	return 0;
}
