/*
 * smctl_fleet.c - the fleet commands: search, failed, instances,
 * stop-flag, results.  Each asks the fleet library (fleet/include/fleet.h)
 * for its JSON object and prints it as text or, with --json, as it is (the
 * objects `smctl serve` shows).  Either backend: what the configuration
 * names (docs/fleet.md).  fleet_run() is the path all five take: options,
 * operands, the fleet handle, the call, the output, the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fleet.h"
#include "rt_config.h"
#include "sm_loop.h"
#include "smctl.h"

#define DAYS_DEFAULT 7

#define FLEET_CONFIG_HELP \
	"  -c, --config FILE     smd's configuration file (backend, bucket, state_dir);\n" \
	"                        the SMD_* environment applies too\n" \
	"  -d, --state-dir DIR   the state directory (local backend: the bucket is\n" \
	"                        under DIR/objects), wins over the configuration\n" \
	"  -o, --option KEY=VALUE  a configuration key, e.g. -o backend=aws\n" \
	"                        -o bucket=NAME\n"
#define FLEET_DAYS_HELP \
	"  -n, --days N          look at the N days (UTC) up to the last day (default\n" \
	"                        7, at most 3660)\n" \
	"  -u, --until DATE      the last day, YYYY-MM-DD (default today, UTC)\n"
#define FLEET_EXIT_HELP \
	"Exit status: 0 done; 1 the bucket could not be read (no credentials, no\n" \
	"such bucket, unreachable endpoint, timeout: the message says which) or\n" \
	"another failure; 2 usage error or a refused configuration.\n"

struct fargs {
	const struct smctl_cmd *cmd;
	struct smctl_config_args cargs;
	int days, json, all;
	time_t until;
	const char *server, *site;
	const char *text; /* search: TEXT */
	const char *verb; /* stop-flag: on, off or status */
	long long id;     /* results: TASK_ID and OUTDIR */
	const char *dir;
};

enum { OPT_SERVER = 1000, OPT_SITE, OPT_ALL };

static const struct option fleet_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "config", required_argument, NULL, 'c' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "option", required_argument, NULL, 'o' },
	{ "days", required_argument, NULL, 'n' },
	{ "until", required_argument, NULL, 'u' },
	{ "json", no_argument, NULL, 'j' },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "site", required_argument, NULL, OPT_SITE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ NULL, 0, NULL, 0 },
};

/* YYYY-MM-DD as the UTC midnight of that day. */
static int
parse_day(const char *s, time_t *out)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 10 || (end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/*
 * Parse the options every command takes (smctl_getopt) and those of
 * `allowed` (a string of the option chars, plus 'S' for --server/--site and
 * 'A' for --all) and leave optind at the first operand.  Returns -1 to go
 * on, else the exit status.
 */
static int
fleet_getopt(
    const struct smctl_cmd *cmd, int argc, char **argv, const char *allowed, struct fargs *a)
{
	char *end;
	long v;
	int c, status;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->days = DAYS_DEFAULT;
	a->until = time(NULL);
	optind = 1;
	while ((c = smctl_getopt(
	            cmd, argc, argv, "hc:d:o:n:u:j", fleet_opts, &a->cargs, &status)) != -1) {
		if (c == SMCTL_OPT_STOP)
			return status;
		if (!strchr(allowed, c) &&
		    !((c == OPT_SERVER || c == OPT_SITE) && strchr(allowed, 'S')) &&
		    !(c == OPT_ALL && strchr(allowed, 'A')))
			return smctl_usage_error(cmd, "unknown option%s", "");
		switch (c) {
		case 'n':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > FL_DAYS_MAX)
				return smctl_usage_error(cmd,
				    "--days wants a number of days from 1 to "
				    "3660, not '%s'",
				    optarg);
			a->days = (int)v;
			break;
		case 'u':
			if (parse_day(optarg, &a->until) != 0)
				return smctl_usage_error(
				    cmd, "--until wants a day as YYYY-MM-DD, not '%s'", optarg);
			break;
		case 'j':
			a->json = 1;
			break;
		case OPT_SERVER:
			a->server = optarg;
			break;
		case OPT_SITE:
			a->site = optarg;
			break;
		case OPT_ALL:
			a->all = 1;
			break;
		}
	}
	return -1;
}

/* Listing progress on a terminal: "listing 12/30 days, 4567 keys". */
static void
progress(void *arg, size_t done, size_t total, uint64_t keys)
{
	(void)arg;
	fprintf(stderr, "\r%s: listing %zu/%zu prefixes, %" PRIu64 " keys ", smctl_progname, done,
	    total, keys);
	fflush(stderr);
}

static int
fleet_open(const struct smctl_cmd *cmd, struct fargs *a, struct fl **fl)
{
	struct rt_config cfg;
	struct sm_error err;
	int status;

	memset(&cfg, 0, sizeof(cfg));
	*fl = NULL;
	if ((status = smctl_config_load(cmd, &cfg, &a->cargs)) != 0) {
		rt_config_free(&cfg);
		return status;
	}
	sm_error_clear(&err);
	if (fl_open(fl, &cfg, &err) != 0) {
		smctl_safe_printf(stderr, "%s %s: %s\n", smctl_progname, cmd->name, err.msg);
		status = 1;
	} else if (isatty(STDERR_FILENO)) {
		fl_set_progress(*fl, progress, NULL);
	}
	rt_config_free(&cfg);
	return status;
}

/* After a listing that showed progress: clear its line. */
static void
progress_end(void)
{
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
}

static int
fail(const struct smctl_cmd *cmd, const struct sm_error *err)
{
	progress_end();
	smctl_safe_printf(stderr, "%s %s: %s\n", smctl_progname, cmd->name, err->msg);
	return 1;
}

static int
print_json(const json_t *o)
{
	if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return 1;
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : 1;
}

static void
fmt_ms(json_int_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "-");
	else
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* "task 12 of uiserver (walmart) on <instance>" or the key's name. */
static void
print_task_head(const json_t *t, const char *extra)
{
	char when[32];

	fmt_ms(json_integer_value(json_object_get(t, "newest_ms")), when);
	if (json_is_integer(json_object_get(t, "task_id")))
		smctl_safe_printf(stdout,
		    "%s  task %" JSON_INTEGER_FORMAT " of %s (%s) on %s%s%s%s\n", when,
		    json_integer_value(json_object_get(t, "task_id")), str(t, "server_name"),
		    str(t, "site"), str(t, "instance"), *extra ? ": '" : "", extra,
		    *extra ? "'" : "");
	else
		smctl_safe_printf(stdout, "%s  %s%s\n", when, str(t, "name"), extra);
}

static void
print_keys(const json_t *t)
{
	size_t i;
	json_t *k;
	char when[32];

	json_array_foreach(json_object_get(t, "keys"), i, k)
	{
		fmt_ms(json_integer_value(json_object_get(k, "mtime_ms")), when);
		smctl_safe_printf(stdout, "    %10" JSON_INTEGER_FORMAT "  %s  %s\n",
		    json_integer_value(json_object_get(k, "size")), when, str(k, "key"));
	}
}

/*
 * A fleet command: the options it takes besides those of every command
 * (fleet_getopt's `allowed`); its operands, checked and kept in fargs by
 * `operands` (-1 to go on, else the exit status; NULL: none taken); the
 * call to the fleet library that makes its JSON object; and `print`, that
 * object on stdout, as text or with --json as it is (the exit status).
 * `listing`: the call lists day folders, whose progress line is cleared
 * before the output.
 */
struct fleet_cmd {
	const char *allowed;
	int listing;
	int (*operands)(struct fargs *a, int argc, char **argv);
	int (*call)(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err);
	int (*print)(const struct fargs *a, const json_t *out);
};

static int
fleet_run(const struct smctl_cmd *cmd, int argc, char **argv, const struct fleet_cmd *fc)
{
	struct fargs a;
	struct fl *fl = NULL;
	struct sm_error err;
	json_t *out = NULL;
	int status;

	if ((status = fleet_getopt(cmd, argc, argv, fc->allowed, &a)) >= 0)
		goto done;
	if (fc->operands) {
		if ((status = fc->operands(&a, argc, argv)) >= 0)
			goto done;
	} else if (optind != argc) {
		status = smctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if ((status = fleet_open(cmd, &a, &fl)) != 0)
		goto done;
	sm_error_clear(&err);
	if (fc->call(fl, &a, &out, &err) != 0) {
		status = fail(cmd, &err);
		goto done;
	}
	if (fc->listing)
		progress_end();
	status = fc->print(&a, out);
done:
	json_decref(out);
	fl_close(fl);
	smctl_config_args_free(&a.cargs);
	return status;
}

/* ---- search ------------------------------------------------------------- */

const char smctl_search_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--days N] "
                                  "[--until DATE] [--json] TEXT";
const char smctl_search_summary[] = "find the bucket's keys whose name holds TEXT";
const char smctl_search_help[] =
    "Lists the day folders YYYY/MM/DD/ of the bucket for the last N days (in\n"
    "parallel, page by page; never the whole bucket) and prints every key whose\n"
    "name holds TEXT (a task id, a server name, an instance id, a search term;\n"
    "bytes, case-sensitive), grouped by task, newest task first (by day folder, then time), each "
    "key with\n"
    "its size and time.  A progress line is shown on a terminal.\n"
    "\n" FLEET_CONFIG_HELP FLEET_DAYS_HELP
    "  -j, --json            print the JSON object {text, days, tasks: [{name,\n"
    "                        task_id, server_name, instance, site, term, date,\n"
    "                        newest_ms, keys: [{key, size, mtime_ms}]}], requests}\n"
    "\n" FLEET_EXIT_HELP;

static int
search_operands(struct fargs *a, int argc, char **argv)
{
	if (optind != argc - 1 || !*argv[optind])
		return smctl_usage_error(a->cmd, "give the text to search for%s", "");
	a->text = argv[optind];
	return -1;
}

static int
search_call(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err)
{
	return fl_search(fl, a->text, a->until, a->days, out, err);
}

static int
search_print(const struct fargs *a, const json_t *out)
{
	size_t i, nkeys = 0;
	json_t *t;

	if (a->json)
		return print_json(out);
	json_array_foreach(json_object_get(out, "tasks"), i, t)
	{
		print_task_head(t, json_string_value(json_object_get(t, "term")) ?: "");
		print_keys(t);
		nkeys += json_array_size(json_object_get(t, "keys"));
	}
	printf("%zu tasks, %zu keys in %d days, %" JSON_INTEGER_FORMAT " requests\n",
	    json_array_size(json_object_get(out, "tasks")), nkeys, a->days,
	    json_integer_value(json_object_get(out, "requests")));
	return fflush(stdout) == 0 ? 0 : 1;
}

int
smctl_cmd_search(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct fleet_cmd fc = { "nuj", 1, search_operands, search_call, search_print };

	return fleet_run(cmd, argc, argv, &fc);
}

/* ---- failed --------------------------------------------------------------- */

const char smctl_failed_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--days N] "
                                  "[--until DATE] [--server NAME] [--site NAME] [--json]";
const char smctl_failed_summary[] = "list tasks that left logs but no data, with the reason";
const char smctl_failed_help[] =
    "Lists the day folders of the last N days and prints every task that left a\n"
    "log (.log.zip) but no data (.jl.zip), newest first, with the reason from\n"
    "its task record (<name>.state.json.zip, written by smd when the task ends;\n"
    "'no record' when there is none, e.g. an smd older than the records).\n"
    "\n" FLEET_CONFIG_HELP FLEET_DAYS_HELP "      --server NAME     only tasks of that server\n"
    "      --site NAME       only tasks of that site\n"
    "  -j, --json            print the JSON object {days, tasks: [{name, task_id,\n"
    "                        server_name, site, instance, date, newest_ms, reason,\n"
    "                        state, record_key, keys}], requests,\n"
    "                        unreadable_records}\n"
    "\n" FLEET_EXIT_HELP;

static int
failed_call(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err)
{
	return fl_failed(fl, a->until, a->days, a->server, a->site, out, err);
}

static int
failed_print(const struct fargs *a, const json_t *out)
{
	size_t i;
	json_t *t;

	if (a->json)
		return print_json(out);
	json_array_foreach(json_object_get(out, "tasks"), i, t)
	{
		const char *reason = json_string_value(json_object_get(t, "reason"));
		const char *rerr = json_string_value(json_object_get(t, "record_error"));

		print_task_head(t, "");
		if (reason)
			smctl_safe_printf(stdout, "    reason: %s\n", reason);
		else if (rerr)
			smctl_safe_printf(
			    stdout, "    reason unknown: the record cannot be read: %s\n", rerr);
		else
			printf("    reason unknown: %s\n",
			    json_is_string(json_object_get(t, "record_key")) ?
			        "the record gives none" :
			        "no record");
		smctl_safe_printf(stdout, "    %s\n", str(t, "name"));
	}
	printf("%zu failed tasks in %d days\n", json_array_size(json_object_get(out, "tasks")),
	    a->days);
	return fflush(stdout) == 0 ? 0 : 1;
}

int
smctl_cmd_failed(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct fleet_cmd fc = { "nujS", 1, NULL, failed_call, failed_print };

	return fleet_run(cmd, argc, argv, &fc);
}

/* ---- instances ----------------------------------------------------------------- */

const char smctl_instances_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--all] [--json]";
const char smctl_instances_summary[] = "list the live smd instances and what they run";
const char smctl_instances_help[] =
    "Reads the heartbeats smd instances put in the bucket (smd/instances/\n"
    "<instance>.json, every heartbeat_interval) and prints each live instance\n"
    "(last seen within three intervals): host, pid, version, backend, queues,\n"
    "when it started and was last seen, and the tasks it runs.\n"
    "\n" FLEET_CONFIG_HELP
    "      --all             also the stale ones (a heartbeat left by an instance\n"
    "                        that died), marked stale\n"
    "  -j, --json            print the JSON object {now_ms, instances: [heartbeat\n"
    "                        + alive]}\n"
    "\n" FLEET_EXIT_HELP;

static int
instances_call(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err)
{
	return fl_instances(fl, sm_time_wall_ms(), a->all, out, err);
}

static int
instances_print(const struct fargs *a, const json_t *out)
{
	json_t *hb, *task;
	size_t i, j;

	if (a->json)
		return print_json(out);
	json_array_foreach(json_object_get(out, "instances"), i, hb)
	{
		char started[32], seen[32];

		fmt_ms(json_integer_value(json_object_get(hb, "started_ms")), started);
		fmt_ms(json_integer_value(json_object_get(hb, "last_seen_ms")), seen);
		smctl_safe_printf(stdout,
		    "%s  %s  host %s pid %" JSON_INTEGER_FORMAT " smd %s (%s)%s\n",
		    str(hb, "instance"),
		    json_is_true(json_object_get(hb, "alive")) ? "alive" : "stale",
		    str(hb, "hostname"), json_integer_value(json_object_get(hb, "pid")),
		    str(hb, "smd_version"), str(hb, "backend"),
		    json_is_true(json_object_get(hb, "stopping")) ? " stopping" : "");
		printf("    started %s, last seen %s, %zu tasks\n", started, seen,
		    json_array_size(json_object_get(hb, "tasks")));
		json_array_foreach(json_object_get(hb, "tasks"), j, task)
		{
			fmt_ms(json_integer_value(json_object_get(task, "since_ms")), seen);
			smctl_safe_printf(stdout,
			    "    task %" JSON_INTEGER_FORMAT " of %s (%s): %s since %s\n",
			    json_integer_value(json_object_get(task, "task_id")),
			    str(task, "server_name"), str(task, "site"), str(task, "state"), seen);
		}
	}
	printf("%zu instances%s\n", json_array_size(json_object_get(out, "instances")),
	    a->all ? "" : " alive");
	return fflush(stdout) == 0 ? 0 : 1;
}

int
smctl_cmd_instances(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct fleet_cmd fc = { "jA", 0, NULL, instances_call, instances_print };

	return fleet_run(cmd, argc, argv, &fc);
}

/* ---- stop-flag -------------------------------------------------------------------- */

const char smctl_stop_flag_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--json] "
                                     "on|off|status";
const char smctl_stop_flag_summary[] = "set, clear or read the fleet's stop flag";
const char smctl_stop_flag_help[] =
    "The stop flag is the bucket's key scrapy_daemon_stop_flag: while it reads\n"
    "true, every smd takes no new task (it finishes those it runs).\n"
    "  on      write true\n"
    "  off     write false\n"
    "  status  print on or off (off when the key does not exist)\n"
    "\n" FLEET_CONFIG_HELP "  -j, --json            status: print {key, stop, exists, value}\n"
    "\n" FLEET_EXIT_HELP;

static int
stop_flag_operands(struct fargs *a, int argc, char **argv)
{
	if (optind != argc - 1)
		return smctl_usage_error(a->cmd, "give one of on, off, status%s", "");
	a->verb = argv[optind];
	if (strcmp(a->verb, "on") != 0 && strcmp(a->verb, "off") != 0 &&
	    strcmp(a->verb, "status") != 0)
		return smctl_usage_error(a->cmd, "'%s' is none of on, off, status", a->verb);
	return -1;
}

/* on, off: write the flag, then read it back; status: read it */
static int
stop_flag_call(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err)
{
	if (strcmp(a->verb, "status") != 0 &&
	    fl_stop_flag_set(fl, strcmp(a->verb, "on") == 0, err) != 0)
		return -1;
	return fl_stop_flag_get(fl, out, err);
}

static int
stop_flag_print(const struct fargs *a, const json_t *out)
{
	int status = 0, on = strcmp(a->verb, "on") == 0;

	if (a->json)
		status = print_json(out);
	else
		printf("%s%s\n", json_is_true(json_object_get(out, "stop")) ? "on" : "off",
		    json_is_true(json_object_get(out, "exists")) ? "" : " (the flag is not set)");
	if (status == 0 && strcmp(a->verb, "status") != 0 &&
	    json_is_true(json_object_get(out, "stop")) != on) {
		fprintf(stderr, "%s %s: the flag reads back as %s\n", smctl_progname, a->cmd->name,
		    on ? "off" : "on");
		status = 1;
	}
	if (status == 0)
		status = fflush(stdout) == 0 ? 0 : 1;
	return status;
}

int
smctl_cmd_stop_flag(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct fleet_cmd fc = { "j", 0, stop_flag_operands, stop_flag_call,
		stop_flag_print };

	return fleet_run(cmd, argc, argv, &fc);
}

/* ---- results ---------------------------------------------------------------------- */

const char smctl_results_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--days N] "
                                   "[--until DATE] [--server NAME] [--json] TASK_ID [OUTDIR]";
const char smctl_results_summary[] = "download and unzip a task's outputs";
const char smctl_results_help[] =
    "Finds the task's keys in the day folders of the last N days, and downloads\n"
    "and unzips the outputs of its newest run into OUTDIR (default: the current\n"
    "directory; made if missing): <name>.jl (items), .csv, .log (the spider's\n"
    "log), .progress and .state.json (the task record), those that exist.\n"
    "Older runs of the same task are named on stderr.\n"
    "\n" FLEET_CONFIG_HELP FLEET_DAYS_HELP
    "      --server NAME     the task of that server (needed when servers share\n"
    "                        the id)\n"
    "  -j, --json            print {task_id, server_name, name, dir, files: [{key,\n"
    "                        path, size}], other_names}\n"
    "\n"
    "Exit status: 0 downloaded; 1 no such task, several servers with that id\n"
    "(give --server), or the bucket could not be read; 2 usage error or a\n"
    "refused configuration.\n";

static int
results_operands(struct fargs *a, int argc, char **argv)
{
	char *end;

	if (a->site)
		return smctl_usage_error(a->cmd, "unknown option%s", " --site");
	if (optind != argc - 1 && optind != argc - 2)
		return smctl_usage_error(a->cmd, "give TASK_ID and maybe OUTDIR%s", "");
	errno = 0;
	a->id = strtoll(argv[optind], &end, 10);
	if (errno || end == argv[optind] || *end)
		return smctl_usage_error(a->cmd, "'%s' is not a task id (a number)", argv[optind]);
	a->dir = optind == argc - 2 ? argv[optind + 1] : ".";
	return -1;
}

static int
results_call(struct fl *fl, const struct fargs *a, json_t **out, struct sm_error *err)
{
	return fl_results(fl, a->id, a->server, a->until, a->days, a->dir, out, err);
}

static int
results_print(const struct fargs *a, const json_t *out)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(out, "other_names"), i, f)
	    smctl_safe_printf(stderr, "%s %s: an older run, not downloaded: %s\n", smctl_progname,
	        a->cmd->name, json_string_value(f));
	if (a->json)
		return print_json(out);
	json_array_foreach(json_object_get(out, "files"), i, f)
	    smctl_safe_printf(stdout, "%s\n", str(f, "path"));
	return fflush(stdout) == 0 ? 0 : 1;
}

int
smctl_cmd_results(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct fleet_cmd fc = { "nujS", 1, results_operands, results_call,
		results_print };

	return fleet_run(cmd, argc, argv, &fc);
}
