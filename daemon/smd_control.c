/*
 * smd_control.c - the control socket's protocol, server and client
 * (smd_control.h).  The server runs on smd's loop and never blocks: the
 * socket and every connection are non-blocking, a connection holds at most
 * one request line, and answers are short enough for a fresh socket's
 * buffer (a peer that does not read them loses them; smd goes on).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sm_log.h"
#include "sm_loop.h"
#include "sm_statedir.h"
#include "smd_control.h"
#include "smd_replay.h"

/* After accept fails for want of descriptors: pause accepting this long. */
#define CTL_ACCEPT_PAUSE_MS 200

static int
printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
smd_control_parse(
    const char *line, size_t len, struct smd_control_req *rq, char *why, size_t whysize)
{
	char buf[SMD_CONTROL_LINE_MAX + 1], *words[4], *save = NULL, *w;
	size_t n = 0;

	memset(rq, 0, sizeof(*rq));
	if (len > SMD_CONTROL_LINE_MAX) {
		snprintf(why, whysize, "request line longer than %d bytes", SMD_CONTROL_LINE_MAX);
		return SM_EINVAL;
	}
	if (!printable(line, len)) {
		snprintf(why, whysize, "the request is not a line of printable ascii");
		return SM_EINVAL;
	}
	memcpy(buf, line, len);
	buf[len] = 0;
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == sizeof(words) / sizeof(words[0])) {
			snprintf(why, whysize,
			    "too many words: the request is 'replay TASK_ID [from-start]'");
			return SM_EINVAL;
		}
		words[n++] = w;
	}
	if (n == 0) {
		snprintf(
		    why, whysize, "empty request: the request is 'replay TASK_ID [from-start]'");
		return SM_EINVAL;
	}
	if (strcmp(words[0], "replay") != 0) {
		snprintf(why, whysize,
		    "unknown request '%.40s': the request is 'replay TASK_ID [from-start]'",
		    words[0]);
		return SM_EINVAL;
	}
	rq->verb = SMD_CONTROL_REPLAY;
	if (n < 2 || n > 3 || smd_replay_parse_task_id(words[1], &rq->task_id) != 0 ||
	    (n == 3 && strcmp(words[2], "from-start") != 0)) {
		snprintf(why, whysize,
		    "bad replay request: 'replay TASK_ID [from-start]' with a task id of 1 to 19 "
		    "digits");
		return SM_EINVAL;
	}
	rq->from_start = n == 3;
	return 0;
}

/* ---- server --------------------------------------------------------------- */

struct conn {
	struct conn *next;
	struct smd_control *c;
	int fd;
	uint64_t timer;
	size_t len;
	char buf[SMD_CONTROL_LINE_MAX + 1];
};

struct smd_control {
	struct sm_loop *loop;
	int fd;
	uint64_t pause_timer;
	smd_control_fn *fn;
	void *arg;
	struct conn *conns;
	size_t nconns;
};

/* Send one answer line (made printable) and forget whether it arrived. */
static void
answer(int fd, const char *kind, const char *text)
{
	char line[SMD_CONTROL_ANSWER_MAX];
	int n = snprintf(line, sizeof(line) - 1, "%s%s%s", kind, text[0] ? " " : "", text);

	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			line[i] = ' ';
	line[n++] = '\n';
	/* a peer that left gets no SIGPIPE: smd would die of it */
	(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void
conn_close(struct conn *k)
{
	struct smd_control *c = k->c;
	struct conn **pp;

	for (pp = &c->conns; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	c->nconns--;
	if (k->timer)
		sm_loop_timer_del(c->loop, k->timer);
	sm_loop_io_del(c->loop, k->fd);
	close(k->fd);
	free(k);
}

static void
conn_request(struct conn *k, size_t len)
{
	struct smd_control_req rq;
	char text[SMD_CONTROL_ANSWER_MAX - 16];

	if (len > 0 && k->buf[len - 1] == '\r')
		len--;
	if (smd_control_parse(k->buf, len, &rq, text, sizeof(text)) != 0) {
		sm_log_warn("control socket: request refused: %s", text);
		answer(k->fd, "error", text);
		return;
	}
	text[0] = 0;
	if (k->c->fn(k->c->arg, &rq, text, sizeof(text)) != 0)
		answer(k->fd, "error", text[0] ? text : "refused");
	else
		answer(k->fd, "ok", text);
}

static void
on_conn(struct sm_loop *loop, int fd, unsigned events, void *arg)
{
	struct conn *k = arg;
	char *nl;
	ssize_t n;

	(void)loop;
	(void)fd;
	(void)events;
	n = read(k->fd, k->buf + k->len, sizeof(k->buf) - k->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) { /* the peer left (or broke) before a whole line */
		conn_close(k);
		return;
	}
	k->len += (size_t)n;
	if ((nl = memchr(k->buf, '\n', k->len)) != NULL) {
		conn_request(k, (size_t)(nl - k->buf));
	} else if (k->len < sizeof(k->buf)) {
		return;
	} else {
		char why[128];

		snprintf(why, sizeof(why),
		    "request line longer than %d bytes: the request is 'replay TASK_ID "
		    "[from-start]'",
		    SMD_CONTROL_LINE_MAX);
		sm_log_warn("control socket: request refused: %s", why);
		answer(k->fd, "error", why);
	}
	conn_close(k);
}

static int64_t
on_conn_idle(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct conn *k = arg;
	char why[64];

	(void)loop;
	(void)id;
	k->timer = 0;
	snprintf(why, sizeof(why), "no whole request line within %d ms", SMD_CONTROL_IDLE_MS);
	answer(k->fd, "error", why);
	conn_close(k);
	return -1;
}

/* The peer runs as smd's user or as root. */
static int
peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	return cr.uid == geteuid() || cr.uid == 0;
}

static void on_listen(struct sm_loop *loop, int fd, unsigned events, void *arg);

static int64_t
on_accept_pause(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct smd_control *c = arg;

	(void)id;
	c->pause_timer = 0;
	sm_loop_io_mod(loop, c->fd, SM_LOOP_READ);
	return -1;
}

static void
on_listen(struct sm_loop *loop, int fd, unsigned events, void *arg)
{
	struct smd_control *c = arg;
	struct conn *k;
	int s;

	(void)events;
	for (;;) {
		s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* the socket stays readable: wait instead of spinning */
				sm_log_warn(
				    "control socket: cannot accept: %s; pausing", strerror(errno));
				if (!c->pause_timer &&
				    (c->pause_timer = sm_loop_timer_add(
				         loop, CTL_ACCEPT_PAUSE_MS, on_accept_pause, c)) != 0)
					sm_loop_io_mod(loop, fd, 0);
			}
			return; /* EAGAIN: all taken; others: the peer gave up */
		}
		if (!peer_allowed(s)) {
			answer(s, "error", "only smd's user or root may use its control socket");
			close(s);
			continue;
		}
		if (c->nconns >= SMD_CONTROL_CONN_MAX) {
			answer(s, "error", "too many control connections at once: try again");
			close(s);
			continue;
		}
		if (!(k = calloc(1, sizeof(*k)))) {
			close(s);
			continue;
		}
		k->c = c;
		k->fd = s;
		if (sm_loop_io_add(loop, s, SM_LOOP_READ, on_conn, k) != 0) {
			close(s);
			free(k);
			continue;
		}
		k->timer = sm_loop_timer_add(loop, SMD_CONTROL_IDLE_MS, on_conn_idle, k);
		k->next = c->conns;
		c->conns = k;
		c->nconns++;
	}
}

int
smd_control_open(struct smd_control **out, struct sm_loop *loop, struct sm_statedir *sd,
    smd_control_fn *fn, void *arg, struct sm_error *err)
{
	struct smd_control *c;
	int rc;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	c->loop = loop;
	c->fn = fn;
	c->arg = arg;
	if ((rc = sm_statedir_control_listen(sd, &c->fd, err)) != 0) {
		free(c);
		return rc;
	}
	if ((rc = sm_loop_io_add(loop, c->fd, SM_LOOP_READ, on_listen, c)) != 0) {
		close(c->fd);
		free(c);
		return sm_error_set(err, rc, "cannot watch the control socket");
	}
	*out = c;
	return 0;
}

void
smd_control_close(struct smd_control *c)
{
	if (!c)
		return;
	while (c->conns)
		conn_close(c->conns);
	if (c->pause_timer)
		sm_loop_timer_del(c->loop, c->pause_timer);
	sm_loop_io_del(c->loop, c->fd);
	close(c->fd);
	free(c);
}

/* ---- client --------------------------------------------------------------- */

/* Wait until `fd` is ready for `ev` within `timeout_ms`: 0 or SM_ETIMEOUT/SM_EIO. */
static int
wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { fd, ev, 0 };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : n == 0 ? SM_ETIMEOUT : SM_EIO;
}

int
smd_control_call(const struct sm_statedir *sd, const char *request, int timeout_ms, char *text,
    size_t size, struct sm_error *err)
{
	char line[SMD_CONTROL_LINE_MAX + 2], ans[SMD_CONTROL_ANSWER_MAX + 1], *nl;
	size_t len = 0, rl;
	int fd, rc;

	text[0] = 0;
	rl = (size_t)snprintf(line, sizeof(line), "%s\n", request);
	if (rl >= sizeof(line))
		return sm_error_set(err, SM_ETOOBIG, "control request too long");
	if ((rc = sm_statedir_control_connect(sd, &fd, err)) != 0)
		return rc;
	if ((rc = wait_fd(fd, POLLOUT, timeout_ms)) != 0 ||
	    send(fd, line, rl, MSG_NOSIGNAL) != (ssize_t)rl) {
		rc = rc ? rc : SM_EIO;
		goto fail;
	}
	while (len < sizeof(ans) - 1 && !memchr(ans, '\n', len)) {
		ssize_t n;

		if ((rc = wait_fd(fd, POLLIN, timeout_ms)) != 0)
			goto fail;
		n = read(fd, ans + len, sizeof(ans) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	ans[len] = 0;
	if (!(nl = memchr(ans, '\n', len)))
		return sm_error_set(err, SM_EPROTO,
		    "smd's control socket '%s' closed without a whole answer",
		    sm_statedir_control_path(sd));
	*nl = 0;
	if (strncmp(ans, "ok", 2) == 0 && (ans[2] == 0 || ans[2] == ' ')) {
		snprintf(text, size, "%s", ans[2] ? ans + 3 : "");
		return 0;
	}
	if (strncmp(ans, "error ", 6) == 0) {
		snprintf(text, size, "%s", ans + 6);
		return sm_error_set(err, SM_EINVAL, "%s", ans + 6);
	}
	return sm_error_set(err, SM_EPROTO,
	    "smd's control socket '%s' answered something else than ok or error",
	    sm_statedir_control_path(sd));
fail:
	close(fd);
	return sm_error_set(err, rc, "no answer on smd's control socket '%s' (%s)",
	    sm_statedir_control_path(sd), sm_strerror(rc));
}
