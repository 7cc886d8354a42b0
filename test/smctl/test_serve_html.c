/*
 * test_serve_html.c - the pages of `smctl serve` from hand-made objects
 * (the shapes of docs/fleet-formats.md): every value from the bucket is
 * escaped wherever it lands (text, attribute, key of an object), the
 * per-hour chart has its 24 bars, and the machine SVG fills the states a
 * run went through.  The real server and browser: test_serve.sh.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_machine.h"
#include "smctl_serve.h"
#include "tap.h"

#define EVIL "<script>document.title='pwned'</script>\"'&x"

static char *
page(void (*fn)(FILE *, json_t *), json_t *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, v);
	fclose(f);
	return buf;
}

/* No raw markup of EVIL anywhere: neither its tag nor an unescaped quote. */
static int
clean(const char *html)
{
	return html && !strstr(html, "<script") && !strstr(html, "'pwned'") &&
	    !strstr(html, "\"'&x");
}

static void
home(FILE *f, json_t *v)
{
	sv_page_home(f, json_object_get(v, "i"), NULL, json_object_get(v, "s"), NULL);
}

static void
search(FILE *f, json_t *v)
{
	sv_page_search(f, EVIL, v, NULL);
}

static void
failed(FILE *f, json_t *v)
{
	sv_page_failed(f, v, NULL);
}

static void
task(FILE *f, json_t *v)
{
	sv_page_task(f, "7", v, NULL, NULL, EVIL);
}

static void
err_page(FILE *f, json_t *v)
{
	(void)v;
	sv_page_error(f, 502, EVIL);
}

static const char machine_xml[] =
    "<scxml xmlns=\"http://www.w3.org/2005/07/scxml\" version=\"1.0\" initial=\"a\">"
    "<state id=\"a\"><transition event=\"go\" target=\"b\"/></state>"
    "<state id=\"b\" initial=\"b1\"><state id=\"b1\"><transition event=\"x\" target=\"c\"/>"
    "</state></state>"
    "<state id=\"untouched\"><transition event=\"y\" target=\"c\"/></state>"
    "<final id=\"c\"/></scxml>";

int
main(void)
{
	json_error_t jerr;
	json_t *inst, *stats, *both, *srch, *fail, *run, *states;
	char *html, *svg = NULL, why[256] = "";
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	FILE *f;

	plan_no_plan();

	inst = json_pack_ex(&jerr, 0,
	    "{s:I,s:[{s:s,s:s,s:i,s:s,s:I,s:I,s:I,s:s,s:[s],s:b,s:b,s:[{s:i,s:s,s:s,s:s}]},"
	    "{s:s,s:s,s:b,s:b,s:[]}]}",
	    "now_ms", (json_int_t)1764936000000, "instances", "instance",
	    "i0000000000000000000000000a1", "hostname", EVIL, "pid", 42, "smd_version", "1.0",
	    "started_ms", (json_int_t)1764930000000, "last_seen_ms", (json_int_t)1764935990000,
	    "interval_ms", (json_int_t)60000, "backend", "aws", "queues", EVIL, "stopping", 0,
	    "alive", 1, "tasks", "task_id", 7, "server_name", "s1", "site", EVIL, "state",
	    "running", "instance", "gone00000000000000000000000b", "hostname", "h2", "stopping", 0,
	    "alive", 0, "tasks");
	ok(inst != NULL, "instances object built %s", inst ? "" : jerr.text);
	stats = json_pack_ex(&jerr, 0,
	    "{s:s,s:i,s:i,s:i,s:i,s:i,s:f,s:i,s:{s:{s:i,s:i,s:i,s:i}},s:{},s:["
	    "iiiiiiiiiiiiiiiiiiiiiiii],"
	    "s:{s:i,s:i,s:i,s:i},s:{s:i},s:i,s:i}",
	    "date", "2026-12-05", "days", 1, "received", 12, "finished", 10, "failed", 2,
	    "cache_hits", 3, "hit_rate", 0.25, "retries", 1, "per_site", EVIL, "received", 12,
	    "finished", 10, "failed", 2, "cache_hits", 3, "per_server", "per_hour", 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 5, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "duration_ms", "p50", 10,
	    "p90", 20, "p99", 30, "max", 40, "queues", EVIL, 3, "instances_alive", 1,
	    "instances_started", 2);
	ok(stats != NULL, "stats object built %s", stats ? "" : jerr.text);
	both = json_pack("{s:O,s:O}", "i", inst, "s", stats);
	html = page(home, both);
	ok(clean(html), "home: every bucket value escaped");
	ok(html &&
	        strstr(html,
	            "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&quot;"
	            "&#39;&amp;x"),
	    "home: the hostile value is shown as text");
	ok(html && strstr(html, "2 instances, 1 alive"), "home: instances counted");
	ok(html && strstr(html, "<a href=\"/task/7\">7</a>"),
	    "home: a running task links its page");
	ok(html && strstr(html, "data-hour=\"10\" data-count=\"7\"") &&
	        strstr(html, "data-hour=\"23\" data-count=\"0\""),
	    "home: the per-hour chart has its bars");
	ok(html && strstr(html, "25.0%"), "home: the hit rate as a percentage");
	ok(html && strstr(html, "alive</td>") && strstr(html, "gone</td>") &&
	        strstr(html, "alive</td>") < strstr(html, "gone</td>"),
	    "home: alive instances first");
	free(html);

	srch = json_pack("{s:s,s:i,s:[{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:I,s:[{s:s,s:i,s:I}]}]}",
	    "text", EVIL, "days", 7, "tasks", "name", EVIL, "task_id", 7, "server_name", EVIL,
	    "instance", "i1", "site", EVIL, "term", EVIL, "date", "2026-12-05", "newest_ms",
	    (json_int_t)1764936000000, "keys", "key", EVIL, "size", 10, "mtime_ms",
	    (json_int_t)1764936000000);
	html = page(search, srch);
	ok(clean(html), "search: every value escaped (the query too, in the form's value)");
	ok(html && strstr(html, "value=\"&lt;script&gt;"), "search: the query kept in the form");
	ok(html && strstr(html, "1 task for"), "search: the count");
	free(html);

	fail = json_pack("{s:i,s:[{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:[s]}]}", "days", 7, "tasks",
	    "name", "n", "task_id", 9, "server_name", "s", "site", "x", "instance", "i", "date",
	    "2026-12-05", "reason", EVIL, "keys", EVIL);
	html = page(failed, fail);
	ok(clean(html), "failed: every value escaped");
	ok(html && strstr(html, "1 failed task in the last 7 days"), "failed: the count");
	ok(html && strstr(html, "/task/9"), "failed: links the task");
	free(html);

	run = json_pack("{s:i,s:s,s:s,s:s,s:{s:s},s:[{s:i,s:s,s:{s:s,s:{s:s}},s:[s],s:[s]},"
	                "{s:i,s:s,s:{s:s},s:[s],s:[s]}],s:s}",
	    "task_id", 7, "server_name", EVIL, "state", "failed", "reason", EVIL, "keys", EVIL,
	    EVIL, "history", "seq", 1, "kind", "event", "event", "name", "error.x", "data",
	    "message", EVIL, "from", "a", "to", EVIL, "seq", 2, "kind", "event", "event", "name",
	    "go", "from", "a", "to", "b1", "record_key", EVIL);
	ok(run != NULL, "run object built");
	html = page(task, run);
	ok(clean(html), "task: every value escaped (object keys too)");
	ok(html && strstr(html, "2 records"), "task: the history");
	ok(html && strstr(html, "class=\"error\">machine: &lt;script"),
	    "task: the reason there is no drawing, escaped");
	free(html);
	html = page(err_page, NULL);
	ok(clean(html) && strstr(html, "error 502"), "error page: the message escaped");
	free(html);

	/* sv_esc on the bytes that matter, controls included */
	{
		char *buf = NULL;
		size_t len = 0;

		f = open_memstream(&buf, &len);
		sv_esc(f, "a<b>&\"'\x01\x7f\tz");
		sv_url(f, "a b/&?=<");
		fclose(f);
		is_str(buf,
		    "a&lt;b&gt;&amp;&quot;&#39;\xef\xbf\xbd\xef\xbf\xbd\tz"
		    "a%20b%2F%26%3F%3D%3C",
		    "sv_esc and sv_url");
		free(buf);
	}
	ok(sv_asset_find("/static/style.css") != NULL, "the style sheet is an asset");
	ok(sv_asset_find("/static/../etc/passwd") == NULL && sv_asset_find("/etc/passwd") == NULL,
	    "nothing else is");

	/* the machine drawn, the states of the run filled */
	states = sv_run_states(run);
	is_int((int)json_array_size(states), 3, "the states of the run: a, b1 and an unknown one");
	is_int(sm_machine_load_memory(
	           machine_xml, strlen(machine_xml), "t.scxml", NULL, NULL, &m, &diags),
	    0, "machine loads");
	sm_diags_free(&diags);
	is_int(sv_machine_svg(m, states, &svg, why, sizeof(why)), 0, "drawn %s", why);
	ok(svg && strncmp(svg, "<svg", 4) == 0, "the svg element alone");
	ok(svg && strstr(svg, "<title>a</title>") && strstr(svg, "<title>untouched</title>"),
	    "every state drawn");
	/* visited states are filled, the untouched one is not */
	if (svg) {
		const char *a = strstr(svg, "<title>a</title>");
		const char *u = strstr(svg, "<title>untouched</title>");
		const char *ae = a ? strstr(a, "</g>") : NULL;
		const char *ue = u ? strstr(u, "</g>") : NULL;
		char *as = ae ? strndup(a, (size_t)(ae - a)) : NULL;
		char *us = ue ? strndup(u, (size_t)(ue - u)) : NULL;

		ok(as && strstr(as, "#ffd866"), "visited state a filled");
		ok(us && !strstr(us, "#ffd866"), "state 'untouched' not filled");
		free(as);
		free(us);
	}
	free(svg);
	sm_machine_free(m);
	json_decref(states);

	json_decref(run);
	json_decref(fail);
	json_decref(srch);
	json_decref(both);
	json_decref(inst);
	json_decref(stats);
	return done_testing();
}
