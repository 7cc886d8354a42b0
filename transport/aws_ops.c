/*
 * aws_ops.c - the "aws" backend table: the request layer's create and
 * destroy (aws.c), SQS (sqs.c) and S3 (s3.c).  It sits above all three, so
 * none of them needs another's table or entries.
 */
#include "aws_private.h"
#include "s3.h"

static void
aws_cancel(struct tp *tp, void *h)
{
	struct aws_op *op = h;

	op->cancel(tp, op);
}

static size_t
aws_background(const struct tp *tp)
{
	const struct aws_backend *b = tp->impl;

	return b != NULL ? b->jobs : 0;
}

const struct tp__ops tp__aws_ops = {
	.name = "aws",
	.create = tp__aws_backend_create,
	.destroy = tp__aws_backend_destroy,
	.queue_get_url = tp__aws_sqs_get_url,
	.queue_create = tp__aws_sqs_create,
	.queue_receive = tp__aws_sqs_receive,
	.queue_send = tp__aws_sqs_send,
	.queue_delete = tp__aws_sqs_delete,
	.queue_change_visibility = tp__aws_sqs_change_visibility,
	.queue_send_batch = tp__aws_sqs_send_batch,
	.queue_delete_batch = tp__aws_sqs_delete_batch,
	.queue_change_visibility_batch = tp__aws_sqs_change_visibility_batch,
	.queue_attributes = tp__aws_sqs_attributes,
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
	.cancel = aws_cancel,
	.background = aws_background,
};
