/*
 * sm_rand.h - the project's one source of randomness.
 *
 * sm_rand_bytes() / sm_rand_u64() read the kernel's generator (getrandom(2))
 * and are what anything unpredictable uses: temporary file names, uuids,
 * instance ids, the seeds of the generators below.
 *
 * struct sm_rng is a small deterministic generator (splitmix64) for values
 * that need to be spread but not secret: retry jitter in the engine and the
 * transport.  Each owner keeps its own (no global state); a test that wants
 * a reproducible sequence seeds it with sm_rng_seed(), everything else
 * calls sm_rng_init().  Not for secrets.
 */
#ifndef SM_RAND_H
#define SM_RAND_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fill `buf` with `n` random bytes from getrandom(2) (retried on EINTR and
 * short reads).  Returns 0, or SM_EIO (with errno's detail lost) when the
 * kernel has no generator; `buf` is then unspecified.
 */
int sm_rand_bytes(void *buf, size_t n);

/*
 * A random 64-bit value from getrandom(2).  Never fails: without a kernel
 * generator it falls back to a mix of the clocks, the pid and a counter
 * (unique within the process, not unpredictable).
 */
uint64_t sm_rand_u64(void);

/*
 * A random (version 4) UUID from sm_rand_u64() in `out` as 36 lower case
 * characters plus the NUL ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx").
 */
void sm_rand_uuid4(char out[37]);

struct sm_rng {
	uint64_t state;
};

/* Seed from sm_rand_u64(). */
void sm_rng_init(struct sm_rng *r);
/* Seed with `seed` (any value, 0 included): the same seed gives the same
 * sequence on every platform. */
void sm_rng_seed(struct sm_rng *r, uint64_t seed);
/* The next 64-bit value of the sequence. */
uint64_t sm_rng_next(struct sm_rng *r);
/* A value uniform in [0, bound) (0 when bound is 0), without modulo bias. */
uint64_t sm_rng_below(struct sm_rng *r, uint64_t bound);

#endif
