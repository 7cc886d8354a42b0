/*
 * sm_record.h - the engine's persisted records: instance records (table
 * instances), history records (history), inbox events (inbox) and timers
 * (timers).  This module is the one place that builds their keys, writes
 * their JSON and reads them back: the engine writes every record through
 * the sm_record_*_build functions, and every program that reads them (recovery,
 * smctl inspect, the daemon, fleet tools) reads through the readers below.
 * Formats, fields and the version rule: docs/engine.md ("Persisted JSON").
 *
 * Two values inside these records belong to the interpreter, which writes
 * and reads them (sm_interp_private.h): the session snapshot (the
 * instance record's "session", sm__session_write / sm__session_restore)
 * and the _event shape (an inbox record, a history record's "event",
 * sm__event_write / sm__event_from_json).  The writers here take the
 * interpreter's objects and let it write those values in place.
 *
 * Keys (store_key parts; docs/store.md):
 *   instances  id (bytes, no terminator)
 *   history    str id, u64 seq            (one id: oldest first)
 *   inbox      str id, u64 seq            (one id: oldest first)
 *   timers     u64 due (wall ms), str id, timer id (bytes)   (due order)
 *
 * Version rule: an instance record carries "v", the format of that
 * instance's records in every table.  A record with a higher "v" than
 * SM_RECORD_FORMAT is newer than this program: readers get SM_EVERSION (recovery
 * skips it with a log line and leaves it untouched; inspect refuses it with
 * a message).  A record without "v" or with a lower one is read as format 1
 * (the first; there is no older format to upgrade yet).  A "v" that is not
 * an integer is SM_ECORRUPT.
 */
#ifndef SM_RECORD_H
#define SM_RECORD_H

#include <stdint.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_err.h"
#include "sm_jw.h"
#include "store.h"

#define SM_RECORD_FORMAT SM_ENGINE_RECORD_FORMAT

/* The interpreter's objects the writers take (sm_interp_private.h). */
struct sm_session;
struct sm_event;
struct sm_effect;

/* ---- keys ---------------------------------------------------------------- */

/* Key builders: 0, or SM_ETOOBIG (k->overflow set) for a key over
 * STORE_KEY_MAX.  `k` is initialized by them. */
int sm_record_key_instance(struct store_key *k, const char *id);
int sm_record_key_history(struct store_key *k, const char *id, uint64_t seq);
int sm_record_key_inbox(struct store_key *k, const char *id, uint64_t seq);
/* `due` is wall clock ms (>= 0: the key holds it as an unsigned number). */
int sm_record_key_timer(struct store_key *k, int64_t due, const char *id, const char *tid);
/* The prefix of every history or inbox key of instance `id` ("id\0"). */
int sm_record_key_of(struct store_key *k, const char *id);

/* ---- writers ------------------------------------------------------------- */

/*
 * The sm_record_*_build functions print one record with the direct JSON writer
 * (sm_jw.h): they reset `w`, write the record, and return w->err, so on 0
 * the record is w->buf[0 .. w->len), to be stored under the key of the
 * matching sm_record_key_*; the buffer stays the writer's (valid until the next
 * use of `w`).  Errors (also left in w->err, so a caller may check it
 * later): SM_ENOMEM; SM_ETOOBIG for a JSON value nested deeper than
 * SM_JW_DEPTH_MAX or holding a cycle; SM_EINVAL for a required member
 * that is NULL (named in each description).  Nothing is written to a store.
 */

enum sm_record_status { SM_RECORD_RUNNING, SM_RECORD_DONE, SM_RECORD_FAILED };

/* One pending timer of an instance (borrowed values). */
struct sm_record_timer {
	const char *id;        /* the send id, or "retry:<invokeid>" */
	int64_t due;           /* wall clock ms */
	const json_t *payload; /* sm_record_timer_send / sm_record_timer_retry */
};
/* Gives an instance's timers one by one, in creation order: fills *t and
 * returns 1, or returns 0 after the last. */
typedef int sm_record_timer_next_fn(void *arg, struct sm_record_timer *t);

/*
 * What an instance record holds; every pointer is borrowed for the call.
 * Required: id.  machine, machine_name, machine_path, error NULL: "".
 */
struct sm_record_instance {
	const char *id;
	/* sha256 hex of the document (its machines/<hash> key); "" for a
	 * child session, whose document is its parent's <invoke> */
	const char *machine;
	const char *machine_name;
	const char *machine_path;
	enum sm_record_status status;
	/* SM_RECORD_DONE: the final state reached; NULL or "" when the session
	 * stopped without reaching one ("final": null) */
	const char *final;
	const char *error; /* SM_RECORD_FAILED: why */
	/* a done or failed top-level instance: its end was acknowledged
	 * (sm_engine_forget); not written for running ones and children */
	int acked;
	unsigned restarts;        /* 0: not written */
	int64_t created, updated; /* wall clock ms */
	uint64_t hist_seq;        /* last history record written */
	uint64_t inbox_seq;       /* last inbox key used by its tree */
	/* the task: task_len bytes of JSON text already serialized, or when
	 * task_text is NULL the value `task` (NULL: null) */
	const char *task_text;
	size_t task_len;
	const json_t *task;
	/* child sessions: the parent's id and its invoke id; NULL for a
	 * top-level instance */
	const char *parent;
	const char *invokeid;
	/* the session's snapshot; NULL ("session": null) for a failed instance */
	const struct sm_session *session;
	sm_record_timer_next_fn *timer_next; /* NULL: no timers */
	void *timer_arg;
};

/* The instance record (format SM_RECORD_FORMAT) of `r`. */
int sm_record_instance_build(struct sm_jw *w, const struct sm_record_instance *r);

/* Kinds of history records. */
enum sm_record_step {
	SM_RECORD_STEP_START, /* the first macrostep */
	SM_RECORD_STEP_EVENT, /* a macrostep on an external event */
	SM_RECORD_STEP_RETRY, /* an action failed and is retried later */
	SM_RECORD_STEP_ABORT, /* the session was stopped from outside */
	SM_RECORD_STEP_FAIL   /* the instance's state could not be saved */
};

/* What a history record holds; every pointer is borrowed for the call.
 * Required: session. */
struct sm_record_history {
	enum sm_record_step kind;
	uint64_t seq; /* its key's seq */
	int64_t time; /* wall clock ms */
	/* the event of the step, NULL: null */
	const struct sm_event *event;
	/* the session after the step ("to", and its machine for "from") */
	const struct sm_session *session;
	/* the configuration before the step (sm__session_active bytes), NULL:
	 * null */
	const unsigned char *from;
	/* the step's effects (a list): its invokes and cancels are "actions" */
	const struct sm_effect *effects;
	/* the step's error.execution messages (an array; NULL: []) */
	const json_t *errors;
	/* the instance failed, for this reason: "to" is [] and "errors"
	 * [failed]; NULL otherwise */
	const char *failed;
};

/* A history record. */
int sm_record_history_build(struct sm_jw *w, const struct sm_record_history *h);

/*
 * The data of a retry record's event: {"invokeid", "message",
 * "next_attempt", "delay_ms"}.  *out is a new reference (NULL on error).
 * SM_EINVAL (invokeid NULL), SM_ENOMEM.  message NULL: "".
 */
int sm_record_retry_data(
    json_t **out, const char *invokeid, const char *message, int next_attempt, int64_t delay_ms);

/* An inbox record: the _event shape of `ev`.  Required: ev. */
int sm_record_inbox_event_build(struct sm_jw *w, const struct sm_event *ev);

/*
 * Timer payloads, kept in memory by the engine and stored twice: in the
 * instance record's "timers" and as the value of its timers key.
 * *out is a new reference (NULL on error); SM_EINVAL for a required
 * argument that is NULL, SM_ENOMEM.
 *
 * A delayed send: {"kind": "send", "event": {"name", "data", "sendid"},
 * "target"}.  Required: name.  sendid is the event's _event.sendid: NULL
 * (a <send> without id or idlocation) leaves it out, and the event's
 * sendid is blank (the timer's own id is kept apart).  target NULL: null
 * (the instance's own queue); data borrowed, NULL: null.
 */
int sm_record_timer_send(
    json_t **out, const char *target, const char *name, json_t *data, const char *sendid);
/* An action retry: {"kind": "retry", "invokeid", "attempt", "error",
 * "message"}, `attempt` the attempt the timer starts.  Required: invokeid,
 * error.  message NULL: "". */
int sm_record_timer_retry(
    json_t **out, const char *invokeid, int attempt, const char *error, const char *message);
/* The value of a timers key: `payload` as it is.  Required: payload. */
int sm_record_timer_build(struct sm_jw *w, const json_t *payload);

/* ---- readers ------------------------------------------------------------- */

/*
 * Parse an instance record read under (key, kl): a JSON object that names
 * its own id and a machine.  *out is a new reference on success, NULL
 * otherwise.  SM_ECORRUPT (not JSON, not an object, "v" not an integer, no
 * machine, no id or another id than the key), SM_EVERSION (newer format,
 * see above); err's message is a predicate ("is not json", "has format 2,
 * newer than ...") to follow the record's name.
 */
int sm_record_instance_parse(
    const void *key, size_t kl, const void *val, size_t vl, json_t **out, struct sm_error *err);
/* Read and parse the record of instance `id`: as sm_record_instance_parse, and
 * SM_ENOTFOUND when there is none. */
int sm_record_instance_get(
    struct store_txn *txn, const char *id, json_t **out, struct sm_error *err);

/* A timer payload taken apart; strings and data are borrowed from it. */
enum sm_record_timer_kind {
	SM_RECORD_TIMER_OTHER, /* not a payload this program knows */
	SM_RECORD_TIMER_SEND,
	SM_RECORD_TIMER_RETRY
};
struct sm_record_timer_payload {
	enum sm_record_timer_kind kind;
	/* SM_RECORD_TIMER_SEND (members that are absent or not strings: NULL) */
	const char *target;
	const char *name;
	json_t *data; /* NULL when absent */
	const char *sendid;
	/* SM_RECORD_TIMER_RETRY */
	const char *invokeid;
	int attempt; /* 0 when absent */
	const char *error, *message;
};
/* Take `payload` apart into *out (zeroed first): 0, or SM_ECORRUPT (not an
 * object, or an unknown "kind": out->kind is SM_RECORD_TIMER_OTHER). */
int sm_record_timer_parse(const json_t *payload, struct sm_record_timer_payload *out);

/*
 * Walks.  The callback gets borrowed values (valid during the call; a
 * record that is not JSON is NULL) and returns 0 to go on or anything else
 * to stop the walk, which then returns that value; 0 at the end.  Keys that
 * are not of the table's layout (truncated, no terminator) are skipped.
 */
/* Every instance record in key order (id; children after their parent). */
typedef int sm_record_instance_fn(void *arg, const char *key, size_t kl, json_t *rec);
int sm_record_instances_each(struct store_txn *txn, sm_record_instance_fn *fn, void *arg);
/* The history of `id`, oldest first. */
typedef int sm_record_history_fn(void *arg, uint64_t seq, json_t *rec);
int sm_record_history_each(
    struct store_txn *txn, const char *id, sm_record_history_fn *fn, void *arg);
/* Inbox events (the _event shape) of `id`, or of every instance when `id`
 * is NULL, in key order (per instance: oldest first). */
typedef int sm_record_inbox_fn(void *arg, const char *id, uint64_t seq, json_t *ev);
int sm_record_inbox_each(struct store_txn *txn, const char *id, sm_record_inbox_fn *fn, void *arg);
/* Timer records (payloads) in due order; `tid` is not NUL-terminated. */
typedef int sm_record_timer_fn(
    void *arg, int64_t due, const char *id, const char *tid, size_t tidlen, json_t *payload);
int sm_record_timers_each(struct store_txn *txn, sm_record_timer_fn *fn, void *arg);

#endif
