/*
 * ops_sync.h - synchronous wrappers over the asynchronous transport.h
 * operations, for tests (test/ops and test/local).  Each wrapper starts
 * one operation, runs the loop until its callback ran (tp_wait) and copies
 * everything the callback received into a struct tres, which the caller
 * owns (tres_free releases what it holds).
 *
 * A callback that runs inside the call that started it (not from the
 * loop) sets tres.cb_in_call, which the tests check.
 */
#ifndef OPS_SYNC_H
#define OPS_SYNC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

#define TRES_WAIT_MS 60000

struct tres_msg {
	char id[128];
	char receipt[1024];
	char *body;
	size_t len;
	unsigned receive_count;
	int64_t sent_ms;
};

struct tres_out {
	char id[128];
	int code;
	char err_code[128];
	char message_id[128];
};

struct tres {
	int done, in_call, cb_in_call;
	int code;
	char err_code[128];
	char msg[1024];
	char url[512];
	char id[128];
	struct tres_msg m[10];
	size_t nm;
	struct tres_out b[10];
	size_t nb;
	char aname[32][64], aval[32][256];
	size_t na;
	int has_obj;
	char key[1100], etag[128];
	uint64_t size;
	int64_t mtime_ms;
	char *data;
	size_t len;
	char **keys, **prefixes;
	size_t nkeys, nprefixes;
	int has_next;
	char next[1200];
};

__attribute__((unused)) static void
tres_free(struct tres *r)
{
	size_t i;

	for (i = 0; i < r->nm; i++)
		free(r->m[i].body);
	free(r->data);
	for (i = 0; i < r->nkeys; i++)
		free(r->keys[i]);
	free(r->keys);
	for (i = 0; i < r->nprefixes; i++)
		free(r->prefixes[i]);
	free(r->prefixes);
	memset(r, 0, sizeof(*r));
}

__attribute__((unused)) static void
tres_common(struct tres *t, const struct tp_result *r)
{
	t->done = 1;
	t->cb_in_call |= t->in_call;
	t->code = r->code;
	snprintf(t->err_code, sizeof(t->err_code), "%s", r->err_code ? r->err_code : "");
	snprintf(t->msg, sizeof(t->msg), "%s", r->message ? r->message : "");
}

__attribute__((unused)) static void
tres_url_cb(void *arg, const struct tp_result *r, const char *url)
{
	struct tres *t = arg;

	tres_common(t, r);
	snprintf(t->url, sizeof(t->url), "%s", url ? url : "");
}

__attribute__((unused)) static void
tres_sent_cb(void *arg, const struct tp_result *r, const char *id)
{
	struct tres *t = arg;

	tres_common(t, r);
	snprintf(t->id, sizeof(t->id), "%s", id ? id : "");
}

__attribute__((unused)) static void
tres_done_cb(void *arg, const struct tp_result *r)
{
	tres_common(arg, r);
}

__attribute__((unused)) static void
tres_recv_cb(void *arg, const struct tp_result *r, const struct tp_message *m, size_t n)
{
	struct tres *t = arg;
	size_t i;

	tres_common(t, r);
	for (i = 0; i < n && i < 10; i++) {
		struct tres_msg *c = &t->m[i];
		snprintf(c->id, sizeof(c->id), "%s", m[i].message_id ? m[i].message_id : "");
		snprintf(c->receipt, sizeof(c->receipt), "%s", m[i].receipt ? m[i].receipt : "");
		c->body = malloc(m[i].body_len + 1);
		if (c->body != NULL) {
			memcpy(c->body, m[i].body, m[i].body_len);
			c->body[m[i].body_len] = '\0';
		}
		c->len = m[i].body_len;
		c->receive_count = m[i].receive_count;
		c->sent_ms = m[i].sent_ms;
	}
	t->nm = i;
}

__attribute__((unused)) static void
tres_batch_cb(void *arg, const struct tp_result *r, const struct tp_batch_outcome *o,
    size_t n)
{
	struct tres *t = arg;
	size_t i;

	tres_common(t, r);
	for (i = 0; i < n && i < 10; i++) {
		snprintf(t->b[i].id, sizeof(t->b[i].id), "%s", o[i].id ? o[i].id : "");
		t->b[i].code = o[i].code;
		snprintf(t->b[i].err_code, sizeof(t->b[i].err_code), "%s",
		    o[i].err_code ? o[i].err_code : "");
		snprintf(t->b[i].message_id, sizeof(t->b[i].message_id), "%s",
		    o[i].message_id ? o[i].message_id : "");
	}
	t->nb = i;
}

__attribute__((unused)) static void
tres_attrs_cb(void *arg, const struct tp_result *r, const struct tp_attr *a, size_t n)
{
	struct tres *t = arg;
	size_t i;

	tres_common(t, r);
	for (i = 0; i < n && i < 32; i++) {
		snprintf(t->aname[i], sizeof(t->aname[i]), "%s", a[i].name);
		snprintf(t->aval[i], sizeof(t->aval[i]), "%s", a[i].value ? a[i].value : "");
	}
	t->na = i;
}

__attribute__((unused)) static void
tres_obj(struct tres *t, const struct tp_object *o)
{
	if (o == NULL)
		return;
	t->has_obj = 1;
	snprintf(t->key, sizeof(t->key), "%s", o->key ? o->key : "");
	snprintf(t->etag, sizeof(t->etag), "%s", o->etag ? o->etag : "");
	t->size = o->size;
	t->mtime_ms = o->mtime_ms;
}

__attribute__((unused)) static void
tres_object_cb(void *arg, const struct tp_result *r, const struct tp_object *o)
{
	tres_common(arg, r);
	tres_obj(arg, o);
}

__attribute__((unused)) static void
tres_data_cb(void *arg, const struct tp_result *r, const void *d, size_t n)
{
	struct tres *t = arg;

	tres_common(t, r);
	if (d != NULL && (t->data = malloc(n + 1)) != NULL) {
		memcpy(t->data, d, n);
		t->data[n] = '\0';
		t->len = n;
	}
}

__attribute__((unused)) static void
tres_list_cb(void *arg, const struct tp_result *r, const struct tp_object *objs, size_t n,
    const char *const *pfx, size_t np, const char *next)
{
	struct tres *t = arg;
	size_t i;

	tres_common(t, r);
	t->keys = calloc(n + 1, sizeof(char *));
	t->prefixes = calloc(np + 1, sizeof(char *));
	for (i = 0; t->keys && i < n; i++)
		t->keys[t->nkeys++] = strdup(objs[i].key);
	for (i = 0; t->prefixes && i < np; i++)
		t->prefixes[t->nprefixes++] = strdup(pfx[i]);
	t->has_next = next != NULL;
	snprintf(t->next, sizeof(t->next), "%s", next ? next : "");
}

/* Start with `call` (an expression using t), then wait for the callback. */
#define TRES_RUN(tp, t, call)                                                   \
	do {                                                                    \
		int tres__rc;                                                   \
		tres_free(t);                                                   \
		(t)->in_call = 1;                                               \
		tres__rc = (call);                                              \
		(t)->in_call = 0;                                               \
		if (tres__rc != 0) {                                            \
			(t)->code = tres__rc;                                   \
			snprintf((t)->msg, sizeof((t)->msg), "could not start: %s", \
			    sm_strerror(tres__rc));                             \
		} else if (tp_wait((tp), &(t)->done, TRES_WAIT_MS) != 0) {      \
			(t)->code = SM_ETIMEOUT;                                \
			snprintf((t)->msg, sizeof((t)->msg), "no callback in time"); \
		}                                                               \
	} while (0)

#define s_get_url(tp, t, name) TRES_RUN(tp, t, tp_queue_get_url(tp, name, tres_url_cb, t, NULL))
#define s_create_queue(tp, t, name, a, na) \
	TRES_RUN(tp, t, tp_queue_create(tp, name, a, na, tres_url_cb, t, NULL))
#define s_receive(tp, t, url, max, wait, vis) \
	TRES_RUN(tp, t, tp_queue_receive(tp, url, max, wait, vis, tres_recv_cb, t, NULL))
#define s_send(tp, t, url, body, delay) \
	TRES_RUN(tp, t, tp_queue_send(tp, url, body, delay, tres_sent_cb, t, NULL))
#define s_delete(tp, t, url, rh) \
	TRES_RUN(tp, t, tp_queue_delete(tp, url, rh, tres_done_cb, t, NULL))
#define s_chvis(tp, t, url, rh, vis) \
	TRES_RUN(tp, t, tp_queue_change_visibility(tp, url, rh, vis, tres_done_cb, t, NULL))
#define s_send_batch(tp, t, url, e, n) \
	TRES_RUN(tp, t, tp_queue_send_batch(tp, url, e, n, tres_batch_cb, t, NULL))
#define s_delete_batch(tp, t, url, e, n) \
	TRES_RUN(tp, t, tp_queue_delete_batch(tp, url, e, n, tres_batch_cb, t, NULL))
#define s_chvis_batch(tp, t, url, e, n) \
	TRES_RUN(tp, t, tp_queue_change_visibility_batch(tp, url, e, n, tres_batch_cb, t, NULL))
#define s_attrs(tp, t, url, names, nn) \
	TRES_RUN(tp, t, tp_queue_attributes(tp, url, names, nn, tres_attrs_cb, t, NULL))
#define s_bucket(tp, t, b) TRES_RUN(tp, t, tp_bucket_create(tp, b, tres_done_cb, t, NULL))
#define s_put_mem(tp, t, b, k, d, n) \
	TRES_RUN(tp, t, tp_object_put_mem(tp, b, k, d, n, "application/octet-stream", \
	    tres_object_cb, t, NULL))
#define s_put_file(tp, t, b, k, path) \
	TRES_RUN(tp, t, tp_object_put_file(tp, b, k, path, NULL, tres_object_cb, t, NULL))
#define s_get_mem(tp, t, b, k, max) \
	TRES_RUN(tp, t, tp_object_get_mem(tp, b, k, max, tres_data_cb, t, NULL))
#define s_get_file(tp, t, b, k, path) \
	TRES_RUN(tp, t, tp_object_get_file(tp, b, k, path, tres_object_cb, t, NULL))
#define s_head(tp, t, b, k) TRES_RUN(tp, t, tp_object_head(tp, b, k, tres_object_cb, t, NULL))
#define s_odelete(tp, t, b, k) \
	TRES_RUN(tp, t, tp_object_delete(tp, b, k, tres_done_cb, t, NULL))
#define s_list(tp, t, b, p, d, c, max) \
	TRES_RUN(tp, t, tp_object_list(tp, b, p, d, c, max, tres_list_cb, t, NULL))
#define s_copy(tp, t, sb, sk, db, dk) \
	TRES_RUN(tp, t, tp_object_copy(tp, sb, sk, db, dk, tres_object_cb, t, NULL))

/* The value of attribute `name` in t, or NULL. */
__attribute__((unused)) static const char *
tres_attr(const struct tres *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->na; i++)
		if (strcmp(t->aname[i], name) == 0)
			return t->aval[i];
	return NULL;
}

#endif
