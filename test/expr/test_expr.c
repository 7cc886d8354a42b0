/*
 * test_expr.c - the task datamodel's expression language (engine/sm_expr.c):
 * values, truthiness, errors with their columns, paths, static queries,
 * locations and assignment, hostile input.
 */
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_err.h"
#include "sm_expr.h"

static const char *const datamodel_json =
    "{"
    " \"task\": {\"site\": \"amazon\", \"id\": 42, \"price\": 9.5,"
    "   \"tags\": [\"a\", \"b\", \"c\"], \"empty\": \"\", \"zero\": 0,"
    "   \"nested\": {\"deep\": {\"x\": [1, {\"y\": \"z\"}]}},"
    "   \"flag\": true, \"nul\": null, \"weird key\": 1, \"upper\": \"MiXeD\","
    "   \"pages\": 5, \"nums\": [1, 2.0, 3], \"fzero\": 0.0},"
    " \"_event\": {\"name\": \"done.invoke.crawl\","
    "   \"data\": {\"items\": 3, \"ok\": true}, \"sendid\": null,"
    "   \"origin\": null, \"invokeid\": \"crawl\", \"type\": \"external\"},"
    " \"count\": 3,"
    " \"big\": 9223372036854775807,"
    " \"small\": -9223372036854775808,"
    " \"ratio\": 0.1,"
    " \"list\": [],"
    " \"obj\": {},"
    " \"s\": \"h\\u00e9llo\","
    " \"huge\": 1e308"
    "}";

static int
in_state(void *arg, const char *id)
{
	(void)arg;
	if (strcmp(id, "boom") == 0)
		return SM_EIO;
	return strcmp(id, "running") == 0 || strcmp(id, "crawl") == 0;
}

static json_t *dm;

/* The source as printable text for a test description (one line). */
static const char *
shown(const char *src)
{
	static char buf[4][160];
	static int which;
	char *b = buf[which++ % 4];
	size_t o = 0;

	for (; *src != '\0' && o + 5 < sizeof(buf[0]); src++) {
		unsigned char c = (unsigned char)*src;

		if (c >= 0x20 && c < 0x7f && c != '#')
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "\\x%02x", c);
	}
	b[o] = '\0';
	return b;
}
static struct sm_expr_env env;

/* ---- values ---- */

struct vcase {
	const char *src;
	const char *want;    /* JSON text; compared with json_equal (exact types) */
};

static const struct vcase values[] = {
	/* literals */
	{ "1", "1" },
	{ "0", "0" },
	{ "-7", "-7" },
	{ "1.5", "1.5" },
	{ "-0.25", "-0.25" },
	{ "1e3", "1000.0" },
	{ "2E-2", "0.02" },
	{ "9223372036854775807", "9223372036854775807" },
	{ "-9223372036854775808", "-9223372036854775808" },
	{ "'abc'", "\"abc\"" },
	{ "\"abc\"", "\"abc\"" },
	{ "''", "\"\"" },
	{ "'it\\'s'", "\"it's\"" },
	{ "\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\"" },
	{ "'a\\\\b'", "\"a\\\\b\"" },
	{ "'l1\\nl2\\tx'", "\"l1\\nl2\\tx\"" },
	{ "'\\u00e9'", "\"\\u00e9\"" },
	{ "'\\uD83D\\uDE00'", "\"\\ud83d\\ude00\"" },
	{ "'h\xc3\xa9'", "\"h\\u00e9\"" },
	{ "'\"'", "\"\\\"\"" },
	{ "\"'\"", "\"'\"" },
	{ "true", "true" },
	{ "false", "false" },
	{ "null", "null" },
	/* arithmetic */
	{ "1 + 2", "3" },
	{ "1 + 2 * 3", "7" },
	{ "(1 + 2) * 3", "9" },
	{ "10 - 2 - 3", "5" },
	{ "2 * 3 % 4", "2" },
	{ "7 / 2", "3.5" },
	{ "6 / 2", "3" },
	{ "-6 / 4", "-1.5" },
	{ "7 % 3", "1" },
	{ "-7 % 3", "-1" },
	{ "1.5 + 1", "2.5" },
	{ "0.1 + 0.2 > 0.3", "true" },
	{ "2 * 0.5", "1.0" },
	{ "-(3)", "-3" },
	{ "- -3", "3" },
	{ "-task.price", "-9.5" },
	{ "big - 1", "9223372036854775806" },
	{ "small + 1", "-9223372036854775807" },
	{ "small % -1", "0" },
	{ "'a' + 'b'", "\"ab\"" },
	{ "task.site + '.com'", "\"amazon.com\"" },
	{ "'x' + '' + 'y'", "\"xy\"" },
	{ "count * count", "9" },
	{ "1 - 2 + 3", "2" },
	{ "100 / 10 / 5", "2" },
	/* comparison */
	{ "1 == 1", "true" },
	{ "1 == 1.0", "true" },
	{ "1 != 2", "true" },
	{ "'a' == 'a'", "true" },
	{ "'a' == 'b'", "false" },
	{ "1 == '1'", "false" },
	{ "null == null", "true" },
	{ "null == false", "false" },
	{ "0 == false", "false" },
	{ "true == true", "true" },
	{ "true != false", "true" },
	{ "task.tags == task.tags", "true" },
	{ "task.nums[1] == 2", "true" },
	{ "obj == list", "false" },
	{ "1 < 2", "true" },
	{ "2 <= 2", "true" },
	{ "3 > 2.5", "true" },
	{ "2.5 >= 3", "false" },
	{ "'abc' < 'abd'", "true" },
	{ "'ab' < 'abc'", "true" },
	{ "'b' > 'abc'", "true" },
	{ "big > 9223372036854775806", "true" },
	{ "big < 1e19", "true" },
	{ "big == 9.223372036854775807e18", "false" },
	{ "small == -9.223372036854775808e18", "true" },
	{ "small < -1e300", "false" },
	{ "1 < 2 == true", "true" },
	{ "task.id == 42 && task.site == 'amazon'", "true" },
	/* logic */
	{ "true && false", "false" },
	{ "true || false", "true" },
	{ "!true", "false" },
	{ "!!'x'", "true" },
	{ "!0", "true" },
	{ "!''", "true" },
	{ "!null", "true" },
	{ "!list", "false" },
	{ "1 && 'x'", "true" },
	{ "0 || ''", "false" },
	{ "false || true && false", "false" },
	{ "(false || true) && true", "true" },
	/* short-circuit: the right side would fail */
	{ "false && 1 / 0", "false" },
	{ "true || 1 / 0", "true" },
	{ "false && In('x')", "false" },
	/* paths */
	{ "task.site", "\"amazon\"" },
	{ "task.id", "42" },
	{ "task.tags[0]", "\"a\"" },
	{ "task.tags[2]", "\"c\"" },
	{ "task.tags[3]", "null" },
	{ "task.tags[-1]", "null" },
	{ "task.tags[1 + 1]", "\"c\"" },
	{ "task['site']", "\"amazon\"" },
	{ "task['weird key']", "1" },
	{ "task.nested.deep.x[1].y", "\"z\"" },
	{ "task.nested['deep'].x[0]", "1" },
	{ "task.missing", "null" },
	{ "task.missing.deeper[3].x", "null" },
	{ "nosuchname", "null" },
	{ "task.site.length", "null" },
	{ "task.tags.x", "null" },
	{ "task.tags['0']", "null" },
	{ "task[task.tags[0]]", "null" },
	{ "task.nul", "null" },
	{ "_event.name", "\"done.invoke.crawl\"" },
	{ "_event.data.items", "3" },
	{ "task.nested.deep", "{\"x\": [1, {\"y\": \"z\"}]}" },
	{ "(task.nested).deep.x[0]", "1" },
	{ "task.tags[count - 1]", "\"c\"" },
	{ "task . site", "\"amazon\"" },
	/* functions */
	{ "In('running')", "true" },
	{ "In('idle')", "false" },
	{ "In(\"crawl\") && !In('idle')", "true" },
	{ "exists(task.site)", "true" },
	{ "exists(task.nul)", "true" },
	{ "exists(task.missing)", "false" },
	{ "exists(task.tags[5])", "false" },
	{ "exists(task.tags[2])", "true" },
	{ "exists(nosuchname)", "false" },
	{ "len('abc')", "3" },
	{ "len(s)", "6" },
	{ "len(task.tags)", "3" },
	{ "len(obj)", "0" },
	{ "len(task)", "14" },
	{ "len('')", "0" },
	{ "str(42)", "\"42\"" },
	{ "str(-1)", "\"-1\"" },
	{ "str(1.5)", "\"1.5\"" },
	{ "str(ratio)", "\"0.1\"" },
	{ "str(2 * 0.5)", "\"1.0\"" },
	{ "str(true)", "\"true\"" },
	{ "str(null)", "\"null\"" },
	{ "str('x')", "\"x\"" },
	{ "str(task.tags)", "\"[\\\"a\\\",\\\"b\\\",\\\"c\\\"]\"" },
	{ "str(_event.data)", "\"{\\\"items\\\":3,\\\"ok\\\":true}\"" },
	{ "'page ' + str(task.pages)", "\"page 5\"" },
	{ "num('42')", "42" },
	{ "num('-3.5')", "-3.5" },
	{ "num(' 7 ')", "7" },
	{ "num('1e2')", "100.0" },
	{ "num(7)", "7" },
	{ "num(true)", "1" },
	{ "num(false)", "0" },
	{ "num(str(123)) + 1", "124" },
	{ "contains('amazon', 'zon')", "true" },
	{ "contains('amazon', 'xyz')", "false" },
	{ "contains('amazon', '')", "true" },
	{ "contains(task.tags, 'b')", "true" },
	{ "contains(task.tags, 'z')", "false" },
	{ "contains(task.nums, 2)", "true" },
	{ "contains(task, 'site')", "true" },
	{ "contains(task, 'nope')", "false" },
	{ "lower('MiXeD')", "\"mixed\"" },
	{ "upper(task.upper)", "\"MIXED\"" },
	{ "upper('h\xc3\xa9')", "\"H\\u00e9\"" },
	{ "len(lower(task.site)) == 6", "true" },
};

/* ---- truthiness ---- */

struct bcase {
	const char *src;
	int want;
};

static const struct bcase bools[] = {
	{ "false", 0 }, { "null", 0 }, { "0", 0 }, { "0.0", 0 }, { "''", 0 },
	{ "task.zero", 0 }, { "task.fzero", 0 }, { "task.empty", 0 },
	{ "task.missing", 0 }, { "task.nul", 0 },
	{ "true", 1 }, { "1", 1 }, { "-1", 1 }, { "0.001", 1 }, { "'0'", 1 },
	{ "' '", 1 }, { "'false'", 1 }, { "list", 1 }, { "obj", 1 },
	{ "task", 1 }, { "task.flag", 1 }, { "In('running')", 1 },
	{ "In('idle')", 0 }, { "_event.data.ok", 1 },
	{ "task.pages > 3 && task.site == 'amazon'", 1 },
	{ "task.pages > 3 && task.site == 'ebay'", 0 },
};

/* ---- errors ---- */

struct ecase {
	const char *src;
	int code;
	const char *want;    /* the message starts with this */
	const char *also;    /* and contains this (or NULL) */
};

static const struct ecase errors[] = {
	/* syntax, with columns */
	{ "", SM_EEXPR, "column 1: ", "empty" },
	{ "   ", SM_EEXPR, "column 4: ", "empty" },
	{ "1 +", SM_EEXPR, "column 4: ", "found the end" },
	{ "1 + * 2", SM_EEXPR, "column 5: ", "found '*'" },
	{ "(1 + 2", SM_EEXPR, "column 7: ", "expected ')'" },
	{ "1 + 2)", SM_EEXPR, "column 6: ", "found ')'" },
	{ "a = 1", SM_EEXPR, "column 3: ", "'=='" },
	{ "a & b", SM_EEXPR, "column 3: ", "'&&'" },
	{ "a | b", SM_EEXPR, "column 3: ", "'||'" },
	{ "1 2", SM_EEXPR, "column 3: ", "found '2'" },
	{ "task.", SM_EEXPR, "column 6: ", "member name" },
	{ "task.1", SM_EEXPR, "column 6: ", "member name" },
	{ "task[0", SM_EEXPR, "column 7: ", "']'" },
	{ "task[]", SM_EEXPR, "column 6: ", "found ']'" },
	{ "'abc", SM_EEXPR, "column 1: ", "not terminated" },
	{ "x + \"abc", SM_EEXPR, "column 5: ", "not terminated" },
	{ "'abc\\", SM_EEXPR, "column 1: ", "not terminated" },
	{ "'a\\qb'", SM_EEXPR, "column 3: ", "unknown escape" },
	{ "'\\u12'", SM_EEXPR, "column 2: ", "four hex digits" },
	{ "'\\uZZZZ'", SM_EEXPR, "column 2: ", "four hex digits" },
	{ "'\\uD800'", SM_EEXPR, "column 2: ", "low surrogate" },
	{ "'\\uDC00'", SM_EEXPR, "column 2: ", "lone low surrogate" },
	{ "'\\uD800\\u0041'", SM_EEXPR, "column 8: ", "low surrogate" },
	{ "'\\u0000'", SM_EEXPR, "column 2: ", "not allowed" },
	{ "'a\nb'", SM_EEXPR, "column 3: ", "control character" },
	{ "'\xff'", SM_EEXPR, "column 2: ", "UTF-8" },
	{ "'ab\xc3'", SM_EEXPR, "column 4: ", "UTF-8" },
	{ "'\xc0\xaf'", SM_EEXPR, "column 2: ", "UTF-8" },
	{ "'\xed\xa0\x80'", SM_EEXPR, "column 2: ", "UTF-8" },
	{ "'\xf4\x90\x80\x80'", SM_EEXPR, "column 2: ", "UTF-8" },
	{ "'\xe2\x82'", SM_EEXPR, "column 2: ", "UTF-8" },
	{ "1 + @", SM_EEXPR, "column 5: ", "unexpected character '@'" },
	{ "1 + \x01", SM_EEXPR, "column 5: ", "byte 0x01" },
	{ "\xc3\xa9", SM_EEXPR, "column 1: ", "byte 0xc3" },
	{ "01", SM_EEXPR, "column 1: ", "leading zero" },
	{ "1.", SM_EEXPR, "column 3: ", "decimal point" },
	{ "1.x", SM_EEXPR, "column 3: ", "decimal point" },
	{ "1e", SM_EEXPR, "column 3: ", "exponent" },
	{ "1e+", SM_EEXPR, "column 4: ", "exponent" },
	{ "12abc", SM_EEXPR, "column 3: ", "after a number" },
	{ "0x10", SM_EEXPR, "column 2: ", "after a number" },
	{ "1.5.3", SM_EEXPR, "column 4: ", "after a number" },
	{ ".5", SM_EEXPR, "column 1: ", "found '.'" },
	{ "9223372036854775808", SM_EEXPR, "column 1: ", "out of range" },
	{ "-9223372036854775809", SM_EEXPR, "column 2: ", "out of range" },
	{ "99999999999999999999999", SM_EEXPR, "column 1: ", "out of range" },
	{ "1e400", SM_EEXPR, "column 1: ", "out of range" },
	{ "x +\n  @", SM_EEXPR, "column 7: ", "'@'" },
	/* functions at parse time */
	{ "foo(1)", SM_EEXPR, "column 1: ", "unknown function 'foo'" },
	{ "1 + Len('a')", SM_EEXPR, "column 5: ", "unknown function" },
	{ "len()", SM_EEXPR, "column 1: ", "takes 1 argument, not 0" },
	{ "len(1, 2)", SM_EEXPR, "column 1: ", "takes 1 argument, not 2" },
	{ "contains('a')", SM_EEXPR, "column 1: ", "takes 2 arguments" },
	{ "In(task.site)", SM_EEXPR, "column 4: ", "string literal" },
	{ "In('a' + 'b')", SM_EEXPR, "column 4: ", "string literal" },
	{ "In(1)", SM_EEXPR, "column 4: ", "string literal" },
	{ "exists('x')", SM_EEXPR, "column 8: ", "takes a path" },
	{ "exists(len(task))", SM_EEXPR, "column 8: ", "takes a path" },
	{ "len(1,", SM_EEXPR, "column 7: ", "found the end" },
	{ "len(1 2)", SM_EEXPR, "column 7: ", "',' or ')'" },
	{ "contains(lower(task.site), 'ama') ? 1 : 0", SM_EEXPR, "column 35: ",
	  "'?'" },
	/* evaluation */
	{ "1 / 0", SM_EEXPR, "column 3: ", "division by zero" },
	{ "1 % 0", SM_EEXPR, "column 3: ", "division by zero" },
	{ "1.5 / 0", SM_EEXPR, "column 5: ", "division by zero" },
	{ "1 / 0.0", SM_EEXPR, "column 3: ", "division by zero" },
	{ "task.id / task.zero", SM_EEXPR, "column 9: ", "division by zero" },
	{ "big + 1", SM_EEXPR, "column 5: ", "integer overflow" },
	{ "small - 1", SM_EEXPR, "column 7: ", "integer overflow" },
	{ "big * 2", SM_EEXPR, "column 5: ", "integer overflow" },
	{ "small / -1", SM_EEXPR, "column 7: ", "integer overflow" },
	{ "-small", SM_EEXPR, "column 1: ", "integer overflow" },
	{ "huge * 10", SM_EEXPR, "column 6: ", "out of range" },
	{ "1.5 % 1", SM_EEXPR, "column 5: ", "two integers" },
	{ "1 < 'a'", SM_EEXPR, "column 3: ", "cannot order number and string" },
	{ "'a' >= 1", SM_EEXPR, "column 5: ", "cannot order string and number" },
	{ "true < false", SM_EEXPR, "column 6: ", "cannot order two booleans" },
	{ "null < null", SM_EEXPR, "column 6: ", "cannot order" },
	{ "task.missing > 3", SM_EEXPR, "column 14: ", "null and number" },
	{ "list < list", SM_EEXPR, "column 6: ", "two arrays" },
	{ "1 + 'a'", SM_EEXPR, "column 3: ", "not number and string" },
	{ "'a' + 1", SM_EEXPR, "column 5: ", "not string and number" },
	{ "'a' - 'b'", SM_EEXPR, "column 5: ", "'-' needs two numbers" },
	{ "null * 2", SM_EEXPR, "column 6: ", "'*' needs two numbers" },
	{ "-'a'", SM_EEXPR, "column 1: ", "cannot negate string" },
	{ "task.tags[true]", SM_EEXPR, "column 10: ", "index must be" },
	{ "task.tags[1.0]", SM_EEXPR, "column 10: ", "index must be" },
	{ "task[null]", SM_EEXPR, "column 5: ", "index must be" },
	{ "In('boom')", SM_EIO, "column 1: ", "In('boom') failed" },
	{ "len(5)", SM_EEXPR, "column 1: ", "not number" },
	{ "len(task.missing)", SM_EEXPR, "column 1: ", "not null" },
	{ "num('abc')", SM_EEXPR, "column 1: ", "'abc'" },
	{ "num('')", SM_EEXPR, "column 1: ", "cannot read" },
	{ "num('1 + 2')", SM_EEXPR, "column 1: ", "cannot read" },
	{ "num('--1')", SM_EEXPR, "column 1: ", "cannot read" },
	{ "num('1e999')", SM_EEXPR, "column 1: ", "cannot read" },
	{ "num(null)", SM_EEXPR, "column 1: ", "not null" },
	{ "num(list)", SM_EEXPR, "column 1: ", "not array" },
	{ "contains(1, 1)", SM_EEXPR, "column 10: ", "not number" },
	{ "contains('abc', 1)", SM_EEXPR, "column 17: ", "not number" },
	{ "contains(task, 1)", SM_EEXPR, "column 16: ", "key string" },
	{ "lower(1)", SM_EEXPR, "column 1: ", "lower() changes" },
	{ "upper(null)", SM_EEXPR, "column 1: ", "upper() changes" },
	{ "1 + 1 / 0", SM_EEXPR, "column 7: ", "division by zero" },
	{ "task.tags[1 / 0]", SM_EEXPR, "column 13: ", "division by zero" },
	{ "len(1 / 0)", SM_EEXPR, "column 7: ", "division by zero" },
	{ "true && 1 < 'a'", SM_EEXPR, "column 11: ", "cannot order" },
};

static void
test_values(void)
{
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const struct vcase *c = &values[i];
		struct sm_error err = { 0 };
		struct sm_expr *e = NULL;
		json_t *got = NULL, *want;
		json_error_t jerr;
		char *gs;
		int rc;

		if (c->want == NULL)
			continue;
		want = json_loads(c->want, JSON_DECODE_ANY, &jerr);
		if (want == NULL)
			bail_out("bad expected JSON for '%s': %s", c->src, jerr.text);
		rc = sm_expr_parse(c->src, &e, &err);
		if (rc == 0)
			rc = sm_expr_eval(e, &env, &got, &err);
		gs = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
		if (!ok(rc == 0 && got != NULL && json_equal(got, want) &&
		    json_typeof(got) == json_typeof(want), "value of %s", shown(c->src)))
			diag("  rc %s, got %s, want %s, msg '%s'", sm_errname(rc),
			    gs ? gs : "(none)", c->want, err.msg);
		free(gs);
		json_decref(got);
		json_decref(want);
		sm_expr_free(e);
	}
}

static void
test_bools(void)
{
	size_t i;

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		struct sm_error err = { 0 };
		struct sm_expr *e = NULL;
		int got = -1, rc;

		rc = sm_expr_parse(bools[i].src, &e, &err);
		if (rc == 0)
			rc = sm_expr_eval_bool(e, &env, &got, &err);
		if (!ok(rc == 0 && got == bools[i].want, "truth of %s is %d",
		    shown(bools[i].src), bools[i].want))
			diag("  rc %s got %d msg '%s'", sm_errname(rc), got, err.msg);
		sm_expr_free(e);
	}
}

static void
test_errors(void)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		const struct ecase *c = &errors[i];
		struct sm_error err = { 0 };
		struct sm_expr *e = NULL;
		json_t *got = NULL;
		int rc;

		rc = sm_expr_parse(c->src, &e, &err);
		if (rc == 0)
			rc = sm_expr_eval(e, &env, &got, &err);
		if (!ok(rc == c->code && err.code == c->code && got == NULL &&
		    strncmp(err.msg, c->want, strlen(c->want)) == 0 &&
		    (c->also == NULL || strstr(err.msg, c->also) != NULL),
		    "error for %s", shown(c->src)))
			diag("  rc %s, msg '%s', want %s '%s...%s'", sm_errname(rc),
			    err.msg, sm_errname(c->code), c->want,
			    c->also ? c->also : "");
		json_decref(got);
		sm_expr_free(e);
	}
}

/* ---- env edge cases ---- */

static void
test_env(void)
{
	struct sm_error err = { 0 };
	struct sm_expr *e = NULL;
	struct sm_expr_env noin = { dm, NULL, NULL, NULL };
	struct sm_expr_env nodm = { NULL, in_state, NULL, NULL };
	json_t *got = NULL;
	int b = -1;

	ok(sm_expr_parse("In('running')", &e, &err) == 0, "parse In");
	is_int(sm_expr_eval(e, &noin, &got, &err), SM_EEXPR,
	    "In() without in_state is an error");
	like_str(err.msg, "column 1: In('running') cannot be answered", "message");
	ok(got == NULL, "no value on error");
	is_int(sm_expr_eval(e, NULL, &got, &err), SM_EEXPR, "In() with NULL env");
	sm_expr_free(e);

	ok(sm_expr_parse("task.site", &e, &err) == 0, "parse path");
	ok(sm_expr_eval(e, &nodm, &got, &err) == 0 && json_is_null(got),
	    "no datamodel: path is null");
	json_decref(got);
	ok(sm_expr_eval(e, NULL, &got, &err) == 0 && json_is_null(got),
	    "NULL env: path is null");
	json_decref(got);
	ok(sm_expr_eval_bool(e, NULL, &b, &err) == 0 && b == 0, "and false");
	sm_expr_free(e);

	is_int(sm_expr_parse(NULL, &e, &err), SM_EINVAL, "NULL source");
	ok(e == NULL, "no expression on failure");
	is_int(sm_expr_eval(NULL, &env, &got, &err), SM_EINVAL, "NULL expression");
	sm_expr_free(NULL);
	ok(1, "sm_expr_free(NULL) is fine");

	/* err NULL is allowed everywhere */
	is_int(sm_expr_parse("1 +", &e, NULL), SM_EEXPR, "NULL err on parse");
	ok(sm_expr_parse("1 / 0", &e, NULL) == 0, "parse 1/0");
	is_int(sm_expr_eval(e, &env, &got, NULL), SM_EEXPR, "NULL err on eval");
	is_int(sm_expr_eval_bool(e, &env, &b, NULL), SM_EEXPR, "NULL err on bool");
	sm_expr_free(e);

	/* success leaves err untouched */
	strcpy(err.msg, "untouched");
	err.code = 0;
	ok(sm_expr_parse("1", &e, &err) == 0 && strcmp(err.msg, "untouched") == 0
	    && err.code == 0, "success leaves err untouched");
	sm_expr_free(e);

	/* results that reference the datamodel do not change it */
	ok(sm_expr_parse("task.tags", &e, &err) == 0, "parse task.tags");
	ok(sm_expr_eval(e, &env, &got, &err) == 0 && json_array_size(got) == 3,
	    "array result");
	json_decref(got);
	ok(json_array_size(json_object_get(json_object_get(dm, "task"), "tags"))
	    == 3, "datamodel intact");
	sm_expr_free(e);

	/* an expression is reusable */
	ok(sm_expr_parse("count + 1", &e, &err) == 0, "parse count + 1");
	ok(sm_expr_eval(e, &env, &got, &err) == 0 && json_integer_value(got) == 4,
	    "first evaluation");
	json_decref(got);
	json_object_set_new(dm, "count", json_integer(10));
	ok(sm_expr_eval(e, &env, &got, &err) == 0 && json_integer_value(got) == 11,
	    "second evaluation sees the changed datamodel");
	json_decref(got);
	json_object_set_new(dm, "count", json_integer(3));
	sm_expr_free(e);
}

/* ---- static queries ---- */

struct collect {
	char buf[256];
	int stop_at;
	int n;
};

static int
collect(void *arg, const char *id)
{
	struct collect *c = arg;

	c->n++;
	strncat(c->buf, id, sizeof(c->buf) - strlen(c->buf) - 2);
	strcat(c->buf, ",");
	return c->n == c->stop_at ? 7 : 0;
}

static void
test_static(void)
{
	static const struct {
		const char *src;
		int null_profile;
		const char *states;
	} cases[] = {
		{ "In('a')", 1, "a," },
		{ "!In('a') && (In('b') || false)", 1, "a,b," },
		{ "true", 1, "" },
		{ "false || !true", 1, "" },
		{ "((In('x')))", 1, "x," },
		{ "null", 0, "" },
		{ "1", 0, "" },
		{ "'a'", 0, "" },
		{ "In('a') == true", 0, "a," },
		{ "task.x && In('a')", 0, "a," },
		{ "len('a') > 0", 0, "" },
		{ "In('a') || task.tags[In('b') && In('c')]", 0, "a,b,c," },
		{ "str(In('q'))", 0, "q," },
		{ "In('a') && In('a')", 1, "a,a," },
	};
	size_t i;
	struct collect c;
	struct sm_expr *e;
	struct sm_error err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = NULL;
		if (!ok(sm_expr_parse(cases[i].src, &e, &err) == 0, "parse %s",
		    cases[i].src)) {
			diag("  %s", err.msg);
			continue;
		}
		is_int(sm_expr_is_null_profile(e), cases[i].null_profile,
		    "null profile of %s", cases[i].src);
		memset(&c, 0, sizeof(c));
		is_int(sm_expr_foreach_state(e, collect, &c), 0, "foreach %s",
		    cases[i].src);
		is_str(c.buf, cases[i].states, "states of %s", cases[i].src);
		sm_expr_free(e);
	}
	ok(sm_expr_parse("In('a') || In('b') || In('c')", &e, &err) == 0,
	    "parse three In");
	memset(&c, 0, sizeof(c));
	c.stop_at = 2;
	is_int(sm_expr_foreach_state(e, collect, &c), 7, "foreach stops on nonzero");
	is_str(c.buf, "a,b,", "and visited two");
	sm_expr_free(e);
	is_int(sm_expr_is_null_profile(NULL), 0, "NULL is not null profile");
}

/* ---- locations ---- */

static void
test_locations(void)
{
	static const struct {
		const char *loc;
		const char *want;   /* NULL: valid; else message prefix */
		const char *also;
	} checks[] = {
		{ "task.result", NULL, NULL },
		{ "x", NULL, NULL },
		{ "a.b[0].c", NULL, NULL },
		{ "a['key with space'].b", NULL, NULL },
		{ "a[\"k\"]", NULL, NULL },
		{ "task . x", NULL, NULL },
		{ "tasks", NULL, NULL },
		{ "task", "column 1: ", "'task' itself" },
		{ "_event", "column 1: ", "'_event' is a system variable, read-only" },
		{ "_event.data", "column 1: ", "read-only" },
		{ "_event['name']", "column 1: ", "read-only" },
		{ "_sessionid", "column 1: ", "'_sessionid' is a system variable" },
		{ "_name", "column 1: ", "'_name' is a system variable" },
		{ " _ioprocessors.x", "column 2: ", "'_ioprocessors' is a system variable" },
		{ "", "column 1: ", "a name to assign to" },
		{ "1", "column 1: ", "found '1'" },
		{ "'a'", "column 1: ", "found a string" },
		{ "true", "column 1: ", "found 'true'" },
		{ "a.", "column 3: ", "member name" },
		{ "a[", "column 3: ", "string or an integer" },
		{ "a[x]", "column 3: ", "string or an integer" },
		{ "a[1 + 1]", "column 5: ", "']'" },
		{ "a[-1]", "column 3: ", "string or an integer" },
		{ "a[1.5]", "column 3: ", "non-negative integer" },
		{ "a[0", "column 4: ", "']'" },
		{ "a['k'", "column 6: ", "']'" },
		{ "a b", "column 3: ", "end of the location" },
		{ "a + 1", "column 3: ", "end of the location" },
		{ "f(x)", "column 2: ", "end of the location" },
		{ "a['\xff']", "column 4: ", "UTF-8" },
		{ "a[99999999999999999999999]", "column 3: ", "non-negative" },
	};
	struct sm_error err;
	size_t i;
	json_t *root, *v, *before;
	char *s;
	int rc;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		memset(&err, 0, sizeof(err));
		rc = sm_location_check(checks[i].loc, &err);
		if (checks[i].want == NULL) {
			if (!ok(rc == 0, "location %s is valid", shown(checks[i].loc)))
				diag("  %s", err.msg);
		} else {
			/* system variables: SM_EPERM (an error at run time) */
			int want_rc = strstr(checks[i].also, "system variable") ||
			        strstr(checks[i].also, "read-only") ?
			    SM_EPERM :
			    SM_EEXPR;

			if (!ok(rc == want_rc &&
			            strncmp(err.msg, checks[i].want, strlen(checks[i].want)) == 0 &&
			            strstr(err.msg, checks[i].also) != NULL,
			        "location %s is refused", shown(checks[i].loc)))
				diag("  rc %s msg '%s' want '%s...%s'",
				    sm_errname(rc), err.msg, checks[i].want,
				    checks[i].also);
		}
	}

	root = json_loads("{\"task\": {\"id\": 1}, \"arr\": [1, {\"k\": 2}],"
	    " \"n\": 5, \"_event\": {\"name\": \"e\"}}", 0, NULL);
	v = json_string("v");
	is_int(sm_location_assign(root, "task.result", v, &err), 0,
	    "assign task.result");
	is_int(sm_location_assign(root, "a.b.c", v, &err), 0,
	    "assign creates a.b.c");
	is_int(sm_location_assign(root, "arr[0]", v, &err), 0, "replace arr[0]");
	is_int(sm_location_assign(root, "arr[2]", v, &err), 0, "append arr[2]");
	is_int(sm_location_assign(root, "arr[1].k", v, &err), 0, "set arr[1].k");
	is_int(sm_location_assign(root, "arr[1]['new key'].z", v, &err), 0,
	    "create under arr[1]");
	is_int(sm_location_assign(root, "arr[3].x.y", v, &err), 0,
	    "append an object at arr[3]");
	is_int(sm_location_assign(root, "n", v, &err), 0, "replace n");
	{
		json_t *two = json_integer(2);

		is_int(sm_location_assign(root, "task['id']", two, &err), 0,
		    "assign task['id']");
		ok(json_object_get(json_object_get(root, "task"), "id") == two,
		    "task.id is the value (scalars are shared, not copied)");
		is_int(two->refcount, 2, "which took a reference");
		json_decref(two);
	}
	is_int(v->refcount, 9, "value borrowed: one reference per store plus ours");
	s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	is_str(s, "{\"_event\":{\"name\":\"e\"},\"a\":{\"b\":{\"c\":\"v\"}},"
	    "\"arr\":[\"v\",{\"k\":\"v\",\"new key\":{\"z\":\"v\"}},\"v\","
	    "{\"x\":{\"y\":\"v\"}}],\"n\":\"v\",\"task\":{\"id\":2,"
	    "\"result\":\"v\"}}", "datamodel after assignments");
	free(s);

	/* failures leave the datamodel unchanged */
	before = json_deep_copy(root);
	static const struct {
		const char *loc;
		const char *want;
	} bad[] = {
		{ "arr[9]", "column 4: index [9] is past the end" },
		{ "arr[9].x", "column 4: index [9] is past the end" },
		{ "n.x", "column 2: cannot set member 'x': the value there is string" },
		{ "n[0]", "column 2: cannot index [0]: the value there is string" },
		{ "task.id.x.y", "column 8: cannot set member 'x'" },
		{ "new.thing[0]",
		    "column 10: cannot index [0] of a member that "
		    "does not exist" },
		{ "new.a.b[0].c", "column 8: cannot index [0] of a member" },
		{ "arr.x", "column 4: cannot set member 'x': the value there is array" },
		{ "a.b.c.d", "column 6: cannot set member 'd'" },
		{ "task", "column 1: 'task' itself" },
		{ "_event.name", "column 1: '_event' is a system variable, read-only" },
		{ "_sessionid", "column 1: '_sessionid' is a system variable, read-only" },
		{ "1x", "column 2: unexpected 'x'" },
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		rc = sm_location_assign(root, bad[i].loc, v, &err);
		if (!ok(rc == (bad[i].loc[0] == '_' ? SM_EPERM : SM_EEXPR) &&
		            strncmp(err.msg, bad[i].want, strlen(bad[i].want)) == 0,
		        "assign to %s fails", bad[i].loc))
			diag("  rc %s msg '%s' want '%s'", sm_errname(rc), err.msg,
			    bad[i].want);
	}
	ok(json_equal(root, before), "failed assignments changed nothing");
	is_int(v->refcount, 9, "and took no reference");
	json_decref(before);

	/* containers are copied: no sharing, no cycles */
	is_int(sm_location_assign(root, "task.copy", json_object_get(root, "task"),
	    &err), 0, "assign task.copy = task");
	ok(json_object_get(json_object_get(json_object_get(root, "task"), "copy"),
	    "copy") == NULL, "the copy does not contain itself");
	s = json_dumps(root, JSON_COMPACT);
	ok(s != NULL, "datamodel still serializes (no cycle)");
	free(s);
	is_int(sm_location_assign(root, "arr", root, &err), 0, "assign arr = root");
	s = json_dumps(root, JSON_COMPACT);
	ok(s != NULL, "serializes after root copy");
	free(s);

	is_int(sm_location_assign(NULL, "x", v, &err), SM_EINVAL, "NULL root");
	is_int(sm_location_assign(root, "x", NULL, &err), SM_EINVAL, "NULL value");
	is_int(sm_location_assign(root, NULL, v, &err), SM_EINVAL, "NULL location");
	is_int(sm_location_check(NULL, &err), SM_EINVAL, "check NULL location");
	json_t *arr = json_array();
	is_int(sm_location_assign(arr, "x", v, &err), SM_EINVAL,
	    "root that is not an object");
	json_decref(arr);

	/* assign then read back through an expression */
	{
		struct sm_expr *e = NULL;
		struct sm_expr_env env2 = { root, NULL, NULL, NULL };
		json_t *got = NULL;

		ok(sm_expr_parse("a.b.c + '!'", &e, &err) == 0 &&
		    sm_expr_eval(e, &env2, &got, &err) == 0 &&
		    strcmp(json_string_value(got), "v!") == 0,
		    "read back an assigned value");
		json_decref(got);
		sm_expr_free(e);
	}
	json_decref(v);
	json_decref(root);
}

/* ---- hostile input ---- */

static void
test_hostile(void)
{
	struct sm_error err;
	struct sm_expr *e = NULL;
	json_t *got = NULL;
	char *big;
	size_t i, n;
	int rc;

	/* nesting: 64 levels are fine, 65 are refused */
	big = malloc(2 * 1024 * 1024);
	n = 0;
	for (i = 0; i < SM_EXPR_MAX_DEPTH; i++)
		big[n++] = '(';
	big[n++] = '1';
	for (i = 0; i < SM_EXPR_MAX_DEPTH; i++)
		big[n++] = ')';
	big[n] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0, "64 nested parentheses parse");
	ok(e != NULL && sm_expr_eval(e, &env, &got, &err) == 0 &&
	    json_integer_value(got) == 1, "and evaluate");
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;
	memmove(big + 1, big, n + 1);
	big[0] = '(';
	strcat(big, ")");
	rc = sm_expr_parse(big, &e, &err);
	ok(rc == SM_EEXPR && e == NULL, "65 nested parentheses are refused");
	like_str(err.msg, "column 65: expression is nested more than 64",
	    "with the column of the 65th");

	/* deep nesting of each kind */
	static const char *const openers[] = { "(", "!", "-", "len(", "a[",
	    "!(", "- (" };
	for (size_t k = 0; k < sizeof(openers) / sizeof(openers[0]); k++) {
		n = 0;
		for (i = 0; i < 1000; i++) {
			strcpy(big + n, openers[k]);
			n += strlen(openers[k]);
		}
		big[n++] = '1';
		big[n] = '\0';
		rc = sm_expr_parse(big, &e, &err);
		ok(rc == SM_EEXPR && strstr(err.msg, "nested more than") != NULL,
		    "1000 x '%s' is refused by depth, not by a crash", openers[k]);
	}

	/* long flat chains are fine (no recursion per operand) */
	n = 0;
	big[n++] = '0';
	while (n < SM_EXPR_MAX_SRC - 2) {
		big[n++] = '+';
		big[n++] = '1';
	}
	big[n] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0, "2047 additions parse");
	ok(e && sm_expr_eval(e, &env, &got, &err) == 0 &&
	    json_integer_value(got) == (json_int_t)(n - 1) / 2,
	    "and add up to %zu", (n - 1) / 2);
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;
	n = 0;
	strcpy(big, "task");
	n = 4;
	while (n < SM_EXPR_MAX_SRC - 3) {
		memcpy(big + n, ".a", 2);
		n += 2;
	}
	big[n] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0, "2000-step path parses");
	ok(e && sm_expr_eval(e, &env, &got, &err) == 0 && json_is_null(got),
	    "and is null");
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;
	n = 0;
	while (n < SM_EXPR_MAX_SRC - 10) {
		memcpy(big + n, "true && ", 8);
		n += 8;
	}
	strcpy(big + n, "true");
	ok(sm_expr_parse(big, &e, &err) == 0, "long && chain parses");
	sm_expr_free(e);
	e = NULL;

	/* source size limit */
	memset(big, ' ', SM_EXPR_MAX_SRC - 1);
	big[SM_EXPR_MAX_SRC - 1] = '1';
	big[SM_EXPR_MAX_SRC] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0, "4096 bytes are fine");
	sm_expr_free(e);
	e = NULL;
	big[SM_EXPR_MAX_SRC] = ' ';
	big[SM_EXPR_MAX_SRC + 1] = '\0';
	rc = sm_expr_parse(big, &e, &err);
	ok(rc == SM_EEXPR && e == NULL, "4097 bytes are refused");
	like_str(err.msg, "column 4097: expression is longer than 4096 bytes",
	    "with a message");

	/* 1 MiB input of each shape */
	static const char fills[] = { '(', '1', '\'', 'a', '!', '\xff', '[', '.' };
	for (i = 0; i < sizeof(fills); i++) {
		memset(big, fills[i], 1024 * 1024);
		big[1024 * 1024] = '\0';
		rc = sm_expr_parse(big, &e, &err);
		ok(rc == SM_EEXPR && e == NULL && strncmp(err.msg, "column ", 7) == 0,
		    "1 MiB of 0x%02x is refused", (unsigned char)fills[i]);
		is_int(sm_location_check(big, &err), SM_EEXPR,
		    "and refused as a location");
	}

	/* a long string literal and a long identifier within the limit */
	big[0] = '\'';
	memset(big + 1, 'x', 4000);
	big[4001] = '\'';
	big[4002] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0 && sm_expr_eval(e, &env, &got,
	    &err) == 0 && json_string_length(got) == 4000, "4000-byte string");
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;
	memset(big, 'x', 4000);
	big[4000] = '\0';
	ok(sm_expr_parse(big, &e, &err) == 0, "4000-byte name");
	sm_expr_free(e);
	e = NULL;
	memset(big, '9', 4000);
	big[4000] = '\0';
	rc = sm_expr_parse(big, &e, &err);
	ok(rc == SM_EEXPR && strstr(err.msg, "out of range"), "4000-digit integer");
	memcpy(big + 3000, ".5", 2);
	rc = sm_expr_parse(big, &e, &err);
	ok(rc == SM_EEXPR && strstr(err.msg, "out of range"), "3000-digit decimal");
	memcpy(big, "0.", 2);
	memset(big + 2, '0', 3990);
	strcpy(big + 3992, "1");
	ok(sm_expr_parse(big, &e, &err) == 0, "tiny decimal underflows to 0");
	ok(e && sm_expr_eval(e, &env, &got, &err) == 0 && json_is_real(got),
	    "as a decimal");
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;

	/* NUL byte: the source ends there */
	static const char nul_src[] = "1 + \0 2";
	rc = sm_expr_parse(nul_src, &e, &err);
	ok(rc == SM_EEXPR, "NUL truncates the source");
	like_str(err.msg, "column 5: expected", "at the NUL");
	static const char nul_str[] = "'ab\0cd'";
	rc = sm_expr_parse(nul_str, &e, &err);
	ok(rc == SM_EEXPR && strstr(err.msg, "not terminated"),
	    "NUL inside a string: unterminated");

	/* every single byte alone and in a string: no crash, sane codes */
	for (i = 1; i < 256; i++) {
		char src[8];
		int bad = 0;

		src[0] = (char)i;
		src[1] = '\0';
		rc = sm_expr_parse(src, &e, &err);
		if (rc != 0 && rc != SM_EEXPR)
			bad = 1;
		if (rc != 0 && strncmp(err.msg, "column ", 7) != 0)
			bad = 1;
		if (rc == 0 && sm_expr_eval(e, &env, &got, &err) != 0)
			bad = 1;
		json_decref(got);
		got = NULL;
		sm_expr_free(e);
		e = NULL;
		snprintf(src, sizeof(src), "'%c'", (char)i);
		rc = sm_expr_parse(src, &e, &err);
		if (i >= 0x20 && i < 0x7f && i != '\'' && i != '\\' && rc != 0)
			bad = 1;
		if ((i < 0x20 && i != '\t') && rc == 0)
			bad = 1;
		if (i >= 0x80 && rc == 0)
			bad = 1;
		sm_expr_free(e);
		e = NULL;
		if (bad)
			ok(0, "byte 0x%02zx handled", i);
	}
	ok(1, "all 255 single bytes handled");

	/* a string in the datamodel with an embedded NUL compares by length */
	json_object_set_new(dm, "nulstr", json_stringn("a\0b", 3));
	ok(sm_expr_parse("nulstr == 'a' || len(nulstr) != 3", &e, &err) == 0 &&
	    sm_expr_eval(e, &env, &got, &err) == 0 && json_is_false(got),
	    "embedded NUL in data is kept");
	json_decref(got);
	got = NULL;
	sm_expr_free(e);
	e = NULL;
	ok(sm_expr_parse("num(nulstr)", &e, &err) == 0 &&
	    sm_expr_eval(e, &env, &got, &err) == SM_EEXPR, "num() of it fails");
	sm_expr_free(e);
	e = NULL;
	json_object_del(dm, "nulstr");

	/* deeply nested data: equality is bounded */
	{
		json_t *deep = json_array(), *cur = deep, *nx;

		for (i = 0; i < 3000; i++) {
			nx = json_array();
			json_array_append_new(cur, nx);
			cur = nx;
		}
		json_object_set_new(dm, "deep", deep);
		ok(sm_expr_parse("deep == deep", &e, &err) == 0, "parse deep == deep");
		rc = sm_expr_eval(e, &env, &got, &err);
		ok(rc == SM_EEXPR && strstr(err.msg, "nested too deeply"),
		    "too deep to compare is an error, not a crash");
		sm_expr_free(e);
		e = NULL;
		json_object_del(dm, "deep");
	}
	free(big);
}

static json_t *
sys_name(void *arg, const char *name)
{
	return json_object_get(arg, name);
}

/* sm_location_read: a location that is read (param location, namelist)
 * must name something; system variables and task may be read. */
static void
test_location_read(void)
{
	static const struct {
		const char *loc;
		const char *want; /* the value as compact JSON, or the error */
	} cases[] = {
		{ "task", "{\"id\":1,\"tags\":[\"a\",null]}" },
		{ "task.id", "1" },
		{ "task.tags[1]", "null" },
		{ "task['tags'][0]", "\"a\"" },
		{ "_event.name", "\"e\"" },
		{ "_sessionid", "\"s1\"" },
		{ "_name", "\"own\"" },
		{ "missing", "column 1: name 'missing' does not exist" },
		{ "task.nothing", "column 5: member 'nothing' does not exist" },
		{ "task.tags[2]", "column 10: index [2] does not exist" },
		{ "task.id.x", "column 8: member 'x' does not exist" },
		{ "task.tags.x", "column 10: member 'x' does not exist" },
		{ "nosuchvar[0]", "column 1: name 'nosuchvar' does not exist" },
		{ "a +", "column 3: " },
	};
	json_t *root = json_loads("{\"task\": {\"id\": 1, \"tags\": [\"a\", null]},"
	                          " \"_event\": {\"name\": \"e\"}, \"_name\": \"own\"}",
	    0, NULL);
	/* names behind root's (env.name) */
	json_t *sys = json_loads("{\"_sessionid\": \"s1\", \"_name\": \"sys\"}", 0, NULL);
	struct sm_expr_env e2 = { root, NULL, sys, sys_name };
	struct sm_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = (json_t *)1;
		int rc;

		memset(&err, 0, sizeof(err));
		rc = sm_location_read(&e2, cases[i].loc, &v, &err);
		if (cases[i].want[0] != 'c') {
			char *d = rc == 0 ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

			if (!ok(rc == 0 && d && strcmp(d, cases[i].want) == 0, "read %s",
			        cases[i].loc))
				diag("  rc %s msg '%s' got %s", sm_errname(rc), err.msg, d);
			free(d);
			json_decref(v);
		} else if (!ok(rc == SM_EEXPR && v == NULL &&
		                   strncmp(err.msg, cases[i].want, strlen(cases[i].want)) == 0,
		               "read %s fails", cases[i].loc))
			diag("  rc %s msg '%s' want '%s'", sm_errname(rc), err.msg, cases[i].want);
	}
	is_int(sm_location_check_read("_event.data", &err), 0, "a system variable may be read");
	is_int(sm_location_check_read("task", &err), 0, "task itself may be read");
	is_int(
	    sm_location_check_read("a[x]", &err), SM_EEXPR, "read locations have the same syntax");
	is_int(sm_location_read(&e2, "x", NULL, &err), SM_EINVAL, "NULL out");
	ok(sm_system_var("_ioprocessors") && sm_system_var("_event") && !sm_system_var("task") &&
	        !sm_system_var("_other") && !sm_system_var(NULL),
	    "sm_system_var knows the four system variables");
	{
		struct sm_expr *x = NULL;
		json_t *v = NULL;

		ok(sm_expr_parse("_sessionid + _name + str(nothere)", &x, &err) == 0 &&
		        sm_expr_eval(x, &e2, &v, &err) == 0 && json_is_string(v) &&
		        strcmp(json_string_value(v), "s1ownnull") == 0,
		    "an expression reads env.name behind root");
		json_decref(v);
		sm_expr_free(x);
	}
	json_decref(root);
	json_decref(sys);
}

int
main(void)
{
	json_error_t jerr;

	plan_no_plan();
	dm = json_loads(datamodel_json, 0, &jerr);
	if (dm == NULL)
		bail_out("datamodel: %s", jerr.text);
	env.root = dm;
	env.in_state = in_state;
	env.arg = NULL;

	test_values();
	test_bools();
	test_errors();
	test_env();
	test_static();
	test_locations();
	test_location_read();
	test_hostile();

	json_decref(dm);
	return done_testing();
}
