/*
 * rt_config.c - smd's configuration: one table of keys (name, kind,
 * default, range), one value parser per kind, and the three sources (file,
 * environment, -o) feeding the same setter.  See rt_config.h.
 *
 * The defaults are strings of the table run through the same setter as
 * every other source, so a default can never be a value the parser would
 * refuse.
 */
#include "rt_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sm_duration.h"
#include "sm_log.h"
#include "sm_text.h"

extern char **environ;

enum kind {
	K_BACKEND,    /* local | aws */
	K_DURABILITY, /* full | process */
	K_PATH,       /* non-empty, no control characters */
	K_OPTPATH,    /* the same, or empty: unset */
	K_BUCKET,     /* S3 bucket name rules */
	K_QUEUES,     /* comma-separated SQS queue names */
	K_QNAME,      /* [A-Za-z0-9_-], 1-80 (queue name suffix) */
	K_BRANCH,     /* a git branch name we accept */
	K_COUNT,      /* decimal, in [min, max] */
	K_DURATION    /* sm_duration_parse, in [min, max] ms */
};

/* flags */
#define WHOLE_S 1     /* a duration must be whole seconds */
#define RESTART 2     /* smd takes a change only at its start, not on SIGHUP */

struct keydef {
	const char *name;
	enum kind kind;
	size_t off;
	const char *def;
	int64_t min, max;
	int flags;
};

#define OFF(f) offsetof(struct rt_config, f)
#define S_ 1000LL

/*
 * In the order of RT_CONFIG_KEYS (rt_config_init checks it).  RESTART marks
 * the keys smd reads only at its start (what they name is opened or
 * resolved once: the state directory, the store, the transport and its
 * bucket, the incoming queues; max_restarts is used by recovery, which runs
 * at start); every other key applies on SIGHUP (docs/configuration.md).
 */
static const struct keydef keys[RT_KEY__COUNT] = {
	{ "backend", K_BACKEND, OFF(backend), "local", 0, 0, RESTART },
	{ "state_dir", K_PATH, OFF(state_dir), "/var/lib/smd", 0, 0, RESTART },
	{ "durability", K_DURABILITY, OFF(durability), "full", 0, 0, RESTART },
	{ "bucket", K_BUCKET, OFF(bucket), "spyder-bucket", 0, 0, RESTART },
	{ "queues", K_QUEUES, OFF(queues), "sqs_ranking_spiders_tasks_urgent,"
	  "sqs_ranking_spiders_tasks,sqs_ranking_spiders_tasks_dev,"
	  "sqs_ranking_spiders_tasks_tests", 0, 0, RESTART },
	{ "output_queue_suffix", K_QNAME, OFF(output_queue_suffix),
	  "sqs_ranking_spiders_output", 0, 0, 0 },
	{ "progress_queue_suffix", K_QNAME, OFF(progress_queue_suffix),
	  "sqs_ranking_spiders_progress", 0, 0, 0 },
	{ "spider_program", K_PATH, OFF(spider_program), "scrapy", 0, 0, 0 },
	{ "spiders_dir", K_PATH, OFF(spiders_dir), ".", 0, 0, 0 },
	{ "spiders_repo", K_OPTPATH, OFF(spiders_repo), "", 0, 0, 0 },
	{ "default_branch", K_BRANCH, OFF(default_branch), "sc_production", 0, 0, 0 },
	{ "machines_dir", K_PATH, OFF(machines_dir), SM_MACHINES_DIR, 0, 0, 0 },
	{ "max_concurrent_tasks", K_COUNT, OFF(max_concurrent_tasks), "16", 1, 4096, 0 },
	{ "task_timeout", K_DURATION, OFF(task_timeout_ms), "7200s", 1 * S_, 0, 0 },
	{ "spider_start_timeout", K_DURATION, OFF(spider_start_timeout_ms), "120s", 1 * S_, 0, 0 },
	{ "progress_interval", K_DURATION, OFF(progress_interval_ms), "30s", 100, 0, 0 },
	{ "visibility_timeout", K_DURATION, OFF(visibility_timeout_ms), "300s", 1 * S_,
	  12 * 3600 * S_, WHOLE_S },
	{ "max_receives", K_COUNT, OFF(max_receives), "3", 1, 1000, 0 },
	{ "max_restarts", K_COUNT, OFF(max_restarts), "3", 0, 1000, RESTART },
	{ "poll_wait", K_DURATION, OFF(poll_wait_ms), "20s", 0, 20 * S_, WHOLE_S },
	{ "shutdown_grace", K_DURATION, OFF(shutdown_grace_ms), "90s", 0, 0, 0 },
	{ "stop_flag_interval", K_DURATION, OFF(stop_flag_interval_ms), "60s", 1 * S_, 0, 0 },
	{ "log_upload_interval", K_DURATION, OFF(log_upload_interval_ms), "300s", 1 * S_, 0, 0 },
	{ "heartbeat_interval", K_DURATION, OFF(heartbeat_interval_ms), "60s", 1 * S_, 0, 0 },
	{ "failed_work_keep", K_DURATION, OFF(failed_work_keep_ms), "168h", 0, 0, 0 },
};

/* ---- problems ---------------------------------------------------------- */

/*
 * Every problem of a load, one per line, into err->msg; those that do not
 * fit are counted and summed up at the end.
 */
struct probs {
	struct sm_error *err;
	char buf[SM_ERROR_MSG_MAX];
	size_t len;
	int n, dropped, code;
};

#define PROBS_TAIL 40   /* room kept for "\n... and N more problems" */

static void
probs_init(struct probs *p, struct sm_error *err)
{
	memset(p, 0, sizeof(*p));
	p->err = err;
}

__attribute__((format(printf, 4, 5))) static void
probs_add(struct probs *p, int code, const char *where, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (p->code == 0)
		p->code = code;
	p->n++;
	n = snprintf(line, sizeof(line), "%s: ", where);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	if (p->len + (p->len ? 1 : 0) + (size_t)n + PROBS_TAIL >= sizeof(p->buf)) {
		p->dropped++;
		return;
	}
	if (p->len)
		p->buf[p->len++] = '\n';
	memcpy(p->buf + p->len, line, (size_t)n + 1);
	p->len += (size_t)n;
}

/* Put what was gathered into err; returns the code (0 if no problem). */
static int
probs_end(struct probs *p)
{
	if (p->code == 0)
		return 0;
	if (p->dropped)
		snprintf(p->buf + p->len, sizeof(p->buf) - p->len, "\n... and %d more problem%s",
		    p->dropped, p->dropped == 1 ? "" : "s");
	sm_error_set(p->err, p->code, "%s", p->buf);
	return p->code;
}

/* ---- values ------------------------------------------------------------ */

static const char *
esc(char *buf, size_t cap, const char *s, size_t n)
{
	return sm_text_escape(buf, cap, s, n);
}

static int
has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

static int
all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

static int
qname_ok(const char *s, size_t n)
{
	return n >= 1 && n <= 80 && all_of(s, n, ALNUM "_-");
}

static void
free_queues(struct rt_config *cfg)
{
	for (size_t i = 0; i < cfg->nqueues; i++)
		free(cfg->queues[i]);
	cfg->nqueues = 0;
}

static int
set_str(char **slot, const char *v, size_t n)
{
	char *s = strndup(v, n);

	if (s == NULL)
		return SM_ENOMEM;
	free(*slot);
	*slot = s;
	return 0;
}

/* Parse a comma-separated queue list into cfg (all or nothing). */
static int
set_queues(struct rt_config *cfg, const char *v, size_t n, char *why, size_t whysize)
{
	char *q[RT_CONFIG_QUEUES_MAX];
	size_t nq = 0, i, j;
	const char *p = v, *end = v + n;
	char tmp[100];

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (!qname_ok(p, (size_t)(e - p))) {
			snprintf(why, whysize, "queue name '%s' is refused: 1 to 80 of A-Z a-z 0-9 _ -",
			    esc(tmp, 64, p, (size_t)(e - p)));
			goto fail;
		}
		if (nq == RT_CONFIG_QUEUES_MAX) {
			snprintf(why, whysize, "more than %d queues", RT_CONFIG_QUEUES_MAX);
			goto fail;
		}
		for (j = 0; j < nq; j++)
			if (strlen(q[j]) == (size_t)(e - p) && memcmp(q[j], p, (size_t)(e - p)) == 0) {
				snprintf(why, whysize, "queue '%s' is listed twice", q[j]);
				goto fail;
			}
		if ((q[nq] = strndup(p, (size_t)(e - p))) == NULL)
			goto nomem;
		nq++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	free_queues(cfg);
	for (i = 0; i < nq; i++)
		cfg->queues[i] = q[i];
	cfg->nqueues = nq;
	return 0;
nomem:
	for (i = 0; i < nq; i++)
		free(q[i]);
	return SM_ENOMEM;
fail:
	for (i = 0; i < nq; i++)
		free(q[i]);
	return SM_EPARSE;
}

static int
parse_count(const char *v, size_t n, int64_t *out)
{
	int64_t x = 0;

	if (n == 0 || n > 10 || !all_of(v, n, "0123456789"))
		return SM_EINVAL;
	for (size_t i = 0; i < n; i++)
		x = x * 10 + (v[i] - '0');
	*out = x;
	return 0;
}

/*
 * Set key `k` from the value bytes v[0..n) (trimmed, may hold anything).
 * 0, SM_ENOMEM, or SM_EPARSE with the reason in `why`.
 */
static int
set_value(struct rt_config *cfg, const struct keydef *k, const char *v, size_t n, char *why,
    size_t whysize)
{
	char *base = (char *)cfg;
	char tmp[100], a[SM_DURATION_FMT_SIZE], b[SM_DURATION_FMT_SIZE];
	int64_t x = 0;
	int rc;

	if (memchr(v, '\0', n) != NULL || has_ctl(v, n)) {
		snprintf(why, whysize, "'%s' holds a control character or NUL byte",
		    esc(tmp, 80, v, n));
		return SM_EPARSE;
	}
	if (n == 0 && k->kind != K_OPTPATH) {
		snprintf(why, whysize, "no value: write '%s = <value>' (default: '%s')", k->name,
		    k->def);
		return SM_EPARSE;
	}
	switch (k->kind) {
	case K_BACKEND:
		if (n == 5 && memcmp(v, "local", 5) == 0)
			*(enum rt_backend *)(base + k->off) = RT_BACKEND_LOCAL;
		else if (n == 3 && memcmp(v, "aws", 3) == 0)
			*(enum rt_backend *)(base + k->off) = RT_BACKEND_AWS;
		else
			goto choice;
		return 0;
	case K_DURABILITY:
		if (n == 4 && memcmp(v, "full", 4) == 0)
			*(enum store_durability *)(base + k->off) = STORE_DURABLE_FULL;
		else if (n == 7 && memcmp(v, "process", 7) == 0)
			*(enum store_durability *)(base + k->off) = STORE_DURABLE_PROCESS;
		else
			goto choice;
		return 0;
	case K_OPTPATH:
		if (n == 0) {
			free(*(char **)(base + k->off));
			*(char **)(base + k->off) = NULL;
			return 0;
		}
		return set_str((char **)(base + k->off), v, n);
	case K_PATH:
		return set_str((char **)(base + k->off), v, n);
	case K_BUCKET:
		if (n < 3 || n > 63 || !all_of(v, n, LOWER_DIGITS ".-") ||
		    !strchr(LOWER_DIGITS, v[0]) || !strchr(LOWER_DIGITS, v[n - 1])) {
			snprintf(why, whysize, "bucket name '%s' is refused: 3 to 63 of a-z 0-9 . -, "
			    "starting and ending with a letter or digit", esc(tmp, 80, v, n));
			return SM_EPARSE;
		}
		return set_str((char **)(base + k->off), v, n);
	case K_QUEUES:
		return set_queues(cfg, v, n, why, whysize);
	case K_QNAME:
		if (!qname_ok(v, n)) {
			snprintf(why, whysize, "'%s' is refused: 1 to 80 of A-Z a-z 0-9 _ -",
			    esc(tmp, 80, v, n));
			return SM_EPARSE;
		}
		return set_str((char **)(base + k->off), v, n);
	case K_BRANCH:
		if (n > 200 || !all_of(v, n, ALNUM "._/-") || v[0] == '-' || v[0] == '/' ||
		    v[0] == '.' || v[n - 1] == '/' || v[n - 1] == '.' ||
		    memmem(v, n, "..", 2) != NULL || memmem(v, n, "//", 2) != NULL ||
		    memmem(v, n, "/.", 2) != NULL) {
			snprintf(why, whysize, "branch name '%s' is refused: 1 to 200 of A-Z a-z 0-9 . "
			    "_ / -, no '..', not starting with '-', '.' or '/'", esc(tmp, 80, v, n));
			return SM_EPARSE;
		}
		return set_str((char **)(base + k->off), v, n);
	case K_COUNT:
		if (parse_count(v, n, &x) != 0 || x < k->min || x > k->max) {
			snprintf(why, whysize, "'%s' is refused: a whole number from %lld to %lld",
			    esc(tmp, 80, v, n), (long long)k->min, (long long)k->max);
			return SM_EPARSE;
		}
		*(unsigned *)(base + k->off) = (unsigned)x;
		return 0;
	case K_DURATION:
		rc = sm_duration_parse_n(v, n, &x);
		if (rc != 0) {
			snprintf(why, whysize, "'%s' is %s: %s", esc(tmp, 80, v, n),
			    rc == SM_ERANGE ? "out of range" : "not a duration", SM_DURATION_HINT);
			return SM_EPARSE;
		}
		if (x < k->min || (k->max > 0 && x > k->max)) {
			if (k->max > 0)
				snprintf(why, whysize, "'%s' is out of range: from %s to %s",
				    esc(tmp, 80, v, n), sm_duration_format(a, sizeof(a), k->min),
				    sm_duration_format(b, sizeof(b), k->max));
			else
				snprintf(why, whysize, "'%s' is out of range: at least %s",
				    esc(tmp, 80, v, n), sm_duration_format(a, sizeof(a), k->min));
			return SM_EPARSE;
		}
		if ((k->flags & WHOLE_S) && x % S_ != 0) {
			snprintf(why, whysize, "'%s' is refused: whole seconds only (the queue "
			    "service counts in seconds)", esc(tmp, 80, v, n));
			return SM_EPARSE;
		}
		*(int64_t *)(base + k->off) = x;
		return 0;
	}
	snprintf(why, whysize, "internal error: key '%s' has no kind", k->name);
	return SM_EPARSE;
choice:
	snprintf(why, whysize, "'%s' is refused: use %s", esc(tmp, 80, v, n),
	    k->kind == K_BACKEND ? "'local' or 'aws'" : "'full' or 'process'");
	return SM_EPARSE;
}

static const struct keydef *
key_find(const char *name, size_t n)
{
	for (size_t i = 0; i < RT_KEY__COUNT; i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, name, n) == 0)
			return &keys[i];
	return NULL;
}

/* Set a key found by name, reporting a problem under `where`. */
static void
apply(struct rt_config *cfg, struct probs *p, const char *where, const struct keydef *k,
    const char *v, size_t n)
{
	char why[400];
	int rc;

	why[0] = '\0';
	rc = set_value(cfg, k, v, n, why, sizeof(why));
	if (rc == SM_ENOMEM)
		probs_add(p, SM_ENOMEM, where, "out of memory");
	else if (rc != 0)
		probs_add(p, SM_EPARSE, where, "%s: %s", k->name, why);
	else
		cfg->set |= (uint64_t)1 << (k - keys);
}

static void
unknown_key(struct probs *p, const char *where, const char *name, size_t n)
{
	char tmp[100];
	const char *hint = "";

	for (size_t i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			hint = " (keys are lower case)";
	probs_add(p, SM_EPARSE, where, "unknown key '%s'%s: see docs/configuration.md for the "
	    "keys", esc(tmp, 80, name, n), hint);
}

/* ---- sources ----------------------------------------------------------- */

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static void
load_mem(struct rt_config *cfg, struct probs *p, const char *name, const char *buf, size_t len)
{
	int seen[RT_KEY__COUNT] = { 0 };
	const char *line = buf, *end = buf + len;
	char where[300], tmp[100];
	int lineno = 0;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *next = nl ? nl + 1 : end, *eq, *key, *val;
		size_t klen, vlen;
		const struct keydef *k;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		if (n > RT_CONFIG_LINE_MAX) {
			probs_add(p, SM_EPARSE, where, "line longer than %d bytes", RT_CONFIG_LINE_MAX);
			goto next;
		}
		if (memchr(line, '\0', n) != NULL) {
			probs_add(p, SM_EPARSE, where, "NUL byte in the line: the file is not text");
			goto next;
		}
		if (n > 0 && line[n - 1] == '\r')
			n--;
		trim(&line, &n);
		if (n == 0 || line[0] == '#')
			goto next;
		if ((eq = memchr(line, '=', n)) == NULL) {
			probs_add(p, SM_EPARSE, where, "expected 'key = value', got '%s'",
			    esc(tmp, 80, line, n));
			goto next;
		}
		key = line;
		klen = (size_t)(eq - line);
		val = eq + 1;
		vlen = n - klen - 1;
		trim(&key, &klen);
		trim(&val, &vlen);
		if (klen == 0) {
			probs_add(p, SM_EPARSE, where, "no key before '='");
			goto next;
		}
		if ((k = key_find(key, klen)) == NULL) {
			unknown_key(p, where, key, klen);
			goto next;
		}
		if (seen[k - keys]) {
			probs_add(p, SM_EPARSE, where, "%s: given twice (first at line %d): keep one",
			    k->name, seen[k - keys]);
			goto next;
		}
		seen[k - keys] = lineno;
		apply(cfg, p, where, k, val, vlen);
next:
		line = next;
	}
}

int
rt_config_load_mem(struct rt_config *cfg, const char *name, const char *buf, size_t len,
    struct sm_error *err)
{
	struct probs p;

	probs_init(&p, err);
	load_mem(cfg, &p, name, buf, len);
	return probs_end(&p);
}

static void
load_file(struct rt_config *cfg, struct probs *p, const char *path)
{
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		probs_add(p, e == ENOENT ? SM_ENOTFOUND : (e == EACCES ? SM_EPERM : SM_EIO), path,
		    "cannot read the configuration file: %s", strerror(e));
		return;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		probs_add(p, SM_EIO, path, "not a regular file: give a configuration file");
		goto out;
	}
	if (sb.st_size > RT_CONFIG_FILE_MAX) {
		probs_add(p, SM_ETOOBIG, path, "%lld bytes: a configuration file may have at most "
		    "%d", (long long)sb.st_size, RT_CONFIG_FILE_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		probs_add(p, SM_ENOMEM, path, "out of memory");
		goto out;
	}
	/* read at most one byte more than fstat said, to see a file that grew */
	while (got <= (size_t)sb.st_size &&
	    (r = read(fd, buf + got, (size_t)sb.st_size + 1 - got)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			probs_add(p, SM_EIO, path, "cannot read: %s", strerror(errno));
			goto out;
		}
		got += (size_t)r;
	}
	if (got > (size_t)sb.st_size) {
		probs_add(p, SM_EIO, path, "the file changed while it was read: try again");
		goto out;
	}
	load_mem(cfg, p, path, buf, got);
out:
	free(buf);
	close(fd);
}

int
rt_config_load_file(struct rt_config *cfg, const char *path, struct sm_error *err)
{
	struct probs p;

	probs_init(&p, err);
	load_file(cfg, &p, path);
	return probs_end(&p);
}

static void
load_env(struct rt_config *cfg, struct probs *p, char *const *envp)
{
	const size_t plen = strlen(RT_CONFIG_ENV_PREFIX);
	char lower[100], where[120];

	if (envp == NULL)
		envp = environ;
	for (; *envp != NULL; envp++) {
		const char *e = *envp, *eq = strchr(e, '=');
		const struct keydef *k = NULL;
		size_t n, i;

		if (eq == NULL || strncmp(e, RT_CONFIG_ENV_PREFIX, plen) != 0)
			continue;
		n = (size_t)(eq - e) - plen;
		snprintf(where, sizeof(where), "environment %s", esc(lower, 64, e, (size_t)(eq - e)));
		if (n > 0 && n < sizeof(lower)) {
			for (i = 0; i < n; i++) {
				char c = e[plen + i];

				lower[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
				if (c >= 'a' && c <= 'z')
					break; /* SMD_<KEY> is upper case */
			}
			if (i == n)
				k = key_find(lower, n);
		}
		if (k == NULL) {
			probs_add(p, SM_EPARSE, where, "no configuration key of that name: unset it, "
			    "or see docs/configuration.md for the SMD_<KEY> names");
			continue;
		}
		apply(cfg, p, where, k, eq + 1, strlen(eq + 1));
	}
}

int
rt_config_load_env(struct rt_config *cfg, char *const *envp, struct sm_error *err)
{
	struct probs p;

	probs_init(&p, err);
	load_env(cfg, &p, envp);
	return probs_end(&p);
}

static const struct keydef *
load_option(struct rt_config *cfg, struct probs *p, const char *kv)
{
	const char *eq = strchr(kv, '='), *key = kv, *val;
	size_t klen, vlen;
	const struct keydef *k;
	char where[120], tmp[100];

	snprintf(where, sizeof(where), "-o '%s'", esc(tmp, 80, kv, strlen(kv)));
	if (eq == NULL) {
		probs_add(p, SM_EPARSE, where, "expected key=value");
		return NULL;
	}
	klen = (size_t)(eq - kv);
	val = eq + 1;
	vlen = strlen(val);
	trim(&key, &klen);
	trim(&val, &vlen);
	if ((k = key_find(key, klen)) == NULL) {
		unknown_key(p, where, key, klen);
		return NULL;
	}
	apply(cfg, p, where, k, val, vlen);
	return k;
}

int
rt_config_set_option(struct rt_config *cfg, const char *kv, struct sm_error *err)
{
	struct probs p;

	probs_init(&p, err);
	load_option(cfg, &p, kv);
	return probs_end(&p);
}

int
rt_config_load(struct rt_config *cfg, const char *file, char *const *envp,
    char *const *opts, size_t nopts, struct sm_error *err)
{
	uint64_t seen = 0;
	struct probs p;

	probs_init(&p, err);
	if (file != NULL)
		load_file(cfg, &p, file);
	load_env(cfg, &p, envp);
	for (size_t i = 0; i < nopts; i++) {
		const struct keydef *k = load_option(cfg, &p, opts[i]);
		uint64_t bit = k ? (uint64_t)1 << (k - keys) : 0;

		if (seen & bit) {
			char tmp[100], where[120];

			snprintf(where, sizeof(where), "-o '%s'", esc(tmp, 80, opts[i],
			    strlen(opts[i])));
			probs_add(&p, SM_EPARSE, where, "%s: given twice with -o: keep one", k->name);
		}
		seen |= bit;
	}
	return probs_end(&p);
}

/* ---- defaults, names, output ------------------------------------------- */

int
rt_config_init(struct rt_config *cfg)
{
	char why[400];
	int rc;

#define RT__KEY_NAME(name) #name,
	static const char *const order[RT_KEY__COUNT] = { RT_CONFIG_KEYS(RT__KEY_NAME) };
#undef RT__KEY_NAME

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < RT_KEY__COUNT; i++) {
		if (strcmp(order[i], keys[i].name) != 0)
			SM_BUG("config key %zu is '%s' in the table, '%s' in RT_CONFIG_KEYS", i,
			    keys[i].name, order[i]);
		rc = set_value(cfg, &keys[i], keys[i].def, strlen(keys[i].def), why, sizeof(why));
		if (rc == SM_ENOMEM)
			return rc;
		if (rc != 0)
			SM_BUG("default of '%s' refused: %s", keys[i].name, why);
	}
	cfg->set = 0;
	return 0;
}

void
rt_config_free(struct rt_config *cfg)
{
	if (cfg == NULL)
		return;
	free_queues(cfg);
	for (size_t i = 0; i < RT_KEY__COUNT; i++) {
		enum kind kd = keys[i].kind;

		if (kd == K_PATH || kd == K_OPTPATH || kd == K_BUCKET || kd == K_QNAME ||
		    kd == K_BRANCH) {
			char **slot = (char **)((char *)cfg + keys[i].off);

			free(*slot);
			*slot = NULL;
		}
	}
}

const char *
rt_config_key_name(enum rt_key key)
{
	if ((int)key < 0 || key >= RT_KEY__COUNT)
		return NULL;
	return keys[key].name;
}

const char *
rt_config_env_name(enum rt_key key, char *buf, size_t size)
{
	const char *name = rt_config_key_name(key);
	size_t i, o;

	if (name == NULL || size < strlen(RT_CONFIG_ENV_PREFIX) + strlen(name) + 1)
		return NULL;
	o = (size_t)snprintf(buf, size, "%s", RT_CONFIG_ENV_PREFIX);
	for (i = 0; name[i]; i++)
		buf[o++] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	buf[o] = '\0';
	return buf;
}

/* The value of `k` in the file's syntax (malloc'd), or NULL: out of memory. */
static char *
value_text(const struct rt_config *cfg, const struct keydef *k)
{
	const void *f = (const char *)cfg + k->off;
	char tmp[SM_DURATION_FMT_SIZE], *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	if (fp == NULL)
		return NULL;
	switch (k->kind) {
	case K_BACKEND:
		fputs(*(const enum rt_backend *)f == RT_BACKEND_AWS ? "aws" : "local", fp);
		break;
	case K_DURABILITY:
		fputs(
		    *(const enum store_durability *)f == STORE_DURABLE_PROCESS ? "process" : "full",
		    fp);
		break;
	case K_PATH:
	case K_OPTPATH:
	case K_BUCKET:
	case K_QNAME:
	case K_BRANCH:
		fputs(*(char *const *)f ? *(char *const *)f : "", fp);
		break;
	case K_QUEUES:
		for (size_t j = 0; j < cfg->nqueues; j++)
			fprintf(fp, "%s%s", j ? "," : "", cfg->queues[j]);
		break;
	case K_COUNT:
		fprintf(fp, "%u", *(const unsigned *)f);
		break;
	case K_DURATION:
		fputs(sm_duration_format(tmp, sizeof(tmp), *(const int64_t *)f), fp);
		break;
	}
	if (ferror(fp)) {
		fclose(fp);
		free(out);
		return NULL;
	}
	fclose(fp);
	return out;
}

int
rt_config_write(const struct rt_config *cfg, FILE *fp)
{
	for (size_t i = 0; i < RT_KEY__COUNT; i++) {
		char *v = value_text(cfg, &keys[i]);

		if (v == NULL)
			return SM_ENOMEM;
		fprintf(fp, "%s = %s\n", keys[i].name, v);
		free(v);
	}
	return ferror(fp) ? SM_EIO : 0;
}

int
rt_config_key_reloads(enum rt_key key)
{
	return (int)key >= 0 && key < RT_KEY__COUNT && !(keys[key].flags & RESTART);
}

int
rt_config_reload(
    struct rt_config *next, const struct rt_config *cur, rt_config_change_fn *fn, void *arg)
{
	char why[400];
	int rc = 0;

	for (size_t i = 0; i < RT_KEY__COUNT && rc == 0; i++) {
		const struct keydef *k = &keys[i];
		char *was = value_text(cur, k), *now = value_text(next, k);
		int applies = !(k->flags & RESTART);

		if (was == NULL || now == NULL)
			rc = SM_ENOMEM;
		else if (strcmp(was, now) != 0) {
			/* back to the value in force, through the one setter */
			if (!applies &&
			    (rc = set_value(next, k, was, strlen(was), why, sizeof(why))) != 0 &&
			    rc != SM_ENOMEM)
				SM_BUG("the value in force of '%s' refused: %s", k->name, why);
			if (rc == 0 && fn != NULL)
				fn(arg, (enum rt_key)i, applies, was, now);
		}
		free(was);
		free(now);
	}
	return rc;
}
