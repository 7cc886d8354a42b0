/*
 * act_pack.h - from a spider's .jl output to the files smd uploads (SPEC 3
 * and 4): the cleaned items, the same items as CSV, each file zipped on
 * its own, with the best-seller ranking merged in.
 *
 * Items: each line of the spider's output that is a JSON object (UTF-8;
 * "\u0000" allowed; integers too big for 64 bits read as reals) is an
 * item; every other line (not JSON, a JSON value that is not an object,
 * empty, or longer than the line limit) is dropped and counted.  A last
 * line without its newline counts like any other.
 *
 * The cleaned .jl holds one item per line, in order: the spider's own bytes
 * (without a trailing CR), or, when ranking is merged, the item re-written
 * compactly with its keys in their order and "best_seller_ranking" set
 * (added last, or replaced in place).
 *
 * Best-seller merge: the second crawl's items give url -> ranking: the
 * item's "ranking" (any JSON value but null), else its 1-based position
 * among that output's items; the first item with a url wins.  Every main
 * item gets "best_seller_ranking": the ranking of its "url" (a string), or
 * null when that url is not in the second crawl.
 *
 * CSV (RFC 4180): a header of the sorted union of the items' top-level keys
 * (bytewise; at most ACT_PACK_MAX_COLUMNS, the first ones in that order),
 * then one row per item: strings as they are, numbers, true and false as
 * JSON, null and missing keys empty, objects and arrays as compact JSON;
 * a field holding '"', ',', CR or LF is quoted with '"' doubled; rows end
 * with CRLF.  No items: an empty file.
 *
 * Memory: one line at a time, plus the set of keys and, when merging, the
 * url -> ranking map.
 */
#ifndef ACT_PACK_H
#define ACT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

#define ACT_PACK_LINE_MAX (64 * 1024 * 1024)  /* bytes of one item line */
#define ACT_PACK_MAX_COLUMNS 4096             /* CSV columns */
#define ACT_PACK_WHY_SIZE 160

struct act_pack_opts {
	const char *jl_in;      /* the spider's output (must exist) */
	const char *bsr_in;     /* the best-seller crawl's output, or NULL: no merge */
	const char *jl_out;     /* the cleaned items (created or truncated) */
	const char *csv_out;    /* the CSV (created or truncated) */
	size_t line_max;        /* longest item line; 0: ACT_PACK_LINE_MAX */
};

struct act_pack_stats {
	uint64_t items;         /* items written */
	uint64_t dropped;       /* lines of jl_in that are not items */
	uint64_t bsr_items;     /* items of bsr_in */
	uint64_t bsr_dropped;   /* lines of bsr_in that are not items */
	uint64_t ranked;        /* items whose best_seller_ranking is not null */
	size_t columns;         /* CSV columns written */
	size_t columns_cut;     /* keys left out of the CSV (over ACT_PACK_MAX_COLUMNS) */
	char first_drop[ACT_PACK_WHY_SIZE]; /* "line N: why" for the first dropped
	                                     * line of jl_in; "" if none */
};

/*
 * Read jl_in (and bsr_in), write jl_out and csv_out, fill `st`.
 * Errors (message in `err` names the file): the errno of a failed open,
 * read or write as its SM_E* code (SM_ENOTFOUND for a missing jl_in, SM_EIO,
 * SM_EPERM, SM_EFULL...), SM_ENOMEM.  Dropped lines are not errors.
 */
int act_pack(const struct act_pack_opts *o, struct act_pack_stats *st, struct sm_error *err);

/*
 * Zip the file `src` on its own into `zip_path` as the one entry `entry`
 * (a file name without '/'), deflated; the zip replaces `zip_path`
 * atomically (libzip writes a temporary file and renames it).
 * Errors: SM_EINVAL (empty entry or one with '/'), the errno code of a
 * source that cannot be opened (SM_ENOTFOUND...), SM_EIO (libzip's message
 * in `err`).
 */
int act_zip_file(const char *src, const char *entry, const char *zip_path, struct sm_error *err);

/*
 * The `len` bytes at `data` zipped in memory as the one entry `entry`,
 * deflated: a malloc'd zip into *out (*outlen bytes; the caller frees).
 * Errors: SM_EINVAL (entry as above), SM_ENOMEM, SM_EIO (libzip's message).
 */
int act_zip_mem(const void *data, size_t len, const char *entry, char **out, size_t *outlen,
    struct sm_error *err);

#endif
