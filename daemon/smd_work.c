/*
 * smd_work.c - the end of the task runs' work directories
 * (<state>/work/<instance>: the spider's output and log, the packed files).
 * A run that ended in `reported` has its outputs in the bucket: its
 * directory goes at once.  A failed or released run's stays for
 * `smctl replay` (a replay from `uploading` packs its spider's outputs
 * again) until failed_work_keep has passed, then the sweep removes it.
 * The removal itself is sm_statedir_work_remove (crash-safe, never
 * follows a link).  Design: docs/daemon.md "Work directories".
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_record.h"
#include "sm_statedir.h"
#include "smd_private.h"
#include "store.h"

static int
remove_dir(struct sm_statedir *sd, const char *name, const char *why)
{
	struct sm_error err;

	sm_error_clear(&err);
	if (sm_statedir_work_remove(sd, name, &err) != 0) {
		sm_log_warn("work directory of '%s' (%s) not removed: %s; the next sweep tries "
		            "again",
		    name, why, err.msg);
		return 0;
	}
	return 1;
}

void
smd__work_ended(struct sm_statedir *sd, const char *instance, const char *final_id,
    const json_t *dm, const json_t *busy)
{
	const char *work = json_string_value(json_object_get(dm, "work"));
	char *path = NULL;

	if (work && strcmp(work, instance) == 0)
		work = NULL;
	if (strcmp(final_id, "reported") != 0) {
		/* a replay that failed again used another run's outputs: they are
		 * kept for failed_work_keep from now, as the replay's own would be */
		if (work && sm_statedir_work_dir(sd, work, 0, &path, NULL) == 0)
			(void)utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
		free(path);
		return;
	}
	if (!json_object_get(busy, instance) && remove_dir(sd, instance, "reported"))
		sm_log_debug("work directory of '%s' removed: the run was reported", instance);
	/* a replay from uploading packed the failed run's outputs: done with them */
	if (work && !json_object_get(busy, work) && remove_dir(sd, work, "reported by a replay"))
		sm_log_info(
		    "work directory of '%s' removed: its replay '%s' was reported", work, instance);
}

/* When the run `name` ended (its record's last update), or 0. */
static int64_t
run_updated(struct store *st, const char *name)
{
	struct store_txn *txn;
	json_t *rec = NULL;
	int64_t t = 0;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return 0;
	if (sm_record_instance_get(txn, name, &rec, NULL) == 0)
		t = json_integer_value(json_object_get(rec, "updated"));
	store_txn_abort(txn);
	json_decref(rec);
	return t;
}

/* The directory's last change (wall ms; 0 if unknown, and never later
 * than now: a spider cannot keep its directory by dating it ahead). */
static int64_t
dir_changed(struct sm_statedir *sd, const char *name, int64_t now)
{
	struct stat sb;
	char *path = NULL;
	int64_t t = 0;

	if (sm_statedir_work_dir(sd, name, 0, &path, NULL) == 0 && lstat(path, &sb) == 0)
		t = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
	free(path);
	return t > now ? 0 : t;
}

unsigned
smd__work_sweep(struct sm_engine *e, struct store *st, struct sm_statedir *sd, int64_t keep_ms,
    const json_t *busy)
{
	int64_t now = sm_time_wall_ms();
	struct sm_error err;
	unsigned trash = 0, n = 0;
	char **names = NULL;

	sm_error_clear(&err);
	if (sm_statedir_work_trash_clean(sd, &trash, &err) != 0)
		sm_log_warn("work directories: %s", err.msg);
	if (trash)
		sm_log_info("work directories: %u left half removed (a crash) are gone", trash);
	if (sm_statedir_work_list(sd, &names, &err) != 0) {
		sm_log_warn("work directories: %s", err.msg);
		return 0;
	}
	for (size_t i = 0; names[i]; i++) {
		const char *name = names[i];
		struct sm_instance_status is;
		int rc = sm_engine_instance_status(e, name, &is);
		int64_t last, changed;

		if (json_object_get(busy, name) || (rc != 0 && rc != SM_ENOTFOUND) ||
		    (rc == 0 && is.state == SM_INSTANCE_RUNNING))
			continue;
		if (rc == 0 && is.state == SM_INSTANCE_DONE &&
		    strcmp(is.final_id, "reported") == 0) {
			n += (unsigned)remove_dir(sd, name, "reported");
			continue;
		}
		/* failed, released, stopped, or no run of that name: kept for a while */
		last = run_updated(st, name);
		if ((changed = dir_changed(sd, name, now)) > last)
			last = changed;
		if (now - last < keep_ms)
			continue;
		if (remove_dir(sd, name, "failed_work_keep passed")) {
			sm_log_info("work directory of '%s' removed: its run ended more than "
			            "failed_work_keep ago",
			    name);
			n++;
		}
	}
	sm_statedir_names_free(names);
	return n;
}
