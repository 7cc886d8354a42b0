/*
 * smctl_clean.c - `smctl clean`: empty an instance's state directory before
 * a machine image is made from it, so that every machine started from the
 * image makes its own instance id, store and queues.  The writer's lock
 * (common/sm_statedir) is taken first: a running smd holds it, and clean
 * is refused; while clean runs no smd can start.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_config.h"
#include "sm_statedir.h"
#include "smctl.h"

const char smctl_clean_usage[] = "[-c FILE] [-d DIR] [-o KEY=VALUE]... [--yes]";
const char smctl_clean_summary[] = "empty a state directory for a new machine image";
const char smctl_clean_help[] =
    "Removes everything in the state directory but its lock file: the instance\n"
    "id, the store (task records, local queues), the local bucket's objects,\n"
    "work directories and branch worktrees.  The next smd started there makes a\n"
    "new instance id, as a machine started from an image must.  Refused while a\n"
    "daemon (or another writer) holds the directory's lock: stop smd first.\n"
    "Asks for confirmation on a terminal; elsewhere --yes is required.\n"
    "\n"
    "  -c, --config FILE     smd's configuration file (its state_dir)\n"
    "  -d, --state-dir DIR   the state directory, wins over the configuration\n"
    "  -o, --option KEY=VALUE  a configuration key\n"
    "  -y, --yes             do not ask\n"
    "\n"
    "Exit status: 0 emptied; 1 refused (a daemon holds the lock, not confirmed)\n"
    "or a removal failed; 2 usage error or a refused configuration.\n";

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT) {
		fprintf(stderr, "%s clean: cannot remove '%s': %s\n", smctl_progname, path,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* Remove every entry of `dir` but the lock file. */
static int
empty_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char *path;
	int bad = 0, n = 0;

	if (d == NULL) {
		fprintf(stderr, "%s clean: cannot read '%s': %s\n", smctl_progname, dir,
		    strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, SM_STATEDIR_LOCK) == 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			bad = 1;
			break;
		}
		if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
			bad = 1;
		else
			n++;
		free(path);
	}
	closedir(d);
	if (!bad)
		printf("emptied %s (%d entries removed)\n", dir, n);
	return bad;
}

/*
 * 1 if `dir` looks like a state directory (docs/statedir.md): it holds its
 * lock file or instance id, and nothing but the entries of the layout.  A
 * directory given by mistake (`/`, $HOME, a project) is refused before the
 * lock is taken (which would create entries there) and before anything is
 * removed, with the first entry that does not belong named.
 */
static int
is_state_dir(const char *dir)
{
	static const char *const layout[] = { SM_STATEDIR_LOCK, SM_STATEDIR_INSTANCE_ID,
		SM_STATEDIR_INSTANCE_ID ".tmp", SM_STATEDIR_STORE, SM_STATEDIR_OBJECTS,
		SM_STATEDIR_NOTIFY, SM_STATEDIR_WORK, SM_STATEDIR_CONTROL, SM_STATEDIR_BRANCHES,
		SM_STATEDIR_LOG };
	struct dirent *de;
	DIR *d = opendir(dir);
	int marked = 0, foreign = 0;
	size_t i;

	if (d == NULL) {
		fprintf(stderr, "%s clean: cannot read '%s': %s\n", smctl_progname, dir,
		    strerror(errno));
		return 0;
	}
	while (!foreign && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; i < sizeof(layout) / sizeof(layout[0]); i++)
			if (strcmp(de->d_name, layout[i]) == 0)
				break;
		if (i == sizeof(layout) / sizeof(layout[0])) {
			fprintf(stderr,
			    "%s clean: refused: '%s' is not a state directory: it holds '%s', "
			    "which smd never makes (give the state directory with -d DIR)\n",
			    smctl_progname, dir, de->d_name);
			foreign = 1;
		} else if (i < 2) {
			marked = 1;
		}
	}
	closedir(d);
	if (!foreign && !marked)
		fprintf(stderr,
		    "%s clean: refused: '%s' is not a state directory: it has no '%s' nor '%s' "
		    "(give the state directory with -d DIR)\n",
		    smctl_progname, dir, SM_STATEDIR_INSTANCE_ID, SM_STATEDIR_LOCK);
	return !foreign && marked;
}

static int
confirm(const char *dir)
{
	char line[16];

	fprintf(
	    stderr, "remove the instance id, store, queues, objects and work of %s? [y/N] ", dir);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int
smctl_cmd_clean(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "option", required_argument, NULL, 'o' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct smctl_config_args cargs = { 0 };
	struct sm_statedir *sd = NULL;
	struct rt_config cfg;
	struct sm_error err;
	struct stat st;
	int c, yes = 0, status = 1;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "hc:d:o:y", opts, &cargs, &status)) != -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			goto out;
		case 'y':
			yes = 1;
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
	if (stat(cfg.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		    "%s clean: no state directory '%s': give it with -d DIR or -c FILE\n",
		    smctl_progname, cfg.state_dir);
		goto out;
	}
	if (!is_state_dir(cfg.state_dir))
		goto out;
	sm_error_clear(&err);
	/* the lock first: no daemon runs there, and none starts while we work */
	if (sm_statedir_open(&sd, cfg.state_dir, SM_STATEDIR_WRITE, &err) != 0) {
		fprintf(stderr, "%s clean: refused: %s\n", smctl_progname, err.msg);
		goto out;
	}
	if (!yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr,
		    "%s clean: refused: give --yes to empty '%s' (no terminal to ask on)\n",
		    smctl_progname, cfg.state_dir);
		goto out;
	}
	if (!yes && !confirm(cfg.state_dir)) {
		fprintf(stderr, "%s clean: nothing removed\n", smctl_progname);
		goto out;
	}
	status = empty_dir(cfg.state_dir);
	if (status == 0)
		status = fflush(stdout) == 0 ? 0 : 1;
out:
	sm_statedir_close(sd);
	rt_config_free(&cfg);
	smctl_config_args_free(&cargs);
	return status;
}
