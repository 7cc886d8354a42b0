/*
 * sm_interp.c - the SCXML interpreter: the W3C SCXML 1.0 algorithm
 * (Appendix D) over the index-based model of sm_model.h.
 *
 * Sets of states are byte arrays indexed by state (document order is index
 * order).  Effects are recorded, never performed (see sm_interp_private.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_duration.h"
#include "sm_expr.h"
#include "sm_interp_private.h"
#include "sm_machine.h"
#include "sm_text.h"
#include "sm_log.h"

#define SM_MAX_MICROSTEPS 10000

struct sm_session {
	const struct sm_machine *m;
	char *sessionid;
	size_t n;                  /* number of states */
	unsigned char *active;     /* configuration */
	unsigned char *to_invoke;  /* statesToInvoke */
	int **hv;                  /* history values per history state */
	int *hvn;                  /* -1: never recorded */
	json_t *dm;                /* datamodel (task) or NULL */
	json_t *sys;               /* task: _sessionid, _name, _ioprocessors, made when
	                              first read (behind dm; derived, never saved) */
	struct sm_event *iq_head, *iq_tail;   /* internal queue */
	struct sm_event *eq_head, *eq_tail;   /* external queue */
	size_t eq_len;
	struct sm_invocation *invs;
	struct sm_effect *fx_head, *fx_tail;
	json_t *errors;
	int running;
	int started;
	int final;                 /* top-level final entered, or -1 */
	json_t *donedata;
	json_t *init;              /* values overriding <data> at start */
	uint64_t send_seq;
	uint64_t invoke_seq;
	sm_trace_fn *trace;
	void *trace_arg;
	/* scratch for computeEntrySet */
	unsigned char *enter, *default_entry;
	struct sm_exec **default_hist;
	/* the document tree, computed once (see "state helpers") */
	int *last;                 /* last[b]: largest index in b's subtree */
	unsigned char *atomic;     /* is_atomic() per state */
	/* scratch for selection and conflict removal (n + 1 entries each) */
	int *cnt;                  /* active states before index i; Fenwick tree */
	int *dom_n;                /* filtered transitions per domain state */
	int *sel;                  /* selection memo: transition index or -1 */
	unsigned *sel_gen;         /* sel[i] is valid when sel_gen[i] == gen */
	unsigned gen;
	int *eff;                  /* effective target states (a list) */
	size_t neff, effcap;
	int nomem;
	int pseudo_loop;
	unsigned char *bound; /* binding="late": the states whose <data> have
	                         their values (entered once); else NULL */
};

/* ---- small helpers ------------------------------------------------------ */

struct sm_event *
sm__event_new(const char *name, json_t *data, enum sm_event_type type)
{
	struct sm_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->name = strdup(name ? name : "");
	if (!ev->name) {
		free(ev);
		return NULL;
	}
	ev->data = data ? json_incref(data) : NULL;
	ev->type = type;
	return ev;
}

void
sm__event_free(struct sm_event *ev)
{
	if (!ev)
		return;
	free(ev->name);
	json_decref(ev->data);
	free(ev->sendid);
	free(ev->origin);
	free(ev->invokeid);
	free(ev);
}

static const char *
event_type_name(enum sm_event_type t)
{
	switch (t) {
	case SM_EV_PLATFORM: return "platform";
	case SM_EV_INTERNAL: return "internal";
	default: return "external";
	}
}

json_t *
sm__event_to_json(const struct sm_event *ev)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	/* the keys are literals: no UTF-8 check (one _event per event taken) */
	json_object_set_new_nocheck(j, "name", json_string(ev->name));
	json_object_set_nocheck(j, "data", ev->data ? ev->data : json_null());
	json_object_set_new_nocheck(
	    j, "sendid", ev->sendid ? json_string(ev->sendid) : json_null());
	json_object_set_new_nocheck(
	    j, "origin", ev->origin ? json_string(ev->origin) : json_null());
	/* the SCXML event processor is the only one events come through */
	json_object_set_new_nocheck(
	    j, "origintype", ev->origin ? json_string(SM_SCXML_PROCESSOR) : json_null());
	json_object_set_new_nocheck(
	    j, "invokeid", ev->invokeid ? json_string(ev->invokeid) : json_null());
	json_object_set_new_nocheck(j, "type", json_string(event_type_name(ev->type)));
	return j;
}

static char *
json_str_dup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

struct sm_event *
sm__event_from_json(json_t *j)
{
	struct sm_event *ev;
	json_t *name = json_object_get(j, "name");
	json_t *data = json_object_get(j, "data");
	const char *type = json_string_value(json_object_get(j, "type"));
	enum sm_event_type t = SM_EV_EXTERNAL;

	if (!json_is_string(name))
		return NULL;
	if (type && strcmp(type, "platform") == 0)
		t = SM_EV_PLATFORM;
	else if (type && strcmp(type, "internal") == 0)
		t = SM_EV_INTERNAL;
	ev = sm__event_new(json_string_value(name), json_is_null(data) ? NULL : data, t);
	if (!ev)
		return NULL;
	ev->sendid = json_str_dup(j, "sendid");
	ev->origin = json_str_dup(j, "origin");
	ev->invokeid = json_str_dup(j, "invokeid");
	return ev;
}

void
sm__effects_free(struct sm_effect *fx)
{
	while (fx) {
		struct sm_effect *next = fx->next;

		free(fx->target);
		free(fx->event);
		json_decref(fx->data);
		free(fx->sendid);
		free(fx->invokeid);
		free(fx->text);
		free(fx);
		fx = next;
	}
}

static struct sm_effect *
fx_add(struct sm_session *s, enum sm_effect_kind kind)
{
	struct sm_effect *fx = calloc(1, sizeof(*fx));

	if (!fx) {
		s->nomem = 1;
		return NULL;
	}
	fx->kind = kind;
	fx->state = -1;
	fx->inv_index = -1;
	if (s->fx_tail)
		s->fx_tail->next = fx;
	else
		s->fx_head = fx;
	s->fx_tail = fx;
	return fx;
}

/* ---- descriptor matching and durations ---------------------------------- */

static int
descriptor_match(const char *d, const char *name)
{
	size_t dl = strlen(d);

	if (strcmp(d, "*") == 0)
		return 1;
	if (dl >= 2 && strcmp(d + dl - 2, ".*") == 0)
		dl -= 2;
	else if (dl >= 1 && d[dl - 1] == '.')
		dl -= 1;
	if (dl == 0)
		return 0;
	if (strncmp(d, name, dl) != 0)
		return 0;
	return name[dl] == '\0' || name[dl] == '.';
}

int
sm__event_match(char *const *descriptors, const char *name)
{
	if (!descriptors || !name)
		return 0;
	for (; *descriptors; descriptors++)
		if (descriptor_match(*descriptors, name))
			return 1;
	return 0;
}

/* ---- state helpers ------------------------------------------------------ */

static const struct sm_state *
ST(const struct sm_session *s, int i)
{
	return &s->m->states[i];
}

static int
is_real_state(const struct sm_state *st)
{
	return st->kind == SM_ST_ATOMIC || st->kind == SM_ST_COMPOUND ||
	    st->kind == SM_ST_PARALLEL || st->kind == SM_ST_FINAL;
}

static int
is_atomic_slow(const struct sm_session *s, int i)
{
	const struct sm_state *st = ST(s, i);
	size_t k;

	if (st->kind == SM_ST_ATOMIC || st->kind == SM_ST_FINAL)
		return 1;
	if (st->kind != SM_ST_COMPOUND && st->kind != SM_ST_PARALLEL)
		return 0;
	for (k = 0; k < st->nchildren; k++)
		if (is_real_state(ST(s, st->children[k])))
			return 0;
	return 1;
}

static int
is_atomic(const struct sm_session *s, int i)
{
	return s->atomic[i];
}

static int
is_compound(const struct sm_session *s, int i)
{
	const struct sm_state *st = ST(s, i);

	return (st->kind == SM_ST_COMPOUND || st->kind == SM_ST_ROOT) && !is_atomic(s, i);
}

static int
is_history(const struct sm_session *s, int i)
{
	enum sm_state_kind k = ST(s, i)->kind;

	return k == SM_ST_HISTORY_SHALLOW || k == SM_ST_HISTORY_DEEP;
}

/*
 * States are numbered in document order, which is a pre-order walk of the
 * tree: the proper descendants of b are exactly the indices b+1 .. last[b].
 * So "is a a descendant of b" is two comparisons, the states of a subtree
 * are one contiguous range, and two subtrees are either nested or disjoint.
 * tree_index() computes last[] and checks the numbering (a machine built
 * otherwise is refused: the interpreter depends on it).
 */
static int
tree_index(struct sm_session *s)
{
	int i, p;

	for (i = 0; i < (int)s->n; i++) {
		s->last[i] = i;
		s->atomic[i] = (unsigned char)is_atomic_slow(s, i);
	}
	for (i = (int)s->n - 1; i > 0; i--) {
		p = ST(s, i)->parent;
		if (p < 0 || p >= i)
			return -1;
		if (s->last[i] > s->last[p])
			s->last[p] = s->last[i];
	}
	/* pre-order: the parent of i is i-1 or an ancestor of i-1 */
	for (i = 1; i < (int)s->n; i++) {
		int a = i - 1;

		p = ST(s, i)->parent;
		while (a >= 0 && a != p)
			a = ST(s, a)->parent;
		if (a != p)
			return -1;
	}
	return ST(s, 0)->parent == -1 ? 0 : -1;
}

/* Is a a proper descendant of b? */
static int
is_descendant(const struct sm_session *s, int a, int b)
{
	return a > b && a <= s->last[b];
}

static int
find_state(const struct sm_session *s, const char *id)
{
	return sm_machine_state_index(s->m, id);
}

static int
in_state_cb(void *arg, const char *id)
{
	struct sm_session *s = arg;
	int i = find_state(s, id);

	return i >= 0 && s->active[i];
}

/*
 * The system variables other than _event (SCXML 5.10), read-only
 * (sm_location_assign refuses them): _sessionid, _name, and _ioprocessors,
 * where the SCXML event processor (under its URI and under "scxml", the
 * short type <send> accepts) gives the location that reaches this session.
 * They follow from the session and its machine, so they live apart from
 * the datamodel: expressions read them behind it (sm_expr_env.name), the
 * object is made the first time one is read, and it is never saved.
 */
static json_t *
system_var(void *arg, const char *name)
{
	struct sm_session *s = arg;
	char loc[600];

	if (name[0] != '_' || !s->dm)
		return NULL;
	if (!s->sys) {
		snprintf(loc, sizeof(loc), "#_scxml_%s", s->sessionid);
		s->sys = json_pack("{s:s,s:s,s:{s:{s:s},s:{s:s}}}", "_sessionid", s->sessionid,
		    "_name", s->m->name ? s->m->name : "", "_ioprocessors", SM_SCXML_PROCESSOR,
		    "location", loc, "scxml", "location", loc);
		if (!s->sys) {
			s->nomem = 1;
			return NULL;
		}
	}
	return json_object_get(s->sys, name);
}

static void
env_init(struct sm_session *s, struct sm_expr_env *env)
{
	env->root = s->dm;
	env->in_state = in_state_cb;
	env->arg = s;
	env->name = system_var;
}

/* The default initial transition of a compound state (or the root). */
static void
initial_of(const struct sm_session *s, int i, const int **targets, size_t *n,
    struct sm_exec **body, int *tmp)
{
	const struct sm_state *st = ST(s, i);
	size_t k;

	*body = NULL;
	if (st->ninitial_targets > 0) {
		*targets = st->initial_targets;
		*n = st->ninitial_targets;
		return;
	}
	if (st->initial >= 0 && ST(s, st->initial)->ntransitions > 0) {
		const struct sm_transition *t = ST(s, st->initial)->transitions[0];

		*targets = t->targets;
		*n = t->ntargets;
		*body = t->body;
		return;
	}
	for (k = 0; k < st->nchildren; k++) {
		if (is_real_state(ST(s, st->children[k]))) {
			*tmp = st->children[k];
			*targets = tmp;
			*n = 1;
			return;
		}
	}
	*targets = NULL;
	*n = 0;
}

/* ---- errors and queues -------------------------------------------------- */

static void
enqueue(struct sm_event **head, struct sm_event **tail, struct sm_event *ev)
{
	ev->next = NULL;
	if (*tail)
		(*tail)->next = ev;
	else
		*head = ev;
	*tail = ev;
}

static struct sm_event *
dequeue(struct sm_event **head, struct sm_event **tail)
{
	struct sm_event *ev = *head;

	if (!ev)
		return NULL;
	*head = ev->next;
	if (!*head)
		*tail = NULL;
	ev->next = NULL;
	return ev;
}

static void
raise_internal(struct sm_session *s, const char *name, json_t *data,
    enum sm_event_type type)
{
	struct sm_event *ev = sm__event_new(name, data, type);

	if (!ev) {
		s->nomem = 1;
		return;
	}
	enqueue(&s->iq_head, &s->iq_tail, ev);
}

static void exec_error(struct sm_session *s, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Place error.execution on the internal queue and remember the message. */
static void
exec_error(struct sm_session *s, int line, const char *fmt, ...)
{
	char buf[512];
	char msg[600];
	va_list ap;
	json_t *data;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%d: %s", s->m->path ? s->m->path : "<machine>", line, buf);
	json_array_append_new(s->errors, json_string(msg));
	data = json_pack("{s:s}", "message", msg);
	raise_internal(s, "error.execution", data, SM_EV_PLATFORM);
	json_decref(data);
}

static int
cond_true(struct sm_session *s, const struct sm_expr *cond, const char *src, int line)
{
	struct sm_expr_env env;
	struct sm_error err;
	int b = 0;

	if (!cond)
		return 1;
	env_init(s, &env);
	sm_error_clear(&err);
	if (sm_expr_eval_bool(cond, &env, &b, &err) != 0) {
		exec_error(s, line, "condition '%s': %s", src ? src : "", err.msg);
		return 0;
	}
	return b;
}

static int
eval_expr(struct sm_session *s, const struct sm_expr *e, const char *what, int line,
    json_t **out)
{
	struct sm_expr_env env;
	struct sm_error err;

	env_init(s, &env);
	sm_error_clear(&err);
	if (sm_expr_eval(e, &env, out, &err) != 0) {
		exec_error(s, line, "%s: %s", what, err.msg);
		return -1;
	}
	return 0;
}

/* The value at a location (<param location>, a namelist entry): a
 * location that names nothing is error.execution (SCXML 5.7, 6.2). */
static int
eval_location(struct sm_session *s, const char *loc, int line, json_t **out)
{
	struct sm_error err;

	sm_error_clear(&err);
	struct sm_expr_env env;

	env_init(s, &env);
	if (sm_location_read(&env, loc, out, &err) != 0) {
		exec_error(s, line, "location '%s': %s", loc, err.msg);
		return -1;
	}
	return 0;
}

/* params + namelist into a new object; NULL (with error raised) on failure. */
static json_t *
eval_params(struct sm_session *s, const struct sm_param *p, size_t np,
    char **namelist, int line)
{
	json_t *obj = json_object();
	size_t i;

	if (!obj) {
		s->nomem = 1;
		return NULL;
	}
	for (i = 0; namelist && namelist[i]; i++) {
		json_t *v = NULL;

		if (eval_location(s, namelist[i], line, &v) != 0)
			goto fail;
		json_object_set_new(obj, namelist[i], v);
	}
	for (i = 0; i < np; i++) {
		json_t *v = NULL;

		if (p[i].expr) {
			if (eval_expr(s, p[i].expr, p[i].expr_src ? p[i].expr_src : p[i].name, line,
			    &v) != 0)
				goto fail;
		} else if (p[i].location) {
			if (eval_location(s, p[i].location, line, &v) != 0)
				goto fail;
		} else {
			v = json_null();
		}
		json_object_set_new(obj, p[i].name, v);
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

int
sm__json_depth(const json_t *v, int cap)
{
	int d = 0, c;

	if (cap <= 0)
		return 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		json_object_foreach((json_t *)v, k, x) {
			c = sm__json_depth(x, cap - 1);
			if (c > d)
				d = c;
			if (d >= cap)
				break;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x) {
			c = sm__json_depth(x, cap - 1);
			if (c > d)
				d = c;
			if (d >= cap)
				break;
		}
	}
	return d + 1;
}

/* Path segments of a location ("a.b[2]" is 3); quoted keys may count a
 * few too many, which only makes the depth check stricter. */
static int
location_depth(const char *loc)
{
	int n = 1;

	for (; *loc; loc++)
		if (*loc == '.' || *loc == '[')
			n++;
	return n;
}

static int
assign_location(struct sm_session *s, const char *loc, json_t *v, int line)
{
	struct sm_error err;

	if (!s->dm) {
		exec_error(s, line, "cannot assign '%s' in the null datamodel", loc);
		return -1;
	}
	if (v && location_depth(loc) + sm__json_depth(v, SM_DM_DEPTH_MAX) > SM_DM_DEPTH_MAX) {
		exec_error(s, line, "assign to '%s': the value would nest the datamodel deeper "
		    "than %d levels: keep data flatter", loc, SM_DM_DEPTH_MAX);
		return -1;
	}
	sm_error_clear(&err);
	if (sm_location_assign(s->dm, loc, v, &err) != 0) {
		exec_error(s, line, "assign to '%s': %s", loc, err.msg);
		return -1;
	}
	return 0;
}

/* ---- executable content ------------------------------------------------- */

/*
 * A target that names no session now, as far as the session itself knows:
 * `#_scxml_<id>` of another session (the engine reaches only the sender's
 * own), `#_<invokeid>` of no active invocation.  `#_parent` and the
 * invocations it has are the engine's to resolve (a child that has ended
 * gives error.communication on the external queue).
 */
static int
target_unreachable(const struct sm_session *s, const char *t)
{
	const struct sm_invocation *inv;

	if (!t || strncmp(t, "#_", 2) != 0 || strcmp(t, "#_internal") == 0 ||
	    strcmp(t, "#_parent") == 0)
		return 0;
	if (strncmp(t, "#_scxml_", 8) == 0)
		return strcmp(t + 8, s->sessionid) != 0;
	for (inv = s->invs; inv; inv = inv->next)
		if (strcmp(inv->invokeid, t + 2) == 0)
			return 0;
	return 1;
}

/*
 * A string attribute that may be computed: the value of `e` when given
 * (it must be a string: error.execution otherwise), else a copy of
 * `literal` (may be NULL).  0, or -1 after error.execution.
 */
static int
eval_string(struct sm_session *s, const struct sm_expr *e, const char *literal, const char *what,
    int line, char **out)
{
	json_t *v = NULL;

	*out = NULL;
	if (!e) {
		if (literal && !(*out = strdup(literal)))
			s->nomem = 1;
		return 0;
	}
	if (eval_expr(s, e, what, line, &v) != 0)
		return -1;
	if (!json_is_string(v)) {
		exec_error(s, line, "%s must give a string, not %s", what,
		    json_is_null(v)       ? "null" :
		        json_is_number(v) ? "a number" :
		                            "another value");
		json_decref(v);
		return -1;
	}
	if (!(*out = strdup(json_string_value(v))))
		s->nomem = 1;
	json_decref(v);
	return 0;
}

static int
exec_send(struct sm_session *s, const struct sm_exec *x)
{
	const struct sm_send *sd = &x->u.send;
	char *event = NULL, *target = NULL, *type = NULL;
	json_t *data = NULL, *v = NULL;
	char idbuf[256];
	const char *sendid;
	int64_t delay = sd->delay_ms;
	struct sm_effect *fx;
	int rc = -1;

	if (sd->event) {
		event = strdup(sd->event);
	} else if (sd->eventexpr) {
		if (eval_expr(s, sd->eventexpr, "eventexpr", x->line, &v) != 0)
			goto out;
		if (!json_is_string(v)) {
			exec_error(s, x->line, "send eventexpr must give a string");
			goto out;
		}
		event = strdup(json_string_value(v));
	} else {
		event = strdup("");
	}
	if (!event) {
		s->nomem = 1;
		goto out;
	}
	if (eval_string(s, sd->typeexpr, sd->type, "typeexpr", x->line, &type) != 0 ||
	    eval_string(s, sd->targetexpr, sd->target, "targetexpr", x->line, &target) != 0)
		goto out;
	if (!sm_send_type_ok(type)) {
		exec_error(s, x->line,
		    "send type '%s' is not supported: use the SCXML event processor", type);
		goto out;
	}
	if (!sm_send_target_ok(target)) {
		exec_error(s, x->line, "send target '%s' is not supported", target);
		goto out;
	}
	if (sd->delayexpr) {
		json_decref(v);
		v = NULL;
		if (eval_expr(s, sd->delayexpr, "delayexpr", x->line, &v) != 0)
			goto out;
		if (!json_is_string(v) ||
		    sm_duration_parse_n(json_string_value(v), json_string_length(v), &delay) != 0) {
			exec_error(s, x->line, "send delayexpr must give a duration: " SM_DURATION_HINT);
			goto out;
		}
	}
	if (sd->content_expr) {
		if (eval_expr(s, sd->content_expr, "content expr", x->line, &data) != 0)
			goto out;
	} else if (sd->content) {
		data = json_loads(sd->content, JSON_DECODE_ANY, NULL);
		if (!data)
			data = json_string(sd->content);
	} else if (sd->nparams > 0 || sd->namelist) {
		data = eval_params(s, sd->params, sd->nparams, sd->namelist, x->line);
		if (!data)
			goto out;
	}
	if (sd->id) {
		sendid = sd->id;
	} else {
		snprintf(idbuf, sizeof(idbuf), "%s.send%llu", s->sessionid,
		    (unsigned long long)++s->send_seq);
		sendid = idbuf;
		if (sd->idlocation) {
			json_t *idv = json_string(idbuf);

			if (assign_location(s, sd->idlocation, idv, x->line) != 0) {
				json_decref(idv);
				goto out;
			}
			json_decref(idv);
		}
	}
	if (target && strcmp(target, "#_internal") == 0) {
		struct sm_event *ev;

		if (delay > 0) { /* the loader refuses it when both are literal */
			exec_error(s, x->line, "send to #_internal cannot be delayed");
			goto out;
		}
		ev = sm__event_new(event, data, SM_EV_INTERNAL);

		if (!ev) {
			s->nomem = 1;
			goto out;
		}
		ev->sendid = sd->id ? strdup(sd->id) : NULL;
		enqueue(&s->iq_head, &s->iq_tail, ev);
		rc = 0;
		goto out;
	}
	if (delay == 0 && target_unreachable(s, target)) {
		/* SCXML 6.2: error.communication, on the internal queue when the
		 * send executes (before the events raised after it), with the
		 * send's id; the rest of the block runs */
		struct sm_event *ev;
		json_t *d = json_pack("{s:s,s:s}", "target", target, "message",
		    "no session is reachable at that target");

		ev = d ? sm__event_new("error.communication", d, SM_EV_PLATFORM) : NULL;
		json_decref(d);
		if (!ev || !(ev->sendid = strdup(sendid))) {
			sm__event_free(ev);
			s->nomem = 1;
			goto out;
		}
		enqueue(&s->iq_head, &s->iq_tail, ev);
		rc = 0;
		goto out;
	}
	fx = fx_add(s, SM_FX_SEND);
	if (!fx)
		goto out;
	fx->target = target;
	target = NULL;
	fx->event = event;
	event = NULL;
	fx->data = data;
	data = NULL;
	fx->sendid = strdup(sendid);
	/* SCXML 5.10.1: a send without id (or idlocation) gives a blank sendid */
	fx->blank_sendid = !sd->id && !sd->idlocation;
	fx->delay_ms = delay;
	rc = 0;
out:
	free(event);
	free(target);
	free(type);
	json_decref(data);
	json_decref(v);
	return rc;
}

static int exec_block(struct sm_session *s, const struct sm_exec *x);

/*
 * <foreach> (SCXML 4.6): the body once per item of a shallow copy of the
 * array (changing the array in the body does not change the iteration),
 * with item (and index, 0-based) assigned before each round.  An array
 * that is not an array, an item or index that cannot be assigned, or an
 * error in the body: error.execution, and the foreach and the rest of its
 * block end.
 */
static int
exec_foreach(struct sm_session *s, const struct sm_exec *x)
{
	json_t *arr = NULL, *copy;
	size_t i;
	int rc = 0;

	if (eval_expr(s, x->u.foreach.array, x->u.foreach.array_src, x->line, &arr) != 0)
		return -1;
	if (!json_is_array(arr)) {
		exec_error(
		    s, x->line, "foreach array '%s' is not an array", x->u.foreach.array_src);
		json_decref(arr);
		return -1;
	}
	copy = json_copy(arr);
	json_decref(arr);
	if (!copy) {
		s->nomem = 1;
		return -1;
	}
	for (i = 0; i < json_array_size(copy) && rc == 0; i++) {
		json_t *idx = NULL;

		rc = assign_location(s, x->u.foreach.item, json_array_get(copy, i), x->line);
		if (rc == 0 && x->u.foreach.index) {
			idx = json_integer((json_int_t)i);
			rc = idx ? assign_location(s, x->u.foreach.index, idx, x->line) : -1;
			json_decref(idx);
		}
		if (rc == 0)
			rc = exec_block(s, x->u.foreach.body);
	}
	json_decref(copy);
	return rc;
}

static int
exec_one(struct sm_session *s, const struct sm_exec *x)
{
	json_t *v = NULL;
	const struct sm_exec *br;
	struct sm_effect *fx;

	switch (x->kind) {
	case SM_X_RAISE:
		raise_internal(s, x->u.raise.event, NULL, SM_EV_INTERNAL);
		return 0;
	case SM_X_SEND:
		return exec_send(s, x);
	case SM_X_CANCEL:
		fx = fx_add(s, SM_FX_CANCEL);
		if (!fx)
			return -1;
		if (x->u.cancel.sendid) {
			fx->sendid = strdup(x->u.cancel.sendid);
		} else if (x->u.cancel.sendidexpr) {
			if (eval_expr(s, x->u.cancel.sendidexpr, "sendidexpr", x->line, &v) != 0)
				return -1;
			fx->sendid = strdup(json_is_string(v) ? json_string_value(v) : "");
			json_decref(v);
		}
		return 0;
	case SM_X_LOG: {
		char *dumped = NULL;
		size_t len;

		if (x->u.log.expr) {
			if (eval_expr(s, x->u.log.expr, "log expr", x->line, &v) != 0)
				return -1;
			if (json_is_string(v))
				dumped = strdup(json_string_value(v));
			else
				dumped = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			json_decref(v);
		}
		fx = fx_add(s, SM_FX_LOG);
		if (!fx) {
			free(dumped);
			return -1;
		}
		len = strlen(x->u.log.label ? x->u.log.label : "") + (dumped ? strlen(dumped) : 0) + 3;
		fx->text = malloc(len);
		if (fx->text)
			snprintf(fx->text, len, "%s%s%s", x->u.log.label ? x->u.log.label : "",
			    (x->u.log.label && dumped) ? ": " : "", dumped ? dumped : "");
		free(dumped);
		return 0;
	}
	case SM_X_ASSIGN: {
		int rc;

		if (x->u.assign.value) {
			v = json_incref(x->u.assign.value);
		} else if (!x->u.assign.expr) {
			v = json_null();
		} else if (eval_expr(s, x->u.assign.expr,
		               x->u.assign.expr_src ? x->u.assign.expr_src : "assign expr", x->line,
		               &v) != 0) {
			return -1;
		}
		/* the value may be a node of the datamodel itself */
		{
			json_t *copy = json_deep_copy(v);

			json_decref(v);
			v = copy;
		}
		rc = assign_location(s, x->u.assign.location, v, x->line);
		json_decref(v);
		return rc;
	}
	case SM_X_FOREACH:
		return exec_foreach(s, x);
	case SM_X_IF:
		for (br = x; br; br = br->u.if_.next_branch) {
			if (!br->u.if_.cond || cond_true(s, br->u.if_.cond, br->u.if_.cond_src, br->line))
				return exec_block(s, br->u.if_.body);
			/* a failed condition raised error.execution and counts as false */
		}
		return 0;
	default:
		exec_error(s, x->line, "executable content not supported");
		return -1;
	}
}

/* Run a block; an error stops the rest of the block (error.execution raised). */
static int
exec_block(struct sm_session *s, const struct sm_exec *x)
{
	for (; x; x = x->next)
		if (exec_one(s, x) != 0)
			return -1;
	return 0;
}

/* ---- the algorithm ------------------------------------------------------ */

struct tlist {
	const struct sm_transition **v;
	size_t n, cap;
};

static int
tl_add(struct tlist *l, const struct sm_transition *t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		const struct sm_transition **nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = t;
	return 0;
}

/* History defaults that lead to each other would recurse forever: the
 * loader should refuse them; the interpreter stops and says so. */
#define SM_MAX_PSEUDO_CHAIN 64
#define SM_MAX_DEPTH 1024 /* nesting; the loader allows far less */

static void
pseudo_loop_error(struct sm_session *s)
{
	if (s->pseudo_loop)
		return;
	s->pseudo_loop = 1; /* aborts the current computation (reset by its caller) */
	exec_error(s, 0, "history/initial defaults form a loop (more than %d in a chain): "
	    "make a history's default transition target real states", SM_MAX_PSEUDO_CHAIN);
}

static void
eff_add(struct sm_session *s, int st)
{
	if (s->neff == s->effcap) {
		size_t cap = s->effcap ? s->effcap * 2 : 16;
		int *nv = realloc(s->eff, cap * sizeof(*nv));

		if (!nv) {
			s->nomem = 1;
			return;
		}
		s->eff = nv;
		s->effcap = cap;
	}
	s->eff[s->neff++] = st;
}

/* getEffectiveTargetStates, appended to the list s->eff (may repeat a state) */
static void
effective_targets_d(struct sm_session *s, const int *targets, size_t nt, int depth)
{
	size_t i;
	int k;

	if (s->pseudo_loop)
		return;
	if (depth > SM_MAX_PSEUDO_CHAIN) {
		pseudo_loop_error(s);
		return;
	}
	for (i = 0; i < nt; i++) {
		int t = targets[i];

		if (is_history(s, t)) {
			if (s->hvn[t] >= 0) {
				for (k = 0; k < s->hvn[t]; k++)
					eff_add(s, s->hv[t][k]);
			} else if (ST(s, t)->ntransitions > 0) {
				const struct sm_transition *d = ST(s, t)->transitions[0];

				effective_targets_d(s, d->targets, d->ntargets, depth + 1);
			}
		} else {
			eff_add(s, t);
		}
	}
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The effective targets of `targets` in s->eff[0 .. s->neff), ascending and
 * without repeats (document order, as a set over the states gives them). */
static void
effective_targets(struct sm_session *s, const int *targets, size_t nt)
{
	size_t i, k = 0;

	s->neff = 0;
	s->pseudo_loop = 0;
	effective_targets_d(s, targets, nt, 0);
	if (s->neff > 1) {
		qsort(s->eff, s->neff, sizeof(s->eff[0]), int_cmp);
		for (i = 0; i < s->neff; i++)
			if (k == 0 || s->eff[k - 1] != s->eff[i])
				s->eff[k++] = s->eff[i];
		s->neff = k;
	}
}

/* getTransitionDomain; -1 for a targetless transition.  Leaves the effective
 * targets in s->eff. */
static int
transition_domain(struct sm_session *s, const struct sm_transition *t)
{
	size_t i;
	int all_desc = 1, anc, ok;

	s->neff = 0;
	if (t->ntargets == 0)
		return -1;
	effective_targets(s, t->targets, t->ntargets);
	if (t->source == 0)
		return 0;
	if (s->neff == 0)
		return -1;
	for (i = 0; i < s->neff; i++)
		if (!is_descendant(s, s->eff[i], t->source))
			all_desc = 0;
	if (t->internal && is_compound(s, t->source) && all_desc)
		return t->source;
	/* findLCCA([source] + targets); the source is a descendant of each anc */
	for (anc = ST(s, t->source)->parent; anc >= 0; anc = ST(s, anc)->parent) {
		if (!(is_compound(s, anc) || anc == 0))
			continue;
		/* the targets are sorted: the first and the last bound the rest */
		ok = is_descendant(s, s->eff[0], anc) && is_descendant(s, s->eff[s->neff - 1], anc);
		if (ok)
			return anc;
	}
	return 0;
}

/* Add the exit set of a transition whose domain is `dom` to `out`: the
 * active states of dom's subtree, one contiguous range of indices. */
static void
exit_set_dom(struct sm_session *s, int dom, unsigned char *out)
{
	int i;

	if (dom < 0)
		return;
	for (i = dom + 1; i <= s->last[dom]; i++)
		if (s->active[i])
			out[i] = 1;
}

/* ---- conflict removal ---------------------------------------------------- */

/*
 * removeConflictingTransitions without comparing every pair of exit sets.
 * A transition's exit set is the active part of its domain's subtree, and
 * subtrees are nested or disjoint, so two non-empty exit sets intersect
 * exactly when one domain is the other or its descendant (and the inner
 * exit set is not empty).  Kept for the transitions accepted so far:
 *   - dom_n[d]: how many have domain d (non-empty exit set only);
 *   - a Fenwick tree over domain indices of the same counts.
 * A new transition conflicts with an accepted one iff some ancestor of its
 * domain has dom_n > 0 (a walk up, depth steps) or the Fenwick count over
 * its domain's subtree [d, last[d]] is > 0 (log n).  Only then is the list
 * of accepted transitions scanned, to apply the W3C rule (the new one
 * replaces those whose source is an ancestor of its source, else it is
 * dropped).  Without conflicts the work is O(depth + log n) per transition
 * instead of two exit sets of O(states) for each pair.
 */
static void
fen_add(struct sm_session *s, int i, int v)
{
	for (i++; i <= (int)s->n; i += i & -i)
		s->cnt[i] += v;
}

static int fen_sum(const struct sm_session *s, int i) /* entries 0 .. i */
{
	int sum = 0;

	for (i++; i > 0; i -= i & -i)
		sum += s->cnt[i];
	return sum;
}

struct rc_item {
	const struct sm_transition *t;
	int dom;                   /* -1: empty exit set, never conflicts */
};

static void
rc_count(struct sm_session *s, const struct rc_item *it, int v)
{
	if (it->dom < 0)
		return;
	s->dom_n[it->dom] += v;
	fen_add(s, it->dom, v);
}

/* Do the non-empty exit sets of domains a and b intersect? */
static int
doms_nested(const struct sm_session *s, int a, int b)
{
	return a == b || is_descendant(s, a, b) || is_descendant(s, b, a);
}

static int
remove_conflicting(struct sm_session *s, struct tlist *enabled)
{
	struct rc_item *items = NULL, *acc = NULL;
	size_t i, j, k, nacc = 0;
	int *act = NULL, d, a;

	if (enabled->n <= 1)
		return 0;
	items = calloc(enabled->n, sizeof(*items));
	acc = calloc(enabled->n, sizeof(*acc));
	act = calloc(s->n + 1, sizeof(*act)); /* act[i]: active states below index i */
	if (!items || !acc || !act)
		goto nomem;
	for (i = 0; i < s->n; i++)
		act[i + 1] = act[i] + (s->active[i] ? 1 : 0);
	for (i = 0; i < enabled->n; i++) {
		items[i].t = enabled->v[i];
		d = transition_domain(s, enabled->v[i]);
		if (s->nomem)
			goto nomem;
		/* an empty exit set (no target, or nothing active below) never conflicts */
		items[i].dom = d >= 0 && act[s->last[d] + 1] - act[d + 1] > 0 ? d : -1;
	}
	memset(s->cnt, 0, (s->n + 1) * sizeof(s->cnt[0]));
	memset(s->dom_n, 0, s->n * sizeof(s->dom_n[0]));
	for (i = 0; i < enabled->n; i++) {
		const struct rc_item *t1 = &items[i];
		int conflict = 0, preempted = 0;

		d = t1->dom;
		if (d >= 0) {
			for (a = ST(s, d)->parent; a >= 0 && !conflict; a = ST(s, a)->parent)
				conflict = s->dom_n[a] > 0;
			if (!conflict)
				conflict = fen_sum(s, s->last[d]) - (d > 0 ? fen_sum(s, d - 1) : 0) > 0;
		}
		if (conflict) {
			for (j = 0; j < nacc && !preempted; j++)
				if (acc[j].dom >= 0 && doms_nested(s, d, acc[j].dom) &&
				    !is_descendant(s, t1->t->source, acc[j].t->source))
					preempted = 1;
			if (preempted)
				continue;
			for (j = 0, k = 0; j < nacc; j++) {
				if (acc[j].dom >= 0 && doms_nested(s, d, acc[j].dom))
					rc_count(s, &acc[j], -1);
				else
					acc[k++] = acc[j];
			}
			nacc = k;
		}
		acc[nacc++] = *t1;
		rc_count(s, t1, 1);
	}
	for (i = 0; i < nacc; i++)
		enabled->v[i] = acc[i].t;
	enabled->n = nacc;
	free(items);
	free(acc);
	free(act);
	return 0;
nomem:
	s->nomem = 1;
	free(items);
	free(acc);
	free(act);
	return -1;
}

/*
 * selectTransitions (ev != NULL) or selectEventlessTransitions (ev == NULL).
 * Every active atomic state looks up its ancestors for the first enabled
 * transition.  Atomic states share ancestors (all regions of a parallel
 * reach the parallel): a state's answer is the same for each of them, so it
 * is computed once per selection (s->sel), each condition evaluated once,
 * and a transition found again is not added twice.
 */
static int
select_transitions(struct sm_session *s, const struct sm_event *ev, struct tlist *out)
{
	size_t i, k;

	if (++s->gen == 0) { /* wrapped: forget every old mark */
		memset(s->sel_gen, 0, s->n * sizeof(s->sel_gen[0]));
		s->gen = 1;
	}
	for (i = 0; i < s->n; i++) {
		int st;
		const struct sm_transition *found = NULL;

		if (!s->active[i] || !is_atomic(s, (int)i))
			continue;
		for (st = (int)i; st >= 0 && !found; st = ST(s, st)->parent) {
			const struct sm_state *S = ST(s, st);

			if (s->sel_gen[st] == s->gen) {
				if (s->sel[st] < 0)
					continue;
				found = S->transitions[s->sel[st]]; /* selected through another state */
				break;
			}
			for (k = 0; k < S->ntransitions && !found; k++) {
				const struct sm_transition *t = S->transitions[k];

				if (ev) {
					if (!t->events || !sm__event_match(t->events, ev->name))
						continue;
				} else if (t->events && t->events[0]) {
					continue;
				}
				if (!cond_true(s, t->cond, t->cond_src, t->line))
					continue;
				if (tl_add(out, t) != 0) {
					s->nomem = 1;
					return -1;
				}
				found = t;
				s->sel[st] = (int)k;
			}
			if (!found)
				s->sel[st] = -1;
			s->sel_gen[st] = s->gen;
		}
	}
	return remove_conflicting(s, out);
}

static void
invocation_free(struct sm_invocation *inv)
{
	json_decref(inv->params);
	free(inv->invokeid);
	free(inv->src);
	free(inv->doc);
	free(inv);
}

int
sm__invocation_machine(const struct sm_session *s, const struct sm_invocation *inv,
    const struct sm_machine **m, struct sm_machine **owned, struct sm_error *err)
{
	const struct sm_invoke *iv = &ST(s, inv->state)->invokes[inv->inv_index];
	struct sm_diags d = { 0 };
	char msg[600];
	int rc;

	*m = iv->child;
	*owned = NULL;
	if (iv->child)
		return 0;
	if (!inv->src && !inv->doc)
		return sm_error_set(err, SM_ENOTFOUND, "the invoked document was not loaded");
	rc = sm_machine_load_child(s->m, inv->src, inv->doc, owned, &d);
	if (rc != 0) {
		sm_error_set(err, rc, "the invoked document %s%s%s does not load: %s",
		    inv->src ? "'" : "(<content expr>)", inv->src ? inv->src : "",
		    inv->src ? "'" : "",
		    d.n ? sm_diag_format(&d.v[0], msg, sizeof(msg)) : sm_strerror(rc));
		sm_diags_free(&d);
		return rc;
	}
	sm_diags_free(&d);
	*m = *owned;
	return 0;
}

static void
cancel_invocations_of(struct sm_session *s, int state)
{
	struct sm_invocation **pp = &s->invs;

	while (*pp) {
		struct sm_invocation *inv = *pp;

		if (inv->state == state) {
			struct sm_effect *fx = fx_add(s, SM_FX_UNINVOKE);

			if (fx)
				fx->invokeid = strdup(inv->invokeid);
			*pp = inv->next;
			invocation_free(inv);
		} else {
			pp = &inv->next;
		}
	}
}

static void
record_history(struct sm_session *s, int st)
{
	const struct sm_state *S = ST(s, st);
	size_t k, i;

	for (k = 0; k < S->nchildren; k++) {
		int h = S->children[k];
		int deep = ST(s, h)->kind == SM_ST_HISTORY_DEEP;
		int cnt = 0;

		if (!is_history(s, h))
			continue;
		free(s->hv[h]);
		s->hv[h] = calloc(s->n, sizeof(int));
		if (!s->hv[h]) {
			s->nomem = 1;
			s->hvn[h] = -1;
			continue;
		}
		/* st's subtree is the range st+1 .. last[st] (document order) */
		for (i = (size_t)st + 1; i <= (size_t)s->last[st]; i++) {
			if (!s->active[i])
				continue;
			if (deep ? is_atomic(s, (int)i) : ST(s, (int)i)->parent == st)
				s->hv[h][cnt++] = (int)i;
		}
		s->hvn[h] = cnt;
	}
}

static void
exit_states(struct sm_session *s, const struct tlist *enabled)
{
	unsigned char *ex = calloc(s->n, 1);
	size_t i, k;
	int st;

	if (!ex) {
		s->nomem = 1;
		return;
	}
	for (i = 0; i < enabled->n; i++)
		exit_set_dom(s, transition_domain(s, enabled->v[i]), ex);
	for (i = 0; i < s->n; i++)
		if (ex[i])
			s->to_invoke[i] = 0;
	for (st = (int)s->n - 1; st >= 0; st--)
		if (ex[st])
			record_history(s, st);
	for (st = (int)s->n - 1; st >= 0; st--) {
		if (!ex[st])
			continue;
		for (k = 0; k < ST(s, st)->nonexit; k++)
			exec_block(s, ST(s, st)->onexit[k]);
		cancel_invocations_of(s, st);
		s->active[st] = 0;
	}
	free(ex);
}

static void add_descendants(struct sm_session *s, int st, int depth);

static int
any_enter_descendant(struct sm_session *s, int child)
{
	int i;

	for (i = child; i <= s->last[child]; i++) /* child and its subtree */
		if (s->enter[i])
			return 1;
	return 0;
}

static void
add_ancestors(struct sm_session *s, int st, int anc, int depth)
{
	int p;
	size_t k;

	for (p = ST(s, st)->parent; p >= 0 && p != anc; p = ST(s, p)->parent) {
		if (p == 0)
			break; /* the root is not part of the configuration */
		s->enter[p] = 1;
		if (ST(s, p)->kind == SM_ST_PARALLEL) {
			for (k = 0; k < ST(s, p)->nchildren; k++) {
				int c = ST(s, p)->children[k];

				if (is_real_state(ST(s, c)) && !any_enter_descendant(s, c))
					add_descendants(s, c, depth + 1);
			}
		}
	}
}

static void
add_descendants(struct sm_session *s, int st, int depth)
{
	const struct sm_state *S = ST(s, st);
	size_t k;
	int j;

	if (s->pseudo_loop)
		return;
	if (depth > SM_MAX_PSEUDO_CHAIN + SM_MAX_DEPTH) {
		pseudo_loop_error(s);
		return;
	}

	if (is_history(s, st)) {
		if (s->hvn[st] >= 0) {
			for (j = 0; j < s->hvn[st]; j++)
				add_descendants(s, s->hv[st][j], depth + 1);
			for (j = 0; j < s->hvn[st]; j++)
				add_ancestors(s, s->hv[st][j], S->parent, depth + 1);
		} else if (S->ntransitions > 0) {
			const struct sm_transition *d = S->transitions[0];

			s->default_hist[S->parent] = d->body;
			for (k = 0; k < d->ntargets; k++)
				add_descendants(s, d->targets[k], depth + 1);
			for (k = 0; k < d->ntargets; k++)
				add_ancestors(s, d->targets[k], S->parent, depth + 1);
		} else {
			/* no default: behave like the parent's default entry */
			const int *tg;
			size_t n;
			struct sm_exec *body;
			int tmp;

			initial_of(s, S->parent, &tg, &n, &body, &tmp);
			for (k = 0; k < n; k++)
				add_descendants(s, tg[k], depth + 1);
			for (k = 0; k < n; k++)
				add_ancestors(s, tg[k], S->parent, depth + 1);
		}
		return;
	}
	if (st != 0)
		s->enter[st] = 1;
	if (is_compound(s, st)) {
		const int *tg;
		size_t n;
		struct sm_exec *body;
		int tmp;

		s->default_entry[st] = 1;
		initial_of(s, st, &tg, &n, &body, &tmp);
		for (k = 0; k < n; k++)
			add_descendants(s, tg[k], depth + 1);
		for (k = 0; k < n; k++)
			add_ancestors(s, tg[k], st, depth + 1);
	} else if (S->kind == SM_ST_PARALLEL) {
		for (k = 0; k < S->nchildren; k++) {
			int c = S->children[k];

			if (is_real_state(ST(s, c)) && !any_enter_descendant(s, c))
				add_descendants(s, c, depth + 1);
		}
	}
}

static int
in_final_state(struct sm_session *s, int st)
{
	const struct sm_state *S = ST(s, st);
	size_t k;

	if (is_compound(s, st)) {
		for (k = 0; k < S->nchildren; k++) {
			int c = S->children[k];

			if (ST(s, c)->kind == SM_ST_FINAL && s->active[c])
				return 1;
		}
		return 0;
	}
	if (S->kind == SM_ST_PARALLEL) {
		for (k = 0; k < S->nchildren; k++) {
			int c = S->children[k];

			if (is_real_state(ST(s, c)) && !in_final_state(s, c))
				return 0;
		}
		return 1;
	}
	return 0;
}

static json_t *
done_data(struct sm_session *s, int st)
{
	const struct sm_state *S = ST(s, st);

	if (S->done_content_expr) {
		json_t *v = NULL;

		if (eval_expr(s, S->done_content_expr, "donedata content", S->line, &v) != 0)
			return NULL;
		return v;
	}
	if (S->ndone_params > 0)
		return eval_params(s, S->done_params, S->ndone_params, NULL, S->line);
	if (S->donedata)
		return json_incref(S->donedata);
	return NULL;
}

/*
 * Give the <data> declaration d its value: the one an invoking parent
 * passed under that name (<param>, namelist), else its expr, else its
 * literal content.  A failed expr raises error.execution and leaves null.
 */
static void
bind_decl(struct sm_session *s, const struct sm_param *d)
{
	json_t *v = s->init ? json_object_get(s->init, d->name) : NULL;

	if (v) {
		v = json_deep_copy(v);
	} else if (d->expr) {
		if (eval_expr(s, d->expr, d->expr_src ? d->expr_src : d->name, d->line, &v) != 0)
			return;
	} else if (!s->bound) {
		return; /* early binding: the datamodel was made from these values */
	} else {
		v = json_object_get(s->m->data, d->name);
		v = v ? json_deep_copy(v) : json_null();
	}
	if (!v || json_object_set_new(s->dm, d->name, v) != 0)
		s->nomem = 1;
}

/* binding="late": the first entry into st binds the <data> it holds. */
static void
bind_state(struct sm_session *s, int st)
{
	size_t i;

	s->bound[st] = 1;
	for (i = 0; i < s->m->ndata_decls; i++)
		if (s->m->data_decls[i].state == st && s->m->data_decls[i].name)
			bind_decl(s, &s->m->data_decls[i]);
}

static void
enter_states(struct sm_session *s, const struct tlist *enabled)
{
	size_t i, k;
	int st;

	memset(s->enter, 0, s->n);
	memset(s->default_entry, 0, s->n);
	memset(s->default_hist, 0, s->n * sizeof(s->default_hist[0]));
	for (i = 0; i < enabled->n; i++) {
		const struct sm_transition *t = enabled->v[i];
		int dom;

		s->pseudo_loop = 0;
		for (k = 0; k < t->ntargets; k++)
			add_descendants(s, t->targets[k], 0);
		s->pseudo_loop = 0;
		dom = transition_domain(s, t); /* leaves the effective targets in s->eff */
		for (k = 0; k < s->neff; k++) {
			s->pseudo_loop = 0;
			add_ancestors(s, s->eff[k], dom, 0);
		}
	}
	for (st = 1; st < (int)s->n; st++) {
		const struct sm_state *S = ST(s, st);

		if (!s->enter[st] || s->active[st])
			continue;
		s->active[st] = 1;
		s->to_invoke[st] = 1;
		if (s->bound && !s->bound[st])
			bind_state(s, st);
		for (k = 0; k < S->nonentry; k++)
			exec_block(s, S->onentry[k]);
		if (s->default_entry[st]) {
			const int *tg;
			size_t n;
			struct sm_exec *body;
			int tmp;

			initial_of(s, st, &tg, &n, &body, &tmp);
			exec_block(s, body);
		}
		if (s->default_hist[st])
			exec_block(s, s->default_hist[st]);
		if (S->kind == SM_ST_FINAL) {
			int parent = S->parent;

			if (parent == 0) {
				s->running = 0;
				s->final = st;
				json_decref(s->donedata);
				s->donedata = done_data(s, st);
			} else {
				char name[512];
				int gp = ST(s, parent)->parent;
				json_t *dd = done_data(s, st);

				snprintf(name, sizeof(name), "done.state.%s", ST(s, parent)->id);
				raise_internal(s, name, dd, SM_EV_PLATFORM);
				json_decref(dd);
				/*
				 * The W3C algorithm looks at the grandparent only; the
				 * prose (3.4) says a parallel whose children are all final
				 * is final itself, so a parallel nested in parallels
				 * completes each enclosing one that is now done too.
				 */
				while (gp > 0 && ST(s, gp)->kind == SM_ST_PARALLEL &&
				    in_final_state(s, gp)) {
					snprintf(name, sizeof(name), "done.state.%s", ST(s, gp)->id);
					raise_internal(s, name, NULL, SM_EV_PLATFORM);
					gp = ST(s, gp)->parent;
				}
			}
		}
	}
}

static void
microstep(struct sm_session *s, const struct tlist *enabled, const struct sm_event *ev)
{
	size_t i;

	if (s->trace)
		for (i = 0; i < enabled->n; i++)
			s->trace(s->trace_arg, s, enabled->v[i], ev);
	exit_states(s, enabled);
	for (i = 0; i < enabled->n; i++)
		exec_block(s, enabled->v[i]->body);
	enter_states(s, enabled);
}

static void
bind_event(struct sm_session *s, const struct sm_event *ev)
{
	if (s->dm)
		json_object_set_new(s->dm, "_event", sm__event_to_json(ev));
}

static void
start_invocations(struct sm_session *s)
{
	size_t k;
	int st;

	for (st = 1; st < (int)s->n; st++) {
		const struct sm_state *S = ST(s, st);

		if (!s->to_invoke[st])
			continue;
		s->to_invoke[st] = 0;
		if (!s->active[st])
			continue;
		for (k = 0; k < S->ninvokes; k++) {
			const struct sm_invoke *iv = &S->invokes[k];
			struct sm_invocation *inv;
			struct sm_effect *fx;
			json_t *params = NULL;
			char idbuf[512], *src = NULL, *doc = NULL;

			if (iv->id) {
				snprintf(idbuf, sizeof(idbuf), "%s", iv->id);
			} else {
				snprintf(idbuf, sizeof(idbuf), "%s.%llu", S->id,
				    (unsigned long long)++s->invoke_seq);
				if (iv->idlocation) {
					json_t *idv = json_string(idbuf);
					int rc = assign_location(s, iv->idlocation, idv, iv->line);

					json_decref(idv);
					if (rc != 0)
						continue;
				}
			}
			if (iv->typeexpr) {
				char *type = NULL;

				if (eval_string(s, iv->typeexpr, NULL, "invoke typeexpr", iv->line,
				        &type) != 0)
					continue;
				if (type && !sm_invoke_type_scxml(type)) {
					exec_error(s, iv->line,
					    "invoke typeexpr gives '%s', not the "
					    "type of a child SCXML machine: the invocation does "
					    "not "
					    "start",
					    type);
					free(type);
					continue;
				}
				free(type);
			}
			if (iv->srcexpr &&
			    eval_string(s, iv->srcexpr, NULL, "invoke srcexpr", iv->line, &src) !=
			        0)
				continue;
			if (iv->content_expr &&
			    eval_string(s, iv->content_expr, NULL, "invoke content expr", iv->line,
			        &doc) != 0)
				continue;
			if (iv->nparams > 0 || iv->namelist) {
				params = eval_params(s, iv->params, iv->nparams, iv->namelist, iv->line);
				if (!params) {
					free(src);
					free(doc);
					continue;
				}
			}
			inv = calloc(1, sizeof(*inv));
			fx = inv ? fx_add(s, SM_FX_INVOKE) : NULL;
			if (!inv || !fx) {
				free(inv);
				free(src);
				free(doc);
				json_decref(params);
				s->nomem = 1;
				continue;
			}
			inv->src = src;
			inv->doc = doc;
			inv->invokeid = strdup(idbuf);
			inv->state = st;
			inv->inv_index = (int)k;
			inv->attempt = 1;
			inv->params = params ? json_incref(params) : NULL;
			{
				struct sm_invocation **pp = &s->invs;

				while (*pp)
					pp = &(*pp)->next;
				*pp = inv;
			}
			fx->invokeid = strdup(idbuf);
			fx->state = st;
			fx->inv_index = (int)k;
			fx->data = params;
		}
	}
}

static void
exit_interpreter(struct sm_session *s)
{
	size_t k;
	int st;
	struct sm_effect *fx;

	for (st = (int)s->n - 1; st >= 1; st--) {
		if (!s->active[st])
			continue;
		for (k = 0; k < ST(s, st)->nonexit; k++)
			exec_block(s, ST(s, st)->onexit[k]);
		cancel_invocations_of(s, st);
		s->active[st] = 0;
	}
	fx = fx_add(s, SM_FX_DONE);
	if (fx) {
		fx->state = s->final;
		fx->data = s->donedata ? json_incref(s->donedata) : NULL;
	}
}

/* The rest of a macrostep after the first microstep (or after entry). */
static void
macrostep(struct sm_session *s)
{
	struct tlist en = { 0 };
	unsigned long steps = 0;

	for (;;) {
		while (s->running) {
			struct sm_event *ev = NULL;

			if (++steps > SM_MAX_MICROSTEPS) {
				/* an eventless or raise loop would hang the whole process:
				 * end this session instead (no final state reached) */
				char msg[300];

				snprintf(msg, sizeof(msg), "%s: macrostep did not settle after %d "
				    "microsteps (a loop of eventless transitions or raised events?): "
				    "session stopped", s->m->path ? s->m->path : "<machine>",
				    SM_MAX_MICROSTEPS);
				json_array_append_new(s->errors, json_string(msg));
				sm_log_error("%s: %s", s->sessionid, msg);
				s->running = 0;
				break;
			}

			en.n = 0;
			select_transitions(s, NULL, &en);
			if (en.n == 0) {
				ev = dequeue(&s->iq_head, &s->iq_tail);
				if (!ev)
					break;
				bind_event(s, ev);
				select_transitions(s, ev, &en);
			}
			if (en.n > 0)
				microstep(s, &en, ev);
			sm__event_free(ev);
		}
		if (!s->running)
			break;
		start_invocations(s);
		if (!s->iq_head)
			break;
	}
	free(en.v);
	if (!s->running) {
		struct sm_event *ev;

		while ((ev = dequeue(&s->iq_head, &s->iq_tail)) != NULL)
			sm__event_free(ev);
		exit_interpreter(s);
	}
}

/* ---- public (engine-private) API ---------------------------------------- */

int
sm__session_create(const struct sm_machine *m, const char *sessionid, json_t *task,
    struct sm_session **out, struct sm_error *err)
{
	struct sm_session *s;
	size_t i;

	*out = NULL;
	if (!m || m->nstates == 0 || !sessionid)
		return sm_error_set(err, SM_EINVAL, "session needs a loaded machine and an id");
	s = calloc(1, sizeof(*s));
	if (!s)
		return sm_error_set(err, SM_ENOMEM, "out of memory creating a session");
	s->m = m;
	s->n = m->nstates;
	s->final = -1;
	s->sessionid = strdup(sessionid);
	s->active = calloc(s->n, 1);
	s->to_invoke = calloc(s->n, 1);
	s->enter = calloc(s->n, 1);
	s->default_entry = calloc(s->n, 1);
	s->default_hist = calloc(s->n, sizeof(s->default_hist[0]));
	s->hv = calloc(s->n, sizeof(s->hv[0]));
	s->hvn = calloc(s->n, sizeof(s->hvn[0]));
	s->last = calloc(s->n, sizeof(s->last[0]));
	s->atomic = calloc(s->n, 1);
	s->cnt = calloc(s->n + 1, sizeof(s->cnt[0]));
	s->dom_n = calloc(s->n, sizeof(s->dom_n[0]));
	s->sel = calloc(s->n, sizeof(s->sel[0]));
	s->sel_gen = calloc(s->n, sizeof(s->sel_gen[0]));
	s->errors = json_array();
	if (!s->sessionid || !s->active || !s->to_invoke || !s->enter || !s->default_entry ||
	    !s->default_hist || !s->hv || !s->hvn || !s->last || !s->atomic || !s->cnt ||
	    !s->dom_n || !s->sel || !s->sel_gen || !s->errors)
		goto nomem;
	if (tree_index(s) != 0) {
		sm__session_free(s);
		return sm_error_set(err, SM_EBUG, "machine states are not in document order");
	}
	if (m->binding_late && m->datamodel == SM_DM_TASK && !(s->bound = calloc(s->n, 1)))
		goto nomem;
	for (i = 0; i < s->n; i++)
		s->hvn[i] = -1;
	if (m->datamodel == SM_DM_TASK) {
		s->dm = m->data ? json_deep_copy(m->data) : json_object();
		if (!s->dm || !json_is_object(s->dm))
			goto nomem;
		json_object_set_new(s->dm, "task", task ? json_deep_copy(task) : json_object());
		json_object_set_new(s->dm, "_event", json_null());
	}
	*out = s;
	return 0;
nomem:
	sm__session_free(s);
	return sm_error_set(err, SM_ENOMEM, "out of memory creating a session");
}

void
sm__session_free(struct sm_session *s)
{
	struct sm_event *ev;
	size_t i;

	if (!s)
		return;
	while ((ev = dequeue(&s->iq_head, &s->iq_tail)) != NULL)
		sm__event_free(ev);
	while ((ev = dequeue(&s->eq_head, &s->eq_tail)) != NULL)
		sm__event_free(ev);
	while (s->invs) {
		struct sm_invocation *inv = s->invs;

		s->invs = inv->next;
		invocation_free(inv);
	}
	sm__effects_free(s->fx_head);
	if (s->hv)
		for (i = 0; i < s->n; i++)
			free(s->hv[i]);
	free(s->hv);
	free(s->hvn);
	free(s->active);
	free(s->to_invoke);
	free(s->enter);
	free(s->default_entry);
	free(s->default_hist);
	free(s->last);
	free(s->atomic);
	free(s->cnt);
	free(s->dom_n);
	free(s->sel);
	free(s->sel_gen);
	free(s->eff);
	free(s->bound);
	json_decref(s->dm);
	json_decref(s->sys);
	json_decref(s->errors);
	json_decref(s->donedata);
	json_decref(s->init);
	free(s->sessionid);
	free(s);
}

void
sm__session_set_initial(struct sm_session *s, json_t *params)
{
	json_decref(s->init);
	s->init = params ? json_deep_copy(params) : NULL;
}

void
sm__session_set_trace(struct sm_session *s, sm_trace_fn *fn, void *arg)
{
	s->trace = fn;
	s->trace_arg = arg;
}

int
sm__session_start(struct sm_session *s)
{
	struct sm_transition init;
	struct tlist en = { 0 };
	struct sm_exec *body;
	const int *tg;
	size_t n;
	int tmp;

	if (s->started)
		return SM_EINVAL;
	s->started = 1;
	s->running = 1;
	if (s->dm) {
		size_t i;

		/* early binding: every <data> in document order; late: those of
		 * the root now, the others when their state is first entered
		 * (null until then).  Values an invoking parent passes set only
		 * the names the document declares (SCXML 6.4). */
		for (i = 0; i < s->m->ndata_decls; i++) {
			const struct sm_param *d = &s->m->data_decls[i];

			if (!d->name)
				continue;
			if (s->bound && d->state > 0)
				json_object_set_new(s->dm, d->name, json_null());
			else
				bind_decl(s, d);
		}
		if (s->bound)
			s->bound[0] = 1;
	}
	memset(&init, 0, sizeof(init));
	initial_of(s, 0, &tg, &n, &body, &tmp);
	init.source = 0;
	init.targets = (int *)tg;
	init.ntargets = n;
	init.body = body;
	init.line = ST(s, 0)->line;
	if (tl_add(&en, &init) != 0)
		return SM_ENOMEM;
	enter_states(s, &en);
	free(en.v);
	macrostep(s);
	return s->nomem ? SM_ENOMEM : 0;
}

void
sm__session_push(struct sm_session *s, struct sm_event *ev)
{
	enqueue(&s->eq_head, &s->eq_tail, ev);
	s->eq_len++;
}

size_t
sm__session_pending(const struct sm_session *s)
{
	return s->eq_len;
}

struct sm_invocation *
sm__session_invocation(struct sm_session *s, const char *invokeid)
{
	struct sm_invocation *inv;

	for (inv = s->invs; inv; inv = inv->next)
		if (strcmp(inv->invokeid, invokeid) == 0)
			return inv;
	return NULL;
}

int
sm__session_step(struct sm_session *s, struct sm_event **consumed)
{
	struct sm_event *ev;
	struct tlist en = { 0 };
	struct sm_invocation *inv;

	if (consumed)
		*consumed = NULL;
	if (!s->running || !s->started)
		return 0;
	ev = dequeue(&s->eq_head, &s->eq_tail);
	if (!ev)
		return 0;
	s->eq_len--;
	/* Events an invocation sent before it was cancelled are still
	 * delivered (W3C test 236); a cancelled child sends nothing more
	 * because the engine stops it at once. */
	bind_event(s, ev);
	for (inv = s->invs; inv; inv = inv->next) {
		const struct sm_invoke *iv = &ST(s, inv->state)->invokes[inv->inv_index];

		if (ev->invokeid && strcmp(inv->invokeid, ev->invokeid) == 0)
			exec_block(s, iv->finalize);
		if (iv->autoforward) {
			struct sm_effect *fx = fx_add(s, SM_FX_FORWARD);

			if (fx) {
				fx->invokeid = strdup(inv->invokeid);
				fx->event = strdup(ev->name);
				fx->data = ev->data ? json_incref(ev->data) : NULL;
			}
		}
	}
	select_transitions(s, ev, &en);
	if (en.n > 0)
		microstep(s, &en, ev);
	free(en.v);
	macrostep(s);
	if (consumed)
		*consumed = ev;
	else
		sm__event_free(ev);
	return 1;
}

void
sm__session_abort(struct sm_session *s, const char *msg)
{
	struct sm_event *ev;

	if (!s->running)
		return;
	json_array_append_new(s->errors, json_string(msg));
	s->running = 0;
	while ((ev = dequeue(&s->iq_head, &s->iq_tail)) != NULL)
		sm__event_free(ev);
	exit_interpreter(s);
}

int
sm__session_has_effects(const struct sm_session *s)
{
	return s->fx_head != NULL;
}

struct sm_event *
sm__session_take_queue(struct sm_session *s)
{
	struct sm_event *q = s->eq_head;

	s->eq_head = s->eq_tail = NULL;
	s->eq_len = 0;
	return q;
}

const struct sm_event *
sm__session_queue(const struct sm_session *s)
{
	return s->eq_head;
}

struct sm_effect *
sm__session_take_effects(struct sm_session *s)
{
	struct sm_effect *fx = s->fx_head;

	s->fx_head = s->fx_tail = NULL;
	return fx;
}

json_t *
sm__session_errors(struct sm_session *s)
{
	return s->errors;
}

void
sm__session_clear_errors(struct sm_session *s)
{
	if (json_array_size(s->errors))
		json_array_clear(s->errors);
}

json_t *
sm__session_take_errors(struct sm_session *s)
{
	json_t *e = s->errors;

	s->errors = json_array();
	return e;
}

int
sm__session_running(const struct sm_session *s)
{
	return s->running;
}

const char *
sm__session_final(const struct sm_session *s)
{
	return s->final >= 0 ? s->m->states[s->final].id : NULL;
}

const struct sm_machine *
sm__session_machine(const struct sm_session *s)
{
	return s->m;
}

struct sm_invocation *
sm__session_invocations(struct sm_session *s)
{
	return s->invs;
}

json_t *
sm__session_datamodel(struct sm_session *s)
{
	return s->dm;
}

json_t *
sm__session_config_json(const struct sm_session *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < s->n; i++)
		if (s->active[i])
			json_array_append_new(a, json_string(s->m->states[i].id));
	return a;
}

json_t *
sm__session_save(const struct sm_session *s)
{
	json_t *j = json_object(), *hist = json_object(), *invs = json_array();
	struct sm_invocation *inv;
	size_t i;
	int k;

	if (!j || !hist || !invs) {
		json_decref(j);
		json_decref(hist);
		json_decref(invs);
		return NULL;
	}
	json_object_set_new(j, "config", sm__session_config_json(s));
	for (i = 0; i < s->n; i++) {
		json_t *a;

		if (s->hvn[i] < 0)
			continue;
		a = json_array();
		for (k = 0; k < s->hvn[i]; k++)
			json_array_append_new(a, json_string(s->m->states[s->hv[i][k]].id));
		json_object_set_new(hist, s->m->states[i].id, a);
	}
	json_object_set_new(j, "history", hist);
	/* a reference, not a copy: the caller dumps the tree before the
	 * session runs again */
	json_object_set_new(j, "datamodel", s->dm ? json_incref(s->dm) : json_null());
	json_object_set_new(j, "running", json_boolean(s->running));
	json_object_set_new(j, "final", s->final >= 0 ? json_string(s->m->states[s->final].id)
	    : json_null());
	json_object_set_new(j, "donedata", s->donedata ? json_incref(s->donedata) : json_null());
	json_object_set_new(j, "send_seq", json_integer((json_int_t)s->send_seq));
	json_object_set_new(j, "invoke_seq", json_integer((json_int_t)s->invoke_seq));
	for (inv = s->invs; inv; inv = inv->next) {
		json_t *a = json_pack("{s:s,s:s,s:i,s:i,s:O}", "id", inv->invokeid,
		    "state", s->m->states[inv->state].id, "index", inv->inv_index,
		    "attempt", inv->attempt, "params", inv->params ? inv->params : json_null());

		if (a && inv->finished)
			json_object_set_new(a, "finished", json_true());
		if (a && inv->src)
			json_object_set_new(a, "src", json_string(inv->src));
		if (a && inv->doc)
			json_object_set_new(a, "doc", json_string(inv->doc));
		json_array_append_new(invs, a);
	}
	json_object_set_new(j, "invocations", invs);
	if (s->bound) {
		json_t *b = json_array();

		for (i = 0; b && i < s->n; i++)
			if (s->bound[i])
				json_array_append_new(b, json_string(s->m->states[i].id));
		json_object_set_new(j, "bound", b);
	}
	return j;
}

int
sm__session_restore(struct sm_session *s, json_t *state, struct sm_error *err)
{
	json_t *v, *a;
	const char *key;
	size_t i;
	struct sm_invocation **tailp = &s->invs;

	if (!json_is_object(state))
		return sm_error_set(err, SM_ECORRUPT, "instance state is not a json object");
	v = json_object_get(state, "config");
	if (!json_is_array(v))
		return sm_error_set(err, SM_ECORRUPT, "instance state has no 'config' array");
	json_array_foreach(v, i, a) {
		int st = json_is_string(a) ? find_state(s, json_string_value(a)) : -1;

		if (st < 0)
			return sm_error_set(err, SM_ECORRUPT,
			    "instance state names state '%s' that machine '%s' does not have",
			    json_is_string(a) ? json_string_value(a) : "?", s->m->name ? s->m->name : "");
		s->active[st] = 1;
	}
	v = json_object_get(state, "history");
	json_object_foreach(v, key, a) {
		int h = find_state(s, key);
		size_t j;
		json_t *e;

		if (h < 0 || !json_is_array(a))
			return sm_error_set(err, SM_ECORRUPT, "bad history entry '%s' in instance state", key);
		free(s->hv[h]);
		s->hv[h] = calloc(json_array_size(a) + 1, sizeof(int));
		if (!s->hv[h])
			return sm_error_set(err, SM_ENOMEM, "out of memory restoring history");
		s->hvn[h] = 0;
		json_array_foreach(a, j, e) {
			int st = json_is_string(e) ? find_state(s, json_string_value(e)) : -1;

			if (st < 0)
				return sm_error_set(err, SM_ECORRUPT, "bad history value in '%s'", key);
			s->hv[h][s->hvn[h]++] = st;
		}
	}
	v = json_object_get(state, "datamodel");
	if (s->dm && json_is_object(v)) {
		json_decref(s->dm);
		s->dm = json_deep_copy(v);
		if (!s->dm)
			return sm_error_set(
			    err, SM_ENOMEM, "out of memory restoring the datamodel");
	}
	s->running = json_is_true(json_object_get(state, "running"));
	s->started = 1;
	v = json_object_get(state, "final");
	s->final = json_is_string(v) ? find_state(s, json_string_value(v)) : -1;
	v = json_object_get(state, "donedata");
	if (v && !json_is_null(v))
		s->donedata = json_deep_copy(v);
	if (s->bound) {
		/* a record without "bound" predates late binding: all were bound */
		v = json_object_get(state, "bound");
		memset(s->bound, v ? 0 : 1, s->n);
		json_array_foreach(v, i, a)
		{
			int st = json_is_string(a) ? find_state(s, json_string_value(a)) : -1;

			if (st < 0)
				return sm_error_set(
				    err, SM_ECORRUPT, "bad 'bound' state in instance state");
			s->bound[st] = 1;
		}
	}
	s->send_seq = (uint64_t)json_integer_value(json_object_get(state, "send_seq"));
	s->invoke_seq = (uint64_t)json_integer_value(json_object_get(state, "invoke_seq"));
	v = json_object_get(state, "invocations");
	json_array_foreach(v, i, a) {
		const char *id = json_string_value(json_object_get(a, "id"));
		const char *sid = json_string_value(json_object_get(a, "state"));
		int st = sid ? find_state(s, sid) : -1;
		json_int_t idx = json_integer_value(json_object_get(a, "index"));
		struct sm_invocation *inv;

		if (!id || st < 0 || idx < 0 || (size_t)idx >= ST(s, st)->ninvokes)
			return sm_error_set(err, SM_ECORRUPT, "bad invocation in instance state");
		inv = calloc(1, sizeof(*inv));
		if (!inv || !(inv->invokeid = strdup(id))) {
			free(inv);
			return sm_error_set(err, SM_ENOMEM, "out of memory restoring invocations");
		}
		inv->state = st;
		inv->inv_index = (int)idx;
		inv->attempt = (int)json_integer_value(json_object_get(a, "attempt"));
		if (inv->attempt < 1)
			inv->attempt = 1;
		inv->finished = json_is_true(json_object_get(a, "finished"));
		inv->src = json_str_dup(a, "src");
		inv->doc = json_str_dup(a, "doc");
		{
			json_t *p = json_object_get(a, "params");

			inv->params = json_is_object(p) ? json_deep_copy(p) : NULL;
		}
		*tailp = inv;
		tailp = &inv->next;
	}
	return 0;
}

void
sm__event_write(const struct sm_event *ev, struct sm_jw *w)
{
	sm_jw_lit(w, "{\"name\":");
	sm_jw_str(w, ev->name);
	sm_jw_lit(w, ",\"data\":");
	sm_jw_json(w, ev->data);
	sm_jw_lit(w, ",\"sendid\":");
	sm_jw_str(w, ev->sendid);
	sm_jw_lit(w, ",\"origin\":");
	sm_jw_str(w, ev->origin);
	sm_jw_lit(w, ",\"invokeid\":");
	sm_jw_str(w, ev->invokeid);
	sm_jw_lit(w, ",\"type\":\"");
	sm_jw_lit(w, event_type_name(ev->type));
	sm_jw_lit(w, "\"}");
}

void
sm__config_write(const struct sm_machine *m, const unsigned char *active, struct sm_jw *w)
{
	size_t i;
	int first = 1;

	sm_jw_raw(w, "[", 1);
	for (i = 0; i < m->nstates; i++) {
		if (!active[i])
			continue;
		if (!first)
			sm_jw_raw(w, ",", 1);
		first = 0;
		sm_jw_str(w, m->states[i].id);
	}
	sm_jw_raw(w, "]", 1);
}

const unsigned char *
sm__session_active(const struct sm_session *s)
{
	return s->active;
}

void
sm__session_write(const struct sm_session *s, struct sm_jw *w)
{
	struct sm_invocation *inv;
	size_t i;
	int k, first = 1;

	sm_jw_lit(w, "{\"config\":");
	sm__config_write(s->m, s->active, w);
	sm_jw_lit(w, ",\"history\":{");
	for (i = 0; i < s->n; i++) {
		if (s->hvn[i] < 0)
			continue;
		if (!first)
			sm_jw_raw(w, ",", 1);
		first = 0;
		sm_jw_str(w, s->m->states[i].id);
		sm_jw_raw(w, ":[", 2);
		for (k = 0; k < s->hvn[i]; k++) {
			if (k)
				sm_jw_raw(w, ",", 1);
			sm_jw_str(w, s->m->states[s->hv[i][k]].id);
		}
		sm_jw_raw(w, "]", 1);
	}
	sm_jw_lit(w, "},\"datamodel\":");
	sm_jw_json(w, s->dm);
	sm_jw_lit(w, s->running ? ",\"running\":true,\"final\":" : ",\"running\":false,\"final\":");
	sm_jw_str(w, s->final >= 0 ? s->m->states[s->final].id : NULL);
	sm_jw_lit(w, ",\"donedata\":");
	sm_jw_json(w, s->donedata);
	sm_jw_lit(w, ",\"send_seq\":");
	sm_jw_int(w, (int64_t)s->send_seq);
	sm_jw_lit(w, ",\"invoke_seq\":");
	sm_jw_int(w, (int64_t)s->invoke_seq);
	sm_jw_lit(w, ",\"invocations\":[");
	for (inv = s->invs; inv; inv = inv->next) {
		if (inv != s->invs)
			sm_jw_raw(w, ",", 1);
		sm_jw_lit(w, "{\"id\":");
		sm_jw_str(w, inv->invokeid);
		sm_jw_lit(w, ",\"state\":");
		sm_jw_str(w, s->m->states[inv->state].id);
		sm_jw_lit(w, ",\"index\":");
		sm_jw_int(w, inv->inv_index);
		sm_jw_lit(w, ",\"attempt\":");
		sm_jw_int(w, inv->attempt);
		if (inv->finished)
			sm_jw_lit(w, ",\"finished\":true");
		sm_jw_lit(w, ",\"params\":");
		sm_jw_json(w, inv->params);
		if (inv->src) {
			sm_jw_lit(w, ",\"src\":");
			sm_jw_str(w, inv->src);
		}
		if (inv->doc) {
			sm_jw_lit(w, ",\"doc\":");
			sm_jw_str(w, inv->doc);
		}
		sm_jw_raw(w, "}", 1);
	}
	sm_jw_lit(w, "]");
	if (s->bound) {
		/* binding="late": the states whose <data> are bound */
		sm_jw_lit(w, ",\"bound\":");
		sm__config_write(s->m, s->bound, w);
	}
	sm_jw_lit(w, "}");
}
