/*
 * smctl.c - the operators' tool.  Subcommands are rows of one table
 * (`commands` below): a name, a usage line, a one-line summary, a help
 * text and a run function that gets argv starting at the subcommand name.
 * Adding a command = writing its run function (here or in a new
 * cmd/smctl_<name>.c, see smctl.h) and adding its row.
 *
 * Exit status: 0 success, 1 the command ran and found a failure, 2 usage
 * error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rt_boot.h"
#include "rt_config.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "smctl.h"
#include "store.h"

#define SMCTL_STR_(x) #x
#define SMCTL_STR(x) SMCTL_STR_(x)

#define EXIT_USAGE SMCTL_EXIT_USAGE

const char *smctl_progname = "smctl";
#define progname smctl_progname

int
smctl_usage_error(const struct smctl_cmd *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s %s: ", progname, cmd->name);
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\nusage: %s %s %s\n(see '%s %s --help')\n", progname, cmd->name,
	    cmd->usage, progname, cmd->name);
	return EXIT_USAGE;
}

void
smctl_print_help(const struct smctl_cmd *cmd)
{
	printf("usage: %s %s %s\n\n%s\n\n%s", progname, cmd->name, cmd->usage, cmd->summary,
	    cmd->help);
}

/* ---- check -------------------------------------------------------------- */

/*
 * The action names `smctl check --actions` was given: a machine that invokes
 * any other action is refused, as the daemon would refuse it.
 */
struct check_actions {
	char **names;
	size_t n;
};

static int
check_action_known(void *arg, const char *name)
{
	const struct check_actions *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			return 1;
	return 0;
}

/* Split "a,b c" into names; returns 0 or -1 when out of memory. */
static int
check_actions_add(struct check_actions *a, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");
		if (len > 0) {
			char **v = realloc(a->names, (a->n + 1) * sizeof(*v));
			if (v == NULL)
				return -1;
			a->names = v;
			if ((a->names[a->n] = strndup(p, len)) == NULL)
				return -1;
			a->n++;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	return 0;
}

static int
cmd_check(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "actions", required_argument, NULL, 'a' },
		{ "strict", no_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct check_actions actions = { NULL, 0 };
	struct sm_load_opts lopts;
	int c, i, bad = 0, with_actions = 0, strict = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "a:sh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			strict = 1;
			break;
		case 'a':
			with_actions = 1;
			if (check_actions_add(&actions, optarg) != 0) {
				fprintf(stderr, "%s check: out of memory\n", progname);
				bad = 1;
				goto out;
			}
			break;
		case 'h':
			smctl_print_help(cmd);
			goto out;
		default:
			bad = smctl_usage_error(cmd, "unknown option%s", "");
			goto out;
		}
	}
	if (optind >= argc) {
		bad = smctl_usage_error(cmd, "no machine file given%s", "");
		goto out;
	}
	memset(&lopts, 0, sizeof(lopts));
	if (with_actions) {
		lopts.action_known = check_action_known;
		lopts.action_arg = &actions;
	}
	for (i = optind; i < argc; i++) {
		struct sm_machine *m = NULL;
		struct sm_diags diags = { 0 };
		int rc = sm_machine_load_file(argv[i], &lopts, &m, &diags);

		if (rc != 0) {
			bad = 1;
			if (diags.n == 0)
				fprintf(stderr, "%s: %s\n", argv[i], sm_strerror(rc));
			sm_diags_print(&diags, stderr);
		} else if (strict && diags.n > 0) {
			bad = 1;
			sm_diags_print(&diags, stderr);
			fprintf(stderr,
			    "%s: refused: %zu warning(s), which --strict counts "
			    "as errors\n",
			    argv[i], diags.n);
		} else {
			sm_diags_print(&diags, stderr); /* warnings, if the loader gives any */
			printf("%s: ok\n", argv[i]);
		}
		sm_diags_free(&diags);
		sm_machine_free(m);
	}
out:
	for (size_t k = 0; k < actions.n; k++)
		free(actions.names[k]);
	free(actions.names);
	return bad;
}

/* ---- graph -------------------------------------------------------------- */

static int
cmd_graph(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			smctl_print_help(cmd);
			return 0;
		default:
			return smctl_usage_error(cmd, "unknown option%s", "");
		}
	}
	if (optind != argc - 1)
		return smctl_usage_error(cmd, "give exactly one machine file%s", "");
	rc = sm_machine_load_file(argv[optind], NULL, &m, &diags);
	sm_diags_print(&diags, stderr);
	sm_diags_free(&diags);
	if (rc != 0) {
		if (diags.n == 0)
			fprintf(stderr, "%s: %s\n", argv[optind], sm_strerror(rc));
		return 1;
	}
	rc = sm_machine_graph_dot(m, stdout);
	sm_machine_free(m);
	if (rc != 0 || fflush(stdout) != 0) {
		fprintf(stderr, "%s graph: cannot write the graph to stdout\n", progname);
		return 1;
	}
	return 0;
}

/* ---- simulate ----------------------------------------------------------- */

struct sim {
	struct sm_loop *loop;
	const char *id;
	int done;
	int timed_out;
	int quiet;
	char final_id[128];
};

static void
sim_done(struct sm_engine *e, const char *id, const char *final_id, json_t *donedata,
    void *arg)
{
	struct sim *s = arg;

	(void)donedata;
	if (strcmp(id, s->id) != 0)
		return; /* another instance of the state directory: smd reports it */
	s->done = 1;
	snprintf(s->final_id, sizeof(s->final_id), "%s", final_id ? final_id : "");
	/* acknowledged as the daemon does once it has reported the end */
	sm_engine_forget(e, id);
	sm_loop_stop(s->loop);
}

static void
sim_trace(struct sm_engine *e, const char *id, const char *event, const char *from,
    const char *targets, void *arg)
{
	struct sim *s = arg;

	(void)e;
	if (s->quiet)
		return;
	fprintf(stderr, "%s: [%s] %s -> %s\n", id, event ? event : "", from,
	    targets[0] ? targets : "(targetless)");
}

static void
sim_log(struct sm_engine *e, const char *id, const char *text, void *arg)
{
	struct sim *s = arg;

	(void)e;
	if (!s->quiet)
		fprintf(stderr, "%s: log: %s\n", id, text);
}

static int64_t
sim_watchdog(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct sim *s = arg;

	(void)id;
	s->timed_out = 1;
	sm_loop_stop(loop);
	return -1;
}

struct sim_event {
	char *name;
	json_t *data;
};

/* --action NAME=JSON (done with that result) or NAME!ERROR (fails) */
struct sim_action {
	char *name;
	json_t *result;    /* NULL when it fails */
	char *error;
	struct sim *sim;
};

static int
sim_action_start(struct sm_action_call *call)
{
	struct sim_action *a = sm_action_call_arg(call);

	if (!a->sim->quiet) {
		char *p = json_dumps(sm_action_call_params(call), JSON_COMPACT);

		fprintf(stderr, "%s: action %s (invoke '%s', attempt %d) params %s -> %s%s\n",
		    sm_action_call_instance(call), a->name, sm_action_call_invokeid(call),
		    sm_action_call_attempt(call), p ? p : "?", a->result ? "done" : "fails with ",
		    a->result ? "" : a->error);
		free(p);
	}
	if (a->result)
		return sm_action_done(call, a->result);
	return sm_action_fail(call, a->error, "simulated failure (smctl simulate --action)");
}

static int
parse_action(const char *arg, struct sim_action *a)
{
	size_t n = strcspn(arg, "=!");
	json_error_t jerr;

	memset(a, 0, sizeof(*a));
	if (n == 0 || !arg[n])
		return -1;
	a->name = strndup(arg, n);
	if (arg[n] == '=') {
		a->result = json_loads(arg + n + 1, JSON_DECODE_ANY, &jerr);
		if (!a->result)
			return -1;
	} else {
		a->error = strdup(arg + n + 1);
		if (!a->error[0] || strspn(a->error, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(a->error))
			return -1;
	}
	return 0;
}

/* The (persisted) instance `id` after recovery: 0 none, 1 running, 2 done. */
static int
sim_existing(struct sm_engine *e, const char *id, struct sm_instance_status *st)
{
	if (sm_engine_instance_status(e, id, st) != 0)
		return 0;
	return st->state == SM_INSTANCE_DONE ? 2 : 1;
}

static int
cmd_simulate(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "event", required_argument, NULL, 'e' },
		{ "task", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "action", required_argument, NULL, 'a' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *inst_id = "sim";
	struct rt *rt = NULL;
	struct rt_config cfg;
	struct sim_event *events = NULL;
	struct sim_action *actions = NULL;
	struct sm_action_def *defs = NULL;
	struct smctl_config_args cargs = { 0 };
	size_t nevents = 0, nactions = 0, i;
	json_t *task = NULL;
	int64_t timeout_ms = 60 * 1000;
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	struct sm_engine *e;
	struct sm_instance_status ist;
	struct sm_error err;
	struct sim sim;
	int c, rc, status = 1, persist;

	memset(&sim, 0, sizeof(sim));
	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "he:t:T:qa:d:i:c:o:", opts, &cargs, &status)) !=
	    -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			goto out;
		case 'i':
			inst_id = optarg;
			if (!inst_id[0] || strlen(inst_id) > SM_ENGINE_ID_MAX) {
				status = smctl_usage_error(cmd, "--id wants 1 to %s bytes",
				    SMCTL_STR(SM_ENGINE_ID_MAX));
				goto out;
			}
			break;
		case 'a': {
			struct sim_action *nv = realloc(actions, (nactions + 1) * sizeof(*nv));

			if (!nv) {
				fprintf(stderr, "%s simulate: out of memory\n", progname);
				goto out;
			}
			actions = nv;
			if (parse_action(optarg, &actions[nactions++]) != 0) {
				status = smctl_usage_error(cmd, "--action wants NAME=JSON (succeeds with that "
				    "result) or NAME!ERROR (fails with that error event), not '%s'",
				    optarg);
				goto out;
			}
			break;
		}
		case 'e': {
			char *eq = strchr(optarg, '=');
			struct sim_event *nv = realloc(events, (nevents + 1) * sizeof(*nv));
			json_error_t jerr;

			if (!nv) {
				fprintf(stderr, "%s simulate: out of memory\n", progname);
				goto out;
			}
			events = nv;
			events[nevents].data = NULL;
			events[nevents].name = eq ? strndup(optarg, (size_t)(eq - optarg))
			    : strdup(optarg);
			nevents++;
			if (!events[nevents - 1].name || !events[nevents - 1].name[0]) {
				status = smctl_usage_error(cmd, "--event needs a name: '%s'", optarg);
				goto out;
			}
			if (eq) {
				events[nevents - 1].data = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
				if (!events[nevents - 1].data) {
					fprintf(stderr, "%s simulate: --event '%s': data is not json: %s "
					    "(column %d)\n", progname, optarg, jerr.text, jerr.column);
					status = EXIT_USAGE;
					goto out;
				}
			}
			break;
		}
		case 't': {
			json_error_t jerr;

			json_decref(task);
			task = json_loads(optarg, 0, &jerr);
			if (!task || !json_is_object(task)) {
				fprintf(stderr, "%s simulate: --task must be a json object: %s\n",
				    progname, task ? "got another json type" : jerr.text);
				status = EXIT_USAGE;
				goto out;
			}
			break;
		}
		case 'T':
			if (smctl_timeout_parse(optarg, &timeout_ms) != 0) {
				status = smctl_usage_error(cmd,
				    "--timeout wants " SMCTL_TIMEOUT_HINT ", not '%s'", optarg);
				goto out;
			}
			break;
		case 'q':
			sim.quiet = 1;
			break;
		}
	}
	if (optind != argc - 1) {
		status = smctl_usage_error(cmd, "give exactly one machine file%s", "");
		goto out;
	}

	/* the daemon's configuration: defaults, file, SMD_* environment, -o, then -d */
	if ((status = smctl_config_load(cmd, &cfg, &cargs)) != 0)
		goto out;
	status = 1;
	persist = smctl_config_has_state_dir(&cfg);

	rc = sm_machine_load_file(argv[optind], NULL, &m, &diags);
	sm_diags_print(&diags, stderr);
	if (rc != 0) {
		if (diags.n == 0)
			fprintf(stderr, "%s: %s\n", argv[optind], sm_strerror(rc));
		goto out;
	}
	/* the daemon's bootstrap: loop, state directory (its lock), store, engine */
	if (rt_open(&rt, &cfg, RT_NO_TRANSPORT | (persist ? 0 : RT_VOLATILE), &err) != 0) {
		fprintf(stderr, "%s simulate: %s\n", progname, err.msg);
		goto out;
	}
	e = rt_engine(rt);
	sim.loop = rt_loop(rt);
	sim.id = inst_id;
	if (nactions && !(defs = calloc(nactions, sizeof(*defs)))) {
		fprintf(stderr, "%s simulate: out of memory\n", progname);
		goto out;
	}
	for (i = 0; i < nactions; i++) {
		defs[i] = (struct sm_action_def){ actions[i].name, sim_action_start, NULL, &actions[i] };
		actions[i].sim = &sim;
	}
	if (rt_register_actions(rt, defs, nactions, &err) != 0) {
		status = smctl_usage_error(cmd, "--action: %s", err.msg);
		goto out;
	}
	sm_engine_add_machine(e, m);
	sm_engine_on_done(e, sim_done, &sim);
	sm_engine_on_trace(e, sim_trace, &sim);
	sm_engine_on_log(e, sim_log, &sim);
	/* what the daemon does at start: every unfinished instance runs on */
	if (rt_recover(rt, &err) != 0) {
		fprintf(stderr, "%s simulate: %s\n", progname, err.msg);
		goto out;
	}
	switch (sim_existing(e, inst_id, &ist)) {
	case 2:
		/* finished before (perhaps killed before it could say so): an end
		 * not acknowledged yet is reported again at this flush */
		sm_engine_flush(e, NULL);
		fprintf(stderr, "%s simulate: instance '%s' had already finished\n", progname,
		    inst_id);
		printf("%s\n", ist.final_id);
		status = ist.final_id[0] ? 0 : 1;
		goto out;
	case 1:
		fprintf(stderr, "%s simulate: instance '%s' resumed from its last commit "
		    "(--task and --event apply to a new instance only)\n", progname, inst_id);
		break;
	default:
		if (sm_engine_start(e, m, inst_id, task, &err) != 0) {
			fprintf(stderr, "%s simulate: %s\n", progname, err.msg);
			goto out;
		}
		for (i = 0; i < nevents; i++)
			sm_engine_post(e, inst_id, events[i].name, events[i].data);
	}
	if (!sm_loop_timer_add(sim.loop, timeout_ms, sim_watchdog, &sim)) {
		fprintf(stderr, "%s simulate: out of memory\n", progname);
		goto out;
	}
	rc = sm_engine_flush(e, &err);
	if (!sim.done)
		rc = sm_loop_run(sim.loop);
	if (rc != 0)
		fprintf(stderr, "%s simulate: event loop failed: %s\n", progname, sm_strerror(rc));
	if (sim.done) {
		printf("%s\n", sim.final_id);
		status = sim.final_id[0] ? 0 : 1;
	} else {
		json_t *conf = sm_engine_instance_config(e, inst_id);
		char *txt = conf ? json_dumps(conf, JSON_COMPACT) : NULL;

		fprintf(stderr, "%s simulate: no final state reached%s; active states: %s\n", progname,
		    sim.timed_out ? " before the timeout (--timeout)" : "", txt ? txt : "?");
		free(txt);
		json_decref(conf);
		status = 1;
	}
out:
	rt_close(rt); /* flushes: what reached the store stays consistent */
	rt_config_free(&cfg);
	sm_machine_free(m);
	sm_diags_free(&diags);
	for (i = 0; i < nevents; i++) {
		free(events[i].name);
		json_decref(events[i].data);
	}
	free(events);
	for (i = 0; i < nactions; i++) {
		free(actions[i].name);
		json_decref(actions[i].result);
		free(actions[i].error);
	}
	free(actions);
	free(defs);
	smctl_config_args_free(&cargs);
	json_decref(task);
	return status;
}

/* ---- the table ---------------------------------------------------------- */

static const struct smctl_cmd commands[] = {
	{ "check", "[--actions NAMES]... [--strict] FILE...", "validate machine files",
	    "Loads each SCXML machine file, prints every problem as 'file:line: message'\n"
	    "on stderr and 'FILE: ok' on stdout for each file that loads.  Exits 1 if\n"
	    "any file was refused.  Warnings ('file:line: warning: ...') do not refuse\n"
	    "a file: what SCXML makes an error at run time (a send to target \"baz\",\n"
	    "an assignment to _event, ...), a state never entered, a machine that\n"
	    "cannot reach a <final> (smd refuses those).\n"
	    "\n"
	    "  -a, --actions NAMES  the registered action names (comma or space separated,\n"
	    "                       repeatable): an invoke of any other action is refused.\n"
	    "                       Without it, action names are not checked.\n"
	    "  -s, --strict         refuse a file that has warnings too\n",
	    cmd_check },
	{ "graph", "FILE", "print a machine as a Graphviz DOT graph",
	  "Writes the machine's states and transitions as DOT on stdout, e.g.\n"
	  "  smctl graph machines/task.scxml | dot -Tsvg > task.svg\n",
	  cmd_graph },
	{ "simulate", "[--event NAME[=JSON]]... [--action NAME=JSON|NAME!ERROR]... [--task JSON] "
	  "[--timeout DURATION] [--state-dir DIR [--id ID]] [--config FILE] [-o KEY=VALUE]... "
	  "[-q] FILE",
	  "run a machine alone, with real timers",
	  "Runs FILE as one instance (persisted only with a state directory).  Each\n"
	  "transition is printed on stderr as 'instance: [event] source -> targets',\n"
	  "<log> lines too.  The last line on stdout is the id of the top-level final\n"
	  "state reached.\n"
	  "\n"
	  "With a state directory it starts as smd does: it takes the directory's lock\n"
	  "(refused while smd or another simulate holds it), commits with the\n"
	  "configured durability (full by default) and recovers what the directory\n"
	  "holds.  If instance ID is there unfinished (a run that was killed), it runs\n"
	  "on from its last commit (--task and --event apply to a new instance only);\n"
	  "if it had finished, its final state is printed.\n"
	  "\n"
	  "  -e, --event NAME[=JSON]  queue an external event (in order) after start\n"
	  "  -a, --action NAME=JSON   the action NAME succeeds with that result\n"
	  "  -a, --action NAME!ERROR  the action NAME fails with that error event\n"
	  "                           (its sm: retry policy applies, with real delays);\n"
	  "                           actions not given are not registered and fail\n"
	  "  -t, --task JSON          the task message (datamodel=\"task\": `task`)\n"
	  "  -T, --timeout DURATION   give up after DURATION (default 60s): 1ms to 24h,\n"
	  "                           e.g. 30s, 500ms, 2m; a bare number is seconds\n"
	  "                           (30, 0.3); no sign, exponent or blanks\n"
	  "  -q, --quiet              do not print transitions and log lines\n"
	  "  -d, --state-dir DIR      persist the run in DIR (new or existing), so that\n"
	  "                           'smctl inspect -d DIR ID' shows it; the same as\n"
	  "                           -o state_dir=DIR, and wins over it\n"
	  "  -i, --id ID              the instance id (default 'sim')\n"
	  "  -c, --config FILE        smd's configuration file (state_dir, durability...)\n"
	  "  -o, --option KEY=VALUE   a configuration key, after the file and the SMD_*\n"
	  "                           environment (docs/configuration.md)\n"
	  "\n"
	  "Exit status: 0 when a final state was reached, 1 otherwise.\n",
	  cmd_simulate },
	{ "inspect", smctl_inspect_usage, smctl_inspect_summary, smctl_inspect_help,
	  smctl_cmd_inspect },
	{ "submit", smctl_submit_usage, smctl_submit_summary, smctl_submit_help,
	  smctl_cmd_submit },
	{ "replay", "[--state-dir DIR] [--from-start] [--no-wait] [--timeout D] [--config FILE] "
	  "[-o KEY=VALUE]... [-v] TASK_ID", "run a failed task again, from the step that failed",
	  smctl_replay_help, smctl_cmd_replay },
	{ "search", smctl_search_usage, smctl_search_summary, smctl_search_help,
	  smctl_cmd_search },
	{ "failed", smctl_failed_usage, smctl_failed_summary, smctl_failed_help,
	  smctl_cmd_failed },
	{ "instances", smctl_instances_usage, smctl_instances_summary, smctl_instances_help,
	  smctl_cmd_instances },
	{ "stop-flag", smctl_stop_flag_usage, smctl_stop_flag_summary, smctl_stop_flag_help,
	  smctl_cmd_stop_flag },
	{ "results", smctl_results_usage, smctl_results_summary, smctl_results_help,
	  smctl_cmd_results },
	{ "clean", smctl_clean_usage, smctl_clean_summary, smctl_clean_help, smctl_cmd_clean },
	{ "stats", smctl_stats_usage, smctl_stats_summary, smctl_stats_help, smctl_cmd_stats },
	{ "serve", smctl_serve_usage, smctl_serve_summary, smctl_serve_help, smctl_cmd_serve },
};

static void
print_help(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: %s [-c FILE] COMMAND [ARGS...]\n       %s COMMAND --help\n\n"
	    "  -c, --config FILE  smd's configuration file, for the commands that read it\n"
	    "\ncommands:\n",
	    progname, progname);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
main(int argc, char **argv)
{
	size_t i;

	sm_log_init(stderr, SM_LOG_WARN, "smctl");
	/* smctl -c FILE COMMAND ...: the configuration of every command */
	while (argc > 1 &&
	    (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0 ||
	        strncmp(argv[1], "--config=", 9) == 0)) {
		if (strncmp(argv[1], "--config=", 9) == 0) {
			smctl_config_file = argv[1] + 9;
			argc--;
			argv++;
			continue;
		}
		if (argc < 3) {
			fprintf(stderr, "%s: %s wants a file\n", progname, argv[1]);
			print_help(stderr);
			return EXIT_USAGE;
		}
		smctl_config_file = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2) {
			for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
				if (strcmp(commands[i].name, argv[2]) == 0) {
					smctl_print_help(&commands[i]);
					return 0;
				}
			}
		}
		print_help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(&commands[i], argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", progname, argv[1]);
	print_help(stderr);
	return EXIT_USAGE;
}
