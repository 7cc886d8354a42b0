/*
 * local.c - the embedded "local" backend (stub; being implemented).
 */
#include "transport_private.h"

#include <stdlib.h>

static int
local_create(struct tp *tp, const struct tp_config *cfg, struct sm_error *err)
{
	(void)tp;
	(void)cfg;
	return sm_error_set(err, SM_EUNSUPPORTED, "local backend not implemented yet");
}

static void
local_destroy(struct tp *tp)
{
	(void)tp;
}

#define STUB(...) { (void)tp; return SM_EUNSUPPORTED; }

static int l_get_url(struct tp *tp, const char *a, tp_url_cb *b, void *c)
{ (void)a; (void)b; (void)c; STUB() }
static int l_create_q(struct tp *tp, const char *a, const struct tp_attr *b, size_t c,
    tp_url_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_receive(struct tp *tp, const char *a, int b, int c, int d, tp_recv_cb *e, void *f)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; STUB() }
static int l_send(struct tp *tp, const char *a, const char *b, int c, tp_sent_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_delete(struct tp *tp, const char *a, const char *b, tp_done_cb *c, void *d)
{ (void)a; (void)b; (void)c; (void)d; STUB() }
static int l_chvis(struct tp *tp, const char *a, const char *b, int c, tp_done_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_batch(struct tp *tp, const char *a, const struct tp_batch_entry *b, size_t c,
    tp_batch_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_attrs(struct tp *tp, const char *a, const char *const *b, size_t c,
    tp_attrs_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_bucket(struct tp *tp, const char *a, tp_done_cb *b, void *c)
{ (void)a; (void)b; (void)c; STUB() }
static int l_put_file(struct tp *tp, const char *a, const char *b, const char *c,
    const char *d, tp_object_cb *e, void *f)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; STUB() }
static int l_put_mem(struct tp *tp, const char *a, const char *b, const void *c, size_t d,
    const char *e, tp_object_cb *f, void *g)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; STUB() }
static int l_get_file(struct tp *tp, const char *a, const char *b, const char *c,
    tp_object_cb *d, void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_get_mem(struct tp *tp, const char *a, const char *b, size_t c, tp_data_cb *d,
    void *e)
{ (void)a; (void)b; (void)c; (void)d; (void)e; STUB() }
static int l_head(struct tp *tp, const char *a, const char *b, tp_object_cb *c, void *d)
{ (void)a; (void)b; (void)c; (void)d; STUB() }
static int l_odel(struct tp *tp, const char *a, const char *b, tp_done_cb *c, void *d)
{ (void)a; (void)b; (void)c; (void)d; STUB() }
static int l_list(struct tp *tp, const char *a, const char *b, const char *c, const char *d,
    int e, tp_list_cb *f, void *g)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; STUB() }
static int l_copy(struct tp *tp, const char *a, const char *b, const char *c, const char *d,
    tp_object_cb *e, void *f)
{ (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; STUB() }
static char *l_presign(struct tp *tp, const char *a, const char *b, int c, struct sm_error *err)
{
	(void)tp; (void)a; (void)b; (void)c;
	sm_error_set(err, SM_EUNSUPPORTED, "local backend not implemented yet");
	return NULL;
}

const struct tp__ops tp__local_ops = {
	.name = "local",
	.create = local_create,
	.destroy = local_destroy,
	.queue_get_url = l_get_url,
	.queue_create = l_create_q,
	.queue_receive = l_receive,
	.queue_send = l_send,
	.queue_delete = l_delete,
	.queue_change_visibility = l_chvis,
	.queue_send_batch = l_batch,
	.queue_delete_batch = l_batch,
	.queue_change_visibility_batch = l_batch,
	.queue_attributes = l_attrs,
	.bucket_create = l_bucket,
	.object_put_file = l_put_file,
	.object_put_mem = l_put_mem,
	.object_get_file = l_get_file,
	.object_get_mem = l_get_mem,
	.object_head = l_head,
	.object_delete = l_odel,
	.object_list = l_list,
	.object_copy = l_copy,
	.presign_get = l_presign,
};
