/*
 * sm_loop.h - the one event loop of a process: fd watchers, timers, child
 * exits and signals in one thread (after libuv and Redis ae.c).
 *
 * Everything that waits registers here: the engine's timers, libcurl's
 * sockets and timeout, spider pidfds, SIGTERM.  Callbacks run on the loop
 * thread only; none of them may block.  sm_loop_run_once() runs one turn so
 * that tests drive the loop step by step.
 *
 * A turn: run due timers; call every "prepare" hook (the engine commits its
 * group batch there, before anything waits); poll for at most the time to
 * the next timer (not at all if a timer already ran this turn); dispatch
 * ready fds, child exits and signals; run timers that came due.
 *
 * Times: sm_loop_now_ms() is CLOCK_MONOTONIC in ms, cached per turn;
 * sm_time_wall_ms() is CLOCK_REALTIME in ms (for persisted due times).
 */
#ifndef SM_LOOP_H
#define SM_LOOP_H

#include <stdint.h>
#include <sys/types.h>

struct sm_loop;

enum {
	SM_LOOP_READ = 1,
	SM_LOOP_WRITE = 2
};

/* fd became ready; `events` is a mask of SM_LOOP_READ/WRITE (errors and
 * hang-ups are reported as READ so the owner reads and sees them). */
typedef void sm_io_cb(struct sm_loop *loop, int fd, unsigned events, void *arg);

/* A timer fired.  Return the next delay in ms to re-arm it, or -1 to
 * delete it (the id becomes invalid). */
typedef int64_t sm_timer_cb(struct sm_loop *loop, uint64_t id, void *arg);

/* A watched child exited; `status` is as from waitpid().  The child is
 * reaped and the watch removed before the call. */
typedef void sm_child_cb(struct sm_loop *loop, pid_t pid, int status, void *arg);

/* A watched signal arrived (delivered through signalfd, never async). */
typedef void sm_signal_cb(struct sm_loop *loop, int signo, void *arg);

/* Called once per turn before the loop may block. */
typedef void sm_prepare_cb(struct sm_loop *loop, void *arg);

int sm_loop_create(struct sm_loop **out);
/* Does not close watched fds nor kill watched children. */
void sm_loop_destroy(struct sm_loop *loop);

/* Watch `fd` for `events` (0 allowed: registered but idle).  One watch per
 * fd; sm_loop_io_add on a watched fd fails with SM_EEXISTS. */
int sm_loop_io_add(struct sm_loop *loop, int fd, unsigned events, sm_io_cb *cb, void *arg);
int sm_loop_io_mod(struct sm_loop *loop, int fd, unsigned events);
/* Safe from inside any callback, including the fd's own. */
int sm_loop_io_del(struct sm_loop *loop, int fd);

/* One-shot or repeating (by the callback's return) timer after `delay_ms`.
 * Returns a nonzero id, or 0 when out of memory. */
uint64_t sm_loop_timer_add(struct sm_loop *loop, int64_t delay_ms, sm_timer_cb *cb, void *arg);
/* Returns SM_ENOTFOUND if the id is not armed.  Safe from callbacks. */
int sm_loop_timer_del(struct sm_loop *loop, uint64_t id);

/* Watch a child of this process by pid (pidfd based; falls back to SIGCHLD
 * with WNOHANG on our pids only). */
int sm_loop_child_add(struct sm_loop *loop, pid_t pid, sm_child_cb *cb, void *arg);
int sm_loop_child_del(struct sm_loop *loop, pid_t pid);

/* Block `signo` for the process and deliver it as a loop event. */
int sm_loop_signal_add(struct sm_loop *loop, int signo, sm_signal_cb *cb, void *arg);

/* Register a hook run once per turn before polling.  Returns 0/SM_ENOMEM. */
int sm_loop_prepare_add(struct sm_loop *loop, sm_prepare_cb *cb, void *arg);
void sm_loop_prepare_del(struct sm_loop *loop, sm_prepare_cb *cb, void *arg);

/*
 * Run one turn, waiting at most `timeout_ms` (-1: until something happens,
 * 0: do not wait).  Returns the number of callbacks run (>= 0), or a
 * negative SM_E* code on a poll failure.
 */
int sm_loop_run_once(struct sm_loop *loop, int timeout_ms);
/* Run turns until sm_loop_stop() is called.  Returns 0 or SM_E*. */
int sm_loop_run(struct sm_loop *loop);
void sm_loop_stop(struct sm_loop *loop);
/* Nonzero when nothing is watched and no timer is armed. */
int sm_loop_idle(const struct sm_loop *loop);

uint64_t sm_loop_now_ms(struct sm_loop *loop);
uint64_t sm_time_mono_ms(void);
int64_t sm_time_wall_ms(void);

#endif
