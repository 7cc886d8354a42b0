/*
 * act_spawn.c - act__spawn: how the actions start a program (the spiders,
 * git).  See act_private.h for the contract.
 */
#include "act_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum spawn_stage { ST_SETSID = 1, ST_PRCTL, ST_FDS, ST_CHDIR, ST_EXEC };

struct spawn_report {
	int stage;
	int err;
};

static void
child_report(int fd, int stage, int e)
{
	struct spawn_report r = { stage, e };
	ssize_t n;

	do
		n = write(fd, &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_run(const char *path, const struct act__spawn *s, int devnull, int errfd, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int sig, fd, out = s->out_fd, err = s->err_fd >= 0 ? s->err_fd : s->out_fd;

	if (setsid() == -1)
		child_report(errfd, ST_SETSID, errno);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_report(errfd, ST_PRCTL, errno);
	if (getppid() != parent)
		_exit(127); /* the daemon died before PDEATHSIG was set */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* move our fds above 2 before filling 0, 1, 2 with them */
	if ((devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (out = fcntl(out, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (err = fcntl(err, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(127);
	if (dup2(devnull, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		child_report(errfd, ST_FDS, errno);
		/* every other fd goes at exec (errfd with it: that is the success signal) */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == -1)
#endif
	{
		long max = sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			if (fd != errfd)
				(void)close(fd);
	}
	if (chdir(s->cwd) == -1)
		child_report(errfd, ST_CHDIR, errno);
	execve(path, s->argv, s->envp ? s->envp : environ);
	child_report(errfd, ST_EXEC, errno);
	_exit(127);
}

/* The program to run: argv[0] as given when it holds a '/', else the
 * first executable file of that name in PATH's absolute directories.
 * Returns a new string or NULL (err set). */
static char *
program_path(const struct act__spawn *s, struct sm_error *err)
{
	const char *name = s->argv[0], *path = getenv("PATH"), *p, *end;
	char buf[4096];
	struct stat st;

	if (strchr(name, '/'))
		return strdup(name);
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		size_t dl;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dl = (size_t)(end - p);
		if (dl == 0 || p[0] != '/')
			continue;
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, p, name) >= sizeof(buf))
			continue;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return strdup(buf);
	}
	sm_error_set(
	    err, SM_ENOTFOUND, "%s program '%s' not found in PATH: %s", s->what, name, s->hint);
	return NULL;
}

int
act__spawn(const struct act__spawn *s, pid_t *out, struct sm_error *err)
{
	int devnull = -1, pfd[2] = { -1, -1 }, rc = 0;
	char *path;
	pid_t parent = getpid(), pid;
	struct spawn_report r;
	ssize_t n;
	size_t got = 0;

	*out = -1;
	if ((path = program_path(s, err)) == NULL)
		return SM_ENOTFOUND;
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		rc = sm_error_set(err, SM_EIO, "cannot open /dev/null: %s", strerror(errno));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		rc = sm_error_set(err, sm_error_from_errno(errno), "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		rc = sm_error_set(err, sm_error_from_errno(errno), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_run(path, s, devnull, pfd[1], parent);
	close(pfd[1]);
	pfd[1] = -1;
	/* EOF: exec happened (the pipe was close-on-exec); else a report */
	while (got < sizeof(r)) {
		n = read(pfd[0], (char *)&r + got, sizeof(r) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 0) {
		*out = pid;
		goto out;
	}
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	if (got < sizeof(r)) {
		rc = sm_error_set(err, SM_ECHILD, "%s '%s' died before exec", s->what, s->argv[0]);
	} else if (r.stage == ST_CHDIR) {
		rc = sm_error_set(err, SM_ECHILD, "cannot enter %s '%s': %s", s->cwd_what, s->cwd,
		    strerror(r.err));
	} else if (r.stage == ST_EXEC) {
		rc = sm_error_set(err, SM_ECHILD, "cannot run %s program '%s': %s", s->what, path,
		    strerror(r.err));
	} else {
		rc = sm_error_set(err, SM_ECHILD, "cannot prepare the %s process (%s): %s", s->what,
		    r.stage == ST_SETSID    ? "setsid" :
		        r.stage == ST_PRCTL ? "prctl" :
		                              "fds",
		    strerror(r.err));
	}
out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (devnull != -1)
		close(devnull);
	free(path);
	return rc;
}
