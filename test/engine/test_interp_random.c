/*
 * test_interp_random.c - random machines, random events.
 *
 * Each machine runs twice side by side: run A in one session from start to
 * end, run B stored and reloaded at every macrostep boundary, as the
 * engine does (sm__session_write into the JSON writer, parsed back, and
 * sm__session_restore into a fresh session).  After every macrostep both
 * must have taken the same transitions (event, source and targets, in
 * order), produced the same effects (sends with target, event and delay,
 * logs, the end), and their stored records must be byte for byte the same
 * (configuration, history values, datamodel, send counters, final state).
 * Half of the machines use the task datamodel and count in it (<assign>),
 * so the datamodel is compared too.
 *
 * And the interpreter must never crash and every configuration it reaches
 * must be legal:
 *   - no pseudo-state (history, initial) is active;
 *   - the parent of an active state is active (or is the root);
 *   - an active compound state has exactly one active child state;
 *   - an active parallel state has all its child states active;
 *   - while running, the root has exactly one active child.
 * Machines come from a seeded generator (nesting, parallel regions, shallow
 * and deep history, internal/external and targetless transitions, finals,
 * raise, send with and without delay); the seed is printed so a failure can
 * be replayed with SM_RANDOM_SEED.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sm_interp_private.h"
#include "sm_jw.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "tap.h"

struct gen {
	char *buf;
	size_t len, cap;
	int nstates;
	char ids[256][16];      /* real states and history states */
	int is_final[256];
	int nids;
	unsigned rnd;
	int task_dm;            /* datamodel='task' with a counter n */
};

static unsigned
rnd(struct gen *g)
{
	g->rnd = g->rnd * 1103515245u + 12345u;
	return (g->rnd >> 16) & 0x7fff;
}

static void put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < g->cap - g->len)
			break;
		g->cap = g->cap * 2 + (size_t)n + 64;
		g->buf = realloc(g->buf, g->cap);
	}
	g->len += (size_t)n;
}

static const char *events[] = { "a", "b", "c", "d.e", "d", "quit" };

/* transitions are written after the state's children are known: collect
 * the ids first (pass 1) with the same random sequence as pass 2 */
static void gen_state(struct gen *g, int depth, int pass, int parent_is_parallel);

static void
gen_transitions(struct gen *g, int pass)
{
	int k, n = (int)(rnd(g) % 3);

	for (k = 0; k < n; k++) {
		const char *ev = events[rnd(g) % 5];
		int targetless = rnd(g) % 5 == 0;
		int t = g->nids ? (int)(rnd(g) % (unsigned)g->nids) : 0;
		int internal = rnd(g) % 4 == 0;
		int body = (int)(rnd(g) % 12);
		const char *ev2 = events[rnd(g) % 5];

		if (pass == 1)
			continue; /* same number of rnd() calls in both passes */
		put(g, "<transition event='%s'", ev);
		if (!targetless && g->nids)
			put(g, " target='%s'", g->ids[t]);
		if (internal)
			put(g, " type='internal'");
		put(g, ">");
		if (body == 1)
			put(g, "<raise event='%s'/>", ev2);
		else if (body == 2)
			put(g, "<send event='%s'/>", ev2);
		else if (body >= 9 && g->task_dm)
			put(g, "<assign location='n' expr='n + %d'/>", body);
		put(g, "</transition>");
	}
}

static void
gen_children(struct gen *g, int depth, int pass, int parallel)
{
	int k, n = 2 + (int)(rnd(g) % 2);

	for (k = 0; k < n; k++)
		gen_state(g, depth + 1, pass, parallel);
}

static int
new_id(struct gen *g, int final)
{
	int i = g->nstates++;

	if (g->nids < 256) {
		snprintf(g->ids[g->nids], sizeof(g->ids[0]), "s%d", i);
		g->is_final[g->nids] = final;
		g->nids++;
	}
	return i;
}

static void
gen_state(struct gen *g, int depth, int pass, int parent_is_parallel)
{
	unsigned r = rnd(g) % 10;
	int id;

	if (depth >= 4 || g->nstates > 60 || r < 4) {
		if (!parent_is_parallel && depth > 1 && rnd(g) % 6 == 0) {
			id = new_id(g, 1);
			put(g, "<final id='s%d'/>", id);
			return;
		}
		id = new_id(g, 0);
		put(g, "<state id='s%d'>", id);
		if (rnd(g) % 8 == 0)
			put(g, "<onentry><raise event='%s'/></onentry>", events[rnd(g) % 5]);
		if (rnd(g) % 5 == 0)
			put(g, "<onexit><send event='%s' delay='%dms'/></onexit>", events[rnd(g) % 5],
			    (int)(rnd(g) % 3));
		gen_transitions(g, pass);
		put(g, "</state>");
	} else if (r < 7) {
		id = new_id(g, 0);
		put(g, "<state id='s%d'>", id);
		if (rnd(g) % 3 == 0) {
			/* history whose default targets the next child (id+2 after h) */
			int hid = g->nstates++;

			put(g, "<history id='h%d' type='%s'><transition target='s%d'/></history>", hid,
			    rnd(g) % 2 ? "deep" : "shallow", g->nstates);
			if (g->nids < 256) {
				snprintf(g->ids[g->nids], sizeof(g->ids[0]), "h%d", hid);
				g->is_final[g->nids] = 0;
				g->nids++;
			}
		}
		gen_children(g, depth, pass, 0);
		gen_transitions(g, pass);
		put(g, "</state>");
	} else {
		id = new_id(g, 0);
		put(g, "<parallel id='s%d'>", id);
		gen_children(g, depth, pass, 1);
		gen_transitions(g, pass);
		put(g, "</parallel>");
	}
}

static char *
gen_machine(unsigned seed)
{
	struct gen g;
	int pass, k;

	memset(&g, 0, sizeof(g));
	for (pass = 1; pass <= 2; pass++) {
		int nids = g.nids;
		char ids[256][16];

		memcpy(ids, g.ids, sizeof(ids));
		free(g.buf);
		g.buf = NULL;
		g.len = g.cap = 0;
		g.nstates = 0;
		g.nids = pass == 2 ? nids : 0;
		g.rnd = seed;
		g.task_dm = (int)(seed % 2);
		if (g.task_dm)
			put(&g, "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' "
			    "datamodel='task'><datamodel><data id='n' expr='0'/></datamodel>");
		else
			put(&g, "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' "
			    "datamodel='null'>");
		for (k = 0; k < 2; k++) {
			put(&g, "<state id='top%d'>", k);
			gen_state(&g, 1, pass, 0);
			gen_state(&g, 1, pass, 0);
			put(&g, "<transition event='quit' target='end'/>"
			    "<transition event='b' target='top%d'/></state>", 1 - k);
		}
		put(&g, "<final id='end'/></scxml>");
		if (pass == 2)
			g.nids = nids;
		(void)ids;
	}
	return g.buf;
}

static int
legal(const struct sm_machine *m, const unsigned char *act, char *why, size_t wl)
{
	size_t i, k;
	int root_children = 0;

	for (i = 1; i < m->nstates; i++) {
		const struct sm_state *st = &m->states[i];
		int nact = 0, nreal = 0;

		if (!act[i])
			continue;
		if (st->kind == SM_ST_HISTORY_SHALLOW || st->kind == SM_ST_HISTORY_DEEP ||
		    st->kind == SM_ST_INITIAL) {
			snprintf(why, wl, "pseudo-state '%s' active", st->id);
			return 0;
		}
		if (st->parent > 0 && !act[st->parent]) {
			snprintf(why, wl, "'%s' active without its parent", st->id);
			return 0;
		}
		if (st->parent == 0)
			root_children++;
		for (k = 0; k < st->nchildren; k++) {
			const struct sm_state *c = &m->states[st->children[k]];

			if (c->kind == SM_ST_HISTORY_SHALLOW || c->kind == SM_ST_HISTORY_DEEP ||
			    c->kind == SM_ST_INITIAL)
				continue;
			nreal++;
			nact += act[st->children[k]] ? 1 : 0;
		}
		if (st->kind == SM_ST_COMPOUND && nreal > 0 && nact != 1) {
			snprintf(why, wl, "compound '%s' has %d active children", st->id, nact);
			return 0;
		}
		if (st->kind == SM_ST_PARALLEL && nact != nreal) {
			snprintf(why, wl, "parallel '%s' has %d of %d regions active", st->id, nact,
			    nreal);
			return 0;
		}
	}
	if (root_children != 1) {
		snprintf(why, wl, "%d active children of the root", root_children);
		return 0;
	}
	return 1;
}

static int
config_of(struct sm_session *s, const struct sm_machine *m, unsigned char *act)
{
	json_t *c = sm__session_config_json(s), *v;
	size_t i;

	memset(act, 0, m->nstates);
	json_array_foreach(c, i, v) {
		int k = sm_machine_state_index(m, json_string_value(v));

		if (k >= 0)
			act[k] = 1;
	}
	json_decref(c);
	return 0;
}

/* ---- run A against run B (stored and reloaded at every boundary) ------ */

struct run {
	struct sm_session *s;
	struct sm_jw trace;        /* transitions and effects of the current step */
};

static void
trace_cb(void *arg, struct sm_session *s, const struct sm_transition *t,
    const struct sm_event *ev)
{
	struct run *r = arg;
	const struct sm_machine *m = sm__session_machine(s);
	size_t i;

	sm_jw_lit(&r->trace, "[");
	sm_jw_str(&r->trace, ev ? ev->name : NULL);
	sm_jw_lit(&r->trace, ",");
	sm_jw_str(&r->trace, m->states[t->source].id);
	for (i = 0; i < t->ntargets; i++) {
		sm_jw_lit(&r->trace, ",");
		sm_jw_str(&r->trace, m->states[t->targets[i]].id);
	}
	sm_jw_lit(&r->trace, "]");
}

/* Take the effects into the trace; external sends without a target are
 * handed back (at most 3 a round: a machine whose every event sends two
 * more would otherwise grow without bound) in `back` (names, NULL-ended). */
static void
take_effects(struct run *r, const char **back, size_t nback)
{
	struct sm_effect *fx = sm__session_take_effects(r->s), *f;
	size_t n = 0;

	for (f = fx; f; f = f->next) {
		sm_jw_lit(&r->trace, "{");
		sm_jw_int(&r->trace, f->kind);
		sm_jw_lit(&r->trace, ",");
		sm_jw_str(&r->trace, f->target);
		sm_jw_lit(&r->trace, ",");
		sm_jw_str(&r->trace, f->event);
		sm_jw_lit(&r->trace, ",");
		sm_jw_int(&r->trace, f->delay_ms);
		sm_jw_lit(&r->trace, ",");
		sm_jw_str(&r->trace, f->sendid);
		sm_jw_lit(&r->trace, ",");
		sm_jw_json(&r->trace, f->data);
		sm_jw_lit(&r->trace, "}");
		if (back && f->kind == SM_FX_SEND && !f->target && n < nback - 1)
			back[n++] = strcmp(f->event, "a") == 0 ? "a" : strcmp(f->event, "b") == 0 ?
			    "b" : strcmp(f->event, "c") == 0 ? "c" : strcmp(f->event, "d") == 0 ?
			    "d" : strcmp(f->event, "d.e") == 0 ? "d.e" : "quit";
	}
	if (back)
		back[n] = NULL;
	sm__effects_free(fx);
}

static struct sm_session *
new_session(const struct sm_machine *m, struct run *r)
{
	struct sm_session *s = NULL;

	if (sm__session_create(m, "r", NULL, &s, NULL) != 0)
		bail_out("cannot create a session");
	sm__session_set_trace(s, trace_cb, r);
	return s;
}

/* The record the engine would store for r's session (in w). */
static void
record(struct run *r, struct sm_jw *w)
{
	sm_jw_reset(w);
	sm__session_write(r->s, w);
	if (w->err)
		bail_out("cannot write a session record: %d", w->err);
}

/* Replace B's session with one restored from its own record. */
static void
reload(struct run *b, const struct sm_machine *m, const struct sm_jw *rec)
{
	json_error_t je;
	json_t *j = json_loadb(rec->buf, rec->len, 0, &je);
	struct sm_error err;

	if (!j)
		bail_out("a session record does not parse: %s", je.text);
	sm__session_free(b->s);
	b->s = new_session(m, b);
	if (sm__session_restore(b->s, j, &err) != 0)
		bail_out("a session record does not restore: %s", err.msg);
	json_decref(j);
}

static int
same_jw(const struct sm_jw *x, const struct sm_jw *y)
{
	return x->len == y->len && (x->len == 0 || memcmp(x->buf, y->buf, x->len) == 0);
}

int
main(void)
{
	const char *env = getenv("SM_RANDOM_SEED");
	unsigned seed0 = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	int nmachines = env ? 1 : 300, loaded = 0, refused = 0, bad = 0, steps = 0, ended = 0;
	int differ = 0, compared = 0, reloads = 0;
	int i;
	struct sm_jw ra = SM_JW_INIT, rb = SM_JW_INIT;

	plan_no_plan();
	diag("seed %u (replay one machine with SM_RANDOM_SEED=<seed>)", seed0);
	for (i = 0; i < nmachines; i++) {
		unsigned seed = seed0 + (unsigned)i;
		char *xml = gen_machine(seed);
		struct sm_machine *m = NULL;
		struct sm_diags d = { 0 };
		struct run A = { NULL, SM_JW_INIT }, B = { NULL, SM_JW_INIT };
		const char *back[4];
		unsigned char *act;
		unsigned r = seed;
		int k, j, diff = 0;
		char why[200];

		if (sm_machine_load_memory(xml, strlen(xml), "random.scxml", NULL, NULL, &m, &d) != 0) {
			if (env)
				sm_diags_print(&d, stderr);
			refused++;
			sm_diags_free(&d);
			free(xml);
			continue;
		}
		sm_diags_free(&d);
		loaded++;
		act = calloc(m->nstates, 1);
		A.s = new_session(m, &A);
		B.s = new_session(m, &B);
		sm__session_start(A.s);
		sm__session_start(B.s);
		for (k = 0; k < 40 && sm__session_running(A.s) && !diff; k++) {
			const char *ev;

			/* the macrostep(s) just done: the same transitions and effects */
			take_effects(&A, back, sizeof(back) / sizeof(back[0]));
			take_effects(&B, NULL, 0);
			compared++;
			if (!same_jw(&A.trace, &B.trace)) {
				diag("seed %u step %d: run A did %.*s", seed, k, (int)A.trace.len,
				    A.trace.buf);
				diag("seed %u step %d: run B did %.*s", seed, k, (int)B.trace.len,
				    B.trace.buf);
				diff = 1;
				break;
			}
			sm_jw_reset(&A.trace);
			sm_jw_reset(&B.trace);
			/* the stored records are the same; B goes on from its own */
			record(&A, &ra);
			record(&B, &rb);
			if (!same_jw(&ra, &rb)) {
				diag("seed %u step %d: record A %.*s", seed, k, (int)ra.len, ra.buf);
				diag("seed %u step %d: record B %.*s", seed, k, (int)rb.len, rb.buf);
				diff = 1;
				break;
			}
			reload(&B, m, &rb);
			reloads++;
			config_of(A.s, m, act);
			if (!legal(m, act, why, sizeof(why))) {
				bad++;
				diag("seed %u after %d events: %s", seed, k, why);
				break;
			}
			/* sends without delay come back as external events */
			for (j = 0; back[j]; j++) {
				sm__session_push(A.s, sm__event_new(back[j], NULL, SM_EV_EXTERNAL));
				sm__session_push(B.s, sm__event_new(back[j], NULL, SM_EV_EXTERNAL));
			}
			r = r * 1103515245u + 12345u;
			ev = events[(r >> 16) % 6 == 5 && k < 30 ? (r >> 20) % 5 : (r >> 16) % 6];
			sm__session_push(A.s, sm__event_new(ev, NULL, SM_EV_EXTERNAL));
			sm__session_push(B.s, sm__event_new(ev, NULL, SM_EV_EXTERNAL));
			while (sm__session_pending(A.s) > 0 && sm__session_step(A.s, NULL))
				steps++;
			while (sm__session_pending(B.s) > 0 && sm__session_step(B.s, NULL))
				;
		}
		if (!diff) {
			/* the last steps and the end */
			take_effects(&A, back, sizeof(back) / sizeof(back[0]));
			take_effects(&B, NULL, 0);
			record(&A, &ra);
			record(&B, &rb);
			compared++;
			if (!same_jw(&A.trace, &B.trace) || !same_jw(&ra, &rb)) {
				diag("seed %u: the runs differ at the end", seed);
				diff = 1;
			}
		}
		differ += diff;
		if (!sm__session_running(A.s))
			ended++;
		sm__session_free(A.s);
		sm__session_free(B.s);
		sm_jw_free(&A.trace);
		sm_jw_free(&B.trace);
		free(act);
		sm_machine_free(m);
		free(xml);
	}
	sm_jw_free(&ra);
	sm_jw_free(&rb);
	diag("%d machines loaded, %d refused by the loader, %d macrosteps, %d ended, "
	    "%d reloads", loaded, refused, steps, ended, reloads);
	ok(loaded >= nmachines / 2, "most generated machines load (%d of %d)", loaded, nmachines);
	is_int(bad, 0, "every configuration reached is legal");
	is_int(differ, 0, "a run stored and reloaded at every macrostep boundary takes the same "
	    "transitions, makes the same effects and stores the same records as one that is "
	    "not (%d comparisons)", compared);
	if (!env)
		ok(steps > 0 && reloads > 0, "events were processed and sessions reloaded");
	return done_testing();
}
