/*
 * local_private.h - the local backend's name checks alone, for the fuzzer
 * and tests (tp__local_ prefix).  Pure functions: no files, no store.
 */
#ifndef SM_LOCAL_PRIVATE_H
#define SM_LOCAL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Is `key` an object key the local backend accepts (1..1024 bytes, no
 * control character, '/'-separated segments of 1..NAME_MAX bytes, none
 * "." or "..", so no leading, trailing or double '/')?  0, or SM_EINVAL
 * with the reason in `msg` (NUL-terminated, truncated to `msg_size`; not
 * touched when msg_size is 0).
 */
int tp__local_key_check(const char *key, char *msg, size_t msg_size);

/* 1 when `bucket` is a valid bucket name (3..63 of [a-z0-9.-], starting
 * and ending with a letter or digit, no ".."), else 0. */
int tp__local_bucket_valid(const char *bucket);

/* 1 when `name` is a valid queue name (1..80 of [A-Za-z0-9_-]), else 0. */
int tp__local_qname_valid(const char *name);

/*
 * Parse a receipt handle "lr1.<16 hex seq>.<8 hex generation>.<queue>"
 * issued for queue `name`: 0 with *seq and *gen set, or SM_EINVAL (then
 * both untouched).
 */
int tp__local_receipt_parse(const char *receipt, const char *name, uint64_t *seq,
    uint32_t *gen);

#endif
