/*
 * sm_action.c - the action registry, action call objects and the retry
 * policy arithmetic.  Reporting (sm_action_done/fail) lives in sm_engine.c
 * because it feeds events back into instances.
 */
#include <stdlib.h>
#include <string.h>

#include "sm_engine.h"
#include "sm_interp_private.h"
#include "sm_model.h"

int
sm__actions_add(struct sm__actions *r, const struct sm_action_def *def)
{
	struct sm_action_def *d;

	if (!def || !def->name || !def->name[0] || !def->start)
		return SM_EINVAL;
	if (sm__actions_find(r, def->name))
		return SM_EEXISTS;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct sm_action_def *nv = realloc(r->v, cap * sizeof(*nv));

		if (!nv)
			return SM_ENOMEM;
		r->v = nv;
		r->cap = cap;
	}
	d = &r->v[r->n];
	*d = *def;
	d->name = strdup(def->name);
	if (!d->name)
		return SM_ENOMEM;
	r->n++;
	return 0;
}

const struct sm_action_def *
sm__actions_find(const struct sm__actions *r, const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	return NULL;
}

void
sm__actions_free(struct sm__actions *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free((char *)r->v[i].name);
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

struct sm_action_call *
sm__call_new(struct sm_engine *e, struct sm__inst *inst,
    const char *instance_id, const char *invokeid, const struct sm_action_def *def,
    json_t *params, int attempt)
{
	struct sm_action_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->engine = e;
	c->inst = inst;
	c->instance_id = strdup(instance_id);
	c->invokeid = strdup(invokeid);
	c->name = strdup(def->name);
	c->params = params ? json_deep_copy(params) : json_object();
	c->def = def;
	c->attempt = attempt;
	if (!c->instance_id || !c->invokeid || !c->name || !c->params) {
		sm__call_free(c);
		return NULL;
	}
	return c;
}

void
sm__call_free(struct sm_action_call *c)
{
	if (!c)
		return;
	free(c->instance_id);
	free(c->invokeid);
	free(c->name);
	json_decref(c->params);
	free(c);
}

struct sm_engine *
sm_action_call_engine(const struct sm_action_call *call)
{
	return call->engine;
}

const char *
sm_action_call_instance(const struct sm_action_call *call)
{
	return call->instance_id;
}

const char *
sm_action_call_invokeid(const struct sm_action_call *call)
{
	return call->invokeid;
}

const char *
sm_action_call_name(const struct sm_action_call *call)
{
	return call->name;
}

json_t *
sm_action_call_params(const struct sm_action_call *call)
{
	return call->params;
}

int
sm_action_call_attempt(const struct sm_action_call *call)
{
	return call->attempt;
}

void *
sm_action_call_arg(const struct sm_action_call *call)
{
	return call->def->arg;
}

void
sm_action_call_set_data(struct sm_action_call *call, void *data)
{
	call->data = data;
}

void *
sm_action_call_data(const struct sm_action_call *call)
{
	return call->data;
}

int
sm_retry_should(const struct sm_retry *r, int attempt, const char *error)
{
	size_t i;

	if (!r || attempt >= r->max_attempts)
		return 0;
	if (!r->errors)
		return 1;
	if (!error)
		error = "error.execution";
	for (i = 0; r->errors[i]; i++) {
		char *const one[2] = { r->errors[i], NULL };

		if (sm__event_match(one, error))
			return 1;
	}
	return 0;
}

int64_t
sm_retry_delay_ms(const struct sm_retry *r, int attempt, uint64_t rnd)
{
	double d, rate;
	int64_t cap, ms;
	int i;

	if (!r || attempt < 1)
		return 0;
	cap = r->max_delay_ms > 0 ? r->max_delay_ms : INT64_MAX / 4;
	rate = r->backoff_rate >= 1.0 ? r->backoff_rate : 1.0;
	d = (double)r->initial_delay_ms;
	for (i = 1; i < attempt && d < (double)cap; i++)
		d *= rate; /* no libm: at most `attempt` multiplications */
	if (!(d < (double)cap))
		ms = cap;
	else
		ms = (int64_t)(d + 0.5);
	if (ms < 0)
		ms = 0;
	if (r->jitter)
		ms = (int64_t)(rnd % ((uint64_t)ms + 1));
	return ms;
}
