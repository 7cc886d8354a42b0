/*
 * sm_err.h - the project's error codes and the caller-owned error struct.
 *
 * Every function that can fail returns int: 0 on success or one negative
 * SM_E* code from the table below.  Multi-step operations also take a
 * `struct sm_error *` that receives a whole human-readable message on
 * failure and is left untouched on success.  A NULL `struct sm_error *`
 * is always allowed and means "the caller only wants the code".
 *
 * Foreign codes (errno, MDB_*, CURLcode, libxml2) are translated at the
 * boundary by the module that calls the foreign library; the foreign
 * detail goes into the message.
 */
#ifndef SM_ERR_H
#define SM_ERR_H

#include <stddef.h>

/* X(name, message) - message is lower case, no full stop. */
#define SM_ERRNO_MAP(X)                                                   \
	X(NOMEM, "out of memory")                                         \
	X(INVAL, "invalid argument")                                      \
	X(IO, "input/output error")                                       \
	X(PARSE, "parse error")                                           \
	X(INVALID, "document does not validate")                          \
	X(NOTFOUND, "not found")                                          \
	X(EXISTS, "already exists")                                       \
	X(FULL, "storage full")                                           \
	X(TOOBIG, "too large")                                            \
	X(RANGE, "value out of range")                                    \
	X(TIMEOUT, "timed out")                                           \
	X(AGAIN, "try again")                                             \
	X(BUSY, "resource busy")                                          \
	X(CANCELED, "operation canceled")                                 \
	X(STORE, "store error")                                           \
	X(CORRUPT, "corrupt data")                                        \
	X(VERSION, "incompatible version")                                \
	X(HTTP, "http error")                                             \
	X(NET, "network error")                                           \
	X(TLS, "tls error")                                               \
	X(AUTH, "authentication failed")                                  \
	X(CREDS, "no credentials")                                        \
	X(SKEW, "clock skew")                                             \
	X(THROTTLED, "request throttled")                                 \
	X(SERVICE, "service error")                                       \
	X(PROTO, "protocol error")                                        \
	X(EXPR, "expression error")                                       \
	X(EXEC, "execution error")                                        \
	X(UNSUPPORTED, "not supported")                                   \
	X(PERM, "permission denied")                                      \
	X(CHILD, "child process failed")                                  \
	X(BUG, "internal error")

enum {
	SM_OK = 0,
	SM__ERR_BASE = -1000,
#define SM__ERR_ENUM(name, msg) SM_E##name,
	SM_ERRNO_MAP(SM__ERR_ENUM)
#undef SM__ERR_ENUM
	SM__ERR_END
};
/* Codes run from SM__ERR_BASE+1 (-999) upward; all are negative. */

/* Static text for a code ("out of memory"); "unknown error" otherwise. */
const char *sm_strerror(int code);
/* Static name for a code ("SM_ENOMEM"); "SM_E?" otherwise. */
const char *sm_errname(int code);

#define SM_ERROR_MSG_MAX 1024

struct sm_error {
	int code;                      /* SM_E* code; 0 while unset */
	char msg[SM_ERROR_MSG_MAX];    /* whole message, NUL-terminated */
};

/*
 * Fill `err` (if not NULL) with `code` and a formatted message, and return
 * `code`, so that callers can write `return sm_error_set(err, SM_EIO, ...)`.
 * errno is preserved.
 */
int sm_error_set(struct sm_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in `err` with "prefix: " (printf format). */
void sm_error_prefix(struct sm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset to the "no error" state. */
void sm_error_clear(struct sm_error *err);

/* Translate errno to an SM_E* code (ENOMEM -> SM_ENOMEM, ENOENT -> NOTFOUND...). */
int sm_error_from_errno(int e);

#endif
