/*
 * fl_zip.c - one member out of a zip in memory, and the task record.
 * See fleet.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "fl_private.h"

/* Open the only member of the zip archive in `zip`. */
static int
open_one(const char *zip, size_t len, zip_t **zap, zip_file_t **zfp, struct sm_error *err)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	int rc;

	*zap = NULL;
	*zfp = NULL;
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(zip, len, 0, &ze)) == NULL) {
		zip_error_fini(&ze);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
		rc = sm_error_set(
		    err, SM_ECORRUPT, "not a zip archive: %s", zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return rc;
	}
	zip_error_fini(&ze);
	if (zip_get_num_entries(za, 0) != 1) {
		rc = sm_error_set(err, SM_ECORRUPT, "the zip archive holds %lld members, not one",
		    (long long)zip_get_num_entries(za, 0));
		zip_discard(za);
		return rc;
	}
	if ((*zfp = zip_fopen_index(za, 0, 0)) == NULL) {
		rc = sm_error_set(
		    err, SM_ECORRUPT, "cannot open the zip member: %s", zip_strerror(za));
		zip_discard(za);
		return rc;
	}
	*zap = za;
	return 0;
}

static void
close_one(zip_t *za, zip_file_t *zf)
{
	if (zf)
		zip_fclose(zf);
	zip_discard(za);
}

int
fl_unzip_one(
    const char *zip, size_t len, size_t max, char **out, size_t *outlen, struct sm_error *err)
{
	zip_t *za;
	zip_file_t *zf;
	char *buf = NULL;
	size_t have = 0, cap;
	zip_int64_t got;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = open_one(zip, len, &za, &zf, err)) != 0)
		return rc;
	/* read at most max + 1 bytes whatever the header says */
	cap = 4096;
	for (;;) {
		if (have == cap || buf == NULL) {
			char *nb;

			cap = buf == NULL ? cap : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				rc = sm_error_set(err, SM_ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if (have > max) {
			rc = sm_error_set(err, SM_ETOOBIG, "the zip member is over %zu bytes", max);
			goto out;
		}
		got = zip_fread(zf, buf + have, cap - have);
		if (got < 0) {
			rc = sm_error_set(
			    err, SM_ECORRUPT, "damaged zip member: %s", zip_file_strerror(zf));
			goto out;
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	buf[have] = '\0';
	*out = buf;
	*outlen = have;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close_one(za, zf);
	return rc;
}

int
fl_unzip_one_fd(
    const char *zip, size_t len, size_t max, int fd, size_t *outlen, struct sm_error *err)
{
	zip_t *za;
	zip_file_t *zf;
	char buf[65536];
	size_t have = 0, off;
	zip_int64_t got;
	ssize_t w;
	int rc;

	*outlen = 0;
	if ((rc = open_one(zip, len, &za, &zf, err)) != 0)
		return rc;
	/* through a buffer of its own: a member of any size costs no memory */
	while ((got = zip_fread(zf, buf, sizeof(buf))) > 0) {
		if ((size_t)got > max - have) {
			rc = sm_error_set(err, SM_ETOOBIG, "the zip member is over %zu bytes", max);
			goto out;
		}
		for (off = 0; off < (size_t)got; off += (size_t)w)
			if ((w = write(fd, buf + off, (size_t)got - off)) < 0 && errno != EINTR) {
				rc = sm_error_set(err, sm_error_from_errno(errno),
				    "cannot write: %s", strerror(errno));
				goto out;
			} else if (w < 0) {
				w = 0;
			}
		have += (size_t)got;
	}
	if (got < 0) {
		rc =
		    sm_error_set(err, SM_ECORRUPT, "damaged zip member: %s", zip_file_strerror(zf));
		goto out;
	}
	*outlen = have;
out:
	close_one(za, zf);
	return rc;
}

int
fl_record_parse(const char *json, size_t len, json_t **rec, struct sm_error *err)
{
	json_error_t je;
	json_t *o, *v;
	const char *format;

	*rec = NULL;
	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return sm_error_set(
		    err, SM_ECORRUPT, "the record is not JSON: %s (line %d)", je.text, je.line);
	if (!json_is_object(o)) {
		json_decref(o);
		return sm_error_set(err, SM_ECORRUPT, "the record is not a JSON object");
	}
	format = json_string_value(json_object_get(o, "format"));
	v = json_object_get(o, "version");
	if (format == NULL || strcmp(format, FL_RECORD_FORMAT) != 0) {
		sm_error_set(err, SM_EVERSION, "not a task record: format '%.64s', want '%s'",
		    format ? format : "(none)", FL_RECORD_FORMAT);
		json_decref(o); /* after the message: `format` is its string */
		return SM_EVERSION;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		json_decref(o);
		return sm_error_set(err, SM_ECORRUPT, "the record has no version");
	}
	if (json_integer_value(v) > FL_RECORD_VERSION) {
		sm_error_set(err, SM_EVERSION,
		    "record version %lld is newer than this smctl reads (%d): upgrade smctl",
		    (long long)json_integer_value(v), FL_RECORD_VERSION);
		json_decref(o);
		return SM_EVERSION;
	}
	*rec = o;
	return 0;
}

int
fl_record_get(struct fl *fl, const char *key, json_t **rec, struct sm_error *err)
{
	char *zip = NULL, *json = NULL;
	size_t zlen = 0, jlen = 0;
	int rc;

	*rec = NULL;
	if ((rc = fl_get(fl, key, FL_RECORD_MAX, &zip, &zlen, err)) != 0)
		return rc;
	if ((rc = fl_unzip_one(zip, zlen, FL_RECORD_MAX, &json, &jlen, err)) == 0)
		rc = fl_record_parse(json, jlen, rec, err);
	if (rc != 0)
		sm_error_prefix(err, "record '%s'", key);
	free(zip);
	free(json);
	return rc;
}
