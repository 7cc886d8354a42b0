/*
 * act_logup.h - the daemon's own log in the bucket (SPEC section 4).
 *
 *   log_upload   put ctx->log_path under act_daemon_log_key() (act_names.h).  Result
 *                {"uploaded": bool} (false without a log file).
 */
#ifndef ACT_LOGUP_H
#define ACT_LOGUP_H

#include <stddef.h>
#include <stdint.h>

struct sm_engine;
struct act_ctx;

int act_logup_register(struct sm_engine *e, struct act_ctx *ctx);

#endif
