/*
 * fuzz_local_key.c - the local backend's name checks on hostile names.
 *
 * The local backend maps bucket/key onto directories and files under its
 * state directory, so an accepted key that could climb out ("..", a
 * leading '/') would be a path traversal.  Each input (up to its first NUL)
 * is checked as an object key, a bucket name and a queue name against an
 * independent reading of the rules, and as a receipt handle: one that
 * parses must print back to itself (hex digits in any case).
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "local_private.h"
#include "sm_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key rules, written again from the header. */
static int
ref_key_ok(const char *k)
{
	size_t n = strlen(k), i, seg = 0;

	if (n == 0 || n > 1024)
		return 0;
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c == '/' || c == '\0') {
			if (seg == 0 || seg > NAME_MAX)
				return 0;
			if ((seg == 1 && k[i - 1] == '.') ||
			    (seg == 2 && k[i - 1] == '.' && k[i - 2] == '.'))
				return 0;
			seg = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return 0;
		seg++;
	}
	return 1;
}

static int
ref_bucket_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		int alnum = islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]);

		if (!alnum && b[i] != '.' && b[i] != '-')
			return 0;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
		if (i > 0 && b[i] == '.' && b[i - 1] == '.')
			return 0;
	}
	return 1;
}

static int
ref_qname_ok(const char *q)
{
	size_t n = strlen(q), i;

	if (n < 1 || n > 80)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)q[i]) || (unsigned char)q[i] > 0x7f)
			if (q[i] != '_' && q[i] != '-')
				return 0;
	return 1;
}

static void
check_key(const char *k)
{
	char msg[600];
	size_t i;
	int rc;

	msg[0] = '\0';
	rc = tp__local_key_check(k, msg, sizeof(msg));
	if (rc != 0 && rc != SM_EINVAL)
		abort();
	if ((rc == 0) != ref_key_ok(k))
		abort();
	if (rc == 0) {
		/* nothing that could leave the bucket directory */
		if (k[0] == '/' || strstr(k, "//") != NULL || strcmp(k, "..") == 0 ||
		    strncmp(k, "../", 3) == 0 || strstr(k, "/../") != NULL ||
		    (strlen(k) >= 3 && strcmp(k + strlen(k) - 3, "/..") == 0))
			abort();
		return;
	}
	if (msg[0] == '\0' || strlen(msg) >= sizeof(msg))
		abort();
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			abort();
	/* a tiny buffer is truncated, never overrun */
	memset(msg, 'Z', sizeof(msg));
	if (tp__local_key_check(k, msg, 4) != rc || strnlen(msg, 4) == 4 || msg[4] != 'Z')
		abort();
	if (tp__local_key_check(k, NULL, 0) != rc)
		abort();
}

static void
check_receipt(const char *r)
{
	const char *name = strrchr(r, '.');
	uint64_t seq = 7;
	uint32_t gen = 9;
	char back[1200];

	name = name != NULL ? name + 1 : "q";
	if (tp__local_receipt_parse(r, name, &seq, &gen) != 0) {
		if (seq != 7 || gen != 9)
			abort();
		return;
	}
	snprintf(back, sizeof(back), "lr1.%016" PRIx64 ".%08" PRIx32 ".%s", seq, gen, name);
	if (strcasecmp(back, r) != 0 || strcmp(back + 30, r + 30) != 0)
		abort();
	/* a receipt is only good for its own queue */
	if (tp__local_receipt_parse(r, "other-queue", &seq, &gen) == 0 &&
	    strcmp(name, "other-queue") != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_key(s);
	if (tp__local_bucket_valid(s) != ref_bucket_ok(s))
		abort();
	if (tp__local_qname_valid(s) != ref_qname_ok(s))
		abort();
	check_receipt(s);
	free(s);
	return 0;
}
