/* test_names.c - S3 names and keys (SPEC 4), cache key and freshness (SPEC 6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_names.h"
#include "sm_text.h"
#include "act_test_util.h"
#include "tap.h"

#define INST "wutu1197s1txa6d4b9uj9z6wj36q"
#define T_20150605 ((time_t)1433505600)   /* 2015-06-05T12:00:00Z */
#define T_20150403 ((time_t)1428048091)   /* 2015-04-03T08:01:31Z */

static void
name_of(const char *msg, char out[ACT_NAME_SIZE])
{
	struct act_task t = task(msg);
	struct sm_error e;

	if (act_name_build(&t, INST, T_20150605, out, &e) != 0)
		bail_out("name: %s", e.msg);
	act_task_clear(&t);
}

static void
test_names(void)
{
	char name[ACT_NAME_SIZE], key[ACT_KEY_SIZE];
	struct act_task t;
	struct sm_error e;

	name_of("{\"task_id\": 186442, \"server_name\": \"test-server\", \"site\": \"amazon\","
	    " \"searchterms_str\": \"iphone\"}", name);
	is_str(name, "2015/06/05/05-06-2015____" INST "____test-server--186442____iphone____amazon",
	    "the wiki's example name");
	is_int(act_key_build(name, ACT_KEY_CSV, key, sizeof(key)), 0, "csv key");
	is_str(key, "2015/06/05/05-06-2015____" INST "____test-server--186442____iphone____amazon.csv.zip",
	    "the wiki's example key");
	is_int(act_key_build(name, ACT_KEY_JL, key, sizeof(key)), 0, "jl key");
	like_str(key, "amazon.jl.zip", ".jl.zip");
	is_int(act_key_build(name, ACT_KEY_LOG, key, sizeof(key)), 0, "log key");
	like_str(key, "amazon.log.zip", ".log.zip");
	is_int(act_key_build(name, ACT_KEY_PROGRESS, key, sizeof(key)), 0, "progress key");
	like_str(key, "amazon.progress.zip", ".progress.zip");
	is_int(act_key_build(name, (enum act_key_kind)9, key, sizeof(key)), SM_EINVAL, "unknown kind");
	is_int(act_key_build(name, ACT_KEY_JL, key, 20), SM_ETOOBIG, "small buffer");
	is_str(act_name_base(name), "05-06-2015____" INST "____test-server--186442____iphone____amazon",
	    "base name: the file name");

	name_of("{\"task_id\": 4444, \"server_name\": \"s\", \"site\": \"amazon\", \"url\": \"http://a/b\"}", name);
	like_str(name, "____s--4444____single-product-url-request____amazon", "url task term");
	name_of("{\"task_id\": 4444, \"server_name\": \"s\", \"site\": \"amazon\", \"urls\": \"http://a/b||c\"}", name);
	like_str(name, "____s--4444____multiple-product-urls-request____amazon", "urls task term");
	name_of("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"w\", "
	    "\"searchterms_str\": \"a/b\\\\c\\n\\t\\u007f\\u0085d \\u00e9/..\\u2028\"}", name);
	is_str(act_name_base(name), "05-06-2015____" INST "____s--1____abcd \xc3\xa9..\xe2\x80\xa8____w",
	    "term cleaned of / \\ C0 DEL C1, the rest kept");
	ok(strchr(act_name_base(name), '/') == NULL, "no '/' in the base name");

	t = task("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}");
	is_int(act_name_build(&t, "short", T_20150605, name, &e), SM_EINVAL, "short instance refused");
	is_int(act_name_build(&t, "WUTU1197S1TXA6D4B9UJ9Z6WJ36Q", T_20150605, name, &e), SM_EINVAL,
	    "upper-case instance refused");
	is_int(act_name_build(&t, INST, -1, name, &e), SM_EINVAL, "negative time refused");
	is_int(act_name_build(&t, INST, (time_t)253402300800, name, &e), SM_EINVAL, "year 10000 refused");
	is_int(act_name_build(&t, INST, 0, name, &e), 0, "epoch accepted");
	like_str(name, "1970/01/01/01-01-1970____", "epoch date");
	act_task_clear(&t);

	is_int(act_daemon_log_key(INST, T_20150403, key, &e), 0, "daemon log key");
	is_str(key, "2015/04/03/03-04-2015____" INST "____remote_instance_starter2.log",
	    "daemon log key as the wiki shows it");
	is_int(act_daemon_log_key("x", T_20150403, key, &e), SM_EINVAL, "bad instance");
}

/* A name for a search term of `n` bytes of `fill` followed by `tail`. */
static void
long_name(size_t n, const char *fill, const char *tail, const char *server, const char *site,
    char out[ACT_NAME_SIZE])
{
	size_t cap = n + 4096, i, fl = strlen(fill);
	char *msg = malloc(cap), *p;

	p = msg + snprintf(msg, cap, "{\"task_id\": 9223372036854775807, \"server_name\": \"%s\","
	    " \"site\": \"%s\", \"searchterms_str\": \"", server, site);
	for (i = 0; i + fl <= n; i += fl, p += fl)
		memcpy(p, fill, fl);
	snprintf(p, cap - (size_t)(p - msg), "%s\"}", tail);
	name_of(msg, out);
	free(msg);
}

static void
test_long(void)
{
	char a[ACT_NAME_SIZE], b[ACT_NAME_SIZE], c[ACT_NAME_SIZE];
	const char *fixed = "2015/06/05/05-06-2015____" INST "____s--9223372036854775807________w";
	size_t room = ACT_NAME_MAX - strlen(fixed);

	long_name(room, "x", "", "s", "w", a);
	is_int(strlen(a), ACT_NAME_MAX, "a name of exactly 200 bytes is kept");
	ok(strchr(a, '~') == NULL, "and not hashed");
	long_name(room, "x", "y", "s", "w", b);
	ok(strlen(b) <= ACT_NAME_MAX, "201 bytes: cut to %zu", strlen(b));
	ok(strchr(b, '~') != NULL, "cut name carries the hash");
	like_str(b, "____s--9223372036854775807____", "cut name keeps server and id");
	ok(strlen(b) > 6 && strcmp(b + strlen(b) - 5, "____w") == 0, "cut name still ends in ____<site>");

	long_name(300, "x", "1", "s", "w", b);
	long_name(300, "x", "2", "s", "w", c);
	ok(strcmp(b, c) != 0, "terms differing only after the cut: different names");
	ok(strlen(b) <= ACT_NAME_MAX && strlen(c) <= ACT_NAME_MAX, "both within 200 bytes");
	long_name(300, "x", "1", "s", "w", a);
	is_str(a, b, "the same task gets the same name again");

	long_name(3000, "\xe2\x82\xac", "", "s", "w", a);
	ok(sm_utf8_valid(a, strlen(a)), "a term of 3-byte characters is cut on a boundary");
	long_name(3000, "\xf0\x9f\x98\x80", "", "s", "w", a);
	ok(sm_utf8_valid(a, strlen(a)), "4-byte characters too");

	/* longest server and site: even an empty term does not fit with the hash */
	{
		char server[ACT_SERVER_MAX + 1], site[ACT_SITE_MAX + 1];

		memset(server, 's', ACT_SERVER_MAX);
		server[ACT_SERVER_MAX] = '\0';
		memset(site, 'w', ACT_SITE_MAX);
		site[ACT_SITE_MAX] = '\0';
		long_name(10, "t", "1", server, site, b);
		long_name(10, "t", "2", server, site, c);
		ok(strlen(b) <= ACT_NAME_MAX && strlen(c) <= ACT_NAME_MAX,
		    "longest server and site: within 200 bytes (%zu)", strlen(b));
		ok(strcmp(b, c) != 0, "and still two names for two tasks");
		ok(strchr(act_name_base(b), '/') == NULL, "no '/' in the base name");
	}
}

static void
key_of(const char *msg, const char *def, char out[ACT_CACHE_KEY_SIZE])
{
	struct act_task t = task(msg);

	if (act_cache_key(&t, def, out) != 0)
		bail_out("cache key");
	act_task_clear(&t);
}

static void
test_cache_key(void)
{
	static const char *const base = "{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\","
	    " \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20}}";
	static const char *const same[] = {
		"{\"task_id\": 2, \"server_name\": \"other\", \"site\": \"walmart\","
		" \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": \"20\"}}",
		"{\"site\": \"walmart\", \"searchterms_str\": \"water\", \"task_id\": 1, \"server_name\": \"s\","
		" \"cmd_args\": {\"quantity\": 20, \"gone\": null}, \"branch_name\": \"sc_production\","
		" \"sqs_cache_time_limit\": \"hour\", \"forced_task\": true, \"with_best_seller_ranking\": \"false\"}",
	};
	static const char *const differ[] = {
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"amazon\", \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"Water\", \"cmd_args\": {\"quantity\": 20}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"url\": \"water\", \"cmd_args\": {\"quantity\": 20}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"urls\": \"water\", \"cmd_args\": {\"quantity\": 20}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 21}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20, \"zip\": 1}}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\"}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20}, \"branch_name\": \"dev\"}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20}, \"with_best_seller_ranking\": 1}",
		"{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\", \"cmd_args\": {\"Quantity\": 20}}",
	};
	char k0[ACT_CACHE_KEY_SIZE], k[ACT_CACHE_KEY_SIZE];
	struct act_task t = task(base);
	char *canon = act_cache_canonical(&t, "sc_production");
	size_t i;

	is_str(canon, "{\"branch_name\":\"sc_production\",\"cmd_args\":{\"quantity\":\"20\"},"
	    "\"searchterms_str\":\"water\",\"site\":\"walmart\",\"with_best_seller_ranking\":false}",
	    "canonical JSON");
	free(canon);
	act_task_clear(&t);
	key_of(base, "sc_production", k0);
	/* python3: hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(',', ':'))) */
	is_str(k0, "1d08f8c4fe733cc2f79b77366e62e1d80d338ded3d48d79411c37213af45f5f7",
	    "cache key is the SHA-256 of the canonical JSON");
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		key_of(same[i], "sc_production", k);
		is_str(k, k0, "same key without task_id/server/flags (case %zu)", i);
	}
	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		key_of(differ[i], "sc_production", k);
		ok(strcmp(k, k0) != 0, "different key (case %zu)", i);
	}
	key_of(base, "master", k);
	ok(strcmp(k, k0) != 0, "another default branch: another key");
}

static void
test_buckets(void)
{
	const time_t t = T_20150403;                 /* 08:01:31 */
	const time_t day = 1428019200;               /* 2015-04-03T00:00:00Z */
	const time_t t847 = day + 8 * 3600 + 47 * 60;

	is_int(act_cache_bucket(ACT_CACHE_DAY, t), day, "day bucket");
	is_int(act_cache_bucket(ACT_CACHE_HOUR, t), day + 8 * 3600, "hour bucket");
	is_int(act_cache_bucket(ACT_CACHE_30MIN, t), day + 8 * 3600, "30min bucket");
	is_int(act_cache_bucket(ACT_CACHE_15MIN, t), day + 8 * 3600, "15min bucket");
	is_int(act_cache_bucket(ACT_CACHE_30MIN, t847), day + 8 * 3600 + 1800, "30min at 08:47");
	is_int(act_cache_bucket(ACT_CACHE_15MIN, t847), day + 8 * 3600 + 45 * 60, "15min at 08:47");
	is_int(act_cache_bucket(ACT_CACHE_DAY, -1), -86400, "before 1970: floor, not truncation");
	ok(act_cache_fresh(ACT_CACHE_HOUR, day + 8 * 3600, day + 9 * 3600 - 1), "same hour: fresh");
	ok(!act_cache_fresh(ACT_CACHE_HOUR, day + 8 * 3600 - 1, day + 8 * 3600),
	    "one second across the hour: stale (clock-aligned, not a sliding hour)");
	ok(act_cache_fresh(ACT_CACHE_DAY, day + 8 * 3600 - 1, day + 8 * 3600), "same day: fresh");
	ok(!act_cache_fresh(ACT_CACHE_DAY, day - 1, day), "across midnight UTC: stale");
	ok(!act_cache_fresh(ACT_CACHE_15MIN, t847 - 180, t847), "08:44 and 08:47: across 08:45, stale");
	ok(act_cache_fresh(ACT_CACHE_15MIN, t847 - 120, t847), "08:45 and 08:47: fresh");
	ok(!act_cache_fresh(ACT_CACHE_15MIN, t847 + 86400, t847), "stored tomorrow: not fresh today");
}

int
main(void)
{
	plan_no_plan();
	test_names();
	test_long();
	test_cache_key();
	test_buckets();
	return done_testing();
}
