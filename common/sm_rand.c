#include "sm_rand.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sm_err.h"

int
sm_rand_bytes(void *buf, size_t n)
{
	unsigned char *b = buf;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(b + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return SM_EIO;
		}
		got += (size_t)r;
	}
	return 0;
}

static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
sm_rand_u64(void)
{
	static _Atomic uint64_t counter;
	struct timespec a, b;
	uint64_t v;

	if (sm_rand_bytes(&v, sizeof(v)) == 0)
		return v;
	clock_gettime(CLOCK_REALTIME, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	v = (uint64_t)a.tv_sec * 1000000000ULL + (uint64_t)a.tv_nsec;
	v ^= mix64((uint64_t)b.tv_sec * 1000000000ULL + (uint64_t)b.tv_nsec);
	v ^= mix64(((uint64_t)getpid() << 32) ^ ++counter);
	return mix64(v);
}

void
sm_rand_uuid4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	uint64_t r[2];
	int i, o = 0;

	r[0] = sm_rand_u64();
	r[1] = sm_rand_u64();
	memcpy(b, r, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[36] = '\0';
}

void
sm_rng_init(struct sm_rng *r)
{
	r->state = sm_rand_u64();
}

void
sm_rng_seed(struct sm_rng *r, uint64_t seed)
{
	r->state = seed;
}

uint64_t
sm_rng_next(struct sm_rng *r)
{
	/* splitmix64: every seed, 0 included, gives a full-period sequence */
	r->state += 0x9e3779b97f4a7c15ULL;
	return mix64(r->state);
}

uint64_t
sm_rng_below(struct sm_rng *r, uint64_t bound)
{
	uint64_t x, threshold;

	if (bound == 0)
		return 0;
	/* reject the 2^64 mod bound lowest values so every residue is equally
	 * likely (the rest is a whole number of blocks of `bound`) */
	threshold = (0 - bound) % bound;
	do
		x = sm_rng_next(r);
	while (x < threshold);
	return x % bound;
}
