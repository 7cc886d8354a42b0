#include "transport_private.h"

#include <stdlib.h>
#include <string.h>

#include "sm_loop.h"

void
tp_config_init(struct tp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->s3_path_style = -1;
}

void
tp__cb_fail(enum tp__cb_kind kind, union tp__cb cb, void *arg, const struct tp_result *r)
{
	switch (kind) {
	case TP__CB_URL:
		cb.url(arg, r, NULL);
		break;
	case TP__CB_RECV:
		cb.recv(arg, r, NULL, 0);
		break;
	case TP__CB_SENT:
		cb.sent(arg, r, NULL);
		break;
	case TP__CB_DONE:
		cb.done(arg, r);
		break;
	case TP__CB_BATCH:
		cb.batch(arg, r, NULL, 0);
		break;
	case TP__CB_ATTRS:
		cb.attrs(arg, r, NULL, 0);
		break;
	case TP__CB_OBJECT:
		cb.object(arg, r, NULL);
		break;
	case TP__CB_DATA:
		cb.data(arg, r, NULL, 0);
		break;
	case TP__CB_LIST:
		cb.list(arg, r, NULL, 0, NULL, 0, NULL);
		break;
	}
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

void
tp_destroy(struct tp *tp)
{
	if (tp == NULL)
		return;
	tp->ops->destroy(tp);
	free(tp);
}

const char *
tp_backend_name(const struct tp *tp)
{
	return tp->ops->name;
}

#define NONEMPTY(s) ((s) != NULL && *(s) != '\0')

int
tp_queue_get_url(struct tp *tp, const char *name, tp_url_cb *cb, void *arg)
{
	if (!NONEMPTY(name) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->queue_get_url(tp, name, cb, arg);
}

int
tp_queue_create(struct tp *tp, const char *name, const struct tp_attr *attrs, size_t nattrs,
    tp_url_cb *cb, void *arg)
{
	if (!NONEMPTY(name) || cb == NULL || (nattrs > 0 && attrs == NULL))
		return SM_EINVAL;
	return tp->ops->queue_create(tp, name, attrs, nattrs, cb, arg);
}

int
tp_queue_receive(struct tp *tp, const char *queue_url, int max, int wait_s, int visibility_s,
    tp_recv_cb *cb, void *arg)
{
	if (!NONEMPTY(queue_url) || cb == NULL || max < 1 || max > 10 || wait_s < 0 ||
	    wait_s > 20 || visibility_s < -1 || visibility_s > 43200)
		return SM_EINVAL;
	return tp->ops->queue_receive(tp, queue_url, max, wait_s, visibility_s, cb, arg);
}

int
tp_queue_send(struct tp *tp, const char *queue_url, const char *body, int delay_s,
    tp_sent_cb *cb, void *arg)
{
	if (!NONEMPTY(queue_url) || !NONEMPTY(body) || cb == NULL || delay_s < 0 ||
	    delay_s > 900)
		return SM_EINVAL;
	return tp->ops->queue_send(tp, queue_url, body, delay_s, cb, arg);
}

int
tp_queue_delete(struct tp *tp, const char *queue_url, const char *receipt, tp_done_cb *cb,
    void *arg)
{
	if (!NONEMPTY(queue_url) || !NONEMPTY(receipt) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->queue_delete(tp, queue_url, receipt, cb, arg);
}

int
tp_queue_change_visibility(struct tp *tp, const char *queue_url, const char *receipt,
    int visibility_s, tp_done_cb *cb, void *arg)
{
	if (!NONEMPTY(queue_url) || !NONEMPTY(receipt) || cb == NULL || visibility_s < 0 ||
	    visibility_s > 43200)
		return SM_EINVAL;
	return tp->ops->queue_change_visibility(tp, queue_url, receipt, visibility_s, cb, arg);
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
    size_t n, tp_batch_cb *cb, void *arg)
{
	size_t i;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return SM_EINVAL;
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].body) || e[i].delay_s < 0 || e[i].delay_s > 900)
			return SM_EINVAL;
	return tp->ops->queue_send_batch(tp, queue_url, e, n, cb, arg);
}

int
tp_queue_delete_batch(struct tp *tp, const char *queue_url, const struct tp_batch_entry *e,
    size_t n, tp_batch_cb *cb, void *arg)
{
	size_t i;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return SM_EINVAL;
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].receipt))
			return SM_EINVAL;
	return tp->ops->queue_delete_batch(tp, queue_url, e, n, cb, arg);
}

int
tp_queue_change_visibility_batch(struct tp *tp, const char *queue_url,
    const struct tp_batch_entry *e, size_t n, tp_batch_cb *cb, void *arg)
{
	size_t i;

	if (!batch_ok(queue_url, e, n, (void *)cb))
		return SM_EINVAL;
	for (i = 0; i < n; i++)
		if (!NONEMPTY(e[i].receipt) || e[i].visibility_s < 0 ||
		    e[i].visibility_s > 43200)
			return SM_EINVAL;
	return tp->ops->queue_change_visibility_batch(tp, queue_url, e, n, cb, arg);
}

int
tp_queue_attributes(struct tp *tp, const char *queue_url, const char *const *names,
    size_t nnames, tp_attrs_cb *cb, void *arg)
{
	if (!NONEMPTY(queue_url) || cb == NULL || (nnames > 0 && names == NULL))
		return SM_EINVAL;
	return tp->ops->queue_attributes(tp, queue_url, names, nnames, cb, arg);
}

int
tp_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->bucket_create(tp, bucket, cb, arg);
}

int
tp_object_put_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    const char *content_type, tp_object_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || !NONEMPTY(path) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_put_file(tp, bucket, key, path, content_type, cb, arg);
}

int
tp_object_put_mem(struct tp *tp, const char *bucket, const char *key, const void *data,
    size_t len, const char *content_type, tp_object_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || (len > 0 && data == NULL) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_put_mem(tp, bucket, key, data, len, content_type, cb, arg);
}

int
tp_object_get_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    tp_object_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || !NONEMPTY(path) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_get_file(tp, bucket, key, path, cb, arg);
}

int
tp_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_get_mem(tp, bucket, key, max, cb, arg);
}

int
tp_object_head(struct tp *tp, const char *bucket, const char *key, tp_object_cb *cb,
    void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_head(tp, bucket, key, cb, arg);
}

int
tp_object_delete(struct tp *tp, const char *bucket, const char *key, tp_done_cb *cb,
    void *arg)
{
	if (!NONEMPTY(bucket) || !NONEMPTY(key) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_delete(tp, bucket, key, cb, arg);
}

int
tp_object_list(struct tp *tp, const char *bucket, const char *prefix, const char *delimiter,
    const char *continuation, int max_keys, tp_list_cb *cb, void *arg)
{
	if (!NONEMPTY(bucket) || cb == NULL || max_keys < 0 || max_keys > 1000)
		return SM_EINVAL;
	return tp->ops->object_list(tp, bucket, prefix, delimiter, continuation, max_keys, cb,
	    arg);
}

int
tp_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg)
{
	if (!NONEMPTY(src_bucket) || !NONEMPTY(src_key) || !NONEMPTY(dst_bucket) ||
	    !NONEMPTY(dst_key) || cb == NULL)
		return SM_EINVAL;
	return tp->ops->object_copy(tp, src_bucket, src_key, dst_bucket, dst_key, cb, arg);
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
