/*
 * fl_stats.h - the fleet's figures of some days (`smctl stats`, `smctl
 * serve`): counted from the task records (<name>.state.json.zip), the
 * heartbeats (smd/instances/) and the start markers (smd/started/) in the
 * bucket, and the configured queues' depths.  What each figure counts is in
 * docs/smctl.md ("smctl stats").
 *
 * Two layers: an accumulator that is fed records, heartbeats and markers
 * and gives the JSON object of docs/fleet-contract ("stats") - pure, no
 * I/O, so hostile input is tested without a bucket - and fl_stats_collect(),
 * which reads the bucket through the fleet library and feeds it.
 */
#ifndef FL_STATS_H
#define FL_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "sm_err.h"

struct fl;
struct rt_config;
struct fl_stats;

/* The most days one collection spans. */
#define FL_STATS_DAYS_MAX 366
/* The keys read (docs/fleet-formats.md): a task record ends so; the start
 * markers of a day are under smd/started/YYYY/MM/DD/. */
#define FL_STATS_RECORD_SUFFIX ".state.json.zip"
#define FL_STATS_STARTED_PREFIX "smd/started/"

/*
 * A new accumulator for the `days` days (1..FL_STATS_DAYS_MAX) ending with
 * the UTC day that holds `last_day` (seconds since the epoch), seen at wall
 * time `now_ms` (heartbeats: alive or not).  0 or SM_ENOMEM/SM_EINVAL.
 */
int fl_stats_new(struct fl_stats **out, time_t last_day, int days, int64_t now_ms);
void fl_stats_free(struct fl_stats *s);

/*
 * Count one task record (the parsed JSON of its .state.json member), read
 * from `key`.  A record that is not a version-1 "smd-task-record" or lacks
 * a field the figures need (or has it with the wrong type) is not counted:
 * it is listed under "refused" with why, and the call returns SM_EVERSION or
 * SM_ECORRUPT with `err` naming the key and the field.  SM_ENOMEM.
 */
int fl_stats_add_record(
    struct fl_stats *s, const char *key, const json_t *rec, struct sm_error *err);
/* A record that could not even be read (not a zip, too big, not JSON):
 * listed under "refused" with `why`. */
int fl_stats_refuse(struct fl_stats *s, const char *key, const char *why);
/* One heartbeat object (smd/instances/<instance>.json); a hostile one is
 * refused as a record is. */
int fl_stats_add_heartbeat(
    struct fl_stats *s, const char *key, const json_t *hb, struct sm_error *err);
/* One start marker key (smd/started/YYYY/MM/DD/<instance>.json); markers of
 * the same instance are counted once. */
int fl_stats_add_started(struct fl_stats *s, const char *key);
/* The depth of queue `name` (ApproximateNumberOfMessages), or -1 with
 * `why` when it could not be read. */
int fl_stats_add_queue(struct fl_stats *s, const char *name, int64_t depth, const char *why);
/* Requests the collection made (fl_counters), reported as "requests". */
void fl_stats_set_requests(struct fl_stats *s, uint64_t requests);

/* The figures: a new object (docs/smctl.md), or NULL out of memory. */
json_t *fl_stats_json(const struct fl_stats *s);

/*
 * Read the bucket of `fl` for the days of `s`: every .state.json.zip record
 * under their day prefixes, the heartbeats, the start markers of those days,
 * and the depth of each of cfg's queues (cfg NULL: none).  `progress`
 * (NULL: none) gets a line now and then for a terminal.  Records that
 * cannot be read are refused one by one and do not stop it; a listing that
 * fails does (its error in `err`).
 */
int fl_stats_collect(struct fl *fl, struct fl_stats *s, const struct rt_config *cfg, FILE *progress,
    struct sm_error *err);

/* The text view of fl_stats_json()'s object. */
void fl_stats_print(const json_t *stats, FILE *out);

#endif
