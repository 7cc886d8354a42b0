/*
 * engine_test_util.h - helpers shared by the engine runtime tests
 * (test_engine.c, test_engine_child.c, test/crash/test_crash_steps.c;
 * header-only, include after tap.h):
 * loading a machine from a string, a temporary store directory,
 * counting store records under an instance id, and reading an instance's
 * datamodel.
 */
#ifndef ENGINE_TEST_UTIL_H
#define ENGINE_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "sm_engine.h"
#include "sm_machine.h"
#include "store.h"

/* Load the SCXML document `xml` (named `name` in diagnostics); a document
 * that does not load prints its diagnostics and bails out. */
__attribute__((unused)) static struct sm_machine *
etu_load(const char *xml, const char *name)
{
	struct sm_machine *m = NULL;
	struct sm_diags d = { 0 };

	if (sm_machine_load_memory(xml, strlen(xml), name, NULL, NULL, &m, &d) != 0) {
		sm_diags_print(&d, stderr);
		bail_out("machine %s does not load", name);
	}
	sm_diags_free(&d);
	return m;
}

/* Instance `id`'s datamodel field `key` (a new reference; NULL when the
 * instance or the field is not there). */
__attribute__((unused)) static json_t *
etu_dm(struct sm_engine *e, const char *id, const char *key)
{
	json_t *d = sm_engine_instance_datamodel(e, id);
	json_t *r = d ? json_incref(json_object_get(d, key)) : NULL;

	json_decref(d);
	return r;
}

/* A new directory /tmp/<prefix>.XXXXXX (caller frees the string and
 * removes the directory with etu_rmtree); bails out if it cannot. */
__attribute__((unused)) static char *
etu_tmpdir(const char *prefix)
{
	char tmpl[256];
	char *d;

	snprintf(tmpl, sizeof(tmpl), "/tmp/%s.XXXXXX", prefix);
	if ((d = mkdtemp(tmpl)) == NULL)
		bail_out("mkdtemp failed");
	return strdup(d);
}

__attribute__((unused)) static int
etu_rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

/* Remove `dir` and everything under it (no shell: crash tests remove
 * hundreds of stores). */
__attribute__((unused)) static void
etu_rmtree(const char *dir)
{
	if (nftw(dir, etu_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		diag("could not remove %s", dir);
}

/*
 * Records of `t` whose key is `id`, a NUL, then anything (inbox/history);
 * -1 if no read transaction.  With `names`, their "name" fields are
 * written there, separated by spaces (truncated to nsize).
 */
__attribute__((unused)) static int
etu_count_prefix(struct store *st, enum store_table t, const char *id, char *names,
    size_t nsize)
{
	struct store_txn *txn;
	struct store_cursor *c;
	const void *k, *val;
	size_t kl, vl, idl = strlen(id), off = 0;
	int n = 0, rc;

	if (names && nsize)
		names[0] = 0;
	if (store_txn_begin(st, STORE_TXN_READ, &txn, NULL) != 0)
		return -1;
	store_cursor_open(txn, t, &c);
	for (rc = store_cursor_seek(c, id, idl, &k, &kl, &val, &vl); rc == 0;
	    rc = store_cursor_next(c, &k, &kl, &val, &vl)) {
		json_t *j;

		if (kl < idl + 1 || memcmp(k, id, idl) != 0 || ((const char *)k)[idl] != 0)
			break;
		n++;
		if (names == NULL)
			continue;
		j = json_loadb(val, vl, 0, NULL);
		if (j && off < nsize) {
			int w = snprintf(names + off, nsize - off, "%s%s", off ? " " : "",
			    json_string_value(json_object_get(j, "name")));

			if (w > 0)
				off += (size_t)w;
		}
		json_decref(j);
	}
	store_cursor_close(c);
	store_txn_abort(txn);
	return n;
}

#endif
