/*
 * bench_zip.h - one zip archive in memory, for the benchmarks that fill a
 * bucket with smd's outputs and records (header-only; link libzip).
 */
#ifndef BENCH_ZIP_H
#define BENCH_ZIP_H

#include <stdlib.h>

#include <zip.h>

/* One zip archive holding `name` = `data`, in memory. */
static inline char *
zip_mem(const char *name, const char *data, size_t len, size_t *outlen)
{
	zip_error_t ze;
	zip_source_t *src, *m;
	zip_t *za;
	zip_stat_t st;
	char *buf;

	zip_error_init(&ze);
	if (!(src = zip_source_buffer_create(NULL, 0, 0, &ze)) ||
	    !(za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)))
		return NULL;
	zip_source_keep(src);
	if (!(m = zip_source_buffer(za, data, len, 0)) ||
	    zip_file_add(za, name, m, ZIP_FL_ENC_UTF_8) < 0 || zip_close(za) != 0)
		return NULL;
	if (zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0)
		return NULL;
	buf = malloc(st.size);
	if (buf && zip_source_read(src, buf, st.size) != (zip_int64_t)st.size) {
		free(buf);
		buf = NULL;
	}
	zip_source_close(src);
	zip_source_free(src);
	*outlen = st.size;
	return buf;
}

#endif
