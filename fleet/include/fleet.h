/*
 * fleet.h - the fleet view: what many smd instances left in one bucket,
 * read from any machine that reaches the bucket (either backend), for
 * smctl's fleet commands, benchmarks and `smctl serve`.  Formats of the
 * keys read here: docs/fleet-formats.md; how operators use it:
 * docs/fleet.md.
 *
 * Synchronous: each call runs the transport's loop until its work is done
 * or the handle's time limit passes (fl_set_timeout), so a slow or silent
 * bucket gives SM_ETIMEOUT, never a hang.  Listings of many prefixes run
 * in parallel, FL_LIST_PARALLEL requests in flight at most.
 *
 * Errors: 0 or a negative SM_E* code; `err` (may be NULL) gets a message
 * that says what failed and what to do ("no AWS credentials found: ...",
 * "bucket 'b' does not exist: ...", "cannot reach ...").
 *
 * Strings a callback receives live for the call only.  json_t results are
 * new references the caller decrefs.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "act_names.h"
#include "sm_err.h"

struct fl;
struct rt_config;

#define FL_LIST_PARALLEL 16          /* requests in flight at most */
#define FL_TIMEOUT_MS_DEFAULT 300000 /* one call's time limit (5 min) */
#define FL_DAYS_MAX 3660             /* --days: at most ten years */
#define FL_RECORD_MAX (4u << 20)     /* a task record's zip and JSON */
#define FL_HEARTBEAT_MAX (1u << 20)  /* a heartbeat object */
#define FL_HEARTBEAT_PREFIX "smd/instances/"
#define FL_HEARTBEAT_INTERVAL_MAX ((int64_t)86400 * 1000) /* a day */
#define FL_CLOCK_AHEAD_MAX ((int64_t)86400 * 1000)        /* a day */
#define FL_RECORD_FORMAT "smd-task-record"
#define FL_RECORD_VERSION 1
#define FL_HEARTBEAT_FORMAT "smd-heartbeat"
#define FL_HEARTBEAT_VERSION 1

/*
 * Open the bucket and the transport `cfg` describes: rt_open(RT_CLIENT)
 * (the loop and transport smctl submit uses; on the local backend the
 * state directory is opened beside a running daemon, never locked).  The
 * local backend's state directory must exist (SM_ENOTFOUND otherwise: a
 * fleet reader never makes one).  cfg may be freed after.
 */
int fl_open(struct fl **out, const struct rt_config *cfg, struct sm_error *err);
void fl_close(struct fl *fl); /* NULL allowed */

/* The bucket's name and the backend ("aws" | "local"). */
const char *fl_bucket(const struct fl *fl);
const char *fl_backend(const struct fl *fl);
/* One call's time limit (ms > 0; default FL_TIMEOUT_MS_DEFAULT). */
void fl_set_timeout(struct fl *fl, int64_t ms);

/*
 * Progress of a long call (listings): called after every page with the
 * prefixes done, the prefixes in all, and the keys seen so far.  NULL: none.
 */
typedef void fl_progress_fn(void *arg, size_t done, size_t total, uint64_t keys);
void fl_set_progress(struct fl *fl, fl_progress_fn *fn, void *arg);

/* Requests made (every list page, get, put, delete) and bytes received
 * (object bodies) since fl_open or the last fl_counters_reset. */
struct fl_stats_io {
	uint64_t requests, bytes;
};
struct fl_stats_io fl_counters(const struct fl *fl);
void fl_counters_reset(struct fl *fl);

/* A key of a listing. */
struct fl_key {
	const char *key;
	uint64_t size;
	int64_t mtime_ms;
};
/* Called per key, in no particular order; nonzero stops the listing and
 * becomes its result.  A key is UTF-8: one that is not (the local backend
 * keeps keys as file names, which may hold any bytes; smd never writes
 * such a key) comes with each bad byte as U+FFFD, so that it can be shown;
 * a get of it then finds nothing (SM_ENOTFOUND). */
typedef int fl_key_fn(void *arg, const struct fl_key *k);

/*
 * Every key under the day prefixes "YYYY/MM/DD/<prefix_extra>" of the
 * `days` days (1 .. FL_DAYS_MAX) ending with the UTC day of `last_day`,
 * listed in parallel, every page.  prefix_extra NULL: "".
 */
int fl_list_days(struct fl *fl, time_t last_day, int days, const char *prefix_extra, fl_key_fn *cb,
    void *arg, struct sm_error *err);
/* Every key under `prefix` ("" for the whole bucket), page after page, one
 * request at a time (the plain listing the benchmark compares with). */
int fl_list_prefix(
    struct fl *fl, const char *prefix, fl_key_fn *cb, void *arg, struct sm_error *err);

/*
 * The object `key` in memory (malloc'd, NUL-terminated beyond *len), at
 * most `max` bytes.  SM_ENOTFOUND when there is no such key (err says
 * so), SM_ETOOBIG beyond max.
 */
int fl_get(
    struct fl *fl, const char *key, size_t max, char **data, size_t *len, struct sm_error *err);
/*
 * Fetch many keys, FL_LIST_PARALLEL at a time; `cb` gets each key's index,
 * code (0 or SM_E*, SM_ENOTFOUND for a missing key) and body (NULL unless
 * code is 0; valid for the call).  A nonzero return of cb stops the batch.
 * Returns 0 when every fetch was made (whatever their codes), else the
 * first transport failure that is not SM_ENOTFOUND / SM_ETOOBIG.
 */
typedef int fl_got_fn(void *arg, size_t i, int code, const char *data, size_t len);
int fl_get_many(struct fl *fl, const char *const *keys, size_t n, size_t max, fl_got_fn *cb,
    void *arg, struct sm_error *err);
/* Put `len` bytes at `key`; delete `key` (a missing key is fine). */
int fl_put(struct fl *fl, const char *key, const void *data, size_t len, struct sm_error *err);
int fl_delete(struct fl *fl, const char *key, struct sm_error *err);

/*
 * The only member of the zip archive in `zip` (len bytes), uncompressed,
 * in *out (malloc'd, NUL-terminated beyond *outlen).  SM_ECORRUPT (not a
 * zip, a damaged member, not exactly one member), SM_ETOOBIG (the member
 * is over `max` bytes, whatever its header claims).
 */
int fl_unzip_one(
    const char *zip, size_t len, size_t max, char **out, size_t *outlen, struct sm_error *err);
/* The same member written to `fd` as it inflates (a buffer of 64 KiB, not
 * the member, in memory), *outlen its size; SM_ETOOBIG once it passes `max`
 * bytes (what was written stays: the caller removes it), errno's code when
 * a write fails. */
int fl_unzip_one_fd(
    const char *zip, size_t len, size_t max, int fd, size_t *outlen, struct sm_error *err);

/*
 * The task record at `key` (<name>.state.json.zip): fetched, unzipped,
 * parsed and checked: a JSON object with "format" FL_RECORD_FORMAT and an
 * integer "version" 1 .. FL_RECORD_VERSION.  SM_ENOTFOUND (no record),
 * SM_ECORRUPT (not a zip or not JSON), SM_EVERSION (another format or a
 * newer version: err says which).  Unknown fields are kept.
 */
int fl_record_get(struct fl *fl, const char *key, json_t **rec, struct sm_error *err);
/* The same check of a record's bytes already unzipped. */
int fl_record_parse(const char *json, size_t len, json_t **rec, struct sm_error *err);

/* A key's parts (act_name_parse, the one reader of the name layout). */
#define fl_name act_name_parts
int fl_task_name_parse(const char *key, struct fl_name *out);

/*
 * Every heartbeat object under FL_HEARTBEAT_PREFIX (those that parse as a
 * JSON object of format FL_HEARTBEAT_FORMAT; others are skipped), sorted
 * by instance, as a new JSON array.
 */
int fl_heartbeats(struct fl *fl, json_t **arr, struct sm_error *err);

/* ---- the commands' objects (JSON shapes: docs/fleet.md) ---------------- */

/*
 * search: every key of the day folders of `days` days up to `last_day`
 * whose name holds `text` (bytes, case-sensitive), grouped by task name,
 * newest first:
 *   {"text", "days", "tasks": [{"name", "task_id"|null, "server_name",
 *    "instance", "site", "term", "date", "newest_ms", "keys": [{"key",
 *    "size", "mtime_ms"}]}], "requests"}
 */
int fl_search(
    struct fl *fl, const char *text, time_t last_day, int days, json_t **out, struct sm_error *err);

/*
 * failed: tasks of those days that left a log (.log.zip) but no data
 * (.jl.zip), with the reason from their record (null without one),
 * newest first; `server` / `site` (NULL: any) filter:
 *   {"days", "tasks": [{"name", "task_id", "server_name", "site",
 *    "instance", "date", "newest_ms", "reason", "state", "record_key",
 *    "keys": [...]}], "requests"}
 */
int fl_failed(struct fl *fl, time_t last_day, int days, const char *server, const char *site,
    json_t **out, struct sm_error *err);

/*
 * instances: {"now_ms", "instances": [heartbeat + "alive": bool]}, alive
 * ones only unless `all`.  Alive: now - last_seen_ms <= 3 * interval_ms.
 */
int fl_instances(struct fl *fl, int64_t now_ms, int all, json_t **out, struct sm_error *err);
/*
 * 1 if the heartbeat `hb` is alive at now_ms.  Not alive either: an
 * interval_ms that is not 1 ms to FL_HEARTBEAT_INTERVAL_MAX, or a
 * last_seen_ms more than FL_CLOCK_AHEAD_MAX ahead of now_ms (a clock that
 * far off, or a forged object, would otherwise stay alive for ever).
 */
int fl_heartbeat_alive(const json_t *hb, int64_t now_ms);

/*
 * The stop flag (ACT_FLAG_KEY): {"key", "stop": bool, "exists": bool,
 * "value": "<body>"|null}; fl_stop_flag_set writes "true" or "false".
 */
int fl_stop_flag_get(struct fl *fl, json_t **out, struct sm_error *err);
int fl_stop_flag_set(struct fl *fl, int on, struct sm_error *err);

/*
 * results: the task's keys in those days (task_id, and server when not
 * NULL), the newest run's outputs (one name) downloaded, unzipped and
 * written into `dir` as <base>.jl, .csv, .log, .progress, .state.json.
 * {"task_id", "server_name", "name", "dir", "files": [{"key", "path",
 * "size"}], "other_names": [...]}.  SM_ENOTFOUND (no such task);
 * SM_EEXISTS when several servers share the id and `server` is NULL (err
 * names them).
 */
int fl_results(struct fl *fl, int64_t task_id, const char *server, time_t last_day, int days,
    const char *dir, json_t **out, struct sm_error *err);

#endif
