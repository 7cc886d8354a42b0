/*
 * sqs_private.h - the SQS answer parser alone, for the fuzzer and tests
 * (tp__sqs_ prefix).  Nothing here touches the network.
 */
#ifndef SM_SQS_PRIVATE_H
#define SM_SQS_PRIVATE_H

#include <stddef.h>

#include "transport.h"

/* Where tp__sqs_parse_answer delivers; only the callback matching the
 * operation's kind is used (and must be set). */
struct tp__sqs_sink {
	tp_url_cb *url;        /* GetQueueUrl, CreateQueue */
	tp_recv_cb *recv;      /* ReceiveMessage */
	tp_sent_cb *sent;      /* SendMessage */
	tp_done_cb *done;      /* DeleteMessage, ChangeMessageVisibility */
	tp_batch_cb *batch;    /* SendMessageBatch, DeleteMessageBatch,
	                          ChangeMessageVisibilityBatch */
	tp_attrs_cb *attrs;    /* GetQueueAttributes */
	void *arg;
};

/*
 * Run the parser of operation `op` on a successful (HTTP 200) answer
 * `body` of `len` bytes (need not be NUL-terminated), exactly as an answer
 * from the service is parsed: the sink's callback runs once, before the
 * return, with the outcome (r->code 0, or SM_EPROTO / SM_ECORRUPT /
 * SM_ENOMEM with r->message).  `sent_body` is the body a SendMessage sent
 * (its MD5 is checked against MD5OfMessageBody, which must be there; NULL:
 * ""); `ids`/`nids` are the entry ids a batch sent and `bodies` (NULL: ""
 * each) the bodies a SendMessageBatch sent, checked the same way per
 * entry (a missing MD5 fails the entry with SM_EPROTO, a wrong one with
 * SM_ECORRUPT).  Returns 0 when the callback ran,
 * SM_EINVAL for an unknown `op` or a missing callback, SM_ENOMEM (no
 * callback in either case).
 */
int tp__sqs_parse_answer(const char *op, const char *body, size_t len,
    const char *sent_body, const char *const *ids, const char *const *bodies, size_t nids,
    const struct tp__sqs_sink *sink);

#endif
