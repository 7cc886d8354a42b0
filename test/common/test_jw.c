/*
 * test_jw.c - the direct JSON writer (sm_jw_*, common/sm_jw.h) against
 * Jansson's own output: every string escape, integers at the limits, reals,
 * nesting, member order, random trees; hostile input (bytes that are not
 * UTF-8, embedded NUL, nesting past the limit, a cycle); the memory it
 * keeps (reserve proportional to the output, given back over the limit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sm_jw.h"
#include "tap.h"

/* 1 if the writer prints `v` exactly as json_dumpb does. */
static int
same_as_jansson(const json_t *v, char *got, size_t gsize, char *want, size_t wsize)
{
	struct sm_jw w = { 0 };
	size_t n = json_dumpb(v, want, wsize - 1, JSON_COMPACT | JSON_ENCODE_ANY);
	int same;

	if (n == 0 || n >= wsize)
		n = 0;
	want[n] = 0;
	sm_jw_json(&w, v);
	snprintf(got, gsize, "%.*s", (int)w.len, w.buf ? w.buf : "");
	same = !w.err && w.len == n && memcmp(w.buf, want, n) == 0;
	sm_jw_free(&w);
	return same;
}

/* The buffer follows the output (not 6 times the input) and a reset gives
 * back a buffer over SM_JW_KEEP_MAX. */
static void
test_memory(void)
{
	struct sm_jw w = SM_JW_INIT;
	size_t n = 4u << 20, i;
	char *big = malloc(n + 1);

	if (!big) {
		ok(0, "out of memory");
		return;
	}
	memset(big, 'a', n);
	big[n] = 0;
	sm_jw_str(&w, big);
	is_int(w.err, 0, "a 4 MiB string is written");
	ok(w.len == n + 2, "as %zu bytes", w.len);
	ok(w.cap < 2 * (n + 2) + 1024, "the reserve is at most twice the output "
	    "(cap %zu for %zu bytes, not 6 times the input)", w.cap, w.len);
	/* the same with every byte escaped: the output is 6x, the buffer follows it */
	for (i = 0; i < n / 8; i++)
		big[i] = '\x01';
	big[n / 8] = 0;
	sm_jw_reset(&w);
	ok(w.buf == NULL && w.cap == 0, "reset gives back a buffer over SM_JW_KEEP_MAX");
	sm_jw_str(&w, big);
	ok(w.err == 0 && w.len == (n / 8) * 6 + 2, "control bytes escaped as \\u0001 (%zu bytes)",
	    w.len);
	ok(w.cap < 2 * w.len + 1024, "cap %zu follows the output", w.cap);
	sm_jw_reset(&w);
	sm_jw_lit(&w, "{\"small\":1}");
	ok(w.cap <= SM_JW_KEEP_MAX, "a small record after a huge one keeps at most "
	    "SM_JW_KEEP_MAX (cap %zu)", w.cap);
	sm_jw_reset(&w);
	ok(w.cap > 0 && w.cap <= SM_JW_KEEP_MAX, "and reset keeps a small buffer for the next use");
	sm_jw_bool(&w, 1);
	sm_jw_raw(&w, ",", 1);
	sm_jw_bool(&w, 0);
	ok(w.len == 10 && memcmp(w.buf, "true,false", 10) == 0, "sm_jw_bool");
	sm_jw_free(&w);
	ok(w.buf == NULL && w.len == 0 && w.cap == 0, "free empties the writer");
	free(big);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static json_t *
random_string(void)
{
	static const char *pieces[] = { "a", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", " ",
		"\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "zz", "\b",
		"\f", "\r" };
	char buf[128];
	size_t len = 0, n = rnd() % 8, i;

	for (i = 0; i < n; i++) {
		const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];

		memcpy(buf + len, p, strlen(p));
		len += strlen(p);
	}
	return json_stringn(buf, len);
}

static json_t *
random_value(int depth)
{
	switch (rnd() % (depth > 4 ? 5 : 7)) {
	case 0: return random_string();
	case 1: return json_integer(rnd() % 2 ? (json_int_t)rnd() : -(json_int_t)(rnd() % 100000));
	case 2: return json_real((double)(int64_t)(rnd() % 2000000) / 7.0);
	case 3: return rnd() % 2 ? json_true() : json_false();
	case 4: return json_null();
	case 5: {
		json_t *o = json_object();
		size_t n = rnd() % 5, i;

		for (i = 0; i < n; i++) {
			json_t *k = random_string();

			json_object_setn_new(o, json_string_value(k), json_string_length(k),
			    random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	default: {
		json_t *a = json_array();
		size_t n = rnd() % 5, i;

		for (i = 0; i < n; i++)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	}
}

int
main(void)
{
	static char got[1 << 16], want[1 << 16];
	static const char *strings[] = { "", "plain", "q\"uote", "back\\slash", "sl/ash",
		"nl\nnl", "tab\t", "\b\f\r", "\x01\x02\x1e\x1f", "del\x7f", "caf\xc3\xa9",
		"\xe2\x82\xac euro", "\xf0\x9f\x98\x80 emoji", "\xe2\x80\xa8 ls", "<script>" };
	size_t i;
	int bad = 0;
	json_t *v, *o, *a;
	struct sm_jw w = { 0 };

	plan_no_plan();
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		v = json_string(strings[i]);
		ok(v && same_as_jansson(v, got, sizeof(got), want, sizeof(want)),
		    "string %zu as Jansson: %s", i, got);
		json_decref(v);
	}
	v = json_stringn("a\0b", 3);
	ok(same_as_jansson(v, got, sizeof(got), want, sizeof(want)), "embedded NUL: %s", got);
	json_decref(v);
	{
		static const json_int_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890123LL,
			INT64_MAX, INT64_MIN };

		for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			v = json_integer(ints[i]);
			ok(same_as_jansson(v, got, sizeof(got), want, sizeof(want)), "integer %s",
			    got);
			json_decref(v);
		}
	}
	{
		static const double reals[] = { 0.0, 1.5, -2.25, 1e300, 3.0, 0.1, 1.0 / 3.0 };

		for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
			v = json_real(reals[i]);
			ok(same_as_jansson(v, got, sizeof(got), want, sizeof(want)), "real %s", got);
			json_decref(v);
		}
	}
	o = json_pack("{s:i,s:[],s:{},s:n,s:b,s:b,s:[i,s,{s:s}]}", "z", 1, "a", "m", "null", "t",
	    1, "f", 0, "arr", 2, "x", "k\"", "v\n");
	ok(same_as_jansson(o, got, sizeof(got), want, sizeof(want)),
	    "nested containers, members in insertion order: %s", got);
	json_decref(o);

	for (i = 0; i < 2000; i++) {
		v = random_value(0);
		if (!same_as_jansson(v, got, sizeof(got), want, sizeof(want))) {
			if (!bad)
				diag("random value %zu: got %s want %s", i, got, want);
			bad++;
		}
		json_decref(v);
	}
	is_int(bad, 0, "2000 random trees print exactly as Jansson prints them");

	/* hostile: bytes that are not UTF-8 (Jansson refuses such strings; the
	 * writer gets them from C strings) stay valid JSON, as U+00XX */
	{
		static const char *raw[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80",
			"\xe2\x82", "ok\x80ok" };

		for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
			json_t *back;
			json_error_t je;

			sm_jw_reset(&w);
			sm_jw_str(&w, raw[i]);
			back = json_loadb(w.buf, w.len, JSON_DECODE_ANY, &je);
			ok(back && json_is_string(back), "invalid UTF-8 %zu still gives valid JSON: %.*s",
			    i, (int)w.len, w.buf);
			json_decref(back);
		}
		sm_jw_reset(&w);
		sm_jw_str(&w, "\xff");
		is_int((int)w.len, 8, "\\xff is written as \"\\u00FF\"");
		ok(w.len == 8 && memcmp(w.buf, "\"\\u00FF\"", 8) == 0, "exactly");
	}
	sm_jw_reset(&w);
	sm_jw_str(&w, NULL);
	ok(w.len == 4 && memcmp(w.buf, "null", 4) == 0, "a NULL string is null");

	/* nesting past the limit, and a cycle, are errors, not a crash */
	a = json_array();
	v = a;
	for (i = 0; i < 1500; i++) {
		json_t *n = json_array();

		json_array_append_new(v, n);
		v = n;
	}
	sm_jw_reset(&w);
	sm_jw_json(&w, a);
	ok(w.err != 0, "1500 levels of nesting: error %d", w.err);
	json_decref(a);
	o = json_object();
	a = json_array();
	json_object_set(o, "a", a);
	json_array_append(a, o); /* o -> a -> o */
	sm_jw_reset(&w);
	sm_jw_json(&w, o);
	ok(w.err != 0, "a cycle: error %d, no endless recursion", w.err);
	json_array_clear(a);
	json_decref(a);
	json_decref(o);
	sm_jw_reset(&w);
	ok(w.err == 0 && w.len == 0, "reset clears the error");
	sm_jw_free(&w);
	test_memory();
	return done_testing();
}
