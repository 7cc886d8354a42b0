/*
 * local.c - the embedded "local" backend (tp__local_ops): queues in the
 * state directory's LMDB store, objects as files under <state>/objects.
 *
 * Layout, receipts and the cross-process wake-up are documented in
 * docs/local-backend.md.  Every operation does its work from a zero-delay
 * loop callback (an eventfd the backend watches), so callbacks never run
 * inside the call that started them; a long poll stays armed on the loop
 * (a timer) until a message is visible or its wait ends.
 */
#include "transport_private.h"
#include "local_private.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_digest.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_rand.h"
#include "sm_statedir.h"
#include "sm_text.h"
#include "store.h"

#define LQ_URL_PREFIX "local://queue/"
#define LQ_REC_VERSION 1
#define LQ_REC_HDR (1 + 8 + 8 + 4 + 8 + 36)
/* With inotify on the notify file a long poll wakes on every write by any
 * process and at the next visibility change it knows of; this re-check is
 * only a safety net (a notify file replaced under its watch), so an idle
 * daemon wakes once per long poll (poll_wait), not every second. */
#define LQ_POLL_MS 20000
#define LQ_POLL_NOINOTIFY_MS 150
#define LO_KEY_MAX 1024
#define LO_XATTR_ETAG "user.smd.etag"
#define LO_TMP_DIR ".tmp"

#define ERR_NOQUEUE "AWS.SimpleQueueService.NonExistentQueue"
#define ERR_BADRECEIPT "ReceiptHandleIsInvalid"

enum lop_what {
	W_GET_URL, W_CREATE_QUEUE, W_RECEIVE, W_SEND, W_DELETE, W_CHVIS,
	W_SEND_BATCH, W_DELETE_BATCH, W_CHVIS_BATCH, W_ATTRS,
	W_BUCKET, W_PUT_FILE, W_PUT_MEM, W_GET_FILE, W_GET_MEM, W_HEAD, W_ODELETE,
	W_LIST, W_COPY
};

struct local;

/* One operation in flight: its copied arguments, its callback and, once
 * done, the memory its results point into. */
struct lop {
	struct lop *next, *prev;
	struct local *l;
	enum tp__cb_kind kind;
	enum lop_what what;
	uint64_t timer;            /* long poll: armed re-check timer, or 0 */
	uint64_t seq;              /* start order */
	int ready;                 /* to run at the next kick */
	union tp__cb cb;
	void *arg;

	char *s[5];                /* copied string arguments */
	void *buf;                 /* put_mem data */
	size_t len;                /* put_mem length, get_mem cap */
	int i[3];                  /* ints: max/wait/visibility, delay, max_keys */
	struct tp_attr *attrs;     /* create attrs, or attribute names (name only) */
	size_t nattrs;
	struct tp_batch_entry *entries;
	size_t nentries;

	int64_t deadline_ms;       /* receive: monotonic ms when the long poll ends */
	int64_t next_visible_ms;   /* receive: earliest invisible message, 0 none */
	void **pool;               /* result memory, freed with the op */
	size_t npool, apool;
	char msg[512];
	char errbuf[64];
};

struct local {
	struct tp *tp;
	struct sm_loop *loop;
	struct store *store;
	char *state_dir;           /* absolute */
	char *objects_dir;         /* absolute */
	char *notify_path;
	int objfd;                 /* <state>/objects, -1 if not there yet */
	int tmpfd;                 /* <state>/objects/.tmp */
	int inofd;                 /* inotify on the notify file, -1 if none */
	int evfd;                  /* eventfd: ready operations to run */
	struct lop *ops;           /* every operation in flight */
	uint64_t next_seq;
	int depth;                 /* nesting of run_ready() */
	int dead;                  /* destroyed while run_ready() was running */
};

/* ---- small helpers ------------------------------------------------------- */

static char *
xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
msgf(struct lop *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
msgf(struct lop *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof(op->msg), fmt, ap);
	va_end(ap);
}

/* Fill `r` as a failure whose message is in op->msg. */
static void
res_fail(struct tp_result *r, struct lop *op, int code, const char *err_code)
{
	memset(r, 0, sizeof(*r));
	r->code = code;
	r->err_code = err_code;
	r->message = op->msg;
	r->attempts = 1;
}

static void
res_ok(struct tp_result *r)
{
	memset(r, 0, sizeof(*r));
	r->attempts = 1;
}

/* ---- operation bookkeeping ------------------------------------------------ */

static void lop_fire_cancel(struct lop *op);
static int64_t lop_timer(struct sm_loop *loop, uint64_t id, void *arg);

static struct lop *
lop_new(struct local *l, enum tp__cb_kind kind, enum lop_what what, void *arg)
{
	struct lop *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->l = l;
	op->kind = kind;
	op->what = what;
	op->arg = arg;
	return op;
}

static void
lop_free(struct lop *op)
{
	size_t i;

	if (op == NULL)
		return;
	for (i = 0; i < sizeof(op->s) / sizeof(op->s[0]); i++)
		free(op->s[i]);
	free(op->buf);
	for (i = 0; i < op->nattrs; i++) {
		free((char *)op->attrs[i].name);
		free((char *)op->attrs[i].value);
	}
	free(op->attrs);
	for (i = 0; i < op->nentries; i++) {
		free((char *)op->entries[i].id);
		free((char *)op->entries[i].body);
		free((char *)op->entries[i].receipt);
	}
	free(op->entries);
	for (i = 0; i < op->npool; i++)
		free(op->pool[i]);
	free(op->pool);
	free(op);
}

static void
lop_unlink(struct lop *op)
{
	if (op->prev != NULL)
		op->prev->next = op->next;
	else if (op->l->ops == op)
		op->l->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	op->next = op->prev = NULL;
}

static void
kick(struct local *l)
{
	uint64_t one = 1;

	if (write(l->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sm_log_warn("local transport: cannot signal its eventfd: %s", strerror(errno));
}

/* Link `op` and have the loop run it; *h = op for cancel. */
static int
lop_start(struct lop *op, void **h)
{
	struct local *l = op->l;

	*h = op;
	op->seq = ++l->next_seq;
	op->ready = 1;
	kick(l);
	op->next = l->ops;
	if (l->ops != NULL)
		l->ops->prev = op;
	l->ops = op;
	return 0;
}

/* Run the callback for a failed or canceled operation with empty outputs. */
static void
lop_fire_fail(struct lop *op, const struct tp_result *r)
{
	tp__cb_fail(op->kind, op->cb, op->arg, r);
}

static void
lop_fire_cancel(struct lop *op)
{
	struct tp_result r;

	msgf(op, "operation canceled: the transport was destroyed");
	res_fail(&r, op, SM_ECANCELED, NULL);
	lop_fire_fail(op, &r);
}

/* Fail `op` with the message in op->msg: unlink, call back, free. */
static void
lop_finish_fail(struct lop *op, int code, const char *err_code)
{
	struct tp_result r;

	res_fail(&r, op, code, err_code);
	lop_fire_fail(op, &r);
}

/* Keep `p` until the op is freed; returns p, or NULL (and frees p) when
 * out of memory. */
static void *
pool_add(struct lop *op, void *p)
{
	void **np;

	if (p == NULL)
		return NULL;
	if (op->npool == op->apool) {
		size_t n = op->apool ? op->apool * 2 : 8;
		if ((np = realloc(op->pool, n * sizeof(*np))) == NULL) {
			free(p);
			return NULL;
		}
		op->pool = np;
		op->apool = n;
	}
	op->pool[op->npool++] = p;
	return p;
}

/* Free every pooled result (a store_write callback may run twice). */
static void
pool_reset(struct lop *op)
{
	size_t i;

	for (i = 0; i < op->npool; i++)
		free(op->pool[i]);
	op->npool = 0;
}

static char *
pool_strdup(struct lop *op, const char *s)
{
	return pool_add(op, strdup(s));
}

static char *
pool_printf(struct lop *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
pool_printf(struct lop *op, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return pool_add(op, s);
}

/* ---- queues: names, keys and records ---------------------------------------- */

/* SQS rules: 1..80 of [A-Za-z0-9_-]; FIFO queues are not supported here. */
static int
qname_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 1 || n > 80)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* "local://queue/<name>" -> name (points into url). NULL if malformed. */
static const char *
qname_from_url(const char *url)
{
	size_t n = strlen(LQ_URL_PREFIX);

	if (strncmp(url, LQ_URL_PREFIX, n) != 0 || !qname_valid(url + n))
		return NULL;
	return url + n;
}

/* message key: name 0 'm' be64 seq */
static size_t
mkey(unsigned char *out, const char *name, uint64_t seq)
{
	size_t n = strlen(name);

	memcpy(out, name, n);
	out[n] = 0;
	out[n + 1] = 'm';
	store_be64_put(out + n + 2, seq);
	return n + 10;
}

/* visibility index key: name 0 'v' be64 visible_at_ms be64 seq */
static size_t
vkey(unsigned char *out, const char *name, uint64_t vis, uint64_t seq)
{
	size_t n = strlen(name);

	memcpy(out, name, n);
	out[n] = 0;
	out[n + 1] = 'v';
	store_be64_put(out + n + 2, vis);
	store_be64_put(out + n + 10, seq);
	return n + 18;
}

#define LQ_KEY_MAX (80 + 18)

struct lq_rec {
	uint64_t visible_at;       /* wall ms */
	uint64_t sent_ms;
	uint32_t receive_count;    /* also the receipt generation */
	uint64_t first_receive_ms;
	char id[37];
	const char *body;
	size_t body_len;
};

static unsigned char *
rec_encode(const struct lq_rec *r, size_t *len)
{
	unsigned char *b = malloc(LQ_REC_HDR + r->body_len), c4[8];

	if (b == NULL)
		return NULL;
	b[0] = LQ_REC_VERSION;
	store_be64_put(b + 1, r->visible_at);
	store_be64_put(b + 9, r->sent_ms);
	store_be64_put(c4, r->receive_count);
	memcpy(b + 17, c4 + 4, 4);
	store_be64_put(b + 21, r->first_receive_ms);
	memcpy(b + 29, r->id, 36);
	memcpy(b + LQ_REC_HDR, r->body, r->body_len);
	*len = LQ_REC_HDR + r->body_len;
	return b;
}

/* Decode (body points into `v`).  SM_ECORRUPT if it is not ours. */
static int
rec_decode(const void *v, size_t vlen, struct lq_rec *r)
{
	const unsigned char *b = v;
	unsigned char c8[8] = {0};

	if (vlen < LQ_REC_HDR || b[0] != LQ_REC_VERSION)
		return SM_ECORRUPT;
	r->visible_at = store_be64_get(b + 1);
	r->sent_ms = store_be64_get(b + 9);
	memcpy(c8 + 4, b + 17, 4);
	r->receive_count = (uint32_t)store_be64_get(c8);
	r->first_receive_ms = store_be64_get(b + 21);
	memcpy(r->id, b + 29, 36);
	r->id[36] = '\0';
	r->body = (const char *)b + LQ_REC_HDR;
	r->body_len = vlen - LQ_REC_HDR;
	return 0;
}

/* Receipt: "lr1.<seq 16 hex>.<generation 8 hex>.<queue name>". */
static char *
receipt_make(struct lop *op, const char *name, uint64_t seq, uint32_t gen)
{
	return pool_printf(op, "lr1.%016" PRIx64 ".%08" PRIx32 ".%s", seq, gen, name);
}

static int
receipt_parse(const char *rh, const char *name, uint64_t *seq, uint32_t *gen)
{
	char *end;
	unsigned long long s;
	unsigned long g;

	size_t i;

	if (strncmp(rh, "lr1.", 4) != 0 || strlen(rh) < 4 + 16 + 1 + 8 + 1 + 1)
		return SM_EINVAL;
	for (i = 4; i < 29; i++)   /* exactly 16 + 8 hex digits, no sign or space */
		if (i != 20 && !isxdigit((unsigned char)rh[i]))
			return SM_EINVAL;
	errno = 0;
	s = strtoull(rh + 4, &end, 16);
	if (errno != 0 || end != rh + 20 || *end != '.')
		return SM_EINVAL;
	g = strtoul(rh + 21, &end, 16);
	if (errno != 0 || end != rh + 29 || *end != '.' || g > UINT32_MAX)
		return SM_EINVAL;
	if (strcmp(rh + 30, name) != 0)
		return SM_EINVAL;
	*seq = s;
	*gen = (uint32_t)g;
	return 0;
}

/* ---- queues: metadata ---------------------------------------------------- */

struct lq_attr_def {
	const char *name;
	long min, max, def;
};

static const struct lq_attr_def lq_attr_defs[] = {
	{"VisibilityTimeout", 0, 43200, 30},
	{"DelaySeconds", 0, 900, 0},
	{"MessageRetentionPeriod", 60, 1209600, 345600},
	{"MaximumMessageSize", 1024, 262144, 262144},
	{"ReceiveMessageWaitTimeSeconds", 0, 20, 0},
};
#define LQ_NATTR (sizeof(lq_attr_defs) / sizeof(lq_attr_defs[0]))

static const struct lq_attr_def *
attr_def(const char *name)
{
	size_t i;

	for (i = 0; i < LQ_NATTR; i++)
		if (strcmp(lq_attr_defs[i].name, name) == 0)
			return &lq_attr_defs[i];
	return NULL;
}

static int
meta_load(struct store_txn *txn, const char *name, json_t **out)
{
	const void *v;
	size_t vl;
	json_t *j;
	int rc;

	*out = NULL;
	if ((rc = store_get(txn, STORE_T_QUEUE_META, name, strlen(name), &v, &vl)) != 0)
		return rc;
	if ((j = json_loadb(v, vl, 0, NULL)) == NULL || !json_is_object(j)) {
		json_decref(j);
		return SM_ECORRUPT;
	}
	*out = j;
	return 0;
}

static int
meta_save(struct store_txn *txn, const char *name, json_t *meta)
{
	char *s = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (s == NULL)
		return SM_ENOMEM;
	rc = store_put(txn, STORE_T_QUEUE_META, name, strlen(name), s, strlen(s));
	free(s);
	return rc;
}

static long
meta_attr(json_t *meta, const char *name)
{
	json_t *a = json_object_get(json_object_get(meta, "attributes"), name);
	const struct lq_attr_def *d = attr_def(name);

	if (json_is_integer(a))
		return (long)json_integer_value(a);
	return d != NULL ? d->def : 0;
}

/* Notify long polls in other processes: closing a file opened for writing
 * raises IN_CLOSE_WRITE for every inotify watcher. */
static void
notify_others(struct local *l)
{
	int fd = open(l->notify_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0)
		close(fd);
}

static void
wake_receivers(struct local *l, const char *name)
{
	struct lop *op;

	for (op = l->ops; op != NULL; op = op->next) {
		if (op->what != W_RECEIVE || op->timer == 0)
			continue;
		if (name != NULL && strcmp(op->s[0], name) != 0)
			continue;
		sm_loop_timer_del(l->loop, op->timer);
		op->timer = 0;
		op->ready = 1;
		kick(l);
	}
}

/* ---- queues: the transactions ------------------------------------------------ */

/* A per-entry failure: code, service error code, message. */
struct lq_fail {
	int code;
	const char *err_code;
	char msg[256];
};

static int
lq_failf(struct lq_fail *f, int code, const char *err_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
lq_failf(struct lq_fail *f, int code, const char *err_code, const char *fmt, ...)
{
	va_list ap;

	f->code = code;
	f->err_code = err_code;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return code;
}

static int
send_one(struct store_txn *txn, const char *name, json_t *meta, const char *body, int delay_s,
    char id[37], struct lq_fail *f)
{
	unsigned char k[LQ_KEY_MAX], *rec;
	struct lq_rec r;
	json_t *js;
	uint64_t seq, now = (uint64_t)sm_time_wall_ms();
	size_t blen = strlen(body), klen, rlen;
	long maxsz = meta_attr(meta, "MaximumMessageSize");
	int rc;

	if (blen > (size_t)maxsz)
		return lq_failf(f, SM_ETOOBIG, "InvalidParameterValue",
		    "message of %zu bytes for queue '%s' is over its maximum of %ld bytes: "
		    "send a smaller body (or put it in an object and send its key)",
		    blen, name, maxsz);
	if (delay_s < 0)
		delay_s = (int)meta_attr(meta, "DelaySeconds");
	js = json_object_get(meta, "next_seq");
	seq = json_is_integer(js) ? (uint64_t)json_integer_value(js) : 1;
	if (json_object_set_new(meta, "next_seq", json_integer((json_int_t)(seq + 1))) != 0)
		return lq_failf(f, SM_ENOMEM, NULL, "out of memory");
	memset(&r, 0, sizeof(r));
	r.visible_at = now + (uint64_t)delay_s * 1000;
	r.sent_ms = now;
	sm_rand_uuid4(r.id);
	r.body = body;
	r.body_len = blen;
	if ((rec = rec_encode(&r, &rlen)) == NULL)
		return lq_failf(f, SM_ENOMEM, NULL, "out of memory");
	klen = mkey(k, name, seq);
	rc = store_put(txn, STORE_T_QUEUES, k, klen, rec, rlen);
	free(rec);
	if (rc == 0) {
		klen = vkey(k, name, r.visible_at, seq);
		rc = store_put(txn, STORE_T_QUEUES, k, klen, "", 1);
	}
	if (rc != 0)
		return lq_failf(f, rc, NULL, "cannot store a message in queue '%s': %s", name,
		    sm_strerror(rc));
	memcpy(id, r.id, 37);
	return 0;
}

/* Look the receipt's message up; *found 0 when it is gone. */
static int
receipt_lookup(struct store_txn *txn, const char *name, const char *receipt, uint64_t *seq,
    uint32_t *gen, struct lq_rec *r, int *found, struct lq_fail *f)
{
	unsigned char k[LQ_KEY_MAX];
	const void *v;
	size_t vl, klen;
	int rc;

	*found = 0;
	if (receipt_parse(receipt, name, seq, gen) != 0)
		return lq_failf(f, SM_EINVAL, ERR_BADRECEIPT,
		    "receipt handle is not one of queue '%s': pass the receipt that "
		    "receive returned for this queue", name);
	klen = mkey(k, name, *seq);
	rc = store_get(txn, STORE_T_QUEUES, k, klen, &v, &vl);
	if (rc == SM_ENOTFOUND)
		return 0;
	if (rc != 0)
		return lq_failf(f, rc, NULL, "cannot read queue '%s': %s", name, sm_strerror(rc));
	if (rec_decode(v, vl, r) != 0)
		return lq_failf(f, SM_ECORRUPT, NULL, "message %" PRIu64 " of queue '%s' is "
		    "corrupt", *seq, name);
	*found = 1;
	return 0;
}

/* As SQS: a receipt of a deleted message, or an older receipt of a message
 * received again since, succeeds without deleting anything. */
static int
delete_one(struct store_txn *txn, const char *name, const char *receipt, struct lq_fail *f)
{
	unsigned char k[LQ_KEY_MAX];
	struct lq_rec r;
	uint64_t seq;
	uint32_t gen;
	size_t klen;
	int found, rc;

	if ((rc = receipt_lookup(txn, name, receipt, &seq, &gen, &r, &found, f)) != 0)
		return rc;
	if (!found || r.receive_count != gen)
		return 0;
	klen = vkey(k, name, r.visible_at, seq);
	if ((rc = store_del(txn, STORE_T_QUEUES, k, klen)) != 0 && rc != SM_ENOTFOUND)
		goto fail;
	klen = mkey(k, name, seq);
	if ((rc = store_del(txn, STORE_T_QUEUES, k, klen)) != 0 && rc != SM_ENOTFOUND)
		goto fail;
	return 0;
fail:
	return lq_failf(f, rc, NULL, "cannot delete from queue '%s': %s", name, sm_strerror(rc));
}

static int
chvis_one(struct store_txn *txn, const char *name, const char *receipt, int vis_s,
    struct lq_fail *f)
{
	unsigned char k[LQ_KEY_MAX], *rec;
	uint64_t seq, now = (uint64_t)sm_time_wall_ms();
	struct lq_rec r;
	uint32_t gen;
	size_t klen, rlen;
	int found, rc;

	if ((rc = receipt_lookup(txn, name, receipt, &seq, &gen, &r, &found, f)) != 0)
		return rc;
	if (!found)
		return lq_failf(f, SM_EINVAL, ERR_BADRECEIPT,
		    "the message of this receipt is no longer in queue '%s' (deleted)", name);
	if (r.receive_count != gen)
		return lq_failf(f, SM_EINVAL, ERR_BADRECEIPT,
		    "receipt is stale: the message was received again from queue '%s' since; "
		    "use the newest receipt", name);
	if (r.visible_at <= now)
		return lq_failf(f, SM_EINVAL, "AWS.SimpleQueueService.MessageNotInflight",
		    "message is not in flight in queue '%s' (its visibility timeout ended): "
		    "receive it again", name);
	klen = vkey(k, name, r.visible_at, seq);
	if ((rc = store_del(txn, STORE_T_QUEUES, k, klen)) != 0 && rc != SM_ENOTFOUND)
		goto fail;
	r.visible_at = now + (uint64_t)vis_s * 1000;
	if ((rec = rec_encode(&r, &rlen)) == NULL)
		return lq_failf(f, SM_ENOMEM, NULL, "out of memory");
	klen = mkey(k, name, seq);
	rc = store_put(txn, STORE_T_QUEUES, k, klen, rec, rlen);
	free(rec);
	if (rc != 0)
		goto fail;
	klen = vkey(k, name, r.visible_at, seq);
	if ((rc = store_put(txn, STORE_T_QUEUES, k, klen, "", 1)) != 0)
		goto fail;
	return 0;
fail:
	return lq_failf(f, rc, NULL, "cannot change visibility in queue '%s': %s", name,
	    sm_strerror(rc));
}

/* Results of a queue transaction, kept in the op. */
struct lq_out {
	struct lq_fail fail;
	char id[37];
	struct tp_message *msgs;
	size_t nmsgs;
	struct tp_batch_outcome *outs;
	struct tp_attr *attrs;
	size_t nattrs;
	int notify;
};

static int
fail_from_store(struct lq_fail *f, int rc, const char *what, const char *name)
{
	if (rc == SM_ENOTFOUND)
		return lq_failf(f, rc, ERR_NOQUEUE, "queue '%s' does not exist: create it "
		    "first (tp_queue_create)", name);
	return lq_failf(f, rc, NULL, "cannot %s queue '%s': %s", what, name, sm_strerror(rc));
}

struct lq_ctx {
	struct lop *op;
	struct lq_out *out;
};

static int
tx_create(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct lq_ctx *c = arg;
	struct lop *op = c->op;
	const char *name = op->s[0];
	json_t *meta = NULL, *attrs;
	size_t i;
	int rc;

	(void)err;
	rc = meta_load(txn, name, &meta);
	if (rc == 0) {
		for (i = 0; i < op->nattrs; i++) {
			long have = meta_attr(meta, op->attrs[i].name);
			if (have != strtol(op->attrs[i].value, NULL, 10)) {
				json_decref(meta);
				return lq_failf(&c->out->fail, SM_EEXISTS,
				    "QueueAlreadyExists", "queue '%s' exists with %s=%ld, not %s: "
				    "use the same attributes or another name", name,
				    op->attrs[i].name, have, op->attrs[i].value);
			}
		}
		json_decref(meta);
		return 0;
	}
	if (rc != SM_ENOTFOUND)
		return lq_failf(&c->out->fail, rc, NULL, "cannot read queue '%s': %s", name,
		    sm_strerror(rc));
	attrs = json_object();
	for (i = 0; attrs != NULL && i < op->nattrs; i++)
		json_object_set_new(attrs, op->attrs[i].name,
		    json_integer(strtol(op->attrs[i].value, NULL, 10)));
	meta = json_pack("{s:I, s:I, s:I, s:o}", "created_ms", (json_int_t)sm_time_wall_ms(),
	    "modified_ms", (json_int_t)sm_time_wall_ms(), "next_seq", (json_int_t)1,
	    "attributes", attrs);
	if (meta == NULL)
		return lq_failf(&c->out->fail, SM_ENOMEM, NULL, "out of memory");
	rc = meta_save(txn, name, meta);
	json_decref(meta);
	if (rc != 0)
		return lq_failf(&c->out->fail, rc, NULL, "cannot create queue '%s': %s", name,
		    sm_strerror(rc));
	return 0;
}

static int
tx_send(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct lq_ctx *c = arg;
	struct lop *op = c->op;
	const char *name = op->s[0];
	json_t *meta;
	size_t i;
	int rc;

	(void)err;
	pool_reset(op);
	c->out->notify = 0;
	if ((rc = meta_load(txn, name, &meta)) != 0)
		return fail_from_store(&c->out->fail, rc, "read", name);
	if (op->what == W_SEND) {
		rc = send_one(txn, name, meta, op->s[1], op->i[1], c->out->id, &c->out->fail);
		c->out->notify = rc == 0;
	} else {
		for (i = 0; i < op->nentries; i++) {
			struct tp_batch_outcome *o = &c->out->outs[i];
			struct lq_fail f;
			char id[37];

			memset(o, 0, sizeof(*o));
			o->id = op->entries[i].id;
			memset(&f, 0, sizeof(f));
			rc = send_one(txn, name, meta, op->entries[i].body,
			    op->entries[i].delay_s, id, &f);
			if (rc == 0) {
				o->message_id = pool_strdup(op, id);
				c->out->notify = 1;
			} else {
				o->code = f.code;
				o->err_code = f.err_code;
				o->message = pool_strdup(op, f.msg);
			}
			if (rc == SM_EFULL)
				break;   /* the whole transaction is redone after growth */
		}
		rc = rc == SM_EFULL ? rc : 0;
	}
	if (rc == 0) {
		/* next_seq moved; LastModifiedTimestamp (attributes) did not */
		rc = meta_save(txn, name, meta);
		if (rc != 0)
			lq_failf(&c->out->fail, rc, NULL, "cannot update queue '%s': %s", name,
			    sm_strerror(rc));
	}
	json_decref(meta);
	return rc;
}

static int
tx_receipts(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct lq_ctx *c = arg;
	struct lop *op = c->op;
	const char *name = op->s[0];
	json_t *meta;
	size_t i;
	int rc;

	(void)err;
	pool_reset(op);
	c->out->notify = 0;
	if ((rc = meta_load(txn, name, &meta)) != 0)
		return fail_from_store(&c->out->fail, rc, "read", name);
	json_decref(meta);
	if (op->what == W_DELETE)
		return delete_one(txn, name, op->s[1], &c->out->fail);
	if (op->what == W_CHVIS) {
		rc = chvis_one(txn, name, op->s[1], op->i[0], &c->out->fail);
		c->out->notify = rc == 0;
		return rc;
	}
	for (i = 0; i < op->nentries; i++) {
		struct tp_batch_outcome *o = &c->out->outs[i];
		struct lq_fail f;

		memset(o, 0, sizeof(*o));
		memset(&f, 0, sizeof(f));
		o->id = op->entries[i].id;
		if (op->what == W_DELETE_BATCH)
			rc = delete_one(txn, name, op->entries[i].receipt, &f);
		else
			rc = chvis_one(txn, name, op->entries[i].receipt,
			    op->entries[i].visibility_s, &f);
		if (rc == SM_EFULL)
			return rc;
		if (rc != 0) {
			o->code = f.code;
			o->err_code = f.err_code;
			o->message = pool_strdup(op, f.msg);
		} else if (op->what == W_CHVIS_BATCH) {
			c->out->notify = 1;
		}
	}
	return 0;
}

/* Receive up to op->i[0] visible messages; when none, note the earliest
 * time one becomes visible in op->next_visible_ms. */
static int
tx_receive(struct store_txn *txn, void *arg, struct sm_error *err)
{
	struct lq_ctx *c = arg;
	struct lop *op = c->op;
	const char *name = op->s[0];
	size_t nlen = strlen(name), klen, n = 0, i;
	uint64_t seqs[10], viss[10], now = (uint64_t)sm_time_wall_ms();
	unsigned char k[LQ_KEY_MAX];
	struct store_cursor *cur = NULL;
	const void *ck, *cv;
	size_t ckl, cvl;
	json_t *meta;
	long vis, retention;
	int rc;

	(void)err;
	pool_reset(op);
	c->out->nmsgs = 0;
	op->next_visible_ms = 0;
	if ((rc = meta_load(txn, name, &meta)) != 0)
		return fail_from_store(&c->out->fail, rc, "read", name);
	vis = op->i[2] >= 0 ? op->i[2] : meta_attr(meta, "VisibilityTimeout");
	retention = meta_attr(meta, "MessageRetentionPeriod");
	json_decref(meta);

	if ((rc = store_cursor_open(txn, STORE_T_QUEUES, &cur)) != 0)
		goto store_fail;
	klen = vkey(k, name, 0, 0);
	rc = store_cursor_seek(cur, k, nlen + 2, &ck, &ckl, &cv, &cvl);
	while (rc == 0 && n < (size_t)op->i[0]) {
		const unsigned char *kb = ck;
		uint64_t v;

		if (ckl != klen || memcmp(kb, k, nlen + 2) != 0)
			break;
		v = store_be64_get(kb + nlen + 2);
		if (v > now) {
			op->next_visible_ms = (int64_t)v;
			break;
		}
		viss[n] = v;
		seqs[n++] = store_be64_get(kb + nlen + 10);
		rc = store_cursor_next(cur, &ck, &ckl, &cv, &cvl);
	}
	store_cursor_close(cur);
	if (rc != 0 && rc != SM_ENOTFOUND)
		goto store_fail;

	for (i = 0; i < n; i++) {
		struct tp_message *m;
		struct lq_rec r;
		const void *v;
		size_t vl, rlen;
		unsigned char *rec;
		char *body;

		klen = vkey(k, name, viss[i], seqs[i]);
		if ((rc = store_del(txn, STORE_T_QUEUES, k, klen)) != 0)
			goto store_fail;
		klen = mkey(k, name, seqs[i]);
		if ((rc = store_get(txn, STORE_T_QUEUES, k, klen, &v, &vl)) == SM_ENOTFOUND)
			continue;   /* index without a message: dropped above */
		if (rc != 0)
			goto store_fail;
		if (rec_decode(v, vl, &r) != 0) {
			/* not ours: drop it rather than loop on it forever */
			sm_log_warn("local queue '%s': dropping corrupt message %" PRIu64,
			    name, seqs[i]);
			store_del(txn, STORE_T_QUEUES, k, klen);
			continue;
		}
		if (r.sent_ms + (uint64_t)retention * 1000 < now) {
			store_del(txn, STORE_T_QUEUES, k, klen);
			continue;
		}
		r.receive_count++;
		if (r.first_receive_ms == 0)
			r.first_receive_ms = now;
		r.visible_at = now + (uint64_t)vis * 1000;
		m = &c->out->msgs[c->out->nmsgs];
		memset(m, 0, sizeof(*m));
		if ((body = pool_add(op, malloc(r.body_len + 1))) == NULL)
			return lq_failf(&c->out->fail, SM_ENOMEM, NULL, "out of memory");
		memcpy(body, r.body, r.body_len);
		body[r.body_len] = '\0';
		m->body = body;
		m->body_len = r.body_len;
		m->message_id = pool_strdup(op, r.id);
		m->receipt = receipt_make(op, name, seqs[i], r.receive_count);
		m->receive_count = r.receive_count;
		m->sent_ms = (int64_t)r.sent_ms;
		if (m->message_id == NULL || m->receipt == NULL)
			return lq_failf(&c->out->fail, SM_ENOMEM, NULL, "out of memory");
		/* r.body points into the map: encode before the put moves it */
		if ((rec = rec_encode(&r, &rlen)) == NULL)
			return lq_failf(&c->out->fail, SM_ENOMEM, NULL, "out of memory");
		rc = store_put(txn, STORE_T_QUEUES, k, klen, rec, rlen);
		free(rec);
		if (rc != 0)
			goto store_fail;
		klen = vkey(k, name, r.visible_at, seqs[i]);
		if ((rc = store_put(txn, STORE_T_QUEUES, k, klen, "", 1)) != 0)
			goto store_fail;
		c->out->nmsgs++;
	}
	return 0;
store_fail:
	return lq_failf(&c->out->fail, rc, NULL, "cannot receive from queue '%s': %s", name,
	    sm_strerror(rc));
}

static int
rd_attrs(struct lop *op, struct lq_out *out)
{
	const char *name = op->s[0];
	struct store_txn *txn = NULL;
	struct store_cursor *cur = NULL;
	unsigned char k[LQ_KEY_MAX];
	const void *ck, *cv;
	size_t ckl, cvl, klen, nlen = strlen(name), i, j, n = 0;
	uint64_t now = (uint64_t)sm_time_wall_ms();
	long visible = 0, inflight = 0, delayed = 0;
	json_t *meta = NULL;
	struct sm_error err;
	char num[32];
	int rc;
	static const char *const all[] = {
		"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
		"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
		"LastModifiedTimestamp", "QueueArn", "VisibilityTimeout", "DelaySeconds",
		"MessageRetentionPeriod", "MaximumMessageSize",
		"ReceiveMessageWaitTimeSeconds",
	};
	const size_t nall = sizeof(all) / sizeof(all[0]);

	if ((rc = store_txn_begin(op->l->store, STORE_TXN_READ, &txn, &err)) != 0)
		return lq_failf(&out->fail, rc, NULL, "%s", err.msg);
	if ((rc = meta_load(txn, name, &meta)) != 0) {
		fail_from_store(&out->fail, rc, "read", name);
		goto done;
	}
	/* count: visible now, in flight (received, hidden), delayed (never received) */
	if ((rc = store_cursor_open(txn, STORE_T_QUEUES, &cur)) != 0)
		goto store_fail;
	klen = mkey(k, name, 0);
	rc = store_cursor_seek(cur, k, nlen + 2, &ck, &ckl, &cv, &cvl);
	while (rc == 0) {
		struct lq_rec r;

		if (ckl != klen || memcmp(ck, k, nlen + 2) != 0)
			break;
		if (rec_decode(cv, cvl, &r) == 0) {
			if (r.visible_at <= now)
				visible++;
			else if (r.receive_count > 0)
				inflight++;
			else
				delayed++;
		}
		rc = store_cursor_next(cur, &ck, &ckl, &cv, &cvl);
	}
	store_cursor_close(cur);
	if (rc != 0 && rc != SM_ENOTFOUND)
		goto store_fail;
	rc = 0;

	out->attrs = pool_add(op, calloc(nall, sizeof(*out->attrs)));
	if (out->attrs == NULL) {
		rc = lq_failf(&out->fail, SM_ENOMEM, NULL, "out of memory");
		goto done;
	}
	for (i = 0; i < nall; i++) {
		const char *a = all[i];
		int want = op->nattrs == 0;

		for (j = 0; j < op->nattrs && !want; j++)
			want = strcmp(op->attrs[j].name, a) == 0 ||
			    strcmp(op->attrs[j].name, "All") == 0;
		if (!want)
			continue;
		if (strcmp(a, "ApproximateNumberOfMessages") == 0)
			snprintf(num, sizeof(num), "%ld", visible);
		else if (strcmp(a, "ApproximateNumberOfMessagesNotVisible") == 0)
			snprintf(num, sizeof(num), "%ld", inflight);
		else if (strcmp(a, "ApproximateNumberOfMessagesDelayed") == 0)
			snprintf(num, sizeof(num), "%ld", delayed);
		else if (strcmp(a, "CreatedTimestamp") == 0)
			snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(
			    json_object_get(meta, "created_ms")) / 1000);
		else if (strcmp(a, "LastModifiedTimestamp") == 0)
			snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(
			    json_object_get(meta, "modified_ms")) / 1000);
		else if (strcmp(a, "QueueArn") == 0)
			num[0] = '\0';
		else
			snprintf(num, sizeof(num), "%ld", meta_attr(meta, a));
		out->attrs[n].name = a;
		out->attrs[n].value = strcmp(a, "QueueArn") == 0 ?
		    pool_printf(op, "arn:aws:sqs:local:000000000000:%s", name) :
		    pool_strdup(op, num);
		if (out->attrs[n].value == NULL) {
			rc = lq_failf(&out->fail, SM_ENOMEM, NULL, "out of memory");
			goto done;
		}
		n++;
	}
	out->nattrs = n;
	goto done;
store_fail:
	fail_from_store(&out->fail, rc, "read", name);
done:
	json_decref(meta);
	store_txn_abort(txn);
	return rc;
}

static int
rd_exists(struct lop *op, struct lq_out *out)
{
	struct store_txn *txn = NULL;
	struct sm_error err;
	json_t *meta = NULL;
	int rc;

	if ((rc = store_txn_begin(op->l->store, STORE_TXN_READ, &txn, &err)) != 0)
		return lq_failf(&out->fail, rc, NULL, "%s", err.msg);
	if ((rc = meta_load(txn, op->s[0], &meta)) != 0)
		fail_from_store(&out->fail, rc, "read", op->s[0]);
	json_decref(meta);
	store_txn_abort(txn);
	return rc;
}

/* Run a write transaction; on a store failure without our own message,
 * take the store's. */
static int
lq_write(struct lop *op, store_write_fn *fn, struct lq_out *out)
{
	struct lq_ctx c = { op, out };
	struct sm_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = store_write(op->l->store, fn, &c, &err);
	if (rc != 0 && out->fail.code == 0)
		lq_failf(&out->fail, rc, NULL, "local queue '%s': %s", op->s[0],
		    err.code != 0 ? err.msg : sm_strerror(rc));
	return rc;
}

static void
lq_fail_cb(struct lop *op, struct lq_out *out, int rc)
{
	snprintf(op->msg, sizeof(op->msg), "%s", out->fail.msg[0] ? out->fail.msg :
	    sm_strerror(rc));
	lop_finish_fail(op, out->fail.code ? out->fail.code : rc, out->fail.err_code);
}

static void
run_queue(struct lop *op)
{
	struct lq_out out;
	struct tp_batch_outcome outs[10];
	struct tp_result r;
	char *url;
	int rc;

	memset(&out, 0, sizeof(out));
	out.outs = outs;
	switch (op->what) {
	case W_GET_URL:
	case W_CREATE_QUEUE:
		rc = op->what == W_GET_URL ? rd_exists(op, &out) : lq_write(op, tx_create, &out);
		if (rc != 0)
			break;
		if ((url = pool_printf(op, LQ_URL_PREFIX "%s", op->s[0])) == NULL) {
			rc = lq_failf(&out.fail, SM_ENOMEM, NULL, "out of memory");
			break;
		}
		res_ok(&r);
		op->cb.url(op->arg, &r, url);
		return;
	case W_SEND:
	case W_SEND_BATCH:
		if ((rc = lq_write(op, tx_send, &out)) != 0)
			break;
		if (out.notify) {
			notify_others(op->l);
			wake_receivers(op->l, op->s[0]);
		}
		res_ok(&r);
		if (op->what == W_SEND)
			op->cb.sent(op->arg, &r, out.id);
		else
			op->cb.batch(op->arg, &r, outs, op->nentries);
		return;
	case W_DELETE:
	case W_CHVIS:
	case W_DELETE_BATCH:
	case W_CHVIS_BATCH:
		if ((rc = lq_write(op, tx_receipts, &out)) != 0)
			break;
		if (out.notify) {
			notify_others(op->l);
			wake_receivers(op->l, op->s[0]);
		}
		res_ok(&r);
		if (op->what == W_DELETE || op->what == W_CHVIS)
			op->cb.done(op->arg, &r);
		else
			op->cb.batch(op->arg, &r, outs, op->nentries);
		return;
	case W_ATTRS:
		if ((rc = rd_attrs(op, &out)) != 0)
			break;
		res_ok(&r);
		op->cb.attrs(op->arg, &r, out.attrs, out.nattrs);
		return;
	default:
		rc = SM_EBUG;
		break;
	}
	lq_fail_cb(op, &out, rc);
}

/* One try of a receive.  Returns -1 when the op is finished (callback
 * run), else the delay in ms before the next try. */
static int64_t
run_receive(struct lop *op)
{
	struct tp_message msgs[10];
	struct lq_out out;
	struct tp_result r;
	int64_t now, wall, delay;
	int rc;

	memset(&out, 0, sizeof(out));
	out.msgs = msgs;
	if ((rc = lq_write(op, tx_receive, &out)) != 0) {
		lop_unlink(op);
		lq_fail_cb(op, &out, rc);
		return -1;
	}
	/* the deadline is monotonic; visibility times are wall-clock */
	now = (int64_t)sm_time_mono_ms();
	wall = sm_time_wall_ms();
	if (out.nmsgs > 0 || now >= op->deadline_ms) {
		lop_unlink(op);
		res_ok(&r);
		op->cb.recv(op->arg, &r, msgs, out.nmsgs);
		return -1;
	}
	delay = op->deadline_ms - now;
	if (op->next_visible_ms > 0 && op->next_visible_ms - wall < delay)
		delay = op->next_visible_ms - wall;
	if (op->l->inofd < 0 && delay > LQ_POLL_NOINOTIFY_MS)
		delay = LQ_POLL_NOINOTIFY_MS;
	else if (delay > LQ_POLL_MS)
		delay = LQ_POLL_MS;
	return delay < 1 ? 1 : delay;
}

/* ---- objects: names and safe walking ----------------------------------- */

/* S3 bucket rules: 3..63 of [a-z0-9.-], starting and ending with a letter
 * or digit, no "..". */
static int
bucket_valid(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63 || strstr(b, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		char c = b[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '-')
			return 0;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
	}
	return 1;
}

/* A key is a relative path of segments: no empty, "." or ".." segment, no
 * leading "/", no control characters, 1..1024 bytes, segments up to 255. */
static int
key_check(struct lop *op, const char *key)
{
	size_t n = strlen(key), seg = 0, i;
	const char *s;

	if (n == 0 || n > LO_KEY_MAX) {
		msgf(op, "object key of %zu bytes is refused: keys are 1 to %d bytes", n,
		    LO_KEY_MAX);
		return SM_EINVAL;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7f) {
			msgf(op, "object key contains control character 0x%02x at byte %zu: "
			    "use printable characters", c, i);
			return SM_EINVAL;
		}
	}
	for (s = key; ; ) {
		const char *e = strchr(s, '/');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);

		if (len == 0 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.')) {
			msgf(op, "object key '%.200s' is refused: empty, '.' and '..' path "
			    "segments (and a leading or trailing '/') are not allowed", key);
			return SM_EINVAL;
		}
		if (len > NAME_MAX) {
			msgf(op, "object key '%.200s...' has a segment of %zu bytes: the "
			    "local backend allows %d", key, len, NAME_MAX);
			return SM_EINVAL;
		}
		seg++;
		if (e == NULL)
			break;
		s = e + 1;
	}
	(void)seg;
	return 0;
}

static int
names_check(struct lop *op, const char *bucket, const char *key)
{
	if (!bucket_valid(bucket)) {
		msgf(op, "bucket name '%.100s' is invalid: use 3 to 63 characters of "
		    "a-z, 0-9, '.' and '-', starting and ending with a letter or digit",
		    bucket);
		return SM_EINVAL;
	}
	return key != NULL ? key_check(op, key) : 0;
}

static int
open_bucket(struct lop *op, const char *bucket, int *fd)
{
	int e;

	*fd = openat(op->l->objfd, bucket, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	e = errno;
	if (e == ENOENT) {
		msgf(op, "bucket '%s' does not exist: create it first", bucket);
		snprintf(op->errbuf, sizeof(op->errbuf), "NoSuchBucket");
		return SM_ENOTFOUND;
	}
	if (e == ELOOP || e == ENOTDIR) {
		msgf(op, "refusing bucket '%s': it is not a directory under %s (symlink?)",
		    bucket, op->l->objects_dir);
		return SM_EPERM;
	}
	msgf(op, "cannot open bucket '%s' under %s: %s", bucket, op->l->objects_dir,
	    strerror(e));
	return sm_error_from_errno(e);
}

/*
 * Walk the directories of `key` below the bucket directory `bfd` without
 * following symlinks; `create` makes missing ones.  *parent is a new fd of
 * the key's directory, `leaf` its last segment.
 */
static int
walk_key(struct lop *op, int bfd, const char *key, int create, int *parent,
    char leaf[NAME_MAX + 1])
{
	char buf[LO_KEY_MAX + 1], *seg, *slash;
	struct stat st;
	int fd, fd2, e;

	*parent = -1;
	snprintf(buf, sizeof(buf), "%s", key);
	if ((fd = dup(bfd)) < 0)
		goto sys;
	for (seg = buf; (slash = strchr(seg, '/')) != NULL; seg = slash + 1) {
		*slash = '\0';
		fd2 = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd2 < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, seg, 0700) == 0)
				fsync(fd);
			else if (errno != EEXIST)
				goto sys;
			fd2 = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd2 < 0) {
			e = errno;
			if (e != ENOENT && fstatat(fd, seg, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISLNK(st.st_mode)) {
					msgf(op, "refusing key '%.300s': '%s' is a symlink "
					    "under %s; remove it", key, seg,
					    op->l->objects_dir);
					close(fd);
					return SM_EPERM;
				}
				if (create) {
					msgf(op, "key '%.300s' conflicts with the existing "
					    "object '%.300s' (the local backend keeps keys "
					    "as paths): use another key", key, buf);
					close(fd);
					return SM_EEXISTS;
				}
				e = ENOENT;
			}
			if (e == ENOENT) {
				msgf(op, "object '%.300s' does not exist", key);
				snprintf(op->errbuf, sizeof(op->errbuf), "NoSuchKey");
				close(fd);
				return SM_ENOTFOUND;
			}
			errno = e;
			goto sys;
		}
		close(fd);
		fd = fd2;
	}
	if (strlen(seg) > NAME_MAX) {
		errno = ENAMETOOLONG;
		goto sys;
	}
	memcpy(leaf, seg, strlen(seg) + 1);
	*parent = fd;
	return 0;
sys:
	e = errno;
	msgf(op, "cannot open the directories of key '%.300s': %s", key, strerror(e));
	if (fd >= 0)
		close(fd);
	return sm_error_from_errno(e);
}

/* Open an object for reading: a regular file reached without symlinks. */
static int
open_object(struct lop *op, const char *bucket, const char *key, int *fd, struct stat *st)
{
	char leaf[NAME_MAX + 1];
	int bfd, pfd, rc, e;

	*fd = -1;
	if ((rc = names_check(op, bucket, key)) != 0)
		return rc;
	if ((rc = open_bucket(op, bucket, &bfd)) != 0)
		return rc;
	rc = walk_key(op, bfd, key, 0, &pfd, leaf);
	close(bfd);
	if (rc != 0)
		return rc;
	*fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	e = errno;
	close(pfd);
	if (*fd < 0) {
		if (e == ELOOP) {
			msgf(op, "refusing key '%.300s': it is a symlink under %s; remove it",
			    key, op->l->objects_dir);
			return SM_EPERM;
		}
		if (e == ENOENT || e == ENOTDIR) {
			msgf(op, "object '%.300s' does not exist in bucket '%s'", key, bucket);
			snprintf(op->errbuf, sizeof(op->errbuf), "NoSuchKey");
			return SM_ENOTFOUND;
		}
		msgf(op, "cannot open object '%.300s': %s", key, strerror(e));
		return sm_error_from_errno(e);
	}
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		msgf(op, "object '%.300s' does not exist in bucket '%s'", key, bucket);
		snprintf(op->errbuf, sizeof(op->errbuf), "NoSuchKey");
		return SM_ENOTFOUND;
	}
	return 0;
}

/* ETag: the MD5 hex kept in an xattr at put, else computed from the content. */
static int
object_etag(int fd, char out[33])
{
	unsigned char buf[65536], md[SM_DIGEST_MD5];
	struct sm_digest d;
	off_t off = 0;
	ssize_t n;

	if (fgetxattr(fd, LO_XATTR_ETAG, out, 32) == 32) {
		out[32] = '\0';
		return 0;
	}
	sm_digest_init(&d, SM_DIGEST_MD5);
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sm_error_from_errno(errno);
		}
		sm_digest_update(&d, buf, (size_t)n);
		off += n;
	}
	sm_digest_final(&d, md);
	sm_hex_encode(md, sizeof(md), out);
	return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fill a struct tp_object for `key` from an open object. */
static int
object_info(struct lop *op, const char *key, int fd, const struct stat *st,
    struct tp_object *obj)
{
	char etag[33];
	int rc;

	memset(obj, 0, sizeof(*obj));
	if ((rc = object_etag(fd, etag)) != 0) {
		msgf(op, "cannot read object '%.300s': %s", key, sm_strerror(rc));
		return rc;
	}
	obj->key = pool_strdup(op, key);
	obj->etag = pool_strdup(op, etag);
	obj->size = (uint64_t)st->st_size;
	obj->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	if (obj->key == NULL || obj->etag == NULL) {
		msgf(op, "out of memory");
		return SM_ENOMEM;
	}
	return 0;
}

/*
 * Store an object from memory (srcfd < 0) or from `srcfd`: write a
 * temporary file under objects/.tmp, fsync, rename over the key, fsync the
 * directory.  A crash leaves at worst a file in .tmp, never a partial object.
 */
static int
put_object(struct lop *op, const char *bucket, const char *key, int srcfd, const void *mem,
    size_t len, struct tp_object *obj)
{
	unsigned char buf[65536], md[SM_DIGEST_MD5];
	char tmpname[64], etag[33], leaf[NAME_MAX + 1];
	struct sm_digest d;
	int bfd = -1, pfd = -1, tfd = -1, rc, attempt, e;
	struct stat st;
	ssize_t n;
	uint64_t rnd;

	if ((rc = names_check(op, bucket, key)) != 0)
		return rc;
	if ((rc = open_bucket(op, bucket, &bfd)) != 0)
		return rc;
	rnd = sm_rand_u64();
	snprintf(tmpname, sizeof(tmpname), "put-%ld-%016" PRIx64, (long)getpid(), rnd);
	tfd = openat(op->l->tmpfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (tfd < 0) {
		e = errno;
		msgf(op, "cannot create a temporary file in %s/" LO_TMP_DIR ": %s",
		    op->l->objects_dir, strerror(e));
		rc = sm_error_from_errno(e);
		goto out;
	}
	sm_digest_init(&d, SM_DIGEST_MD5);
	if (srcfd < 0) {
		sm_digest_update(&d, mem, len);
		if (write_all(tfd, mem, len) != 0)
			goto write_fail;
	} else {
		for (;;) {
			n = read(srcfd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				e = errno;
				msgf(op, "cannot read the source of object '%.300s': %s", key,
				    strerror(e));
				rc = sm_error_from_errno(e);
				goto out;
			}
			if (n == 0)
				break;
			sm_digest_update(&d, buf, (size_t)n);
			if (write_all(tfd, buf, (size_t)n) != 0)
				goto write_fail;
		}
	}
	sm_digest_final(&d, md);
	sm_hex_encode(md, sizeof(md), etag);
	(void)fsetxattr(tfd, LO_XATTR_ETAG, etag, 32, 0);   /* optional cache */
	if (fsync(tfd) != 0 || fstat(tfd, &st) != 0)
		goto write_fail;
	close(tfd);
	tfd = -1;

	/* a concurrent delete may prune the directory between walk and rename */
	for (attempt = 0; ; attempt++) {
		if ((rc = walk_key(op, bfd, key, 1, &pfd, leaf)) != 0)
			goto out;
		if (renameat(op->l->tmpfd, tmpname, pfd, leaf) == 0)
			break;
		e = errno;
		close(pfd);
		pfd = -1;
		if (e == ENOENT && attempt < 8)
			continue;
		if (e == EISDIR || e == ENOTEMPTY || e == EEXIST) {
			msgf(op, "key '%.300s' conflicts with existing keys below it (the "
			    "local backend keeps keys as paths): use another key", key);
			rc = SM_EEXISTS;
		} else {
			msgf(op, "cannot rename object '%.300s' into place: %s", key,
			    strerror(e));
			rc = sm_error_from_errno(e);
		}
		goto out;
	}
	fsync(pfd);
	tmpname[0] = '\0';
	memset(obj, 0, sizeof(*obj));
	obj->key = pool_strdup(op, key);
	obj->etag = pool_strdup(op, etag);
	obj->size = (uint64_t)st.st_size;
	obj->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	rc = obj->key != NULL && obj->etag != NULL ? 0 : SM_ENOMEM;
	if (rc != 0)
		msgf(op, "out of memory");
	goto out;
write_fail:
	e = errno;
	msgf(op, "cannot write object '%.300s' under %s: %s", key, op->l->objects_dir,
	    strerror(e));
	rc = sm_error_from_errno(e);
out:
	if (tfd >= 0)
		close(tfd);
	if (tmpname[0] != '\0')
		unlinkat(op->l->tmpfd, tmpname, 0);
	if (pfd >= 0)
		close(pfd);
	if (bfd >= 0)
		close(bfd);
	return rc;
}

/* Remove the now-empty directories of a deleted key, deepest first. */
static void
prune_dirs(int bfd, const char *key)
{
	char buf[LO_KEY_MAX + 1], *cut;
	char leaf[NAME_MAX + 1];
	struct lop scratch;
	int pfd;

	snprintf(buf, sizeof(buf), "%s", key);
	memset(&scratch, 0, sizeof(scratch));
	while ((cut = strrchr(buf, '/')) != NULL) {
		*cut = '\0';       /* buf: the directory to try to remove */
		if (walk_key(&scratch, bfd, buf, 0, &pfd, leaf) != 0)
			return;
		if (unlinkat(pfd, leaf, AT_REMOVEDIR) != 0) {
			close(pfd);
			return;
		}
		fsync(pfd);
		close(pfd);
	}
}

static int
delete_object(struct lop *op, const char *bucket, const char *key)
{
	char leaf[NAME_MAX + 1];
	int bfd, pfd, rc, e;

	if ((rc = names_check(op, bucket, key)) != 0)
		return rc;
	if ((rc = open_bucket(op, bucket, &bfd)) != 0)
		return rc;
	rc = walk_key(op, bfd, key, 0, &pfd, leaf);
	if (rc == SM_ENOTFOUND) {
		close(bfd);
		op->errbuf[0] = '\0';
		return 0;   /* as S3: deleting a missing key succeeds */
	}
	if (rc != 0) {
		close(bfd);
		return rc;
	}
	if (unlinkat(pfd, leaf, 0) != 0) {
		e = errno;
		if (e != ENOENT && e != EISDIR) {
			msgf(op, "cannot delete object '%.300s': %s", key, strerror(e));
			rc = sm_error_from_errno(e);
		}
	} else {
		fsync(pfd);
		prune_dirs(bfd, key);
	}
	close(pfd);
	close(bfd);
	return rc;
}

static int
read_all_fd(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		p += r;
		n -= (size_t)r;
	}
	return n == 0 ? 0 : -1;
}

static int
get_to_file(struct lop *op, int fd, const char *path)
{
	char *tmp = NULL, *dir = NULL, *slash;
	unsigned char buf[65536];
	int tfd = -1, dfd, rc = 0, e;
	ssize_t n;

	if (asprintf(&tmp, "%s.smtmp-XXXXXX", path) < 0) {
		tmp = NULL;
		msgf(op, "out of memory");
		return SM_ENOMEM;
	}
	if ((tfd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		e = errno;
		msgf(op, "cannot create a temporary file beside '%s': %s", path, strerror(e));
		free(tmp);
		return sm_error_from_errno(e);
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write_all(tfd, buf, (size_t)n) != 0) {
			n = -1;
			break;
		}
	}
	if (n < 0 || fsync(tfd) != 0 || close(tfd) != 0) {
		e = errno;
		tfd = -1;
		msgf(op, "cannot write '%s': %s", path, strerror(e));
		rc = sm_error_from_errno(e);
		goto out;
	}
	tfd = -1;
	if (rename(tmp, path) != 0) {
		e = errno;
		msgf(op, "cannot rename into '%s': %s", path, strerror(e));
		rc = sm_error_from_errno(e);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((dir = strdup(path)) != NULL) {
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash != NULL)
			*slash = '\0';
		dfd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
out:
	if (tfd >= 0)
		close(tfd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

/* ---- objects: listing ---------------------------------------------------- */

struct lo_ent {
	char *key;
};

struct lo_list {
	struct lo_ent *v;
	size_t n, a;
};

static int
list_add(struct lo_list *ls, const char *rel, const char *name)
{
	struct lo_ent *nv;
	char *k;

	if (ls->n == ls->a) {
		size_t na = ls->a ? ls->a * 2 : 64;
		if ((nv = realloc(ls->v, na * sizeof(*nv))) == NULL)
			return SM_ENOMEM;
		ls->v = nv;
		ls->a = na;
	}
	if (asprintf(&k, "%s%s", rel, name) < 0)
		return SM_ENOMEM;
	ls->v[ls->n++].key = k;
	return 0;
}

/* Collect every regular file below `dfd` (consumed), keys prefixed `rel`. */
static int
list_walk(int dfd, const char *rel, struct lo_list *ls, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (depth > LO_KEY_MAX / 2 || (d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			rc = list_add(ls, rel, de->d_name);
		} else if (S_ISDIR(st.st_mode)) {
			char *sub;
			int sfd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0)
				continue;
			if (asprintf(&sub, "%s%s/", rel, de->d_name) < 0) {
				close(sfd);
				rc = SM_ENOMEM;
				break;
			}
			rc = list_walk(sfd, sub, ls, depth + 1);
			free(sub);
		}
		/* symlinks, fifos, sockets: not objects */
	}
	closedir(d);
	return rc;
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lo_ent *)a)->key, ((const struct lo_ent *)b)->key);
}

struct lo_list_out {
	struct tp_object *objs;
	size_t nobjs;
	const char **prefixes;
	size_t nprefixes;
	const char *next;
};

static int
list_objects(struct lop *op, struct lo_list_out *out)
{
	const char *bucket = op->s[0], *prefix = op->s[1] ? op->s[1] : "";
	const char *delim = op->s[2] && op->s[2][0] ? op->s[2] : NULL;
	const char *cont = op->s[3] && op->s[3][0] ? op->s[3] : NULL;
	int max = op->i[0] > 0 ? op->i[0] : 1000;
	char dirpart[LO_KEY_MAX + 2], *slash, leaf[NAME_MAX + 1];
	struct lo_list ls = { NULL, 0, 0 };
	const char *last_prefix = NULL, *last_emit = NULL;
	int bfd = -1, sfd = -1, rc, count = 0, last_is_prefix = 0;
	size_t i, plen = strlen(prefix), dlen = delim ? strlen(delim) : 0;

	memset(out, 0, sizeof(*out));
	if ((rc = names_check(op, bucket, NULL)) != 0)
		return rc;
	if (cont != NULL && (strlen(cont) < 3 || (strncmp(cont, "k:", 2) != 0 &&
	    strncmp(cont, "p:", 2) != 0))) {
		msgf(op, "continuation token '%.100s' is not one this backend gave: pass "
		    "the 'next' of the previous page", cont);
		snprintf(op->errbuf, sizeof(op->errbuf), "InvalidArgument");
		return SM_EINVAL;
	}
	if ((rc = open_bucket(op, bucket, &bfd)) != 0)
		return rc;
	/* walk only below the directory part of the prefix */
	snprintf(dirpart, sizeof(dirpart), "%s", prefix);
	if ((slash = strrchr(dirpart, '/')) != NULL && plen <= LO_KEY_MAX) {
		struct lop scratch;

		slash[1] = '\0';
		memset(&scratch, 0, sizeof(scratch));
		scratch.l = op->l;
		strcat(dirpart, "x");   /* walk_key wants a leaf: walk to the dir */
		if (key_check(&scratch, dirpart) != 0 ||
		    walk_key(&scratch, bfd, dirpart, 0, &sfd, leaf) != 0) {
			close(bfd);
			goto emit;   /* nothing can match */
		}
		dirpart[strlen(dirpart) - 1] = '\0';
	} else {
		dirpart[0] = '\0';
		sfd = dup(bfd);
	}
	close(bfd);
	if (sfd < 0 || (rc = list_walk(sfd, dirpart, &ls, 0)) != 0) {
		msgf(op, "cannot list bucket '%s': %s", bucket,
		    rc ? sm_strerror(rc) : strerror(errno));
		rc = rc ? rc : SM_EIO;
		goto out;
	}
	if (ls.n > 0) /* an empty bucket: no array to sort (qsort wants one) */
		qsort(ls.v, ls.n, sizeof(ls.v[0]), ent_cmp);
emit:
	out->objs = pool_add(op, calloc(ls.n ? ls.n : 1, sizeof(*out->objs)));
	out->prefixes = pool_add(op, calloc(ls.n ? ls.n : 1, sizeof(*out->prefixes)));
	if (out->objs == NULL || out->prefixes == NULL) {
		msgf(op, "out of memory");
		rc = SM_ENOMEM;
		goto out;
	}
	for (i = 0; i < ls.n; i++) {
		const char *k = ls.v[i].key, *p;
		char *cp = NULL;

		if (strncmp(k, prefix, plen) != 0)
			continue;
		if (cont != NULL) {
			if (cont[0] == 'k' && strcmp(k, cont + 2) <= 0)
				continue;
			if (cont[0] == 'p' && (strcmp(k, cont + 2) <= 0 ||
			    strncmp(k, cont + 2, strlen(cont + 2)) == 0))
				continue;
		}
		if (delim != NULL && (p = strstr(k + plen, delim)) != NULL) {
			size_t cl = (size_t)(p - k) + dlen;
			if (last_prefix != NULL && strlen(last_prefix) == cl &&
			    strncmp(last_prefix, k, cl) == 0)
				continue;
			if (count == max) {
				rc = 1;   /* more to come */
				break;
			}
			if ((cp = pool_add(op, strndup(k, cl))) == NULL) {
				msgf(op, "out of memory");
				rc = SM_ENOMEM;
				goto out;
			}
			out->prefixes[out->nprefixes++] = cp;
			last_prefix = last_emit = cp;
			last_is_prefix = 1;
			count++;
			continue;
		}
		if (count == max) {
			rc = 1;
			break;
		}
		{
			struct stat st;
			int fd;
			struct lop scratch;

			memset(&scratch, 0, sizeof(scratch));
			scratch.l = op->l;
			/* vanished since the walk: skip it */
			if (open_object(&scratch, bucket, k, &fd, &st) != 0)
				continue;
			rc = object_info(op, k, fd, &st, &out->objs[out->nobjs]);
			close(fd);
			if (rc != 0)
				goto out;
			last_emit = out->objs[out->nobjs++].key;
			last_is_prefix = 0;
			count++;
		}
	}
	if (rc == 1) {
		out->next = pool_printf(op, "%c:%s", last_is_prefix ? 'p' : 'k', last_emit);
		rc = out->next != NULL ? 0 : SM_ENOMEM;
	}
out:
	for (i = 0; i < ls.n; i++)
		free(ls.v[i].key);
	free(ls.v);
	return rc;
}

/* ---- objects: running the operations ------------------------------------ */

/* file://<objects_dir>/<bucket>/<key>, the path and key percent-encoded. */
static char *
presign_path(struct local *l, const char *bucket, const char *key)
{
	size_t nd = strlen(l->objects_dir), nb = strlen(bucket), nk = strlen(key), o;
	size_t n = 3 * nd + nb + 3 * nk + 16;
	char *u = malloc(n);

	if (u == NULL)
		return NULL;
	o = (size_t)snprintf(u, n, "file://");
	o += sm_uri_encode(u + o, l->objects_dir, nd, 1);
	o += (size_t)snprintf(u + o, n - o, "/%s/", bucket);
	sm_uri_encode(u + o, key, nk, 1);
	return u;
}

static void
run_object(struct lop *op)
{
	struct lo_list_out lo;
	struct tp_object obj;
	struct tp_result r;
	struct stat st;
	void *data = NULL;
	int rc = 0, fd = -1, e;

	op->msg[0] = '\0';
	op->errbuf[0] = '\0';
	switch (op->what) {
	case W_BUCKET:
		if ((rc = names_check(op, op->s[0], NULL)) != 0)
			break;
		if (mkdirat(op->l->objfd, op->s[0], 0700) != 0 && errno != EEXIST) {
			e = errno;
			msgf(op, "cannot create bucket '%s' under %s: %s", op->s[0],
			    op->l->objects_dir, strerror(e));
			rc = sm_error_from_errno(e);
			break;
		}
		fsync(op->l->objfd);
		/* an existing bucket must be a real directory */
		if ((rc = open_bucket(op, op->s[0], &fd)) != 0)
			break;
		close(fd);
		res_ok(&r);
		op->cb.done(op->arg, &r);
		return;
	case W_PUT_FILE:
		if ((fd = open(op->s[2], O_RDONLY | O_CLOEXEC)) < 0) {
			e = errno;
			msgf(op, "cannot open '%s' to upload it: %s", op->s[2], strerror(e));
			rc = sm_error_from_errno(e);
			break;
		}
		rc = put_object(op, op->s[0], op->s[1], fd, NULL, 0, &obj);
		close(fd);
		if (rc != 0)
			break;
		res_ok(&r);
		op->cb.object(op->arg, &r, &obj);
		return;
	case W_PUT_MEM:
		if ((rc = put_object(op, op->s[0], op->s[1], -1, op->buf, op->len, &obj)) != 0)
			break;
		res_ok(&r);
		op->cb.object(op->arg, &r, &obj);
		return;
	case W_COPY:
		if ((rc = open_object(op, op->s[0], op->s[1], &fd, &st)) != 0)
			break;
		rc = put_object(op, op->s[2], op->s[3], fd, NULL, 0, &obj);
		close(fd);
		if (rc != 0)
			break;
		res_ok(&r);
		op->cb.object(op->arg, &r, &obj);
		return;
	case W_HEAD:
	case W_GET_FILE:
		if ((rc = open_object(op, op->s[0], op->s[1], &fd, &st)) != 0)
			break;
		if ((rc = object_info(op, op->s[1], fd, &st, &obj)) == 0 &&
		    op->what == W_GET_FILE)
			rc = get_to_file(op, fd, op->s[2]);
		close(fd);
		if (rc != 0)
			break;
		res_ok(&r);
		op->cb.object(op->arg, &r, &obj);
		return;
	case W_GET_MEM:
		if ((rc = open_object(op, op->s[0], op->s[1], &fd, &st)) != 0)
			break;
		if ((uint64_t)st.st_size > op->len) {
			msgf(op, "object '%.300s' is %jd bytes, over the limit of %zu: fetch it "
			    "to a file instead", op->s[1], (intmax_t)st.st_size, op->len);
			rc = SM_ETOOBIG;
		} else if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
			msgf(op, "out of memory");
			rc = SM_ENOMEM;
		} else if (read_all_fd(fd, data, (size_t)st.st_size) != 0) {
			msgf(op, "cannot read object '%.300s': %s", op->s[1], strerror(errno));
			rc = SM_EIO;
		}
		close(fd);
		if (rc != 0) {
			free(data);
			break;
		}
		((char *)data)[st.st_size] = '\0';
		res_ok(&r);
		op->cb.data(op->arg, &r, data, (size_t)st.st_size);
		free(data);
		return;
	case W_ODELETE:
		if ((rc = delete_object(op, op->s[0], op->s[1])) != 0)
			break;
		res_ok(&r);
		op->cb.done(op->arg, &r);
		return;
	case W_LIST:
		if ((rc = list_objects(op, &lo)) != 0)
			break;
		res_ok(&r);
		op->cb.list(op->arg, &r, lo.objs, lo.nobjs, lo.prefixes, lo.nprefixes, lo.next);
		return;
	default:
		msgf(op, "internal error: unknown local operation");
		rc = SM_EBUG;
		break;
	}
	if (op->msg[0] == '\0')
		msgf(op, "%s", sm_strerror(rc));
	lop_finish_fail(op, rc, op->errbuf[0] ? op->errbuf : NULL);
}

/* A long poll's re-check is due: queue it for run_ready(). */
static int64_t
lop_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct lop *op = arg;

	(void)loop;
	(void)id;
	op->timer = 0;
	op->ready = 1;
	kick(op->l);
	return -1;
}

/* Run one ready operation (its callback may destroy the transport). */
static void
lop_run(struct lop *op)
{
	struct local *l = op->l;
	int64_t next;

	if (op->what == W_RECEIVE) {
		if ((next = run_receive(op)) < 0) {
			lop_free(op);
			return;
		}
		op->timer = sm_loop_timer_add(l->loop, next, lop_timer, op);
		if (op->timer == 0) {
			lop_unlink(op);
			msgf(op, "out of memory");
			lop_finish_fail(op, SM_ENOMEM, NULL);
			lop_free(op);
		}
		return;
	}
	lop_unlink(op);
	if (op->what < W_BUCKET)
		run_queue(op);
	else
		run_object(op);
	lop_free(op);
}

static void local_free(struct local *l);

/*
 * The eventfd is readable: run every operation that was ready when we
 * started (ones started by callbacks wait for the next turn, so a callback
 * that starts another operation cannot starve the loop).
 */
static void
run_ready(struct sm_loop *loop, int fd, unsigned events, void *arg)
{
	struct local *l = arg;
	uint64_t snapshot = l->next_seq, cnt;
	struct lop *op;

	(void)loop;
	(void)events;
	while (read(fd, &cnt, sizeof(cnt)) > 0)
		;
	l->depth++;
	while (!l->dead) {
		struct lop *first = NULL;

		/* in the order they were started (the list is newest first) */
		for (op = l->ops; op != NULL; op = op->next)
			if (op->ready && op->seq <= snapshot &&
			    (first == NULL || op->seq < first->seq))
				first = op;
		if (first == NULL)
			break;
		first->ready = 0;
		lop_run(first);
	}
	l->depth--;
	if (l->dead && l->depth == 0)
		local_free(l);
	else if (!l->dead)
		for (op = l->ops; op != NULL; op = op->next)
			if (op->ready) {
				kick(l);
				break;
			}
}

/* ---- the ops table entries ----------------------------------------------- */

static struct lop *
new_op(struct tp *tp, enum tp__cb_kind kind, enum lop_what what, void *arg, const char *s0,
    const char *s1, const char *s2, const char *s3)
{
	struct lop *op = lop_new(tp->impl, kind, what, arg);

	if (op == NULL)
		return NULL;
	op->s[0] = xstrdup(s0);
	op->s[1] = xstrdup(s1);
	op->s[2] = xstrdup(s2);
	op->s[3] = xstrdup(s3);
	if ((s0 && !op->s[0]) || (s1 && !op->s[1]) || (s2 && !op->s[2]) || (s3 && !op->s[3])) {
		lop_free(op);
		return NULL;
	}
	return op;
}

/* Queue operations need the store; the URL gives the queue name. */
static int
queue_op(struct tp *tp, enum tp__cb_kind kind, enum lop_what what, void *arg, const char *url,
    const char *s1, struct lop **out)
{
	struct local *l = tp->impl;
	const char *name;

	*out = NULL;
	if (l->store == NULL)
		return SM_EUNSUPPORTED;
	if ((name = qname_from_url(url)) == NULL)
		return SM_EINVAL;
	if ((*out = new_op(tp, kind, what, arg, name, s1, NULL, NULL)) == NULL)
		return SM_ENOMEM;
	return 0;
}

static int
l_get_url(struct tp *tp, const char *name, tp_url_cb *cb, void *arg, void **h)
{
	struct lop *op;

	if (((struct local *)tp->impl)->store == NULL)
		return SM_EUNSUPPORTED;
	if (!qname_valid(name))
		return SM_EINVAL;
	if ((op = new_op(tp, TP__CB_URL, W_GET_URL, arg, name, NULL, NULL, NULL)) == NULL)
		return SM_ENOMEM;
	op->cb.url = cb;
	return lop_start(op, h);
}

static int
l_create_q(struct tp *tp, const char *name, const struct tp_attr *attrs, size_t nattrs,
    tp_url_cb *cb, void *arg, void **h)
{
	struct lop *op;
	size_t i;

	if (((struct local *)tp->impl)->store == NULL)
		return SM_EUNSUPPORTED;
	if (!qname_valid(name))
		return SM_EINVAL;
	for (i = 0; i < nattrs; i++) {
		const struct lq_attr_def *d = attrs[i].name ? attr_def(attrs[i].name) : NULL;
		char *end;
		long v;

		if (d == NULL || attrs[i].value == NULL)
			return SM_EINVAL;
		errno = 0;
		v = strtol(attrs[i].value, &end, 10);
		if (errno != 0 || end == attrs[i].value || *end != '\0' || v < d->min ||
		    v > d->max)
			return SM_EINVAL;
	}
	if ((op = new_op(tp, TP__CB_URL, W_CREATE_QUEUE, arg, name, NULL, NULL, NULL)) == NULL)
		return SM_ENOMEM;
	op->cb.url = cb;
	if (nattrs > 0) {
		if ((op->attrs = calloc(nattrs, sizeof(*op->attrs))) == NULL)
			goto nomem;
		op->nattrs = nattrs;
		for (i = 0; i < nattrs; i++) {
			op->attrs[i].name = strdup(attrs[i].name);
			op->attrs[i].value = strdup(attrs[i].value);
			if (op->attrs[i].name == NULL || op->attrs[i].value == NULL)
				goto nomem;
		}
	}
	return lop_start(op, h);
nomem:
	lop_free(op);
	return SM_ENOMEM;
}

static int
l_receive(struct tp *tp, const char *url, int max, int wait_s, int vis, tp_recv_cb *cb,
    void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = queue_op(tp, TP__CB_RECV, W_RECEIVE, arg, url, NULL, &op)) != 0)
		return rc;
	op->cb.recv = cb;
	op->i[0] = max;
	op->i[1] = wait_s;
	op->i[2] = vis;
	op->deadline_ms = (int64_t)sm_time_mono_ms() + (int64_t)wait_s * 1000;
	return lop_start(op, h);
}

static int
l_send(struct tp *tp, const char *url, const char *body, int delay_s, tp_sent_cb *cb,
    void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = queue_op(tp, TP__CB_SENT, W_SEND, arg, url, body, &op)) != 0)
		return rc;
	op->cb.sent = cb;
	op->i[1] = delay_s;
	return lop_start(op, h);
}

static int
l_delete(struct tp *tp, const char *url, const char *receipt, tp_done_cb *cb, void *arg,
    void **h)
{
	struct lop *op;
	int rc;

	if ((rc = queue_op(tp, TP__CB_DONE, W_DELETE, arg, url, receipt, &op)) != 0)
		return rc;
	op->cb.done = cb;
	return lop_start(op, h);
}

static int
l_chvis(struct tp *tp, const char *url, const char *receipt, int vis, tp_done_cb *cb,
    void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = queue_op(tp, TP__CB_DONE, W_CHVIS, arg, url, receipt, &op)) != 0)
		return rc;
	op->cb.done = cb;
	op->i[0] = vis;
	return lop_start(op, h);
}

static int
batch_op(struct tp *tp, enum lop_what what, const char *url, const struct tp_batch_entry *e,
    size_t n, tp_batch_cb *cb, void *arg, void **h)
{
	struct lop *op;
	size_t i;
	int rc;

	if (n > 10)
		return SM_EINVAL;
	if ((rc = queue_op(tp, TP__CB_BATCH, what, arg, url, NULL, &op)) != 0)
		return rc;
	op->cb.batch = cb;
	if ((op->entries = calloc(n, sizeof(*op->entries))) == NULL)
		goto nomem;
	op->nentries = n;
	for (i = 0; i < n; i++) {
		op->entries[i] = e[i];
		op->entries[i].id = xstrdup(e[i].id);
		op->entries[i].body = xstrdup(e[i].body);
		op->entries[i].receipt = xstrdup(e[i].receipt);
		if ((e[i].id && !op->entries[i].id) || (e[i].body && !op->entries[i].body) ||
		    (e[i].receipt && !op->entries[i].receipt))
			goto nomem;
	}
	return lop_start(op, h);
nomem:
	lop_free(op);
	return SM_ENOMEM;
}

static int
l_send_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e, size_t n,
    tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, W_SEND_BATCH, url, e, n, cb, arg, h);
}

static int
l_delete_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e, size_t n,
    tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, W_DELETE_BATCH, url, e, n, cb, arg, h);
}

static int
l_chvis_batch(struct tp *tp, const char *url, const struct tp_batch_entry *e, size_t n,
    tp_batch_cb *cb, void *arg, void **h)
{
	return batch_op(tp, W_CHVIS_BATCH, url, e, n, cb, arg, h);
}

static int
l_attrs(struct tp *tp, const char *url, const char *const *names, size_t nnames,
    tp_attrs_cb *cb, void *arg, void **h)
{
	static const char *const known[] = {
		"All", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
		"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
		"LastModifiedTimestamp", "QueueArn", "VisibilityTimeout", "DelaySeconds",
		"MessageRetentionPeriod", "MaximumMessageSize",
		"ReceiveMessageWaitTimeSeconds",
	};
	struct lop *op;
	size_t i, j;
	int rc;

	for (i = 0; i < nnames; i++) {
		for (j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (names[i] != NULL && strcmp(names[i], known[j]) == 0)
				break;
		if (j == sizeof(known) / sizeof(known[0]))
			return SM_EINVAL;
	}
	if ((rc = queue_op(tp, TP__CB_ATTRS, W_ATTRS, arg, url, NULL, &op)) != 0)
		return rc;
	op->cb.attrs = cb;
	if (nnames > 0) {
		if ((op->attrs = calloc(nnames, sizeof(*op->attrs))) == NULL)
			goto nomem;
		op->nattrs = nnames;
		for (i = 0; i < nnames; i++)
			if ((op->attrs[i].name = strdup(names[i])) == NULL)
				goto nomem;
	}
	return lop_start(op, h);
nomem:
	lop_free(op);
	return SM_ENOMEM;
}

static int
obj_op(struct tp *tp, enum tp__cb_kind kind, enum lop_what what, void *arg, const char *s0,
    const char *s1, const char *s2, const char *s3, struct lop **out)
{
	struct local *l = tp->impl;

	*out = NULL;
	if (l->objfd < 0)
		return SM_EUNSUPPORTED;
	if ((*out = new_op(tp, kind, what, arg, s0, s1, s2, s3)) == NULL)
		return SM_ENOMEM;
	return 0;
}

static int
l_bucket(struct tp *tp, const char *bucket, tp_done_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_DONE, W_BUCKET, arg, bucket, NULL, NULL, NULL, &op)) != 0)
		return rc;
	op->cb.done = cb;
	return lop_start(op, h);
}

static int
l_put_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    const char *ctype, tp_object_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	(void)ctype;   /* not kept: files have no content type */
	if ((rc = obj_op(tp, TP__CB_OBJECT, W_PUT_FILE, arg, bucket, key, path, NULL, &op)) != 0)
		return rc;
	op->cb.object = cb;
	return lop_start(op, h);
}

static int
l_put_mem(struct tp *tp, const char *bucket, const char *key, const void *data, size_t len,
    const char *ctype, tp_object_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	(void)ctype;
	if ((rc = obj_op(tp, TP__CB_OBJECT, W_PUT_MEM, arg, bucket, key, NULL, NULL, &op)) != 0)
		return rc;
	op->cb.object = cb;
	if ((op->buf = malloc(len ? len : 1)) == NULL) {
		lop_free(op);
		return SM_ENOMEM;
	}
	if (len > 0)
		memcpy(op->buf, data, len);
	op->len = len;
	return lop_start(op, h);
}

static int
l_get_file(struct tp *tp, const char *bucket, const char *key, const char *path,
    tp_object_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_OBJECT, W_GET_FILE, arg, bucket, key, path, NULL, &op)) != 0)
		return rc;
	op->cb.object = cb;
	return lop_start(op, h);
}

static int
l_get_mem(struct tp *tp, const char *bucket, const char *key, size_t max, tp_data_cb *cb,
    void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_DATA, W_GET_MEM, arg, bucket, key, NULL, NULL, &op)) != 0)
		return rc;
	op->cb.data = cb;
	op->len = max;
	return lop_start(op, h);
}

static int
l_head(struct tp *tp, const char *bucket, const char *key, tp_object_cb *cb, void *arg,
    void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_OBJECT, W_HEAD, arg, bucket, key, NULL, NULL, &op)) != 0)
		return rc;
	op->cb.object = cb;
	return lop_start(op, h);
}

static int
l_odel(struct tp *tp, const char *bucket, const char *key, tp_done_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_DONE, W_ODELETE, arg, bucket, key, NULL, NULL, &op)) != 0)
		return rc;
	op->cb.done = cb;
	return lop_start(op, h);
}

static int
l_list(struct tp *tp, const char *bucket, const char *prefix, const char *delim,
    const char *cont, int max_keys, tp_list_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_LIST, W_LIST, arg, bucket, prefix, delim, cont, &op)) != 0)
		return rc;
	op->cb.list = cb;
	op->i[0] = max_keys;
	return lop_start(op, h);
}

static int
l_copy(struct tp *tp, const char *sb, const char *sk, const char *db, const char *dk,
    tp_object_cb *cb, void *arg, void **h)
{
	struct lop *op;
	int rc;

	if ((rc = obj_op(tp, TP__CB_OBJECT, W_COPY, arg, sb, sk, db, dk, &op)) != 0)
		return rc;
	op->cb.object = cb;
	return lop_start(op, h);
}

static char *
l_presign(struct tp *tp, const char *bucket, const char *key, int expires_s,
    struct sm_error *err)
{
	struct local *l = tp->impl;
	struct lop scratch;
	char *u;

	(void)expires_s;   /* a file:// URL does not expire */
	memset(&scratch, 0, sizeof(scratch));
	scratch.l = l;
	if (names_check(&scratch, bucket, key) != 0) {
		sm_error_set(err, SM_EINVAL, "%s", scratch.msg);
		return NULL;
	}
	if ((u = presign_path(l, bucket, key)) == NULL)
		sm_error_set(err, SM_ENOMEM, "out of memory");
	return u;
}

/* ---- create / destroy ------------------------------------------------------ */

static void
ino_ready(struct sm_loop *loop, int fd, unsigned events, void *arg)
{
	struct local *l = arg;
	char buf[4096];

	(void)loop;
	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	wake_receivers(l, NULL);
}

/* Remove temporaries older than a day (left by a crash during a put). */
static void
tmp_sweep(struct local *l)
{
	struct dirent *de;
	struct stat st;
	int64_t now = sm_time_wall_ms() / 1000;
	int fd = dup(l->tmpfd);
	DIR *d;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(l->tmpfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime < now - 86400)
			unlinkat(l->tmpfd, de->d_name, 0);
	}
	closedir(d);
}

static void
local_free(struct local *l)
{
	if (l == NULL)
		return;
	if (l->inofd >= 0) {
		sm_loop_io_del(l->loop, l->inofd);
		close(l->inofd);
	}
	if (l->evfd >= 0) {
		sm_loop_io_del(l->loop, l->evfd);
		close(l->evfd);
	}
	if (l->tmpfd >= 0)
		close(l->tmpfd);
	if (l->objfd >= 0)
		close(l->objfd);
	free(l->state_dir);
	free(l->objects_dir);
	free(l->notify_path);
	free(l);
}

static int
local_create(struct tp *tp, const struct tp_config *cfg, struct sm_error *err)
{
	struct local *l;
	int fd, e;

	if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0')
		return sm_error_set(err, SM_EINVAL,
		    "the local transport needs a state directory: set state_dir");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	l->tp = tp;
	l->loop = tp->loop;
	l->store = cfg->store;
	l->objfd = l->tmpfd = l->inofd = l->evfd = -1;
	if ((l->state_dir = realpath(cfg->state_dir, NULL)) == NULL) {
		e = errno;
		local_free(l);
		return sm_error_set(err, sm_error_from_errno(e),
		    "cannot use state directory '%s': %s", cfg->state_dir, strerror(e));
	}
	if (asprintf(&l->objects_dir, "%s/" SM_STATEDIR_OBJECTS, l->state_dir) < 0 ||
	    asprintf(&l->notify_path, "%s/" SM_STATEDIR_NOTIFY, l->state_dir) < 0) {
		l->objects_dir = l->notify_path = NULL;
		local_free(l);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	if (mkdir(l->objects_dir, 0700) != 0 && errno != EEXIST)
		goto sys;
	if ((l->objfd = open(l->objects_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		goto sys;
	if (mkdirat(l->objfd, LO_TMP_DIR, 0700) != 0 && errno != EEXIST)
		goto sys;
	if ((l->tmpfd = openat(l->objfd, LO_TMP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		goto sys;
	tmp_sweep(l);
	if ((l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto sys;
	if (sm_loop_io_add(tp->loop, l->evfd, SM_LOOP_READ, run_ready, l) != 0) {
		close(l->evfd);
		l->evfd = -1;
		local_free(l);
		return sm_error_set(err, SM_ENOMEM, "cannot watch the local transport's "
		    "eventfd on the loop");
	}

	if (l->store != NULL) {
		fd = open(l->notify_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
		/* without inotify, long polls poll the store instead */
		l->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (l->inofd >= 0 && (inotify_add_watch(l->inofd, l->notify_path,
		    IN_CLOSE_WRITE | IN_ATTRIB) < 0 ||
		    sm_loop_io_add(tp->loop, l->inofd, SM_LOOP_READ, ino_ready, l) != 0)) {
			close(l->inofd);
			l->inofd = -1;
		}
	}
	tp->impl = l;
	return 0;
sys:
	e = errno;
	sm_error_set(err, sm_error_from_errno(e), "cannot prepare '%s' for objects: %s",
	    l->objects_dir, strerror(e));
	local_free(l);
	return err != NULL ? err->code : sm_error_from_errno(e);
}

static void
local_destroy(struct tp *tp)
{
	struct local *l = tp->impl;
	struct lop *op;

	if (l == NULL)
		return;
	while ((op = l->ops) != NULL) {
		lop_unlink(op);
		if (op->timer != 0)
			sm_loop_timer_del(tp->loop, op->timer);
		lop_fire_cancel(op);
		lop_free(op);
	}
	tp->impl = NULL;
	if (l->depth > 0) {
		/* inside run_ready(): it frees l when it unwinds */
		l->dead = 1;
		if (l->inofd >= 0) {
			sm_loop_io_del(tp->loop, l->inofd);
			close(l->inofd);
			l->inofd = -1;
		}
		return;
	}
	local_free(l);
}

/* tp_cancel: a queued operation is dropped before it runs, a long poll's
 * timer disarmed (every operation runs to its end within one loop turn,
 * so there is never half-done work or a temporary file to clean up). */
static void
local_cancel(struct tp *tp, void *h)
{
	struct lop *op = h;

	lop_unlink(op);
	if (op->timer != 0)
		sm_loop_timer_del(tp->loop, op->timer);
	lop_free(op);
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
	.queue_send_batch = l_send_batch,
	.queue_delete_batch = l_delete_batch,
	.queue_change_visibility_batch = l_chvis_batch,
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
	.cancel = local_cancel,
};

/* ---- the name checks alone (local_private.h) ----------------------------- */

int
tp__local_key_check(const char *key, char *msg, size_t msg_size)
{
	struct lop scratch;
	int rc;

	if (key == NULL) {
		if (msg_size > 0)
			snprintf(msg, msg_size, "no object key given");
		return SM_EINVAL;
	}
	memset(&scratch, 0, sizeof(scratch));
	rc = key_check(&scratch, key);
	if (rc != 0 && msg_size > 0)
		snprintf(msg, msg_size, "%s", scratch.msg);
	return rc;
}

int
tp__local_bucket_valid(const char *bucket)
{
	return bucket != NULL && bucket_valid(bucket);
}

int
tp__local_qname_valid(const char *name)
{
	return name != NULL && qname_valid(name);
}

int
tp__local_receipt_parse(const char *receipt, const char *name, uint64_t *seq,
    uint32_t *gen)
{
	if (receipt == NULL || name == NULL)
		return SM_EINVAL;
	return receipt_parse(receipt, name, seq, gen);
}
