/* test_digest.c - MD5 and SHA-256 (sm_digest): published vectors, streaming. */
#include <stdlib.h>
#include <string.h>

#include "sm_digest.h"
#include "sm_text.h"
#include "tap.h"

static void
stream_hex(enum sm_digest_alg alg, const char *p, size_t n, size_t step, char *out)
{
	unsigned char md[SM_DIGEST_MAX];
	struct sm_digest d;
	size_t off;

	sm_digest_init(&d, alg);
	for (off = 0; off < n; off += step)
		sm_digest_update(&d, p + off, n - off < step ? n - off : step);
	sm_digest_final(&d, md);
	sm_hex_encode(md, (size_t)alg, out);
}

int
main(void)
{
	static const char *const md5[][2] = {
		/* RFC 1321, appendix A.5 */
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "1234567890123456789012345678901234567890123456789012345678901234567890123456789"
		  "0",
		    "57edf4a22be3c955ac49da2e2107b67a" },
	};
	static const char *const sha[][2] = {
		/* FIPS 180-2 appendix B and the empty string */
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[2 * SM_DIGEST_MAX + 1], hex2[2 * SM_DIGEST_MAX + 1];
	char *million;
	size_t i;

	plan_no_plan();
	for (i = 0; i < sizeof(md5) / sizeof(md5[0]); i++) {
		sm_digest_hex(SM_DIGEST_MD5, md5[i][0], strlen(md5[i][0]), hex);
		is_str(hex, md5[i][1], "md5 of '%.20s'", md5[i][0]);
	}
	for (i = 0; i < sizeof(sha) / sizeof(sha[0]); i++) {
		sm_digest_hex(SM_DIGEST_SHA256, sha[i][0], strlen(sha[i][0]), hex);
		is_str(hex, sha[i][1], "sha256 of '%.20s'", sha[i][0]);
	}

	/* a million 'a' (FIPS 180-2 B.3), fed in pieces that cross the 64-byte blocks */
	if ((million = malloc(1000000)) == NULL)
		bail_out("out of memory");
	memset(million, 'a', 1000000);
	stream_hex(SM_DIGEST_SHA256, million, 1000000, 1000, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	    "sha256 of a million 'a', 1000 bytes at a time");
	stream_hex(SM_DIGEST_MD5, million, 1000000, 63, hex);
	is_str(hex, "7707d6ae4e027c70eea2a935c2296f21", "md5 of a million 'a', 63 bytes at a time");
	sm_digest_hex(SM_DIGEST_MD5, million, 1000000, hex2);
	is_str(hex2, hex, "md5 one-shot and streamed agree");
	for (i = 1; i <= 130; i += 43) {
		stream_hex(SM_DIGEST_SHA256, million, 200, i, hex);
		sm_digest_hex(SM_DIGEST_SHA256, million, 200, hex2);
		is_str(hex, hex2, "sha256 of 200 bytes fed %zu at a time = one-shot", i);
	}
	free(million);
	return done_testing();
}
