/*
 * test_cancel.c - tp_cancel (transport.h): for every operation kind, the
 * callback runs exactly once with SM_ECANCELED before tp_cancel returns,
 * nothing is left running (tp_pending), nothing calls back later, and a
 * second cancel finds nothing.
 *
 *   - aws against test/support/faultd.py: requests in flight (the server
 *     hangs), a retry waiting for its timer (503 with x-amz-retry-after),
 *     a download's temporary file removed, a multipart upload canceled
 *     mid-way (AbortMultipartUpload sent, nothing else) and while its
 *     CreateMultipartUpload is still in flight (aborted once it answers);
 *   - local: operations canceled before the loop ran them (no effect), a
 *     long poll released (a later message is not taken by it), cancel
 *     from an operation's own callback.
 * (A multipart upload canceled against moto, checked with boto3's
 * list_multipart_uploads, is in test/s3/test_s3.c.)
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_private.h"
#include "sm_loop.h"
#include "store.h"
#include "support/faultd_client.h"
#include "support/tp_collect.h"
#include "tap.h"
#include "transport.h"

#define MiB (1024u * 1024u)

static struct sm_loop *loop;
static struct faultd fd;
static char tmpdir[256];
static char bigfile[300];
static char smallfile[300];

/* Run the loop until the transport has nothing in flight. */
static int
wait_idle(struct tp *tp, int ms)
{
	uint64_t until = sm_time_mono_ms() + (uint64_t)ms;

	while (tp_pending(tp) > 0 && sm_time_mono_ms() < until)
		sm_loop_run_once(loop, 20);
	return tp_pending(tp) == 0 ? 0 : -1;
}

/* Files in tmpdir whose name starts with `prefix`. */
static int
count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* ---- every operation kind ------------------------------------------------ */

struct ctx {
	struct tp *tp;
	const char *qurl;
	char get_path[300];
};

static const struct tp_batch_entry batch[2] = {
	{ .id = "a", .body = "one", .receipt = "r-a", .visibility_s = 5 },
	{ .id = "b", .body = "two", .receipt = "r-b", .visibility_s = 5 },
};
static const struct tp_attr qattrs[1] = { { "VisibilityTimeout", "30" } };

typedef int starter(struct ctx *c, struct tp_out *o, tp_op_id *id);

static int
st_get_url(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_get_url(c->tp, "cq", tpc_on_url, o, id);
}

static int
st_create(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_create(c->tp, "cq2", qattrs, 1, tpc_on_url, o, id);
}

static int
st_receive(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_receive(c->tp, c->qurl, 10, 20, 30, tpc_on_recv, o, id);
}

static int
st_send(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_send(c->tp, c->qurl, "canceled body", 0, tpc_on_sent, o, id);
}

static int
st_delete(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_delete(c->tp, c->qurl, "some-receipt", tpc_on_done, o, id);
}

static int
st_chvis(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_change_visibility(c->tp, c->qurl, "some-receipt", 5, tpc_on_done, o,
	    id);
}

static int
st_send_batch(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_send_batch(c->tp, c->qurl, batch, 2, tpc_on_batch, o, id);
}

static int
st_delete_batch(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_delete_batch(c->tp, c->qurl, batch, 2, tpc_on_batch, o, id);
}

static int
st_chvis_batch(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_change_visibility_batch(c->tp, c->qurl, batch, 2, tpc_on_batch, o,
	    id);
}

static int
st_attrs(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_queue_attributes(c->tp, c->qurl, NULL, 0, tpc_on_attrs, o, id);
}

static int
st_bucket(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_bucket_create(c->tp, "cbucket2", tpc_on_done, o, id);
}

static int
st_put_file(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_put_file(c->tp, "cbucket", "put-file", smallfile, NULL, tpc_on_object,
	    o, id);
}

static int
st_put_mem(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_put_mem(c->tp, "cbucket", "put-mem", "data", 4, NULL, tpc_on_object,
	    o, id);
}

static int
st_get_file(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_get_file(c->tp, "cbucket", "there", c->get_path, tpc_on_object, o,
	    id);
}

static int
st_get_mem(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_get_mem(c->tp, "cbucket", "there", 1024, tpc_on_data, o, id);
}

static int
st_head(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_head(c->tp, "cbucket", "there", tpc_on_object, o, id);
}

static int
st_odelete(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_delete(c->tp, "cbucket", "there", tpc_on_done, o, id);
}

static int
st_list(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_list(c->tp, "cbucket", NULL, NULL, NULL, 0, tpc_on_list, o, id);
}

static int
st_copy(struct ctx *c, struct tp_out *o, tp_op_id *id)
{
	return tp_object_copy(c->tp, "cbucket", "there", "cbucket", "copy", tpc_on_object, o,
	    id);
}

static const struct {
	const char *name;
	starter *start;
} kinds[] = {
	{ "queue get url", st_get_url }, { "queue create", st_create },
	{ "queue receive", st_receive }, { "queue send", st_send },
	{ "queue delete", st_delete }, { "queue change visibility", st_chvis },
	{ "queue send batch", st_send_batch }, { "queue delete batch", st_delete_batch },
	{ "queue change visibility batch", st_chvis_batch },
	{ "queue attributes", st_attrs }, { "bucket create", st_bucket },
	{ "object put file", st_put_file }, { "object put mem", st_put_mem },
	{ "object get file", st_get_file }, { "object get mem", st_get_mem },
	{ "object head", st_head }, { "object delete", st_odelete },
	{ "object list", st_list }, { "object copy", st_copy },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Cancel operation `k` once it is started (and, with faultd, once its
 * request reached the server); check the callback and what is left. */
static void
cancel_one(struct ctx *c, size_t k, struct tp_out *o, int in_flight)
{
	tp_op_id id = 0;
	int rc;

	rc = kinds[k].start(c, o, &id);
	is_int(rc, 0, "%s: started", kinds[k].name);
	ok(id != 0, "%s: has an id", kinds[k].name);
	if (rc != 0)
		return;
	if (in_flight)
		ok(faultd_wait_count(&fd, loop, 1, 10000) == 0,
		    "%s: its request reached the server", kinds[k].name);
	is_int(o->calls, 0, "%s: no answer yet", kinds[k].name);
	is_int(tp_cancel(c->tp, id), 0, "%s: tp_cancel", kinds[k].name);
	is_int(o->calls, 1, "%s: callback ran once, inside tp_cancel", kinds[k].name);
	is_int(o->code, SM_ECANCELED, "%s: with SM_ECANCELED", kinds[k].name);
	ok(strstr(o->msg, kinds[k].name) != NULL, "%s: the message names it (%s)",
	    kinds[k].name, o->msg);
	is_int((int)tp_pending(c->tp), 0, "%s: nothing left running", kinds[k].name);
	is_int(tp_cancel(c->tp, id), SM_ENOTFOUND, "%s: a second cancel finds nothing",
	    kinds[k].name);
}

/* ---- aws against faultd --------------------------------------------------- */

static struct tp *
make_aws(void)
{
	struct tp_config cfg;
	struct sm_error err;
	struct tp *tp = NULL;

	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.multipart_threshold = 5 * MiB;
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	return tp;
}

static void
test_aws_in_flight(void)
{
	static struct tp_out outs[NKINDS];
	struct ctx c;
	char qurl[128];
	size_t k;

	memset(&c, 0, sizeof(c));
	c.tp = make_aws();
	snprintf(qurl, sizeof(qurl), "%s/000000000000/cq", fd.url);
	c.qurl = qurl;
	snprintf(c.get_path, sizeof(c.get_path), "%s/got", tmpdir);
	for (k = 0; k < NKINDS; k++) {
		/* every request hangs: the operation stays in flight */
		faultd_script(&fd, "{\"steps\":[],\"default\":{\"action\":\"hang\","
		    "\"delay\":30}}");
		cancel_one(&c, k, &outs[k], 1);
	}
	is_int(count_files("got"), 0, "get file: no temporary file and no destination left");
	faultd_run_for(loop, 300);
	for (k = 0; k < NKINDS; k++)
		if (outs[k].calls != 1)
			break;
	is_int((int)k, (int)NKINDS, "no callback ran again afterwards");
	tp_destroy(c.tp);
	for (k = 0; k < NKINDS; k++)
		tpc_reset(&outs[k]);
}

/* A retry waiting for its timer (x-amz-retry-after: 20 s): the cancel
 * disarms it and nothing more is sent. */
static void
test_aws_retry_wait(void)
{
	struct tp *tp = make_aws();
	struct tp_out o = { 0 };
	tp_op_id id;
	char qurl[128];

	snprintf(qurl, sizeof(qurl), "%s/000000000000/cq", fd.url);
	faultd_script(&fd, "{\"steps\":[{\"preset\":\"retry_after\",\"headers\":"
	    "{\"x-amz-retry-after\":\"20000\"}}],\"default\":{\"status\":200,\"body\":"
	    "\"{\\\"MessageId\\\":\\\"m1\\\"}\"}}");
	is_int(tp_queue_send(tp, qurl, "retry me", 0, tpc_on_sent, &o, &id), 0, "send started");
	ok(faultd_wait_count(&fd, loop, 1, 10000) == 0, "first attempt answered 503");
	faultd_run_for(loop, 300);
	is_int(o.calls, 0, "waiting for its retry");
	is_int((int)tp_pending(tp), 1, "one operation pending");
	is_int(tp_cancel(tp, id), 0, "canceled while waiting");
	is_int(o.calls, 1, "callback once");
	is_int(o.code, SM_ECANCELED, "SM_ECANCELED");
	is_int((int)tp_pending(tp), 0, "the retry timer is gone");
	faultd_run_for(loop, 500);
	is_int(faultd_count(&fd), 1, "no retry was sent");
	is_int(o.calls, 1, "no second callback");
	tp_destroy(tp);
}

#define INIT_OK "{\"status\":200,\"body\":\"<?xml version=\\\"1.0\\\"?>" \
	"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>" \
	"<UploadId>UP1</UploadId></InitiateMultipartUploadResult>\"}"
#define HANG "{\"action\":\"hang\",\"delay\":30}"

/* Canceled mid-way: parts in flight are dropped and the upload aborted. */
static void
test_aws_multipart(void)
{
	struct tp *tp = make_aws();
	struct tp_out o = { 0 };
	tp_op_id id;
	json_t *log;

	/* 11 MiB at 5 MiB parts: 3 parts, all in flight at once, all hang */
	faultd_script(&fd, "{\"steps\":[" INIT_OK "," HANG "," HANG "," HANG "],"
	    "\"default\":{\"status\":204}}");
	is_int(tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &o, &id), 0,
	    "multipart upload started");
	ok(faultd_wait_count(&fd, loop, 4, 10000) == 0, "created, three parts in flight");
	is_int(tp_cancel(tp, id), 0, "canceled mid-way");
	is_int(o.calls, 1, "callback once");
	is_int(o.code, SM_ECANCELED, "SM_ECANCELED");
	is_int((int)tp_pending(tp), 1, "the abort is the transport's own work");
	ok(wait_idle(tp, 10000) == 0, "the abort finished");
	log = faultd_log(&fd);
	is_int(faultd_log_count(log, "DELETE", "uploadId=UP1"), 1, "AbortMultipartUpload sent once");
	is_int(faultd_log_count(log, "PUT", "uploadId=UP1"), 3, "no part sent after the cancel");
	is_int(faultd_log_count(log, "POST", "uploadId=UP1"), 0, "never completed");
	json_decref(log);
	is_int(o.calls, 1, "no second callback");
	tp_destroy(tp);
}

/* Canceled while CreateMultipartUpload is on its way: its answer's upload
 * is aborted, and no part is ever sent. */
static void
test_aws_multipart_creating(void)
{
	struct tp *tp = make_aws();
	struct tp_out o = { 0 };
	tp_op_id id;
	json_t *log;

	faultd_script(&fd, "{\"steps\":[{\"status\":200,\"delay\":1.0,\"body\":\"<?xml version="
	    "\\\"1.0\\\"?><InitiateMultipartUploadResult><UploadId>UP1</UploadId>"
	    "</InitiateMultipartUploadResult>\"}],\"default\":{\"status\":204}}");
	is_int(tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &o, &id), 0,
	    "multipart upload started");
	ok(faultd_wait_count(&fd, loop, 1, 10000) == 0, "CreateMultipartUpload sent");
	is_int(tp_cancel(tp, id), 0, "canceled before it was answered");
	is_int(o.calls, 1, "callback once");
	is_int(o.code, SM_ECANCELED, "SM_ECANCELED");
	ok(wait_idle(tp, 10000) == 0, "the transport's cleanup finished");
	log = faultd_log(&fd);
	is_int(faultd_log_count(log, "POST", "uploads"), 1, "created once");
	is_int(faultd_log_count(log, "DELETE", "uploadId=UP1"), 1, "then aborted");
	is_int(faultd_log_count(log, "PUT", NULL), 0, "no part sent");
	json_decref(log);
	is_int(o.calls, 1, "no second callback");
	tp_destroy(tp);
}

/* tp_destroy after a cancel: the pending abort is dropped, nothing leaks. */
static void
test_aws_destroy_after_cancel(void)
{
	struct tp *tp = make_aws();
	struct tp_out o = { 0 };
	tp_op_id id;

	faultd_script(&fd, "{\"steps\":[" INIT_OK "],\"default\":" HANG "}");
	is_int(tp_object_put_file(tp, "b", "k", bigfile, NULL, tpc_on_object, &o, &id), 0,
	    "multipart upload started");
	ok(faultd_wait_count(&fd, loop, 4, 10000) == 0, "parts in flight");
	is_int(tp_cancel(tp, id), 0, "canceled");
	ok(faultd_wait_count(&fd, loop, 5, 10000) == 0, "the abort is in flight (and hangs)");
	is_int((int)tp_pending(tp), 1, "pending: the abort");
	tp_destroy(tp);
	is_int(o.calls, 1, "the caller's callback ran once in all");
}

/* ---- local ------------------------------------------------------------------ */

struct local_env {
	struct store *st;
	struct tp *tp;
	char dir[300];
};

static void
local_open(struct local_env *e)
{
	struct tp_config cfg;
	struct sm_error err;

	snprintf(e->dir, sizeof(e->dir), "%s/state", tmpdir);
	mkdir(e->dir, 0700);
	if (store_open(&e->st, e->dir, NULL, &err) != 0)
		bail_out("store_open: %s", err.msg);
	tp_config_init(&cfg);
	cfg.backend = "local";
	cfg.state_dir = e->dir;
	cfg.store = e->st;
	if (tp_create(&e->tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
}

static int
run_op(struct tp *tp, struct tp_out *o, int rc)
{
	if (rc != 0)
		return rc;
	if (tp_wait(tp, &o->done, 10000) != 0)
		return SM_ETIMEOUT;
	return o->code;
}

static struct tp *self_tp;
static tp_op_id self_id;
static int self_rc = 1;

/* An operation's callback cancels that same operation. */
static void
on_self(void *arg, const struct tp_result *r)
{
	tpc_take(arg, r);
	self_rc = tp_cancel(self_tp, self_id);
}

static void
test_local(void)
{
	static struct tp_out outs[NKINDS];
	struct local_env e;
	struct tp_out o = { 0 }, lp = { 0 };
	struct ctx c;
	char qurl[512];
	tp_op_id id;
	size_t k;

	local_open(&e);
	is_int(run_op(e.tp, &o, tp_queue_create(e.tp, "cq", NULL, 0, tpc_on_url, &o, NULL)), 0,
	    "local: queue created");
	snprintf(qurl, sizeof(qurl), "%s", o.url);
	tpc_reset(&o);
	is_int(run_op(e.tp, &o, tp_bucket_create(e.tp, "cbucket", tpc_on_done, &o, NULL)), 0,
	    "local: bucket created");
	tpc_reset(&o);
	is_int(run_op(e.tp, &o, tp_object_put_mem(e.tp, "cbucket", "there", "x", 1, NULL,
	    tpc_on_object, &o, NULL)), 0, "local: object 'there' put");
	tpc_reset(&o);

	/* every kind, canceled before the loop ran it */
	memset(&c, 0, sizeof(c));
	c.tp = e.tp;
	c.qurl = qurl;
	snprintf(c.get_path, sizeof(c.get_path), "%s/lgot", tmpdir);
	for (k = 0; k < NKINDS; k++)
		cancel_one(&c, k, &outs[k], 0);
	faultd_run_for(loop, 200);
	for (k = 0; k < NKINDS; k++)
		if (outs[k].calls != 1)
			break;
	is_int((int)k, (int)NKINDS, "local: no callback ran again");
	is_int(count_files("lgot"), 0, "local: get file canceled wrote nothing");
	is_int(run_op(e.tp, &o, tp_object_head(e.tp, "cbucket", "put-mem", tpc_on_object, &o,
	    NULL)), SM_ENOTFOUND, "local: a canceled put wrote no object");
	tpc_reset(&o);
	is_int(run_op(e.tp, &o, tp_queue_receive(e.tp, qurl, 10, 0, 30, tpc_on_recv, &o, NULL)),
	    0, "local: receive");
	is_int((int)o.n, 0, "local: a canceled send sent nothing");
	tpc_reset(&o);

	/* a long poll, released */
	is_int(tp_queue_receive(e.tp, qurl, 1, 20, 30, tpc_on_recv, &lp, &id), 0,
	    "local: long poll started");
	faultd_run_for(loop, 300);
	is_int(lp.calls, 0, "local: the long poll waits");
	is_int(tp_cancel(e.tp, id), 0, "local: long poll canceled");
	is_int(lp.calls, 1, "local: its callback ran once");
	is_int(lp.code, SM_ECANCELED, "local: SM_ECANCELED");
	is_int((int)tp_pending(e.tp), 0, "local: nothing pending");
	is_int(run_op(e.tp, &o, tp_queue_send(e.tp, qurl, "after", 0, tpc_on_sent, &o, NULL)),
	    0, "local: send after the cancel");
	tpc_reset(&o);
	faultd_run_for(loop, 200);
	is_int(lp.calls, 1, "local: the canceled poll did not wake");
	is_int(run_op(e.tp, &o, tp_queue_receive(e.tp, qurl, 1, 0, 30, tpc_on_recv, &o, NULL)),
	    0, "local: receive");
	is_int((int)o.n, 1, "local: the message is there for the next receive");
	tpc_reset(&o);

	/* an operation cannot cancel itself from its callback: it is done */
	self_tp = e.tp;
	is_int(run_op(e.tp, &o, tp_object_delete(e.tp, "cbucket", "gone", on_self, &o,
	    &self_id)), 0, "local: delete ran");
	is_int(self_rc, SM_ENOTFOUND, "local: cancel from its own callback finds nothing");
	is_int(o.calls, 1, "local: callback once");
	tpc_reset(&o);
	is_int(tp_cancel(e.tp, 0), SM_ENOTFOUND, "local: id 0 names nothing");
	is_int(tp_cancel(e.tp, 999999), SM_ENOTFOUND, "local: an id never given names nothing");

	/* tp_destroy cancels what is in flight */
	is_int(tp_queue_receive(e.tp, qurl, 1, 20, 30, tpc_on_recv, &lp, &id), 0,
	    "local: another long poll");
	tpc_reset(&lp);
	tp_destroy(e.tp);
	is_int(lp.calls, 1, "local: tp_destroy ran its callback once");
	is_int(lp.code, SM_ECANCELED, "local: with SM_ECANCELED");
	store_close(e.st);
	for (k = 0; k < NKINDS; k++)
		tpc_reset(&outs[k]);
}

int
main(void)
{
	FILE *f;
	size_t i;
	static char chunk[1024 * 1024];
	const char *t = getenv("TMPDIR");

	plan_no_plan();
	if (faultd_start(&fd) != 0) {
		skip_all("python3 cannot run test/support/faultd.py");
		return 0;
	}
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_cancel.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp");
	snprintf(bigfile, sizeof(bigfile), "%s/big.bin", tmpdir);
	snprintf(smallfile, sizeof(smallfile), "%s/small.bin", tmpdir);
	memset(chunk, 'a', sizeof(chunk));
	if ((f = fopen(bigfile, "wb")) == NULL)
		bail_out("cannot create %s", bigfile);
	for (i = 0; i < 11; i++)
		fwrite(chunk, 1, sizeof(chunk), f);
	fclose(f);
	if ((f = fopen(smallfile, "wb")) == NULL)
		bail_out("cannot create %s", smallfile);
	fwrite(chunk, 1, 1000, f);
	fclose(f);

	test_local();

	faultd_aws_env(&fd, "faultd-cancel-secret");
	setenv("AWS_REGION", "us-east-1", 1);
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL_SQS");
	unsetenv("AWS_S3_FORCE_PATH_STYLE");
	test_aws_in_flight();
	test_aws_retry_wait();
	test_aws_multipart();
	test_aws_multipart_creating();
	test_aws_destroy_after_cancel();
	faultd_stop(&fd);

	unlink(bigfile);
	unlink(smallfile);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	sm_loop_destroy(loop);
	return done_testing();
}
