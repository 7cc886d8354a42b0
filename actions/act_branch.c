/*
 * act_branch.c - the branch_checkout action: one git worktree per commit of
 * a branch, made by git run one command at a time.  See act_branch.h for
 * the contract, docs/spider.md "Branches" for the operator's view.
 *
 * Checkouts are jobs in one queue, run in order by pump(): each step is
 * one git command (started, then its exit handled by on_git_exit, which
 * pumps again) or work done at once (the checks of a worktree, removing
 * one, writing its .ready file).  So git never runs twice at once on the
 * repository, and two checkouts of the same commit cannot both make its
 * worktree: the second finds it ready.
 */
#include "act_branch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "act_private.h"
#include "act_task.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_statedir.h"
#include "sm_text.h"

extern char **environ;

#define READY_SUFFIX ".ready"
#define OUT_MAX 4096 /* bytes of git's output read for the log */
#define LOG_LINES 20 /* lines of git's output logged per stream */
#define ARGS_MAX 16

/* Variables of the daemon's environment that would point git elsewhere. */
static const char *const git_env_drop[] = { "GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=",
	"GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_COMMON_DIR=",
	"GIT_NAMESPACE=", "GIT_TERMINAL_PROMPT=", NULL };

enum step {
	S_BEGIN,   /* nothing run yet */
	S_REMOTE,  /* git config --get remote.origin.url */
	S_FETCH,   /* git fetch origin */
	S_RESOLVE, /* git rev-parse <ref>^{commit} */
	S_PRUNE,   /* git worktree prune (before an add; or a prune job) */
	S_ADD      /* git worktree add */
};

struct job {
	struct job *next;
	struct sm_action_call *call; /* NULL: cancelled, or a prune job */
	int prune_only;
	enum step step;
	char *branch, *instance;
	char *bdir; /* <root>/<name> */
	char *wt;   /* <bdir>/<commit> once resolved */
	char commit[72];
	uint64_t qgen, mygen; /* fetch generations (see pump) */
};

struct use {
	struct use *next;
	char *instance, *wt;
};

struct current {
	struct current *next;
	char *bdir;
	char commit[72];
};

struct act_branch {
	struct sm_loop *loop;
	struct sm_statedir *sd;
	char *root;       /* absolute <state>/branches */
	char *repo, *git; /* repo NULL: none */
	int64_t timeout_ms;
	char **envp;
	struct job *head, *tail;
	uint64_t kick; /* a pump timer is armed */
	/* the git that runs (pid 0: none) */
	pid_t pid;
	int out_fd, err_fd;
	uint64_t timer;
	int timed_out;
	char cmd[600]; /* for the log */
	/* A fetch (or the look for a remote) serves every job queued before it
	 * started: gen_started counts those started, gen_done is the last one
	 * that ended. */
	uint64_t gen_started, gen_done;
	int has_origin, fetch_ok;
	struct use *uses;
	struct current *currents;
	int pumping, again;
	char boot[ACT__BOOT_ID_SIZE]; /* written into .ready files */
};

static void pump(struct act_branch *ab);

/* ---- small helpers ------------------------------------------------------- */

static int
is_hex_commit(const char *s, size_t n)
{
	if (n != 40 && n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
		sm_log_warn("branches: cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

/* Remove `path` and everything under it, never following a symlink. */
static void
rmtree(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		(void)unlink(path);
		return;
	}
	(void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/*
 * 1 if <wt> is a directory (not a link) and <wt>.ready a regular file that
 * says "<commit> <boot id>" of this boot: the worktree was made whole
 * since the machine started.  (Its files are not synced: after a crash of
 * the machine the worktree is made again instead.)
 */
static int
wt_ready(const struct act_branch *ab, const char *wt)
{
	char ready[PATH_MAX], want[160], got[160];
	const char *commit = strrchr(wt, '/');
	struct stat sb;
	ssize_t n;
	int fd, len;

	if (commit == NULL ||
	    (size_t)snprintf(ready, sizeof(ready), "%s" READY_SUFFIX, wt) >= sizeof(ready) ||
	    lstat(wt, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	len = snprintf(want, sizeof(want), "%s %s\n", commit + 1, ab->boot);
	if ((fd = open(ready, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	n = read(fd, got, sizeof(got));
	close(fd);
	return n == len && memcmp(got, want, (size_t)len) == 0;
}

/* The .ready file first (the worktree stops being whole), then the tree. */
static void
wt_remove(const char *wt)
{
	char ready[PATH_MAX];

	snprintf(ready, sizeof(ready), "%s" READY_SUFFIX, wt);
	if (unlink(ready) != 0 && errno != ENOENT)
		sm_log_warn("branches: cannot remove '%s': %s", ready, strerror(errno));
	rmtree(wt);
}

/* The worktree is whole: <wt>.ready = "<commit> <boot id>", written to a
 * temporary file and renamed. */
static int
wt_mark_ready(const struct act_branch *ab, const char *wt, const char *commit, struct sm_error *err)
{
	char ready[PATH_MAX], tmp[PATH_MAX + 8], line[160];
	int fd, n, rc = 0;

	snprintf(ready, sizeof(ready), "%s" READY_SUFFIX, wt);
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	n = snprintf(line, sizeof(line), "%s %s\n", commit, ab->boot);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, ready) != 0)
		rc = sm_error_set(err, SM_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/* ---- uses and current commits --------------------------------------------- */

static int
wt_in_use(const struct act_branch *ab, const char *wt)
{
	for (const struct use *u = ab->uses; u; u = u->next)
		if (strcmp(u->wt, wt) == 0)
			return 1;
	return 0;
}

static int
use_add(struct act_branch *ab, const char *instance, const char *wt)
{
	struct use *u;

	for (u = ab->uses; u; u = u->next)
		if (strcmp(u->instance, instance) == 0 && strcmp(u->wt, wt) == 0)
			return 0;
	if ((u = calloc(1, sizeof(*u))) == NULL || (u->instance = strdup(instance)) == NULL ||
	    (u->wt = strdup(wt)) == NULL) {
		if (u)
			free(u->instance);
		free(u);
		return SM_ENOMEM;
	}
	u->next = ab->uses;
	ab->uses = u;
	return 0;
}

size_t
act_branch_uses(const struct act_branch *ab)
{
	size_t n = 0;

	for (const struct use *u = ab->uses; u; u = u->next)
		n++;
	return n;
}

static struct current *
current_find(struct act_branch *ab, const char *bdir)
{
	for (struct current *c = ab->currents; c; c = c->next)
		if (strcmp(c->bdir, bdir) == 0)
			return c;
	return NULL;
}

static void
current_set(struct act_branch *ab, const char *bdir, const char *commit)
{
	struct current *c = current_find(ab, bdir);

	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL || (c->bdir = strdup(bdir)) == NULL) {
			free(c);
			return; /* only the removal of old worktrees waits */
		}
		c->next = ab->currents;
		ab->currents = c;
	}
	snprintf(c->commit, sizeof(c->commit), "%s", commit);
}

/* ---- jobs ------------------------------------------------------------------ */

static void kick_pump(struct act_branch *ab);

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	if (j->call)
		sm_action_call_set_data(j->call, NULL);
	free(j->branch);
	free(j->instance);
	free(j->bdir);
	free(j->wt);
	free(j);
}

static void
job_push(struct act_branch *ab, struct job *j)
{
	j->qgen = ab->gen_started;
	if (ab->tail)
		ab->tail->next = j;
	else
		ab->head = j;
	ab->tail = j;
	kick_pump(ab);
}

static void
job_unlink(struct act_branch *ab, struct job *j)
{
	struct job **pp, *prev = NULL;

	for (pp = &ab->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			if (ab->tail == j)
				ab->tail = prev;
			j->next = NULL;
			return;
		}
	}
}

/* A `git worktree prune` after worktrees were removed (one queued at most). */
static void
queue_prune(struct act_branch *ab)
{
	struct job *j;

	for (j = ab->head; j; j = j->next)
		if (j->prune_only && j->step == S_BEGIN)
			return;
	if (ab->repo == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return; /* the next worktree add prunes first anyway */
	j->prune_only = 1;
	job_push(ab, j);
}

/* Remove the worktrees of branch directory `bdir` that no task uses,
 * except the one of commit `keep` (NULL: the branch's current one, and
 * none when it is not known). */
static void
gc_branch(struct act_branch *ab, const char *bdir, const char *keep)
{
	struct current *c = current_find(ab, bdir);
	char wt[PATH_MAX], ready[PATH_MAX + 8];
	struct dirent *de;
	DIR *d;
	int removed = 0;

	if (keep == NULL && (c == NULL || c->commit[0] == '\0'))
		return;
	if (keep == NULL)
		keep = c->commit;
	if ((d = opendir(bdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > strlen(READY_SUFFIX) &&
		    strcmp(de->d_name + n - strlen(READY_SUFFIX), READY_SUFFIX) == 0)
			n -= strlen(READY_SUFFIX);
		if (!is_hex_commit(de->d_name, n) ||
		    (strlen(keep) == n && strncmp(de->d_name, keep, n) == 0))
			continue;
		if ((size_t)snprintf(wt, sizeof(wt), "%s/%.*s", bdir, (int)n, de->d_name) >=
		        sizeof(wt) - strlen(READY_SUFFIX) ||
		    wt_in_use(ab, wt))
			continue;
		snprintf(ready, sizeof(ready), "%s" READY_SUFFIX, wt);
		if (access(wt, F_OK) != 0 && access(ready, F_OK) != 0)
			continue; /* removed with its other name (<commit>, <commit>.ready) */
		sm_log_info("branches: removing '%s' (no task uses it; the branch is at %.12s now)",
		    wt, keep);
		wt_remove(wt);
		removed = 1;
	}
	closedir(d);
	if (removed)
		queue_prune(ab);
}

/* ---- git ------------------------------------------------------------------- */

/* Log what git printed on `fd` (its last OUT_MAX bytes), line by line. */
static void
log_output(int fd, const char *stream, int warn)
{
	char buf[OUT_MAX + 1], line[512];
	off_t size = lseek(fd, 0, SEEK_END), off;
	ssize_t n;
	char *p, *nl;
	int lines = 0;

	if (size <= 0)
		return;
	off = size > OUT_MAX ? size - OUT_MAX : 0;
	if ((n = pread(fd, buf, OUT_MAX, off)) <= 0)
		return;
	buf[n] = '\0';
	for (p = buf; *p && lines < LOG_LINES; p = nl ? nl + 1 : p + strlen(p)) {
		nl = memchr(p, '\n', (size_t)(buf + n - p));
		sm_text_escape(line, sizeof(line), p, nl ? (size_t)(nl - p) : strlen(p));
		if (line[0] == '\0')
			continue;
		lines++;
		if (warn)
			sm_log_warn("branches: git %s: %s", stream, line);
		else
			sm_log_info("branches: git %s: %s", stream, line);
	}
}

/* The first line git printed on `fd`, into out (NUL-terminated). */
static void
first_line(int fd, char *out, size_t size)
{
	ssize_t n = pread(fd, out, size - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void
git_close(struct act_branch *ab)
{
	if (ab->timer)
		sm_loop_timer_del(ab->loop, ab->timer);
	ab->timer = 0;
	if (ab->out_fd >= 0)
		close(ab->out_fd);
	if (ab->err_fd >= 0)
		close(ab->err_fd);
	ab->out_fd = ab->err_fd = -1;
	ab->pid = 0;
	ab->timed_out = 0;
}

static int64_t
on_git_timeout(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct act_branch *ab = arg;

	(void)loop;
	(void)id;
	ab->timer = 0;
	if (ab->pid > 0) {
		sm_log_warn("branches: %s ran past %lld ms: killing it", ab->cmd,
		    (long long)ab->timeout_ms);
		ab->timed_out = 1;
		(void)kill(-ab->pid, SIGKILL);
	}
	return -1;
}

static void on_git_exit(struct sm_loop *loop, pid_t pid, int status, void *arg);

/* Start `git -C <repo> ARGS...` (NULL-terminated) for the head job. */
static int
git_start(struct act_branch *ab, struct sm_error *err, ...)
{
	char *argv[ARGS_MAX + 4], esc[600];
	struct act__spawn s = { NULL, NULL, NULL, -1, -1, "git",
		"the spiders repository (spiders_repo)", "install git, or unset spiders_repo" };
	size_t n = 0, len;
	va_list ap;
	pid_t pid;
	int rc;

	if (ab->repo == NULL)
		return sm_error_set(err, SM_EINVAL, "spiders_repo was unset during the checkout");
	argv[n++] = ab->git;
	argv[n++] = (char *)"-C";
	argv[n++] = ab->repo;
	va_start(ap, err);
	while (n < ARGS_MAX + 3 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	len = (size_t)snprintf(ab->cmd, sizeof(ab->cmd), "git");
	for (size_t i = 1; i < n && len < sizeof(ab->cmd); i++)
		len += (size_t)snprintf(ab->cmd + len, sizeof(ab->cmd) - len, " %s",
		    sm_text_escape(esc, sizeof(esc), argv[i], strlen(argv[i])));
	ab->out_fd = memfd_create("git-stdout", MFD_CLOEXEC);
	ab->err_fd = memfd_create("git-stderr", MFD_CLOEXEC);
	if (ab->out_fd < 0 || ab->err_fd < 0) {
		rc = sm_error_set(
		    err, sm_error_from_errno(errno), "cannot run git: memfd: %s", strerror(errno));
		git_close(ab);
		return rc;
	}
	s.argv = argv;
	s.cwd = ab->repo; /* a missing repository says so before git runs */
	s.envp = ab->envp;
	s.out_fd = ab->out_fd;
	s.err_fd = ab->err_fd;
	if ((rc = act__spawn(&s, &pid, err)) != 0) {
		git_close(ab);
		return rc;
	}
	if ((rc = sm_loop_child_add(ab->loop, pid, on_git_exit, ab)) != 0) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		git_close(ab);
		return sm_error_set(err, rc, "cannot watch git: %s", sm_strerror(rc));
	}
	ab->pid = pid;
	ab->timer = sm_loop_timer_add(ab->loop, ab->timeout_ms, on_git_timeout, ab);
	sm_log_info("branches: %s", ab->cmd);
	return 0;
}

/* How git ended, for a message: "exit 128: fatal: ...", "killed ...". */
static void
git_outcome(struct act_branch *ab, int status, char *out, size_t size)
{
	char line[300], esc[300];

	first_line(ab->err_fd, line, sizeof(line));
	sm_text_escape(esc, sizeof(esc), line, strlen(line));
	if (ab->timed_out)
		snprintf(out, size, "%s timed out after %lld ms (spider_start_timeout)", ab->cmd,
		    (long long)ab->timeout_ms);
	else if (WIFSIGNALED(status))
		snprintf(out, size, "%s was killed by signal %d", ab->cmd, WTERMSIG(status));
	else
		snprintf(out, size, "%s failed (exit %d)%s%s", ab->cmd, WEXITSTATUS(status),
		    esc[0] ? ": " : "", esc);
}

/* ---- the steps --------------------------------------------------------------- */

static void
job_finish(struct act_branch *ab, struct job *j, const char *error, const char *msg)
{
	struct sm_action_call *call = j->call;
	json_t *r = NULL;

	job_unlink(ab, j);
	j->call = NULL;
	if (call)
		sm_action_call_set_data(call, NULL);
	if (call && error == NULL) {
		if (j->wt && use_add(ab, j->instance, j->wt) != 0) {
			error = "error.execution";
			msg = "out of memory";
		} else if (j->wt) {
			r = json_pack("{s:s,s:s,s:s}", "cwd", j->wt, "branch", j->branch, "commit",
			    j->commit);
		} else {
			r = json_pack("{s:n,s:s,s:n}", "cwd", "branch", j->branch, "commit");
		}
		if (r == NULL && error == NULL) {
			error = "error.execution";
			msg = "out of memory";
		}
	}
	if (j->wt && error == NULL)
		gc_branch(ab, j->bdir, j->commit);
	if (call && error) {
		sm_log_warn("%s: branch '%s': %s", sm_action_call_instance(call), j->branch, msg);
		sm_action_fail(call, error, msg);
	} else if (call) {
		if (j->wt)
			sm_log_info("%s: branch '%s' is commit %.12s in '%s'",
			    sm_action_call_instance(call), j->branch, j->commit, j->wt);
		sm_action_done(call, r);
	}
	json_decref(r);
	job_free(j);
}

static void
job_fail_err(struct act_branch *ab, struct job *j, const struct sm_error *err)
{
	job_finish(ab, j, "error.branch.git", err->msg[0] ? err->msg : "cannot run git");
}

/* Resolve the branch: rev-parse its full ref. */
static void
step_resolve(struct act_branch *ab, struct job *j)
{
	char ref[ACT_BRANCH_MAX + 64];
	struct sm_error err;

	sm_error_clear(&err);
	snprintf(ref, sizeof(ref), "refs/%s/%s^{commit}",
	    ab->has_origin ? "remotes/origin" : "heads", j->branch);
	j->step = S_RESOLVE;
	if (git_start(ab, &err, "rev-parse", "--verify", "--quiet", ref, (char *)NULL) != 0)
		job_fail_err(ab, j, &err);
}

/* Begin a job: no repository, a fetch to do, or straight to the ref. */
static void
step_begin(struct act_branch *ab, struct job *j)
{
	char name[SM_STATEDIR_NAME_MAX + 1];
	struct sm_error err;

	sm_error_clear(&err);
	if (j->prune_only) {
		j->step = S_PRUNE;
		if (ab->repo == NULL || git_start(ab, &err, "worktree", "prune", (char *)NULL) != 0)
			job_finish(ab, j, NULL, NULL);
		return;
	}
	if (ab->repo == NULL) {
		job_finish(ab, j, NULL, NULL); /* spiders_dir */
		return;
	}
	/* the branch's directory under the resolved root, as claims compare it
	 * (made once the branch is known: an unknown name leaves nothing) */
	sm_statedir_branch_name(j->branch, name);
	if (asprintf(&j->bdir, "%s/%s", ab->root, name) < 0) {
		j->bdir = NULL;
		job_finish(ab, j, "error.execution", "out of memory");
		return;
	}
	if (ab->gen_done > j->qgen) {
		step_resolve(ab, j); /* a fetch that started after we came is done */
		return;
	}
	j->mygen = ++ab->gen_started;
	j->step = S_REMOTE;
	if (git_start(ab, &err, "config", "--get", "remote.origin.url", (char *)NULL) != 0)
		job_fail_err(ab, j, &err);
}

/* The commit is known: use its worktree, or make it. */
static void
step_resolved(struct act_branch *ab, struct job *j)
{
	struct sm_error err;
	char *made = NULL;

	sm_error_clear(&err);
	if (sm_statedir_branch_dir(ab->sd, j->branch, 1, &made, &err) != 0) {
		job_finish(ab, j, "error.branch.git", err.msg);
		return;
	}
	free(made);
	if (asprintf(&j->wt, "%s/%s", j->bdir, j->commit) < 0) {
		j->wt = NULL;
		job_finish(ab, j, "error.execution", "out of memory");
		return;
	}
	current_set(ab, j->bdir, j->commit);
	if (wt_ready(ab, j->wt)) {
		job_finish(ab, j, NULL, NULL);
		return;
	}
	/* not there, or half made (git killed, a crash): start over */
	if (access(j->wt, F_OK) == 0)
		sm_log_warn("branches: '%s' has no %s file of this boot (left half made, or "
		            "made before a reboot): making it again",
		    j->wt, READY_SUFFIX);
	wt_remove(j->wt);
	j->step = S_PRUNE;
	if (git_start(ab, &err, "worktree", "prune", (char *)NULL) != 0)
		job_fail_err(ab, j, &err);
}

static void
on_git_exit(struct sm_loop *loop, pid_t pid, int status, void *arg)
{
	struct act_branch *ab = arg;
	struct job *j = ab->head;
	int ok = !ab->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	/* `config --get` exits 1 for a key that is not set: no remote, fine */
	int fine = ok ||
	    (j && j->step == S_REMOTE && !ab->timed_out && WIFEXITED(status) &&
	        WEXITSTATUS(status) == 1);
	char msg[SM_ERROR_MSG_MAX], line[128];
	struct sm_error err;

	(void)loop;
	/* members of its group killed with it (a timeout) come back to us */
	while (waitpid(-pid, NULL, WNOHANG) > 0)
		;
	sm_error_clear(&err);
	git_outcome(ab, status, msg, sizeof(msg));
	if (!fine)
		sm_log_warn("branches: %s", msg);
	log_output(ab->out_fd, "stdout", !fine);
	log_output(ab->err_fd, "stderr", !fine);
	if (j == NULL) {
		git_close(ab);
		return;
	}
	switch (j->step) {
	case S_REMOTE:
		ab->has_origin = ok;
		git_close(ab);
		if (!ab->has_origin) {
			ab->gen_done = j->mygen;
			step_resolve(ab, j);
			break;
		}
		j->step = S_FETCH;
		if (git_start(ab, &err, "fetch", "--prune", "--no-tags", "--quiet", "origin",
		        "+refs/heads/*:refs/remotes/origin/*", (char *)NULL) != 0)
			job_fail_err(ab, j, &err);
		break;
	case S_FETCH:
		ab->fetch_ok = ok;
		ab->gen_done = j->mygen;
		if (!ok)
			sm_log_warn(
			    "branches: cannot fetch origin: using the refs of the last fetch");
		git_close(ab);
		step_resolve(ab, j);
		break;
	case S_RESOLVE:
		first_line(ab->out_fd, line, sizeof(line));
		git_close(ab);
		if (ok && is_hex_commit(line, strlen(line))) {
			memcpy(j->commit, line, strlen(line) + 1); /* 40 or 64 bytes */
			step_resolved(ab, j);
		} else if (!ok && WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
		    !(ab->has_origin && !ab->fetch_ok)) {
			snprintf(msg, sizeof(msg), "unknown branch '%s'", j->branch);
			job_finish(ab, j, "error.branch.unknown", msg);
		} else if (!ok && WIFEXITED(status) && WEXITSTATUS(status) == 1) {
			snprintf(msg, sizeof(msg),
			    "branch '%s' is not known and origin could not be "
			    "fetched (see the log)",
			    j->branch);
			job_finish(ab, j, "error.branch.git", msg);
		} else {
			job_finish(ab, j, "error.branch.git", msg);
		}
		break;
	case S_PRUNE:
		git_close(ab);
		if (j->prune_only) {
			job_finish(ab, j, NULL, NULL);
			break;
		}
		j->step = S_ADD;
		if (git_start(ab, &err, "worktree", "add", "--quiet", "--detach", "--force",
		        "--force", j->wt, j->commit, (char *)NULL) != 0)
			job_fail_err(ab, j, &err);
		break;
	case S_ADD:
		git_close(ab);
		if (!ok) {
			job_finish(ab, j, "error.branch.git", msg);
		} else if (wt_mark_ready(ab, j->wt, j->commit, &err) != 0) {
			job_fail_err(ab, j, &err);
		} else {
			sm_log_info("branches: '%s' is ready", j->wt);
			job_finish(ab, j, NULL, NULL);
		}
		break;
	case S_BEGIN:
		git_close(ab);
		break;
	}
	pump(ab);
}

/* Run the head jobs until one waits for git (or none is left). */
static void
pump(struct act_branch *ab)
{
	struct job *j;

	if (ab->pumping) {
		ab->again = 1;
		return;
	}
	ab->pumping = 1;
	do {
		ab->again = 0;
		while (ab->pid == 0 && (j = ab->head) != NULL) {
			if (j->step != S_BEGIN) { /* cannot happen: a step in flight has a git */
				job_finish(ab, j, "error.branch.git", "the checkout lost its git");
				continue;
			}
			step_begin(ab, j);
		}
	} while (ab->again);
	ab->pumping = 0;
}

static int64_t
on_kick(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct act_branch *ab = arg;

	(void)loop;
	(void)id;
	ab->kick = 0;
	pump(ab);
	return -1;
}

/* Pump from the loop, not from inside an action's start or cancel. */
static void
kick_pump(struct act_branch *ab)
{
	if (ab->kick == 0)
		ab->kick = sm_loop_timer_add(ab->loop, 0, on_kick, ab);
}

/* ---- the action ------------------------------------------------------------ */

static int
checkout_start(struct sm_action_call *call)
{
	struct act_branch *ab = sm_action_call_arg(call);
	json_t *b = json_object_get(sm_action_call_params(call), "branch");
	char msg[400], ex[ACT__EXCERPT_MAX * 4 + 8];
	struct job *j;

	if (!json_is_string(b) || strlen(json_string_value(b)) != json_string_length(b) ||
	    !act_branch_valid(json_string_value(b))) {
		act__excerpt(json_is_string(b) ? json_string_value(b) : "",
		    json_is_string(b) ? json_string_length(b) : 0, ex, sizeof(ex));
		snprintf(
		    msg, sizeof(msg), "param 'branch' must be a safe git branch name, got %s", ex);
		sm_action_fail(call, "error.execution", msg);
		return 0;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->branch = strdup(json_string_value(b))) == NULL ||
	    (j->instance = strdup(sm_action_call_instance(call))) == NULL) {
		job_free(j);
		return SM_ENOMEM;
	}
	j->call = call;
	sm_action_call_set_data(call, j);
	job_push(ab, j);
	return 0;
}

static void
checkout_cancel(struct sm_action_call *call)
{
	struct act_branch *ab = sm_action_call_arg(call);
	struct job *j = sm_action_call_data(call);

	if (j == NULL)
		return;
	j->call = NULL;
	if (j->step == S_BEGIN) { /* not begun: forget it */
		job_unlink(ab, j);
		job_free(j);
	}
	/* else its git finishes; what it made is kept for the next checkout */
}

int
act_branch_register(struct act_branch *ab, struct sm_engine *e)
{
	struct sm_action_def def = { "branch_checkout", checkout_start, checkout_cancel, ab };

	return sm_engine_register_action(e, &def);
}

/* ---- claims and releases ---------------------------------------------------- */

int
act_branch_claim(struct act_branch *ab, const char *instance, const char *cwd)
{
	size_t rl = strlen(ab->root);
	const char *name, *slash;

	/* <root>/<name>/<commit>, <name> one component */
	if (strncmp(cwd, ab->root, rl) != 0 || cwd[rl] != '/')
		return SM_EAGAIN;
	name = cwd + rl + 1;
	if ((slash = strchr(name, '/')) == NULL || slash == name || name[0] == '.' ||
	    !is_hex_commit(slash + 1, strlen(slash + 1)) || !wt_ready(ab, cwd))
		return SM_EAGAIN;
	return use_add(ab, instance, cwd);
}

void
act_branch_release(struct act_branch *ab, const char *instance)
{
	struct use **pp = &ab->uses, *u;

	if (ab == NULL)
		return;
	while ((u = *pp) != NULL) {
		char *slash;

		if (strcmp(u->instance, instance) != 0) {
			pp = &u->next;
			continue;
		}
		*pp = u->next;
		if (!wt_in_use(ab, u->wt) && (slash = strrchr(u->wt, '/')) != NULL) {
			*slash = '\0'; /* u->wt is now the branch directory */
			gc_branch(ab, u->wt, NULL);
		}
		free(u->instance);
		free(u->wt);
		free(u);
	}
}

/* ---- the context -------------------------------------------------------------- */

static char **
git_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int drop = 0;

		for (size_t d = 0; git_env_drop[d]; d++)
			drop |= strncmp(environ[i], git_env_drop[d], strlen(git_env_drop[d])) == 0;
		if (!drop)
			env[k++] = environ[i];
	}
	env[k++] = (char *)"GIT_TERMINAL_PROMPT=0";
	env[k] = NULL;
	return env;
}

int
act_branch_configure(struct act_branch *ab, const struct act_branch_opts *o)
{
	char *repo = NULL, *git, cwd[PATH_MAX];

	/* relative to smd's working directory, as given */
	if (o->repo && o->repo[0] == '/' && (repo = strdup(o->repo)) == NULL)
		return SM_ENOMEM;
	if (o->repo && o->repo[0] && o->repo[0] != '/' &&
	    (getcwd(cwd, sizeof(cwd)) == NULL || asprintf(&repo, "%s/%s", cwd, o->repo) < 0))
		return SM_ENOMEM;
	if ((git = strdup(o->git && o->git[0] ? o->git : "git")) == NULL) {
		free(repo);
		return SM_ENOMEM;
	}
	free(ab->repo);
	free(ab->git);
	ab->repo = repo;
	ab->git = git;
	ab->timeout_ms = o->git_timeout_ms > 0 ? o->git_timeout_ms : ACT_BRANCH_GIT_TIMEOUT_MS;
	ab->gen_done = 0; /* another repository: look for its remote again */
	ab->gen_started = 0;
	for (struct job *j = ab->head; j; j = j->next)
		j->qgen = 0;
	return 0;
}

int
act_branch_create(struct act_branch **out, struct sm_loop *loop, struct sm_statedir *sd,
    const struct act_branch_opts *o, struct sm_error *err)
{
	struct act_branch *ab;
	char real[PATH_MAX];

	*out = NULL;
	if ((ab = calloc(1, sizeof(*ab))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	ab->loop = loop;
	ab->sd = sd;
	ab->out_fd = ab->err_fd = -1;
	act__boot_id(ab->boot);
	/* git -C <repo> resolves a relative worktree path against the repository */
	if (realpath(sm_statedir_branches_path(sd), real) == NULL) {
		int e = errno;

		free(ab);
		return sm_error_set(err, SM_EIO, "cannot resolve '%s': %s",
		    sm_statedir_branches_path(sd), strerror(e));
	}
	if ((ab->root = strdup(real)) == NULL || (ab->envp = git_env()) == NULL ||
	    act_branch_configure(ab, o) != 0) {
		act_branch_destroy(ab);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	*out = ab;
	return 0;
}

void
act_branch_destroy(struct act_branch *ab)
{
	struct job *j;
	struct use *u;
	struct current *c;

	if (ab == NULL)
		return;
	if (ab->pid > 0) {
		(void)kill(-ab->pid, SIGKILL);
		sm_loop_child_del(ab->loop, ab->pid);
		while (waitpid(ab->pid, NULL, 0) == -1 && errno == EINTR)
			;
		while (waitpid(-ab->pid, NULL, WNOHANG) > 0)
			;
	}
	git_close(ab);
	if (ab->kick)
		sm_loop_timer_del(ab->loop, ab->kick);
	while ((j = ab->head) != NULL) {
		ab->head = j->next;
		job_free(j);
	}
	while ((u = ab->uses) != NULL) {
		ab->uses = u->next;
		free(u->instance);
		free(u->wt);
		free(u);
	}
	while ((c = ab->currents) != NULL) {
		ab->currents = c->next;
		free(c->bdir);
		free(c);
	}
	free(ab->envp);
	free(ab->root);
	free(ab->repo);
	free(ab->git);
	free(ab);
}
