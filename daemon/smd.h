/*
 * smd.h - the task daemon (docs/daemon.md): one process per state
 * directory takes tasks from the incoming queues and runs each through
 * machines/task.scxml on the engine, while machines/daemon.scxml runs the
 * instance's own lifecycle (stop flag, polling, heartbeat, draining).
 *
 *   struct smd_options o = { .config_file = file, .opts = opts, .nopts = n,
 *                            .exit_when_idle = 1 };
 *   rc = smd_run(&o, &err);                returns when smd stops
 *
 * Signals arrive through the loop: SIGTERM and SIGINT drain (no new tasks,
 * running ones get shutdown_grace, the rest are released to their queues);
 * SIGHUP reads the configuration and the machines again (a bad file is
 * refused and logged, the old one kept; tasks in flight finish on the
 * machine version they started with).
 */
#ifndef SMD_H
#define SMD_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

struct json_t;

/*
 * A task's spider files, in its work directory <state_dir>/work/<instance>
 * (smd_spider.c; docs/spider.md): <SMD_SPIDER_MAIN>.log and .jl for the
 * crawl, <SMD_SPIDER_BSR>.log and .jl for the best-seller crawl.  `smctl
 * inspect` shows the tail of the logs.
 */
#define SMD_SPIDER_MAIN "main"
#define SMD_SPIDER_BSR "bsr"
#define SMD_SPIDER_LOG ".log"
#define SMD_SPIDER_JL ".jl"

struct smd_options {
	const char *config_file;    /* re-read on SIGHUP; NULL: none */
	char *const *opts;          /* the -o key=value arguments, re-applied */
	size_t nopts;
	int exit_when_idle;         /* stop once idle (every queue empty, no task) */
	int log_stderr;             /* also log to stderr (besides <state>/smd.log) */
	/* smd_replay_offline: seed the run from this record's run.instance
	 * (smd_replay_seed, named `replay_of`) instead of the local runs */
	const struct json_t *replay_seed;
	const char *replay_of;
};

/*
 * Load the configuration from opt's sources (rt_config_load: the file, the
 * environment, the -o options; SIGHUP loads them again) and run the daemon
 * until it stops.  Returns 0 after a clean stop, or an SM_E* code with
 * `err` set when it could not start (bad configuration: SM_EPARSE; state
 * directory held by another process: SM_EBUSY; machines refused; store
 * damaged, ...).
 */
int smd_run(const struct smd_options *opt, struct sm_error *err);

/*
 * `smctl replay TASK_ID` when no daemon holds the state directory
 * (docs/daemon.md "Replay"): load the configuration from opt's sources,
 * open the state directory as smd does (its lock: SM_EBUSY while smd or
 * another writer holds it, err names the holder), start the replay of task
 * `task_id` (smd_replay.h; the other instances of the store are not
 * resumed: smd does that) with the task actions smd uses (spider, pack,
 * upload, report), call started(arg, instance, step) once it is started,
 * and run it to its end: its final state into `final_id` ("" if it stopped
 * without one).  SIGTERM/SIGINT post `release` to it.  The log goes to
 * <state_dir>/smd.log (and stderr with opt->log_stderr), lines tagged
 * "smctl replay".  0 when it ran to an end (whichever), else a refusal of
 * smd_replay_start() or a start failure, with `err` set.
 */
typedef void smd_replay_started_fn(void *arg, const char *instance, const char *from);
int smd_replay_offline(const struct smd_options *opt, int64_t task_id, int from_start,
    smd_replay_started_fn *started, void *arg, char final_id[128], struct sm_error *err);

#endif
