/*
 * store_test_util.h - helpers shared by the store tests (header-only,
 * included once per test program).
 */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
stu__rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a directory tree (test scratch only). */
__attribute__((unused)) static void
stu_rmtree(const char *path)
{
	nftw(path, stu__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh scratch directory "/tmp/smd-store-<name>-XXXXXX" in buf. */
__attribute__((unused)) static const char *
stu_tmpdir(char *buf, size_t cap, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, cap, "%s/smd-store-%s-XXXXXX", base && *base ? base : "/tmp", name);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

#endif
