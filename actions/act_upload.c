/*
 * act_upload.c - the upload action.
 */
#include <unistd.h>

#include "act_ctx.h"
#include "act_op.h"
#include "act_upload.h"
#include "sm_engine.h"
#include "sm_err.h"
#include "transport.h"

struct upload_op {
	struct act__op op;
	size_t next;
};

static void upload_next(struct upload_op *uo);

static void
on_put(void *arg, const struct tp_result *r, const struct tp_object *obj)
{
	struct upload_op *uo = act__op_back(arg);

	(void)obj;
	if (!uo)
		return;
	if (r->code != 0) {
		act__op_fail(&uo->op, act__tp_error(r->code), "cannot upload: %s",
		    r->message ? r->message : sm_strerror(r->code));
		return;
	}
	uo->next++;
	upload_next(uo);
}

static void
upload_next(struct upload_op *uo)
{
	json_t *p = sm_action_call_params(uo->op.call);
	json_t *files = json_object_get(p, "files");
	const char *bucket = json_string_value(json_object_get(p, "bucket"));
	json_t *f, *res;
	const char *path, *key, *type;
	struct act__tp *t;
	int rc;

	if (uo->next >= json_array_size(files)) {
		res = json_pack("{s:I}", "uploaded", (json_int_t)json_array_size(files));
		act__op_done(&uo->op, res);
		json_decref(res);
		return;
	}
	f = json_array_get(files, uo->next);
	path = json_string_value(json_object_get(f, "path"));
	key = json_string_value(json_object_get(f, "key"));
	type = json_string_value(json_object_get(f, "content_type"));
	if (!bucket || !path || !key) {
		act__op_fail(&uo->op, "error.execution", "file %zu of the upload has no path or key",
		    uo->next);
		return;
	}
	if (access(path, R_OK) != 0) {
		act__op_fail(&uo->op, "error.execution", "cannot read '%s' to upload it", path);
		return;
	}
	rc = SM_ENOMEM;
	if ((t = act__op_tp(&uo->op)) != NULL)
		rc = tp_object_put_file(uo->op.ctx->tp, bucket, key, path,
		    type ? type : "application/zip", on_put, t, &t->id);
	if (act__op_started(t, rc) != 0)
		act__op_fail(
		    &uo->op, act__tp_error(rc), "cannot upload '%s': %s", key, sm_strerror(rc));
}

static int
upload_start(struct sm_action_call *call)
{
	struct upload_op *uo = act__op_new(call, sizeof(*uo));

	if (!uo)
		return SM_ENOMEM;
	upload_next(uo);
	return 0;
}

int
act_upload_register(struct sm_engine *e, struct act_ctx *ctx)
{
	struct sm_action_def def = { "upload", upload_start, act__op_cancel, ctx };

	return sm_engine_register_action(e, &def);
}
