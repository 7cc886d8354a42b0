/*
 * fuzz_act_task.c - the task message parser on hostile messages.
 *
 * Input: the message bytes.  Invariants: act_task_parse returns 0 with a
 * complete task (every string set, valid site, server and branch, one of
 * the three modes, args sorted with [A-Za-z0-9_] keys) or one of its
 * documented codes with the same code and a printable reason in the error;
 * act_task_peek agrees with a successful parse; an accepted task's name is
 * at most ACT_NAME_MAX bytes of UTF-8 with no '/' in its base, the same on
 * a second build; its cache key is 64 hex digits; its argv has only our
 * literals beginning with '-' (or is refused as too big); nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act_argv.h"
#include "act_names.h"
#include "act_task.h"
#include "sm_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
word_ok(const char *s, int dash)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || (dash && *s == '-')))
			return 0;
	return 1;
}

static void
check_derived(const struct act_task *t)
{
	static const struct act_argv_opts o = { "scrapy", "/w/n", ACT_CRAWL_BEST_SELLERS };
	char name[ACT_NAME_SIZE], again[ACT_NAME_SIZE], key[ACT_CACHE_KEY_SIZE];
	struct sm_error err;
	char **argv;
	size_t i, n;
	int rc;

	if (act_name_build(t, "abcdefghijklmnopqrstuvwxyz01", 1428048091, name, &err) != 0 ||
	    act_name_build(t, "abcdefghijklmnopqrstuvwxyz01", 1428048091, again, &err) != 0)
		abort();
	n = strlen(name);
	if (n > ACT_NAME_MAX || !sm_utf8_valid(name, n) || strcmp(name, again) != 0 ||
	    strchr(act_name_base(name), '/') != NULL || strncmp(name, "2015/04/03/", 11) != 0)
		abort();
	if (act_cache_key(t, "sc_production", key) != 0 || strlen(key) != 64)
		abort();
	rc = act_argv_build(t, &o, &argv, &err);
	if (rc == SM_ETOOBIG)
		return;
	if (rc != 0)
		abort();
	for (i = 3; argv[i] != NULL; i += 2) {
		if (strcmp(argv[i], "-a") != 0 && strcmp(argv[i], "-s") != 0 &&
		    strcmp(argv[i], "-o") != 0)
			abort();
		if (argv[i + 1] == NULL || argv[i + 1][0] == '-')
			abort();
	}
	act_argv_free(argv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct act_task t;
	struct sm_error err;
	char server[ACT_SERVER_MAX + 1];
	int64_t id;
	size_t i;
	int rc;

	sm_error_clear(&err);
	rc = act_task_parse((const char *)data, size, &t, &err);
	if (rc != 0) {
		if (rc != SM_ETOOBIG && rc != SM_EPARSE && rc != SM_EINVALID && rc != SM_ENOMEM)
			abort();
		if (err.code != rc || err.msg[0] == '\0')
			abort();
		for (i = 0; err.msg[i]; i++)
			if ((unsigned char)err.msg[i] < 0x20 || err.msg[i] == 0x7f)
				abort();
		if (t.server_name != NULL || t.args != NULL || t.term != NULL)
			abort();
		(void)act_task_peek((const char *)data, size, &id, server, sizeof(server));
		return 0;
	}
	if (t.task_id < 0 || !word_ok(t.server_name, 1) || !word_ok(t.site, 0) ||
	    t.term == NULL || t.term[0] == '\0' || t.mode > ACT_MODE_URLS)
		abort();
	if (t.branch_name != NULL && !act_branch_valid(t.branch_name))
		abort();
	for (i = 0; i < t.nargs; i++) {
		if (!word_ok(t.args[i].key, 0) || t.args[i].value == NULL)
			abort();
		if (i > 0 && strcmp(t.args[i - 1].key, t.args[i].key) >= 0)
			abort();
	}
	if (act_task_peek((const char *)data, size, &id, server, sizeof(server)) != 0 ||
	    id != t.task_id || strcmp(server, t.server_name) != 0)
		abort();
	check_derived(&t);
	act_task_clear(&t);
	return 0;
}
