/*
 * act_logup.h - the daemon's own log in the bucket (SPEC section 4).
 *
 *   log_upload   put ctx->log_path under act_logup_key().  Result
 *                {"uploaded": bool} (false without a log file).
 */
#ifndef ACT_LOGUP_H
#define ACT_LOGUP_H

#include <stddef.h>
#include <stdint.h>

struct sm_engine;
struct act_ctx;

int act_logup_register(struct sm_engine *e, struct act_ctx *ctx);

/*
 * "YYYY/MM/DD/DD-MM-YYYY____<instance>____remote_instance_starter2.log"
 * for the UTC date of `wall_ms` into `out`.  0, or SM_ETOOBIG when `size`
 * is too small.
 */
int act_logup_key(int64_t wall_ms, const char *instance, char *out, size_t size);

#endif
