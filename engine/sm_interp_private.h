/*
 * sm_interp_private.h - the SCXML interpreter (W3C SCXML 1.0, Appendix D)
 * as used by the engine runtime (sm_engine.c).  Not a public API.
 *
 * A session runs one machine.  It never performs an effect itself: every
 * effect (an event sent elsewhere or later, a cancel, an invocation started
 * or cancelled, a log line, the end of the session) is appended to the
 * session's effect list, which the engine takes after the macrostep has
 * been committed to the store ("commit before effects leave").  Raised
 * events and sends to "#_internal" stay inside the session.
 *
 * States are indices into machine->states; document order is index order,
 * so entry order is ascending index and exit order descending index.
 */
#ifndef SM_INTERP_PRIVATE_H
#define SM_INTERP_PRIVATE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "sm_err.h"
#include "sm_jw.h"
#include "sm_model.h"

enum sm_event_type {
	SM_EV_PLATFORM = 0,
	SM_EV_INTERNAL,
	SM_EV_EXTERNAL
};

struct sm_event {
	char *name;
	json_t *data;          /* owned reference or NULL */
	char *sendid;          /* NULL when none */
	char *origin;          /* NULL when none */
	char *invokeid;        /* set when the event comes from an invocation */
	enum sm_event_type type;
	uint64_t inbox_seq;    /* engine: key of its inbox record, 0 if none */
	struct sm_event *next;
};

/* All strings are copied; `data` is borrowed (incref'd).  NULL on ENOMEM. */
struct sm_event *sm__event_new(const char *name, json_t *data, enum sm_event_type type);
void sm__event_free(struct sm_event *ev);
/* {"name","data","sendid","origin","origintype","invokeid","type"}: the
 * _event value (origintype: the SCXML event processor's URI when origin is
 * set, else null; sm__event_write leaves it out, it follows from origin). */
json_t *sm__event_to_json(const struct sm_event *ev);
/* Inverse of sm__event_to_json (the "type" member is optional). */
struct sm_event *sm__event_from_json(json_t *j);

enum sm_effect_kind {
	SM_FX_SEND,            /* target/type/event/data/sendid/delay_ms */
	SM_FX_CANCEL,          /* sendid */
	SM_FX_INVOKE,          /* invokeid, state, inv_index, params */
	SM_FX_UNINVOKE,        /* invokeid (cancel a running invocation) */
	SM_FX_FORWARD,         /* invokeid, event: autoforward a copy */
	SM_FX_LOG,             /* text */
	SM_FX_DONE             /* session ended; final_state, data (donedata) */
};

struct sm_effect {
	enum sm_effect_kind kind;
	char *target;          /* SEND: NULL (own external queue), "#_parent",
	                          "#_<invokeid>", ... */
	char *event;           /* SEND/FORWARD: event name */
	json_t *data;          /* SEND/FORWARD/DONE data; INVOKE params */
	char *sendid;          /* SEND (always set: a timer's id), CANCEL */
	int blank_sendid;      /* SEND: `sendid` was generated for a <send> without
	                          id or idlocation: the event's sendid stays blank
	                          (sm__fx_sendid) */
	int64_t delay_ms;      /* SEND */
	char *invokeid;        /* INVOKE, UNINVOKE, FORWARD */
	int state;             /* INVOKE: state index; DONE: final state or -1 */
	int inv_index;         /* INVOKE: index into states[state].invokes */
	char *text;            /* LOG */
	uint64_t inbox_seq;    /* engine: SEND/FORWARD/DONE already written to the
	                          target's inbox under this key (0: not written) */
	int pre;               /* engine: the target was resolved before the commit */
	void *dst;             /* engine: that target (struct sm__inst; NULL when the
	                          send failed: error.communication goes to the sender) */
	struct sm_effect *next;
};

void sm__effects_free(struct sm_effect *fx);

/* The sendid the event of a SEND effect carries (NULL: blank). */
static inline const char *
sm__fx_sendid(const struct sm_effect *fx)
{
	return fx->blank_sendid ? NULL : fx->sendid;
}

/* An invocation the session considers active (its state is active). */
struct sm_invocation {
	char *invokeid;
	int state;
	int inv_index;
	int attempt;           /* actions: current attempt, 1-based */
	int finished;          /* its done/error.invoke was queued: recovery does
	                          not start it again (persisted as "finished") */
	json_t *params;        /* evaluated params (owned) or NULL */
	char *src;             /* <invoke srcexpr>: its value, the child file */
	char *doc;             /* <invoke><content expr>: the child's markup */
	struct sm_invocation *next;
};

struct sm_session;

/*
 * The machine a child SCXML invocation runs: its <invoke>'s, loaded with
 * the parent, or (srcexpr, <content expr>) one loaded now from what they
 * gave when it started; the caller frees *owned (NULL for the first kind)
 * once the child is gone.  0, or an SM_E* code with err saying why.
 */
int sm__invocation_machine(const struct sm_session *s, const struct sm_invocation *inv,
    const struct sm_machine **m, struct sm_machine **owned, struct sm_error *err);

struct sm_session;

/* Called for every transition taken (for tracing; may be NULL). */
typedef void sm_trace_fn(void *arg, struct sm_session *s, const struct sm_transition *t,
    const struct sm_event *ev);

/*
 * Create a session of `m` (borrowed; must outlive the session).  `sessionid`
 * names generated send ids.  `task` (borrowed, may be NULL) becomes
 * `task` in the datamodel of a task machine.  The session is not started.
 */
int sm__session_create(const struct sm_machine *m, const char *sessionid, json_t *task,
    struct sm_session **out, struct sm_error *err);
void sm__session_free(struct sm_session *s);
void sm__session_set_trace(struct sm_session *s, sm_trace_fn *fn, void *arg);

/* Values that override <data> initial values at start (an invoked child
 * gets its <invoke>'s params this way).  `params` is borrowed (copied). */
void sm__session_set_initial(struct sm_session *s, json_t *params);
/* Enter the initial configuration and run the first macrostep. */
int sm__session_start(struct sm_session *s);
/* Append an external event (takes ownership). */
void sm__session_push(struct sm_session *s, struct sm_event *ev);
/* Number of queued external events. */
size_t sm__session_pending(const struct sm_session *s);
/*
 * Process one external event (one macrostep).  Returns 1 if an event was
 * consumed, 0 if the queue was empty or the session has ended.  The
 * consumed event is handed to *consumed (caller frees) if not NULL.
 */
int sm__session_step(struct sm_session *s, struct sm_event **consumed);
/* Stop a running session from outside (e.g. its queue overflows): the
 * message is recorded as an error, remaining states are exited and a DONE
 * effect without a final state is produced.  No-op if not running. */
void sm__session_abort(struct sm_session *s, const char *msg);
/* 1 if effects are waiting to be taken. */
int sm__session_has_effects(const struct sm_session *s);
/* Take every queued external event (a list linked by `next`; caller frees
 * each with sm__event_free), e.g. when the session has ended. */
struct sm_event *sm__session_take_queue(struct sm_session *s);
/* The queued external events (a list linked by `next`; borrowed). */
const struct sm_event *sm__session_queue(const struct sm_session *s);
/* Take the effects produced so far (caller frees with sm__effects_free). */
struct sm_effect *sm__session_take_effects(struct sm_session *s);
/* Errors (error.execution messages) since the last call, as a JSON array (new ref). */
json_t *sm__session_take_errors(struct sm_session *s);
/* The same errors, borrowed (may be NULL), and forgetting them. */
json_t *sm__session_errors(struct sm_session *s);
void sm__session_clear_errors(struct sm_session *s);

int sm__session_running(const struct sm_session *s);
/* Id of the top-level final state reached, or NULL. */
const char *sm__session_final(const struct sm_session *s);
const struct sm_machine *sm__session_machine(const struct sm_session *s);
struct sm_invocation *sm__session_invocations(struct sm_session *s);
struct sm_invocation *sm__session_invocation(struct sm_session *s, const char *invokeid);
/* The active configuration as a JSON array of state ids in document order. */
json_t *sm__session_config_json(const struct sm_session *s);
/* The datamodel root (NULL for the null datamodel); borrowed. */
json_t *sm__session_datamodel(struct sm_session *s);

/*
 * Persistence: the whole state of a session between macrosteps, as JSON
 * (see docs/engine.md), and back.  sm__session_restore() takes a session
 * fresh from sm__session_create() (not started).  The saved tree shares
 * the datamodel and donedata with the session (references, not copies):
 * dump it before the session runs again.
 */
json_t *sm__session_save(const struct sm_session *s);

/*
 * Nesting limit of a datamodel (the writer refuses over 1000 levels, and
 * Jansson's parser over 2048 when a record is read back): a task, event data
 * or action result deeper than SM_DM_DEPTH_MAX - 1 is refused where it enters,
 * an <assign> that would nest the datamodel deeper raises error.execution.
 */
#define SM_DM_DEPTH_MAX 900
/* Nesting depth of v (a scalar or an empty container is 1), counted up to
 * `cap` + 1 at most (so a cycle or a huge depth costs little). */
int sm__json_depth(const json_t *v, int cap);
/* The _event shape of sm__event_to_json, without origintype. */
void sm__event_write(const struct sm_event *ev, struct sm_jw *w);
/* A configuration (one byte per state, as sm__session_active) as an array of ids. */
void sm__config_write(const struct sm_machine *m, const unsigned char *active, struct sm_jw *w);
/* The configuration: m->nstates bytes, 1 = active (borrowed, changes with steps). */
const unsigned char *sm__session_active(const struct sm_session *s);
/* What sm__session_save returns, written directly (same members, same order). */
void sm__session_write(const struct sm_session *s, struct sm_jw *w);
int sm__session_restore(struct sm_session *s, json_t *state, struct sm_error *err);

/* Event descriptor matching ("foo" matches "foo" and "foo.bar", not "foos"). */
int sm__event_match(char *const *descriptors, const char *name);

/* ---- actions (sm_action.c) ----------------------------------------------- */

struct sm_engine;
struct sm__inst;
struct sm_action_def;

struct sm__actions {
	struct sm_action_def *v;   /* names are owned copies */
	size_t n, cap;
};

int sm__actions_add(struct sm__actions *r, const struct sm_action_def *def);
const struct sm_action_def *sm__actions_find(const struct sm__actions *r, const char *name);
void sm__actions_free(struct sm__actions *r);

struct sm_action_call {
	struct sm_engine *engine;
	struct sm__inst *inst;
	char *instance_id;
	char *invokeid;
	char *name;
	json_t *params;            /* never NULL */
	int attempt;
	const struct sm_action_def *def;
	void *data;
	int finished;              /* reported or cancelled: awaiting release */
	struct sm_action_call *next;
};

/* NULL on ENOMEM; params borrowed (NULL: {}). */
struct sm_action_call *sm__call_new(struct sm_engine *e, struct sm__inst *inst,
    const char *instance_id, const char *invokeid, const struct sm_action_def *def,
    json_t *params, int attempt);
void sm__call_free(struct sm_action_call *c);

#endif
