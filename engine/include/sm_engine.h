/*
 * sm_engine.h - the engine runtime: instances of loaded machines running on
 * the process's event loop, with every macrostep persisted to the store
 * before its effects leave the process.
 *
 * Use:
 *   sm_engine_create(&e, loop, store, &err);      store NULL: volatile
 *   sm_engine_register_action(e, &def);           every action, first
 *   sm_engine_add_machine(e, m);                  machines you will start
 *   sm_engine_recover(e, &err);                   reload what the store holds
 *   sm_engine_start(e, m, "task-42", task, &err); new instance
 *   sm_engine_post(e, "task-42", "cancel", NULL); external event
 *   ... sm_loop_run(loop) ...
 *   sm_engine_destroy(e);
 *
 * Everything happens on the loop: the engine registers a prepare hook
 * that, once per loop turn, runs the macrosteps of every instance with
 * queued events, writes the results (instance state, history record,
 * inbox removal, timers) into ONE store batch, commits it, and only then
 * performs the effects (starts/cancels actions, delivers events to other
 * sessions, arms timers, logs).  sm_engine_flush() does the same at once.
 *
 * The persisted formats (instance state, history records, timers) are in
 * docs/engine.md.  All functions run on the loop thread only.
 */
#ifndef SM_ENGINE_H
#define SM_ENGINE_H

#include <stdint.h>

#include <jansson.h>

#include "sm_err.h"

struct sm_engine;
struct sm_loop;
struct store;
struct sm_machine;
struct sm_action_call;

/* ---- actions ------------------------------------------------------------- */

/*
 * A named action that machines invoke with
 *   <invoke type="urn:smd:scxml:1" src="NAME" id="..."> <param .../> </invoke>
 *
 * start(call): begin the work; return 0, or a negative SM_E* code when it
 * could not even start (treated like sm_action_fail(call, "error.execution",
 * ...)).  Later, from any loop callback (or from start itself), the action
 * reports exactly once with sm_action_done() or sm_action_fail().
 * cancel(call): the invoking state was left (or the engine is being
 * destroyed) before the action reported: stop the work and release what the
 * call holds; after cancel returns, the call is gone and must not be used.
 * cancel may be NULL.  `arg` is handed back through sm_action_call_arg().
 */
struct sm_action_def {
	const char *name;
	int (*start)(struct sm_action_call *call);
	void (*cancel)(struct sm_action_call *call);
	void *arg;
};

/* The call's context; all pointers are owned by the call and valid until
 * the action reports (done/fail) or is cancelled. */
struct sm_engine *sm_action_call_engine(const struct sm_action_call *call);
const char *sm_action_call_instance(const struct sm_action_call *call);
const char *sm_action_call_invokeid(const struct sm_action_call *call);
const char *sm_action_call_name(const struct sm_action_call *call);
/* The evaluated <param>s as one JSON object (borrowed; never NULL). */
json_t *sm_action_call_params(const struct sm_action_call *call);
/* 1-based; persisted: after a restart the count continues. */
int sm_action_call_attempt(const struct sm_action_call *call);
void *sm_action_call_arg(const struct sm_action_call *call);
/* A slot for the action's own per-call state. */
void sm_action_call_set_data(struct sm_action_call *call, void *data);
void *sm_action_call_data(const struct sm_action_call *call);

/*
 * Report success: the instance gets done.invoke.<id> with _event.data =
 * result (borrowed; NULL means null).  The call is invalid afterwards.
 * A result nested deeper than 899 levels cannot be stored: the call fails
 * with error.execution instead (retried as the invoke's policy says).
 */
int sm_action_done(struct sm_action_call *call, json_t *result);
/*
 * Report failure with an error event name ("error.timeout", "error.io",
 * ...; NULL means "error.execution") and a message.  If the invoke's retry
 * policy allows another attempt for that error, the next attempt is
 * scheduled through a persisted timer; otherwise the instance gets
 * error.invoke.<id> with _event.data = {"error": name, "message": msg,
 * "attempt": n}.  The call is invalid afterwards.
 */
int sm_action_fail(struct sm_action_call *call, const char *error, const char *message);

/* ---- retry policy helpers (struct sm_retry of sm_model.h) ---------------- */

struct sm_retry;
/* 1 if a failure of attempt `attempt` (1-based) with error event `error`
 * gets another attempt under `r`. */
int sm_retry_should(const struct sm_retry *r, int attempt, const char *error);
/*
 * Delay before attempt `attempt + 1` after attempt `attempt` failed:
 * min(max_delay, initial_delay * backoff_rate^(attempt-1)); with full
 * jitter a uniform value in [0, that] chosen from `rnd` (any 64-bit random
 * number).
 */
int64_t sm_retry_delay_ms(const struct sm_retry *r, int attempt, uint64_t rnd);

/* ---- the engine ---------------------------------------------------------- */

/*
 * Create an engine on `loop` (borrowed) with `store` (borrowed; NULL: no
 * persistence).  Registers a prepare hook on the loop.
 */
int sm_engine_create(struct sm_engine **out, struct sm_loop *loop, struct store *store,
    struct sm_error *err);
/* Cancels running actions (their cancel is called), frees every instance;
 * the store keeps what was committed.  NULL allowed. */
void sm_engine_destroy(struct sm_engine *e);

/* `def` is copied (def->name too).  SM_EEXISTS when the name is taken. */
int sm_engine_register_action(struct sm_engine *e, const struct sm_action_def *def);
/* 1 if an action of that name is registered (matches sm_load_opts.action_known). */
int sm_engine_action_known(void *engine, const char *name);

/*
 * Make a machine known (borrowed: it must outlive the engine), so that
 * recovery uses it for instances of the same document hash instead of
 * reloading the stored document.
 */
int sm_engine_add_machine(struct sm_engine *e, const struct sm_machine *m);

/*
 * The machine whose document hash (64 hex digits, an instance record's
 * "machine") is `hash`: one made known with sm_engine_add_machine(), or
 * else the document stored under that hash (table machines), loaded and
 * kept by the engine until sm_engine_destroy() (child documents named by
 * src= are resolved relative to `path`, the record's "machine_path"; NULL
 * allowed), as recovery does.  *out is borrowed.  0, SM_ENOTFOUND (err
 * says why: not stored, or the stored document does not load any more, which
 * is logged), or a store error.
 */
int sm_engine_machine_for_hash(struct sm_engine *e, const char *hash, const char *path,
    const struct sm_machine **out, struct sm_error *err);

/*
 * Reload every unfinished instance from the store, as committed: re-arm
 * its timers (overdue ones fire at once, in due order), requeue its inbox, and restart
 * its in-flight invocations (actions with attempt+1); child SCXML sessions
 * are restored from their own records (one that had not committed its
 * first step starts from scratch).  A top-level instance that ended but
 * was not acknowledged (sm_engine_forget) is loaded as finished and its
 * end reported again through the done callback after the first commit.
 * Call once, after registering actions and machines.
 * Returns 0 (also without a store) or an error for an unreadable store; an
 * instance that cannot be reloaded is logged and skipped.
 */
int sm_engine_recover(struct sm_engine *e, struct sm_error *err);

/*
 * Recovery counts, per top-level instance, the restarts that found actions
 * in flight (persisted in the instance record as "restarts").  With `max`
 * > 0, an instance whose count goes past `max` gets the external event
 * error.restarts with data {"restarts": n, "max": max} (after its actions
 * restarted), so a task that crashes the daemon cannot crash-loop it; the
 * machine decides what to do.  0 (the default): no limit.  Set it before
 * sm_engine_recover().
 */
void sm_engine_set_max_restarts(struct sm_engine *e, unsigned max);

/*
 * Instance ids: 1 to SM_ENGINE_ID_MAX bytes, no control characters and no
 * '/' (child sessions are named "<parent id>/<invokeid>"; their ids are
 * limited to SM_ENGINE_CHILD_ID_MAX bytes, a longer one fails the invoke
 * with error.execution), so that every store key derived from an id stays
 * under STORE_KEY_MAX.
 */
#define SM_ENGINE_ID_MAX 200
/* The format number ("v") of the instance records this engine writes; a
 * record with a higher one is skipped by recovery and refused by smctl. */
#define SM_ENGINE_RECORD_FORMAT 1
#define SM_ENGINE_CHILD_ID_MAX 240

/*
 * Start a new instance `id` of `m` (borrowed: must outlive the instance)
 * with `task` (borrowed, copied; NULL: {}) as `task` in the datamodel.
 * The instance enters its initial configuration at the next engine turn.
 * SM_EEXISTS if an instance with that id is loaded or stored; SM_EINVAL
 * for an id that breaks the rules above (err says which); SM_ETOOBIG for a
 * task nested deeper than 899 levels (the datamodel could not be stored).
 * Any JSON string is kept, NUL bytes included.
 */
int sm_engine_start(struct sm_engine *e, const struct sm_machine *m, const char *id,
    json_t *task, struct sm_error *err);

/* Queue an external event (data borrowed, may be NULL).  SM_ENOTFOUND if
 * no running instance has that id; SM_ETOOBIG (logged) for data nested
 * deeper than 899 levels. */
int sm_engine_post(struct sm_engine *e, const char *id, const char *event, json_t *data);

/* Run pending macrosteps, commit, perform effects, until nothing is
 * pending (what the prepare hook does each turn). */
int sm_engine_flush(struct sm_engine *e, struct sm_error *err);

enum sm_instance_state {
	SM_INSTANCE_RUNNING = 0,
	SM_INSTANCE_DONE = 1,
	SM_INSTANCE_FAILED = 2  /* its state could not be saved: record "failed" */
};

struct sm_instance_status {
	enum sm_instance_state state;
	char final_id[128];     /* top-level final state reached ("" if none) */
	uint64_t steps;         /* history records written */
};

/* Status of a loaded (or, with a store, stored) instance; SM_ENOTFOUND. */
int sm_engine_instance_status(struct sm_engine *e, const char *id,
    struct sm_instance_status *out);
/* The instance's active configuration (new ref: array of ids) or NULL. */
json_t *sm_engine_instance_config(struct sm_engine *e, const char *id);
/* The instance's datamodel (new ref: deep copy) or NULL. */
json_t *sm_engine_instance_datamodel(struct sm_engine *e, const char *id);
/*
 * Acknowledge a finished instance's end and drop it from memory (its record
 * stays in the store, where sm_engine_instance_status still finds it).  A
 * daemon calls this once it has dealt with the end (reported it, deleted
 * the message): the acknowledgement is committed with the next turn, and
 * until then a recovery reports the end again through the done callback
 * (at least once).  SM_EBUSY if it is still running, SM_ENOTFOUND if it is
 * not loaded.
 */
int sm_engine_forget(struct sm_engine *e, const char *id);

/* Number of loaded instances that are still running. */
size_t sm_engine_running_count(const struct sm_engine *e);

/* Called after the commit that ended an instance (top-level only):
 * `final_id` the final state reached, `donedata` borrowed (may be NULL). */
typedef void sm_engine_done_fn(struct sm_engine *e, const char *id, const char *final_id,
    json_t *donedata, void *arg);
/* (`final_id` is "" when the session was stopped without reaching a final
 * state, e.g. a macrostep that never settles.  The callback may start,
 * post and forget, but must not destroy the engine.) */
void sm_engine_on_done(struct sm_engine *e, sm_engine_done_fn *fn, void *arg);

/* Tracing: called for every transition taken, before it is committed.
 * `from` is the transition's source state id, `targets` a space separated
 * list ("" for a targetless transition), `event` the event name or NULL. */
typedef void sm_engine_trace_fn(struct sm_engine *e, const char *id, const char *event,
    const char *from, const char *targets, void *arg);
void sm_engine_on_trace(struct sm_engine *e, sm_engine_trace_fn *fn, void *arg);

/* <log> lines (after the commit), the text as evaluated; default: one
 * sm_log_info line with control characters and backslash shown as \xNN. */
typedef void sm_engine_log_fn(struct sm_engine *e, const char *id, const char *text, void *arg);
void sm_engine_on_log(struct sm_engine *e, sm_engine_log_fn *fn, void *arg);

/* ---- test hook: fault points --------------------------------------------- */

/*
 * Crash tests kill the process at each of these points in turn (see
 * test/crash/test_crash_steps.c).  A probe runs on the loop thread with the
 * kind of point and a running count of probe calls in this engine (1, 2,
 * ...; counted only while a probe is set).  It must not call back into the
 * engine; it may end the process.  Unset (the default), the points cost one
 * NULL test.
 */
enum sm_probe_kind {
	SM_PROBE_BEFORE_COMMIT = 1, /* a batch is about to be committed */
	SM_PROBE_AFTER_COMMIT = 2,  /* that commit succeeded, no effect performed yet */
	SM_PROBE_BEFORE_EFFECT = 3  /* a committed effect (send, invoke, cancel, log,
	                               done callback) is about to be performed */
};
typedef void sm_engine_probe_fn(struct sm_engine *e, enum sm_probe_kind kind, uint64_t n,
    void *arg);
/* Set (fn non-NULL) or clear the probe; the count restarts at 0. */
void sm_engine_on_probe(struct sm_engine *e, sm_engine_probe_fn *fn, void *arg);

#endif
