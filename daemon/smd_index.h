/*
 * smd_index.h - the daemon's rows in the store's index table
 * (STORE_T_INDEX; docs/store.md):
 *
 *   "task_id" 0x00 <decimal task id> 0x00 <be64 n>  ->  "task-<n>"
 *       every run of a task id (smctl inspect TASK_ID shows them all);
 *   "msg" 0x00 <SQS message id> 0x00               ->  "task-<n>"
 *       the instance that owns a message: a redelivery after a restart goes
 *       to it, never to a second run.
 *
 *   "record" 0x00 <instance id> 0x00               ->  "task-<n>"
 *       a run that ended (reported or failed) whose task record is not in
 *       the bucket yet (smd_record.c; docs/daemon.md "The task record").
 *
 * A replay (smctl replay, docs/daemon.md) has no message: only its task_id
 * row.  Both rows and the instance counter are written in one transaction before
 * the instance starts; a row whose instance never committed (a crash in
 * between) is found again when the message comes back, and the instance is
 * started then under the same id.
 */
#ifndef SMD_INDEX_H
#define SMD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "sm_engine.h"
#include "sm_err.h"

struct store;
struct store_txn;

/* Room for an instance id. */
#define SMD_INDEX_ID_SIZE (SM_ENGINE_ID_MAX + 1)

/* The instance of message `message_id` into `id`: 0, SM_ENOTFOUND, or a
 * store error. */
int smd_index_find_msg(struct store *st, const char *message_id, char id[SMD_INDEX_ID_SIZE]);

/*
 * A new instance id "task-<n>" (n from the store counter "task") for
 * message `message_id` (NULL: a replay, no message row) of task `task_id`
 * (< 0: the task id could not be read; no task_id row), with its rows,
 * committed.  0 or SM_E*.
 */
int smd_index_new(struct store *st, const char *message_id, int64_t task_id,
    char id[SMD_INDEX_ID_SIZE], struct sm_error *err);

/* Call `fn` for every message row (message id, instance id) until it
 * returns nonzero.  0 or a store error. */
int smd_index_each_msg(struct store *st,
    int (*fn)(void *arg, const char *message_id, const char *instance), void *arg);

/* Call `fn` for the instance of every task_id row, in key order, until it
 * returns nonzero.  0 or a store error. */
int smd_index_each_run(struct store *st, int (*fn)(void *arg, const char *instance), void *arg);

/*
 * Call `fn` for every run of task id `task_id` (its "task_id" rows) in the
 * order the runs were made (n of "task-<n>", oldest first), with the run's
 * instance id, until it returns nonzero.  Reads in `txn` (a read
 * transaction of the caller, so that the rows and the instance records it
 * then reads are one snapshot).  A row whose value is not an instance id
 * is passed as instance NULL (the caller says the store is damaged).
 * Returns 0 (also when there is no row), or a store error.
 */
int smd_index_task_runs(
    struct store_txn *txn, int64_t task_id, int (*fn)(void *arg, const char *instance), void *arg);

/*
 * Mark the task record of run `instance` pending (1: a row, committed
 * before the run's end is acknowledged) or uploaded (0: the row goes; no
 * row is no error).  0 or SM_E* (err set).
 */
int smd_index_record_pending(
    struct store *st, const char *instance, int pending, struct sm_error *err);

/* Call `fn` for every run whose record is pending, in key order, until it
 * returns nonzero.  0 or a store error. */
int smd_index_each_record(struct store *st, int (*fn)(void *arg, const char *instance), void *arg);

#endif
