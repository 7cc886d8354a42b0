/*
 * act_names.h - the names of SPEC sections 4 and 6: a task's S3 output
 * name and keys, the daemon log key, the cache key and its freshness.
 *
 * Name: YYYY/MM/DD/DD-MM-YYYY____<instance>____<server>--<task_id>____<term>____<site>
 * with the date of `received` (UTC), <term> = searchterms_str with '/', '\\'
 * and control characters (C0, DEL, C1) removed, or
 * "single-product-url-request" (url) / "multiple-product-urls-request" (urls).
 * A name over ACT_NAME_MAX bytes keeps its shape: the term is cut (at a UTF-8
 * boundary) and followed by "~" and the first 16 hex digits of the SHA-256
 * of the whole uncut name, so two tasks that differ anywhere get different
 * names.  Everything is a function of its inputs: a task rebuilt after a
 * crash from its stored message and receive time gets the same name.
 */
#ifndef ACT_NAMES_H
#define ACT_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "act_task.h"
#include "sm_err.h"

#define ACT_NAME_MAX 200 /* bytes of a name, not counting the suffix */
#define ACT_NAME_SIZE (ACT_NAME_MAX + 1)
#define ACT_KEY_SIZE (ACT_NAME_MAX + 16) /* a name, the longest suffix and NUL */
#define ACT_INSTANCE_LEN 28              /* [a-z0-9] */
#define ACT_NAME_HASH_HEX 16             /* hex digits after '~' in a cut name */
#define ACT_CACHE_KEY_SIZE 65            /* SHA-256 in hex and NUL */

enum act_key_kind {
	ACT_KEY_JL,       /* ".jl.zip": the items */
	ACT_KEY_CSV,      /* ".csv.zip": the items as CSV */
	ACT_KEY_LOG,      /* ".log.zip": the spider's log */
	ACT_KEY_PROGRESS, /* ".progress.zip": the last progress message */
	ACT_KEY_RECORD,   /* ".state.json.zip": the task record (docs/fleet-formats.md) */
};
#define ACT_KEY_KINDS 5 /* the kinds above, 0 .. ACT_KEY_KINDS - 1 */

/* The one member of a task record's zip: the name's base and this. */
#define ACT_RECORD_MEMBER_SUFFIX ".state.json"

/*
 * Build the task's name into `out`.  `instance` must be ACT_INSTANCE_LEN
 * characters of [a-z0-9]; `received` between 1970 and 9999.
 * Errors: SM_EINVAL (bad instance or time; message in `err`).
 */
int act_name_build(const struct act_task *t, const char *instance, time_t received,
    char out[ACT_NAME_SIZE], struct sm_error *err);

/* The suffix of a key kind (".jl.zip", ...); "" for an unknown kind. */
const char *act_key_suffix(enum act_key_kind k);

/* `name` + suffix into `out` (`size` >= ACT_KEY_SIZE is always enough).
 * Errors: SM_EINVAL (unknown kind), SM_ETOOBIG (`out` too small). */
int act_key_build(const char *name, enum act_key_kind k, char *out, size_t size);

/* The part of `name` after its last '/': the file name used in the work
 * directory and inside each zip ("DD-MM-YYYY____...____<site>"). */
const char *act_name_base(const char *name);

/*
 * The daemon's own log key, YYYY/MM/DD/DD-MM-YYYY____<instance>____
 * remote_instance_starter2.log, dated `started` (UTC).
 * Errors: SM_EINVAL as for act_name_build.
 */
int act_daemon_log_key(
    const char *instance, time_t started, char out[ACT_KEY_SIZE], struct sm_error *err);

/*
 * A key of the bucket's day folders read back into its parts (the reverse
 * of act_name_build / act_key_build / act_daemon_log_key).  `kind`:
 * ACT_NAME_TASK for a task's output or record (server, task_id, term, site
 * and the key kind are set), ACT_NAME_DAEMON_LOG for a daemon's own log.
 * Strings are NUL-terminated copies; `name` is the key without its suffix
 * (what act_name_build gave), `suffix` a static string ("" for the daemon
 * log).  The layout cannot tell every split apart: server names and sites
 * may hold "____" too; the parse takes the first "--<digits>____" after
 * the instance for the task id and the last "____" for the site, which is
 * what act_name_build wrote for every name whose parts hold no "____".
 */
enum act_name_kind { ACT_NAME_TASK = 1, ACT_NAME_DAEMON_LOG = 2 };
struct act_name_parts {
	enum act_name_kind kind;
	int year, month, day; /* of the folder YYYY/MM/DD/ */
	char instance[ACT_INSTANCE_LEN + 1];
	char server[ACT_SERVER_MAX + 1];
	int64_t task_id;
	char term[ACT_NAME_SIZE];
	char site[ACT_SITE_MAX + 1];
	enum act_key_kind key_kind; /* ACT_NAME_TASK */
	const char *suffix;
	char name[ACT_NAME_SIZE];
};
/* 0, or SM_EINVAL when `key` is not such a key (nothing else is set then
 * but what was read so far). */
int act_name_parse(const char *key, struct act_name_parts *out);

/*
 * The daemon's keys of docs/fleet-formats.md, into `out`: its heartbeat
 * smd/instances/<instance>.json, and its start marker
 * smd/started/YYYY/MM/DD/<instance>.json dated `started` (UTC).
 * Errors: SM_EINVAL as for act_name_build.
 */
int act_heartbeat_key(const char *instance, char out[ACT_KEY_SIZE], struct sm_error *err);
int act_started_key(const char *instance, time_t started, char out[ACT_KEY_SIZE],
    struct sm_error *err);

/* Lower-case hex SHA-256 of the `n` bytes at `p`. */
void act_sha256_hex(const void *p, size_t n, char out[65]);

/*
 * The canonical JSON the cache key hashes (malloc'd, caller frees; NULL
 * when out of memory): one object, keys sorted bytewise, no whitespace,
 * strings in UTF-8 with Jansson's escapes, holding "site", the task's
 * mode field ("searchterms_str", "url" or "urls") with its value,
 * "with_best_seller_ranking" (true/false), "branch_name" (the task's, or
 * `default_branch` when it names none) and "cmd_args" (an object of the
 * argument strings exactly as the spider gets them).  task_id,
 * server_name and the cache flags are never part of it.  `default_branch`
 * must not be NULL.
 */
char *act_cache_canonical(const struct act_task *t, const char *default_branch);

/* Lower-case hex SHA-256 of act_cache_canonical() into `out`.
 * Errors: SM_ENOMEM. */
int act_cache_key(
    const struct act_task *t, const char *default_branch, char out[ACT_CACHE_KEY_SIZE]);

/* Start of the clock-aligned UTC bucket holding `t`: the day, the hour,
 * the half hour or the quarter hour. */
time_t act_cache_bucket(enum act_cache_limit l, time_t t);

/* 1 if a result stored at `stored` is fresh at `now`: same bucket. */
int act_cache_fresh(enum act_cache_limit l, time_t stored, time_t now);

#endif
