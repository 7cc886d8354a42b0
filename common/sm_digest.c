/*
 * sm_digest.c - MD5 and SHA-256 through OpenSSL's plain digest functions.
 *
 * OpenSSL 3 marks them deprecated in favour of EVP, whose first use loads the
 * configuration file and the default provider (see sm_digest.h for why that
 * matters here); they are the same code the default provider runs.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "sm_digest.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include "sm_text.h"

#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "sm_digest needs OpenSSL's SHA256_Init and MD5_Init (an OpenSSL built with deprecated APIs)"
#endif

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct sm_digest *)0)->st.b), "SHA256_CTX fits");
_Static_assert(sizeof(MD5_CTX) <= sizeof(((struct sm_digest *)0)->st.b), "MD5_CTX fits");

void
sm_digest_init(struct sm_digest *d, enum sm_digest_alg alg)
{
	d->alg = alg;
	if (alg == SM_DIGEST_MD5)
		MD5_Init((MD5_CTX *)(void *)d->st.b);
	else
		SHA256_Init((SHA256_CTX *)(void *)d->st.b);
}

void
sm_digest_update(struct sm_digest *d, const void *p, size_t n)
{
	if (d->alg == SM_DIGEST_MD5)
		MD5_Update((MD5_CTX *)(void *)d->st.b, p, n);
	else
		SHA256_Update((SHA256_CTX *)(void *)d->st.b, p, n);
}

void
sm_digest_final(struct sm_digest *d, unsigned char *out)
{
	if (d->alg == SM_DIGEST_MD5)
		MD5_Final(out, (MD5_CTX *)(void *)d->st.b);
	else
		SHA256_Final(out, (SHA256_CTX *)(void *)d->st.b);
}

void
sm_digest(enum sm_digest_alg alg, const void *p, size_t n, unsigned char *out)
{
	struct sm_digest d;

	sm_digest_init(&d, alg);
	sm_digest_update(&d, p, n);
	sm_digest_final(&d, out);
}

void
sm_digest_hex(enum sm_digest_alg alg, const void *p, size_t n, char *out)
{
	unsigned char md[SM_DIGEST_MAX];

	sm_digest(alg, p, n, md);
	sm_hex_encode(md, (size_t)alg, out);
}
