/*
 * smctl_stats.c - `smctl stats [--date D] [--days N] [--json]`: the fleet's
 * figures of some days from the bucket (fleet/fl_stats.c counts them; what
 * each figure counts: docs/smctl.md "smctl stats").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fl_stats.h"
#include "fleet.h"
#include "rt_config.h"
#include "sm_err.h"
#include "sm_loop.h"
#include "sm_time.h"
#include "smctl.h"

const char smctl_stats_usage[] =
    "[-c FILE] [-o KEY=VALUE]... [--date YYYY-MM-DD] [--days N] [--json]";
const char smctl_stats_summary[] =
    "the fleet's figures: tasks received, finished, failed, cached; queues; instances";
const char smctl_stats_help[] =
    "Counts, from the task records (<name>.state.json.zip) the instances wrote\n"
    "to the bucket under the day folders of the days asked for, and from the\n"
    "heartbeats and start markers under smd/:\n"
    "  received     tasks (a server_name and task_id) with at least one record:\n"
    "               tasks still running, or released, have none yet\n"
    "  finished     of those, tasks whose last run was reported\n"
    "  failed       tasks whose last run failed (finished + failed = received)\n"
    "  retries      runs beyond the first of a task (a task id run twice is one\n"
    "               task received and one retry)\n"
    "  cached       finished tasks whose last run was served from the cache; the\n"
    "               hit rate is cached / tasks whose last run looked the cache up\n"
    "               (hit, miss or a failed lookup)\n"
    "  duration     p50/p90/p99/max of duration_ms over every run counted\n"
    "               (nearest rank)\n"
    "  per hour     tasks whose first run was received in each UTC hour of the\n"
    "               last day\n"
    "per site and per server (by the last run), the depth of each configured\n"
    "queue (ApproximateNumberOfMessages, now), the instances alive now (a\n"
    "heartbeat seen within three of its intervals) and the instances started\n"
    "in those days (start markers).  Records that cannot be read (not a zip,\n"
    "too big, another format or a newer version, a field missing or of the\n"
    "wrong type) are named on stderr, one line each, and not counted.\n"
    "\n"
    "  -c, --config FILE        smd's configuration (backend, bucket, queues,\n"
    "                           state_dir of the local backend)\n"
    "  -o, --option KEY=VALUE   a configuration key (docs/configuration.md)\n"
    "  -D, --date YYYY-MM-DD    the last day counted (UTC; default today)\n"
    "  -n, --days N             days counted, ending with --date (default 1,\n"
    "                           at most 366)\n"
    "  -j, --json               one JSON object (docs/smctl.md)\n"
    "\n"
    "Exit status: 0 the figures are printed; 1 the bucket cannot be read (no\n"
    "credentials, no such bucket, no network: the message says which), or\n"
    "some records were refused (the figures of the others are printed);\n"
    "2 usage error or a refused configuration.\n";

/* "YYYY-MM-DD" as the seconds of its 00:00 UTC; -1 if it is not one. */
static time_t
parse_day(const char *s)
{
	char iso[32];
	int64_t ms;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	snprintf(iso, sizeof(iso), "%sT00:00:00Z", s);
	if (sm_time_parse(iso, &ms) != 0)
		return -1;
	return (time_t)(ms / 1000);
}

/* A count 1..max from `arg`; -1 if it is not one. */
static long
parse_count(const char *arg, long max)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > max)
		return -1;
	return v;
}

static void
progress(void *arg, size_t done, size_t total, uint64_t keys)
{
	(void)arg;
	fprintf(stderr, "\rlisting: %zu of %zu day folder(s), %llu keys", done, total,
	    (unsigned long long)keys);
	if (done == total)
		fputc('\n', stderr);
}

int
smctl_cmd_stats(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "date", required_argument, NULL, 'D' }, { "days", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	struct smctl_config_args cargs = { 0 };
	struct rt_config cfg;
	struct sm_error err;
	struct fl *fl = NULL;
	struct fl_stats *s = NULL;
	json_t *out = NULL, *v;
	time_t day = time(NULL);
	long days = 1;

	_Static_assert(FL_STATS_DAYS_MAX == 366, "the --days message says 366");
	int c, as_json = 0, status = 1, rc;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "hc:o:D:n:j", opts, &cargs, &status)) != -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			goto out;
		case 'D':
			if ((day = parse_day(optarg)) < 0) {
				status = smctl_usage_error(
				    cmd, "--date wants a day YYYY-MM-DD, not '%s'", optarg);
				goto out;
			}
			break;
		case 'n':
			if ((days = parse_count(optarg, FL_STATS_DAYS_MAX)) < 0) {
				status = smctl_usage_error(cmd,
				    "--days wants a count of days from 1 to 366, not '%s'", optarg);
				goto out;
			}
			break;
		case 'j':
			as_json = 1;
			break;
		}
	}
	if (optind != argc) {
		status = smctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((status = smctl_config_load(cmd, &cfg, &cargs)) != 0)
		goto out;
	status = 1;
	sm_error_clear(&err);
	if (fl_stats_new(&s, day, (int)days, sm_time_wall_ms()) != 0) {
		fprintf(stderr, "%s stats: out of memory\n", smctl_progname);
		goto out;
	}
	if (fl_open(&fl, &cfg, &err) != 0) {
		fprintf(stderr, "%s stats: %s\n", smctl_progname, err.msg);
		goto out;
	}
	if (isatty(STDERR_FILENO))
		fl_set_progress(fl, progress, NULL);
	if ((rc = fl_stats_collect(fl, s, &cfg, NULL, &err)) != 0) {
		fprintf(stderr, "%s stats: %s\n", smctl_progname, err.msg);
		goto out;
	}
	if (!(out = fl_stats_json(s))) {
		fprintf(stderr, "%s stats: out of memory\n", smctl_progname);
		goto out;
	}
	json_array_foreach(json_object_get(out, "refused"), i, v)
	    smctl_safe_printf(stderr, "%s stats: record %s not counted: %s\n", smctl_progname,
	        json_string_value(json_object_get(v, "key")),
	        json_string_value(json_object_get(v, "error")));
	if (as_json) {
		if (json_dumpf(out, stdout, JSON_INDENT(2)) != 0)
			goto out;
		putchar('\n');
	} else {
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);

		if (!mem)
			goto out;
		fl_stats_print(out, mem);
		fclose(mem);
		smctl_safe_write(stdout, buf, len);
		free(buf);
	}
	status =
	    fflush(stdout) == 0 && json_array_size(json_object_get(out, "refused")) == 0 ? 0 : 1;
out:
	json_decref(out);
	fl_stats_free(s);
	fl_close(fl);
	rt_config_free(&cfg);
	smctl_config_args_free(&cargs);
	return status;
}
