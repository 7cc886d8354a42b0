/*
 * sm_expr.h - the expression language of the `task` datamodel.
 *
 * Conditions (`cond`), values (`expr`) and locations (`location`) of a
 * machine that uses datamodel="task" are written in a small, safe and
 * deterministic language over one JSON document (Jansson).  The full
 * grammar, types, truthiness and comparison rules are in
 * docs/expressions.md; in short:
 *
 *   literals   1  -2  1.5  'str'  "str"  true  false  null
 *   paths      task.site   _event.data.items[0]   a['key']
 *   operators  ||  &&  == !=  < <= > >=  + -  * / %  unary ! -  ( )
 *   functions  In('id') exists(path) len(x) str(x) num(x)
 *              contains(haystack, needle) lower(s) upper(s)
 *
 * A path that does not exist evaluates to null (not an error).
 *
 * Errors: every function returns 0 or a negative SM_E* code
 * (common/sm_err.h).  Syntax errors and evaluation errors (type mismatch,
 * division by zero, overflow, In() without a state callback...) are
 * SM_EEXPR, with err->msg "column N: what" (N is the 1-based byte column
 * in the source).  The interpreter turns any evaluation error into the
 * `error.execution` event.  Allocation failure is SM_ENOMEM and a NULL
 * argument that must not be NULL is SM_EINVAL.  A NULL `err` is allowed
 * everywhere.
 *
 * Limits: source at most SM_EXPR_MAX_SRC bytes, nesting (parentheses,
 * unary operators, index brackets, function calls) at most
 * SM_EXPR_MAX_DEPTH levels; evaluation recursion is bounded by the same
 * depth, so no input can exhaust the stack.
 *
 * A parsed expression is immutable: it can be evaluated any number of
 * times, also concurrently from several threads with different envs.
 */
#ifndef SM_EXPR_H
#define SM_EXPR_H

#include <jansson.h>

#include "sm_err.h"

#define SM_EXPR_MAX_SRC   4096  /* bytes of source, without the NUL */
#define SM_EXPR_MAX_DEPTH 64    /* nesting levels */

struct sm_expr; /* opaque */

/*
 * Parse the NUL-terminated `src` into a new expression stored in *out,
 * which the caller frees with sm_expr_free().  On failure *out is set to
 * NULL and err->msg says "column N: what".
 * Parse-time errors include: syntax, unknown function, wrong number of
 * arguments, In() whose argument is not one string literal, a number
 * literal out of range, the size and depth limits.
 */
int sm_expr_parse(const char *src, struct sm_expr **out, struct sm_error *err);

/* Free an expression; NULL is allowed and does nothing. */
void sm_expr_free(struct sm_expr *e);

/*
 * The evaluation environment, owned by the caller.
 *   root      the datamodel: a JSON object (or NULL: every path is null).
 *             Borrowed; never modified by evaluation.
 *   name      more top-level names, behind root's (may be NULL).
 *   in_state  answers In('id'): 1 if the state is active, 0 if not,
 *             negative (an SM_E* code) on failure.  NULL: In() is an
 *             evaluation error.
 *   arg       passed to in_state.
 */
struct sm_expr_env {
	json_t *root;
	int (*in_state)(void *arg, const char *state_id);
	void *arg;
	/* NULL, or the value (borrowed, may be NULL) of a top-level name that
	 * root has no member for: the interpreter's read-only system variables
	 * _sessionid, _name, _ioprocessors, made only when read, never stored
	 * in root. */
	json_t *(*name)(void *arg, const char *name);
};

/*
 * Evaluate `e` in `env`.  On success *out is a NEW reference (the caller
 * json_decref()s it); it may be a reference to a node of env->root, so a
 * caller that will modify the result should json_deep_copy() it first.
 * On failure *out is NULL.  `env` may be NULL (no datamodel, no In()).
 */
int sm_expr_eval(const struct sm_expr *e, const struct sm_expr_env *env,
    json_t **out, struct sm_error *err);

/*
 * Evaluate `e` and convert the result to a truth value in *out (0 or 1):
 * false, null, 0 (and 0.0) and "" are false; everything else (including
 * empty arrays and objects) is true.
 */
int sm_expr_eval_bool(const struct sm_expr *e, const struct sm_expr_env *env,
    int *out, struct sm_error *err);

/*
 * 1 if `e` uses only In(), !, &&, ||, true, false and parentheses (what
 * the null datamodel allows in a condition), else 0.
 */
int sm_expr_is_null_profile(const struct sm_expr *e);

/*
 * Call fn(arg, state_id) for the argument of each In() in `e`, in source
 * order (duplicates included).  Stops at the first nonzero return value of
 * fn and returns it; returns 0 when all were visited.  state_id is
 * borrowed and lives as long as `e`.
 */
int sm_expr_foreach_state(const struct sm_expr *e,
    int (*fn)(void *arg, const char *state_id), void *arg);

/* 1 if `name` is a system variable of the task datamodel (`_event`,
 * `_sessionid`, `_name`, `_ioprocessors`): bound by the interpreter,
 * read-only. */
int sm_system_var(const char *name);

/*
 * Check that `location` is an assignable path: an identifier followed by
 * any number of `.name`, `['key']` or `[N]` (N a non-negative integer
 * literal) steps, such as `task.result.items[0].url`.  The location must
 * not be `task` itself (assigning below it, `task.x`, is allowed).  0 if
 * valid; SM_EEXPR with "column N: what" if not; SM_EPERM when it is a
 * system variable or below one (`_event.name`: read-only, which SCXML
 * makes an error at run time, not a load error).
 */
int sm_location_check(const char *location, struct sm_error *err);

/* The same for a location that is read (<param location>, namelist):
 * system variables and `task` are fine. */
int sm_location_check_read(const char *location, struct sm_error *err);

/*
 * The value at `location` in env's root (its first name also through
 * env->name, as in an expression; a new reference in *out).  Unlike a
 * path in an expression, a location that names nothing (a missing member,
 * an index past the end, a step into a scalar) is an error: SM_EEXPR
 * "column N: ... does not exist", *out NULL.  A syntax error is SM_EEXPR.
 */
int sm_location_read(const struct sm_expr_env *env, const char *location, json_t **out,
    struct sm_error *err);

/*
 * Store `value` at `location` in the JSON object `root`.  `value` is
 * borrowed: the store takes its own reference (json_incref).  Missing
 * intermediate members are created as objects; an array index may be at
 * most the array's current size (== size appends), anything further is an
 * error, as is stepping through a value of the wrong type (a member of a
 * non-object, an index into a non-array).  On failure root is unchanged
 * (SM_EPERM for a system variable, see sm_location_check).
 */
int sm_location_assign(json_t *root, const char *location, json_t *value,
    struct sm_error *err);

#endif
