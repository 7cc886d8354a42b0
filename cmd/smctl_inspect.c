/*
 * smctl_inspect.c - `smctl inspect ID`: everything the state directory
 * knows about a task (ID a task id: every run the daemon's index lists) or
 * about one instance (ID an instance id such as task-7): the message, its
 * queue, the lifecycle state, every transition with its time, cause,
 * action results and errors, the S3 keys, the cache, the tail of the
 * spider's log.  Read-only and without the lock (sm_statedir reader, one
 * LMDB read transaction), so it works while smd runs.  Formats:
 * docs/engine.md (records), docs/daemon.md (task.scxml), docs/smctl.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rt_config.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_record.h"
#include "sm_statedir.h"
#include "sm_time.h"
#include "smctl.h"
#include "smd.h"
#include "smd_index.h"
#include "smd_view.h"
#include "store.h"

/* An action result or error in the text view is cut to this many bytes. */
#define RESULT_TEXT_MAX 300

const char smctl_inspect_usage[] =
    "[-c FILE] [-d DIR] [-o KEY=VALUE] [--server NAME] [--json] [--last N] [--log-lines N] "
    "[--remote [--days N]] TASK_ID|INSTANCE";
const char smctl_inspect_summary[] =
    "show a task: message, state, every transition, keys, cache, spider log";
const char smctl_inspect_help[] =
    "Shows what the state directory knows about a task: for each run of it, the\n"
    "message as received, its queue, the lifecycle state (received, cache_lookup,\n"
    "spawned, progressing, uploading; reported, failed or released once final)\n"
    "with the active sub-states, the failure reason, the cache (hit or miss, cache\n"
    "key, whose results were reused), the S3 keys, the machine, invocations in\n"
    "flight, timers, the datamodel, every transition (time, event, from -> to,\n"
    "actions started, action results and errors) and the tail of the spider's\n"
    "log while its work directory is there, then (smd removes a reported run's)\n"
    "of the main log the run uploaded, read from the bucket (a line says so\n"
    "when the bucket cannot be read).  Read-only and without the lock: safe\n"
    "while smd runs.\n"
    "\n"
    "TASK_ID is the task_id of a message: every run of it is shown, oldest\n"
    "first (a message delivered again after smd released it, or the same\n"
    "task_id sent twice, is a second run).  An instance id (task-7, or an id\n"
    "given to 'smctl simulate --id') shows that run alone.\n"
    "\n"
    "  -c, --config FILE     smd's configuration file (its state_dir)\n"
    "  -d, --state-dir DIR   the state directory (wins over the configuration;\n"
    "                        without -d, -c or SMD_STATE_DIR: a usage error)\n"
    "  -o, --option KEY=VALUE  a configuration key, e.g. -o backend=aws (the\n"
    "                        bucket a spider log is read from)\n"
    "  -s, --server NAME     only the runs whose message has server_name NAME\n"
    "  -j, --json            one JSON object (docs/smctl.md): task_id, server_name,\n"
    "                        instance_id, state, final, history, keys, cache, logs,\n"
    "                        ... of the latest run, and \"runs\": every run\n"
    "  -n, --last N          only the last N history records of each run\n"
    "  -l, --log-lines N     lines of each spider log to show (default 20)\n"
    "  -r, --remote          read the task's records in the bucket instead\n"
    "                        (<name>.state.json.zip, written by every instance\n"
    "                        when a run ends): a task of another instance, or\n"
    "                        of one that is gone.  Also done, with a note on\n"
    "                        stderr, when the state directory has no such task.\n"
    "                        Shows the same views (\"source\": \"bucket\" and\n"
    "                        \"record_key\" added), the spider log's tail read\n"
    "                        from its .log.zip.  Needs the configuration's bucket.\n"
    "      --days N          with the bucket: the day folders of the last N days\n"
    "                        (UTC, newest first; default 7)\n"
    "\n"
    "Exit status: 0 shown; 1 no such task or instance (or none from --server),\n"
    "a missing or damaged state directory, or a run whose record cannot be read\n"
    "(the others are still shown), or the bucket has no record of it or cannot\n"
    "be read; 2 usage error or a refused configuration.\n";

struct insp {
	const char *id;     /* as given */
	const char *server; /* --server or NULL */
	long last;          /* --last or -1 */
	long log_lines;
	struct sm_statedir *sd;
	struct store_txn *txn;
	json_t *runs; /* views, oldest first */
	char **ids;   /* the runs' instance ids (index order) */
	size_t nids;
	int bad; /* a run could not be read */
	int oom;
};

/* Read the record of run `id` and add its view (unless --server leaves it out). */
static void
add_run(struct insp *in, const char *id)
{
	struct sm_error err;
	json_t *inst = NULL, *view;
	char why[SM_ERROR_MSG_MAX + 160];
	int rc;

	sm_error_clear(&err);
	rc = sm_record_instance_get(in->txn, id, &inst, &err);
	if (rc == SM_ENOTFOUND)
		snprintf(why, sizeof(why),
		    "no instance record yet: the index row committed, the "
		    "start did not (smd starts it when the message comes back)");
	else if (rc == SM_EVERSION)
		snprintf(why, sizeof(why), "the record %s: use the smctl of the smd that wrote it",
		    err.msg);
	else if (rc != 0)
		snprintf(why, sizeof(why),
		    "the record %s: the store is damaged or from another "
		    "version",
		    err.msg);
	if (rc != 0 && rc != SM_ENOTFOUND) {
		fprintf(stderr, "%s inspect: run '%s': %s\n", smctl_progname, id, why);
		in->bad = 1;
	}
	view = smd_view_run(in->txn,
	    &(struct smd_view_opts){ .sd = in->sd, .log_lines = in->log_lines, .last = in->last },
	    id, rc == 0 ? inst : NULL, why);
	json_decref(inst);
	if (!view) {
		in->oom = 1;
		return;
	}
	if (in->server &&
	    !(json_is_string(json_object_get(view, "server_name")) &&
	        strcmp(json_string_value(json_object_get(view, "server_name")), in->server) == 0)) {
		json_decref(view);
		return;
	}
	json_array_append_new(in->runs, view);
}

static int
collect_id(void *arg, const char *instance)
{
	struct insp *in = arg;
	char **v;

	if (!instance) {
		fprintf(stderr,
		    "%s inspect: task %s: an index row does not name an instance: the "
		    "store is damaged\n",
		    smctl_progname, in->id ? in->id : "?");
		in->bad = 1;
		return 0;
	}
	v = realloc(in->ids, (in->nids + 1) * sizeof(*v));
	if (!v || !(v[in->nids] = strdup(instance))) {
		if (v)
			in->ids = v;
		in->oom = 1;
		return 1;
	}
	in->ids = v;
	in->nids++;
	return 0;
}

/* A task id: decimal digits, 0 .. 2^63-1. */
static int
parse_task_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* ---- the text view ------------------------------------------------------------ */

static void
print_list(json_t *a, FILE *out)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		fputs("(none)", out);
		return;
	}
	json_array_foreach(a, i, v)
	    fprintf(out, "%s%s", i ? " " : "", json_is_string(v) ? json_string_value(v) : "?");
}

static void
print_compact(const char *label, json_t *v, FILE *out)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);

	fprintf(out, "%-12s %s\n", label, t ? t : "?");
	free(t);
}

/* `v` as compact JSON cut to RESULT_TEXT_MAX bytes. */
static void
print_cut(json_t *v, FILE *out)
{
	char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	size_t n = t ? strlen(t) : 0;

	if (n > RESULT_TEXT_MAX)
		fprintf(out, "%.*s... (%zu bytes)", RESULT_TEXT_MAX, t, n);
	else
		fputs(t ? t : "?", out);
	free(t);
}

static const char *
str(json_t *view, const char *key)
{
	return json_string_value(json_object_get(view, key));
}

/* `key` of `view` as text to print: "?" when it is not a string (a run
 * from a bucket record may hold anything) */
static const char *
text(json_t *view, const char *key)
{
	return str(view, key) ?: "?";
}

/* The task part: who sent it, its state, message, cache and keys. */
static void
print_task(json_t *view, FILE *out)
{
	json_t *cache = json_object_get(view, "cache"), *v;
	const char *key;
	char t1[96];

	if (json_is_integer(json_object_get(view, "task_id")))
		fprintf(out, "%-12s %lld from %s\n", "task",
		    (long long)json_integer_value(json_object_get(view, "task_id")),
		    text(view, "server_name"));
	if (!json_object_get(view, "instance")) {
		fprintf(out, "%-12s %s\n%-12s %s\n", "instance", text(view, "instance_id"), "error",
		    text(view, "error"));
		return;
	}
	fprintf(out, "%-12s %s", "state", str(view, "state") ?: "?");
	if (json_is_true(json_object_get(view, "final")))
		fputs(" (final)", out);
	else if (json_array_size(json_object_get(view, "sub_states"))) {
		fputs(": ", out);
		print_list(json_object_get(view, "sub_states"), out);
	}
	fputc('\n', out);
	if (str(view, "reason"))
		fprintf(out, "%-12s %s\n", "reason", str(view, "reason"));
	if (!str(view, "message"))
		return;
	fprintf(out, "%-12s %s\n", "message", str(view, "message"));
	sm_time_format(t1, sizeof(t1), json_integer_value(json_object_get(view, "received_ms")));
	fprintf(out, "%-12s %s, message %s, received %s (receive %lld)\n", "queue",
	    str(view, "queue") ?: "?", str(view, "message_id") ?: "?", t1,
	    (long long)json_integer_value(json_object_get(view, "receive_count")));
	if (json_is_object(cache)) {
		const char *r = str(cache, "result") ?: "";

		fprintf(out, "%-12s ", "cache");
		if (strcmp(r, "hit") == 0)
			fprintf(out, "hit: served the results of %s", text(cache, "source"));
		else if (strcmp(r, "skipped") == 0)
			fputs("not looked up (sqs_cache_get_ignore or forced_task)", out);
		else if (strcmp(r, "error") == 0)
			fputs("the lookup failed: crawled instead", out);
		else
			fputs(strcmp(r, "miss") == 0 ? "miss" : "not looked up yet", out);
		fprintf(out, "; cache key %s%s\n", text(cache, "key"),
		    json_is_true(json_object_get(cache, "save")) ? "" : "; results not saved");
	}
	if (json_object_size(json_object_get(view, "keys")))
		fprintf(out, "%-12s %s\n", "keys",
		    strcmp(text(view, "keys_state"), "uploaded") == 0 ?
		        "uploaded to the bucket:" :
		        strcmp(text(view, "keys_state"), "cached") == 0 ?
		        "served from the cache:" :
		        "the names of the outputs (not uploaded, or only "
		        "the log of a failed task):");
	json_object_foreach(json_object_get(view, "keys"), key, v)
	{
		char label[64];

		snprintf(label, sizeof(label), "  %s", key);
		fprintf(out, "%-30s %s\n", label, json_string_value(v) ?: "?");
	}
}

static void
print_instance(json_t *inst, FILE *out)
{
	json_t *sess = json_object_get(inst, "session"), *v, *dm;
	const char *key;
	char t1[96], t2[96];
	size_t i;

	fprintf(out, "%-12s %s\n", "instance", text(inst, "id"));
	fprintf(out, "%-12s %s (%.12s...) %s\n", "machine",
	    json_string_value(json_object_get(inst, "machine_name")) ?: "?",
	    json_string_value(json_object_get(inst, "machine")) ?: "?",
	    json_string_value(json_object_get(inst, "machine_path")) ?: "");
	fprintf(
	    out, "%-12s %s", "status", json_string_value(json_object_get(inst, "status")) ?: "?");
	if (json_is_string(json_object_get(inst, "final")))
		fprintf(
		    out, " (final state '%s')", json_string_value(json_object_get(inst, "final")));
	else if (json_is_string(json_object_get(sess, "final")) == 0 &&
	    strcmp(json_string_value(json_object_get(inst, "status")) ?: "", "done") == 0)
		fputs(" (stopped without reaching a final state)", out);
	fputc('\n', out);
	if (json_is_string(json_object_get(inst, "error")))
		fprintf(
		    out, "%-12s %s\n", "error", json_string_value(json_object_get(inst, "error")));
	sm_time_format(t1, sizeof(t1), json_integer_value(json_object_get(inst, "created")));
	sm_time_format(t2, sizeof(t2), json_integer_value(json_object_get(inst, "updated")));
	fprintf(out, "%-12s %s, updated %s\n", "created", t1, t2);
	fprintf(out, "%-12s ", "states");
	print_list(json_object_get(sess, "config"), out);
	fputc('\n', out);
	print_compact("task", json_object_get(inst, "task"), out);
	json_array_foreach(json_object_get(sess, "invocations"), i, v)
	    fprintf(out, "%-12s %s in state '%s', attempt %lld\n", i ? "" : "invocations",
	        json_string_value(json_object_get(v, "id")) ?: "?",
	        json_string_value(json_object_get(v, "state")) ?: "?",
	        (long long)json_integer_value(json_object_get(v, "attempt")));
	json_array_foreach(json_object_get(inst, "timers"), i, v)
	{
		sm_time_format(t1, sizeof(t1), json_integer_value(json_object_get(v, "due")));
		fprintf(out, "%-12s %s due %s\n", i ? "" : "timers",
		    json_string_value(json_object_get(v, "id")) ?: "?", t1);
	}
	dm = json_object_get(sess, "datamodel");
	if (json_is_object(dm)) {
		json_object_foreach(dm, key, v)
		{
			char label[64];

			if (strcmp(key, "task") == 0 || strcmp(key, "_event") == 0)
				continue;
			snprintf(label, sizeof(label), "  %s", key);
			print_compact(label, v, out);
		}
	}
}

static void
print_history(json_t *hist, FILE *out)
{
	char t1[96];
	size_t i;
	json_t *v;

	fprintf(out, "history (%zu record%s):\n", json_array_size(hist),
	    json_array_size(hist) == 1 ? "" : "s");
	json_array_foreach(hist, i, v)
	{
		json_t *ev = json_object_get(v, "event"), *a, *e;
		const char *kind = json_string_value(json_object_get(v, "kind")) ?: "?";
		const char *name = json_string_value(json_object_get(ev, "name")) ?: "?";
		size_t k;

		sm_time_format(t1, sizeof(t1), json_integer_value(json_object_get(v, "time")));
		fprintf(out, "  #%lld %s ",
		    (long long)json_integer_value(json_object_get(v, "seq")), t1);
		if (strcmp(kind, "start") == 0 || strcmp(kind, "fail") == 0 ||
		    strcmp(kind, "unreadable") == 0)
			fputs(kind, out);
		else
			fprintf(
			    out, "%s%s", strcmp(kind, "retry") == 0 ? "retry after " : "", name);
		fputs(": ", out);
		print_list(json_object_get(v, "from"), out);
		fputs(" -> ", out);
		print_list(json_object_get(v, "to"), out);
		json_array_foreach(json_object_get(v, "actions"), k, a)
		    fprintf(out, "%s%s %s", k ? ", " : "  [",
		        strcmp(json_string_value(json_object_get(a, "type")) ?: "", "cancel") == 0 ?
		            "cancel" :
		            "start",
		        json_string_value(json_object_get(a, "invokeid")) ?: "?");
		if (json_array_size(json_object_get(v, "actions")))
			fputc(']', out);
		if (strcmp(kind, "retry") == 0)
			fprintf(out, "  (attempt %lld in %lld ms: %s)",
			    (long long)json_integer_value(
			        json_object_get(json_object_get(ev, "data"), "next_attempt")),
			    (long long)json_integer_value(
			        json_object_get(json_object_get(ev, "data"), "delay_ms")),
			    json_string_value(json_object_get(json_object_get(ev, "data"), "message")) ?:
			        "");
		fputc('\n', out);
		/* what the action answered: its result, or the error and its message */
		if (strcmp(kind, "event") == 0 && strncmp(name, "done.invoke.", 12) == 0 &&
		    json_object_get(ev, "data") && !json_is_null(json_object_get(ev, "data"))) {
			fputs("      result: ", out);
			print_cut(json_object_get(ev, "data"), out);
			fputc('\n', out);
		} else if (strcmp(kind, "event") == 0 && strncmp(name, "error.", 6) == 0) {
			json_t *msg = json_object_get(json_object_get(ev, "data"), "message");

			fprintf(out, "      error: %s", name);
			if (json_is_string(msg))
				fprintf(out, ": %s", json_string_value(msg));
			fputc('\n', out);
		}
		json_array_foreach(json_object_get(v, "errors"), k, e)
		    fprintf(out, "      error: %s\n", json_string_value(e) ?: "?");
	}
}

static void
print_logs(json_t *logs, long max, FILE *out)
{
	size_t i, k;
	json_t *l, *line;

	json_array_foreach(logs, i, l)
	{
		const char *key = str(l, "key");

		if (str(l, "error")) {
			fprintf(out, "log %s: cannot read %s%s: %s\n", text(l, "file"),
			    key ?: text(l, "path"), key ? " from the bucket" : "", str(l, "error"));
			continue;
		}
		fprintf(out, "log %s (last %zu line%s%s %s):\n", text(l, "file"),
		    json_array_size(json_object_get(l, "lines")),
		    json_array_size(json_object_get(l, "lines")) == 1 ? "" : "s",
		    key ? ", from the bucket:" : " of", key ?: text(l, "path"));
		json_array_foreach(json_object_get(l, "lines"), k, line)
		    fprintf(out, "  %s\n", json_string_value(line) ?: "?");
	}
	if (json_array_size(logs) == 0 && max > 0)
		fputs("log          (no spider log: the task has none, or its work directory is "
		      "gone)\n",
		    out);
}

static void
print_runs(json_t *runs, long log_lines, FILE *out)
{
	size_t i;
	json_t *view;

	json_array_foreach(runs, i, view)
	{
		json_t *inst = json_object_get(view, "instance");

		if (i)
			fputc('\n', out);
		if (json_array_size(runs) > 1)
			fprintf(out, "== run %zu of %zu: %s\n", i + 1, json_array_size(runs),
			    text(view, "instance_id"));
		if (json_is_integer(json_object_get(view, "task_id")) || !inst)
			print_task(view, out);
		if (!inst)
			continue;
		print_instance(inst, out);
		print_history(json_object_get(view, "history"), out);
		if (json_is_integer(json_object_get(view, "task_id")))
			print_logs(json_object_get(view, "logs"), log_lines, out);
	}
}

/*
 * The text view, with control characters other than newline shown as \xNN:
 * ids, event names, messages and logs come from the store and from outside
 * before that, and must not drive the operator's terminal.
 */
int
smctl_inspect_print(json_t *runs, long log_lines, FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return SM_ENOMEM;
	print_runs(runs, log_lines, mem);
	fclose(mem);
	smctl_safe_write(out, buf, len);
	free(buf);
	return 0;
}

int
smctl_inspect_print_json(json_t *runs, FILE *out)
{
	json_t *top = json_deep_copy(json_array_get(runs, json_array_size(runs) - 1));
	char *t = NULL;

	if (!top || json_object_set(top, "runs", runs) != 0 ||
	    !(t = json_dumps(top, JSON_INDENT(2)))) {
		json_decref(top);
		return SM_ENOMEM;
	}
	fprintf(out, "%s\n", t);
	free(t);
	json_decref(top);
	return 0;
}

/* ---- the command --------------------------------------------------------------- */

static int
count_arg(const struct smctl_cmd *cmd, const char *opt, const char *arg, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *out < 0)
		return smctl_usage_error(cmd, opt, arg);
	return 0;
}

static int
inspect(const struct smctl_cmd *cmd, int argc, char **argv, struct smctl_config_args *cargs)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "option", required_argument, NULL, 'o' },
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "last", required_argument, NULL, 'n' },
		{ "log-lines", required_argument, NULL, 'l' },
		{ "remote", no_argument, NULL, 'r' },
		{ "days", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	int c, as_json = 0, status = 1, remote = 0;
	long days = SMCTL_REMOTE_DAYS;
	int64_t task_id;
	struct store *st = NULL;
	struct store_options o;
	struct rt_config cfg;
	struct sm_error err;
	struct insp in;
	json_t *inst = NULL;

	memset(&in, 0, sizeof(in));
	memset(&cfg, 0, sizeof(cfg));
	in.last = -1;
	in.log_lines = 20;
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "hc:d:o:s:jn:l:r", opts, cargs, &status)) != -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			return status;
		case 's':
			in.server = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'n':
			if ((status = count_arg(
			         cmd, "--last wants a count, not '%s'", optarg, &in.last)) != 0)
				return status;
			break;
		case 'l':
			if ((status = count_arg(cmd, "--log-lines wants a count, not '%s'", optarg,
			         &in.log_lines)) != 0)
				return status;
			break;
		case 'r':
			remote = 1;
			break;
		case 'y':
			if ((status = count_arg(
			         cmd, "--days wants a count, not '%s'", optarg, &days)) != 0)
				return status;
			if (days < 1 || days > 366)
				return smctl_usage_error(
				    cmd, "--days wants 1 to 366, not '%s'", optarg);
			break;
		}
	}
	if (optind != argc - 1)
		return smctl_usage_error(cmd, "give exactly one task id or instance id%s", "");
	in.id = argv[optind];
	if (remote && parse_task_id(in.id, &task_id) != 0)
		return smctl_usage_error(cmd, "--remote wants a task id, not '%s'", in.id);
	if ((status = smctl_config_load(cmd, &cfg, cargs)) != 0)
		goto out;
	status = 1;
	if (remote) {
		status = smctl_inspect_remote(
		    cmd, &cfg, task_id, in.server, days, as_json, in.last, in.log_lines);
		goto out;
	}
	if (!smctl_config_has_state_dir(&cfg)) {
		status = smctl_usage_error(cmd,
		    "no state directory: use --state-dir DIR, -c FILE "
		    "(its state_dir) or set SMD_STATE_DIR%s",
		    "");
		goto out;
	}
	/* a reader: no lock, nothing created, beside a running smd */
	sm_error_clear(&err);
	if (sm_statedir_open(&in.sd, cfg.state_dir, SM_STATEDIR_READ, &err) != 0) {
		fprintf(stderr, "%s inspect: %s\n", smctl_progname, err.msg);
		goto out;
	}
	store_options_init(&o);
	o.read_only = 1;
	if (store_open(&st, sm_statedir_path(in.sd), &o, &err) != 0 ||
	    store_txn_begin(st, STORE_TXN_READ, &in.txn, &err) != 0) {
		fprintf(stderr, "%s inspect: %s\n", smctl_progname, err.msg);
		goto out;
	}
	in.runs = json_array();
	if (!in.runs)
		goto oom;
	/* an instance id, else a task id: every run of it */
	if (sm_record_instance_get(in.txn, in.id, &inst, &err) != SM_ENOTFOUND) {
		json_decref(inst);
		collect_id(&in, in.id);
	} else if (parse_task_id(in.id, &task_id) == 0) {
		int rc = smd_index_task_runs(in.txn, task_id, collect_id, &in);

		if (rc != 0) {
			fprintf(stderr, "%s inspect: cannot read the index of '%s': %s\n",
			    smctl_progname, cfg.state_dir, sm_strerror(rc));
			goto out;
		}
	}
	if (in.oom)
		goto oom;
	if (in.nids == 0) {
		if (parse_task_id(in.id, &task_id) == 0) {
			fprintf(stderr,
			    "%s inspect: no task %s in '%s': looking for its records in the "
			    "bucket\n",
			    smctl_progname, in.id, cfg.state_dir);
			status = smctl_inspect_remote(
			    cmd, &cfg, task_id, in.server, days, as_json, in.last, in.log_lines);
		} else
			fprintf(stderr,
			    "%s inspect: no instance '%s' in '%s': give a task id or an "
			    "instance id such as task-7\n",
			    smctl_progname, in.id, cfg.state_dir);
		goto out;
	}
	for (size_t i = 0; i < in.nids && !in.oom; i++)
		add_run(&in, in.ids[i]);
	if (in.oom)
		goto oom;
	if (json_array_size(in.runs) == 0) {
		fprintf(stderr, "%s inspect: '%s' has %zu run(s), none from server '%s'\n",
		    smctl_progname, in.id, in.nids, in.server);
		goto out;
	}
	/* the spider logs of runs whose work directory is gone, from the bucket */
	if (smctl_inspect_bucket_logs(&cfg, in.runs, in.log_lines) != 0)
		goto oom;
	if (as_json) {
		if (smctl_inspect_print_json(in.runs, stdout) != 0)
			goto oom;
	} else if (smctl_inspect_print(in.runs, in.log_lines, stdout) != 0) {
		goto oom;
	}
	status = fflush(stdout) == 0 && !in.bad ? 0 : 1;
	goto out;
oom:
	fprintf(stderr, "%s inspect: out of memory\n", smctl_progname);
	status = 1;
out:
	if (in.txn)
		store_txn_abort(in.txn);
	store_close(st);
	sm_statedir_close(in.sd);
	rt_config_free(&cfg);
	json_decref(in.runs);
	for (size_t i = 0; i < in.nids; i++)
		free(in.ids[i]);
	free(in.ids);
	return status;
}

int
smctl_cmd_inspect(const struct smctl_cmd *cmd, int argc, char **argv)
{
	struct smctl_config_args cargs = { 0 };
	int status = inspect(cmd, argc, argv, &cargs);

	smctl_config_args_free(&cargs);
	return status;
}
