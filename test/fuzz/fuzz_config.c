/*
 * fuzz_config.c - smd's configuration parser (rt_config) on arbitrary
 * bytes: as a file, and as one -o argument.
 *
 * Invariants: 0 exactly when the message is untouched; every line of a
 * message starts with the file's name and carries no raw control
 * character (input is escaped); a configuration that loads prints (with
 * rt_config_write) to text that loads again and prints the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct rt_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);

	if (fp == NULL)
		abort();
	rt_config_write(c, fp);
	fclose(fp);
	return buf;
}

static void
check_msg(const struct sm_error *err, const char *prefix)
{
	const char *line = err->msg;

	for (;;) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, prefix, strlen(prefix)) != 0 && strncmp(line, "...", 3) != 0)
			abort();
		for (const char *p = line; p < (nl ? nl : line + strlen(line)); p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_config c, c2;
	struct sm_error err;
	char *d1, *d2, *s;
	size_t l1, l2;
	int rc;

	if (rt_config_init(&c) != 0)
		return 0;
	sm_error_clear(&err);
	rc = rt_config_load_mem(&c, "fuzz.conf", (const char *)data, size, &err);
	if ((rc == 0) != (err.code == 0))
		abort();
	if (rc != 0) {
		check_msg(&err, "fuzz.conf:");
	} else {
		d1 = dump(&c, &l1);
		rt_config_init(&c2);
		if (rt_config_load_mem(&c2, "again", d1, l1, &err) != 0)
			abort();
		d2 = dump(&c2, &l2);
		if (l1 != l2 || memcmp(d1, d2, l1) != 0)
			abort();
		free(d1);
		free(d2);
		rt_config_free(&c2);
	}
	rt_config_free(&c);

	/* the same bytes as one -o argument */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	rt_config_init(&c);
	sm_error_clear(&err);
	rc = rt_config_set_option(&c, s, &err);
	if ((rc == 0) != (err.code == 0))
		abort();
	if (rc != 0)
		check_msg(&err, "-o '");
	rt_config_free(&c);
	free(s);
	return 0;
}
