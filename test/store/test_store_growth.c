/*
 * test_store_growth.c - map growth from a tiny map, batch atomicity when
 * the map cannot grow, store_write replay, and readers in another process
 * that never block the writer (and follow the map it grew), and a map
 * growth that fails for want of address space (the store stays usable at
 * its old size).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_private.h"
#include "tap.h"
#include "store_test_util.h"

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)

/* Deterministic value for entry n: vlen bytes derived from n. */
static void
fill_value(unsigned char *buf, size_t vlen, uint64_t n)
{
	size_t i;

	for (i = 0; i < vlen; i++)
		buf[i] = (unsigned char)((n * 31 + i * 7) & 0xff);
}

static struct store *
open_tiny(const char *dir, size_t map, size_t max, int read_only, struct sm_error *err)
{
	struct store_options opt;
	struct store *st = NULL;

	store_options_init(&opt);
	opt.map_size = map;
	opt.map_size_max = max;
	opt.read_only = read_only;
	if (store_open(&st, dir, &opt, err) != 0)
		return NULL;
	return st;
}

/* Append entries [from, to) of `vlen` bytes to HISTORY, `per` per batch. */
static int
write_entries(struct store *st, uint64_t from, uint64_t to, size_t vlen, int per,
    struct sm_error *err)
{
	struct store_batch *b;
	unsigned char key[8], *val;
	uint64_t n;
	int rc = 0;

	val = malloc(vlen);
	store_batch_create(&b);
	for (n = from; n < to; n++) {
		store_be64_put(key, n);
		fill_value(val, vlen, n);
		store_batch_put(b, STORE_T_HISTORY, key, 8, val, vlen);
		if ((int)store_batch_count(b) == per || n + 1 == to) {
			if ((rc = store_batch_commit(st, b, err)) != 0)
				break;
		}
	}
	store_batch_destroy(b);
	free(val);
	return rc;
}

/* Check HISTORY holds exactly entries [0, count) with the right values. */
static int
verify_entries(struct store *st, uint64_t count, size_t vlen, char *why, size_t cap)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	unsigned char *want = malloc(vlen);
	uint64_t n = 0;
	int rc, bad = 0;

	why[0] = '\0';
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) != 0) {
		snprintf(why, cap, "begin: %s", sm_strerror(rc));
		free(want);
		return 0;
	}
	store_cursor_open(txn, STORE_T_HISTORY, &c);
	for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &v, &vl), n++) {
		fill_value(want, vlen, n);
		if (kl != 8 || store_be64_get(k) != n || vl != vlen || memcmp(v, want, vlen)) {
			snprintf(why, cap, "entry %llu is wrong", (unsigned long long)n);
			bad = 1;
			break;
		}
	}
	if (!bad && n != count) {
		snprintf(why, cap, "%llu entries instead of %llu", (unsigned long long)n,
		    (unsigned long long)count);
		bad = 1;
	}
	store_cursor_close(c);
	store_txn_abort(txn);
	free(want);
	return !bad;
}

static void
test_growth(void)
{
	char dir[512], why[128];
	struct sm_error err;
	struct store *st;
	size_t m0, m1;
	int rc;

	stu_tmpdir(dir, sizeof(dir), "growth");
	sm_error_clear(&err);
	st = open_tiny(dir, 256 * KIB, 1024 * MIB, 0, &err);
	ok(st != NULL, "open with a 256 KiB map (%s)", err.msg);
	if (st == NULL)
		return;
	m0 = store_map_size(st);
	is_int(m0, 256 * KIB, "initial map is 256 KiB");
	/* 24 MiB of values, in batches of 64 x 1 KiB: many growths mid-batch */
	rc = write_entries(st, 0, 24 * 1024, 1024, 64, &err);
	is_int(rc, 0, "24 MiB written through a 256 KiB initial map (%s)", err.msg);
	m1 = store_map_size(st);
	ok(m1 >= 24 * MIB, "map grew to %zu bytes", m1);
	ok(verify_entries(st, 24 * 1024, 1024, why, sizeof(why)), "every entry readable %s",
	    why);
	/* one batch much larger than the map at once */
	{
		struct store_batch *b;
		unsigned char key[8], *val = malloc(8 * MIB);

		store_batch_create(&b);
		store_be64_put(key, UINT64_MAX);
		memset(val, 0x5a, 8 * MIB);
		store_batch_put(b, STORE_T_CACHE, key, 8, val, 8 * MIB);
		store_batch_put(b, STORE_T_CACHE, "second", 6, val, 8 * MIB);
		rc = store_batch_commit(st, b, &err);
		is_int(rc, 0, "a 16 MiB batch commits after growing (%s)", err.msg);
		store_batch_destroy(b);
		free(val);
	}
	store_close(st);

	st = open_tiny(dir, 256 * KIB, 1024 * MIB, 0, &err);
	ok(st != NULL && store_map_size(st) >= m1,
	    "reopen with a small option keeps the grown map");
	if (st != NULL) {
		ok(verify_entries(st, 24 * 1024, 1024, why, sizeof(why)),
		    "every entry readable after reopen %s", why);
		store_close(st);
	}
	stu_rmtree(dir);
}

static int
put_big(struct store_txn *txn, void *arg, struct sm_error *err)
{
	int *calls = arg;
	unsigned char *val = malloc(MIB);
	char key[16];
	int i, rc = 0;

	(void)err;
	(*calls)++;
	memset(val, 0xa5, MIB);
	for (i = 0; i < 4 && rc == 0; i++) {
		snprintf(key, sizeof(key), "big%d", i);
		rc = store_put(txn, STORE_T_QUEUES, key, strlen(key), val, MIB);
	}
	free(val);
	return rc;
}

static void
test_atomic_full(void)
{
	char dir[512], why[128];
	struct sm_error err;
	struct store *st;
	struct store_batch *b;
	struct store_txn *txn;
	unsigned char key[8], *val;
	const void *v;
	size_t vl, n;
	int rc, calls = 0;

	stu_tmpdir(dir, sizeof(dir), "full");
	sm_error_clear(&err);
	st = open_tiny(dir, 256 * KIB, 2 * MIB, 0, &err);
	if (st == NULL) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	rc = write_entries(st, 0, 10, 100, 10, &err);
	is_int(rc, 0, "small batch commits");

	/* a batch whose first ops fit and whose last op can never fit */
	val = malloc(4 * MIB);
	memset(val, 1, 4 * MIB);
	store_batch_create(&b);
	for (n = 10; n < 20; n++) {
		store_be64_put(key, n);
		store_batch_put(b, STORE_T_HISTORY, key, 8, "small", 5);
	}
	store_batch_put(b, STORE_T_INSTANCES, "huge", 4, val, 4 * MIB);
	store_batch_del(b, STORE_T_HISTORY, key, 8);
	sm_error_clear(&err);
	rc = store_batch_commit(st, b, &err);
	is_int(rc, SM_EFULL, "a batch over the maximum map size fails with SM_EFULL");
	like_str(err.msg, "maximum", "the message names the maximum");
	like_str(err.msg, dir, "and the path");
	is_int(store_batch_count(b), 12, "the failed batch is left intact");
	ok(verify_entries(st, 10, 100, why, sizeof(why)),
	    "nothing of the failed batch is visible %s", why);
	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	is_int(store_get(txn, STORE_T_INSTANCES, "huge", 4, &v, &vl), SM_ENOTFOUND,
	    "its large op is absent too");
	store_txn_abort(txn);
	ok(store_map_size(st) <= 2 * MIB, "map stayed within its maximum");
	store_batch_destroy(b);
	free(val);

	/* store_write: 4 MiB can not fit a 2 MiB maximum */
	sm_error_clear(&err);
	rc = store_write(st, put_big, &calls, &err);
	is_int(rc, SM_EFULL, "store_write over the maximum: SM_EFULL");
	like_str(err.msg, "maximum", "the message names the maximum");
	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	store_count(txn, STORE_T_QUEUES, &n);
	is_int(n, 0, "a failed store_write leaves nothing");
	store_txn_abort(txn);

	/* growth refused while this process holds a read txn */
	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	sm_error_clear(&err);
	val = malloc(MIB);
	memset(val, 2, MIB);
	store_batch_create(&b);
	store_batch_put(b, STORE_T_CACHE, "c", 1, val, MIB);
	rc = store_batch_commit(st, b, &err);
	/* may fit in the current map; only check the refusal when it did not */
	if (rc != 0) {
		is_int(rc, SM_EFULL, "growth with an open read txn: SM_EFULL");
		like_str(err.msg, "transaction", "message says a transaction blocks growth");
	} else {
		ok(1, "batch fitted without growth");
	}
	store_txn_abort(txn);
	store_batch_destroy(b);
	free(val);
	store_close(st);
	stu_rmtree(dir);

	/* store_write that does fit after growth */
	stu_tmpdir(dir, sizeof(dir), "write");
	st = open_tiny(dir, 256 * KIB, 64 * MIB, 0, &err);
	calls = 0;
	sm_error_clear(&err);
	rc = store_write(st, put_big, &calls, &err);
	is_int(rc, 0, "store_write grows the map and replays (%s)", err.msg);
	ok(calls >= 2, "callback ran %d times", calls);
	store_txn_begin(st, STORE_TXN_READ, &txn, NULL);
	store_count(txn, STORE_T_QUEUES, &n);
	is_int(n, 4, "all four puts are there");
	store_txn_abort(txn);
	store_close(st);
	stu_rmtree(dir);
}

static int
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/*
 * The reader child: open read-only, hold a read txn, tell the parent, wait
 * until the parent wrote `final` more entries, check the old snapshot is
 * unchanged, that a new txn with the old one open says SM_EAGAIN (the map
 * moved), and that after ending it a new txn sees everything.  Exit code:
 * 0 ok, 10+ which check failed.
 */
static int
reader_child(const char *dir, int to_parent, int from_parent)
{
	struct sm_error err;
	struct store *st;
	struct store_txn *old, *nw;
	size_t n0, n1;
	uint64_t final;
	int rc;
	char c = 'r';

	st = open_tiny(dir, 256 * KIB, 0, 1, &err);
	if (st == NULL) {
		fprintf(stderr, "reader: %s\n", err.msg);
		return 10;
	}
	if (store_txn_begin(st, STORE_TXN_READ, &old, &err) != 0)
		return 11;
	store_count(old, STORE_T_HISTORY, &n0);
	if (write(to_parent, &c, 1) != 1)
		return 12;
	if (read_full(from_parent, &final, sizeof(final)) != 0)
		return 13;
	store_count(old, STORE_T_HISTORY, &n1);
	if (n1 != n0)
		return 14;
	/* 16 MiB of data no longer fits this process's 256 KiB mapping */
	rc = store_txn_begin(st, STORE_TXN_READ, &nw, &err);
	if (rc != SM_EAGAIN)
		return 15;
	store_txn_abort(old);
	if (store_txn_begin(st, STORE_TXN_READ, &nw, &err) != 0) {
		fprintf(stderr, "reader: %s\n", err.msg);
		return 16;
	}
	store_count(nw, STORE_T_HISTORY, &n1);
	store_txn_abort(nw);
	if (n1 != final)
		return 17;
	if (store_map_size(st) < 8 * MIB)
		return 18;
	store_close(st);
	return 0;
}

static void
test_reader_process(void)
{
	char dir[512], why[128];
	struct sm_error err;
	struct store *st;
	int up[2], down[2], status = 0, rc;
	pid_t pid;
	uint64_t final = 16 * 1024;
	char c;

	stu_tmpdir(dir, sizeof(dir), "reader");
	st = open_tiny(dir, 256 * KIB, 1024 * MIB, 0, &err);
	if (st == NULL) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	write_entries(st, 0, 100, 1024, 100, &err);
	store_close(st); /* never fork with an LMDB environment open */

	if (pipe(up) != 0 || pipe(down) != 0)
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(reader_child(dir, up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	ok(read(up[0], &c, 1) == 1, "reader child holds a read txn");

	st = open_tiny(dir, 256 * KIB, 1024 * MIB, 0, &err);
	alarm(120); /* a writer blocked by the reader would hang here */
	rc = write_entries(st, 100, final, 1024, 32, &err);
	alarm(0);
	is_int(rc, 0, "writer commits %llu entries while the reader's txn is open (%s)",
	    (unsigned long long)final, err.msg);
	ok(store_map_size(st) >= 16 * MIB, "and grew the map to %zu bytes",
	    store_map_size(st));
	ok(verify_entries(st, final, 1024, why, sizeof(why)), "writer sees all %s", why);
	if (write(down[1], &final, sizeof(final)) != (ssize_t)sizeof(final))
		diag("write to reader: %s", strerror(errno));
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "reader: old snapshot unchanged, SM_EAGAIN with it open, new txn follows the "
	    "grown map (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	store_close(st);
	close(up[0]);
	close(down[1]);
	stu_rmtree(dir);
}

struct reader_scan {
	pid_t pid;
	int found;
};

static int
reader_line(const char *msg, void *ctx)
{
	struct reader_scan *rs = ctx;
	long pid;

	if (sscanf(msg, "%ld", &pid) == 1 && pid == (long)rs->pid)
		rs->found = 1;
	return 0;
}

/*
 * A reader killed with -9 while holding a read txn leaves its slot in
 * lock.mdb (pinning old pages).  store_open() must clear it.  A holder
 * process keeps the environment open meanwhile, so that LMDB does not
 * simply reset the lock file because nobody else has it open.
 */
static void
test_stale_reader(void)
{
	char dir[512];
	struct sm_error err;
	struct store *st;
	struct reader_scan rs;
	int hold[2], ready[2], status;
	pid_t holder, reader;
	char c;

	stu_tmpdir(dir, sizeof(dir), "stale");
	st = open_tiny(dir, 256 * KIB, 0, 0, &err);
	if (st == NULL) {
		ok(0, "open (%s)", err.msg);
		return;
	}
	store_close(st);
	if (pipe(hold) != 0 || pipe(ready) != 0)
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	holder = fork();
	if (holder == 0) {
		close(hold[1]);
		close(ready[0]);
		st = open_tiny(dir, 256 * KIB, 0, 1, &err);
		c = st ? 'h' : 'x';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		(void)!read(hold[0], &c, 1); /* until the parent closes the pipe */
		store_close(st);
		_exit(0);
	}
	close(hold[0]);
	ok(read(ready[0], &c, 1) == 1 && c == 'h', "holder process has the store open");
	reader = fork();
	if (reader == 0) {
		struct store_txn *txn;

		st = open_tiny(dir, 256 * KIB, 0, 1, &err);
		c = (st && store_txn_begin(st, STORE_TXN_READ, &txn, NULL) == 0) ? 'r' : 'x';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ok(read(ready[0], &c, 1) == 1 && c == 'r', "reader process holds a read txn");
	kill(reader, SIGKILL);
	waitpid(reader, &status, 0);

	st = open_tiny(dir, 256 * KIB, 0, 0, &err);
	ok(st != NULL, "open after the reader was killed (%s)", st ? "" : err.msg);
	if (st != NULL) {
		rs.pid = reader;
		rs.found = 0;
		mdb_reader_list(store__env(st), reader_line, &rs);
		ok(!rs.found, "the dead reader's slot (pid %ld) was cleared at open",
		    (long)reader);
		store_close(st);
	}
	close(hold[1]);
	close(ready[0]);
	close(ready[1]);
	waitpid(holder, &status, 0);
	stu_rmtree(dir);
}

/* This process's virtual size in bytes (VmSize), 0 if unknown. */
static size_t
vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * KIB;
}

/*
 * The child of test_growth_enomem: grow under an address-space limit until
 * mdb_env_set_mapsize fails, then use the store.  Returns 0 or the number
 * of the step that went wrong (the parent reports it).
 */
static int
enomem_child(const char *dir)
{
	struct sm_error err;
	struct store *st;
	struct rlimit rl;
	char why[128];
	uint64_t n = 0;
	size_t before;
	int rc = 0;

	sm_error_clear(&err);
	if ((st = open_tiny(dir, 1 * MIB, 1024 * MIB, 0, &err)) == NULL)
		return 1;
	if (getrlimit(RLIMIT_AS, &rl) != 0)
		return 2;
	rl.rlim_cur = vm_size() + 24 * MIB;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 2;
	/* 16 KiB per batch until a growth fails (at most 256 MiB) */
	while (n < 16384 && (rc = write_entries(st, n, n + 4, 4 * KIB, 4, &err)) == 0)
		n += 4;
	if (rc == 0)
		return 3; /* never failed: the limit did not bite */
	fprintf(stderr, "# growth failed as expected after %llu entries: %s\n",
	    (unsigned long long)n, err.msg);
	before = store_map_size(st);
	if (before == 0)
		return 4; /* the handle has no map: unusable */
	if (!verify_entries(st, n, 4 * KIB, why, sizeof(why))) {
		fprintf(stderr, "# %s\n", why);
		return 5;
	}
	/* a batch that fits the old map still commits */
	if (store_map_size(st) == before && write_entries(st, n, n + 1, 64, 1, &err) != 0) {
		fprintf(stderr, "# small commit: %s\n", err.msg);
		return 6;
	}
	/* with the limit lifted, growth works again and nothing was lost */
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_AS, &rl);
	if (write_entries(st, n, n + 2048, 4 * KIB, 64, &err) != 0) {
		fprintf(stderr, "# after the limit: %s\n", err.msg);
		return 7;
	}
	if (!verify_entries(st, n + 2048, 4 * KIB, why, sizeof(why))) {
		fprintf(stderr, "# %s\n", why);
		return 8;
	}
	store_close(st);
	return 0;
}

static void
test_growth_enomem(void)
{
	char dir[512];
	pid_t pid;
	int status = 0;

#if defined(__SANITIZE_ADDRESS__)
	ok(1, "# SKIP an address-space limit does not work under AddressSanitizer");
	return;
#endif
	stu_tmpdir(dir, sizeof(dir), "enomem");
	pid = fork();
	if (pid == 0)
		_exit(enomem_child(dir));
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		diag("the child died of signal %d", WTERMSIG(status));
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), 0,
	    "a map growth refused by the address-space limit leaves the store usable at "
	    "its old size (steps: 3 limit did not bite, 4 no map, 5 data, 6 small commit, "
	    "7/8 growth after the limit)");
	stu_rmtree(dir);
}

int
main(void)
{
	plan_no_plan();
	test_growth();
	test_atomic_full();
	test_reader_process();
	test_stale_reader();
	test_growth_enomem();
	return done_testing();
}
