/*
 * smd.c - the task daemon: state directory, store, loop, transport, the
 * two engines (persisted tasks, volatile daemon lifecycle), the index of
 * tasks and the messages in flight, signals.  Design: docs/daemon.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "act_beat.h"
#include "act_cache.h"
#include "act_ctx.h"
#include "act_flag.h"
#include "act_logup.h"
#include "act_names.h"
#include "act_queue.h"
#include "act_report.h"
#include "act_task.h"
#include "act_upload.h"
#include "act_validate.h"
#include "rt_boot.h"
#include "rt_config.h"
#include "sm_digest.h"
#include "sm_engine.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "sm_statedir.h"
#include "smd.h"
#include "smd_control.h"
#include "smd_index.h"
#include "smd_private.h"
#include "smd_replay.h"
#include "smd_view.h"
#include "store.h"
#include "transport.h"

#define SMD_DAEMON_ID "daemon"
/* After releasing the tasks left at the end of shutdown_grace, how long to
 * wait for their releases before exiting anyway (recovery finishes them). */
#define SMD_RELEASE_WAIT_MS 15000
/* At a clean stop, how long the task records not uploaded yet may take
 * before smd stops anyway (they stay pending for the next start). */
#define SMD_RECORD_FLUSH_MS 10000

/* A task in flight: one per running task instance (a replay has no
 * message: queue_url and receipt NULL). */
struct flight {
	struct flight *next;
	char id[SMD_INDEX_ID_SIZE];
	char *queue_url;
	char *receipt;
};

/* Every machine version loaded since start: instances keep theirs. */
struct machine_ref {
	struct machine_ref *next;
	struct sm_machine *m;
};

struct smd {
	struct rt_config cfg;           /* the values in force (a copy owned here) */
	struct rt_config *old_cfgs[32]; /* replaced by SIGHUP, kept for borrowed strings */
	size_t nold;
	const struct smd_options *opt;
	struct rt *rt; /* the bootstrap: owns what follows */
	struct sm_statedir *sd;
	struct store *store;
	struct sm_loop *loop;
	struct tp *tp;
	struct sm_engine *tasks; /* persisted (rt's engine) */
	struct sm_engine *life;  /* volatile: daemon.scxml */
	struct act_ctx ctx;
	struct sm_machine *task_m, *daemon_m;
	struct smd__spiders *spiders;
	struct machine_ref *machines;
	struct flight *flights;
	size_t nflights;
	struct sm_action_call *drain; /* the drain action waiting, or NULL */
	uint64_t drain_timer;
	uint64_t sweep_timer;         /* the work directories' sweep */
	struct smd__records *records; /* the task records to upload */
	struct sm_action_call *flush; /* records_flush waiting, or NULL */
	uint64_t flush_timer;
	char digest[65]; /* SHA-256 hex of the configuration in force */
	int released;    /* release posted to the tasks left */
	int stopped;
	FILE *logf;
	struct smd_control *ctl; /* the control socket, or NULL */
	/* smd_replay_offline: the one instance this process runs */
	int offline;
	char replay_id[SMD_INDEX_ID_SIZE];
	char replay_final[128];
	int replay_done;
};

/* ---- the messages in flight ----------------------------------------------- */

static struct flight *
flight_find(struct smd *d, const char *id)
{
	for (struct flight *f = d->flights; f; f = f->next)
		if (strcmp(f->id, id) == 0)
			return f;
	return NULL;
}

static int
flight_set(struct smd *d, const char *id, const char *url, const char *receipt)
{
	struct flight *f = flight_find(d, id);
	char *u = url ? strdup(url) : NULL, *r = receipt ? strdup(receipt) : NULL;

	if ((url && !u) || (receipt && !r)) {
		free(u);
		free(r);
		return SM_ENOMEM;
	}
	if (!f) {
		if (!(f = calloc(1, sizeof(*f)))) {
			free(u);
			free(r);
			return SM_ENOMEM;
		}
		snprintf(f->id, sizeof(f->id), "%s", id);
		f->next = d->flights;
		d->flights = f;
		d->nflights++;
	}
	free(f->queue_url);
	free(f->receipt);
	f->queue_url = u;
	f->receipt = r;
	return 0;
}

static void
flight_drop(struct smd *d, const char *id)
{
	struct flight **pp, *f;

	for (pp = &d->flights; (f = *pp) != NULL; pp = &f->next)
		if (strcmp(f->id, id) == 0) {
			*pp = f->next;
			free(f->queue_url);
			free(f->receipt);
			free(f);
			d->nflights--;
			return;
		}
}

void
smd__peek_task_id(const char *body, size_t len, int64_t *task_id)
{
	char server[ACT_SERVER_MAX + 1];

	if (!body || act_task_peek(body, len, task_id, server, sizeof(server)) != 0)
		*task_id = -1;
}

/* ---- hooks for act_queue --------------------------------------------------- */

static size_t
hook_slots_free(void *arg)
{
	struct smd *d = arg;
	size_t max = d->cfg.max_concurrent_tasks;

	if (d->stopped)
		return 0;
	return d->nflights >= max ? 0 : max - d->nflights;
}

static size_t
hook_running(void *arg)
{
	return ((struct smd *)arg)->nflights;
}

static void
hook_each_inflight(
    void *arg, void (*fn)(void *fnarg, const char *queue_url, const char *receipt), void *fnarg)
{
	struct smd *d = arg;

	for (struct flight *f = d->flights; f; f = f->next)
		if (f->queue_url && f->receipt)
			fn(fnarg, f->queue_url, f->receipt);
}

static const char *
hook_receipt(void *arg, const char *instance)
{
	struct flight *f = flight_find(arg, instance);

	return f ? f->receipt : NULL;
}

/* The running tasks for the heartbeat (act_beat.h). */
static json_t *
hook_tasks(void *arg)
{
	struct smd *d = arg;
	json_t *tasks = json_array();

	for (struct flight *f = d->flights; tasks && f; f = f->next) {
		json_t *dm = sm_engine_instance_datamodel(d->tasks, f->id);
		json_t *config = sm_engine_instance_config(d->tasks, f->id);
		json_t *msg = json_object_get(json_object_get(dm, "job"), "msg");
		json_t *task = json_object_get(dm, "task");
		const char *name =
		    json_string_value(json_object_get(json_object_get(dm, "job"), "name"));
		const char *state = smd_view_state(config, NULL);
		int64_t task_id = -1;

		if (json_is_integer(json_object_get(msg, "task_id")))
			task_id = json_integer_value(json_object_get(msg, "task_id"));
		else
			smd__peek_task_id(json_string_value(json_object_get(task, "body")),
			    json_string_length(json_object_get(task, "body")), &task_id);
		json_array_append_new(tasks,
		    json_pack("{s:s,s:o,s:O,s:O,s:o,s:O,s:o}", "instance_id", f->id, "task_id",
		        task_id >= 0 ? json_integer((json_int_t)task_id) : json_null(),
		        "server_name", json_object_get(msg, "server_name") ?: json_null(), "site",
		        json_object_get(msg, "site") ?: json_null(), "state",
		        state ? json_string(state) : json_null(), "since_ms",
		        json_object_get(task, "received_ms") ?: json_null(), "name",
		        name ? json_string(act_name_base(name)) : json_null()));
		json_decref(config);
		json_decref(dm);
	}
	return tasks;
}

/* The delivery a task instance starts with (task.scxml's `task`). */
static json_t *
envelope(const char *queue, const char *url, const struct tp_message *m, const char *id)
{
	json_t *env = json_object();
	json_t *body = json_stringn_nocheck(m->body, m->body_len);

	if (!env || !body) {
		json_decref(env);
		json_decref(body);
		return NULL;
	}
	json_object_set_new(env, "body", body);
	json_object_set_new(env, "message_id", json_string(m->message_id));
	json_object_set_new(env, "receipt", json_string(m->receipt));
	json_object_set_new(env, "queue", json_string(queue));
	json_object_set_new(env, "queue_url", json_string(url));
	json_object_set_new(env, "receive_count", json_integer(m->receive_count));
	json_object_set_new(env, "received_ms", json_integer(sm_time_wall_ms()));
	json_object_set_new(env, "instance", json_string(id));
	return env;
}

static int
start_task(struct smd *d, size_t queue, const char *url, const struct tp_message *m, const char *id)
{
	struct sm_error err;
	json_t *env = envelope(d->cfg.queues[queue], url, m, id);
	int rc;

	if (!env)
		return SM_ENOMEM;
	sm_error_clear(&err);
	rc = sm_engine_start(d->tasks, d->task_m, id, env, &err);
	json_decref(env);
	if (rc != 0) {
		sm_log_error("cannot start task instance '%s' for message %s: %s", id,
		    m->message_id, err.msg);
		return rc;
	}
	if ((rc = flight_set(d, id, url, m->receipt)) != 0)
		return rc;
	sm_log_info("message %s from '%s' (receive %u): task instance '%s'", m->message_id,
	    d->cfg.queues[queue], m->receive_count, id);
	return 0;
}

static int
hook_admit(void *arg, size_t queue, const char *url, const struct tp_message *m)
{
	struct smd *d = arg;
	char id[SMD_INDEX_ID_SIZE];
	struct sm_instance_status st;
	struct sm_error err;
	int64_t task_id = -1;
	int rc;

	if (!m->message_id || !*m->message_id || !m->receipt)
		return SM_EPROTO;
	rc = smd_index_find_msg(d->store, m->message_id, id);
	if (rc == 0) {
		rc = sm_engine_instance_status(d->tasks, id, &st);
		if (rc == SM_ENOTFOUND) /* the index row committed, the start did not */
			return start_task(d, queue, url, m, id);
		if (rc != 0)
			return rc;
		if (st.state == SM_INSTANCE_DONE && strcmp(st.final_id, "released") != 0) {
			sm_log_info("message %s came back after its task '%s' ended in '%s': "
			            "deleting it again",
			    m->message_id, id, st.final_id);
			return 1;
		}
		if (st.state == SM_INSTANCE_DONE)
			goto fresh; /* given back when smd stopped: a new run */
		json_t *data = json_pack("{s:s}", "receipt", m->receipt);

		if ((rc = flight_set(d, id, url, m->receipt)) == 0)
			rc = sm_engine_post(d->tasks, id, "message.redelivered", data);
		json_decref(data);
		sm_log_info("message %s redelivered to its running task '%s'", m->message_id, id);
		return rc;
	}
	if (rc != SM_ENOTFOUND)
		return rc;
fresh:
	smd__peek_task_id(m->body, m->body_len, &task_id);
	sm_error_clear(&err);
	if ((rc = smd_index_new(d->store, m->message_id, task_id, id, &err)) != 0) {
		sm_log_error("cannot index message %s: %s", m->message_id, err.msg);
		return rc;
	}
	return start_task(d, queue, url, m, id);
}

/* ---- the drain action (daemon.scxml's `draining`) ------------------------ */

static void
drain_finish(struct smd *d)
{
	struct sm_action_call *call = d->drain;

	if (!call)
		return;
	d->drain = NULL;
	if (d->drain_timer) {
		sm_loop_timer_del(d->loop, d->drain_timer);
		d->drain_timer = 0;
	}
	sm_action_done(call, NULL);
}

static int64_t
on_drain_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct smd *d = arg;

	(void)loop;
	(void)id;
	if (!d->released) {
		d->released = 1;
		sm_log_warn("shutdown_grace passed with %zu task(s) running: releasing them to "
		            "their queues",
		    d->nflights);
		for (struct flight *f = d->flights; f; f = f->next)
			sm_engine_post(d->tasks, f->id, "release", NULL);
		return SMD_RELEASE_WAIT_MS;
	}
	sm_log_warn("%zu task(s) still finishing: stopping now; they go on after the next "
	            "start",
	    d->nflights);
	d->drain_timer = 0;
	drain_finish(d);
	return -1;
}

static int
drain_start(struct sm_action_call *call)
{
	struct smd *d = sm_action_call_arg(call);

	d->stopped = 1;
	if (d->nflights == 0)
		return sm_action_done(call, NULL);
	sm_log_info("stopping: waiting up to %lld ms for %zu running task(s)",
	    (long long)d->cfg.shutdown_grace_ms, d->nflights);
	d->drain = call;
	d->drain_timer = sm_loop_timer_add(d->loop, d->cfg.shutdown_grace_ms, on_drain_timer, d);
	return d->drain_timer ? 0 : SM_ENOMEM;
}

static void
drain_cancel(struct sm_action_call *call)
{
	struct smd *d = sm_action_call_arg(call);

	d->drain = NULL;
	if (d->drain_timer) {
		sm_loop_timer_del(d->loop, d->drain_timer);
		d->drain_timer = 0;
	}
}

/* ---- the records_flush action (daemon.scxml's `final_records`) ----------- */

static void
flush_finish(void *arg)
{
	struct smd *d = arg;
	struct sm_action_call *call = d->flush;

	if (!call)
		return;
	d->flush = NULL;
	if (d->flush_timer) {
		sm_loop_timer_del(d->loop, d->flush_timer);
		d->flush_timer = 0;
	}
	sm_action_done(call, NULL);
}

static int64_t
on_flush_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct smd *d = arg;

	(void)loop;
	(void)id;
	d->flush_timer = 0;
	sm_log_warn("%zu task record(s) not in the bucket yet: they are uploaded after the next "
	            "start",
	    smd__records_pending(d->records));
	flush_finish(d);
	return -1;
}

static int
flush_start(struct sm_action_call *call)
{
	struct smd *d = sm_action_call_arg(call);

	if (smd__records_pending(d->records) == 0)
		return sm_action_done(call, NULL);
	d->flush = call;
	d->flush_timer = sm_loop_timer_add(d->loop, SMD_RECORD_FLUSH_MS, on_flush_timer, d);
	return d->flush_timer ? 0 : SM_ENOMEM;
}

static void
flush_cancel(struct sm_action_call *call)
{
	struct smd *d = sm_action_call_arg(call);

	d->flush = NULL;
	if (d->flush_timer) {
		sm_loop_timer_del(d->loop, d->flush_timer);
		d->flush_timer = 0;
	}
}

/* ---- work directories ------------------------------------------------------ */

/* The work directories the running tasks use (a JSON object's keys): their
 * own, and a replay's replay.work (`work` once it packs from there). */
static json_t *
work_busy(struct smd *d)
{
	json_t *busy = json_object();

	for (struct flight *f = d->flights; busy && f; f = f->next) {
		json_t *dm = sm_engine_instance_datamodel(d->tasks, f->id);
		const char *w = json_string_value(json_object_get(dm, "work"));
		const char *rw =
		    json_string_value(json_object_get(json_object_get(dm, "replay"), "work"));

		json_object_set_new(busy, f->id, json_true());
		if (w)
			json_object_set_new(busy, w, json_true());
		if (rw)
			json_object_set_new(busy, rw, json_true());
		json_decref(dm);
	}
	return busy;
}

static void
work_sweep(struct smd *d)
{
	json_t *busy = work_busy(d);

	if (busy)
		smd__work_sweep(d->tasks, d->store, d->sd, d->cfg.failed_work_keep_ms, busy);
	json_decref(busy);
}

/* Every failed_work_keep, at least every second and at most every hour. */
static int64_t
sweep_interval(const struct smd *d)
{
	int64_t ms = d->cfg.failed_work_keep_ms;

	return ms < 1000 ? 1000 : ms > 3600 * 1000 ? 3600 * 1000 : ms;
}

static int64_t
on_sweep_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct smd *d = arg;

	(void)loop;
	(void)id;
	if (!d->stopped)
		work_sweep(d);
	return sweep_interval(d);
}

/* ---- engines --------------------------------------------------------------- */

static void
on_task_done(struct sm_engine *e, const char *id, const char *final_id, json_t *donedata, void *arg)
{
	struct smd *d = arg;

	(void)donedata;
	sm_log_info("task instance '%s' ended in '%s'", id, final_id[0] ? final_id : "(none)");
	flight_drop(d, id);
	smd__spiders_task_done(d->spiders, id);
	/* before the end is acknowledged, so a crash before the removal is done
	 * repeats it (recovery calls this again) */
	{
		json_t *dm = sm_engine_instance_datamodel(e, id);
		json_t *busy = strcmp(final_id, "reported") == 0 ? work_busy(d) : json_object();

		if (busy)
			smd__work_ended(d->sd, id, final_id, dm, busy);
		json_decref(busy);
		json_decref(dm);
	}
	/* the record's pending row commits before the end is acknowledged: a
	 * crash before it calls this again after recovery */
	smd__records_ended(d->records, id, final_id);
	sm_engine_forget(e, id);
	if (d->offline && strcmp(id, d->replay_id) == 0) {
		snprintf(d->replay_final, sizeof(d->replay_final), "%s", final_id);
		d->replay_done = 1;
		sm_loop_stop(d->loop);
		return;
	}
	act_queue_kick(&d->ctx);
	if (d->drain && d->nflights == 0)
		drain_finish(d);
}

static void
on_life_done(struct sm_engine *e, const char *id, const char *final_id, json_t *donedata, void *arg)
{
	struct smd *d = arg;

	(void)e;
	(void)id;
	(void)donedata;
	sm_log_info("smd stopped (%s)", final_id);
	d->stopped = 1;
	sm_loop_stop(d->loop);
}

static int
register_actions(struct smd *d, struct sm_engine *e, int life)
{
	int rc;

	if ((rc = act_queue_register(e, &d->ctx)) != 0 ||
	    (rc = act_report_register(e, &d->ctx)) != 0 ||
	    (rc = act_upload_register(e, &d->ctx)) != 0)
		return rc;
	if (life) {
		struct sm_action_def drain = { "drain", drain_start, drain_cancel, d };
		struct sm_action_def flush = { "records_flush", flush_start, flush_cancel, d };

		if ((rc = act_flag_register(e, &d->ctx)) != 0 ||
		    (rc = act_logup_register(e, &d->ctx)) != 0 ||
		    (rc = act_beat_register(e, &d->ctx)) != 0 ||
		    (rc = sm_engine_register_action(e, &drain)) != 0 ||
		    (rc = sm_engine_register_action(e, &flush)) != 0)
			return rc;
		return 0;
	}
	if ((rc = act_validate_register(e, &d->ctx)) != 0 ||
	    (rc = act_cache_register(e, &d->ctx)) != 0 ||
	    (rc = smd__register_task_actions(e, &d->ctx, &d->cfg, d->sd, &d->spiders, NULL)) != 0)
		return rc;
	return 0;
}

/* Load one machine file from machines_dir, checked against the engine's
 * actions.  Every diagnostic is logged. */
static int
load_machine(struct smd *d, struct sm_engine *e, const char *file, struct sm_machine **out,
    struct sm_error *err)
{
	struct sm_load_opts lo = { 0 };
	struct sm_diags dg = { 0 };
	char path[PATH_MAX], rp[PATH_MAX], line[1200];
	int rc;

	lo.action_known = sm_engine_action_known;
	lo.action_arg = e;
	lo.require_final = 1; /* every task must be able to end */
	snprintf(path, sizeof(path), "%s/%s", d->cfg.machines_dir, file);
	if (realpath(path, rp) == NULL)
		return sm_error_set(err, SM_ENOTFOUND,
		    "cannot find machine file '%s': %s "
		    "(set machines_dir)",
		    path, strerror(errno));
	rc = sm_machine_load_file(rp, &lo, out, &dg);
	for (size_t i = 0; i < dg.n; i++)
		sm_log_warn("%s", sm_diag_format(&dg.v[i], line, sizeof(line)));
	if (rc != 0) {
		sm_error_set(err, rc, "machine file '%s' refused (%zu problem(s) logged%s%s)", rp,
		    dg.n, dg.n ? ", first: " : "",
		    dg.n ? sm_diag_format(&dg.v[0], line, sizeof(line)) : "");
		sm_diags_free(&dg);
		return rc;
	}
	sm_diags_free(&dg);
	return 0;
}

static int
keep_machine(struct smd *d, struct sm_machine *m)
{
	struct machine_ref *r = calloc(1, sizeof(*r));

	if (!r)
		return SM_ENOMEM;
	r->m = m;
	r->next = d->machines;
	d->machines = r;
	return 0;
}

/*
 * The configuration digest of the heartbeat: SHA-256 hex of the
 * configuration in force as rt_config_write writes it (every key; none of
 * them is a secret: credentials come from the AWS chain, never from
 * rt_config).  "" when it cannot be written.
 */
static void
config_digest(const struct rt_config *cfg, char out[65])
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc = mem ? rt_config_write(cfg, mem) : SM_ENOMEM;

	if (mem && fclose(mem) != 0)
		rc = SM_ENOMEM;
	if (rc == 0 && text)
		sm_digest_hex(SM_DIGEST_SHA256, text, len, out);
	else
		out[0] = 0;
	free(text);
}

/* The context values that follow the configuration. */
static void
ctx_from_cfg(struct smd *d)
{
	struct act_ctx *c = &d->ctx;

	c->bucket = d->cfg.bucket;
	c->queues = (const char *const *)d->cfg.queues;
	c->nqueues = d->cfg.nqueues;
	c->output_queue_suffix = d->cfg.output_queue_suffix;
	c->progress_queue_suffix = d->cfg.progress_queue_suffix;
	c->default_branch = d->cfg.default_branch;
	c->visibility_timeout_s = (int)(d->cfg.visibility_timeout_ms / 1000);
	if (c->visibility_timeout_s < 1)
		c->visibility_timeout_s = 1;
	c->poll_wait_s = (int)(d->cfg.poll_wait_ms / 1000);
	c->max_receives = d->cfg.max_receives;
	c->heartbeat_interval_ms = d->cfg.heartbeat_interval_ms;
	c->config_digest = d->digest;
	config_digest(&d->cfg, d->digest);
	smd__records_config(d->records, d->cfg.bucket);
}

/* ---- SIGHUP ---------------------------------------------------------------- */

static void reopen_log(struct smd *d);

/* daemon.scxml's intervals (its `task` at start, the `config` event). */
static json_t *
life_intervals(const struct smd *d)
{
	char a[32], b[32], c[32];

	snprintf(a, sizeof(a), "%lldms", (long long)d->cfg.stop_flag_interval_ms);
	snprintf(b, sizeof(b), "%lldms", (long long)d->cfg.log_upload_interval_ms);
	snprintf(c, sizeof(c), "%lldms", (long long)d->cfg.heartbeat_interval_ms);
	return json_pack("{s:s,s:s,s:s}", "stop_flag_interval", a, "log_upload_interval", b,
	    "heartbeat_interval", c);
}

static void
on_reload_change(void *arg, enum rt_key key, int applied, const char *was, const char *now)
{
	(void)arg;
	if (applied)
		sm_log_info(
		    "SIGHUP: '%s' is now '%s' (was '%s')", rt_config_key_name(key), now, was);
	else
		sm_log_warn("SIGHUP: '%s' changes only with a restart; still '%s' (not '%s')",
		    rt_config_key_name(key), was, now);
}

static void
reload(struct smd *d)
{
	struct rt_config *n = calloc(1, sizeof(*n)), *old;
	struct sm_machine *tm = NULL;
	struct sm_error err;
	char *saved_dir, hash[65];
	json_t *iv;

	sm_log_info("SIGHUP: reading the configuration and the machines again");
	sm_error_clear(&err);
	if (!n || d->nold >= sizeof(d->old_cfgs) / sizeof(d->old_cfgs[0])) {
		sm_log_error("SIGHUP: too many reloads or out of memory: restart smd instead");
		free(n);
		return;
	}
	if (rt_config_init(n) != 0 ||
	    rt_config_load(n, d->opt->config_file, NULL, d->opt->opts, d->opt->nopts, &err) != 0) {
		sm_log_error("SIGHUP: configuration refused, the old one stays: %s", err.msg);
		goto fail;
	}
	/* machines from the new machines_dir */
	saved_dir = d->cfg.machines_dir;
	d->cfg.machines_dir = n->machines_dir;
	if (load_machine(d, d->tasks, "task.scxml", &tm, &err) != 0) {
		d->cfg.machines_dir = saved_dir;
		sm_log_error("SIGHUP: %s; the old machine stays", err.msg);
		goto fail;
	}
	d->cfg.machines_dir = saved_dir;
	if (keep_machine(d, tm) != 0) {
		sm_machine_free(tm);
		goto nomem;
	}
	/* the keys read only at start keep their values (each logged) */
	if (sm_engine_add_machine(d->tasks, tm) != 0 ||
	    rt_config_reload(n, &d->cfg, on_reload_change, d) != 0 || !(old = malloc(sizeof(*old))))
		goto nomem;
	/* the old strings stay: actions in flight borrowed them */
	*old = d->cfg;
	d->old_cfgs[d->nold++] = old;
	d->cfg = *n;
	free(n);
	d->task_m = tm;
	ctx_from_cfg(d);
	smd__spiders_config(d->spiders, &d->cfg);
	iv = life_intervals(d);
	if (!iv || sm_engine_post(d->life, SMD_DAEMON_ID, "config", iv) != 0)
		sm_log_warn("SIGHUP: stop_flag_interval, log_upload_interval and "
		            "heartbeat_interval keep their values (the daemon is stopping)");
	json_decref(iv);
	sm_machine_hash_hex(tm, hash);
	sm_log_info("SIGHUP: new tasks run machine version %.12s; %zu task(s) in flight "
	            "keep theirs",
	    hash, d->nflights);
	return;
nomem:
	sm_log_error("SIGHUP: out of memory; the old machine stays");
fail:
	rt_config_free(n);
	free(n);
}

static void
on_signal(struct sm_loop *loop, int signo, void *arg)
{
	struct smd *d = arg;

	(void)loop;
	if (d->offline) {
		sm_log_info("%s: releasing the replay '%s'", strsignal(signo), d->replay_id);
		sm_engine_post(d->tasks, d->replay_id, "release", NULL);
		return;
	}
	if (signo == SIGHUP) {
		reopen_log(d);
		reload(d);
		return;
	}
	sm_log_info("%s: stop taking tasks and drain", strsignal(signo));
	if (sm_engine_post(d->life, SMD_DAEMON_ID, "stop", NULL) != 0)
		sm_loop_stop(d->loop);
}

/* ---- start and stop -------------------------------------------------------- */

/* After recovery: every running task instance is in flight, with its
 * message (a replay without one). */
static int
rebuild_run(void *arg, const char *instance)
{
	struct smd *d = arg;
	struct sm_instance_status st;
	json_t *dm;
	const char *url, *receipt;
	int replay;

	if (flight_find(d, instance) || sm_engine_instance_status(d->tasks, instance, &st) != 0 ||
	    st.state != SM_INSTANCE_RUNNING)
		return 0;
	dm = sm_engine_instance_datamodel(d->tasks, instance);
	url = json_string_value(json_object_get(json_object_get(dm, "task"), "queue_url"));
	receipt = json_string_value(json_object_get(dm, "receipt"));
	replay = json_is_object(json_object_get(dm, "replay"));
	if (((url && receipt) || replay) &&
	    flight_set(d, instance, replay ? NULL : url, replay ? NULL : receipt) != 0)
		sm_log_error("out of memory rebuilding the tasks in flight");
	json_decref(dm);
	return 0;
}

static int
rebuild_one(void *arg, const char *message_id, const char *instance)
{
	(void)message_id;
	return rebuild_run(arg, instance);
}

/* ---- the control socket ---------------------------------------------------- */

static int
on_control(void *arg, const struct smd_control_req *rq, char *text, size_t size)
{
	struct smd *d = arg;
	char id[SMD_INDEX_ID_SIZE], from[SMD_REPLAY_FROM_SIZE];
	struct sm_error err;
	int rc;

	if (d->stopped) {
		snprintf(text, size, "smd is stopping: replay once it has stopped");
		return 1;
	}
	sm_error_clear(&err);
	rc = smd_replay_start(
	    d->tasks, d->store, d->sd, rq->task_id, rq->from_start, id, from, &err);
	if (rc == 0 && (rc = flight_set(d, id, NULL, NULL)) != 0)
		sm_error_set(&err, rc, "out of memory");
	if (rc != 0) {
		sm_log_info("control socket: replay of task %lld refused: %s",
		    (long long)rq->task_id, err.msg);
		snprintf(text, size, "%s", err.msg);
		return 1;
	}
	snprintf(text, size, "%s %s", id, from);
	return 0;
}

static ssize_t
tee_write(void *cookie, const char *buf, size_t n)
{
	struct smd *d = cookie;

	if (d->opt->log_stderr)
		(void)!write(STDERR_FILENO, buf, n);
	if (d->logf) {
		fwrite(buf, 1, n, d->logf);
		fflush(d->logf);
	}
	return (ssize_t)n;
}

/* <state>/smd.log opened for appending (0600, not through a symlink), or
 * NULL with errno set; its path in `path`. */
static FILE *
log_file_open(struct smd *d, char path[PATH_MAX])
{
	int fd, e;
	FILE *f;

	snprintf(path, PATH_MAX, "%s/%s", sm_statedir_path(d->sd), SM_STATEDIR_LOG);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "a")) == NULL) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

static FILE *
open_log(struct smd *d)
{
	cookie_io_functions_t io = { NULL, tee_write, NULL, NULL };
	char path[PATH_MAX];
	FILE *fp;

	d->logf = log_file_open(d, path);
	d->ctx.log_path = d->logf ? strdup(path) : NULL;
	fp = fopencookie(d, "w", io);
	if (fp)
		setvbuf(fp, NULL, _IOLBF, 0);
	return fp;
}

/*
 * SIGHUP: open smd.log again, so that a log rotated by renaming (logrotate
 * without copytruncate) is left alone and the lines from now on go to a new
 * smd.log; log_upload reads the file by its path, so it follows.  When the
 * new file cannot be opened the lines go on into the old one.
 */
static void
reopen_log(struct smd *d)
{
	char path[PATH_MAX];
	FILE *f = log_file_open(d, path), *old = d->logf;

	if (!f) {
		sm_log_error("SIGHUP: cannot open '%s' again: %s; logging goes on into the file "
		             "open before",
		    path, strerror(errno));
		return;
	}
	if (!d->ctx.log_path && !(d->ctx.log_path = strdup(path))) {
		fclose(f);
		return;
	}
	d->logf = f;
	if (old)
		fclose(old);
	sm_log_info("SIGHUP: log file '%s' opened again", path);
}

/* Inside rt_close(): the engines and the transport are gone, the loop is
 * still there (the spider registry's child watchers). */
static void
smd_teardown(void *arg)
{
	struct smd *d = arg;
	struct machine_ref *r, *rn;
	struct flight *f, *fn;

	smd_control_close(d->ctl);
	d->ctl = NULL;
	act_ctx_clear(&d->ctx);
	free((char *)d->ctx.log_path);
	d->ctx.log_path = NULL;
	for (r = d->machines; r; r = rn) {
		rn = r->next;
		sm_machine_free(r->m);
		free(r);
	}
	d->machines = NULL;
	for (f = d->flights; f; f = fn) {
		fn = f->next;
		free(f->queue_url);
		free(f->receipt);
		free(f);
	}
	d->flights = NULL;
	smd__spiders_free(d->spiders);
	d->spiders = NULL;
}

static void
smd_free(struct smd *d, FILE *logfp)
{
	sm_engine_destroy(d->life);
	/* before the transport goes: its upload is cancelled, the rows stay */
	smd__records_close(d->records);
	d->records = NULL;
	if (d->rt) {
		rt_on_close(d->rt, smd_teardown, d);
		rt_close(d->rt);
	} else {
		smd_teardown(d);
	}
	if (logfp) {
		sm_log_init(NULL, sm_log_level(), "smd");
		fclose(logfp);
	}
	if (d->logf)
		fclose(d->logf);
	for (size_t i = 0; i < d->nold; i++) {
		rt_config_free(d->old_cfgs[i]);
		free(d->old_cfgs[i]);
	}
	rt_config_free(&d->cfg);
}

/* A deep copy of the configuration's strings through the one parser:
 * load the same sources again. */
static int
cfg_copy(struct smd *d, struct sm_error *err)
{
	int rc = rt_config_init(&d->cfg);

	if (rc != 0)
		return sm_error_set(err, rc, "out of memory");
	return rt_config_load(&d->cfg, d->opt->config_file, NULL, d->opt->opts, d->opt->nopts, err);
}

/*
 * What smd_run and smd_replay_offline share, in order: the configuration,
 * the one bootstrap (loop, state directory and its lock, store, transport,
 * task engine), the log (<state>/smd.log, lines tagged `tag`, up to
 * `level`), the actions' context and the task actions.  On failure the
 * caller still calls smd_free().
 */
static int
smd_open(struct smd *d, const struct smd_options *opt, const char *tag, enum sm_log_level level,
    FILE **logfp, struct sm_error *err)
{
	int rc;

	memset(d, 0, sizeof(*d));
	act_ctx_init(&d->ctx);
	d->opt = opt;
	*logfp = NULL;
	if ((rc = cfg_copy(d, err)) != 0)
		return rc;
	if ((rc = rt_open(&d->rt, &d->cfg, 0, err)) != 0)
		return rc;
	d->loop = rt_loop(d->rt);
	d->sd = rt_statedir(d->rt);
	d->store = rt_store(d->rt);
	d->tp = rt_transport(d->rt);
	d->tasks = rt_engine(d->rt);
	*logfp = open_log(d);
	if (*logfp)
		sm_log_init(*logfp, level, tag);
	sm_log_info("%s %s starting: state directory '%s', instance %s, backend %s", tag,
	    SMD_VERSION, sm_statedir_path(d->sd), sm_statedir_instance_id(d->sd),
	    d->cfg.backend == RT_BACKEND_AWS ? "aws" : "local");
	d->ctx.loop = d->loop;
	d->ctx.store = d->store;
	d->ctx.tp = d->tp;
	d->ctx.instance_id = sm_statedir_instance_id(d->sd);
	d->ctx.work_dir = sm_statedir_work_path(d->sd);
	d->ctx.started_ms = sm_time_wall_ms();
	d->ctx.version = SMD_VERSION;
	d->ctx.backend = d->cfg.backend == RT_BACKEND_AWS ? "aws" : "local";
	d->ctx.exit_when_idle = opt->exit_when_idle;
	d->ctx.hooks = (struct act_daemon_hooks){ hook_slots_free, hook_running, hook_admit,
		hook_each_inflight, hook_receipt, d, hook_tasks };
	if ((rc = smd__records_open(&d->records, d->store, d->tp, d->loop, d->ctx.instance_id)) !=
	    0)
		return sm_error_set(err, rc, "out of memory");
	smd__records_on_idle(d->records, flush_finish, d);
	ctx_from_cfg(d);
	if ((rc = register_actions(d, d->tasks, 0)) != 0) {
		if (!err || !err->code)
			sm_error_set(err, rc, "cannot register the actions");
		return rc;
	}
	sm_engine_on_done(d->tasks, on_task_done, d);
	return 0;
}

int
smd_run(const struct smd_options *opt, struct sm_error *err)
{
	struct smd d;
	json_t *life_task = NULL;
	FILE *logfp = NULL;
	struct sm_error cerr;
	int rc;

	if ((rc = smd_open(&d, opt, "smd", sm_log_level(), &logfp, err)) != 0)
		goto out;

	/* spiders of a previous run that are still alive go first */
	if ((rc = smd__sweep_orphans(d.sd, err)) != 0)
		goto out;

	if ((rc = sm_engine_create(&d.life, d.loop, NULL, err)) != 0)
		goto out;
	if ((rc = register_actions(&d, d.life, 1)) != 0) {
		sm_error_set(err, rc, "cannot register the actions");
		goto out;
	}
	if ((rc = load_machine(&d, d.tasks, "task.scxml", &d.task_m, err)) != 0 ||
	    (rc = keep_machine(&d, d.task_m)) != 0 ||
	    (rc = load_machine(&d, d.life, "daemon.scxml", &d.daemon_m, err)) != 0 ||
	    (rc = keep_machine(&d, d.daemon_m)) != 0)
		goto out;
	sm_engine_add_machine(d.tasks, d.task_m);
	sm_engine_set_max_restarts(d.tasks, d.cfg.max_restarts);
	sm_engine_on_done(d.life, on_life_done, &d);
	if ((rc = sm_engine_recover(d.tasks, err)) != 0)
		goto out;
	smd_index_each_msg(d.store, rebuild_one, &d);
	smd_index_each_run(d.store, rebuild_run, &d); /* replays: no message row */
	smd__records_resume(d.records); /* the records a crash or a stop left pending */
	if (d.nflights)
		sm_log_info("%zu task(s) in flight from before the restart", d.nflights);
	/* the work directories of runs that ended, now and every hour */
	work_sweep(&d);
	d.sweep_timer = sm_loop_timer_add(d.loop, sweep_interval(&d), on_sweep_timer, &d);

	if ((rc = sm_loop_signal_add(d.loop, SIGTERM, on_signal, &d)) != 0 ||
	    (rc = sm_loop_signal_add(d.loop, SIGINT, on_signal, &d)) != 0 ||
	    (rc = sm_loop_signal_add(d.loop, SIGHUP, on_signal, &d)) != 0) {
		sm_error_set(err, rc, "cannot watch signals");
		goto out;
	}
	/* smctl replay asks here; smd runs on without it (smctl then says so) */
	sm_error_clear(&cerr);
	if (smd_control_open(&d.ctl, d.loop, d.sd, on_control, &d, &cerr) != 0)
		sm_log_warn("no control socket (smctl replay cannot reach this smd): %s", cerr.msg);
	life_task = life_intervals(&d);
	if (!life_task) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sm_engine_start(d.life, d.daemon_m, SMD_DAEMON_ID, life_task, err)) != 0)
		goto out;
	rc = sm_loop_run(d.loop);
	if (rc != 0)
		sm_error_set(err, rc, "the event loop failed");
	sm_loop_timer_del(d.loop, d.sweep_timer);
	/* what the engines committed last */
	sm_engine_flush(d.tasks, NULL);
out:
	json_decref(life_task);
	if (rc == 0)
		sm_log_info("smd exits");
	smd_free(&d, logfp);
	return rc;
}

int
smd_replay_offline(const struct smd_options *opt, int64_t task_id, int from_start,
    smd_replay_started_fn *started, void *arg, char final_id[128], struct sm_error *err)
{
	struct smd d;
	FILE *logfp = NULL;
	char id[SMD_INDEX_ID_SIZE], from[SMD_REPLAY_FROM_SIZE];
	int rc;

	final_id[0] = 0;
	if ((rc = smd_open(&d, opt, "smctl replay", SM_LOG_INFO, &logfp, err)) != 0)
		goto out;
	d.offline = 1;
	/* no recovery: the other instances are smd's, resumed when it starts */
	if ((rc = sm_loop_signal_add(d.loop, SIGTERM, on_signal, &d)) != 0 ||
	    (rc = sm_loop_signal_add(d.loop, SIGINT, on_signal, &d)) != 0) {
		sm_error_set(err, rc, "cannot watch signals");
		goto out;
	}
	/* a run seeded from a record: its machine version may be this
	 * instance's task.scxml, which this store may never have seen */
	if (opt->replay_seed) {
		if ((rc = load_machine(&d, d.tasks, "task.scxml", &d.task_m, err)) != 0 ||
		    (rc = keep_machine(&d, d.task_m)) != 0)
			goto out;
		sm_engine_add_machine(d.tasks, d.task_m);
	}
	rc = opt->replay_seed ?
	    smd_replay_seed(d.tasks, d.store, task_id, (const json_t *)opt->replay_seed,
	        opt->replay_of ? opt->replay_of : "?", id, from, err) :
	    smd_replay_start(d.tasks, d.store, d.sd, task_id, from_start, id, from, err);
	if (rc != 0) {
		sm_log_info("replay of task %lld refused: %s", (long long)task_id,
		    err ? err->msg : sm_strerror(rc));
		goto out;
	}
	snprintf(d.replay_id, sizeof(d.replay_id), "%s", id);
	if (started)
		started(arg, id, from);
	rc = sm_loop_run(d.loop);
	if (rc != 0)
		sm_error_set(err, rc, "the event loop failed");
	sm_engine_flush(d.tasks, NULL);
	if (rc == 0 && !d.replay_done)
		rc = sm_error_set(err, SM_EBUG, "the loop stopped before replay '%s' ended", id);
	snprintf(final_id, 128, "%s", d.replay_final);
out:
	if (rc != 0 && d.replay_id[0])
		sm_log_error("replay '%s': %s", d.replay_id, err ? err->msg : sm_strerror(rc));
	smd_free(&d, logfp);
	return rc;
}
