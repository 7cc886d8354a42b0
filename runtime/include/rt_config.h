/*
 * rt_config.h - smd's configuration: the keys, their defaults, and the one
 * parser for the configuration file, the environment and `-o key=value`.
 * Every key, default, range and environment name: docs/configuration.md.
 *
 * Sources, in order of precedence (a later one wins):
 *   1. the defaults (rt_config_init);
 *   2. the file (rt_config_load_file): `key = value` lines; blank lines and
 *      lines whose first non-blank character is '#' are ignored; a '#' after
 *      a value is part of the value (values may hold '#');
 *   3. the environment: SMD_<KEY> (the key in upper case) for every key;
 *   4. `-o key=value` options (rt_config_set_option).
 * rt_config_load() does 2-4 in that order.  Within one source a key may be
 * given once (a second time is refused), and every problem is reported, not
 * only the first.
 *
 * Refused, with "where: what" (where = "FILE:LINE", "SMD_KEY" or
 * "-o key=value"): unknown keys (also an SMD_* variable that names no key),
 * bad values (syntax, range), a line without '=', a line longer than
 * RT_CONFIG_LINE_MAX, a NUL byte, control characters in a value, a file over
 * RT_CONFIG_FILE_MAX bytes.
 *
 * Durations use the project's one syntax (common/sm_duration.h: "500ms",
 * "30s", "5m", "2h"); counts are decimal digits.
 */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sm_err.h"
#include "store.h"

#define RT_CONFIG_LINE_MAX 4096         /* bytes per line, newline excluded */
#define RT_CONFIG_FILE_MAX (1 << 20)    /* bytes per file */
#define RT_CONFIG_QUEUES_MAX 16         /* incoming queues */
#define RT_CONFIG_ENV_PREFIX "SMD_"

enum rt_backend {
	RT_BACKEND_LOCAL = 0,
	RT_BACKEND_AWS = 1
};

/*
 * The keys (X(name)) in the order docs/configuration.md lists them; the
 * bit RT_KEY_<NAME> of rt_config.set says a source other than the defaults
 * gave the key.
 */
#define RT_CONFIG_KEYS(X)                                                      \
	X(backend) X(state_dir) X(durability) X(bucket) X(queues)             \
	X(output_queue_suffix) X(progress_queue_suffix) X(spider_program)     \
	X(spiders_dir) X(spiders_repo) X(default_branch) X(machines_dir)      \
	X(max_concurrent_tasks) X(task_timeout) X(spider_start_timeout)      \
	X(progress_interval) X(visibility_timeout) X(max_receives)            \
	X(max_restarts) X(poll_wait) X(shutdown_grace) X(stop_flag_interval)  \
	X(log_upload_interval) X(heartbeat_interval) X(failed_work_keep)

enum rt_key {
#define RT__KEY_ENUM(name) RT_KEY_##name,
	RT_CONFIG_KEYS(RT__KEY_ENUM)
#undef RT__KEY_ENUM
	RT_KEY__COUNT
};

/*
 * The configuration.  Strings are owned by the struct (rt_config_free);
 * durations are milliseconds.
 */
struct rt_config {
	enum rt_backend backend;         /* backend: local | aws */
	char *state_dir;                 /* /var/lib/smd */
	enum store_durability durability;/* durability: full | process */
	char *bucket;                    /* spyder-bucket */
	char *queues[RT_CONFIG_QUEUES_MAX]; /* incoming, highest priority first */
	size_t nqueues;
	char *output_queue_suffix;       /* sqs_ranking_spiders_output */
	char *progress_queue_suffix;     /* sqs_ranking_spiders_progress */
	char *spider_program;            /* scrapy */
	char *spiders_dir;               /* . (the daemon's working directory) */
	char *spiders_repo;              /* NULL: unset (every branch runs in spiders_dir) */
	char *default_branch;            /* sc_production */
	char *machines_dir;              /* the build's SM_MACHINES_DIR (CMake cache) */
	unsigned max_concurrent_tasks;   /* 16 */
	int64_t task_timeout_ms;         /* 7200 s */
	int64_t spider_start_timeout_ms; /* 120 s */
	int64_t progress_interval_ms;    /* 30 s */
	int64_t visibility_timeout_ms;   /* 300 s (whole seconds) */
	unsigned max_receives;           /* 3 */
	unsigned max_restarts;           /* 3 */
	int64_t poll_wait_ms;            /* 20 s (whole seconds, at most 20 s) */
	int64_t shutdown_grace_ms;       /* 90 s */
	int64_t stop_flag_interval_ms;   /* 60 s */
	int64_t log_upload_interval_ms;  /* 300 s */
	int64_t heartbeat_interval_ms;   /* 60 s: smd/instances/<instance>.json */
	int64_t failed_work_keep_ms;     /* 168 h: work dirs of failed runs kept */
	uint64_t set;                    /* bit (1 << RT_KEY_x): given by a source */
};

/*
 * Fill `cfg` with the defaults.  SM_ENOMEM (cfg then holds what it could and
 * must still be freed).  Call once on a zeroed or freed struct.
 */
int rt_config_init(struct rt_config *cfg);
/* Free the strings (the struct itself is the caller's).  NULL allowed. */
void rt_config_free(struct rt_config *cfg);

/*
 * Read `path` into `cfg`.  Returns 0, SM_EPARSE (one or more problems, every
 * one in err->msg as "path:line: what", one per line, cut to fit with
 * "... and N more"), SM_ENOTFOUND / SM_EPERM / SM_EIO (cannot read it),
 * SM_ETOOBIG (over RT_CONFIG_FILE_MAX), SM_ENOMEM.  On failure `cfg` may
 * hold some of the file's values: do not use it.
 */
int rt_config_load_file(struct rt_config *cfg, const char *path, struct sm_error *err);
/* The same for a file's bytes in memory (`name` is used in messages). */
int rt_config_load_mem(struct rt_config *cfg, const char *name, const char *buf, size_t len,
    struct sm_error *err);

/*
 * Apply every SMD_<KEY> variable of `envp` (NULL-terminated "NAME=value"
 * strings; NULL means the process's environment).  SM_EPARSE for an
 * unknown SMD_* name or a bad value (all listed), SM_ENOMEM.
 */
int rt_config_load_env(struct rt_config *cfg, char *const *envp, struct sm_error *err);

/*
 * Apply one "key=value" (the argument of -o; blanks around key and value
 * are trimmed).  SM_EPARSE for no '=', an unknown key or a bad value,
 * SM_ENOMEM.
 */
int rt_config_set_option(struct rt_config *cfg, const char *kv, struct sm_error *err);

/*
 * The whole sequence of a program's start: defaults, then `file` (NULL:
 * none), then the environment `envp` (NULL: the process's), then each of
 * the `nopts` -o arguments.  Every problem of every source is reported
 * (err->msg, one per line); a key given twice by the same -o list is
 * refused.  Returns 0 or the first failure's code.
 */
int rt_config_load(struct rt_config *cfg, const char *file, char *const *envp,
    char *const *opts, size_t nopts, struct sm_error *err);

/* The name of a key ("poll_wait") and its environment name ("SMD_POLL_WAIT",
 * written into buf); NULL for a bad key. */
const char *rt_config_key_name(enum rt_key key);
const char *rt_config_env_name(enum rt_key key, char *buf, size_t size);

/*
 * Write the configuration in the file's syntax, every key, one per line
 * (what `smd --print-config` shows); durations in the largest whole unit.
 * Returns 0, SM_EIO or SM_ENOMEM.
 */
int rt_config_write(const struct rt_config *cfg, FILE *fp);

/*
 * Reload (smd's SIGHUP).  Each key says in the table of rt_config.c whether
 * a change applies to a running smd (1) or only at its next start (0: the
 * state directory, the backend, durability, the bucket, the incoming queues,
 * max_restarts); docs/configuration.md lists it ("on SIGHUP").  0 for a bad
 * key.
 */
int rt_config_key_reloads(enum rt_key key);

/*
 * `next` was just loaded, `cur` is in force: every key whose value differs
 * (as rt_config_write writes it) is reported to `fn` (NULL: none) with
 * `applied` = rt_config_key_reloads(key) and both values in the file's
 * syntax (valid during the call); a key that changes only with a restart
 * gets cur's value back in `next` first.  So `next` is what smd may run
 * with.  Returns 0 or SM_ENOMEM (then `next` may be half restored: do not
 * use it).
 */
typedef void rt_config_change_fn(
    void *arg, enum rt_key key, int applied, const char *was, const char *now);
int rt_config_reload(
    struct rt_config *next, const struct rt_config *cur, rt_config_change_fn *fn, void *arg);

#endif
