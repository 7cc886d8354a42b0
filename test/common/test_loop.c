/* test_loop.c - the event loop: timers (order, re-arm, delete), fds,
 * children through pidfd, signals through signalfd, prepare hooks. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_err.h"
#include "sm_loop.h"
#include "tap.h"

struct rec {
	int order[16];
	int n;
	int repeats;
};

struct tag {
	struct rec *r;
	int v;
};

static int64_t
record_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct tag *t = arg;

	(void)loop;
	(void)id;
	if (t->r->n < 16)
		t->r->order[t->r->n++] = t->v;
	return -1;
}

static int64_t
repeat_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct rec *r = arg;

	(void)loop;
	(void)id;
	return ++r->repeats < 3 ? 1 : -1;
}

static void
test_timers(void)
{
	struct sm_loop *loop;
	struct rec r = { { 0 }, 0, 0 };
	struct tag t[5];
	uint64_t ids[5];
	/* 50 ms apart at least: arming the five must not take that long, even
	 * under sanitizers on a loaded machine (10 ms apart once failed there) */
	int64_t delays[5] = { 300, 100, 200, 100, 50 };
	int i;

	ok(sm_loop_create(&loop) == 0, "loop created");
	for (i = 0; i < 5; i++) {
		t[i].r = &r;
		t[i].v = i;
		ids[i] = sm_loop_timer_add(loop, delays[i], record_timer, &t[i]);
	}
	ok(ids[0] != 0 && ids[4] != 0, "timers armed");
	is_int(sm_loop_timer_del(loop, ids[2]), 0, "timer 2 deleted");
	is_int(sm_loop_timer_del(loop, ids[2]), SM_ENOTFOUND, "deleting twice is ENOTFOUND");
	while (!sm_loop_idle(loop))
		sm_loop_run_once(loop, -1);
	is_int(r.n, 4, "four timers fired");
	/* due order, ties by creation order: 4 (50 ms), 1 (100), 3 (100), 0 (300) */
	ok(r.order[0] == 4 && r.order[1] == 1 && r.order[2] == 3 && r.order[3] == 0,
	    "timers fire in due order with ties in creation order (%d %d %d %d)",
	    r.order[0], r.order[1], r.order[2], r.order[3]);
	ok(sm_loop_timer_add(loop, 0, repeat_timer, &r) != 0, "repeating timer armed");
	while (!sm_loop_idle(loop))
		sm_loop_run_once(loop, -1);
	is_int(r.repeats, 3, "a timer re-arms by its return value until it returns -1");
	sm_loop_destroy(loop);
}

static int64_t
noop_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	(void)arg;
	return -1;
}

static void
test_many_timers(void)
{
	struct sm_loop *loop;
	uint64_t ids[2000];
	int i, bad = 0;

	sm_loop_create(&loop);
	for (i = 0; i < 2000; i++)
		ids[i] = sm_loop_timer_add(loop, 100000 + (i * 7919) % 1000, noop_timer, NULL);
	for (i = 0; i < 2000; i += 2)
		if (sm_loop_timer_del(loop, ids[i]) != 0)
			bad++;
	for (i = 1; i < 2000; i += 2)
		if (sm_loop_timer_del(loop, ids[i]) != 0)
			bad++;
	is_int(bad, 0, "2000 timers deleted in mixed order");
	ok(sm_loop_idle(loop), "loop idle after deleting every timer");
	sm_loop_destroy(loop);
}

struct io_state {
	int fds[2];
	int got;
	char buf[8];
};

static void
on_read(struct sm_loop *loop, int fd, unsigned ev, void *arg)
{
	struct io_state *s = arg;
	ssize_t n;

	ok(ev & SM_LOOP_READ, "read event reported");
	n = read(fd, s->buf, sizeof(s->buf) - 1);
	if (n > 0) {
		s->buf[n] = '\0';
		s->got = 1;
	}
	sm_loop_io_del(loop, fd);
}

static void
test_io(void)
{
	struct sm_loop *loop;
	struct io_state s = { { -1, -1 }, 0, "" };

	sm_loop_create(&loop);
	ok(pipe(s.fds) == 0, "pipe");
	is_int(sm_loop_io_add(loop, s.fds[0], SM_LOOP_READ, on_read, &s), 0, "fd watched");
	is_int(sm_loop_io_add(loop, s.fds[0], SM_LOOP_READ, on_read, &s), SM_EEXISTS,
	    "second watch on the same fd refused");
	ok(write(s.fds[1], "hi", 2) == 2, "write");
	while (!s.got)
		sm_loop_run_once(loop, 1000);
	is_str(s.buf, "hi", "callback read the data");
	ok(sm_loop_idle(loop), "watch removed from inside its callback");
	close(s.fds[0]);
	close(s.fds[1]);
	sm_loop_destroy(loop);
}

struct child_state {
	pid_t pid;
	int status;
	int done;
};

static void
on_child(struct sm_loop *loop, pid_t pid, int status, void *arg)
{
	struct child_state *c = arg;

	(void)loop;
	c->pid = pid;
	c->status = status;
	c->done = 1;
}

static void
test_child(void)
{
	struct sm_loop *loop;
	struct child_state c = { 0, 0, 0 };
	pid_t pid;

	sm_loop_create(&loop);
	if ((pid = fork()) == 0) {
		usleep(20000);
		_exit(7);
	}
	is_int(sm_loop_child_add(loop, pid, on_child, &c), 0, "child watched");
	while (!c.done)
		sm_loop_run_once(loop, 1000);
	is_int(c.pid, pid, "exit reported for our pid");
	ok(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 7, "exit status 7 delivered");
	ok(waitpid(pid, NULL, WNOHANG) == -1, "child already reaped by the loop");
	sm_loop_destroy(loop);
}

static void
on_signal(struct sm_loop *loop, int signo, void *arg)
{
	(void)loop;
	*(int *)arg = signo;
}

static void
on_prepare(struct sm_loop *loop, void *arg)
{
	(void)loop;
	(*(int *)arg)++;
}

static void
test_signal_prepare(void)
{
	struct sm_loop *loop;
	int got = 0, prepared = 0;

	sm_loop_create(&loop);
	is_int(sm_loop_signal_add(loop, SIGUSR1, on_signal, &got), 0, "SIGUSR1 watched");
	is_int(sm_loop_prepare_add(loop, on_prepare, &prepared), 0, "prepare hook added");
	kill(getpid(), SIGUSR1);
	while (!got)
		sm_loop_run_once(loop, 1000);
	is_int(got, SIGUSR1, "signal delivered through the loop");
	ok(prepared >= 1, "prepare hook ran before polling");
	sm_loop_prepare_del(loop, on_prepare, &prepared);
	prepared = 0;
	sm_loop_run_once(loop, 0);
	is_int(prepared, 0, "removed prepare hook does not run");
	sm_loop_destroy(loop);
}

static int64_t
flag_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	(void)loop;
	(void)id;
	*(int *)arg = 1;
	return -1;
}

/* A turn whose timers ran returns without blocking, so a caller waiting
 * for a flag set by a zero-delay timer sees it at once. */
static void
test_no_block_after_timers(void)
{
	struct sm_loop *loop;
	int done = 0, fds[2];
	uint64_t t0;

	sm_loop_create(&loop);
	ok(pipe(fds) == 0, "pipe for an idle watch");
	sm_loop_io_add(loop, fds[0], SM_LOOP_READ, on_read, NULL);
	sm_loop_timer_add(loop, 0, flag_timer, &done);
	t0 = sm_time_mono_ms();
	sm_loop_run_once(loop, 2000);
	ok(done, "zero-delay timer ran in the first turn");
	ok(sm_time_mono_ms() - t0 < 1000, "the turn did not block after the timer ran (%llu ms)",
	    (unsigned long long)(sm_time_mono_ms() - t0));
	close(fds[0]);
	close(fds[1]);
	sm_loop_destroy(loop);
}

int
main(void)
{
	plan_no_plan();
	test_timers();
	test_many_timers();
	test_io();
	test_child();
	test_signal_prepare();
	test_no_block_after_timers();
	return done_testing();
}
