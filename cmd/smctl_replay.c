/*
 * smctl_replay.c - `smctl replay TASK_ID`: run a failed task again, from
 * the step that failed or (--from-start) from the beginning, as a new run
 * of the same task (docs/daemon.md "Replay").  Through smd's control socket
 * when smd holds the state directory; otherwise smctl takes the directory
 * itself and runs the replay to its end (smd_replay_offline).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "rt_config.h"
#include "sm_err.h"
#include "sm_loop.h"
#include "sm_record.h"
#include "sm_statedir.h"
#include "smctl.h"
#include "smd.h"
#include "smd_control.h"
#include "smd_index.h"
#include "smd_replay.h"
#include "store.h"

/* How long smd may take to answer a request. */
#define REPLAY_ANSWER_MS 30000
/* While waiting for smd's run: the store's poll and the check that smd is
 * still there. */
#define REPLAY_POLL_MS 200
#define REPLAY_ALIVE_MS 2000

const char smctl_replay_help[] =
    "Runs a failed (or released) task again as a new run of the same task id,\n"
    "on the failed run's message and machine version: from the step that\n"
    "failed (a spider that failed runs again; an upload that failed is retried\n"
    "with the spider's outputs of the failed run, which must still be in its\n"
    "work directory; a report that failed is sent again), or with --from-start\n"
    "from the beginning.  The new run sends its progress and output messages as\n"
    "any run does; it has no queue message to delete.  A running or reported\n"
    "task is refused.\n"
    "\n"
    "When smd holds the state directory the replay goes through its control\n"
    "socket (<state_dir>/control) and smd runs it; otherwise smctl takes the\n"
    "directory's lock itself and runs the replay to its end with smd's\n"
    "configuration (-c, SMD_* variables, -o), logging to <state_dir>/smd.log.\n"
    "\n"
    "Prints the new instance id ('task-<n>') once it started, then, when it\n"
    "ended, its final state (reported, failed or released).\n"
    "\n"
    "  -d, --state-dir DIR     the state directory (default: the configuration's\n"
    "                          state_dir, e.g. $SMD_STATE_DIR)\n"
    "  -s, --from-start        run the whole task again, spider included\n"
    "  -n, --no-wait           with smd: print the instance id and return\n"
    "                          (without smd, smctl runs the replay and waits)\n"
    "  -T, --timeout D         with smd: stop waiting after D, a duration (30s,\n"
    "                          5m; a bare number is seconds; exit 1, the replay\n"
    "                          goes on)\n"
    "  -c, --config FILE       smd's configuration file\n"
    "  -o, --option KEY=VALUE  a configuration key (docs/configuration.md)\n"
    "  -v, --verbose           without smd: the run's log on stderr too\n"
    "  -r, --remote            take the task from its newest record in the bucket\n"
    "                          (<name>.state.json.zip, written by the instance\n"
    "                          that ran it): its message and machine version.\n"
    "                          Done too, with a note on stderr, when the state\n"
    "                          directory has no run of the task.  It runs here\n"
    "                          from the start (spider included): the other\n"
    "                          instance's outputs are not here.  smctl runs it\n"
    "                          (no smd may hold the state directory), and the\n"
    "                          machine version must be in this instance's\n"
    "                          machines_dir (or its store).\n"
    "      --days N            with the bucket: the last N days (default 7)\n"
    "\n"
    "Exit status: 0 the replay was reported (or started, with --no-wait), 1 it\n"
    "was refused, failed, was released or is still running, 2 usage error.\n";

/* ---- the end of a run ------------------------------------------------------- */

/* The stored record of `id`: 1 ended (final into `final`, its reason into
 * `reason`), 0 not ended (or not committed yet), -1 unreadable. */
static int
run_ended(struct store *st, const char *id, char *final, size_t fsize, char *reason, size_t rsize)
{
	struct store_txn *txn;
	json_t *rec = NULL;
	const char *status, *f, *r;
	int rc, ended = 0;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return -1;
	rc = sm_record_instance_get(txn, id, &rec, NULL);
	store_txn_abort(txn);
	if (rc == SM_ENOTFOUND)
		return 0;
	if (rc != 0)
		return -1;
	status = json_string_value(json_object_get(rec, "status"));
	if (status && strcmp(status, "running") != 0) {
		ended = 1;
		f = json_string_value(json_object_get(rec, "final"));
		r = json_string_value(json_object_get(
		    json_object_get(json_object_get(rec, "session"), "datamodel"), "reason"));
		if (!r)
			r = json_string_value(json_object_get(rec, "error"));
		snprintf(final, fsize, "%s", f ? f : "");
		snprintf(reason, rsize, "%s", r ? r : "");
	}
	json_decref(rec);
	return ended;
}

/* Print the end of `id` (stdout: its final state); the exit status. */
static int
show_end(const char *id, const char *final, const char *reason)
{
	printf("%s\n", final[0] ? final : "(none)");
	fflush(stdout);
	if (strcmp(final, "reported") == 0)
		return 0;
	fprintf(stderr, "%s replay: '%s' ended in '%s'%s%s\n", smctl_progname, id,
	    final[0] ? final : "(no final state)", reason[0] ? ": " : "", reason);
	return 1;
}

/* Wait for smd's run `id` to end, reading the store (read-only). */
static int
wait_smd(struct sm_statedir *sd, const char *id, int64_t timeout_ms, const char *timeout_arg)
{
	struct store *st = NULL;
	struct store_options so;
	struct sm_error err;
	char final[128], reason[SM_ERROR_MSG_MAX];
	uint64_t start = sm_time_mono_ms(), alive = start;
	int rc;

	store_options_init(&so);
	so.read_only = 1;
	sm_error_clear(&err);
	if (store_open(&st, sm_statedir_path(sd), &so, &err) != 0) {
		fprintf(stderr, "%s replay: %s\n", smctl_progname, err.msg);
		return 1;
	}
	for (;;) {
		uint64_t now;

		rc = run_ended(st, id, final, sizeof(final), reason, sizeof(reason));
		if (rc != 0)
			break;
		now = sm_time_mono_ms();
		if (timeout_ms > 0 && now - start >= (uint64_t)timeout_ms) {
			fprintf(stderr,
			    "%s replay: '%s' has not ended after %s (--timeout); it goes "
			    "on: 'smctl inspect %s' shows it\n",
			    smctl_progname, id, timeout_arg, id);
			store_close(st);
			return 1;
		}
		if (now - alive >= REPLAY_ALIVE_MS) {
			int fd;

			alive = now;
			if (sm_statedir_control_connect(sd, &fd, NULL) != 0) {
				/* a last look: it may have ended as smd stopped */
				if ((rc = run_ended(st, id, final, sizeof(final), reason,
				         sizeof(reason))) != 0)
					break;
				fprintf(stderr,
				    "%s replay: smd stopped before '%s' ended; smd runs it on "
				    "at its next start\n",
				    smctl_progname, id);
				store_close(st);
				return 1;
			}
			close(fd);
		}
		usleep(REPLAY_POLL_MS * 1000);
	}
	store_close(st);
	if (rc < 0) {
		fprintf(stderr,
		    "%s replay: the record of '%s' cannot be read: 'smctl inspect %s' "
		    "says why\n",
		    smctl_progname, id, id);
		return 1;
	}
	return show_end(id, final, reason);
}

/* ---- without smd ------------------------------------------------------------ */

struct offline_run {
	const char *task;
	char id[SMD_INDEX_ID_SIZE];
};

static void
offline_started(void *arg, const char *id, const char *from)
{
	struct offline_run *r = arg;

	snprintf(r->id, sizeof(r->id), "%s", id);
	printf("%s\n", id);
	fflush(stdout);
	fprintf(stderr,
	    "%s replay: task %s runs again as '%s' from '%s' (no smd holds the "
	    "state directory: running it here)\n",
	    smctl_progname, r->task, id, from);
}

static int
offline(const char *task, int64_t task_id, int from_start, const char *config_file, char **opts,
    size_t nopts, int verbose, const char *dir, const json_t *seed, const char *of)
{
	struct smd_options o = { 0 };
	struct offline_run r;
	struct store *st = NULL;
	struct store_options so;
	struct sm_error err;
	char final[128], f2[128], reason[SM_ERROR_MSG_MAX];
	int rc;

	memset(&r, 0, sizeof(r));
	r.task = task;
	o.config_file = config_file;
	o.opts = opts;
	o.nopts = nopts;
	o.log_stderr = verbose;
	o.replay_seed = seed;
	o.replay_of = of;
	sm_error_clear(&err);
	rc = smd_replay_offline(&o, task_id, from_start, offline_started, &r, final, &err);
	if (rc == SM_EBUSY) {
		fprintf(stderr,
		    "%s replay: %s\n(no smd answered on the control socket there: an "
		    "smd without one, or another smctl, holds it)\n",
		    smctl_progname, err.msg);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "%s replay: %s\n", smctl_progname, err.msg);
		return 1;
	}
	/* the reason of a failure, as stored */
	reason[0] = 0;
	store_options_init(&so);
	so.read_only = 1;
	if (store_open(&st, dir, &so, NULL) == 0)
		(void)run_ended(st, r.id, f2, sizeof(f2), reason, sizeof(reason));
	store_close(st);
	return show_end(r.id, final, reason);
}

/* ---- a task from the bucket ------------------------------------------------- */

static int
count_run(void *arg, const char *instance)
{
	(void)instance;
	(*(size_t *)arg)++;
	return 0;
}

/* The runs of `task_id` the state directory `dir` knows: a count, 0 when
 * it has none (or there is no store there yet), -1 when it cannot say. */
static long
local_runs(const char *dir, int64_t task_id)
{
	struct store *st = NULL;
	struct store_options so;
	struct store_txn *txn;
	size_t n = 0;
	int rc;

	if (access(dir, F_OK) != 0)
		return 0;
	store_options_init(&so);
	so.read_only = 1;
	if (store_open(&st, dir, &so, NULL) != 0)
		return access(dir, F_OK) == 0 ? -1 : 0;
	rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	if (rc == 0) {
		rc = smd_index_task_runs(txn, task_id, count_run, &n);
		store_txn_abort(txn);
	}
	store_close(st);
	return rc == 0 ? (long)n : -1;
}

/* Replay task `task_id` from its newest record in the bucket, here, without smd. */
static int
replay_remote(const struct smctl_cmd *cmd, const struct rt_config *cfg, int64_t task_id, long days,
    const struct smctl_config_args *cargs, char **opts, size_t nopts, int verbose)
{
	struct sm_statedir *sd = NULL;
	json_t *recs = NULL, *last, *inst;
	char task[24];
	int bad, fd, status = 1;

	if (smctl_remote_records(cmd->name, cfg, task_id, NULL, days, &recs, &bad) != 0)
		return 1;
	if (json_array_size(recs) == 0) {
		fprintf(stderr,
		    "%s replay: no record of task %lld in the bucket in the last %ld day(s): "
		    "check the id, or look further back with --days N\n",
		    smctl_progname, (long long)task_id, days);
		goto out;
	}
	last = json_array_get(recs, json_array_size(recs) - 1);
	inst = json_object_get(json_object_get(json_object_get(last, "record"), "run"), "instance");
	/* smd holding the state directory would have to run it: not this way */
	if (sm_statedir_open(&sd, cfg->state_dir, SM_STATEDIR_READ, NULL) == 0 &&
	    sm_statedir_control_connect(sd, &fd, NULL) == 0) {
		close(fd);
		fprintf(stderr,
		    "%s replay: smd holds '%s': a task from the bucket is replayed by smctl "
		    "itself, without smd; stop smd first, or give another state directory (-d)\n",
		    smctl_progname, cfg->state_dir);
		goto out;
	}
	sm_statedir_close(sd);
	sd = NULL;
	smctl_safe_printf(stderr, "%s replay: task %lld from the record %s (its run on %s)\n",
	    smctl_progname, (long long)task_id, json_string_value(json_object_get(last, "key")),
	    json_string_value(json_object_get(json_object_get(last, "record"), "smd_instance")) ?:
	        "?");
	snprintf(task, sizeof(task), "%lld", (long long)task_id);
	status = offline(task, task_id, 1, cargs->file ? cargs->file : smctl_config_file, opts,
	    nopts, verbose, cfg->state_dir, inst, json_string_value(json_object_get(last, "key")));
out:
	sm_statedir_close(sd);
	json_decref(recs);
	return status;
}

/* ---- the command ------------------------------------------------------------ */

int
smctl_cmd_replay(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, NULL, 'h' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "from-start", no_argument, NULL, 's' }, { "no-wait", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' }, { "verbose", no_argument, NULL, 'v' },
		{ "remote", no_argument, NULL, 'r' }, { "days", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 } };
	struct smctl_config_args cargs = { 0 };
	const char *timeout_arg = NULL;
	char **opts = NULL, *dir_opt = NULL, text[SMD_CONTROL_ANSWER_MAX], req[64];
	char id[SMD_INDEX_ID_SIZE], from[SMD_REPLAY_FROM_SIZE];
	size_t nopts = 0;
	int c, from_start = 0, no_wait = 0, verbose = 0, status = 1, rc, remote = 0;
	long days = SMCTL_REMOTE_DAYS;
	char *end;
	int64_t timeout_ms = 0;
	int64_t task_id;
	struct rt_config cfg;
	struct sm_statedir *sd = NULL;
	struct sm_error err;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "hd:snT:c:o:vr", lopts, &cargs, &status)) != -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			goto out;
		case 's':
			from_start = 1;
			break;
		case 'n':
			no_wait = 1;
			break;
		case 'T':
			if (smctl_timeout_parse(optarg, &timeout_ms) != 0) {
				status = smctl_usage_error(
				    cmd, "--timeout wants " SMCTL_TIMEOUT_HINT ", not '%s'", optarg);
				goto out;
			}
			timeout_arg = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'r':
			remote = 1;
			break;
		case 'y':
			days = strtol(optarg, &end, 10);
			if (end == optarg || *end || days < 1 || days > 366) {
				status = smctl_usage_error(
				    cmd, "--days wants a count from 1 to 366, not '%s'", optarg);
				goto out;
			}
			break;
		}
	}
	if (optind != argc - 1) {
		status = smctl_usage_error(cmd, "give exactly one task id%s", "");
		goto out;
	}
	if (smd_replay_parse_task_id(argv[optind], &task_id) != 0) {
		status = smctl_usage_error(
		    cmd, "a task id is 1 to 19 decimal digits, not '%s'", argv[optind]);
		goto out;
	}
	if ((status = smctl_config_load(cmd, &cfg, &cargs)) != 0)
		goto out;
	status = 1;
	/* without smd, the replay loads the configuration as smd does: the same
	 * file and -o options, and -d DIR as the last word on state_dir */
	opts = malloc((cargs.nopts + 1) * sizeof(*opts));
	if (!opts || (cargs.state_dir &&
	                 asprintf(&dir_opt, "state_dir=%s", cargs.state_dir) < 0)) {
		dir_opt = NULL;
		fprintf(stderr, "%s replay: out of memory\n", smctl_progname);
		goto out;
	}
	for (nopts = 0; nopts < cargs.nopts; nopts++)
		opts[nopts] = cargs.opts[nopts];
	if (dir_opt)
		opts[nopts++] = dir_opt;
	sm_error_clear(&err);
	if (!remote && local_runs(cfg.state_dir, task_id) == 0) {
		fprintf(stderr,
		    "%s replay: no run of task %s in '%s': taking it from its record in the "
		    "bucket\n",
		    smctl_progname, argv[optind], cfg.state_dir);
		remote = 1;
	}
	if (remote) {
		status = replay_remote(cmd, &cfg, task_id, days, &cargs, opts, nopts, verbose);
		goto out;
	}
	if (sm_statedir_open(&sd, cfg.state_dir, SM_STATEDIR_READ, &err) != 0) {
		fprintf(stderr, "%s replay: %s\n", smctl_progname, err.msg);
		goto out;
	}
	snprintf(
	    req, sizeof(req), "replay %lld%s", (long long)task_id, from_start ? " from-start" : "");
	rc = smd_control_call(sd, req, REPLAY_ANSWER_MS, text, sizeof(text), &err);
	if (rc == SM_ENOTFOUND) {
		if (no_wait)
			fprintf(stderr,
			    "%s replay: no smd holds '%s': smctl runs the replay itself "
			    "and waits for its end (--no-wait applies through smd)\n",
			    smctl_progname, cfg.state_dir);
		sm_statedir_close(sd);
		sd = NULL;
		status = offline(argv[optind], task_id, from_start,
		    cargs.file ? cargs.file : smctl_config_file, opts, nopts, verbose,
		    cfg.state_dir, NULL, NULL);
		goto out;
	}
	if (rc == SM_EINVAL) {
		fprintf(stderr, "%s replay: smd refused: %s\n", smctl_progname, text);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "%s replay: %s\n", smctl_progname, err.msg);
		goto out;
	}
	if (sscanf(text, "%200s %15s", id, from) != 2) {
		fprintf(stderr, "%s replay: smd answered 'ok %s', not an instance and a step\n",
		    smctl_progname, text);
		goto out;
	}
	printf("%s\n", id);
	fflush(stdout);
	fprintf(stderr, "%s replay: task %s runs again as '%s' from '%s' (through smd)\n",
	    smctl_progname, argv[optind], id, from);
	status = no_wait ? 0 : wait_smd(sd, id, timeout_ms, timeout_arg);
out:
	sm_statedir_close(sd);
	rt_config_free(&cfg);
	free(dir_opt);
	free(opts);
	smctl_config_args_free(&cargs);
	return status;
}
