/*
 * fake_scrapy.c - a stand-in for `scrapy` that takes scrapy's arguments as
 * smd builds them (act_argv.h) and behaves as told, for tests, benchmarks
 * and the README demo.
 *
 *   fake_scrapy crawl NAME [-a K=V]... [-s K=V]... [-o FILE | -O FILE]
 *   fake_scrapy list        (the spiders it has, one per line)
 *
 * As scrapy does: an unknown spider prints "KeyError: 'Spider not found:
 * NAME'" and exits 1; a malformed -a or -s, an unknown option or a second
 * spider exits 2 (usage); -o appends to FILE and -O truncates it; the log
 * (-s LOG_FILE=PATH, else stderr) is appended to; SIGTERM shuts down at the
 * next item ("Spider closed (shutdown)", exit 0).
 *
 * Spiders: <site>_products for each site in SMD_TEST_SPIDER_SITES (comma
 * separated; default walmart,amazon,target,jcpenney,test) and
 * url2screenshot_products.
 *
 * Items (one JSON object per line, written with one write()):
 *  - searchterms_str=T: fake_items items, item i (1-based) with "url"
 *    http://fake.example/<site>/item/<i>, "ranking" i, "title" "T #i",
 *    "site", "search_term".  With search_sort=best_sellers the urls come in
 *    reverse order (item i has url N+1-i and ranking i), so url k has best
 *    seller ranking N+1-k; fake_bsr_noranking=1 leaves "ranking" out.
 *  - product_url=U: one item with "url" U; products_url=U1||U2: one each.
 *  The first item also has "spider_args": every -a as parsed (key: value).
 *
 * Behaviour, from -a fake_K=V or else the environment SMD_TEST_SPIDER_K:
 *  MODE        ok (default), slow (delay 200 ms unless DELAY_MS), fail (items,
 *              then exit 1), hang (log, then wait for a signal), crash (half
 *              the items, then SIGSEGV, no core), garbage (lines that are not
 *              JSON objects between the items), partial (each item written in
 *              two halves DELAY_MS apart), nolog (no log, no items, wait).
 *  ITEMS       number of items (default 5)
 *  DELAY_MS    pause before each item (default 0)
 *  TERM_IGNORE 1: ignore SIGTERM (the caller must SIGKILL)
 *  FORK        1: start a child in the same process group that sleeps
 *              until killed (to check that the whole group is ended)
 *  PIDFILE     write "<pid>\n" (and "<child pid>\n") there
 *
 * The code it runs: when its working directory (the branch's checkout,
 * docs/spider.md "Branches") has a file `fake_code`, the file's first line
 * (up to 200 bytes) is logged at the start ("Spider code: X") and, read
 * again before each item, put into the item as "code" (left out when the
 * file is gone), so a test sees which checkout ran and that it did not
 * change under the spider.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static volatile sig_atomic_t got_term;
static FILE *log_fp;
static json_t *spargs;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void
logmsg(const char *level, const char *fmt, ...)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	if (log_fp == NULL)
		return;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(log_fp, "%s [scrapy] %s: ", stamp, level);
	va_start(ap, fmt);
	vfprintf(log_fp, fmt, ap);
	va_end(ap);
	fputc('\n', log_fp);
	fflush(log_fp);
}

static const char *
opt(const char *name, const char *def)
{
	char key[64];
	const json_t *v;
	const char *e;

	snprintf(key, sizeof(key), "fake_%s", name);
	if ((v = json_object_get(spargs, key)) != NULL)
		return json_string_value(v);
	snprintf(key, sizeof(key), "SMD_TEST_SPIDER_%s", name);
	for (char *p = key + 16; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if ((e = getenv(key)) != NULL && *e != '\0')
		return e;
	return def;
}

static int
known_spider(const char *name)
{
	const char *sites = getenv("SMD_TEST_SPIDER_SITES");
	char buf[4096], *save = NULL, *tok;
	size_t n = strlen(name);

	if (strcmp(name, "url2screenshot_products") == 0)
		return 1;
	if (n <= 9 || strcmp(name + n - 9, "_products") != 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", sites && *sites ? sites : "walmart,amazon,target,jcpenney,test");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strlen(tok) == n - 9 && strncmp(tok, name, n - 9) == 0)
			return 1;
	return 0;
}

static void
list_spiders(void)
{
	const char *sites = getenv("SMD_TEST_SPIDER_SITES");
	char buf[4096], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", sites && *sites ? sites : "walmart,amazon,target,jcpenney,test");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		printf("%s_products\n", tok);
	printf("url2screenshot_products\n");
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR && !got_term)
		;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(3);
		p += w;
		n -= (size_t)w;
	}
}

static void
usage(const char *why)
{
	fprintf(stderr, "Usage\n=====\n  scrapy crawl [options] <spider>\n\ncrawl: error: %s\n", why);
	exit(2);
}

/* The first line of ./fake_code into `out`: 1, or 0 when there is none. */
static int
read_code(char *out, size_t size)
{
	FILE *f = fopen("fake_code", "r");
	int got;

	if (f == NULL)
		return 0;
	got = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (got)
		out[strcspn(out, "\r\n")] = '\0';
	return got;
}

static void
wait_for_signal(void)
{
	while (!got_term)
		pause();
}

int
main(int argc, char **argv)
{
	const char *spider = NULL, *out = NULL, *logpath = NULL, *mode, *site_end;
	char site[256], code[201], *line;
	int i, n, out_trunc = 0, fd, bsr, noranking, nitems;
	long delay;
	json_t *items;
	pid_t child = -1;
	size_t k;

	if ((spargs = json_object()) == NULL || (items = json_array()) == NULL)
		return 3;
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		list_spiders();
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "crawl") != 0)
		usage("only 'crawl' and 'list' are known");
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-a") == 0 || strcmp(a, "-s") == 0) {
			const char *eq;

			if (i + 1 >= argc)
				usage("-a and -s need NAME=VALUE");
			eq = strchr(argv[++i], '=');
			if (eq == NULL || eq == argv[i])
				usage(a[1] == 'a' ? "Invalid -a value, use -a NAME=VALUE" :
				    "Invalid -s value, use -s NAME=VALUE");
			if (a[1] == 'a') {
				char *key = strndup(argv[i], (size_t)(eq - argv[i]));

				json_object_set_new(spargs, key, json_stringn_nocheck(eq + 1, strlen(eq + 1)));
				free(key);
			} else if (strncmp(argv[i], "LOG_FILE=", 9) == 0) {
				logpath = eq + 1;
			}
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "-O") == 0) {
			if (i + 1 >= argc)
				usage("-o needs a FILE");
			out = argv[++i];
			out_trunc = a[1] == 'O';
		} else if (a[0] == '-') {
			usage("no such option");
		} else if (spider == NULL) {
			spider = a;
		} else {
			usage("running 'scrapy crawl' with more than one spider is not supported");
		}
	}
	if (spider == NULL)
		usage("no spider given");
	if (!known_spider(spider)) {
		fprintf(stderr, "KeyError: 'Spider not found: %s'\n", spider);
		return 1;
	}
	site_end = strstr(spider, "_products");
	snprintf(site, sizeof(site), "%.*s", (int)(site_end - spider), spider);

	mode = opt("mode", "ok");
	nitems = atoi(opt("items", "5"));
	delay = atol(opt("delay_ms", strcmp(mode, "slow") == 0 ? "200" : "0"));
	bsr = json_object_get(spargs, "search_sort") != NULL &&
	    strcmp(json_string_value(json_object_get(spargs, "search_sort")), "best_sellers") == 0;
	noranking = strcmp(opt("bsr_noranking", "0"), "1") == 0;

	signal(SIGTERM, strcmp(opt("term_ignore", "0"), "1") == 0 ? SIG_IGN : on_term);
	if (strcmp(opt("fork", "0"), "1") == 0) {
		if ((child = fork()) == 0) {
			/* killed with the group; alarm(600) is a safety net for tests */
			signal(SIGTERM, strcmp(opt("term_ignore", "0"), "1") == 0 ? SIG_IGN : SIG_DFL);
			alarm(600);
			for (;;)
				pause();
		}
	}
	if (opt("pidfile", NULL) != NULL) {
		FILE *pf = fopen(opt("pidfile", NULL), "w");

		if (pf != NULL) {
			fprintf(pf, "%ld\n", (long)getpid());
			if (child > 0)
				fprintf(pf, "%ld\n", (long)child);
			fclose(pf);
		}
	}
	if (strcmp(mode, "nolog") == 0) {
		wait_for_signal();
		return 0;
	}
	log_fp = logpath != NULL ? fopen(logpath, "a") : stderr;
	if (log_fp == NULL) {
		fprintf(stderr, "cannot open log file %s\n", logpath);
		return 1;
	}
	logmsg("INFO", "Scrapy 1.0.3 started (bot: fake_scrapy)");
	logmsg("INFO", "Spider opened: %s", spider);
	if (strcmp(mode, "hang") == 0) {
		wait_for_signal();
		logmsg("INFO", "Received SIGTERM, shutting down gracefully. Send again to force");
		logmsg("INFO", "Spider closed (shutdown)");
		return 0;
	}

	/* the items */
	if (json_object_get(spargs, "searchterms_str") != NULL) {
		const char *term = json_string_value(json_object_get(spargs, "searchterms_str"));

		for (i = 1; i <= nitems; i++) {
			char url[512], *title = NULL;
			int u = bsr ? nitems + 1 - i : i;
			json_t *it;

			snprintf(url, sizeof(url), "http://fake.example/%s/item/%d", site, u);
			if (asprintf(&title, "%s #%d", term, i) < 0)
				return 3;
			it = json_pack("{s:s, s:s, s:s, s:s}", "url", url, "title", title,
			    "site", site, "search_term", term);
			free(title);
			if (it == NULL)
				return 3;
			if (!(bsr && noranking))
				json_object_set_new(it, "ranking", json_integer(i));
			json_array_append_new(items, it);
		}
	} else if (json_object_get(spargs, "product_url") != NULL) {
		json_array_append_new(items, json_pack("{s:s, s:s}", "url",
		    json_string_value(json_object_get(spargs, "product_url")), "site", site));
	} else if (json_object_get(spargs, "products_url") != NULL) {
		char *all = strdup(json_string_value(json_object_get(spargs, "products_url")));
		char *p = all, *sep;

		for (;;) {
			sep = strstr(p, "||");
			if (sep != NULL)
				*sep = '\0';
			json_array_append_new(items, json_pack("{s:s, s:s}", "url", p, "site", site));
			if (sep == NULL)
				break;
			p = sep + 2;
		}
		free(all);
	}
	if (json_array_size(items) > 0)
		json_object_set(json_array_get(items, 0), "spider_args", spargs);
	if (read_code(code, sizeof(code)))
		logmsg("INFO", "Spider code: %s", code);

	if (out == NULL) {
		logmsg("ERROR", "no output file (-o)");
		return 1;
	}
	if ((fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC | (out_trunc ? O_TRUNC : O_APPEND),
	    0644)) < 0) {
		logmsg("ERROR", "cannot open %s: %s", out, strerror(errno));
		return 1;
	}
	n = (int)json_array_size(items);
	if (strcmp(mode, "crash") == 0)
		n /= 2;
	for (i = 0; i < n && !got_term; i++) {
		static const char *const garbage[] = {
			"not json at all\n", "[1, 2, 3]\n", "\"a string\"\n", "{\"truncated\": \n",
			"\xff\xfe{}\n", "\n", "null\n", "{} {}\n", "{\"a\": 1}}\n",
		};

		if (strcmp(mode, "garbage") == 0) {
			const char *g = garbage[(size_t)i % (sizeof(garbage) / sizeof(garbage[0]))];

			write_all(fd, g, strlen(g));
		}
		sleep_ms(delay);
		if (got_term)
			break;
		if (read_code(code, sizeof(code)))
			json_object_set_new(
			    json_array_get(items, (size_t)i), "code", json_string(code));
		line = json_dumps(json_array_get(items, (size_t)i), JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (line == NULL) {
			logmsg("ERROR", "item %d cannot be written as JSON", i + 1);
			return 3;
		}
		k = strlen(line);
		line[k] = '\n';  /* json_dumps's NUL becomes the newline */
		if (strcmp(mode, "partial") == 0) {
			write_all(fd, line, k / 2);
			sleep_ms(delay > 0 ? delay : 100);
			write_all(fd, line + k / 2, k + 1 - k / 2);
		} else {
			write_all(fd, line, k + 1);
		}
		free(line);
		logmsg("DEBUG", "Scraped from <200 %s>",
		    json_string_value(json_object_get(json_array_get(items, (size_t)i), "url")));
	}
	close(fd);
	if (got_term) {
		logmsg("INFO", "Received SIGTERM, shutting down gracefully. Send again to force");
		logmsg("INFO", "Spider closed (shutdown)");
		return 0;
	}
	if (strcmp(mode, "crash") == 0) {
		struct rlimit rl = { 0, 0 };

		logmsg("INFO", "about to crash");
		setrlimit(RLIMIT_CORE, &rl);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		return 4;
	}
	if (strcmp(mode, "fail") == 0) {
		logmsg("ERROR", "Spider error: told to fail");
		return 1;
	}
	logmsg("INFO", "Dumping Scrapy stats: {'item_scraped_count': %d}", n);
	logmsg("INFO", "Spider closed (finished)");
	json_decref(items);
	json_decref(spargs);
	return 0;
}
