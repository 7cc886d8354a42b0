/*
 * smd_view.h - the view of one run of a task: what `smctl inspect` shows
 * (text and --json) and the "run" object of the task record smd writes to
 * the bucket (docs/fleet-formats.md).  One builder, so that both are one
 * format:
 *
 *   struct smd_view_opts o = { .sd = sd, .log_lines = 20, .last = -1 };
 *   json_t *view = smd_view_run(txn, &o, "task-7", inst, NULL);
 *
 * The view: instance_id, task_id, server_name, state (the lifecycle state,
 * or the final one), final, sub_states, status, reason, engine_error,
 * message, message_id, queue, receive_count, received_ms, created_ms,
 * updated_ms, machine_name, machine, keys_state, keys, cache, logs,
 * history, instance (docs/smctl.md).
 */
#ifndef SMD_VIEW_H
#define SMD_VIEW_H

#include <jansson.h>

struct sm_statedir;
struct store_txn;

/* The log tail reads at most this much of the end of a log. */
#define SMD_VIEW_LOG_TAIL_BYTES (64 * 1024)

struct smd_view_opts {
	struct sm_statedir *sd; /* the spider logs' tails from its work dirs; NULL: none */
	long log_lines;         /* lines of each log's tail */
	long last;              /* only the last N history records; < 0: all */
};

/*
 * The view of run `id`, reading its history in `txn`.  `inst` is its
 * instance record (sm_record_instance_get; borrowed), or NULL for an index
 * row without a readable one: then the view says `why` under "error".
 * "logs" is an empty array without o->sd.  When the work directory has no
 * spider log and the run ended having uploaded it, "logs" names it for the
 * caller to fetch: [{"file": "main.log", "key", "source": "bucket"}] (no
 * "lines": the view reads no bucket).  NULL when out of memory.
 */
json_t *smd_view_run(struct store_txn *txn, const struct smd_view_opts *o, const char *id,
    json_t *inst, const char *why);

/*
 * The cache as the task met it, from its datamodel `dm` and its whole
 * history `hist`: {"key", "lookup", "save", "result": "hit" | "miss" |
 * "error" | "skipped" | "pending", "hit", "source"}; JSON null when the
 * task has no cache key (yet).
 */
json_t *smd_view_cache(json_t *dm, json_t *hist);

/*
 * The lifecycle state of task.scxml's active configuration `config` (an
 * array of state ids, outermost first): the first state below the wrapper
 * `life` (borrowed from `config`), NULL when there is none.  With `sub`
 * (an array) the active states below it are appended to it.
 */
const char *smd_view_state(json_t *config, json_t *sub);

/*
 * The last `max` lines of the log text `buf` (`len` bytes; of its last
 * SMD_VIEW_LOG_TAIL_BYTES), as a new JSON array of strings, invalid UTF-8
 * replaced by U+FFFD.  `cut`: buf starts inside a line (that piece is
 * left out).  NULL when out of memory.
 */
json_t *smd_view_log_lines(const char *buf, size_t len, int cut, long max);

/*
 * The key of the spider log the run uploaded itself (borrowed from its
 * datamodel `dm`), or NULL: a reported run that crawled (not a cache hit),
 * or a failed run whose whole history `hist` has its log's upload
 * (done.invoke.fail_upload); `state` is its final state.
 */
const char *smd_view_log_key(json_t *dm, json_t *hist, const char *state);

/* The last record of history `hist` whose event is `a` or `b` (borrowed),
 * or NULL. */
json_t *smd_view_last_event(json_t *hist, const char *a, const char *b);

#endif
