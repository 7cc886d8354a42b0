/*
 * act_private.h - helpers shared by the files of actions/ (prefix act__).
 */
#ifndef ACT_PRIVATE_H
#define ACT_PRIVATE_H

#include <stddef.h>
#include <sys/types.h>

#include "sm_err.h"

#define ACT__EXCERPT_MAX 40     /* bytes of sender text quoted in a message */

/*
 * Write a quoted, escaped excerpt of `s` (at most ACT__EXCERPT_MAX input
 * bytes, then "...") into `out` (NUL-terminated, cut to `size`): printable
 * ASCII as is, '"' and '\\' backslashed, every other byte as \xNN.  For
 * error messages that name what the sender wrote without letting it forge
 * a log line or drive a terminal.
 */
void act__excerpt(const char *s, size_t n, char *out, size_t size);

/* This boot's id (/proc/sys/kernel/random/boot_id, without the newline)
 * into `out`: 0, or SM_ENOTFOUND ("" then).  Records that only hold until
 * a reboot carry it (spider pid files, worktrees' .ready files). */
#define ACT__BOOT_ID_SIZE 64
int act__boot_id(char out[ACT__BOOT_ID_SIZE]);

/*
 * How the actions start a program (the spiders, git): fork + execve of
 * `argv` (never a shell; an argv[0] without '/' is looked up in the
 * absolute directories of PATH), the child in a new session (setsid:
 * pgid = sid = its pid) with PR_SET_PDEATHSIG(SIGKILL), default signal
 * dispositions and an empty mask, stdin from /dev/null, stdout on
 * `out_fd` and stderr on `err_fd` (-1: `out_fd` too), every other fd
 * closed, cwd `cwd`, environment `envp` (NULL: the daemon's).  A failure
 * between fork and exec comes back through a close-on-exec pipe: *pid is
 * -1 and err says what ("cannot enter <cwd_what> '<cwd>': ...", "<what>
 * program 'x' not found in PATH: <hint>", "cannot run <what> program
 * ..."), SM_ENOTFOUND or SM_ECHILD (or the errno of pipe/fork).  0 and
 * *pid: the program runs; the caller watches and reaps it.
 */
struct act__spawn {
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int out_fd, err_fd;
	const char *what;     /* "spider", "git" */
	const char *cwd_what; /* "the spiders dir" */
	const char *hint;     /* what to do when the program is not in PATH */
};
int act__spawn(const struct act__spawn *s, pid_t *pid, struct sm_error *err);

#endif
