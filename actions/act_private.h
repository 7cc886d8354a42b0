/*
 * act_private.h - helpers shared by the files of actions/ (prefix act__).
 */
#ifndef ACT_PRIVATE_H
#define ACT_PRIVATE_H

#include <stddef.h>

#define ACT__EXCERPT_MAX 40     /* bytes of sender text quoted in a message */

/*
 * Write a quoted, escaped excerpt of `s` (at most ACT__EXCERPT_MAX input
 * bytes, then "...") into `out` (NUL-terminated, cut to `size`): printable
 * ASCII as is, '"' and '\\' backslashed, every other byte as \xNN.  For
 * error messages that name what the sender wrote without letting it forge
 * a log line or drive a terminal.
 */
void act__excerpt(const char *s, size_t n, char *out, size_t size);

#endif
