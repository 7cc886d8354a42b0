/*
 * rt_boot.h - the one bootstrap of a program that runs machines: from one
 * struct rt_config it opens, in this order,
 *
 *   the event loop -> the state directory (writer: its flock) -> the store
 *   (durability of the config) -> the transport (backend of the config) ->
 *   the engine (on that loop and store)
 *
 * and closes them in reverse.  `smctl simulate` and `smd` both start here,
 * so what the daemon does at start (lock, durability, recovery) is what
 * simulate does.
 *
 * Use:
 *   rt_config_init(&cfg); rt_config_load(&cfg, file, NULL, opts, n, &err);
 *   rt_open(&rt, &cfg, 0, &err);                 loop, statedir, store, tp, engine
 *   rt_register_actions(rt, defs, n, &err);      the action registry
 *   sm_engine_add_machine(rt_engine(rt), m);     machines instances may use
 *   sm_engine_on_done(rt_engine(rt), ...);       callbacks
 *   rt_recover(rt, &err);                        unfinished instances run on
 *   ... sm_engine_start(), sm_loop_run(rt_loop(rt)) ...
 *   rt_close(rt);
 *
 * With RT_VOLATILE nothing touches the disk: no state directory, no store,
 * no transport (an engine without persistence, for `smctl simulate`
 * without -d).
 *
 * RT_CLIENT is a program that only sends to the queues and the bucket
 * (`smctl submit`), while a daemon may hold the state directory: no engine,
 * and never the lock.  With the aws backend it opens the loop and the
 * transport only.  With the local backend the queues live in the state
 * directory's store: it opens the directory as a reader (no lock), the
 * store for writing, and the local transport on them; its queue writes are
 * transactions of their own, which LMDB serializes with the daemon's, and
 * a send wakes the daemon's long poll through <state_dir>/queue.notify
 * (docs/local-backend.md).  A state directory that does not exist yet is
 * created first as a writer would (lock taken and released at once), so a
 * daemon starting at that very moment is refused (SM_EBUSY) and must be
 * started again.
 */
#ifndef RT_BOOT_H
#define RT_BOOT_H

#include <stddef.h>

#include "sm_err.h"

struct rt;
struct rt_config;
struct sm_loop;
struct sm_statedir;
struct store;
struct sm_engine;
struct sm_action_def;
struct tp;

enum {
	RT_VOLATILE = 1 << 0,     /* loop and engine only */
	RT_NO_TRANSPORT = 1 << 1, /* no transport (a program that sends nothing) */
	RT_CLIENT = 1 << 2        /* loop and transport only, beside a daemon (below) */
};

/*
 * Open everything `cfg` describes (cfg is copied where needed and may be
 * freed after).  The state directory cfg->state_dir is opened as the
 * writer: another process holding it is SM_EBUSY, and err says who holds it
 * and what to do.  On failure *out is NULL, whatever was opened is closed
 * again, and err names the step that failed.  Codes: those of
 * sm_loop_create, sm_statedir_open, store_open, tp_create and
 * sm_engine_create.
 */
int rt_open(struct rt **out, const struct rt_config *cfg, unsigned flags, struct sm_error *err);

/*
 * Flush the engine (what the last turn produced reaches the store), then
 * destroy engine, transport, store, state directory (releasing the lock)
 * and loop.  NULL allowed.
 */
void rt_close(struct rt *rt);

/*
 * A program's own teardown inside rt_close(): `fn(arg)` runs after the
 * engine and the transport are destroyed (so no action or transport
 * callback can run any more) and before the store, the state directory and
 * the loop are closed (so what it frees may still use the loop, e.g. child
 * watchers).  One hook; a second call replaces it; fn NULL removes it.
 */
typedef void rt_close_fn(void *arg);
void rt_on_close(struct rt *rt, rt_close_fn *fn, void *arg);

/*
 * Register `n` actions with the engine (each def is copied).  SM_EEXISTS
 * (err names the action) when a name is registered twice.  Call before
 * rt_recover().
 */
int rt_register_actions(struct rt *rt, const struct sm_action_def *defs, size_t n,
    struct sm_error *err);

/*
 * Reload every unfinished instance from the store (sm_engine_recover): they
 * run on from their last commit, in-flight actions restart.  Call once,
 * after registering actions, machines and callbacks.  0 without a store.
 */
int rt_recover(struct rt *rt, struct sm_error *err);

/* The parts; NULL for those RT_VOLATILE / RT_NO_TRANSPORT left out. */
struct sm_loop *rt_loop(const struct rt *rt);
struct sm_statedir *rt_statedir(const struct rt *rt);
struct store *rt_store(const struct rt *rt);
struct tp *rt_transport(const struct rt *rt);
struct sm_engine *rt_engine(const struct rt *rt);

#endif
