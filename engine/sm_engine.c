/*
 * sm_engine.c - the runtime: instances, timers, actions and persistence.
 *
 * One engine turn (the loop's prepare hook, or sm_engine_flush):
 *   1. every ready instance runs its macrosteps in memory; each macrostep
 *      appends its history record, the consumed inbox event's removal, new
 *      timer records and finally the instance state to one store batch;
 *   2. the batch is committed (one LMDB write transaction for all);
 *   3. only then the recorded effects are performed, in order: events
 *      delivered to sessions, actions started or cancelled, timers armed,
 *      log lines written.  Delivered events make instances ready again, so
 *      the turn repeats until nothing is ready.
 * Child SCXML sessions (<invoke> of a document) run in the same engine and
 * are persisted as their own records "<parent id>/<invokeid>"; every event
 * between persisted sessions is written to its target's inbox in the batch
 * of the macrostep that sent it (precommit), so each commit is a
 * consistent snapshot of a parent, its children and the events between them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm_engine.h"
#include "sm_interp_private.h"
#include "sm_text.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "sm_rand.h"
#include "sm_record.h"
#include "store.h"

#define SM_MAX_QUEUED 100000   /* external events queued per instance */
#define MAX_ROUNDS 256   /* per turn; more work continues next turn */

struct eng_timer {
	struct sm__inst *inst;
	char *tid;             /* sendid, or "retry:<invokeid>" */
	int64_t due;           /* wall clock ms */
	json_t *payload;
	uint64_t loop_id;      /* 0 while not armed */
	uint64_t seq;          /* creation order: ties of `due` fire in this order */
	struct eng_timer *next;
};

struct sm__inst {
	struct sm_engine *e;
	char *id;
	const struct sm_machine *m;
	struct sm_machine *own_m; /* a child machine loaded when it was invoked
	                             (srcexpr, <content expr>): freed with it */
	struct sm_session *s;
	json_t *task;
	char *task_txt;        /* the task serialized once (it never changes) */
	size_t task_len;
	struct sm__inst *parent;
	char *parent_invokeid;
	struct sm__inst *children;
	struct sm__inst *sibling;
	struct sm__inst *hnext;
	struct sm__inst *ready_next;
	int in_ready;
	struct sm__inst *touched_next;
	int in_touched;
	struct eng_timer *timers;
	struct sm_action_call *calls;
	int started;
	int done;
	int removed;
	int persist;
	int cancelling;        /* a child whose parent cancelled it (store mode):
	                          its record is deleted, it runs no more steps */
	int recovered;         /* loaded by sm_engine_recover, invocations pending */
	int aborted;           /* stopped by an event storm: further events dropped */
	int acked;             /* done, and the daemon acknowledged it (forget) */
	unsigned restarts;     /* recoveries that found actions in flight */
	int failed;            /* top-level: its state could not be saved (error) */
	char *error;           /* why it failed */
	/* top-level only: the records of its tree (itself and its children)
	 * gathered in this turn, committed with every other tree's in one
	 * transaction, or left out as a whole (tree_fail) */
	struct store_batch *batch;
	int in_dirty;          /* in e->dirty: batch has records of this turn */
	struct sm__inst *dirty_next;
	int bad;               /* a record of this turn could not be queued */
	char bad_msg[200];
	uint64_t hist_seq_c;   /* hist_seq and inbox_seq as last committed */
	uint64_t inbox_seq_c;
	uint64_t hist_seq;
	uint64_t inbox_seq;    /* top-level: last inbox key used by any session of
	                          its tree (children draw their keys from it) */
	int64_t created;
	char final_id[128];
	struct sm__inst *grave_next;
};

struct pending {
	struct sm__inst *inst;
	struct sm_effect *fx;
	struct pending *next;
};

struct known_machine {
	const struct sm_machine *m;
	int owned;
	char hash[65];
};

struct sm_engine {
	struct sm_loop *loop;
	struct store *store;
	struct store_batch *batch;
	struct sm__actions actions;
	struct sm__inst **buckets;
	size_t nbuckets;
	size_t ninst;
	struct sm__inst *ready_head, *ready_tail;
	struct sm__inst *touched;
	struct sm__inst *dirty;    /* top-level instances with records this turn */
	struct pending *pend_head, *pend_tail;
	struct pending *defer_head, *defer_tail; /* effects that wait for the commit */
	struct store_batch **bv;   /* scratch for store_batch_commit_many */
	size_t bvcap;
	int commit_failures;       /* consecutive failed commits (0: the last worked) */
	uint64_t retry_at;         /* monotonic ms of the next commit attempt */
	struct sm__inst *grave;
	struct known_machine *machines;
	size_t nmachines;
	json_t *stored_machines;   /* set of hashes written this session */
	int in_flush;
	struct sm_jw jw;           /* reusable writer for every store record */
	unsigned char *from;       /* configuration before a step */
	size_t fromcap;
	uint64_t timer_seq;        /* last eng_timer.seq given */
	struct eng_timer **armv;   /* scratch: timers to arm, by (due, seq) */
	size_t armcap;
	struct sm_rng rng;         /* retry jitter */
	sm_engine_done_fn *done_fn;
	void *done_arg;
	sm_engine_trace_fn *trace_fn;
	void *trace_arg;
	sm_engine_log_fn *log_fn;
	void *log_arg;
	unsigned max_restarts;          /* 0: no limit (sm_engine_set_max_restarts) */
	sm_engine_probe_fn *probe_fn;   /* test hook: fault points */
	void *probe_arg;
	uint64_t probe_n;
};

static void inst_ready(struct sm__inst *in);
static void inst_free(struct sm__inst *in);

/* A fault point for crash tests (sm_engine_on_probe). */
static inline void
probe(struct sm_engine *e, enum sm_probe_kind kind)
{
	if (e->probe_fn)
		e->probe_fn(e, kind, ++e->probe_n, e->probe_arg);
}

/* ---- small helpers ------------------------------------------------------ */

static size_t
hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct sm__inst *
inst_find(struct sm_engine *e, const char *id)
{
	struct sm__inst *in;

	if (!e->nbuckets)
		return NULL;
	for (in = e->buckets[hash_str(id) % e->nbuckets]; in; in = in->hnext)
		if (strcmp(in->id, id) == 0)
			return in;
	return NULL;
}

static int
inst_insert(struct sm_engine *e, struct sm__inst *in)
{
	size_t b;

	if (e->ninst + 1 > e->nbuckets) {
		size_t nb = e->nbuckets ? e->nbuckets * 2 : 64, i;
		struct sm__inst **nv = calloc(nb, sizeof(*nv));

		if (!nv)
			return SM_ENOMEM;
		for (i = 0; i < e->nbuckets; i++) {
			struct sm__inst *x = e->buckets[i], *nx;

			for (; x; x = nx) {
				nx = x->hnext;
				b = hash_str(x->id) % nb;
				x->hnext = nv[b];
				nv[b] = x;
			}
		}
		free(e->buckets);
		e->buckets = nv;
		e->nbuckets = nb;
	}
	b = hash_str(in->id) % e->nbuckets;
	in->hnext = e->buckets[b];
	e->buckets[b] = in;
	e->ninst++;
	return 0;
}

static struct sm__inst *inst_root(struct sm__inst *in);

/* A record of `in`'s tree could not be queued: the tree's records of this
 * turn will not be committed (tree_fail); the first reason is kept. */
static void
tree_bad(struct sm__inst *in, const char *what, int code)
{
	struct sm__inst *root = inst_root(in);

	if (root->bad)
		return;
	root->bad = 1;
	snprintf(root->bad_msg, sizeof(root->bad_msg), "%s of '%s' cannot be %s: %s",
	    in == root ? "a store record" : "a store record of child session", in->id, what,
	    sm_strerror(code));
}

/* The batch of `in`'s tree for this turn (NULL when out of memory). */
static struct store_batch *
tree_batch(struct sm__inst *in)
{
	struct sm__inst *root = inst_root(in);
	struct sm_engine *e = root->e;

	if (!root->batch && store_batch_create(&root->batch) != 0) {
		tree_bad(root, "queued", SM_ENOMEM);
		return NULL;
	}
	if (!root->in_dirty) {
		root->in_dirty = 1;
		root->dirty_next = e->dirty;
		e->dirty = root;
	}
	return root->batch;
}

/* Queue the writer's record of `in` under `key`; 0 or an SM_E* code
 * (logged; the tree's records of this turn are then left out). */
static int
batch_put_jw(struct sm__inst *in, enum store_table t, const void *key, size_t klen)
{
	struct sm_engine *e = in->e;
	struct store_batch *b = tree_batch(in);
	int rc;

	if (e->jw.err) {
		sm_log_error("engine: cannot serialize a store record of '%s': %s", in->id,
		    sm_strerror(e->jw.err));
		tree_bad(in, "serialized", e->jw.err);
		return e->jw.err;
	}
	rc = b ? store_batch_put(b, t, key, klen, e->jw.buf, e->jw.len) : SM_ENOMEM;
	if (rc != 0) {
		sm_log_error("engine: cannot queue a store record of '%s' (key of %zu bytes): %s",
		    in->id, klen, sm_strerror(rc));
		tree_bad(in, "queued", rc);
	}
	return rc;
}

static void
batch_del(struct sm__inst *in, enum store_table t, const void *key, size_t klen)
{
	struct store_batch *b;
	int rc;

	if (!in->e->store)
		return;
	b = tree_batch(in);
	rc = b ? store_batch_del(b, t, key, klen) : SM_ENOMEM;
	if (rc != 0) {
		sm_log_error("engine: cannot queue a store deletion of '%s' (key of %zu bytes): %s",
		    in->id, klen, sm_strerror(rc));
		tree_bad(in, "deleted", rc);
	}
}

static const struct known_machine *
machine_known(struct sm_engine *e, const struct sm_machine *m)
{
	size_t i;

	for (i = 0; i < e->nmachines; i++)
		if (e->machines[i].m == m)
			return &e->machines[i];
	return NULL;
}

static int
machine_register(struct sm_engine *e, const struct sm_machine *m, int owned)
{
	struct known_machine *nv;

	if (machine_known(e, m))
		return 0;
	nv = realloc(e->machines, (e->nmachines + 1) * sizeof(*nv));
	if (!nv)
		return SM_ENOMEM;
	e->machines = nv;
	nv[e->nmachines].m = m;
	nv[e->nmachines].owned = owned;
	sm_machine_hash_hex(m, nv[e->nmachines].hash);
	e->nmachines++;
	return 0;
}

/* ---- instances ---------------------------------------------------------- */

static void
engine_trace(void *arg, struct sm_session *s, const struct sm_transition *t,
    const struct sm_event *ev)
{
	struct sm__inst *in = arg;
	const struct sm_machine *m = sm__session_machine(s);
	char targets[1024];
	size_t i, off = 0;

	if (!in->e->trace_fn)
		return;
	targets[0] = 0;
	for (i = 0; i < t->ntargets; i++) {
		int n = snprintf(targets + off, sizeof(targets) - off, "%s%s", i ? " " : "",
		    m->states[t->targets[i]].id);

		if (n < 0 || (size_t)n >= sizeof(targets) - off)
			break;
		off += (size_t)n;
	}
	in->e->trace_fn(in->e, in->id, ev ? ev->name : NULL, m->states[t->source].id, targets,
	    in->e->trace_arg);
}

static struct sm__inst *
inst_new(struct sm_engine *e, const struct sm_machine *m, const char *id,
    json_t *task, struct sm_error *err)
{
	struct sm__inst *in = calloc(1, sizeof(*in));

	if (!in) {
		sm_error_set(err, SM_ENOMEM, "out of memory creating instance '%s'", id);
		return NULL;
	}
	in->e = e;
	in->m = m;
	in->id = strdup(id);
	in->task = task ? json_deep_copy(task) : json_object();
	in->created = sm_time_wall_ms();
	if (in->id && in->task) {
		struct sm_jw w = { 0 };

		sm_jw_json(&w, in->task);
		if (!w.err) {
			in->task_txt = w.buf;
			in->task_len = w.len;
		} else {
			sm_jw_free(&w);
		}
	}
	if (!in->id || !in->task || !in->task_txt) {
		sm_error_set(err, SM_ENOMEM, "out of memory creating instance '%s'", id);
		inst_free(in);
		return NULL;
	}
	if (sm__session_create(m, id, in->task, &in->s, err) != 0) {
		inst_free(in);
		return NULL;
	}
	sm__session_set_trace(in->s, engine_trace, in);
	return in;
}

static void
timer_free(struct sm_engine *e, struct eng_timer *t)
{
	if (t->loop_id)
		sm_loop_timer_del(e->loop, t->loop_id);
	free(t->tid);
	json_decref(t->payload);
	free(t);
}

/* Mark a running call finished and tell its action to cancel it. */
static void
call_cancel(struct sm_action_call *c)
{
	if (c->finished)
		return;
	c->finished = 1;
	if (c->def->cancel)
		c->def->cancel(c);
}

static void
inst_free(struct sm__inst *in)
{
	struct sm_action_call *c;

	if (!in)
		return;
	while (in->timers) {
		struct eng_timer *t = in->timers;

		in->timers = t->next;
		timer_free(in->e, t);
	}
	while ((c = in->calls) != NULL) {
		in->calls = c->next;
		call_cancel(c);
		sm__call_free(c);
	}
	sm__session_free(in->s);
	sm_machine_free(in->own_m);
	store_batch_destroy(in->batch);
	free(in->error);
	json_decref(in->task);
	free(in->task_txt);
	free(in->id);
	free(in->parent_invokeid);
	free(in);
}

/* Remove a child session (and its children): stop its work now, free later. */
static void
inst_bury(struct sm__inst *in)
{
	struct sm_action_call *c;
	struct sm__inst *ch;

	if (in->removed)
		return;
	in->removed = 1;
	for (c = in->calls; c; c = c->next)
		call_cancel(c);
	while (in->timers) {
		struct eng_timer *t = in->timers;

		in->timers = t->next;
		timer_free(in->e, t);
	}
	for (ch = in->children; ch; ch = ch->sibling)
		inst_bury(ch);
	in->grave_next = in->e->grave;
	in->e->grave = in;
}

static void
unlink_child(struct sm__inst *parent, struct sm__inst *child)
{
	struct sm__inst **pp;

	for (pp = &parent->children; *pp; pp = &(*pp)->sibling) {
		if (*pp == child) {
			*pp = child->sibling;
			child->sibling = NULL;
			return;
		}
	}
}

static void
inst_ready(struct sm__inst *in)
{
	struct sm_engine *e = in->e;

	if (in->in_ready || in->removed)
		return;
	in->in_ready = 1;
	in->ready_next = NULL;
	if (e->ready_tail)
		e->ready_tail->ready_next = in;
	else
		e->ready_head = in;
	e->ready_tail = in;
}

static void
inbox_del_key(struct sm__inst *dst, uint64_t seq)
{
	struct store_key k;

	if (sm_record_key_inbox(&k, dst->id, seq) == 0)
		batch_del(dst, STORE_T_INBOX, k.buf, k.len);
}

static struct sm__inst *
inst_root(struct sm__inst *in)
{
	while (in->parent)
		in = in->parent;
	return in;
}

/*
 * Write `ev` to the durable inbox of `dst` (in the current batch) under a
 * new key drawn from the counter of dst's top-level instance, which is
 * marked ready so that its state (the counter) is written in the same
 * batch.  Keys are never reused, also across child incarnations of the
 * same id.  Sets ev->inbox_seq; 0 or an SM_E* code.
 */
static int
inbox_put(struct sm__inst *dst, struct sm_event *ev, const struct sm__inst *current)
{
	struct sm__inst *root = inst_root(dst);
	struct store_key k;
	int rc;

	if (sm_record_key_inbox(&k, dst->id, root->inbox_seq + 1) != 0)
		return SM_EINVAL;
	sm_record_inbox_event_build(&dst->e->jw, ev);
	rc = batch_put_jw(dst, STORE_T_INBOX, k.buf, k.len);
	if (rc != 0)
		return rc;
	ev->inbox_seq = ++root->inbox_seq;
	if (root != current)
		inst_ready(root); /* its inbox_seq must be saved */
	return 0;
}

/* Append an event to an instance's external queue (and durable inbox). */
static void
inst_push(struct sm__inst *in, struct sm_event *ev)
{
	struct sm_engine *e = in->e;

	if (in->removed || in->done || in->aborted) {
		if (ev->inbox_seq && in->persist && e->store)
			inbox_del_key(in, ev->inbox_seq);
		sm__event_free(ev);
		return;
	}
	if (sm__session_pending(in->s) >= SM_MAX_QUEUED) {
		char msg[300];

		/* an event storm (e.g. every event sends two more) would eat all
		 * memory: stop this instance, the process goes on */
		snprintf(msg, sizeof(msg), "more than %d events queued: session stopped (does "
		    "the machine send itself events in a loop?)", SM_MAX_QUEUED);
		sm_log_error("engine: instance '%s': %s", in->id, msg);
		if (ev->inbox_seq && in->persist && e->store)
			inbox_del_key(in, ev->inbox_seq);
		sm__event_free(ev);
		in->aborted = 1;
		sm__session_abort(in->s, msg);
		inst_ready(in);
		return;
	}
	if (in->persist && e->store && !ev->inbox_seq)
		inbox_put(in, ev, NULL);
	sm__session_push(in->s, ev);
	inst_ready(in);
}

static void
push_named(struct sm__inst *in, const char *name, json_t *data, const char *invokeid,
    enum sm_event_type type)
{
	struct sm_event *ev = sm__event_new(name, data, type);

	if (!ev) {
		sm_log_error("engine: out of memory delivering '%s' to '%s'", name, in->id);
		return;
	}
	if (invokeid)
		ev->invokeid = strdup(invokeid);
	inst_push(in, ev);
}

/* Data from outside the engine is copied: the caller keeps its object. */
static void
push_copy(struct sm__inst *in, const char *name, json_t *data, const char *invokeid)
{
	json_t *copy = data ? json_deep_copy(data) : NULL;

	if (data && !copy) {
		sm_log_error("engine: out of memory copying the data of '%s' for '%s'", name, in->id);
		return;
	}
	push_named(in, name, copy, invokeid, SM_EV_EXTERNAL);
	json_decref(copy);
}

/* ---- timers ------------------------------------------------------------- */

static void
timer_store_put(struct sm__inst *in, struct eng_timer *t)
{
	struct store_key k;

	if (!in->persist || !in->e->store)
		return;
	if (sm_record_key_timer(&k, t->due, in->id, t->tid) != 0) {
		/* the instance state still lists it: recovery re-arms it */
		sm_log_warn("engine: timer '%s' of '%s' is left out of the timers table: its key "
		    "would be over %d bytes (use a shorter send id)", t->tid, in->id,
		    STORE_KEY_MAX);
	} else {
		sm_record_timer_build(&in->e->jw, t->payload);
		batch_put_jw(in, STORE_T_TIMERS, k.buf, k.len);
	}
}

static void
timer_store_del(struct sm__inst *in, struct eng_timer *t)
{
	struct store_key k;

	if (!in->persist || !in->e->store)
		return;
	if (sm_record_key_timer(&k, t->due, in->id, t->tid) ==
	    0) /* a longer one was never written */
		batch_del(in, STORE_T_TIMERS, k.buf, k.len);
}

static struct eng_timer *
timer_add(struct sm__inst *in, const char *tid, int64_t due,
    json_t *payload)
{
	struct eng_timer *t = calloc(1, sizeof(*t)), **pp;

	if (!t || !(t->tid = strdup(tid))) {
		free(t);
		json_decref(payload);
		sm_log_error("engine: out of memory adding timer '%s' of '%s'", tid, in->id);
		return NULL;
	}
	t->inst = in;
	t->due = due;
	t->payload = payload;
	t->seq = ++in->e->timer_seq;
	for (pp = &in->timers; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	timer_store_put(in, t);
	return t;
}

static void
timer_remove(struct sm__inst *in, struct eng_timer *t)
{
	struct eng_timer **pp;

	for (pp = &in->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	timer_store_del(in, t);
	timer_free(in->e, t);
}

/* The first timer `tid` of `kind` (send or retry): a machine may name a
 * send "retry:<invokeid>", which must not be taken for a retry timer. */
static struct eng_timer *
timer_find(struct sm__inst *in, const char *tid, enum sm_record_timer_kind kind)
{
	struct eng_timer *t;
	struct sm_record_timer_payload p;

	for (t = in->timers; t; t = t->next) {
		if (strcmp(t->tid, tid) != 0)
			continue;
		if (sm_record_timer_parse(t->payload, &p) == 0 && p.kind == kind)
			return t;
	}
	return NULL;
}

static void deliver(struct sm__inst *in, const char *target, const char *name, json_t *data,
    const char *sendid);
static void pend_add(struct sm_engine *e, struct sm__inst *in, struct sm_effect *fx);

static int64_t
timer_fire(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct eng_timer *t = arg;
	struct sm__inst *in = t->inst;
	struct sm_record_timer_payload p;

	(void)loop;
	(void)id;
	t->loop_id = 0; /* the loop deletes it after we return -1 */
	sm_record_timer_parse(t->payload, &p);
	if (p.kind == SM_RECORD_TIMER_SEND) {
		deliver(in, p.target, p.name, p.data, p.sendid);
	} else if (p.kind == SM_RECORD_TIMER_RETRY) {
		const char *invokeid = p.invokeid;
		struct sm_invocation *inv = invokeid ? sm__session_invocation(in->s, invokeid) : NULL;

		if (inv && inv->attempt == p.attempt) {
			struct sm_effect *fx = calloc(1, sizeof(*fx));

			if (fx) {
				fx->kind = SM_FX_INVOKE;
				fx->invokeid = strdup(invokeid);
				fx->state = inv->state;
				fx->inv_index = inv->inv_index;
				fx->data = inv->params ? json_incref(inv->params) : NULL;
				pend_add(in->e, in, fx);
			}
		}
	}
	timer_remove(in, t);
	inst_ready(in); /* its state (timer gone) must be written */
	return -1;
}

static int
timer_cmp(const void *a, const void *b)
{
	const struct eng_timer *x = *(struct eng_timer *const *)a;
	const struct eng_timer *y = *(struct eng_timer *const *)b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
arm_one(struct sm_engine *e, struct eng_timer *t, int64_t now)
{
	t->loop_id = sm_loop_timer_add(e->loop, t->due > now ? t->due - now : 0, timer_fire, t);
	if (!t->loop_id)
		sm_log_error("engine: cannot arm timer '%s' of '%s': out of memory", t->tid,
		    t->inst->id);
}

/*
 * Arm the new timers of every touched instance, in order of due time and
 * then of creation: overdue ones (after a restart) all get a 0 ms delay and
 * the loop breaks such ties by arming order, so this keeps them in due order.
 */
static void
arm_touched(struct sm_engine *e)
{
	struct sm__inst *in;
	struct eng_timer *t;
	int64_t now = sm_time_wall_ms();
	size_t n = 0, i;

	for (in = e->touched; in; in = in->touched_next)
		for (t = in->removed ? NULL : in->timers; t; t = t->next)
			n += !t->loop_id;
	if (n > e->armcap) {
		struct eng_timer **nv = realloc(e->armv, n * sizeof(*nv));

		if (!nv) { /* arm them unsorted rather than not at all */
			for (in = e->touched; in; in = in->touched_next)
				for (t = in->removed ? NULL : in->timers; t; t = t->next)
					if (!t->loop_id)
						arm_one(e, t, now);
			return;
		}
		e->armv = nv;
		e->armcap = n;
	}
	n = 0;
	for (in = e->touched; in; in = in->touched_next)
		for (t = in->removed ? NULL : in->timers; t; t = t->next)
			if (!t->loop_id)
				e->armv[n++] = t;
	if (n > 1) /* armv is NULL until a timer needed it (qsort needs a pointer) */
		qsort(e->armv, n, sizeof(*e->armv), timer_cmp);
	for (i = 0; i < n; i++)
		arm_one(e, e->armv[i], now);
}

/* ---- effects ------------------------------------------------------------ */

static void
pend_add(struct sm_engine *e, struct sm__inst *in, struct sm_effect *fx)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p) {
		sm_log_error("engine: out of memory queueing an effect of '%s'", in->id);
		sm__effects_free(fx);
		return;
	}
	fx->next = NULL;
	p->inst = in;
	p->fx = fx;
	if (e->pend_tail)
		e->pend_tail->next = p;
	else
		e->pend_head = p;
	e->pend_tail = p;
}

static struct sm__inst *
child_by_invokeid(struct sm__inst *in, const char *invokeid)
{
	struct sm__inst *ch;

	for (ch = in->children; ch; ch = ch->sibling)
		if (!ch->removed && strcmp(ch->parent_invokeid, invokeid) == 0)
			return ch;
	return NULL;
}

/* Where a send from `in` to `target` goes; *invokeid is set for #_parent. */
static struct sm__inst *
resolve_target(struct sm__inst *in, const char *target,
    const char **invokeid)
{
	char own[600];

	*invokeid = NULL;
	snprintf(own, sizeof(own), "#_scxml_%s", in->id);
	if (!target || strcmp(target, own) == 0)
		return in;
	if (strcmp(target, "#_parent") == 0) {
		if (in->parent && !in->parent->removed) {
			*invokeid = in->parent_invokeid;
			return in->parent;
		}
		return NULL;
	}
	if (strncmp(target, "#_", 2) == 0)
		return child_by_invokeid(in, target + 2);
	return NULL;
}

static struct sm_event *
sent_event(struct sm__inst *in, const char *name, json_t *data,
    const char *sendid, const char *invokeid)
{
	struct sm_event *ev;
	char own[600];

	ev = sm__event_new(name ? name : "", json_is_null(data) ? NULL : data, SM_EV_EXTERNAL);
	if (!ev)
		return NULL;
	if (sendid)
		ev->sendid = strdup(sendid);
	if (invokeid)
		ev->invokeid = strdup(invokeid);
	snprintf(own, sizeof(own), "#_scxml_%s", in->id);
	ev->origin = strdup(own);
	return ev;
}

/* `inbox_seq`: nonzero when precommit already wrote the event to the
 * target's inbox (in the batch of the sending macrostep). */
static void
deliver_seq(struct sm__inst *in, const char *target, const char *name, json_t *data,
    const char *sendid, uint64_t inbox_seq)
{
	const char *invokeid;
	struct sm__inst *dst = resolve_target(in, target, &invokeid);
	struct sm_event *ev;

	if (!dst) {
		json_t *d = json_pack("{s:s?,s:s}", "target", target, "message",
		    "no session is reachable at that target");

		push_named(in, "error.communication", d, NULL, SM_EV_PLATFORM);
		json_decref(d);
		return;
	}
	ev = sent_event(in, name, data, sendid, invokeid);
	if (!ev)
		return;
	ev->inbox_seq = inbox_seq;
	inst_push(dst, ev);
}

static void
deliver(struct sm__inst *in, const char *target, const char *name, json_t *data,
    const char *sendid)
{
	deliver_seq(in, target, name, data, sendid, 0);
}

static struct sm_event *
comm_error_event(const char *target)
{
	json_t *d = json_pack("{s:s?,s:s}", "target", target, "message",
	    "no session is reachable at that target");
	struct sm_event *ev = sm__event_new("error.communication", d, SM_EV_PLATFORM);

	json_decref(d);
	return ev;
}

/* A send whose target precommit() resolved (and wrote to its inbox). */
static void
deliver_pre(struct sm__inst *in, const struct sm_effect *fx)
{
	struct sm__inst *dst = fx->dst;
	struct sm_event *ev;

	if (in->removed) {
		if (fx->inbox_seq) /* not delivered after all */
			inbox_del_key(dst ? dst : in, fx->inbox_seq);
		return;
	}
	if (!dst) {
		ev = comm_error_event(fx->target);
	} else {
		const char *invokeid = dst == in->parent ? in->parent_invokeid : NULL;

		ev = sent_event(in, fx->event, fx->data, sm__fx_sendid(fx), invokeid);
	}
	if (!ev) {
		sm_log_error("engine: out of memory delivering '%s' from '%s'", fx->event, in->id);
		return;
	}
	ev->inbox_seq = fx->inbox_seq;
	inst_push(dst ? dst : in, ev);
}

/*
 * The invocation's outcome (done.invoke or error.invoke) is queued: it is
 * written with the state in the batch that holds that event, so recovery
 * does not start the action or child again (a second outcome).
 */
static void
invocation_finished(struct sm__inst *in, const char *invokeid)
{
	struct sm_invocation *inv = sm__session_invocation(in->s, invokeid);

	if (inv) {
		inv->finished = 1;
		inst_ready(in);
	}
}

static void
action_report_error(struct sm__inst *in, const char *invokeid, const char *error,
    const char *message, int attempt)
{
	char name[600];
	json_t *d = json_pack("{s:s,s:s,s:i}", "error", error ? error : "error.execution",
	    "message", message ? message : "", "attempt", attempt);

	snprintf(name, sizeof(name), "error.invoke.%s", invokeid);
	push_named(in, name, d, invokeid, SM_EV_EXTERNAL);
	json_decref(d);
	invocation_finished(in, invokeid);
}

static void
start_invoke(struct sm__inst *in, const struct sm_effect *fx)
{
	struct sm_engine *e = in->e;
	const struct sm_invoke *iv;
	struct sm_invocation *inv = sm__session_invocation(in->s, fx->invokeid);

	if (!inv || in->removed || in->done)
		return; /* cancelled before it could start */
	iv = &in->m->states[fx->state].invokes[fx->inv_index];
	if (iv->kind == SM_INV_SCXML) {
		struct sm__inst *ch;
		char id[600];
		struct sm_error err;
		const struct sm_machine *cm;
		struct sm_machine *own;

		if ((size_t)snprintf(id, sizeof(id), "%s/%s", in->id, fx->invokeid) >
		    SM_ENGINE_CHILD_ID_MAX) {
			char msg[200];

			snprintf(msg, sizeof(msg), "child session id '%s/%s' is over %d bytes: use a "
			    "shorter invoke id", in->id, fx->invokeid, SM_ENGINE_CHILD_ID_MAX);
			action_report_error(in, fx->invokeid, "error.execution", msg, 1);
			return;
		}
		sm_error_clear(&err);
		if (sm__invocation_machine(in->s, inv, &cm, &own, &err) != 0) {
			action_report_error(in, fx->invokeid, "error.execution", err.msg, 1);
			return;
		}
		ch = inst_new(e, cm, id, NULL, &err);
		if (ch)
			ch->own_m = own;
		if (!ch || !(ch->parent_invokeid = strdup(fx->invokeid))) {
			if (!ch)
				sm_machine_free(own);
			inst_free(ch);
			action_report_error(in, fx->invokeid, "error.execution", err.msg, 1);
			return;
		}
		ch->parent = in;
		ch->persist = in->persist; /* its first state is written with its first step */
		sm__session_set_initial(ch->s, fx->data);
		ch->sibling = in->children;
		in->children = ch;
		inst_ready(ch);
		return;
	} else {
		const struct sm_action_def *def = sm__actions_find(&e->actions, iv->src);
		struct sm_action_call *c;
		char msg[300];
		int rc;

		if (!def) {
			snprintf(msg, sizeof(msg), "action '%s' is not registered", iv->src ? iv->src : "");
			action_report_error(in, fx->invokeid, "error.execution", msg, inv->attempt);
			return;
		}
		c = sm__call_new(e, in, in->id, fx->invokeid, def, fx->data, inv->attempt);
		if (!c) {
			action_report_error(in, fx->invokeid, "error.execution", "out of memory",
			    inv->attempt);
			return;
		}
		c->next = in->calls;
		in->calls = c;
		rc = def->start(c);
		if (rc != 0 && !c->finished) {
			snprintf(msg, sizeof(msg), "action '%s' could not start: %s", def->name,
			    sm_strerror(rc));
			sm_action_fail(c, "error.execution", msg);
		}
	}
}

static void
stop_invoke(struct sm__inst *in, const char *invokeid)
{
	struct sm_action_call *c;
	struct sm__inst *ch = child_by_invokeid(in, invokeid);

	if (ch) {
		unlink_child(in, ch);
		inst_bury(ch);
	}
	for (c = in->calls; c; c = c->next)
		if (strcmp(c->invokeid, invokeid) == 0)
			call_cancel(c);
}

/* The default <log> sink: one line per <log>, whatever the text holds (it
 * may come from the task): control characters and backslash as \xNN. */
static void
log_default(const char *id, const char *text)
{
	size_t n = strlen(text);
	char *buf = n < SIZE_MAX / 4 - 2 ? malloc(4 * n + 8) : NULL;

	if (!buf) {
		sm_log_info("%s: log: (%zu bytes, out of memory to show them)", id, n);
		return;
	}
	sm_text_escape(buf, 4 * n + 8, text, n);
	sm_log_info("%s: log: %s", id, buf);
	free(buf);
}

static void
perform(struct sm_engine *e, struct sm__inst *in, struct sm_effect *fx)
{
	switch (fx->kind) {
	case SM_FX_SEND:
		if (fx->pre)
			deliver_pre(in, fx);
		else if (!in->removed)
			deliver_seq(in, fx->target, fx->event, fx->data, sm__fx_sendid(fx), 0);
		break;
	case SM_FX_INVOKE:
		start_invoke(in, fx);
		break;
	case SM_FX_UNINVOKE:
		stop_invoke(in, fx->invokeid);
		break;
	case SM_FX_FORWARD: {
		struct sm__inst *ch = fx->pre ? fx->dst : child_by_invokeid(in, fx->invokeid);

		if (ch) {
			struct sm_event *ev = sm__event_new(fx->event, fx->data, SM_EV_EXTERNAL);

			if (ev) {
				ev->inbox_seq = fx->inbox_seq;
				inst_push(ch, ev);
			}
		}
		break;
	}
	case SM_FX_LOG:
		if (e->log_fn)
			e->log_fn(e, in->id, fx->text ? fx->text : "", e->log_arg);
		else
			log_default(in->id, fx->text ? fx->text : "");
		break;
	case SM_FX_DONE:
		if (in->parent) {
			struct sm__inst *p = in->parent;
			char name[600];

			if (fx->pre && fx->inbox_seq && (in->removed || p->removed)) {
				if (p->persist)
					inbox_del_key(p, fx->inbox_seq); /* not delivered after all */
			} else if (!in->removed && !p->removed && fx->state >= 0) {
				struct sm_event *ev;

				snprintf(name, sizeof(name), "done.invoke.%s", in->parent_invokeid);
				ev = sm__event_new(name, fx->data, SM_EV_EXTERNAL);
				if (ev && !(ev->invokeid = strdup(in->parent_invokeid))) {
					sm__event_free(ev);
					ev = NULL;
				}
				if (ev) {
					ev->inbox_seq = fx->inbox_seq;
					inst_push(p, ev);
				} else {
					sm_log_error("engine: out of memory delivering '%s' to '%s'", name,
					    p->id);
				}
			}
			if (!in->removed) {
				unlink_child(p, in);
				inst_bury(in);
			}
		} else if (e->done_fn) {
			e->done_fn(e, in->id, in->final_id, fx->data, e->done_arg);
		}
		break;
	default:
		break;
	}
}

/* Delete, in the current batch, inbox records that effects in `fx` (a list
 * linked by next) wrote for `node`. */
static void
drop_written_for(struct sm__inst *node, struct sm_effect *fx)
{
	for (; fx; fx = fx->next)
		if (fx->pre && fx->dst == node && fx->inbox_seq)
			inbox_del_key(node, fx->inbox_seq);
}

/*
 * A child session (and its children) is being cancelled by the macrostep
 * being collected: delete everything the store holds for it in the same
 * batch (instance record, queued inbox events, events written for it by
 * effects not yet performed, timers), so that the committed snapshot no
 * longer has it.  It runs no more steps; perform() buries it.
 */
static void
unpersist_tree(struct sm__inst *node, struct sm_effect *current)
{
	struct sm_engine *e = node->e;
	const struct sm_event *q;
	struct pending *p;
	struct eng_timer *t;
	struct sm__inst *ch;

	if (node->cancelling || node->removed)
		return;
	node->cancelling = 1;
	if (node->persist && e->store) {
		struct store_key k;

		sm_record_key_instance(&k, node->id);
		batch_del(node, STORE_T_INSTANCES, k.buf, k.len);
		for (q = sm__session_queue(node->s); q; q = q->next)
			if (q->inbox_seq)
				inbox_del_key(node, q->inbox_seq);
		for (p = e->pend_head; p; p = p->next)
			drop_written_for(node, p->fx);
		drop_written_for(node, current);
		for (t = node->timers; t; t = t->next)
			timer_store_del(node, t);
	}
	node->persist = 0;
	for (ch = node->children; ch; ch = ch->sibling)
		unpersist_tree(ch, current);
}

/* An event for `dst` produced by a macrostep of `in`: write it to dst's
 * inbox in this batch (fx->inbox_seq); 0 when not written. */
static uint64_t
precommit_event(struct sm__inst *in, struct sm__inst *dst, struct sm_event *ev)
{
	if (!ev || !dst->persist || dst->done || dst->removed || dst->cancelling)
		return 0;
	if (inbox_put(dst, ev, in) != 0)
		return 0;
	return ev->inbox_seq;
}

/*
 * Pre-commit part of effects: timers for delayed sends, cancels, the end.
 * With a store, every event this macrostep sends to a persisted session
 * (itself, #_parent, #_<invokeid>, an autoforwarded copy, done.invoke of
 * a child, error.communication for an unreachable target) is written to
 * that session's inbox in the batch of this macrostep, and its target is
 * resolved now (fx->pre, fx->dst): perform() after the commit only queues
 * it in memory.  So every committed batch is a consistent snapshot of a
 * parent, its children and the events in flight between them.
 */
static void
precommit(struct sm__inst *in, struct sm_effect **list)
{
	struct sm_effect **pp = list;
	int store = in->e->store != NULL && in->persist;

	while (*pp) {
		struct sm_effect *fx = *pp;
		int drop = 0;

		if (fx->kind == SM_FX_SEND && fx->delay_ms > 0) {
			json_t *payload;

			if (!sm_record_timer_send(
			        &payload, fx->target, fx->event, fx->data, sm__fx_sendid(fx)))
				timer_add(in, fx->sendid, sm_time_wall_ms() + fx->delay_ms, payload);
			drop = 1;
		} else if (fx->kind == SM_FX_SEND && store) {
			const char *invokeid;
			struct sm__inst *dst = resolve_target(in, fx->target, &invokeid);
			struct sm_event *ev;

			fx->pre = 1;
			fx->dst = dst;
			if (dst && dst->cancelling)
				fx->dst = dst = NULL; /* gone by the time it would arrive */
			ev = dst ?
			    sent_event(in, fx->event, fx->data, sm__fx_sendid(fx), invokeid) :
			    comm_error_event(fx->target);
			fx->inbox_seq = precommit_event(in, dst ? dst : in, ev);
			sm__event_free(ev);
		} else if (fx->kind == SM_FX_FORWARD && store) {
			struct sm__inst *ch = child_by_invokeid(in, fx->invokeid);
			struct sm_event *ev;

			fx->pre = 1;
			fx->dst = ch && !ch->cancelling ? ch : NULL;
			if (fx->dst) {
				ev = sm__event_new(fx->event, fx->data, SM_EV_EXTERNAL);
				fx->inbox_seq = precommit_event(in, ch, ev);
				sm__event_free(ev);
			}
		} else if (fx->kind == SM_FX_CANCEL) {
			struct eng_timer *t;

			/* every pending send with that id (ids need not be unique) */
			while (fx->sendid && (t = timer_find(in, fx->sendid, SM_RECORD_TIMER_SEND)))
				timer_remove(in, t);
			drop = 1;
		} else if (fx->kind == SM_FX_UNINVOKE) {
			char tid[600];
			struct eng_timer *t;
			struct sm__inst *ch;

			snprintf(tid, sizeof(tid), "retry:%s", fx->invokeid);
			if ((t = timer_find(in, tid, SM_RECORD_TIMER_RETRY)) != NULL)
				timer_remove(in, t);
			if (in->e->store && (ch = child_by_invokeid(in, fx->invokeid)) != NULL)
				unpersist_tree(ch, *list);
		} else if (fx->kind == SM_FX_DONE) {
			const char *f = sm__session_final(in->s);

			in->done = 1;
			snprintf(in->final_id, sizeof(in->final_id), "%s", f ? f : "");
			while (in->timers)
				timer_remove(in, in->timers);
			if (store && in->parent && fx->state >= 0) {
				struct sm__inst *p = in->parent;
				char name[600];
				struct sm_event *ev;

				snprintf(name, sizeof(name), "done.invoke.%s", in->parent_invokeid);
				ev = sm__event_new(name, fx->data, SM_EV_EXTERNAL);
				if (ev)
					ev->invokeid = strdup(in->parent_invokeid);
				fx->pre = 1;
				fx->dst = p;
				fx->inbox_seq = precommit_event(in, p, ev);
				sm__event_free(ev);
				invocation_finished(p, in->parent_invokeid);
			}
		}
		if (drop) {
			*pp = fx->next;
			fx->next = NULL;
			sm__effects_free(fx);
		} else {
			pp = &fx->next;
		}
	}
}

/* ---- persistence -------------------------------------------------------- */

/* Gives the timers of an instance record (sm_record_timer_next_fn); `arg` points
 * to the next one. */
static int
timer_next(void *arg, struct sm_record_timer *out)
{
	struct eng_timer **cur = arg, *t = *cur;

	if (!t)
		return 0;
	out->id = t->tid;
	out->due = t->due;
	out->payload = t->payload;
	*cur = t->next;
	return 1;
}

/* The instance state record (docs/engine.md). */
static void
write_state_record(struct sm__inst *in, struct sm_jw *w)
{
	const struct known_machine *km = machine_known(in->e, in->m);
	struct eng_timer *next = in->timers;
	struct sm_record_instance r = {
		.id = in->id,
		.machine = km ? km->hash : "",
		.machine_name = in->m->name,
		.machine_path = in->m->path,
		.status =
		    in->failed ? SM_RECORD_FAILED : (in->done ? SM_RECORD_DONE : SM_RECORD_RUNNING),
		.final = in->final_id,
		.error = in->error,
		.acked = in->acked,
		.restarts = in->restarts,
		.created = in->created,
		.updated = sm_time_wall_ms(),
		.hist_seq = in->hist_seq,
		.inbox_seq = in->inbox_seq,
		.task_text = in->task_txt, /* serialized once: the task never changes */
		.task_len = in->task_len,
		.task = in->task,
		.parent = in->parent ? in->parent->id : NULL,
		.invokeid = in->parent_invokeid,
		.session = in->failed ? NULL : in->s, /* what could not be saved is not written */
		.timer_next = timer_next,
		.timer_arg = &next,
	};

	sm_record_instance_build(w, &r);
}

static void
write_state(struct sm__inst *in)
{
	struct store_key k;

	if (!in->persist || !in->e->store)
		return;
	sm_record_key_instance(&k, in->id); /* ids are checked: never over the limit */
	if (in->parent && in->done) {
		/* a child that ended: its done.invoke is in the parent's inbox */
		batch_del(in, STORE_T_INSTANCES, k.buf, k.len);
		return;
	}
	write_state_record(in, &in->e->jw);
	if (batch_put_jw(in, STORE_T_INSTANCES, k.buf, k.len) != 0)
		sm_log_error("engine: the state of instance '%s' is not saved in this turn", in->id);
}

/* `from`: the configuration before the step (sm__session_active bytes,
 * NULL for start). */
static void
write_history(struct sm__inst *in, const struct sm_event *ev, const unsigned char *from,
    const struct sm_effect *fx, enum sm_record_step kind)
{
	struct store_key k;
	struct sm_record_history h = {
		.kind = kind,
		.event = ev,
		.session = in->s,
		.from = from,
		.effects = fx,
	};

	in->hist_seq++;
	if (!in->persist || !in->e->store || in->parent) { /* children: no history */
		sm__session_clear_errors(in->s);
		return;
	}
	h.seq = in->hist_seq;
	h.time = sm_time_wall_ms();
	if (in->failed)
		h.failed = in->error ? in->error : "";
	else
		h.errors = sm__session_errors(in->s);
	sm_record_history_build(&in->e->jw, &h);
	sm__session_clear_errors(in->s);
	if (sm_record_key_history(&k, in->id, in->hist_seq) == 0)
		batch_put_jw(in, STORE_T_HISTORY, k.buf, k.len);
}

static void
store_machine(struct sm_engine *e, const struct sm_machine *m)
{
	const struct known_machine *km = machine_known(e, m);

	if (!e->store || !km || json_object_get(e->stored_machines, km->hash))
		return;
	if (!m->doc)
		return;
	if (store_batch_put(e->batch, STORE_T_MACHINES, km->hash, 64, m->doc, m->doc_len) == 0)
		json_object_set_new(e->stored_machines, km->hash, json_true());
	else
		sm_log_error("engine: cannot queue machine document %s for the store (out of "
		    "memory?): recovery will need the machine registered", km->hash);
}

/* ---- the turn ----------------------------------------------------------- */

static void
collect(struct sm__inst *in, const struct sm_event *ev, const unsigned char *from,
    enum sm_record_step kind)
{
	struct sm_effect *fx = sm__session_take_effects(in->s), *next;

	precommit(in, &fx);
	write_history(in, ev, from, fx, kind);
	for (; fx; fx = next) {
		next = fx->next;
		pend_add(in->e, in, fx);
	}
}

static void
inbox_del(struct sm__inst *in, const struct sm_event *ev)
{
	if (ev->inbox_seq && in->persist && in->e->store)
		inbox_del_key(in, ev->inbox_seq);
}

/* A copy of the configuration before a step, in the engine's scratch. */
static const unsigned char *
config_before(struct sm__inst *in)
{
	struct sm_engine *e = in->e;
	size_t n = in->m->nstates ? in->m->nstates : 1;

	if (n > e->fromcap) {
		unsigned char *nb = realloc(e->from, n);

		if (!nb)
			return NULL;
		e->from = nb;
		e->fromcap = n;
	}
	memcpy(e->from, sm__session_active(in->s), in->m->nstates);
	return e->from;
}

static void
process(struct sm__inst *in)
{
	struct sm_event *ev;
	const unsigned char *from;

	if (in->removed || in->cancelling)
		return;
	if (!in->in_touched) {
		in->in_touched = 1;
		in->touched_next = in->e->touched;
		in->e->touched = in;
	}
	if (!in->started) {
		in->started = 1;
		if (sm__session_start(in->s) != 0)
			sm_log_error("engine: instance '%s' ran out of memory while starting", in->id);
		collect(in, NULL, NULL, SM_RECORD_STEP_START);
	}
	for (;;) {
		if (in->done || in->removed)
			break;
		if (!sm__session_pending(in->s))
			break;
		from = config_before(in);
		if (!sm__session_step(in->s, &ev))
			break;
		inbox_del(in, ev);
		collect(in, ev, from, SM_RECORD_STEP_EVENT);
		sm__event_free(ev);
	}
	if (sm__session_has_effects(in->s)) {
		/* stopped from outside (sm__session_abort) */
		collect(in, NULL, config_before(in), SM_RECORD_STEP_ABORT);
	}
	if (in->done) {
		/* events still queued when the instance ended are dropped */
		struct sm_event *q = sm__session_take_queue(in->s), *next;

		for (; q; q = next) {
			next = q->next;
			inbox_del(in, q);
			sm__event_free(q);
		}
	}
	/* its state is written once, at the end of the turn's rounds */
}

static void
release_finished_calls(struct sm__inst *in)
{
	struct sm_action_call **pp = &in->calls;

	while (*pp) {
		struct sm_action_call *c = *pp;

		if (c->finished) {
			*pp = c->next;
			sm__call_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static int64_t
wake_cb(struct sm_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	(void)arg;
	return -1; /* the prepare hook of this turn does the work */
}

static void
wake_in(struct sm_engine *e, int64_t ms)
{
	if (!sm_loop_timer_add(e->loop, ms, wake_cb, e))
		sm_log_error("engine: out of memory arming a wake-up timer");
}

static void
pend_append(struct pending **head, struct pending **tail, struct pending *p)
{
	p->next = NULL;
	if (*tail)
		(*tail)->next = p;
	else
		*head = p;
	*tail = p;
}

/* Free the queued effects of `root`'s tree in the list (head, tail). */
static void
pend_drop_tree(struct pending **head, struct pending **tail,
    struct sm__inst *root)
{
	struct pending **pp = head, *p;

	*tail = NULL;
	while ((p = *pp) != NULL) {
		if (inst_root(p->inst) == root) {
			*pp = p->next;
			sm__effects_free(p->fx);
			free(p);
		} else {
			*tail = p;
			pp = &p->next;
		}
	}
}

/*
 * Effects that leave the engine (an action started or cancelled, a <log>
 * line, the done callback of a top-level instance) wait for the turn's
 * commit; the others (events between sessions, child sessions started,
 * stopped or ended) act now, so the next round can run.
 */
static int
fx_external(struct sm__inst *in, const struct sm_effect *fx)
{
	switch (fx->kind) {
	case SM_FX_INVOKE:
		return in->m->states[fx->state].invokes[fx->inv_index].kind == SM_INV_ACTION;
	case SM_FX_LOG:
		return 1;
	case SM_FX_DONE:
		return in->parent == NULL;
	case SM_FX_UNINVOKE:
		return 1;
	default:
		return 0;
	}
}

/* An invocation cancelled in the same turn that started it: the start
 * waiting for the commit is dropped, it never leaves the engine. */
static void
defer_drop_invoke(struct sm_engine *e, struct sm__inst *in, const char *invokeid)
{
	struct pending **pp = &e->defer_head, *p;

	e->defer_tail = NULL;
	while ((p = *pp) != NULL) {
		if (p->inst == in && p->fx->kind == SM_FX_INVOKE &&
		    strcmp(p->fx->invokeid, invokeid) == 0) {
			*pp = p->next;
			sm__effects_free(p->fx);
			free(p);
		} else {
			e->defer_tail = p;
			pp = &p->next;
		}
	}
}

/* Perform the engine-internal effects queued so far; keep the others. */
static void
run_internal(struct sm_engine *e)
{
	struct pending *p;

	while ((p = e->pend_head) != NULL) {
		e->pend_head = p->next;
		if (!e->pend_head)
			e->pend_tail = NULL;
		if (fx_external(p->inst, p->fx)) {
			if (p->fx->kind == SM_FX_UNINVOKE) {
				struct sm__inst *ch = child_by_invokeid(p->inst, p->fx->invokeid);

				defer_drop_invoke(e, p->inst, p->fx->invokeid);
				if (ch) { /* the child session stops now */
					unlink_child(p->inst, ch);
					inst_bury(ch);
				}
			}
			pend_append(&e->defer_head, &e->defer_tail, p);
			continue;
		}
		probe(e, SM_PROBE_BEFORE_EFFECT);
		perform(e, p->inst, p->fx);
		sm__effects_free(p->fx);
		free(p);
	}
}

/* Stop everything `in` and its children have running in memory. */
static void
tree_stop(struct sm__inst *in)
{
	struct sm_action_call *c;
	struct sm_event *q, *next;

	for (c = in->calls; c; c = c->next)
		call_cancel(c);
	while (in->timers) {
		struct eng_timer *t = in->timers;

		in->timers = t->next;
		timer_store_del(in, t);
		timer_free(in->e, t);
	}
	while (in->children) {
		struct sm__inst *ch = in->children;

		unlink_child(in, ch);
		inst_bury(ch);
	}
	for (q = sm__session_take_queue(in->s); q; q = next) {
		next = q->next;
		sm__event_free(q);
	}
}

/*
 * The records of `root`'s tree cannot be committed (one could not be
 * written, or the store is full at its maximum): none of this turn's are.
 * The instance fails: its work stops, its record says "failed" with `msg`
 * (without the session that could not be saved), a "fail" history record
 * follows the last committed one, its pending inbox events and child
 * sessions are deleted, and the done callback reports it (final "").
 */
static void
tree_fail(struct sm__inst *root, const char *msg)
{
	struct sm_engine *e = root->e;
	struct sm_effect *fx;

	sm_log_error("engine: instance '%s' failed: %s", root->id, msg);
	store_batch_reset(root->batch);
	root->bad = 0;
	pend_drop_tree(&e->pend_head, &e->pend_tail, root);
	pend_drop_tree(&e->defer_head, &e->defer_tail, root);
	free(root->error);
	root->error = strdup(msg);
	root->failed = 1;
	root->done = 1;
	root->final_id[0] = 0;
	root->hist_seq = root->hist_seq_c;
	root->inbox_seq = root->inbox_seq_c;
	tree_stop(root);
	if (root->persist && e->store) {
		struct store_key own, kids;

		sm_record_key_of(&own, root->id);        /* "id\0": its inbox */
		sm_record_key_instance(&kids, root->id); /* "id/": its child sessions */
		store_key_add_bytes(&kids, "/", 1);
		if (store_batch_del_prefix(root->batch, STORE_T_INBOX, own.buf, own.len) != 0 ||
		    store_batch_del_prefix(root->batch, STORE_T_INBOX, kids.buf, kids.len) != 0 ||
		    store_batch_del_prefix(root->batch, STORE_T_INSTANCES, kids.buf, kids.len) != 0)
			sm_log_error("engine: cannot queue the deletion of the inbox and children "
			    "of '%s'", root->id);
		write_history(root, NULL, NULL, NULL, SM_RECORD_STEP_FAIL);
		write_state(root);
		if (root->bad) { /* even that: the store keeps the last commit */
			sm_log_error("engine: the failure of '%s' is not saved either: a restart "
			    "resumes it from its last commit", root->id);
			store_batch_reset(root->batch);
			root->bad = 0;
		}
	}
	fx = calloc(1, sizeof(*fx));
	if (fx) {
		struct pending *p = calloc(1, sizeof(*p));

		fx->kind = SM_FX_DONE;
		fx->state = -1;
		if (p) {
			p->inst = root;
			p->fx = fx;
			pend_append(&e->defer_head, &e->defer_tail, p);
		} else {
			free(fx);
		}
	}
}

/* The largest batch of a tree that has not failed (the store is full). */
static struct sm__inst *
largest_tree(struct sm_engine *e)
{
	struct sm__inst *in, *best = NULL;

	for (in = e->dirty; in; in = in->dirty_next)
		if (!in->failed && in->batch && (!best ||
		    store_batch_bytes(in->batch) > store_batch_bytes(best->batch)))
			best = in;
	return best;
}

/*
 * Commit every tree's records of this turn (and new machine documents) in
 * ONE write transaction.  A tree whose records could not all be queued is
 * failed first (never half-saved).  When the store is full at its maximum
 * map size, the tree that writes the most is failed and the rest tried
 * again, so one instance cannot stall the others.
 */
static int
commit_turn(struct sm_engine *e, struct sm_error *err)
{
	struct sm__inst *in;
	size_t n;
	int rc;

	for (in = e->dirty; in; in = in->dirty_next)
		if (in->bad)
			tree_fail(in, in->bad_msg);
	for (;;) {
		n = 1;
		for (in = e->dirty; in; in = in->dirty_next)
			n++;
		if (n > e->bvcap) {
			struct store_batch **nv = realloc(e->bv, n * sizeof(*nv));

			if (!nv)
				return sm_error_set(err, SM_ENOMEM, "out of memory committing the turn");
			e->bv = nv;
			e->bvcap = n;
		}
		n = 0;
		e->bv[n++] = e->batch;
		for (in = e->dirty; in; in = in->dirty_next)
			if (in->batch)
				e->bv[n++] = in->batch;
		probe(e, SM_PROBE_BEFORE_COMMIT);
		rc = store_batch_commit_many(e->store, e->bv, n, err);
		if (rc == 0)
			break;
		if (rc == SM_EFULL &&
		    store_map_size(e->store) >= store_map_size_max(e->store) &&
		    (in = largest_tree(e)) != NULL) {
			char msg[300];

			snprintf(msg, sizeof(msg), "the store is full at its maximum map size (%zu "
			    "bytes) and this instance's step writes %zu bytes: it cannot be saved "
			    "(raise the maximum map size, or keep the datamodel smaller)",
			    store_map_size_max(e->store), store_batch_bytes(in->batch));
			tree_fail(in, msg);
			continue;
		}
		return rc;
	}
	probe(e, SM_PROBE_AFTER_COMMIT);
	while ((in = e->dirty) != NULL) {
		e->dirty = in->dirty_next;
		in->in_dirty = 0;
		in->hist_seq_c = in->hist_seq;
		in->inbox_seq_c = in->inbox_seq;
	}
	return 0;
}

/*
 * One turn: run the ready instances' macrosteps in rounds (events between
 * sessions are delivered between rounds), write each touched instance's
 * state once, commit everything in ONE transaction, then let the effects
 * out.  After a failed commit nothing runs until the retry (with backoff)
 * commits what memory holds.  Returns 0 or the commit's error.
 */
static int
engine_turn(struct sm_engine *e, struct sm_error *err)
{
	struct sm__inst *in;
	struct pending *p;
	int rounds, rc;

	if (e->commit_failures && sm_time_mono_ms() < e->retry_at)
		return 0; /* the wake-up timer brings us back */
	if (!e->commit_failures) {
		for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
			if (!e->ready_head && !e->pend_head)
				break;
			while ((in = e->ready_head) != NULL) {
				e->ready_head = in->ready_next;
				if (!e->ready_head)
					e->ready_tail = NULL;
				in->in_ready = 0;
				process(in);
			}
			run_internal(e);
		}
		for (in = e->touched; in; in = in->touched_next)
			if (!in->removed || (in->parent && in->done)) /* an ended child: deleted */
				write_state(in);
	}
	if (e->store && (e->dirty || store_batch_count(e->batch))) {
		rc = commit_turn(e, err);
		if (rc != 0) {
			int64_t delay = (int64_t)100 << (e->commit_failures < 7 ?
			    e->commit_failures : 7);

			e->commit_failures++;
			e->retry_at = sm_time_mono_ms() + (uint64_t)delay;
			sm_log_error("engine: cannot commit the turn (attempt %d, next in %lld ms; "
			    "no step runs and no effect leaves until it works): %s",
			    e->commit_failures, (long long)delay, err ? err->msg : sm_strerror(rc));
			wake_in(e, delay);
			return rc;
		}
		if (e->commit_failures)
			sm_log_info("engine: the turn is committed after %d failed attempt(s)",
			    e->commit_failures);
		e->commit_failures = 0;
	}
	while ((p = e->defer_head) != NULL) {
		e->defer_head = p->next;
		if (!e->defer_head)
			e->defer_tail = NULL;
		probe(e, SM_PROBE_BEFORE_EFFECT);
		perform(e, p->inst, p->fx);
		sm__effects_free(p->fx);
		free(p);
	}
	arm_touched(e);
	while ((in = e->touched) != NULL) {
		e->touched = in->touched_next;
		in->in_touched = 0;
		release_finished_calls(in);
	}
	while ((in = e->grave) != NULL) {
		if (in->in_ready || in->in_touched || in->in_dirty)
			break; /* still referenced from a list: free next turn */
		e->grave = in->grave_next;
		inst_free(in);
	}
	return 0;
}

/* Work is left for another turn (effects that made instances ready, an
 * acknowledgement written by a done callback, a round limit reached). */
static int
engine_busy(const struct sm_engine *e)
{
	return e->ready_head || e->pend_head || e->defer_head || e->dirty ||
	    (e->store && store_batch_count(e->batch));
}

int
sm_engine_flush(struct sm_engine *e, struct sm_error *err)
{
	int turns, rc = 0;

	if (e->in_flush)
		return 0;
	e->in_flush = 1;
	for (turns = 0; turns < MAX_ROUNDS && rc == 0 && !e->commit_failures && engine_busy(e);
	    turns++)
		rc = engine_turn(e, err);
	if (rc == 0 && !e->commit_failures && engine_busy(e))
		wake_in(e, 0); /* a machine that keeps itself busy must not hold the loop */
	e->in_flush = 0;
	return rc;
}

static void
prepare_cb(struct sm_loop *loop, void *arg)
{
	struct sm_engine *e = arg;
	struct sm_error err;

	(void)loop;
	if (e->in_flush || !engine_busy(e))
		return;
	sm_error_clear(&err);
	e->in_flush = 1;
	/* one turn, one commit; more work continues on the next loop turn */
	if (engine_turn(e, &err) == 0 && !e->commit_failures && engine_busy(e))
		wake_in(e, 0);
	e->in_flush = 0;
}

/* ---- actions reporting -------------------------------------------------- */

int
sm_action_done(struct sm_action_call *call, json_t *result)
{
	struct sm__inst *in;
	char name[600];

	if (!call || call->finished)
		return SM_EINVAL;
	call->finished = 1;
	in = call->inst;
	if (in->removed || in->done || !sm__session_invocation(in->s, call->invokeid))
		return 0;
	if (result && sm__json_depth(result, SM_DM_DEPTH_MAX) >= SM_DM_DEPTH_MAX) {
		char msg[200];

		/* it could not be stored: the invocation fails instead (and may retry) */
		snprintf(msg, sizeof(msg), "action result is nested deeper than %d levels: "
		    "return flatter data", SM_DM_DEPTH_MAX - 1);
		call->finished = 0;
		return sm_action_fail(call, "error.execution", msg);
	}
	snprintf(name, sizeof(name), "done.invoke.%s", call->invokeid);
	push_copy(in, name, result, call->invokeid);
	invocation_finished(in, call->invokeid);
	return 0;
}

int
sm_action_fail(struct sm_action_call *call, const char *error, const char *message)
{
	struct sm__inst *in;
	struct sm_invocation *inv;
	const struct sm_invoke *iv;

	if (!call || call->finished)
		return SM_EINVAL;
	call->finished = 1;
	in = call->inst;
	if (!error)
		error = "error.execution";
	if (in->removed || in->done)
		return 0;
	inv = sm__session_invocation(in->s, call->invokeid);
	if (!inv)
		return 0;
	iv = &in->m->states[inv->state].invokes[inv->inv_index];
	if (iv->kind == SM_INV_ACTION && sm_retry_should(&iv->retry, inv->attempt, error)) {
		int64_t delay = sm_retry_delay_ms(&iv->retry, inv->attempt, sm_rng_next(&in->e->rng));
		char tid[600];
		json_t *payload;
		struct sm_event *ev;

		inv->attempt++;
		snprintf(tid, sizeof(tid), "retry:%s", call->invokeid);
		if (sm_record_timer_retry(&payload, call->invokeid, inv->attempt, error, message) ==
		    0)
			timer_add(in, tid, sm_time_wall_ms() + delay, payload);
		/* a history record says why the step is retried */
		ev = sm__event_new(error, NULL, SM_EV_PLATFORM);
		if (ev) {
			sm_record_retry_data(
			    &ev->data, call->invokeid, message, inv->attempt, delay);
			ev->invokeid = strdup(call->invokeid);
			write_history(
			    in, ev, sm__session_active(in->s), NULL, SM_RECORD_STEP_RETRY);
			sm__event_free(ev);
		}
		if (!in->in_touched) {
			in->in_touched = 1;
			in->touched_next = in->e->touched;
			in->e->touched = in;
		}
		inst_ready(in);
		return 0;
	}
	action_report_error(in, call->invokeid, error, message, inv->attempt);
	return 0;
}

/* ---- public API --------------------------------------------------------- */

int
sm_engine_create(struct sm_engine **out, struct sm_loop *loop, struct store *store,
    struct sm_error *err)
{
	struct sm_engine *e;

	*out = NULL;
	if (!loop)
		return sm_error_set(err, SM_EINVAL, "engine needs an event loop");
	e = calloc(1, sizeof(*e));
	if (!e)
		return sm_error_set(err, SM_ENOMEM, "out of memory creating the engine");
	e->loop = loop;
	e->store = store;
	e->stored_machines = json_object();
	sm_rng_init(&e->rng);
	if (!e->stored_machines || store_batch_create(&e->batch) != 0 ||
	    sm_loop_prepare_add(loop, prepare_cb, e) != 0) {
		json_decref(e->stored_machines);
		store_batch_destroy(e->batch);
		free(e);
		return sm_error_set(err, SM_ENOMEM, "out of memory creating the engine");
	}
	*out = e;
	return 0;
}

static void
destroy_tree(struct sm__inst *in)
{
	struct sm__inst *ch, *next;

	for (ch = in->children; ch; ch = next) {
		next = ch->sibling;
		destroy_tree(ch);
	}
	in->children = NULL;
	inst_free(in);
}

void
sm_engine_destroy(struct sm_engine *e)
{
	size_t i;
	struct pending *p;

	if (!e)
		return;
	sm_loop_prepare_del(e->loop, prepare_cb, e);
	while ((p = e->pend_head) != NULL) {
		e->pend_head = p->next;
		sm__effects_free(p->fx);
		free(p);
	}
	while (e->grave) {
		struct sm__inst *in = e->grave;

		e->grave = in->grave_next;
		in->children = NULL; /* buried children are in the grave themselves */
		inst_free(in);
	}
	for (i = 0; i < e->nbuckets; i++) {
		struct sm__inst *in = e->buckets[i], *next;

		for (; in; in = next) {
			next = in->hnext;
			destroy_tree(in);
		}
	}
	free(e->buckets);
	for (i = 0; i < e->nmachines; i++)
		if (e->machines[i].owned)
			sm_machine_free((struct sm_machine *)e->machines[i].m);
	free(e->machines);
	json_decref(e->stored_machines);
	store_batch_destroy(e->batch);
	sm__actions_free(&e->actions);
	sm_jw_free(&e->jw);
	free(e->from);
	free(e->armv);
	free(e->bv);
	free(e);
}

int
sm_engine_register_action(struct sm_engine *e, const struct sm_action_def *def)
{
	return sm__actions_add(&e->actions, def);
}

int
sm_engine_action_known(void *engine, const char *name)
{
	struct sm_engine *e = engine;

	return sm__actions_find(&e->actions, name) != NULL;
}

int
sm_engine_add_machine(struct sm_engine *e, const struct sm_machine *m)
{
	return machine_register(e, m, 0);
}

static int
stored_instance_exists(struct sm_engine *e, const char *id)
{
	struct store_txn *txn;
	const void *v;
	size_t vl;
	int rc;

	if (!e->store || store_txn_begin(e->store, STORE_TXN_READ, &txn, NULL) != 0)
		return 0;
	rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
	store_txn_abort(txn);
	return rc == 0;
}

/* The rules of SM_ENGINE_ID_MAX in sm_engine.h; err may be NULL. */
static int
check_id(const char *id, struct sm_error *err)
{
	const char *p;

	if (!id || !id[0] || strlen(id) > SM_ENGINE_ID_MAX)
		return sm_error_set(err, SM_EINVAL, "instance id must be 1 to %d bytes (got %zu)",
		    SM_ENGINE_ID_MAX, id ? strlen(id) : 0);
	for (p = id; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return sm_error_set(err, SM_EINVAL, "instance id has a control character "
			    "(byte 0x%02x at offset %zu): use printable characters",
			    (unsigned char)*p, (size_t)(p - id));
		if (*p == '/')
			return sm_error_set(err, SM_EINVAL, "instance id '%s' has a '/' at offset "
			    "%zu: '/' is reserved for child sessions (<parent>/<invokeid>)", id,
			    (size_t)(p - id));
	}
	if (!sm_utf8_valid(id, strlen(id)))
		return sm_error_set(err, SM_EINVAL, "instance id is not valid UTF-8: use UTF-8 text");
	return 0;
}

int
sm_engine_start(struct sm_engine *e, const struct sm_machine *m, const char *id,
    json_t *task, struct sm_error *err)
{
	struct sm__inst *in;
	int rc;

	if (!m)
		return sm_error_set(err, SM_EINVAL, "no machine given for instance '%s'",
		    id ? id : "");
	rc = check_id(id, err);
	if (rc != 0)
		return rc;
	if (task && !json_is_object(task))
		return sm_error_set(err, SM_EINVAL, "task of instance '%s' must be a json object", id);
	if (task && sm__json_depth(task, SM_DM_DEPTH_MAX) >= SM_DM_DEPTH_MAX)
		return sm_error_set(err, SM_ETOOBIG, "task of instance '%s' is nested deeper than "
		    "%d levels: flatten it", id, SM_DM_DEPTH_MAX - 1);
	if (inst_find(e, id) || stored_instance_exists(e, id))
		return sm_error_set(err, SM_EEXISTS, "instance '%s' already exists", id);
	rc = machine_register(e, m, 0);
	if (rc != 0)
		return sm_error_set(err, rc, "out of memory registering machine '%s'", m->name);
	in = inst_new(e, m, id, task, err);
	if (!in)
		return err ? err->code : SM_ENOMEM;
	in->persist = e->store != NULL;
	rc = inst_insert(e, in);
	if (rc != 0) {
		inst_free(in);
		return sm_error_set(err, rc, "out of memory adding instance '%s'", id);
	}
	store_machine(e, m);
	inst_ready(in);
	return 0;
}

int
sm_engine_post(struct sm_engine *e, const char *id, const char *event, json_t *data)
{
	struct sm__inst *in = id ? inst_find(e, id) : NULL;

	if (!in || in->done)
		return SM_ENOTFOUND;
	if (!event || !event[0])
		return SM_EINVAL;
	if (data && sm__json_depth(data, SM_DM_DEPTH_MAX) >= SM_DM_DEPTH_MAX) {
		sm_log_error("engine: event '%s' for '%s' refused: its data is nested deeper than "
		    "%d levels (flatten it)", event, id, SM_DM_DEPTH_MAX - 1);
		return SM_ETOOBIG;
	}
	push_copy(in, event, data, NULL);
	return 0;
}

int
sm_engine_instance_status(struct sm_engine *e, const char *id, struct sm_instance_status *out)
{
	struct sm__inst *in = inst_find(e, id);

	memset(out, 0, sizeof(*out));
	if (in) {
		out->state = in->failed ? SM_INSTANCE_FAILED :
		    in->done ? SM_INSTANCE_DONE : SM_INSTANCE_RUNNING;
		snprintf(out->final_id, sizeof(out->final_id), "%s", in->final_id);
		out->steps = in->hist_seq;
		return 0;
	}
	if (e->store) {
		struct store_txn *txn;
		const void *v;
		size_t vl;
		json_t *j = NULL;
		int rc;

		if (store_txn_begin(e->store, STORE_TXN_READ, &txn, NULL) != 0)
			return SM_ESTORE;
		rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
		if (rc == 0)
			j = json_loadb(v, vl, JSON_ALLOW_NUL, NULL);
		store_txn_abort(txn);
		if (rc != 0)
			return rc;
		if (!j)
			return SM_ECORRUPT;
		{
			const char *st = json_string_value(json_object_get(j, "status"));

			out->state = !st ? SM_INSTANCE_RUNNING : strcmp(st, "done") == 0 ?
			    SM_INSTANCE_DONE : strcmp(st, "failed") == 0 ? SM_INSTANCE_FAILED :
			    SM_INSTANCE_RUNNING;
		}
		snprintf(out->final_id, sizeof(out->final_id), "%s",
		    json_string_value(json_object_get(j, "final")) ?
		    json_string_value(json_object_get(j, "final")) : "");
		out->steps = (uint64_t)json_integer_value(json_object_get(j, "hist_seq"));
		json_decref(j);
		return 0;
	}
	return SM_ENOTFOUND;
}

json_t *
sm_engine_instance_config(struct sm_engine *e, const char *id)
{
	struct sm__inst *in = inst_find(e, id);

	return in ? sm__session_config_json(in->s) : NULL;
}

json_t *
sm_engine_instance_datamodel(struct sm_engine *e, const char *id)
{
	struct sm__inst *in = inst_find(e, id);
	json_t *dm = in ? sm__session_datamodel(in->s) : NULL;

	return dm ? json_deep_copy(dm) : NULL;
}

size_t
sm_engine_running_count(const struct sm_engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->nbuckets; i++) {
		const struct sm__inst *in;

		for (in = e->buckets[i]; in; in = in->hnext)
			if (!in->done)
				n++;
	}
	return n;
}

int
sm_engine_forget(struct sm_engine *e, const char *id)
{
	struct sm__inst **pp, *in;

	if (!e->nbuckets || !id)
		return SM_ENOTFOUND;
	for (pp = &e->buckets[hash_str(id) % e->nbuckets]; (in = *pp) != NULL; pp = &in->hnext) {
		if (strcmp(in->id, id) != 0)
			continue;
		if (!in->done)
			return SM_EBUSY;
		if (!in->acked) {
			/* the end is dealt with: recovery no longer reports it */
			in->acked = 1;
			write_state(in);
		}
		*pp = in->hnext;
		e->ninst--;
		in->hnext = NULL;
		inst_bury(in);
		return 0;
	}
	return SM_ENOTFOUND;
}

void
sm_engine_on_done(struct sm_engine *e, sm_engine_done_fn *fn, void *arg)
{
	e->done_fn = fn;
	e->done_arg = arg;
}

void
sm_engine_on_trace(struct sm_engine *e, sm_engine_trace_fn *fn, void *arg)
{
	e->trace_fn = fn;
	e->trace_arg = arg;
}

void
sm_engine_on_probe(struct sm_engine *e, sm_engine_probe_fn *fn, void *arg)
{
	e->probe_fn = fn;
	e->probe_arg = arg;
	e->probe_n = 0;
}

void
sm_engine_on_log(struct sm_engine *e, sm_engine_log_fn *fn, void *arg)
{
	e->log_fn = fn;
	e->log_arg = arg;
}

/* ---- recovery ----------------------------------------------------------- */

static const struct sm_machine *
machine_for_hash(struct sm_engine *e, struct store_txn *txn,
    const char *hash, const char *path)
{
	size_t i;
	const void *v;
	size_t vl;
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	char dir[4096];
	const char *slash;

	for (i = 0; i < e->nmachines; i++)
		if (strcmp(e->machines[i].hash, hash) == 0)
			return e->machines[i].m;
	if (strlen(hash) != 64 || store_get(txn, STORE_T_MACHINES, hash, 64, &v, &vl) != 0)
		return NULL;
	dir[0] = 0;
	slash = path ? strrchr(path, '/') : NULL;
	if (slash && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
	}
	if (sm_machine_load_memory(v, vl, path, dir[0] ? dir : ".", NULL, &m, &diags) != 0) {
		sm_log_error("engine: stored machine %s does not load any more:", hash);
		sm_diags_print(&diags, stderr);
		sm_diags_free(&diags);
		return NULL;
	}
	sm_diags_free(&diags);
	if (machine_register(e, m, 1) != 0) {
		sm_machine_free(m);
		return NULL;
	}
	json_object_set_new(e->stored_machines, hash, json_true());
	return m;
}

int
sm_engine_machine_for_hash(struct sm_engine *e, const char *hash, const char *path,
    const struct sm_machine **out, struct sm_error *err)
{
	struct store_txn *txn;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < e->nmachines; i++)
		if (strcmp(e->machines[i].hash, hash) == 0) {
			*out = e->machines[i].m;
			return 0;
		}
	if (!e->store)
		return sm_error_set(err, SM_ENOTFOUND,
		    "machine version %.12s is not loaded and "
		    "there is no store to read it from",
		    hash);
	if ((rc = store_txn_begin(e->store, STORE_TXN_READ, &txn, err)) != 0)
		return rc;
	*out = machine_for_hash(e, txn, hash, path);
	store_txn_abort(txn);
	if (!*out)
		return sm_error_set(err, SM_ENOTFOUND,
		    "machine version %.12s is not in the store "
		    "or does not load any more (logged)",
		    hash);
	return 0;
}

/* A loaded session by id: a top-level instance or a child of one (ids of
 * children are "<parent id>/<invokeid>"; top-level ids have no '/'). */
static struct sm__inst *
tree_find(struct sm__inst *in, const char *id)
{
	struct sm__inst *ch, *r;

	if (strcmp(in->id, id) == 0)
		return in;
	for (ch = in->children; ch; ch = ch->sibling)
		if (!ch->removed && (r = tree_find(ch, id)) != NULL)
			return r;
	return NULL;
}

static struct sm__inst *
session_find(struct sm_engine *e, const char *id)
{
	const char *slash = strchr(id, '/');
	char root[SM_ENGINE_ID_MAX + 1];
	struct sm__inst *in;

	if (!slash)
		return inst_find(e, id);
	if ((size_t)(slash - id) > SM_ENGINE_ID_MAX)
		return NULL;
	memcpy(root, id, (size_t)(slash - id));
	root[slash - id] = 0;
	in = inst_find(e, root);
	return in ? tree_find(in, id) : NULL;
}

static void
pend_invoke(struct sm__inst *in, const struct sm_invocation *inv)
{
	struct sm_effect *fx = calloc(1, sizeof(*fx));

	if (!fx || !(fx->invokeid = strdup(inv->invokeid))) {
		free(fx);
		sm_log_error("engine: out of memory restarting invocation '%s' of '%s'",
		    inv->invokeid, in->id);
		return;
	}
	fx->kind = SM_FX_INVOKE;
	fx->state = inv->state;
	fx->inv_index = inv->inv_index;
	fx->data = inv->params ? json_incref(inv->params) : NULL;
	pend_add(in->e, in, fx);
}

/* Restore what a stored record holds beyond the session: counters, timers;
 * restart in-flight actions (attempt + 1). */
static void
recover_session(struct sm_engine *e, struct sm__inst *in, json_t *j)
{
	json_t *timers, *t;
	struct eng_timer **tail = &in->timers;
	size_t i, inflight = 0;
	struct sm_invocation *inv;

	in->persist = 1;
	in->restarts = (unsigned)json_integer_value(json_object_get(j, "restarts"));
	in->started = 1;
	in->recovered = 1;
	in->created = json_integer_value(json_object_get(j, "created"));
	in->hist_seq = (uint64_t)json_integer_value(json_object_get(j, "hist_seq"));
	in->inbox_seq = (uint64_t)json_integer_value(json_object_get(j, "inbox_seq"));
	timers = json_object_get(j, "timers");
	json_array_foreach(timers, i, t) {
		const char *tid = json_string_value(json_object_get(t, "id"));
		json_t *payload = json_object_get(t, "payload");
		struct eng_timer *et;

		if (!tid || !json_is_object(payload))
			continue;
		et = calloc(1, sizeof(*et));
		if (!et || !(et->tid = strdup(tid))) {
			free(et);
			continue;
		}
		et->inst = in;
		et->due = json_integer_value(json_object_get(t, "due"));
		et->payload = json_incref(payload);
		et->seq = ++e->timer_seq; /* the stored list is in creation order */
		*tail = et;
		tail = &et->next;
	}
	/* in-flight actions restart with the next attempt number; child SCXML
	 * sessions are restored from their own records (restart_children) */
	for (inv = sm__session_invocations(in->s); inv; inv = inv->next) {
		const struct sm_invoke *iv = &in->m->states[inv->state].invokes[inv->inv_index];
		char tid[600];

		if (iv->kind != SM_INV_ACTION || inv->finished)
			continue;
		snprintf(tid, sizeof(tid), "retry:%s", inv->invokeid);
		if (timer_find(in, tid, SM_RECORD_TIMER_RETRY))
			continue; /* a retry is already scheduled */
		inv->attempt++;
		pend_invoke(in, inv);
		inflight++;
	}
	/* max_restarts: a task whose actions were in flight across too many
	 * crashes gets error.restarts instead of crash-looping the daemon (its
	 * actions restart too; the machine leaves their state) */
	if (inflight && !in->parent) {
		in->restarts++;
		if (e->max_restarts && in->restarts > e->max_restarts) {
			json_t *d = json_pack("{s:I,s:I}", "restarts", (json_int_t)in->restarts,
			    "max", (json_int_t)e->max_restarts);

			sm_log_warn("engine: instance '%s' had actions in flight across %u restarts "
			    "(max %u): error.restarts", in->id, in->restarts, e->max_restarts);
			push_named(in, "error.restarts", d, NULL, SM_EV_EXTERNAL);
			json_decref(d);
		}
	}
	in->in_touched = 1;
	in->touched_next = e->touched;
	e->touched = in;
	inst_ready(in); /* writes the state with the new attempt numbers first */
}

/* After every record is loaded: an SCXML invocation whose child has no
 * record (it had not committed its first step) starts from scratch. */
static void
restart_children(struct sm__inst *in)
{
	struct sm_invocation *inv;
	struct sm__inst *ch;

	if (!in->recovered)
		return;
	in->recovered = 0;
	for (inv = sm__session_invocations(in->s); inv; inv = inv->next) {
		const struct sm_invoke *iv = &in->m->states[inv->state].invokes[inv->inv_index];

		if (iv->kind == SM_INV_SCXML && !inv->finished && !child_by_invokeid(in, inv->invokeid))
			pend_invoke(in, inv);
	}
	for (ch = in->children; ch; ch = ch->sibling)
		restart_children(ch);
}

/*
 * Report again the end of a top-level instance that ended and whose end
 * the daemon did not acknowledge (sm_engine_forget) before the process
 * stopped: it is loaded as finished, the DONE effect runs after the commit.
 */
static void
recover_finished(struct sm__inst *in, json_t *j)
{
	const char *final = json_string_value(json_object_get(j, "final"));
	struct sm_effect *fx = calloc(1, sizeof(*fx));

	in->persist = 1;
	in->started = 1;
	in->done = 1;
	in->restarts = (unsigned)json_integer_value(json_object_get(j, "restarts"));
	in->created = json_integer_value(json_object_get(j, "created"));
	in->hist_seq = (uint64_t)json_integer_value(json_object_get(j, "hist_seq"));
	in->inbox_seq = (uint64_t)json_integer_value(json_object_get(j, "inbox_seq"));
	snprintf(in->final_id, sizeof(in->final_id), "%s", final ? final : "");
	if (!fx) {
		sm_log_error("engine: out of memory reporting the end of '%s' again", in->id);
		return;
	}
	fx->kind = SM_FX_DONE;
	fx->state = -1;
	fx->data = json_object_get(json_object_get(j, "session"), "donedata");
	fx->data = json_is_null(fx->data) ? NULL : json_incref(fx->data);
	pend_add(in->e, in, fx);
}

/* A top-level record: running (`finished` 0) or ended (1) or failed (2),
 * not acknowledged. */
static int
recover_one(struct sm_engine *e, struct store_txn *txn, json_t *j, int finished)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *hash = json_string_value(json_object_get(j, "machine"));
	const struct sm_machine *m;
	struct sm__inst *in;
	struct sm_error err;

	if (!id || !hash)
		return SM_ECORRUPT; /* the caller checked and logged */
	if (inst_find(e, id))
		return 0;
	m = machine_for_hash(e, txn, hash, json_string_value(json_object_get(j, "machine_path")));
	if (!m) {
		sm_log_error("engine: instance '%s' needs machine %s, which is not available: skipped",
		    id, hash);
		return SM_ENOTFOUND;
	}
	sm_error_clear(&err);
	in = inst_new(e, m, id, json_object_get(j, "task"), &err);
	if (!in) {
		sm_log_error("engine: cannot reload instance '%s': %s", id, err.msg);
		return err.code;
	}
	if (finished != 2 && /* a failed instance's session was not saved */
	    sm__session_restore(in->s, json_object_get(j, "session"), &err) != 0) {
		sm_log_error("engine: cannot reload instance '%s': %s", id, err.msg);
		inst_free(in);
		return err.code;
	}
	if (inst_insert(e, in) != 0) {
		inst_free(in);
		return SM_ENOMEM;
	}
	if (finished == 2) {
		const char *why = json_string_value(json_object_get(j, "error"));

		in->failed = 1;
		in->error = strdup(why ? why : "");
	}
	if (finished)
		recover_finished(in, j);
	else
		recover_session(e, in, j);
	return 0;
}

/* A child session's record: attach it to its (already loaded) parent. */
static int
recover_child(struct sm_engine *e, json_t *j)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *pid = json_string_value(json_object_get(j, "parent"));
	const char *invokeid = json_string_value(json_object_get(j, "invokeid"));
	struct sm__inst *parent, *in;
	struct sm_invocation *inv;
	const struct sm_invoke *iv;
	struct sm_error err;
	const struct sm_machine *cm = NULL;
	struct sm_machine *own = NULL;

	if (!id || !pid || !invokeid) {
		sm_log_error("engine: child session record '%s' lacks its parent or invoke id: "
		    "skipped (the store is damaged; inspect it with smctl)", id ? id : "?");
		return SM_ECORRUPT;
	}
	parent = session_find(e, pid);
	if (!parent || parent->done || !parent->recovered) {
		sm_log_warn("engine: child session '%s' has no running parent '%s': skipped", id,
		    pid);
		return SM_ENOTFOUND;
	}
	inv = sm__session_invocation(parent->s, invokeid);
	iv = inv ? &parent->m->states[inv->state].invokes[inv->inv_index] : NULL;
	sm_error_clear(&err);
	if (!iv || iv->kind != SM_INV_SCXML || child_by_invokeid(parent, invokeid) ||
	    sm__invocation_machine(parent->s, inv, &cm, &own, &err) != 0) {
		sm_log_warn("engine: child session '%s' is not an invocation of '%s': skipped%s%s",
		    id, pid, err.msg[0] ? ": " : "", err.msg);
		return SM_ENOTFOUND;
	}
	in = inst_new(e, cm, id, NULL, &err);
	if (in)
		in->own_m = own;
	else
		sm_machine_free(own);
	if (!in || !(in->parent_invokeid = strdup(invokeid))) {
		inst_free(in);
		sm_log_error("engine: cannot reload child session '%s': %s", id, err.msg);
		return SM_ENOMEM;
	}
	if (sm__session_restore(in->s, json_object_get(j, "session"), &err) != 0) {
		sm_log_error("engine: cannot reload child session '%s': %s", id, err.msg);
		inst_free(in);
		return err.code;
	}
	in->parent = parent;
	in->sibling = parent->children;
	parent->children = in;
	recover_session(e, in, j);
	in->inbox_seq = 0; /* children draw inbox keys from their top-level instance */
	return 0;
}

void
sm_engine_set_max_restarts(struct sm_engine *e, unsigned max)
{
	e->max_restarts = max;
}

/* An inbox event of the store: queue it again for its session. */
static int
recover_inbox_event(void *arg, const char *id, uint64_t seq, json_t *j)
{
	struct sm__inst *in = session_find(arg, id), *root;
	struct sm_event *ev;

	if (!in || in->done)
		return 0;
	ev = j ? sm__event_from_json(j) : NULL;
	if (!ev)
		return 0;
	ev->inbox_seq = seq;
	root = inst_root(in);
	if (ev->inbox_seq > root->inbox_seq)
		root->inbox_seq = ev->inbox_seq; /* never reuse a pending key */
	sm__session_push(in->s, ev);
	inst_ready(in);
	return 0;
}

int
sm_engine_recover(struct sm_engine *e, struct sm_error *err)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	const void *k, *v;
	size_t kl, vl;
	int rc;
	size_t nloaded = 0, i;
	json_t *children, *cj;

	if (!e->store)
		return 0;
	children = json_array();
	if (!children)
		return sm_error_set(err, SM_ENOMEM, "out of memory recovering instances");
	rc = store_txn_begin(e->store, STORE_TXN_READ, &txn, err);
	if (rc != 0)
		return rc;
	rc = store_cursor_open(txn, STORE_T_INSTANCES, &cur);
	if (rc != 0) {
		store_txn_abort(txn);
		return sm_error_set(err, rc, "cannot read the instances table of '%s'",
		    store_path(e->store));
	}
	for (rc = store_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(cur, &k, &kl, &v, &vl)) {
		json_t *j;
		const char *status, *jid;
		char kbuf[256];
		struct sm_error perr;

		sm_text_escape(kbuf, sizeof(kbuf), k, kl);
		sm_error_clear(&perr);
		rc = sm_record_instance_parse(k, kl, v, vl, &j, &perr);
		if (rc == SM_EVERSION) {
			sm_log_error("engine: instance record '%s' %s: skipped (run the newer smd "
			    "that wrote it)", kbuf, perr.msg);
			continue;
		}
		if (rc != 0) {
			sm_log_error("engine: instance record '%s' %s: skipped (the store is "
			    "damaged; inspect it with smctl)", kbuf, perr.msg);
			continue;
		}
		status = json_string_value(json_object_get(j, "status"));
		jid = json_string_value(json_object_get(j, "id"));
		if (status && strcmp(status, "running") == 0 &&
		    (!jid || strlen(jid) != kl || memcmp(jid, k, kl) != 0 ||
		    !json_is_string(json_object_get(j, "machine")))) {
			sm_log_error("engine: instance record '%s' has no machine or does not name "
			    "its own id: skipped (the store is damaged; inspect it with smctl)", kbuf);
			json_decref(j);
			continue;
		}
		if (status && strcmp(status, "running") == 0 &&
		    !json_is_string(json_object_get(j, "parent")) &&
		    check_id(jid, NULL) != 0) {
			sm_log_error("engine: instance record '%s': not a valid instance id: skipped",
			    kbuf);
			json_decref(j);
			continue;
		}
		if (status && (strcmp(status, "done") == 0 || strcmp(status, "failed") == 0) &&
		    json_is_false(json_object_get(j, "acked")) &&
		    !json_is_string(json_object_get(j, "parent")) && check_id(jid, NULL) == 0 &&
		    strlen(jid) == kl && memcmp(jid, k, kl) == 0)
			recover_one(e, txn, j, strcmp(status, "failed") == 0 ? 2 : 1);
		if (status && strcmp(status, "running") == 0) {
			if (json_is_string(json_object_get(j, "parent")))
				json_array_append(children, j); /* once its parent is loaded */
			else if (recover_one(e, txn, j, 0) == 0)
				nloaded++;
		}
		json_decref(j);
	}
	store_cursor_close(cur);
	/* key order puts "p" before "p/kid" before "p/kid/grandkid" */
	json_array_foreach(children, i, cj)
		recover_child(e, cj);
	json_decref(children);
	for (i = 0; i < e->nbuckets; i++) {
		struct sm__inst *in;

		for (in = e->buckets[i]; in; in = in->hnext)
			restart_children(in);
	}
	/* queued external events that were not yet processed */
	sm_record_inbox_each(txn, NULL, recover_inbox_event, e);
	store_txn_abort(txn);
	if (nloaded)
		sm_log_info("engine: recovered %zu running instance(s) from '%s'", nloaded,
		    store_path(e->store));
	return 0;
}
