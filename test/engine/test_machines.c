/*
 * test_machines.c - data-driven interpreter cases.
 *
 * Each folder test/engine/machines/<case>/ holds
 *   machine.scxml  the machine
 *   events         external events posted after start, one per line:
 *                  "NAME" or "NAME JSON" (blank lines and # comments skipped)
 *   expected       what must hold once the instance is quiet, one per line:
 *                    final ID          the top-level final state reached
 *                    running           no final state was reached
 *                    config ID...      the active configuration (document order)
 *                    data EXPR JSON    EXPR (task datamodel) evaluates to JSON
 *                    trace TEXT        a transition "[event] from -> targets"
 *                                      was taken (in this relative order)
 *                    log TEXT          a <log> line (in this relative order)
 * The instance runs on a real loop (delayed sends use real timers) until it
 * ends or 5 seconds pass.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_expr.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "tap.h"

struct run {
	struct sm_loop *loop;
	int done;
	char final_id[128];
	char **trace;
	size_t ntrace;
	char **logs;
	size_t nlogs;
};

static void
push_line(char ***v, size_t *n, const char *s)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = strdup(s);
}

static void
on_done(struct sm_engine *e, const char *id, const char *final_id, json_t *dd,
    void *arg)
{
	struct run *r = arg;

	(void)e;
	(void)id;
	(void)dd;
	r->done = 1;
	snprintf(r->final_id, sizeof(r->final_id), "%s", final_id ? final_id : "");
}

static void
on_trace(struct sm_engine *e, const char *id, const char *event, const char *from,
    const char *targets, void *arg)
{
	struct run *r = arg;
	char buf[1024];

	(void)e;
	if (strchr(id, '/'))
		return; /* child sessions */
	snprintf(buf, sizeof(buf), "[%s] %s -> %s", event ? event : "", from, targets);
	push_line(&r->trace, &r->ntrace, buf);
}

static void
on_log(struct sm_engine *e, const char *id, const char *text, void *arg)
{
	struct run *r = arg;

	(void)e;
	(void)id;
	push_line(&r->logs, &r->nlogs, text);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void
run_case(const char *dir, const char *name)
{
	char path[8400], *events, *expected, *line, *save = NULL;
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	struct sm_engine *e = NULL;
	struct sm_error err;
	struct run r;
	uint64_t deadline;
	size_t ti = 0, li = 0, i;
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(path, sizeof(path), "%s/%s/machine.scxml", dir, name);
	rc = sm_machine_load_file(path, NULL, &m, &diags);
	if (rc != 0) {
		ok(0, "%s: machine loads", name);
		sm_diags_print(&diags, stderr);
		sm_diags_free(&diags);
		return;
	}
	sm_diags_free(&diags);
	sm_loop_create(&r.loop);
	sm_engine_create(&e, r.loop, NULL, &err);
	sm_engine_on_done(e, on_done, &r);
	sm_engine_on_trace(e, on_trace, &r);
	sm_engine_on_log(e, on_log, &r);
	rc = sm_engine_start(e, m, "case", NULL, &err);
	is_int(rc, 0, "%s: instance starts", name);

	snprintf(path, sizeof(path), "%s/%s/events", dir, name);
	events = slurp(path);
	for (line = events ? strtok_r(events, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp;
		json_t *data = NULL;

		if (!line[0] || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (sp) {
			*sp = 0;
			data = json_loads(sp + 1, JSON_DECODE_ANY, NULL);
			if (!data)
				diag("%s: bad json in events: %s", name, sp + 1);
		}
		sm_engine_post(e, "case", line, data);
		json_decref(data);
	}
	free(events);

	sm_engine_flush(e, &err);
	deadline = sm_time_mono_ms() + 5000;
	while (!r.done && sm_time_mono_ms() < deadline) {
		/* quiet without timers: nothing more will happen */
		sm_engine_flush(e, &err);
		if (r.done || sm_loop_idle(r.loop))
			break;
		sm_loop_run_once(r.loop, 100);
	}

	snprintf(path, sizeof(path), "%s/%s/expected", dir, name);
	expected = slurp(path);
	ok(expected != NULL, "%s: has an expected file", name);
	save = NULL;
	for (line = expected ? strtok_r(expected, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		if (!line[0] || line[0] == '#')
			continue;
		if (strncmp(line, "final ", 6) == 0) {
			is_str(r.done ? r.final_id : "(running)", line + 6, "%s: final state", name);
		} else if (strcmp(line, "running") == 0) {
			ok(!r.done, "%s: still running (reached '%s')", name, r.final_id);
		} else if (strncmp(line, "config", 6) == 0) {
			json_t *c = sm_engine_instance_config(e, "case"), *v;
			char buf[2048] = "";
			size_t k;

			json_array_foreach(c, k, v) {
				if (buf[0])
					strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
				strncat(buf, json_string_value(v), sizeof(buf) - strlen(buf) - 1);
			}
			is_str(buf, line[6] ? line + 7 : "", "%s: configuration", name);
			json_decref(c);
		} else if (strncmp(line, "data ", 5) == 0) {
			char *sp = strchr(line + 5, ' ');
			json_t *dm = sm_engine_instance_datamodel(e, "case"), *want, *got = NULL;
			struct sm_expr *x = NULL;
			struct sm_expr_env env = { dm, NULL, NULL, NULL };

			if (!sp) {
				ok(0, "%s: malformed data line '%s'", name, line);
				json_decref(dm);
				continue;
			}
			*sp = 0;
			want = json_loads(sp + 1, JSON_DECODE_ANY, NULL);
			if (sm_expr_parse(line + 5, &x, &err) == 0)
				sm_expr_eval(x, &env, &got, &err);
			ok(want && got && json_equal(want, got), "%s: %s == %s", name, line + 5, sp + 1);
			if (got && !(want && json_equal(want, got))) {
				char *t = json_dumps(got, JSON_ENCODE_ANY);

				diag("got %s", t);
				free(t);
			}
			sm_expr_free(x);
			json_decref(want);
			json_decref(got);
			json_decref(dm);
		} else if (strncmp(line, "trace ", 6) == 0) {
			size_t k;

			for (k = ti; k < r.ntrace; k++)
				if (strcmp(r.trace[k], line + 6) == 0)
					break;
			ok(k < r.ntrace, "%s: transition %s", name, line + 6);
			if (k < r.ntrace)
				ti = k + 1;
			else
				for (k = 0; k < r.ntrace; k++)
					diag("  taken: %s", r.trace[k]);
		} else if (strncmp(line, "log ", 4) == 0) {
			size_t k;

			for (k = li; k < r.nlogs; k++)
				if (strcmp(r.logs[k], line + 4) == 0)
					break;
			ok(k < r.nlogs, "%s: log line '%s'", name, line + 4);
			if (k < r.nlogs)
				li = k + 1;
			else
				for (k = 0; k < r.nlogs; k++)
					diag("  logged: %s", r.logs[k]);
		} else {
			ok(0, "%s: unknown expectation '%s'", name, line);
		}
	}
	free(expected);
	sm_engine_destroy(e);
	sm_loop_destroy(r.loop);
	sm_machine_free(m);
	for (i = 0; i < r.ntrace; i++)
		free(r.trace[i]);
	free(r.trace);
	for (i = 0; i < r.nlogs; i++)
		free(r.logs[i]);
	free(r.logs);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(void)
{
	const char *src = getenv("SM_SOURCE_DIR");
	char dir[4096];
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	plan_no_plan();
	snprintf(dir, sizeof(dir), "%s/test/engine/machines", src ? src : ".");
	d = opendir(dir);
	if (!d) {
		ok(0, "cannot open %s", dir);
		return done_testing();
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	ok(n >= 10, "found %zu machine cases", n);
	for (i = 0; i < n; i++) {
		run_case(dir, names[i]);
		free(names[i]);
	}
	free(names);
	return done_testing();
}
