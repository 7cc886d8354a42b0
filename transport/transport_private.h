/*
 * transport_private.h - the backend table behind struct tp (tp__ prefix).
 *
 * A backend fills a struct tp__ops; transport.c forwards every public call
 * to it after checking the arguments that every backend would check.
 * Backends keep their own state in tp->impl.
 */
#ifndef TRANSPORT_PRIVATE_H
#define TRANSPORT_PRIVATE_H

#include "transport.h"

struct tp__ops {
	const char *name;
	int (*create)(struct tp *tp, const struct tp_config *cfg, struct sm_error *err);
	void (*destroy)(struct tp *tp);

	int (*queue_get_url)(struct tp *, const char *, tp_url_cb *, void *);
	int (*queue_create)(struct tp *, const char *, const struct tp_attr *, size_t,
	    tp_url_cb *, void *);
	int (*queue_receive)(struct tp *, const char *, int, int, int, tp_recv_cb *, void *);
	int (*queue_send)(struct tp *, const char *, const char *, int, tp_sent_cb *, void *);
	int (*queue_delete)(struct tp *, const char *, const char *, tp_done_cb *, void *);
	int (*queue_change_visibility)(struct tp *, const char *, const char *, int,
	    tp_done_cb *, void *);
	int (*queue_send_batch)(struct tp *, const char *, const struct tp_batch_entry *,
	    size_t, tp_batch_cb *, void *);
	int (*queue_delete_batch)(struct tp *, const char *, const struct tp_batch_entry *,
	    size_t, tp_batch_cb *, void *);
	int (*queue_change_visibility_batch)(struct tp *, const char *,
	    const struct tp_batch_entry *, size_t, tp_batch_cb *, void *);
	int (*queue_attributes)(struct tp *, const char *, const char *const *, size_t,
	    tp_attrs_cb *, void *);

	int (*bucket_create)(struct tp *, const char *, tp_done_cb *, void *);
	int (*object_put_file)(struct tp *, const char *, const char *, const char *,
	    const char *, tp_object_cb *, void *);
	int (*object_put_mem)(struct tp *, const char *, const char *, const void *, size_t,
	    const char *, tp_object_cb *, void *);
	int (*object_get_file)(struct tp *, const char *, const char *, const char *,
	    tp_object_cb *, void *);
	int (*object_get_mem)(struct tp *, const char *, const char *, size_t, tp_data_cb *,
	    void *);
	int (*object_head)(struct tp *, const char *, const char *, tp_object_cb *, void *);
	int (*object_delete)(struct tp *, const char *, const char *, tp_done_cb *, void *);
	int (*object_list)(struct tp *, const char *, const char *, const char *, const char *,
	    int, tp_list_cb *, void *);
	int (*object_copy)(struct tp *, const char *, const char *, const char *, const char *,
	    tp_object_cb *, void *);
	char *(*presign_get)(struct tp *, const char *, const char *, int, struct sm_error *);
};

/*
 * The caller's callback of any public operation, and which kind it is: a
 * backend keeps one such field per operation and reports a failure (or a
 * cancellation) through tp__cb_fail, which calls it with `r` and empty
 * outputs (NULL pointers, zero counts).
 */
enum tp__cb_kind {
	TP__CB_URL, TP__CB_RECV, TP__CB_SENT, TP__CB_DONE, TP__CB_BATCH, TP__CB_ATTRS,
	TP__CB_OBJECT, TP__CB_DATA, TP__CB_LIST
};

union tp__cb {
	tp_url_cb *url;
	tp_recv_cb *recv;
	tp_sent_cb *sent;
	tp_done_cb *done;
	tp_batch_cb *batch;
	tp_attrs_cb *attrs;
	tp_object_cb *object;
	tp_data_cb *data;
	tp_list_cb *list;
};

void tp__cb_fail(enum tp__cb_kind kind, union tp__cb cb, void *arg, const struct tp_result *r);

struct tp {
	const struct tp__ops *ops;
	struct sm_loop *loop;
	void *impl;
};

extern const struct tp__ops tp__aws_ops;
extern const struct tp__ops tp__local_ops;

#endif
