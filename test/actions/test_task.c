/* test_task.c - the task message (SPEC 2): accepted, refused with a reason, peeked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_task.h"
#include "tap.h"

static struct act_task T;
static struct sm_error E;

static int
parse(const char *s)
{
	act_task_clear(&T);
	sm_error_clear(&E);
	return act_task_parse(s, strlen(s), &T, &E);
}

/* A minimal valid message with `extra` spliced in ("" for none). */
static int
parse_with(const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
	    "{\"task_id\": 7, \"server_name\": \"srv\", \"site\": \"walmart\", "
	    "\"searchterms_str\": \"water\"%s%s}", *extra ? ", " : "", extra);
	return parse(buf);
}

static void
test_valid(void)
{
	int rc = parse("{\"task_id\": 4444, \"server_name\": \"test-server_1\", \"site\": \"walmart\","
	    " \"searchterms_str\": \"water \\u00e9/\\\\\", \"cmd_args\": {\"quantity\": 20,"
	    " \"zip_code\": \"94117\", \"make_screenshot\": true, \"scrape_questions\": false,"
	    " \"ratio\": 0.1, \"unset\": null, \"A_b9\": \"-o /etc/passwd\"},"
	    " \"branch_name\": \"feature/x-1\", \"with_best_seller_ranking\": \"True\","
	    " \"sqs_cache_time_limit\": \"30min\", \"extra_field\": [1, 2]}");

	is_int(rc, 0, "full message accepted (%s)", E.msg);
	is_int(T.task_id, 4444, "task_id");
	is_str(T.server_name, "test-server_1", "server_name");
	is_str(T.site, "walmart", "site");
	is_int(T.mode, ACT_MODE_SEARCH, "search mode");
	is_str(T.term, "water \xc3\xa9/\\", "term verbatim (escapes decoded)");
	is_str(T.branch_name, "feature/x-1", "branch_name");
	is_int(T.with_best_seller_ranking, 1, "\"True\" is true");
	is_int(T.cache_limit, ACT_CACHE_30MIN, "cache limit 30min");
	is_int(T.cache_get_ignore, 0, "cache lookup not skipped");
	is_int(T.nargs, 6, "six cmd_args (null left out)");
	if (T.nargs == 6) {
		is_str(T.args[0].key, "A_b9", "args sorted: A_b9 first");
		is_str(T.args[0].value, "-o /etc/passwd", "string value verbatim");
		is_str(T.args[1].key, "make_screenshot", "then make_screenshot");
		is_str(T.args[1].value, "True", "true -> True");
		is_str(T.args[2].value, "20", "quantity 20 -> \"20\"");
		is_str(T.args[3].key, "ratio", "ratio");
		is_str(T.args[3].value, "0.1", "0.1 in shortest form");
		is_str(T.args[4].value, "False", "false -> False");
		is_str(T.args[5].value, "94117", "zip_code");
	}

	is_int(parse("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"amazon\", "
	    "\"url\": \"http://www.walmart.com/ip/31262048\"}"), 0, "url task");
	is_int(T.mode, ACT_MODE_URL, "url mode");
	ok(T.branch_name == NULL && T.nargs == 0 && T.cache_limit == ACT_CACHE_DAY,
	    "defaults: no branch, no args, day");
	is_int(parse("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"amazon\", "
	    "\"urls\": \"a||b\", \"branch_name\": null}"), 0, "urls task, null branch");
	is_int(T.mode, ACT_MODE_URLS, "urls mode");
	is_int(parse_with("\"branch_name\": \"\""), 0, "empty branch is the default");
	ok(T.branch_name == NULL, "empty branch -> NULL");
	is_int(parse_with("\"forced_task\": 1"), 0, "forced_task");
	ok(T.cache_get_ignore && T.cache_save_ignore, "forced_task skips lookup and save");
	is_int(parse_with("\"sqs_cache_save_ignore\": \"true\""), 0, "save ignore");
	ok(!T.cache_get_ignore && T.cache_save_ignore, "only save skipped");
	is_int(parse_with("\"task_id\": 9") , SM_EPARSE, "duplicate task_id refused");
	like_str(E.msg, "duplicate", "reason says duplicate");
}

static void
test_booleans(void)
{
	static const struct { const char *v; int rc, val; } cases[] = {
		{ "true", 0, 1 }, { "\"True\"", 0, 1 }, { "\"true\"", 0, 1 }, { "1", 0, 1 },
		{ "false", 0, 0 }, { "\"False\"", 0, 0 }, { "\"false\"", 0, 0 }, { "0", 0, 0 },
		{ "\"TRUE\"", SM_EINVALID, 0 }, { "\"1\"", SM_EINVALID, 0 }, { "2", SM_EINVALID, 0 },
		{ "-1", SM_EINVALID, 0 }, { "1.0", SM_EINVALID, 0 }, { "null", SM_EINVALID, 0 },
		{ "\"\"", SM_EINVALID, 0 }, { "[]", SM_EINVALID, 0 }, { "{}", SM_EINVALID, 0 },
		{ "\"yes\"", SM_EINVALID, 0 }, { "\" true\"", SM_EINVALID, 0 },
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "\"with_best_seller_ranking\": %s", cases[i].v);
		is_int(parse_with(buf), cases[i].rc, "boolean %s", cases[i].v);
		if (cases[i].rc == 0)
			is_int(T.with_best_seller_ranking, cases[i].val, "boolean %s value", cases[i].v);
		else
			like_str(E.msg, "'with_best_seller_ranking'", "reason names the field");
	}
	/* the old system read "False" as true: it must be false for every flag */
	is_int(parse_with("\"sqs_cache_get_ignore\": \"False\", \"forced_task\": \"False\""), 0,
	    "False flags");
	ok(!T.cache_get_ignore && !T.cache_save_ignore, "\"False\" is false");
}

static void
test_refused(void)
{
	static const struct { const char *msg, *field; int rc; } cases[] = {
		{ "{\"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}", "'task_id': missing", SM_EINVALID },
		{ "{\"task_id\": \"7\", \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}", "'task_id'", SM_EINVALID },
		{ "{\"task_id\": 7.0, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}", "'task_id'", SM_EINVALID },
		{ "{\"task_id\": -1, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}", "'task_id'", SM_EINVALID },
		{ "{\"task_id\": true, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\"}", "'task_id'", SM_EINVALID },
		{ "{\"task_id\": 7, \"site\": \"w\", \"url\": \"u\"}", "'server_name': missing", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": 5, \"site\": \"w\", \"url\": \"u\"}", "'server_name'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"\", \"site\": \"w\", \"url\": \"u\"}", "'server_name'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"a/b\", \"site\": \"w\", \"url\": \"u\"}", "'server_name'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"url\": \"u\"}", "'site': missing", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"wal-mart\", \"url\": \"u\"}", "'site'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"../x\", \"url\": \"u\"}", "'site'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"\", \"url\": \"u\"}", "'site'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": [\"w\"], \"url\": \"u\"}", "'site'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\"}", "exactly one", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"urls\": \"v\"}", "exactly one", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"searchterms_str\": \"v\", \"urls\": \"x\"}", "exactly one", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"\"}", "'url'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": null}", "'url'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"searchterms_str\": 5}", "'searchterms_str'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": [1]}", "'cmd_args'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"a-b\": 1}}", "'cmd_args'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"\": 1}}", "'cmd_args'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"a=b\": 1}}", "'cmd_args'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"-o\": \"x\"}}", "'cmd_args'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"product_url\": \"x\"}}", "reserved", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"q\": [1]}}", "'cmd_args.q'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"q\": {}}}", "'cmd_args.q'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"branch_name\": \"../../etc\"}", "'branch_name'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"branch_name\": 3}", "'branch_name'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"sqs_cache_time_limit\": \"week\"}", "'sqs_cache_time_limit'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"sqs_cache_time_limit\": 15}", "'sqs_cache_time_limit'", SM_EINVALID },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"forced_task\": \"False \"}", "'forced_task'", SM_EINVALID },
		{ "[1, 2]", "not a JSON object", SM_EPARSE },
		{ "\"task\"", "not JSON", SM_EPARSE },
		{ "", "not JSON", SM_EPARSE },
		{ "{\"task_id\": 7,", "not JSON", SM_EPARSE },
		{ "{\"task_id\": 7} x", "not JSON", SM_EPARSE },
		{ "{\"task_id\": 99999999999999999999999}", "not JSON", SM_EPARSE },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"a\\u0000b\"}", "not JSON", SM_EPARSE },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"\\ud800\"}", "not JSON", SM_EPARSE },
		{ "{\"a\": 1, \"a\": 2}", "duplicate", SM_EPARSE },
		{ "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"url\": \"u\", \"cmd_args\": {\"q\": 1, \"q\": 2}}", "duplicate", SM_EPARSE },
		{ "\xff{}", "not UTF-8 (byte 0)", SM_EPARSE },
		{ "{\"url\": \"\xc0\xaf\"}", "not UTF-8 (byte 9)", SM_EPARSE },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].msg);

		is_int(rc, cases[i].rc, "refused: %s", cases[i].msg);
		like_str(E.msg, cases[i].field, "reason names the field");
		is_int(E.code, cases[i].rc, "error code set");
		ok(T.server_name == NULL && T.args == NULL && T.term == NULL,
		    "nothing left in the struct");
	}
}

static void
test_branches(void)
{
	static const char *const good[] = {
		"sc_production", "master", "feature/x", "a.b", "a-b_c", "v1.2/fix", "caf\xc3\xa9", "x@y",
	};
	static const char *const bad[] = {
		"-x", "--upload-pack=evil", "..", "a..b", "../x", "a/../b", ".hidden", "a/.b", "a/",
		"/a", "a//b", "a.", "x.lock", "a/x.lock/b", "a b", "a~1", "a^", "a:b", "a?", "a*",
		"a[b", "a\\b", "a@{1}", "@", "a\nb", "a\tb", "a\x7f", "\xff", "",
	};
	char longname[ACT_BRANCH_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(act_branch_valid(good[i]), "branch '%s' valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!act_branch_valid(bad[i]), "branch #%zu refused", i);
	memset(longname, 'a', sizeof(longname));
	longname[ACT_BRANCH_MAX] = '\0';
	ok(act_branch_valid(longname), "200-byte branch valid");
	longname[ACT_BRANCH_MAX] = 'a';
	longname[ACT_BRANCH_MAX + 1] = '\0';
	ok(!act_branch_valid(longname), "201-byte branch refused");
}

static void
test_size(void)
{
	const char *head = "{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"w\", \"searchterms_str\": \"";
	size_t hl = strlen(head), n = ACT_TASK_MAX_BYTES;
	char *buf = malloc(n + 2);

	memcpy(buf, head, hl);
	memset(buf + hl, 'x', n - hl - 2);
	memcpy(buf + n - 2, "\"}", 2);
	is_int(act_task_parse(buf, n, &T, &E), 0, "exactly 256 KiB accepted");
	is_int(strlen(T.term), n - hl - 2, "whole term kept");
	act_task_clear(&T);
	memmove(buf + hl + 1, buf + hl, n - hl);
	is_int(act_task_parse(buf, n + 1, &T, &E), SM_ETOOBIG, "256 KiB + 1 refused");
	like_str(E.msg, "262145 bytes", "reason gives the size");
	free(buf);
}

static void
test_reason_escaped(void)
{
	is_int(parse("{\"task_id\": 7, \"server_name\": \"s\", \"site\": \"a\\nINFO:forged\\u001b[2J\\\"\", "
	    "\"url\": \"u\"}"), SM_EINVALID, "control characters in site");
	like_str(E.msg, "\\x0aINFO:forged\\x1b[2J\\\"", "excerpt escaped");
	ok(strchr(E.msg, '\n') == NULL && strchr(E.msg, '\x1b') == NULL, "no raw control byte in reason");
	is_int(parse_with("\"cmd_args\": {\"\\u00e9\\n\": 1}"), SM_EINVALID, "bad key");
	like_str(E.msg, "\\xc3\\xa9\\x0a", "bad key escaped");
	{
		char big[400];

		snprintf(big, sizeof(big), "\"branch_name\": \"%0300d\"", 0);
		is_int(parse_with(big), SM_EINVALID, "long bad branch");
		ok(strlen(E.msg) < 160, "reason quotes a short excerpt (%zu bytes)", strlen(E.msg));
		like_str(E.msg, "...", "excerpt marked as cut");
	}
	/* Jansson's own text may quote input: only printable ASCII gets through */
	is_int(parse("{\"x\": \x01}"), SM_EPARSE, "control byte in JSON");
	ok(strchr(E.msg, '\x01') == NULL, "no raw control byte in a parse reason");
}

static int
peek(const char *s, int64_t *id, char *server, size_t size)
{
	return act_task_peek(s, strlen(s), id, server, size);
}

static void
test_peek(void)
{
	char server[ACT_SERVER_MAX + 1];
	int64_t id = -5;

	is_int(peek("{\"task_id\": 12, \"server_name\": \"ui-1\", \"site\": \"bad site\"}",
	    &id, server, sizeof(server)), 0, "ids readable from a bad message");
	is_int(id, 12, "task_id peeked");
	is_str(server, "ui-1", "server peeked");
	is_int(peek("{\"task_id\": 12, \"server_name\": \"ui/1\"}",
	    &id, server, sizeof(server)), SM_ENOTFOUND, "unusable server name: not readable");
	is_int(peek("{\"task_id\": \"12\", \"server_name\": \"ui\"}",
	    &id, server, sizeof(server)), SM_ENOTFOUND, "string task_id: not readable");
	is_int(peek("{\"task_id\": 12, \"server_name\": \"ui\"",
	    &id, server, sizeof(server)), SM_ENOTFOUND, "not JSON: not readable");
	is_int(peek("[]",
	    &id, server, sizeof(server)), SM_ENOTFOUND, "array");
	is_int(peek("{}", &id, server, 8), SM_EINVAL, "small buffer refused");
	{
		/* over 256 KiB: refused by parse, still reported */
		size_t n = ACT_TASK_MAX_BYTES + 100;
		char *buf = malloc(n);

		snprintf(buf, n, "{\"task_id\": 3, \"server_name\": \"big\", \"searchterms_str\": \"");
		memset(buf + strlen(buf), 'y', n - strlen(buf));
		memcpy(buf + n - 2, "\"}", 2);
		is_int(act_task_parse(buf, n, &T, &E), SM_ETOOBIG, "oversized refused");
		is_int(act_task_peek(buf, n,
	    &id, server, sizeof(server)), 0, "oversized peeked");
		is_int(id, 3, "oversized task_id");
		free(buf);
	}
}

/* Hostile input: random bytes and mutations of a valid message never crash,
 * and every refusal carries a code and a printable reason. */
static void
test_hostile(void)
{
	static const char base[] = "{\"task_id\": 4444, \"server_name\": \"srv\", \"site\": \"walmart\","
	    " \"searchterms_str\": \"water\", \"cmd_args\": {\"quantity\": 20}, \"branch_name\": \"b\","
	    " \"with_best_seller_ranking\": true, \"sqs_cache_time_limit\": \"hour\"}";
	char buf[sizeof(base)];
	unsigned seed = 12345;
	int i, bad = 0, accepted = 0;
	char server[ACT_SERVER_MAX + 1];
	int64_t id;

	for (i = 0; i < 20000; i++) {
		size_t j, nmut = 1 + (size_t)(i % 4), n = sizeof(base) - 1;
		int rc;

		memcpy(buf, base, sizeof(base));
		for (j = 0; j < nmut; j++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % n] = (char)(seed >> 20);
		}
		rc = act_task_parse(buf, n, &T, &E);
		if (rc == 0) {
			accepted++;
			if (T.server_name == NULL || T.site == NULL || T.term == NULL)
				bad++;
			act_task_clear(&T);
		} else {
			size_t k;

			if (E.code != rc || E.msg[0] == '\0')
				bad++;
			for (k = 0; E.msg[k]; k++)
				if ((unsigned char)E.msg[k] < 0x20 || E.msg[k] == 0x7f)
					bad++;
		}
		(void)act_task_peek(buf, n, &id, server, sizeof(server));
	}
	is_int(bad, 0, "20000 mutated messages: accepted ones complete, refusals printable");
	ok(accepted > 0 && accepted < 20000, "some mutations accepted (%d), some refused", accepted);
	{
		size_t n = 200000;
		char *deep = malloc(n);

		memset(deep, '[', n);
		is_int(act_task_parse(deep, n, &T, &E), SM_EPARSE, "200000 nested arrays refused");
		memset(deep, '{', n);
		is_int(act_task_parse(deep, n, &T, &E), SM_EPARSE, "200000 open braces refused");
		free(deep);
	}
}

int
main(void)
{
	plan_no_plan();
	test_valid();
	test_booleans();
	test_refused();
	test_branches();
	test_size();
	test_reason_escaped();
	test_peek();
	test_hostile();
	act_task_clear(&T);
	return done_testing();
}
