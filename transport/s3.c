/*
 * s3.c - S3 REST/XML operations (see s3.h).
 */
#include "s3.h"

#include "transport_private.h"

int
tp__s3_bucket_create(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_put_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, const char *content_type, tp_object_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)path; (void)content_type; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_put_mem(struct tp *tp, const char *bucket, const char *key,
    const void *data, size_t len, const char *content_type, tp_object_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)data; (void)len; (void)content_type;
	(void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_get_file(struct tp *tp, const char *bucket, const char *key,
    const char *path, tp_object_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)path; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max,
    tp_data_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)max; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_head(struct tp *tp, const char *bucket, const char *key,
    tp_object_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_delete(struct tp *tp, const char *bucket, const char *key,
    tp_done_cb *cb, void *arg)
{
	(void)tp; (void)bucket; (void)key; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_list(struct tp *tp, const char *bucket, const char *prefix,
    const char *delimiter, const char *continuation, int max_keys, tp_list_cb *cb,
    void *arg)
{
	(void)tp; (void)bucket; (void)prefix; (void)delimiter; (void)continuation;
	(void)max_keys; (void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

int
tp__s3_object_copy(struct tp *tp, const char *src_bucket, const char *src_key,
    const char *dst_bucket, const char *dst_key, tp_object_cb *cb, void *arg)
{
	(void)tp; (void)src_bucket; (void)src_key; (void)dst_bucket; (void)dst_key;
	(void)cb; (void)arg;
	return SM_EUNSUPPORTED;
}

char *
tp__s3_presign_get(struct tp *tp, const char *bucket, const char *key, int expires_s,
    struct sm_error *err)
{
	(void)tp; (void)bucket; (void)key; (void)expires_s;
	sm_error_set(err, SM_EUNSUPPORTED, "s3 presign is not implemented yet");
	return NULL;
}

int
tp__s3_parse_error(const char *body, size_t len, char *code, size_t code_size,
    char *message, size_t message_size)
{
	(void)body; (void)len; (void)code; (void)code_size; (void)message; (void)message_size;
	return SM_EPARSE;
}
