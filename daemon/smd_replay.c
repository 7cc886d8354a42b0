/*
 * smd_replay.c - plan and start a replay of a failed task (smd_replay.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_log.h"
#include "sm_machine.h"
#include "sm_record.h"
#include "smd_private.h"
#include "smd_replay.h"
#include "store.h"

int
smd_replay_parse_task_id(const char *s, int64_t *task_id)
{
	int64_t v = 0;
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 19)
		return SM_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return SM_EINVAL;
		v = v * 10 + d;
	}
	*task_id = v;
	return 0;
}

/* ---- the run to replay ----------------------------------------------------- */

struct runs {
	struct sm_engine *e;
	char id[SMD_INDEX_ID_SIZE]; /* the latest run the engine knows */
	struct sm_instance_status st;
	int found;
	int bad; /* its record cannot be read: why */
};

/* Rows come oldest first: the last one with an instance wins.  A row whose
 * instance never committed (a crash, or a start that failed) is skipped. */
static int
run_seen(void *arg, const char *instance)
{
	struct runs *r = arg;
	struct sm_instance_status st;
	int rc;

	if (instance == NULL) /* a damaged row: the runs that can be read decide */
		return 0;
	rc = sm_engine_instance_status(r->e, instance, &st);
	if (rc == SM_ENOTFOUND)
		return 0;
	snprintf(r->id, sizeof(r->id), "%s", instance);
	r->st = st;
	r->found = 1;
	r->bad = rc;
	return 0;
}

/* ---- the step that failed -------------------------------------------------- */

struct walk {
	json_t *cfg;  /* the configuration the run failed in (borrowed from rec) */
	json_t *last; /* the last configuration seen */
};

static int
cfg_has(json_t *cfg, const char *state)
{
	for (size_t i = 0; i < json_array_size(cfg); i++) {
		const char *v = json_string_value(json_array_get(cfg, i));

		if (v && strcmp(v, state) == 0)
			return 1;
	}
	return 0;
}

static int
walk_one(void *arg, uint64_t seq, json_t *rec)
{
	struct walk *w = arg;
	json_t *from = json_object_get(rec, "from"), *to = json_object_get(rec, "to");
	const char *kind = json_string_value(json_object_get(rec, "kind"));

	(void)seq;
	if (!rec || w->cfg)
		return 0;
	/* the first step into failing or releasing: where the run was before it */
	if (json_is_array(from) && json_is_array(to) && !cfg_has(from, "failing") &&
	    !cfg_has(from, "releasing") && (cfg_has(to, "failing") || cfg_has(to, "releasing"))) {
		json_decref(w->cfg);
		w->cfg = json_incref(from);
		return 0;
	}
	/* an instance the engine stopped (kind fail/abort) was in `from` */
	json_decref(w->last);
	w->last = json_incref(
	    kind && (strcmp(kind, "fail") == 0 || strcmp(kind, "abort") == 0) ? from : to);
	return 0;
}

/* The replay step of the configuration `cfg` (task.scxml's states), or
 * NULL when there is nothing to replay (only deleting the message failed). */
static const char *
step_of(json_t *cfg)
{
	if (cfg_has(cfg, "deleting"))
		return NULL;
	if (cfg_has(cfg, "reporting"))
		return "reporting";
	if (cfg_has(cfg, "uploading"))
		return "uploading";
	if (cfg_has(cfg, "spawned") || cfg_has(cfg, "progressing"))
		return "spawned";
	return "received";
}

/* ---- plan and start --------------------------------------------------------- */

struct plan {
	int64_t task_id;
	const char *old; /* the run replayed */
	json_t *rec;     /* its instance record */
	const char *from;
	const char *work; /* uploading: the work directory with the outputs */
	json_t *keys;     /* reporting: borrowed from rec */
	const struct sm_machine *m;
};

/* The machine version the run replayed ran on (its record's "machine"). */
static int
plan_machine(struct sm_engine *e, struct plan *p, struct sm_error *err)
{
	const char *hash = json_string_value(json_object_get(p->rec, "machine"));
	int rc;

	if (!hash || !json_is_object(json_object_get(p->rec, "task")))
		return sm_error_set(
		    err, SM_ECORRUPT, "the record of run '%s' has no machine or task", p->old);
	if ((rc = sm_engine_machine_for_hash(e, hash,
	         json_string_value(json_object_get(p->rec, "machine_path")), &p->m, err)) != 0) {
		sm_error_prefix(err, "run '%s'", p->old);
		return rc;
	}
	if (!sm_machine_declares_data(p->m, "replay"))
		return sm_error_set(err, SM_EUNSUPPORTED,
		    "run '%s' used machine version %.12s, which cannot replay (it declares no "
		    "'replay' data): send the task's message again instead",
		    p->old, hash);
	return 0;
}

/* What the run replayed left: its record, the step, what that step needs. */
static int
plan_read(struct sm_engine *e, struct store *st, struct sm_statedir *sd, int from_start,
    struct plan *p, struct sm_error *err)
{
	struct store_txn *txn;
	struct walk w = { NULL, NULL };
	json_t *dm;
	int rc;

	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, err)) != 0)
		return rc;
	rc = sm_record_instance_get(txn, p->old, &p->rec, err);
	if (rc == 0 && !from_start)
		rc = sm_record_history_each(txn, p->old, walk_one, &w);
	store_txn_abort(txn);
	if (rc != 0) {
		json_decref(w.cfg);
		json_decref(w.last);
		if (rc == SM_ENOTFOUND)
			return sm_error_set(err, rc,
			    "the record of run '%s' is not in the store yet: try again", p->old);
		sm_error_prefix(err, "the record of run '%s'", p->old);
		return rc;
	}
	dm = json_object_get(json_object_get(p->rec, "session"), "datamodel");
	p->from = "received";
	if (!from_start)
		p->from = step_of(w.cfg ? w.cfg : w.last);
	json_decref(w.cfg);
	json_decref(w.last);
	if (!p->from)
		return sm_error_set(err, SM_EINVAL,
		    "task %lld's run '%s' sent its report; only deleting its message failed: "
		    "nothing to replay (--from-start runs it all again)",
		    (long long)p->task_id, p->old);
	if (strcmp(p->from, "uploading") == 0) {
		int bsr =
		    json_is_true(json_object_get(json_object_get(json_object_get(dm, "job"), "msg"),
		        "with_best_seller_ranking"));

		/* a replay that failed again names the work directory it reused */
		p->work = json_string_value(json_object_get(dm, "work"));
		if (!p->work)
			p->work = p->old;
		if ((rc = smd__spider_outputs(sd, p->work, bsr, err)) != 0) {
			sm_error_prefix(err,
			    "task %lld failed while uploading, but the spider's outputs of its "
			    "run are gone; replay with --from-start to run the spider again",
			    (long long)p->task_id);
			return rc;
		}
	}
	if (strcmp(p->from, "reporting") == 0) {
		p->keys = json_object_get(dm, "keys");
		if (!json_is_object(p->keys))
			return sm_error_set(err, SM_ENOTFOUND,
			    "task %lld failed while reporting, but the keys its run '%s' uploaded "
			    "cannot be read: replay with --from-start",
			    (long long)p->task_id, p->old);
	}
	return plan_machine(e, p, err);
}

/* The failed run's envelope, without its receipt, with the plan. */
static json_t *
envelope(const struct plan *p, const char *id)
{
	json_t *env = json_deep_copy(json_object_get(p->rec, "task"));
	json_t *r = json_pack("{s:s,s:s}", "from", p->from, "of", p->old);

	if (!env || !r)
		goto fail;
	if (p->work && json_object_set_new(r, "work", json_string(p->work)) != 0)
		goto fail;
	if (p->keys && json_object_set(r, "keys", p->keys) != 0)
		goto fail;
	if (json_object_set_new(env, "receipt", json_null()) != 0 ||
	    json_object_set_new(env, "instance", json_string(id)) != 0 ||
	    json_object_set_new(env, "replay", r) != 0) {
		r = NULL;
		goto fail;
	}
	return env;
fail:
	json_decref(env);
	json_decref(r);
	return NULL;
}

/* Index the new run, give it the envelope of the plan and start it. */
static int
launch(struct sm_engine *e, struct store *st, const struct plan *p, char id[SMD_INDEX_ID_SIZE],
    char from[SMD_REPLAY_FROM_SIZE], struct sm_error *err)
{
	json_t *env;
	int rc;

	if ((rc = smd_index_new(st, NULL, p->task_id, id, err)) != 0) {
		sm_error_prefix(err, "cannot index the replay of task %lld", (long long)p->task_id);
		return rc;
	}
	if (!(env = envelope(p, id)))
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	rc = sm_engine_start(e, p->m, id, env, err);
	json_decref(env);
	if (rc == 0)
		snprintf(from, SMD_REPLAY_FROM_SIZE, "%s", p->from);
	return rc;
}

int
smd_replay_start(struct sm_engine *e, struct store *st, struct sm_statedir *sd, int64_t task_id,
    int from_start, char id[SMD_INDEX_ID_SIZE], char from[SMD_REPLAY_FROM_SIZE],
    struct sm_error *err)
{
	struct runs r;
	struct plan p;
	struct store_txn *txn;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&p, 0, sizeof(p));
	r.e = e;
	p.task_id = task_id;
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) == 0) {
		rc = smd_index_task_runs(txn, task_id, run_seen, &r);
		store_txn_abort(txn);
	}
	if (rc != 0)
		return sm_error_set(err, rc, "cannot read the runs of task %lld: %s",
		    (long long)task_id, sm_strerror(rc));
	if (!r.found)
		return sm_error_set(err, SM_ENOTFOUND,
		    "no run of task %lld in this state directory: check the task id",
		    (long long)task_id);
	p.old = r.id;
	if (r.bad)
		return sm_error_set(err, SM_ECORRUPT,
		    "the record of task %lld's run '%s' cannot be read (%s): 'smctl inspect %s' "
		    "says more",
		    (long long)task_id, r.id, sm_strerror(r.bad), r.id);
	if (r.st.state == SM_INSTANCE_RUNNING)
		return sm_error_set(err, SM_EAGAIN,
		    "task %lld is running (instance '%s'; without smd it resumes at smd's next "
		    "start): replay it once it has failed",
		    (long long)task_id, r.id);
	if (r.st.state == SM_INSTANCE_DONE && strcmp(r.st.final_id, "reported") == 0)
		return sm_error_set(err, SM_EEXISTS,
		    "task %lld was reported (instance '%s' ended in 'reported'): only a failed or "
		    "released task can be replayed",
		    (long long)task_id, r.id);
	if ((rc = plan_read(e, st, sd, from_start, &p, err)) != 0 ||
	    (rc = launch(e, st, &p, id, from, err)) != 0)
		goto out;
	sm_log_info("replay of task %lld: instance '%s' from '%s' (run '%s' ended in '%s')",
	    (long long)task_id, id, p.from, r.id,
	    r.st.final_id[0]                     ? r.st.final_id :
	        r.st.state == SM_INSTANCE_FAILED ? "(failed: its state could not be saved)" :
	                                           "(none)");
out:
	json_decref(p.rec);
	return rc;
}

int
smd_replay_seed(struct sm_engine *e, struct store *st, int64_t task_id, const json_t *inst,
    const char *of, char id[SMD_INDEX_ID_SIZE], char from[SMD_REPLAY_FROM_SIZE],
    struct sm_error *err)
{
	struct plan p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.task_id = task_id;
	p.old = of;
	p.from = "received";
	if (!json_is_object(inst) ||
	    !json_is_string(json_object_get(json_object_get(inst, "task"), "body")))
		return sm_error_set(err, SM_ECORRUPT,
		    "the record of run '%s' holds no instance with a task message", of);
	p.rec = (json_t *)inst;
	if ((rc = plan_machine(e, &p, err)) != 0) {
		if (rc == SM_ENOTFOUND)
			sm_error_prefix(err,
			    "its machine version is not on this instance (install that "
			    "task.scxml in machines_dir, or send the task's message again)");
		return rc;
	}
	if ((rc = launch(e, st, &p, id, from, err)) != 0)
		return rc;
	sm_log_info("replay of task %lld: instance '%s' from the start, seeded from the record "
	            "of run '%s'",
	    (long long)task_id, id, of);
	return 0;
}
