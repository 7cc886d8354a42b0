/*
 * act_test_util.h - helpers of the actions tests (header-only, static).
 */
#ifndef ACT_TEST_UTIL_H
#define ACT_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "act_task.h"
#include "tap.h"

/* The task of a message the test knows to be valid (bails out if not). */
__attribute__((unused)) static struct act_task
task(const char *msg)
{
	struct act_task t;
	struct sm_error e;

	if (act_task_parse(msg, strlen(msg), &t, &e) != 0)
		bail_out("test message refused: %s", e.msg);
	return t;
}

/* Remove a test's temporary directory. */
__attribute__((unused)) static void
rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
}

#endif
