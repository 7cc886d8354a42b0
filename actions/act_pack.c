/*
 * act_pack.c - cleaned items, CSV, best-seller merge, zips.  See act_pack.h.
 *
 * Two passes over the data, one line in memory at a time: pass 1 reads the
 * spider's output, writes the cleaned .jl and collects the key set; pass 2
 * reads the cleaned .jl back and writes the CSV under the sorted header.
 */
#include "act_pack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zip.h>

#include "act_private.h"
#include "sm_jw.h"
#include "sm_text.h"

#define READ_CHUNK (64 * 1024)

/* ---- lines ------------------------------------------------------------ */

struct lines {
	FILE *f;
	const char *path;
	char *rbuf;
	size_t rpos, rlen;
	char *buf; /* the current line, NUL-terminated, no '\n' */
	size_t len, cap, max;
	uint64_t lineno;
};

enum { L_EOF = 0, L_LINE = 1, L_TOOLONG = 2, L_ERROR = -1 };

static int
lines_open(struct lines *l, const char *path, size_t max, struct sm_error *err)
{
	memset(l, 0, sizeof(*l));
	l->path = path;
	l->max = max;
	if ((l->f = fopen(path, "rb")) == NULL)
		return sm_error_set(
		    err, sm_error_from_errno(errno), "cannot open '%s': %s", path, strerror(errno));
	if ((l->rbuf = malloc(READ_CHUNK)) == NULL) {
		fclose(l->f);
		l->f = NULL;
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	return 0;
}

static void
lines_close(struct lines *l)
{
	if (l->f != NULL)
		fclose(l->f);
	free(l->rbuf);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

static int
append(struct lines *l, const char *p, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *b;

		while (cap < l->len + n + 1)
			cap *= 2;
		if ((b = realloc(l->buf, cap)) == NULL)
			return -1;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	return 0;
}

/* The next line: L_LINE, L_TOOLONG (consumed, not kept), L_EOF or L_ERROR
 * (errno set; ENOMEM for memory). */
static int
lines_next(struct lines *l)
{
	int toolong = 0, any = 0;

	l->len = 0;
	for (;;) {
		char *nl;
		size_t n;

		if (l->rpos == l->rlen) {
			l->rpos = 0;
			l->rlen = fread(l->rbuf, 1, READ_CHUNK, l->f);
			if (l->rlen == 0) {
				if (ferror(l->f)) {
					errno = errno ? errno : EIO;
					return L_ERROR;
				}
				if (!any)
					return L_EOF;
				break;
			}
		}
		any = 1;
		nl = memchr(l->rbuf + l->rpos, '\n', l->rlen - l->rpos);
		n = (nl != NULL ? (size_t)(nl - l->rbuf) : l->rlen) - l->rpos;
		if (!toolong && l->len + n > l->max)
			toolong = 1;
		if (!toolong && append(l, l->rbuf + l->rpos, n) != 0) {
			errno = ENOMEM;
			return L_ERROR;
		}
		l->rpos += n;
		if (nl != NULL) {
			l->rpos++;
			break;
		}
	}
	l->lineno++;
	if (toolong)
		return L_TOOLONG;
	if (l->len > 0 && l->buf[l->len - 1] == '\r')
		l->len--;
	if (append(l, "", 1) != 0) {
		errno = ENOMEM;
		return L_ERROR;
	}
	l->len--;
	return L_LINE;
}

/* An item from the current line, or NULL with the reason in `why`. */
static json_t *
parse_item(const struct lines *l, char *why, size_t size)
{
	json_error_t e;
	json_t *v;
	char text[ACT_PACK_WHY_SIZE - 60]; /* the reason, cut to fit `why` */
	size_t i;

	if (l->len == 0) {
		snprintf(why, size, "line %" PRIu64 ": empty", l->lineno);
		return NULL;
	}
	v = json_loadb(l->buf, l->len, JSON_ALLOW_NUL, &e);
	if (v == NULL && strstr(e.text, "too big integer") != NULL)
		v = json_loadb(l->buf, l->len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
	if (v == NULL) {
		for (i = 0; e.text[i] != '\0' && i + 1 < sizeof(text); i++)
			text[i] =
			    ((unsigned char)e.text[i] >= 0x20 && (unsigned char)e.text[i] < 0x7f) ?
			    e.text[i] :
			    '?';
		text[i] = '\0';
		snprintf(why, size, "line %" PRIu64 ": not JSON: %s", l->lineno, text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(why, size, "line %" PRIu64 ": not a JSON object", l->lineno);
		return NULL;
	}
	return v;
}

/* ---- JSON out ----------------------------------------------------------- */

/*
 * Compact JSON of `v` into `w`, keys in their order: sm_jw's output except
 * that reals are written as Python writes them (0.1, not Jansson's
 * 0.10000000000000001): these are the spider's numbers, read by people.
 */
static void
put_json(struct sm_jw *w, const json_t *v)
{
	char num[64];
	const char *key;
	size_t klen, i;
	json_t *x;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		sm_jw_lit(w, "{");
		i = 0;
		json_object_keylen_foreach((json_t *)v, key, klen, x)
		{
			if (i++ > 0)
				sm_jw_lit(w, ",");
			sm_jw_strn(w, key, klen);
			sm_jw_lit(w, ":");
			put_json(w, x);
		}
		sm_jw_lit(w, "}");
		break;
	case JSON_ARRAY:
		sm_jw_lit(w, "[");
		json_array_foreach(v, i, x)
		{
			if (i > 0)
				sm_jw_lit(w, ",");
			put_json(w, x);
		}
		sm_jw_lit(w, "]");
		break;
	case JSON_REAL:
		sm_real_text(json_real_value(v), num, sizeof(num));
		sm_jw_lit(w, num);
		break;
	default:
		sm_jw_json(w, v);
	}
}

/* ---- best-seller map ------------------------------------------------------ */

static int
load_rankings(
    const char *path, size_t max, json_t *map, struct act_pack_stats *st, struct sm_error *err)
{
	struct lines l;
	char why[ACT_PACK_WHY_SIZE];
	int rc, r;

	if ((rc = lines_open(&l, path, max, err)) != 0)
		return rc;
	while ((r = lines_next(&l)) != L_EOF) {
		json_t *it, *url, *rank;

		if (r == L_ERROR) {
			rc = sm_error_set(err, sm_error_from_errno(errno), "cannot read '%s': %s",
			    path, strerror(errno));
			break;
		}
		if (r == L_TOOLONG || (it = parse_item(&l, why, sizeof(why))) == NULL) {
			st->bsr_dropped++;
			continue;
		}
		st->bsr_items++;
		url = json_object_get(it, "url");
		if (json_is_string(url) &&
		    json_object_getn(map, json_string_value(url), json_string_length(url)) ==
		        NULL) {
			rank = json_object_get(it, "ranking");
			rank = rank != NULL && !json_is_null(rank) ?
			    json_incref(rank) :
			    json_integer((json_int_t)st->bsr_items);
			if (rank == NULL ||
			    json_object_setn_new_nocheck(
			        map, json_string_value(url), json_string_length(url), rank) != 0) {
				rc = sm_error_set(err, SM_ENOMEM, "out of memory");
				break;
			}
		}
		json_decref(it);
	}
	lines_close(&l);
	return rc;
}

/* ---- CSV ----------------------------------------------------------------- */

static void
put_field(FILE *f, const char *p, size_t n, int alone)
{
	size_t i;

	if (n == 0 && alone) {
		fputs("\"\"", f); /* an empty line would read as no row */
		return;
	}
	for (i = 0; i < n; i++)
		if (p[i] == '"' || p[i] == ',' || p[i] == '\r' || p[i] == '\n')
			break;
	if (i == n) {
		if (n > 0)
			fwrite(p, 1, n, f);
		return;
	}
	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"')
			fputc('"', f);
		fputc(p[i], f);
	}
	fputc('"', f);
}

struct column {
	const char *key;
	size_t len;
};

static int
cmp_column(const void *a, const void *b)
{
	const struct column *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* A value as CSV text: strings as they are, null empty, the rest as JSON. */
static void
field_text(const json_t *v, struct sm_jw *w)
{
	if (json_is_string(v))
		sm_jw_raw(w, json_string_value(v), json_string_length(v));
	else if (!json_is_null(v))
		put_json(w, v);
}

static int
write_csv(const struct act_pack_opts *o, size_t max, json_t *keys, struct act_pack_stats *st,
    struct sm_error *err)
{
	struct column *cols = NULL;
	const json_t **vals = NULL;
	json_t *index = NULL, *x;
	const char *key;
	size_t klen, n = 0, i;
	struct lines l = { 0 };
	struct sm_jw w = SM_JW_INIT;
	char why[ACT_PACK_WHY_SIZE];
	FILE *out = NULL;
	int rc = 0, r;

	if ((out = fopen(o->csv_out, "wb")) == NULL)
		return sm_error_set(err, sm_error_from_errno(errno), "cannot create '%s': %s",
		    o->csv_out, strerror(errno));
	if (st->items == 0)
		goto close;
	if ((cols = calloc(json_object_size(keys) + 1, sizeof(*cols))) == NULL ||
	    (index = json_object()) == NULL)
		goto nomem;
	json_object_keylen_foreach(keys, key, klen, x)
	{
		cols[n].key = key;
		cols[n++].len = klen;
	}
	qsort(cols, n, sizeof(*cols), cmp_column);
	if (n > ACT_PACK_MAX_COLUMNS) {
		st->columns_cut = n - ACT_PACK_MAX_COLUMNS;
		n = ACT_PACK_MAX_COLUMNS;
	}
	st->columns = n;
	if ((vals = calloc(n + 1, sizeof(*vals))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (json_object_setn_new_nocheck(
		        index, cols[i].key, cols[i].len, json_integer((json_int_t)i)) != 0)
			goto nomem;
		if (i > 0)
			fputc(',', out);
		put_field(out, cols[i].key, cols[i].len, n == 1);
	}
	fputs("\r\n", out);

	if ((rc = lines_open(&l, o->jl_out, max, err)) != 0)
		goto close;
	while ((r = lines_next(&l)) != L_EOF) {
		json_t *it;

		if (r == L_ERROR) {
			rc = sm_error_set(err, sm_error_from_errno(errno), "cannot read '%s': %s",
			    o->jl_out, strerror(errno));
			goto close;
		}
		/* we wrote these lines: each one is an item */
		if (r == L_TOOLONG || (it = parse_item(&l, why, sizeof(why))) == NULL) {
			rc = sm_error_set(err, SM_EIO, "'%s' changed while it was read", o->jl_out);
			goto close;
		}
		memset(vals, 0, (n + 1) * sizeof(*vals));
		json_object_keylen_foreach(it, key, klen, x)
		{
			json_t *ix = json_object_getn(index, key, klen);

			if (ix != NULL)
				vals[json_integer_value(ix)] = x;
		}
		for (i = 0; i < n; i++) {
			if (i > 0)
				fputc(',', out);
			sm_jw_reset(&w);
			if (vals[i] != NULL)
				field_text(vals[i], &w);
			if (w.err != 0) {
				json_decref(it);
				goto nomem;
			}
			put_field(out, w.buf, w.len, n == 1);
		}
		fputs("\r\n", out);
		json_decref(it);
	}
	goto close;
nomem:
	rc = sm_error_set(err, SM_ENOMEM, "out of memory");
close:
	if (l.f != NULL)
		lines_close(&l);
	sm_jw_free(&w);
	if ((ferror(out) | fclose(out)) != 0 && rc == 0)
		rc = sm_error_set(err, sm_error_from_errno(errno), "cannot write '%s': %s",
		    o->csv_out, strerror(errno));
	free(vals);
	free(cols);
	json_decref(index);
	return rc;
}

/* ---- pack ---------------------------------------------------------------- */

int
act_pack(const struct act_pack_opts *o, struct act_pack_stats *st, struct sm_error *err)
{
	size_t max = o->line_max > 0 ? o->line_max : ACT_PACK_LINE_MAX;
	json_t *map = NULL, *keys = NULL, *x;
	struct lines l = { 0 };
	struct sm_jw w = SM_JW_INIT;
	char why[ACT_PACK_WHY_SIZE];
	const char *key;
	size_t klen;
	FILE *out = NULL;
	int rc = 0, r;

	memset(st, 0, sizeof(*st));
	if ((keys = json_object()) == NULL ||
	    (o->bsr_in != NULL && (map = json_object()) == NULL)) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if (o->bsr_in != NULL && (rc = load_rankings(o->bsr_in, max, map, st, err)) != 0)
		goto out;
	if ((rc = lines_open(&l, o->jl_in, max, err)) != 0)
		goto out;
	if ((out = fopen(o->jl_out, "wb")) == NULL) {
		rc = sm_error_set(err, sm_error_from_errno(errno), "cannot create '%s': %s",
		    o->jl_out, strerror(errno));
		goto out;
	}
	while ((r = lines_next(&l)) != L_EOF) {
		json_t *it;

		if (r == L_ERROR) {
			rc = sm_error_set(err, sm_error_from_errno(errno), "cannot read '%s': %s",
			    o->jl_in, strerror(errno));
			goto out;
		}
		if (r == L_TOOLONG) {
			snprintf(why, sizeof(why), "line %" PRIu64 ": longer than %zu bytes",
			    l.lineno, max);
			it = NULL;
		} else {
			it = parse_item(&l, why, sizeof(why));
		}
		if (it == NULL) {
			if (st->dropped++ == 0)
				snprintf(st->first_drop, sizeof(st->first_drop), "%s", why);
			continue;
		}
		st->items++;
		if (map != NULL) {
			json_t *url = json_object_get(it, "url"), *rank = NULL;

			if (json_is_string(url))
				rank = json_object_getn(
				    map, json_string_value(url), json_string_length(url));
			if (rank != NULL)
				st->ranked++;
			if (json_object_set_new(it, "best_seller_ranking",
			        rank != NULL ? json_incref(rank) : json_null()) != 0) {
				json_decref(it);
				rc = sm_error_set(err, SM_ENOMEM, "out of memory");
				goto out;
			}
			sm_jw_reset(&w);
			put_json(&w, it);
			if (w.err != 0) {
				json_decref(it);
				rc = sm_error_set(err, w.err, "item on line %" PRIu64 ": %s",
				    l.lineno, sm_strerror(w.err));
				goto out;
			}
			fwrite(w.buf, 1, w.len, out);
		} else {
			fwrite(l.buf, 1, l.len, out);
		}
		fputc('\n', out);
		json_object_keylen_foreach(
		    it, key, klen, x) if (json_object_getn(keys, key, klen) == NULL &&
		    json_object_setn_new_nocheck(keys, key, klen, json_null()) != 0)
		{
			json_decref(it);
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto out;
		}
		json_decref(it);
	}
	if ((ferror(out) | fclose(out)) != 0) {
		out = NULL;
		rc = sm_error_set(err, sm_error_from_errno(errno), "cannot write '%s': %s",
		    o->jl_out, strerror(errno));
		goto out;
	}
	out = NULL;
	rc = write_csv(o, max, keys, st, err);
out:
	if (out != NULL)
		fclose(out);
	lines_close(&l);
	sm_jw_free(&w);
	json_decref(keys);
	json_decref(map);
	return rc;
}

/* ---- zip ----------------------------------------------------------------- */

static int
entry_ok(const char *entry)
{
	return entry != NULL && entry[0] != '\0' && strchr(entry, '/') == NULL;
}

int
act_zip_file(const char *src, const char *entry, const char *zip_path, struct sm_error *err)
{
	zip_error_t ze;
	zip_source_t *zs = NULL;
	zip_t *za;
	int zerr = 0, rc = 0;
	FILE *probe;

	if (!entry_ok(entry))
		return sm_error_set(err, SM_EINVAL, "zip entry name must be a file name");
	/* libzip reads the source only in zip_close: check it now for a clear message */
	if ((probe = fopen(src, "rb")) == NULL)
		return sm_error_set(
		    err, sm_error_from_errno(errno), "cannot open '%s': %s", src, strerror(errno));
	fclose(probe);
	if ((za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr)) == NULL) {
		zip_error_init_with_code(&ze, zerr);
		rc = sm_error_set(
		    err, SM_EIO, "cannot create '%s': %s", zip_path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return rc;
	}
	if ((zs = zip_source_file(za, src, 0, -1)) == NULL ||
	    zip_file_add(za, entry, zs, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
		rc = sm_error_set(err, SM_EIO, "cannot zip '%s': %s", src, zip_strerror(za));
		if (zs != NULL)
			zip_source_free(zs);
		zip_discard(za);
		return rc;
	}
	if (zip_close(za) != 0) {
		rc = sm_error_set(err, SM_EIO, "cannot write '%s': %s", zip_path, zip_strerror(za));
		zip_discard(za);
	}
	return rc;
}

int
act_zip_mem(const void *data, size_t len, const char *entry, char **out, size_t *outlen,
    struct sm_error *err)
{
	zip_error_t ze;
	zip_source_t *buf, *src;
	zip_t *za;
	zip_int64_t size;
	char *bytes = NULL;
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	if (!entry_ok(entry))
		return sm_error_set(err, SM_EINVAL, "zip entry name must be a file name");
	zip_error_init(&ze);
	if ((buf = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		zip_error_fini(&ze);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	if ((za = zip_open_from_source(buf, ZIP_TRUNCATE, &ze)) == NULL) {
		rc = sm_error_set(err, SM_EIO, "cannot zip in memory: %s", zip_error_strerror(&ze));
		goto out;
	}
	zip_source_keep(buf); /* the archive's close frees its reference: the bytes are ours */
	if ((src = zip_source_buffer(za, data, len, 0)) == NULL ||
	    zip_file_add(za, entry, src, ZIP_FL_ENC_UTF_8) < 0) {
		rc = sm_error_set(err, SM_EIO, "cannot zip '%s': %s", entry, zip_strerror(za));
		if (src != NULL)
			zip_source_free(src);
		zip_discard(za);
		goto out;
	}
	if (zip_close(za) != 0) {
		rc = sm_error_set(err, SM_EIO, "cannot zip '%s': %s", entry, zip_strerror(za));
		zip_discard(za);
		goto out;
	}
	if (zip_source_open(buf) != 0 || zip_source_seek(buf, 0, SEEK_END) != 0 ||
	    (size = zip_source_tell(buf)) < 0 || zip_source_seek(buf, 0, SEEK_SET) != 0) {
		rc = sm_error_set(err, SM_EIO, "cannot read the zip of '%s'", entry);
		goto out;
	}
	if ((bytes = malloc((size_t)size + 1)) == NULL)
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
	else if (zip_source_read(buf, bytes, (zip_uint64_t)size) != size)
		rc = sm_error_set(err, SM_EIO, "cannot read the zip of '%s'", entry);
	zip_source_close(buf);
	if (rc == 0) {
		*out = bytes;
		*outlen = (size_t)size;
		bytes = NULL;
	}
out:
	free(bytes);
	zip_source_free(buf);
	zip_error_fini(&ze);
	return rc;
}
