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

#include "sm_err.h"

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

#endif
