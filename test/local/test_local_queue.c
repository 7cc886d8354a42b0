/*
 * test_local_queue.c - what only the local queue backend can be asked:
 * visibility expiry and redelivery, stale receipts, long polls woken by a
 * send in this process and from another process, persistence across a
 * reopen, cancellation on destroy, hostile names and receipts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local/child.h"
#include "ops/ops_sync.h"
#include "sm_loop.h"
#include "store.h"
#include "tap.h"
#include "transport.h"

static char state_dir[256];

struct env {
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp;
};

static void
env_open(struct env *e)
{
	struct tp_config cfg;
	struct sm_error err;

	if (sm_loop_create(&e->loop) != 0)
		bail_out("loop");
	if (store_open(&e->st, state_dir, NULL, &err) != 0)
		bail_out("store_open: %s", err.msg);
	tp_config_init(&cfg);
	cfg.backend = "local";
	cfg.state_dir = state_dir;
	cfg.store = e->st;
	if (tp_create(&e->tp, e->loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
}

static void
env_close(struct env *e)
{
	tp_destroy(e->tp);
	store_close(e->st);
	sm_loop_destroy(e->loop);
	memset(e, 0, sizeof(*e));
}

/* child: sleep, then send one message through its own store and transport */
static int
child_send(const char *dir, const char *url, const char *body, int sleep_ms)
{
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp;
	struct tres t = {0};

	usleep((useconds_t)sleep_ms * 1000);
	tp = child_tp(dir, &loop, &st);
	s_send(tp, &t, url, body, 0);
	tp_destroy(tp);
	store_close(st);
	sm_loop_destroy(loop);
	return t.code == 0 ? 0 : 1;
}

struct delayed_send {
	struct tp *tp;
	const char *url;
	struct tres t;
};

static int64_t
send_later(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct delayed_send *d = arg;

	(void)loop;
	(void)id;
	if (tp_queue_send(d->tp, d->url, "woken", 0, tres_sent_cb, &d->t, NULL) != 0)
		d->t.code = -1;
	return -1;
}

/* A callback that destroys the transport while another op is pending. */
struct destroyer {
	struct env *e;
	int ran;
};

static void
destroy_in_cb(void *arg, const struct tp_result *r, const char *url)
{
	struct destroyer *d = arg;

	(void)r;
	(void)url;
	d->ran++;
	tp_destroy(d->e->tp);
	d->e->tp = NULL;
}

/* Delete the first message `t` holds (TRES_RUN resets t before the call). */
static void
delete_msg(struct env *e, struct tres *t, const char *url)
{
	char rh[1024];

	snprintf(rh, sizeof(rh), "%s", t->m[0].receipt);
	s_delete(e->tp, t, url, rh);
	if (t->code != 0)
		diag("delete: %s", t->msg);
}

int
main(int argc, char **argv)
{
	struct env e;
	struct tres t = {0};
	char url[512], r1[1024], r2[1024], other[512];
	struct tp_attr a1[] = { { "VisibilityTimeout", "30" } };
	struct tp_attr a2[] = { { "VisibilityTimeout", "31" } };
	struct tp_attr small[] = { { "MaximumMessageSize", "1024" } };
	uint64_t t0;
	char *big;

	if (argc == 5 && strcmp(argv[1], "--child-send") == 0)
		return child_send(argv[2], argv[3], argv[4], 300);

	plan_no_plan();
	snprintf(state_dir, sizeof(state_dir), "/tmp/sm-test-lq-XXXXXX");
	if (mkdtemp(state_dir) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	env_open(&e);

	/* names and urls */
	is_int(tp_queue_create(e.tp, "bad name", NULL, 0, tres_url_cb, &t, NULL), SM_EINVAL,
	    "queue name with a space refused at the call");
	is_int(tp_queue_create(e.tp, "../../etc", NULL, 0, tres_url_cb, &t, NULL), SM_EINVAL,
	    "queue name with slashes refused");
	{
		char longname[100];
		memset(longname, 'a', 81);
		longname[81] = '\0';
		is_int(tp_queue_get_url(e.tp, longname, tres_url_cb, &t, NULL), SM_EINVAL,
		    "queue name of 81 characters refused");
	}
	is_int(tp_queue_send(e.tp, "local://queue/a/../b", "x", 0, tres_sent_cb, &t, NULL),
	    SM_EINVAL, "malformed queue url refused");
	is_int(tp_queue_send(e.tp, "https://sqs.example/q", "x", 0, tres_sent_cb, &t, NULL),
	    SM_EINVAL, "foreign queue url refused");
	{
		struct tp_attr bad[] = { { "VisibilityTimeout", "99999" } };
		struct tp_attr unk[] = { { "NoSuchAttribute", "1" } };
		is_int(tp_queue_create(e.tp, "q", bad, 1, tres_url_cb, &t, NULL), SM_EINVAL,
		    "attribute out of range refused");
		is_int(tp_queue_create(e.tp, "q", unk, 1, tres_url_cb, &t, NULL), SM_EINVAL,
		    "unknown attribute refused");
	}

	s_create_queue(e.tp, &t, "work", a1, 1);
	is_int(t.code, 0, "create queue (%s)", t.msg);
	is_str(t.url, "local://queue/work", "local queue url");
	snprintf(url, sizeof(url), "%s", t.url);
	s_create_queue(e.tp, &t, "work", a2, 1);
	is_int(t.code, SM_EEXISTS, "create with other attributes: exists (%s)", t.msg);
	is_str(t.err_code, "QueueAlreadyExists", "QueueAlreadyExists");
	s_send(e.tp, &t, "local://queue/nothere", "x", 0);
	is_int(t.code, SM_ENOTFOUND, "send to a missing queue: not found");
	is_str(t.err_code, "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue");

	/* visibility expiry and redelivery */
	s_send(e.tp, &t, url, "m1", 0);
	is_int(t.code, 0, "send m1");
	s_receive(e.tp, &t, url, 1, 0, 1);
	ok(t.nm == 1 && t.m[0].receive_count == 1, "receive m1 with visibility 1 s");
	snprintf(r1, sizeof(r1), "%s", t.nm ? t.m[0].receipt : "");
	s_receive(e.tp, &t, url, 1, 0, -1);
	is_int(t.nm, 0, "m1 is hidden during its visibility timeout");
	t0 = sm_time_mono_ms();
	s_receive(e.tp, &t, url, 1, 10, 5);
	ok(t.nm == 1 && strcmp(t.m[0].body, "m1") == 0, "m1 redelivered after its timeout");
	ok(sm_time_mono_ms() - t0 < 2500, "the long poll ended when m1 became visible "
	    "(%llu ms), not at its 10 s deadline", (unsigned long long)(sm_time_mono_ms() - t0));
	is_int(t.nm ? t.m[0].receive_count : 0, 2, "redelivered m1 has receive count 2");
	snprintf(r2, sizeof(r2), "%s", t.nm ? t.m[0].receipt : "");
	ok(strcmp(r1, r2) != 0, "redelivery gives a new receipt");

	/* stale receipts: delete succeeds without deleting (as SQS), change
	 * visibility is refused */
	s_chvis(e.tp, &t, url, r1, 30);
	is_int(t.code, SM_EINVAL, "change visibility with a stale receipt refused");
	is_str(t.err_code, "ReceiptHandleIsInvalid", "stale receipt: ReceiptHandleIsInvalid");
	like_str(t.msg, "stale", "the message says the receipt is stale");
	s_delete(e.tp, &t, url, r1);
	is_int(t.code, 0, "delete with a stale receipt succeeds (as SQS does)");
	s_attrs(e.tp, &t, url, NULL, 0);
	is_str(tres_attr(&t, "ApproximateNumberOfMessagesNotVisible"), "1",
	    "... but the message was not deleted: still in flight");
	s_delete(e.tp, &t, url, "garbage");
	is_int(t.code, SM_EINVAL, "delete with a malformed receipt refused");
	is_str(t.err_code, "ReceiptHandleIsInvalid", "malformed receipt: ReceiptHandleIsInvalid");
	{
		static const char *const hostile[] = {
			"lr1.", "lr1.0000000000000001", "lr1.0000000000000001.00000002.",
			"lr1.-000000000000001.00000002.work", "lr1. 000000000000001.00000002.work",
			"lr1.000000000000000g.00000002.work", "lr1.0000000000000001.0000000x.work",
			"lr1.00000000000000010.0000002.work", "lr2.0000000000000001.00000002.work",
			"lr1.0000000000000001.00000002.work/../x", "lr1.ffffffffffffffff.ffffffff.work",
		};
		size_t i;

		for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			s_chvis(e.tp, &t, url, hostile[i], 10);
			is_int(t.code, SM_EINVAL, "hostile receipt #%zu refused by change "
			    "visibility", i);
		}
		s_attrs(e.tp, &t, url, NULL, 0);
		is_str(tres_attr(&t, "ApproximateNumberOfMessagesNotVisible"), "1",
		    "hostile receipts changed nothing");
	}
	s_create_queue(e.tp, &t, "other", NULL, 0);
	snprintf(other, sizeof(other), "%s", t.url);
	s_delete(e.tp, &t, other, r2);
	is_int(t.code, SM_EINVAL, "a receipt of another queue is refused");
	s_delete(e.tp, &t, url, r2);
	is_int(t.code, 0, "delete with the current receipt");
	s_attrs(e.tp, &t, url, NULL, 0);
	is_str(tres_attr(&t, "ApproximateNumberOfMessagesNotVisible"), "0", "now it is gone");
	s_chvis(e.tp, &t, url, r2, 30);
	is_int(t.code, SM_EINVAL, "change visibility of a deleted message refused");
	s_delete(e.tp, &t, url, r2);
	is_int(t.code, 0, "deleting twice succeeds");

	/* not in flight */
	s_send(e.tp, &t, url, "m2", 0);
	s_receive(e.tp, &t, url, 1, 0, 0);
	ok(t.nm == 1, "receive m2 with visibility 0");
	snprintf(r1, sizeof(r1), "%s", t.nm ? t.m[0].receipt : "");
	s_chvis(e.tp, &t, url, r1, 30);
	is_int(t.code, SM_EINVAL, "change visibility of a message not in flight refused");
	like_str(t.err_code, "MessageNotInflight", "MessageNotInflight");
	s_receive(e.tp, &t, url, 1, 0, 30);
	ok(t.nm == 1, "m2 received again");
	if (t.nm == 1)
		delete_msg(&e, &t, url);

	/* size limit */
	s_create_queue(e.tp, &t, "small", small, 1);
	big = malloc(2000);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	s_send(e.tp, &t, "local://queue/small", big, 0);
	is_int(t.code, SM_ETOOBIG, "a body over MaximumMessageSize is refused (%s)", t.msg);
	free(big);

	/* long poll woken by a send in this process */
	{
		struct delayed_send d;

		memset(&d, 0, sizeof(d));
		d.tp = e.tp;
		d.url = url;
		sm_loop_timer_add(e.loop, 300, send_later, &d);
		t0 = sm_time_mono_ms();
		s_receive(e.tp, &t, url, 1, 15, 30);
		ok(t.nm == 1 && strcmp(t.m[0].body, "woken") == 0,
		    "long poll got the message sent during the wait");
		ok(sm_time_mono_ms() - t0 < 800, "in-process send woke the poll at once (%llu ms)",
		    (unsigned long long)(sm_time_mono_ms() - t0));
		if (t.nm == 1)
			delete_msg(&e, &t, url);
	}

	/* long poll woken by a send from another process (inotify) */
	{
		char *args[] = { argv[0], (char *)"--child-send", state_dir, url,
		    (char *)"from-child", NULL };
		pid_t pid;
		uint64_t took;

		t0 = sm_time_mono_ms();
		pid = child_spawn(args);
		ok(pid > 0, "started the sending child");
		s_receive(e.tp, &t, url, 1, 15, 30);
		took = sm_time_mono_ms() - t0;
		ok(t.nm == 1 && strcmp(t.m[0].body, "from-child") == 0,
		    "long poll got the message the child sent");
		is_int(child_wait(pid), 0, "the child's send succeeded");
		/* the child sleeps 300 ms; the fallback poll would answer at 1 s */
		ok(took < 950, "another process's send woke the poll (%llu ms)",
		    (unsigned long long)took);
		if (t.nm == 1)
			delete_msg(&e, &t, url);
	}

	/* persistence: a message in flight survives a reopen with its count */
	s_send(e.tp, &t, url, "persist", 0);
	s_receive(e.tp, &t, url, 1, 0, 1);
	ok(t.nm == 1, "received 'persist' with visibility 1 s");
	env_close(&e);
	usleep(1100 * 1000);
	env_open(&e);
	s_receive(e.tp, &t, url, 1, 5, 30);
	ok(t.nm == 1 && strcmp(t.m[0].body, "persist") == 0 && t.m[0].receive_count == 2,
	    "after reopening, the message is back with receive count 2");
	if (t.nm == 1)
		delete_msg(&e, &t, url);

	/* destroy cancels a pending long poll with SM_ECANCELED, from destroy */
	{
		struct tres c = {0};

		ok(tp_queue_receive(e.tp, url, 1, 20, 30, tres_recv_cb, &c, NULL) == 0,
		    "started a long poll");
		sm_loop_run_once(e.loop, 50);
		ok(!c.done, "the poll is waiting");
		env_close(&e);
		ok(c.done && c.code == SM_ECANCELED, "destroy canceled it (%s)",
		    sm_errname(c.code));
		tres_free(&c);
	}

	/* destroying the transport from inside one of its callbacks */
	{
		struct destroyer d = { &e, 0 };
		struct tres o2 = {0};
		int i;

		env_open(&e);
		ok(tp_queue_get_url(e.tp, "work", destroy_in_cb, &d, NULL) == 0 &&
		    tp_queue_get_url(e.tp, "work", tres_url_cb, &o2, NULL) == 0,
		    "started two operations");
		for (i = 0; i < 20 && !d.ran; i++)
			sm_loop_run_once(e.loop, 100);
		is_int(d.ran, 1, "the first callback ran and destroyed the transport");
		ok(o2.done && o2.code == SM_ECANCELED,
		    "the other operation was canceled (%s)", sm_errname(o2.code));
		for (i = 0; i < 3; i++)
			sm_loop_run_once(e.loop, 10);
		ok(1, "the loop runs on after the destroy");
		store_close(e.st);
		sm_loop_destroy(e.loop);
		tres_free(&o2);
	}

	tres_free(&t);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
		if (system(cmd) != 0)
			diag("cleanup failed");
	}
	return done_testing();
}
