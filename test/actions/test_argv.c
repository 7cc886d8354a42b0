/*
 * test_argv.c - the spider argv (SPEC 3) and the security test: hostile
 * cmd_args, terms, urls, sites and branch names never become options, never
 * reach a shell and arrive verbatim, checked by the shape of the argv, by a
 * parser built like scrapy's (scrapy_argv.py, Skipped without python3) and
 * by running the test spider.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "act_argv.h"
#include "sm_text.h"
#include "act_test_util.h"
#include "tap.h"

extern char **environ;

static char tmpdir[256];

static int
argc_of(char **argv)
{
	int n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

static void
is_argv(char **got, const char *const *want, const char *what)
{
	int i, n = 0, same;

	while (want[n] != NULL)
		n++;
	same = got != NULL && argc_of(got) == n;
	for (i = 0; same && i < n; i++)
		same = strcmp(got[i], want[i]) == 0;
	ok(same, "%s", what);
	if (!same && got != NULL)
		for (i = 0; got[i] != NULL; i++)
			diag("argv[%d] = '%s'", i, got[i]);
}

static void
test_shapes(void)
{
	struct act_argv_opts o = { "scrapy", "/w/n", ACT_CRAWL_MAIN };
	struct act_task t;
	struct sm_error e;
	char **argv;

	t = task("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"water\","
	    " \"cmd_args\": {\"zip_code\": 94117, \"quantity\": 20, \"search_sort\": \"price\"}}");
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "search argv");
	{
		static const char *const want[] = { "scrapy", "crawl", "walmart_products", "-a",
			"searchterms_str=water", "-a", "quantity=20", "-a", "search_sort=price", "-a",
			"zip_code=94117", "-s", "LOG_FILE=/w/n.log", "-o", "/w/n.jl", NULL };
		is_argv(argv, want, "search: the SPEC 3 shape, cmd_args sorted");
	}
	act_argv_free(argv);
	o.crawl = ACT_CRAWL_BEST_SELLERS;
	o.out_base = "/w/n.bsr";
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "best sellers argv");
	{
		static const char *const want[] = { "scrapy", "crawl", "walmart_products", "-a",
			"searchterms_str=water", "-a", "quantity=20", "-a", "zip_code=94117", "-a",
			"search_sort=best_sellers", "-s", "LOG_FILE=/w/n.bsr.log", "-o", "/w/n.bsr.jl",
			NULL };
		is_argv(argv, want, "best sellers: search_sort=best_sellers, the task's own left out");
	}
	act_argv_free(argv);
	o.crawl = ACT_CRAWL_SCREENSHOT;
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "no screenshot crawl for a search");
	ok(argv == NULL, "argv NULL on failure");
	act_task_clear(&t);

	t = task("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"amazon\", \"url\": \"http://a/b?c=d&e\","
	    " \"cmd_args\": {\"make_screenshot\": true}}");
	o.crawl = ACT_CRAWL_MAIN;
	o.out_base = "/w/n";
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "url argv");
	{
		static const char *const want[] = { "scrapy", "crawl", "amazon_products", "-a",
			"product_url=http://a/b?c=d&e", "-a", "make_screenshot=True", "-s",
			"LOG_FILE=/w/n.log", "-o", "/w/n.jl", NULL };
		is_argv(argv, want, "url: product_url");
	}
	act_argv_free(argv);
	o.crawl = ACT_CRAWL_SCREENSHOT;
	o.out_base = "/w/n.shot";
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "screenshot argv");
	{
		static const char *const want[] = { "scrapy", "crawl", "url2screenshot_products", "-a",
			"product_url=http://a/b?c=d&e", "-s", "LOG_FILE=/w/n.shot.log", "-o",
			"/w/n.shot.jl", NULL };
		is_argv(argv, want, "screenshot: url2screenshot_products with the url only");
	}
	act_argv_free(argv);
	act_task_clear(&t);

	t = task("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"target\", \"urls\": \"u1||u2\"}");
	o.crawl = ACT_CRAWL_MAIN;
	o.out_base = "/w/n";
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "urls argv");
	is_str(argv[4], "products_url=u1||u2", "urls: products_url");
	act_argv_free(argv);

	o.program = "";
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "empty program refused");
	o.program = "scrapy";
	o.out_base = "w/n";
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "relative output path refused");
	o.out_base = "-o";
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "output path '-o' refused");
	o.out_base = "/w/n";
	/* a struct not from act_task_parse: the checks hold on their own */
	free(t.site);
	t.site = strdup("a;b");
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "site with ';' refused");
	like_str(e.msg, "\"a;b\"", "reason quotes the site");
	free(t.site);
	t.site = strdup("-x");
	is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "site '-x' refused");
	free(t.site);
	t.site = strdup("target");
	{
		struct act_arg bad = { (char *)"a=b", (char *)"v" };
		struct act_arg *saved = t.args;

		t.args = &bad;
		t.nargs = 1;
		is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "cmd_args key 'a=b' refused");
		bad.key = (char *)"-o";
		is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "cmd_args key '-o' refused");
		bad.key = (char *)"";
		is_int(act_argv_build(&t, &o, &argv, &e), SM_EINVAL, "empty cmd_args key refused");
		t.args = saved;
		t.nargs = 0;
	}
	act_task_clear(&t);
}

static void
test_limits(void)
{
	struct act_argv_opts o = { "scrapy", "/w/n", ACT_CRAWL_MAIN };
	size_t n = 200 * 1024, i;
	char *msg = malloc(n + 256), **argv;
	struct act_task t;
	struct sm_error e;
	int len;

	len = snprintf(msg, n + 256, "{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"w\", \"searchterms_str\": \"");
	memset(msg + len, 'q', n);
	strcpy(msg + len + n, "\"}");
	t = task(msg);
	is_int(act_argv_build(&t, &o, &argv, &e), SM_ETOOBIG, "a 200 KiB term is refused before exec");
	like_str(e.msg, "'searchterms_str'", "reason names the argument");
	like_str(e.msg, "131071", "reason gives the limit");
	act_task_clear(&t);
	free(msg);

	/* a struct with 12 arguments of 100 KiB: each fits, all do not */
	t = task("{\"task_id\": 1, \"server_name\": \"s\", \"site\": \"w\", \"searchterms_str\": \"x\"}");
	t.args = calloc(12, sizeof(*t.args));
	for (i = 0; i < 12; i++) {
		t.args[i].key = malloc(8);
		snprintf(t.args[i].key, 8, "k%zu", i);
		t.args[i].value = malloc(100 * 1024 + 1);
		memset(t.args[i].value, 'v', 100 * 1024);
		t.args[i].value[100 * 1024] = '\0';
	}
	t.nargs = 12;
	is_int(act_argv_build(&t, &o, &argv, &e), SM_ETOOBIG, "1.2 MB of arguments refused");
	like_str(e.msg, "1048576", "reason gives the total limit");
	t.nargs = 9;
	is_int(act_argv_build(&t, &o, &argv, &e), 0, "900 KiB of arguments accepted");
	act_argv_free(argv);
	t.nargs = 12;
	act_task_clear(&t);
}

/* Run argv (no shell) with stdout to a buffer; return the wait status. */
static int
run(char *const argv[], const char *cwd, char **outp)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], status = -1;
	size_t n = 0, cap = 4096;
	char *out = malloc(cap);
	pid_t pid;
	ssize_t r;

	if (pipe(pfd) != 0)
		bail_out("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pfd[0]);
	if (cwd != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		bail_out("spawn %s: %s", argv[0], strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	while ((r = read(pfd[0], out + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 2)
			out = realloc(out, cap *= 2);
	}
	out[n] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	*outp = out;
	return status;
}

/* The hex of `s` as a new JSON string (scrapy_argv.py prints hex). */
static json_t *
jhex(const char *s)
{
	char *h = malloc(2 * strlen(s) + 1);
	json_t *j;

	sm_hex_encode((const unsigned char *)s, strlen(s), h);
	j = json_string(h);
	free(h);
	return j;
}

static const char *const hostile_values[] = {
	"; touch CANARY #", "$(touch CANARY)", "`touch CANARY`", "| touch CANARY", "&& touch CANARY",
	"a\nb\r\nc", "../../../../etc/passwd", "..", "-o", "--output=/tmp/evil", "-s LOG_FILE=/tmp/x",
	"--help", "-", "--", "-a", "x=y=z", "'\"\\", "\x01\x02\x1f\x7f", "\xc3\xa9\xe2\x82\xac", " ",
	"*", "~root", "$HOME", "%s%n", "-O/tmp/evil",
};
#define NHOSTILE (sizeof(hostile_values) / sizeof(hostile_values[0]))

/* A task message whose term, url or cmd_args carry the hostile values. */
static struct act_task
hostile_task(int which, const char *mode)
{
	json_t *m = json_object(), *args = json_object();
	struct act_task t;
	char *s;
	size_t i;

	json_object_set_new(m, "task_id", json_integer(1));
	json_object_set_new(m, "server_name", json_string("s"));
	json_object_set_new(m, "site", json_string("test"));
	json_object_set_new(m, mode, json_string(hostile_values[which]));
	for (i = 0; i < NHOSTILE; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%02zu", i);
		json_object_set_new(args, key, json_string(hostile_values[i]));
	}
	json_object_set_new(m, "cmd_args", args);
	json_object_set_new(m, "branch_name", json_string("a/b-c_d.e"));
	s = json_dumps(m, 0);
	t = task(s);
	free(s);
	json_decref(m);
	return t;
}

/* Every entry that begins with '-' is one of our literals, and each is
 * followed by an entry that does not begin with '-'. */
static int
shape_ok(char **argv)
{
	int i, n = argc_of(argv);

	if (n < 3 || strcmp(argv[1], "crawl") != 0 || argv[2][0] == '-')
		return 0;
	for (i = 3; i < n; i += 2) {
		if (strcmp(argv[i], "-a") != 0 && strcmp(argv[i], "-s") != 0 &&
		    strcmp(argv[i], "-o") != 0)
			return 0;
		if (i + 1 >= n || argv[i + 1][0] == '-')
			return 0;
		if (strcmp(argv[i], "-o") == 0 ? argv[i + 1][0] != '/' : strchr(argv[i + 1], '=') == NULL)
			return 0;
	}
	return 1;
}

static void
test_hostile(void)
{
	static const char *const modes[] = { "searchterms_str", "url", "urls" };
	static const char *const flags[] = { "searchterms_str=", "product_url=", "products_url=" };
	char pybuf[1024], spider[1024], base[512], canary[512], **argv, *out;
	const char *src = getenv("SM_SOURCE_DIR"), *bld = getenv("SM_BUILD_DIR");
	struct act_argv_opts o = { NULL, base, ACT_CRAWL_MAIN };
	int shapes = 1, pyok = 1, runok = 1, nrun = 0;
	size_t i, m;
	struct sm_error e;
	json_t *wants = json_array();
	char batchpath[600];
	FILE *batch;

	if (src == NULL || bld == NULL)
		bail_out("SM_SOURCE_DIR and SM_BUILD_DIR must be set (ctest sets them)");
	snprintf(pybuf, sizeof(pybuf), "%s/test/actions/scrapy_argv.py", src);
	snprintf(spider, sizeof(spider), "%s/test/spider/fake_scrapy", bld);
	snprintf(base, sizeof(base), "%s/work/out", tmpdir);
	snprintf(canary, sizeof(canary), "%s/work/CANARY", tmpdir);
	snprintf(canary, sizeof(canary), "%s/work", tmpdir);
	mkdir(canary, 0700);
	snprintf(canary, sizeof(canary), "%s/work/CANARY", tmpdir);
	snprintf(batchpath, sizeof(batchpath), "%s.argvs", tmpdir);
	if ((batch = fopen(batchpath, "w")) == NULL)
		bail_out("cannot write %s", batchpath);

	for (m = 0; m < 3; m++)
		for (i = 0; i < NHOSTILE; i++) {
			struct act_task t = hostile_task((int)i, modes[m]);
			size_t k;

			/* 1. the shape */
			o.program = "scrapy";
			if (act_argv_build(&t, &o, &argv, &e) != 0)
				bail_out("hostile argv refused: %s", e.msg);
			if (!shape_ok(argv)) {
				shapes = 0;
				diag("bad shape for %s value %zu", modes[m], i);
			}
			act_argv_free(argv);

			/* 2. scrapy's own parser (run once for all, below) */
			{
				json_t *spargs = json_array(), *line = json_array();
				char *s, *kv, lf[600], jl[600];

				o.program = "scrapy";
				act_argv_build(&t, &o, &argv, &e);
				for (k = 1; argv[k] != NULL; k++)
					json_array_append_new(line, jhex(argv[k]));
				act_argv_free(argv);
				s = json_dumps(line, JSON_COMPACT);
				fprintf(batch, "%s\n", s);
				free(s);
				json_decref(line);
				kv = malloc(strlen(flags[m]) + strlen(hostile_values[i]) + 1);
				strcpy(stpcpy(kv, flags[m]), hostile_values[i]);
				s = strchr(kv, '=');
				*s = '\0';
				json_array_append_new(spargs, json_pack("[o,o]", jhex(kv), jhex(s + 1)));
				free(kv);
				for (k = 0; k < t.nargs; k++)
					json_array_append_new(spargs, json_pack("[o,o]",
					    jhex(t.args[k].key), jhex(t.args[k].value)));
				snprintf(lf, sizeof(lf), "LOG_FILE=%s.log", base);
				snprintf(jl, sizeof(jl), "%s.jl", base);
				json_array_append_new(wants, json_pack("{s:[o], s:o, s:[o], s:[o], s:[]}",
				    "spider", jhex("test_products"), "spargs", spargs,
				    "set", jhex(lf), "output", jhex(jl), "other"));
			}

			/* 3. the test spider runs it and gets each value verbatim */
			if (m < 2) {
				char jl[600], line[1 << 16];
				FILE *f;
				int st;

				o.program = spider;
				act_argv_build(&t, &o, &argv, &e);
				snprintf(jl, sizeof(jl), "%s.jl", base);
				unlink(jl);
				st = run(argv, tmpdir, &out);
				free(out);
				act_argv_free(argv);
				nrun++;
				f = fopen(jl, "r");
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || f == NULL ||
				    fgets(line, sizeof(line), f) == NULL) {
					runok = 0;
					diag("spider failed for %s value %zu", modes[m], i);
				} else {
					json_t *item = json_loads(line, 0, NULL);
					json_t *sa = json_object_get(item, "spider_args");

					for (k = 0; k < t.nargs; k++)
						if (!json_is_string(json_object_get(sa, t.args[k].key)) ||
						    strcmp(json_string_value(json_object_get(sa, t.args[k].key)),
						    t.args[k].value) != 0)
							runok = 0;
					if (json_object_size(sa) != t.nargs + 1)
						runok = 0;
					json_decref(item);
				}
				if (f != NULL)
					fclose(f);
			}
			act_task_clear(&t);
		}
	fclose(batch);
	{
		char *pyargv[] = { pybuf, (char *)"--batch", batchpath, NULL };
		char *line, *save = NULL;
		size_t n = 0;

		run(pyargv, NULL, &out);
		for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
			json_t *got = json_loads(line, 0, NULL);

			if (got == NULL || !json_equal(got, json_array_get(wants, n))) {
				pyok = 0;
				diag("scrapy's parser disagrees on argv %zu: %s", n, line);
			}
			json_decref(got);
			n++;
		}
		if (n != json_array_size(wants))
			pyok = 0;
		free(out);
		unlink(batchpath);
		json_decref(wants);
	}
	ok(shapes, "hostile values: only our literals begin with '-', each followed by a value");
	ok(pyok, "hostile values: scrapy's option parser reads one spider, every -a verbatim, "
	    "our LOG_FILE and output, no other option");
	ok(runok, "hostile values: the test spider got every value verbatim (%d runs)", nrun);
	ok(access(canary, F_OK) != 0 && errno == ENOENT, "no shell ran: CANARY not created");
	{
		/* the spider wrote only its .jl and .log, in the work directory */
		DIR *d;
		struct dirent *de;
		int others = 0, count = 0;

		snprintf(canary, sizeof(canary), "%s/work", tmpdir);
		d = opendir(canary);
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			count++;
			if (strcmp(de->d_name, "out.jl") != 0 && strcmp(de->d_name, "out.log") != 0)
				others++;
		}
		if (d != NULL)
			closedir(d);
		is_int(others, 0, "nothing but out.jl and out.log in the work directory (%d files)", count);
		d = opendir(tmpdir);
		count = 0;
		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				count++;
		if (d != NULL)
			closedir(d);
		is_int(count, 1, "nothing written beside the work directory");
	}
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_argv.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp");
	if (system("python3 -c '' 2>/dev/null") != 0)
		skip_all("python3 missing (it runs scrapy's option parser)");
	plan_no_plan();
	test_shapes();
	test_limits();
	test_hostile();
	rmtree(tmpdir);
	return done_testing();
}
