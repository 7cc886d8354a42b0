/*
 * test_cancel.c - the transport-facing actions (act_op.h) honour cancel
 * through tp_cancel: every action is run through the engine, its state is
 * left while its transport work is in flight, and then
 *   - nothing of it is left in the transport (tp_pending is 0 at once),
 *   - the server sees no further request,
 *   - the action never reports (sm_action_done / sm_action_fail are
 *     counted through the linker's --wrap),
 *   - the instance ends in `cancelled`;
 * under ASan the same runs show no leak and no use after free.
 *
 *   test_act_cancel        against test/support/faultd.py: each action with
 *                          its requests hanging (visibility with three at
 *                          once, report during its queue URL lookup and
 *                          during its send), and queue_delete and
 *                          cache_lookup while the transport waits for a
 *                          retry (500 with x-amz-retry-after);
 *   test_act_cancel moto   under test/support/with_moto.sh: an upload
 *                          cancelled mid-way through a multipart upload;
 *                          boto3 (test/s3/s3_boto.py) then sees no upload
 *                          left and no object.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "act_cache.h"
#include "act_ctx.h"
#include "act_flag.h"
#include "act_logup.h"
#include "act_queue.h"
#include "act_report.h"
#include "act_upload.h"
#include "sm_engine.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "support/faultd_client.h"
#include "tap.h"
#include "transport.h"

#include "engine/engine_test_util.h"

#define MiB (1024u * 1024u)
#define BUCKET "cancel-bucket"

/* ---- every report of an action, counted (-Wl,--wrap) ---------------------- */

static int nreports;

int __real_sm_action_done(struct sm_action_call *call, json_t *result);
int __wrap_sm_action_done(struct sm_action_call *call, json_t *result);
int __real_sm_action_fail(struct sm_action_call *call, const char *error, const char *message);
int __wrap_sm_action_fail(struct sm_action_call *call, const char *error, const char *message);

int
__wrap_sm_action_done(struct sm_action_call *call, json_t *result)
{
	nreports++;
	return __real_sm_action_done(call, result);
}

int
__wrap_sm_action_fail(struct sm_action_call *call, const char *error, const char *message)
{
	nreports++;
	return __real_sm_action_fail(call, error, message);
}

/* ---- the engine and the actions -------------------------------------------- */

static struct sm_loop *loop;
static struct sm_engine *eng;
static struct act_ctx ctx;
static struct tp *tp;
static struct faultd fd;
static char *tmp;
static char qurl[128];
static const char *const queues[] = { "q1" };

static struct sm_machine *machines[32];
static size_t nmachines;
static int ninstance;

/* A machine that invokes `action` with `params` (task.<name> each, names
 * separated by blanks) in `run` and goes to `cancelled` on the event
 * "cancel". */
static struct sm_machine *
machine_for(const char *action, const char *params)
{
	char xml[4096], ps[1024] = "", name[64];
	const char *p = params;
	size_t off = 0;
	int n;

	while (p && sscanf(p, "%63s%n", name, &n) == 1) {
		off += (size_t)snprintf(
		    ps + off, sizeof(ps) - off, "<param name='%s' expr='task.%s'/>", name, name);
		p += n;
	}
	snprintf(xml, sizeof(xml),
	    "<scxml xmlns='http://www.w3.org/2005/07/scxml' version='1.0' datamodel='task'"
	    " initial='run'>"
	    " <datamodel><data id='error' expr='null'/></datamodel>"
	    " <state id='run'>"
	    "  <invoke id='a' type='urn:smd:scxml:1' src='%s'>%s</invoke>"
	    "  <transition event='done.invoke.a' target='ok'/>"
	    "  <transition event='error.invoke.a' target='failed'>"
	    "   <assign location='error' expr='_event.data'/></transition>"
	    "  <transition event='cancel' target='cancelled'/>"
	    " </state>"
	    " <final id='ok'/><final id='failed'/><final id='cancelled'/>"
	    "</scxml>",
	    action, ps);
	if (nmachines == sizeof(machines) / sizeof(machines[0]))
		bail_out("too many machines");
	return machines[nmachines++] = etu_load(xml, action);
}

/* The instance's final state ("" while it runs); its error in `why`. */
static const char *
final_of(const char *id, char *why, size_t whysize)
{
	static struct sm_instance_status st;
	json_t *dm;
	char *t;

	if (sm_engine_instance_status(eng, id, &st) != 0)
		return "?";
	if (why && whysize) {
		dm = sm_engine_instance_datamodel(eng, id);
		t = dm ? json_dumps(json_object_get(dm, "error"), JSON_ENCODE_ANY) : NULL;
		snprintf(why, whysize, "%s", t ? t : "");
		free(t);
		json_decref(dm);
	}
	return st.final_id;
}

/* Start `action` with `task` (JSON text); returns the instance id. */
static const char *
start(const char *action, const char *params, const char *task)
{
	static char id[64];
	struct sm_error err;
	json_t *t = json_loads(task, 0, NULL);

	if (!t)
		bail_out("bad test task %s", task);
	snprintf(id, sizeof(id), "cancel-%d", ++ninstance);
	sm_error_clear(&err);
	if (sm_engine_start(eng, machine_for(action, params), id, t, &err) != 0)
		bail_out("sm_engine_start: %s", err.msg);
	json_decref(t);
	return id;
}

/* Leave the action's state: post "cancel" and run the engine's turn (its
 * cancel runs there). */
static void
cancel(const char *id)
{
	struct sm_error err;

	sm_error_clear(&err);
	if (sm_engine_post(eng, id, "cancel", NULL) != 0 || sm_engine_flush(eng, &err) != 0)
		bail_out("cannot post cancel to %s: %s", id, err.msg);
}

/* ---- against faultd ----------------------------------------------------------- */

#define HANG "{\"action\":\"hang\",\"delay\":30}"
#define QURL_OK "{\"status\":200,\"body\":\"{\\\"QueueUrl\\\":\\\"%s\\\"}\"}"
#define RETRY_20S \
	"{\"status\":500,\"headers\":{\"x-amz-retry-after\":\"20000\"}," \
	"\"body\":\"{\\\"__type\\\":\\\"InternalError\\\",\\\"message\\\":\\\"scripted\\\"}\"}"

struct hang_case {
	const char *what;
	const char *action;
	const char *params; /* task fields passed as params */
	const char *task;   /* %s: faultd's queue URL */
	const char *first;  /* steps answered before the hang ("STEP,", %s: URL) or "" */
	int requests;       /* requests faultd must have seen: all in flight */
};

static const struct hang_case hangs[] = {
	{ "cache_lookup: the shared entry's GET hangs", "cache_lookup", "cache_key limit msg",
	    "{\"cache_key\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	    "\"limit\":\"day\",\"msg\":{\"task_id\":1,\"server_name\":\"s\"}}",
	    "", 1 },
	{ "cache_save: the shared entry's PUT hangs", "cache_save", "cache_key name keys",
	    "{\"cache_key\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	    "\"name\":\"n\",\"keys\":{}}",
	    "", 1 },
	{ "stop_flag: the flag's GET hangs", "stop_flag", "", "{}", "", 1 },
	{ "log_upload: the log's PUT hangs", "log_upload", "", "{}", "", 1 },
	{ "upload: a single PUT hangs", "upload", "bucket files",
	    "{\"bucket\":\"" BUCKET "\",\"files\":[{\"path\":\"@small\",\"key\":\"k/small\"}]}", "",
	    1 },
	{ "report: its queue URL lookup hangs", "report", "queue body",
	    "{\"queue\":\"replies\",\"body\":\"hello\"}", "", 1 },
	{ "report: the URL known, its send hangs", "report", "queue body",
	    "{\"queue\":\"replies\",\"body\":\"hello\"}", QURL_OK ",", 2 },
	{ "queue_delete: DeleteMessage hangs", "queue_delete", "queue_url receipt",
	    "{\"queue_url\":\"%s\",\"receipt\":\"r-1\"}", "", 1 },
	{ "queue_release: ChangeMessageVisibility hangs", "queue_release", "queue_url receipt",
	    "{\"queue_url\":\"%s\",\"receipt\":\"r-1\"}", "", 1 },
	{ "poll: ReceiveMessage hangs", "poll", "", "{}", "", 1 },
	{ "daemon_start: GetQueueUrl hangs", "daemon_start", "", "{}", "", 1 },
	{ "visibility: three extensions hang at once", "visibility", "", "{}", "", 3 },
};

/* act_ctx hooks: three messages in flight, free slots. */
static size_t
hook_slots(void *arg)
{
	(void)arg;
	return 4;
}

static size_t
hook_running(void *arg)
{
	(void)arg;
	return 1;
}

static int
hook_admit(void *arg, size_t queue, const char *url, const struct tp_message *m)
{
	(void)arg;
	(void)queue;
	(void)url;
	(void)m;
	return SM_EINVAL;
}

static void
hook_each(
    void *arg, void (*fn)(void *fnarg, const char *queue_url, const char *receipt), void *fnarg)
{
	(void)arg;
	fn(fnarg, qurl, "r-a");
	fn(fnarg, qurl, "r-b");
	fn(fnarg, qurl, "r-c");
}

/* `s` with "%s" replaced by `a` and "@small" by the small file's path. */
static void
fill(char *out, size_t size, const char *s, const char *a, const char *small)
{
	char tmpl[2048];
	const char *at = strstr(s, "@small");

	if (at)
		snprintf(tmpl, sizeof(tmpl), "%.*s%s%s", (int)(at - s), s, small, at + 6);
	else
		snprintf(tmpl, sizeof(tmpl), "%s", s);
	snprintf(out, size, tmpl, a);
}

static void
hang_case(const struct hang_case *c, const char *small)
{
	char script[1024], first[512], task[2048], why[512];
	const char *id;
	int before, served;

	fill(first, sizeof(first), c->first, qurl, small);
	snprintf(script, sizeof(script), "{\"steps\":[%s" HANG "],\"default\":" HANG "}", first);
	faultd_script(&fd, script);
	fill(task, sizeof(task), c->task, qurl, small);
	id = start(c->action, c->params, task);
	ok(faultd_wait_count(&fd, loop, c->requests, 20000) == 0, "%s: %d request(s) in flight",
	    c->what, c->requests);
	faultd_run_for(loop, 100);
	is_str(final_of(id, why, sizeof(why)), "", "%s: still running %s", c->what, why);
	ok(tp_pending(tp) > 0, "%s: the transport has work of it", c->what);
	before = nreports;
	cancel(id);
	is_int((int)tp_pending(tp), 0, "%s: cancelled, nothing left in the transport", c->what);
	is_str(final_of(id, NULL, 0), "cancelled", "%s: the instance left the state", c->what);
	served = faultd_count(&fd);
	faultd_run_for(loop, 300);
	is_int(faultd_count(&fd), served, "%s: no request afterwards", c->what);
	is_int(nreports, before, "%s: the action never reported", c->what);
}

/* A retry waiting for its timer: the first answer is a 500 asking for 20 s. */
static void
retry_case(const char *what, const char *action, const char *params, const char *task)
{
	char script[512], buf[1024];
	const char *id;
	int before;

	snprintf(script, sizeof(script), "{\"steps\":[" RETRY_20S "],\"default\":" HANG "}");
	faultd_script(&fd, script);
	fill(buf, sizeof(buf), task, qurl, "");
	id = start(action, params, buf);
	ok(faultd_wait_count(&fd, loop, 1, 20000) == 0, "%s: the first attempt was answered 500",
	    what);
	faultd_run_for(loop, 300);
	is_int(faultd_count(&fd), 1, "%s: the retry waits for its timer", what);
	is_str(final_of(id, NULL, 0), "", "%s: still running", what);
	is_int((int)tp_pending(tp), 1, "%s: one operation pending", what);
	before = nreports;
	cancel(id);
	is_int((int)tp_pending(tp), 0, "%s: cancelled in its backoff, the timer is gone", what);
	is_str(final_of(id, NULL, 0), "cancelled", "%s: the instance left the state", what);
	faultd_run_for(loop, 500);
	is_int(faultd_count(&fd), 1, "%s: no retry was sent", what);
	is_int(nreports, before, "%s: the action never reported", what);
}

static void
with_faultd(void)
{
	struct tp_config cfg;
	struct sm_error err;
	char small[512];
	FILE *f;
	size_t i;

	if (faultd_start(&fd) != 0)
		skip_all("python3 cannot run test/support/faultd.py");
	faultd_aws_env(&fd, "faultd-act-cancel-secret");
	setenv("AWS_REGION", "us-east-1", 1);
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL_SQS");
	unsetenv("AWS_S3_FORCE_PATH_STYLE");
	tp_config_init(&cfg);
	cfg.backend = "aws";
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	ctx.tp = tp;
	snprintf(qurl, sizeof(qurl), "%s/000000000000/q1", fd.url);
	snprintf(small, sizeof(small), "%s/small.bin", tmp);
	if ((f = fopen(small, "w")) == NULL || fputs("small\n", f) < 0 || fclose(f) != 0)
		bail_out("cannot write %s", small);
	ctx.log_path = small;
	for (i = 0; i < sizeof(hangs) / sizeof(hangs[0]); i++) {
		/* poll reads the queue URLs daemon_start resolves */
		if (strcmp(hangs[i].action, "poll") == 0 && !ctx.queue_urls) {
			ctx.queue_urls = calloc(1, sizeof(char *));
			if (!ctx.queue_urls || !(ctx.queue_urls[0] = strdup(qurl)))
				bail_out("out of memory");
		}
		hang_case(&hangs[i], small);
	}
	retry_case("queue_delete in a retry backoff", "queue_delete", "queue_url receipt",
	    "{\"queue_url\":\"%s\",\"receipt\":\"r-1\"}");
	retry_case("cache_lookup in a retry backoff", "cache_lookup", "cache_key limit msg",
	    "{\"cache_key\":\"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\","
	    "\"limit\":\"day\",\"msg\":{\"task_id\":2}}");
	unlink(small);
}

/* ---- against moto: a multipart upload cancelled mid-way -------------------------- */

/* s3_boto.py COMMAND BUCKET [KEY]: its first output line in `out`; the
 * exit status. */
static int
boto(const char *cmd, const char *key, char *out, size_t size)
{
	char line[1024];
	const char *src = getenv("SM_SOURCE_DIR");
	FILE *p;
	int st;

	snprintf(line, sizeof(line), "python3 '%s/test/s3/s3_boto.py' %s %s %s 2>/dev/null",
	    src ? src : ".", cmd, BUCKET, key ? key : "");
	if ((p = popen(line, "r")) == NULL)
		return -1;
	if (out && size) {
		out[0] = 0;
		if (fgets(out, (int)size, p))
			out[strcspn(out, "\n")] = 0;
	}
	while (fgets(line, sizeof(line), p))
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
nfiles(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
on_bucket(void *arg, const struct tp_result *r)
{
	int *code = arg;

	*code = r->code == 0 ? 1 : r->code;
}

static void
with_moto(void)
{
	const char *ep = getenv("AWS_ENDPOINT_URL");
	struct tp_config cfg;
	struct sm_error err;
	char big[512], task[1024], out[256], why[512];
	static char chunk[MiB];
	const char *id;
	int code = 0, before, i, seen;
	uint64_t t0;
	FILE *f;

	if (!ep || strncmp(ep, "http://127.0.0.1:", 17) != 0)
		bail_out("AWS_ENDPOINT_URL must be a loopback moto (test/support/with_moto.sh)");
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.multipart_threshold = 5 * MiB; /* parts of 5 MiB */
	sm_error_clear(&err);
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	ctx.tp = tp;
	if (tp_bucket_create(tp, BUCKET, on_bucket, &code, NULL) != 0 ||
	    tp_wait(tp, &code, 60000) != 0 || code != 1)
		bail_out("cannot create the bucket");

	/* 48 MiB: ten parts, the upload takes seconds */
	snprintf(big, sizeof(big), "%s/work", tmp);
	mkdir(big, 0700);
	snprintf(big, sizeof(big), "%s/work/result.zip", tmp);
	if ((f = fopen(big, "wb")) == NULL)
		bail_out("cannot create %s", big);
	for (i = 0; i < 48; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		fwrite(chunk, 1, sizeof(chunk), f);
	}
	if (fclose(f) != 0)
		bail_out("cannot write %s", big);
	snprintf(task, sizeof(task),
	    "{\"bucket\":\"" BUCKET "\",\"files\":[{\"path\":\"%s\","
	    "\"key\":\"out/result.zip\"}]}",
	    big);
	id = start("upload", "bucket files", task);
	/* run the upload a tenth of a second at a time until moto holds it */
	seen = 0;
	for (t0 = sm_time_mono_ms(); sm_time_mono_ms() - t0 < 120000;) {
		sm_loop_run_once(loop, 100);
		if (final_of(id, NULL, 0)[0])
			break;
		if (boto("uploads", NULL, out, sizeof(out)) == 0 && strcmp(out, "1") == 0) {
			seen = 1;
			break;
		}
	}
	ok(seen, "moto holds one unfinished multipart upload (mid-way)");
	is_str(final_of(id, why, sizeof(why)), "", "the upload action still runs %s", why);
	before = nreports;
	cancel(id);
	is_str(final_of(id, NULL, 0), "cancelled", "the instance left the upload's state");
	/* the abort is the transport's own work: let it finish */
	for (t0 = sm_time_mono_ms(); tp_pending(tp) > 0 && sm_time_mono_ms() - t0 < 60000;)
		sm_loop_run_once(loop, 100);
	is_int((int)tp_pending(tp), 0, "nothing left in the transport (the abort finished)");
	is_int(boto("uploads", NULL, out, sizeof(out)), 0, "boto3 list_multipart_uploads");
	is_str(out, "0", "no multipart upload left");
	ok(boto("head", "out/result.zip", NULL, 0) != 0, "boto3: no object was written");
	faultd_run_for(loop, 500);
	is_int(nreports, before, "the upload never reported (no success)");
	snprintf(out, sizeof(out), "%s/work", tmp);
	is_int(nfiles(out), 1, "the work directory holds the source only (no temporary file)");
	unlink(big);
	rmdir(out);
}

int
main(int argc, char **argv)
{
	struct sm_error err;
	int moto = argc > 1 && strcmp(argv[1], "moto") == 0;

	plan_no_plan();
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");
	tmp = etu_tmpdir("test_act_cancel");
	sm_error_clear(&err);
	if (sm_engine_create(&eng, loop, NULL, &err) != 0)
		bail_out("sm_engine_create: %s", err.msg);
	act_ctx_init(&ctx);
	ctx.loop = loop;
	ctx.instance_id = "abcdefghijklmnopqrstuvwxyz01";
	ctx.work_dir = tmp;
	ctx.started_ms = sm_time_wall_ms();
	ctx.bucket = BUCKET;
	ctx.queues = queues;
	ctx.nqueues = 1;
	ctx.visibility_timeout_s = 30;
	ctx.poll_wait_s = 20;
	ctx.hooks = (struct act_daemon_hooks){ hook_slots, hook_running, hook_admit, hook_each,
		NULL, NULL, NULL };
	if (act_cache_register(eng, &ctx) != 0 || act_upload_register(eng, &ctx) != 0 ||
	    act_report_register(eng, &ctx) != 0 || act_queue_register(eng, &ctx) != 0 ||
	    act_flag_register(eng, &ctx) != 0 || act_logup_register(eng, &ctx) != 0)
		bail_out("cannot register the actions");

	if (moto)
		with_moto();
	else
		with_faultd();

	sm_engine_destroy(eng);
	tp_destroy(tp);
	act_ctx_clear(&ctx);
	for (size_t i = 0; i < nmachines; i++)
		sm_machine_free(machines[i]);
	if (!moto)
		faultd_stop(&fd);
	etu_rmtree(tmp);
	free(tmp);
	sm_loop_destroy(loop);
	return done_testing();
}
