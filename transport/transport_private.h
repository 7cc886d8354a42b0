/*
 * transport_private.h - the backend table behind struct tp (tp__ prefix).
 *
 * A backend fills a struct tp__ops; transport.c forwards every public call
 * to it after checking the arguments that every backend would check.
 * Backends keep their own state in tp->impl.
 *
 * Each operation entry gets the callback and argument to report through
 * (transport.c's, which forward to the caller's: see struct tp__op) and a
 * last argument `void **h` where, when it returns 0, it has stored the
 * handle its cancel entry takes.  The handle is the backend's until the
 * callback runs or cancel is called, whichever comes first; after either
 * transport.c never uses it again.
 *
 * Dependencies inside transport/ run one way (docs/transport.md):
 * transport.c -> backend tables (aws_ops.c, local.c) -> sqs.c, s3.c ->
 * aws.c -> http.c, sigv4.c, creds.c, awsconf.c.  This header is the only
 * thing the backends share with transport.c; it defines tp__cb_fail
 * inline so that no backend calls into transport.c.
 */
#ifndef TRANSPORT_PRIVATE_H
#define TRANSPORT_PRIVATE_H

#include "transport.h"

struct tp__ops {
	const char *name;
	int (*create)(struct tp *tp, const struct tp_config *cfg, struct sm_error *err);
	void (*destroy)(struct tp *tp);

	int (*queue_get_url)(struct tp *, const char *, tp_url_cb *, void *, void **);
	int (*queue_create)(struct tp *, const char *, const struct tp_attr *, size_t,
	    tp_url_cb *, void *, void **);
	int (*queue_receive)(struct tp *, const char *, int, int, int, tp_recv_cb *, void *,
	    void **);
	int (*queue_send)(struct tp *, const char *, const char *, int, tp_sent_cb *, void *,
	    void **);
	int (*queue_delete)(struct tp *, const char *, const char *, tp_done_cb *, void *,
	    void **);
	int (*queue_change_visibility)(struct tp *, const char *, const char *, int,
	    tp_done_cb *, void *, void **);
	int (*queue_send_batch)(struct tp *, const char *, const struct tp_batch_entry *,
	    size_t, tp_batch_cb *, void *, void **);
	int (*queue_delete_batch)(struct tp *, const char *, const struct tp_batch_entry *,
	    size_t, tp_batch_cb *, void *, void **);
	int (*queue_change_visibility_batch)(struct tp *, const char *,
	    const struct tp_batch_entry *, size_t, tp_batch_cb *, void *, void **);
	int (*queue_attributes)(struct tp *, const char *, const char *const *, size_t,
	    tp_attrs_cb *, void *, void **);

	int (*bucket_create)(struct tp *, const char *, tp_done_cb *, void *, void **);
	int (*object_put_file)(struct tp *, const char *, const char *, const char *,
	    const char *, tp_object_cb *, void *, void **);
	int (*object_put_mem)(struct tp *, const char *, const char *, const void *, size_t,
	    const char *, tp_object_cb *, void *, void **);
	int (*object_get_file)(struct tp *, const char *, const char *, const char *,
	    tp_object_cb *, void *, void **);
	int (*object_get_mem)(struct tp *, const char *, const char *, size_t, tp_data_cb *,
	    void *, void **);
	int (*object_head)(struct tp *, const char *, const char *, tp_object_cb *, void *,
	    void **);
	int (*object_delete)(struct tp *, const char *, const char *, tp_done_cb *, void *,
	    void **);
	int (*object_list)(struct tp *, const char *, const char *, const char *, const char *,
	    int, tp_list_cb *, void *, void **);
	int (*object_copy)(struct tp *, const char *, const char *, const char *, const char *,
	    tp_object_cb *, void *, void **);
	char *(*presign_get)(struct tp *, const char *, const char *, int, struct sm_error *);

	/* Stop the operation whose handle an entry above stored in its last
	 * argument: stop its requests, timers and long polls, free what it
	 * holds, and never call its callback (transport.c calls it).  Start
	 * any cleanup the server needs (a multipart abort) as the backend's
	 * own work, unless tp->closing. */
	void (*cancel)(struct tp *, void *h);
	/* Number of the backend's own jobs in flight (cleanup after a
	 * cancel); NULL: none ever. */
	size_t (*background)(const struct tp *);
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

static inline void
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

/* A caller's operation in flight (transport.c): its id, the caller's
 * callback, and the backend's handle for cancel. */
struct tp__op {
	struct tp__op *prev, *next;
	struct tp *tp;
	tp_op_id id;
	const char *what;          /* "queue send", for the cancel message */
	enum tp__cb_kind kind;
	union tp__cb cb;
	void *arg;
	void *h;                   /* the backend's handle */
};

struct tp {
	const struct tp__ops *ops;
	struct sm_loop *loop;
	void *impl;
	struct tp__op *running;    /* the caller's operations in flight */
	size_t nrunning;
	tp_op_id last_id;
	int closing;               /* tp_destroy is running */
};

extern const struct tp__ops tp__aws_ops;
extern const struct tp__ops tp__local_ops;

#endif
