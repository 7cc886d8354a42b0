/*
 * smd_private.h - what the files of daemon/ share (prefix smd__).
 */
#ifndef SMD_PRIVATE_H
#define SMD_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifndef SMD_VERSION
#define SMD_VERSION "0.1.0"
#endif

struct sm_engine;
struct store;
struct act_ctx;
struct rt_config;
struct sm_statedir;

/* task_id of a message body when readable (act_task_peek), else -1. */
void smd__peek_task_id(const char *body, size_t len, int64_t *task_id);

/*
 * The spiders of this daemon (smd_spider.c): act_branch's branch_checkout
 * (spiders_repo's worktrees), act_spider's spider_start and spider_wait
 * with the params smd builds for them (act_argv, the work directory, the
 * checkout's directory, the timeouts), and the pack action (act_pack,
 * act_zip_file).  `cfg` is borrowed and may be replaced (SIGHUP) with
 * smd__spiders_config(): spider_program, spiders_dir and the timeouts
 * apply to the next spider, spiders_repo and git's timeout
 * (spider_start_timeout) to the next checkout, progress_interval to the
 * next count.
 */
struct smd__spiders;
int smd__register_task_actions(struct sm_engine *e, struct act_ctx *ctx,
    const struct rt_config *cfg, struct sm_statedir *sd, struct smd__spiders **out,
    struct sm_error *err);
void smd__spiders_config(struct smd__spiders *sp, const struct rt_config *cfg);
/* A task instance ended: no process of its spiders may be left, and it
 * uses no worktree any more. */
void smd__spiders_task_done(struct smd__spiders *sp, const char *id);
/* After the engine is destroyed: nothing of any spider survives; free. */
void smd__spiders_free(struct smd__spiders *sp);

/* 0 when the spider's output of task instance `instance` is in its work
 * directory (main.jl, and bsr.jl when `bsr`); SM_ENOTFOUND (err names the
 * missing file), SM_EINVAL (a bad name). */
int smd__spider_outputs(
    struct sm_statedir *sd, const char *instance, int bsr, struct sm_error *err);

/* Kill the group of every spider recorded under <state>/work that is still
 * alive (act_spider_sweep).  0 or SM_E* (err set). */
int smd__sweep_orphans(struct sm_statedir *sd, struct sm_error *err);

/*
 * Work directories (smd_work.c).  `busy` is a JSON object whose keys are
 * the work directories that running tasks use (their own, a replay's
 * replay.work): those are never removed.  Failures are logged; the sweep
 * tries again.
 */
/*
 * The run `instance` ended in `final_id` (its datamodel `dm`).  Reported:
 * remove its work directory and the one it packed from (`work`, a
 * replay's).  Otherwise the directories stay; a `work` of another run (a
 * replay that failed again) is touched, so that the sweep counts its time
 * from this end.
 */
void smd__work_ended(struct sm_statedir *sd, const char *instance, const char *final_id,
    const json_t *dm, const json_t *busy);
/*
 * The sweep: the trash a crash left; the work directories of reported runs
 * (a run that ended before its removal was done); those of runs that ended
 * otherwise (failed, released, stopped; or no run of that name) once the
 * later of the run's end and the directory's last change is `keep_ms` ago.
 * Returns the directories removed.
 */
unsigned smd__work_sweep(struct sm_engine *e, struct store *st, struct sm_statedir *sd,
    int64_t keep_ms, const json_t *busy);

/*
 * The task record (smd_record.c; docs/fleet-formats.md "smd-task-record").
 * `bucket` (smd__records_config) and `instance` are borrowed.
 */
#define SMD_RECORD_FORMAT "smd-task-record"
#define SMD_RECORD_VERSION 1
struct smd__records;
struct tp;
struct sm_loop;
struct sm_error;
/* The record of run `id` at wall time `now_ms` into *out (new reference),
 * its bucket key into `key` (ACT_KEY_SIZE bytes).  SM_ENOTFOUND: the run
 * has none (not final, released, or no name: its message was not valid;
 * err says which); other SM_E* codes: the store could not be read. */
int smd__record_compose(struct store *st, const char *smd_instance, const char *id, int64_t now_ms,
    json_t **out, char *key, struct sm_error *err);
/*
 * The record as the compact JSON text uploaded (*out malloc'd, *outlen
 * bytes): when over `max` bytes, records of run.history are cut from the
 * middle (the first HISTORY_HEAD and the last HISTORY_TAIL stay) until it
 * fits, and "history_dropped" in `rec` says how many.  A record that
 * still does not fit is given as it is.  0 or SM_ENOMEM.
 */
int smd__record_text(json_t *rec, size_t max, char **out, size_t *outlen);
/* What a record's text is kept within: the readers refuse one over 4 MiB
 * (FL_RECORD_MAX), a run of many progress changes makes one that big. */
#define SMD_RECORD_TEXT_MAX (3u << 20)
int smd__records_open(struct smd__records **out, struct store *st, struct tp *tp,
    struct sm_loop *loop, const char *instance);
void smd__records_config(struct smd__records *r, const char *bucket);
/* Run `id` ended in `final_id`: for reported and failed, its pending row
 * is committed (before the caller acknowledges the end) and the upload
 * starts.  0, or the store's error (logged). */
int smd__records_ended(struct smd__records *r, const char *id, const char *final_id);
/* At start: upload every record still pending. */
void smd__records_resume(struct smd__records *r);
/* Records not uploaded yet (pending or in flight). */
size_t smd__records_pending(const struct smd__records *r);
/* `fn` is called whenever no record is left to upload. */
void smd__records_on_idle(struct smd__records *r, void (*fn)(void *arg), void *arg);
/* Cancel what is in flight (the rows stay pending) and free.  NULL allowed. */
void smd__records_close(struct smd__records *r);

#endif
