/*
 * test_smd_branches.c - smd end to end with spiders_repo (docs/spider.md
 * "Branches"): a git repository made here whose branches hold different
 * spider code (a `fake_code` file the test spider reads from its working
 * directory before each item and puts into the item), then:
 *  - tasks on two branches run in different worktrees; a task without
 *    branch_name runs default_branch; a branch with '/' gets an encoded
 *    directory;
 *  - an unknown branch fails the task ("unknown branch 'x'") with no
 *    spider started and nothing made under branches/; hostile branch names
 *    (../x, -x, a newline, 256 KiB) are refused by validation and run
 *    nothing, a;b (a valid name) is an unknown branch;
 *  - a new commit is picked up by the next task, while a task running on
 *    the old commit keeps its worktree unchanged until it ends (then the
 *    old one is removed);
 *  - a half-made worktree (no .ready file), a git that hangs (killed at
 *    spider_start_timeout) and a git killed in the middle of `worktree add`
 *    are recovered (the checkout is retried and made again);
 *  - smd killed while a spider runs and the branch's worktrees removed
 *    meanwhile: the task checks the branch out again and finishes;
 *  - a repository with a remote "origin" (a local path): origin's branches,
 *    fetched before each checkout; a branch only the clone has is unknown.
 * Local backend only: the branches do not depend on the transport.
 */
#include <dirent.h>

#include "smd_test_util.h"
#include "support/git_test_util.h"

/* Send task `id`: a search for `term` on walmart, on `branch` (NULL: no
 * branch_name), the test spider writing `items` items `delay_ms` apart. */
static void
send_task(
    struct st_env *e, int64_t id, const char *branch, const char *term, int items, int delay_ms)
{
	json_t *t = json_pack("{s:I,s:s,s:s,s:s,s:{s:i,s:i}}", "task_id", (json_int_t)id,
	    "server_name", ST_SERVER, "site", "walmart", "searchterms_str", term, "cmd_args",
	    "fake_items", items, "fake_delay_ms", delay_ms);
	char *body;

	if (branch)
		json_object_set_new(t, "branch_name", json_string(branch));
	body = json_dumps(t, JSON_COMPACT);
	if (body == NULL || st_send(e, ST_QUEUE, body) != 0)
		diag("cannot send task %lld", (long long)id);
	free(body);
	json_decref(t);
}

/* A `git` first in PATH that hangs once on rev-parse (`hang`) or dies by
 * SIGKILL once right after a `worktree add` did its work (`kill`); the
 * PATH that puts it first into path_env. */
static void
git_wrapper(struct st_env *e, const char *mode, char *path_env, size_t size)
{
	char bin[600], script[700];
	FILE *f;

	snprintf(bin, sizeof(bin), "%s/bin-%s", e->dir, mode);
	mkdir(bin, 0700);
	snprintf(script, sizeof(script), "%s/git", bin);
	if ((f = fopen(script, "w")) != NULL) {
		fprintf(f,
		    "#!/bin/sh\n"
		    "once='%s/once-%s'\n"
		    "case \"$*\" in\n"
		    "*'rev-parse'*) [ %s = hang ] && [ ! -e \"$once\" ] && : > \"$once\" && "
		    "exec sleep 300 ;;\n"
		    "*'worktree add'*) if [ %s = kill ] && [ ! -e \"$once\" ]; then : > \"$once\"; "
		    "'%s' \"$@\"; kill -9 $$; fi ;;\n"
		    "esac\n"
		    "exec '%s' \"$@\"\n",
		    e->dir, mode, mode, mode, gtu_git, gtu_git);
		fclose(f);
	}
	chmod(script, 0755);
	snprintf(path_env, size, "%s:%s", bin, getenv("PATH"));
}

/* Start smd with `opts` (--exit-when-idle unless `forever`), with the git
 * wrapper of `mode` first in its PATH (NULL: git as it is). */
static void
smd_start(struct st_env *e, const char *const *opts, const char *mode, int forever)
{
	char path_env[4096], *saved = strdup(getenv("PATH"));

	if (mode) {
		git_wrapper(e, mode, path_env, sizeof(path_env));
		setenv("PATH", path_env, 1);
	}
	st_smd_start(e, !forever, opts);
	setenv("PATH", saved, 1);
	free(saved);
}

/* Wait for smd to exit (checked: 0) and take the progress and output
 * messages. */
static void
smd_finish(struct st_env *e, json_t **prog, json_t **outs, const char *what)
{
	is_int(st_smd_wait(e, 120), 0, "%s: smd exited 0", what);
	*prog = st_drain(e, ST_PROGRESS);
	*outs = st_drain(e, ST_OUTPUT);
}

/* A state directory for case `name` with a new repository
 * <dir>/spiders.git in it (gtu_repo_init), and the option naming it. */
static int
open_env(struct st_env *e, const char *name, char *repo, size_t rsize, char *opt, size_t osize)
{
	if (st_open(e, name) != 0) {
		ok(0, "set up");
		return -1;
	}
	snprintf(repo, rsize, "%s/spiders.git", e->dir);
	snprintf(opt, osize, "spiders_repo=%s", repo);
	return gtu_repo_init(repo);
}

/* The "code" values of task `id`'s items, comma separated ("" if none;
 * "-" for an item without one), from its output message and the bucket. */
static void
codes_of(struct st_env *e, json_t *outs, int64_t id, char *out, size_t size)
{
	const char *key = NULL;
	char *zip, *jl, name[512];
	size_t zl, jlen, o = 0;

	out[0] = 0;
	for (size_t i = 0; i < json_array_size(outs); i++) {
		json_t *m = json_array_get(outs, i);

		if (json_integer_value(json_object_get(m, "_msg_id")) == id)
			key = json_string_value(json_object_get(m, "s3_key_data"));
	}
	if (!key || !(zip = st_get(e, key, &zl)))
		return;
	if ((jl = st_unzip(zip, zl, name, sizeof(name), &jlen)) != NULL) {
		for (char *p = jl; *p;) {
			char *nl = strchr(p, '\n');
			json_t *it = json_loadb(p, nl ? (size_t)(nl - p) : strlen(p), 0, NULL);
			const char *c = json_string_value(json_object_get(it, "code"));

			o += (size_t)snprintf(
			    out + o, o < size ? size - o : 0, "%s%s", o ? "," : "", c ? c : "-");
			json_decref(it);
			if (!nl)
				break;
			p = nl + 1;
		}
		free(jl);
	}
	free(zip);
}

/* 1 if every item of task `id` has code `code` (and there is one). */
static int
all_code(struct st_env *e, json_t *outs, int64_t id, const char *code)
{
	char got[2048], *tok, *save = NULL;
	int n = 0;

	codes_of(e, outs, id, got, sizeof(got));
	for (tok = strtok_r(got, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++)
		if (strcmp(tok, code) != 0) {
			diag("task %lld: an item has code '%s', want '%s'", (long long)id, tok,
			    code);
			return 0;
		}
	if (n == 0)
		diag("task %lld: no items", (long long)id);
	return n > 0;
}

/* The task failed with `reason` in its error before any spider: only
 * "failed" reported (no progress 0), no output. */
static void
expect_refused(json_t *prog, json_t *outs, int64_t id, const char *reason, const char *what)
{
	json_t *last, *seq = st_progress_of(prog, id, &last);

	is_int(json_array_size(seq), 1, "%s: one progress message (no 0)", what);
	json_decref(seq);
	st_expect_failed(prog, outs, id, 0, reason, what);
}

/* Worktrees (commit-named directories) in <dir>/branches/<name>, and how
 * many of them have their .ready file. */
static int
worktrees(struct st_env *e, const char *name, int *ready)
{
	char path[700], rp[1200];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int n = 0;

	*ready = 0;
	snprintf(path, sizeof(path), "%s/branches/%s", e->dir, name);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l != 40 || strspn(de->d_name, "0123456789abcdef") != 40)
			continue;
		n++;
		snprintf(rp, sizeof(rp), "%s/%s.ready", path, de->d_name);
		*ready += stat(rp, &sb) == 0 && S_ISREG(sb.st_mode);
	}
	closedir(d);
	return n;
}

/* Names under <dir>/branches, sorted, space separated. */
static void
branch_dirs(struct st_env *e, char *out, size_t size)
{
	char cmd[800];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ls '%s/branches' | sort | tr '\\n' ' '", e->dir);
	out[0] = 0;
	if ((p = popen(cmd, "r")) != NULL) {
		n = fread(out, 1, size - 1, p);
		out[n] = 0;
		pclose(p);
	}
}

static void
case_branches(void)
{
	struct st_env e;
	char repo[400], opt[500], dirs[600], path[800], commit[80], old[80];
	char *huge;
	const char *opts[] = { opt, NULL };
	json_t *prog, *outs;
	int ready, n, before;
	size_t hl = 256 * 1024 - 200;

	if (open_env(&e, "branches", repo, sizeof(repo), opt, sizeof(opt)) != 0 ||
	    gtu_repo_commit(repo, "A", "code-A") != 0 ||
	    gtu_repo_commit(repo, "B", "code-B") != 0 ||
	    gtu_repo_commit(repo, "sc_production", "code-prod") != 0 ||
	    gtu_repo_commit(repo, "feature/x", "code-fx") != 0) {
		ok(0, "a repository with branches A, B, sc_production and feature/x");
		st_close(&e);
		return;
	}
	send_task(&e, 8001, "A", "a", 3, 0);
	send_task(&e, 8002, "B", "b", 3, 0);
	send_task(&e, 8003, NULL, "p", 2, 0);
	send_task(&e, 8004, "nosuch", "n", 1, 0);
	send_task(&e, 8005, "feature/x", "f", 2, 0);
	send_task(&e, 8006, "a;b", "s", 1, 0);
	send_task(&e, 8007, "../x", "x", 1, 0);
	send_task(&e, 8008, "-x", "x", 1, 0);
	send_task(&e, 8009, "a\nb", "x", 1, 0);
	/* a branch name that fills the message up to 256 KiB */
	huge = malloc(hl + 300);
	n = snprintf(huge, 300,
	    "{\"task_id\": 8010, \"server_name\": \"" ST_SERVER "\", "
	    "\"site\": \"walmart\", \"searchterms_str\": \"x\", \"branch_name\": \"");
	memset(huge + n, 'a', hl - (size_t)n);
	snprintf(huge + hl, 300, "\"}");
	ok(strlen(huge) <= 256 * 1024, "the huge-branch message is %zu bytes", strlen(huge));
	is_int(st_send(&e, ST_QUEUE, huge), 0, "and it is sent");
	free(huge);

	smd_start(&e, opts, NULL, 0);
	smd_finish(&e, &prog, &outs, "ten tasks");
	ok(all_code(&e, outs, 8001, "code-A"), "branch A ran A's code");
	ok(all_code(&e, outs, 8002, "code-B"), "branch B ran B's code");
	ok(all_code(&e, outs, 8003, "code-prod"), "no branch_name: default_branch (sc_production)");
	ok(all_code(&e, outs, 8005, "code-fx"), "branch feature/x ran its code");
	expect_refused(prog, outs, 8004, "unknown branch 'nosuch'", "an unknown branch");
	expect_refused(prog, outs, 8006, "unknown branch 'a;b'", "branch a;b (no such branch)");
	expect_refused(prog, outs, 8007, "branch_name", "branch ../x");
	expect_refused(prog, outs, 8008, "branch_name", "branch -x");
	expect_refused(prog, outs, 8009, "branch_name", "a branch with a newline");
	expect_refused(prog, outs, 8010, "branch_name", "a branch of 256 KiB");
	is_int(st_spider_starts(&e), 4, "four spiders ran (A, B, sc_production, feature/x)");
	is_int(worktrees(&e, "A", &ready), 1, "branches/A has one worktree");
	is_int(ready, 1, "  with its .ready file");
	gtu_rev(repo, "A", commit, sizeof(commit));
	snprintf(path, sizeof(path), "%s/branches/A/%s/fake_code", e.dir, commit);
	ok(access(path, F_OK) == 0, "  named after A's commit");
	is_int(worktrees(&e, "feature%2Fx", &ready), 1, "feature/x is branches/feature%%2Fx");
	branch_dirs(&e, dirs, sizeof(dirs));
	is_str(dirs, "A B feature%2Fx sc_production ",
	    "branches/ has those four and nothing for unknown or refused names");
	ok(st_log_has(&e, "branch 'A' is commit "), "the log names the commit a task runs");
	ok(st_log_has(&e, "unknown branch 'nosuch'"), "the log says a branch is unknown");
	ok(st_log_has(&e, "branches: git -C "), "the log has the git commands");
	is_int(st_spiders_alive(&e), 0, "no spider left");
	is_int(st_queue_count(&e, ST_QUEUE), 0, "every message was deleted");
	json_decref(prog);
	json_decref(outs);

	/* a new commit while a task runs on the old one */
	gtu_repo_commit(repo, "A", "code-A2");
	gtu_rev(repo, "A", old, sizeof(old));
	send_task(&e, 8101, "A", "slow", 6, 700);
	before = st_spider_starts(&e);
	smd_start(&e, opts, NULL, 0);
	ok(st_wait_spider(&e, before, 60), "the slow task on A started");
	gtu_repo_commit(repo, "A", "code-A3");
	gtu_rev(repo, "A", commit, sizeof(commit));
	send_task(&e, 8102, "A", "next", 2, 0);
	ok(st_wait_spider(&e, before + 1, 60), "the next task on A started");
	snprintf(path, sizeof(path), "%s/branches/A/%s.ready", e.dir, old);
	ok(access(path, F_OK) == 0, "the running task's worktree is still there");
	smd_finish(&e, &prog, &outs, "a commit beside a running task");
	ok(all_code(&e, outs, 8101, "code-A2"),
	    "the running task read A2's code for every item (its worktree never changed)");
	ok(all_code(&e, outs, 8102, "code-A3"), "the next task ran the new commit A3");
	is_int(worktrees(&e, "A", &ready), 1, "once both ended, branches/A has one worktree");
	snprintf(path, sizeof(path), "%s/branches/A/%s.ready", e.dir, commit);
	ok(access(path, F_OK) == 0, "  A3's");
	ok(st_log_has(&e, "branches: removing"), "the log says the old one was removed");
	json_decref(prog);
	json_decref(outs);
	st_close(&e);
}

static void
case_recovery(void)
{
	struct st_env e;
	char repo[400], opt[500], commit[80], path[800];
	const char *opts[] = { opt, "spider_start_timeout=2s", NULL };
	json_t *prog, *outs;
	int ready, before;

	if (open_env(&e, "branchfix", repo, sizeof(repo), opt, sizeof(opt)) != 0 ||
	    gtu_repo_commit(repo, "B", "code-B") != 0) {
		ok(0, "a repository with branch B");
		st_close(&e);
		return;
	}
	/* a half-made worktree (no .ready) and a git that hangs */
	gtu_rev(repo, "B", commit, sizeof(commit));
	snprintf(path, sizeof(path), "%s/branches/B/%s", e.dir, commit);
	gtu_sh("mkdir -p '%s' && echo junk > '%s/junk' && echo code-junk > '%s/fake_code'", path,
	    path, path);
	send_task(&e, 8201, "B", "h", 2, 0);
	smd_start(&e, opts, "hang", 0);
	smd_finish(&e, &prog, &outs, "a hung git");
	ok(all_code(&e, outs, 8201, "code-B"), "a hung git and a half-made worktree: B's code ran");
	ok(st_log_has(&e, "timed out after 2000 ms"), "the log says git timed out");
	ok(st_log_has(&e, "left half made"), "the log says the worktree was half made");
	snprintf(path, sizeof(path), "%s/branches/B/%s/junk", e.dir, commit);
	ok(access(path, F_OK) != 0, "the half-made worktree was made again (its junk is gone)");
	is_int(worktrees(&e, "B", &ready), 1, "one worktree of B");
	is_int(ready, 1, "  ready");
	json_decref(prog);
	json_decref(outs);

	/* a new commit, and git killed right after `worktree add` made it */
	gtu_repo_commit(repo, "B", "code-B2");
	send_task(&e, 8202, "B", "k", 2, 0);
	smd_start(&e, opts, "kill", 0);
	smd_finish(&e, &prog, &outs, "a killed git");
	ok(all_code(&e, outs, 8202, "code-B2"), "git killed in worktree add: the new commit ran");
	ok(st_log_has(&e, "was killed by signal 9"), "the log says git was killed");
	is_int(worktrees(&e, "B", &ready), 1, "one worktree of B (the old commit's removed)");
	is_int(ready, 1, "  ready");
	json_decref(prog);
	json_decref(outs);

	/* smd killed while the spider runs; the worktrees removed meanwhile */
	before = st_spider_starts(&e);
	send_task(&e, 8203, "B", "crash", 4, 1000);
	smd_start(&e, opts, NULL, 1);
	ok(st_wait_spider(&e, before, 60), "the task's spider started");
	kill(e.pid, SIGKILL);
	waitpid(e.pid, NULL, 0);
	e.pid = 0;
	usleep(200000);
	gtu_sh("rm -rf '%s/branches/B'", e.dir);
	smd_start(&e, opts, NULL, 0);
	smd_finish(&e, &prog, &outs, "smd restarted after SIGKILL");
	ok(all_code(&e, outs, 8203, "code-B2"),
	    "the task checked its branch out again and ran B2's code");
	is_int(worktrees(&e, "B", &ready), 1, "B's worktree was made again");
	is_int(st_spiders_alive(&e), 0, "no spider left");
	json_decref(prog);
	json_decref(outs);
	st_close(&e);
}

static void
case_origin(void)
{
	struct st_env e;
	char up[400], clone[400], opt[500];
	const char *opts[] = { opt, NULL };
	json_t *prog, *outs;

	if (open_env(&e, "branchorigin", up, sizeof(up), opt, sizeof(opt)) != 0 ||
	    gtu_repo_commit(up, "A", "code-U1") != 0) {
		ok(0, "an upstream repository");
		st_close(&e);
		return;
	}
	snprintf(clone, sizeof(clone), "%s/clone", e.dir);
	snprintf(opt, sizeof(opt), "spiders_repo=%s", clone);
	if (gtu_sh("'%s' clone -q '%s' '%s' && '%s' -C '%s' branch localonly", gtu_git, up, clone,
	        gtu_git, clone) != 0) {
		ok(0, "its clone");
		st_close(&e);
		return;
	}
	send_task(&e, 8301, "A", "u1", 2, 0);
	smd_start(&e, opts, NULL, 0);
	smd_finish(&e, &prog, &outs, "a clone of origin");
	ok(all_code(&e, outs, 8301, "code-U1"), "origin's branch A ran");
	json_decref(prog);
	json_decref(outs);

	gtu_repo_commit(up, "A", "code-U2");
	send_task(&e, 8302, "A", "u2", 2, 0);
	send_task(&e, 8303, "localonly", "lo", 1, 0);
	smd_start(&e, opts, NULL, 0);
	smd_finish(&e, &prog, &outs, "a commit upstream");
	ok(all_code(&e, outs, 8302, "code-U2"), "a commit pushed upstream is fetched and runs");
	expect_refused(prog, outs, 8303, "unknown branch 'localonly'",
	    "a branch only the clone has (origin's branches count)");
	ok(st_log_has(&e, "fetch --prune --no-tags --quiet origin"), "the log has the fetch");
	json_decref(prog);
	json_decref(outs);
	st_close(&e);
}

int
main(void)
{
	if (gtu_setup() != 0) {
		printf("1..0 # SKIP git is not installed\n");
		return 77;
	}
	case_branches();
	case_recovery();
	case_origin();
	return done_testing();
}
