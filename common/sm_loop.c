/*
 * sm_loop.c - epoll loop with a timer heap, pidfd child watches and
 * signalfd signals.  See sm_loop.h for the contract.
 *
 * fd watchers live in an array indexed by fd.  Each registration gets a
 * generation number that also travels in the epoll event, so an event for
 * an fd that was removed (or removed and re-added) earlier in the same
 * dispatch batch is recognised as stale and dropped.
 *
 * Timers are a binary min-heap ordered by (due, id); an open-addressing
 * table maps ids to heap slots so deletion is O(log n).
 */
#include "sm_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sm_err.h"

#define SM_LOOP_MAX_EVENTS 64
#define SM_LOOP_CHILD_POLL_MS 100

enum watch_kind { W_NONE = 0, W_IO, W_CHILD, W_SIGNAL };

struct watch {
	enum watch_kind kind;
	uint32_t gen;
	unsigned events;
	sm_io_cb *cb;
	void *arg;
	pid_t pid;             /* W_CHILD */
	sm_child_cb *child_cb;
};

struct timer {
	uint64_t id;
	uint64_t due;
	sm_timer_cb *cb;
	void *arg;
};

struct child_poll {             /* children watched without a pidfd */
	pid_t pid;
	sm_child_cb *cb;
	void *arg;
};

struct sig_watch {
	int signo;
	sm_signal_cb *cb;
	void *arg;
};

struct prepare {
	sm_prepare_cb *cb;
	void *arg;
	int dead;
};

struct sm_loop {
	int epfd;
	uint64_t now;
	int stop;
	uint32_t gen;
	size_t nwatched;

	struct watch *watches;  /* indexed by fd */
	size_t nwatches;

	struct timer *heap;
	size_t nheap, capheap;
	uint64_t next_timer_id;
	/* id -> heap index + 1 (0: empty slot, UINT64_MAX tombstone key) */
	uint64_t *tkeys;
	size_t *tvals;
	size_t tcap, tused;

	struct child_poll *polled;
	size_t npolled;
	uint64_t poll_timer;

	int sigfd;
	sigset_t sigmask;
	struct sig_watch *sigs;
	size_t nsigs;

	struct prepare *prepares;
	size_t nprepares;
	int in_prepare;
};

uint64_t
sm_time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t
sm_time_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
sm_loop_now_ms(struct sm_loop *loop)
{
	return loop->now;
}

int
sm_loop_create(struct sm_loop **out)
{
	struct sm_loop *loop;

	*out = NULL;
	if ((loop = calloc(1, sizeof(*loop))) == NULL)
		return SM_ENOMEM;
	if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		int rc = sm_error_from_errno(errno);
		free(loop);
		return rc;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = sm_time_mono_ms();
	*out = loop;
	return 0;
}

void
sm_loop_destroy(struct sm_loop *loop)
{
	if (loop == NULL)
		return;
	for (size_t fd = 0; fd < loop->nwatches; fd++)
		if (loop->watches[fd].kind == W_CHILD)
			close((int)fd);
	if (loop->sigfd != -1)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop->watches);
	free(loop->heap);
	free(loop->tkeys);
	free(loop->tvals);
	free(loop->polled);
	free(loop->sigs);
	free(loop->prepares);
	free(loop);
}

/* ---- fd watches ------------------------------------------------------- */

static int
watch_reserve(struct sm_loop *loop, int fd)
{
	size_t n;
	struct watch *w;

	if (fd < 0)
		return SM_EINVAL;
	if ((size_t)fd < loop->nwatches)
		return 0;
	n = loop->nwatches ? loop->nwatches : 64;
	while (n <= (size_t)fd)
		n *= 2;
	if ((w = realloc(loop->watches, n * sizeof(*w))) == NULL)
		return SM_ENOMEM;
	memset(w + loop->nwatches, 0, (n - loop->nwatches) * sizeof(*w));
	loop->watches = w;
	loop->nwatches = n;
	return 0;
}

static uint32_t
ep_events(unsigned events)
{
	uint32_t e = 0;

	if (events & SM_LOOP_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & SM_LOOP_WRITE)
		e |= EPOLLOUT;
	return e;
}

static int
watch_add(struct sm_loop *loop, int fd, enum watch_kind kind, unsigned events)
{
	struct epoll_event ev;
	struct watch *w;
	int rc;

	if ((rc = watch_reserve(loop, fd)) != 0)
		return rc;
	w = &loop->watches[fd];
	if (w->kind != W_NONE)
		return SM_EEXISTS;
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->gen = ++loop->gen;
	w->events = events;
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(events);
	ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)w->gen << 32);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		rc = sm_error_from_errno(errno);
		w->kind = W_NONE;
		return rc;
	}
	loop->nwatched++;
	return 0;
}

int
sm_loop_io_add(struct sm_loop *loop, int fd, unsigned events, sm_io_cb *cb, void *arg)
{
	int rc;

	if (cb == NULL)
		return SM_EINVAL;
	if ((rc = watch_add(loop, fd, W_IO, events)) != 0)
		return rc;
	loop->watches[fd].cb = cb;
	loop->watches[fd].arg = arg;
	return 0;
}

int
sm_loop_io_mod(struct sm_loop *loop, int fd, unsigned events)
{
	struct epoll_event ev;
	struct watch *w;

	if (fd < 0 || (size_t)fd >= loop->nwatches || loop->watches[fd].kind != W_IO)
		return SM_ENOTFOUND;
	w = &loop->watches[fd];
	if (w->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = ep_events(events);
	ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)w->gen << 32);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return sm_error_from_errno(errno);
	w->events = events;
	return 0;
}

static int
watch_del(struct sm_loop *loop, int fd, enum watch_kind kind)
{
	if (fd < 0 || (size_t)fd >= loop->nwatches || loop->watches[fd].kind != kind)
		return SM_ENOTFOUND;
	/* The fd may already be closed by its owner: ignore EBADF/ENOENT. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&loop->watches[fd], 0, sizeof(loop->watches[fd]));
	loop->nwatched--;
	return 0;
}

int
sm_loop_io_del(struct sm_loop *loop, int fd)
{
	return watch_del(loop, fd, W_IO);
}

/* ---- timers ----------------------------------------------------------- */

#define TKEY_EMPTY 0
#define TKEY_TOMB UINT64_MAX

static size_t
thash(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

static size_t *
tmap_find(struct sm_loop *loop, uint64_t id)
{
	size_t i;

	if (loop->tcap == 0)
		return NULL;
	for (i = thash(id, loop->tcap);; i = (i + 1) & (loop->tcap - 1)) {
		if (loop->tkeys[i] == id)
			return &loop->tvals[i];
		if (loop->tkeys[i] == TKEY_EMPTY)
			return NULL;
	}
}

static int tmap_put(struct sm_loop *loop, uint64_t id, size_t val);

static int
tmap_grow(struct sm_loop *loop)
{
	uint64_t *okeys = loop->tkeys;
	size_t *ovals = loop->tvals, ocap = loop->tcap, ncap, i;

	ncap = ocap ? ocap * 2 : 64;
	/* Rehash at the same size when tombstones, not entries, fill it. */
	if (ocap && loop->nheap * 4 < ocap)
		ncap = ocap;
	loop->tkeys = calloc(ncap, sizeof(*loop->tkeys));
	loop->tvals = calloc(ncap, sizeof(*loop->tvals));
	if (loop->tkeys == NULL || loop->tvals == NULL) {
		free(loop->tkeys);
		free(loop->tvals);
		loop->tkeys = okeys;
		loop->tvals = ovals;
		return SM_ENOMEM;
	}
	loop->tcap = ncap;
	loop->tused = 0;
	for (i = 0; i < ocap; i++)
		if (okeys[i] != TKEY_EMPTY && okeys[i] != TKEY_TOMB)
			(void)tmap_put(loop, okeys[i], ovals[i]);
	free(okeys);
	free(ovals);
	return 0;
}

static int
tmap_put(struct sm_loop *loop, uint64_t id, size_t val)
{
	size_t i;
	int rc;

	if ((loop->tused + 1) * 2 > loop->tcap && (rc = tmap_grow(loop)) != 0)
		return rc;
	for (i = thash(id, loop->tcap);; i = (i + 1) & (loop->tcap - 1)) {
		if (loop->tkeys[i] == id || loop->tkeys[i] == TKEY_EMPTY) {
			if (loop->tkeys[i] == TKEY_EMPTY)
				loop->tused++;
			loop->tkeys[i] = id;
			loop->tvals[i] = val;
			return 0;
		}
	}
}

static void
tmap_del(struct sm_loop *loop, uint64_t id)
{
	size_t i;

	for (i = thash(id, loop->tcap);; i = (i + 1) & (loop->tcap - 1)) {
		if (loop->tkeys[i] == id) {
			loop->tkeys[i] = TKEY_TOMB;
			return;
		}
		if (loop->tkeys[i] == TKEY_EMPTY)
			return;
	}
}

static int
timer_less(const struct timer *a, const struct timer *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void
heap_set(struct sm_loop *loop, size_t i, struct timer t)
{
	loop->heap[i] = t;
	*tmap_find(loop, t.id) = i;
}

static void
heap_up(struct sm_loop *loop, size_t i)
{
	struct timer t = loop->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!timer_less(&t, &loop->heap[p]))
			break;
		heap_set(loop, i, loop->heap[p]);
		i = p;
	}
	heap_set(loop, i, t);
}

static void
heap_down(struct sm_loop *loop, size_t i)
{
	struct timer t = loop->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct timer *best = &t;
		if (l < loop->nheap && timer_less(&loop->heap[l], best)) {
			m = l;
			best = &loop->heap[l];
		}
		if (r < loop->nheap && timer_less(&loop->heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(loop, i, loop->heap[m]);
		i = m;
	}
	heap_set(loop, i, t);
}

static void
heap_remove_at(struct sm_loop *loop, size_t i)
{
	tmap_del(loop, loop->heap[i].id);
	loop->nheap--;
	if (i == loop->nheap)
		return;
	heap_set(loop, i, loop->heap[loop->nheap]);
	if (i > 0 && timer_less(&loop->heap[i], &loop->heap[(i - 1) / 2]))
		heap_up(loop, i);
	else
		heap_down(loop, i);
}

static int
timer_insert(struct sm_loop *loop, uint64_t id, uint64_t due, sm_timer_cb *cb, void *arg)
{
	struct timer t = { id, due, cb, arg };

	if (loop->nheap == loop->capheap) {
		size_t n = loop->capheap ? loop->capheap * 2 : 64;
		struct timer *h = realloc(loop->heap, n * sizeof(*h));
		if (h == NULL)
			return SM_ENOMEM;
		loop->heap = h;
		loop->capheap = n;
	}
	if (tmap_put(loop, id, loop->nheap) != 0)
		return SM_ENOMEM;
	loop->heap[loop->nheap++] = t;
	heap_up(loop, loop->nheap - 1);
	return 0;
}

uint64_t
sm_loop_timer_add(struct sm_loop *loop, int64_t delay_ms, sm_timer_cb *cb, void *arg)
{
	uint64_t id;

	if (cb == NULL)
		return 0;
	if (delay_ms < 0)
		delay_ms = 0;
	id = ++loop->next_timer_id;
	if (timer_insert(loop, id, sm_time_mono_ms() + (uint64_t)delay_ms, cb, arg) != 0)
		return 0;
	return id;
}

int
sm_loop_timer_del(struct sm_loop *loop, uint64_t id)
{
	size_t *slot;

	if (id == 0 || id == TKEY_TOMB || (slot = tmap_find(loop, id)) == NULL)
		return SM_ENOTFOUND;
	heap_remove_at(loop, *slot);
	return 0;
}

static int
run_timers(struct sm_loop *loop)
{
	int n = 0;
	/* Timers armed by callbacks during this pass wait for the next turn
	 * unless already due: bound the pass by the ids that existed. */
	uint64_t last_id = loop->next_timer_id;

	loop->now = sm_time_mono_ms();
	while (loop->nheap > 0 && loop->heap[0].due <= loop->now) {
		struct timer t = loop->heap[0];
		int64_t again;

		if (t.id > last_id)
			break;
		heap_remove_at(loop, 0);
		again = t.cb(loop, t.id, t.arg);
		n++;
		if (again >= 0)
			(void)timer_insert(loop, t.id, sm_time_mono_ms() + (uint64_t)again,
			    t.cb, t.arg);
	}
	return n;
}

/* ---- children --------------------------------------------------------- */

static int64_t
poll_children(struct sm_loop *loop, uint64_t id, void *arg)
{
	size_t i = 0;

	(void)id;
	(void)arg;
	while (i < loop->npolled) {
		struct child_poll c = loop->polled[i];
		int status;
		pid_t r = waitpid(c.pid, &status, WNOHANG);

		if (r == c.pid || (r == -1 && errno == ECHILD)) {
			loop->polled[i] = loop->polled[--loop->npolled];
			if (r == -1)
				status = 0;
			c.cb(loop, c.pid, status, c.arg);
			continue;
		}
		i++;
	}
	if (loop->npolled == 0) {
		loop->poll_timer = 0;
		return -1;
	}
	return SM_LOOP_CHILD_POLL_MS;
}

int
sm_loop_child_add(struct sm_loop *loop, pid_t pid, sm_child_cb *cb, void *arg)
{
	int fd, rc;

	if (pid <= 0 || cb == NULL)
		return SM_EINVAL;
#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	fd = -1;
	errno = ENOSYS;
#endif
	if (fd >= 0) {
		if ((rc = watch_add(loop, fd, W_CHILD, SM_LOOP_READ)) != 0) {
			close(fd);
			return rc;
		}
		loop->watches[fd].pid = pid;
		loop->watches[fd].child_cb = cb;
		loop->watches[fd].arg = arg;
		return 0;
	}
	if (errno != ENOSYS && errno != EPERM)
		return sm_error_from_errno(errno);
	/* No pidfd: poll this pid with WNOHANG (only our own pids). */
	{
		struct child_poll *p = realloc(loop->polled,
		    (loop->npolled + 1) * sizeof(*p));
		if (p == NULL)
			return SM_ENOMEM;
		loop->polled = p;
		p[loop->npolled++] = (struct child_poll){ pid, cb, arg };
		if (loop->poll_timer == 0)
			loop->poll_timer = sm_loop_timer_add(loop, SM_LOOP_CHILD_POLL_MS,
			    poll_children, NULL);
	}
	return 0;
}

int
sm_loop_child_del(struct sm_loop *loop, pid_t pid)
{
	size_t i;

	for (i = 0; i < loop->nwatches; i++) {
		if (loop->watches[i].kind == W_CHILD && loop->watches[i].pid == pid) {
			watch_del(loop, (int)i, W_CHILD);
			close((int)i);
			return 0;
		}
	}
	for (i = 0; i < loop->npolled; i++) {
		if (loop->polled[i].pid == pid) {
			loop->polled[i] = loop->polled[--loop->npolled];
			return 0;
		}
	}
	return SM_ENOTFOUND;
}

static void
child_ready(struct sm_loop *loop, int fd)
{
	struct watch w = loop->watches[fd];
	int status = 0;
	pid_t r;

	do
		r = waitpid(w.pid, &status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		return; /* spurious: not exited yet */
	watch_del(loop, fd, W_CHILD);
	close(fd);
	w.child_cb(loop, w.pid, r == -1 ? 0 : status, w.arg);
}

/* ---- signals ---------------------------------------------------------- */

int
sm_loop_signal_add(struct sm_loop *loop, int signo, sm_signal_cb *cb, void *arg)
{
	struct sig_watch *s;
	sigset_t one;
	int fd, rc;

	if (cb == NULL || signo <= 0 || signo >= NSIG)
		return SM_EINVAL;
	if ((s = realloc(loop->sigs, (loop->nsigs + 1) * sizeof(*s))) == NULL)
		return SM_ENOMEM;
	loop->sigs = s;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) == -1)
		return sm_error_from_errno(errno);
	sigaddset(&loop->sigmask, signo);
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return sm_error_from_errno(errno);
	if (loop->sigfd == -1) {
		loop->sigfd = fd;
		if ((rc = watch_add(loop, fd, W_SIGNAL, SM_LOOP_READ)) != 0)
			return rc;
	}
	s[loop->nsigs++] = (struct sig_watch){ signo, cb, arg };
	return 0;
}

static int
signals_ready(struct sm_loop *loop)
{
	struct signalfd_siginfo si;
	int n = 0;

	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (size_t i = 0; i < loop->nsigs; i++) {
			if (loop->sigs[i].signo == (int)si.ssi_signo) {
				loop->sigs[i].cb(loop, (int)si.ssi_signo, loop->sigs[i].arg);
				n++;
			}
		}
	}
	return n;
}

/* ---- prepare hooks ---------------------------------------------------- */

int
sm_loop_prepare_add(struct sm_loop *loop, sm_prepare_cb *cb, void *arg)
{
	struct prepare *p;

	if (cb == NULL)
		return SM_EINVAL;
	if ((p = realloc(loop->prepares, (loop->nprepares + 1) * sizeof(*p))) == NULL)
		return SM_ENOMEM;
	loop->prepares = p;
	p[loop->nprepares++] = (struct prepare){ cb, arg, 0 };
	return 0;
}

static void
prepare_compact(struct sm_loop *loop)
{
	size_t i, j = 0;

	for (i = 0; i < loop->nprepares; i++)
		if (!loop->prepares[i].dead)
			loop->prepares[j++] = loop->prepares[i];
	loop->nprepares = j;
}

void
sm_loop_prepare_del(struct sm_loop *loop, sm_prepare_cb *cb, void *arg)
{
	for (size_t i = 0; i < loop->nprepares; i++)
		if (loop->prepares[i].cb == cb && loop->prepares[i].arg == arg)
			loop->prepares[i].dead = 1;
	if (!loop->in_prepare)
		prepare_compact(loop);
}

static int
run_prepares(struct sm_loop *loop)
{
	size_t i, n = loop->nprepares;

	loop->in_prepare = 1;
	for (i = 0; i < n; i++)
		if (!loop->prepares[i].dead)
			loop->prepares[i].cb(loop, loop->prepares[i].arg);
	loop->in_prepare = 0;
	prepare_compact(loop);
	return (int)n;
}

/* ---- the turn --------------------------------------------------------- */

int
sm_loop_run_once(struct sm_loop *loop, int timeout_ms)
{
	struct epoll_event evs[SM_LOOP_MAX_EVENTS];
	int n, i, ran = 0;

	ran += run_timers(loop);
	run_prepares(loop);
	if (loop->nheap > 0) {
		uint64_t now = sm_time_mono_ms(), due = loop->heap[0].due;
		int64_t wait = due > now ? (int64_t)(due - now) : 0;
		if (timeout_ms < 0 || wait < timeout_ms)
			timeout_ms = wait > 86400000 ? 86400000 : (int)wait;
	}
	/* Callbacks already ran this turn: let the caller see their effects
	 * (e.g. a completion flag) instead of blocking after them. */
	if (loop->stop || ran > 0)
		timeout_ms = 0;
	n = epoll_wait(loop->epfd, evs, SM_LOOP_MAX_EVENTS, timeout_ms);
	if (n == -1) {
		if (errno != EINTR)
			return sm_error_from_errno(errno);
		n = 0;
	}
	loop->now = sm_time_mono_ms();
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct watch *w;
		unsigned ready = 0;

		if ((size_t)fd >= loop->nwatches)
			continue;
		w = &loop->watches[fd];
		if (w->kind == W_NONE || w->gen != gen)
			continue; /* removed earlier in this batch */
		switch (w->kind) {
		case W_IO:
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				ready |= SM_LOOP_READ;
			if (evs[i].events & EPOLLOUT)
				ready |= SM_LOOP_WRITE;
			/* Report errors/hang-ups to a write-only watcher too. */
			if ((evs[i].events & (EPOLLHUP | EPOLLERR)) &&
			    !(w->events & SM_LOOP_READ))
				ready |= SM_LOOP_WRITE;
			w->cb(loop, fd, ready & (w->events ? w->events : ready), w->arg);
			ran++;
			break;
		case W_CHILD:
			child_ready(loop, fd);
			ran++;
			break;
		case W_SIGNAL:
			ran += signals_ready(loop);
			break;
		case W_NONE:
			break;
		}
	}
	ran += run_timers(loop);
	return ran;
}

int
sm_loop_run(struct sm_loop *loop)
{
	int rc;

	loop->stop = 0;
	while (!loop->stop) {
		if ((rc = sm_loop_run_once(loop, -1)) < 0)
			return rc;
	}
	loop->stop = 0;
	return 0;
}

void
sm_loop_stop(struct sm_loop *loop)
{
	loop->stop = 1;
}

int
sm_loop_idle(const struct sm_loop *loop)
{
	size_t fds = loop->nwatched - (loop->sigfd != -1 ? 1 : 0);

	return fds == 0 && loop->nheap == 0 && loop->npolled == 0;
}
