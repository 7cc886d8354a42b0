/*
 * bench_util.h - timing and medians for the benchmarks (header-only).
 *
 *	double t0 = bench_now();
 *	... work ...
 *	rates[round] = n / (bench_now() - t0);
 *	printf("%.0f/s\n", bench_median(rates, rounds));
 *
 * bench_run() does the rounds for a callback: each round calls fn(arg, n)
 * which performs n operations, and the per-round rates (operations per
 * second) go to rates[].  The median is the figure to report: it is not
 * moved by one slow round (a checkpoint, another process's fsync).
 *
 * bench_on_tmpfs() tells a directory on tmpfs (fsync is free there: the
 * figures of a durable-commit benchmark mean little); bench_rm_tree()
 * removes a directory the program created itself, with what is in it.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#define BENCH_TMPFS_MAGIC 0x01021994

/* Monotonic seconds. */
static inline double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench__cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n) (v is not changed); 0 when n is 0. */
static inline double
bench_median(const double *v, size_t n)
{
	double *c, m;

	if (n == 0)
		return 0;
	c = malloc(n * sizeof(*c));
	if (c == NULL)
		return 0;
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), bench__cmp);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

/* Smallest and largest of v[0..n). */
static inline void
bench_minmax(const double *v, size_t n, double *min, double *max)
{
	size_t i;

	*min = *max = n ? v[0] : 0;
	for (i = 1; i < n; i++) {
		if (v[i] < *min)
			*min = v[i];
		if (v[i] > *max)
			*max = v[i];
	}
}

/*
 * Run `rounds` rounds of fn(arg, ops); rates[i] = ops / seconds of round i.
 * fn returns 0 or nonzero to stop (bench_run then returns that value).
 */
typedef int bench_fn(void *arg, long ops);

static inline int
bench_run(bench_fn *fn, void *arg, long ops, int rounds, double *rates)
{
	int i, rc;
	double t0, dt;

	for (i = 0; i < rounds; i++) {
		t0 = bench_now();
		if ((rc = fn(arg, ops)) != 0)
			return rc;
		dt = bench_now() - t0;
		rates[i] = dt > 0 ? (double)ops / dt : 0;
	}
	return 0;
}

/* 1 if `dir` is on tmpfs, 0 if not or when it cannot be told. */
static inline int
bench_on_tmpfs(const char *dir)
{
	struct statfs sfs;

	return statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == BENCH_TMPFS_MAGIC;
}

static int
bench__rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * Remove `dir` and everything below it, not following links.  Only for a
 * directory the program made itself (mkdtemp): never a user's -d.
 */
static inline void
bench_rm_tree(const char *dir)
{
	nftw(dir, bench__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
