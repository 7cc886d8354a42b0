/*
 * act_ctx.c - the actions' shared context: the queue URL cache.
 */
#include <stdlib.h>
#include <string.h>

#include "act_ctx.h"
#include "sm_log.h"
#include "transport.h"

struct act__qurl {
	struct act__qurl *next;
	char *name;
	char *url;
};

/* A lookup in flight: GetQueueUrl, then CreateQueue when the queue is
 * missing (`op` is the one in flight).  When cancelled, `cb` is NULL and
 * the transport's callback only frees it. */
struct act__lookup {
	struct act__lookup *next;
	struct act_ctx *ctx;
	uint64_t handle;
	tp_op_id op;
	char *name;
	act_url_cb *cb;
	void *arg;
};


void
act_ctx_init(struct act_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

void
act_ctx_clear(struct act_ctx *ctx)
{
	struct act__qurl *q, *next;
	struct act__lookup *l;

	if (!ctx)
		return;
	for (q = ctx->qurls; q; q = next) {
		next = q->next;
		free(q->name);
		free(q->url);
		free(q);
	}
	ctx->qurls = NULL;
	if (ctx->queue_urls) {
		for (size_t i = 0; i < ctx->nqueues; i++)
			free(ctx->queue_urls[i]);
		free(ctx->queue_urls);
		ctx->queue_urls = NULL;
	}
	/* tp_destroy ran before (act_ctx.h): nothing is in flight */
	while ((l = ctx->lookups) != NULL) {
		ctx->lookups = l->next;
		free(l->name);
		free(l);
	}
}

static const char *
cache_find(struct act_ctx *ctx, const char *name)
{
	for (struct act__qurl *q = ctx->qurls; q; q = q->next)
		if (strcmp(q->name, name) == 0)
			return q->url;
	return NULL;
}

static const char *
cache_add(struct act_ctx *ctx, const char *name, const char *url)
{
	struct act__qurl *q;
	const char *have = cache_find(ctx, name);

	if (have)
		return have;
	q = calloc(1, sizeof(*q));
	if (!q || !(q->name = strdup(name)) || !(q->url = strdup(url))) {
		if (q)
			free(q->name);
		free(q);
		return NULL;
	}
	q->next = ctx->qurls;
	ctx->qurls = q;
	return q->url;
}

static void
lookup_unlink(struct act__lookup *l)
{
	struct act__lookup **pp;

	for (pp = &l->ctx->lookups; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	free(l->name);
	free(l);
}

static void
lookup_finish(struct act__lookup *l, int code, const char *message,
    const char *url)
{
	act_url_cb *cb = l->cb;
	void *arg = l->arg;
	const char *kept = url;

	if (code == 0) {
		kept = cache_add(l->ctx, l->name, url);
		if (!kept) {
			code = SM_ENOMEM;
			message = "out of memory";
		}
	}
	lookup_unlink(l);
	if (cb)
		cb(arg, code, message, kept);
}

static void
on_created(void *arg, const struct tp_result *r, const char *url)
{
	struct act__lookup *l = arg;

	lookup_finish(l, r->code, r->message, url);
}

static void
on_url(void *arg, const struct tp_result *r, const char *url)
{
	struct act__lookup *l = arg;
	int rc;

	if (r->code == SM_ENOTFOUND && l->cb) {
		rc = tp_queue_create(l->ctx->tp, l->name, NULL, 0, on_created, l, &l->op);
		if (rc == 0)
			return;
		lookup_finish(l, rc, "cannot start CreateQueue", NULL);
		return;
	}
	lookup_finish(l, r->code, r->message, url);
}

int
act_ctx_queue_url(struct act_ctx *ctx, const char *name, const char **url,
    act_url_cb *cb, void *arg, uint64_t *handle)
{
	struct act__lookup *l;
	int rc;

	if (!name || !*name)
		return SM_EINVAL;
	if ((*url = cache_find(ctx, name)) != NULL)
		return 1;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->name = strdup(name))) {
		free(l);
		return SM_ENOMEM;
	}
	l->ctx = ctx;
	l->cb = cb;
	l->arg = arg;
	l->handle = ++ctx->lookup_seq;
	l->next = ctx->lookups;
	ctx->lookups = l;
	rc = tp_queue_get_url(ctx->tp, name, on_url, l, &l->op);
	if (rc != 0) {
		ctx->lookups = l->next;
		free(l->name);
		free(l);
		return rc;
	}
	*handle = l->handle;
	return 0;
}

void
act_ctx_queue_url_cancel(struct act_ctx *ctx, uint64_t handle)
{
	for (struct act__lookup *l = ctx->lookups; l; l = l->next)
		if (l->handle == handle) {
			/* its callback runs now (SM_ECANCELED) and frees it */
			l->cb = NULL;
			tp_cancel(ctx->tp, l->op);
			return;
		}
}
