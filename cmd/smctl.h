/*
 * smctl.h - what a subcommand of smctl needs.  A subcommand is a run
 * function in cmd/smctl_<name>.c (every cmd/smctl_*.c file is linked into
 * smctl) plus one row in the `commands` table of cmd/smctl.c.
 *
 * run(cmd, argc, argv): argv[0] is the subcommand name; parse options with
 * getopt_long after setting optind = 1; answer --help with
 * smctl_print_help(cmd) and exit status 0.  Return the exit status:
 * 0 success, 1 the command ran and found a failure, 2 (SMCTL_EXIT_USAGE)
 * a usage error (use smctl_usage_error()).
 */
#ifndef SMCTL_H
#define SMCTL_H

#define SMCTL_EXIT_USAGE 2

struct smctl_cmd {
	const char *name;
	const char *usage;    /* arguments after the name */
	const char *summary;  /* one line */
	const char *help;     /* option list and details, ends with a newline */
	int (*run)(const struct smctl_cmd *cmd, int argc, char **argv);
};

extern const char *smctl_progname;

/* Print "smctl NAME: <fmt with arg>" and the usage line on stderr; returns 2. */
int smctl_usage_error(const struct smctl_cmd *cmd, const char *fmt, const char *arg);
/* Print the usage line, summary and help on stdout. */
void smctl_print_help(const struct smctl_cmd *cmd);

/* Subcommands defined in other files of cmd/ (smctl_<name>.c). */
int smctl_cmd_inspect(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_inspect_help[];
int smctl_cmd_replay(const struct smctl_cmd *cmd, int argc, char **argv);
extern const char smctl_replay_help[];

#endif
