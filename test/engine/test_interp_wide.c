/*
 * test_interp_wide.c - one event to a parallel of thousands of regions
 * (test/support/wide_parallel.h) must cost work in proportion to the
 * machine, not to its square or cube: selection, conflict removal, exit
 * and entry.  Before, one event took seconds at 1000 regions and minutes
 * at 3000 (every pair of enabled transitions computed two exit sets over
 * every state).
 *
 * Bounds are on CPU time (CLOCK_PROCESS_CPUTIME_ID, best of a few runs):
 *   - an event to 2000 regions stays under 0.5 s (it takes about 0.2 ms;
 *     the quadratic code took about 40 s on the same kind of machine);
 *   - 4000 regions cost less than 10 times 1000 regions (linear work gives
 *     4, quadratic 16, cubic 64).
 * And the answers: every region moves, the conflicting variant takes the
 * first region's transition only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sm_interp_private.h"
#include "sm_machine.h"
#include "tap.h"
#include "wide_parallel.h"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sm_machine *
load(int regions, int conflicting)
{
	struct sm_machine *m = NULL;
	struct sm_diags d = { 0 };
	char *xml = wide_parallel_xml(regions, conflicting);

	if (!xml || sm_machine_load_memory(xml, strlen(xml), "wide", NULL, NULL, &m, &d) != 0) {
		sm_diags_print(&d, stderr);
		bail_out("the %d-region machine does not load", regions);
	}
	sm_diags_free(&d);
	free(xml);
	return m;
}

static int ntaken;

static void
count_cb(void *arg, struct sm_session *s, const struct sm_transition *t, const struct sm_event *ev)
{
	(void)arg;
	(void)s;
	(void)t;
	(void)ev;
	ntaken++;
}

/* CPU seconds of one step on event `name`. */
static double
step(struct sm_session *s, const char *name)
{
	struct sm_event *used = NULL;
	double t0;

	sm__session_push(s, sm__event_new(name, NULL, SM_EV_EXTERNAL));
	t0 = cpu_now();
	sm__session_step(s, &used);
	t0 = cpu_now() - t0;
	sm__event_free(used);
	sm__effects_free(sm__session_take_effects(s));
	return t0;
}

static struct sm_session *
start(const struct sm_machine *m)
{
	struct sm_session *s = NULL;

	if (sm__session_create(m, "w", NULL, &s, NULL) != 0 || sm__session_start(s) != 0)
		bail_out("session does not start");
	sm__session_set_trace(s, count_cb, NULL);
	sm__effects_free(sm__session_take_effects(s));
	return s;
}

/* 1 if each of the `regions` regions is in state <prefix><i>. */
static int
all_in(struct sm_session *s, int regions, char prefix)
{
	const unsigned char *act = sm__session_active(s);
	const struct sm_machine *m = sm__session_machine(s);
	char id[32];
	int i, k;

	for (i = 0; i < regions; i++) {
		snprintf(id, sizeof(id), "%c%d", prefix, i);
		k = sm_machine_state_index(m, id);
		if (k < 0 || !act[k])
			return 0;
	}
	return 1;
}

/* Best of `runs` CPU times of a "go" event to a fresh session of m. */
static double
best_go(const struct sm_machine *m, int runs)
{
	double best = 1e9, t;
	int r;

	for (r = 0; r < runs; r++) {
		struct sm_session *s = start(m);

		t = step(s, "go");
		if (t < best)
			best = t;
		sm__session_free(s);
	}
	return best;
}

int
main(void)
{
	struct sm_machine *m;
	struct sm_session *s;
	double t, t1k, t4k;

	plan_no_plan();

	m = load(2000, 0);
	s = start(m);
	ok(all_in(s, 2000, 'a'), "2000 regions start in aI");
	ntaken = 0;
	t = step(s, "go");
	is_int(ntaken, 2000, "\"go\": 2000 transitions taken together");
	ok(all_in(s, 2000, 'b'), "every region is in bI");
	ok(t < 0.5, "one event to 2000 regions: %.4f s of CPU (bound 0.5 s)", t);
	ntaken = 0;
	t = step(s, "back");
	is_int(ntaken, 2000, "\"back\": 2000 transitions");
	ok(all_in(s, 2000, 'a'), "every region is back in aI");
	ok(t < 0.5, "and it took %.4f s of CPU", t);
	ntaken = 0;
	t = step(s, "leave");
	is_int(ntaken, 1, "\"leave\": the parallel's own transition");
	ok(!sm__session_running(s) && sm__session_final(s) &&
	    strcmp(sm__session_final(s), "out") == 0, "exits all 4001 states, ends in 'out'");
	ok(t < 0.5, "and it took %.4f s of CPU", t);
	sm__session_free(s);
	sm_machine_free(m);

	m = load(2000, 1);
	s = start(m);
	ntaken = 0;
	t = step(s, "go");
	is_int(ntaken, 1, "conflicting: 2000 enabled transitions, one is taken");
	ok(sm__session_final(s) && strcmp(sm__session_final(s), "out0") == 0,
	    "the first in document order (to 'out0')");
	ok(t < 0.5, "conflict removal over 2000 transitions: %.4f s of CPU", t);
	sm__session_free(s);
	sm_machine_free(m);

	m = load(1000, 0);
	t1k = best_go(m, 5);
	sm_machine_free(m);
	m = load(4000, 0);
	t4k = best_go(m, 5);
	sm_machine_free(m);
	ok(t4k < 10 * t1k + 0.002, "4000 regions cost %.2f times 1000 regions (%.4f s vs %.4f s; "
	    "linear 4, quadratic 16)", t1k > 0 ? t4k / t1k : 0, t4k, t1k);
	return done_testing();
}
