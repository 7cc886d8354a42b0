/*
 * test_statedir.c - the state directory: layout and modes, the instance id,
 * one writer (a second is refused, in this process or another, naming the
 * holder's pid), readers beside a writer, the lock after a crash and across
 * exec, work directory names, branch directory names, removing work directories (never through a
 * symbolic link, a trash name first, what a crash left).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_err.h"
#include "sm_statedir.h"
#include "tap.h"

static char top[256];

static void
rmtree(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("cannot remove %s", path);
}

static int
mode_of(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return -1;
	return (int)(sb.st_mode & 07777);
}

static int
is_dir(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void
test_layout(void)
{
	char dir[320], p[512], id1[SM_STATEDIR_ID_LEN + 1];
	struct sm_statedir *sd = NULL, *sd2 = NULL;
	struct sm_error err;
	mode_t old = umask(0);
	const char *id;
	size_t i;
	int good = 1;

	snprintf(dir, sizeof(dir), "%s/a", top);
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), 0, "writer opens a new dir");
	umask(old);
	if (sd == NULL)
		return;
	ok(sm_statedir_is_writer(sd), "it is the writer");
	is_int(mode_of(dir), 0700, "dir 0700");
	snprintf(p, sizeof(p), "%s/store", dir);
	is_int(mode_of(p), 0700, "store/ 0700");
	is_str(sm_statedir_store_path(sd), p, "store path");
	snprintf(p, sizeof(p), "%s/objects", dir);
	is_int(mode_of(p), 0700, "objects/ 0700");
	is_str(sm_statedir_objects_path(sd), p, "objects path");
	snprintf(p, sizeof(p), "%s/work", dir);
	is_int(mode_of(p), 0700, "work/ 0700");
	is_str(sm_statedir_work_path(sd), p, "work path");
	snprintf(p, sizeof(p), "%s/branches", dir);
	is_int(mode_of(p), 0700, "branches/ 0700");
	is_str(sm_statedir_branches_path(sd), p, "branches path");
	snprintf(p, sizeof(p), "%s/queue.notify", dir);
	is_str(sm_statedir_notify_path(sd), p, "notify path");
	snprintf(p, sizeof(p), "%s/lock", dir);
	is_int(mode_of(p), 0600, "lock 0600");
	snprintf(p, sizeof(p), "%s/instance-id", dir);
	is_int(mode_of(p), 0600, "instance-id 0600");
	snprintf(p, sizeof(p), "%s/instance-id.tmp", dir);
	is_int(mode_of(p), -1, "no temporary id file left");
	is_str(sm_statedir_path(sd), dir, "path as given");

	id = sm_statedir_instance_id(sd);
	is_int(strlen(id), SM_STATEDIR_ID_LEN, "instance id has 28 chars");
	for (i = 0; id[i]; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
			good = 0;
	ok(good, "instance id is [a-z0-9]: %s", id);
	snprintf(id1, sizeof(id1), "%s", id);
	sm_statedir_close(sd);

	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), 0, "writer opens it again");
	is_str(sd ? sm_statedir_instance_id(sd) : "", id1, "the id is kept");
	sm_statedir_close(sd);

	snprintf(dir, sizeof(dir), "%s/b", top);
	is_int(sm_statedir_open(&sd2, dir, SM_STATEDIR_WRITE, &err), 0, "a second directory");
	ok(sd2 && strcmp(sm_statedir_instance_id(sd2), id1) != 0, "has another id");
	sm_statedir_close(sd2);
}

static void
test_readers(void)
{
	char dir[320], p[512];
	struct sm_statedir *w = NULL, *r = NULL;
	struct sm_error err;

	snprintf(dir, sizeof(dir), "%s/missing", top);
	is_int(sm_statedir_open(&r, dir, SM_STATEDIR_READ, &err), SM_ENOTFOUND,
	    "reader of a missing dir: SM_ENOTFOUND");
	like_str(err.msg, "does not exist", "says so");
	ok(r == NULL && !is_dir(dir), "and creates nothing");

	snprintf(dir, sizeof(dir), "%s/r", top);
	if (mkdir(dir, 0700) != 0)
		diag("mkdir: %s", strerror(errno));
	is_int(sm_statedir_open(&r, dir, SM_STATEDIR_READ, &err), 0, "reader of an empty dir");
	is_str(r ? sm_statedir_instance_id(r) : "?", "", "no id yet");
	ok(r && !sm_statedir_is_writer(r), "not the writer");
	snprintf(p, sizeof(p), "%s/lock", dir);
	ok(mode_of(p) == -1 && !is_dir(sm_statedir_store_path(r)), "reader created nothing");
	sm_statedir_close(r);
	r = NULL;

	is_int(sm_statedir_open(&w, dir, SM_STATEDIR_WRITE, &err), 0, "writer");
	is_int(sm_statedir_open(&r, dir, SM_STATEDIR_READ, &err), 0, "a reader beside the writer");
	is_str(r ? sm_statedir_instance_id(r) : "", w ? sm_statedir_instance_id(w) : "?",
	    "reads the writer's id");
	char *wd = NULL;
	is_int(sm_statedir_work_dir(r, "t1", 1, &wd, &err), SM_EPERM,
	    "a reader cannot create a work dir");
	sm_statedir_close(r);
	sm_statedir_close(w);
}

/* Child: open as writer, report the result on fd, then hold until killed. */
static pid_t
spawn_writer(const char *dir, int *result)
{
	int pfd[2];
	pid_t pid;
	char c = 'x';

	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sm_statedir *sd;
		struct sm_error err;
		int rc = sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err);

		c = rc == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		c = '?';
	close(pfd[0]);
	*result = c == 'y' ? 0 : c == 'n' ? 1 : -1;
	return pid;
}

static void
test_one_writer(void)
{
	char dir[320], want[64];
	struct sm_statedir *w = NULL, *w2 = NULL;
	struct sm_error err;
	pid_t pid, lp;
	int res, st;

	snprintf(dir, sizeof(dir), "%s/w", top);
	is_int(sm_statedir_open(&w, dir, SM_STATEDIR_WRITE, &err), 0, "writer");
	is_int(sm_statedir_open(&w2, dir, SM_STATEDIR_WRITE, &err), SM_EBUSY,
	    "a second writer in the same process: SM_EBUSY");
	ok(w2 == NULL, "gets no handle");
	snprintf(want, sizeof(want), "in use by process %ld", (long)getpid());
	like_str(err.msg, want, "the message names the holder's pid");
	like_str(err.msg, "stop that process", "and says what to do");
	is_int(sm_statedir_lock_pid(dir, &lp), 0, "lock_pid");
	is_int(lp, getpid(), "is ours");

	pid = spawn_writer(dir, &res);
	is_int(res, 1, "a writer in another process is refused");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	sm_statedir_close(w);
	w = NULL;

	/* a writer killed with SIGKILL releases the directory */
	pid = spawn_writer(dir, &res);
	is_int(res, 0, "another process becomes the writer after we closed");
	is_int(sm_statedir_open(&w, dir, SM_STATEDIR_WRITE, &err), SM_EBUSY,
	    "we are refused while it holds the lock");
	snprintf(want, sizeof(want), "in use by process %ld", (long)pid);
	like_str(err.msg, want, "the message names the child's pid");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	is_int(sm_statedir_open(&w, dir, SM_STATEDIR_WRITE, &err), 0,
	    "after the holder is killed (-9), the directory is free");
	is_int(sm_statedir_lock_pid(dir, &lp), 0, "lock_pid");
	is_int(lp, getpid(), "the lock file names the new holder");

	/* the lock is close-on-exec: an exec'd child does not keep it */
	int pfd[2];
	char c;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		bail_out("pipe2: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "10", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (read(pfd[0], &c, 1) > 0) /* EOF: the child has exec'd */
		;
	close(pfd[0]);
	sm_statedir_close(w);
	w = NULL;
	is_int(sm_statedir_open(&w, dir, SM_STATEDIR_WRITE, &err), 0,
	    "a child that exec'd does not hold the lock");
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	sm_statedir_close(w);
}

static void
test_bad(void)
{
	char dir[320], p[512], *wd = NULL;
	struct sm_statedir *sd = NULL;
	struct sm_error err;
	static const char *bad[] = { "", ".", "..", ".hidden", "a/b", "../x", "a b", "a\nb",
		"x\x01", NULL };
	char longname[SM_STATEDIR_NAME_MAX + 2];
	int fd, i, refused = 0;

	is_int(sm_statedir_open(&sd, "", SM_STATEDIR_WRITE, &err), SM_EINVAL, "empty dir");
	snprintf(p, sizeof(p), "%s/file", top);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0)
		close(fd);
	is_int(sm_statedir_open(&sd, p, SM_STATEDIR_WRITE, &err), SM_EINVAL,
	    "a file as the state dir");
	like_str(err.msg, "is not a directory", "says so");
	snprintf(dir, sizeof(dir), "%s/noparent/x", top);
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), SM_ENOTFOUND,
	    "parents are not created");

	snprintf(dir, sizeof(dir), "%s/c", top);
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), 0, "writer");
	for (i = 0; bad[i]; i++)
		if (sm_statedir_work_dir(sd, bad[i], 1, &wd, &err) == SM_EINVAL && wd == NULL)
			refused++;
	is_int(refused, 9, "work dir names that could leave work/ are refused");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(sm_statedir_work_dir(sd, longname, 1, &wd, &err), SM_EINVAL, "too long");
	longname[SM_STATEDIR_NAME_MAX] = '\0';
	is_int(sm_statedir_work_dir(sd, longname, 1, &wd, &err), 0, "200 bytes is fine");
	free(wd);
	is_int(sm_statedir_work_dir(sd, "task-42_x.1", 1, &wd, &err), 0, "work dir");
	snprintf(p, sizeof(p), "%s/work/task-42_x.1", dir);
	is_str(wd, p, "path under work/");
	is_int(mode_of(p), 0700, "created 0700");
	free(wd);
	snprintf(p, sizeof(p), "%s/work/link", dir);
	if (symlink("/tmp", p) != 0)
		diag("symlink: %s", strerror(errno));
	is_int(sm_statedir_work_dir(sd, "link", 1, &wd, &err), SM_EINVAL,
	    "a symlink in work/ is refused");
	sm_statedir_close(sd);

	/* a damaged instance id is refused, never replaced silently */
	snprintf(p, sizeof(p), "%s/instance-id", dir);
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		if (write(fd, "ABC\n", 4) != 4)
			diag("write");
		close(fd);
	}
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), SM_ECORRUPT,
	    "a bad instance-id file: SM_ECORRUPT");
	like_str(err.msg, "instance-id", "names the file");
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_READ, &err), SM_ECORRUPT,
	    "also for a reader");
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), SM_ECORRUPT,
	    "the failed writer released the lock (refused for the id, not SM_EBUSY)");
	unlink(p);
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), 0, "removed: a new id");
	sm_statedir_close(sd);
}

/* 1 if `s` is a name sm_statedir_branch_name may make: 1 to 200 of
 * [A-Za-z0-9._%~-], not "." or "..", no '/'. */
static int
branch_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SM_STATEDIR_NAME_MAX && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%~-") == n;
}

static void
test_branch_names(void)
{
	static const char *const cases[][2] = {
		{ "sc_production", "sc_production" },
		{ "feature/x", "feature%2Fx" },
		{ "release/v1.2", "release%2Fv1.2" },
		{ ".hidden", "%2Ehidden" },
		{ "..", "%2E." },
		{ ".", "%2E" },
		{ "/", "%2F" },
		{ "../x", "%2E.%2Fx" },
		{ "a;b", "a%3Bb" },
		{ "a\nb", "a%0Ab" },
		{ "a b", "a%20b" },
		{ "a%2Fb", "a%252Fb" },
		{ "\xc3\xbc", "%C3%BC" },
		{ "x~1", "x%7E1" },
	};
	char name[SM_STATEDIR_NAME_MAX + 1], name2[SM_STATEDIR_NAME_MAX + 1], dir[320], p[512];
	char *big, *wd = NULL;
	size_t i, bl = 256 * 1024;
	int good = 1;
	struct sm_statedir *sd = NULL, *r = NULL;
	struct sm_error err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sm_statedir_branch_name(cases[i][0], name);
		if (strcmp(name, cases[i][1]) != 0 || !branch_name_ok(name)) {
			diag("branch '%s': '%s', want '%s'", cases[i][0], name, cases[i][1]);
			good = 0;
		}
	}
	ok(good,
	    "branch names: kept, or %%XX for '/', '%%', a leading '.', blanks, control "
	    "and non-ASCII bytes");

	big = malloc(bl + 1);
	memset(big, 'a', SM_STATEDIR_NAME_MAX);
	big[SM_STATEDIR_NAME_MAX] = '\0';
	sm_statedir_branch_name(big, name);
	is_str(name, big, "200 bytes: kept whole");
	big[SM_STATEDIR_NAME_MAX] = 'a';
	big[SM_STATEDIR_NAME_MAX + 1] = '\0';
	sm_statedir_branch_name(big, name);
	ok(strlen(name) == SM_STATEDIR_BRANCH_CUT + 17 && name[SM_STATEDIR_BRANCH_CUT] == '~' &&
	        strncmp(name, big, SM_STATEDIR_BRANCH_CUT) == 0 && branch_name_ok(name),
	    "201 bytes: cut to 180, '~' and 16 hex digits (%zu bytes)", strlen(name));
	big[SM_STATEDIR_NAME_MAX] = 'b';
	sm_statedir_branch_name(big, name2);
	ok(strcmp(name, name2) != 0, "two long names that differ after the cut: two names");
	memset(big, '/', bl);
	big[bl] = '\0';
	sm_statedir_branch_name(big, name);
	ok(branch_name_ok(name) && strchr(name, '/') == NULL && name[SM_STATEDIR_BRANCH_CUT] == '~',
	    "256 KiB of '/': %zu bytes, no '/', cut at 180", strlen(name));
	/* 179 kept bytes, then an escape that does not fit the cut */
	memset(big, 'a', 179);
	memset(big + 179, '/', 40);
	big[219] = '\0';
	sm_statedir_branch_name(big, name);
	ok(strlen(name) == 179 + 17 && name[179] == '~', "the cut never splits a %%XX");
	big[0] = '.';
	big[1] = '\n';
	big[2] = '\0';
	sm_statedir_branch_name(big, name);
	is_str(name, "%2E%0A", "a leading dot and a newline");
	free(big);

	snprintf(dir, sizeof(dir), "%s/br", top);
	is_int(sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err), 0, "writer");
	is_int(sm_statedir_branch_dir(sd, "feature/x", 1, &wd, &err), 0, "branch directory");
	snprintf(p, sizeof(p), "%s/branches/feature%%2Fx", dir);
	is_str(wd, p, "  branches/<encoded name>");
	is_int(mode_of(p), 0700, "  created 0700");
	free(wd);
	is_int(sm_statedir_branch_dir(sd, "../../etc", 1, &wd, &err), 0, "'../../etc'");
	snprintf(p, sizeof(p), "%s/branches/%%2E.%%2F..%%2Fetc", dir);
	is_str(wd, p, "  one component in branches/ (only a leading dot is escaped)");
	free(wd);
	is_int(sm_statedir_branch_dir(sd, "", 1, &wd, &err), SM_EINVAL, "an empty branch name");
	is_int(sm_statedir_open(&r, dir, SM_STATEDIR_READ, &err), 0, "reader");
	is_int(sm_statedir_branch_dir(r, "x", 1, &wd, &err), SM_EPERM, "a reader creates none");
	sm_statedir_close(r);
	sm_statedir_close(sd);
}

/* Write `text` into the file `path`; 0 or -1. */
static int
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* 1 if the file `path` holds exactly `text`. */
static int
holds(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return strcmp(buf, text) == 0;
}

static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static void
test_work_remove(void)
{
	char dir[320], out[400], w[600], p[800], q[800], *wd = NULL, **names = NULL;
	struct sm_statedir *sd = NULL, *rd = NULL;
	struct sm_error err;
	unsigned removed = 0;
	int ok_setup = 1;

	snprintf(dir, sizeof(dir), "%s/rm", top);
	snprintf(out, sizeof(out), "%s/outside", top);
	if (sm_statedir_open(&sd, dir, SM_STATEDIR_WRITE, &err) != 0) {
		ok(0, "writer: %s", err.msg);
		return;
	}
	/* what must survive: a file, a directory with a file, a hard-linked file */
	snprintf(p, sizeof(p), "%s/sub", out);
	ok_setup &= mkdir(out, 0700) == 0 && mkdir(p, 0700) == 0;
	snprintf(p, sizeof(p), "%s/secret", out);
	ok_setup &= put(p, "keep me") == 0;
	snprintf(p, sizeof(p), "%s/sub/file", out);
	ok_setup &= put(p, "keep me too") == 0;
	snprintf(p, sizeof(p), "%s/hard", out);
	ok_setup &= put(p, "hard") == 0;
	/* a run's directory with links planted out of it */
	ok_setup &= sm_statedir_work_dir(sd, "task-1", 1, &wd, &err) == 0;
	snprintf(w, sizeof(w), "%s", wd ? wd : "");
	free(wd);
	wd = NULL;
	snprintf(p, sizeof(p), "%s/main.jl", w);
	ok_setup &= put(p, "{}\n") == 0;
	snprintf(p, sizeof(p), "%s/a", w);
	ok_setup &= mkdir(p, 0700) == 0;
	snprintf(p, sizeof(p), "%s/a/b", w);
	ok_setup &= mkdir(p, 0700) == 0;
	snprintf(p, sizeof(p), "%s/a/b/up", w);
	ok_setup &= symlink("../../../../../outside", p) == 0;
	snprintf(p, sizeof(p), "%s/a/b/f", w);
	ok_setup &= put(p, "x") == 0;
	snprintf(p, sizeof(p), "%s/link-file", w);
	snprintf(q, sizeof(q), "%s/secret", out);
	ok_setup &= symlink(q, p) == 0;
	snprintf(p, sizeof(p), "%s/link-dir", w);
	ok_setup &= symlink(out, p) == 0;
	snprintf(p, sizeof(p), "%s/hard", w);
	snprintf(q, sizeof(q), "%s/hard", out);
	ok_setup &= link(q, p) == 0;
	snprintf(p, sizeof(p), "%s/fifo", w);
	ok_setup &= mkfifo(p, 0600) == 0;
	snprintf(p, sizeof(p), "%s/locked", w);
	ok_setup &= mkdir(p, 0700) == 0;
	snprintf(p, sizeof(p), "%s/locked/f", w);
	ok_setup &= put(p, "x") == 0;
	snprintf(p, sizeof(p), "%s/locked", w);
	ok_setup &= chmod(p, 0) == 0;
	snprintf(p, sizeof(p), "%s/ro", w);
	ok_setup &= mkdir(p, 0700) == 0;
	snprintf(p, sizeof(p), "%s/ro/f", w);
	ok_setup &= put(p, "x") == 0;
	snprintf(p, sizeof(p), "%s/ro", w);
	ok_setup &= chmod(p, 0500) == 0;
	ok(ok_setup,
	    "a work directory with links out of it, a fifo, unreadable and read-only "
	    "directories");

	sm_error_clear(&err);
	is_int(sm_statedir_work_remove(sd, "task-1", &err), 0, "removed (%s)", err.msg);
	ok(!exists(w), "the work directory is gone");
	snprintf(p, sizeof(p), "%s/work/.trash-task-1", dir);
	ok(!exists(p), "and its trash name");
	snprintf(p, sizeof(p), "%s/secret", out);
	ok(holds(p, "keep me"), "a file a link pointed to survives");
	snprintf(p, sizeof(p), "%s/sub/file", out);
	ok(holds(p, "keep me too"), "a directory a link pointed to keeps its files");
	snprintf(p, sizeof(p), "%s/hard", out);
	ok(holds(p, "hard"), "a hard-linked file outside survives");
	is_int(sm_statedir_work_remove(sd, "task-1", &err), 0, "removing it again: nothing to do");

	/* a link in place of the directory itself: the link goes, not its target */
	snprintf(p, sizeof(p), "%s/work/task-2", dir);
	if (symlink(out, p) != 0)
		diag("symlink: %s", strerror(errno));
	is_int(sm_statedir_work_remove(sd, "task-2", &err), 0, "a link as the work directory");
	ok(!exists(p), "the link is gone");
	snprintf(p, sizeof(p), "%s/sub/file", out);
	ok(holds(p, "keep me too"), "what it pointed to is not");

	/* a trash a crash left under the same name goes too */
	snprintf(p, sizeof(p), "%s/work/.trash-task-3", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/work/.trash-task-3/old", dir);
	put(p, "old");
	sm_statedir_work_dir(sd, "task-3", 1, &wd, &err);
	snprintf(p, sizeof(p), "%s/new", wd ? wd : "");
	put(p, "new");
	is_int(sm_statedir_work_remove(sd, "task-3", &err), 0, "removed over an old trash");
	ok(!exists(wd) && !exists(p), "both gone");
	free(wd);
	wd = NULL;

	/* the sweep's part: trash left by crashes, and the list of work dirs */
	snprintf(p, sizeof(p), "%s/work/.trash-x", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/work/.trash-x/y", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/work/.trash-y", dir);
	put(p, "a file");
	snprintf(p, sizeof(p), "%s/work/.other", dir);
	put(p, "not ours");
	sm_statedir_work_dir(sd, "task-4", 1, &wd, &err);
	is_int(sm_statedir_work_trash_clean(sd, &removed, &err), 0, "trash cleaned");
	is_int(removed, 2, "both trash entries removed");
	ok(exists(wd), "a work directory is not trash");
	snprintf(p, sizeof(p), "%s/work/.other", dir);
	ok(exists(p), "nor another dot name");
	is_int(sm_statedir_work_list(sd, &names, &err), 0, "work directories listed");
	ok(names && names[0] && strcmp(names[0], "task-4") == 0 && !names[1],
	    "the one work directory, no dot names");
	sm_statedir_names_free(names);
	free(wd);
	wd = NULL;

	is_int(sm_statedir_work_remove(sd, "../outside", &err), SM_EINVAL, "a bad name: refused");
	ok(exists(out), "nothing removed");
	if (sm_statedir_open(&rd, dir, SM_STATEDIR_READ, &err) == 0) {
		is_int(sm_statedir_work_remove(rd, "task-4", &err), SM_EPERM, "a reader cannot");
		sm_statedir_close(rd);
	}

	/* too deep to remove: refused, the trash stays for a next try */
	sm_statedir_work_dir(sd, "task-5", 1, &wd, &err);
	snprintf(p, sizeof(p), "%s", wd ? wd : "");
	for (int i = 0; i < 140 && strlen(p) + 3 < sizeof(p); i++) {
		strcat(p, "/d");
		mkdir(p, 0700);
	}
	is_int(sm_statedir_work_remove(sd, "task-5", &err), SM_ETOOBIG, "140 levels: refused");
	like_str(err.msg, "by hand", "says what to do");
	snprintf(p, sizeof(p), "%s/work/.trash-task-5", dir);
	ok(!exists(wd) && exists(p), "the directory is out of the way, as a trash");
	free(wd);
	sm_statedir_close(sd);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/test_statedir.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(top) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	test_layout();
	test_readers();
	test_one_writer();
	test_bad();
	test_branch_names();
	test_work_remove();
	rmtree(top);
	return done_testing();
}
