/*
 * smctl_serve_svg.c - a machine drawn as SVG for `smctl serve`: the DOT
 * that `smctl graph` prints (sm_machine_graph_dot, the only DOT writer),
 * read back by cgraph, the states a run went through filled, laid out
 * with dot and rendered by libgvc in this process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "sm_machine.h"
#include "smctl_serve.h"

#define SV_FILL "#ffd866"   /* a visited state */
#define SV_BORDER "#d08000" /* a visited compound state */

/*
 * One graphviz context for the process, and one drawing at a time.
 * libgvc and its plugins keep static state between calls (the pango
 * plugin remembers a pointer to the last font name, which lives in the
 * context's font dictionary: a context freed after each drawing left it
 * dangling, and the next drawing read freed memory), and none of it is
 * thread-safe, while smctl serve answers from several threads.  The
 * context is made at the first drawing and kept until exit.
 */
static pthread_mutex_t sv_gv_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *sv_gvc;

/* agsafeset with text constants (its prototype wants char *). */
static void
sv_set(void *obj, const char *name, const char *value)
{
	char n[32], v[64], none[1] = "";

	snprintf(n, sizeof(n), "%s", name);
	snprintf(v, sizeof(v), "%s", value);
	agsafeset(obj, n, v, none);
}

/* The subgraph `name` anywhere below `g` (agsubg sees direct ones only). */
static Agraph_t *
sv_subg(Agraph_t *g, char *name)
{
	Agraph_t *sg, *found;

	if ((found = agsubg(g, name, 0)))
		return found;
	for (sg = agfstsubg(g); sg; sg = agnxtsubg(sg))
		if ((found = sv_subg(sg, name)))
			return found;
	return NULL;
}

/* Fill the node of state `id`, or its cluster when it is compound. */
static void
sv_mark(Agraph_t *g, const char *id)
{
	char *name;
	Agnode_t *n;
	Agraph_t *sg;

	n = agnode(g, (char *)id, 0);
	if (n) {
		sv_set(n, "style", "rounded,filled,bold");
		sv_set(n, "fillcolor", SV_FILL);
		return;
	}
	if (!(name = malloc(strlen(id) + 9)))
		return;
	sprintf(name, "cluster_%s", id);
	sg = sv_subg(g, name);
	if (sg) {
		/* a border, not a fill: a compound state holds the others */
		sv_set(sg, "color", SV_BORDER);
		sv_set(sg, "penwidth", "2.5");
	}
	free(name);
}

int
sv_machine_svg(const struct sm_machine *m, json_t *states, char **svg, char *err, size_t errlen)
{
	char *dot = NULL, *data = NULL, *start;
	size_t dotlen = 0;
	unsigned int len = 0;
	FILE *f;
	GVC_t *gvc;
	Agraph_t *g = NULL;
	json_t *s;
	size_t i;
	int rc = -1, laid = 0;

	*svg = NULL;
	if (!(f = open_memstream(&dot, &dotlen))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sm_machine_graph_dot(m, f) != 0 || fclose(f) != 0) {
		snprintf(err, errlen, "cannot write the machine as DOT");
		free(dot);
		return -1;
	}
	pthread_mutex_lock(&sv_gv_lock);
	if (!sv_gvc)
		sv_gvc = gvContext();
	if (!(gvc = sv_gvc)) {
		snprintf(err, errlen, "graphviz: cannot start (is libgvc's plugin config there?)");
		goto out;
	}
	if (!(g = agmemread(dot))) {
		snprintf(err, errlen, "graphviz: cannot read the machine's DOT");
		goto out;
	}
	json_array_foreach(states, i, s) if (json_is_string(s)) sv_mark(g, json_string_value(s));
	if (gvLayout(gvc, g, "dot") != 0) {
		snprintf(err, errlen, "graphviz: layout failed");
		goto out;
	}
	laid = 1;
	if (gvRenderData(gvc, g, "svg", &data, &len) != 0 || !data) {
		snprintf(err, errlen, "graphviz: svg rendering failed (no svg plugin?)");
		goto out;
	}
	/* the <svg> element alone, without the XML declaration and doctype */
	start = strstr(data, "<svg");
	if (!start || !(*svg = strndup(start, len - (unsigned int)(start - data)))) {
		snprintf(err, errlen, start ? "out of memory" : "graphviz gave no <svg>");
		goto out;
	}
	rc = 0;
out:
	if (data)
		gvFreeRenderData(data);
	if (laid)
		gvFreeLayout(gvc, g);
	if (g)
		agclose(g);
	pthread_mutex_unlock(&sv_gv_lock);
	free(dot);
	return rc;
}
