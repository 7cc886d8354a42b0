/*
 * smctl_inspect.c - `smctl inspect ID`: one instance as the store holds it
 * (state, every transition with time and cause, invocations, timers,
 * errors), read-only and without disturbing a running daemon (an LMDB read
 * transaction).  Formats: docs/engine.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_err.h"
#include "sm_record.h"
#include "smctl.h"
#include "store.h"

const char smctl_inspect_help[] =
    "Shows an instance of the state directory's store: machine, status, active\n"
    "states, task, invocations in flight (with attempt numbers), pending timers,\n"
    "the datamodel and every history record (time, event, from -> to, actions\n"
    "started, errors).  Read-only: safe while the daemon runs.\n"
    "\n"
    "ID is an instance id, or a key of the store's index (e.g. a task id) that\n"
    "names one.\n"
    "\n"
    "  -d, --state-dir DIR   the daemon's state directory (default: $SMD_STATE_DIR)\n"
    "  -j, --json            one JSON object {\"instance\": ..., \"history\": [...]}\n"
    "  -n, --last N          only the last N history records\n"
    "\n"
    "Exit status: 0 shown, 1 not found or unreadable, 2 usage error.\n";

static void
fmt_time(json_int_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

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

static void
print_text(json_t *inst, json_t *hist, FILE *out)
{
	json_t *sess = json_object_get(inst, "session"), *v, *dm;
	const char *key;
	char t1[96], t2[96];
	size_t i;

	fprintf(out, "%-12s %s\n", "instance", json_string_value(json_object_get(inst, "id")));
	fprintf(out, "%-12s %s (%.12s...) %s\n", "machine",
	    json_string_value(json_object_get(inst, "machine_name")) ?: "?",
	    json_string_value(json_object_get(inst, "machine")) ?: "?",
	    json_string_value(json_object_get(inst, "machine_path")) ?: "");
	fprintf(out, "%-12s %s", "status", json_string_value(json_object_get(inst, "status")) ?: "?");
	if (json_is_string(json_object_get(inst, "final")))
		fprintf(out, " (final state '%s')", json_string_value(json_object_get(inst, "final")));
	else if (json_is_string(json_object_get(sess, "final")) == 0 &&
	    strcmp(json_string_value(json_object_get(inst, "status")) ?: "", "done") == 0)
		fputs(" (stopped without reaching a final state)", out);
	fputc('\n', out);
	if (json_is_string(json_object_get(inst, "error")))
		fprintf(out, "%-12s %s\n", "error", json_string_value(json_object_get(inst, "error")));
	fmt_time(json_integer_value(json_object_get(inst, "created")), t1, sizeof(t1));
	fmt_time(json_integer_value(json_object_get(inst, "updated")), t2, sizeof(t2));
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
	json_array_foreach(json_object_get(inst, "timers"), i, v) {
		fmt_time(json_integer_value(json_object_get(v, "due")), t1, sizeof(t1));
		fprintf(out, "%-12s %s due %s\n", i ? "" : "timers",
		    json_string_value(json_object_get(v, "id")) ?: "?", t1);
	}
	dm = json_object_get(sess, "datamodel");
	if (json_is_object(dm)) {
		json_object_foreach(dm, key, v) {
			char label[64];

			if (strcmp(key, "task") == 0 || strcmp(key, "_event") == 0)
				continue;
			snprintf(label, sizeof(label), "  %s", key);
			print_compact(label, v, out);
		}
	}
	fprintf(out, "history (%zu record%s):\n", json_array_size(hist),
	    json_array_size(hist) == 1 ? "" : "s");
	json_array_foreach(hist, i, v) {
		json_t *ev = json_object_get(v, "event"), *a, *e;
		const char *kind = json_string_value(json_object_get(v, "kind")) ?: "?";
		size_t k;

		fmt_time(json_integer_value(json_object_get(v, "time")), t1, sizeof(t1));
		fprintf(out, "  #%lld %s ", (long long)json_integer_value(json_object_get(v, "seq")), t1);
		if (strcmp(kind, "start") == 0 || strcmp(kind, "fail") == 0)
			fputs(kind, out);
		else
			fprintf(out, "%s%s", strcmp(kind, "retry") == 0 ? "retry after " : "",
			    json_string_value(json_object_get(ev, "name")) ?: "?");
		fputs(": ", out);
		print_list(json_object_get(v, "from"), out);
		fputs(" -> ", out);
		print_list(json_object_get(v, "to"), out);
		json_array_foreach(json_object_get(v, "actions"), k, a)
			fprintf(out, "%s%s %s", k ? ", " : "  [",
			    strcmp(json_string_value(json_object_get(a, "type")) ?: "", "cancel") == 0 ?
			    "cancel" : "start", json_string_value(json_object_get(a, "invokeid")) ?: "?");
		if (json_array_size(json_object_get(v, "actions")))
			fputc(']', out);
		if (strcmp(kind, "retry") == 0)
			fprintf(out, "  (attempt %lld in %lld ms: %s)",
			    (long long)json_integer_value(json_object_get(json_object_get(ev, "data"),
			    "next_attempt")),
			    (long long)json_integer_value(json_object_get(json_object_get(ev, "data"),
			    "delay_ms")),
			    json_string_value(json_object_get(json_object_get(ev, "data"), "message")) ?: "");
		fputc('\n', out);
		json_array_foreach(json_object_get(v, "errors"), k, e)
			fprintf(out, "      error: %s\n", json_string_value(e) ?: "?");
	}
}

/*
 * The text view, with control characters other than newline shown as \xNN:
 * ids, event names and messages come from the store (and from outside before
 * that) and must not drive the operator's terminal (escape sequences).
 */
static void
print_safe(json_t *inst, json_t *hist, FILE *out)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem) {
		fprintf(stderr, "%s inspect: out of memory formatting the record\n", smctl_progname);
		return;
	}
	print_text(inst, hist, mem);
	fclose(mem);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	free(buf);
}

/* One history record (unreadable ones are shown as such). */
static int
add_history(void *arg, uint64_t seq, json_t *rec)
{
	(void)seq;
	json_array_append_new(arg, rec ? json_incref(rec) : json_pack("{s:s}", "kind",
	    "unreadable"));
	return 0;
}

int
smctl_cmd_inspect(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "last", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = getenv("SMD_STATE_DIR"), *id;
	int c, as_json = 0, status = 1, rc;
	long last = -1;
	char *end, *idbuf = NULL;
	struct store *st = NULL;
	struct store_txn *txn = NULL;
	struct store_options o;
	struct sm_error err;
	const void *v;
	size_t vl;
	json_t *inst = NULL, *hist = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hd:jn:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			smctl_print_help(cmd);
			return 0;
		case 'd':
			dir = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'n':
			last = strtol(optarg, &end, 10);
			if (end == optarg || *end || last < 0)
				return smctl_usage_error(cmd, "--last wants a count, not '%s'", optarg);
			break;
		default:
			return smctl_usage_error(cmd, "unknown option%s", "");
		}
	}
	if (optind != argc - 1)
		return smctl_usage_error(cmd, "give exactly one instance id%s", "");
	if (!dir || !dir[0])
		return smctl_usage_error(cmd, "no state directory: use --state-dir DIR or set "
		    "SMD_STATE_DIR%s", "");
	id = argv[optind];
	store_options_init(&o);
	o.read_only = 1;
	sm_error_clear(&err);
	if (store_open(&st, dir, &o, &err) != 0 ||
	    store_txn_begin(st, STORE_TXN_READ, &txn, &err) != 0) {
		fprintf(stderr, "%s inspect: %s\n", smctl_progname, err.msg);
		goto out;
	}
	rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
	if (rc == SM_ENOTFOUND && store_get(txn, STORE_T_INDEX, id, strlen(id), &v, &vl) == 0) {
		idbuf = strndup(v, vl);
		if (idbuf && strlen(idbuf) == vl) {
			id = idbuf;
			rc = store_get(txn, STORE_T_INSTANCES, id, strlen(id), &v, &vl);
		}
	}
	if (rc != 0) {
		fprintf(stderr, "%s inspect: no instance '%s' in '%s' (%s): check the id, or list "
		    "instances with the daemon's tools\n", smctl_progname, argv[optind], dir,
		    sm_strerror(rc));
		goto out;
	}
	sm_error_clear(&err);
	rc = smr_instance_parse(id, strlen(id), v, vl, &inst, &err);
	if (rc == SM_EVERSION) {
		fprintf(stderr, "%s inspect: the record of '%s' %s: use the smctl of the smd that "
		    "wrote it\n", smctl_progname, id, err.msg);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "%s inspect: the record of '%s' %s: the store is damaged or from "
		    "another version\n", smctl_progname, id, err.msg);
		goto out;
	}
	hist = json_array();
	smr_history_each(txn, id, add_history, hist);
	if (last >= 0)
		while (json_array_size(hist) > (size_t)last)
			json_array_remove(hist, 0);
	if (as_json) {
		json_t *j = json_pack("{s:O,s:O}", "instance", inst, "history", hist);
		char *t = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

		if (t)
			puts(t);
		free(t);
		json_decref(j);
	} else {
		print_safe(inst, hist, stdout);
	}
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	if (txn)
		store_txn_abort(txn);
	store_close(st);
	json_decref(inst);
	json_decref(hist);
	free(idbuf);
	return status;
}
