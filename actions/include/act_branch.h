/*
 * act_branch.h - the branch_checkout action: the directory a task's spider
 * runs in (SPEC section 3: "the branch's spider directory ... git
 * worktrees of a configured spiders repository").  docs/spider.md
 * "Branches" is the operator's view.
 *
 * Without a repository (spiders_repo unset) every branch runs in
 * spiders_dir and no git runs.  With one, a branch B is the commit its ref
 * names now:
 *   - the repository has a remote "origin": refs/remotes/origin/B, after
 *     `git fetch --prune --no-tags origin` of every branch of origin into
 *     refs/remotes/origin/ (one fetch serves every checkout queued before
 *     it started; a failed fetch is logged and the refs of the last good
 *     one are used);
 *   - no remote "origin": the repository's own branch, refs/heads/B.
 * and the spider runs in a worktree of that commit, one per commit:
 *
 *   <state>/branches/<name>/<commit>         `git worktree add --detach`
 *   <state>/branches/<name>/<commit>.ready   "<commit> <boot id>\n", written
 *                                            (renamed into place) once the
 *                                            worktree is whole
 *
 * <name> is the branch name encoded into one path component
 * (sm_statedir_branch_name: "feature/x" -> "feature%2Fx").  A worktree is
 * never changed once ready: a new commit of the branch gets a new
 * worktree, and tasks still running on the old commit keep theirs (tasks
 * of the same commit share one).  A worktree without its .ready file (git
 * killed, a crash in the middle of `worktree add`), or whose .ready file
 * is of another boot (nothing is synced: after a crash of the machine the
 * files may be incomplete), is removed and made again.  Worktrees of a branch that are not its current commit are
 * removed once no task uses them (a task uses the worktree it checked out,
 * or its spider_start claimed, until it ends: act_branch_release).
 *
 * git is run with argv (act__spawn: never a shell), one command at a time,
 * `git -C <repo> ...` with GIT_TERMINAL_PROMPT=0 (and the daemon's GIT_DIR,
 * GIT_WORK_TREE, GIT_INDEX_FILE, ... dropped), each within
 * opts.git_timeout_ms (then its process group is killed); what it prints
 * goes to the daemon's log.  Branch names are checked with
 * act_branch_valid before git sees them, and git only ever gets the full
 * ref name (refs/heads/B), never B alone.
 *
 * ---- action "branch_checkout" ----
 * params {"branch": "sc_production"}
 * done   {"cwd": "<state>/branches/sc_production/<commit>", "branch": B,
 *         "commit": "<hex>"}, or without a repository {"cwd": null,
 *         "branch": B, "commit": null} (the spider runs in spiders_dir)
 * errors "error.branch.unknown" ("unknown branch 'B'": no such ref; not
 *        worth a retry), "error.branch.git" (git failed, timed out or was
 *        killed: a retry makes the worktree again), "error.execution" (bad
 *        params).
 * Cancel: the call is dropped; git, if it runs, finishes (or is killed at
 * its timeout) and what it made stays for the next checkout.
 */
#ifndef ACT_BRANCH_H
#define ACT_BRANCH_H

#include <stdint.h>

#include "sm_err.h"

struct act_branch;
struct sm_engine;
struct sm_loop;
struct sm_statedir;

#define ACT_BRANCH_GIT_TIMEOUT_MS 120000

struct act_branch_opts {
	const char *repo;       /* NULL or "": no repository (relative: to the
				 * working directory of act_branch_configure) */
	const char *git;        /* the git program: "git" (PATH) */
	int64_t git_timeout_ms; /* ACT_BRANCH_GIT_TIMEOUT_MS */
};

/* A context on `loop` with its worktrees under `sd`'s branches/ (both
 * borrowed; they must outlive it).  SM_ENOMEM, SM_EIO. */
int act_branch_create(struct act_branch **out, struct sm_loop *loop, struct sm_statedir *sd,
    const struct act_branch_opts *o, struct sm_error *err);
/* A new repository and timeout (SIGHUP): for the next checkout. */
int act_branch_configure(struct act_branch *ab, const struct act_branch_opts *o);
/* Register "branch_checkout" with `e`.  SM_EEXISTS, SM_ENOMEM. */
int act_branch_register(struct act_branch *ab, struct sm_engine *e);

/*
 * Before a spider of task instance `instance` starts in `cwd` (what
 * branch_checkout returned): 0 when it is a whole worktree of this
 * context's, now used by `instance` (so it is not removed under the
 * spider); SM_EAGAIN when it is not (gone, half made, not one of ours):
 * check the branch out again.  SM_ENOMEM.
 */
int act_branch_claim(struct act_branch *ab, const char *instance, const char *cwd);
/* Task instance `instance` ended: it uses no worktree any more (those no
 * task uses that are not their branch's current commit are removed). */
void act_branch_release(struct act_branch *ab, const char *instance);
/* Worktrees in use by some task (for tests and logs). */
size_t act_branch_uses(const struct act_branch *ab);

/* Kill a git still running (its group), drop every call.  NULL allowed. */
void act_branch_destroy(struct act_branch *ab);

#endif
