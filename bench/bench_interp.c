/*
 * bench_interp.c - one event to a parallel state of N regions (N = 500,
 * 1000, 2000, 3000; test/support/wide_parallel.h): the interpreter's
 * selection, conflict removal, exit and entry, without the store.
 *
 * Cases per N:
 *   go       every region takes its own transition (no conflicts): the
 *            common case;
 *   conflict every region's transition leaves the parallel: each conflicts
 *            with the others, the first in document order wins.
 * Baseline in the same run: the time per region at the smallest N.  A
 * near-linear interpreter keeps "per region" flat as N grows (ratio ~1);
 * the quadratic and cubic work it replaced made it grow with N and N^2.
 *
 * Run: build/bench/bench_interp [rounds [max_N]]   (default 5 rounds, all
 * sizes; medians reported)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_util.h"
#include "sm_interp_private.h"
#include "sm_machine.h"
#include "wide_parallel.h"

static struct sm_machine *
load(int regions, int conflicting)
{
	struct sm_load_opts o = { 0 };
	struct sm_machine *m = NULL;
	struct sm_diags d = { 0 };
	char *xml = wide_parallel_xml(regions, conflicting);

	o.max_bytes = 4u << 20;
	if (xml == NULL || sm_machine_load_memory(xml, strlen(xml), "wide", NULL, &o, &m, &d) != 0) {
		sm_diags_print(&d, stderr);
		fprintf(stderr, "bench_interp: the %d-region machine does not load\n", regions);
		exit(1);
	}
	sm_diags_free(&d);
	free(xml);
	return m;
}

/* Seconds for one "go" event (the step only), median of `rounds`. */
static double
one_event(const struct sm_machine *m, int rounds, size_t *active_after)
{
	double *t = calloc((size_t)rounds, sizeof(*t)), med;
	int r;

	for (r = 0; r < rounds; r++) {
		struct sm_session *s = NULL;
		struct sm_event *ev, *used = NULL;
		double t0;

		if (sm__session_create(m, "b", NULL, &s, NULL) != 0 || sm__session_start(s) != 0) {
			fprintf(stderr, "bench_interp: session does not start\n");
			exit(1);
		}
		sm__effects_free(sm__session_take_effects(s));
		ev = sm__event_new("go", NULL, SM_EV_EXTERNAL);
		sm__session_push(s, ev);
		t0 = bench_now();
		sm__session_step(s, &used);
		t[r] = bench_now() - t0;
		if (active_after) {
			json_t *c = sm__session_config_json(s);

			*active_after = json_array_size(c);
			json_decref(c);
		}
		sm__event_free(used);
		sm__effects_free(sm__session_take_effects(s));
		sm__session_free(s);
	}
	med = bench_median(t, (size_t)rounds);
	free(t);
	return med;
}

int
main(int argc, char **argv)
{
	static const int sizes[] = { 500, 1000, 2000, 3000 };
	int rounds = argc > 1 ? atoi(argv[1]) : 5, max_n = argc > 2 ? atoi(argv[2]) : 0, c;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rounds < 1)
		rounds = 1;
	printf("bench_interp: one event to a parallel of N regions, median of %d rounds\n",
	    rounds);
	for (c = 0; c < 2; c++) {
		double base = 0;

		printf("%-9s %6s %12s %14s %10s %8s\n", c ? "conflict" : "go", "N", "ms/event",
		    "us/region", "vs N=500", "active");
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct sm_machine *m;

			if (max_n > 0 && sizes[i] > max_n)
				break;
			m = load(sizes[i], c);
			size_t active = 0;
			double sec, per;

			sec = one_event(m, rounds, &active);
			per = sec * 1e6 / sizes[i];

			if (i == 0)
				base = per;
			printf("%-9s %6d %12.3f %14.3f %10.2f %8zu\n", c ? "conflict" : "go", sizes[i],
			    sec * 1e3, per, base > 0 ? per / base : 0, active);
			sm_machine_free(m);
		}
	}
	return 0;
}
