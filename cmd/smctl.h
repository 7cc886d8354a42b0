/*
 * smctl.h - what a subcommand of smctl needs.  A subcommand is a run
 * function in cmd/smctl_<name>.c (every cmd/smctl_*.c file is linked into
 * smctl) plus one row in the `commands` table of cmd/smctl.c.
 *
 * run(cmd, argc, argv): argv[0] is the subcommand name; parse options with
 * getopt_long (smctl_getopt for a command that reads smd's configuration)
 * after setting optind = 1; answer --help with
 * smctl_print_help(cmd) and exit status 0.  Return the exit status:
 * 0 success, 1 the command ran and found a failure, 2 (SMCTL_EXIT_USAGE)
 * a usage error (use smctl_usage_error()).
 */
#ifndef SMCTL_H
#define SMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SMCTL_EXIT_USAGE 2
#define SMCTL_TIMEOUT_MAX_MS ((int64_t)24 * 3600 * 1000) /* simulate --timeout */

struct smctl_cmd {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line */
	const char *help;    /* option list and details, ends with a newline */
	int (*run)(const struct smctl_cmd *cmd, int argc, char **argv);
};

extern const char *smctl_progname;

/* Print "smctl NAME: <fmt with arg>" and the usage line on stderr; returns 2. */
int smctl_usage_error(const struct smctl_cmd *cmd, const char *fmt, const char *arg);
/* Print the usage line, summary and help on stdout. */
void smctl_print_help(const struct smctl_cmd *cmd);

/*
 * smd's configuration (smctl_config.c).  `smctl -c FILE COMMAND` sets
 * smctl_config_file; a command's own -c FILE wins over it.
 *
 * A command that reads it collects its options -c FILE, -d DIR and
 * -o KEY=VALUE (repeatable) with smctl_config_arg(cmd, &args, c, optarg)
 * (0, or 1 after saying "out of memory"), then calls smctl_config_load():
 * rt_config_init, then rt_config_load of the file (args.file, else
 * smctl_config_file, else none), the SMD_* environment and the -o
 * arguments, then -d as -o state_dir=DIR applied last.  It returns 0, or
 * the exit status after printing why on stderr (2 for a refused
 * configuration or a bad state_dir, 1 out of memory); `cfg` must be freed
 * (rt_config_free) either way, and `args` with smctl_config_args_free().
 * smctl_config_has_state_dir(): 1 if a source other than the defaults (the
 * file, SMD_STATE_DIR, -o, -d) gave state_dir.
 *
 * smctl_getopt(): getopt_long(argc, argv, shortopts, longopts) for such a
 * command (set optind = 1 first), answering the options they all share:
 * -h prints the help (smctl_print_help), -c, -d and -o go to `args`
 * (smctl_config_arg), an unknown option or a missing argument is a usage
 * error.  Returns the command's next other option, -1 after the last
 * option, or SMCTL_OPT_STOP with the exit status in *status (0 after the
 * help, 1 out of memory, 2 a usage error).
 */
struct rt_config;
struct smctl_config_args {
	const char *file;      /* -c */
	const char *state_dir; /* -d */
	char **opts;           /* -o, in order */
	size_t nopts;
};
extern const char *smctl_config_file;
int smctl_config_arg(const struct smctl_cmd *cmd, struct smctl_config_args *args, int c, char *arg);
void smctl_config_args_free(struct smctl_config_args *args);
int smctl_config_load(
    const struct smctl_cmd *cmd, struct rt_config *cfg, const struct smctl_config_args *args);
int smctl_config_has_state_dir(const struct rt_config *cfg);
#define SMCTL_OPT_STOP (-2)
struct option;
int smctl_getopt(const struct smctl_cmd *cmd, int argc, char **argv, const char *shortopts,
    const struct option *longopts, struct smctl_config_args *args, int *status);

/*
 * The argument of `simulate --timeout` (cmd/smctl_timeout.c): a duration
 * ("30s", "500ms", "2m", common/sm_duration.h) or a bare number of seconds
 * ("30", "0.3"), from 1 ms to SMCTL_TIMEOUT_MAX_MS.  0 and *ms set;
 * SM_EINVAL (not a duration) or SM_ERANGE (outside that range), *ms
 * untouched.
 */
int smctl_timeout_parse(const char *arg, int64_t *ms);
#define SMCTL_TIMEOUT_HINT \
	"a duration from 1ms to 24h (e.g. 30s, 500ms, 2m; a bare number is seconds)"

/*
 * Text from the bucket or the store on a terminal (cmd/smctl_text.c):
 * control characters other than newline are written as \xNN, the C1
 * controls U+0080-U+009F as \u00NN and a byte that is not UTF-8 as \xNN,
 * so that ids, names and messages cannot drive the operator's terminal.
 */
void smctl_safe_write(FILE *out, const char *buf, size_t len);
void smctl_safe_printf(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A task from its records in the bucket (cmd/smctl_remote.c), for inspect
 * and replay.  smctl_remote_records: every record of task `task_id` (of
 * `server` when not NULL) under the day folders of the `days` days up to
 * today, oldest run first, as [{"key", "record"}] in *runs; 0, or 1 after
 * saying why on stderr (no credentials, no bucket, ...); *bad is 1 when a
 * record could not be read (named on stderr, the others kept).
 * smctl_remote_find: the same on an open fleet handle, without a word on
 * stderr but for a record that cannot be read: 0 or the SM_E* code with
 * the message in `err` (smctl serve).
 * smctl_remote_run_view: the run view of one of those [{"key", "record"}]
 * (the record's "run" with "source": "bucket", "record_key" and "logs":
 * the spider log of its keys, to fetch), its history cut to the last `last`
 * records (-1: all); NULL out of memory.
 * smctl_inspect_remote: inspect's output of those runs, with the last
 * `log_lines` lines of each spider log; the exit status.
 * smctl_inspect_print: inspect's text view of run views (smctl_inspect.c).
 * smctl_inspect_bucket_logs: the spider logs run views name in the bucket
 * (smd_view.h: {"file", "key", "source": "bucket"}) fetched (a .log.zip of
 * SMCTL_LOG_ZIP_MAX, a log of SMCTL_LOG_MAX at most, each request within
 * SMCTL_LOG_TIMEOUT_MS): their last `max` lines in "lines", or why not in
 * "error"; 0, or SM_ENOMEM.
 */
struct json_t;
int smctl_remote_records(const char *name, const struct rt_config *cfg, int64_t task_id,
    const char *server, long days, struct json_t **runs, int *bad);
struct fl;
struct sm_error;
int smctl_remote_find(struct fl *fl, int64_t task_id, const char *server, long days,
    struct json_t **runs, int *bad, struct sm_error *err);
struct json_t *smctl_remote_run_view(struct json_t *r, long last);
int smctl_inspect_remote(const struct smctl_cmd *cmd, const struct rt_config *cfg, int64_t task_id,
    const char *server, long days, int as_json, long last, long log_lines);
int smctl_inspect_print(struct json_t *runs, long log_lines, FILE *out);
/* inspect --json of run views: the newest run's fields and "runs" */
int smctl_inspect_print_json(struct json_t *runs, FILE *out);
#define SMCTL_REMOTE_DAYS 7 /* --days of --remote */
int smctl_inspect_bucket_logs(const struct rt_config *cfg, struct json_t *runs, long max);
#define SMCTL_LOG_ZIP_MAX (16u << 20) /* a spider log's .log.zip fetched by inspect */
#define SMCTL_LOG_MAX (64u << 20)     /* the log in it */
#define SMCTL_LOG_TIMEOUT_MS 30000    /* the bucket's time to answer inspect */

/* Subcommands defined in other files of cmd/ (smctl_<name>.c). */
int smctl_cmd_inspect(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_inspect_usage[], smctl_inspect_summary[], smctl_inspect_help[];
int smctl_cmd_submit(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_submit_usage[], smctl_submit_summary[], smctl_submit_help[];
int smctl_cmd_replay(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_replay_help[];
/* The fleet commands (smctl_fleet.c, smctl_clean.c; docs/fleet.md). */
#define SMCTL__FLEET_CMDS(X) X(search) X(failed) X(instances) X(stop_flag) X(results) X(clean)
#define SMCTL__FLEET_DECL(n) \
	int smctl_cmd_##n(const struct smctl_cmd *cmd, int argc, char **argv); \
	extern const char smctl_##n##_usage[], smctl_##n##_summary[], smctl_##n##_help[];
SMCTL__FLEET_CMDS(SMCTL__FLEET_DECL)
#undef SMCTL__FLEET_DECL
int smctl_cmd_stats(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_stats_usage[], smctl_stats_summary[], smctl_stats_help[];
int smctl_cmd_serve(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_serve_usage[], smctl_serve_summary[], smctl_serve_help[];

#endif
