/*
 * act_names.c - output names, keys, cache key and freshness.  See act_names.h.
 */
#include "act_names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_digest.h"
#include "sm_text.h"

#define DAEMON_LOG_TAIL "____remote_instance_starter2.log"
#define MAX_TIME ((time_t)253402300799) /* 9999-12-31T23:59:59Z */

static int
date_prefix(const char *instance, time_t when, char *out, size_t size, struct sm_error *err)
{
	struct tm tm;
	size_t i;

	if (instance == NULL || strlen(instance) != ACT_INSTANCE_LEN)
		return sm_error_set(err, SM_EINVAL, "instance id must be %d characters of a-z 0-9",
		    ACT_INSTANCE_LEN);
	for (i = 0; i < ACT_INSTANCE_LEN; i++)
		if (!((instance[i] >= 'a' && instance[i] <= 'z') ||
		        (instance[i] >= '0' && instance[i] <= '9')))
			return sm_error_set(err, SM_EINVAL,
			    "instance id must be %d characters of a-z 0-9", ACT_INSTANCE_LEN);
	if (when < 0 || when > MAX_TIME || gmtime_r(&when, &tm) == NULL)
		return sm_error_set(
		    err, SM_EINVAL, "time %lld is outside 1970..9999", (long long)when);
	snprintf(out, size, "%04d/%02d/%02d/%02d-%02d-%04d____%s", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, instance);
	return 0;
}

/* searchterms_str without '/', '\\', C0, DEL and C1 (U+0080..U+009F). */
static char *
clean_term(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
			continue;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			i++;
			continue;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/* Longest prefix of `s` of at most `max` bytes that ends on a UTF-8 boundary. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int
act_name_build(const struct act_task *t, const char *instance, time_t received,
    char out[ACT_NAME_SIZE], struct sm_error *err)
{
	char head[64], idpart[ACT_SERVER_MAX + 32], hash[65];
	char *term = NULL, *full = NULL;
	size_t hl, il, tl, sl, fixed, keep;
	int rc, n;

	if ((rc = date_prefix(instance, received, head, sizeof(head), err)) != 0)
		return rc;
	snprintf(idpart, sizeof(idpart), "%s--%" PRId64, t->server_name, t->task_id);
	if (t->mode == ACT_MODE_SEARCH)
		term = clean_term(t->term);
	else
		term = strdup(t->mode == ACT_MODE_URL ? "single-product-url-request" :
		                                        "multiple-product-urls-request");
	if (term == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	hl = strlen(head);
	il = strlen(idpart);
	tl = strlen(term);
	sl = strlen(t->site);
	if ((full = malloc(hl + il + tl + sl + 16)) == NULL) {
		free(term);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	sprintf(full, "%s____%s____%s____%s", head, idpart, term, t->site);
	if (strlen(full) <= ACT_NAME_MAX) {
		memcpy(out, full, strlen(full) + 1);
		goto done;
	}
	sm_digest_hex(SM_DIGEST_SHA256, full, strlen(full), hash);
	hash[ACT_NAME_HASH_HEX] = '\0';
	fixed = hl + 4 + il + 4 + 1 + ACT_NAME_HASH_HEX + 4 + sl;
	if (fixed <= ACT_NAME_MAX) {
		/* cut the term, keep the shape */
		keep = utf8_cut(term, ACT_NAME_MAX - fixed);
		n = snprintf(out, ACT_NAME_SIZE, "%s____%s____%.*s~%s____%s", head, idpart,
		    (int)keep, term, hash, t->site);
	} else {
		/* only with limits above ACT_NAME_MAX: cut the whole name */
		keep = utf8_cut(full, ACT_NAME_MAX - 1 - ACT_NAME_HASH_HEX);
		n = snprintf(out, ACT_NAME_SIZE, "%.*s~%s", (int)keep, full, hash);
	}
	if (n < 0 || n > ACT_NAME_MAX) { /* cannot happen: the cut leaves room */
		rc = sm_error_set(err, SM_EBUG, "name of %d bytes after the cut", n);
		goto done;
	}
done:
	free(full);
	free(term);
	return rc;
}

const char *
act_key_suffix(enum act_key_kind k)
{
	switch (k) {
	case ACT_KEY_JL:
		return ".jl.zip";
	case ACT_KEY_CSV:
		return ".csv.zip";
	case ACT_KEY_LOG:
		return ".log.zip";
	case ACT_KEY_PROGRESS:
		return ".progress.zip";
	case ACT_KEY_RECORD:
		return ".state.json.zip";
	}
	return "";
}

int
act_key_build(const char *name, enum act_key_kind k, char *out, size_t size)
{
	const char *suffix = act_key_suffix(k);

	if (*suffix == '\0')
		return SM_EINVAL;
	if ((size_t)snprintf(out, size, "%s%s", name, suffix) >= size)
		return SM_ETOOBIG;
	return 0;
}

const char *
act_name_base(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash != NULL ? slash + 1 : name;
}

int
act_daemon_log_key(
    const char *instance, time_t started, char out[ACT_KEY_SIZE], struct sm_error *err)
{
	char head[64];
	int rc;

	if ((rc = date_prefix(instance, started, head, sizeof(head), err)) != 0)
		return rc;
	snprintf(out, ACT_KEY_SIZE, "%s____remote_instance_starter2.log", head);
	return 0;
}

int
act_heartbeat_key(const char *instance, char out[ACT_KEY_SIZE], struct sm_error *err)
{
	char head[64];
	int rc;

	/* date_prefix checks the instance id */
	if ((rc = date_prefix(instance, 0, head, sizeof(head), err)) != 0)
		return rc;
	snprintf(out, ACT_KEY_SIZE, "smd/instances/%s.json", instance);
	return 0;
}

int
act_started_key(const char *instance, time_t started, char out[ACT_KEY_SIZE], struct sm_error *err)
{
	char head[64];
	int rc;

	if ((rc = date_prefix(instance, started, head, sizeof(head), err)) != 0)
		return rc;
	/* head: YYYY/MM/DD/DD-MM-YYYY____<instance> */
	snprintf(out, ACT_KEY_SIZE, "smd/started/%.10s/%s.json", head, instance);
	return 0;
}

char *
act_cache_canonical(const struct act_task *t, const char *default_branch)
{
	json_t *o = json_object(), *args = json_object();
	const char *branch = t->branch_name != NULL ? t->branch_name : default_branch;
	char *s = NULL;
	size_t i;

	if (o == NULL || args == NULL || branch == NULL)
		goto out;
	for (i = 0; i < t->nargs; i++)
		if (json_object_set_new(args, t->args[i].key, json_string(t->args[i].value)) != 0)
			goto out;
	if (json_object_set_new(o, "site", json_string(t->site)) != 0 ||
	    json_object_set_new(o, act_mode_field(t->mode), json_string(t->term)) != 0 ||
	    json_object_set_new(
	        o, "with_best_seller_ranking", json_boolean(t->with_best_seller_ranking)) != 0 ||
	    json_object_set_new(o, "branch_name", json_string(branch)) != 0 ||
	    json_object_set(o, "cmd_args", args) != 0)
		goto out;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(args);
	json_decref(o);
	return s;
}

int
act_cache_key(const struct act_task *t, const char *default_branch, char out[ACT_CACHE_KEY_SIZE])
{
	char *s = act_cache_canonical(t, default_branch);

	if (s == NULL)
		return SM_ENOMEM;
	sm_digest_hex(SM_DIGEST_SHA256, s, strlen(s), out);
	free(s);
	return 0;
}

time_t
act_cache_bucket(enum act_cache_limit l, time_t t)
{
	time_t width, r;

	switch (l) {
	case ACT_CACHE_HOUR:
		width = 3600;
		break;
	case ACT_CACHE_30MIN:
		width = 1800;
		break;
	case ACT_CACHE_15MIN:
		width = 900;
		break;
	case ACT_CACHE_DAY:
	default:
		width = 86400;
		break;
	}
	r = t % width;
	if (r < 0)
		r += width;
	return t - r;
}

int
act_cache_fresh(enum act_cache_limit l, time_t stored, time_t now)
{
	return act_cache_bucket(l, stored) == act_cache_bucket(l, now);
}

/* Digits of `s` (n of them) as a number; -1 when not all digits. */
static int
digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Copy `n` bytes of `s` into `out` (`size` bytes); SM_EINVAL if they do not fit. */
static int
copy_part(char *out, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return SM_EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
act_name_parse(const char *key, struct act_name_parts *out)
{
	size_t len = strlen(key), nlen = 0, i;
	const char *p, *id, *rest, *end, *site;
	char date[32], *num_end; /* 15 bytes used; room for any int (gcc -Wformat-truncation) */
	int k;

	memset(out, 0, sizeof(*out));
	out->suffix = "";
	/* YYYY/MM/DD/DD-MM-YYYY____<instance>____ */
	if (len < 11 + 10 + 4 + ACT_INSTANCE_LEN + 4 || key[4] != '/' || key[7] != '/' ||
	    key[10] != '/')
		return SM_EINVAL;
	out->year = digits(key, 4);
	out->month = digits(key + 5, 2);
	out->day = digits(key + 8, 2);
	if (out->year < 1970 || out->month < 1 || out->month > 12 || out->day < 1 || out->day > 31)
		return SM_EINVAL;
	snprintf(date, sizeof(date), "%02d-%02d-%04d____", out->day, out->month, out->year);
	if (strncmp(key + 11, date, 14) != 0)
		return SM_EINVAL;
	p = key + 25;
	for (i = 0; i < ACT_INSTANCE_LEN; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
			return SM_EINVAL;
	memcpy(out->instance, p, ACT_INSTANCE_LEN);
	rest = p + ACT_INSTANCE_LEN;
	if (strncmp(rest, "____", 4) != 0)
		return SM_EINVAL;
	rest += 4;
	if (strcmp(rest - 4, DAEMON_LOG_TAIL) == 0) {
		out->kind = ACT_NAME_DAEMON_LOG;
		return copy_part(out->name, sizeof(out->name), key, len);
	}
	/* the suffix: one of the key kinds */
	for (k = 0; k < ACT_KEY_KINDS; k++) {
		const char *sfx = act_key_suffix((enum act_key_kind)k);
		size_t sl = strlen(sfx);

		if (len > sl && strcmp(key + len - sl, sfx) == 0 &&
		    (nlen == 0 || len - sl < nlen)) {
			nlen = len - sl;
			out->key_kind = (enum act_key_kind)k;
			out->suffix = sfx;
		}
	}
	if (nlen == 0 || copy_part(out->name, sizeof(out->name), key, nlen) != 0)
		return SM_EINVAL;
	end = key + nlen;
	/* <server>--<task_id>____: the first "--" followed by digits and "____" */
	for (id = rest; (id = strstr(id, "--")) != NULL && id < end; id++) {
		const char *q = id + 2;

		if (*q == '-')
			q++;
		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (strncmp(q, "____", 4) == 0 && q + 4 <= end)
			break;
	}
	if (id == NULL || id >= end || id == rest ||
	    copy_part(out->server, sizeof(out->server), rest, (size_t)(id - rest)) != 0)
		return SM_EINVAL;
	out->task_id = strtoll(id + 2, &num_end, 10);
	p = num_end + 4;
	/* <term>____<site>: the site after the last "____" */
	for (site = NULL, rest = p; rest + 4 <= end; rest++)
		if (strncmp(rest, "____", 4) == 0)
			site = rest;
	if (site == NULL || site + 4 == end ||
	    copy_part(out->term, sizeof(out->term), p, (size_t)(site - p)) != 0 ||
	    copy_part(out->site, sizeof(out->site), site + 4, (size_t)(end - site - 4)) != 0)
		return SM_EINVAL;
	out->kind = ACT_NAME_TASK;
	return 0;
}
