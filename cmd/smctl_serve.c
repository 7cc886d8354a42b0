/*
 * smctl_serve.c - `smctl serve`: a read-only web dashboard of the fleet
 * (the bucket smd instances write to), served by libmicrohttpd from this
 * process.  The pages (smctl_serve_html.c) render the objects the fleet
 * commands print with --json; the task page draws the run's machine
 * (smctl_serve_svg.c).
 *
 * Bounded: every bucket call has the fleet library's time limit
 * (--timeout), the bucket is read by one request at a time (the fleet
 * handle and Graphviz are not shared between threads; a request that
 * cannot get its turn within the time limit gets a "busy" page), a thread
 * pool serves at most SV_CONN_MAX connections, a request's URL and headers
 * fit in SV_CONN_MEMORY bytes, and only GET and HEAD of the fixed routes
 * and assets are answered: no file is ever read on a request's behalf.
 *
 * Access: listening on a loopback address (127.0.0.0/8, ::1) serves
 * anyone who can connect from this machine; any other address (0.0.0.0,
 * ::, an interface's address) needs a token (--token-file or
 * SMCTL_SERVE_TOKEN), or serve refuses to start.  With a token every
 * request but the style sheet must carry it: "Authorization: Bearer
 * TOKEN", or ?token=TOKEN once (it sets a cookie the browser sends after).
 * Compared in constant time (of SHA-256 digests).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "fl_stats.h"
#include "fleet.h"
#include "rt_config.h"
#include "sm_err.h"
#include "sm_loop.h"
#include "sm_machine.h"
#include "sm_time.h"
#include "smctl.h"
#include "smctl_serve.h"

#define SV_DEFAULT_LISTEN "127.0.0.1:8350"
#define SV_TIMEOUT_MS_DEFAULT 20000 /* one bucket call */
#define SV_DAYS_DEFAULT 7           /* search, failed, the task page */
#define SV_THREADS 4
#define SV_CONN_MAX 64
#define SV_CONN_PER_IP 16
#define SV_CONN_TIMEOUT_S 30
#define SV_CONN_MEMORY (32 * 1024) /* the request line and headers */
#define SV_QUERY_MAX 256           /* ?q= */
#define SV_TOKEN_MAX 4096
#define SV_COOKIE "smctl_token"

const char smctl_serve_usage[] =
    "[--listen ADDR:PORT] [--token-file FILE] [--days N] [--timeout D] [-c FILE] "
    "[-d DIR] [-o KEY=VALUE]...";
const char smctl_serve_summary[] = "serve a read-only web dashboard of the fleet";
const char smctl_serve_help[] =
    "Serves a web dashboard of what the smd instances of the configured bucket\n"
    "wrote there (docs/fleet-formats.md), read-only, until interrupted:\n"
    "  /                 instances (alive first) and today's stats, with a chart\n"
    "                    of the tasks received per hour (UTC)\n"
    "  /stats?date=D     the stats of day D (YYYY-MM-DD)\n"
    "  /search?q=TEXT    the tasks whose keys hold TEXT (last --days days)\n"
    "  /failed           the failed tasks of the last --days days\n"
    "  /task/TASK_ID     the task's run from its record: fields, history, and its\n"
    "                    machine drawn as SVG, the states it went through filled\n"
    "The pages need no JavaScript.  The machine is found by its version (the\n"
    "record's run.machine): the file the run was loaded from, else a *.scxml\n"
    "of machines_dir (-o machines_dir=DIR) with the same SHA-256.\n"
    "\n"
    "  -l, --listen ADDR:PORT  where to listen (default " SV_DEFAULT_LISTEN ");\n"
    "                        [::1]:PORT for IPv6.  A loopback address\n"
    "                        (127.0.0.0/8, ::1) needs no token; any other one\n"
    "                        (0.0.0.0, ::, an interface) needs one, or serve\n"
    "                        refuses to start\n"
    "  -t, --token-file FILE  the token (its first line); else the environment's\n"
    "                        SMCTL_SERVE_TOKEN.  Requests then carry it as\n"
    "                        'Authorization: Bearer TOKEN', or open a page once\n"
    "                        with ?token=TOKEN (sets a cookie)\n"
    "  -n, --days N          days searched by /search, /failed, /task (default 7)\n"
    "  -T, --timeout D       the time limit of one bucket call (default 20s): a\n"
    "                        slow bucket gives an error page after it\n"
    "  -c, --config FILE     smd's configuration file (backend, bucket, ...)\n"
    "  -d, --state-dir DIR   the state directory (local backend)\n"
    "  -o, --option KEY=VALUE  a configuration key (docs/configuration.md)\n"
    "\n"
    "Exit status: 0 after SIGINT or SIGTERM; 1 cannot listen; 2 usage error or\n"
    "a refused configuration (a non-loopback address without a token).\n";

struct sv {
	struct rt_config cfg;
	int64_t timeout_ms;
	int days;
	int need_token;
	unsigned char token_sha[SHA256_DIGEST_LENGTH];
	pthread_mutex_t lock; /* the fleet handle and Graphviz */
	struct fl *fl;        /* opened at the first request that needs it */
};

/* ---- the answer ----------------------------------------------------- */

struct sv_page {
	FILE *f;
	char *buf;
	size_t len;
	unsigned status;
};

static int
sv_page_open(struct sv_page *p)
{
	memset(p, 0, sizeof(*p));
	p->status = MHD_HTTP_OK;
	p->f = open_memstream(&p->buf, &p->len);
	return p->f ? 0 : -1;
}

static enum MHD_Result
sv_send(struct MHD_Connection *c, unsigned status, const char *type, void *body, size_t len,
    enum MHD_ResponseMemoryMode mode, const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	/* no script, no frame, nothing from elsewhere: defence beside the escaping */
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"smctl serve\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
sv_page_send(struct MHD_Connection *c, struct sv_page *p, const char *cookie)
{
	if (fclose(p->f) != 0 || !p->buf) {
		free(p->buf);
		return MHD_NO;
	}
	return sv_send(c, p->status, "text/html; charset=utf-8", p->buf, p->len,
	    MHD_RESPMEM_MUST_FREE, cookie);
}

static enum MHD_Result
sv_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	struct sv_page p;

	if (sv_page_open(&p) != 0)
		return MHD_NO;
	p.status = status;
	sv_page_error(p.f, (int)status, msg);
	return sv_page_send(c, &p, NULL);
}

/* The HTTP status of a bucket failure: 504 for a time limit, 502 else. */
static unsigned
sv_status_of(int code)
{
	return code == SM_ETIMEOUT ? MHD_HTTP_GATEWAY_TIMEOUT :
	    code == SM_ENOTFOUND   ? MHD_HTTP_NOT_FOUND :
	                             MHD_HTTP_BAD_GATEWAY;
}

/* ---- the bucket, one request at a time -------------------------------- */

/* Take the bucket's turn within the time limit and open the fleet handle. */
static int
sv_bucket_begin(struct sv *sv, struct sm_error *err)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(sv->timeout_ms / 1000);
	ts.tv_nsec += (long)(sv->timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&sv->lock, &ts) != 0)
		return sm_error_set(err, SM_ETIMEOUT,
		    "the bucket is busy with other requests: try again in a moment");
	if (!sv->fl) {
		rc = fl_open(&sv->fl, &sv->cfg, err);
		if (rc != 0) {
			sv->fl = NULL;
			pthread_mutex_unlock(&sv->lock);
			return rc;
		}
		fl_set_timeout(sv->fl, sv->timeout_ms);
	}
	return 0;
}

static void
sv_bucket_end(struct sv *sv)
{
	pthread_mutex_unlock(&sv->lock);
}

static int
sv_stats_of(struct sv *sv, time_t day, json_t **out, struct sm_error *err)
{
	struct fl_stats *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = fl_stats_new(&s, day, 1, sm_time_wall_ms())) != 0)
		return sm_error_set(err, rc, "out of memory");
	fl_counters_reset(sv->fl);
	rc = fl_stats_collect(sv->fl, s, &sv->cfg, NULL, err);
	if (rc == 0) {
		fl_stats_set_requests(s, fl_counters(sv->fl).requests);
		if (!(*out = fl_stats_json(s)))
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	fl_stats_free(s);
	return rc;
}

/* ---- pages ---------------------------------------------------------- */

static enum MHD_Result
sv_home(struct sv *sv, struct MHD_Connection *c, const char *cookie)
{
	json_t *inst = NULL, *stats = NULL;
	struct sm_error e1, e2;
	struct sv_page p;
	int rc;

	sm_error_clear(&e1);
	sm_error_clear(&e2);
	if ((rc = sv_bucket_begin(sv, &e1)) == 0) {
		if (fl_instances(sv->fl, sm_time_wall_ms(), 1, &inst, &e1) != 0)
			inst = NULL;
		/* a bucket that timed out once would time out again: say so at once */
		if (inst || e1.code != SM_ETIMEOUT)
			sv_stats_of(sv, time(NULL), &stats, &e2);
		else
			sm_error_set(&e2, e1.code, "%s", e1.msg);
		sv_bucket_end(sv);
	} else {
		sm_error_set(&e2, rc, "%s", e1.msg);
	}
	if (sv_page_open(&p) != 0) {
		json_decref(inst);
		json_decref(stats);
		return MHD_NO;
	}
	if (!inst && !stats)
		p.status = sv_status_of(e1.code);
	sv_page_home(p.f, inst, e1.msg, stats, e2.msg);
	json_decref(inst);
	json_decref(stats);
	return sv_page_send(c, &p, cookie);
}

/* "YYYY-MM-DD" as the time of its midnight (UTC); 0 or -1. */
static int
sv_date(const char *s, time_t *out)
{
	char buf[32];
	int64_t ms;
	struct tm tm;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789-") != 10)
		return -1;
	snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
	if (sm_time_parse(buf, &ms) != 0)
		return -1;
	*out = (time_t)(ms / 1000);
	/* a day that does not exist (2026-02-31) is refused, not moved on */
	if (!gmtime_r(out, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) != 10 ||
	    strcmp(buf, s) != 0)
		return -1;
	return 0;
}

static enum MHD_Result
sv_stats_page(struct sv *sv, struct MHD_Connection *c, const char *cookie)
{
	const char *date = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "date");
	char today[16];
	json_t *stats = NULL;
	struct sm_error err;
	struct sv_page p;
	time_t day = time(NULL);
	struct tm tm;

	sm_error_clear(&err);
	if (date && *date && sv_date(date, &day) != 0)
		return sv_error(c, MHD_HTTP_BAD_REQUEST, "the date is YYYY-MM-DD, e.g. 2026-12-05");
	gmtime_r(&day, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (sv_bucket_begin(sv, &err) == 0) {
		sv_stats_of(sv, day, &stats, &err);
		sv_bucket_end(sv);
	}
	if (sv_page_open(&p) != 0) {
		json_decref(stats);
		return MHD_NO;
	}
	if (!stats)
		p.status = sv_status_of(err.code);
	sv_page_stats(p.f, today, stats, err.msg);
	json_decref(stats);
	return sv_page_send(c, &p, cookie);
}

static enum MHD_Result
sv_search_page(struct sv *sv, struct MHD_Connection *c, const char *cookie)
{
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
	json_t *res = NULL;
	struct sm_error err;
	struct sv_page p;

	sm_error_clear(&err);
	if (q && strlen(q) > SV_QUERY_MAX)
		return sv_error(
		    c, MHD_HTTP_BAD_REQUEST, "the search text is too long (256 bytes at most)");
	if (q && *q && sv_bucket_begin(sv, &err) == 0) {
		fl_search(sv->fl, q, time(NULL), sv->days, &res, &err);
		sv_bucket_end(sv);
	}
	if (sv_page_open(&p) != 0) {
		json_decref(res);
		return MHD_NO;
	}
	if (q && *q && !res)
		p.status = sv_status_of(err.code);
	sv_page_search(p.f, q, res, err.msg);
	json_decref(res);
	return sv_page_send(c, &p, cookie);
}

static enum MHD_Result
sv_failed_page(struct sv *sv, struct MHD_Connection *c, const char *cookie)
{
	json_t *res = NULL;
	struct sm_error err;
	struct sv_page p;

	sm_error_clear(&err);
	if (sv_bucket_begin(sv, &err) == 0) {
		fl_failed(sv->fl, time(NULL), sv->days, NULL, NULL, &res, &err);
		sv_bucket_end(sv);
	}
	if (sv_page_open(&p) != 0) {
		json_decref(res);
		return MHD_NO;
	}
	if (!res)
		p.status = sv_status_of(err.code);
	sv_page_failed(p.f, res, err.msg);
	json_decref(res);
	return sv_page_send(c, &p, cookie);
}

/*
 * The newest run of task `id` in the last days, from its records
 * (smctl_remote_find, as `inspect --remote` finds them): the record's run
 * with "record_key", the record's own fields where the run lacks them,
 * and "runs", the number of runs recorded.
 */
static int
sv_find_run(struct sv *sv, const char *id, json_t **view, struct sm_error *err)
{
	static const char *const fill[] = { "task_id", "server_name", "site", "state", "reason",
		"duration_ms", "received_ms", "finished_ms", "smd_instance", "cache", "keys" };
	json_t *runs = NULL, *last, *rec;
	size_t i, n;
	int rc, bad;

	*view = NULL;
	rc = smctl_remote_find(sv->fl, strtoll(id, NULL, 10), NULL, sv->days, &runs, &bad, err);
	if (rc != 0)
		return rc;
	if ((n = json_array_size(runs)) == 0 && bad) {
		json_decref(runs);
		return sm_error_set(err, SM_ECORRUPT,
		    "the records of task %s in the last %d days cannot be read (damaged, or not "
		    "records of this task): 'smctl inspect --remote %s' says why",
		    id, sv->days, id);
	}
	if (n == 0) {
		json_decref(runs);
		return sm_error_set(err, SM_ENOTFOUND,
		    "no record of task %s in the last %d days (a record is written when a task "
		    "ends: is it still running? try the search)",
		    id, sv->days);
	}
	last = json_array_get(runs, n - 1);
	rec = json_object_get(last, "record");
	if (!(*view = smctl_remote_run_view(last, -1))) {
		json_decref(runs);
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	for (i = 0; i < sizeof(fill) / sizeof(fill[0]); i++)
		if (!json_object_get(*view, fill[i]) && json_object_get(rec, fill[i]))
			json_object_set(*view, fill[i], json_object_get(rec, fill[i]));
	json_object_set_new(*view, "runs", json_integer((json_int_t)n));
	json_decref(runs);
	return 0;
}

/* Machine file `path` if it loads and its version is `hash`; NULL else. */
static struct sm_machine *
sv_machine_try(const char *path, const char *hash)
{
	struct sm_machine *m = NULL;
	struct sm_diags diags = { 0 };
	char hex[65];

	if (sm_machine_load_file(path, NULL, &m, &diags) != 0)
		m = NULL;
	sm_diags_free(&diags);
	if (m && strcmp(sm_machine_hash_hex(m, hex), hash) != 0) {
		sm_machine_free(m);
		m = NULL;
	}
	return m;
}

/* The machine of a run: its file, else a *.scxml of machines_dir of that version. */
static struct sm_machine *
sv_machine_of(struct sv *sv, json_t *run, char *why, size_t whylen)
{
	const char *hash = json_string_value(json_object_get(run, "machine"));
	const char *path =
	    json_string_value(json_object_get(json_object_get(run, "instance"), "machine_path"));
	struct sm_machine *m = NULL;
	struct dirent *de;
	DIR *d;

	/* the version is what makes a file the run's machine: without one no file
	 * is read (the path comes from the bucket, not from this machine) */
	if (!hash || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64) {
		snprintf(why, whylen, "the record names no machine version: nothing to draw");
		return NULL;
	}
	if (path && *path && (m = sv_machine_try(path, hash)))
		return m;
	if (sv->cfg.machines_dir && (d = opendir(sv->cfg.machines_dir))) {
		while (!m && (de = readdir(d))) {
			size_t n = strlen(de->d_name);
			char *full;

			if (n < 7 || strcmp(de->d_name + n - 6, ".scxml") != 0)
				continue;
			if (asprintf(&full, "%s/%s", sv->cfg.machines_dir, de->d_name) < 0)
				break;
			m = sv_machine_try(full, hash);
			free(full);
		}
		closedir(d);
	}
	if (!m)
		snprintf(why, whylen,
		    "machine version %.64s is not in machines_dir (%s) nor at the run's path: "
		    "give -o machines_dir=DIR holding that machine file",
		    hash, sv->cfg.machines_dir ? sv->cfg.machines_dir : "none");
	return m;
}

static enum MHD_Result
sv_task_page(struct sv *sv, struct MHD_Connection *c, const char *id, const char *cookie)
{
	json_t *run = NULL, *states;
	struct sm_error err;
	struct sv_page p;
	struct sm_machine *m = NULL;
	char *svg = NULL, why[512] = "";

	sm_error_clear(&err);
	if (!*id || strlen(id) > 19 || strspn(id, "0123456789") != strlen(id) ||
	    (strlen(id) == 19 && strcmp(id, "9223372036854775807") > 0))
		return sv_error(c, MHD_HTTP_NOT_FOUND, "a task id is a number: /task/123");
	if (sv_bucket_begin(sv, &err) == 0) {
		if (sv_find_run(sv, id, &run, &err) == 0) {
			/* Graphviz is not thread-safe: drawn while holding the lock */
			if ((m = sv_machine_of(sv, run, why, sizeof(why)))) {
				states = sv_run_states(run);
				if (sv_machine_svg(m, states, &svg, why, sizeof(why)) != 0)
					svg = NULL;
				json_decref(states);
				sm_machine_free(m);
			}
		}
		sv_bucket_end(sv);
	}
	if (sv_page_open(&p) != 0) {
		json_decref(run);
		free(svg);
		return MHD_NO;
	}
	if (!run)
		p.status = sv_status_of(err.code);
	sv_page_task(p.f, id, run, err.msg, svg, why);
	json_decref(run);
	free(svg);
	return sv_page_send(c, &p, cookie);
}

/* ---- access ---------------------------------------------------------- */

/*
 * 1 if `given` (`len` bytes, as the request carried them) is the token.
 * A value whose length is not its C-string length holds a NUL (?token=
 * TOKEN%00junk): refused, or the comparison would stop at the NUL.
 */
static int
sv_token_ok(const struct sv *sv, const char *given, size_t len)
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	if (!given || len == 0 || strnlen(given, len) != len)
		return 0;
	SHA256((const unsigned char *)given, len, d);
	return CRYPTO_memcmp(d, sv->token_sha, sizeof(d)) == 0;
}

/* The value of `key` of `kind` and its length as sent; NULL when absent. */
static const char *
sv_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key, size_t *len)
{
	const char *v = NULL;

	*len = 0;
	if (MHD_lookup_connection_value_n(c, kind, key, strlen(key), &v, len) != MHD_YES)
		return NULL;
	return v;
}

/*
 * 1 if the request may pass; *cookie set (static text the caller frees)
 * when it came with a good ?token= (the cookie that spares it after).
 */
static int
sv_allowed(const struct sv *sv, struct MHD_Connection *c, char **cookie)
{
	size_t auth_n, q_n, ck_n;
	const char *auth = sv_value(c, MHD_HEADER_KIND, "Authorization", &auth_n);
	const char *q = sv_value(c, MHD_GET_ARGUMENT_KIND, "token", &q_n);
	const char *ck = sv_value(c, MHD_COOKIE_KIND, SV_COOKIE, &ck_n);

	*cookie = NULL;
	if (!sv->need_token)
		return 1;
	if (auth && auth_n > 7 && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    sv_token_ok(sv, auth + 7, auth_n - 7))
		return 1;
	if (ck && sv_token_ok(sv, ck, ck_n))
		return 1;
	if (q && sv_token_ok(sv, q, q_n)) {
		/* the token is URL-safe text here (it came in a query): no quoting needed */
		if (strspn(q,
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") ==
		        q_n &&
		    asprintf(cookie, SV_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", q) < 0)
			*cookie = NULL;
		return 1;
	}
	return 0;
}

/*
 * 1 if the request's Host names this machine by loopback ("localhost",
 * 127.0.0.0/8, ::1, with or without a port), or is absent (HTTP/1.0).
 * Without a token, a loopback dashboard must not answer a page a browser
 * loaded from elsewhere whose name was made to resolve to 127.0.0.1 (DNS
 * rebinding): such a request carries the other site's name as its Host.
 */
static int
sv_host_ok(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char host[64];
	const char *end;
	unsigned char a[16];
	size_t n;

	if (!h)
		return 1;
	if (*h == '[') {
		if (!(end = strchr(h, ']')) || (end[1] && end[1] != ':'))
			return 0;
		h++;
	} else {
		end = h + strcspn(h, ":");
	}
	if ((n = (size_t)(end - h)) == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	return inet_pton(AF_INET6, host, a) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a);
}

/* ---- routing ---------------------------------------------------------- */

static enum MHD_Result
sv_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct sv *sv = cls;
	char *cookie = NULL;
	const struct sv_asset *a;
	enum MHD_Result r;

	(void)version;
	(void)upload;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return sv_error(
		    c, MHD_HTTP_METHOD_NOT_ALLOWED, "this dashboard is read-only (GET)");
	if (*upload_size != 0)
		return sv_error(c, MHD_HTTP_BAD_REQUEST, "a GET has no body");
	(void)state;
	if (!sv->need_token && !sv_host_ok(c))
		return sv_error(c, MHD_HTTP_FORBIDDEN,
		    "this dashboard answers only requests for localhost, 127.0.0.1 or [::1] "
		    "(without a token)");
	/* the style sheet is the same for everyone: the 401 page uses it too */
	if ((a = sv_asset_find(url)))
		return sv_send(c, MHD_HTTP_OK, a->type, (void *)a->body, strlen(a->body),
		    MHD_RESPMEM_PERSISTENT, NULL);
	if (!sv_allowed(sv, c, &cookie))
		return sv_error(c, MHD_HTTP_UNAUTHORIZED,
		    "this dashboard wants its token: send 'Authorization: Bearer TOKEN', or open "
		    "the page once with ?token=TOKEN");
	if (strcmp(url, "/") == 0)
		r = sv_home(sv, c, cookie);
	else if (strcmp(url, "/stats") == 0)
		r = sv_stats_page(sv, c, cookie);
	else if (strcmp(url, "/search") == 0)
		r = sv_search_page(sv, c, cookie);
	else if (strcmp(url, "/failed") == 0)
		r = sv_failed_page(sv, c, cookie);
	else if (strncmp(url, "/task/", 6) == 0)
		r = sv_task_page(sv, c, url + 6, cookie);
	else
		r = sv_error(c, MHD_HTTP_NOT_FOUND, "no such page: see the links above");
	free(cookie);
	return r;
}

/* ---- start -------------------------------------------------------------- */

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (loopback) into `ss`; *loopback set. */
static int
sv_listen_parse(const char *arg, struct sockaddr_storage *ss, socklen_t *len, int *loopback)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	char *end;
	long port;
	size_t hl;

	if (!colon)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end || port < 0 || port > 65535)
		return -1;
	hl = (size_t)(colon - arg);
	if (hl >= 2 && arg[0] == '[' && arg[hl - 1] == ']') {
		arg++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	if (hl == 0)
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		*loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		return 0;
	}
	return -1;
}

/* The token: the first line of `file`, else SMCTL_SERVE_TOKEN; NULL none. */
static char *
sv_token_read(const char *file, const char **why)
{
	char *tok = NULL;
	size_t n;

	*why = NULL;
	if (file) {
		FILE *f = fopen(file, "r");
		char line[SV_TOKEN_MAX + 2];

		if (!f) {
			*why = strerror(errno);
			return NULL;
		}
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		tok = strdup(line);
	} else if (getenv("SMCTL_SERVE_TOKEN")) {
		tok = strdup(getenv("SMCTL_SERVE_TOKEN"));
	} else {
		return NULL;
	}
	if (!tok) {
		*why = "out of memory";
		return NULL;
	}
	n = strcspn(tok, "\r\n");
	while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		n--;
	tok[n] = '\0';
	if (n == 0 || n > SV_TOKEN_MAX) {
		*why = n ? "longer than 4096 bytes" : "empty";
		free(tok);
		return NULL;
	}
	return tok;
}

static const char *
sv_port_text(struct MHD_Daemon *d, char *buf, size_t size)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	snprintf(buf, size, "%u", info ? (unsigned)info->port : 0u);
	return buf;
}

int
smctl_cmd_serve(const struct smctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 't' },
		{ "days", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "option", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *listen = SV_DEFAULT_LISTEN, *token_file = NULL, *why;
	struct smctl_config_args cargs = { 0 };
	struct sockaddr_storage ss;
	struct MHD_Daemon *d = NULL;
	socklen_t sslen;
	struct sv sv;
	char *tok = NULL, *end, port[16];
	int c, status = 1, loopback = 0, sig;
	sigset_t set;

	memset(&sv, 0, sizeof(sv));
	sv.timeout_ms = SV_TIMEOUT_MS_DEFAULT;
	sv.days = SV_DAYS_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:t:n:T:c:d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'n': {
			long n = strtol(optarg, &end, 10);

			if (!*optarg || *end || n < 1 || n > FL_DAYS_MAX) {
				status = smctl_usage_error(
				    cmd, "--days wants 1 to 3660, not '%s'", optarg);
				goto out;
			}
			sv.days = (int)n;
			break;
		}
		case 'T':
			if (smctl_timeout_parse(optarg, &sv.timeout_ms) != 0) {
				status = smctl_usage_error(cmd,
				    "--timeout wants " SMCTL_TIMEOUT_HINT ", not '%s'", optarg);
				goto out;
			}
			break;
		case 'c':
		case 'd':
		case 'o':
			if (smctl_config_arg(cmd, &cargs, c, optarg) != 0)
				goto out;
			break;
		case 'h':
			smctl_print_help(cmd);
			status = 0;
			goto out;
		default:
			status = smctl_usage_error(cmd, "unknown option%s", "");
			goto out;
		}
	}
	if (optind != argc) {
		status = smctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (sv_listen_parse(listen, &ss, &sslen, &loopback) != 0) {
		status = smctl_usage_error(cmd,
		    "--listen wants ADDR:PORT with a numeric address (127.0.0.1:8350, "
		    "[::1]:8350, 0.0.0.0:8350), not '%s'",
		    listen);
		goto out;
	}
	tok = sv_token_read(token_file, &why);
	if (why) {
		fprintf(stderr, "%s serve: the token%s%s: %s\n", smctl_progname,
		    token_file ? " file " : " in SMCTL_SERVE_TOKEN", token_file ? token_file : "",
		    why);
		status = SMCTL_EXIT_USAGE;
		goto out;
	}
	if (!loopback && !tok) {
		fprintf(stderr,
		    "%s serve: listening on '%s' (not a loopback address) needs a token: give "
		    "--token-file FILE or set SMCTL_SERVE_TOKEN\n",
		    smctl_progname, listen);
		status = SMCTL_EXIT_USAGE;
		goto out;
	}
	if (tok) {
		sv.need_token = 1;
		SHA256((const unsigned char *)tok, strlen(tok), sv.token_sha);
		OPENSSL_cleanse(tok, strlen(tok));
	}
	if ((status = smctl_config_load(cmd, &sv.cfg, &cargs)) != 0)
		goto out;
	status = 1;
	pthread_mutex_init(&sv.lock, NULL);

	/* signals are taken by sigwait below, not by the server's threads */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	        (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, sv_handler, &sv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SV_THREADS, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)SV_CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SV_CONN_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SV_CONN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SV_CONN_MEMORY, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "%s serve: cannot listen on '%s' (in use? a local address?)\n",
		    smctl_progname, listen);
		goto out_mutex;
	}
	/* the address as bound (port 0 picks a free one): tests and scripts read it */
	{
		const char *colon = strrchr(listen, ':');

		printf("listening on http://%.*s:%s/\n",
		    colon == listen ? 9 : (int)(colon - listen),
		    colon == listen ? "127.0.0.1" : listen, sv_port_text(d, port, sizeof(port)));
	}
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM)
		;
	MHD_stop_daemon(d);
	status = 0;
out_mutex:
	fl_close(sv.fl);
	pthread_mutex_destroy(&sv.lock);
out:
	free(tok);
	rt_config_free(&sv.cfg);
	smctl_config_args_free(&cargs);
	return status;
}
