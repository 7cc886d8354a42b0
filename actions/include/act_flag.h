/*
 * act_flag.h - the stop flag (SPEC section 7).
 *
 *   stop_flag   GET `scrapy_daemon_stop_flag` from the bucket.  Result
 *               {"stop": true} while it reads "true" (case and surrounding
 *               blanks ignored), {"stop": false} otherwise or when it does
 *               not exist.  A failed read is error.io (the daemon pauses).
 */
#ifndef ACT_FLAG_H
#define ACT_FLAG_H

#include <stddef.h>

#define ACT_FLAG_KEY "scrapy_daemon_stop_flag"

struct sm_engine;
struct act_ctx;

int act_flag_register(struct sm_engine *e, struct act_ctx *ctx);

/* 1 if the flag object's bytes say "true". */
int act_flag_is_true(const void *data, size_t len);

#endif
