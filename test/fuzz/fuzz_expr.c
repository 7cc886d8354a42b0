/*
 * fuzz_expr.c - libFuzzer target for the task datamodel's expression
 * language: parse, evaluate on a fixed datamodel, the static queries, and
 * the same bytes as a location (check + assign on a copy).
 *
 * Invariants checked beyond "no crash": every failure is SM_EEXPR (or the
 * callback's code for In()) with a message that starts with "column ",
 * success leaves the error untouched, and assignment either succeeds or
 * leaves the datamodel unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_err.h"
#include "sm_expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const dm_json =
    "{\"task\": {\"site\": \"amazon\", \"id\": 42, \"price\": 9.5,"
    " \"tags\": [\"a\", \"b\", \"c\"], \"empty\": \"\", \"zero\": 0,"
    " \"nested\": {\"deep\": {\"x\": [1, {\"y\": \"z\"}]}}, \"nul\": null},"
    " \"_event\": {\"name\": \"done.invoke.x\", \"data\": {\"n\": 3}},"
    " \"big\": 9223372036854775807, \"small\": -9223372036854775808,"
    " \"huge\": 1e308, \"list\": [], \"obj\": {}}";

static json_t *dm;

static int
in_state(void *arg, const char *id)
{
	(void)arg;
	if (strcmp(id, "boom") == 0)
		return SM_EIO;
	return id[0] == 'a';
}

static int
count_state(void *arg, const char *id)
{
	(*(size_t *)arg) += strlen(id);
	return 0;
}

static void
check_err(int rc, const struct sm_error *err)
{
	if (rc == 0)
		return;
	/* SM_EPERM: a location that is a system variable (read-only) */
	if (rc != SM_EEXPR && rc != SM_EIO && rc != SM_EPERM)
		abort();
	if (err->code != rc || strncmp(err->msg, "column ", 7) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_expr_env env;
	struct sm_error err;
	struct sm_expr *e = NULL;
	json_t *v = NULL, *copy, *before;
	size_t n = 0;
	char *src;
	int rc, b;

	if (dm == NULL && (dm = json_loads(dm_json, 0, NULL)) == NULL)
		abort();
	if ((src = malloc(size + 1)) == NULL)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	env.root = dm;
	env.in_state = in_state;
	env.arg = NULL;
	env.name = NULL;

	memset(&err, 0, sizeof(err));
	rc = sm_expr_parse(src, &e, &err);
	check_err(rc, &err);
	if (rc == 0) {
		if (e == NULL || err.code != 0)
			abort();
		rc = sm_expr_eval(e, &env, &v, &err);
		check_err(rc, &err);
		if ((rc == 0) != (v != NULL))
			abort();
		json_decref(v);
		rc = sm_expr_eval_bool(e, &env, &b, &err);
		check_err(rc, &err);
		if (rc == 0 && b != 0 && b != 1)
			abort();
		(void)sm_expr_is_null_profile(e);
		(void)sm_expr_foreach_state(e, count_state, &n);
		sm_expr_free(e);
	} else if (e != NULL) {
		abort();
	}

	memset(&err, 0, sizeof(err));
	rc = sm_location_read(&env, src, &v, &err);
	check_err(rc, &err);
	if ((rc == 0) != (v != NULL))
		abort();
	json_decref(v);
	v = NULL;

	memset(&err, 0, sizeof(err));
	rc = sm_location_check(src, &err);
	check_err(rc, &err);
	if (rc == 0) {
		copy = json_deep_copy(dm);
		before = json_deep_copy(copy);
		v = json_string("fuzz");
		rc = sm_location_assign(copy, src, v, &err);
		check_err(rc, &err);
		if (rc != 0 && !json_equal(copy, before))
			abort();
		json_decref(v);
		json_decref(before);
		json_decref(copy);
	}
	free(src);
	return 0;
}
