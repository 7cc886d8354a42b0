/*
 * test_branch.c - the branch_checkout action (act_branch.h) on an engine,
 * against a git repository made here, with a `git` first in PATH that
 * logs every call (its argv, one argument a line, and what it sees of
 * GIT_TERMINAL_PROMPT and GIT_DIR) before running the real git:
 *  - without a repository: cwd null, no git;
 *  - hostile branch params (../x, -x, a newline, a space, 256 KiB, not a
 *    string, missing) fail with error.execution and run no git;
 *  - a branch: its worktree under branches/, named by its commit, with its
 *    .ready file; git got the full ref as one argument, no prompt, and not
 *    the daemon's GIT_DIR; "a;b" is one argument too (an unknown branch);
 *  - claims: a whole worktree is claimed; a foreign path, a path with ..,
 *    a worktree without .ready are SM_EAGAIN;
 *  - two checkouts of one commit at once share one worktree (one add);
 *  - a new commit: a new worktree; the old one stays while claimed and is
 *    removed when its task is released;
 *  - not a repository: error.branch.git naming git's complaint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "act_branch.h"
#include "sm_engine.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "sm_statedir.h"
#include "tap.h"

#include "engine/engine_test_util.h"
#include "support/git_test_util.h"

static const char *machine_xml =
    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
    " version='1.0' datamodel='task' initial='co'>"
    " <datamodel><data id='result' expr='null'/><data id='error' expr='null'/></datamodel>"
    " <state id='co'>"
    "  <invoke id='c' type='urn:smd:scxml:1' src='branch_checkout'>"
    "   <param name='branch' expr='task.branch'/>"
    "  </invoke>"
    "  <transition event='done.invoke.c' target='ok'>"
    "   <assign location='result' expr='_event.data'/></transition>"
    "  <transition event='error.invoke.c' target='failed'>"
    "   <assign location='error' expr='_event.data'/></transition>"
    " </state>"
    " <final id='ok'/><final id='failed'/>"
    "</scxml>";

static struct sm_machine *machine;
static char *tmp;
static char gitlog[600], repo[600];
static int ninst;

struct env {
	struct sm_loop *loop;
	struct sm_engine *e;
	struct sm_statedir *sd;
	struct act_branch *ab;
	int done;
};

static void
on_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd, void *arg)
{
	struct env *v = arg;

	(void)e;
	(void)id;
	(void)final_id;
	(void)dd;
	v->done++;
}

static void
env_open(struct env *v, const char *repo_path)
{
	struct act_branch_opts o = { repo_path, "git", 20000 };
	struct sm_error err;
	char dir[600];

	memset(v, 0, sizeof(*v));
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	if (sm_loop_create(&v->loop) != 0 || sm_engine_create(&v->e, v->loop, NULL, &err) != 0)
		bail_out("loop, engine");
	if (sm_statedir_open(&v->sd, dir, SM_STATEDIR_WRITE, &err) != 0)
		bail_out("statedir: %s", err.msg);
	if (act_branch_create(&v->ab, v->loop, v->sd, &o, &err) != 0)
		bail_out("act_branch_create: %s", err.msg);
	if (act_branch_register(v->ab, v->e) != 0)
		bail_out("register");
	sm_engine_on_done(v->e, on_done, v);
	sm_engine_add_machine(v->e, machine);
}

static void
env_close(struct env *v)
{
	sm_engine_destroy(v->e);
	act_branch_destroy(v->ab);
	sm_statedir_close(v->sd);
	sm_loop_destroy(v->loop);
}

/* Start an instance checking out `branch` (a JSON value; stolen). */
static void
start(struct env *v, const char *id, json_t *branch)
{
	json_t *task = json_object();
	struct sm_error err;

	if (branch)
		json_object_set_new(task, "branch", branch);
	if (sm_engine_start(v->e, machine, id, task, &err) != 0)
		bail_out("start %s: %s", id, err.msg);
	json_decref(task);
}

static void
run_until(struct env *v, int done, uint64_t ms)
{
	uint64_t end = sm_time_mono_ms() + ms;
	struct sm_error err;

	while (v->done < done && sm_time_mono_ms() < end) {
		sm_engine_flush(v->e, &err);
		sm_loop_run_once(v->loop, 10);
		sm_engine_flush(v->e, &err);
	}
}

/* Check out `branch` alone: the result (or NULL; *error gets the error
 * object then).  New references. */
static json_t *
checkout(struct env *v, json_t *branch, json_t **error, char *id, size_t idsize)
{
	json_t *r;

	snprintf(id, idsize, "t%d", ++ninst);
	start(v, id, branch);
	run_until(v, v->done + 1, 30000);
	r = etu_dm(v->e, id, "result");
	*error = etu_dm(v->e, id, "error");
	if (json_is_null(r)) {
		json_decref(r);
		r = NULL;
	}
	return r;
}

static long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : 0;
}

static int
log_count(const char *line)
{
	char buf[70000];
	FILE *f = fopen(gitlog, "r");
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		n += strcmp(buf, line) == 0;
	}
	fclose(f);
	return n;
}

/* 1 if git got the line `line` in some call (git.log). */
static int
log_has(const char *line)
{
	return log_count(line) > 0;
}

static void
test_no_repo(void)
{
	struct env v;
	json_t *r, *err;
	char id[16];
	long before = file_size(gitlog);

	env_open(&v, NULL);
	r = checkout(&v, json_string("A"), &err, id, sizeof(id));
	ok(r && json_is_null(json_object_get(r, "cwd")), "no repository: cwd null (spiders_dir)");
	is_str(json_string_value(json_object_get(r, "branch")), "A", "  the branch echoed");
	is_int(file_size(gitlog), before, "  no git ran");
	json_decref(r);
	json_decref(err);
	env_close(&v);
}

static void
test_hostile(struct env *v)
{
	char *big = malloc(256 * 1024 + 1);
	json_t *bad[10], *r, *err;
	const char *what[10] = { "../x", "-x", "a newline", "a space", "256 KiB", "a number",
		"missing", "empty", "a..b", "x.lock" };
	long before = file_size(gitlog);
	char id[16];
	int refused = 0;

	memset(big, 'a', 256 * 1024);
	big[256 * 1024] = 0;
	bad[0] = json_string("../x");
	bad[1] = json_string("-x");
	bad[2] = json_string("a\nb");
	bad[3] = json_string("a b");
	bad[4] = json_string(big);
	bad[5] = json_integer(5);
	bad[6] = NULL;
	bad[7] = json_string("");
	bad[8] = json_string("a..b");
	bad[9] = json_string("x.lock");
	free(big);
	for (int i = 0; i < 10; i++) {
		r = checkout(v, bad[i], &err, id, sizeof(id));
		if (r == NULL &&
		    strcmp(json_string_value(json_object_get(err, "error")), "error.execution") ==
		        0)
			refused++;
		else
			diag("%s: not refused", what[i]);
		json_decref(r);
		json_decref(err);
	}
	is_int(refused, 10, "hostile branch params fail with error.execution");
	is_int(file_size(gitlog), before, "  and run no git");
}

static void
test_checkout(void)
{
	struct env v;
	json_t *r, *r2, *err;
	char id[16], id2[16], firstid[16], commit[80], old[80], path[1400], first[1200];
	const char *cwd;

	env_open(&v, repo);
	test_hostile(&v);

	setenv("GIT_DIR", "/nonexistent", 1); /* the daemon's: must not reach git */
	r = checkout(&v, json_string("A"), &err, id, sizeof(id));
	unsetenv("GIT_DIR");
	gtu_rev(repo, "A", commit, sizeof(commit));
	cwd = json_string_value(json_object_get(r, "cwd"));
	is_str(json_string_value(json_object_get(r, "commit")), commit, "branch A: its commit");
	snprintf(path, sizeof(path), "/branches/A/%s", commit);
	ok(cwd && strlen(cwd) > strlen(path) && strcmp(cwd + strlen(cwd) - strlen(path), path) == 0,
	    "  its worktree is branches/A/<commit> (%s)", cwd ? cwd : "null");
	snprintf(path, sizeof(path), "%s/fake_code", cwd ? cwd : "");
	ok(access(path, F_OK) == 0, "  checked out");
	snprintf(path, sizeof(path), "%s.ready", cwd ? cwd : "");
	ok(access(path, F_OK) == 0, "  with its .ready file");
	ok(log_has("arg: refs/heads/A^{commit}"), "git got the full ref as one argument");
	ok(log_has("GIT_TERMINAL_PROMPT=0"), "git runs with GIT_TERMINAL_PROMPT=0");
	ok(!log_has("GIT_DIR=/nonexistent"), "git does not get the daemon's GIT_DIR");
	is_int(act_branch_uses(v.ab), 1, "the task uses its worktree");
	snprintf(first, sizeof(first), "%s", cwd ? cwd : "");
	snprintf(firstid, sizeof(firstid), "%s", id);
	json_decref(r);
	json_decref(err);

	/* claims */
	is_int(act_branch_claim(v.ab, "spider-1", first), 0, "a whole worktree is claimed");
	is_int(act_branch_claim(v.ab, "spider-1", "/tmp"), SM_EAGAIN, "a foreign path is not");
	snprintf(path, sizeof(path), "%s/../A/%s", first, commit);
	is_int(act_branch_claim(v.ab, "spider-1", path), SM_EAGAIN, "nor one with ..");
	snprintf(path, sizeof(path), "%s/x", first);
	is_int(act_branch_claim(v.ab, "spider-1", path), SM_EAGAIN, "nor a path inside one");

	/* a;b is one argument of git: an unknown branch, nothing made */
	r = checkout(&v, json_string("a;b"), &err, id, sizeof(id));
	ok(r == NULL, "branch a;b: no result");
	is_str(json_string_value(json_object_get(err, "error")), "error.branch.unknown",
	    "  error.branch.unknown");
	is_str(json_string_value(json_object_get(err, "message")), "unknown branch 'a;b'",
	    "  \"unknown branch 'a;b'\"");
	ok(log_has("arg: refs/heads/a;b^{commit}"), "  git got it as one argument");
	snprintf(path, sizeof(path), "%s/state/branches/a%%3Bb", tmp);
	ok(access(path, F_OK) != 0, "  no directory made for it");
	json_decref(r);
	json_decref(err);

	/* two at once, one commit: one worktree add */
	gtu_repo_commit(repo, "A", "code-A2");
	snprintf(old, sizeof(old), "%s", commit);
	gtu_rev(repo, "A", commit, sizeof(commit));
	snprintf(id, sizeof(id), "t%d", ++ninst);
	snprintf(id2, sizeof(id2), "t%d", ++ninst);
	start(&v, id, json_string("A"));
	start(&v, id2, json_string("A"));
	run_until(&v, v.done + 2, 30000);
	r = etu_dm(v.e, id, "result");
	r2 = etu_dm(v.e, id2, "result");
	is_str(json_string_value(json_object_get(r, "commit")), commit, "a new commit is found");
	ok(json_string_value(json_object_get(r, "cwd")) &&
	        json_equal(json_object_get(r, "cwd"), json_object_get(r2, "cwd")),
	    "two checkouts of it at once share one worktree");
	is_int(log_count("arg: add"), 2, "  made by one worktree add (two in all)");
	ok(access(first, F_OK) == 0, "the old worktree stays while its tasks run");
	act_branch_release(v.ab, firstid);
	ok(access(first, F_OK) == 0, "  its checkout's task ended: still claimed by another");
	act_branch_release(v.ab, "spider-1");
	snprintf(path, sizeof(path), "%s.ready", first);
	ok(access(first, F_OK) != 0 && access(path, F_OK) != 0,
	    "released by every task: removed (%.12s)", old);
	ok(access(json_string_value(json_object_get(r, "cwd")), F_OK) == 0,
	    "the current commit's worktree stays");
	act_branch_release(v.ab, id);
	act_branch_release(v.ab, id2);
	is_int(act_branch_uses(v.ab), 0, "no uses left");
	ok(access(json_string_value(json_object_get(r, "cwd")), F_OK) == 0,
	    "  the current one stays when unused");
	snprintf(path, sizeof(path), "%s.ready", json_string_value(json_object_get(r, "cwd")));
	unlink(path);
	is_int(act_branch_claim(v.ab, "x", json_string_value(json_object_get(r, "cwd"))), SM_EAGAIN,
	    "a worktree without its .ready file is not claimed");
	{
		FILE *f = fopen(path, "w");

		if (f) {
			fprintf(f, "%s 00000000-0000-0000-0000-000000000000\n", commit);
			fclose(f);
		}
	}
	is_int(act_branch_claim(v.ab, "x", json_string_value(json_object_get(r, "cwd"))), SM_EAGAIN,
	    "nor one whose .ready file is of another boot");
	json_decref(r2);
	r2 = checkout(&v, json_string("A"), &err, id, sizeof(id));
	is_int(log_count("arg: add"), 3, "a checkout makes it again");
	ok(json_equal(json_object_get(r, "cwd"), json_object_get(r2, "cwd")) &&
	        act_branch_claim(v.ab, "x", json_string_value(json_object_get(r2, "cwd"))) == 0,
	    "  in the same place, whole");
	json_decref(err);
	json_decref(r);
	json_decref(r2);
	env_close(&v);
}

static void
test_not_a_repo(void)
{
	struct env v;
	json_t *r, *err;
	char id[16], missing[700], cwd[4096];
	const char *msg;

	env_open(&v, tmp); /* a directory, not a repository */
	r = checkout(&v, json_string("A"), &err, id, sizeof(id));
	ok(r == NULL, "not a repository: no result");
	is_str(json_string_value(json_object_get(err, "error")), "error.branch.git",
	    "  error.branch.git");
	ok(strstr(json_string_value(json_object_get(err, "message")) ?
	           json_string_value(json_object_get(err, "message")) :
	           "",
	       "not a git repository") != NULL,
	    "  git's complaint in the message: %s",
	    json_string_value(json_object_get(err, "message")));
	json_decref(r);
	json_decref(err);
	env_close(&v);

	/* a repository that is not there: said before git runs */
	snprintf(missing, sizeof(missing), "%s/missing", tmp);
	env_open(&v, missing);
	r = checkout(&v, json_string("A"), &err, id, sizeof(id));
	msg = json_string_value(json_object_get(err, "message"));
	ok(r == NULL && msg && strstr(msg, "cannot enter the spiders repository (spiders_repo)"),
	    "a missing repository: %s", msg ? msg : "(no message)");
	json_decref(r);
	json_decref(err);
	env_close(&v);

	/* a relative path: from the working directory */
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmp) != 0)
		bail_out("chdir");
	env_open(&v, "repo");
	if (chdir(cwd) != 0)
		bail_out("chdir back");
	r = checkout(&v, json_string("A"), &err, id, sizeof(id));
	ok(r && json_is_string(json_object_get(r, "commit")),
	    "a relative repository path is taken from the working directory");
	json_decref(r);
	json_decref(err);
	env_close(&v);
}

int
main(void)
{
	char bin[600], script[700], path[4096];
	FILE *f;

	if (gtu_setup() != 0) {
		printf("1..0 # SKIP git is not installed\n");
		return 77;
	}
	tmp = etu_tmpdir("test_branch");
	machine = etu_load(machine_xml, "checkout.scxml");
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	snprintf(gitlog, sizeof(gitlog), "%s/git.log", tmp);
	if (gtu_repo_init(repo) != 0 || gtu_repo_commit(repo, "A", "code-A") != 0)
		bail_out("cannot make the repository");
	/* the logging git, first in PATH */
	snprintf(bin, sizeof(bin), "%s/bin", tmp);
	mkdir(bin, 0700);
	snprintf(script, sizeof(script), "%s/git", bin);
	if ((f = fopen(script, "w")) == NULL)
		bail_out("cannot write %s", script);
	fprintf(f,
	    "#!/bin/sh\n"
	    "{ echo call; for a in \"$@\"; do echo \"arg: $a\"; done\n"
	    "  echo \"GIT_TERMINAL_PROMPT=${GIT_TERMINAL_PROMPT-unset}\"\n"
	    "  [ -n \"${GIT_DIR+x}\" ] && echo \"GIT_DIR=$GIT_DIR\"; } >> '%s'\n"
	    "exec '%s' \"$@\"\n",
	    gitlog, gtu_git);
	fclose(f);
	chmod(script, 0755);
	snprintf(path, sizeof(path), "%s:%s", bin, getenv("PATH"));
	setenv("PATH", path, 1);

	test_no_repo();
	test_checkout();
	test_not_a_repo();
	etu_rmtree(tmp);
	free(tmp);
	sm_machine_free(machine);
	return done_testing();
}
