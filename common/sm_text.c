#include "sm_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sm_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
sm_real_text(double d, char *buf, size_t size)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 3 <= size)
		strcat(buf, ".0");
}

void
sm_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

size_t
sm_uri_encode(char *out, const void *s, size_t n, int keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	const unsigned char *p = s;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

size_t
sm_utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
sm_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, l;

	while (i < n) {
		if ((l = sm_utf8_seq(s + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

size_t
sm_utf8_repair(char *out, const char *s, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t l = sm_utf8_seq((const unsigned char *)s + i, n - i);

		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	return o;
}

const char *
sm_text_escape(char *buf, size_t cap, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\') {
			if (o + 4 >= cap)
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[s[i] >> 4];
			buf[o++] = hex[s[i] & 15];
		} else {
			if (o + 1 >= cap)
				break;
			buf[o++] = (char)s[i];
		}
	}
	buf[o] = '\0';
	return buf;
}
