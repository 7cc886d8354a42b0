/*
 * smctl_text.c - text from outside written safely on a terminal (smctl.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "smctl.h"

void
smctl_safe_write(FILE *out, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

void
smctl_safe_printf(FILE *out, const char *fmt, ...)
{
	va_list ap;
	char *buf = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	smctl_safe_write(out, buf, (size_t)n);
	free(buf);
}
