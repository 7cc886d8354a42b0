/*
 * smctl_submit.c - `smctl submit`: send a task message to an incoming
 * queue, as the UI server does, after checking it with the daemon's own
 * validator (act_validate: act_task_parse and the names), so that a
 * message smd would fail is refused here with the same reason.  Works on
 * either backend while smd runs: on the local one the queues live in the
 * state directory's store, and rt_open(RT_CLIENT) opens it beside the
 * daemon without the lock (rt_boot.h; docs/local-backend.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "act_ctx.h"
#include "act_names.h"
#include "act_task.h"
#include "act_validate.h"
#include "rt_boot.h"
#include "rt_config.h"
#include "sm_err.h"
#include "sm_loop.h"
#include "smctl.h"
#include "transport.h"

/* How long a submit may take (credentials, a queue created, retries). */
#define SUBMIT_TIMEOUT_MS 120000

/*
 * The outputs' names depend on the daemon that receives the task (its
 * instance id) and when: unknown here.  The validator still builds them
 * (and they cannot fail for a message it accepts); this stands in for the
 * instance id.
 */
static const char placeholder_instance[ACT_INSTANCE_LEN + 1] = "0000000000000000000000000000";

const char smctl_submit_usage[] =
    "[-c FILE] [-d DIR] [--queue NAME] [-o KEY=VALUE]... JSON|@FILE|-";
const char smctl_submit_summary[] = "send a task message to an incoming queue";
const char smctl_submit_help[] =
    "Checks the task message with smd's own validator and sends it to an\n"
    "incoming queue of the configured backend: the local queues of the state\n"
    "directory (created if missing; smd may be running: it is woken at once),\n"
    "or SQS with the credentials of the standard AWS chain.  A message smd would\n"
    "fail (not JSON, a missing or bad field: contract section 2) is not sent;\n"
    "the reason is the one smd would report.  Prints the message id.\n"
    "\n"
    "The message is JSON on the command line, @FILE (read from FILE) or - (read\n"
    "from stdin), at most 256 KiB, sent as given.\n"
    "\n"
    "  -c, --config FILE     smd's configuration file (backend, state_dir, queues,\n"
    "                        ...); the SMD_* environment applies too\n"
    "  -d, --state-dir DIR   the state directory (local backend), wins over the\n"
    "                        configuration\n"
    "  -q, --queue NAME      the queue (default: the configuration's first and\n"
    "                        highest-priority incoming queue); created if missing\n"
    "  -o, --option KEY=VALUE  a configuration key (docs/configuration.md), e.g.\n"
    "                        -o backend=aws\n"
    "\n"
    "Exit status: 0 sent (the message id on stdout); 1 refused by the\n"
    "validator, unreadable input, or the send failed; 2 usage error or a\n"
    "refused configuration.\n";

/* The message: the argument itself, @FILE or - (stdin); malloc'd, *len. */
static char *
read_message(const char *arg, size_t *len)
{
	FILE *fp;
	char *buf;
	size_t n = 0, cap = ACT_TASK_MAX_BYTES + 2;

	if (strcmp(arg, "-") != 0 && arg[0] != '@') {
		*len = strlen(arg);
		return strdup(arg);
	}
	fp = strcmp(arg, "-") == 0 ? stdin : fopen(arg + 1, "rb");
	if (!fp) {
		fprintf(stderr, "%s submit: cannot read '%s': %s\n", smctl_progname, arg + 1,
		    strerror(errno));
		return NULL;
	}
	/* one byte over the limit is enough for the validator to refuse it */
	buf = malloc(cap);
	if (buf)
		n = fread(buf, 1, cap - 1, fp);
	if (buf && ferror(fp)) {
		fprintf(stderr, "%s submit: cannot read '%s': %s\n", smctl_progname,
		    fp == stdin ? "stdin" : arg + 1, strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (fp != stdin)
		fclose(fp);
	if (!buf)
		return NULL;
	buf[n] = 0;
	*len = n;
	return buf;
}

struct sub {
	int done;
	int code;
	char message[SM_ERROR_MSG_MAX];
	char *url;
	char *message_id;
};

static void
on_url(void *arg, int code, const char *message, const char *url)
{
	struct sub *s = arg;

	s->done = 1;
	s->code = code;
	snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
	if (code == 0 && !(s->url = strdup(url)))
		s->code = SM_ENOMEM;
}

static void
on_sent(void *arg, const struct tp_result *r, const char *message_id)
{
	struct sub *s = arg;

	s->done = 1;
	s->code = r->code;
	snprintf(s->message, sizeof(s->message), "%s", r->message ? r->message : "");
	if (r->code == 0 && !(s->message_id = strdup(message_id ? message_id : "")))
		s->code = SM_ENOMEM;
}

/* Run the loop until the operation in `s` is done. */
static int
wait_for(struct tp *tp, struct sub *s)
{
	int rc = tp_wait(tp, &s->done, SUBMIT_TIMEOUT_MS);

	if (rc != 0 && !s->done) {
		s->code = rc;
		snprintf(s->message, sizeof(s->message), "no answer within %d s",
		    SUBMIT_TIMEOUT_MS / 1000);
	}
	return s->code;
}

/*
 * The daemon's verdict on `body` (the envelope as smd makes it, the body
 * unchecked, as it comes from a queue): 0 when it is good, else 1 and the
 * reason in `reason`.
 */
static int
validate(const struct rt_config *cfg, const char *body, size_t len, char *reason, size_t size)
{
	struct act_ctx ctx;
	json_t *env = json_object(), *res = NULL;
	int bad = 1;

	act_ctx_init(&ctx);
	ctx.instance_id = placeholder_instance;
	ctx.started_ms = sm_time_wall_ms();
	ctx.bucket = cfg->bucket;
	ctx.output_queue_suffix = cfg->output_queue_suffix;
	ctx.progress_queue_suffix = cfg->progress_queue_suffix;
	ctx.default_branch = cfg->default_branch;
	if (env && json_object_set_new(env, "body", json_stringn_nocheck(body, len)) == 0 &&
	    json_object_set_new(env, "receive_count", json_integer(1)) == 0 &&
	    json_object_set_new(env, "received_ms", json_integer(ctx.started_ms)) == 0)
		res = act_validate_run(&ctx, env);
	if (!res)
		snprintf(reason, size, "out of memory");
	else if (json_is_true(json_object_get(res, "ok")))
		bad = 0;
	else
		snprintf(reason, size, "%s",
		    json_string_value(json_object_get(res, "reason")) ?: "refused");
	json_decref(env);
	json_decref(res);
	act_ctx_clear(&ctx);
	return bad;
}

int
smctl_cmd_submit(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "queue", required_argument, NULL, 'q' },
		{ "option", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *queue = NULL, *url = NULL;
	char *body = NULL, reason[SM_ERROR_MSG_MAX + 64];
	struct smctl_config_args cargs = { 0 };
	size_t len = 0;
	struct rt_config cfg;
	struct rt *rt = NULL;
	struct act_ctx ctx;
	struct sm_error err;
	struct sub s;
	uint64_t handle = 0;
	int c, rc, status = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&s, 0, sizeof(s));
	act_ctx_init(&ctx);
	optind = 1;
	while ((c = smctl_getopt(cmd, argc, argv, "hc:d:q:o:", opts, &cargs, &status)) != -1) {
		switch (c) {
		case SMCTL_OPT_STOP:
			goto out;
		case 'q':
			queue = optarg;
			break;
		}
	}
	if (optind != argc - 1) {
		status = smctl_usage_error(cmd, "give exactly one message: JSON, @FILE or -%s", "");
		goto out;
	}
	if ((status = smctl_config_load(cmd, &cfg, &cargs)) != 0)
		goto out;
	status = 1;
	if (queue && !*queue) {
		status = smctl_usage_error(cmd, "--queue wants a queue name%s", "");
		goto out;
	}
	if (!queue)
		queue = cfg.queues[0];
	if (!(body = read_message(argv[optind], &len)))
		goto out;
	if (validate(&cfg, body, len, reason, sizeof(reason)) != 0) {
		fprintf(stderr, "%s submit: not sent: %s\n", smctl_progname, reason);
		goto out;
	}
	sm_error_clear(&err);
	if (rt_open(&rt, &cfg, RT_CLIENT, &err) != 0) {
		fprintf(stderr, "%s submit: %s\n", smctl_progname, err.msg);
		goto out;
	}
	ctx.loop = rt_loop(rt);
	ctx.tp = rt_transport(rt);
	/* the queue's URL, created when missing as smd creates its queues */
	rc = act_ctx_queue_url(&ctx, queue, &url, on_url, &s, &handle);
	if (rc == 0 && wait_for(ctx.tp, &s) == 0)
		url = s.url;
	else if (rc != 1) {
		fprintf(stderr, "%s submit: cannot find or create queue '%s': %s\n", smctl_progname,
		    queue, rc < 0 ? sm_strerror(rc) : s.message);
		goto out;
	}
	s.done = 0;
	if ((rc = tp_queue_send(ctx.tp, url, body, 0, on_sent, &s, NULL)) != 0 ||
	    wait_for(ctx.tp, &s) != 0) {
		fprintf(stderr, "%s submit: cannot send to queue '%s': %s\n", smctl_progname, queue,
		    rc ? sm_strerror(rc) : s.message);
		goto out;
	}
	printf("%s\n", s.message_id);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	rt_close(rt);
	act_ctx_clear(&ctx);
	rt_config_free(&cfg);
	free(s.url);
	free(s.message_id);
	free(body);
	smctl_config_args_free(&cargs);
	return status;
}
