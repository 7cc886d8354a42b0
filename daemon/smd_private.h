/*
 * smd_private.h - what the files of daemon/ share (prefix smd__).
 */
#ifndef SMD_PRIVATE_H
#define SMD_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#ifndef SMD_VERSION
#define SMD_VERSION "0.1.0"
#endif

struct sm_engine;
struct act_ctx;
struct rt_config;
struct sm_statedir;

/* task_id of a message body when readable (act_task_peek), else -1. */
void smd__peek_task_id(const char *body, size_t len, int64_t *task_id);

/*
 * The spiders of this daemon (smd_spider.c): the actions spider_start,
 * spider_wait and pack, and the table of child processes they share
 * (pid -> exit status), which outlives each action: spider_start spawns,
 * spider_wait adopts.  `cfg` is borrowed and may be replaced (SIGHUP) with
 * smd__spiders_config().
 */
struct smd__spiders;
int smd__register_task_actions(struct sm_engine *e, struct act_ctx *ctx,
    const struct rt_config *cfg, struct sm_statedir *sd, struct smd__spiders **out);
void smd__spiders_config(struct smd__spiders *sp, const struct rt_config *cfg);
/* Kill every spider still running (SIGKILL to its group) and free. */
void smd__spiders_free(struct smd__spiders *sp);

/* Kill the process group of every spider recorded in <state>/work/<x>/
 * spider.pid that is still alive (same pid and start time). */
void smd__sweep_orphans(const struct rt_config *cfg, struct sm_statedir *sd);

#endif
