/*
 * act_beat.h - the daemon's heartbeat in the bucket (docs/fleet-formats.md,
 * "smd-heartbeat").
 *
 *   heartbeat   params {"stopping": bool, "marker": bool, "remove": bool}.
 *               Puts smd/instances/<instance>.json (act_heartbeat_key) with
 *               the heartbeat object of now; with "marker" first the start
 *               marker smd/started/YYYY/MM/DD/<instance>.json (the same
 *               object); with "remove" deletes the heartbeat instead (a
 *               clean stop).  Result {"put": true, "marker": bool} or
 *               {"removed": true}; a failure is error.io or error.execution
 *               (daemon.scxml logs it and tries again at the next tick).
 */
#ifndef ACT_BEAT_H
#define ACT_BEAT_H

#include <stdint.h>

#include <jansson.h>

#define ACT_BEAT_FORMAT "smd-heartbeat"
#define ACT_BEAT_VERSION 1

struct sm_engine;
struct act_ctx;

int act_beat_register(struct sm_engine *e, struct act_ctx *ctx);

/*
 * The heartbeat object at wall time `now_ms` (new reference; NULL when out
 * of memory): the daemon's names and configuration digest from `ctx`, its
 * tasks from ctx->hooks.tasks.
 */
json_t *act_beat_compose(const struct act_ctx *ctx, int stopping, int64_t now_ms);

#endif
