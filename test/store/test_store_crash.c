/*
 * test_store_crash.c - kill -9 at random points while a child commits
 * batches; after each kill every batch is all there or not there at all,
 * and the last commit the child acknowledged is there.
 *
 * Batch n (n = 1, 2, ...) writes, in one store_batch_commit():
 *   HISTORY  be64 n, be64 i       -> value(n, i) of random length, i < k
 *   INSTANCES "inst" be64 n       -> be64 k (how many HISTORY keys)
 *   INBOX    be64 (n - 1)         -> deleted (written by batch n - 1)
 *   INBOX    be64 n               -> "pending"
 *   META     "last"               -> be64 n
 * and reports n to the parent through a pipe after the commit returned.
 *
 * Iterations alternate FULL and PROCESS durability: both must survive the
 * death of the process.  The map starts at 256 KiB so growth happens under
 * the kills as well.  SM_CRASH_ITERS overrides the number of kills.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "store_test_util.h"

static void
value_fill(unsigned char *buf, size_t len, uint64_t n, uint64_t i)
{
	size_t j;

	for (j = 0; j < len; j++)
		buf[j] = (unsigned char)((n * 131 + i * 17 + j) & 0xff);
}

static size_t
value_len(uint64_t n, uint64_t i)
{
	return 16 + (size_t)((n * 7919 + i * 104729) % 3000);
}

static struct store *
open_it(const char *dir, enum store_durability d, struct sm_error *err)
{
	struct store_options opt;
	struct store *st = NULL;

	store_options_init(&opt);
	opt.durability = d;
	opt.map_size = 256 * 1024;
	opt.map_size_max = (size_t)1 << 30;
	if (store_open(&st, dir, &opt, err) != 0)
		return NULL;
	return st;
}

static uint64_t
read_last(struct store *st)
{
	struct store_txn *txn;
	const void *v;
	size_t vl;
	uint64_t last = 0;

	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return 0;
	if (store_get(txn, STORE_T_META, "last", 4, &v, &vl) == 0 && vl == 8)
		last = store_be64_get(v);
	store_txn_abort(txn);
	return last;
}

static void
child_loop(const char *dir, enum store_durability d, int fd, unsigned seed)
{
	struct sm_error err;
	struct store *st;
	struct store_batch *b;
	struct store_key key;
	unsigned char val[4096], be[8];
	uint64_t n, i, k;

	srand(seed);
	st = open_it(dir, d, &err);
	if (st == NULL) {
		fprintf(stderr, "crash child: %s\n", err.msg);
		_exit(3);
	}
	store_batch_create(&b);
	for (n = read_last(st) + 1;; n++) {
		k = 2 + (uint64_t)(rand() % 9);
		for (i = 0; i < k; i++) {
			store_key_init(&key);
			store_key_add_u64(&key, n);
			store_key_add_u64(&key, i);
			value_fill(val, value_len(n, i), n, i);
			store_batch_put(b, STORE_T_HISTORY, key.buf, key.len, val,
			    value_len(n, i));
		}
		store_key_init(&key);
		store_key_add_bytes(&key, "inst", 4);
		store_key_add_u64(&key, n);
		store_be64_put(be, k);
		store_batch_put(b, STORE_T_INSTANCES, key.buf, key.len, be, 8);
		store_be64_put(be, n - 1);
		store_batch_del(b, STORE_T_INBOX, be, 8);
		store_be64_put(be, n);
		store_batch_put(b, STORE_T_INBOX, be, 8, "pending", 7);
		store_batch_put(b, STORE_T_META, "last", 4, be, 8);
		if (store_batch_commit(st, b, &err) != 0) {
			fprintf(stderr, "crash child: %s\n", err.msg);
			_exit(4);
		}
		if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(5);
	}
}

/*
 * Check the store after a kill.  Returns 1 if consistent; *last gets the
 * last batch found, `why` the first problem.
 */
static int
verify(struct store *st, uint64_t acked, uint64_t *last_out, char *why, size_t cap)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *v, *iv;
	size_t kl, vl, ivl, count;
	unsigned char want[4096];
	uint64_t last, n, expect_k, got_k;
	struct store_key key;
	int rc, good = 0;

	why[0] = '\0';
	last = read_last(st);
	*last_out = last;
	if (last < acked) {
		snprintf(why, cap, "acknowledged batch %llu is missing (last is %llu)",
		    (unsigned long long)acked, (unsigned long long)last);
		return 0;
	}
	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0) {
		snprintf(why, cap, "cannot begin a read txn");
		return 0;
	}
	store_cursor_open(txn, STORE_T_HISTORY, &c);
	rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
	for (n = 1; n <= last; n++) {
		/* INSTANCES says how many HISTORY keys batch n wrote */
		store_key_init(&key);
		store_key_add_bytes(&key, "inst", 4);
		store_key_add_u64(&key, n);
		if (store_get(txn, STORE_T_INSTANCES, key.buf, key.len, &iv, &ivl) != 0 ||
		    ivl != 8) {
			snprintf(why, cap, "batch %llu: instance record missing",
			    (unsigned long long)n);
			goto out;
		}
		expect_k = store_be64_get(iv);
		for (got_k = 0; rc == 0; got_k++) {
			size_t pos = 0;
			uint64_t kn, ki;

			if (store_key_get_u64(k, kl, &pos, &kn) != 0 ||
			    store_key_get_u64(k, kl, &pos, &ki) != 0 || pos != kl) {
				snprintf(why, cap, "malformed history key");
				goto out;
			}
			if (kn != n)
				break;
			value_fill(want, value_len(n, ki), n, ki);
			if (ki != got_k || vl != value_len(n, ki) || memcmp(v, want, vl) != 0) {
				snprintf(why, cap, "batch %llu: history entry %llu is wrong",
				    (unsigned long long)n, (unsigned long long)ki);
				goto out;
			}
			rc = store_cursor_next(c, &k, &kl, &v, &vl);
		}
		if (got_k != expect_k) {
			snprintf(why, cap, "batch %llu: %llu of %llu history entries",
			    (unsigned long long)n, (unsigned long long)got_k,
			    (unsigned long long)expect_k);
			goto out;
		}
	}
	if (rc == 0) {
		snprintf(why, cap, "history entries beyond the last batch %llu",
		    (unsigned long long)last);
		goto out;
	}
	store_count(txn, STORE_T_INSTANCES, &count);
	if (count != last) {
		snprintf(why, cap, "%zu instance records for %llu batches", count,
		    (unsigned long long)last);
		goto out;
	}
	store_count(txn, STORE_T_INBOX, &count);
	if (last > 0) {
		unsigned char be[8];

		store_be64_put(be, last);
		if (count != 1 || store_get(txn, STORE_T_INBOX, be, 8, &v, &vl) != 0) {
			snprintf(why, cap, "inbox does not hold exactly batch %llu's entry",
			    (unsigned long long)last);
			goto out;
		}
	}
	good = 1;
out:
	store_cursor_close(c);
	store_txn_abort(txn);
	return good;
}

int
main(void)
{
	char dir[512], why[256];
	struct sm_error err;
	struct store *st;
	int iters = 60, it, fds[2], status, bad = 0, signaled = 0;
	uint64_t acked_total = 0, last = 0, prev_last = 0;
	const char *e = getenv("SM_CRASH_ITERS");
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	plan_no_plan();
	if (e != NULL && atoi(e) > 0)
		iters = atoi(e);
	diag("seed %u, %d kills", seed, iters);
	srand(seed);
	stu_tmpdir(dir, sizeof(dir), "crash");

	for (it = 0; it < iters; it++) {
		enum store_durability d = (it % 2) ? STORE_DURABLE_PROCESS : STORE_DURABLE_FULL;
		uint64_t acked = 0, n;
		pid_t pid;
		ssize_t r;

		if (pipe(fds) != 0)
			bail_out("pipe: %s", strerror(errno));
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			bail_out("fork: %s", strerror(errno));
		if (pid == 0) {
			close(fds[0]);
			child_loop(dir, d, fds[1], seed + (unsigned)it);
			_exit(0);
		}
		close(fds[1]);
		/* most kills after the child has committed something, some at once */
		if (it % 5 != 4) {
			if (read(fds[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
				acked = n;
		}
		usleep((useconds_t)(rand() % 20000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			signaled++;
		else
			diag("iteration %d: child ended with status %d before the kill", it,
			    status);
		/* every ack written before the death */
		while ((r = read(fds[0], &n, sizeof(n))) == (ssize_t)sizeof(n))
			acked = n;
		close(fds[0]);
		if (acked > acked_total)
			acked_total = acked;

		sm_error_clear(&err);
		st = open_it(dir, STORE_DURABLE_FULL, &err);
		if (st == NULL) {
			ok(0, "iteration %d: reopen after kill (%s)", it, err.msg);
			bad++;
			break;
		}
		if (!verify(st, acked_total, &last, why, sizeof(why))) {
			ok(0, "iteration %d (%s): %s", it, d == STORE_DURABLE_FULL ? "full" :
			    "process", why);
			bad++;
		}
		if (last < prev_last) {
			ok(0, "iteration %d: last batch went back from %llu to %llu", it,
			    (unsigned long long)prev_last, (unsigned long long)last);
			bad++;
		}
		prev_last = last;
		store_close(st);
		if (bad > 3)
			break;
	}
	is_int(bad, 0, "%d kills: every batch all-or-nothing, every acknowledged batch present",
	    it);
	ok(signaled >= iters - 2, "the child died of SIGKILL (%d of %d)", signaled, iters);
	ok(last > (uint64_t)iters, "batches were committed between kills (last %llu)",
	    (unsigned long long)last);
	{
		/* the store grew beyond its 256 KiB start under the kills */
		st = open_it(dir, STORE_DURABLE_FULL, &err);
		if (st != NULL) {
			diag("final map size %zu bytes, %llu batches", store_map_size(st),
			    (unsigned long long)last);
			store_close(st);
		}
	}
	stu_rmtree(dir);
	return done_testing();
}
