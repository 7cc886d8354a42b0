/*
 * sm_load.c - SCXML machine files -> struct sm_machine (sm_model.h).
 *
 * Pipeline for one document: size limit, hardened libxml2 parse (SAX hooks
 * refuse any DOCTYPE before a single declaration is read and stop at the
 * nesting limit), root element check, RelaxNG validation against the
 * embedded schema, then two walks over the tree: the first creates the
 * states in document order (so every id is known), the second fills in
 * transitions, executable content, invokes and data, resolving targets.
 * Static checks run last.  Every problem becomes one diagnostic and the
 * loader goes on, so a user sees all of them at once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "sm_digest.h"
#include "sm_duration.h"
#include "sm_err.h"
#include "sm_expr.h"
#include "sm_machine.h"
#include "sm_model.h"
#include "sm_text.h"

#define SM_LOAD_MAX_ATTEMPTS 100

static void sm__strv_free(char **v);

#if LIBXML_VERSION >= 21200
typedef const xmlError *ld_xmlerr;
#else
typedef xmlError *ld_xmlerr;
#endif

/* Options and sinks shared by a document and its child documents. */
struct ld_shared {
	struct sm_load_opts opt;
	struct sm_diags *diags;
	int nerr;          /* errors seen (also when diags is NULL) */
	int oom;
	int code;          /* first "worst" code: PARSE beats INVALID */
	int ndocs;         /* documents loaded so far (top + children) */
	size_t total_bytes; /* their bytes */
};

/* One document (or inline child <scxml>) being built. */
struct ld {
	struct ld_shared *S;
	const char *file;        /* for messages */
	const char *base_dir;    /* for src=, may be NULL */
	int invoke_depth;
	struct sm_machine *m;
	size_t cap_states;
	xmlNode **nodes;         /* state index -> element */
	int walk;                /* state counter of the second walk */
	int graph_bad;           /* a target/id/initial error: the reachability
	                            checks would only repeat it, skip them */
	size_t ntrans_cap;
};

/* ------------------------------------------------------------------ */
/* diagnostics                                                          */

void
sm_diags_free(struct sm_diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

char *
sm_diag_format(const struct sm_diag *d, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	const char *w = d->warning ? "warning: " : "";

	if (d->line > 0 && d->col > 0)
		snprintf(buf, size, "%s:%d:%d: %s%s", d->file, d->line, d->col, w, d->msg);
	else if (d->line > 0)
		snprintf(buf, size, "%s:%d: %s%s", d->file, d->line, w, d->msg);
	else
		snprintf(buf, size, "%s: %s%s", d->file, w, d->msg);
	return buf;
}

void
sm_diags_print(const struct sm_diags *d, FILE *fp)
{
	char buf[2048];
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		fprintf(fp, "%s\n", sm_diag_format(&d->v[i], buf, sizeof buf));
}

/* A copy of `s` fit for one line of a terminal: the control characters
 * an attribute may carry (&#10; is well-formed XML) are written as \n,
 * \r, \t or '?', so a message can neither span lines nor forge one. */
static char *
ld_one_line(const char *s)
{
	size_t n = 0, i;
	char *o, *p;

	for (i = 0; s[i]; i++)
		n += (unsigned char)s[i] < 0x20 ? 2 : 1;
	if ((o = malloc(n + 1)) == NULL)
		return NULL;
	for (p = o; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != 0x7f) {
			*p++ = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			*p++ = '\\';
			*p++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else {
			*p++ = '?';
		}
	}
	*p = '\0';
	return o;
}

static void
ld_push(struct ld_shared *S, const char *file, int line, int col, int code,
    const char *msg)
{
	struct sm_diag *v;
	struct sm_diags *d = S->diags;

	if (code != 0)
		S->nerr++;
	if (code == SM_ENOMEM)
		S->oom = 1;
	if (code != 0 && (S->code == 0 || (S->code == SM_EINVALID && code != SM_EINVALID)))
		S->code = code;
	if (d == NULL || d->n > SM_DIAGS_MAX)
		return;
	if (d->n == SM_DIAGS_MAX) {
		msg = "too many errors, stopping here: fix the ones above first";
		line = 0;
		col = 0;
	}
	v = realloc(d->v, (d->n + 1) * sizeof *v);
	if (v == NULL) {
		S->oom = 1;
		return;
	}
	d->v = v;
	v[d->n].file = ld_one_line(file ? file : "<memory>");
	v[d->n].msg = ld_one_line(msg);
	v[d->n].line = line;
	v[d->n].col = col;
	v[d->n].warning = code == 0;
	if (v[d->n].file == NULL || v[d->n].msg == NULL) {
		free(v[d->n].file);
		free(v[d->n].msg);
		S->oom = 1;
		return;
	}
	d->n++;
}

static void __attribute__((format(printf, 5, 6)))
ld_diag(struct ld_shared *S, const char *file, int line, int code,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ld_push(S, file, line, 0, code, msg);
}

#define lerr(L, line, ...) ld_diag((L)->S, (L)->file, (line), SM_EINVALID, __VA_ARGS__)
#define lwarn(L, line, ...) ld_diag((L)->S, (L)->file, (line), 0, __VA_ARGS__)

static void
ld_oom(struct ld_shared *S)
{
	if (!S->oom)
		ld_push(S, "<loader>", 0, 0, SM_ENOMEM, "out of memory");
	S->oom = 1;
}

static void *
ld_calloc(struct ld *L, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		ld_oom(L->S);
	return p;
}

static char *
ld_strdup(struct ld *L, const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		ld_oom(L->S);
	return p;
}

/* Append `item` to a pointer-sized growable array. */
static int
ld_grow(struct ld *L, void **arr, size_t *n, size_t elem)
{
	void *p = *arr;

	/* capacity is the next power of two: grow when n is 0 or one */
	if (*n == 0 || (*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;

		p = realloc(*arr, cap * elem);
		if (p == NULL) {
			ld_oom(L->S);
			return -1;
		}
	}
	*arr = p;
	memset((char *)p + *n * elem, 0, elem);
	(*n)++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* small parsers                                                        */

/* Split on XML whitespace into a NULL-terminated array; *n gets the count.
 * Returns NULL (and n 0) for an empty list. */
static char **
ld_split(struct ld *L, const char *s, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;
	const char *p = s;

	*n = 0;
	if (s == NULL)
		return NULL;
	for (;;) {
		const char *b;
		char **nv;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		b = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		nv = realloc(v, (cnt + 2) * sizeof *v);
		if (nv == NULL)
			goto oom;
		v = nv;
		v[cnt] = strndup(b, (size_t)(p - b));
		if (v[cnt] == NULL)
			goto oom;
		v[++cnt] = NULL;
	}
	*n = cnt;
	return v;
oom:
	ld_oom(L->S);
	sm__strv_free(v);
	return NULL;
}

static void
sm__strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ------------------------------------------------------------------ */
/* xml helpers                                                          */

static int
ld_line(const xmlNode *n)
{
	long l = xmlGetLineNo(n);

	return l > 0 && l < INT_MAX ? (int)l : 0;
}

static int
is_el(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    strcmp((const char *)n->ns->href, SM_NS_SCXML) == 0 &&
	    (name == NULL || strcmp((const char *)n->name, name) == 0);
}

static int
is_state_el(const xmlNode *n)
{
	return is_el(n, "state") || is_el(n, "parallel") || is_el(n, "final") ||
	    is_el(n, "initial") || is_el(n, "history");
}

/* Attribute without namespace: a new string (free with free()) or NULL. */
static char *
ld_attr(struct ld *L, const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s;

	if (v == NULL)
		return NULL;
	s = ld_strdup(L, (const char *)v);
	xmlFree(v);
	return s;
}

static char *
ld_attr_ns(struct ld *L, const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNsProp(n, (const xmlChar *)name, (const xmlChar *)SM_NS_SMD);
	char *s;

	if (v == NULL)
		return NULL;
	s = ld_strdup(L, (const char *)v);
	xmlFree(v);
	return s;
}

static int
ld_has_attr(const xmlNode *n, const char *name)
{
	return xmlHasNsProp(n, (const xmlChar *)name, NULL) != NULL;
}

/* ------------------------------------------------------------------ */
/* expressions                                                          */

struct ld_in_check {
	struct ld *L;
	int line;
};

static int
ld_in_cb(void *arg, const char *id)
{
	struct ld_in_check *c = arg;

	if (sm_machine_state_index(c->L->m, id) < 0)
		lerr(c->L, c->line, "In('%s') names no state of this document: "
		    "use the id of a <state>, <parallel> or <final>", id);
	return 0;
}

/*
 * Compile the attribute `attr` of element `el` (value `src`).  `is_cond`:
 * a condition, which the null datamodel allows when it only uses In() and
 * boolean operators; any other expression needs datamodel="task".
 */
static struct sm_expr *
ld_expr(struct ld *L, int line, const char *el, const char *attr,
    const char *src, int is_cond)
{
	struct sm_expr *e = NULL;
	struct sm_error err = { 0, "" };
	struct ld_in_check c = { L, line };
	int rc;

	if (src == NULL)
		return NULL;
	if (L->m->datamodel == SM_DM_NULL && !is_cond) {
		lerr(L, line, "<%s %s=\"%s\">: expressions need datamodel=\"task\" "
		    "(the null datamodel has none)", el, attr, src);
		return NULL;
	}
	rc = sm_expr_parse(src, &e, &err);
	if (rc == SM_ENOMEM) {
		ld_oom(L->S);
		return NULL;
	}
	if (rc < 0) {
		lerr(L, line, "<%s %s=\"%s\">: %s", el, attr, src,
		    err.msg[0] ? err.msg : sm_strerror(rc));
		return NULL;
	}
	if (is_cond && L->m->datamodel == SM_DM_NULL && !sm_expr_is_null_profile(e)) {
		lerr(L, line, "<%s %s=\"%s\">: the null datamodel allows only "
		    "In('id'), !, &&, ||, true and false in conditions; use "
		    "datamodel=\"task\" for more", el, attr, src);
		sm_expr_free(e);
		return NULL;
	}
	sm_expr_foreach_state(e, ld_in_cb, &c);
	return e;
}

/* ------------------------------------------------------------------ */
/* freeing                                                              */

static void exec_free(struct sm_exec *x);

static void
params_free(struct sm_param *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		sm_expr_free(p[i].expr);
		free(p[i].expr_src);
		free(p[i].location);
	}
	free(p);
}

static void
exec_free(struct sm_exec *x)
{
	while (x != NULL) {
		struct sm_exec *next = x->next;

		switch (x->kind) {
		case SM_X_RAISE:
			free(x->u.raise.event);
			break;
		case SM_X_SEND:
			free(x->u.send.event);
			sm_expr_free(x->u.send.eventexpr);
			free(x->u.send.target);
			sm_expr_free(x->u.send.targetexpr);
			free(x->u.send.type);
			sm_expr_free(x->u.send.typeexpr);
			free(x->u.send.id);
			free(x->u.send.idlocation);
			sm_expr_free(x->u.send.delayexpr);
			sm__strv_free(x->u.send.namelist);
			params_free(x->u.send.params, x->u.send.nparams);
			sm_expr_free(x->u.send.content_expr);
			free(x->u.send.content);
			break;
		case SM_X_CANCEL:
			free(x->u.cancel.sendid);
			sm_expr_free(x->u.cancel.sendidexpr);
			break;
		case SM_X_LOG:
			free(x->u.log.label);
			sm_expr_free(x->u.log.expr);
			free(x->u.log.expr_src);
			break;
		case SM_X_ASSIGN:
			free(x->u.assign.location);
			sm_expr_free(x->u.assign.expr);
			free(x->u.assign.expr_src);
			json_decref(x->u.assign.value);
			break;
		case SM_X_IF:
			sm_expr_free(x->u.if_.cond);
			free(x->u.if_.cond_src);
			exec_free(x->u.if_.body);
			exec_free(x->u.if_.next_branch);
			break;
		case SM_X_FOREACH:
			sm_expr_free(x->u.foreach.array);
			free(x->u.foreach.array_src);
			free(x->u.foreach.item);
			free(x->u.foreach.index);
			exec_free(x->u.foreach.body);
			break;
		}
		free(x);
		x = next;
	}
}

static void
transition_free(struct sm_transition *t)
{
	if (t == NULL)
		return;
	sm__strv_free(t->events);
	sm_expr_free(t->cond);
	free(t->cond_src);
	free(t->targets);
	exec_free(t->body);
	free(t);
}

void
sm_machine_free(struct sm_machine *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nstates; i++) {
		struct sm_state *s = &m->states[i];

		free(s->id);
		free(s->children);
		free(s->initial_targets);
		free(s->transitions);
		for (j = 0; j < s->nonentry; j++)
			exec_free(s->onentry[j]);
		free(s->onentry);
		for (j = 0; j < s->nonexit; j++)
			exec_free(s->onexit[j]);
		free(s->onexit);
		for (j = 0; j < s->ninvokes; j++) {
			struct sm_invoke *iv = &s->invokes[j];

			free(iv->id);
			free(iv->idlocation);
			sm_expr_free(iv->typeexpr);
			sm_expr_free(iv->srcexpr);
			sm_expr_free(iv->content_expr);
			free(iv->src);
			sm_machine_free(iv->child);
			params_free(iv->params, iv->nparams);
			sm__strv_free(iv->namelist);
			exec_free(iv->finalize);
			sm__strv_free(iv->retry.errors);
		}
		free(s->invokes);
		json_decref(s->donedata);
		params_free(s->done_params, s->ndone_params);
		sm_expr_free(s->done_content_expr);
	}
	free(m->states);
	free(m->by_id);
	for (i = 0; i < m->ntransitions; i++)
		transition_free(m->transitions[i]);
	free(m->transitions);
	exec_free(m->script);
	params_free(m->data_decls, m->ndata_decls);
	json_decref(m->data);
	free(m->name);
	free(m->path);
	free(m->base_dir);
	free(m->doc);
	free(m);
}

int
sm_machine_declares_data(const struct sm_machine *m, const char *id)
{
	if (m == NULL || id == NULL)
		return 0;
	for (size_t i = 0; i < m->ndata_decls; i++)
		if (m->data_decls[i].name && strcmp(m->data_decls[i].name, id) == 0)
			return 1;
	return 0;
}

int
sm_machine_state_index(const struct sm_machine *m, const char *id)
{
	size_t i;

	if (m == NULL || id == NULL)
		return -1;
	if (m->by_id != NULL) {
		size_t lo = 0, hi = m->nstates;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(m->by_id[mid].id, id);

			if (c == 0)
				return m->by_id[mid].state;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return -1;
	}
	for (i = 0; i < m->nstates; i++)
		if (m->states[i].id != NULL && strcmp(m->states[i].id, id) == 0)
			return (int)i;
	return -1;
}

const char *
sm_machine_hash_hex(const struct sm_machine *m, char buf[65])
{
	sm_hex_encode(m->sha256, 32, buf);
	return buf;
}

/* ------------------------------------------------------------------ */
/* pass 1: states                                                       */

static int
ld_add_state(struct ld *L, xmlNode *n, enum sm_state_kind kind, int parent,
    int depth)
{
	struct sm_machine *m = L->m;
	struct sm_state *s;
	int idx;

	if (m->nstates == L->cap_states) {
		size_t cap = L->cap_states ? L->cap_states * 2 : 16;
		struct sm_state *ns = realloc(m->states, cap * sizeof *ns);
		xmlNode **nn;

		if (ns == NULL) {
			ld_oom(L->S);
			return -1;
		}
		m->states = ns;
		nn = realloc(L->nodes, cap * sizeof *nn);
		if (nn == NULL) {
			ld_oom(L->S);
			return -1;
		}
		L->nodes = nn;
		L->cap_states = cap;
	}
	idx = (int)m->nstates++;
	s = &m->states[idx];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->parent = parent;
	s->depth = depth;
	s->initial = -1;
	s->line = ld_line(n);
	L->nodes[idx] = n;
	if (kind != SM_ST_ROOT)
		s->id = ld_attr(L, n, "id");
	if (parent >= 0) {
		struct sm_state *p = &m->states[parent];

		if (ld_grow(L, (void **)&p->children, &p->nchildren, sizeof(int)) == 0)
			p->children[p->nchildren - 1] = idx;
	}
	return idx;
}

static void
ld_states(struct ld *L, xmlNode *n, int parent, int depth)
{
	xmlNode *c;
	enum sm_state_kind kind;
	int idx, has_child_states = 0;

	if (L->S->oom)
		return;
	if (parent < 0)
		kind = SM_ST_ROOT;
	else if (is_el(n, "parallel"))
		kind = SM_ST_PARALLEL;
	else if (is_el(n, "final"))
		kind = SM_ST_FINAL;
	else if (is_el(n, "initial"))
		kind = SM_ST_INITIAL;
	else if (is_el(n, "history")) {
		xmlChar *t = xmlGetNoNsProp(n, (const xmlChar *)"type");

		kind = t && strcmp((char *)t, "deep") == 0 ? SM_ST_HISTORY_DEEP
		    : SM_ST_HISTORY_SHALLOW;
		xmlFree(t);
	} else
		kind = SM_ST_ATOMIC;
	idx = ld_add_state(L, n, kind, parent, depth);
	if (idx < 0)
		return;
	if (kind == SM_ST_INITIAL || kind == SM_ST_HISTORY_SHALLOW ||
	    kind == SM_ST_HISTORY_DEEP || kind == SM_ST_FINAL)
		return;
	for (c = n->children; c != NULL; c = c->next) {
		if (!is_state_el(c))
			continue;
		if (kind == SM_ST_PARALLEL && (is_el(c, "initial")))
			continue; /* schema error; do not model */
		if (is_el(c, "state") || is_el(c, "parallel") || is_el(c, "final"))
			has_child_states = 1;
		ld_states(L, c, idx, depth + 1);
	}
	if (kind == SM_ST_ATOMIC && has_child_states)
		L->m->states[idx].kind = SM_ST_COMPOUND;
}

static int
ld_id_cmp(const void *a, const void *b)
{
	const struct sm_id_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->state > y->state) - (x->state < y->state);
}

static int
ld_id_known(const struct sm_id_entry *v, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].id, id);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Check for duplicate ids, give anonymous states (and the root) an id no
 * document id collides with, and build the sorted id index. */
static void
ld_ids(struct ld *L)
{
	struct sm_machine *m = L->m;
	struct sm_id_entry *v;
	size_t i, n = 0;

	v = ld_calloc(L, m->nstates, sizeof *v);
	if (v == NULL)
		return;
	for (i = 0; i < m->nstates; i++) {
		if (m->states[i].id == NULL)
			continue;
		if (m->states[i].id[0] == '\0')
			lerr(L, m->states[i].line, "empty id: give the state a name or "
			    "drop the attribute");
		v[n].id = m->states[i].id;
		v[n++].state = (int)i;
	}
	qsort(v, n, sizeof *v, ld_id_cmp);
	for (i = 1; i < n; i++) {
		size_t first = i - 1;

		if (strcmp(v[i].id, v[first].id) != 0)
			continue;
		while (first > 0 && strcmp(v[first - 1].id, v[i].id) == 0)
			first--;
		lerr(L, m->states[v[i].state].line, "duplicate id '%s' (first "
		    "defined at line %d): state ids must be unique", v[i].id,
		    m->states[v[first].state].line);
		L->graph_bad = 1;
	}
	for (i = 0; i < m->nstates; i++) {
		char buf[64];
		int k = 0;

		if (m->states[i].id != NULL)
			continue;
		do {
			if (i == 0)
				snprintf(buf, sizeof buf, k ? "__root_%d" : "__root", k);
			else
				snprintf(buf, sizeof buf, k ? "__s%zu_%d" : "__s%zu", i, k);
			k++;
		} while (ld_id_known(v, n, buf));
		m->states[i].id = ld_strdup(L, buf);
		if (m->states[i].id == NULL) {
			free(v);
			return;
		}
	}
	for (i = 0; i < m->nstates; i++) {
		v[i].id = m->states[i].id;
		v[i].state = (int)i;
	}
	qsort(v, m->nstates, sizeof *v, ld_id_cmp);
	m->by_id = v;
}

/* ------------------------------------------------------------------ */
/* targets                                                              */

static int ld_is_desc(const struct sm_machine *m, int s, int anc);

/* Several targets must be able to be active together: every pair lies in
 * different regions of a <parallel> (their nearest common ancestor is a
 * parallel state, and neither contains the other). */
static void
ld_targets_compatible(struct ld *L, int line, const char *what, const int *v,
    size_t k)
{
	const struct sm_machine *m = L->m;
	size_t i, j;

	/* a quadratic check, so the list is bounded; real lists are short */
	if (k > SM_LOAD_MAX_TARGETS) {
		lerr(L, line, "%zu %ss: at most %d can be named together (one per "
		    "region of a <parallel>)", k, what, SM_LOAD_MAX_TARGETS);
		return;
	}
	for (i = 0; i < k; i++)
		for (j = i + 1; j < k; j++) {
			int a = v[i], lca;

			if (v[i] == v[j] || ld_is_desc(m, v[j], v[i]) ||
			    ld_is_desc(m, v[i], v[j])) {
				lerr(L, line, "%ss '%s' and '%s' overlap: name each state "
				    "once and not together with its ancestor", what,
				    m->states[v[i]].id, m->states[v[j]].id);
				return;
			}
			for (lca = m->states[a].parent; lca >= 0 &&
			    !ld_is_desc(m, v[j], lca); lca = m->states[lca].parent)
				;
			if (lca < 0 || m->states[lca].kind != SM_ST_PARALLEL) {
				lerr(L, line, "%ss '%s' and '%s' cannot be active "
				    "together: several targets must lie in different "
				    "regions of a <parallel>", what, m->states[v[i]].id,
				    m->states[v[j]].id);
				return;
			}
		}
}

/* Resolve a space-separated id list; NULL result and n 0 for none.
 * Missing ids are reported and skipped. */
static int *
ld_targets(struct ld *L, int line, const char *what, const char *list,
    size_t *n)
{
	char **ids;
	size_t cnt, i, k = 0;
	int *v;

	*n = 0;
	ids = ld_split(L, list, &cnt);
	if (ids == NULL)
		return NULL;
	v = ld_calloc(L, cnt, sizeof *v);
	if (v != NULL) {
		for (i = 0; i < cnt; i++) {
			int idx = sm_machine_state_index(L->m, ids[i]);

			if (idx <= 0)
				L->graph_bad = 1;
			if (idx < 0)
				lerr(L, line, "%s '%s' does not exist: use the id of a "
				    "state of this document", what, ids[i]);
			else if (idx == 0)
				lerr(L, line, "%s '%s' names the root: target a state "
				    "inside it", what, ids[i]);
			else if (L->m->states[idx].kind == SM_ST_INITIAL) {
				lerr(L, line, "%s '%s' is an <initial>: target its "
				    "parent state instead", what, ids[i]);
				L->graph_bad = 1;
			}
			else
				v[k++] = idx;
		}
	}
	sm__strv_free(ids);
	if (k == 0) {
		free(v);
		return NULL;
	}
	ld_targets_compatible(L, line, what, v, k);
	*n = k;
	return v;
}

static int
ld_is_desc(const struct sm_machine *m, int s, int anc)
{
	while (s >= 0) {
		s = m->states[s].parent;
		if (s == anc)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* executable content                                                   */

static struct sm_exec *ld_block(struct ld *L, xmlNode *parent);

static int
ld_event_name_ok(const char *s)
{
	/* an event name: no spaces, no '*', no empty token between dots */
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '*' || isspace((unsigned char)*s) || (s[0] == '.' && s[1] == '.'))
			return 0;
	}
	return 1;
}

static void ld_location(
    struct ld *L, int line, const char *el, const char *attr, const char *loc, int write);

static void
ld_param(struct ld *L, xmlNode *c, struct sm_param *p, const char *parent)
{
	p->line = ld_line(c);
	p->name = ld_attr(L, c, "name");
	p->expr_src = ld_attr(L, c, "expr");
	p->location = ld_attr(L, c, "location");
	if (p->expr_src && p->location)
		lerr(L, p->line, "<param> inside <%s> has both expr and location: "
		    "keep one", parent);
	else if (!p->expr_src && !p->location)
		lerr(L, p->line, "<param name=\"%s\"> needs expr or location",
		    p->name ? p->name : "");
	if (p->expr_src)
		p->expr = ld_expr(L, p->line, "param", "expr", p->expr_src, 0);
	if (p->location)
		ld_location(L, p->line, "param", "location", p->location, 0);
}

static void
ld_params(struct ld *L, xmlNode *el, struct sm_param **pv, size_t *pn)
{
	xmlNode *c;

	for (c = el->children; c != NULL; c = c->next) {
		if (!is_el(c, "param"))
			continue;
		if (ld_grow(L, (void **)pv, pn, sizeof **pv) < 0)
			return;
		ld_param(L, c, &(*pv)[*pn - 1], (const char *)el->name);
	}
}

static xmlNode *
ld_child(xmlNode *el, const char *name)
{
	xmlNode *c;

	for (c = el->children; c != NULL; c = c->next)
		if (is_el(c, name))
			return c;
	return NULL;
}

/*
 * Check a location attribute: the task datamodel and a path
 * (docs/expressions.md, Locations).  `write`: it is assigned to
 * (`<assign location>`, `idlocation`, `<foreach item>`): `task` itself is
 * refused, and a system variable is a warning, since SCXML makes the
 * assignment an error at run time (error.execution), not a load error.
 * `<param location>` and namelist entries are read.
 */
static void
ld_location(struct ld *L, int line, const char *el, const char *attr, const char *loc, int write)
{
	struct sm_error err = { 0, "" };
	int rc;

	if (L->m->datamodel == SM_DM_NULL) {
		lerr(L, line, "<%s %s=\"%s\">: locations need datamodel=\"task\"",
		    el, attr, loc);
		return;
	}
	rc = write ? sm_location_check(loc, &err) : sm_location_check_read(loc, &err);
	if (rc == SM_EPERM)
		lwarn(L, line, "<%s %s=\"%s\">: %s (at run time: error.execution)", el, attr, loc,
		    err.msg);
	else if (rc < 0)
		lerr(L, line, "<%s %s=\"%s\">: %s", el, attr, loc, err.msg);
}

static void
ld_namelist(struct ld *L, int line, const char *el, const char *list,
    char ***out)
{
	size_t k, i;

	*out = ld_split(L, list, &k);
	if (L->m->datamodel == SM_DM_NULL) {
		lerr(L, line, "<%s namelist>: needs datamodel=\"task\"", el);
		return;
	}
	for (i = 0; i < k; i++)
		ld_location(L, line, el, "namelist", (*out)[i], 0);
}

int
sm_send_type_ok(const char *type)
{
	return type == NULL || strcmp(type, SM_SCXML_PROCESSOR) == 0 || strcmp(type, "scxml") == 0;
}

int
sm_send_target_ok(const char *t)
{
	return t == NULL || strcmp(t, "#_internal") == 0 || strcmp(t, "#_parent") == 0 ||
	    (strncmp(t, "#_", 2) == 0 && t[2] != '\0');
}

static void
ld_send(struct ld *L, xmlNode *n, struct sm_exec *x)
{
	struct sm_send *s = &x->u.send;
	char *eventexpr, *delay, *delayexpr, *namelist, *targetexpr, *typeexpr;
	xmlNode *content;
	int line = x->line;

	s->event = ld_attr(L, n, "event");
	eventexpr = ld_attr(L, n, "eventexpr");
	s->target = ld_attr(L, n, "target");
	targetexpr = ld_attr(L, n, "targetexpr");
	s->type = ld_attr(L, n, "type");
	typeexpr = ld_attr(L, n, "typeexpr");
	s->id = ld_attr(L, n, "id");
	s->idlocation = ld_attr(L, n, "idlocation");
	delay = ld_attr(L, n, "delay");
	delayexpr = ld_attr(L, n, "delayexpr");
	namelist = ld_attr(L, n, "namelist");
	content = ld_child(n, "content");

	if (s->event && eventexpr)
		lerr(L, line, "<send> has both event and eventexpr: keep one");
	if (!s->event && !eventexpr)
		lerr(L, line, "<send> needs an event (or eventexpr) attribute");
	if (s->event && !ld_event_name_ok(s->event))
		lerr(L, line, "<send event=\"%s\">: not an event name (no spaces, "
		    "no '*', no empty parts between dots)", s->event);
	s->eventexpr = ld_expr(L, line, "send", "eventexpr", eventexpr, 0);
	if (s->id && s->idlocation)
		lerr(L, line, "<send> has both id and idlocation: keep one");
	if (s->idlocation)
		ld_location(L, line, "send", "idlocation", s->idlocation, 1);
	/* SCXML makes a target or type the processor does not support an
	 * error when the send runs (error.execution), not a load error */
	if (s->target && targetexpr)
		lerr(L, line, "<send> has both target and targetexpr: keep one");
	else if (!sm_send_target_ok(s->target))
		lwarn(L, line,
		    "<send target=\"%s\">: unsupported target: use "
		    "\"#_internal\", \"#_parent\", \"#_<invokeid>\" or none "
		    "(this session) (at run time: error.execution)",
		    s->target);
	if (s->type && typeexpr)
		lerr(L, line, "<send> has both type and typeexpr: keep one");
	else if (!sm_send_type_ok(s->type))
		lwarn(L, line,
		    "<send type=\"%s\">: unsupported event processor: "
		    "use \"%s\" or leave type out (at run time: error.execution)",
		    s->type, SM_SCXML_PROCESSOR);
	s->targetexpr = ld_expr(L, line, "send", "targetexpr", targetexpr, 0);
	s->typeexpr = ld_expr(L, line, "send", "typeexpr", typeexpr, 0);
	if (delay && delayexpr)
		lerr(L, line, "<send> has both delay and delayexpr: keep one");
	if (delay && sm_duration_parse(delay, &s->delay_ms) < 0)
		lerr(L, line, "<send delay=\"%s\">: bad duration: " SM_DURATION_HINT, delay);
	if ((delay || delayexpr) && s->target && strcmp(s->target, "#_internal") == 0)
		lerr(L, line, "<send target=\"#_internal\"> cannot be delayed: "
		    "drop the delay or send to this session (no target)");
	s->delayexpr = ld_expr(L, line, "send", "delayexpr", delayexpr, 0);
	if (namelist)
		ld_namelist(L, line, "send", namelist, &s->namelist);
	ld_params(L, n, &s->params, &s->nparams);
	if (content) {
		char *cexpr = ld_attr(L, content, "expr");

		if (s->nparams || namelist)
			lerr(L, line, "<send> with <content> cannot also have "
			    "<param> or namelist");
		if (cexpr) {
			s->content_expr = ld_expr(L, ld_line(content), "content",
			    "expr", cexpr, 0);
			free(cexpr);
		} else {
			xmlChar *t = xmlNodeGetContent(content);

			s->content = ld_strdup(L, t ? (const char *)t : "");
			xmlFree(t);
		}
	}
	free(eventexpr);
	free(delay);
	free(delayexpr);
	free(namelist);
	free(targetexpr);
	free(typeexpr);
}

/* Does `n` hold anything: an element, or text other than blanks? */
static int
ld_has_content(const xmlNode *n)
{
	const xmlNode *c;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return 1;
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
		    c->content != NULL &&
		    strspn((const char *)c->content, " \t\r\n") != strlen((const char *)c->content))
			return 1;
	}
	return 0;
}

/*
 * The value an element's content gives (<assign>): markup (any child
 * element) as a string of the serialized children, text as JSON (an error
 * if it is not JSON).  NULL after a diagnostic.
 */
static json_t *
ld_content_value(struct ld *L, xmlNode *n, const char *what)
{
	const xmlNode *c;
	json_t *v = NULL;

	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			break;
	if (c != NULL) {
		xmlBuffer *xb = xmlBufferCreate();
		const xmlNode *k;

		/* each child copied out of the document first, so that the
		 * namespaces it inherits are declared in the text */
		for (k = n->children; xb != NULL && k != NULL; k = k->next) {
			xmlNode *cp = xmlDocCopyNode((xmlNode *)k, NULL, 1);
			int bad = cp == NULL || xmlNodeDump(xb, NULL, cp, 0, 0) < 0;

			xmlFreeNode(cp);
			if (bad)
				break;
		}
		if (xb != NULL && k == NULL)
			v = json_stringn(
			    (const char *)xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
		xmlBufferFree(xb);
		if (v == NULL)
			ld_oom(L->S);
	} else {
		xmlChar *text = xmlNodeGetContent(n);
		json_error_t je;

		v = json_loads(text ? (const char *)text : "", JSON_DECODE_ANY, &je);
		if (v == NULL)
			lerr(L, ld_line(n),
			    "<%s>: content is not JSON: %s (line %d of the "
			    "content): write JSON, or use expr",
			    what, je.text, je.line);
		xmlFree(text);
	}
	return v;
}

static struct sm_exec *
ld_exec(struct ld *L, xmlNode *n)
{
	struct sm_exec *x;
	char *a;

	if (!is_el(n, "raise") && !is_el(n, "send") && !is_el(n, "cancel") && !is_el(n, "log") &&
	    !is_el(n, "assign") && !is_el(n, "if") && !is_el(n, "foreach"))
		return NULL; /* the schema reports unknown elements */
	x = ld_calloc(L, 1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->line = ld_line(n);
	if (is_el(n, "raise")) {
		x->kind = SM_X_RAISE;
		x->u.raise.event = ld_attr(L, n, "event");
		if (x->u.raise.event == NULL)
			lerr(L, x->line, "<raise> needs an event attribute");
		else if (!ld_event_name_ok(x->u.raise.event))
			lerr(L, x->line, "<raise event=\"%s\">: not an event name (no "
			    "spaces, no '*', no empty parts between dots)",
			    x->u.raise.event);
	} else if (is_el(n, "send")) {
		x->kind = SM_X_SEND;
		ld_send(L, n, x);
	} else if (is_el(n, "cancel")) {
		x->kind = SM_X_CANCEL;
		x->u.cancel.sendid = ld_attr(L, n, "sendid");
		a = ld_attr(L, n, "sendidexpr");
		if (!x->u.cancel.sendid == !a)
			lerr(L, x->line, "<cancel> needs exactly one of sendid and sendidexpr");
		x->u.cancel.sendidexpr = ld_expr(L, x->line, "cancel", "sendidexpr", a, 0);
		free(a);
	} else if (is_el(n, "log")) {
		x->kind = SM_X_LOG;
		x->u.log.label = ld_attr(L, n, "label");
		x->u.log.expr_src = ld_attr(L, n, "expr");
		x->u.log.expr = ld_expr(L, x->line, "log", "expr", x->u.log.expr_src, 0);
	} else if (is_el(n, "assign")) {
		x->kind = SM_X_ASSIGN;
		x->u.assign.location = ld_attr(L, n, "location");
		x->u.assign.expr_src = ld_attr(L, n, "expr");
		if (L->m->datamodel == SM_DM_NULL)
			lerr(L, x->line, "<assign> needs datamodel=\"task\" (the null "
			    "datamodel has no data)");
		else {
			if (x->u.assign.location == NULL)
				lerr(L, x->line, "<assign> needs a location attribute");
			else
				ld_location(
				    L, x->line, "assign", "location", x->u.assign.location, 1);
			if (x->u.assign.expr_src != NULL && ld_has_content(n))
				lerr(L, x->line,
				    "<assign> has both expr and content: "
				    "keep one");
			else if (x->u.assign.expr_src != NULL)
				x->u.assign.expr =
				    ld_expr(L, x->line, "assign", "expr", x->u.assign.expr_src, 0);
			else if (ld_has_content(n))
				x->u.assign.value = ld_content_value(L, n, "assign");
			else
				lerr(L, x->line,
				    "<assign> needs an expr attribute or "
				    "content (the value)");
		}
	} else if (is_el(n, "foreach")) {
		struct sm_error err = { 0, "" };
		const char *loc[2];
		int k;

		x->kind = SM_X_FOREACH;
		x->u.foreach.array_src = ld_attr(L, n, "array");
		x->u.foreach.item = ld_attr(L, n, "item");
		x->u.foreach.index = ld_attr(L, n, "index");
		if (L->m->datamodel == SM_DM_NULL)
			lerr(L, x->line,
			    "<foreach> needs datamodel=\"task\" (the null "
			    "datamodel has no data)");
		else if (x->u.foreach.array_src == NULL || x->u.foreach.item == NULL)
			lerr(L, x->line, "<foreach> needs array and item attributes");
		else
			x->u.foreach.array =
			    ld_expr(L, x->line, "foreach", "array", x->u.foreach.array_src, 0);
		/* item and index name variables: one that is not an assignable
		 * location is an error when the foreach runs (SCXML 4.6) */
		loc[0] = x->u.foreach.item;
		loc[1] = x->u.foreach.index;
		for (k = 0; k < 2 && L->m->datamodel != SM_DM_NULL; k++)
			if (loc[k] != NULL && sm_location_check(loc[k], &err) < 0)
				lwarn(L, x->line,
				    "<foreach %s=\"%s\">: %s (at run time: "
				    "error.execution)",
				    k ? "index" : "item", loc[k], err.msg);
		x->u.foreach.body = ld_block(L, n);
	} else {
		/* <if cond> a <elseif cond/> b <else/> c </if> */
		struct sm_exec *branch = x, **tail;
		xmlNode *c;

		x->kind = SM_X_IF;
		x->u.if_.cond_src = ld_attr(L, n, "cond");
		if (x->u.if_.cond_src == NULL)
			lerr(L, x->line, "<if> needs a cond attribute");
		x->u.if_.cond = ld_expr(L, x->line, "if", "cond", x->u.if_.cond_src, 1);
		tail = &branch->u.if_.body;
		for (c = n->children; c != NULL; c = c->next) {
			if (is_el(c, "elseif") || is_el(c, "else")) {
				struct sm_exec *b = ld_calloc(L, 1, sizeof *b);

				if (b == NULL)
					break;
				b->kind = SM_X_IF;
				b->line = ld_line(c);
				if (branch->u.if_.cond == NULL && branch->u.if_.cond_src == NULL &&
				    branch != x)
					lerr(L, b->line, "<%s> after <else>: <else> must "
					    "come last", (const char *)c->name);
				if (is_el(c, "elseif")) {
					b->u.if_.cond_src = ld_attr(L, c, "cond");
					if (b->u.if_.cond_src == NULL)
						lerr(L, b->line, "<elseif> needs a cond attribute");
					b->u.if_.cond = ld_expr(L, b->line, "elseif", "cond",
					    b->u.if_.cond_src, 1);
				}
				branch->u.if_.next_branch = b;
				branch = b;
				tail = &b->u.if_.body;
				continue;
			}
			if (c->type != XML_ELEMENT_NODE)
				continue;
			*tail = ld_exec(L, c);
			if (*tail != NULL)
				tail = &(*tail)->next;
		}
	}
	return x;
}

static struct sm_exec *
ld_block(struct ld *L, xmlNode *parent)
{
	struct sm_exec *head = NULL, **tail = &head;
	xmlNode *c;

	for (c = parent->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		*tail = ld_exec(L, c);
		if (*tail != NULL)
			tail = &(*tail)->next;
	}
	return head;
}

/* ------------------------------------------------------------------ */
/* transitions                                                          */

static struct sm_transition *
ld_transition(struct ld *L, xmlNode *n, int source)
{
	struct sm_machine *m = L->m;
	struct sm_state *s = &m->states[source];
	struct sm_transition *t;
	char *ev, *target, *type;
	size_t i;

	t = ld_calloc(L, 1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (ld_grow(L, (void **)&m->transitions, &m->ntransitions, sizeof t) < 0) {
		free(t);
		return NULL;
	}
	m->transitions[m->ntransitions - 1] = t;
	t->doc_order = (int)m->ntransitions - 1;
	if (ld_grow(L, (void **)&s->transitions, &s->ntransitions, sizeof t) == 0)
		s->transitions[s->ntransitions - 1] = t;
	t->source = source;
	t->line = ld_line(n);
	ev = ld_attr(L, n, "event");
	t->events = ld_split(L, ev, &t->nevents);
	if (ev != NULL && t->nevents == 0)
		lerr(L, t->line, "<transition event=\"\">: empty event list: drop "
		    "the attribute for an eventless transition");
	for (i = 0; i < t->nevents; i++) {
		const char *e = t->events[i];
		size_t len = strlen(e);
		int bad = 0;

		if (strcmp(e, "*") == 0)
			continue;
		if (strcmp(e, ".*") == 0) {
			/* the W3C tests write it: the empty prefix, every event */
			lwarn(L, t->line,
			    "event descriptor '.*' matches every event: "
			    "write '*'");
			t->events[i][0] = '*';
			t->events[i][1] = '\0';
			continue;
		}
		if (len >= 2 && strcmp(e + len - 2, ".*") == 0)
			len -= 2;
		else if (len >= 1 && e[len - 1] == '.')
			len -= 1;  /* "foo." means "foo" */
		if (len == 0 || e[0] == '.')
			bad = 1;
		for (size_t k = 0; k < len && !bad; k++)
			if (e[k] == '*' || (e[k] == '.' && k + 1 < len && e[k + 1] == '.'))
				bad = 1;
		if (bad)
			lerr(L, t->line, "bad event descriptor '%s': use names like "
			    "\"foo\", \"foo.bar\", \"foo.*\" or \"*\"", e);
	}
	free(ev);
	t->cond_src = ld_attr(L, n, "cond");
	t->cond = ld_expr(L, t->line, "transition", "cond", t->cond_src, 1);
	target = ld_attr(L, n, "target");
	t->targets = ld_targets(L, t->line, "transition target", target, &t->ntargets);
	free(target);
	type = ld_attr(L, n, "type");
	if (type && strcmp(type, "internal") == 0)
		t->internal = 1;
	free(type);
	t->body = ld_block(L, n);
	return t;
}

/* ------------------------------------------------------------------ */
/* invoke                                                               */

static int ld_load_doc(struct ld_shared *S, const char *buf, size_t len,
    const char *name, const char *base_dir, int invoke_depth,
    struct sm_machine **out);
static int ld_build(struct ld *L, xmlNode *root, struct sm_machine *m);

int
sm_invoke_type_scxml(const char *t)
{
	static const char *const ok[] = {
		"http://www.w3.org/TR/scxml/", "http://www.w3.org/TR/scxml",
		"scxml", SM_SCXML_PROCESSOR,
		NULL
	};
	int i;

	for (i = 0; ok[i] != NULL; i++)
		if (strcmp(t, ok[i]) == 0)
			return 1;
	return 0;
}

/* Read a whole file, refusing it unread when larger than max.  On
 * failure returns a negative SM_E* code and says why in `why`. */
static int
ld_read_file(const char *path, size_t max, char **buf, size_t *len,
    char *why, size_t whylen)
{
	struct stat st;
	int fd, rc = 0;
	size_t got = 0;
	char *b = NULL;

	/* O_NONBLOCK: opening a FIFO (or a device) must not hang the loader;
	 * it has no effect on the reads of a regular file */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = sm_error_from_errno(errno);
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file: name a machine file");
		rc = SM_EIO;
		goto out;
	}
	if ((uint64_t)st.st_size > (uint64_t)max) {
		snprintf(why, whylen, "file is %lld bytes, over the limit of %zu: "
		    "machine files must be small", (long long)st.st_size, max);
		rc = SM_ETOOBIG;
		goto out;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		rc = SM_ENOMEM;
		goto out;
	}
	while (got <= max) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = sm_error_from_errno(errno);
			snprintf(why, whylen, "read failed: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == (size_t)st.st_size + 1) { /* grew while we read */
			snprintf(why, whylen, "file changed while being read");
			rc = SM_EIO;
			goto out;
		}
	}
	*buf = b;
	*len = got;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

/*
 * The path of a file a document names (`<invoke src>`, `<data src>`):
 * "file:x" or "x", relative to the document's directory, without '..'
 * components, not absolute, not a URL.  A new string, or NULL after a
 * diagnostic.
 */
static char *
ld_rel_path(struct ld *L, int line, const char *el, const char *src)
{
	const char *rel = src;
	char *path = NULL;

	if (strncmp(rel, "file:", 5) == 0)
		rel += 5;
	if (rel[0] == '\0' || rel[0] == '/' || strstr(rel, "://") != NULL) {
		lerr(L, line,
		    "<%s src=\"%s\">: only paths relative to this file are "
		    "allowed (\"file:name\" or \"name\")",
		    el, src);
		return NULL;
	}
	for (const char *p = rel; *p; ) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			lerr(L, line,
			    "<%s src=\"%s\">: '..' is not allowed: keep the "
			    "files a machine names beside or below it",
			    el, src);
			return NULL;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (L->base_dir == NULL) {
		lerr(L, line,
		    "<%s src=\"%s\">: this document was loaded from memory "
		    "without a base directory, so the files it names cannot be found",
		    el, src);
		return NULL;
	}
	if (asprintf(&path, "%s/%s", L->base_dir, rel) < 0) {
		ld_oom(L->S);
		return NULL;
	}
	return path;
}

static void
ld_invoke_src(struct ld *L, struct sm_invoke *iv, const char *src)
{
	char *path = NULL, why[512];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((path = ld_rel_path(L, iv->line, "invoke", src)) == NULL)
		return;
	if (L->invoke_depth + 1 > SM_LOAD_MAX_INVOKE_DEPTH) {
		lerr(L, iv->line, "<invoke src=\"%s\">: child documents nested deeper "
		    "than %d (recursive src?)", src, SM_LOAD_MAX_INVOKE_DEPTH);
		free(path);
		return;
	}
	if (L->S->ndocs >= SM_LOAD_MAX_DOCUMENTS) {
		lerr(L, iv->line, "<invoke src=\"%s\">: more than %d documents in "
		    "one machine (child machines included): invoke fewer files",
		    src, SM_LOAD_MAX_DOCUMENTS);
		free(path);
		return;
	}
	free(iv->src);
	iv->src = path;
	rc = ld_read_file(path, L->S->opt.max_bytes, &buf, &len, why, sizeof why);
	if (rc < 0) {
		ld_diag(L->S, L->file, iv->line, rc, "<invoke src=\"%s\">: %s: %s",
		    src, path, why);
		return;
	}
	if (L->S->total_bytes + len > SM_LOAD_MAX_TOTAL_FACTOR * L->S->opt.max_bytes) {
		ld_diag(L->S, L->file, iv->line, SM_ETOOBIG, "<invoke src=\"%s\">: "
		    "the machine and its child documents exceed %d times the size "
		    "limit together", src, SM_LOAD_MAX_TOTAL_FACTOR);
		free(buf);
		return;
	}
	{
		char *dir = strdup(path), *slash;

		if (dir == NULL) {
			ld_oom(L->S);
			free(buf);
			return;
		}
		slash = strrchr(dir, '/');
		*slash = '\0';
		ld_load_doc(L->S, buf, len, path, dir, L->invoke_depth + 1, &iv->child);
		free(dir);
	}
	free(buf);
}

static void
ld_invoke_content(struct ld *L, struct sm_invoke *iv, xmlNode *content)
{
	xmlNode *c, *root = NULL;
	struct ld C;
	struct sm_machine *m;
	xmlBuffer *xb;
	int n = 0;

	for (c = content->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE) {
			root = c;
			n++;
		}
	if (n != 1 || !is_el(root, "scxml")) {
		lerr(L, ld_line(content), "<invoke><content> must hold exactly one "
		    "<scxml> element (the child machine)");
		return;
	}
	if (L->invoke_depth + 1 > SM_LOAD_MAX_INVOKE_DEPTH) {
		lerr(L, iv->line, "<invoke>: child machines nested deeper than %d",
		    SM_LOAD_MAX_INVOKE_DEPTH);
		return;
	}
	if (L->S->ndocs >= SM_LOAD_MAX_DOCUMENTS) {
		lerr(L, iv->line, "<invoke>: more than %d documents in one machine "
		    "(child machines included)", SM_LOAD_MAX_DOCUMENTS);
		return;
	}
	L->S->ndocs++;
	m = ld_calloc(L, 1, sizeof *m);
	if (m == NULL)
		return;
	xb = xmlBufferCreate();
	if (xb == NULL || xmlNodeDump(xb, root->doc, root, 0, 0) < 0) {
		xmlBufferFree(xb);
		free(m);
		ld_oom(L->S);
		return;
	}
	m->doc_len = (size_t)xmlBufferLength(xb);
	m->doc = malloc(m->doc_len + 1);
	if (m->doc == NULL) {
		xmlBufferFree(xb);
		free(m);
		ld_oom(L->S);
		return;
	}
	memcpy(m->doc, xmlBufferContent(xb), m->doc_len);
	m->doc[m->doc_len] = '\0';
	xmlBufferFree(xb);
	memset(&C, 0, sizeof C);
	C.S = L->S;
	C.file = L->file;
	C.base_dir = L->base_dir;
	C.invoke_depth = L->invoke_depth + 1;
	m->path = ld_strdup(L, L->file);
	m->base_dir = ld_strdup(L, L->base_dir);
	ld_build(&C, root, m);
	iv->child = m;
}

/* Digits, and with `frac` an optional fraction ("2", "1.5"): no sign,
 * blanks, exponent or hex, which strtol/strtod would take. */
static int
ld_plain_number(const char *v, int frac)
{
	const char *p = v;

	while (isdigit((unsigned char)*p))
		p++;
	if (p == v)
		return 0;
	if (frac && *p == '.') {
		const char *q = ++p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == q)
			return 0;
	}
	return *p == '\0';
}

static void
ld_retry(struct ld *L, xmlNode *n, struct sm_invoke *iv, int is_action)
{
	static const char *const names[] = {
		"attempts", "backoff", "delay", "max-delay", "jitter", "retry-on", NULL
	};
	struct sm_retry *r = &iv->retry;
	char *v;
	int i, any = 0;

	r->max_attempts = 1;
	r->initial_delay_ms = 1000;
	r->backoff_rate = 2.0;
	r->max_delay_ms = 60000;
	r->jitter = 1;
	for (i = 0; names[i]; i++)
		if (xmlHasNsProp(n, (const xmlChar *)names[i], (const xmlChar *)SM_NS_SMD))
			any = 1;
	if (!any)
		return;
	if (!is_action) {
		lerr(L, iv->line, "retry attributes (sm:attempts, ...) apply only to "
		    "action invokes (type=\"%s\")", SM_NS_SMD);
		return;
	}
	if ((v = ld_attr_ns(L, n, "attempts")) != NULL) {
		char *end;
		long a;

		errno = 0;
		a = strtol(v, &end, 10);
		if (!ld_plain_number(v, 0) || errno || end == v || *end || a < 1 ||
		    a > SM_LOAD_MAX_ATTEMPTS)
			lerr(L, iv->line, "sm:attempts=\"%s\": want a whole number from 1 "
			    "to %d (total attempts)", v, SM_LOAD_MAX_ATTEMPTS);
		else
			r->max_attempts = (int)a;
		free(v);
	}
	if ((v = ld_attr_ns(L, n, "backoff")) != NULL) {
		char *end;
		double b;

		errno = 0;
		b = strtod(v, &end);
		if (!ld_plain_number(v, 1) || errno || end == v || *end ||
		    !(b >= 1.0 && b <= 100.0))
			lerr(L, iv->line, "sm:backoff=\"%s\": want a number from 1.0 to "
			    "100 (delay multiplier per attempt)", v);
		else
			r->backoff_rate = b;
		free(v);
	}
	if ((v = ld_attr_ns(L, n, "delay")) != NULL) {
		if (sm_duration_parse(v, &r->initial_delay_ms) < 0)
			lerr(L, iv->line, "sm:delay=\"%s\": bad duration: " SM_DURATION_HINT, v);
		free(v);
	}
	if ((v = ld_attr_ns(L, n, "max-delay")) != NULL) {
		if (sm_duration_parse(v, &r->max_delay_ms) < 0)
			lerr(L, iv->line, "sm:max-delay=\"%s\": bad duration: " SM_DURATION_HINT,
			    v);
		free(v);
	}
	if (r->max_delay_ms < r->initial_delay_ms)
		lerr(L, iv->line, "sm:max-delay is shorter than sm:delay: raise it");
	if ((v = ld_attr_ns(L, n, "jitter")) != NULL) {
		if (strcmp(v, "full") == 0)
			r->jitter = 1;
		else if (strcmp(v, "none") == 0)
			r->jitter = 0;
		else
			lerr(L, iv->line, "sm:jitter=\"%s\": use \"full\" or \"none\"", v);
		free(v);
	}
	if ((v = ld_attr_ns(L, n, "retry-on")) != NULL) {
		size_t k, j;

		r->errors = ld_split(L, v, &k);
		if (k == 0)
			lerr(L, iv->line, "sm:retry-on is empty: list error event names "
			    "(e.g. \"error.timeout error.io\") or drop it");
		for (j = 0; j < k; j++)
			if (!ld_event_name_ok(r->errors[j]))
				lerr(L, iv->line, "sm:retry-on: '%s' is not an event "
				    "name: list names like error.timeout or error.io",
				    r->errors[j]);
		free(v);
	}
}

static void
ld_invoke(struct ld *L, xmlNode *n, int state)
{
	struct sm_state *s = &L->m->states[state];
	struct sm_invoke *iv;
	char *type, *src, *af, *namelist, *srcexpr, *cexpr = NULL;
	xmlNode *content, *fin;
	int is_action;

	if (ld_grow(L, (void **)&s->invokes, &s->ninvokes, sizeof *iv) < 0)
		return;
	iv = &s->invokes[s->ninvokes - 1];
	iv->line = ld_line(n);
	type = ld_attr(L, n, "type");
	src = ld_attr(L, n, "src");
	iv->id = ld_attr(L, n, "id");
	iv->idlocation = ld_attr(L, n, "idlocation");
	content = ld_child(n, "content");
	srcexpr = ld_attr(L, n, "srcexpr");
	if (content)
		cexpr = ld_attr(L, content, "expr");
	is_action = type != NULL && strcmp(type, SM_NS_SMD) == 0;
	if (ld_has_attr(n, "typeexpr")) {
		char *te = ld_attr(L, n, "typeexpr");

		/* a child machine whose type is checked when it starts */
		if (type)
			lerr(L, iv->line, "<invoke> has both type and typeexpr: keep one");
		else
			iv->typeexpr = ld_expr(L, iv->line, "invoke", "typeexpr", te, 0);
		free(te);
	}
	if (iv->id && iv->idlocation)
		lerr(L, iv->line, "<invoke> has both id and idlocation: keep one");
	if (iv->idlocation)
		ld_location(L, iv->line, "invoke", "idlocation", iv->idlocation, 1);
	if (iv->id && !ld_event_name_ok(iv->id))
		lerr(L, iv->line, "<invoke id=\"%s\">: ids become part of event names "
		    "(done.invoke.<id>): no spaces or '*'", iv->id);
	if (is_action) {
		iv->kind = SM_INV_ACTION;
		iv->src = src;
		src = NULL;
		if (iv->src == NULL || iv->src[0] == '\0')
			lerr(L, iv->line, "<invoke type=\"%s\"> needs src=\"action_name\"",
			    SM_NS_SMD);
		else if (L->S->opt.action_known &&
		    !L->S->opt.action_known(L->S->opt.action_arg, iv->src))
			lerr(L, iv->line, "<invoke src=\"%s\">: no action of that name "
			    "is registered: check the spelling or register it", iv->src);
		if (content || srcexpr)
			lerr(L, iv->line,
			    "<invoke> of an action cannot have <content> or "
			    "srcexpr: name the action with src");
	} else {
		iv->kind = SM_INV_SCXML;
		if (type && !sm_invoke_type_scxml(type))
			lerr(L, iv->line, "<invoke type=\"%s\">: unsupported type: use "
			    "\"http://www.w3.org/TR/scxml/\" for a child machine or \"%s\" "
			    "for an action", type, SM_NS_SMD);
		else if (!!src + !!srcexpr + !!content > 1)
			lerr(L, iv->line,
			    "<invoke> names its child more than once (src, "
			    "srcexpr, <content>): keep one");
		else if (!src && !srcexpr && !content)
			lerr(L, iv->line, "<invoke> needs src=\"file:child.scxml\" or "
			    "<content><scxml>...</scxml></content>");
		else if (srcexpr)
			/* the child is loaded when the invocation starts */
			iv->srcexpr = ld_expr(L, iv->line, "invoke", "srcexpr", srcexpr, 0);
		else if (content && cexpr) {
			if (ld_has_content(content))
				lerr(L, ld_line(content),
				    "<invoke><content> has both expr "
				    "and a child: keep one");
			iv->content_expr =
			    ld_expr(L, ld_line(content), "content", "expr", cexpr, 0);
		} else if (src) {
			iv->src = ld_strdup(L, src);
			if (iv->src)
				ld_invoke_src(L, iv, src);
		} else
			ld_invoke_content(L, iv, content);
	}
	free(srcexpr);
	free(cexpr);
	ld_retry(L, n, iv, is_action);
	af = ld_attr(L, n, "autoforward");
	iv->autoforward = af && strcmp(af, "true") == 0;
	free(af);
	namelist = ld_attr(L, n, "namelist");
	if (namelist) {
		ld_namelist(L, iv->line, "invoke", namelist, &iv->namelist);
		free(namelist);
	}
	ld_params(L, n, &iv->params, &iv->nparams);
	fin = ld_child(n, "finalize");
	if (fin)
		iv->finalize = ld_block(L, fin);
	free(type);
	free(src);
}

/* ------------------------------------------------------------------ */
/* data                                                                 */

/* The value of <data src="file:x">: the file's JSON, read when the machine
 * is loaded (as a child document is, and counted with them).  NULL after a
 * diagnostic. */
static json_t *
ld_data_src(struct ld *L, xmlNode *c, const struct sm_param *p)
{
	char *src = ld_attr(L, c, "src"), *path, *buf = NULL, why[512];
	size_t len = 0;
	json_t *v = NULL;
	json_error_t je;
	int rc;

	if (src == NULL || (path = ld_rel_path(L, p->line, "data", src)) == NULL) {
		free(src);
		return NULL;
	}
	rc = ld_read_file(path, L->S->opt.max_bytes, &buf, &len, why, sizeof why);
	if (rc < 0)
		ld_diag(L->S, L->file, p->line, rc, "<data src=\"%s\">: %s: %s", src, path, why);
	else if (L->S->total_bytes + len > SM_LOAD_MAX_TOTAL_FACTOR * L->S->opt.max_bytes)
		ld_diag(L->S, L->file, p->line, SM_ETOOBIG,
		    "<data src=\"%s\">: the "
		    "machine and the files it names exceed %d times the size limit "
		    "together",
		    src, SM_LOAD_MAX_TOTAL_FACTOR);
	else {
		L->S->total_bytes += len;
		v = json_loadb(buf, len, JSON_DECODE_ANY, &je);
		if (v == NULL)
			lerr(L, p->line, "<data src=\"%s\">: %s is not JSON: %s (line %d)", src,
			    path, je.text, je.line);
	}
	free(buf);
	free(path);
	free(src);
	return v;
}

static void
ld_data(struct ld *L, xmlNode *dm, int state)
{
	struct sm_machine *m = L->m;
	xmlNode *c;

	if (m->datamodel == SM_DM_NULL) {
		lerr(L, ld_line(dm), "<datamodel> needs datamodel=\"task\" on <scxml> "
		    "(the null datamodel has no data)");
		return;
	}
	for (c = dm->children; c != NULL; c = c->next) {
		struct sm_param *p;
		json_t *v = NULL;
		xmlChar *text;

		if (!is_el(c, "data"))
			continue;
		if (ld_grow(L, (void **)&m->data_decls, &m->ndata_decls, sizeof *p) < 0)
			return;
		p = &m->data_decls[m->ndata_decls - 1];
		p->line = ld_line(c);
		p->state = state;
		p->name = ld_attr(L, c, "id");
		p->expr_src = ld_attr(L, c, "expr");
		if (p->name == NULL) {
			lerr(L, p->line, "<data> needs an id attribute");
			continue;
		}
		if (strcmp(p->name, "task") == 0 || sm_system_var(p->name) ||
		    !(isalpha((unsigned char)p->name[0]) || p->name[0] == '_')) {
			lerr(L, p->line,
			    "<data id=\"%s\">: not a usable name (must be "
			    "an identifier other than 'task' and the system variables "
			    "_event, _sessionid, _name, _ioprocessors)",
			    p->name);
			continue;
		}
		if (json_object_get(m->data, p->name) != NULL)
			lerr(L, p->line,
			    "<data id=\"%s\"> declared twice: all <data> "
			    "share one scope, rename or drop one",
			    p->name);
		text = xmlNodeGetContent(c);
		if (ld_has_attr(c, "src")) {
			v = ld_data_src(L, c, p);
			if (p->expr_src ||
			    (text && strspn((char *)text, " \t\r\n") != strlen((char *)text)))
				lerr(L, p->line,
				    "<data id=\"%s\"> has src and also expr or "
				    "content: keep one",
				    p->name);
		} else if (p->expr_src) {
			if (text && strspn((char *)text, " \t\r\n") != strlen((char *)text))
				lerr(L, p->line, "<data id=\"%s\"> has both expr and "
				    "content: keep one", p->name);
			p->expr = ld_expr(L, p->line, "data", "expr", p->expr_src, 0);
			v = json_null();
		} else if (text && strspn((char *)text, " \t\r\n") != strlen((char *)text)) {
			json_error_t je;

			v = json_loads((char *)text, JSON_DECODE_ANY, &je);
			if (v == NULL)
				lerr(L, p->line, "<data id=\"%s\">: content is not JSON: %s "
				    "(line %d of the content)", p->name, je.text, je.line);
		} else
			v = json_null();
		xmlFree(text);
		if (v != NULL && json_object_set_new(m->data, p->name, v) < 0)
			ld_oom(L->S);
	}
}

static void
ld_donedata(struct ld *L, xmlNode *dd, struct sm_state *s)
{
	xmlNode *content = ld_child(dd, "content");

	ld_params(L, dd, &s->done_params, &s->ndone_params);
	if (content) {
		char *cexpr = ld_attr(L, content, "expr");

		if (s->ndone_params)
			lerr(L, ld_line(dd), "<donedata> has both <content> and "
			    "<param>: keep one");
		if (cexpr) {
			s->done_content_expr = ld_expr(L, ld_line(content), "content",
			    "expr", cexpr, 0);
			free(cexpr);
		} else {
			xmlChar *t = xmlNodeGetContent(content);
			const char *txt = t ? (const char *)t : "";

			s->donedata = json_loads(txt, JSON_DECODE_ANY, NULL);
			if (s->donedata == NULL)
				s->donedata = json_string(txt);
			if (s->donedata == NULL)
				ld_oom(L->S);
			xmlFree(t);
		}
	}
}

/* ------------------------------------------------------------------ */
/* pass 2                                                               */

static void
ld_fill(struct ld *L, xmlNode *n)
{
	struct sm_machine *m = L->m;
	int idx = L->walk++;
	struct sm_state *s;
	xmlNode *c;
	int ninit_el = 0;
	char *init;

	if (L->S->oom || idx >= (int)m->nstates)
		return;
	s = &m->states[idx];
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_el(c, "transition")) {
			if (s->kind == SM_ST_FINAL)
				continue; /* schema reports it */
			ld_transition(L, c, idx);
		} else if (is_el(c, "onentry") || is_el(c, "onexit")) {
			struct sm_exec ***arr = is_el(c, "onentry") ? &s->onentry : &s->onexit;
			size_t *cnt = is_el(c, "onentry") ? &s->nonentry : &s->nonexit;

			if (ld_grow(L, (void **)arr, cnt, sizeof(struct sm_exec *)) == 0)
				(*arr)[*cnt - 1] = ld_block(L, c);
		} else if (is_el(c, "invoke")) {
			if (s->kind == SM_ST_ATOMIC || s->kind == SM_ST_COMPOUND ||
			    s->kind == SM_ST_PARALLEL)
				ld_invoke(L, c, idx);
		} else if (is_el(c, "datamodel")) {
			ld_data(L, c, idx);
		} else if (is_el(c, "donedata")) {
			if (s->kind == SM_ST_FINAL)
				ld_donedata(L, c, s);
		} else if (is_state_el(c)) {
			if (s->kind == SM_ST_INITIAL || s->kind == SM_ST_FINAL ||
			    s->kind == SM_ST_HISTORY_SHALLOW || s->kind == SM_ST_HISTORY_DEEP)
				continue;
			if (s->kind == SM_ST_PARALLEL && is_el(c, "initial"))
				continue;
			if (is_el(c, "initial")) {
				ninit_el++;
				if (ninit_el == 1)
					s->initial = L->walk;
				else
					lerr(L, ld_line(c), "more than one <initial> in state "
					    "'%s': keep one", s->id);
			}
			ld_fill(L, c);
		}
	}

	/* initial state(s) */
	init = s->kind == SM_ST_FINAL || s->kind == SM_ST_INITIAL ||
	    s->kind == SM_ST_HISTORY_SHALLOW || s->kind == SM_ST_HISTORY_DEEP
	    ? NULL : ld_attr(L, n, "initial");
	if (init) {
		if (s->kind == SM_ST_ATOMIC)
			lerr(L, s->line, "state '%s' has initial=\"%s\" but no child "
			    "states: drop the attribute", s->id, init);
		else if (s->kind == SM_ST_PARALLEL)
			lerr(L, s->line, "<parallel> cannot have an initial attribute: "
			    "all its regions start at once, drop it");
		else if (s->initial >= 0)
			lerr(L, s->line, "state '%s' has both an initial attribute and an "
			    "<initial> element: keep one", s->id);
		else {
			size_t i;

			s->initial_targets = ld_targets(L, s->line, "initial state", init,
			    &s->ninitial_targets);
			for (i = 0; i < s->ninitial_targets; i++)
				if (!ld_is_desc(m, s->initial_targets[i], idx))
					lerr(L, s->line, "initial state '%s' is not inside "
					    "'%s': an initial state must be a descendant",
					    m->states[s->initial_targets[i]].id, s->id);
		}
		free(init);
	}
	if ((s->kind == SM_ST_COMPOUND || s->kind == SM_ST_ROOT) &&
	    s->initial < 0 && s->initial_targets == NULL) {
		size_t i;

		for (i = 0; i < s->nchildren; i++) {
			enum sm_state_kind k = m->states[s->children[i]].kind;

			if (k == SM_ST_ATOMIC || k == SM_ST_COMPOUND ||
			    k == SM_ST_PARALLEL || k == SM_ST_FINAL) {
				s->initial_targets = ld_calloc(L, 1, sizeof(int));
				if (s->initial_targets) {
					s->initial_targets[0] = s->children[i];
					s->ninitial_targets = 1;
				}
				break;
			}
		}
		if (s->ninitial_targets == 0 && s->kind == SM_ST_ROOT)
			lerr(L, s->line, "<scxml> has no states: add at least one "
			    "<state> or <final>");
	}

	/* pseudo-states: exactly one default transition, inside the parent */
	if (s->kind == SM_ST_INITIAL || s->kind == SM_ST_HISTORY_SHALLOW ||
	    s->kind == SM_ST_HISTORY_DEEP) {
		struct sm_state *p = &m->states[s->parent];
		int childless = 0;
		char who[512];

		/* an <initial> usually has no id of its own: name its parent */
		if (s->kind == SM_ST_INITIAL)
			snprintf(who, sizeof who, "the <initial> of '%.200s'", p->id);
		else
			snprintf(who, sizeof who, "<history> '%.200s'", s->id);
		if (s->kind != SM_ST_INITIAL && p->kind != SM_ST_COMPOUND &&
		    p->kind != SM_ST_PARALLEL && p->kind != SM_ST_ROOT) {
			lerr(L, s->line, "<history> '%s' is in a state without child "
			    "states: it has nothing to remember", s->id);
			childless = 1;
		}
		if (s->kind == SM_ST_INITIAL && p->kind != SM_ST_COMPOUND) {
			lerr(L, s->line, "<initial> in state '%s', which has no child "
			    "states: drop it", p->id);
			L->graph_bad = 1;
			childless = 1;
		}
		if (s->ntransitions != 1) {
			lerr(L, s->line, "%s must have exactly one <transition> "
			    "(its default), it has %zu", who, s->ntransitions);
			L->graph_bad = 1;
		}
		if (s->ntransitions >= 1) {
			struct sm_transition *t = s->transitions[0];
			size_t i;

			if (t->events != NULL || t->cond_src != NULL)
				lerr(L, t->line, "the transition of %s cannot have "
				    "event or cond: a default transition is always "
				    "taken, drop them", who);
			if (t->ntargets == 0 && !childless)
				lerr(L, t->line, "the transition of %s needs a "
				    "target: name the state(s) to enter", who);
			for (i = 0; i < t->ntargets && !childless; i++)
				if (!ld_is_desc(m, t->targets[i], s->parent))
					lerr(L, t->line, "%s: default target '%s' is not "
					    "inside '%s': name a state within it", who,
					    m->states[t->targets[i]].id, p->id);
		}
	}
}

/* ------------------------------------------------------------------ */
/* static checks                                                        */

/* Mark what entering state t enters: t, its ancestors and its default
 * descendants. */
static void
ld_mark_enter(const struct sm_machine *m, char *seen, int t, int depth)
{
	const struct sm_state *s = &m->states[t];
	size_t i;
	int a;

	if (depth > 1000 || seen[t])
		return;
	seen[t] = 1;
	for (a = s->parent; a >= 0 && !seen[a]; a = m->states[a].parent)
		seen[a] = 1;
	switch (s->kind) {
	case SM_ST_ROOT:
	case SM_ST_COMPOUND:
		if (s->initial >= 0)
			ld_mark_enter(m, seen, s->initial, depth + 1);
		for (i = 0; i < s->ninitial_targets; i++)
			ld_mark_enter(m, seen, s->initial_targets[i], depth + 1);
		break;
	case SM_ST_PARALLEL:
		for (i = 0; i < s->nchildren; i++) {
			enum sm_state_kind k = m->states[s->children[i]].kind;

			if (k != SM_ST_HISTORY_SHALLOW && k != SM_ST_HISTORY_DEEP &&
			    k != SM_ST_INITIAL)
				ld_mark_enter(m, seen, s->children[i], depth + 1);
		}
		break;
	case SM_ST_INITIAL:
	case SM_ST_HISTORY_SHALLOW:
	case SM_ST_HISTORY_DEEP:
		if (s->ntransitions > 0)
			for (i = 0; i < s->transitions[0]->ntargets; i++)
				ld_mark_enter(m, seen, s->transitions[0]->targets[i], depth + 1);
		break;
	default:
		break;
	}
}

/* States that some run can enter (conditions and events ignored);
 * a state that cannot is a warning (the W3C tests have such states). */
static char *
ld_reachable(struct ld *L)
{
	const struct sm_machine *m = L->m;
	size_t n = m->nstates, i, j, k;
	char *seen = ld_calloc(L, n, 1), *done;
	int changed = 1;

	done = ld_calloc(L, n, 1);
	if (seen == NULL || done == NULL) {
		free(seen);
		free(done);
		return NULL;
	}
	ld_mark_enter(m, seen, 0, 0);
	while (changed) {
		changed = 0;
		for (i = 0; i < n; i++) {
			const struct sm_state *s = &m->states[i];

			if (!seen[i] || done[i])
				continue;
			done[i] = 1;
			changed = 1;
			for (j = 0; j < s->ntransitions; j++)
				for (k = 0; k < s->transitions[j]->ntargets; k++)
					ld_mark_enter(m, seen, s->transitions[j]->targets[k], 0);
		}
	}
	free(done);
	for (i = 1; i < n; i++) {
		const struct sm_state *s = &m->states[i];

		if (!seen[i] && seen[s->parent] && s->kind != SM_ST_HISTORY_SHALLOW &&
		    s->kind != SM_ST_HISTORY_DEEP && s->kind != SM_ST_INITIAL)
			lwarn(L, s->line, "state '%s' is never entered: no transition or "
			    "initial leads to it", s->id);
	}
	return seen;
}

/*
 * Every atomic state (and every final that is not a goal) that can be
 * entered must be able to reach a goal: the top-level <final> states, or,
 * when the document has none at top level, any <final>.  While an atomic
 * state is active, the transitions of its ancestors are enabled too
 * (done.state.* lands there), and inside a <parallel> the other regions
 * are active as well, so a state may leave through them.  This
 * over-approximates what can happen at run time (conditions and events
 * are ignored), so it never refuses a machine that can finish, and it
 * catches states that are dead ends.
 *
 * It is a backward search over an AND-free graph of facts per state,
 * linear in the size of the machine:
 *   A[s] "while s is active, a goal is reachable"
 *   E[s] "entering s (with its default descendants) can reach a goal"
 *   B[s] "a transition of s itself leads to a goal"
 *   C[s] "a transition of s or of an ancestor leads to a goal"
 *   D[s] "a region beside s or beside an ancestor can reach a goal"
 */
enum { F_A, F_E, F_B, F_C, F_D, F_N };

struct ld_fin {
	const struct sm_machine *m;
	size_t n;
	char *f[F_N];
	int *queue;
	size_t qhead, qtail;
	int *pcount, *pfirst;   /* per parallel: children with E, the first */
	size_t *rev_off;        /* CSR: for each target, the sources */
	int *rev;
};

static void
fin_set(struct ld_fin *F, int fact, int s)
{
	if (s < 0 || F->f[fact][s])
		return;
	F->f[fact][s] = 1;
	F->queue[F->qtail++] = fact * (int)F->n + s;
}

static int
fin_pseudo(enum sm_state_kind k)
{
	return k == SM_ST_INITIAL || k == SM_ST_HISTORY_SHALLOW || k == SM_ST_HISTORY_DEEP;
}

static void
fin_entered(struct ld_fin *F, int t)
{
	const struct sm_machine *m = F->m;
	const struct sm_state *ts = &m->states[t];
	int p = ts->parent;
	size_t i;

	if (ts->kind == SM_ST_ATOMIC || ts->kind == SM_ST_FINAL)
		fin_set(F, F_A, t);
	/* transitions (and pseudo-state defaults) that target t */
	for (i = F->rev_off[t]; i < F->rev_off[t + 1]; i++) {
		int src = F->rev[i];

		fin_set(F, fin_pseudo(m->states[src].kind) ? F_E : F_B, src);
	}
	if (p < 0)
		return;
	{
		const struct sm_state *ps = &m->states[p];

		if (ps->kind == SM_ST_COMPOUND || ps->kind == SM_ST_ROOT) {
			if (ps->initial == t)
				fin_set(F, F_E, p);
			for (i = 0; i < ps->ninitial_targets; i++)
				if (ps->initial_targets[i] == t)
					fin_set(F, F_E, p);
		}
		if (fin_pseudo(ts->kind))
			return;
		/* a history restores any configuration seen before */
		for (i = 0; i < ps->nchildren; i++)
			if (m->states[ps->children[i]].kind == SM_ST_HISTORY_SHALLOW ||
			    m->states[ps->children[i]].kind == SM_ST_HISTORY_DEEP)
				fin_set(F, F_E, ps->children[i]);
		if (ps->kind == SM_ST_PARALLEL) {
			fin_set(F, F_E, p);
			if (++F->pcount[p] == 1) {
				F->pfirst[p] = t;
				for (i = 0; i < ps->nchildren; i++)
					if (ps->children[i] != t)
						fin_set(F, F_D, ps->children[i]);
			} else if (F->pcount[p] == 2)
				fin_set(F, F_D, F->pfirst[p]);
		}
	}
}

static void
ld_check_finals(struct ld *L)
{
	const struct sm_machine *m = L->m;
	struct ld_fin F;
	size_t n = m->nstates, i, j, k, nedges = 0;
	char *seen;
	int top = 0, any = 0;
	/* SCXML allows a machine that never ends (a warning); the daemon's
	 * tasks must end (require_final: an error) */
	int final_code = L->S->opt.require_final ? SM_EINVALID : 0;
	const char *final_hint =
	    L->S->opt.require_final ? ": add one" : " (it runs until it is stopped)";

	for (i = 0; i < n; i++)
		if (m->states[i].kind == SM_ST_FINAL) {
			any = 1;
			if (m->states[i].parent == 0)
				top = 1;
		}
	if (!any) {
		ld_diag(L->S, L->file, m->states[0].line, final_code,
		    "machine has no "
		    "<final> state, so it can never finish%s",
		    final_hint);
		return;
	}
	seen = ld_reachable(L);
	if (seen == NULL)
		return;
	memset(&F, 0, sizeof F);
	F.m = m;
	F.n = n;
	for (i = 0; i < F_N; i++)
		F.f[i] = ld_calloc(L, n, 1);
	F.queue = ld_calloc(L, n * F_N, sizeof *F.queue);
	F.pcount = ld_calloc(L, n, sizeof(int));
	F.pfirst = ld_calloc(L, n, sizeof(int));
	F.rev_off = ld_calloc(L, n + 1, sizeof(size_t));
	for (i = 0; i < m->ntransitions; i++)
		nedges += m->transitions[i]->ntargets;
	F.rev = ld_calloc(L, nedges, sizeof(int));
	if (L->S->oom)
		goto out;
	/* reverse edges target -> sources, counting sort */
	for (i = 0; i < m->ntransitions; i++)
		for (k = 0; k < m->transitions[i]->ntargets; k++)
			F.rev_off[m->transitions[i]->targets[k] + 1]++;
	for (i = 0; i < n; i++)
		F.rev_off[i + 1] += F.rev_off[i];
	{
		size_t *fill = ld_calloc(L, n, sizeof(size_t));

		if (fill == NULL)
			goto out;
		for (i = 0; i < m->ntransitions; i++)
			for (k = 0; k < m->transitions[i]->ntargets; k++) {
				int t = m->transitions[i]->targets[k];

				F.rev[F.rev_off[t] + fill[t]++] = m->transitions[i]->source;
			}
		free(fill);
	}
	for (i = 0; i < n; i++)
		if (m->states[i].kind == SM_ST_FINAL && (!top || m->states[i].parent == 0)) {
			fin_set(&F, F_A, (int)i);
			fin_set(&F, F_E, (int)i);
		}
	while (F.qhead < F.qtail) {
		int code = F.queue[F.qhead++];
		int fact = code / (int)n, s = code % (int)n;
		const struct sm_state *ss = &m->states[s];

		switch (fact) {
		case F_A:
			if (ss->kind == SM_ST_ATOMIC || ss->kind == SM_ST_FINAL)
				fin_set(&F, F_E, s);
			break;
		case F_E:
			fin_entered(&F, s);
			break;
		case F_B:
			fin_set(&F, F_C, s);
			break;
		case F_C:
		case F_D:
			fin_set(&F, F_A, s);
			for (j = 0; j < ss->nchildren; j++)
				fin_set(&F, fact, ss->children[j]);
			break;
		}
	}
	for (i = 1; i < n; i++) {
		const struct sm_state *s = &m->states[i];

		if (F.f[F_A][i] || !seen[i] ||
		    (s->kind != SM_ST_ATOMIC && s->kind != SM_ST_FINAL))
			continue;
		ld_diag(L->S, L->file, s->line, final_code,
		    "%s '%s' cannot reach a "
		    "%sfinal state: add a transition that leads towards one",
		    s->kind == SM_ST_FINAL ? "final" : "state", s->id, top ? "top-level " : "");
	}
out:
	for (i = 0; i < F_N; i++)
		free(F.f[i]);
	free(F.queue);
	free(F.pcount);
	free(F.pfirst);
	free(F.rev_off);
	free(F.rev);
	free(seen);
}

/*
 * Pseudo-states (<history>, <initial>) whose default transitions lead to
 * each other in a circle can never settle on real states.  The
 * interpreter raises error.execution when it meets one; the loader warns.
 * Colour DFS over the pseudo-state edges only.
 */
static int
ld_pseudo_dfs(struct ld *L, char *colour, int p)
{
	const struct sm_machine *m = L->m;
	const struct sm_state *s = &m->states[p];
	size_t i;

	colour[p] = 1;
	if (s->ntransitions > 0)
		for (i = 0; i < s->transitions[0]->ntargets; i++) {
			int q = s->transitions[0]->targets[i];

			if (!fin_pseudo(m->states[q].kind))
				continue;
			if (colour[q] == 1) {
				lwarn(L, s->line, "the default transition of '%s' targets "
				    "'%s', whose default leads back here: entering them "
				    "is an error at run time (error.execution); target "
				    "real states", s->id, m->states[q].id);
				colour[p] = 2;
				return 1;
			}
			if (colour[q] == 0 && ld_pseudo_dfs(L, colour, q)) {
				colour[p] = 2;
				return 1;
			}
		}
	colour[p] = 2;
	return 0;
}

static void
ld_check_pseudo_cycles(struct ld *L)
{
	const struct sm_machine *m = L->m;
	char *colour = ld_calloc(L, m->nstates, 1);
	size_t i;

	if (colour == NULL)
		return;
	for (i = 0; i < m->nstates; i++)
		if (fin_pseudo(m->states[i].kind) && colour[i] == 0)
			ld_pseudo_dfs(L, colour, (int)i);
	free(colour);
}

/* ------------------------------------------------------------------ */
/* building                                                             */

static int
ld_build(struct ld *L, xmlNode *root, struct sm_machine *m)
{
	char *dm, *binding, *name;

	L->m = m;
	m->data = json_object();
	if (m->data == NULL)
		ld_oom(L->S);
	dm = ld_attr(L, root, "datamodel");
	if (dm == NULL || strcmp(dm, "null") == 0)
		m->datamodel = SM_DM_NULL;
	else if (strcmp(dm, "task") == 0)
		m->datamodel = SM_DM_TASK;
	else
		lerr(L, ld_line(root), "unknown datamodel \"%s\": use \"null\" or "
		    "\"task\"", dm);
	free(dm);
	binding = ld_attr(L, root, "binding");
	if (binding && strcmp(binding, "late") == 0)
		m->binding_late = 1;
	free(binding);
	name = ld_attr(L, root, "name");
	if (name) {
		m->name = name;
	} else {
		const char *b = strrchr(L->file, '/');

		m->name = ld_strdup(L, b ? b + 1 : L->file);
	}
	ld_states(L, root, -1, 0);
	if (!L->S->oom)
		ld_ids(L);
	L->walk = 0;
	if (!L->S->oom)
		ld_fill(L, root);
	if (!L->S->oom && !L->graph_bad) {
		ld_check_pseudo_cycles(L);
		ld_check_finals(L);
	}
	free(L->nodes);
	L->nodes = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

struct ld_parse {
	struct ld_shared *S;
	const char *file;
	int depth, max_depth;
	int stopped;      /* we stopped the parser; drop libxml2's follow-ups */
	int reported;     /* a parse error was reported */
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
};

static void
ld_xml_error(void *ctx, ld_xmlerr e)
{
	xmlParserCtxt *ctxt = ctx;
	struct ld_parse *P = ctxt ? ctxt->_private : NULL;
	char msg[768];
	size_t len;

	if (P == NULL || e == NULL || P->stopped || e->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof msg, "malformed xml: %s", e->message ? e->message : "error");
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	if (len > 15 && isupper((unsigned char)msg[15]) && islower((unsigned char)msg[16]))
		msg[15] = (char)tolower((unsigned char)msg[15]);
	P->reported = 1;
	ld_push(P->S, P->file, e->line, e->int2 > 0 ? e->int2 : 0, SM_EPARSE, msg);
}

static void
ld_stop(xmlParserCtxt *ctxt, struct ld_parse *P, const char *msg)
{
	if (!P->stopped)
		ld_push(P->S, P->file, ctxt->input ? ctxt->input->line : 0, 0,
		    SM_EPARSE, msg);
	P->stopped = 1;
	P->reported = 1;
	xmlStopParser(ctxt);
}

static void
ld_sax_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxt *ctxt = ctx;

	(void)name;
	(void)ext;
	(void)sys;
	ld_stop(ctxt, ctxt->_private, "document type declarations (<!DOCTYPE>) "
	    "and entities are not allowed in machine files: remove the DOCTYPE");
}

static void
ld_sax_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *pub, const xmlChar *sys, xmlChar *content)
{
	xmlParserCtxt *ctxt = ctx;

	(void)name;
	(void)type;
	(void)pub;
	(void)sys;
	(void)content;
	ld_stop(ctxt, ctxt->_private, "entity declarations are not allowed in "
	    "machine files");
}

static xmlParserInput *
ld_sax_resolve(void *ctx, const xmlChar *pub, const xmlChar *sys)
{
	xmlParserCtxt *ctxt = ctx;

	(void)pub;
	(void)sys;
	ld_stop(ctxt, ctxt->_private, "external entities are not allowed in "
	    "machine files");
	return NULL;
}

static void
ld_sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
    int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxt *ctxt = ctx;
	struct ld_parse *P = ctxt->_private;

	if (++P->depth > P->max_depth) {
		char msg[160];

		snprintf(msg, sizeof msg, "elements nested deeper than %d levels: "
		    "flatten the machine", P->max_depth);
		ld_stop(ctxt, P, msg);
		return;
	}
	P->start(ctx, localname, prefix, URI, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
}

static void
ld_sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
    const xmlChar *URI)
{
	xmlParserCtxt *ctxt = ctx;
	struct ld_parse *P = ctxt->_private;

	P->depth--;
	P->end(ctx, localname, prefix, URI);
}

static xmlDoc *
ld_parse_xml(struct ld_shared *S, const char *buf, size_t len, const char *file)
{
	struct ld_parse P;
	xmlParserCtxt *ctxt;
	xmlDoc *doc = NULL;

	memset(&P, 0, sizeof P);
	P.S = S;
	P.file = file;
	P.max_depth = S->opt.max_depth;
	if (len > INT_MAX) {
		ld_diag(S, file, 0, SM_ETOOBIG, "document too large");
		return NULL;
	}
	ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
	if (ctxt == NULL) {
		if (len == 0)
			ld_diag(S, file, 0, SM_EPARSE, "empty document: a machine file "
			    "must hold an <scxml> element");
		else
			ld_oom(S);
		return NULL;
	}
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING |
	    XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA);
	ctxt->_private = &P;
	ctxt->sax->serror = ld_xml_error;
	ctxt->sax->error = NULL;
	ctxt->sax->warning = NULL;
	ctxt->sax->fatalError = NULL;
	ctxt->vctxt.error = NULL;
	ctxt->vctxt.warning = NULL;
	ctxt->sax->internalSubset = ld_sax_internal_subset;
	ctxt->sax->externalSubset = NULL;
	ctxt->sax->entityDecl = ld_sax_entity_decl;
	ctxt->sax->resolveEntity = ld_sax_resolve;
	P.start = ctxt->sax->startElementNs;
	P.end = ctxt->sax->endElementNs;
	ctxt->sax->startElementNs = ld_sax_start;
	ctxt->sax->endElementNs = ld_sax_end;
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;

	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (!ctxt->wellFormed || P.stopped || doc == NULL) {
		if (!P.reported)
			ld_diag(S, file, 0, SM_EPARSE, "malformed xml");
		xmlFreeDoc(doc);
		doc = NULL;
	} else if (doc->intSubset != NULL || doc->extSubset != NULL) {
		ld_diag(S, file, 0, SM_EPARSE, "document type declarations are not "
		    "allowed in machine files: remove the DOCTYPE");
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* RelaxNG validation against the embedded schema. */
struct ld_rng {
	struct ld_shared *S;   /* counts and codes; diags go to `list` */
	const char *file;
	struct sm_diags list;
};

static void
ld_rng_push(struct ld_rng *R, int line, int code, const char *msg)
{
	struct ld_shared T;

	T = *R->S;
	T.diags = &R->list;
	ld_push(&T, R->file, line, 0, code, msg);
	R->S->nerr = T.nerr;
	R->S->code = T.code;
	R->S->oom = T.oom;
}

static void
ld_rng_error(void *arg, ld_xmlerr e)
{
	struct ld_rng *R = arg;
	const xmlNode *node = e ? e->node : NULL;
	char msg[768], a[128], b[128];
	size_t len;

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	/* libxml2's wording, made to say where and what to do for the
	 * common cases */
	if (e->message && sscanf(e->message, "Did not expect element %127s there", a) == 1)
		snprintf(msg, sizeof msg, "schema: <%s> is not allowed %s%s%s in this "
		    "profile (see docs/machine-format.md)", a,
		    node && node->parent && node->parent->type == XML_ELEMENT_NODE ?
		    "inside <" : "here",
		    node && node->parent && node->parent->type == XML_ELEMENT_NODE ?
		    (const char *)node->parent->name : "",
		    node && node->parent && node->parent->type == XML_ELEMENT_NODE ? ">" : "");
	else if (e->message && sscanf(e->message, "Invalid attribute %127s for element %127s", a, b) == 2)
		snprintf(msg, sizeof msg, "schema: <%s %s=...>: the attribute is not "
		    "part of this profile or its value is not allowed (see "
		    "docs/machine-format.md)", b, a);
	else if (e->message && sscanf(e->message, "Did not expect text in element %127s", a) == 1)
		snprintf(msg, sizeof msg, "schema: <%s> holds text where only "
		    "elements belong: remove it or make it a comment (<!-- ... -->)", a);
	else if (e->message && strncmp(e->message, "Expecting an element", 20) == 0 &&
	    strstr(e->message, "got nothing") != NULL && node != NULL &&
	    node->type == XML_ELEMENT_NODE)
		snprintf(msg, sizeof msg, "schema: <%s> is missing a child element "
		    "(see docs/machine-format.md for what it holds)",
		    (const char *)node->name);
	else
		snprintf(msg, sizeof msg, "schema: %s", e->message ? e->message : "invalid");
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		msg[--len] = '\0';
	if (len > 9 && isupper((unsigned char)msg[8]) && islower((unsigned char)msg[9]))
		msg[8] = (char)tolower((unsigned char)msg[8]);
	ld_rng_push(R, e->line, SM_EINVALID, msg);
}

static void
ld_rng_schema_error(void *arg, ld_xmlerr e)
{
	struct ld_rng *R = arg;
	char msg[768];

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof msg, "embedded schema: %s", e->message ? e->message : "error");
	ld_rng_push(R, e->line, SM_EBUG, msg);
}

/* Validate `doc` against the schema; messages are collected in R->list. */
static int
ld_validate(struct ld_rng *R, xmlDoc *doc)
{
	const char *text = sm_machine_schema_text();
	xmlRelaxNGParserCtxt *pc;
	xmlRelaxNG *schema = NULL;
	xmlRelaxNGValidCtxt *vc = NULL;
	int before = R->S->nerr, rc;

	pc = xmlRelaxNGNewMemParserCtxt(text, (int)strlen(text));
	if (pc == NULL) {
		ld_oom(R->S);
		return -1;
	}
	xmlRelaxNGSetParserStructuredErrors(pc, ld_rng_schema_error, R);
	schema = xmlRelaxNGParse(pc);
	xmlRelaxNGFreeParserCtxt(pc);
	if (schema == NULL) {
		if (R->S->nerr == before)
			ld_rng_push(R, 0, SM_EBUG, "embedded schema does not parse");
		return -1;
	}
	vc = xmlRelaxNGNewValidCtxt(schema);
	if (vc == NULL) {
		xmlRelaxNGFree(schema);
		ld_oom(R->S);
		return -1;
	}
	xmlRelaxNGSetValidStructuredErrors(vc, ld_rng_error, R);
	rc = xmlRelaxNGValidateDoc(vc, doc);
	if (rc != 0 && R->S->nerr == before)
		ld_rng_push(R, 0, SM_EINVALID, "schema: document does not validate");
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(schema);
	return rc == 0 ? 0 : -1;
}

static void
ld_diag_move(struct sm_diags *d, struct sm_diag *x)
{
	struct sm_diag *v;

	if (d != NULL && d->n < SM_DIAGS_MAX &&
	    (v = realloc(d->v, (d->n + 1) * sizeof *v)) != NULL) {
		d->v = v;
		v[d->n++] = *x;
		return;
	}
	free(x->file);
	free(x->msg);
}

/*
 * Does a loader error on the same line make the schema message `schema`
 * redundant?  Yes, unless it says that something "is not allowed" where
 * it stands: the loader's messages are more precise ("<raise> needs an
 * event attribute" beats "element raise failed to validate attributes",
 * "<invoke><content> must hold exactly one <scxml> element" beats
 * "expecting an element , got nothing"), but a misplaced element may be
 * the cause of what the loader complains about.
 */
static int
ld_schema_msg_covered(const char *schema)
{
	return strstr(schema, "attribute") != NULL ||
	    strstr(schema, " is not allowed ") == NULL;
}

/*
 * Add the schema messages of one document to S->diags (from index
 * `start` on, the messages of this document and its children): a schema
 * message is dropped when the loader already said the same about that
 * line (ld_schema_msg_covered), and only the first schema message per
 * line is kept.  Then the range is sorted by file (first appearance) and
 * line, stable.
 */
static void
ld_merge_schema(struct ld_shared *S, const char *file, struct ld_rng *R,
    size_t start)
{
	struct sm_diags *d = S->diags;
	size_t i, j, end;

	if (d == NULL) {
		sm_diags_free(&R->list);
		return;
	}
	end = d->n;
	for (i = 0; i < R->list.n; i++) {
		struct sm_diag *x = &R->list.v[i];
		int drop = 0;

		for (j = start; j < end && !drop; j++)
			if (!d->v[j].warning && d->v[j].line == x->line &&
			    strcmp(d->v[j].file, file) == 0 &&
			    ld_schema_msg_covered(x->msg))
				drop = 1;
		if (!drop && i > 0 && R->list.v[i - 1].line == x->line && x->line > 0)
			drop = 1;
		if (drop) {
			free(x->file);
			free(x->msg);
		} else
			ld_diag_move(d, x);
	}
	free(R->list.v);
	R->list.v = NULL;
	R->list.n = 0;
	/* stable insertion sort by (file rank, line); the range is small;
	 * the "too many errors" line stays last */
	end = d->n > SM_DIAGS_MAX ? d->n - 1 : d->n;
	for (i = start + 1; i < end; i++) {
		struct sm_diag x = d->v[i];
		size_t rx = 0, k;

		for (k = start; k < i; k++)
			if (strcmp(d->v[k].file, x.file) == 0)
				break;
		rx = k;
		j = i;
		while (j > start) {
			struct sm_diag *y = &d->v[j - 1];
			size_t ry;

			for (k = start; k < j - 1; k++)
				if (strcmp(d->v[k].file, y->file) == 0)
					break;
			ry = k;
			if (ry < rx || (ry == rx && y->line <= x.line))
				break;
			d->v[j] = *y;
			j--;
		}
		d->v[j] = x;
	}
}

static int
ld_load_doc(struct ld_shared *S, const char *buf, size_t len, const char *name,
    const char *base_dir, int invoke_depth, struct sm_machine **out)
{
	struct sm_machine *m = NULL;
	xmlDoc *doc = NULL;
	xmlNode *root;
	struct ld L;
	struct ld_rng R;
	int before = S->nerr;
	size_t dstart = S->diags ? S->diags->n : 0;

	memset(&R, 0, sizeof R);
	*out = NULL;
	if (len > S->opt.max_bytes) {
		ld_diag(S, name, 0, SM_ETOOBIG, "document is %zu bytes, over the limit "
		    "of %zu: machine files must be small", len, S->opt.max_bytes);
		return SM_ETOOBIG;
	}
	if (len == 0) {
		ld_diag(S, name, 0, SM_EPARSE, "empty document: a machine file must "
		    "hold an <scxml> element");
		return SM_EPARSE;
	}
	S->ndocs++;
	S->total_bytes += len;
	doc = ld_parse_xml(S, buf, len, name);
	if (doc == NULL)
		return S->code ? S->code : SM_EPARSE;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "scxml") != 0) {
		ld_diag(S, name, root ? ld_line(root) : 0, SM_EINVALID,
		    "root element is <%s>, not <scxml>: this is not an SCXML machine",
		    root ? (const char *)root->name : "");
		goto out;
	}
	if (root->ns == NULL || strcmp((const char *)root->ns->href, SM_NS_SCXML) != 0) {
		ld_diag(S, name, ld_line(root), SM_EINVALID,
		    "<scxml> is in namespace \"%s\": use xmlns=\"%s\"",
		    root->ns ? (const char *)root->ns->href : "", SM_NS_SCXML);
		goto out;
	}
	memset(&R, 0, sizeof R);
	R.S = S;
	R.file = name;
	ld_validate(&R, doc);

	m = calloc(1, sizeof *m);
	if (m == NULL) {
		ld_oom(S);
		goto out;
	}
	m->path = strdup(name);
	m->base_dir = base_dir ? strdup(base_dir) : NULL;
	m->doc = malloc(len + 1);
	if (m->path == NULL || m->doc == NULL || (base_dir && m->base_dir == NULL)) {
		ld_oom(S);
		goto out;
	}
	memcpy(m->doc, buf, len);
	m->doc[len] = '\0';
	m->doc_len = len;
	memset(&L, 0, sizeof L);
	L.S = S;
	L.file = name;
	L.base_dir = base_dir;
	L.invoke_depth = invoke_depth;
	ld_build(&L, root, m);
out:
	ld_merge_schema(S, name, &R, dstart);
	xmlFreeDoc(doc);
	if (S->nerr != before || S->oom) {
		sm_machine_free(m);
		return S->oom ? SM_ENOMEM : (S->code ? S->code : SM_EINVALID);
	}
	*out = m;
	return 0;
}

/* Hash every machine of the tree: the document bytes of each. */
static void
ld_hash(struct sm_machine *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	sm_digest(SM_DIGEST_SHA256, m->doc, m->doc_len, m->sha256);
	for (i = 0; i < m->nstates; i++)
		for (j = 0; j < m->states[i].ninvokes; j++)
			ld_hash(m->states[i].invokes[j].child);
}

static void
ld_opts(struct ld_shared *S, const struct sm_load_opts *opt,
    struct sm_diags *diags)
{
	memset(S, 0, sizeof *S);
	if (opt)
		S->opt = *opt;
	if (S->opt.max_bytes == 0)
		S->opt.max_bytes = SM_LOAD_MAX_BYTES_DEFAULT;
	if (S->opt.max_depth <= 0)
		S->opt.max_depth = SM_LOAD_MAX_DEPTH_DEFAULT;
	S->diags = diags;
}

int
sm_machine_load_memory(const char *buf, size_t len, const char *name,
    const char *base_dir, const struct sm_load_opts *opt,
    struct sm_machine **out, struct sm_diags *diags)
{
	struct ld_shared S;
	int rc;

	if (out == NULL || (buf == NULL && len > 0))
		return SM_EINVAL;
	*out = NULL;
	ld_opts(&S, opt, diags);
	if (name == NULL)
		name = "<memory>";
	rc = ld_load_doc(&S, buf ? buf : "", len, name, base_dir, 0, out);
	if (rc == 0)
		ld_hash(*out);
	return rc;
}

int
sm_machine_load_file(const char *path, const struct sm_load_opts *opt,
    struct sm_machine **out, struct sm_diags *diags)
{
	struct ld_shared S;
	char *buf = NULL, *dir = NULL, *slash, why[512];
	size_t len = 0;
	int rc;

	if (out == NULL || path == NULL)
		return SM_EINVAL;
	*out = NULL;
	ld_opts(&S, opt, diags);
	rc = ld_read_file(path, S.opt.max_bytes, &buf, &len, why, sizeof why);
	if (rc < 0) {
		ld_diag(&S, path, 0, rc, "%s", why);
		return rc;
	}
	dir = strdup(path);
	if (dir == NULL) {
		free(buf);
		ld_oom(&S);
		return SM_ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	rc = ld_load_doc(&S, buf, len, path, dir, 0, out);
	if (rc == 0)
		ld_hash(*out);
	free(dir);
	free(buf);
#ifdef __GLIBC__
	/* the document tree and the compiled schema are gone: give their pages
	 * back (0.2 MiB of an idle smd's heap, docs/bench-daemon.md) */
	malloc_trim(0);
#endif
	return rc;
}

int
sm_machine_load_child(const struct sm_machine *parent, const char *src, const char *markup,
    struct sm_machine **out, struct sm_diags *diags)
{
	struct ld_shared S;
	struct ld L;
	char *path;
	int rc;

	if (out == NULL || parent == NULL || (src == NULL) == (markup == NULL))
		return SM_EINVAL;
	*out = NULL;
	ld_opts(&S, NULL, diags);
	if (markup != NULL) {
		/* the files it names are where its parent's are */
		rc = ld_load_doc(&S, markup, strlen(markup),
		    parent->path ? parent->path : "<memory>", parent->base_dir, 1, out);
	} else {
		memset(&L, 0, sizeof L);
		L.S = &S;
		L.file = parent->path ? parent->path : "<memory>";
		L.base_dir = parent->base_dir;
		if ((path = ld_rel_path(&L, 0, "invoke", src)) == NULL)
			return S.code ? S.code : SM_EINVALID;
		rc = sm_machine_load_file(path, NULL, out, diags);
		free(path);
	}
	if (rc == 0 && *out != NULL)
		ld_hash(*out);
	return rc;
}
