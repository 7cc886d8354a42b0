#include "sm_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
sm_strerror(int code)
{
	switch (code) {
	case SM_OK:
		return "success";
#define SM__ERR_STR(name, msg) case SM_E##name: return msg;
	SM_ERRNO_MAP(SM__ERR_STR)
#undef SM__ERR_STR
	default:
		return "unknown error";
	}
}

const char *
sm_errname(int code)
{
	switch (code) {
	case SM_OK:
		return "SM_OK";
#define SM__ERR_NAME(name, msg) case SM_E##name: return "SM_E" #name;
	SM_ERRNO_MAP(SM__ERR_NAME)
#undef SM__ERR_NAME
	default:
		return "SM_E?";
	}
}

int
sm_error_set(struct sm_error *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return code;
}

void
sm_error_prefix(struct sm_error *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, mlen;
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	plen = strlen(prefix);
	memcpy(prefix + plen, ": ", 3);
	plen += 2;
	if (plen >= sizeof(err->msg))
		return;
	/* Shift the old message right (truncating its tail), then copy. */
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (mlen + plen > sizeof(err->msg) - 1)
		mlen = sizeof(err->msg) - 1 - plen;
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = '\0';
}

void
sm_error_clear(struct sm_error *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int
sm_error_from_errno(int e)
{
	switch (e) {
	case 0:
		return SM_OK;
	case ENOMEM:
		return SM_ENOMEM;
	case ENOENT:
		return SM_ENOTFOUND;
	case EEXIST:
		return SM_EEXISTS;
	case ENOSPC:
	case EDQUOT:
		return SM_EFULL;
	case EFBIG:
	case E2BIG:
	case ENAMETOOLONG:
		return SM_ETOOBIG;
	case EINVAL:
		return SM_EINVAL;
	case EACCES:
	case EPERM:
		return SM_EPERM;
	case ETIMEDOUT:
		return SM_ETIMEOUT;
	case EAGAIN:
	case EINTR:
		return SM_EAGAIN;
	case EBUSY:
		return SM_EBUSY;
	case ECANCELED:
		return SM_ECANCELED;
	case ERANGE:
		return SM_ERANGE;
	case ENOTSUP:
		return SM_EUNSUPPORTED;
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return SM_ENET;
	default:
		return SM_EIO;
	}
}
