/*
 * tp_collect.h - the transport tests' result collector (header-only; for
 * tests): one struct tp_out that a test owns, and the callbacks of
 * transport.h that copy what they receive into it, so the test can run
 * the loop (tp_wait on .done) and then check the copy.
 *
 *   struct tp_out o = { 0 };
 *   tp_queue_send(tp, url, "hi", 2, 0, tpc_on_sent, &o, NULL);
 *   tp_wait(tp, &o.done, 60000);
 *   is_int(o.code, 0, "sent"); ... o.msgid ...
 *   tpc_reset(&o);            // frees .data/.keys/.prefixes/.next, zeroes
 *
 * Every callback fills the common part (done, code, attempts, status,
 * err_code, msg, at_ms); strings are copied (truncated to the buffers),
 * except .data, .keys, .prefixes and .next, which are heap copies that
 * tpc_reset frees.  A struct that only ever got the fixed-size results may
 * simply be memset to zero instead.
 *
 * tpc_watch: when set to a string, any result message containing it sets
 * tpc_watch_seen (a test's check that a secret never reaches a message).
 */
#ifndef TP_COLLECT_H
#define TP_COLLECT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_err.h"
#include "sm_loop.h"
#include "transport.h"

#define TPC_MAX_MSGS 10
#define TPC_MAX_ATTRS 32

struct tp_out {
	int done;
	int calls;                      /* how many times a callback ran */
	int code;
	int attempts;
	int status;                     /* http status of the last answer */
	uint64_t at_ms;                 /* sm_time_mono_ms() when the callback ran */
	char err_code[128];
	char msg[SM_ERROR_MSG_MAX];
	char url[512];                  /* tpc_on_url */
	char msgid[128];                /* tpc_on_sent */
	size_t n;                       /* tpc_on_recv: messages received */
	struct {
		char body[2048];
		size_t len;             /* the whole body's length */
		char receipt[1024];
		char id[128];
		unsigned count;
		int64_t sent_ms;
		int has_md5;
	} m[TPC_MAX_MSGS];
	size_t nout;                    /* tpc_on_batch: outcomes */
	int out_codes[TPC_MAX_MSGS];
	char out_ids[TPC_MAX_MSGS][64];
	char out_msgs[TPC_MAX_MSGS][512];
	char out_msgids[TPC_MAX_MSGS][128];
	size_t nattrs;                  /* tpc_on_attrs */
	char attr_names[TPC_MAX_ATTRS][64];
	char attr_values[TPC_MAX_ATTRS][128];
	int has_obj;                    /* tpc_on_object: o != NULL */
	char key[1100];
	char etag[256];
	uint64_t size;
	int64_t mtime_ms;
	char *data;                     /* tpc_on_data: NUL-terminated copy */
	size_t len;
	char **keys;                    /* tpc_on_list: NULL-terminated copies */
	size_t nkeys;
	char **prefixes;
	size_t nprefixes;
	char *next;
};

__attribute__((unused)) static const char *tpc_watch;
__attribute__((unused)) static int tpc_watch_seen;

__attribute__((unused)) static void
tpc__free_data(struct tp_out *x)
{
	free(x->data);
	x->data = NULL;
	x->len = 0;
}

__attribute__((unused)) static void
tpc__free_list(struct tp_out *x)
{
	size_t i;

	for (i = 0; i < x->nkeys; i++)
		free(x->keys[i]);
	free(x->keys);
	for (i = 0; i < x->nprefixes; i++)
		free(x->prefixes[i]);
	free(x->prefixes);
	free(x->next);
	x->keys = x->prefixes = NULL;
	x->nkeys = x->nprefixes = 0;
	x->next = NULL;
}

/* Free what x holds and zero it. */
__attribute__((unused)) static void
tpc_reset(struct tp_out *x)
{
	tpc__free_data(x);
	tpc__free_list(x);
	memset(x, 0, sizeof(*x));
}

/* The part every callback fills. */
__attribute__((unused)) static void
tpc_take(struct tp_out *o, const struct tp_result *r)
{
	o->done = 1;
	o->calls++;
	o->code = r->code;
	o->attempts = r->attempts;
	o->status = r->http_status;
	o->at_ms = sm_time_mono_ms();
	snprintf(o->err_code, sizeof(o->err_code), "%s", r->err_code ? r->err_code : "");
	snprintf(o->msg, sizeof(o->msg), "%s", r->message ? r->message : "");
	if (tpc_watch != NULL && strstr(o->msg, tpc_watch) != NULL)
		tpc_watch_seen = 1;
}

__attribute__((unused)) static void
tpc_on_done(void *arg, const struct tp_result *r)
{
	tpc_take(arg, r);
}

__attribute__((unused)) static void
tpc_on_url(void *arg, const struct tp_result *r, const char *url)
{
	struct tp_out *o = arg;

	tpc_take(o, r);
	snprintf(o->url, sizeof(o->url), "%s", url ? url : "");
}

__attribute__((unused)) static void
tpc_on_sent(void *arg, const struct tp_result *r, const char *id)
{
	struct tp_out *o = arg;

	tpc_take(o, r);
	snprintf(o->msgid, sizeof(o->msgid), "%s", id ? id : "");
}

__attribute__((unused)) static void
tpc_on_recv(void *arg, const struct tp_result *r, const struct tp_message *m, size_t n)
{
	struct tp_out *o = arg;
	size_t i;

	tpc_take(o, r);
	o->n = n;
	for (i = 0; i < n && i < TPC_MAX_MSGS; i++) {
		size_t len = m[i].body_len < sizeof(o->m[i].body) - 1 ? m[i].body_len :
		    sizeof(o->m[i].body) - 1;
		if (len > 0)
			memcpy(o->m[i].body, m[i].body, len);
		o->m[i].body[len] = '\0';
		o->m[i].len = m[i].body_len;
		snprintf(o->m[i].receipt, sizeof(o->m[i].receipt), "%s",
		    m[i].receipt ? m[i].receipt : "");
		snprintf(o->m[i].id, sizeof(o->m[i].id), "%s",
		    m[i].message_id ? m[i].message_id : "");
		o->m[i].count = m[i].receive_count;
		o->m[i].sent_ms = m[i].sent_ms;
		o->m[i].has_md5 = m[i].md5_body != NULL;
	}
}

__attribute__((unused)) static void
tpc_on_batch(void *arg, const struct tp_result *r, const struct tp_batch_outcome *b, size_t n)
{
	struct tp_out *o = arg;
	size_t i;

	tpc_take(o, r);
	o->nout = n;
	for (i = 0; i < n && i < TPC_MAX_MSGS; i++) {
		o->out_codes[i] = b[i].code;
		snprintf(o->out_ids[i], sizeof(o->out_ids[i]), "%s", b[i].id ? b[i].id : "");
		snprintf(o->out_msgs[i], sizeof(o->out_msgs[i]), "%s",
		    b[i].message ? b[i].message : "");
		snprintf(o->out_msgids[i], sizeof(o->out_msgids[i]), "%s",
		    b[i].message_id ? b[i].message_id : "");
	}
}

__attribute__((unused)) static void
tpc_on_attrs(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	struct tp_out *o = arg;
	size_t i;

	tpc_take(o, r);
	o->nattrs = n;
	for (i = 0; i < n && i < TPC_MAX_ATTRS; i++) {
		snprintf(o->attr_names[i], sizeof(o->attr_names[i]), "%s",
		    a[i].name ? a[i].name : "");
		snprintf(o->attr_values[i], sizeof(o->attr_values[i]), "%s",
		    a[i].value ? a[i].value : "");
	}
}

__attribute__((unused)) static void
tpc_on_object(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct tp_out *x = arg;

	tpc_take(x, r);
	if (obj != NULL) {
		x->has_obj = 1;
		snprintf(x->key, sizeof(x->key), "%s", obj->key ? obj->key : "");
		snprintf(x->etag, sizeof(x->etag), "%s", obj->etag ? obj->etag : "");
		x->size = obj->size;
		x->mtime_ms = obj->mtime_ms;
	}
}

__attribute__((unused)) static void
tpc_on_data(void *arg, const struct tp_result *r, const void *data, size_t len)
{
	struct tp_out *x = arg;

	tpc_take(x, r);
	tpc__free_data(x);
	if (data != NULL) {
		x->data = malloc(len + 1);
		if (x->data == NULL)
			return;
		memcpy(x->data, data, len);
		x->data[len] = '\0';
		x->len = len;
	}
}

__attribute__((unused)) static void
tpc_on_list(void *arg, const struct tp_result *r, const struct tp_object *objs, size_t n,
    const char *const *prefixes, size_t np, const char *next)
{
	struct tp_out *x = arg;
	size_t i;

	tpc_take(x, r);
	tpc__free_list(x);
	x->keys = calloc(n + 1, sizeof(char *));
	for (i = 0; x->keys != NULL && i < n; i++)
		x->keys[i] = strdup(objs[i].key);
	x->nkeys = x->keys != NULL ? n : 0;
	x->prefixes = calloc(np + 1, sizeof(char *));
	for (i = 0; x->prefixes != NULL && i < np; i++)
		x->prefixes[i] = strdup(prefixes[i]);
	x->nprefixes = x->prefixes != NULL ? np : 0;
	x->next = next ? strdup(next) : NULL;
}

#endif
