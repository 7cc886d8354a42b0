/*
 * smd_spider.c - spider_start, spider_wait and pack for the task machine
 * (SPEC sections 3 and 4), with the table of spider processes.
 *
 *   branch_checkout  (act_branch) params {"branch"}: with spiders_repo,
 *                 the branch's worktree under <state>/branches/; without,
 *                 {"cwd": null}.
 *   spider_start  params {"instance", "job", "variant": "main" |
 *                 "best_sellers", "message", "cwd"}: prepares
 *                 <state>/work/<instance>/, runs
 *                 `<spider_program> crawl <site>_products -a <mode>=<term>
 *                 [-a key=value]... -s LOG_FILE=<work>/<v>.log -o
 *                 <work>/<v>.jl` in its own session with the checkout's
 *                 worktree as cwd (claimed: act_branch_claim; one that is
 *                 gone is error.spider.lost, and the task checks the branch
 *                 out again), or spiders_dir when cwd is null or absent
 *                 (no shell), records "pid pgid starttime" in
 *                 <work>/spider.pid, and finishes {"pid", "pgid",
 *                 "start_time"} once the spider wrote its log
 *                 (spider_start_timeout: error.spider.timeout; an exit
 *                 before: error.spider.exit).
 *   spider_wait   params {"instance", "job", "spider", "variant"}: posts
 *                 spider.items {"items": N} every progress_interval while
 *                 the count of complete JSON lines changed; finishes
 *                 {"items": N, "exit": 0}; error.spider.exit /
 *                 error.spider.signal / error.spider.timeout (task_timeout:
 *                 SIGTERM to the group, SIGKILL 10 s later); error.spider.lost
 *                 when the pid is not a child of this daemon (it restarted).
 *                 Cancel kills the process group.
 *   pack          params {"instance", "job", "items", "logs_only"}: keeps
 *                 the lines that are JSON objects (merging best_seller_ranking
 *                 from the best-seller crawl), writes the CSV, zips each file
 *                 on its own, and finishes {"files": [{"path", "key"}...],
 *                 "items": N} with .progress.zip last.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "act_argv.h"
#include "act_branch.h"
#include "act_ctx.h"
#include "act_names.h"
#include "act_pack.h"
#include "act_spider.h"
#include "act_task.h"
#include "rt_config.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_statedir.h"
#include "smd.h"
#include "smd_private.h"

struct smd__spiders {
	struct act_spider *as;
	struct act_branch *ab;
	const struct rt_config *cfg;
	struct sm_statedir *sd;
};

/*
 * spider_start's params from the task machine's {instance, variant,
 * message}: the argv of act_argv for the stored message (parsed again: the
 * argv is a function of it), the work directory <state>/work/<instance>,
 * <work>/main.{log,jl} or bsr.{log,jl}, the checkout's worktree (or
 * spiders_dir) as cwd, and the deadline task_timeout from now.
 */
static int
spider_params(struct sm_action_call *call, json_t **params, struct sm_error *err,
    void *arg)
{
	struct smd__spiders *sp = arg;
	json_t *p = sm_action_call_params(call);
	const char *inst = json_string_value(json_object_get(p, "instance"));
	const char *variant = json_string_value(json_object_get(p, "variant"));
	json_t *message = json_object_get(p, "message");
	json_t *jcwd = json_object_get(p, "cwd");
	const char *cwd = sp->cfg->spiders_dir;
	int bsr = variant && strcmp(variant, "best_sellers") == 0;
	struct act_argv_opts ao;
	struct act_task t;
	char **argv = NULL;
	char *work = NULL, *base = NULL;
	json_t *jargv = NULL;
	int rc;

	memset(&t, 0, sizeof(t));
	if (!inst || !json_is_string(message))
		return sm_error_set(err, SM_EINVAL, "spider_start needs instance and message");
	if (json_is_string(jcwd)) {
		/* the branch's worktree, kept while this task uses it */
		cwd = json_string_value(jcwd);
		if ((rc = act_branch_claim(sp->ab, inst, cwd)) == SM_EAGAIN)
			return sm_error_set(err, SM_EAGAIN,
			    "the checkout '%s' is gone: checking the branch out again", cwd);
		if (rc != 0)
			return sm_error_set(err, rc, "out of memory");
	}
	if ((rc = sm_statedir_work_dir(sp->sd, inst, 1, &work, err)) != 0)
		return rc;
	if (asprintf(&base, "%s/%s", work, bsr ? SMD_SPIDER_BSR : SMD_SPIDER_MAIN) < 0) {
		base = NULL;
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = act_task_parse(json_string_value(message), json_string_length(message), &t,
	    err)) != 0)
		goto out;
	ao.program = sp->cfg->spider_program;
	ao.out_base = base;
	ao.crawl = bsr ? ACT_CRAWL_BEST_SELLERS : ACT_CRAWL_MAIN;
	if ((rc = act_argv_build(&t, &ao, &argv, err)) != 0)
		goto out;
	jargv = json_array();
	for (size_t i = 0; jargv && argv[i]; i++)
		json_array_append_new(jargv, json_string(argv[i]));
	*params = json_pack("{s:O,s:s,s:s,s:s+,s:s+,s:I,s:I,s:s}", "argv", jargv, "cwd", cwd,
	    "work_dir", work, "log_path", base, SMD_SPIDER_LOG, "output_path", base, SMD_SPIDER_JL,
	    "start_timeout_ms", (json_int_t)sp->cfg->spider_start_timeout_ms, "deadline_ms",
	    (json_int_t)(sm_time_wall_ms() + sp->cfg->task_timeout_ms), "kind",
	    bsr ? "bsr" : "spider");
	if (!*params)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
out:
	json_decref(jargv);
	act_argv_free(argv);
	act_task_clear(&t);
	free(base);
	free(work);
	return rc;
}

int
smd__sweep_orphans(struct sm_statedir *sd, struct sm_error *err)
{
	unsigned killed = 0;
	int rc = act_spider_sweep(sm_statedir_work_path(sd), &killed, err);

	if (killed)
		sm_log_warn("killed %u spider group(s) left from before the restart", killed);
	return rc;
}

/* ---- pack ------------------------------------------------------------------ */

/* Zip `src` as <base><ext> into <work>/<base of key> and list it. */
static int
pack_file(json_t *files, const char *work, const char *src, const char *key,
    const char *ext, struct sm_error *err)
{
	char zpath[PATH_MAX], entry[PATH_MAX];
	const char *b = act_name_base(key);
	size_t bl = strlen(b), el = strlen(ext);

	/* the key is <base><ext>.zip: the entry is the key's file name without .zip */
	if (bl < el + 4)
		return sm_error_set(err, SM_EINVAL, "key '%s' does not end in %s.zip", key, ext);
	snprintf(zpath, sizeof(zpath), "%s/%s", work, b);
	snprintf(entry, sizeof(entry), "%.*s", (int)(bl - 4), b);
	if (act_zip_file(src, entry, zpath, err) != 0)
		return err->code;
	return json_array_append_new(files, json_pack("{s:s,s:s}", "path", zpath, "key", key));
}

static int
pack_start(struct sm_action_call *call)
{
	struct smd__spiders *sp = sm_action_call_arg(call);
	json_t *p = sm_action_call_params(call);
	json_t *job = json_object_get(p, "job");
	json_t *keys = json_object_get(job, "keys");
	json_t *msg = json_object_get(job, "msg");
	const char *inst = json_string_value(json_object_get(p, "instance"));
	int logs_only = json_is_true(json_object_get(p, "logs_only"));
	char *work = NULL;
	char jl_in[PATH_MAX], bsr_in[PATH_MAX], jl[PATH_MAX], csv[PATH_MAX], log[PATH_MAX],
	    prog[PATH_MAX];
	json_t *files = json_array(), *res;
	struct act_pack_opts po;
	struct act_pack_stats st;
	struct sm_error err;
	FILE *f;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	sm_error_clear(&err);
	if (!inst || !json_is_object(keys) ||
	    sm_statedir_work_dir(sp->sd, inst, 1, &work, &err) != 0) {
		json_decref(files);
		return sm_action_fail(call, "error.execution", "pack: no work directory or keys");
	}
	snprintf(log, sizeof(log), "%s/" SMD_SPIDER_MAIN SMD_SPIDER_LOG, work);
	if (access(log, R_OK) != 0 && (f = fopen(log, "w")) != NULL)
		fclose(f);
	if (logs_only) {
		rc = pack_file(files, work, log,
		    json_string_value(json_object_get(keys, "s3_key_logs")), ".log", &err);
		goto done;
	}
	snprintf(jl_in, sizeof(jl_in), "%s/" SMD_SPIDER_MAIN SMD_SPIDER_JL, work);
	snprintf(bsr_in, sizeof(bsr_in), "%s/" SMD_SPIDER_BSR SMD_SPIDER_JL, work);
	snprintf(jl, sizeof(jl), "%s/items.jl", work);
	snprintf(csv, sizeof(csv), "%s/items.csv", work);
	snprintf(prog, sizeof(prog), "%s/progress.json", work);
	if (access(jl_in, F_OK) != 0 && (f = fopen(jl_in, "w")) != NULL)
		fclose(f); /* a spider that wrote nothing: no items */
	memset(&po, 0, sizeof(po));
	po.jl_in = jl_in;
	po.bsr_in = json_is_true(json_object_get(msg, "with_best_seller_ranking")) ? bsr_in : NULL;
	po.jl_out = jl;
	po.csv_out = csv;
	if ((rc = act_pack(&po, &st, &err)) != 0)
		goto done;
	if (st.dropped + st.bsr_dropped > 0 && (f = fopen(log, "a")) != NULL) {
		/* SPEC 3: lines that are not JSON objects are counted in the log */
		fprintf(f, "smd: %llu line(s) of the output were not JSON objects and were "
		    "dropped (first: %s)\n", (unsigned long long)(st.dropped + st.bsr_dropped),
		    st.first_drop);
		fclose(f);
	}
	if ((f = fopen(prog, "w")) != NULL) {
		fprintf(f, "{\"_msg_id\": %" JSON_INTEGER_FORMAT ", \"progress\": %llu}\n",
		    json_integer_value(json_object_get(msg, "task_id")),
		    (unsigned long long)st.items);
		fclose(f);
	}
	if ((rc = pack_file(files, work, jl, json_string_value(json_object_get(keys,
	    "s3_key_data")), ".jl", &err)) != 0 ||
	    (rc = pack_file(files, work, csv, json_string_value(json_object_get(keys,
	    "csv_data_key")), ".csv", &err)) != 0 ||
	    (rc = pack_file(files, work, log, json_string_value(json_object_get(keys,
	    "s3_key_logs")), ".log", &err)) != 0 ||
	    (rc = pack_file(files, work, prog, json_string_value(json_object_get(keys,
	    "progress")), ".progress", &err)) != 0)
		goto done;
done:
	free(work);
	if (rc != 0) {
		json_decref(files);
		return sm_action_fail(call, "error.execution", err.msg[0] ? err.msg :
		    "cannot write the packed files");
	}
	res = json_pack("{s:o,s:I}", "files", files, "items", (json_int_t)st.items);
	rc = sm_action_done(call, res);
	json_decref(res);
	return rc;
}

int
smd__register_task_actions(struct sm_engine *e, struct act_ctx *ctx,
    const struct rt_config *cfg, struct sm_statedir *sd, struct smd__spiders **out,
    struct sm_error *err)
{
	struct smd__spiders *sp = calloc(1, sizeof(*sp));
	struct act_spider_opts o;
	struct sm_action_def pack = { "pack", pack_start, NULL, NULL };
	struct act_branch_opts bo = { cfg->spiders_repo, "git", cfg->spider_start_timeout_ms };
	int rc;

	if (!sp)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	sp->cfg = cfg;
	sp->sd = sd;
	if ((rc = act_branch_create(&sp->ab, ctx->loop, sd, &bo, err)) != 0) {
		free(sp);
		return rc;
	}
	act_spider_opts_init(&o);
	o.start_timeout_ms = cfg->spider_start_timeout_ms;
	o.progress_interval_ms = cfg->progress_interval_ms;
	o.start_params = spider_params;
	o.start_params_arg = sp;
	pack.arg = sp;
	if ((rc = act_spider_create(&sp->as, ctx->loop, &o, err)) != 0 ||
	    (rc = act_spider_register(sp->as, e)) != 0 ||
	    (rc = act_branch_register(sp->ab, e)) != 0 ||
	    (rc = sm_engine_register_action(e, &pack)) != 0) {
		if (!err || !err->code)
			sm_error_set(err, rc, "cannot register the spider actions");
		smd__spiders_free(sp);
		return rc;
	}
	*out = sp;
	return 0;
}

int
smd__spider_outputs(struct sm_statedir *sd, const char *instance, int bsr, struct sm_error *err)
{
	static const char *const base[2] = { SMD_SPIDER_MAIN, SMD_SPIDER_BSR };
	char *work = NULL, path[PATH_MAX];
	struct stat sb;
	int rc;

	if ((rc = sm_statedir_work_dir(sd, instance, 0, &work, err)) != 0)
		return rc;
	for (int i = 0; i < 1 + !!bsr; i++) {
		snprintf(path, sizeof(path), "%s/%s.jl", work, base[i]);
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(work);
			return sm_error_set(err, SM_ENOTFOUND, "no file '%s'", path);
		}
	}
	free(work);
	return 0;
}

void
smd__spiders_config(struct smd__spiders *sp, const struct rt_config *cfg)
{
	struct act_branch_opts bo = { cfg->spiders_repo, "git", cfg->spider_start_timeout_ms };

	if (!sp)
		return;
	sp->cfg = cfg;
	if (act_branch_configure(sp->ab, &bo) != 0)
		sm_log_error("out of memory: the spiders repository keeps its old setting");
	act_spider_set_progress_interval(sp->as, cfg->progress_interval_ms);
}

void
smd__spiders_task_done(struct smd__spiders *sp, const char *id)
{
	if (sp && sp->as)
		act_spider_kill_instance(sp->as, id);
	if (sp)
		act_branch_release(sp->ab, id);
}

void
smd__spiders_free(struct smd__spiders *sp)
{
	if (!sp)
		return;
	act_spider_destroy(sp->as);
	act_branch_destroy(sp->ab);
	free(sp);
}
