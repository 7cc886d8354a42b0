/*
 * rt_boot.c - open loop, state directory, store, transport and engine from
 * one configuration, close them in reverse.  See rt_boot.h.
 */
#include "rt_boot.h"

#include <stdlib.h>

#include "rt_config.h"
#include "sm_engine.h"
#include "sm_loop.h"
#include "sm_statedir.h"
#include "store.h"
#include "transport.h"

struct rt {
	struct sm_loop *loop;
	struct sm_statedir *sd;
	struct store *store;
	struct tp *tp;
	struct sm_engine *engine;
	rt_close_fn *close_fn;
	void *close_arg;
};

/*
 * RT_CLIENT on the local backend: the state directory without its lock (a
 * daemon may hold it); one that does not exist yet is made by a writer's
 * open, closed at once.
 */
static int
open_beside(struct rt *rt, const char *dir, struct sm_error *err)
{
	struct sm_statedir *made = NULL;
	int rc = sm_statedir_open(&rt->sd, dir, SM_STATEDIR_READ, err);

	if (rc != SM_ENOTFOUND)
		return rc;
	sm_error_clear(err);
	if ((rc = sm_statedir_open(&made, dir, SM_STATEDIR_WRITE, err)) != 0)
		return rc;
	sm_statedir_close(made);
	return sm_statedir_open(&rt->sd, dir, SM_STATEDIR_READ, err);
}

int
rt_open(struct rt **out, const struct rt_config *cfg, unsigned flags, struct sm_error *err)
{
	struct store_options so;
	struct tp_config tc;
	struct rt *rt;
	int rc;

	*out = NULL;
	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	if ((rc = sm_loop_create(&rt->loop)) != 0) {
		sm_error_set(err, rc, "cannot create the event loop: %s", sm_strerror(rc));
		goto fail;
	}
	if (flags & RT_CLIENT) {
		if (cfg->backend != RT_BACKEND_AWS &&
		    (rc = open_beside(rt, cfg->state_dir, err)) != 0)
			goto fail;
	} else if (!(flags & RT_VOLATILE)) {
		/* the lock first: nothing below is opened beside another writer */
		if ((rc = sm_statedir_open(&rt->sd, cfg->state_dir, SM_STATEDIR_WRITE, err)) != 0)
			goto fail;
	}
	if (rt->sd) {
		store_options_init(&so);
		so.durability = cfg->durability;
		if ((rc = store_open(&rt->store, sm_statedir_path(rt->sd), &so, err)) != 0)
			goto fail;
	}
	if ((flags & RT_CLIENT) || !(flags & (RT_VOLATILE | RT_NO_TRANSPORT))) {
		tp_config_init(&tc);
		tc.backend = cfg->backend == RT_BACKEND_AWS ? "aws" : "local";
		tc.state_dir = rt->sd ? sm_statedir_path(rt->sd) : NULL;
		tc.store = rt->store;
		if ((rc = tp_create(&rt->tp, rt->loop, &tc, err)) != 0) {
			sm_error_prefix(err, "transport (backend %s)", tc.backend);
			goto fail;
		}
	}
	if (!(flags & RT_CLIENT) &&
	    (rc = sm_engine_create(&rt->engine, rt->loop, rt->store, err)) != 0)
		goto fail;
	*out = rt;
	return 0;
fail:
	rt_close(rt);
	return rc;
}

void
rt_close(struct rt *rt)
{
	if (rt == NULL)
		return;
	if (rt->engine) {
		sm_engine_flush(rt->engine, NULL); /* what reached the store stays consistent */
		sm_engine_destroy(rt->engine);
	}
	tp_destroy(rt->tp);
	if (rt->close_fn)
		rt->close_fn(rt->close_arg);
	store_close(rt->store);
	sm_statedir_close(rt->sd);
	if (rt->loop)
		sm_loop_destroy(rt->loop);
	free(rt);
}

void
rt_on_close(struct rt *rt, rt_close_fn *fn, void *arg)
{
	rt->close_fn = fn;
	rt->close_arg = arg;
}

int
rt_register_actions(struct rt *rt, const struct sm_action_def *defs, size_t n,
    struct sm_error *err)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = sm_engine_register_action(rt->engine, &defs[i])) != 0)
			return sm_error_set(err, rc, "action '%s': %s", defs[i].name,
			    rc == SM_EEXISTS ? "registered twice" : sm_strerror(rc));
	return 0;
}

int
rt_recover(struct rt *rt, struct sm_error *err)
{
	return sm_engine_recover(rt->engine, err);
}

struct sm_loop *
rt_loop(const struct rt *rt)
{
	return rt->loop;
}

struct sm_statedir *
rt_statedir(const struct rt *rt)
{
	return rt->sd;
}

struct store *
rt_store(const struct rt *rt)
{
	return rt->store;
}

struct tp *
rt_transport(const struct rt *rt)
{
	return rt->tp;
}

struct sm_engine *
rt_engine(const struct rt *rt)
{
	return rt->engine;
}
