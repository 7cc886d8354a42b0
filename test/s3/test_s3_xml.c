/*
 * test_s3_xml.c - the S3 answer parsers alone (no server): error bodies,
 * listings, times; hostile documents (DTDs, entities, bombs, bad escapes,
 * huge numbers, oversize) are refused without crashing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"
#include "tap.h"

#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static int
perr(const char *body, char *code, char *msg)
{
	return tp__s3_parse_error(body, strlen(body), code, 128, msg, 512);
}

static void
test_errors(void)
{
	char code[128], msg[512], small[8];
	char *big;
	size_t n;

	is_int(perr("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
	    "<Message>The specified key does not exist.</Message><Key>a b</Key>"
	    "<RequestId>x</RequestId></Error>", code, msg), 0, "error body parses");
	is_str(code, "NoSuchKey", "error code");
	is_str(msg, "The specified key does not exist.", "error message");

	is_int(perr("<Error><Code>AccessDenied</Code></Error>", code, msg), 0,
	    "error without message parses");
	is_str(msg, "", "missing message is empty");

	is_int(perr("<Error><Code>A&amp;B</Code><Message>&lt;x&gt; &#233;</Message></Error>",
	    code, msg), 0, "predefined entities and char refs are fine");
	is_str(code, "A&B", "code with &amp; decoded");
	is_str(msg, "<x> \xc3\xa9", "message with &lt; &gt; &#233; decoded");

	is_int(tp__s3_parse_error("<Error><Code>VeryLongCodeName</Code></Error>", 44, small,
	    sizeof(small), msg, sizeof(msg)), 0, "long code parses");
	is_str(small, "VeryLon", "code truncated to the buffer");

	ok(perr("", code, msg) != 0, "empty body refused");
	is_str(code, "", "code cleared on failure");
	ok(perr("<Error><Code>X</Code>", code, msg) != 0, "truncated XML refused");
	ok(perr("<Other><Code>X</Code></Other>", code, msg) != 0, "root other than <Error> refused");
	ok(perr("<Error><Message>m</Message></Error>", code, msg) != 0, "error without code refused");
	ok(perr("<Error><Code></Code></Error>", code, msg) != 0, "empty code refused");
	ok(perr("not xml at all", code, msg) != 0, "non-XML refused");
	ok(perr("{\"__type\":\"x\"}", code, msg) != 0, "JSON refused");

	/* XXE: an external entity must not be fetched nor expanded. */
	ok(perr("<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<Error><Code>&x;</Code></Error>", code, msg) != 0, "XXE document refused");
	ok(strstr(code, "root:") == NULL, "no file content leaked into the code");
	/* Billion laughs. */
	ok(perr("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]><Error><Code>&d;</Code></Error>",
	    code, msg) != 0, "entity expansion bomb refused");
	ok(perr("<!DOCTYPE Error SYSTEM \"http://127.0.0.1:1/x.dtd\"><Error><Code>X</Code></Error>",
	    code, msg) != 0, "external DTD refused");
	ok(perr("<Error><Code>&undefined;</Code></Error>", code, msg) != 0,
	    "undefined entity refused");

	/* Oversize: over TP__S3_XML_MAX is refused before parsing. */
	n = TP__S3_XML_MAX + 100;
	big = malloc(n + 1);
	if (big != NULL) {
		memset(big, ' ', n);
		memcpy(big, "<Error><Code>X</Code><Message>", 30);
		memcpy(big + n - 18, "</Message></Error>", 18);
		big[n] = '\0';
		ok(tp__s3_parse_error(big, n, code, sizeof(code), msg, sizeof(msg)) != 0,
		    "error body over the size cap refused");
		free(big);
	}
	/* Deep nesting does not crash (libxml2 limits depth). */
	{
		size_t depth = 100000, i, len = 0;
		char *deep = malloc(depth * 7 + 64);
		if (deep != NULL) {
			len += (size_t)sprintf(deep, "<Error><Code>X</Code>");
			for (i = 0; i < depth; i++)
				len += (size_t)sprintf(deep + len, "<a>");
			deep[len] = '\0';
			ok(tp__s3_parse_error(deep, len, code, sizeof(code), msg, sizeof(msg)) != 0,
			    "deeply nested unterminated document refused");
			free(deep);
		}
	}
	/* Embedded NUL. */
	ok(tp__s3_parse_error("<Error><Code>X\0Y</Code></Error>", 31, code, sizeof(code), msg,
	    sizeof(msg)) != 0, "embedded NUL refused");
}

static const char *
list_xml(int url)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<ListBucketResult " NS "><Name>b</Name><Prefix>dir%%2F</Prefix>"
	    "<KeyCount>3</KeyCount><MaxKeys>3</MaxKeys><Delimiter>%%2F</Delimiter>"
	    "<IsTruncated>true</IsTruncated>%s"
	    "<Contents><Key>%s</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
	    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
	    "<StorageClass>STANDARD</StorageClass></Contents>"
	    "<Contents><Key>%s</Key><LastModified>2024-02-29T00:00:00Z</LastModified>"
	    "<ETag>\"abc-5\"</ETag><Size>0</Size></Contents>"
	    "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>"
	    "<CommonPrefixes><Prefix>dir/x/</Prefix></CommonPrefixes>"
	    "<NextContinuationToken>tok+/=en</NextContinuationToken></ListBucketResult>",
	    url ? "<EncodingType>url</EncodingType>" : "",
	    url ? "dir/na%C3%AFve+caf%C3%A9/%C3%BC.jl" : "dir/plain key.jl",
	    url ? "dir/a%2Bb%25c%3Fd%23e%26f%3Dg~h" : "dir/a+b",
	    url ? "dir/sub%20dir/" : "dir/sub dir/");
	return buf;
}

static int
plist(const char *body, struct tp__s3_list *l, struct sm_error *e)
{
	sm_error_clear(e);
	return tp__s3_parse_list(body, strlen(body), l, e);
}

static void
test_list(void)
{
	struct tp__s3_list l;
	struct sm_error e;
	const char *s;

	is_int(plist(list_xml(0), &l, &e), 0, "plain listing parses");
	is_int((int)l.n, 2, "two objects");
	is_str(l.objs[0].key, "dir/plain key.jl", "key as is without encoding-type");
	is_str(l.objs[1].key, "dir/a+b", "'+' kept without encoding-type");
	is_int((long long)l.objs[0].size, 434234, "size");
	is_str(l.objs[0].etag, "fba9dede5f27731c9771645a39863328", "etag without quotes");
	is_int(l.objs[0].mtime_ms, 1255369830000LL, "LastModified in ms");
	is_int(l.objs[1].mtime_ms, 1709164800000LL, "LastModified without fraction (leap day)");
	is_int((int)l.nprefixes, 2, "two common prefixes");
	is_str(l.prefixes[0], "dir/sub dir/", "common prefix");
	ok(l.truncated, "truncated");
	is_str(l.next, "tok+/=en", "continuation token verbatim");
	tp__s3_list_free(&l);

	is_int(plist(list_xml(1), &l, &e), 0, "url-encoded listing parses");
	is_str(l.n > 0 ? l.objs[0].key : NULL, "dir/na\xc3\xafve caf\xc3\xa9/\xc3\xbc.jl",
	    "url-encoded unicode key and '+' as space decoded");
	is_str(l.n > 1 ? l.objs[1].key : NULL, "dir/a+b%c?d#e&f=g~h",
	    "%%2B %%25 %%3F %%23 %%26 %%3D decoded");
	is_str(l.nprefixes > 0 ? l.prefixes[0] : NULL, "dir/sub dir/", "prefix decoded");
	is_str(l.nprefixes > 1 ? l.prefixes[1] : NULL, "dir/x/", "plain prefix unchanged");
	is_str(l.next, "tok+/=en", "token is never decoded");
	tp__s3_list_free(&l);

	s = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
	is_int(plist(s, &l, &e), 0, "empty listing parses");
	is_int((int)l.n, 0, "no objects");
	ok(!l.truncated && l.next == NULL, "not truncated, no token");
	tp__s3_list_free(&l);

	/* Hostile or broken listings. */
	s = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "truncated without token refused");
	like_str(e.msg, "NextContinuationToken", "message names the missing token");
	ok(l.objs == NULL && l.n == 0, "nothing left on failure");
	s = "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "entry without key refused");
	s = "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "negative size refused");
	s = "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999999</Size>"
	    "</Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "overflowing size refused");
	s = "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "missing size refused");
	s = "<ListBucketResult><Contents><Key>k</Key><Size>1</Size><LastModified>yesterday"
	    "</LastModified></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "bad LastModified refused");
	s = "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%2</Key>"
	    "<Size>1</Size></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "truncated %%-escape refused");
	s = "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b</Key>"
	    "<Size>1</Size></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "%%00 in a key refused");
	s = "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zzb</Key>"
	    "<Size>1</Size></Contents></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "non-hex escape refused");
	s = "<ListBucketResult><EncodingType>url</EncodingType><CommonPrefixes><Prefix>%G0/"
	    "</Prefix></CommonPrefixes></ListBucketResult>";
	ok(plist(s, &l, &e) == SM_EPROTO, "bad escape in a common prefix refused");
	s = "<Error><Code>NoSuchBucket</Code></Error>";
	ok(plist(s, &l, &e) == SM_EPROTO, "error document is not a listing");
	like_str(e.msg, "<Error>", "message names the root found");
	ok(plist("<ListBucketResult>", &l, &e) == SM_EPROTO, "unterminated listing refused");
	ok(plist("<!DOCTYPE x [<!ENTITY k \"key\">]><ListBucketResult><Contents><Key>&k;</Key>"
	    "<Size>1</Size></Contents></ListBucketResult>", &l, &e) == SM_EPROTO,
	    "listing with a DTD refused");
	ok(tp__s3_parse_list(NULL, 0, &l, &e) == SM_EPROTO, "no body refused");

	/* Many entries (growth of the arrays). */
	{
		size_t cap = 2000 * 120 + 200, len = 0, i;
		char *b = malloc(cap);
		if (b != NULL) {
			len += (size_t)snprintf(b + len, cap - len,
			    "<ListBucketResult><IsTruncated>false</IsTruncated>");
			for (i = 0; i < 1000; i++)
				len += (size_t)snprintf(b + len, cap - len,
				    "<Contents><Key>k%04zu</Key><Size>%zu</Size></Contents>"
				    "<CommonPrefixes><Prefix>p%04zu/</Prefix></CommonPrefixes>", i, i, i);
			len += (size_t)snprintf(b + len, cap - len, "</ListBucketResult>");
			is_int(tp__s3_parse_list(b, len, &l, &e), 0, "1000-entry listing parses");
			is_int((int)l.n, 1000, "1000 objects");
			is_int((int)l.nprefixes, 1000, "1000 prefixes");
			is_str(l.n == 1000 ? l.objs[999].key : NULL, "k0999", "last key");
			is_int(l.n == 1000 ? (long long)l.objs[999].size : -1, 999, "last size");
			tp__s3_list_free(&l);
			free(b);
		}
	}
}

int
main(void)
{
	plan_no_plan();
	test_errors();
	test_list();
	return done_testing();
}
