/*
 * sm_graph.c - a loaded machine as a Graphviz DOT digraph.
 *
 * Atomic states, finals and pseudo-states are nodes; compound and
 * parallel states are clusters (with an invisible anchor node so that
 * edges can start or end at the cluster, using lhead/ltail).  Each
 * transition target gives one edge labelled "event [cond]"; the initial
 * states of every compound state get an edge from a small point node.
 */
#include <stdio.h>
#include <string.h>

#include "sm_err.h"
#include "sm_machine.h"
#include "sm_model.h"

/* Write `s` as the inside of a DOT double-quoted string. */
static void
dot_str(FILE *out, const char *s)
{
	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', out);
		else
			fputc(c, out);
	}
}

static int
is_cluster(const struct sm_state *s)
{
	return s->kind == SM_ST_COMPOUND || s->kind == SM_ST_PARALLEL;
}

/* The node an edge attaches to: the state, or a cluster's anchor. */
static void
dot_node(FILE *out, const struct sm_machine *m, int i)
{
	fputc('"', out);
	dot_str(out, m->states[i].id);
	if (is_cluster(&m->states[i]))
		fputs("#anchor", out);
	fputc('"', out);
}

static void
dot_state(FILE *out, const struct sm_machine *m, int i, int indent)
{
	const struct sm_state *s = &m->states[i];
	size_t k;

	if (is_cluster(s)) {
		fprintf(out, "%*ssubgraph \"cluster_", indent, "");
		dot_str(out, s->id);
		fprintf(out, "\" {\n%*slabel=\"", indent + 2, "");
		dot_str(out, s->id);
		fprintf(out, "%s\"; style=%s;\n", s->kind == SM_ST_PARALLEL ?
		    " (parallel)" : "", s->kind == SM_ST_PARALLEL ? "dashed" : "rounded");
		fprintf(out, "%*s", indent + 2, "");
		dot_node(out, m, i);
		fputs(" [shape=point, style=invis];\n", out);
		for (k = 0; k < s->nchildren; k++)
			dot_state(out, m, s->children[k], indent + 2);
		fprintf(out, "%*s}\n", indent, "");
		return;
	}
	fprintf(out, "%*s", indent, "");
	dot_node(out, m, i);
	switch (s->kind) {
	case SM_ST_FINAL:
		fputs(" [shape=doublecircle", out);
		break;
	case SM_ST_INITIAL:
		fputs(" [shape=circle, style=filled, fillcolor=black, width=0.15, "
		    "label=\"\"", out);
		break;
	case SM_ST_HISTORY_SHALLOW:
		fputs(" [shape=circle, label=\"H\"", out);
		break;
	case SM_ST_HISTORY_DEEP:
		fputs(" [shape=circle, label=\"H*\"", out);
		break;
	default:
		fputs(" [shape=box, style=rounded", out);
		break;
	}
	fputs("];\n", out);
}

static void
dot_edge(FILE *out, const struct sm_machine *m, int from, int to,
    const char *label, int dashed)
{
	fputs("  ", out);
	dot_node(out, m, from);
	fputs(" -> ", out);
	dot_node(out, m, to);
	fputs(" [label=\"", out);
	dot_str(out, label);
	fputc('"', out);
	if (is_cluster(&m->states[from])) {
		fputs(", ltail=\"cluster_", out);
		dot_str(out, m->states[from].id);
		fputc('"', out);
	}
	if (is_cluster(&m->states[to])) {
		fputs(", lhead=\"cluster_", out);
		dot_str(out, m->states[to].id);
		fputc('"', out);
	}
	if (dashed)
		fputs(", style=dashed", out);
	fputs("];\n", out);
}

int
sm_machine_graph_dot(const struct sm_machine *m, FILE *out)
{
	size_t i, k, e;
	char label[1024];

	if (m == NULL || out == NULL || m->nstates == 0)
		return SM_EINVAL;
	fputs("digraph \"", out);
	dot_str(out, m->name ? m->name : "machine");
	fputs("\" {\n  compound=true;\n  node [fontname=\"Helvetica\"];\n"
	    "  edge [fontname=\"Helvetica\", fontsize=10];\n", out);
	for (k = 0; k < m->states[0].nchildren; k++)
		dot_state(out, m, m->states[0].children[k], 2);

	/* initial markers: a point node per compound state (and the root) */
	for (i = 0; i < m->nstates; i++) {
		const struct sm_state *s = &m->states[i];

		if (s->ninitial_targets == 0)
			continue;
		fputs("  \"", out);
		dot_str(out, s->id);
		fputs("#initial\" [shape=point, width=0.12, label=\"\"];\n", out);
		for (k = 0; k < s->ninitial_targets; k++) {
			fputs("  \"", out);
			dot_str(out, s->id);
			fputs("#initial\" -> ", out);
			dot_node(out, m, s->initial_targets[k]);
			fputs(" [label=\"initial\"", out);
			if (is_cluster(&m->states[s->initial_targets[k]])) {
				fputs(", lhead=\"cluster_", out);
				dot_str(out, m->states[s->initial_targets[k]].id);
				fputc('"', out);
			}
			fputs("];\n", out);
		}
	}

	for (i = 0; i < m->ntransitions; i++) {
		const struct sm_transition *t = m->transitions[i];
		size_t len = 0;

		label[0] = '\0';
		for (e = 0; e < t->nevents && len < sizeof label; e++)
			len += (size_t)snprintf(label + len, sizeof label - len, "%s%s",
			    e ? " " : "", t->events[e]);
		if (t->cond_src != NULL && len < sizeof label)
			snprintf(label + len, sizeof label - len, "%s[%s]",
			    len ? " " : "", t->cond_src);
		if (t->ntargets == 0) { /* targetless: a self loop, dashed */
			dot_edge(out, m, t->source, t->source, label, 1);
			continue;
		}
		for (k = 0; k < t->ntargets; k++)
			dot_edge(out, m, t->source, t->targets[k], label, 0);
	}
	fputs("}\n", out);
	return ferror(out) ? SM_EIO : 0;
}
