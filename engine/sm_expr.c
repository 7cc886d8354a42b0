/*
 * sm_expr.c - lexer, parser and evaluator of the task datamodel's
 * expression language (see sm_expr.h, docs/expressions.md).
 * Minimal placeholder: the full implementation follows.
 */
#include "sm_expr.h"

#include <stdlib.h>

int
sm_expr_parse(const char *src, struct sm_expr **out, struct sm_error *err)
{
	(void)src;
	if (out != NULL)
		*out = NULL;
	return sm_error_set(err, SM_EUNSUPPORTED, "column 1: expressions are not implemented yet");
}

void
sm_expr_free(struct sm_expr *e)
{
	(void)e;
}

int
sm_expr_eval(const struct sm_expr *e, const struct sm_expr_env *env,
    json_t **out, struct sm_error *err)
{
	(void)e;
	(void)env;
	if (out != NULL)
		*out = NULL;
	return sm_error_set(err, SM_EUNSUPPORTED, "column 1: expressions are not implemented yet");
}

int
sm_expr_eval_bool(const struct sm_expr *e, const struct sm_expr_env *env,
    int *out, struct sm_error *err)
{
	(void)e;
	(void)env;
	(void)out;
	return sm_error_set(err, SM_EUNSUPPORTED, "column 1: expressions are not implemented yet");
}

int
sm_expr_is_null_profile(const struct sm_expr *e)
{
	(void)e;
	return 0;
}

int
sm_expr_foreach_state(const struct sm_expr *e,
    int (*fn)(void *arg, const char *state_id), void *arg)
{
	(void)e;
	(void)fn;
	(void)arg;
	return 0;
}

int
sm_location_check(const char *location, struct sm_error *err)
{
	(void)location;
	return sm_error_set(err, SM_EUNSUPPORTED, "column 1: locations are not implemented yet");
}

int
sm_location_assign(json_t *root, const char *location, json_t *value,
    struct sm_error *err)
{
	(void)root;
	(void)location;
	(void)value;
	return sm_error_set(err, SM_EUNSUPPORTED, "column 1: locations are not implemented yet");
}
