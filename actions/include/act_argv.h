/*
 * act_argv.h - the spider's argv (SPEC 3), built for execve: nothing goes
 * through a shell and every value is one argv entry, verbatim.
 *
 *   <program> crawl <site>_products -a searchterms_str=<v>|product_url=<v>|products_url=<v>
 *       [-a key=value ...] [-a search_sort=best_sellers]
 *       -s LOG_FILE=<out_base>.log -o <out_base>.jl
 *
 * Why a hostile value cannot become an option: the only entries that begin
 * with '-' are the literals "-a", "-s" and "-o"; every value follows its
 * key and '=' inside one entry that begins with [A-Za-z0-9_] ("key=-x" is
 * the value "-x" of key), the spider name is [A-Za-z0-9_]+_products, and
 * the paths are absolute (begin with '/').  test_act_argv checks this and
 * runs the argv through a parser built like scrapy's.
 */
#ifndef ACT_ARGV_H
#define ACT_ARGV_H

#include "act_task.h"
#include "sm_err.h"

/* Linux takes at most MAX_ARG_STRLEN (32 pages) per argument, NUL included. */
#define ACT_ARG_MAX (128 * 1024 - 1)
/* Bytes of all entries with their NULs and pointers; ARG_MAX is 2 MiB or
 * more with the default 8 MiB stack, and the environment needs room too. */
#define ACT_ARGV_TOTAL_MAX (1024 * 1024)

enum act_crawl {
	ACT_CRAWL_MAIN,           /* <site>_products with the task's arguments */
	ACT_CRAWL_BEST_SELLERS,   /* the same with search_sort=best_sellers (the
	                           * task's own search_sort is left out) */
	ACT_CRAWL_SCREENSHOT,     /* url2screenshot_products -a product_url=<url>
	                           * (url tasks only) */
};

struct act_argv_opts {
	const char *program;      /* argv[0]: spider_program ("scrapy") */
	const char *out_base;     /* absolute path without extension: the log is
	                           * <out_base>.log, the items <out_base>.jl */
	enum act_crawl crawl;
};

/*
 * Build the NULL-terminated argv for task `t` into `*argv` (one malloc'd
 * block: free it with act_argv_free).  Errors (message in `err`, `*argv`
 * NULL): SM_EINVAL (no program, a relative or empty out_base, a site or
 * cmd_args key outside [A-Za-z0-9_], a screenshot crawl of a task that is
 * not a url task), SM_ETOOBIG (an entry over ACT_ARG_MAX bytes or all of
 * them over ACT_ARGV_TOTAL_MAX), SM_ENOMEM.
 */
int act_argv_build(const struct act_task *t, const struct act_argv_opts *o, char ***argv,
    struct sm_error *err);

/* Free an argv from act_argv_build; NULL is allowed. */
void act_argv_free(char **argv);

#endif
