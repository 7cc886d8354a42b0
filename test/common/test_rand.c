/* test_rand.c - the random source (getrandom) and the seeded generator. */
#include <stdint.h>
#include <string.h>

#include "sm_rand.h"
#include "tap.h"

int
main(void)
{
	struct sm_rng a, b;
	unsigned char buf[64], zero[64];
	uint64_t x, y, counts[10] = { 0 };
	char u[37];
	int i, same = 1, differ = 0, in_range = 1, spread = 1;

	plan_no_plan();
	memset(buf, 0, sizeof(buf));
	memset(zero, 0, sizeof(zero));
	is_int(sm_rand_bytes(buf, sizeof(buf)), 0, "getrandom gives 64 bytes");
	ok(memcmp(buf, zero, sizeof(buf)) != 0, "and they are not all zero");
	is_int(sm_rand_bytes(buf, 0), 0, "0 bytes is fine");
	x = sm_rand_u64();
	y = sm_rand_u64();
	ok(x != y, "two random values differ");

	sm_rand_uuid4(u);
	is_int((int)strlen(u), 36, "a uuid is 36 characters");
	ok(u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-', "dashes at 8 13 18 23: %s", u);
	ok(u[14] == '4', "version 4");
	ok(strchr("89ab", u[19]) != NULL, "variant 10xx");

	/* the same seed gives the same sequence, 0 included; another seed another one */
	sm_rng_seed(&a, 0);
	sm_rng_seed(&b, 0);
	for (i = 0; i < 1000; i++)
		if (sm_rng_next(&a) != sm_rng_next(&b))
			same = 0;
	ok(same, "seed 0: two generators give the same 1000 values");
	sm_rng_seed(&a, 42);
	is_int((long long)(sm_rng_next(&a) == 0xbdd732262feb6e95ULL), 1,
	    "seed 42: the documented splitmix64 sequence (first value)");
	sm_rng_seed(&a, 1);
	sm_rng_seed(&b, 2);
	for (i = 0; i < 100; i++)
		if (sm_rng_next(&a) != sm_rng_next(&b))
			differ++;
	is_int(differ, 100, "seeds 1 and 2 give different sequences");

	sm_rng_init(&a);
	for (i = 0; i < 100000; i++) {
		x = sm_rng_below(&a, 10);
		if (x >= 10)
			in_range = 0;
		else
			counts[x]++;
	}
	ok(in_range, "sm_rng_below(10) stays below 10");
	for (i = 0; i < 10; i++)
		if (counts[i] < 9000 || counts[i] > 11000)
			spread = 0;
	ok(spread, "and is spread evenly (each residue 9000..11000 of 100000)");
	is_int((long long)sm_rng_below(&a, 0), 0, "bound 0 gives 0");
	is_int((long long)sm_rng_below(&a, 1), 0, "bound 1 gives 0");
	x = sm_rng_below(&a, UINT64_MAX);
	ok(x < UINT64_MAX, "bound UINT64_MAX works");
	return done_testing();
}
