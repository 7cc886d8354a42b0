/*
 * act_util.c - the act__ helpers of act_private.h.
 */
#include "act_private.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
act__excerpt(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0, lim = n > ACT__EXCERPT_MAX ? ACT__EXCERPT_MAX : n;
	char tmp[8];
	const char *piece;
	size_t plen;

	if (size == 0)
		return;
#define PUT(p, l)                                                       \
	do {                                                            \
		for (size_t k_ = 0; k_ < (l); k_++)                     \
			if (o + 1 < size)                               \
				out[o++] = (p)[k_];                     \
	} while (0)
	PUT("\"", 1);
	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			piece = tmp;
			plen = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			piece = tmp;
			plen = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			piece = tmp;
			plen = 4;
		}
		PUT(piece, plen);
	}
	PUT("\"", 1);
	if (n > lim)
		PUT("...", 3);
#undef PUT
	out[o] = '\0';
}

int
act__boot_id(char out[ACT__BOOT_ID_SIZE])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	out[0] = 0;
	if (fd == -1)
		return SM_ENOTFOUND;
	n = read(fd, out, ACT__BOOT_ID_SIZE - 1);
	close(fd);
	if (n <= 0)
		return SM_ENOTFOUND;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}
