/*
 * act_task.h - the task message of SPEC section 2: parse, validate, free.
 *
 * A task message is a JSON object in UTF-8 of at most ACT_TASK_MAX_BYTES.
 * act_task_parse() accepts it or refuses it with one message that names the
 * field and the rule it broke; that message is the reason sent in the
 * "failed" progress message (SPEC 7), so it never echoes more than a short,
 * escaped excerpt of what the sender wrote.
 *
 * Rules (anything else is a bad message):
 *  - task_id: JSON integer, 0 .. 2^63-1.  server_name: string of 1 ..
 *    ACT_SERVER_MAX characters from [A-Za-z0-9_-] (it names SQS queues).
 *  - site: 1 .. ACT_SITE_MAX characters from [A-Za-z0-9_].
 *  - exactly one of searchterms_str, url, urls: a non-empty string.
 *  - cmd_args: an object; keys 1 .. ACT_KEY_MAX characters from [A-Za-z0-9_],
 *    none of searchterms_str, product_url, products_url (they would override
 *    the task's own term); values strings (verbatim), integers (decimal),
 *    reals (as Python writes them: 0.1, 1.0), true/false ("True"/"False", as
 *    the old spiders expect) or null (the argument is left out).
 *  - branch_name: absent, null or "" (the configured default), or a safe git
 *    branch name (act_branch_valid).
 *  - with_best_seller_ranking, sqs_cache_get_ignore, sqs_cache_save_ignore,
 *    forced_task: true, "True", "true", 1 are true; false, "False", "false",
 *    0 are false.
 *  - sqs_cache_time_limit: "day" (default), "hour", "30min", "15min".
 *  - duplicate keys anywhere are refused (two parsers must not disagree on
 *    which one counts); other unknown fields are ignored.
 */
#ifndef ACT_TASK_H
#define ACT_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

#define ACT_TASK_MAX_BYTES (256 * 1024)  /* SPEC 7: "over 256 KiB" is bad */
#define ACT_SERVER_MAX 64                /* server_name bytes */
#define ACT_SITE_MAX 64                  /* site bytes */
#define ACT_KEY_MAX 64                   /* cmd_args key bytes */
#define ACT_BRANCH_MAX 200               /* branch_name bytes */

enum act_mode {
	ACT_MODE_SEARCH,        /* searchterms_str: many products */
	ACT_MODE_URL,           /* url: one product (spider's product_url) */
	ACT_MODE_URLS,          /* urls: several products (spider's products_url) */
};

enum act_cache_limit {
	ACT_CACHE_DAY,
	ACT_CACHE_HOUR,
	ACT_CACHE_30MIN,
	ACT_CACHE_15MIN,
};

struct act_arg {
	char *key;              /* [A-Za-z0-9_]+ */
	char *value;            /* as the spider gets it; never NULL */
};

struct act_task {
	int64_t task_id;
	char *server_name;
	char *site;
	enum act_mode mode;
	char *term;             /* the value of searchterms_str, url or urls */
	struct act_arg *args;   /* cmd_args without nulls, sorted by key */
	size_t nargs;
	char *branch_name;      /* NULL: the configured default */
	int with_best_seller_ranking;
	enum act_cache_limit cache_limit;
	int cache_get_ignore;   /* sqs_cache_get_ignore or forced_task */
	int cache_save_ignore;  /* sqs_cache_save_ignore or forced_task */
};

/*
 * Parse and validate the `len` bytes at `buf` (no NUL needed) into `*t`.
 * On success returns 0 and `*t` owns its strings (act_task_clear frees
 * them).  On failure `*t` is zeroed and `err` holds the reason.
 * Errors: SM_ETOOBIG (over ACT_TASK_MAX_BYTES), SM_EPARSE (not UTF-8, not
 * JSON, duplicate key), SM_EINVALID (a field breaks a rule), SM_ENOMEM.
 */
int act_task_parse(const char *buf, size_t len, struct act_task *t, struct sm_error *err);

/* Free what `t` owns and zero it; NULL and a zeroed struct are allowed. */
void act_task_clear(struct act_task *t);

/*
 * Best effort for a message act_task_parse refused: read task_id and
 * server_name by the same rules, ignoring every other field, so that a
 * failure can be reported (SPEC 7).  Messages over 4 * ACT_TASK_MAX_BYTES
 * are not read.  Returns 0 and fills `*task_id` and `server` (NUL-
 * terminated, `server_size` >= ACT_SERVER_MAX + 1) when both are readable
 * and valid; SM_ENOTFOUND (outputs untouched) otherwise; SM_EINVAL for a
 * `server_size` that is too small.
 */
int act_task_peek(const char *buf, size_t len, int64_t *task_id, char *server,
    size_t server_size);

/* 1 if `s` is a safe git branch name (git check-ref-format for refs/heads/
 * plus: no leading '-', at most ACT_BRANCH_MAX bytes, UTF-8), else 0. */
int act_branch_valid(const char *s);

/* "day", "hour", "30min", "15min"; "?" for anything else. */
const char *act_cache_limit_name(enum act_cache_limit l);

/* "searchterms_str", "url", "urls". */
const char *act_mode_field(enum act_mode m);

#endif
