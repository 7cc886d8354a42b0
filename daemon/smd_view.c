/*
 * smd_view.c - the view of one run (smd_view.h): read by `smctl inspect`
 * and written by smd into the task record (docs/fleet-formats.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "act_task.h"
#include "sm_record.h"
#include "sm_statedir.h"
#include "sm_text.h"
#include "smd.h"
#include "smd_view.h"

/* task.scxml's wrapper state: the lifecycle states are its children. */
#define TASK_WRAPPER "life"

/* A JSON string of the `n` bytes at `s`, invalid UTF-8 replaced by U+FFFD. */
static json_t *
json_text(const char *s, size_t n)
{
	char *buf = malloc(n * 3 + 1);
	json_t *j;

	if (!buf)
		return NULL;
	j = json_stringn(buf, sm_utf8_repair(buf, s, n));
	free(buf);
	return j;
}

json_t *
smd_view_log_lines(const char *buf, size_t len, int cut, long max)
{
	json_t *lines = json_array();
	size_t i = 0;

	if (!lines)
		return NULL;
	if (len > SMD_VIEW_LOG_TAIL_BYTES) {
		buf += len - SMD_VIEW_LOG_TAIL_BYTES;
		len = SMD_VIEW_LOG_TAIL_BYTES;
		cut = 1;
	}
	if (cut) { /* the first line is a piece of one */
		const char *nl = memchr(buf, '\n', len);

		i = nl ? (size_t)(nl - buf) + 1 : len;
	}
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;

		json_array_append_new(lines, json_text(buf + i, e - i));
		i = e + 1;
	}
	while (json_array_size(lines) > (size_t)max)
		json_array_remove(lines, 0);
	return lines;
}

/*
 * The last `max` lines of the spider log `path` (of its last
 * SMD_VIEW_LOG_TAIL_BYTES): {"file", "path", "lines": [...]} or {"file", "path",
 * "error"}; NULL when the file is not there.
 */
static json_t *
log_tail(const char *file, const char *path, long max)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	json_t *v = json_pack("{s:s,s:s}", "file", file, "path", path), *lines;
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int cut;

	if (!v || (fd < 0 && errno == ENOENT)) {
		if (fd >= 0)
			close(fd);
		json_decref(v);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		json_object_set_new(
		    v, "error", json_string(fd < 0 ? strerror(errno) : "not a regular file"));
		if (fd >= 0)
			close(fd);
		return v;
	}
	cut = sb.st_size > SMD_VIEW_LOG_TAIL_BYTES &&
	    lseek(fd, sb.st_size - SMD_VIEW_LOG_TAIL_BYTES, SEEK_SET) >= 0;
	buf = malloc(SMD_VIEW_LOG_TAIL_BYTES);
	while (buf && len < SMD_VIEW_LOG_TAIL_BYTES &&
	    (r = read(fd, buf + len, SMD_VIEW_LOG_TAIL_BYTES - len)) > 0)
		len += (size_t)r;
	close(fd);
	lines = buf ? smd_view_log_lines(buf, len, cut, max) : NULL;
	free(buf);
	if (!lines) {
		json_decref(v);
		return NULL;
	}
	json_object_set_new(v, "lines", lines);
	return v;
}

/* One history record (unreadable ones are shown as such). */
static int
add_history(void *arg, uint64_t seq, json_t *rec)
{
	(void)seq;
	json_array_append_new(
	    arg, rec ? json_incref(rec) : json_pack("{s:s}", "kind", "unreadable"));
	return 0;
}

static json_t *
get_path(json_t *j, const char *a, const char *b)
{
	return json_object_get(json_object_get(j, a), b);
}

const char *
smd_view_state(json_t *config, json_t *sub)
{
	const char *state = NULL;
	size_t i;
	json_t *v;

	json_array_foreach(config, i, v)
	{
		const char *s = json_string_value(v);

		if (!s || (i == 0 && strcmp(s, TASK_WRAPPER) == 0 && json_array_size(config) > 1))
			continue;
		if (!state)
			state = s;
		else if (sub)
			json_array_append(sub, v);
	}
	return state;
}

/* The lifecycle state and its sub-states, from the active configuration. */
static void
lifecycle(json_t *inst, json_t *view)
{
	json_t *sub = json_array();
	const char *final = json_string_value(json_object_get(inst, "final"));
	const char *state = smd_view_state(get_path(inst, "session", "config"), sub);

	json_object_set_new(view, "state",
	    final     ? json_string(final) :
	        state ? json_string(state) :
	                json_null());
	json_object_set_new(view, "final", json_boolean(final != NULL));
	json_object_set_new(view, "sub_states", sub ? sub : json_array());
}

json_t *
smd_view_last_event(json_t *hist, const char *a, const char *b)
{
	for (size_t i = json_array_size(hist); i-- > 0;) {
		const char *n = json_string_value(
		    json_object_get(json_object_get(json_array_get(hist, i), "event"), "name"));

		if (n && (strcmp(n, a) == 0 || strcmp(n, b) == 0))
			return json_array_get(hist, i);
	}
	return NULL;
}

const char *
smd_view_log_key(json_t *dm, json_t *hist, const char *state)
{
	json_t *keys = json_object_get(dm, "keys");

	if (!state)
		return NULL;
	if (strcmp(state, "failed") == 0)
		/* a failed run uploads its spider log only, when it ran */
		return smd_view_last_event(
		           hist, "done.invoke.fail_upload", "done.invoke.fail_upload") ?
		    json_string_value(json_object_get(get_path(dm, "job", "keys"), "s3_key_logs")) :
		    NULL;
	if (strcmp(state, "reported") != 0 || !json_is_object(keys) ||
	    json_is_string(json_object_get(dm, "cached")))
		return NULL;
	return json_string_value(json_object_get(keys, "s3_key_logs"));
}

/*
 * The cache as the task met it: {"key", "lookup" (it looks up at all),
 * "save", "result": "hit" | "miss" | "error" (a failed lookup crawls) |
 * "skipped" | "pending", "hit", "source": the name of the task whose
 * results it reused}.  `hist` is the whole history (task.scxml's invoke
 * `lookup`).
 */
json_t *
smd_view_cache(json_t *dm, json_t *hist)
{
	json_t *job = json_object_get(dm, "job");
	json_t *cached = json_object_get(dm, "cached");
	json_t *key = json_object_get(job, "cache_key");
	json_t *ev = json_object_get(
	    smd_view_last_event(hist, "done.invoke.lookup", "error.invoke.lookup"), "event");
	const char *result = "pending";

	if (!json_is_object(job) || !json_is_string(key))
		return json_null();
	if (json_is_string(cached))
		result = "hit";
	else if (!json_is_true(json_object_get(job, "cache_get")))
		result = "skipped";
	else if (ev)
		result = strncmp(json_string_value(json_object_get(ev, "name")), "error.", 6) == 0 ?
		    "error" :
		    "miss";
	return json_pack("{s:O,s:b,s:b,s:s,s:b,s:O}", "key", key, "lookup",
	    json_is_true(json_object_get(job, "cache_get")), "save",
	    json_is_true(json_object_get(job, "cache_save")), "result", result, "hit",
	    json_is_string(cached), "source", json_is_string(cached) ? cached : json_null());
}

/*
 * The view of one run: what the text and the JSON output show.  `inst` is
 * the instance record, or NULL for an index row without one (`why`).
 */
json_t *
smd_view_run(struct store_txn *txn, const struct smd_view_opts *o, const char *id, json_t *inst,
    const char *why)
{
	json_t *view = json_object(), *task, *dm, *hist, *logs, *v;
	const char *body, *key;
	int64_t task_id;
	char server[ACT_SERVER_MAX + 1];

	if (!view)
		return NULL;
	json_object_set_new(view, "instance_id", json_string(id));
	if (!inst) {
		json_object_set_new(view, "state", json_null());
		json_object_set_new(view, "final", json_false());
		json_object_set_new(view, "error", json_string(why));
		json_object_set_new(view, "history", json_array());
		json_object_set_new(view, "keys", json_object());
		return view;
	}
	task = json_object_get(inst, "task");
	dm = get_path(inst, "session", "datamodel");
	body = json_string_value(json_object_get(task, "body"));
	if (body &&
	    act_task_peek(body, json_string_length(json_object_get(task, "body")), &task_id, server,
	        sizeof(server)) == 0) {
		json_object_set_new(view, "task_id", json_integer((json_int_t)task_id));
		json_object_set_new(view, "server_name", json_string(server));
	} else {
		json_object_set_new(view, "task_id", json_null());
		json_object_set_new(view, "server_name", json_null());
	}
	lifecycle(inst, view);
	json_object_set(view, "status", json_object_get(inst, "status") ?: json_null());
	json_object_set(view, "reason", json_object_get(dm, "reason") ?: json_null());
	json_object_set(view, "engine_error", json_object_get(inst, "error") ?: json_null());
	json_object_set(view, "message", body ? json_object_get(task, "body") : json_null());
	json_object_set(view, "message_id", json_object_get(task, "message_id") ?: json_null());
	json_object_set(view, "queue", json_object_get(task, "queue") ?: json_null());
	json_object_set(
	    view, "receive_count", json_object_get(task, "receive_count") ?: json_null());
	json_object_set(view, "received_ms", json_object_get(task, "received_ms") ?: json_null());
	json_object_set(view, "created_ms", json_object_get(inst, "created") ?: json_null());
	json_object_set(view, "updated_ms", json_object_get(inst, "updated") ?: json_null());
	json_object_set(view, "machine_name", json_object_get(inst, "machine_name") ?: json_null());
	json_object_set(view, "machine", json_object_get(inst, "machine") ?: json_null());
	hist = json_array();
	if (hist)
		sm_record_history_each(txn, id, add_history, hist);
	/* the keys uploaded or served from the cache, else the names the task's
	 * outputs get (SPEC 4; a failed task uploads its log only) */
	v = json_object_get(dm, "keys");
	json_object_set_new(view, "keys_state",
	    json_string(!json_is_object(v)                        ? "named" :
	            json_is_string(json_object_get(dm, "cached")) ? "cached" :
	                                                            "uploaded"));
	if (!json_is_object(v))
		v = get_path(dm, "job", "keys");
	json_object_set_new(view, "keys", json_is_object(v) ? json_incref(v) : json_object());
	json_object_set_new(view, "cache", smd_view_cache(dm, hist));
	/* the spider logs, while the work directory is there */
	logs = json_array();
	if (logs && o->sd) {
		static const char *const files[] = { SMD_SPIDER_MAIN SMD_SPIDER_LOG,
			SMD_SPIDER_BSR SMD_SPIDER_LOG };
		char *work = NULL;

		if (sm_statedir_work_dir(o->sd, id, 0, &work, NULL) == 0) {
			for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
				char *path = NULL;
				json_t *t;

				if (asprintf(&path, "%s/%s", work, files[i]) < 0)
					break;
				if ((t = log_tail(files[i], path, o->log_lines)) != NULL)
					json_array_append_new(logs, t);
				free(path);
			}
		}
		free(work);
		/* the work directory is gone: the spider log the run uploaded */
		key = json_array_size(logs) == 0 && json_is_true(json_object_get(view, "final")) ?
		    smd_view_log_key(dm, hist, json_string_value(json_object_get(view, "state"))) :
		    NULL;
		if (key)
			json_array_append_new(logs,
			    json_pack("{s:s,s:s,s:s}", "file", SMD_SPIDER_MAIN SMD_SPIDER_LOG,
			        "key", key, "source", "bucket"));
	}
	json_object_set_new(view, "logs", logs ? logs : json_array());
	if (hist && o->last >= 0)
		while (json_array_size(hist) > (size_t)o->last)
			json_array_remove(hist, 0);
	json_object_set_new(view, "history", hist ? hist : json_array());
	json_object_set(view, "instance", inst);
	return view;
}
