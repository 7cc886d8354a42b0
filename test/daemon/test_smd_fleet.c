/*
 * test_smd_fleet.c - what smd writes to the bucket for the fleet view
 * (docs/fleet-formats.md), as a reader of the bucket sees it:
 *   - the task record <name>.state.json.zip of a finished task, a failed
 *     spider and a cache hit: one member <name>.state.json, the format and
 *     its fields, the history, the state, the keys equal to the output
 *     message's;
 *   - the heartbeat smd/instances/<instance>.json: there while smd runs,
 *     the running task listed, last_seen advancing every
 *     heartbeat_interval, "stopping" during a SIGTERM drain, removed after
 *     a clean stop, left (stale) after SIGKILL; the start marker;
 *   - the record of a run whose upload was cut by SIGKILL appears after
 *     the restart;
 *   - the bucket gone while smd runs (local: its directory moved away;
 *     aws: deleted): records stay pending and land once it is back, the
 *     heartbeat's failure is logged once, smd goes on taking tasks.
 * Under with_moto.sh (aws) the objects are read again with boto3.
 *
 * SM_TEST_BACKEND=local (default) or aws (under test/support/with_moto.sh).
 */
#include "smd_test_util.h"

#define TASK(id, extra) \
	"{\"task_id\": " #id ", \"server_name\": \"" ST_SERVER "\", \"site\": \"walmart\", " extra \
	"}"

/* The record of task `id` from the bucket (its key into `key`), checked
 * for its zip member, or NULL. */
static json_t *
record_of(struct st_env *e, int64_t id, char *key, size_t size)
{
	char part[64], member[600], want[600];
	char *zip, *text;
	size_t zl, tl;
	json_t *j;

	snprintf(part, sizeof(part), "--%lld____", (long long)id);
	key[0] = 0;
	s_list(e->tp, &e->t, ST_BUCKET, "", NULL, NULL, 1000);
	for (size_t i = 0; e->t.code == 0 && i < e->t.nkeys; i++)
		if (strstr(e->t.keys[i], part) && strstr(e->t.keys[i], ".state.json.zip"))
			snprintf(key, size, "%s", e->t.keys[i]);
	if (!key[0] || !(zip = st_get(e, key, &zl)))
		return NULL;
	text = st_unzip(zip, zl, member, sizeof(member), &tl);
	free(zip);
	/* <name>.state.json: the key's base without .zip */
	snprintf(want, sizeof(want), "%s", strrchr(key, '/') ? strrchr(key, '/') + 1 : key);
	want[strlen(want) - 4] = 0;
	is_str(member, text ? want : "(no single member)",
	    "task %lld: the zip's one member is '%s'", (long long)id, want);
	j = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return j;
}

/* The output message of task `id` among `outs` (borrowed) or NULL. */
static json_t *
output_of(json_t *outs, int64_t id)
{
	size_t i;
	json_t *m;

	json_array_foreach(
	    outs, i, m) if (json_integer_value(json_object_get(m, "_msg_id")) == id) return m;
	return NULL;
}

/* With boto3: the object's one member, its format, state and history. */
static void
boto3_check(struct st_env *e, const char *key, const char *state)
{
	char cmd[2000];

	if (!e->aws)
		return;
	snprintf(cmd, sizeof(cmd),
	    "python3 -c 'import boto3, io, json, os, sys, zipfile\n"
	    "o = boto3.client(\"s3\", endpoint_url=os.environ[\"AWS_ENDPOINT_URL\"]).get_object("
	    "Bucket=\"%s\", Key=sys.argv[1])[\"Body\"].read()\n"
	    "z = zipfile.ZipFile(io.BytesIO(o)); n = z.namelist()\n"
	    "assert n == [sys.argv[1].rsplit(\"/\", 1)[-1][:-4]], n\n"
	    "r = json.loads(z.read(n[0]))\n"
	    "assert r[\"format\"] == \"smd-task-record\" and r[\"version\"] == 1, r[\"format\"]\n"
	    "assert r[\"state\"] == sys.argv[2] and r[\"run\"][\"state\"] == sys.argv[2]\n"
	    "assert len(r[\"run\"][\"history\"]) > 0\n' '%s' '%s'",
	    ST_BUCKET, key, state);
	is_int(system(cmd), 0, "boto3 reads the same record (%s)", state);
}

/* The common fields of a record. */
static void
check_record(struct st_env *e, json_t *r, int64_t id, const char *state, const char *what)
{
	char inst[64];
	json_t *run = json_object_get(r, "run");

	st_instance_id(e, inst);
	is_str(json_string_value(json_object_get(r, "format")), "smd-task-record",
	    "%s: format smd-task-record", what);
	is_int(json_integer_value(json_object_get(r, "version")), 1, "%s: version 1", what);
	is_str(json_string_value(json_object_get(r, "state")), state, "%s: state %s", what, state);
	is_int(json_integer_value(json_object_get(r, "task_id")), id, "%s: task_id", what);
	is_str(json_string_value(json_object_get(r, "server_name")), ST_SERVER, "%s: server_name",
	    what);
	is_str(json_string_value(json_object_get(r, "site")), "walmart", "%s: site", what);
	is_str(
	    json_string_value(json_object_get(r, "smd_instance")), inst, "%s: smd_instance", what);
	ok(json_integer_value(json_object_get(r, "finished_ms")) >=
	            json_integer_value(json_object_get(r, "received_ms")) &&
	        json_integer_value(json_object_get(r, "duration_ms")) ==
	            json_integer_value(json_object_get(r, "finished_ms")) -
	                json_integer_value(json_object_get(r, "received_ms")),
	    "%s: received, finished, duration", what);
	is_str(json_string_value(json_object_get(run, "state")), state, "%s: run.state", what);
	ok(json_is_true(json_object_get(run, "final")), "%s: run.final", what);
	ok(json_array_size(json_object_get(run, "history")) > 3, "%s: run.history (%zu records)",
	    what, json_array_size(json_object_get(run, "history")));
	ok(json_is_string(json_object_get(run, "message")), "%s: run.message", what);
	ok(!json_object_get(run, "logs"), "%s: no logs in run", what);
}

/* The keys of a reported record are the output message's. */
static void
check_keys(json_t *r, json_t *out, const char *what)
{
	json_t *k = json_object_get(r, "keys");

	ok(out != NULL, "%s: an output message", what);
	is_str(json_string_value(json_object_get(k, "data")),
	    json_string_value(json_object_get(out, "s3_key_data")), "%s: keys.data", what);
	is_str(json_string_value(json_object_get(k, "csv")),
	    json_string_value(json_object_get(out, "csv_data_key")), "%s: keys.csv", what);
	is_str(json_string_value(json_object_get(k, "logs")),
	    json_string_value(json_object_get(out, "s3_key_logs")), "%s: keys.logs", what);
}

/* A finished task, a failed spider, then a cache hit; the heartbeat gone
 * after each clean stop, the start marker there. */
static void
case_records(void)
{
	struct st_env e;
	json_t *outs, *r, *r2;
	char key[600], inst[64], hb[200];
	size_t len;
	char *obj;

	if (st_open(&e, "fleet-rec") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE,
	    TASK(9100,
	        "\"searchterms_str\": \"cups\", \"cmd_args\": "
	        "{\"fake_items\": 3}"));
	st_send(&e, ST_QUEUE,
	    TASK(9101,
	        "\"searchterms_str\": \"plates\", \"cmd_args\": "
	        "{\"fake_items\": 2, \"fake_mode\": \"fail\"}"));
	st_smd_start(&e, 1, NULL);
	if (!ok(st_smd_wait(&e, 90) == 0, "smd ran both and exited 0"))
		st_show_log(&e);
	outs = st_drain(&e, ST_OUTPUT);

	r = record_of(&e, 9100, key, sizeof(key));
	ok(r != NULL, "finished task: its record '%s'", key);
	check_record(&e, r, 9100, "reported", "finished task");
	check_keys(r, output_of(outs, 9100), "finished task");
	is_str(json_string_value(json_object_get(json_object_get(r, "cache"), "result")), "miss",
	    "finished task: cache miss");
	ok(json_is_null(json_object_get(r, "reason")), "finished task: no reason");
	boto3_check(&e, key, "reported");
	json_decref(r);

	r = record_of(&e, 9101, key, sizeof(key));
	ok(r != NULL, "failed spider: its record '%s'", key);
	check_record(&e, r, 9101, "failed", "failed spider");
	ok(json_is_string(json_object_get(r, "reason")), "failed spider: the reason '%s'",
	    json_string_value(json_object_get(r, "reason")) ?: "");
	ok(!json_object_get(json_object_get(r, "keys"), "data"), "failed spider: no data key");
	ok(json_is_string(json_object_get(json_object_get(r, "keys"), "logs")),
	    "failed spider: its log's key");
	boto3_check(&e, key, "failed");
	json_decref(r);
	json_decref(outs);

	st_instance_id(&e, inst);
	snprintf(hb, sizeof(hb), "smd/instances/%s.json", inst);
	obj = st_get(&e, hb, &len);
	ok(obj == NULL, "clean stop: the heartbeat is removed");
	free(obj);
	snprintf(hb, sizeof(hb), "/%s.json", inst);
	ok(st_bucket_key(&e, hb, key, sizeof(key)) && strncmp(key, "smd/started/", 12) == 0,
	    "the start marker '%s'", key);
	obj = st_get(&e, key, &len);
	r = obj ? json_loads(obj, 0, NULL) : NULL;
	is_str(json_string_value(json_object_get(r, "format")), "smd-heartbeat",
	    "the start marker is a heartbeat object");
	json_decref(r);
	free(obj);

	/* the same task again: a cache hit writes a record too */
	st_send(&e, ST_QUEUE,
	    TASK(9102,
	        "\"searchterms_str\": \"cups\", \"cmd_args\": "
	        "{\"fake_items\": 3}"));
	st_smd_start(&e, 1, NULL);
	is_int(st_smd_wait(&e, 60), 0, "smd served the identical task");
	outs = st_drain(&e, ST_OUTPUT);
	r = record_of(&e, 9102, key, sizeof(key));
	r2 = record_of(&e, 9100, hb, sizeof(hb));
	ok(r != NULL, "cache hit: its record '%s'", key);
	check_record(&e, r, 9102, "reported", "cache hit");
	ok(json_is_true(json_object_get(json_object_get(r, "cache"), "hit")),
	    "cache hit: cache.hit");
	is_str(json_string_value(json_object_get(json_object_get(r, "cache"), "source")),
	    json_string_value(json_object_get(r2, "name")), "cache hit: its source is task 9100");
	check_keys(r, output_of(outs, 9102), "cache hit");
	boto3_check(&e, key, "reported");
	json_decref(r);
	json_decref(r2);
	json_decref(outs);
	st_close(&e);
}

/* The heartbeat object, or NULL. */
static json_t *
heartbeat(struct st_env *e)
{
	char inst[64], key[200], *obj;
	size_t len;
	json_t *j;

	st_instance_id(e, inst);
	if (!inst[0])
		return NULL;
	snprintf(key, sizeof(key), "smd/instances/%s.json", inst);
	obj = st_get(e, key, &len);
	j = obj ? json_loads(obj, 0, NULL) : NULL;
	free(obj);
	return j;
}

/* Wait up to `secs` for a heartbeat for which `want` says yes. */
static json_t *
heartbeat_wait(struct st_env *e, int secs, int (*want)(json_t *hb, void *arg), void *arg)
{
	for (int i = 0; i < secs * 5; i++) {
		json_t *hb = heartbeat(e);

		if (hb && want(hb, arg))
			return hb;
		json_decref(hb);
		usleep(200000);
	}
	return NULL;
}

static int
lists_task(json_t *hb, void *arg)
{
	json_t *t = json_array_get(json_object_get(hb, "tasks"), 0);

	(void)arg;
	return json_integer_value(json_object_get(t, "task_id")) == 9200;
}

static int
seen_after(json_t *hb, void *arg)
{
	return json_integer_value(json_object_get(hb, "last_seen_ms")) > *(int64_t *)arg;
}

static int
stopping(json_t *hb, void *arg)
{
	(void)arg;
	return json_is_true(json_object_get(hb, "stopping"));
}

static int
any(json_t *hb, void *arg)
{
	(void)hb;
	(void)arg;
	return 1;
}

static void
case_heartbeat(void)
{
	struct st_env e;
	static const char *const opts[] = { "heartbeat_interval=1s", "shutdown_grace=60s", NULL };
	json_t *hb, *t;
	int64_t seen;
	char inst[64];

	if (st_open(&e, "fleet-beat") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE,
	    TASK(9200,
	        "\"searchterms_str\": \"mugs\", \"cmd_args\": "
	        "{\"fake_items\": 12, \"fake_delay_ms\": 500}"));
	st_smd_start(&e, 0, opts);
	hb = heartbeat_wait(&e, 30, lists_task, NULL);
	st_instance_id(&e, inst);
	ok(hb != NULL, "while the task runs the heartbeat lists it");
	t = json_array_get(json_object_get(hb, "tasks"), 0);
	is_str(json_string_value(json_object_get(hb, "format")), "smd-heartbeat", "format");
	is_int(json_integer_value(json_object_get(hb, "version")), 1, "version 1");
	is_str(json_string_value(json_object_get(hb, "instance")), inst, "instance");
	is_int(json_integer_value(json_object_get(hb, "pid")), e.pid, "pid");
	is_int(json_integer_value(json_object_get(hb, "interval_ms")), 1000, "interval_ms 1000");
	is_str(
	    json_string_value(json_object_get(hb, "backend")), e.aws ? "aws" : "local", "backend");
	is_int((int)strlen(json_string_value(json_object_get(hb, "config_digest")) ?: ""), 64,
	    "config_digest: SHA-256 hex");
	ok(json_is_false(json_object_get(hb, "stopping")), "not stopping");
	is_str(json_string_value(json_object_get(t, "server_name")), ST_SERVER, "task server_name");
	is_str(json_string_value(json_object_get(t, "site")), "walmart", "task site");
	ok(json_is_string(json_object_get(t, "state")), "task state '%s'",
	    json_string_value(json_object_get(t, "state")) ?: "");
	ok(json_is_string(json_object_get(t, "name")), "task name");
	seen = json_integer_value(json_object_get(hb, "last_seen_ms"));
	json_decref(hb);
	hb = heartbeat_wait(&e, 5, seen_after, &seen);
	ok(hb != NULL, "last_seen_ms advances within heartbeat_interval=1s (+%lld ms)",
	    hb ? (long long)(json_integer_value(json_object_get(hb, "last_seen_ms")) - seen) : 0LL);
	json_decref(hb);

	kill(e.pid, SIGTERM);
	hb = heartbeat_wait(&e, 10, stopping, NULL);
	ok(hb != NULL, "SIGTERM: \"stopping\": true while the task drains");
	ok(json_array_size(json_object_get(hb, "tasks")) == 1, "with the task still listed");
	json_decref(hb);
	is_int(st_smd_wait(&e, 60), 0, "smd drained and exited 0");
	hb = heartbeat(&e);
	ok(hb == NULL, "clean stop: the heartbeat is removed");
	json_decref(hb);

	/* SIGKILL: the heartbeat stays, stale */
	st_smd_start(&e, 0, opts);
	seen = 0;
	hb = heartbeat_wait(&e, 30, any, NULL);
	json_decref(hb);
	hb = heartbeat_wait(&e, 30, seen_after, &seen);
	kill(e.pid, SIGKILL);
	waitpid(e.pid, NULL, 0);
	e.pid = 0;
	sleep(2);
	json_decref(hb);
	hb = heartbeat(&e);
	ok(hb != NULL &&
	        sm_time_wall_ms() - json_integer_value(json_object_get(hb, "last_seen_ms")) > 1500,
	    "SIGKILL: the heartbeat is left, stale");
	json_decref(hb);
	st_close(&e);
}

/* The record upload fails, smd is killed, the record comes after restart. */
static void
case_record_after_kill(void)
{
	struct st_env e;
	char key[600];
	json_t *r;

	if (st_open(&e, "fleet-kill") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE,
	    TASK(9300,
	        "\"searchterms_str\": \"forks\", \"cmd_args\": "
	        "{\"fake_items\": 2}"));
	st_fault(&e, 1);
	st_smd_start(&e, 0, NULL);
	for (int i = 0; i < 400 && !st_log_has(&e, "task record of 'task-1': upload failed"); i++)
		usleep(100000);
	ok(st_log_has(&e, "task record of 'task-1': upload failed"),
	    "the record's upload fails, smd goes on");
	ok(waitpid(e.pid, NULL, WNOHANG) == 0, "smd did not crash");
	kill(e.pid, SIGKILL);
	waitpid(e.pid, NULL, 0);
	e.pid = 0;
	ok(record_of(&e, 9300, key, sizeof(key)) == NULL, "no record yet");
	st_fault(&e, 0);
	st_smd_start(&e, 1, NULL);
	is_int(st_smd_wait(&e, 60), 0, "smd started again and exited 0");
	r = record_of(&e, 9300, key, sizeof(key));
	ok(r != NULL, "the record is in the bucket after the restart");
	check_record(&e, r, 9300, "failed", "record after restart");
	ok(strstr(json_string_value(json_object_get(r, "reason")) ?: "", "upload") != NULL,
	    "it failed on its upload ('%s')",
	    json_string_value(json_object_get(r, "reason")) ?: "");
	boto3_check(&e, key, "failed");
	json_decref(r);
	st_close(&e);
}

/*
 * Take the bucket away (GONE: local, its directory renamed, "no such
 * bucket"; aws, deleted), make it refuse every request (REFUSING, local: a
 * file where its directory was, "not a directory"), or give it back (BACK:
 * renamed back; aws, made again, empty).
 */
enum { BUCKET_BACK, BUCKET_GONE, BUCKET_REFUSING };
static void
bucket_away(struct st_env *e, int how)
{
	char here[600], away[620];
	FILE *f;

	if (e->aws) {
		if (how != BUCKET_REFUSING)
			st_fault(e, how == BUCKET_GONE);
		return;
	}
	snprintf(here, sizeof(here), "%s/objects/%s", e->dir, ST_BUCKET);
	snprintf(away, sizeof(away), "%s.away", here);
	if (how == BUCKET_REFUSING) {
		if ((f = fopen(here, "w")))
			fclose(f);
		return;
	}
	if (how == BUCKET_BACK)
		unlink(here);
	if (rename(how == BUCKET_GONE ? here : away, how == BUCKET_GONE ? away : here) != 0)
		diag("rename: %s", strerror(errno));
}

/* The record of task `id` within `secs` seconds, or NULL. */
static json_t *
record_wait(struct st_env *e, int64_t id, int secs, char *key, size_t size)
{
	json_t *r = NULL;

	for (int i = 0; i < secs * 2 && !(r = record_of(e, id, key, size)); i++)
		usleep(500000);
	return r;
}

/*
 * The bucket gone, then refusing, while smd runs: the record of a run that
 * ends meanwhile
 * stays pending and is retried, the heartbeat's failure is logged once (not
 * at every tick), smd neither crashes nor stops taking tasks; once the
 * bucket is back the record lands and the heartbeat is written again.
 */
static void
case_bucket_gone(void)
{
	static const char *const opts[] = { "heartbeat_interval=1s", "shutdown_grace=60s", NULL };
	struct st_env e;
	char key[600];
	json_t *r, *hb;
	int starts, beats;

	if (st_open(&e, "fleet-gone") != 0) {
		ok(0, "set up");
		return;
	}
	st_send(&e, ST_QUEUE,
	    TASK(9400, "\"searchterms_str\": \"cups\", \"cmd_args\": {\"fake_items\": 1}"));
	st_smd_start(&e, 0, opts);
	r = record_wait(&e, 9400, 60, key, sizeof(key));
	ok(r != NULL, "bucket there: the record of 9400");
	json_decref(r);

	bucket_away(&e, BUCKET_GONE);
	starts = st_spider_starts(&e);
	st_send(&e, ST_QUEUE,
	    TASK(9401,
	        "\"searchterms_str\": \"pans\", \"cmd_args\": "
	        "{\"fake_items\": 1, \"fake_mode\": \"fail\"}"));
	for (int i = 0; i < 600 && !st_log_has(&e, "upload failed (tried again in"); i++)
		usleep(100000);
	ok(st_log_has(&e, "upload failed (tried again in"),
	    "bucket gone: the record of the run that ended meanwhile fails to upload, to be "
	    "tried again");
	ok(st_spider_starts(&e) > starts, "bucket gone: 9401 was taken and run");
	if (e.aws) {
		/* a bucket that does not exist reads as no stop flag: work goes on */
		starts = st_spider_starts(&e);
		st_send(&e, ST_QUEUE,
		    TASK(9402, "\"searchterms_str\": \"pots\", \"cmd_args\": {\"fake_items\": 1}"));
		ok(st_wait_spider(&e, starts, 30),
		    "bucket gone: smd goes on taking tasks (9402 started)");
	} else {
		/* refusing: the stop flag cannot be read, an outage pauses work
		 * (SPEC 7), said once */
		bucket_away(&e, BUCKET_REFUSING);
		for (int i = 0; i < 100 && !st_log_has(&e, "cannot read the stop flag"); i++)
			usleep(100000);
		ok(st_log_has(&e, "cannot read the stop flag: no new task until it is read"),
		    "bucket refusing: the stop flag cannot be read, logged");
		starts = st_spider_starts(&e);
		st_send(&e, ST_QUEUE,
		    TASK(9402, "\"searchterms_str\": \"pots\", \"cmd_args\": {\"fake_items\": 1}"));
		sleep(5);
		is_int(st_spider_starts(&e), starts,
		    "bucket refusing: work pauses, 9402 waits in its queue");
		is_int(st_log_count(&e, "cannot read the stop flag"), 1,
		    "the stop flag's failure logged once (stop_flag_interval=2s)");
	}
	beats = st_log_count(&e, "cannot write the heartbeat");
	is_int(
	    beats, 1, "bucket gone for seconds (heartbeat_interval=1s): its failure logged once");
	if (beats != 1)
		st_show_log(&e);
	ok(waitpid(e.pid, NULL, WNOHANG) == 0, "bucket gone: smd did not crash");

	bucket_away(&e, BUCKET_BACK);
	r = record_wait(&e, 9401, 90, key, sizeof(key));
	ok(r != NULL, "bucket back: the pending record of 9401 lands ('%s')", key);
	is_str(json_string_value(json_object_get(r, "state")), "failed", "it is the failed run's");
	json_decref(r);
	hb = heartbeat_wait(&e, 10, any, NULL);
	ok(hb != NULL, "bucket back: the heartbeat is written again");
	json_decref(hb);
	if (!e.aws) {
		ok(st_wait_spider(&e, starts, 30), "bucket back: work goes on, 9402 taken");
		ok(st_log_has(&e, "the stop flag is read again, after "), "and the log says so");
	}
	for (int i = 0; i < 50 && !st_log_has(&e, "the heartbeat is written again"); i++)
		usleep(100000);
	ok(st_log_has(&e, "the heartbeat is written again"), "and the log says so");
	is_int(st_log_count(&e, "cannot write the heartbeat"), beats, "no other failure logged");
	kill(e.pid, SIGTERM);
	is_int(st_smd_wait(&e, 120), 0, "smd stops cleanly");
	st_close(&e);
}

int
main(void)
{
	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	case_records();
	case_heartbeat();
	case_record_after_kill();
	case_bucket_gone();
	return done_testing();
}
