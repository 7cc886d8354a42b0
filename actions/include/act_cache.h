/*
 * act_cache.h - cached results (SPEC section 6).
 *
 * An entry is JSON {"v": 1, "name": S3 base name, "keys": {"s3_key_data",
 * "s3_key_logs", "csv_data_key"}, "items": N, "saved_ms": wall ms} under the
 * cache key (64 hex chars) in the store's cache table; with the aws backend
 * also as `cache/<key>.json` in the bucket, so every instance shares it.
 *
 *   cache_lookup  params {"cache_key", "limit": "day"|"hour"|"30min"|
 *                 "15min", "msg": {"task_id", "server_name"}}: the store
 *                 first, then (aws) the bucket.  Result {"hit": true,
 *                 "name", "keys"} for an entry saved in the current
 *                 clock-aligned UTC period of `limit` (act_cache_fresh of
 *                 act_names.h), else {"hit": false}.
 *                 A hit is logged as "Got cached result for task <id>
 *                 (<server>): <name>".
 *   cache_save    params {"cache_key", "name", "keys", "items"}: write the
 *                 entry (store, then bucket).  Result {"saved": true}.
 */
#ifndef ACT_CACHE_H
#define ACT_CACHE_H

#include <stdint.h>

#define ACT_CACHE_PREFIX "cache/"

struct sm_engine;
struct act_ctx;

int act_cache_register(struct sm_engine *e, struct act_ctx *ctx);

#endif
