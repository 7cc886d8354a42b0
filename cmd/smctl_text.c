/*
 * smctl_text.c - text from outside written safely on a terminal (smctl.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sm_text.h"
#include "smctl.h"

void
smctl_safe_write(FILE *out, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f)
				fprintf(out, "\\x%02x", p[i]);
			else
				fputc(p[i], out);
			i++;
		} else if ((n = sm_utf8_seq(p + i, len - i)) == 0) {
			/* not UTF-8: on an 8-bit terminal 0x80-0x9f are C1 controls */
			fprintf(out, "\\x%02x", p[i++]);
		} else if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
			/* U+0080-U+009F: C1 controls (0x9b is CSI) to some terminals */
			fprintf(out, "\\u%04x", p[i + 1]);
			i += 2;
		} else {
			fwrite(p + i, 1, n, out);
			i += n;
		}
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
