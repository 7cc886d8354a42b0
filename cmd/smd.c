/*
 * smd.c - the task daemon's main: parse argv, run the daemon (daemon/smd.h).
 *
 *   smd [-c FILE] [-o key=value]... [--exit-when-idle] [-q]
 *   smd [-c FILE] [-o key=value]... --print-config
 *
 * Exit status: 0 after a clean stop, 1 when smd could not start or failed,
 * 2 for a usage error (including a bad configuration).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_config.h"
#include "sm_err.h"
#include "sm_log.h"
#include "smd.h"

#define SMD_USAGE \
	"usage: smd [-c FILE] [-o key=value]... [--exit-when-idle] [-q]\n" \
	"       smd [-c FILE] [-o key=value]... --print-config\n"

static const char help[] =
    SMD_USAGE
    "\n"
    "Take scraping tasks from the queues and run each through machines/task.scxml.\n"
    "\n"
    "  -c, --config FILE    configuration file (key = value lines, # comments)\n"
    "  -o, --option K=V     set one key (after the file and SMD_<KEY> variables)\n"
    "      --exit-when-idle exit 0 once no task runs and every queue answered empty\n"
    "  -q, --quiet          log only to <state_dir>/smd.log, not to stderr\n"
    "      --print-config   print the configuration these sources give, every key\n"
    "                       as 'key = value', and exit\n"
    "  -h, --help           this text\n"
    "      --version        the version\n"
    "\n"
    "Signals: TERM/INT drain and stop; HUP reads the configuration and machines again.\n"
    "Keys and defaults: docs/configuration.md, smd(8); operation: docs/operations.md.\n";

/*
 * --print-config: load the sources as smd_run does (the file, SMD_<KEY>, the
 * -o options) and print the result in the file's syntax.  Opens nothing.
 */
static int
print_config(const char *file, char *const *kv, size_t nkv)
{
	struct rt_config cfg;
	struct sm_error err;
	int rc;

	sm_error_clear(&err);
	if (rt_config_init(&cfg) != 0) {
		fputs("smd: out of memory\n", stderr);
		rt_config_free(&cfg);
		return 1;
	}
	rc = rt_config_load(&cfg, file, NULL, kv, nkv, &err);
	if (rc != 0) {
		/* the exit status smd would give: 2 refused, 1 unreadable */
		fprintf(stderr, "smd: the configuration is refused:\n%s\n", err.msg);
		rt_config_free(&cfg);
		return rc == SM_EPARSE ? 2 : 1;
	}
	rc = rt_config_write(&cfg, stdout);
	rt_config_free(&cfg);
	if (rc != 0 || fflush(stdout) != 0) {
		fputs("smd: cannot write the configuration to stdout\n", stderr);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ "exit-when-idle", no_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "print-config", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct smd_options o = { 0 };
	char **kv = calloc((size_t)argc + 1, sizeof(char *));
	size_t nkv = 0;
	struct sm_error err;
	int c, rc, dump = 0;

	if (!kv)
		return 1;
	o.log_stderr = 1;
	while ((c = getopt_long(argc, argv, "c:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_file = optarg;
			break;
		case 'o':
			kv[nkv++] = optarg;
			break;
		case 'x':
			o.exit_when_idle = 1;
			break;
		case 'q':
			o.log_stderr = 0;
			break;
		case 'P':
			dump = 1;
			break;
		case 'h':
			fputs(help, stdout);
			free(kv);
			return 0;
		case 'V':
			printf("smd 0.1.0\n");
			free(kv);
			return 0;
		default:
			fputs(SMD_USAGE "(see 'smd --help')\n", stderr);
			free(kv);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smd: unexpected argument '%s'\n" SMD_USAGE, argv[optind]);
		free(kv);
		return 2;
	}
	if (dump) {
		rc = print_config(o.config_file, kv, nkv);
		free(kv);
		return rc;
	}
	o.opts = kv;
	o.nopts = nkv;
	sm_log_init(NULL, SM_LOG_INFO, "smd");
	sm_error_clear(&err);
	rc = smd_run(&o, &err);
	free(kv);
	if (rc != 0) {
		fprintf(stderr, "smd: %s\n", err.msg[0] ? err.msg : sm_strerror(rc));
		return rc == SM_EPARSE ? 2 : 1;
	}
	return 0;
}
