/*
 * smctl_serve.h - the pages of `smctl serve` (cmd/smctl_serve_html.c) and
 * the machine drawing (cmd/smctl_serve_svg.c); the server itself is
 * cmd/smctl_serve.c.
 *
 * Every page is written to a FILE (open_memstream) from the JSON objects
 * the fleet commands print with --json (docs/fleet-formats.md); a NULL
 * object is shown as "not available".  Every value taken from an object
 * goes through sv_esc(): nothing from the bucket reaches the page
 * unescaped.  The pages need no JavaScript.
 */
#ifndef SMCTL_SERVE_H
#define SMCTL_SERVE_H

#include <stdio.h>

#include <jansson.h>

struct sm_machine;

/* Write `s` HTML-escaped (& < > " ' as entities; control bytes but tab and
 * newline as U+FFFD; fit for text and for a quoted attribute).  NULL: nothing. */
void sv_esc(FILE *out, const char *s);
/* Write `s` percent-encoded as a URL query value or a path segment. */
void sv_url(FILE *out, const char *s);

/* A file served from the binary: the style sheet. */
struct sv_asset {
	const char *path; /* "/static/style.css" */
	const char *type; /* its Content-Type */
	const char *body; /* NUL-terminated */
};
/* The asset at URL path `path`, or NULL. */
const struct sv_asset *sv_asset_find(const char *path);

/* The page frame: the doctype, head (title escaped), the style, the
 * navigation; sv_page_end closes it. */
void sv_page_begin(FILE *out, const char *title);
void sv_page_end(FILE *out);

/* An error page's body: the message, escaped. */
void sv_page_error(FILE *out, int status, const char *msg);

/* / : instances (the `instances` object) and today's stats (the `stats`
 * object), each NULL with the reason in `*_err` when it could not be read. */
void sv_page_home(
    FILE *out, json_t *instances, const char *inst_err, json_t *stats, const char *stats_err);
/* The instances table (alive first). */
void sv_instances(FILE *out, json_t *instances);
/* The stats of one day: counts, per-hour chart (inline SVG), per site,
 * per server, durations. */
void sv_stats(FILE *out, json_t *stats);
/* /stats?date=: a date form and the stats. */
void sv_page_stats(FILE *out, const char *date, json_t *stats, const char *err);
/* /search?q=: the form (with `q`), and the `search` object's tasks. */
void sv_page_search(FILE *out, const char *q, json_t *search, const char *err);
/* /failed: the `failed` object's tasks. */
void sv_page_failed(FILE *out, json_t *failed, const char *err);
/*
 * /task/<id>: the run (`inspect --remote` object: the record's "run" plus
 * "record_key"), its history, and `svg` (the machine drawn by
 * sv_machine_svg, inserted as it is: it is made here, not read from the
 * bucket) or `svg_err` saying why there is none.
 */
void sv_page_task(FILE *out, const char *task_id, json_t *run, const char *err, const char *svg,
    const char *svg_err);

/* The state ids a run went through: every "from" and "to" of its history,
 * once each (a new array). */
json_t *sv_run_states(json_t *run);

/*
 * Draw `m` as SVG (the DOT of sm_machine_graph_dot, laid out and rendered
 * by libgvc in this process), the states named in `states` (an array of
 * state ids; NULL: none) filled.  *svg is the <svg> element alone
 * (malloc'd); 0, or -1 with a message in `err` (size `errlen`).  Not
 * thread-safe by itself (Graphviz is not): the caller serializes.
 */
int sv_machine_svg(
    const struct sm_machine *m, json_t *states, char **svg, char *err, size_t errlen);

#endif
