/*
 * test_store_bad.c - hostile and broken inputs to store_open(): a file
 * instead of a directory, unwritable directories, garbage, zeroed and
 * truncated data files, foreign LMDB files, damaged format records.  Each
 * open runs in a child process so that a crash is a failed check, not a
 * dead test; every refusal must come with a message naming the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tap.h"
#include "store_test_util.h"

struct result {
	int crashed;      /* the child died of a signal */
	int rc;           /* store_open's code */
	int scan_rc;      /* 0, or the first error of a full scan of every table */
	size_t scanned;   /* entries seen by the scan */
	char msg[SM_ERROR_MSG_MAX];
};

/* Walk every table of an open store; returns 0 or the first error. */
static int
scan_all(struct store *st, size_t *n)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *v;
	size_t kl, vl;
	int t, rc;

	*n = 0;
	if ((rc = store_txn_begin(st, STORE_TXN_READ, &txn, NULL)) != 0)
		return rc;
	for (t = 0; t < STORE_T__COUNT; t++) {
		if ((rc = store_cursor_open(txn, (enum store_table)t, &c)) != 0)
			break;
		for (rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl); rc == 0;
		    rc = store_cursor_next(c, &k, &kl, &v, &vl))
			(*n)++;
		store_cursor_close(c);
		if (rc != SM_ENOTFOUND)
			break;
		rc = 0;
	}
	store_txn_abort(txn);
	return rc;
}

/* store_open(dir) in a child, as `uid` when uid >= 0. */
static struct result
try_open(const char *dir, int read_only, int uid)
{
	struct result res;
	int fds[2], status = 0;
	pid_t pid;
	ssize_t got;

	memset(&res, 0, sizeof(res));
	if (pipe(fds) != 0)
		bail_out("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct store_options opt;
		struct store *st = NULL;
		struct sm_error err;
		struct result r;

		close(fds[0]);
		memset(&r, 0, sizeof(r));
		if (uid >= 0 && (setgid((gid_t)uid) != 0 || setuid((uid_t)uid) != 0))
			_exit(3);
		store_options_init(&opt);
		opt.read_only = read_only;
		sm_error_clear(&err);
		r.rc = store_open(&st, dir, &opt, &err);
		memcpy(r.msg, err.msg, sizeof(r.msg));
		if (st != NULL) {
			r.scan_rc = scan_all(st, &r.scanned);
			store_close(st);
		}
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	got = read(fds[0], &res, sizeof(res));
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status) || got != (ssize_t)sizeof(res)) {
		memset(&res, 0, sizeof(res));
		res.crashed = WIFSIGNALED(status) ? WTERMSIG(status) : -1;
		res.rc = -1;
	}
	return res;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		bail_out("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

/* A store in `dir` holding `n` cache entries. */
static void
make_store(const char *dir, int n)
{
	struct store *st;
	struct store_batch *b;
	struct sm_error err;
	char key[32], val[200];
	int i;

	if (store_open(&st, dir, NULL, &err) != 0)
		bail_out("make_store: %s", err.msg);
	store_batch_create(&b);
	memset(val, 'v', sizeof(val));
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%06d", i);
		store_batch_put(b, STORE_T_CACHE, key, strlen(key), val, sizeof(val));
	}
	if (store_batch_commit(st, b, &err) != 0)
		bail_out("make_store: %s", err.msg);
	store_batch_destroy(b);
	store_close(st);
}

static void
fresh(char *dir, size_t cap, const char *name)
{
	stu_tmpdir(dir, cap, name);
}

static void
test_paths(void)
{
	char dir[512], path[700];
	struct result r;
	struct store *st = (struct store *)1;
	struct sm_error err;

	sm_error_clear(&err);
	is_int(store_open(&st, NULL, NULL, &err), SM_EINVAL, "NULL directory: SM_EINVAL");
	ok(st == NULL, "and *out is NULL");
	is_int(store_open(&st, "", NULL, &err), SM_EINVAL, "empty directory: SM_EINVAL");

	fresh(dir, sizeof(dir), "paths");
	snprintf(path, sizeof(path), "%s/plainfile", dir);
	write_file(path, "x", 1);
	r = try_open(path, 0, -1);
	is_int(r.rc, SM_EINVAL, "a regular file as state directory is refused");
	like_str(r.msg, "not a directory", "message says it is not a directory");
	like_str(r.msg, path, "and names it");

	snprintf(path, sizeof(path), "%s/plainfile/sub", dir);
	r = try_open(path, 0, -1);
	ok(r.rc != 0 && !r.crashed, "a path through a regular file is refused (%s)", r.msg);
	like_str(r.msg, path, "message names the path");

	snprintf(path, sizeof(path), "%s/missing", dir);
	r = try_open(path, 1, -1);
	is_int(r.rc, SM_ENOTFOUND, "read-only open of a missing directory: SM_ENOTFOUND");
	like_str(r.msg, "does not exist", "message says so");
	ok(access(path, F_OK) != 0, "and did not create it");

	snprintf(path, sizeof(path), "%s/empty", dir);
	mkdir(path, 0700);
	r = try_open(path, 1, -1);
	is_int(r.rc, SM_ENOTFOUND, "read-only open of a directory without a store");

	snprintf(path, sizeof(path), "%s/new/deeper", dir);
	r = try_open(path, 0, -1);
	ok(r.rc != 0, "missing parents are not created (%s)", r.msg);

	/* data.mdb is a directory */
	snprintf(path, sizeof(path), "%s/dirdata", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dirdata/store", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dirdata/store/data.mdb", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dirdata", dir);
	r = try_open(path, 0, -1);
	ok(r.rc != 0 && !r.crashed, "data.mdb being a directory is refused (%s)", r.msg);
	like_str(r.msg, "store '", "message names the store");
	stu_rmtree(dir);
}

static void
test_permissions(void)
{
	char dir[512], path[700];
	struct result r;
	int uid = -1;

	if (geteuid() == 0)
		uid = 65534; /* nobody: permission bits apply to it */
	fresh(dir, sizeof(dir), "perm");
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/ro", dir);
	mkdir(path, 0500);
	r = try_open(path, 0, uid);
	is_int(r.rc, SM_EPERM, "unwritable state directory: SM_EPERM");
	like_str(r.msg, "Permission denied", "message has the system's reason");
	like_str(r.msg, path, "and the path");
	like_str(r.msg, "owner and mode", "and what to check");

	/* an existing store that belongs to someone else */
	snprintf(path, sizeof(path), "%s/other", dir);
	make_store(path, 3);
	chmod(path, 0755);
	{
		char sp[800];

		snprintf(sp, sizeof(sp), "%s/store", path);
		chmod(sp, 0755);
	}
	if (uid >= 0) {
		r = try_open(path, 1, uid);
		is_int(r.rc, SM_EPERM, "a store owned by another user: SM_EPERM");
		like_str(r.msg, "owner and mode", "message says what to check");
	} else {
		ok(1, "another user's store # SKIP needs root");
		ok(1, "its message # SKIP needs root");
	}
	stu_rmtree(dir);
}

static void
test_garbage(void)
{
	char dir[512], path[700];
	unsigned char buf[65536];
	struct result r;
	size_t i;
	unsigned x = 12345;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}

	fresh(dir, sizeof(dir), "garbage");
	snprintf(path, sizeof(path), "%s/store", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	write_file(path, buf, sizeof(buf));
	r = try_open(dir, 0, -1);
	ok(!r.crashed, "random bytes as data.mdb: no crash");
	is_int(r.rc, SM_ECORRUPT, "random bytes as data.mdb: SM_ECORRUPT");
	like_str(r.msg, "not an LMDB file", "message has LMDB's reason");
	like_str(r.msg, dir, "and the path");
	like_str(r.msg, "backup", "and what to do");
	r = try_open(dir, 1, -1);
	is_int(r.rc, SM_ECORRUPT, "same for a read-only open");

	memset(buf, 0, sizeof(buf));
	write_file(path, buf, sizeof(buf));
	r = try_open(dir, 0, -1);
	ok(!r.crashed && r.rc == SM_ECORRUPT, "zero-filled data.mdb: SM_ECORRUPT (%s)", r.msg);

	write_file(path, "hello", 5);
	r = try_open(dir, 0, -1);
	ok(!r.crashed && r.rc != 0, "5-byte data.mdb refused (%s)", r.msg);
	like_str(r.msg, dir, "message names the path");
	stu_rmtree(dir);
}

static void
corrupt_range(const char *path, off_t from, off_t len, unsigned seed)
{
	int fd = open(path, O_WRONLY);
	unsigned char b;
	off_t i;

	if (fd < 0)
		bail_out("open %s: %s", path, strerror(errno));
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b = (unsigned char)(seed >> 16);
		if (pwrite(fd, &b, 1, from + i) != 1)
			bail_out("pwrite: %s", strerror(errno));
	}
	close(fd);
}

static void
test_damaged_store(void)
{
	char dir[512], path[700];
	struct result r;
	struct stat sb;
	long page = sysconf(_SC_PAGESIZE);
	int i, crashes = 0, errors = 0, fine = 0, check_bad = 0;

	/* truncated after its header */
	fresh(dir, sizeof(dir), "trunc");
	make_store(dir, 2000);
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	stat(path, &sb);
	if (truncate(path, sb.st_size / 2) != 0)
		bail_out("truncate: %s", strerror(errno));
	r = try_open(dir, 0, -1);
	ok(!r.crashed, "truncated data.mdb: no crash (signal %d)", r.crashed);
	is_int(r.rc, SM_ECORRUPT, "truncated data.mdb: SM_ECORRUPT");
	like_str(r.msg, "truncated", "message says truncated");
	r = try_open(dir, 1, -1);
	is_int(r.rc, SM_ECORRUPT, "truncated data.mdb read-only: SM_ECORRUPT");

	/* both meta pages destroyed */
	stu_rmtree(dir);
	fresh(dir, sizeof(dir), "meta");
	make_store(dir, 100);
	snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
	corrupt_range(path, 0, 2 * page, 7);
	r = try_open(dir, 0, -1);
	ok(!r.crashed && r.rc == SM_ECORRUPT, "both meta pages damaged: SM_ECORRUPT (%s)",
	    r.msg);
	stu_rmtree(dir);

	/* garbage lock file: LMDB rebuilds it, the data is intact */
	fresh(dir, sizeof(dir), "lock");
	make_store(dir, 100);
	snprintf(path, sizeof(path), "%s/store/lock.mdb", dir);
	write_file(path, "garbage garbage garbage garbage", 31);
	r = try_open(dir, 0, -1);
	is_int(r.rc, 0, "a garbage lock.mdb is rebuilt (%s)", r.msg);
	ok(r.scan_rc == 0 && r.scanned == 101, "and the data is intact (%zu entries)",
	    r.scanned);
	stu_rmtree(dir);

	/*
	 * Damaged data pages (meta intact).  LMDB has no page checksums, so a
	 * plain open may read damaged pages without noticing or even crash;
	 * store_check() must turn every such case into an error, never crash
	 * the caller, and pass whenever a full scan succeeds.
	 */
	for (i = 0; i < 40; i++) {
		struct sm_error err;
		size_t entries = 0;
		int crc;

		fresh(dir, sizeof(dir), "pages");
		make_store(dir, 3000);
		snprintf(path, sizeof(path), "%s/store/data.mdb", dir);
		stat(path, &sb);
		corrupt_range(path, 2 * page + (off_t)((i * 7919) % (sb.st_size - 3 * page)),
		    16 + i * 53, (unsigned)i + 1);
		r = try_open(dir, 0, -1);
		sm_error_clear(&err);
		crc = store_check(dir, &entries, &err);
		if (r.crashed) {
			crashes++;
			if (crc != SM_ECORRUPT) {
				ok(0, "case %d: open+scan crashed but store_check gave %s (%s)", i,
				    sm_errname(crc), err.msg);
				check_bad++;
			}
		} else if (r.rc != 0 || r.scan_rc != 0) {
			errors++;
			if (crc == 0) {
				ok(0, "case %d: scan failed but store_check passed", i);
				check_bad++;
			}
		} else {
			fine++;
			if (crc != 0 || entries != r.scanned) {
				ok(0, "case %d: scan read %zu entries but store_check gave %s, %zu "
				    "entries (%s)", i, r.scanned, sm_errname(crc), entries, err.msg);
				check_bad++;
			}
		}
		if (crc != 0 && (strstr(err.msg, dir) == NULL || crc != SM_ECORRUPT)) {
			if (crc != SM_ECORRUPT && r.rc == crc)
				; /* open itself refused it (same code as a plain open) */
			else {
				ok(0, "case %d: store_check message/code: %s %s", i, sm_errname(crc),
				    err.msg);
				check_bad++;
			}
		}
		stu_rmtree(dir);
	}
	diag("damaged data pages: %d refused, %d read without error, %d crashed a plain "
	    "reader", errors, fine, crashes);
	is_int(check_bad, 0, "store_check reports every damaged store without crashing");

	fresh(dir, sizeof(dir), "checkok");
	make_store(dir, 500);
	{
		struct sm_error err;
		size_t entries = 0;

		sm_error_clear(&err);
		is_int(store_check(dir, &entries, &err), 0, "store_check passes an intact store");
		is_int(entries, 501, "and counts every entry (500 + format)");
		snprintf(path, sizeof(path), "%s/nothing", dir);
		is_int(store_check(path, NULL, &err), SM_ENOTFOUND,
		    "store_check of a missing store: SM_ENOTFOUND");
	}
	stu_rmtree(dir);
}

static void
test_foreign(void)
{
	char dir[512], path[700];
	struct result r;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	unsigned char be[8];

	/* an LMDB environment whose main database has a plain key "meta" */
	fresh(dir, sizeof(dir), "foreign");
	snprintf(path, sizeof(path), "%s/store", dir);
	mkdir(path, 0700);
	mdb_env_create(&env);
	mdb_env_open(env, path, 0, 0600);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	k.mv_data = (void *)"meta";
	k.mv_size = 4;
	v.mv_data = (void *)"not a table";
	v.mv_size = 11;
	mdb_put(txn, dbi, &k, &v, 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	r = try_open(dir, 0, -1);
	ok(!r.crashed, "foreign LMDB file: no crash");
	is_int(r.rc, SM_ECORRUPT, "a key where a table should be: SM_ECORRUPT");
	like_str(r.msg, "'meta'", "message names the table");
	r = try_open(dir, 1, -1);
	is_int(r.rc, SM_ECORRUPT, "read-only: SM_ECORRUPT too (%s)", r.msg);
	stu_rmtree(dir);

	/* an empty LMDB environment: read-only says it is not a store */
	fresh(dir, sizeof(dir), "emptyenv");
	snprintf(path, sizeof(path), "%s/store", dir);
	mkdir(path, 0700);
	mdb_env_create(&env);
	mdb_env_open(env, path, 0, 0600);
	mdb_env_close(env);
	r = try_open(dir, 1, -1);
	is_int(r.rc, SM_ECORRUPT, "read-only open of an empty LMDB environment");
	like_str(r.msg, "missing", "message says tables are missing");
	r = try_open(dir, 0, -1);
	is_int(r.rc, 0, "read-write open adopts an empty environment");
	stu_rmtree(dir);

	/* damaged format records */
	fresh(dir, sizeof(dir), "fmt");
	make_store(dir, 1);
	{
		struct store *st;
		struct store_txn *t;

		store_open(&st, dir, NULL, NULL);
		store_txn_begin(st, STORE_TXN_WRITE, &t, NULL);
		store_be64_put(be, 0);
		store_put(t, STORE_T_META, STORE_META_FORMAT_KEY, strlen(STORE_META_FORMAT_KEY),
		    be, 8);
		store_txn_commit(t, NULL);
		store_close(st);
	}
	r = try_open(dir, 0, -1);
	is_int(r.rc, SM_ECORRUPT, "format version 0: SM_ECORRUPT");
	{
		MDB_env *e2;
		MDB_txn *tx;
		MDB_dbi d;

		mdb_env_create(&e2);
		mdb_env_set_maxdbs(e2, 32);
		snprintf(path, sizeof(path), "%s/store", dir);
		mdb_env_open(e2, path, 0, 0600);
		mdb_txn_begin(e2, NULL, 0, &tx);
		mdb_dbi_open(tx, "meta", 0, &d);
		k.mv_data = (void *)STORE_META_FORMAT_KEY;
		k.mv_size = strlen(STORE_META_FORMAT_KEY);
		v.mv_data = (void *)"1";
		v.mv_size = 1;
		mdb_put(tx, d, &k, &v, 0);
		mdb_txn_commit(tx);
		mdb_env_close(e2);
	}
	r = try_open(dir, 0, -1);
	is_int(r.rc, SM_ECORRUPT, "format version of the wrong size: SM_ECORRUPT");
	like_str(r.msg, "format version", "message says what is wrong");
	stu_rmtree(dir);
}

int
main(void)
{
	plan_no_plan();
	signal(SIGPIPE, SIG_IGN);
	test_paths();
	test_permissions();
	test_garbage();
	test_damaged_store();
	test_foreign();
	return done_testing();
}
