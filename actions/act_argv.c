/*
 * act_argv.c - the spider's argv.  See act_argv.h.
 *
 * Entries are collected as pieces (up to three strings joined: key, '=',
 * value), measured, then copied into one block: the pointer array followed
 * by the strings, so the caller frees one thing.
 */
#include "act_argv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_private.h"

#define MAX_ENTRIES (16 + 2 * 4096)

struct piece {
	const char *a, *b, *c;   /* joined; b and c may be NULL */
	const char *what;        /* for a too-long message */
};

struct pieces {
	struct piece *p;
	size_t n, cap;
};

static int
add(struct pieces *ps, const char *what, const char *a, const char *b, const char *c)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 32;
		struct piece *p = realloc(ps->p, cap * sizeof(*p));

		if (p == NULL)
			return SM_ENOMEM;
		ps->p = p;
		ps->cap = cap;
	}
	ps->p[ps->n++] = (struct piece){ a, b, c, what };
	return 0;
}

static size_t
piece_len(const struct piece *p)
{
	return strlen(p->a) + (p->b ? strlen(p->b) : 0) + (p->c ? strlen(p->c) : 0);
}

static int
word_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int
act_argv_build(const struct act_task *t, const struct act_argv_opts *o, char ***argvp,
    struct sm_error *err)
{
	struct pieces ps = { NULL, 0, 0 };
	char spider[ACT_SITE_MAX + 16], ex[ACT__EXCERPT_MAX * 4 + 8];
	char **argv = NULL, *s;
	size_t i, total, len;
	int rc = SM_ENOMEM;

	*argvp = NULL;
	if (o->program == NULL || o->program[0] == '\0')
		return sm_error_set(err, SM_EINVAL, "spider program is empty");
	if (o->out_base == NULL || o->out_base[0] != '/')
		return sm_error_set(err, SM_EINVAL, "spider output path must be absolute");
	if (!word_ok(t->site) || strlen(t->site) > ACT_SITE_MAX) {
		act__excerpt(t->site, strlen(t->site), ex, sizeof(ex));
		return sm_error_set(err, SM_EINVAL,
		    "site %s must be 1-64 characters of A-Z a-z 0-9 _", ex);
	}
	for (i = 0; i < t->nargs; i++)
		if (!word_ok(t->args[i].key)) {
			act__excerpt(t->args[i].key, strlen(t->args[i].key), ex, sizeof(ex));
			return sm_error_set(err, SM_EINVAL,
			    "cmd_args key %s must be characters of A-Z a-z 0-9 _", ex);
		}
	if (t->nargs > MAX_ENTRIES / 2)
		return sm_error_set(err, SM_ETOOBIG, "%zu cmd_args, more than %d", t->nargs,
		    MAX_ENTRIES / 2);
	if (o->crawl == ACT_CRAWL_SCREENSHOT && t->mode != ACT_MODE_URL)
		return sm_error_set(err, SM_EINVAL, "a screenshot crawl needs a url task");

	if (o->crawl == ACT_CRAWL_SCREENSHOT)
		snprintf(spider, sizeof(spider), "url2screenshot_products");
	else
		snprintf(spider, sizeof(spider), "%s_products", t->site);
	if (add(&ps, "program", o->program, NULL, NULL) || add(&ps, "", "crawl", NULL, NULL) ||
	    add(&ps, "spider", spider, NULL, NULL) || add(&ps, "", "-a", NULL, NULL))
		goto nomem;
	switch (t->mode) {
	case ACT_MODE_SEARCH:
		rc = add(&ps, "searchterms_str", "searchterms_str=", t->term, NULL);
		break;
	case ACT_MODE_URL:
		rc = add(&ps, "url", "product_url=", t->term, NULL);
		break;
	case ACT_MODE_URLS:
		rc = add(&ps, "urls", "products_url=", t->term, NULL);
		break;
	}
	if (rc != 0)
		goto nomem;
	for (i = 0; o->crawl != ACT_CRAWL_SCREENSHOT && i < t->nargs; i++) {
		if (o->crawl == ACT_CRAWL_BEST_SELLERS && strcmp(t->args[i].key, "search_sort") == 0)
			continue;
		if (add(&ps, "", "-a", NULL, NULL) ||
		    add(&ps, t->args[i].key, t->args[i].key, "=", t->args[i].value))
			goto nomem;
	}
	if (o->crawl == ACT_CRAWL_BEST_SELLERS &&
	    (add(&ps, "", "-a", NULL, NULL) || add(&ps, "", "search_sort=best_sellers", NULL, NULL)))
		goto nomem;
	if (add(&ps, "", "-s", NULL, NULL) || add(&ps, "log path", "LOG_FILE=", o->out_base, ".log") ||
	    add(&ps, "", "-o", NULL, NULL) || add(&ps, "output path", o->out_base, ".jl", NULL))
		goto nomem;

	total = (ps.n + 1) * sizeof(char *);
	for (i = 0; i < ps.n; i++) {
		len = piece_len(&ps.p[i]);
		if (len > ACT_ARG_MAX) {
			rc = sm_error_set(err, SM_ETOOBIG,
			    "spider argument '%s' is %zu bytes, over the %d-byte limit of one "
			    "argument", ps.p[i].what, len, ACT_ARG_MAX);
			goto out;
		}
		total += len + 1;
	}
	if (total > ACT_ARGV_TOTAL_MAX) {
		rc = sm_error_set(err, SM_ETOOBIG,
		    "spider arguments take %zu bytes, over the %d-byte limit", total,
		    ACT_ARGV_TOTAL_MAX);
		goto out;
	}
	if ((argv = malloc(total)) == NULL)
		goto nomem;
	s = (char *)(argv + ps.n + 1);
	for (i = 0; i < ps.n; i++) {
		argv[i] = s;
		s = stpcpy(s, ps.p[i].a);
		if (ps.p[i].b != NULL)
			s = stpcpy(s, ps.p[i].b);
		if (ps.p[i].c != NULL)
			s = stpcpy(s, ps.p[i].c);
		s++;
	}
	argv[ps.n] = NULL;
	*argvp = argv;
	rc = 0;
	goto out;
nomem:
	rc = sm_error_set(err, SM_ENOMEM, "out of memory");
out:
	free(ps.p);
	return rc;
}

void
act_argv_free(char **argv)
{
	free(argv);
}
