/*
 * sm_record.h - the keys and readers of the engine's persisted records:
 * instance records (table instances), history records (history), inbox
 * events (inbox) and timers (timers).  The engine owns those tables; every
 * key of them is built here with the store's key API, and every program
 * that reads them (recovery, smctl inspect, the daemon, fleet tools) reads
 * through these functions.  Formats and the version rule: docs/engine.md.
 *
 * Keys (store_key parts; docs/store.md):
 *   instances  id (bytes, no terminator)
 *   history    str id, u64 seq
 *   inbox      str id, u64 seq
 *   timers     u64 due (wall ms), str id, timer id (bytes)
 *
 * Version rule: an instance record carries "v".  A record with a higher
 * "v" than SMR_FORMAT is newer than this program: readers get SM_EVERSION
 * (recovery skips it with a log line and leaves it untouched; inspect
 * refuses it with a message).  A record without "v" or with a lower one is
 * read as format 1 (the first; there is no older format to upgrade yet).
 */
#ifndef SM_RECORD_H
#define SM_RECORD_H

#include <stdint.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_err.h"
#include "store.h"

#define SMR_FORMAT SM_ENGINE_RECORD_FORMAT

/* Key builders: 0, or SM_ETOOBIG (k->overflow set) for a key over
 * STORE_KEY_MAX.  `k` is initialized by them. */
int smr_key_instance(struct store_key *k, const char *id);
int smr_key_history(struct store_key *k, const char *id, uint64_t seq);
int smr_key_inbox(struct store_key *k, const char *id, uint64_t seq);
int smr_key_timer(struct store_key *k, int64_t due, const char *id, const char *tid);
/* The prefix of every history or inbox key of instance `id` ("id\0"). */
int smr_key_of(struct store_key *k, const char *id);

/*
 * Parse an instance record read under (key, kl): a JSON object that names
 * its own id and a machine.  *out is a new reference on success, NULL
 * otherwise.  SM_ECORRUPT (not JSON, not an object, no machine, no id or
 * another id than the key), SM_EVERSION (newer format, see above); err's
 * message is a predicate ("is not json", "has format 2, newer than ...")
 * to follow the record's name.
 */
int smr_instance_parse(const void *key, size_t kl, const void *val, size_t vl, json_t **out,
    struct sm_error *err);
/* Read and parse the record of instance `id`: as smr_instance_parse, and
 * SM_ENOTFOUND when there is none. */
int smr_instance_get(struct store_txn *txn, const char *id, json_t **out, struct sm_error *err);

/*
 * Walks.  The callback gets borrowed values (valid during the call; a
 * record that is not JSON is NULL) and returns 0 to go on or anything else
 * to stop the walk, which then returns that value; 0 at the end.
 */
/* Every instance record in key order (id; children after their parent). */
typedef int smr_instance_fn(void *arg, const char *key, size_t kl, json_t *rec);
int smr_instances_each(struct store_txn *txn, smr_instance_fn *fn, void *arg);
/* The history of `id`, oldest first. */
typedef int smr_history_fn(void *arg, uint64_t seq, json_t *rec);
int smr_history_each(struct store_txn *txn, const char *id, smr_history_fn *fn, void *arg);
/* Inbox events (the _event shape) of `id`, or of every instance when `id`
 * is NULL, in key order (per instance: oldest first). */
typedef int smr_inbox_fn(void *arg, const char *id, uint64_t seq, json_t *ev);
int smr_inbox_each(struct store_txn *txn, const char *id, smr_inbox_fn *fn, void *arg);
/* Timer records (payloads) in due order; `tid` is not NUL-terminated. */
typedef int smr_timer_fn(void *arg, int64_t due, const char *id, const char *tid,
    size_t tidlen, json_t *payload);
int smr_timers_each(struct store_txn *txn, smr_timer_fn *fn, void *arg);

#endif
