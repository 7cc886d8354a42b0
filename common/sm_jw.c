#include "sm_jw.h"

#include <stdlib.h>
#include <string.h>

#include "sm_err.h"
#include "sm_text.h"

/* Make room for `more` bytes; 0, or -1 with w->err set (or already set). */
static int
jw_grow(struct sm_jw *w, size_t more)
{
	size_t cap;
	char *nb;

	if (w->err)
		return -1;
	if (more <= w->cap - w->len)
		return 0;
	if (more > SIZE_MAX / 2 - w->len) {
		w->err = SM_ETOOBIG;
		return -1;
	}
	cap = w->cap ? w->cap : 1024;
	while (cap < w->len + more)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->err = SM_ENOMEM;
		return -1;
	}
	w->buf = nb;
	w->cap = cap;
	return 0;
}

void
sm_jw_reset(struct sm_jw *w)
{
	if (w->cap > SM_JW_KEEP_MAX) {
		free(w->buf);
		w->buf = NULL;
		w->cap = 0;
	}
	w->len = 0;
	w->err = 0;
}

void
sm_jw_free(struct sm_jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void
sm_jw_raw(struct sm_jw *w, const char *s, size_t n)
{
	if (jw_grow(w, n) != 0)
		return;
	if (n)
		memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void
sm_jw_lit(struct sm_jw *w, const char *s)
{
	sm_jw_raw(w, s, strlen(s));
}

void
sm_jw_strn(struct sm_jw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, l;
	char esc[6];
	size_t elen;
	unsigned char c;

	if (!str) {
		sm_jw_raw(w, "null", 4);
		return;
	}
	/* room for the common case (nothing to escape); escapes grow as met,
	 * so the reserve follows the output, not 6 times the input */
	if (jw_grow(w, n + 2) != 0)
		return;
	w->buf[w->len++] = '"';
	while (i < n) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		    s[run] != '\\'; run++)
			;
		if (run > i) {
			sm_jw_raw(w, str + i, run - i);
			i = run;
			continue;
		}
		c = s[i];
		if (c >= 0x80) {
			l = sm_utf8_seq(s + i, n - i);
			if (l) {
				sm_jw_raw(w, str + i, l);
				i += l;
				continue;
			}
			/* not UTF-8: keep the JSON valid, the byte as U+00XX */
		}
		esc[0] = '\\';
		elen = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		sm_jw_raw(w, esc, elen);
		i++;
	}
	sm_jw_raw(w, "\"", 1);
}

void
sm_jw_str(struct sm_jw *w, const char *s)
{
	sm_jw_strn(w, s, s ? strlen(s) : 0);
}

void
sm_jw_int(struct sm_jw *w, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	sm_jw_raw(w, tmp + i, sizeof(tmp) - i);
}

void
sm_jw_bool(struct sm_jw *w, int v)
{
	if (v)
		sm_jw_raw(w, "true", 4);
	else
		sm_jw_raw(w, "false", 5);
}

static void
jw_json_depth(struct sm_jw *w, const json_t *v, int depth)
{
	if (w->err)
		return;
	if (depth > SM_JW_DEPTH_MAX) {
		w->err = SM_ETOOBIG; /* or a cycle */
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		json_t *x;
		int first = 1;
		void *it;

		sm_jw_raw(w, "{", 1);
		for (it = json_object_iter((json_t *)v); it;
		    it = json_object_iter_next((json_t *)v, it)) {
			x = json_object_iter_value(it);
			if (!first)
				sm_jw_raw(w, ",", 1);
			first = 0;
			sm_jw_strn(w, json_object_iter_key(it), json_object_iter_key_len(it));
			sm_jw_raw(w, ":", 1);
			jw_json_depth(w, x, depth + 1);
		}
		sm_jw_raw(w, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(v);

		sm_jw_raw(w, "[", 1);
		for (i = 0; i < n; i++) {
			if (i)
				sm_jw_raw(w, ",", 1);
			jw_json_depth(w, json_array_get(v, i), depth + 1);
		}
		sm_jw_raw(w, "]", 1);
		break;
	}
	case JSON_STRING:
		sm_jw_strn(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		sm_jw_int(w, json_integer_value(v));
		break;
	case JSON_TRUE:
		sm_jw_raw(w, "true", 4);
		break;
	case JSON_FALSE:
		sm_jw_raw(w, "false", 5);
		break;
	case JSON_NULL:
		sm_jw_raw(w, "null", 4);
		break;
	default: { /* JSON_REAL: Jansson's own format, so values round-trip alike */
		size_t n;

		if (jw_grow(w, 64) != 0)
			return;
		n = json_dumpb(v, w->buf + w->len, 64, JSON_ENCODE_ANY | JSON_COMPACT);
		if (n == 0 || n > 64)
			w->err = SM_EINVAL;
		else
			w->len += n;
		break;
	}
	}
}

void
sm_jw_json(struct sm_jw *w, const json_t *v)
{
	if (!v)
		sm_jw_raw(w, "null", 4);
	else
		jw_json_depth(w, v, 0);
}
