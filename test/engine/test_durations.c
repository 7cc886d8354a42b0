/*
 * test_durations.c - one duration syntax everywhere (common/sm_duration.h).
 * The same strings go through every path that reads a duration and each
 * path must give the same answer (the same milliseconds, or a refusal):
 *
 *   1. sm_duration_parse() and sm_duration_parse_n() themselves;
 *   2. <send delay="X"> in a machine file: refused by the loader, or a
 *      SEND effect with delay_ms when the session runs;
 *   3. <send delayexpr="task.d"> with task {"d": "X"} evaluated by the
 *      interpreter: error.execution, or a SEND effect with delay_ms;
 *   4. sm:delay="X" sm:max-delay="X" on an action <invoke>: refused by the
 *      loader, or the retry policy's initial and maximum delay.
 *
 * HOOK for the configuration file and command line parsers: add a
 * function `static int path_config(const char *s, int64_t *ms)` that
 * writes a configuration with the duration `s` into a temporary file,
 * loads it and returns 0 with the value it holds (or nonzero when the
 * parser refuses it), then add it to `paths[]` below.  Nothing else
 * changes: every row of `cases[]` is checked through every path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_duration.h"
#include "sm_err.h"
#include "sm_interp_private.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "tap.h"

#define REFUSED (-1)

static const struct {
	const char *s;
	int64_t ms;            /* REFUSED, or the value in ms */
} cases[] = {
	/* the strings of the issue */
	{ "1.4ms", 2 },                 /* a fraction of a ms rounds up */
	{ "999999999s", REFUSED },      /* over SM_DURATION_MAX_MS */
	{ "1.s", REFUSED },             /* digits must follow the dot */
	{ "0", REFUSED },               /* a unit is required, even for zero */
	{ "-1s", REFUSED },
	{ "1e3s", REFUSED },
	{ "NaN", REFUSED },
	{ "", REFUSED },
	{ "0000000000000000000000000000001s", 1000 },  /* 32 bytes: the limit */
	{ "00000000000000000000000000000001s", REFUSED }, /* 33 bytes */
	/* the grammar */
	{ "2s", 2000 }, { "1.5s", 1500 }, { ".5s", 500 }, { "500ms", 500 },
	{ "0s", 0 }, { "0ms", 0 }, { ".0s", 0 }, { "1.0005s", 1001 }, { "0.1ms", 1 },
	{ "1.4999ms", 2 }, { "2.000ms", 2 }, { "0.001s", 1 }, { "0.0011s", 2 },
	{ "0.0000000001s", 1 }, { "0.0000000000h", 0 }, { "1.000000000001ms", 2 },
	{ "5m", 300000 }, { "1.5m", 90000 }, { "1h", 3600000 }, { ".25h", 900000 },
	{ "8784h", SM_DURATION_MAX_MS }, { "31622400s", SM_DURATION_MAX_MS },
	{ "527040m", SM_DURATION_MAX_MS }, { "31622400000ms", SM_DURATION_MAX_MS },
	{ "31622400000.1ms", REFUSED }, { "31622400.001s", REFUSED }, { "8784.0001h", REFUSED },
	{ "99999999999999999999999s", REFUSED },
	/* everything else is refused */
	{ "s", REFUSED }, { "ms", REFUSED }, { "h", REFUSED }, { ".s", REFUSED }, { ".", REFUSED },
	{ "2", REFUSED }, { "2 s", REFUSED }, { " 2s", REFUSED }, { "2s ", REFUSED },
	{ "+1s", REFUSED }, { "-0s", REFUSED }, { "1..5s", REFUSED }, { "1.5.5s", REFUSED },
	{ "..5s", REFUSED }, { "1,5s", REFUSED }, { "0x10s", REFUSED }, { "2S", REFUSED },
	{ "2MS", REFUSED }, { "1d", REFUSED }, { "1us", REFUSED }, { "2sec", REFUSED },
	{ "1m1s", REFUSED }, { "1ms1", REFUSED }, { "inf", REFUSED }, { "Infinity", REFUSED },
	{ "infs", REFUSED }, { "nans", REFUSED }, { "1e-3s", REFUSED },
	{ "\xef\xbc\x91s", REFUSED },   /* a full-width digit one */
};

/* ---- path 1: the function ----------------------------------------------- */

static int
path_function(const char *s, int64_t *ms)
{
	int64_t a = 7, b = 7;
	int ra = sm_duration_parse(s, &a), rb = sm_duration_parse_n(s, strlen(s), &b);

	if (ra != rb || a != b)
		return SM_EBUG; /* the two entry points disagree */
	if (ra != 0 && a != 7)
		return SM_EBUG; /* a refusal must leave *ms alone */
	if (ra == 0)
		*ms = a;
	return ra;
}

/* ---- paths 2 and 3: a running session ------------------------------------ */

/* Run `xml` with `task` (may be NULL); the delay of its first SEND effect in
 * *ms, or nonzero when the machine does not load, raises an error or sends
 * nothing. */
static int
run_send(const char *xml, json_t *task, int64_t *ms)
{
	struct sm_machine *m = NULL;
	struct sm_session *s = NULL;
	struct sm_effect *fx = NULL, *f;
	json_t *errs = NULL;
	int rc;

	rc = sm_machine_load_memory(xml, strlen(xml), "durations", NULL, NULL, &m, NULL);
	if (rc != 0)
		return rc;
	if ((rc = sm__session_create(m, "s", task, &s, NULL)) != 0)
		goto out;
	if ((rc = sm__session_start(s)) != 0)
		goto out;
	errs = sm__session_take_errors(s);
	fx = sm__session_take_effects(s);
	rc = SM_EEXEC;
	if (json_array_size(errs) > 0)
		goto out;
	for (f = fx; f; f = f->next)
		if (f->kind == SM_FX_SEND && f->event && strcmp(f->event, "tick") == 0) {
			*ms = f->delay_ms;
			rc = 0;
			break;
		}
out:
	json_decref(errs);
	sm__effects_free(fx);
	sm__session_free(s);
	sm_machine_free(m);
	return rc;
}

static int
path_delay(const char *s, int64_t *ms)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' initial='a'>"
	    "<state id='a'><onentry><send event='tick' delay='%s'/></onentry>"
	    "<transition event='tick' target='z'/></state><final id='z'/></scxml>", s);
	return run_send(xml, NULL, ms);
}

static int
path_delayexpr(const char *s, int64_t *ms)
{
	static const char xml[] =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
	    " initial='a'>"
	    "<state id='a'><onentry><send event='tick' delayexpr='task.d'/></onentry>"
	    "<transition event='tick' target='z'/></state><final id='z'/></scxml>";
	json_t *task = json_pack("{s:s}", "d", s);
	int rc = run_send(xml, task, ms);

	json_decref(task);
	return rc;
}

/* ---- path 4: the retry attributes ---------------------------------------- */

static int
path_retry(const char *s, int64_t *ms)
{
	char xml[1024];
	struct sm_machine *m = NULL;
	const struct sm_retry *r;
	int rc, i;

	snprintf(xml, sizeof(xml),
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' xmlns:sm='urn:smd:scxml:1'"
	    " version='1.0' initial='a'>"
	    "<state id='a'><invoke id='j' type='urn:smd:scxml:1' src='act' sm:attempts='2'"
	    " sm:delay='%s' sm:max-delay='%s'/>"
	    "<transition event='done.invoke.j' target='z'/></state><final id='z'/></scxml>", s, s);
	rc = sm_machine_load_memory(xml, strlen(xml), "durations", NULL, NULL, &m, NULL);
	if (rc != 0)
		return rc;
	rc = SM_EBUG;
	i = sm_machine_state_index(m, "a");
	if (i >= 0 && m->states[i].ninvokes == 1) {
		r = &m->states[i].invokes[0].retry;
		if (r->initial_delay_ms == r->max_delay_ms) {
			*ms = r->initial_delay_ms;
			rc = 0;
		}
	}
	sm_machine_free(m);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(const char *s, int64_t *ms);
} paths[] = {
	{ "sm_duration_parse", path_function },
	{ "<send delay>", path_delay },
	{ "<send delayexpr>", path_delayexpr },
	{ "sm:delay / sm:max-delay", path_retry },
	/* { "configuration file", path_config },   see the HOOK above */
};

int
main(void)
{
	size_t i, p;

	plan_no_plan();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			int64_t ms = -7;
			int rc = paths[p].fn(cases[i].s, &ms);

			if (cases[i].ms == REFUSED)
				ok(rc != 0, "%s: \"%s\" refused (rc %d, ms %lld)", paths[p].name,
				    cases[i].s, rc, (long long)ms);
			else
				ok(rc == 0 && ms == cases[i].ms, "%s: \"%s\" is %lld ms (rc %d, got %lld)",
				    paths[p].name, cases[i].s, (long long)cases[i].ms, rc,
				    (long long)ms);
		}
	}
	/* the function's codes and its counted form */
	{
		int64_t ms = 7;

		is_int(sm_duration_parse("1e3s", &ms), SM_EINVAL, "bad syntax is SM_EINVAL");
		is_int(sm_duration_parse("999999999s", &ms), SM_ERANGE, "too long is SM_ERANGE");
		is_int(sm_duration_parse(NULL, &ms), SM_EINVAL, "NULL is SM_EINVAL");
		is_int((int)ms, 7, "refusals leave *ms alone");
		is_int(sm_duration_parse_n("2s", 1, &ms), SM_EINVAL, "\"2\" of \"2s\" has no unit");
		is_int(sm_duration_parse_n("2sx", 2, &ms), 0, "the first 2 bytes of \"2sx\"");
		is_int((int)ms, 2000, "are 2000 ms");
		is_int(sm_duration_parse_n("2\0s", 3, &ms), SM_EINVAL, "an embedded NUL is refused");
	}
	return done_testing();
}
