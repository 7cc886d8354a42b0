/*
 * sqs.c - SQS over the AWS JSON 1.0 protocol for the "aws" backend
 * (stub entries while being implemented).
 */
#include "aws_private.h"

#define UNUSED(x) (void)(x)

int aws_sqs_get_url(struct tp *tp, const char *a, tp_url_cb *b, void *c)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); return SM_EUNSUPPORTED; }
int aws_sqs_create(struct tp *tp, const char *a, const struct tp_attr *b, size_t c,
    tp_url_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_receive(struct tp *tp, const char *a, int b, int c, int d, tp_recv_cb *e, void *f)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); UNUSED(f); return SM_EUNSUPPORTED; }
int aws_sqs_send(struct tp *tp, const char *a, const char *b, int c, tp_sent_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_delete(struct tp *tp, const char *a, const char *b, tp_done_cb *c, void *d)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); return SM_EUNSUPPORTED; }
int aws_sqs_change_visibility(struct tp *tp, const char *a, const char *b, int c,
    tp_done_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_send_batch(struct tp *tp, const char *a, const struct tp_batch_entry *b, size_t c,
    tp_batch_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_delete_batch(struct tp *tp, const char *a, const struct tp_batch_entry *b, size_t c,
    tp_batch_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_change_visibility_batch(struct tp *tp, const char *a,
    const struct tp_batch_entry *b, size_t c, tp_batch_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
int aws_sqs_attributes(struct tp *tp, const char *a, const char *const *b, size_t c,
    tp_attrs_cb *d, void *e)
{ UNUSED(tp); UNUSED(a); UNUSED(b); UNUSED(c); UNUSED(d); UNUSED(e); return SM_EUNSUPPORTED; }
