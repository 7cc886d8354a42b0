/*
 * test_pack.c - act_pack and act_zip_file (SPEC 3 and 4): garbage lines
 * dropped and counted, cleaned JL, CSV (checked against python's csv
 * module), zips (checked with python's zipfile), best-seller merge, bounded
 * memory on a large file, hostile lines.  Skipped without python3.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act_pack.h"
#include "act_test_util.h"
#include "tap.h"

static char dir[256];

static const char *
path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static void
write_file(const char *name, const char *data, size_t n)
{
	FILE *f = fopen(path(name), "wb");

	if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
		bail_out("cannot write %s", name);
}

#define write_str(name, s) write_file(name, s, strlen(s))

static char *
read_file(const char *name, size_t *n)
{
	FILE *f = fopen(path(name), "rb");
	char *b;
	long len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	b = malloc((size_t)len + 1);
	if (fread(b, 1, (size_t)len, f) != (size_t)len)
		bail_out("short read");
	b[len] = '\0';
	fclose(f);
	if (n != NULL)
		*n = (size_t)len;
	return b;
}

static int
pack(const char *in, const char *bsr, struct act_pack_stats *st, struct sm_error *e)
{
	struct act_pack_opts o = { path(in), bsr ? path(bsr) : NULL, path("out.jl"),
		path("out.csv"), 0 };

	return act_pack(&o, st, e);
}

/* Zip out.jl and out.csv, then run check_pack.py; returns its verdict line. */
static char *
py_check(void)
{
	struct sm_error e;
	char cmd[2048], *line = malloc(4096);
	FILE *p;

	if (act_zip_file(path("out.jl"), "x.jl", path("x.jl.zip"), &e) != 0 ||
	    act_zip_file(path("out.csv"), "x.csv", path("x.csv.zip"), &e) != 0)
		bail_out("zip: %s", e.msg);
	snprintf(cmd, sizeof(cmd), "python3 '%s/test/actions/check_pack.py' '%s' '%s' '%s' '%s'",
	    getenv("SM_SOURCE_DIR"), path("out.jl"), path("out.csv"), path("x.jl.zip"),
	    path("x.csv.zip"));
	if ((p = popen(cmd, "r")) == NULL || fgets(line, 4096, p) == NULL)
		strcpy(line, "python failed\n");
	if (p != NULL)
		pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static void
test_clean_and_csv(void)
{
	static const char in[] =
	    "not json at all\n"
	    "{\"url\": \"http://a/1\", \"title\": \"comma, \\\"quote\\\"\", \"price\": 0.1, \"n\": 3}\n"
	    "[1, 2, 3]\n"
	    "\"a string\"\n"
	    "{\"truncated\": \n"
	    "\xff\xfe{}\n"
	    "\n"
	    "null\n"
	    "{} {}\n"
	    "{\"a\": 1}}\n"
	    "{\"url\": \"http://a/2\", \"nested\": {\"x\": [1, {\"y\": null}], \"r\": 2.5}, \"flag\": true,"
	    " \"none\": null, \"multi\": \"line1\\nline2\\r\\nline3\", \"B\": \"up\", \"\\u00e9\": \"e\"}\r\n"
	    "   \n"
	    "{\"url\": \"http://a/3\", \"flag\": false, \"nul\": \"a\\u0000b\", \"title\": \"\"}";
	static const char want_csv[] =
	    "B,flag,multi,n,nested,none,nul,price,title,url,\xc3\xa9\r\n"
	    ",,,3,,,,0.1,\"comma, \"\"quote\"\"\",http://a/1,\r\n"
	    "up,true,\"line1\nline2\r\nline3\",,\"{\"\"x\"\":[1,{\"\"y\"\":null}],\"\"r\"\":2.5}\",,,,,http://a/2,e\r\n"
	    ",false,,,,,a\0b,,,http://a/3,\r\n";
	struct act_pack_stats st;
	struct sm_error e;
	char *jl, *csv, *verdict;
	size_t n;

	write_file("in.jl", in, sizeof(in) - 1);
	is_int(pack("in.jl", NULL, &st, &e), 0, "pack (%s)", e.msg);
	is_int(st.items, 3, "three items");
	is_int(st.dropped, 10, "ten lines dropped (text, array, string, truncated, binary, "
	    "empty, null, two values, extra brace, blank)");
	is_str(st.first_drop, "line 1: not JSON: '[' or '{' expected near 'not'", "first drop says why");
	jl = read_file("out.jl", NULL);
	is_str(jl,
	    "{\"url\": \"http://a/1\", \"title\": \"comma, \\\"quote\\\"\", \"price\": 0.1, \"n\": 3}\n"
	    "{\"url\": \"http://a/2\", \"nested\": {\"x\": [1, {\"y\": null}], \"r\": 2.5}, \"flag\": true,"
	    " \"none\": null, \"multi\": \"line1\\nline2\\r\\nline3\", \"B\": \"up\", \"\\u00e9\": \"e\"}\n"
	    "{\"url\": \"http://a/3\", \"flag\": false, \"nul\": \"a\\u0000b\", \"title\": \"\"}\n",
	    "cleaned JL: the spider's bytes, CR and garbage gone, last line completed");
	free(jl);
	csv = read_file("out.csv", &n);
	ok(n == sizeof(want_csv) - 1 && memcmp(csv, want_csv, n) == 0,
	    "CSV: sorted header, RFC 4180 quoting, nested as JSON, null and missing empty, NUL kept");
	if (n != sizeof(want_csv) - 1 || memcmp(csv, want_csv, n) != 0)
		diag("got %zu bytes: %s", n, csv);
	is_int(st.columns, 11, "eleven columns");
	free(csv);
	verdict = py_check();
	is_str(verdict, "ok", "python's json, csv and zipfile agree");
	free(verdict);
}

static void
test_merge(void)
{
	static const char main_jl[] =
	    "{\"url\": \"u1\", \"ranking\": 1}\n"
	    "{\"url\": \"u2\", \"ranking\": 2}\n"
	    "{\"url\": \"u3\", \"ranking\": 3, \"best_seller_ranking\": \"old\", \"z\": 1}\n"
	    "{\"url\": \"u4\", \"ranking\": 4}\n"
	    "{\"title\": \"no url\"}\n"
	    "{\"url\": \"nowhere\", \"price\": 0.1}\n"
	    "garbage\n"
	    "{\"url\": 5}\n";
	static const char bsr_jl[] =
	    "{\"url\": \"u3\", \"ranking\": 10}\n"
	    "not json\n"
	    "{\"url\": \"u1\"}\n"
	    "{\"url\": \"u3\", \"ranking\": 99}\n"
	    "{\"url\": \"u2\", \"ranking\": null}\n"
	    "{\"url\": \"u4\", \"ranking\": \"7a\"}\n";
	struct act_pack_stats st;
	struct sm_error e;
	char *jl, *verdict;

	write_file("main.jl", main_jl, sizeof(main_jl) - 1);
	write_file("bsr.jl", bsr_jl, sizeof(bsr_jl) - 1);
	is_int(pack("main.jl", "bsr.jl", &st, &e), 0, "pack with merge (%s)", e.msg);
	is_int(st.items, 7, "seven items");
	is_int(st.dropped, 1, "one dropped");
	is_int(st.bsr_items, 5, "five best-seller items");
	is_int(st.bsr_dropped, 1, "one best-seller line dropped");
	is_int(st.ranked, 4, "four items ranked");
	jl = read_file("out.jl", NULL);
	is_str(jl,
	    "{\"url\":\"u1\",\"ranking\":1,\"best_seller_ranking\":2}\n"
	    "{\"url\":\"u2\",\"ranking\":2,\"best_seller_ranking\":4}\n"
	    "{\"url\":\"u3\",\"ranking\":3,\"best_seller_ranking\":10,\"z\":1}\n"
	    "{\"url\":\"u4\",\"ranking\":4,\"best_seller_ranking\":\"7a\"}\n"
	    "{\"title\":\"no url\",\"best_seller_ranking\":null}\n"
	    "{\"url\":\"nowhere\",\"price\":0.1,\"best_seller_ranking\":null}\n"
	    "{\"url\":5,\"best_seller_ranking\":null}\n",
	    "merged: ranking, else position among items (u1 2nd, u2 null ranking -> 4th), "
	    "first url wins, replaced in place, null when absent");
	free(jl);
	verdict = py_check();
	is_str(verdict, "ok", "python agrees on the merged files");
	free(verdict);

	/* the test spider's best-seller output shape: ranking i for url N+1-i */
	{
		char m[1024] = "", b[1024] = "";
		int i;

		for (i = 1; i <= 5; i++) {
			snprintf(m + strlen(m), sizeof(m) - strlen(m),
			    "{\"url\": \"http://fake.example/test/item/%d\", \"ranking\": %d}\n", i, i);
			snprintf(b + strlen(b), sizeof(b) - strlen(b),
			    "{\"url\": \"http://fake.example/test/item/%d\", \"ranking\": %d}\n", 6 - i, i);
		}
		write_file("m.jl", m, strlen(m));
		write_file("b.jl", b, strlen(b));
		is_int(pack("m.jl", "b.jl", &st, &e), 0, "spider-shaped merge");
		jl = read_file("out.jl", NULL);
		like_str(jl, "item/1\",\"ranking\":1,\"best_seller_ranking\":5}", "url 1 -> 5");
		like_str(jl, "item/5\",\"ranking\":5,\"best_seller_ranking\":1}", "url 5 -> 1");
		free(jl);
	}
}

static void
test_edges(void)
{
	struct act_pack_opts o = { NULL, NULL, NULL, NULL, 0 };
	struct act_pack_stats st;
	struct sm_error e;
	char *jl, *verdict, big[300], magic[4];
	size_t n;
	int tmps;
	FILE *f;
	DIR *d;
	struct dirent *de;

	write_file("empty.jl", "", 0);
	is_int(pack("empty.jl", NULL, &st, &e), 0, "empty input");
	is_int(st.items + st.dropped, 0, "nothing");
	free(read_file("out.csv", &n));
	is_int(n, 0, "empty CSV without items");
	verdict = py_check();
	is_str(verdict, "ok", "python reads the empty zips");
	free(verdict);

	write_str("one.jl", "{\"only\": \"\"}\n{\"only\": null}\n");
	is_int(pack("one.jl", NULL, &st, &e), 0, "one column");
	jl = read_file("out.csv", NULL);
	is_str(jl, "only\r\n\"\"\r\n\"\"\r\n", "one empty field is quoted (an empty line is no row)");
	free(jl);
	verdict = py_check();
	is_str(verdict, "ok", "python agrees on one column");
	free(verdict);

	write_str("bigint.jl", "{\"n\": 123456789012345678901234567890}\n{\"n\": 1e400}\n");
	is_int(pack("bigint.jl", NULL, &st, &e), 0, "big numbers");
	is_int(st.items, 1, "an integer over 64 bits is kept (as a real)");
	is_int(st.dropped, 1, "a real overflow is dropped");
	jl = read_file("out.csv", NULL);
	is_str(jl, "n\r\n1.2345678901234568e+29\r\n", "its CSV field");
	free(jl);

	o.jl_in = path("long.jl");
	o.jl_out = path("out.jl");
	o.csv_out = path("out.csv");
	o.line_max = 100;
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"k\": \"", 7);
	memcpy(big + 200, "\"}\n{\"k\": 1}\n", 12);
	write_file("long.jl", big, 212);
	is_int(act_pack(&o, &st, &e), 0, "line limit 100");
	is_int(st.items, 1, "the short item kept");
	is_int(st.dropped, 1, "the long line dropped");
	is_str(st.first_drop, "line 1: longer than 100 bytes", "and said why");

	o.jl_in = path("missing.jl");
	is_int(act_pack(&o, &st, &e), SM_ENOTFOUND, "missing input");
	like_str(e.msg, "missing.jl", "message names the file");
	o.jl_in = path("one.jl");
	o.jl_out = "/nonexistent/dir/out.jl";
	ok(act_pack(&o, &st, &e) != 0, "unwritable output refused");
	like_str(e.msg, "/nonexistent/dir/out.jl", "message names the output");

	is_int(act_zip_file(path("one.jl"), "a/b", path("z.zip"), &e), SM_EINVAL, "entry with '/' refused");
	is_int(act_zip_file(path("one.jl"), "", path("z.zip"), &e), SM_EINVAL, "empty entry refused");
	is_int(act_zip_file(path("missing.jl"), "m.jl", path("z.zip"), &e), SM_ENOTFOUND,
	    "missing source refused");
	ok(access(path("z.zip"), F_OK) != 0, "and no zip left");
	is_int(act_zip_file(path("one.jl"), "one.jl", "/nonexistent/dir/z.zip", &e), SM_EIO,
	    "unwritable zip refused");
	like_str(e.msg, "/nonexistent/dir/z.zip", "message names the zip");

	/* an old file at the zip's path is replaced whole; no temporary is left */
	if ((f = fopen(path("old.zip"), "w")) == NULL || fputs("not a zip at all", f) < 0 ||
	    fclose(f) != 0)
		bail_out("old.zip: %s", strerror(errno));
	is_int(act_zip_file(path("one.jl"), "one.jl", path("old.zip"), &e), 0,
	    "zip over an existing file");
	f = fopen(path("old.zip"), "rb");
	ok(f != NULL && fread(magic, 1, 4, f) == 4 && memcmp(magic, "PK\3\4", 4) == 0,
	    "the file is now a zip");
	if (f != NULL)
		fclose(f);
	tmps = 0;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			tmps += strstr(de->d_name, ".tmp") != NULL;
		closedir(d);
	}
	is_int(tmps, 0, "no temporary file left next to the zips");
}

/* A 64 MiB .jl packed in a child: its peak RSS stays far below the file. */
static void
test_memory(void)
{
	const size_t target = 64u << 20;
	char line[512];
	size_t written = 0;
	int i = 0, pfd[2], status;
	long rss_kb = -1;
	FILE *f = fopen(path("large.jl"), "wb");
	pid_t pid;

#if defined(__SANITIZE_ADDRESS__)
	fclose(f);
	unlink(path("large.jl"));
	diag("ASan holds freed memory in quarantine: peak RSS not measured");
	return;
#endif
	while (written < target) {
		int n = snprintf(line, sizeof(line), "{\"url\": \"http://fake.example/item/%d\", \"ranking\": %d, "
		    "\"title\": \"item %d with some text to make the line longer\", \"price\": %d.99, "
		    "\"tags\": [\"a\", \"b\", {\"c\": %d}]}\n", i, i, i, i % 1000, i);
		fwrite(line, 1, (size_t)n, f);
		written += (size_t)n;
		i++;
	}
	fclose(f);
	if (pipe(pfd) != 0)
		bail_out("pipe");
	if ((pid = fork()) == 0) {
		struct act_pack_stats st;
		struct sm_error e;
		struct rusage ru;
		long v;

		if (pack("large.jl", NULL, &st, &e) != 0 || st.items != (uint64_t)i)
			_exit(1);
		getrusage(RUSAGE_SELF, &ru);
		v = ru.ru_maxrss;
		if (write(pfd[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &rss_kb, sizeof(rss_kb)) != sizeof(rss_kb))
		rss_kb = -1;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "packed %d items (%zu MiB)", i, written >> 20);
	ok(rss_kb > 0 && rss_kb < 24 * 1024, "peak RSS %ld KiB for a 64 MiB file (limit 24 MiB)", rss_kb);
	unlink(path("large.jl"));
	unlink(path("out.jl"));
	unlink(path("out.csv"));
}

/* Hostile lines: mutations of valid items never crash; every line is
 * counted once as an item or as dropped; python agrees on what was kept. */
static void
test_hostile(void)
{
	static const char base[] = "{\"url\": \"http://a/\\u00e9\", \"n\": [1, 2.5, {\"k\": \"v,\\\"\"}], "
	    "\"t\": true, \"x\": null}";
	size_t cap = 4000 * sizeof(base), n = 0;
	char *buf = malloc(cap), *verdict;
	unsigned seed = 777;
	int i, lines = 0, nl = 0;
	struct act_pack_stats st;
	struct sm_error e;
	size_t k;

	for (i = 0; i < 3000; i++) {
		size_t j, len = sizeof(base) - 1;

		memcpy(buf + n, base, len);
		for (j = 0; j < (size_t)(i % 3); j++) {
			seed = seed * 1103515245u + 12345u;
			buf[n + (seed >> 8) % len] = (char)(seed >> 20);
		}
		n += len;
		buf[n++] = '\n';
	}
	for (k = 0; k < n; k++)
		nl += buf[k] == '\n';
	lines = nl + (n > 0 && buf[n - 1] != '\n');
	write_file("hostile.jl", buf, n);
	is_int(pack("hostile.jl", "hostile.jl", &st, &e), 0, "hostile lines packed");
	is_int(st.items + st.dropped, lines, "every line counted once (%d lines)", lines);
	ok(st.items > 1000 && st.dropped > 100, "some kept (%llu), some dropped (%llu)",
	    (unsigned long long)st.items, (unsigned long long)st.dropped);
	verdict = py_check();
	is_str(verdict, "ok", "python agrees on what was kept");
	free(verdict);
	free(buf);
}

int
main(void)
{
	if (getenv("SM_SOURCE_DIR") == NULL)
		bail_out("SM_SOURCE_DIR must be set (ctest sets it)");
	if (system("python3 -c 'import csv, zipfile' 2>/dev/null") != 0)
		skip_all("python3 missing (it checks the CSV and zips)");
	snprintf(dir, sizeof(dir), "/tmp/test_pack.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bail_out("mkdtemp");
	plan_no_plan();
	test_clean_and_csv();
	test_merge();
	test_edges();
	test_memory();
	test_hostile();
	rmtree(dir);
	return done_testing();
}
