#include "sm_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The one piece of process-wide state: where log lines go. */
static struct {
	FILE *fp;
	enum sm_log_level level;
	const char *progname;
} sm__log = { NULL, SM_LOG_INFO, NULL };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
sm_log_init(FILE *fp, enum sm_log_level level, const char *progname)
{
	sm__log.fp = fp;
	sm__log.level = level;
	sm__log.progname = progname;
}

enum sm_log_level
sm_log_level(void)
{
	return sm__log.level;
}

static void
vlog(enum sm_log_level level, const char *fmt, va_list ap)
{
	FILE *fp = sm__log.fp != NULL ? sm__log.fp : stderr;
	struct timespec ts;
	struct tm tm;
	char stamp[40];
	int saved = errno;

	if (level > sm__log.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(fp);
	fprintf(fp, "%s.%03ldZ %s%s%s: ", stamp, ts.tv_nsec / 1000000L,
	    sm__log.progname ? sm__log.progname : "",
	    sm__log.progname ? " " : "", level_names[level]);
	vfprintf(fp, fmt, ap);
	fputc('\n', fp);
	fflush(fp);
	funlockfile(fp);
	errno = saved;
}

#define SM__LOG_FN(fn, lvl)                    \
	void fn(const char *fmt, ...)          \
	{                                      \
		va_list ap;                    \
		va_start(ap, fmt);             \
		vlog(lvl, fmt, ap);            \
		va_end(ap);                    \
	}
SM__LOG_FN(sm_log_error, SM_LOG_ERROR)
SM__LOG_FN(sm_log_warn, SM_LOG_WARN)
SM__LOG_FN(sm_log_info, SM_LOG_INFO)
SM__LOG_FN(sm_log_debug, SM_LOG_DEBUG)

void
sm_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(SM_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
sm__bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
