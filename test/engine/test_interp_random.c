/*
 * test_interp_random.c - random machines, random events: the interpreter
 * must never crash and every configuration it reaches must be legal:
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
};

static unsigned rnd(struct gen *g)
{
	g->rnd = g->rnd * 1103515245u + 12345u;
	return (g->rnd >> 16) & 0x7fff;
}

static void put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct gen *g, const char *fmt, ...)
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

static void gen_transitions(struct gen *g, int pass)
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
		put(g, "</transition>");
	}
}

static void gen_children(struct gen *g, int depth, int pass, int parallel)
{
	int k, n = 2 + (int)(rnd(g) % 2);

	for (k = 0; k < n; k++)
		gen_state(g, depth + 1, pass, parallel);
}

static int new_id(struct gen *g, int final)
{
	int i = g->nstates++;

	if (g->nids < 256) {
		snprintf(g->ids[g->nids], sizeof(g->ids[0]), "s%d", i);
		g->is_final[g->nids] = final;
		g->nids++;
	}
	return i;
}

static void gen_state(struct gen *g, int depth, int pass, int parent_is_parallel)
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

static char *gen_machine(unsigned seed)
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

static int legal(const struct sm_machine *m, const unsigned char *act, char *why, size_t wl)
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

static int config_of(struct sm_session *s, const struct sm_machine *m, unsigned char *act)
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

int main(void)
{
	const char *env = getenv("SM_RANDOM_SEED");
	unsigned seed0 = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	int nmachines = env ? 1 : 300, loaded = 0, refused = 0, bad = 0, steps = 0, ended = 0;
	int i;

	plan_no_plan();
	diag("seed %u (replay one machine with SM_RANDOM_SEED=<seed>)", seed0);
	for (i = 0; i < nmachines; i++) {
		unsigned seed = seed0 + (unsigned)i;
		char *xml = gen_machine(seed);
		struct sm_machine *m = NULL;
		struct sm_diags d = { 0 };
		struct sm_session *s = NULL;
		struct sm_error err;
		unsigned char *act;
		unsigned r = seed;
		int k;
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
		sm__session_create(m, "r", NULL, &s, &err);
		sm__session_start(s);
		for (k = 0; k < 40 && sm__session_running(s); k++) {
			struct sm_effect *fx = sm__session_take_effects(s), *f;

			/* sends without delay come back as external events */
			/* (at most 3 per round: a machine whose every event sends
			 * two more would otherwise grow without bound) */
			int back = 0;

			for (f = fx; f; f = f->next)
				if (f->kind == SM_FX_SEND && !f->target && back++ < 3)
					sm__session_push(s, sm__event_new(f->event, NULL, SM_EV_EXTERNAL));
			sm__effects_free(fx);
			config_of(s, m, act);
			if (!legal(m, act, why, sizeof(why))) {
				bad++;
				diag("seed %u after %d events: %s", seed, k, why);
				break;
			}
			r = r * 1103515245u + 12345u;
			sm__session_push(s, sm__event_new(events[(r >> 16) % 6 == 5 && k < 30 ?
			    (r >> 20) % 5 : (r >> 16) % 6], NULL, SM_EV_EXTERNAL));
			while (sm__session_pending(s) > 0 && sm__session_step(s, NULL))
				steps++;
		}
		if (!sm__session_running(s))
			ended++;
		sm__effects_free(sm__session_take_effects(s));
		sm__session_free(s);
		free(act);
		sm_machine_free(m);
		free(xml);
	}
	diag("%d machines loaded, %d refused by the loader, %d macrosteps, %d ended", loaded,
	    refused, steps, ended);
	ok(loaded >= nmachines / 2, "most generated machines load (%d of %d)", loaded, nmachines);
	is_int(bad, 0, "every configuration reached is legal");
	if (!env)
		ok(steps > 0, "events were processed");
	return done_testing();
}
