/*
 * sm_digest.h - the project's one MD5 and SHA-256 (not HMAC).
 *
 * The machine documents' hashes (engine), long task names (actions), the
 * local backend's ETags and SQS's body checks (transport) and SigV4's
 * payload hashes go through here.  It calls OpenSSL's plain digest
 * functions (SHA256_Init, MD5_Init, ...), not the EVP layer: the first EVP
 * digest of a process loads OpenSSL's configuration and providers, 2 MiB of
 * resident memory that a daemon on the local backend, which needs no TLS
 * and no HMAC, otherwise keeps for its whole life (docs/bench-daemon.md).
 * The digests are the same; none of these calls can fail.
 */
#ifndef SM_DIGEST_H
#define SM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* The algorithm; its value is the digest's size in bytes. */
enum sm_digest_alg {
	SM_DIGEST_MD5 = 16,
	SM_DIGEST_SHA256 = 32,
};

#define SM_DIGEST_MAX 32 /* bytes of the largest digest */

/* A digest in progress (OpenSSL's context, opaque here). */
struct sm_digest {
	enum sm_digest_alg alg;
	union {
		uint64_t align_;
		unsigned char b[128];
	} st;
};

void sm_digest_init(struct sm_digest *d, enum sm_digest_alg alg);
void sm_digest_update(struct sm_digest *d, const void *p, size_t n);
/* Write the digest (d->alg bytes) to `out`; `d` is spent. */
void sm_digest_final(struct sm_digest *d, unsigned char *out);

/* One-shot: the digest of `n` bytes at `p` (alg bytes at `out`). */
void sm_digest(enum sm_digest_alg alg, const void *p, size_t n, unsigned char *out);
/* The same in lower-case hex: 2 * alg characters and a NUL at `out`. */
void sm_digest_hex(enum sm_digest_alg alg, const void *p, size_t n, char *out);

#endif
