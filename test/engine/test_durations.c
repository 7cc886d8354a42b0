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
 *      loader, or the retry policy's initial and maximum delay;
 *   5. the configuration (runtime/rt_config.c), key shutdown_grace (0 or
 *      more, no upper bound of its own), from each of its three sources:
 *      a file line, the SMD_SHUTDOWN_GRACE environment variable and -o
 *      (smd and smctl simulate load through rt_config_load());
 *   6. smctl simulate --timeout: its parser (cmd/smctl_timeout.c) for the
 *      value, and the smctl program itself for the verdict (exit status 0
 *      or 2 on a machine that ends at once).
 *
 * Every row of `cases[]` goes through every path.  Where a path has a
 * narrower range (--timeout: 1ms to 24h) a value outside it must be
 * refused.  Two differences are the paths' documented syntax, not the
 * duration's: --timeout also takes a bare number of seconds (the rows
 * of `bare[]`), and a configuration file and -o trim blanks around a value
 * (" 2s" is "2s" there; the environment takes the value as it is).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "rt_config.h"
#include "sm_duration.h"
#include "sm_err.h"
#include "sm_interp_private.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "smctl.h"
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
	{ "\t2s", REFUSED }, { "2s\t", REFUSED },
	/* bare numbers ("0" and "2" above too): refused, except by --timeout */
	{ "1.5", REFUSED }, { ".5", REFUSED }, { "0.3", REFUSED }, { "0.0001", REFUSED },
	{ "5", REFUSED }, { "60", REFUSED }, { "86400", REFUSED }, { "86400.001", REFUSED },
	{ "31622400", REFUSED }, { "31622400.001", REFUSED },
	{ "00000000000000000000000000000001", REFUSED },  /* 32 bytes */
	{ "000000000000000000000000000000001", REFUSED }, /* 33 bytes: refused by all */
	/* what strtod took for --timeout before it took durations */
	{ "1e3", REFUSED }, { "+5", REFUSED }, { " 5", REFUSED }, { "5 ", REFUSED },
	{ "5.", REFUSED }, { "0x10", REFUSED }, { "nan", REFUSED }, { "-3", REFUSED },
	{ "5x", REFUSED },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The rows of cases[] that are bare numbers, as --timeout reads them
 * (seconds; REFUSED: over SM_DURATION_MAX_MS). */
static const struct {
	const char *s;
	int64_t ms;
} bare[] = {
	{ "0", 0 }, { "2", 2000 }, { "1.5", 1500 }, { ".5", 500 }, { "0.3", 300 },
	{ "0.0001", 1 }, { "5", 5000 }, { "60", 60000 }, { "86400", 86400000 },
	{ "86400.001", 86400001 }, { "31622400", SM_DURATION_MAX_MS },
	{ "31622400.001", REFUSED }, { "00000000000000000000000000000001", 1000 },
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

/* ---- path 5: the configuration's three sources ---------------------------- */

/* The configuration's shutdown_grace after `load`, or nonzero. */
static int
config_result(struct rt_config *cfg, int rc, int64_t *ms)
{
	if (rc == 0 && !(cfg->set & ((uint64_t)1 << RT_KEY_shutdown_grace)))
		rc = SM_EBUG; /* loaded, but the key was not set */
	if (rc == 0)
		*ms = cfg->shutdown_grace_ms;
	rt_config_free(cfg);
	return rc;
}

static int
path_config_file(const char *s, int64_t *ms)
{
	char path[] = "/tmp/test_durations.XXXXXX";
	struct rt_config cfg;
	struct sm_error err;
	int fd = mkstemp(path), rc;
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (fp == NULL)
		bail_out("cannot write a temporary configuration file");
	fprintf(fp, "# test_durations\nshutdown_grace = %s\n", s);
	if (fclose(fp) != 0)
		bail_out("cannot write a temporary configuration file");
	if (rt_config_init(&cfg) != 0)
		bail_out("rt_config_init");
	rc = rt_config_load_file(&cfg, path, &err);
	unlink(path);
	return config_result(&cfg, rc, ms);
}

/* Load as smd and smctl simulate do (rt_config_load: file, environment,
 * -o) with no file, the environment `env` only and at most one -o. */
static int
config_load(char *env, char *opt, int64_t *ms)
{
	char *envp[] = { env, NULL }, *opts[] = { opt };
	struct rt_config cfg;
	struct sm_error err;

	if (rt_config_init(&cfg) != 0)
		bail_out("rt_config_init");
	return config_result(&cfg, rt_config_load(&cfg, NULL, envp, opts, opt ? 1 : 0, &err), ms);
}

static int
path_config_env(const char *s, int64_t *ms)
{
	char var[128];

	snprintf(var, sizeof(var), "SMD_SHUTDOWN_GRACE=%s", s);
	return config_load(var, NULL, ms);
}

static int
path_config_option(const char *s, int64_t *ms)
{
	char kv[128];

	snprintf(kv, sizeof(kv), "shutdown_grace=%s", s);
	return config_load(NULL, kv, ms);
}

/* ---- path 6: smctl simulate --timeout ------------------------------------ */

static int
path_smctl_parse(const char *s, int64_t *ms)
{
	return smctl_timeout_parse(s, ms);
}

static char smctl_path[4096], final_machine[] = "/tmp/test_durations_m.XXXXXX";

/* The verdict of the smctl program: 0 when it ran the machine (exit 0),
 * SM_EINVAL for a usage error (exit 2), SM_EBUG for anything else. */
static int
path_smctl_run(const char *s, int64_t *ms)
{
	char arg[128];
	pid_t pid;
	int st;

	(void)ms;
	snprintf(arg, sizeof(arg), "--timeout=%s", s);
	fflush(stdout);
	if ((pid = fork()) < 0)
		bail_out("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execl(smctl_path, "smctl", "simulate", "-q", arg, final_machine, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return SM_EBUG;
	return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == SMCTL_EXIT_USAGE ? SM_EINVAL : SM_EBUG;
}

static void
smctl_setup(void)
{
	static const char xml[] =
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' initial='z'>"
	    "<final id='z'/></scxml>\n";
	const char *b = getenv("SM_BUILD_DIR");
	int fd = mkstemp(final_machine);

	if (fd < 0 || write(fd, xml, sizeof(xml) - 1) != (ssize_t)(sizeof(xml) - 1) ||
	    close(fd) != 0)
		bail_out("cannot write a temporary machine file");
	snprintf(smctl_path, sizeof(smctl_path), "%s/cmd/smctl", b ? b : ".");
	if (access(smctl_path, X_OK) != 0)
		bail_out("no smctl at '%s': run from ctest (SM_BUILD_DIR)", smctl_path);
}

#define P_TRIMS 1   /* blanks around the value are dropped first */
#define P_BARE 2    /* a bare number is seconds */
#define P_VERDICT 4 /* accepted or refused, no value to compare */

static const struct {
	const char *name;
	int (*fn)(const char *s, int64_t *ms);
	int64_t min, max; /* the path's range, in ms */
	int flags;
} paths[] = {
	{ "sm_duration_parse", path_function, 0, SM_DURATION_MAX_MS, 0 },
	{ "<send delay>", path_delay, 0, SM_DURATION_MAX_MS, 0 },
	{ "<send delayexpr>", path_delayexpr, 0, SM_DURATION_MAX_MS, 0 },
	{ "sm:delay / sm:max-delay", path_retry, 0, SM_DURATION_MAX_MS, 0 },
	{ "configuration file", path_config_file, 0, SM_DURATION_MAX_MS, P_TRIMS },
	{ "SMD_SHUTDOWN_GRACE", path_config_env, 0, SM_DURATION_MAX_MS, 0 },
	{ "-o shutdown_grace=", path_config_option, 0, SM_DURATION_MAX_MS, P_TRIMS },
	{ "smctl_timeout_parse", path_smctl_parse, 1, SMCTL_TIMEOUT_MAX_MS, P_BARE },
	{ "smctl simulate --timeout", path_smctl_run, 1, SMCTL_TIMEOUT_MAX_MS, P_BARE | P_VERDICT },
};

/* The answer path `p` owes for cases[i]. */
static int64_t
expected(size_t p, size_t i)
{
	int64_t ms = cases[i].ms;

	if ((paths[p].flags & P_TRIMS) && cases[i].s[0] != '\0') {
		const char *s = cases[i].s;
		size_t n = strlen(s), j;

		while (*s == ' ' || *s == '\t')
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n != strlen(cases[i].s)) {
			for (j = 0; j < NCASES; j++)
				if (strlen(cases[j].s) == n && memcmp(cases[j].s, s, n) == 0)
					return expected(p, j);
			bail_out("no row for \"%.*s\", the trimmed \"%s\"", (int)n, s, cases[i].s);
		}
	}
	if (paths[p].flags & P_BARE)
		for (size_t j = 0; j < sizeof(bare) / sizeof(bare[0]); j++)
			if (strcmp(bare[j].s, cases[i].s) == 0)
				ms = bare[j].ms;
	if (ms != REFUSED && (ms < paths[p].min || ms > paths[p].max))
		ms = REFUSED;
	return ms;
}

int
main(void)
{
	size_t i, p;

	plan_no_plan();
	smctl_setup();
	for (i = 0; i < NCASES; i++) {
		for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			int64_t ms = -7, want = expected(p, i);
			int rc = paths[p].fn(cases[i].s, &ms);

			if (want == REFUSED)
				ok(rc != 0 && rc != SM_EBUG, "%s: \"%s\" refused (rc %d, ms %lld)",
				    paths[p].name, cases[i].s, rc, (long long)ms);
			else if (paths[p].flags & P_VERDICT)
				ok(rc == 0, "%s: \"%s\" accepted (rc %d)", paths[p].name,
				    cases[i].s, rc);
			else
				ok(rc == 0 && ms == want, "%s: \"%s\" is %lld ms (rc %d, got %lld)",
				    paths[p].name, cases[i].s, (long long)want, rc, (long long)ms);
		}
	}
	unlink(final_machine);
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
		ms = 7;
		is_int(sm_duration_parse_bare("2", 0, &ms), SM_EINVAL, "no bare unit: refused");
		is_int(sm_duration_parse_bare("2", 3600 * 1000 + 1, &ms), SM_EINVAL,
		    "a bare unit over an hour is refused");
		is_int(sm_duration_parse_bare("8785", 3600 * 1000, &ms), SM_ERANGE,
		    "8785 bare hours is SM_ERANGE");
		is_int((int)ms, 7, "and leaves *ms alone");
		is_int(sm_duration_parse_bare("1.5", 60 * 1000, &ms), 0, "1.5 bare minutes");
		is_int((int)ms, 90000, "are 90000 ms");
		is_int(sm_duration_parse_bare("1.5s", 60 * 1000, &ms), 0,
		    "a unit wins over the bare one");
		is_int((int)ms, 1500, "1.5s is 1500 ms");
		is_int(smctl_timeout_parse("0s", &ms), SM_ERANGE, "--timeout 0s is out of range");
		is_int(smctl_timeout_parse("1e3", &ms), SM_EINVAL, "--timeout 1e3 is no duration");
	}
	/* the printed form reads back to the same value, in the largest whole unit */
	{
		static const struct {
			int64_t ms;
			const char *s;
		} fmts[] = {
			{ 0, "0s" },
			{ 1, "1ms" },
			{ 1500, "1500ms" },
			{ 2000, "2s" },
			{ 90000, "90s" },
			{ 120000, "2m" },
			{ 5400000, "90m" },
			{ 7200000, "2h" },
			{ SM_DURATION_MAX_MS, "8784h" },
			{ SM_DURATION_MAX_MS - 1, "31622399999ms" },
		};
		char buf[SM_DURATION_FMT_SIZE];

		for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
			is_str(sm_duration_format(buf, sizeof(buf), fmts[i].ms), fmts[i].s,
			    "%lld ms prints in its largest whole unit", (long long)fmts[i].ms);
		for (i = 0; i < NCASES; i++) {
			int64_t back = -1;

			if (cases[i].ms == REFUSED)
				continue;
			sm_duration_format(buf, sizeof(buf), cases[i].ms);
			ok(sm_duration_parse(buf, &back) == 0 && back == cases[i].ms,
			    "\"%s\" printed as \"%s\" reads back", cases[i].s, buf);
		}
	}
	return done_testing();
}
