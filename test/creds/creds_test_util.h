/*
 * creds_test_util.h - helpers shared by test_creds.c and test_creds_moto.c
 * (header-only; for tests): writing a file into the test's temporary
 * directory, and starting/stopping the fake instance metadata server
 * test/creds/fake_imds.py on 127.0.0.1.
 */
#ifndef CREDS_TEST_UTIL_H
#define CREDS_TEST_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write s to dir/name (replacing it); a failure bails out of the test. */
__attribute__((unused)) static void
ctu_write_str(const char *dir, const char *name, const char *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fputs(s, f) < 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
}

/*
 * Start test/creds/fake_imds.py (it reads its FAKE_IMDS_* environment) and
 * read the port it prints into *port.  Returns its pid, or -1 if it could
 * not be started (nothing is left running then); stop it with
 * ctu_imds_stop.
 */
__attribute__((unused)) static pid_t
ctu_imds_start(int *port)
{
	const char *src = getenv("SM_SOURCE_DIR");
	char script[1024], line[64];
	int fds[2];
	pid_t pid;
	FILE *f;

	snprintf(script, sizeof(script), "%s/test/creds/fake_imds.py",
	    src ? src : "/work/main");
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
		if (f)
			fclose(f);
		else
			close(fds[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -1;
	}
	fclose(f);
	*port = atoi(line);
	return pid;
}

/* Stop the server ctu_imds_start started (pid <= 0: nothing to do). */
__attribute__((unused)) static void
ctu_imds_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

#endif
