/*
 * act_ctx.h - what the daemon's transport-facing actions share: the
 * transport, the store, the instance's names and the configuration values
 * they need, plus a cache of queue URLs.  One per engine; the caller owns
 * it and keeps it alive while the engine runs (it is each action's `arg`).
 *
 * The actions (one module each, registered by name with the engine):
 *   act_validate  task_validate                 (act_validate.h)
 *   act_cache     cache_lookup, cache_save      (act_cache.h)
 *   act_upload    upload                        (act_upload.h)
 *   act_report    report, report_compose        (act_report.h)
 *   act_queue     daemon_start, poll, visibility, queue_delete,
 *                 queue_release                 (act_queue.h)
 *   act_flag      stop_flag                     (act_flag.h)
 *   act_logup     log_upload                    (act_logup.h)
 *   act_beat      heartbeat                     (act_beat.h)
 * Their parameters and results: docs/daemon.md.
 *
 * Every action honours cancel: the transport operations it has in flight
 * are cancelled (tp_cancel, through the call state of act_op.h) and
 * nothing of the call is touched afterwards.
 */
#ifndef ACT_CTX_H
#define ACT_CTX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sm_err.h"

struct sm_loop;
struct store;
struct tp;
struct tp_message;

/* What act_queue's poll and visibility actions ask of the daemon. */
struct act_daemon_hooks {
	/* Free task slots now (max_concurrent_tasks - tasks running). */
	size_t (*slots_free)(void *arg);
	/* Number of task instances running. */
	size_t (*running)(void *arg);
	/*
	 * A message was received from `queue` (index into act_ctx.queues).
	 * Return 0 when a task instance took it (new or redelivered), 1 when
	 * the message must be deleted again at once (its task is already
	 * final), or a negative SM_E* code (the message is left to come back
	 * after its visibility timeout).
	 */
	int (*admit)(void *arg, size_t queue, const char *queue_url,
	    const struct tp_message *m);
	/*
	 * Messages in flight for the heartbeat: call `fn` for each with its
	 * queue URL and current receipt handle.
	 */
	void (*each_inflight)(void *arg,
	    void (*fn)(void *fnarg, const char *queue_url, const char *receipt),
	    void *fnarg);
	/* The current receipt handle of task instance `instance` (a message
	 * redelivered after a restart has a new one), or NULL if unknown. */
	const char *(*receipt)(void *arg, const char *instance);
	void *arg;
	/* The running tasks for the heartbeat (act_beat): a new JSON array of
	 * {task_id, server_name, site, state, since_ms, name}; NULL: none. */
	json_t *(*tasks)(void *arg);
};

struct act_ctx {
	/* borrowed; set by the caller before registering */
	struct sm_loop *loop;
	struct store *store;        /* cache entries (STORE_T_CACHE) */
	struct tp *tp;
	const char *instance_id;    /* 28 chars [a-z0-9] of the state directory */
	const char *work_dir;       /* <state>/work */
	const char *log_path;       /* the daemon's own log file, or NULL */
	int64_t started_ms;         /* wall ms the daemon started (log name date) */
	const char *version;        /* smd's version (the heartbeat) */
	const char *backend;        /* "local" or "aws" (the heartbeat) */
	const char *config_digest;  /* SHA-256 hex of the configuration in force */

	/* configuration (runtime config; copied pointers, borrowed) */
	const char *bucket;
	const char *const *queues;  /* incoming, highest priority first */
	size_t nqueues;
	const char *output_queue_suffix;
	const char *progress_queue_suffix;
	const char *default_branch;
	int visibility_timeout_s;
	int poll_wait_s;
	unsigned max_receives;
	int exit_when_idle;
	int64_t heartbeat_interval_ms;

	struct act_daemon_hooks hooks;

	/* owned by act_ctx_* below */
	char **queue_urls;          /* resolved by daemon_start, one per queue */
	struct act__qurl *qurls;    /* name -> URL cache (reply queues) */
	struct act__lookup *lookups;/* URL lookups in flight */
	struct act__op *poll_waiting;/* a poll waiting for a free slot */
	uint64_t lookup_seq;
};

/* Zero everything. */
void act_ctx_init(struct act_ctx *ctx);
/* Free what act_ctx_* allocated (not the borrowed pointers).  Call it after
 * tp_destroy(), which ends every lookup still in flight. */
void act_ctx_clear(struct act_ctx *ctx);

/*
 * Resolve queue `name` to its URL, creating the queue when it does not
 * exist.  When the URL is known already it is returned at once: the result
 * is 1 and *url points to it (owned by ctx, valid until act_ctx_clear).
 * Otherwise the lookup starts, the result is 0, *handle receives a value
 * for act_ctx_queue_url_cancel(), and `cb` runs once, later from the loop,
 * with code 0 and the URL (valid during the call) or an SM_E* code and a
 * message.  Negative: SM_ENOMEM or the transport's code (cb will not run).
 */
typedef void act_url_cb(void *arg, int code, const char *message, const char *url);
int act_ctx_queue_url(struct act_ctx *ctx, const char *name, const char **url,
    act_url_cb *cb, void *arg, uint64_t *handle);
/* Cancel a lookup: its transport operation is cancelled (tp_cancel) and
 * its callback will not run.  Unknown handles are ignored. */
void act_ctx_queue_url_cancel(struct act_ctx *ctx, uint64_t handle);

#endif
