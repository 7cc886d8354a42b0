/*
 * sm_text.h - small byte-level text helpers shared by the parsers
 * (expressions, the engine's JSON writer, SigV4 and S3 URL coding).
 */
#ifndef SM_TEXT_H
#define SM_TEXT_H

#include <stddef.h>

/* Value of one hex digit (0-9, a-f, A-F), or -1. */
int sm_hexval(int c);

/*
 * The shortest %g text of `d` that reads back as the same double, with
 * ".0" added when it would read as an integer: what Python's repr() writes
 * (0.1, 1.0, 1e+16, 1e-05).  `size` >= 32 always holds it.
 */
void sm_real_text(double d, char *buf, size_t size);

/* Lower-case hex of the `n` bytes at `in` into `out` (2n+1 bytes, NUL-terminated). */
void sm_hex_encode(const unsigned char *in, size_t n, char *out);

/*
 * Percent-encode the `n` bytes at `s` as RFC 3986 wants for a URI
 * component (SigV4's UriEncode): A-Z a-z 0-9 - . _ ~ stay, every other
 * byte is %XX in upper-case hex; with `keep_slash`, '/' stays too (a
 * path).  `out` has room for 3n+1 bytes; the result is NUL-terminated and
 * its length returned.
 */
size_t sm_uri_encode(char *out, const void *s, size_t n, int keep_slash);

/*
 * Length (1-4) of the well-formed UTF-8 sequence at `s`, with `n` >= 1
 * bytes available; 0 if it is not one (overlong forms, surrogates, code
 * points above U+10FFFF and truncated sequences are refused).
 */
size_t sm_utf8_seq(const unsigned char *s, size_t n);

/*
 * Copy the `n` bytes at `s` into `out` with every byte that does not start
 * a well-formed UTF-8 sequence replaced by U+FFFD (EF BF BD): text from
 * outside made fit for a JSON string.  `out` has room for 3 * n bytes; no
 * NUL is written.  Returns the bytes written.
 */
size_t sm_utf8_repair(char *out, const char *s, size_t n);

/* 1 if the `n` bytes at `s` are all well-formed UTF-8, else 0. */
int sm_utf8_valid(const char *s, size_t n);

/*
 * Copy the `n` bytes at `p` into `buf` for a message or a log line: bytes
 * under 0x20, 0x7f and backslash become \xNN, so text from outside cannot
 * forge a line or drive a terminal.  Cut (between whole escapes) to fit
 * `cap` bytes; `buf` is always NUL-terminated (`cap` >= 1).  Returns buf.
 */
const char *sm_text_escape(char *buf, size_t cap, const void *p, size_t n);

#endif
