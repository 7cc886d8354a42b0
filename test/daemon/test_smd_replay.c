/*
 * test_smd_replay.c - `smctl replay` end to end (docs/daemon.md "Replay"):
 * tasks whose upload failed (the bucket unusable) and one whose spider
 * failed, replayed once the fault is cured:
 *
 *  - without smd (smctl takes the state directory): from the failed upload,
 *    the spider does not run again, the outputs reach the bucket, the
 *    output message is sent, on the failed run's machine version although
 *    the machine file changed since; refusals: an unknown task, a reported
 *    one, one whose spider outputs are gone (with the --from-start hint), a
 *    bad task id; --from-start of the failed spider runs it again;
 *  - through smd's control socket: --from-start runs the spider again; a
 *    failed spider runs again (and fails again); a running task is
 *    refused; --no-wait; the socket is 0600 and answers hostile input (a
 *    line too long, binary, unknown verbs, bad task ids, silence, more
 *    connections than it serves, a peer that leaves) with errors while smd
 *    goes on; SIGTERM removes it.
 *
 * SM_TEST_BACKEND=local (default) or aws (under test/support/with_moto.sh).
 * The fault: local, a file where the bucket's year directory goes; aws, no
 * bucket.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "smd_index.h"
#include "smd_test_util.h"

#define TASK(id, extra) "{\"task_id\": " #id ", \"server_name\": \"" ST_SERVER "\", " extra "}"

/* ---- the index ---------------------------------------------------------------- */

struct runs {
	int n;
	char id[8][SMD_INDEX_ID_SIZE];
};

static int
run_add(void *arg, const char *instance)
{
	struct runs *r = arg;

	if (instance != NULL && r->n < 8)
		snprintf(r->id[r->n++], SMD_INDEX_ID_SIZE, "%s", instance);
	return 0;
}

/* The runs of task `task_id` (its task_id index rows). */
static void
runs_of(struct st_env *e, int64_t task_id, struct runs *r)
{
	struct store *st = e->st;
	struct store_txn *txn;
	struct store_options so;

	memset(r, 0, sizeof(*r));
	store_options_init(&so);
	so.read_only = 1;
	if (!st && store_open(&st, e->dir, &so, NULL) != 0)
		return;
	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) == 0) {
		smd_index_task_runs(txn, task_id, run_add, r);
		store_txn_abort(txn);
	}
	if (st != e->st)
		store_close(st);
}

/* ---- the control socket, raw ------------------------------------------------- */

static int
ctl_connect(struct st_env *e)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(e->dir) + 9 > sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(sa.sun_path, e->dir, strlen(e->dir));
	memcpy(sa.sun_path + strlen(e->dir), "/control", 8);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one answer line from `fd` within `secs` ("" on none). */
static void
ctl_read(int fd, char *ans, size_t size, int secs)
{
	struct timeval tv = { secs, 0 };
	size_t len = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < size - 1) {
		ssize_t n = read(fd, ans + len, size - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(ans, '\n', len))
			break;
	}
	ans[len] = 0;
	ans[strcspn(ans, "\n")] = 0;
}

/* Send `len` bytes of `req` on a new connection; the answer line. */
static void
ctl_ask(struct st_env *e, const char *req, size_t len, char *ans, size_t size)
{
	int fd = ctl_connect(e);

	ans[0] = 0;
	if (fd < 0)
		return;
	(void)!send(fd, req, len, MSG_NOSIGNAL);
	ctl_read(fd, ans, size, 10);
	close(fd);
}

#define ASK(e, lit, ans) ctl_ask(e, lit, sizeof(lit) - 1, ans, sizeof(ans))

static void
hostile(struct st_env *e)
{
	static const struct {
		const char *req;
		size_t len;
		const char *want, *what;
	} bad[] = {
#define BAD(lit, want, what) { lit, sizeof(lit) - 1, want, what }
		BAD("\x01\x02\xff\x00replay 1\n", "error the request is not a line of printable",
		    "binary"),
		BAD("frobnicate 1\n", "error unknown request 'frobnicate'", "an unknown verb"),
		BAD("\n", "error empty request", "an empty line"),
		BAD("replay\n", "error bad replay request", "replay without a task"),
		BAD("replay -5\n", "error bad replay request", "a negative task id"),
		BAD("replay 99999999999999999999\n", "error bad replay request",
		    "a task id past int64"),
		BAD("replay 12 from-end\n", "error bad replay request", "an unknown option word"),
		BAD("replay 1 2 3 4 5\n", "error too many words", "too many words"),
		BAD("replay 424242\r\n", "error no run of task 424242", "an unknown task (CRLF)"),
#undef BAD
	};
	char ans[2048], big[5000], path[600];
	int fds[20], refused = 0, fd;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/control", e->dir);
	memset(&sb, 0, sizeof(sb));
	fd = stat(path, &sb);
	ok(fd == 0 && S_ISSOCK(sb.st_mode) && (sb.st_mode & 0777) == 0600,
	    "the control socket is a socket, mode 0600 (%o)", (unsigned)(sb.st_mode & 0777));
	memset(big, 'A', sizeof(big));
	ctl_ask(e, big, sizeof(big), ans, sizeof(ans));
	ok(strncmp(ans, "error request line longer than 256", 34) == 0, "a line too long: %s", ans);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctl_ask(e, bad[i].req, bad[i].len, ans, sizeof(ans));
		ok(strncmp(ans, bad[i].want, strlen(bad[i].want)) == 0, "%s: %s", bad[i].what, ans);
	}
	/* more connections than smd serves at once: the others are told so */
	for (int i = 0; i < 20; i++)
		fds[i] = ctl_connect(e);
	for (int i = 0; i < 20; i++) {
		ans[0] = 0;
		if (fds[i] >= 0 && i >= 8) {
			ctl_read(fds[i], ans, sizeof(ans), 2);
			refused += strncmp(ans, "error too many control connections", 34) == 0;
		}
	}
	ok(refused >= 12 - 1, "20 connections at once: those past 8 refused (%d of 12)", refused);
	for (int i = 0; i < 20; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	usleep(300000); /* smd sees them leave */
	/* a peer that says nothing is cut off */
	fd = ctl_connect(e);
	ctl_read(fd, ans, sizeof(ans), 9);
	ok(strncmp(ans, "error no whole request line within", 34) == 0, "silence: %s", ans);
	close(fd);
	/* a peer that asks and leaves (the answer has nowhere to go) */
	for (int i = 0; i < 5; i++) {
		fd = ctl_connect(e);
		(void)!send(fd, "replay 424242\n", 14, MSG_NOSIGNAL);
		close(fd);
	}
	usleep(300000);
	ok(kill(e->pid, 0) == 0, "smd is still running");
	ASK(e, "replay 424242\n", ans);
	ok(strncmp(ans, "error no run of task 424242", 27) == 0, "and answers: %s", ans);
}

/* ---- the case ------------------------------------------------------------------ */

/* The output message of task `id` in `outs` (borrowed) or NULL. */
static json_t *
output_of(json_t *outs, int64_t id)
{
	for (size_t i = 0; i < json_array_size(outs); i++) {
		json_t *m = json_array_get(outs, i);

		if (json_integer_value(json_object_get(m, "_msg_id")) == id)
			return m;
	}
	return NULL;
}

static void
expect_reported(struct st_env *e, int64_t id, const char *what)
{
	json_t *prog = st_drain(e, ST_PROGRESS), *outs = st_drain(e, ST_OUTPUT), *last, *seq;
	json_t *out = output_of(outs, id);
	const char *keys[3] = { "s3_key_data", "s3_key_logs", "csv_data_key" };
	int found = 0;

	seq = st_progress_of(prog, id, &last);
	is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "finished",
	    "%s: progress \"finished\"", what);
	is_int(st_has_output(outs, id), 1, "%s: one output message", what);
	for (int i = 0; i < 3 && out; i++) {
		const char *k = json_string_value(json_object_get(out, keys[i]));
		size_t len;
		char *d = k ? st_get(e, k, &len) : NULL;

		found += d != NULL && len > 0;
		free(d);
	}
	is_int(found, 3, "%s: the three objects it names are in the bucket", what);
	json_decref(seq);
	json_decref(prog);
	json_decref(outs);
}

static void
expect_failed(struct st_env *e, int64_t id, const char *reason, const char *what)
{
	json_t *prog = st_drain(e, ST_PROGRESS), *outs = st_drain(e, ST_OUTPUT), *last, *seq;
	const char *err;

	seq = st_progress_of(prog, id, &last);
	err = json_string_value(json_object_get(last, "error"));
	is_str(json_string_value(json_array_get(seq, json_array_size(seq) - 1)), "failed",
	    "%s: \"failed\" reported", what);
	ok(err && strstr(err, reason), "%s: because '%s' ('%s')", what, reason, err ? err : "");
	is_int(st_has_output(outs, id), 0, "%s: no output message", what);
	json_decref(seq);
	json_decref(prog);
	json_decref(outs);
}

static void
case_replay(void)
{
	struct st_env e;
	char mdir[400], cmd[2400], out[4096], m1[80], m2[80], want[SMD_INDEX_ID_SIZE + 16];
	struct runs r;
	int starts, rc;
	static const char *const no_opts[] = { NULL };

	if (st_open(&e, "replay") != 0) {
		ok(0, "set up");
		return;
	}
	/* a machine copy whose uploads give up at once */
	snprintf(mdir, sizeof(mdir), "%s/machines", e.dir);
	snprintf(cmd, sizeof(cmd),
	    "mkdir -p %s && cp %s/machines/*.scxml %s/ && sed -i -e 's/sm:attempts=\"5\" "
	    "sm:delay=\"2s\" sm:max-delay=\"60s\"/sm:attempts=\"1\"/' -e 's/sm:attempts=\"3\" "
	    "sm:delay=\"2s\" sm:max-delay=\"30s\"/sm:attempts=\"1\"/' %s/task.scxml",
	    mdir, e.src, mdir, mdir);
	ok(system(cmd) == 0, "machines copied");
	snprintf(e.machines, sizeof(e.machines), "%s", mdir);
	st_fault(&e, 1);
	st_send(&e, ST_QUEUE,
	    TASK(8001,
	        "\"site\": \"walmart\", \"searchterms_str\": \"a\", \"cmd_args\": "
	        "{\"fake_items\": 3}"));
	st_send(&e, ST_QUEUE,
	    TASK(8002,
	        "\"site\": \"walmart\", \"searchterms_str\": \"b\", \"cmd_args\": "
	        "{\"fake_items\": 2}"));
	st_send(&e, ST_QUEUE,
	    TASK(8003,
	        "\"site\": \"walmart\", \"searchterms_str\": \"c\", \"cmd_args\": {\"fake_mode\": "
	        "\"fail\", \"fake_items\": 1}"));
	st_send(&e, ST_QUEUE,
	    TASK(8005,
	        "\"site\": \"walmart\", \"searchterms_str\": \"e\", \"cmd_args\": {\"fake_mode\": "
	        "\"fail\", \"fake_items\": 20, \"fake_delay_ms\": 100}"));
	st_smd_start(&e, 1, no_opts);
	is_int(st_smd_wait(&e, 120), 0, "smd ran the four tasks and exited");
	expect_failed(&e, 8001, "cannot upload", "8001 with the bucket unusable");
	is_int(st_spider_starts(&e), 4, "four spiders ran");
	is_int(st_queue_count(&e, ST_QUEUE), 0, "the failed tasks' messages were deleted");

	/* cured; and a new machine version, which the replays must not take */
	st_fault(&e, 0);
	snprintf(cmd, sizeof(cmd), "echo '<!-- v2 -->' >> %s/task.scxml", mdir);
	(void)!system(cmd);

	/* --- without smd ---------------------------------------------------- */
	{
		const char *a[] = { "replay", "8001", NULL };

		rc = st_smctl(&e, a, 120, out, sizeof(out));
	}
	runs_of(&e, 8001, &r);
	is_int(r.n, 2, "8001 has two runs in the index");
	snprintf(want, sizeof(want), "%s\nreported\n", r.n == 2 ? r.id[1] : "?");
	is_int(rc, 0, "smctl replay 8001 without smd: exit 0");
	is_str(out, want, "it prints the new instance, then 'reported'");
	ok(st_smctl_said(&e, "from 'uploading'") && st_smctl_said(&e, "running it here"),
	    "from the failed upload, run by smctl itself");
	is_int(st_spider_starts(&e), 4, "the spider did not run again");
	expect_reported(&e, 8001, "8001 replayed");
	st_instance_machine(&e, r.id[0], m1);
	st_instance_machine(&e, r.n == 2 ? r.id[1] : "?", m2);
	ok(m1[0] && strcmp(m1, m2) == 0, "the replay ran the failed run's machine version");
	{
		const char *a[] = { "replay", "8001", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 1, "8001 again: refused");
		ok(st_smctl_said(&e, "was reported"), "a reported task is refused, saying so");
	}
	{
		const char *a[] = { "replay", "424242", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 1, "an unknown task: refused");
		ok(st_smctl_said(&e, "no run of task 424242"), "saying so");
	}
	{
		const char *a[] = { "replay", "12x", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 2, "a bad task id: usage error");
	}
	runs_of(&e, 8002, &r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/work/%s'", e.dir, r.n ? r.id[0] : "none");
	(void)!system(cmd);
	{
		const char *a[] = { "replay", "8002", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 1,
		    "8002 with its outputs gone: refused");
		ok(st_smctl_said(&e, "are gone") && st_smctl_said(&e, "--from-start"),
		    "saying so, with the --from-start hint");
	}
	runs_of(&e, 8002, &r);
	is_int(r.n, 1, "a refused replay leaves no run");
	starts = st_spider_starts(&e);
	{
		const char *a[] = { "replay", "--from-start", "8003", NULL };

		rc = st_smctl(&e, a, 120, out, sizeof(out));
	}
	is_int(rc, 1, "smctl replay --from-start 8003 without smd: it fails again, exit 1");
	ok(strstr(out, "\nfailed\n") != NULL, "it ends 'failed'");
	is_int(st_spider_starts(&e), starts + 1, "its spider ran again");
	expect_failed(&e, 8003, "exited with code 1", "8003 replayed without smd");

	/* --- through smd ---------------------------------------------------- */
	st_smd_start(&e, 0, no_opts);
	{
		char path[600];
		struct stat sb;
		int i;

		snprintf(path, sizeof(path), "%s/control", e.dir);
		for (i = 0; i < 100 && stat(path, &sb) != 0; i++)
			usleep(100000);
		ok(i < 100, "smd made its control socket");
	}
	starts = st_spider_starts(&e);
	{
		const char *a[] = { "replay", "--from-start", "8002", NULL };

		rc = st_smctl(&e, a, 120, out, sizeof(out));
	}
	is_int(rc, 0, "smctl replay --from-start 8002 through smd: exit 0");
	ok(strstr(out, "\nreported\n") != NULL, "it ends 'reported'");
	ok(st_smctl_said(&e, "through smd") && st_smctl_said(&e, "from 'received'"),
	    "through smd, from the start");
	is_int(st_spider_starts(&e), starts + 1, "the spider ran again");
	expect_reported(&e, 8002, "8002 replayed from the start");
	ok(st_log_has(&e, "replay of task 8002"), "smd's log names the replay");

	starts = st_spider_starts(&e);
	{
		const char *a[] = { "replay", "8003", NULL };

		rc = st_smctl(&e, a, 120, out, sizeof(out));
	}
	is_int(rc, 1, "replay of the failed spider: it fails again, exit 1");
	ok(strstr(out, "\nfailed\n") != NULL, "it ends 'failed'");
	ok(st_smctl_said(&e, "from 'spawned'"), "from the spider's step");
	is_int(st_spider_starts(&e), starts + 1, "the spider ran again");
	expect_failed(&e, 8003, "exited with code 1", "8003 replayed");

	st_send(&e, ST_QUEUE,
	    TASK(8004,
	        "\"site\": \"walmart\", \"searchterms_str\": \"d\", \"cmd_args\": "
	        "{\"fake_items\": 6, \"fake_delay_ms\": 500}"));
	ok(st_wait_spider(&e, starts + 1, 20), "8004 runs");
	{
		const char *a[] = { "replay", "8004", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 1, "a running task: refused");
		ok(st_smctl_said(&e, "is running"), "saying so");
	}
	{
		const char *a[] = { "replay", "--no-wait", "8003", NULL };

		is_int(st_smctl(&e, a, 30, out, sizeof(out)), 0, "--no-wait: exit 0 at once");
		ok(strncmp(out, "task-", 5) == 0 && strchr(out, '\n') == out + strlen(out) - 1,
		    "and one line, the instance (%.*s)", (int)strcspn(out, "\n"), out);
	}
	hostile(&e);
	for (int i = 0; i < 200 && st_queue_count(&e, ST_QUEUE) != 0; i++)
		usleep(100000);
	sleep(1);
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 60), 0, "SIGTERM: smd exits 0");
	{
		char path[600];
		struct stat sb;

		snprintf(path, sizeof(path), "%s/control", e.dir);
		ok(lstat(path, &sb) != 0, "the control socket is gone");
	}
	runs_of(&e, 8003, &r);
	is_int(r.n, 4, "8003 has four runs");
	is_int(st_spiders_alive(&e), 0, "no spider left");

	/* without smd, SIGINT releases the replay smctl runs */
	json_decref(st_drain(&e, ST_PROGRESS));
	starts = st_spider_starts(&e);
	{
		const char *a[] = { "replay", "8005", NULL };
		pid_t pid = st_smctl_start(&e, a);

		ok(st_wait_spider(&e, starts, 20), "8005's spider runs again under smctl");
		kill(pid, SIGINT);
		rc = st_smctl_wait(&e, pid, 30, out, sizeof(out));
	}
	is_int(rc, 1, "SIGINT: smctl exits 1");
	ok(strstr(out, "\nreleased\n") != NULL, "the replay ended 'released'");
	is_int(st_spiders_alive(&e), 0, "its spider is gone");
	{
		json_t *prog = st_drain(&e, ST_PROGRESS), *last,
		       *seq = st_progress_of(prog, 8005, &last);
		const char *p = json_string_value(json_array_get(seq, json_array_size(seq) - 1));

		ok(!p || (strcmp(p, "failed") != 0 && strcmp(p, "finished") != 0),
		    "a released replay reports no end");
		json_decref(seq);
		json_decref(prog);
	}
	if (tap__.failed)
		st_show_log(&e);
	st_close(&e);
}

int
main(void)
{
	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	case_replay();
	return done_testing();
}
