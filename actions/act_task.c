/*
 * act_task.c - the task message: parse and validate.  See act_task.h.
 *
 * Jansson parses (with duplicate keys refused and NUL in strings refused,
 * so every string can become an argv entry); the checks here turn its
 * tree into a struct act_task or one message naming the field and rule.
 */
#include "act_task.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "act_private.h"
#include "sm_text.h"

static const char *const reserved_args[] = { "searchterms_str", "product_url", "products_url" };

static int
charset_ok(const char *s, size_t n, size_t max, int dash)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || (dash && c == '-')))
			return 0;
	}
	return 1;
}

/* A Jansson message with anything that is not printable ASCII replaced. */
static void
clean_text(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < size; i++)
		out[i] = ((unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

static int
bad_field(struct sm_error *err, const char *field, const char *rule, const json_t *v)
{
	char ex[ACT__EXCERPT_MAX * 4 + 8];

	if (v != NULL && json_is_string(v)) {
		act__excerpt(json_string_value(v), json_string_length(v), ex, sizeof(ex));
		return sm_error_set(err, SM_EINVALID, "field '%s': %s, got %s", field, rule, ex);
	}
	return sm_error_set(err, SM_EINVALID, "field '%s': %s", field, rule);
}

/* true, "True", "true", 1 / false, "False", "false", 0; absent keeps *out. */
static int
get_bool(const json_t *root, const char *field, int *out, struct sm_error *err)
{
	const json_t *v = json_object_get(root, field);
	const char *s;

	if (v == NULL)
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && strlen(s = json_string_value(v)) == json_string_length(v)) {
		if (strcmp(s, "True") == 0 || strcmp(s, "true") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, "False") == 0 || strcmp(s, "false") == 0) {
			*out = 0;
			return 0;
		}
	}
	return bad_field(err, field,
	    "must be true, \"True\", \"true\", 1, false, \"False\", \"false\" or 0", v);
}

static int
get_task_id(const json_t *root, int64_t *out, struct sm_error *err)
{
	const json_t *v = json_object_get(root, "task_id");

	if (v == NULL)
		return sm_error_set(err, SM_EINVALID, "field 'task_id': missing");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad_field(err, "task_id", "must be a non-negative integer", v);
	*out = json_integer_value(v);
	return 0;
}

static int
get_server(const json_t *root, const char **out, struct sm_error *err)
{
	const json_t *v = json_object_get(root, "server_name");

	if (v == NULL)
		return sm_error_set(err, SM_EINVALID, "field 'server_name': missing");
	if (!json_is_string(v) ||
	    !charset_ok(json_string_value(v), json_string_length(v), ACT_SERVER_MAX, 1))
		return bad_field(err, "server_name",
		    "must be 1-64 characters of A-Z a-z 0-9 _ -", v);
	*out = json_string_value(v);
	return 0;
}

static int
cmp_arg(const void *a, const void *b)
{
	return strcmp(((const struct act_arg *)a)->key, ((const struct act_arg *)b)->key);
}

static int
get_args(const json_t *root, struct act_task *t, struct sm_error *err)
{
	const json_t *obj = json_object_get(root, "cmd_args"), *v;
	const char *key;
	char field[ACT_KEY_MAX + 16], num[64], ex[ACT__EXCERPT_MAX * 4 + 8];
	size_t i, n;

	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return bad_field(err, "cmd_args", "must be an object", NULL);
	n = json_object_size(obj);
	if (n == 0)
		return 0;
	if ((t->args = calloc(n, sizeof(*t->args))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	json_object_foreach((json_t *)obj, key, v) {
		const char *text = NULL;

		if (!charset_ok(key, strlen(key), ACT_KEY_MAX, 0)) {
			act__excerpt(key, strlen(key), ex, sizeof(ex));
			return sm_error_set(err, SM_EINVALID,
			    "field 'cmd_args': key %s must be 1-64 characters of A-Z a-z 0-9 _", ex);
		}
		for (i = 0; i < sizeof(reserved_args) / sizeof(reserved_args[0]); i++)
			if (strcmp(key, reserved_args[i]) == 0)
				return sm_error_set(err, SM_EINVALID,
				    "field 'cmd_args': key '%s' is reserved (use the task's own "
				    "searchterms_str, url or urls)", key);
		snprintf(field, sizeof(field), "cmd_args.%s", key);
		switch (json_typeof(v)) {
		case JSON_NULL:
			continue;
		case JSON_STRING:
			text = json_string_value(v);
			break;
		case JSON_INTEGER:
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			text = num;
			break;
		case JSON_REAL:
			sm_real_text(json_real_value(v), num, sizeof(num));
			text = num;
			break;
		case JSON_TRUE:
			text = "True";
			break;
		case JSON_FALSE:
			text = "False";
			break;
		default:
			return bad_field(err, field, "must be a string, number, boolean or null", NULL);
		}
		if ((t->args[t->nargs].key = strdup(key)) == NULL ||
		    (t->args[t->nargs].value = strdup(text)) == NULL) {
			free(t->args[t->nargs].key);
			t->args[t->nargs].key = NULL;
			return sm_error_set(err, SM_ENOMEM, "out of memory");
		}
		t->nargs++;
	}
	qsort(t->args, t->nargs, sizeof(*t->args), cmp_arg);
	return 0;
}

static int
get_term(const json_t *root, struct act_task *t, struct sm_error *err)
{
	static const enum act_mode modes[] = { ACT_MODE_SEARCH, ACT_MODE_URL, ACT_MODE_URLS };
	const json_t *found = NULL;
	size_t i, nfound = 0;

	for (i = 0; i < 3; i++) {
		const char *f = act_mode_field(modes[i]);
		const json_t *v = json_object_get(root, f);

		if (v == NULL)
			continue;
		if (!json_is_string(v) || json_string_length(v) == 0)
			return bad_field(err, f, "must be a non-empty string", NULL);
		nfound++;
		found = v;
		t->mode = modes[i];
	}
	if (nfound != 1)
		return sm_error_set(err, SM_EINVALID,
		    "fields 'searchterms_str', 'url', 'urls': exactly one is required, got %zu",
		    nfound);
	if ((t->term = strdup(json_string_value(found))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	return 0;
}

static int
get_cache_limit(const json_t *root, enum act_cache_limit *out, struct sm_error *err)
{
	static const enum act_cache_limit all[] = {
		ACT_CACHE_DAY, ACT_CACHE_HOUR, ACT_CACHE_30MIN, ACT_CACHE_15MIN,
	};
	const json_t *v = json_object_get(root, "sqs_cache_time_limit");
	size_t i;

	if (v == NULL)
		return 0;
	if (json_is_string(v))
		for (i = 0; i < 4; i++)
			if (strcmp(json_string_value(v), act_cache_limit_name(all[i])) == 0) {
				*out = all[i];
				return 0;
			}
	return bad_field(err, "sqs_cache_time_limit",
	    "must be \"day\", \"hour\", \"30min\" or \"15min\"", v);
}

static int
get_branch(const json_t *root, char **out, struct sm_error *err)
{
	const json_t *v = json_object_get(root, "branch_name");

	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v) || !act_branch_valid(json_string_value(v)))
		return bad_field(err, "branch_name", "must be a safe git branch name", v);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	return 0;
}

static json_t *
load(const char *buf, size_t len, struct sm_error *err)
{
	json_error_t jerr;
	json_t *root;
	char text[JSON_ERROR_TEXT_LENGTH];
	size_t i;

	if (len > ACT_TASK_MAX_BYTES) {
		sm_error_set(err, SM_ETOOBIG, "message is %zu bytes, over the %d-byte limit",
		    len, ACT_TASK_MAX_BYTES);
		return NULL;
	}
	if (!sm_utf8_valid(buf, len)) {
		for (i = 0; i < len; ) {
			size_t k = sm_utf8_seq((const unsigned char *)buf + i, len - i);

			if (k == 0)
				break;
			i += k;
		}
		sm_error_set(err, SM_EPARSE, "message is not UTF-8 (byte %zu)", i);
		return NULL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		clean_text(jerr.text, text, sizeof(text));
		sm_error_set(err, SM_EPARSE, "message is not JSON: line %d column %d: %s",
		    jerr.line, jerr.column, text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		sm_error_set(err, SM_EPARSE, "message is not a JSON object");
		return NULL;
	}
	return root;
}

int
act_task_parse(const char *buf, size_t len, struct act_task *t, struct sm_error *err)
{
	json_t *root;
	const char *s = NULL;
	int fg = 0, fs = 0, forced = 0, rc;

	memset(t, 0, sizeof(*t));
	if ((root = load(buf, len, err)) == NULL)
		return err != NULL ? err->code : SM_EPARSE;
	if ((rc = get_task_id(root, &t->task_id, err)) != 0 ||
	    (rc = get_server(root, &s, err)) != 0)
		goto fail;
	if ((t->server_name = strdup(s)) == NULL)
		goto nomem;
	s = NULL;
	if (json_object_get(root, "site") == NULL) {
		rc = sm_error_set(err, SM_EINVALID, "field 'site': missing");
		goto fail;
	}
	if (!json_is_string(json_object_get(root, "site")) ||
	    !charset_ok(json_string_value(json_object_get(root, "site")),
	    json_string_length(json_object_get(root, "site")), ACT_SITE_MAX, 0)) {
		rc = bad_field(err, "site", "must be 1-64 characters of A-Z a-z 0-9 _",
		    json_object_get(root, "site"));
		goto fail;
	}
	if ((t->site = strdup(json_string_value(json_object_get(root, "site")))) == NULL)
		goto nomem;
	if ((rc = get_term(root, t, err)) != 0 ||
	    (rc = get_args(root, t, err)) != 0 ||
	    (rc = get_branch(root, &t->branch_name, err)) != 0 ||
	    (rc = get_bool(root, "with_best_seller_ranking", &t->with_best_seller_ranking, err)) != 0 ||
	    (rc = get_cache_limit(root, &t->cache_limit, err)) != 0 ||
	    (rc = get_bool(root, "sqs_cache_get_ignore", &fg, err)) != 0 ||
	    (rc = get_bool(root, "sqs_cache_save_ignore", &fs, err)) != 0 ||
	    (rc = get_bool(root, "forced_task", &forced, err)) != 0)
		goto fail;
	t->cache_get_ignore = fg || forced;
	t->cache_save_ignore = fs || forced;
	json_decref(root);
	return 0;

nomem:
	rc = sm_error_set(err, SM_ENOMEM, "out of memory");
fail:
	json_decref(root);
	act_task_clear(t);
	return rc;
}

void
act_task_clear(struct act_task *t)
{
	size_t i;

	if (t == NULL)
		return;
	free(t->server_name);
	free(t->site);
	free(t->term);
	free(t->branch_name);
	for (i = 0; i < t->nargs; i++) {
		free(t->args[i].key);
		free(t->args[i].value);
	}
	free(t->args);
	memset(t, 0, sizeof(*t));
}

int
act_task_peek(const char *buf, size_t len, int64_t *task_id, char *server, size_t server_size)
{
	json_error_t jerr;
	json_t *root;
	const char *s = NULL;
	int64_t id = 0;
	int rc = SM_ENOTFOUND;

	if (server_size < ACT_SERVER_MAX + 1)
		return SM_EINVAL;
	if (len > 4 * (size_t)ACT_TASK_MAX_BYTES)
		return SM_ENOTFOUND;
	/* duplicates allowed here: Jansson keeps the last, and a message with
	 * a duplicate is reported failed whichever value names it */
	if ((root = json_loadb(buf, len, 0, &jerr)) == NULL)
		return SM_ENOTFOUND;
	if (json_is_object(root) && get_task_id(root, &id, NULL) == 0 &&
	    get_server(root, &s, NULL) == 0) {
		*task_id = id;
		snprintf(server, server_size, "%s", s);
		rc = 0;
	}
	json_decref(root);
	return rc;
}

int
act_branch_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > ACT_BRANCH_MAX || !sm_utf8_valid(s, n))
		return 0;
	if (s[0] == '-' || s[0] == '/' || s[n - 1] == '/' || s[n - 1] == '.')
		return 0;
	if (strcmp(s, "@") == 0 || strstr(s, "..") != NULL || strstr(s, "//") != NULL ||
	    strstr(s, "@{") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' ||
		    c == '?' || c == '*' || c == '[' || c == '\\')
			return 0;
		/* each component: no leading '.', no ".lock" ending */
		if (i == 0 || s[i - 1] == '/') {
			size_t e = i;

			if (c == '.')
				return 0;
			while (e < n && s[e] != '/')
				e++;
			if (e - i >= 5 && memcmp(s + e - 5, ".lock", 5) == 0)
				return 0;
		}
	}
	return 1;
}

const char *
act_cache_limit_name(enum act_cache_limit l)
{
	switch (l) {
	case ACT_CACHE_DAY: return "day";
	case ACT_CACHE_HOUR: return "hour";
	case ACT_CACHE_30MIN: return "30min";
	case ACT_CACHE_15MIN: return "15min";
	}
	return "?";
}

const char *
act_mode_field(enum act_mode m)
{
	switch (m) {
	case ACT_MODE_SEARCH: return "searchterms_str";
	case ACT_MODE_URL: return "url";
	case ACT_MODE_URLS: return "urls";
	}
	return "?";
}
