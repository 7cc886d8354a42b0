/*
 * test_local_objects.c - the local object store under hostile input and
 * concurrency: keys that try to leave the store, symlinks planted under
 * objects/, bucket names, key/prefix conflicts, two processes putting the
 * same key, and a put killed in the middle.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/child.h"
#include "ops/ops_sync.h"
#include "sm_loop.h"
#include "store.h"
#include "tap.h"
#include "transport.h"

#define BUCKET "bkt"
#define CONC_SIZE (1024 * 1024)

static char state_dir[256], outside[256];

static int
exists(const char *fmt, const char *a, const char *b)
{
	char p[1024];
	struct stat st;

	snprintf(p, sizeof(p), fmt, a, b);
	return lstat(p, &st) == 0;
}

/* child: put CONC_SIZE bytes of `c` to `key`, `n` times */
static int
child_put(const char *dir, const char *key, int c, int n)
{
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp = child_tp(dir, &loop, &st);
	struct tres t = {0};
	char *buf = malloc(CONC_SIZE);
	int i, bad = 0;

	memset(buf, c, CONC_SIZE);
	for (i = 0; i < n; i++) {
		s_put_mem(tp, &t, BUCKET, key, buf, CONC_SIZE);
		bad |= t.code != 0;
	}
	free(buf);
	tp_destroy(tp);
	store_close(st);
	sm_loop_destroy(loop);
	return bad;
}

/* child: put_file from a fifo (the parent feeds it, then kills us) */
static int
child_put_fifo(const char *dir, const char *key, const char *fifo)
{
	struct sm_loop *loop;
	struct store *st;
	struct tp *tp = child_tp(dir, &loop, &st);
	struct tres t = {0};

	s_put_file(tp, &t, BUCKET, key, fifo);
	return t.code == 0 ? 0 : 1;
}

static size_t
count_tmp(void)
{
	char p[512];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/objects/.tmp", state_dir);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
clear_tmp(void)
{
	char p[512], f[1024];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/objects/.tmp", state_dir);
	if ((d = opendir(p)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
		unlink(f);
	}
	closedir(d);
}

/* the size of the (only) temporary file, or -1 */
static long
tmp_size(void)
{
	char p[512], f[1024];
	DIR *d;
	struct dirent *de;
	struct stat st;
	long sz = -1;

	snprintf(p, sizeof(p), "%s/objects/.tmp", state_dir);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
		if (stat(f, &st) == 0)
			sz = (long)st.st_size;
	}
	closedir(d);
	return sz;
}

static void
hostile_keys(struct tp *tp)
{
	struct tres t = {0};
	char *longkey, *longseg;
	static const char *const bad[] = {
		"../x", "../../../../tmp/sm-escape", "/abs", "/etc/passwd", "a//b", "a/./b",
		"a/../b", "a/..", "..", ".", "./a", "a/", "/", "a\nb", "tab\there", "del\x7f",
	};
	static const char *const badbuckets[] = {
		"ab", "UPPER", "-abc", "abc-", "a..b", "../x", "a/b", "has space", ".hidden",
		"xn", "x_y",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s_put_mem(tp, &t, BUCKET, bad[i], "evil", 4);
		is_int(t.code, SM_EINVAL, "put of hostile key #%zu refused (%s)", i, t.msg);
		s_get_mem(tp, &t, BUCKET, bad[i], 100);
		is_int(t.code, SM_EINVAL, "get of hostile key #%zu refused", i);
		s_head(tp, &t, BUCKET, bad[i]);
		is_int(t.code, SM_EINVAL, "head of hostile key #%zu refused", i);
		s_odelete(tp, &t, BUCKET, bad[i]);
		is_int(t.code, SM_EINVAL, "delete of hostile key #%zu refused", i);
	}
	ok(!exists("%s/x%s", state_dir, "") && !exists("%s/objects/x%s", state_dir, "") &&
	    !exists("/tmp/sm-escape%s%s", "", ""), "nothing was written outside the bucket");

	longkey = malloc(2001);
	memset(longkey, 'k', 2000);
	for (i = 100; i < 2000; i += 100)
		longkey[i] = '/';
	longkey[2000] = '\0';
	s_put_mem(tp, &t, BUCKET, longkey, "x", 1);
	is_int(t.code, SM_EINVAL, "2000-byte key refused (%s)", t.msg);
	longkey[1024] = '\0';
	longkey[1023] = 'k';
	s_put_mem(tp, &t, BUCKET, longkey, "x", 1);
	is_int(t.code, 0, "1024-byte key accepted (%s)", t.msg);
	free(longkey);
	longseg = malloc(301);
	memset(longseg, 's', 300);
	longseg[300] = '\0';
	s_put_mem(tp, &t, BUCKET, longseg, "x", 1);
	is_int(t.code, SM_EINVAL, "a 300-byte path segment is refused (%s)", t.msg);
	free(longseg);

	/* C strings cannot carry a NUL: "a\0/../../x" is the key "a" */
	s_put_mem(tp, &t, BUCKET, "nul\0/../../x", "n", 1);
	is_int(t.code, 0, "a key with an embedded NUL stops at the NUL");
	ok(exists("%s/objects/" BUCKET "/nul%s", state_dir, "") &&
	    !exists("%s/x%s", state_dir, ""), "... and names the object 'nul' only");

	for (i = 0; i < sizeof(badbuckets) / sizeof(badbuckets[0]); i++) {
		s_put_mem(tp, &t, badbuckets[i], "k", "x", 1);
		is_int(t.code, SM_EINVAL, "bad bucket name '%s' refused", badbuckets[i]);
		s_bucket(tp, &t, badbuckets[i]);
		is_int(t.code, SM_EINVAL, "bucket create '%s' refused", badbuckets[i]);
	}
	tres_free(&t);
}

static void
symlinks(struct tp *tp)
{
	struct tres t = {0};
	char p[1024], q[1024], *u;
	struct sm_error err;
	FILE *fp;
	size_t i;
	int leaked = 0;

	snprintf(p, sizeof(p), "%s/secret", outside);
	fp = fopen(p, "w");
	ok(fp && fputs("outside secret", fp) >= 0 && fclose(fp) == 0, "planted a file outside");

	/* a directory symlink inside the bucket pointing outside */
	snprintf(q, sizeof(q), "%s/objects/" BUCKET "/link", state_dir);
	ok(symlink(outside, q) == 0, "planted objects/" BUCKET "/link -> outside");
	s_get_mem(tp, &t, BUCKET, "link/secret", 1000);
	is_int(t.code, SM_EPERM, "get through a directory symlink refused (%s)", t.msg);
	like_str(t.msg, "symlink", "the message names the symlink");
	s_head(tp, &t, BUCKET, "link/secret");
	is_int(t.code, SM_EPERM, "head through a directory symlink refused");
	s_put_mem(tp, &t, BUCKET, "link/new", "evil", 4);
	is_int(t.code, SM_EPERM, "put through a directory symlink refused (%s)", t.msg);
	ok(!exists("%s/new%s", outside, ""), "nothing written outside through the symlink");
	s_odelete(tp, &t, BUCKET, "link/secret");
	is_int(t.code, SM_EPERM, "delete through a directory symlink refused");
	ok(exists("%s/secret%s", outside, ""), "the outside file is still there");
	s_copy(tp, &t, BUCKET, "link/secret", BUCKET, "stolen");
	ok(t.code != 0, "copy from behind a symlink refused (%s)", t.msg);

	/* a file symlink as a key */
	snprintf(q, sizeof(q), "%s/objects/" BUCKET "/lf", state_dir);
	ok(symlink(p, q) == 0, "planted objects/" BUCKET "/lf -> outside file");
	s_get_mem(tp, &t, BUCKET, "lf", 1000);
	is_int(t.code, SM_EPERM, "get of a symlinked key refused (%s)", t.msg);
	s_head(tp, &t, BUCKET, "lf");
	is_int(t.code, SM_EPERM, "head of a symlinked key refused");
	s_put_mem(tp, &t, BUCKET, "lf", "replaced", 8);
	is_int(t.code, 0, "put over a symlinked key replaces the link itself (%s)", t.msg);
	fp = fopen(p, "r");
	{
		char buf[64] = {0};
		ok(fp && fread(buf, 1, sizeof(buf) - 1, fp) > 0 &&
		    strcmp(buf, "outside secret") == 0, "the outside file was not written");
		if (fp)
			fclose(fp);
	}

	/* listing never follows or shows links */
	s_list(tp, &t, BUCKET, NULL, NULL, NULL, 0);
	is_int(t.code, 0, "list with planted symlinks (%s)", t.msg);
	for (i = 0; i < t.nkeys; i++)
		if (strncmp(t.keys[i], "link", 4) == 0)
			leaked = 1;
	ok(!leaked, "list shows nothing behind the directory symlink");

	/* a bucket that is a symlink */
	snprintf(q, sizeof(q), "%s/objects/evil-bucket", state_dir);
	ok(symlink(outside, q) == 0, "planted objects/evil-bucket -> outside");
	s_get_mem(tp, &t, "evil-bucket", "secret", 1000);
	is_int(t.code, SM_EPERM, "a symlinked bucket is refused (%s)", t.msg);
	s_put_mem(tp, &t, "evil-bucket", "new", "x", 1);
	is_int(t.code, SM_EPERM, "put into a symlinked bucket refused");
	s_list(tp, &t, "evil-bucket", NULL, NULL, NULL, 0);
	is_int(t.code, SM_EPERM, "list of a symlinked bucket refused");
	ok(!exists("%s/new%s", outside, ""), "nothing written outside");

	/* presign of a hostile key */
	sm_error_clear(&err);
	u = tp_presign_get(tp, BUCKET, "../x", 60, &err);
	ok(u == NULL && err.code == SM_EINVAL, "presign of a hostile key refused");
	free(u);
	u = tp_presign_get(tp, BUCKET, "sp ace/%x", 60, &err);
	ok(u != NULL && strstr(u, "sp%20ace/%25x") != NULL, "presign encodes the key: %s",
	    u ? u : err.msg);
	free(u);
	tres_free(&t);
}

static void
conflicts(struct tp *tp)
{
	struct tres t = {0};

	s_put_mem(tp, &t, BUCKET, "c/a", "1", 1);
	is_int(t.code, 0, "put c/a");
	s_put_mem(tp, &t, BUCKET, "c/a/b", "2", 1);
	is_int(t.code, SM_EEXISTS, "put c/a/b while c/a is an object: conflict (%s)", t.msg);
	s_put_mem(tp, &t, BUCKET, "c", "3", 1);
	is_int(t.code, SM_EEXISTS, "put c while c/ holds keys: conflict (%s)", t.msg);
	s_odelete(tp, &t, BUCKET, "c/a");
	is_int(t.code, 0, "delete c/a");
	ok(!exists("%s/objects/" BUCKET "/c%s", state_dir, ""),
	    "deleting the last key removed its empty directory");
	s_put_mem(tp, &t, BUCKET, "c", "3", 1);
	is_int(t.code, 0, "now c can be an object (%s)", t.msg);
	s_head(tp, &t, BUCKET, "c/a");
	is_int(t.code, SM_ENOTFOUND, "head below an object: not found");
	tres_free(&t);
}

static void
list_pages(struct tp *tp)
{
	struct tres t = {0};
	static const char *const keys[] = { "p/a/1", "p/a/2", "p/b/1", "p/c", "p/d/e/f" };
	static const char *const want[] = { "p/a/", "p/b/", "p/c", "p/d/" };
	char cont[1200] = "", got[4][64];
	size_t i, n = 0;
	int pages = 0;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		s_put_mem(tp, &t, BUCKET, keys[i], "x", 1);
	do {
		s_list(tp, &t, BUCKET, "p/", "/", cont[0] ? cont : NULL, 1);
		if (t.code != 0 || t.nkeys + t.nprefixes != 1)
			break;
		if (n < 4)
			snprintf(got[n++], sizeof(got[0]), "%s",
			    t.nkeys ? t.keys[0] : t.prefixes[0]);
		snprintf(cont, sizeof(cont), "%s", t.next);
		pages++;
	} while (t.has_next && pages < 10);
	is_int(pages, 4, "one entry per page: four pages (prefixes count as entries)");
	for (i = 0; i < n; i++)
		is_str(got[i], want[i], "page %zu holds the expected entry", i + 1);
	s_list(tp, &t, BUCKET, "p/", "/", "bogus-token", 10);
	is_int(t.code, SM_EINVAL, "a continuation token we did not give is refused");
	s_list(tp, &t, BUCKET, "../", NULL, NULL, 10);
	ok(t.code == 0 && t.nkeys == 0, "a hostile prefix lists nothing");
	tres_free(&t);
}

static void
concurrent_puts(struct tp *tp, char *argv0)
{
	struct tres t = {0};
	char *a1[] = { argv0, (char *)"--child-put", state_dir, (char *)"conc/key",
	    (char *)"A", (char *)"12", NULL };
	char *a2[] = { argv0, (char *)"--child-put", state_dir, (char *)"conc/key",
	    (char *)"B", (char *)"12", NULL };
	pid_t p1, p2;
	int reads = 0, torn = 0, st1 = 0, st2 = 0, done1 = 0, done2 = 0;
	size_t i;

	p1 = child_spawn(a1);
	p2 = child_spawn(a2);
	ok(p1 > 0 && p2 > 0, "started two writers of the same key");
	for (;;) {
		if (!done1 && waitpid(p1, &st1, WNOHANG) == p1)
			done1 = 1;
		if (!done2 && waitpid(p2, &st2, WNOHANG) == p2)
			done2 = 1;
		s_get_mem(tp, &t, BUCKET, "conc/key", 2 * CONC_SIZE);
		if (t.code == 0) {
			reads++;
			if (t.len != CONC_SIZE || (t.data[0] != 'A' && t.data[0] != 'B'))
				torn++;
			else
				for (i = 1; i < t.len; i++)
					if (t.data[i] != t.data[0]) {
						torn++;
						break;
					}
		}
		if (done1 && done2)
			break;
	}
	ok(WIFEXITED(st1) && WEXITSTATUS(st1) == 0 && WIFEXITED(st2) &&
	    WEXITSTATUS(st2) == 0, "both writers finished without an error");
	ok(reads > 0, "read the key %d times while it was being replaced", reads);
	is_int(torn, 0, "every read saw one whole version");
	s_get_mem(tp, &t, BUCKET, "conc/key", 2 * CONC_SIZE);
	ok(t.code == 0 && t.len == CONC_SIZE && (t.data[0] == 'A' || t.data[0] == 'B') &&
	    memchr(t.data, t.data[0] == 'A' ? 'B' : 'A', t.len) == NULL,
	    "the final object is one whole version");
	tres_free(&t);
}

static void
crash_in_put(struct tp *tp, char *argv0, const char *key, int preexisting)
{
	struct tres t = {0};
	char fifo[512], *chunk;
	char *args[] = { argv0, (char *)"--child-put-fifo", state_dir, (char *)key, fifo, NULL };
	pid_t pid;
	int fd, i, status;
	long sz = -1;

	snprintf(fifo, sizeof(fifo), "%s/feed.fifo", state_dir);
	unlink(fifo);
	clear_tmp();   /* so that tmp_size() sees this put's file only */
	ok(mkfifo(fifo, 0600) == 0, "made a fifo to feed the put");
	pid = child_spawn(args);
	fd = open(fifo, O_WRONLY);
	chunk = malloc(65536);
	memset(chunk, 'P', 65536);
	for (i = 0; i < 8; i++)
		if (write(fd, chunk, 65536) != 65536)
			break;
	free(chunk);
	/* wait until the child has written part of its temporary file */
	for (i = 0; i < 500 && sz < 65536; i++) {
		usleep(10000);
		sz = tmp_size();
	}
	ok(sz >= 65536, "the put is under way (%ld bytes in its temporary file)", sz);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fd);
	ok(WIFSIGNALED(status), "killed the child in the middle of the put");
	if (preexisting) {
		s_get_mem(tp, &t, BUCKET, key, 1 << 20);
		ok(t.code == 0 && t.len == 3 && memcmp(t.data, "old", 3) == 0,
		    "the object still holds its previous whole version");
	} else {
		s_head(tp, &t, BUCKET, key);
		is_int(t.code, SM_ENOTFOUND, "no partial object is visible");
		s_list(tp, &t, BUCKET, key, NULL, NULL, 0);
		is_int(t.nkeys, 0, "and the listing does not show it");
	}
	s_list(tp, &t, BUCKET, NULL, NULL, NULL, 0);
	{
		size_t i2;
		int tmpshown = 0;
		for (i2 = 0; i2 < t.nkeys; i2++)
			if (strstr(t.keys[i2], "put-") != NULL || strstr(t.keys[i2], ".tmp"))
				tmpshown = 1;
		ok(!tmpshown, "the leftover temporary file is never listed");
	}
	unlink(fifo);
	tres_free(&t);
}

/* Whether a file whose path has `name` in it is mapped into this process. */
static int
mapped(const char *name)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (f == NULL)
		bail_out("/proc/self/maps: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

int
main(int argc, char **argv)
{
	struct sm_loop *loop;
	struct store *st = NULL;
	struct tp *tp;
	struct tp_config cfg;
	struct sm_error err;
	struct tres t = {0};
	char cmd[600];

	if (argc == 6 && strcmp(argv[1], "--child-put") == 0)
		return child_put(argv[2], argv[3], argv[4][0], atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "--child-put-fifo") == 0)
		return child_put_fifo(argv[2], argv[3], argv[4]);

	plan_no_plan();
	snprintf(state_dir, sizeof(state_dir), "/tmp/sm-test-lo-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/sm-test-outside-XXXXXX");
	if (mkdtemp(state_dir) == NULL || mkdtemp(outside) == NULL)
		bail_out("mkdtemp: %s", strerror(errno));
	if (sm_loop_create(&loop) != 0 || store_open(&st, state_dir, NULL, &err) != 0)
		bail_out("setup");
	tp_config_init(&cfg);
	cfg.backend = "local";
	cfg.state_dir = state_dir;
	cfg.store = st;
	if (tp_create(&tp, loop, &cfg, &err) != 0)
		bail_out("tp_create: %s", err.msg);
	s_bucket(tp, &t, BUCKET);
	is_int(t.code, 0, "bucket created (%s)", t.msg);
	/* an empty bucket lists no key (UBSan: nothing sorted through NULL) */
	s_list(tp, &t, BUCKET, NULL, NULL, NULL, 0);
	ok(t.code == 0 && t.nkeys == 0, "an empty bucket lists nothing (%s)", t.msg);

	hostile_keys(tp);
	symlinks(tp);
	conflicts(tp);
	list_pages(tp);
	concurrent_puts(tp, argv[0]);
	crash_in_put(tp, argv[0], "crash/new", 0);
	s_put_mem(tp, &t, BUCKET, "crash/old", "old", 3);
	crash_in_put(tp, argv[0], "crash/old", 1);
	ok(count_tmp() >= 1, "the killed puts left their temporaries in objects/.tmp only");
	ok(!mapped("libcurl"), "the local backend never loads libcurl (transport/http.c)");

	tres_free(&t);
	tp_destroy(tp);
	store_close(st);
	sm_loop_destroy(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", state_dir, outside);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}
