/*
 * smctl_config.c - smd's configuration as the subcommands of smctl read
 * it (runtime/rt_config): the defaults, the file (-c FILE, before or after
 * the command name), the SMD_* environment, -o KEY=VALUE, then -d DIR as
 * the last word on state_dir; and the options that the commands reading it
 * share (-h, -c, -d, -o).  See smctl.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "rt_config.h"
#include "smctl.h"

const char *smctl_config_file;

int
smctl_config_arg(const struct smctl_cmd *cmd, struct smctl_config_args *args, int c, char *arg)
{
	char **nv;

	switch (c) {
	case 'c':
		args->file = arg;
		return 0;
	case 'd':
		args->state_dir = arg;
		return 0;
	default:
		nv = realloc(args->opts, (args->nopts + 1) * sizeof(*nv));
		if (!nv) {
			fprintf(stderr, "%s %s: out of memory\n", smctl_progname, cmd->name);
			return 1;
		}
		args->opts = nv;
		args->opts[args->nopts++] = arg;
		return 0;
	}
}

void
smctl_config_args_free(struct smctl_config_args *args)
{
	free(args->opts);
	args->opts = NULL;
	args->nopts = 0;
}

int
smctl_config_load(
    const struct smctl_cmd *cmd, struct rt_config *cfg, const struct smctl_config_args *args)
{
	struct sm_error err;
	char *kv = NULL;
	int rc;

	sm_error_clear(&err);
	if (rt_config_init(cfg) != 0) {
		fprintf(stderr, "%s %s: out of memory\n", smctl_progname, cmd->name);
		return 1;
	}
	if (rt_config_load(cfg, args->file ? args->file : smctl_config_file, NULL, args->opts,
	        args->nopts, &err) != 0) {
		fprintf(stderr, "%s %s: the configuration is refused:\n%s\n", smctl_progname,
		    cmd->name, err.msg);
		return SMCTL_EXIT_USAGE;
	}
	if (!args->state_dir)
		return 0;
	if (asprintf(&kv, "state_dir=%s", args->state_dir) < 0) {
		fprintf(stderr, "%s %s: out of memory\n", smctl_progname, cmd->name);
		return 1;
	}
	rc = rt_config_set_option(cfg, kv, &err);
	free(kv);
	if (rc != 0)
		return smctl_usage_error(cmd, "--state-dir: %s", err.msg);
	return 0;
}

int
smctl_config_has_state_dir(const struct rt_config *cfg)
{
	return (cfg->set & ((uint64_t)1 << RT_KEY_state_dir)) != 0;
}

int
smctl_getopt(const struct smctl_cmd *cmd, int argc, char **argv, const char *shortopts,
    const struct option *longopts, struct smctl_config_args *args, int *status)
{
	int c;

	for (;;) {
		switch ((c = getopt_long(argc, argv, shortopts, longopts, NULL))) {
		case 'h':
			smctl_print_help(cmd);
			*status = 0;
			return SMCTL_OPT_STOP;
		case 'c':
		case 'd':
		case 'o':
			if (smctl_config_arg(cmd, args, c, optarg) != 0) {
				*status = 1;
				return SMCTL_OPT_STOP;
			}
			break;
		case '?':
			*status = smctl_usage_error(cmd, "unknown option%s", "");
			return SMCTL_OPT_STOP;
		default:
			return c;
		}
	}
}
