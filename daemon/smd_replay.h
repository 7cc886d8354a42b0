/*
 * smd_replay.h - a new run of a failed task (`smctl replay TASK_ID`,
 * docs/daemon.md "Replay"), started on a task engine: by smd when a
 * control socket request asks for it, or by smctl itself when no daemon
 * holds the state directory (smd_replay_offline, smd.h).
 *
 * The run replayed is the task's latest run (its task_id index rows). It
 * must have ended in `failed` or `released` (or stopped without a final
 * state); a running or reported task is refused.  The new run, `task-<m>`
 * (the daemon's counter, with a task_id row and no message row), starts on
 * the failed run's machine version (its document hash) with the failed
 * run's envelope (`task`: body, received time, queue...) without a receipt
 * handle, and `task.replay` = {"from", "of", "work", "keys"}:
 *
 *   from-start, or the run failed in received or cache_lookup:
 *       "received"   everything again, as a delivery does
 *   failed in spawned or progressing:
 *       "spawned"    the spider runs again
 *   failed in packing, storing or caching:
 *       "uploading"  pack, upload, cache, report: the spider's outputs in
 *                    the failed run's work directory ("work") are reused
 *   failed in reporting (cached_zero, composing, sending, finishing):
 *       "reporting"  only the report, of the keys uploaded ("keys")
 *
 * The step is the configuration the failed run left when it entered
 * `failing` or `releasing` (its history); task.scxml routes on `from`.
 */
#ifndef SMD_REPLAY_H
#define SMD_REPLAY_H

#include <stdint.h>

#include <jansson.h>

#include "sm_err.h"
#include "smd_index.h"

struct sm_engine;
struct sm_statedir;
struct store;

/* Room for a replay step name ("uploading"). */
#define SMD_REPLAY_FROM_SIZE 16

/*
 * A task id as an operator writes it: 1 to 19 decimal digits, no sign, no
 * blank, at most INT64_MAX.  0 or SM_EINVAL.
 */
int smd_replay_parse_task_id(const char *s, int64_t *task_id);

/*
 * Plan the replay of task `task_id` from the store of `e` (persisted
 * engine; `st` its store, `sd` its state directory, for the work
 * directories), write the new run's index row and start it on `e` (its
 * first step commits at the next engine turn).  The new instance id goes to
 * `id`, the step it starts from to `from`.  Refusals, each with a message
 * in `err` that says why and what to do: SM_ENOTFOUND (no run of that
 * task; the spider's outputs are gone: use from_start), SM_EAGAIN (its
 * latest run has not ended), SM_EEXISTS (it was reported), SM_EINVAL
 * (nothing to replay: only deleting its message failed), SM_EUNSUPPORTED
 * (its machine version has no replay data), SM_ECORRUPT (its record or
 * history cannot be read); or a store or engine error.
 */
int smd_replay_start(struct sm_engine *e, struct store *st, struct sm_statedir *sd, int64_t task_id,
    int from_start, char id[SMD_INDEX_ID_SIZE], char from[SMD_REPLAY_FROM_SIZE],
    struct sm_error *err);

/*
 * A new run of task `task_id` seeded from a run of another instance (its
 * record in the bucket, `smctl replay --remote`): `inst` is the record's
 * run.instance (its "task" envelope with the message, its "machine" hash
 * and "machine_path"), `of` names it (the record's key).  The run starts
 * from "received", everything again: the other instance's work directory
 * is not here.  The machine version must be known to `e` (SM_ENOTFOUND
 * otherwise, err says so).  Then as smd_replay_start().
 */
int smd_replay_seed(struct sm_engine *e, struct store *st, int64_t task_id, const json_t *inst,
    const char *of, char id[SMD_INDEX_ID_SIZE], char from[SMD_REPLAY_FROM_SIZE],
    struct sm_error *err);

#endif
