/*
 * sm_log.h - logging for daemons and tools (after OpenBSD log.h).
 *
 * Lines go to one sink (stderr unless sm_log_init says otherwise) as
 * "2026-11-28T19:20:01.123Z level: message".  The sink is process-wide
 * configuration set once by main(); library code only calls the log
 * functions.  Never pass secrets to these functions.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <stdio.h>

enum sm_log_level {
	SM_LOG_ERROR = 0,
	SM_LOG_WARN = 1,
	SM_LOG_INFO = 2,
	SM_LOG_DEBUG = 3
};

/*
 * Set the sink and the most verbose level printed.  `fp` NULL means
 * stderr.  `progname` prefixes every line when not NULL.  The FILE is not
 * closed by the logger.
 */
void sm_log_init(FILE *fp, enum sm_log_level level, const char *progname);
enum sm_log_level sm_log_level(void);

void sm_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sm_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sm_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sm_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log at ERROR and exit(1).  For main() and its helpers only. */
void sm_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken internal invariant: print file:line and abort(). */
#define SM_BUG(...) sm__bug(__FILE__, __LINE__, __VA_ARGS__)
void sm__bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
