/*
 * fuzz_awsconf.c - the shared-file (ini) parser on arbitrary bytes, plus
 * URL splitting and the bucket DNS check on the same input.
 *
 * Invariants: a result exactly when the parser succeeds; an error message
 * never quotes input (checked with a marker the input cannot smuggle
 * through unless the parser echoes lines); lookups on the result are safe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "awsconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct awsconf_ini *ini = NULL;
	struct sm_error err;
	char *s, *scheme, *host, *path;
	int rc;

	sm_error_clear(&err);
	rc = tp__awsconf_ini_parse((const char *)data, size, "fuzz", &ini, &err);
	if ((rc == 0) != (ini != NULL))
		abort();
	if (rc != 0) {
		/* the message is "fuzz:N: what" and never carries input bytes */
		if (strncmp(err.msg, "fuzz", 4) != 0)
			abort();
		if (size >= 8 && memmem(err.msg, strlen(err.msg), "SECRETXY", 8) != NULL)
			abort();
	} else {
		(void)tp__awsconf_ini_get(ini, "default", "region");
		(void)tp__awsconf_ini_get(ini, "profile a", "s3.addressing_style");
		(void)tp__awsconf_ini_has_section(ini, "default");
		tp__awsconf_ini_free(ini);
	}

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (tp__awsconf_split_url(s, &scheme, &host, &path, NULL) == 0) {
		if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
			abort();
		if (strpbrk(host, "/?#@ \r\n") != NULL || (*path != '\0' && *path != '/'))
			abort();
		free(scheme);
		free(host);
		free(path);
	}
	(void)tp__awsconf_bucket_dns_ok(s, size & 1);
	free(s);
	return 0;
}
