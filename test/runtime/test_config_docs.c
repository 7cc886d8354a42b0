/*
 * test_config_docs.c - the documents that say which configuration keys need
 * a restart agree with rt_config's key table (rt_config_key_reloads), the
 * one owner of that fact: the "on SIGHUP" column of docs/configuration.md,
 * the "Keys that need a restart:" paragraph of docs/operations.md, the
 * SIGHUP paragraph of docs/man/smd.8 and the "Restart to change." notes of
 * dist/smd.conf.example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_config.h"
#include "tap.h"

/* The file SM_SOURCE_DIR/rel as lines (a NULL-terminated array of
 * malloc'd strings), or NULL. */
static char **
read_lines(const char *rel)
{
	const char *src = getenv("SM_SOURCE_DIR");
	char path[1024], buf[8192];
	char **v = NULL;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", src ? src : ".", rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		v = realloc(v, (n + 2) * sizeof(*v));
		v[n++] = strdup(buf);
	}
	fclose(f);
	if (v)
		v[n] = NULL;
	return v;
}

static void
free_lines(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int
key_of(const char *s, size_t n)
{
	for (int k = 0; k < RT_KEY__COUNT; k++) {
		const char *name = rt_config_key_name((enum rt_key)k);

		if (strlen(name) == n && memcmp(name, s, n) == 0)
			return k;
	}
	return -1;
}

/* The keys named in `text` as whole words of [a-z_]: bit (1 << key). */
static uint64_t
keys_named(const char *text)
{
	uint64_t set = 0;
	const char *p = text;

	while (*p) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		int k;

		if (n == 0) {
			p++;
			continue;
		}
		if ((k = key_of(p, n)) >= 0)
			set |= (uint64_t)1 << k;
		p += n;
	}
	return set;
}

static uint64_t
restart_keys(void)
{
	uint64_t set = 0;

	for (int k = 0; k < RT_KEY__COUNT; k++)
		if (!rt_config_key_reloads((enum rt_key)k))
			set |= (uint64_t)1 << k;
	return set;
}

/* Print the keys of a set (for a failed check). */
static void
diag_keys(const char *what, uint64_t set)
{
	char buf[1024] = "";

	for (int k = 0; k < RT_KEY__COUNT; k++)
		if (set & ((uint64_t)1 << k)) {
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
			strncat(
			    buf, rt_config_key_name((enum rt_key)k), sizeof(buf) - strlen(buf) - 1);
		}
	diag("%s:%s", what, buf);
}

static void
check_set(uint64_t got, const char *what)
{
	uint64_t want = restart_keys();

	if (!ok(got == want, "%s names exactly the keys that need a restart", what)) {
		diag_keys("named", got);
		diag_keys("in the table", want);
	}
}

static void
test_table(void)
{
	uint64_t set = restart_keys();

	ok(set != 0 && set != ((uint64_t)1 << RT_KEY__COUNT) - 1,
	    "some keys need a restart, others apply on reload");
	ok(!rt_config_key_reloads(RT_KEY_state_dir) && !rt_config_key_reloads(RT_KEY_bucket) &&
	        !rt_config_key_reloads(RT_KEY_queues) && !rt_config_key_reloads(RT_KEY_backend),
	    "state_dir, bucket, queues and backend need a restart");
	ok(rt_config_key_reloads(RT_KEY_max_concurrent_tasks) &&
	        rt_config_key_reloads(RT_KEY_log_upload_interval) &&
	        rt_config_key_reloads(RT_KEY_stop_flag_interval) &&
	        rt_config_key_reloads(RT_KEY_progress_interval),
	    "max_concurrent_tasks and the intervals apply on reload");
	ok(!rt_config_key_reloads(RT_KEY__COUNT) && !rt_config_key_reloads((enum rt_key) - 1),
	    "a bad key does not reload");
}

/* docs/configuration.md: | `key` | `SMD_KEY` | default | applies/restart | value | */
static void
test_configuration_md(void)
{
	char **v = read_lines("docs/configuration.md");
	int rows = 0, bad = 0;

	if (!ok(v != NULL, "docs/configuration.md is readable"))
		return;
	for (size_t i = 0; v[i]; i++) {
		const char *l = v[i], *e, *col;
		int k, cells = 0;

		if (strncmp(l, "| `", 3) != 0 || (e = strchr(l + 3, '`')) == NULL ||
		    (k = key_of(l + 3, (size_t)(e - l - 3))) < 0 || !strstr(l, "| `SMD_"))
			continue;
		rows++;
		/* the fourth cell; the default may hold no '|' */
		for (col = l; col && cells < 3; cells++)
			col = strstr(col + 1, " | ");
		if (!col) {
			bad++;
			diag("configuration.md:%zu: too few cells", i + 1);
			continue;
		}
		col += 3;
		if (strncmp(col, rt_config_key_reloads((enum rt_key)k) ? "applies |" : "restart |",
		        9) != 0) {
			bad++;
			diag("configuration.md:%zu: '%s' should say %s", i + 1,
			    rt_config_key_name((enum rt_key)k),
			    rt_config_key_reloads((enum rt_key)k) ? "applies" : "restart");
		}
	}
	is_int(rows, RT_KEY__COUNT, "configuration.md has a row for every key");
	is_int(bad, 0, "configuration.md's \"on SIGHUP\" column is the table's");
	free_lines(v);
}

/* docs/operations.md: the paragraph that starts "Keys that need a restart:" */
static void
test_operations_md(void)
{
	char **v = read_lines("docs/operations.md");
	char text[4096] = "";
	int found = 0;

	if (!ok(v != NULL, "docs/operations.md is readable"))
		return;
	for (size_t i = 0; v[i]; i++) {
		if (strncmp(v[i], "Keys that need a restart:", 25) != 0)
			continue;
		found++;
		for (size_t j = i; v[j] && v[j][0]; j++) {
			strncat(text, v[j], sizeof(text) - strlen(text) - 2);
			strcat(text, " ");
		}
	}
	is_int(found, 1, "operations.md has one \"Keys that need a restart:\" paragraph");
	check_set(keys_named(text), "operations.md's paragraph");
	free_lines(v);
}

/* docs/man/smd.8: from "On SIGHUP the same sources are read again." to the
 * line ending the list ("change only with a restart") */
static void
test_man(void)
{
	char **v = read_lines("docs/man/smd.8");
	char text[4096] = "";
	int on = 0, found = 0;

	if (!ok(v != NULL, "docs/man/smd.8 is readable"))
		return;
	for (size_t i = 0; v[i]; i++) {
		if (strcmp(v[i], "On SIGHUP the same sources are read again.") == 0) {
			on = 1;
			found++;
			continue;
		}
		if (!on)
			continue;
		if (strstr(v[i], "change only with a restart")) {
			on = 0;
			continue;
		}
		strncat(text, v[i], sizeof(text) - strlen(text) - 2);
		strcat(text, " ");
	}
	is_int(found, 1, "smd.8 has the SIGHUP paragraph in CONFIGURATION");
	check_set(keys_named(text), "smd.8's SIGHUP paragraph");
	free_lines(v);
}

/* dist/smd.conf.example: each `# key = value` line; its comment block
 * (the '#' lines above it, up to a blank line) says "Restart to change."
 * for exactly the restart keys */
static void
test_example(void)
{
	char **v = read_lines("dist/smd.conf.example");
	uint64_t marked = 0, seen = 0;
	int restart_note = 0;

	if (!ok(v != NULL, "dist/smd.conf.example is readable"))
		return;
	for (size_t i = 0; v[i]; i++) {
		const char *l = v[i];
		size_t n;
		int k;

		if (l[0] == 0) {
			restart_note = 0;
			continue;
		}
		if (strncmp(l, "# ", 2) == 0 &&
		    (n = strspn(l + 2, "abcdefghijklmnopqrstuvwxyz_")) > 0 &&
		    strncmp(l + 2 + n, " =", 2) == 0 && (l[4 + n] == 0 || l[4 + n] == ' ') &&
		    (k = key_of(l + 2, n)) >= 0) {
			seen |= (uint64_t)1 << k;
			if (restart_note)
				marked |= (uint64_t)1 << k;
			continue;
		}
		if (strstr(l, "Restart to change."))
			restart_note = 1;
	}
	is_int((long long)seen, (long long)(((uint64_t)1 << RT_KEY__COUNT) - 1),
	    "smd.conf.example has every key");
	check_set(marked, "smd.conf.example's \"Restart to change.\"");
	free_lines(v);
}

int
main(void)
{
	plan_no_plan();
	test_table();
	test_configuration_md();
	test_operations_md();
	test_man();
	test_example();
	return done_testing();
}
