/*
 * sm_jw.h - a direct JSON writer into one growing buffer: records and
 * messages are written without building a temporary Jansson tree.
 *
 *     struct sm_jw w = SM_JW_INIT;
 *
 *     sm_jw_lit(&w, "{\"id\":");
 *     sm_jw_str(&w, id);
 *     sm_jw_lit(&w, ",\"n\":");
 *     sm_jw_int(&w, n);
 *     sm_jw_lit(&w, "}");
 *     if (w.err)
 *             ... w.err is SM_ENOMEM, SM_ETOOBIG or SM_EINVAL ...
 *     else
 *             ... use w.buf[0 .. w.len) (not NUL-terminated) ...
 *     sm_jw_reset(&w);          (write the next one)
 *     sm_jw_free(&w);           (done)
 *
 * The caller writes the punctuation (`{`, `,`, `:`) itself with sm_jw_lit;
 * values go through sm_jw_str / sm_jw_int / sm_jw_json, which escape and
 * format them.  Errors stick: after the first one every call is a no-op and
 * `err` keeps the code, so check it once at the end.
 *
 * Output is byte-for-byte what json_dumpb(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * prints for the same value (object members in insertion order, Jansson's
 * real format), except that a byte which is not well-formed UTF-8 becomes
 * \u00XX so the output stays valid JSON.
 *
 * Memory: the buffer grows as needed (to about twice the longest output)
 * and is kept between uses up to SM_JW_KEEP_MAX bytes; sm_jw_reset() gives
 * back a larger one, so one huge record does not pin its size for the life
 * of a long-running writer.  The struct is the caller's; `buf` is owned by
 * the writer until sm_jw_free().
 */
#ifndef SM_JW_H
#define SM_JW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Nesting over this many levels (or a cycle) makes sm_jw_json fail with
 * SM_ETOOBIG. */
#define SM_JW_DEPTH_MAX 1000
/* Largest buffer sm_jw_reset() keeps for the next use. */
#define SM_JW_KEEP_MAX ((size_t)256 * 1024)

struct sm_jw {
	char *buf;             /* the output, len bytes, not NUL-terminated */
	size_t len, cap;
	int err;               /* 0 or the first SM_E* code */
};

#define SM_JW_INIT { NULL, 0, 0, 0 }

/* Empty the output and clear `err` (frees a buffer over SM_JW_KEEP_MAX). */
void sm_jw_reset(struct sm_jw *w);
/* Free the buffer; `w` is then empty (SM_JW_INIT) and can be used again. */
void sm_jw_free(struct sm_jw *w);

/* `n` bytes as they are (the caller's JSON punctuation or a ready value). */
void sm_jw_raw(struct sm_jw *w, const char *s, size_t n);
/* The NUL-terminated `s` as it is. */
void sm_jw_lit(struct sm_jw *w, const char *s);
/* A JSON string of the NUL-terminated `s` (NULL: null). */
void sm_jw_str(struct sm_jw *w, const char *s);
/* A JSON string of `n` bytes at `s` (may hold NUL, escaped as \u0000;
 * NULL: null). */
void sm_jw_strn(struct sm_jw *w, const char *s, size_t n);
/* A JSON integer. */
void sm_jw_int(struct sm_jw *w, int64_t v);
/* `true` or `false`. */
void sm_jw_bool(struct sm_jw *w, int v);
/* Any Jansson value, compact (NULL: null). */
void sm_jw_json(struct sm_jw *w, const json_t *v);

#endif
