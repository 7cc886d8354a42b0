/*
 * transport.c - the public face of struct tp: argument checks every backend
 * would make, the backend table chosen by name, and the caller's operations
 * in flight (struct tp__op) with their ids, so that any of them can be
 * canceled (tp_cancel) and the callback runs exactly once either way.
 *
 * Each operation is started on the backend with one of the forwarders
 * below as its callback and the struct tp__op as its argument: the
 * forwarder unlinks the op (its id names nothing from then on), calls the
 * caller, frees the op.  tp_cancel unlinks it, tells the backend to stop
 * (which then never calls the forwarder), calls the caller with
 * SM_ECANCELED and frees it.
 */
#include "transport_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_loop.h"

void
tp_config_init(struct tp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->s3_path_style = -1;
}

static int
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

/* "aws" when the environment names an endpoint, region or credentials. */
static const char *
backend_from_env(void)
{
	static const char *const vars[] = {
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (env_set(vars[i]))
			return "aws";
	return "local";
}

int
tp_create(struct tp **out, struct sm_loop *loop, const struct tp_config *cfg,
    struct sm_error *err)
{
	struct tp_config defaults;
	const struct tp__ops *ops;
	const char *name;
	struct tp *tp;
	int rc;

	*out = NULL;
	if (cfg == NULL) {
		tp_config_init(&defaults);
		cfg = &defaults;
	}
	name = cfg->backend != NULL ? cfg->backend : backend_from_env();
	if (strcmp(name, "aws") == 0)
		ops = &tp__aws_ops;
	else if (strcmp(name, "local") == 0)
		ops = &tp__local_ops;
	else
		return sm_error_set(err, SM_EINVAL,
		    "unknown transport backend '%s': use 'aws' or 'local'", name);
	if ((tp = calloc(1, sizeof(*tp))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	tp->ops = ops;
	tp->loop = loop;
	if ((rc = ops->create(tp, cfg, err)) != 0) {
		free(tp);
		return rc;
	}
	*out = tp;
	return 0;
}

/* ---- the caller's operations ------------------------------------------- */

static void
op_unlink(struct tp__op *o)
{
	struct tp *tp = o->tp;

	if (o->prev != NULL)
		o->prev->next = o->next;
	else
		tp->running = o->next;
	if (o->next != NULL)
		o->next->prev = o->prev;
	o->prev = o->next = NULL;
	tp->nrunning--;
}

/* A new op for the caller's callback; NULL when out of memory or closing
 * (*rc says which). */
static struct tp__op *
op_new(struct tp *tp, enum tp__cb_kind kind, const char *what, void *arg, int *rc)
{
	struct tp__op *o;

	if (tp->closing) {
		*rc = SM_ECANCELED;
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		*rc = SM_ENOMEM;
		return NULL;
	}
	o->tp = tp;
	o->kind = kind;
	o->what = what;
	o->arg = arg;
	return o;
}

/* The backend's answer to starting `o`: link it and give out its id, or
 * free it. */
static int
op_started(struct tp__op *o, int rc, tp_op_id *id)
{
	struct tp *tp;

	if (o == NULL || rc != 0) {
		free(o);
		if (id != NULL)
			*id = 0;
		return rc;
	}
	tp = o->tp;
	o->id = ++tp->last_id;
	o->next = tp->running;
	if (tp->running != NULL)
		tp->running->prev = o;
	tp->running = o;
	tp->nrunning++;
	if (id != NULL)
		*id = o->id;
	return 0;
}

/* The forwarders: the op is done (its id is dead before the caller runs). */
static struct tp__op *
op_done(void *arg)
{
	struct tp__op *o = arg;

	op_unlink(o);
	return o;
}

static void
fw_url(void *arg, const struct tp_result *r, const char *url)
{
	struct tp__op *o = op_done(arg);

	o->cb.url(o->arg, r, url);
	free(o);
}

static void
fw_recv(void *arg, const struct tp_result *r, const struct tp_message *m, size_t n)
{
	struct tp__op *o = op_done(arg);

	o->cb.recv(o->arg, r, m, n);
	free(o);
}

static void
fw_sent(void *arg, const struct tp_result *r, const char *id)
{
	struct tp__op *o = op_done(arg);

	o->cb.sent(o->arg, r, id);
	free(o);
}

static void
fw_done(void *arg, const struct tp_result *r)
{
	struct tp__op *o = op_done(arg);

	o->cb.done(o->arg, r);
	free(o);
}

static void
fw_batch(void *arg, const struct tp_result *r, const struct tp_batch_outcome *out, size_t n)
{
	struct tp__op *o = op_done(arg);

	o->cb.batch(o->arg, r, out, n);
	free(o);
}

static void
fw_attrs(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	struct tp__op *o = op_done(arg);

	o->cb.attrs(o->arg, r, a, n);
	free(o);
}

static void
fw_object(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct tp__op *o = op_done(arg);

	o->cb.object(o->arg, r, obj);
	free(o);
}

static void
fw_data(void *arg, const struct tp_result *r, const void *data, size_t len)
{
	struct tp__op *o = op_done(arg);

	o->cb.data(o->arg, r, data, len);
	free(o);
}

static void
fw_list(void *arg, const struct tp_result *r, const struct tp_object *objs, size_t n,
    const char *const *prefixes, size_t nprefixes, const char *next)
{
	struct tp__op *o = op_done(arg);

	o->cb.list(o->arg, r, objs, n, prefixes, nprefixes, next);
	free(o);
}

static void
op_cancel(struct tp__op *o, const char *why)
{
	struct tp *tp = o->tp;
	struct tp_result r;
	char msg[256];

	op_unlink(o);
	tp->ops->cancel(tp, o->h);
	snprintf(msg, sizeof(msg), "%s canceled%s%s", o->what, why ? ": " : "",
	    why ? why : "");
	memset(&r, 0, sizeof(r));
	r.code = SM_ECANCELED;
	r.message = msg;
	tp__cb_fail(o->kind, o->cb, o->arg, &r);
	free(o);
}

int
tp_cancel(struct tp *tp, tp_op_id id)
{
	struct tp__op *o;

	if (tp == NULL || id == 0)
		return SM_ENOTFOUND;
	for (o = tp->running; o != NULL; o = o->next)
		if (o->id == id)
			break;
	if (o == NULL)
		return SM_ENOTFOUND;
	op_cancel(o, NULL);
	return 0;
}

size_t
tp_pending(const struct tp *tp)
{
	return tp->nrunning + (tp->ops->background != NULL ? tp->ops->background(tp) : 0);
}

void
tp_destroy(struct tp *tp)
{
	if (tp == NULL)
		return;
	tp->closing = 1;
	while (tp->running != NULL)
		op_cancel(tp->running, "the transport is shutting down");
	tp->ops->destroy(tp);
	free(tp);
}

const char *
tp_backend_name(const struct tp *tp)
{
	return tp->ops->name;
}

#define NONEMPTY(s) ((s) != NULL && *(s) != '\0')

/* Not started: no id, no callback. */
static int
op_fail(tp_op_id *op, int rc)
{
	if (op != NULL)
		*op = 0;
	return rc;
}

int
tp_queue_get_url(struct tp *tp, const char *name, tp_url_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(name) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_URL, "queue get url", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.url = cb;
	rc = tp->ops->queue_get_url(tp, name, fw_url, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_create(struct tp *tp, const char *name, const struct tp_attr *attrs, size_t nattrs,
    tp_url_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(name) || cb == NULL || (nattrs > 0 && attrs == NULL))
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_URL, "queue create", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.url = cb;
	rc = tp->ops->queue_create(tp, name, attrs, nattrs, fw_url, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_receive(struct tp *tp, const char *queue_url, int max, int wait_s, int visibility_s,
    tp_recv_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(queue_url) || cb == NULL || max < 1 || max > 10 || wait_s < 0 ||
	    wait_s > 20 || visibility_s < -1 || visibility_s > 43200)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_RECV, "queue receive", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.recv = cb;
	rc = tp->ops->queue_receive(tp, queue_url, max, wait_s, visibility_s, fw_recv, o,
	    &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_send(struct tp *tp, const char *queue_url, const char *body, int delay_s,
    tp_sent_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(queue_url) || !NONEMPTY(body) || cb == NULL || delay_s < 0 ||
	    delay_s > 900)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_SENT, "queue send", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.sent = cb;
	rc = tp->ops->queue_send(tp, queue_url, body, delay_s, fw_sent, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_delete(struct tp *tp, const char *queue_url, const char *receipt, tp_done_cb *cb,
    void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(queue_url) || !NONEMPTY(receipt) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_DONE, "queue delete", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.done = cb;
	rc = tp->ops->queue_delete(tp, queue_url, receipt, fw_done, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_change_visibility(struct tp *tp, const char *queue_url, const char *receipt,
    int visibility_s, tp_done_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(queue_url) || !NONEMPTY(receipt) || cb == NULL || visibility_s < 0 ||
	    visibility_s > 43200)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_DONE, "queue change visibility", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.done = cb;
	rc = tp->ops->queue_change_visibility(tp, queue_url, receipt, visibility_s, fw_done, o,
	    &o->h);
	return op_started(o, rc, op);
}

static int
batch_ok(const char *queue_url, const struct tp_batch_entry *e, size_t n, void *cb)
{
	size_t i, j;

	if (!NONEMPTY(queue_url) || cb == NULL || e == NULL || n < 1 || n > 10)
		return 0;
	for (i = 0; i < n; i++) {
		if (!NONEMPTY(e[i].id))
			return 0;
		for (j = 0; j < i; j++)
			if (strcmp(e[i].id, e[j].id) == 0)
				return 0;
	}
	return 1;
}

int
tp_queue_send_batch(struct tp *tp, const char *queue_url, const struct tp_batch_entry *e,
    size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op)
{
	size_t i;
	struct tp__op *o;
	int rc;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return op_fail(op, SM_EINVAL);
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].body) || e[i].delay_s < 0 || e[i].delay_s > 900)
			return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_BATCH, "queue send batch", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.batch = cb;
	rc = tp->ops->queue_send_batch(tp, queue_url, e, n, fw_batch, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_delete_batch(struct tp *tp, const char *queue_url, const struct tp_batch_entry *e,
    size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op)
{
	size_t i;
	struct tp__op *o;
	int rc;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return op_fail(op, SM_EINVAL);
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].receipt))
			return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_BATCH, "queue delete batch", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.batch = cb;
	rc = tp->ops->queue_delete_batch(tp, queue_url, e, n, fw_batch, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_change_visibility_batch(struct tp *tp, const char *queue_url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg,
    tp_op_id *op)
{
	size_t i;
	struct tp__op *o;
	int rc;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return op_fail(op, SM_EINVAL);
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].receipt) || e[i].visibility_s < 0 ||
		    e[i].visibility_s > 43200)
			return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_BATCH, "queue change visibility batch", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.batch = cb;
	rc = tp->ops->queue_change_visibility_batch(tp, queue_url, e, n, fw_batch, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_queue_attributes(struct tp *tp, const char *queue_url, const char *const *names,
    size_t nnames, tp_attrs_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(queue_url) || cb == NULL || (nnames > 0 && names == NULL))
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_ATTRS, "queue attributes", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.attrs = cb;
	rc = tp->ops->queue_attributes(tp, queue_url, names, nnames, fw_attrs, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_DONE, "bucket create", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.done = cb;
	rc = tp->ops->bucket_create(tp, bucket, fw_done, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_put_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    const char *content_type, tp_object_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || !NONEMPTY(path) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_OBJECT, "object put file", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.object = cb;
	rc = tp->ops->object_put_file(tp, bucket, key, path, content_type, fw_object, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_put_mem(struct tp *tp, const char *bucket, const char *key, const void *data,
    size_t len, const char *content_type, tp_object_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || (len > 0 && data == NULL) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_OBJECT, "object put mem", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.object = cb;
	rc = tp->ops->object_put_mem(tp, bucket, key, data, len, content_type, fw_object, o,
	    &o->h);
	return op_started(o, rc, op);
}

int
tp_object_get_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    tp_object_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || !NONEMPTY(path) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_OBJECT, "object get file", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.object = cb;
	rc = tp->ops->object_get_file(tp, bucket, key, path, fw_object, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_DATA, "object get mem", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.data = cb;
	rc = tp->ops->object_get_mem(tp, bucket, key, max, fw_data, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_head(struct tp *tp, const char *bucket, const char *key, tp_object_cb *cb,
    void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_OBJECT, "object head", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.object = cb;
	rc = tp->ops->object_head(tp, bucket, key, fw_object, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_delete(struct tp *tp, const char *bucket, const char *key, tp_done_cb *cb,
    void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_DONE, "object delete", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.done = cb;
	rc = tp->ops->object_delete(tp, bucket, key, fw_done, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_list(struct tp *tp, const char *bucket, const char *prefix, const char *delimiter,
    const char *continuation, int max_keys, tp_list_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(bucket) || cb == NULL || max_keys < 0 || max_keys > 1000)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_LIST, "object list", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.list = cb;
	rc = tp->ops->object_list(tp, bucket, prefix, delimiter, continuation, max_keys,
	    fw_list, o, &o->h);
	return op_started(o, rc, op);
}

int
tp_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg,
    tp_op_id *op)
{
	struct tp__op *o;
	int rc;

	if (!NONEMPTY(src_bucket) || !NONEMPTY(src_key) || !NONEMPTY(dst_bucket) ||
	    !NONEMPTY(dst_key) || cb == NULL)
		return op_fail(op, SM_EINVAL);
	if ((o = op_new(tp, TP__CB_OBJECT, "object copy", arg, &rc)) == NULL)
		return op_fail(op, rc);
	o->cb.object = cb;
	rc = tp->ops->object_copy(tp, src_bucket, src_key, dst_bucket, dst_key, fw_object, o,
	    &o->h);
	return op_started(o, rc, op);
}

char *
tp_presign_get(struct tp *tp, const char *bucket, const char *key, int expires_s,
    struct sm_error *err)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || expires_s < 1 || expires_s > 604800) {
		sm_error_set(err, SM_EINVAL,
		    "presign needs a bucket, a key and an expiry of 1 s to 7 days");
		return NULL;
	}
	return tp->ops->presign_get(tp, bucket, key, expires_s, err);
}

int
tp_wait(struct tp *tp, const int *done, int64_t timeout_ms)
{
	uint64_t start = sm_time_mono_ms();
	int rc, slice;

	while (!*done) {
		slice = 1000;
		if (timeout_ms >= 0) {
			int64_t left = timeout_ms - (int64_t)(sm_time_mono_ms() - start);
			if (left <= 0)
				return SM_ETIMEOUT;
			if (left < slice)
				slice = (int)left;
		}
		if ((rc = sm_loop_run_once(tp->loop, slice)) < 0)
			return rc;
	}
	return 0;
}
