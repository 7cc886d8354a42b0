#include "sm_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm_time.h"

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
	char stamp[SM_TIME_FMT_SIZE];
	int saved = errno;

	if (level > sm__log.level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	sm_time_format(stamp, sizeof(stamp), (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	flockfile(fp);
	fprintf(fp, "%s %s%s%s: ", stamp, sm__log.progname ? sm__log.progname : "",
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
