/*
 * aws.c - the "aws" transport backend: state, the signed and retried
 * request layer (aws_call) and the ops table (stub while implemented).
 */
#include "aws_private.h"

#include "s3.h"

static int
aws_create(struct tp *tp, const struct tp_config *cfg, struct sm_error *err)
{
	(void)tp;
	(void)cfg;
	return sm_error_set(err, SM_EUNSUPPORTED, "aws backend not implemented yet");
}

static void
aws_destroy(struct tp *tp)
{
	(void)tp;
}

int
aws_call(struct tp *tp, const struct aws_call_spec *spec, aws_done_cb *cb, void *arg)
{
	(void)tp;
	(void)spec;
	(void)cb;
	(void)arg;
	return SM_EUNSUPPORTED;
}

const struct tp__ops tp__aws_ops = {
	.name = "aws",
	.create = aws_create,
	.destroy = aws_destroy,
	.queue_get_url = aws_sqs_get_url,
	.queue_create = aws_sqs_create,
	.queue_receive = aws_sqs_receive,
	.queue_send = aws_sqs_send,
	.queue_delete = aws_sqs_delete,
	.queue_change_visibility = aws_sqs_change_visibility,
	.queue_send_batch = aws_sqs_send_batch,
	.queue_delete_batch = aws_sqs_delete_batch,
	.queue_change_visibility_batch = aws_sqs_change_visibility_batch,
	.queue_attributes = aws_sqs_attributes,
	.bucket_create = tp__s3_bucket_create,
	.object_put_file = tp__s3_object_put_file,
	.object_put_mem = tp__s3_object_put_mem,
	.object_get_file = tp__s3_object_get_file,
	.object_get_mem = tp__s3_object_get_mem,
	.object_head = tp__s3_object_head,
	.object_delete = tp__s3_object_delete,
	.object_list = tp__s3_object_list,
	.object_copy = tp__s3_object_copy,
	.presign_get = tp__s3_presign_get,
};
