/*
 * smd_control.h - smd's control socket (<state_dir>/control, made by
 * sm_statedir_control_listen: unix stream, mode 0600) and its protocol,
 * both sides.  docs/daemon.md "Control socket".
 *
 * One request per connection: one line of printable ASCII (0x20-0x7e) of at
 * most SMD_CONTROL_LINE_MAX bytes, ended by "\n"; one answer line, then smd
 * closes the connection:
 *
 *   replay TASK_ID [from-start]\n  ->  ok task-<m> <step>\n
 *                                      error <reason>\n
 *
 * Anything else (an unknown verb, a bad task id, a line too long, bytes
 * that are not printable, no whole line within SMD_CONTROL_IDLE_MS, more
 * than SMD_CONTROL_CONN_MAX connections at once, a peer of another user
 * than smd's or root) is answered with `error <reason>` and closed; it
 * never stops smd.  Answers are one line of printable ASCII.
 */
#ifndef SMD_CONTROL_H
#define SMD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

struct sm_loop;
struct sm_statedir;

#define SMD_CONTROL_LINE_MAX 256    /* bytes of a request line, "\n" excluded */
#define SMD_CONTROL_ANSWER_MAX 1200 /* bytes of an answer line, "\n" included */
#define SMD_CONTROL_CONN_MAX 8      /* connections served at once */
#define SMD_CONTROL_IDLE_MS 5000    /* to send a whole request line */

enum smd_control_verb { SMD_CONTROL_REPLAY = 1 };

struct smd_control_req {
	enum smd_control_verb verb;
	int64_t task_id;
	int from_start;
};

/*
 * Parse one request line (`len` bytes, "\n" removed).  0, or SM_EINVAL with
 * the reason (printable, for the error answer) in `why`.
 */
int smd_control_parse(
    const char *line, size_t len, struct smd_control_req *rq, char *why, size_t whysize);

/* ---- the daemon's side ------------------------------------------------------ */

/*
 * A request: write the answer's text after "ok " (success) or the reason
 * (a refusal) into `text` (`size` bytes) and return 0 or nonzero (refused).
 */
typedef int smd_control_fn(void *arg, const struct smd_control_req *rq, char *text, size_t size);

struct smd_control;

/*
 * Make the control socket of `sd` (the writer's) and serve it on `loop`:
 * each request goes to fn(arg, ...), its answer back to the peer.
 * 0 or the code of sm_statedir_control_listen (err set).
 */
int smd_control_open(struct smd_control **out, struct sm_loop *loop, struct sm_statedir *sd,
    smd_control_fn *fn, void *arg, struct sm_error *err);
/* Close every connection and the socket (the file goes with the state
 * directory's close).  NULL allowed. */
void smd_control_close(struct smd_control *c);

/* ---- a client's side ------------------------------------------------------- */

/*
 * Send `request` (one line without "\n") to the daemon holding `sd` and
 * read its answer, waiting at most `timeout_ms` for each.  0 for "ok": the
 * rest of the line in `text`; SM_EINVAL for "error": the reason in `text`
 * and err; SM_ENOTFOUND when no daemon listens (err says so); SM_EPROTO
 * for an answer that is neither; SM_ETIMEOUT, SM_EIO.
 */
int smd_control_call(const struct sm_statedir *sd, const char *request, int timeout_ms, char *text,
    size_t size, struct sm_error *err);

#endif
