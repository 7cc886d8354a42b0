/*
 * child.h - the test binary as its own child process (fork + exec of
 * /proc/self/exe with arguments), so that a child opens the store and the
 * objects directory afresh, as smctl does, instead of sharing the
 * parent's LMDB environment across fork().
 */
#ifndef LOCAL_CHILD_H
#define LOCAL_CHILD_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_loop.h"
#include "store.h"
#include "transport.h"

/* Start /proc/self/exe with argv (NULL-terminated, argv[0] included). */
__attribute__((unused)) static pid_t
child_spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

__attribute__((unused)) static int
child_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A transport on a fresh store of `dir`; exits the child on failure. */
__attribute__((unused)) static struct tp *
child_tp(const char *dir, struct sm_loop **loop, struct store **st)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp;

	if (sm_loop_create(loop) != 0 || store_open(st, dir, NULL, &err) != 0)
		_exit(3);
	tp_config_init(&cfg);
	cfg.backend = "local";
	cfg.state_dir = dir;
	cfg.store = *st;
	if (tp_create(&tp, *loop, &cfg, &err) != 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		_exit(4);
	}
	return tp;
}

#endif
