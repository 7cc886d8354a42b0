/*
 * act_spider.h - the spider actions: start a spider in its own process
 * group, wait for it while counting its items, kill its whole group on
 * cancel or timeout, and sweep the groups a crashed daemon left behind.
 *
 * Use (one context per daemon, on the daemon's loop):
 *   act_spider_opts_init(&o); o.progress = fn; o.progress_arg = daemon;
 *   act_spider_create(&sp, loop, &o, &err);
 *   act_spider_sweep("<state>/work", &killed, &err);   before recovery
 *   act_spider_register(sp, engine);       "spider_start", "spider_wait"
 *   ... sm_engine_recover, sm_loop_run ...
 *   act_spider_kill_instance(sp, id);      from the engine's done callback
 *   sm_engine_destroy(engine);             cancels calls: groups get SIGTERM
 *   act_spider_stop_all(sp, grace_ms);     nothing of any spider survives
 *   act_spider_destroy(sp);
 *
 * The context keeps a registry of its children keyed by pid (kind,
 * instance id, deadline, exit status): a spider belongs to the registry,
 * not to a call, so that spider_start can hand it to spider_wait and a
 * cancelled call can return at once while the registry keeps killing and
 * watching the group until no process of it is left.
 *
 * Children: fork + execve of the caller's argv (never a shell; a program
 * name without '/' is looked up in PATH's absolute entries), in a new
 * session (setsid: pgid = sid = pid), PR_SET_PDEATHSIG(SIGKILL), default
 * signal dispositions and an empty mask, stdin from /dev/null, stdout and
 * stderr appended to a file of the work dir, every other fd closed, cwd =
 * the spiders dir, the daemon's environment.  A failure between fork and
 * exec comes back through a close-on-exec pipe as a clear message.
 *
 * ---- action "spider_start" ----
 * params (the call's own, or what opts.start_params builds from them) {
 *   "argv": ["prog", "arg", ...]     1..ACT_SPIDER_ARGV_MAX strings (no NUL)
 *   "cwd": "/srv/spiders"            the spider's working directory
 *   "work_dir": "/var/lib/smd/work/task-7"  absolute; created (0700)
 *   "log_path": "<work_dir>/x.log"   files directly inside work_dir
 *   "output_path": "<work_dir>/x.jl" removed first: a rerun starts clean
 *   "stdio_path": "<work_dir>/..."   optional; default log_path (appended)
 *   "start_timeout_ms": 120000       optional; default opts.start_timeout_ms
 *   "deadline_ms": 1764355201123     optional wall-clock ms (epoch): the
 *                                    task deadline, enforced by the registry
 *   "kind": "spider"                 optional, 1..32 of [A-Za-z0-9_]: label
 *                                    for logs and the pid file's name
 * }
 * Writes <work_dir>/spider.pid (spider-<kind>.pid for another kind; 0600,
 * one JSON line {"pid","pgid","start_time","boot_id"}), removed once the
 * group is gone, and reports, once the log (or the output) has grown:
 *   done {"pid": 123, "pgid": 123, "start_time": 456789, "started_ms": wall ms}
 * start_time is field 22 of /proc/<pid>/stat (clock ticks since boot).
 * Errors: "error.spider.start" (program not found, exec/chdir failure, the
 * spider exited or wrote nothing within start_timeout_ms: the group is
 * killed), "error.spider.timeout" (task deadline), "error.execution" (bad
 * params, a file of the work dir could not be made), "error.spider.lost"
 * (opts.start_params said SM_EAGAIN: nothing was started).
 *
 * ---- action "spider_wait" ----
 * params {
 *   "pid": 123, "start_time": 456789  as spider_start returned them, or
 *   "spider": {"pid": 123, "start_time": 456789, ...}  its whole result
 *   "output_path": "<work_dir>/x.jl"  optional; default spider_start's
 *   "progress_interval_ms": 30000     optional; default (absent or 0)
 *                                     opts.progress_interval_ms as it is
 *                                     at each look (see
 *                                     act_spider_set_progress_interval)
 *   "deadline_ms": 1764355201123      optional wall-clock ms (epoch);
 *                                     default spider_start's
 * }
 * (Other params, e.g. the task machine's job/variant/instance, are
 * ignored.)
 * Adopts the child from the registry.  Every progress_interval_ms it reads
 * what was appended to the output since the last look (never the whole
 * file again) and counts the complete lines (ending in '\n') that are JSON
 * objects (act_spider_jl_item); when the count changed it calls the
 * context's progress hook and posts the event "spider.items" {"items": n}
 * to the instance.  At the exit it counts what is left and reports:
 *   done {"items": n, "exit_code": 0, "garbage": g}   exit 0; g = complete
 *                                     lines that are not JSON objects
 *   "error.spider.exit"    non-zero exit ("spider exited with code N ...")
 *   "error.spider.signal"  killed by a signal ("... by signal N (SIGSEGV)")
 *   "error.spider.timeout" the deadline passed: the group is killed
 *   "error.spider.lost"    no such child in this registry (the daemon
 *                          restarted since spider_start): rerun it
 *   "error.execution"      bad params, or the child is already waited on
 * (The engine's error event carries {error, message, attempt}: the code or
 * signal number is in the message.)
 *
 * Cancel (of either action): SIGTERM (and SIGCONT) to the whole group,
 * SIGKILL opts.kill_grace_ms later; the call is released at once.
 * A group whose leader exited while other members live is killed the same
 * way.  No member of a group is left behind by its task.
 */
#ifndef ACT_SPIDER_H
#define ACT_SPIDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sm_err.h"

struct act_spider;
struct sm_loop;
struct sm_engine;
struct sm_action_call;

#define ACT_SPIDER_PIDFILE "spider.pid"         /* in the work dir */
#define ACT_SPIDER_ARGV_MAX 4096                /* argv entries */
#define ACT_SPIDER_KILL_GRACE_MS 10000          /* SIGTERM -> SIGKILL (SPEC 3) */
#define ACT_SPIDER_START_TIMEOUT_MS 120000      /* SPEC 3 */
#define ACT_SPIDER_PROGRESS_MS 30000

/*
 * Builds spider_start's params from the call's (the task machine passes
 * {instance, job, variant}; the daemon makes argv and paths from them and
 * its configuration).  Store a new JSON object in *params and return 0, or
 * return an SM_E* code with err set: the call fails with
 * error.spider.start and err's message; SM_EAGAIN: with error.spider.lost
 * (what the spider needs is gone, e.g. its checkout: the task machine
 * prepares it again and reruns the spider).
 */
typedef int act_spider_params_fn(struct sm_action_call *call, json_t **params,
    struct sm_error *err, void *arg);

/*
 * The progress hook: `items` complete JSON-object lines so far (changed
 * since the last call).  `call` is the spider_wait call (borrowed, valid
 * during the hook; its instance and params say which task).  The hook
 * must not report or cancel the call.
 */
typedef void act_spider_progress_fn(struct sm_action_call *call, uint64_t items, void *arg);

struct act_spider_opts {
	int64_t kill_grace_ms;          /* ACT_SPIDER_KILL_GRACE_MS */
	int64_t start_poll_ms;          /* how often spider_start looks at the
					 * log: 100 */
	int64_t start_timeout_ms;       /* ACT_SPIDER_START_TIMEOUT_MS */
	int64_t progress_interval_ms;   /* ACT_SPIDER_PROGRESS_MS */
	size_t line_max;                /* ACT_PACK_LINE_MAX: longer .jl lines are
					 * garbage, as for the packer */
	act_spider_params_fn *start_params;     /* NULL: the call's params */
	void *start_params_arg;
	act_spider_progress_fn *progress;       /* NULL: none */
	void *progress_arg;
	/*
	 * 1 (default): make this process a child subreaper
	 * (PR_SET_CHILD_SUBREAPER), so that what a spider forks comes back to
	 * the daemon when its parent dies and the registry reaps it by
	 * process group.  Without it, orphans go to pid 1; a group whose only
	 * members are zombies (a pid 1 that does not reap) counts as gone.
	 */
	int subreaper;
};

void act_spider_opts_init(struct act_spider_opts *o);

/* A context on `loop` (borrowed; must outlive the context).  `o` NULL:
 * defaults.  SM_ENOMEM, or the errno of prctl. */
int act_spider_create(struct act_spider **out, struct sm_loop *loop,
    const struct act_spider_opts *o, struct sm_error *err);

/* Register "spider_start" and "spider_wait" with `e` (the context must
 * outlive the engine).  SM_EEXISTS, SM_ENOMEM. */
int act_spider_register(struct act_spider *sp, struct sm_engine *e);

/* Change opts.progress_interval_ms (a reload): the waits that use it take
 * the new value from their next look on.  `ms` <= 0 is ignored. */
void act_spider_set_progress_interval(struct act_spider *sp, int64_t ms);

/* Kill (SIGTERM, then SIGKILL) every child the registry holds for instance
 * `id` and forget it once gone: for the end of an instance (a spider that
 * spider_start handed over and no spider_wait adopted). */
void act_spider_kill_instance(struct act_spider *sp, const char *id);

/* Children the registry still holds (running, dying, or exited and not yet
 * adopted). */
size_t act_spider_count(const struct act_spider *sp);

/*
 * Shutdown: SIGTERM to every group, wait (blocking, reaping) up to
 * `grace_ms`, SIGKILL what is left and wait for it.  Calls still waiting
 * get their report (error.spider.signal or exit).  Returns 0 when no
 * process of any group is left, SM_EBUSY if one survived SIGKILL for 5 s
 * (an uninterruptible sleep; it stays registered).
 */
int act_spider_stop_all(struct act_spider *sp, int64_t grace_ms);

/* act_spider_stop_all(sp, 0), then free.  Call after sm_engine_destroy.
 * NULL allowed. */
void act_spider_destroy(struct act_spider *sp);

/*
 * Startup sweep: for every <work_root>/<dir>/spider*.pid, kill (SIGKILL) the
 * recorded group if any process of it is still alive, and remove the
 * record.  Pid reuse safe: the leader counts only if its /proc start time
 * and the boot id match the record; with the leader gone, the group counts
 * if live processes have pgid = sid = the recorded pid and no other process
 * holds that number (a pid number used as a group id is never reused while
 * the group lives).  Waits (blocking) up to 5 s for the killed groups.
 * `killed` (may be NULL) gets the number of groups killed.  Returns 0
 * (also when work_root does not exist), SM_EIO for an unreadable
 * work_root, SM_EBUSY if a group survived (err names it; its record stays).
 * A record that does not parse is logged and left alone.
 */
int act_spider_sweep(const char *work_root, unsigned *killed, struct sm_error *err);

/* 1 if the `n` bytes at `line` (without its '\n') are one JSON object
 * (integers of any size, "\u0000" allowed; surrounding whitespace allowed),
 * else 0.  What counts as an item of a .jl output. */
int act_spider_jl_item(const char *line, size_t n);

#endif
