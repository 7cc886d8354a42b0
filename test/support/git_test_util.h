/*
 * git_test_util.h - git repositories for the tests of spiders_repo
 * (test_act_branch, test_smd_branches): the real git's path, the test's
 * commit identity, a repository whose branches each hold a different
 * `fake_code` (what test/spider/fake_scrapy puts into its items).
 * Header-only, static.  The commands here run the real git (gtu_git),
 * never a wrapper a test put first in PATH.
 */
#ifndef GIT_TEST_UTIL_H
#define GIT_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static char gtu_git[512];

/* Find git and set the commit identity (whatever the user's configuration
 * says): 0, or -1 when git is not installed (the test skips). */
__attribute__((unused)) static int
gtu_setup(void)
{
	FILE *p = popen("command -v git", "r");
	int found = p && fgets(gtu_git, sizeof(gtu_git), p) != NULL;

	if (p)
		pclose(p);
	if (!found)
		return -1;
	gtu_git[strcspn(gtu_git, "\n")] = 0;
	setenv("GIT_AUTHOR_NAME", "smd test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@smd.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "smd test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@smd.invalid", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	return 0;
}

/* Run a shell command (the test's own, never smd's): its status; a
 * failure is printed as a diagnostic. */
__attribute__((unused, format(printf, 1, 2))) static int
gtu_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((st = system(cmd)) != 0)
		diag("command failed (%d): %s", st, cmd);
	return st;
}

/* A new repository at `repo` whose first commit (branch main) has
 * fake_code "code-main". */
__attribute__((unused)) static int
gtu_repo_init(const char *repo)
{
	return gtu_sh("'%s' init -q -b main '%s' && cd '%s' && echo code-main > fake_code && "
	              "'%s' add fake_code && '%s' commit -q -m main",
	    gtu_git, repo, repo, gtu_git, gtu_git);
}

/* Commit fake_code = `code` on `branch` (made from main when new). */
__attribute__((unused)) static int
gtu_repo_commit(const char *repo, const char *branch, const char *code)
{
	return gtu_sh(
	    "cd '%s' && ('%s' checkout -q '%s' 2>/dev/null || '%s' checkout -q -b '%s' "
	    "main) && echo '%s' > fake_code && '%s' commit -q -a -m '%s' && '%s' checkout -q main",
	    repo, gtu_git, branch, gtu_git, branch, code, gtu_git, code, gtu_git);
}

/* The commit `ref` names in `repo` into out ("" if none). */
__attribute__((unused)) static void
gtu_rev(const char *repo, const char *ref, char *out, size_t size)
{
	char cmd[1600];
	FILE *p;

	out[0] = 0;
	snprintf(cmd, sizeof(cmd), "'%s' -C '%s' rev-parse '%s'", gtu_git, repo, ref);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(out, (int)size, p) == NULL)
			out[0] = 0;
		out[strcspn(out, "\n")] = 0;
		pclose(p);
	}
}

#endif
