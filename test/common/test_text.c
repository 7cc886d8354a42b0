/* test_text.c - hex digits and UTF-8 validation shared by the parsers. */
#include <string.h>

#include "sm_text.h"
#include "tap.h"

static int
valid(const char *s)
{
	return sm_utf8_valid(s, strlen(s));
}

int
main(void)
{
	plan_no_plan();
	is_int(sm_hexval('0'), 0, "hex 0");
	is_int(sm_hexval('f'), 15, "hex f");
	is_int(sm_hexval('A'), 10, "hex A");
	is_int(sm_hexval('g'), -1, "g is not hex");
	is_int(sm_hexval('\0'), -1, "NUL is not hex");

	ok(valid("plain ascii"), "ASCII is UTF-8");
	ok(valid("na\xc3\xafve caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "2, 3 and 4 byte sequences");
	is_int(sm_utf8_seq((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4, "emoji is 4 bytes");
	ok(!valid("\xc0\xaf"), "overlong '/' refused");
	ok(!valid("\xe0\x80\xaf"), "overlong 3-byte refused");
	ok(!valid("\xed\xa0\x80"), "surrogate U+D800 refused");
	ok(!valid("\xf4\x90\x80\x80"), "above U+10FFFF refused");
	ok(!valid("\xc3"), "truncated sequence refused");
	ok(!valid("a\x80"), "lone continuation byte refused");
	is_int(sm_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0,
	    "a sequence longer than the bytes available is refused");
	is_int(sm_utf8_seq((const unsigned char *)"", 0), 0, "no bytes: 0");
	ok(sm_utf8_valid("", 0), "the empty string is valid");
	{
		char hex[9];

		sm_hex_encode((const unsigned char *)"\x00\x9f\xa0\xff", 4, hex);
		is_str(hex, "009fa0ff", "hex encoding, lower case");
		sm_hex_encode((const unsigned char *)"", 0, hex);
		is_str(hex, "", "hex of nothing is empty");
	}
	{
		char u[64];

		is_int((int)sm_uri_encode(u, "a b/c~d%\xc3\xa9", 10, 0), 20, "uri: length");
		is_str(u, "a%20b%2Fc~d%25%C3%A9", "uri: a component, upper-case hex");
		sm_uri_encode(u, "a b/c", 5, 1);
		is_str(u, "a%20b/c", "uri: a path keeps '/'");
		sm_uri_encode(u, "AZaz09-._~", 10, 0);
		is_str(u, "AZaz09-._~", "uri: the unreserved set stays");
		sm_uri_encode(u, "\0+\x7f", 3, 0);
		is_str(u, "%00%2B%7F", "uri: NUL, '+' and DEL escaped");
		is_int((int)sm_uri_encode(u, "", 0, 1), 0, "uri: nothing is empty");
		is_str(u, "", "uri: and NUL-terminated");
	}
	{
		static const struct { double d; const char *s; } reals[] = {
			{ 0.1, "0.1" }, { 1.0, "1.0" }, { 1e16, "1e+16" }, { 1e-5, "1e-05" },
			{ 123456789.0, "123456789.0" }, { 2.5, "2.5" }, { -0.0, "-0.0" },
			{ 1.2345678901234568e+29, "1.2345678901234568e+29" },
			{ 0.30000000000000004, "0.30000000000000004" },
		};
		char buf[32];
		size_t i;

		for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
			sm_real_text(reals[i].d, buf, sizeof(buf));
			is_str(buf, reals[i].s, "real #%zu as Python writes it", i);
		}
	}

	char buf[32];
	is_str(sm_text_escape(buf, sizeof(buf), "a\nb\\c\x7f\x00" "d", 8), "a\\x0ab\\x5cc\\x7f\\x00d",
	    "escape: control characters, backslash, DEL and NUL as \\xNN");
	is_str(sm_text_escape(buf, 6, "abcdefgh", 8), "abcde", "cut to the buffer");
	is_str(sm_text_escape(buf, 6, "ab\ncd", 5), "ab", "never half an escape");
	is_str(sm_text_escape(buf, 1, "abc", 3), "", "a one-byte buffer holds the NUL");
	return done_testing();
}
