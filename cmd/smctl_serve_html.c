/*
 * smctl_serve_html.c - the pages of `smctl serve` (smctl_serve.h), from
 * the fleet commands' JSON objects.  Every value from an object is
 * written through sv_esc() or sv_url(); literal markup only comes from
 * this file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_time.h"
#include "smctl_serve.h"

void
sv_esc(FILE *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				fputs("\xef\xbf\xbd", out); /* U+FFFD */
			else
				fputc(c, out);
		}
	}
}

void
sv_url(FILE *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			fputc(c, out);
		else
			fprintf(out, "%%%02X", c);
	}
}

/* The dashboard's style: small, in the binary, no external asset. */
static const char sv_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}"
    "header{background:#234;color:#fff;padding:.5em 1em}"
    "header a{color:#fff;margin-right:1.2em;text-decoration:none}"
    "header b{margin-right:2em}"
    "main{padding:1em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".alive{color:#070;font-weight:bold}.dead{color:#a00}"
    ".error{background:#fee;border:1px solid #c00;padding:.6em 1em}"
    ".muted{color:#777}"
    "pre{background:#f3f3f3;padding:.5em;overflow:auto;max-width:100%;white-space:pre-wrap}"
    ".machine svg{max-width:100%;height:auto}"
    ".cards{display:flex;flex-wrap:wrap;gap:.8em}"
    ".card{background:#fff;border:1px solid #ccc;padding:.5em 1em;min-width:7em}"
    ".card b{display:block;font-size:1.6em}"
    "rect.bar{fill:#4a7ab8}";

static const struct sv_asset sv_assets[] = {
	{ "/static/style.css", "text/css; charset=utf-8", sv_css },
};

const struct sv_asset *
sv_asset_find(const char *path)
{
	for (size_t i = 0; i < sizeof(sv_assets) / sizeof(sv_assets[0]); i++)
		if (strcmp(path, sv_assets[i].path) == 0)
			return &sv_assets[i];
	return NULL;
}

void
sv_page_begin(FILE *out, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\">"
	      "<title>",
	    out);
	sv_esc(out, title);
	fputs(" - smd</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>\n"
	      "<header><b>smd fleet</b><a href=\"/\">overview</a><a href=\"/stats\">stats</a>"
	      "<a href=\"/failed\">failed</a><a href=\"/search\">search</a></header>\n<main>\n"
	      "<h1>",
	    out);
	sv_esc(out, title);
	fputs("</h1>\n", out);
}

void
sv_page_end(FILE *out)
{
	fputs("</main></body></html>\n", out);
}

void
sv_page_error(FILE *out, int status, const char *msg)
{
	char title[32];

	snprintf(title, sizeof(title), "error %d", status);
	sv_page_begin(out, title);
	fputs("<p class=\"error\" id=\"error\">", out);
	sv_esc(out, msg);
	fputs("</p>\n", out);
	sv_page_end(out);
}

static void
sv_error_box(FILE *out, const char *what, const char *err)
{
	fputs("<p class=\"error\">", out);
	sv_esc(out, what);
	fputs(": ", out);
	sv_esc(out, err ? err : "not available");
	fputs("</p>\n", out);
}

/* A JSON value as text: a string as it is, null as "-", others compact. */
static void
sv_val(FILE *out, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		sv_esc(out, json_string_value(v));
		return;
	}
	if (v == NULL || json_is_null(v)) {
		fputs("<span class=\"muted\">-</span>", out);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	sv_esc(out, s ? s : "?");
	free(s);
}

/* A time in ms since the epoch (an integer) as an ISO date, else as sv_val. */
static void
sv_time(FILE *out, json_t *v)
{
	char buf[64];

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		sv_val(out, v);
		return;
	}
	sv_esc(out, sm_time_format(buf, sizeof(buf), (int64_t)json_integer_value(v)));
}

static void
sv_cell(FILE *out, json_t *v)
{
	fputs(json_is_number(v) ? "<td class=\"n\">" : "<td>", out);
	sv_val(out, v);
	fputs("</td>", out);
}

/* A link to a task's page: /task/<id>, the id as the text. */
static void
sv_task_link(FILE *out, json_t *id)
{
	char buf[32];

	if (!json_is_integer(id)) {
		fputs("<td>", out);
		sv_val(out, id);
		fputs("</td>", out);
		return;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(id));
	fprintf(out, "<td class=\"n\"><a href=\"/task/%s\">%s</a></td>", buf, buf);
}

static void
sv_keys(FILE *out, json_t *keys)
{
	size_t i;
	json_t *k;

	fputs("<td>", out);
	json_array_foreach(keys, i, k)
	{
		const char *key = json_is_string(k) ? json_string_value(k) :
		                                      json_string_value(json_object_get(k, "key"));

		if (i)
			fputs("<br>", out);
		sv_esc(out, key ? key : "?");
	}
	fputs("</td>", out);
}

/* A column of a task table: its heading and the task's field. */
struct sv_col {
	const char *head, *field;
};
static const struct sv_col sv_search_cols[] = { { "task", "task_id" }, { "date", "date" },
	{ "server", "server_name" }, { "site", "site" }, { "term", "term" },
	{ "instance", "instance" }, { "last written", "newest_ms" }, { "keys", "keys" },
	{ NULL, NULL } };
static const struct sv_col sv_failed_cols[] = { { "task", "task_id" }, { "date", "date" },
	{ "server", "server_name" }, { "site", "site" }, { "instance", "instance" },
	{ "reason", "reason" }, { "keys", "keys" }, { NULL, NULL } };

/* The tasks of a search or failed object as a table: task_id links the
 * task's page, *_ms fields are times, keys a list. */
static void
sv_task_table(FILE *out, const char *id, json_t *tasks, const struct sv_col *cols)
{
	const struct sv_col *c;
	size_t i, n;
	json_t *t, *v;

	if (json_array_size(tasks) == 0)
		return;
	fprintf(out, "<table id=\"%s\"><tr>", id);
	for (c = cols; c->head; c++)
		fprintf(out, "<th>%s</th>", c->head);
	fputs("</tr>\n", out);
	json_array_foreach(tasks, i, t)
	{
		fputs("<tr>", out);
		for (c = cols; c->head; c++) {
			v = json_object_get(t, c->field);
			n = strlen(c->field);
			if (strcmp(c->field, "task_id") == 0) {
				sv_task_link(out, v);
			} else if (strcmp(c->field, "keys") == 0) {
				sv_keys(out, v);
			} else if (n > 3 && strcmp(c->field + n - 3, "_ms") == 0) {
				fputs("<td>", out);
				sv_time(out, v);
				fputs("</td>", out);
			} else {
				sv_cell(out, v);
			}
		}
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

void
sv_instances(FILE *out, json_t *instances)
{
	json_t *arr = json_object_get(instances, "instances"), *v;
	size_t i, alive = 0;
	int pass;

	json_array_foreach(arr, i, v) alive += json_is_true(json_object_get(v, "alive"));
	fprintf(out, "<p id=\"instances-count\">%zu instance%s, %zu alive</p>\n",
	    json_array_size(arr), json_array_size(arr) == 1 ? "" : "s", alive);
	if (json_array_size(arr) == 0)
		return;
	fputs("<table id=\"instances\"><tr><th>instance</th><th>status</th><th>host</th>"
	      "<th>pid</th><th>version</th><th>backend</th><th>queues</th><th>started</th>"
	      "<th>last seen</th><th>tasks</th></tr>\n",
	    out);
	for (pass = 0; pass < 2; pass++) { /* alive first */
		json_array_foreach(arr, i, v)
		{
			int is_alive = json_is_true(json_object_get(v, "alive"));
			json_t *t, *q;
			size_t k;

			if (is_alive != (pass == 0))
				continue;
			fputs("<tr>", out);
			sv_cell(out, json_object_get(v, "instance"));
			fprintf(out, "<td class=\"%s\">%s%s</td>", is_alive ? "alive" : "dead",
			    is_alive ? "alive" : "gone",
			    json_is_true(json_object_get(v, "stopping")) ? ", stopping" : "");
			sv_cell(out, json_object_get(v, "hostname"));
			sv_cell(out, json_object_get(v, "pid"));
			sv_cell(out, json_object_get(v, "smd_version"));
			sv_cell(out, json_object_get(v, "backend"));
			fputs("<td>", out);
			json_array_foreach(json_object_get(v, "queues"), k, q)
			{
				if (k)
					fputs(", ", out);
				sv_val(out, q);
			}
			fputs("</td><td>", out);
			sv_time(out, json_object_get(v, "started_ms"));
			fputs("</td><td>", out);
			sv_time(out, json_object_get(v, "last_seen_ms"));
			fputs("</td><td>", out);
			json_array_foreach(json_object_get(v, "tasks"), k, t)
			{
				if (k)
					fputs("<br>", out);
				if (json_is_integer(json_object_get(t, "task_id")))
					fprintf(out, "<a href=\"/task/%lld\">%lld</a> ",
					    (long long)json_integer_value(
					        json_object_get(t, "task_id")),
					    (long long)json_integer_value(
					        json_object_get(t, "task_id")));
				sv_val(out, json_object_get(t, "site"));
				fputs(" (", out);
				sv_val(out, json_object_get(t, "state"));
				fputs(")", out);
			}
			fputs("</td></tr>\n", out);
		}
	}
	fputs("</table>\n", out);
}

/* Tasks received per hour as bars: 24 <rect>s, each with its count as title. */
static void
sv_hours_chart(FILE *out, json_t *hours)
{
	const int bw = 24, gap = 4, h = 120, top = 16, base = top + h;
	json_int_t max = 0;
	json_t *v;
	size_t i;

	json_array_foreach(hours, i, v) if (json_integer_value(v) > max) max =
	    json_integer_value(v);
	fprintf(out,
	    "<figure><svg id=\"per-hour\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-label=\"tasks received per hour (UTC)\">\n",
	    24 * (bw + gap) + gap, base + 20);
	for (i = 0; i < 24; i++) {
		json_int_t n = json_integer_value(json_array_get(hours, i));
		int bh = max > 0 ? (int)((double)n * h / (double)max + 0.5) : 0;
		int x = gap + (int)i * (bw + gap);

		fprintf(out,
		    "<rect class=\"bar\" data-hour=\"%zu\" data-count=\"%lld\" x=\"%d\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\"><title>%02zu:00 %lld</title></rect>",
		    i, (long long)n, x, base - bh, bw, bh, i, (long long)n);
		if (n > 0)
			fprintf(out,
			    "<text x=\"%d\" y=\"%d\" font-size=\"10\" "
			    "text-anchor=\"middle\">%lld</text>",
			    x + bw / 2, base - bh - 3, (long long)n);
		fprintf(out,
		    "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%zu</text>\n",
		    x + bw / 2, base + 14, i);
	}
	fputs("</svg><figcaption>tasks received per hour (UTC)</figcaption></figure>\n", out);
}

static void
sv_card(FILE *out, const char *id, const char *label, json_t *v)
{
	fprintf(out, "<div class=\"card\" id=\"%s\"><b>", id);
	if (json_is_real(v))
		fprintf(out, "%.1f%%", json_real_value(v) * 100.0);
	else
		sv_val(out, v);
	fprintf(out, "</b>%s</div>", label);
}

/* {name: {received, finished, failed, cache_hits}} as a table. */
static void
sv_breakdown(FILE *out, const char *title, json_t *obj)
{
	const char *name;
	json_t *v;

	if (!json_is_object(obj) || json_object_size(obj) == 0)
		return;
	fputs("<h3>", out);
	sv_esc(out, title);
	fputs("</h3>\n<table><tr><th></th><th>received</th><th>finished</th><th>failed</th>"
	      "<th>cache hits</th></tr>\n",
	    out);
	json_object_foreach(obj, name, v)
	{
		fputs("<tr><td>", out);
		sv_esc(out, name);
		fputs("</td>", out);
		sv_cell(out, json_object_get(v, "received"));
		sv_cell(out, json_object_get(v, "finished"));
		sv_cell(out, json_object_get(v, "failed"));
		sv_cell(out, json_object_get(v, "cache_hits"));
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

void
sv_stats(FILE *out, json_t *stats)
{
	json_t *d = json_object_get(stats, "duration_ms"), *q = json_object_get(stats, "queues"),
	       *v;
	const char *name;

	fputs("<p>", out);
	sv_val(out, json_object_get(stats, "date"));
	if (json_integer_value(json_object_get(stats, "days")) > 1) {
		fputs(" and the ", out);
		sv_val(out, json_object_get(stats, "days"));
		fputs(" days before", out);
	}
	fputs("</p>\n<div class=\"cards\">", out);
	sv_card(out, "received", "received", json_object_get(stats, "received"));
	sv_card(out, "finished", "finished", json_object_get(stats, "finished"));
	sv_card(out, "failed", "failed", json_object_get(stats, "failed"));
	sv_card(out, "cache-hits", "cache hits", json_object_get(stats, "cache_hits"));
	sv_card(out, "hit-rate", "hit rate", json_object_get(stats, "hit_rate"));
	sv_card(out, "retries", "retries", json_object_get(stats, "retries"));
	sv_card(
	    out, "instances-alive", "instances alive", json_object_get(stats, "instances_alive"));
	sv_card(out, "instances-started", "instances started",
	    json_object_get(stats, "instances_started"));
	fputs("</div>\n", out);
	if (json_is_array(json_object_get(stats, "per_hour")))
		sv_hours_chart(out, json_object_get(stats, "per_hour"));
	if (json_is_object(d)) {
		fputs("<h3>duration (ms)</h3><table><tr><th>p50</th><th>p90</th><th>p99</th>"
		      "<th>max</th></tr><tr>",
		    out);
		sv_cell(out, json_object_get(d, "p50"));
		sv_cell(out, json_object_get(d, "p90"));
		sv_cell(out, json_object_get(d, "p99"));
		sv_cell(out, json_object_get(d, "max"));
		fputs("</tr></table>\n", out);
	}
	sv_breakdown(out, "per site", json_object_get(stats, "per_site"));
	sv_breakdown(out, "per server", json_object_get(stats, "per_server"));
	if (json_is_object(q) && json_object_size(q) > 0) {
		fputs("<h3>queues</h3><table><tr><th>queue</th><th>messages</th></tr>\n", out);
		json_object_foreach(q, name, v)
		{
			fputs("<tr><td>", out);
			sv_esc(out, name);
			fputs("</td>", out);
			sv_cell(out, v);
			fputs("</tr>\n", out);
		}
		fputs("</table>\n", out);
	}
}

void
sv_page_home(
    FILE *out, json_t *instances, const char *inst_err, json_t *stats, const char *stats_err)
{
	sv_page_begin(out, "overview");
	fputs("<h2>instances</h2>\n", out);
	if (instances)
		sv_instances(out, instances);
	else
		sv_error_box(out, "instances", inst_err);
	fputs("<h2>today</h2>\n", out);
	if (stats)
		sv_stats(out, stats);
	else
		sv_error_box(out, "stats", stats_err);
	sv_page_end(out);
}

void
sv_page_stats(FILE *out, const char *date, json_t *stats, const char *err)
{
	sv_page_begin(out, "stats");
	fputs("<form method=\"get\" action=\"/stats\"><label>date (YYYY-MM-DD) "
	      "<input name=\"date\" value=\"",
	    out);
	sv_esc(out, date);
	fputs("\"></label> <button>show</button></form>\n", out);
	if (stats)
		sv_stats(out, stats);
	else
		sv_error_box(out, "stats", err);
	sv_page_end(out);
}

static void
sv_search_form(FILE *out, const char *q)
{
	fputs("<form method=\"get\" action=\"/search\"><label>task id, site, term, server or "
	      "instance <input name=\"q\" value=\"",
	    out);
	sv_esc(out, q);
	fputs("\"></label> <button>search</button></form>\n", out);
}

void
sv_page_search(FILE *out, const char *q, json_t *search, const char *err)
{
	json_t *tasks = json_object_get(search, "tasks");

	sv_page_begin(out, "search");
	sv_search_form(out, q);
	if (!q || !*q) {
		sv_page_end(out);
		return;
	}
	if (!search) {
		sv_error_box(out, "search", err);
		sv_page_end(out);
		return;
	}
	fprintf(out, "<p id=\"search-count\">%zu task%s for &ldquo;", json_array_size(tasks),
	    json_array_size(tasks) == 1 ? "" : "s");
	sv_esc(out, q);
	fputs("&rdquo; in the last ", out);
	sv_val(out, json_object_get(search, "days"));
	fputs(" days</p>\n", out);
	sv_task_table(out, "results", tasks, sv_search_cols);
	sv_page_end(out);
}

void
sv_page_failed(FILE *out, json_t *failed, const char *err)
{
	json_t *tasks = json_object_get(failed, "tasks");

	sv_page_begin(out, "failed tasks");
	if (!failed) {
		sv_error_box(out, "failed tasks", err);
		sv_page_end(out);
		return;
	}
	fprintf(out, "<p id=\"failed-count\">%zu failed task%s in the last ",
	    json_array_size(tasks), json_array_size(tasks) == 1 ? "" : "s");
	sv_val(out, json_object_get(failed, "days"));
	fputs(" days</p>\n", out);
	sv_task_table(out, "failed", tasks, sv_failed_cols);
	sv_page_end(out);
}

static void
sv_row(FILE *out, const char *label, json_t *v, int is_time)
{
	fputs("<tr><th>", out);
	sv_esc(out, label);
	fputs("</th><td>", out);
	if (is_time)
		sv_time(out, v);
	else
		sv_val(out, v);
	fputs("</td></tr>\n", out);
}

static void
sv_list(FILE *out, json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (i)
			fputs(", ", out);
		sv_val(out, v);
	}
}

static void
sv_history(FILE *out, json_t *hist)
{
	size_t i;
	json_t *v;

	fprintf(out, "<h2>history</h2>\n<p>%zu record%s</p>\n", json_array_size(hist),
	    json_array_size(hist) == 1 ? "" : "s");
	if (json_array_size(hist) == 0)
		return;
	fputs("<table id=\"history\"><tr><th>#</th><th>time</th><th>step</th><th>from</th>"
	      "<th>to</th><th>detail</th></tr>\n",
	    out);
	json_array_foreach(hist, i, v)
	{
		json_t *ev = json_object_get(v, "event"), *data = json_object_get(ev, "data");
		const char *kind = json_string_value(json_object_get(v, "kind"));
		const char *name = json_string_value(json_object_get(ev, "name"));
		json_t *e;
		size_t k;

		fputs("<tr>", out);
		sv_cell(out, json_object_get(v, "seq"));
		fputs("<td>", out);
		sv_time(out, json_object_get(v, "time"));
		fputs("</td><td>", out);
		sv_esc(out, kind ? kind : "?");
		if (name) {
			fputs(" ", out);
			sv_esc(out, name);
		}
		fputs("</td><td>", out);
		sv_list(out, json_object_get(v, "from"));
		fputs("</td><td>", out);
		sv_list(out, json_object_get(v, "to"));
		fputs("</td><td>", out);
		if (name && strncmp(name, "error.", 6) == 0 &&
		    json_is_string(json_object_get(data, "message")))
			sv_val(out, json_object_get(data, "message"));
		else if (name && strncmp(name, "done.invoke.", 12) == 0 && data &&
		    !json_is_null(data))
			sv_val(out, data);
		json_array_foreach(json_object_get(v, "errors"), k, e)
		{
			fputs("<br>error: ", out);
			sv_val(out, e);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

void
sv_page_task(FILE *out, const char *task_id, json_t *run, const char *err, const char *svg,
    const char *svg_err)
{
	char title[96];
	json_t *v;
	const char *key;

	snprintf(title, sizeof(title), "task %s", task_id);
	sv_page_begin(out, title);
	if (!run) {
		sv_error_box(out, "task", err);
		sv_page_end(out);
		return;
	}
	fputs("<table id=\"run\">\n", out);
	sv_row(out, "task id", json_object_get(run, "task_id"), 0);
	sv_row(out, "server", json_object_get(run, "server_name"), 0);
	sv_row(out, "state", json_object_get(run, "state"), 0);
	sv_row(out, "status", json_object_get(run, "status"), 0);
	sv_row(out, "reason", json_object_get(run, "reason"), 0);
	sv_row(out, "instance", json_object_get(run, "instance_id"), 0);
	sv_row(out, "queue", json_object_get(run, "queue"), 0);
	sv_row(out, "received", json_object_get(run, "received_ms"), 1);
	sv_row(out, "updated", json_object_get(run, "updated_ms"), 1);
	sv_row(out, "machine", json_object_get(run, "machine_name"), 0);
	sv_row(out, "machine version", json_object_get(run, "machine"), 0);
	sv_row(out, "record", json_object_get(run, "record_key"), 0);
	sv_row(out, "runs recorded", json_object_get(run, "runs"), 0);
	sv_row(out, "message", json_object_get(run, "message"), 0);
	sv_row(out, "cache", json_object_get(run, "cache"), 0);
	fputs("</table>\n", out);
	if (json_object_size(json_object_get(run, "keys")) > 0) {
		fputs("<h2>keys</h2>\n<table id=\"keys\">", out);
		json_object_foreach(json_object_get(run, "keys"), key, v) sv_row(out, key, v, 0);
		fputs("</table>\n", out);
	}
	fputs("<h2>machine</h2>\n", out);
	if (svg) {
		fputs("<div class=\"machine\" id=\"machine\">", out);
		fputs(svg, out); /* drawn here from the machine file, its labels escaped */
		fputs("</div>\n", out);
	} else {
		sv_error_box(out, "machine", svg_err);
	}
	sv_history(out, json_object_get(run, "history"));
	sv_page_end(out);
}

json_t *
sv_run_states(json_t *run)
{
	json_t *seen = json_object(), *arr = json_array(), *v, *s;
	const char *id;
	size_t i, k;
	static const char *const fields[] = { "from", "to" };

	if (!seen || !arr) {
		json_decref(seen);
		json_decref(arr);
		return NULL;
	}
	json_array_foreach(json_object_get(run, "history"), i, v)
	{
		for (size_t f = 0; f < 2; f++)
			json_array_foreach(
			    json_object_get(v, fields[f]), k, s) if (json_is_string(s))
			    json_object_set(seen, json_string_value(s), json_true());
	}
	json_object_foreach(seen, id, v) json_array_append_new(arr, json_string(id));
	json_decref(seen);
	return arr;
}
