/*
 * creds.c - the AWS credentials chain: environment, shared credentials
 * file, shared config file, EC2 instance metadata (IMDSv2).
 *
 * Static sources are read once at create time.  IMDS is a small state
 * machine driven by http.h completions on the loop: token -> role name ->
 * credentials; a 401 with a cached token drops the token and starts over
 * once.  Waiters (tp__creds_wait) are called from the loop only: from a fetch
 * completion or from a zero-delay timer, never from inside tp__creds_wait.
 *
 * Secret strings are wiped before they are freed and never formatted into
 * a message; messages name the file and line, the variable or the URL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "awsconf.h"
#include "creds.h"
#include "http.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "sm_time.h"

enum src {
	SRC_NONE,
	SRC_ENV,
	SRC_CREDS_FILE,
	SRC_CONFIG_FILE,
	SRC_IMDS
};

enum imds_step {
	STEP_IDLE,
	STEP_TOKEN,
	STEP_ROLE,
	STEP_CREDS
};

/* After a failed IMDS fetch, tp__creds_get does not start another for this long. */
#define CREDS_RETRY_AFTER_MS 1000
#define CREDS_IMDS_RESP_MAX (64 * 1024)
#define CREDS_STR2(x) #x
#define CREDS_STR(x) CREDS_STR2(x)
#define CREDS_IMDS_TOKEN_TTL_STR CREDS_STR(CREDS_IMDS_TOKEN_TTL_S)

struct waiter {
	creds_ready_cb *cb;
	void *arg;
};

struct creds_provider {
	struct sm_loop *loop;
	struct http *http;
	int own_http;
	enum src src;
	char *ak, *sk, *token;
	int64_t expiration;        /* wall s; 0: never */

	/* IMDS */
	int imds;                  /* IMDS is the source */
	char *endpoint;
	long connect_ms, timeout_ms;
	char *imds_token;
	uint64_t imds_token_until; /* monotonic ms */
	char *role;
	enum imds_step step;
	struct http_request *req;
	int token_retried;
	int failed;                /* the last fetch failed */
	uint64_t retry_after;      /* monotonic ms */

	struct waiter *waiters;
	size_t nwaiters, capwaiters;
	uint64_t timer;
	int in_notify;
	int dead;

	char last_error[512];
};

static void imds_start(struct creds_provider *p);

/* ---- small helpers ---------------------------------------------------- */

static void
free_secret(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static void
clear_creds(struct creds_provider *p)
{
	free_secret(&p->ak);
	free_secret(&p->sk);
	free_secret(&p->token);
	p->expiration = 0;
}

__attribute__((format(printf, 2, 3))) static void
set_last_error(struct creds_provider *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->last_error, sizeof(p->last_error), fmt, ap);
	va_end(ap);
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* A credential string: printable ASCII, no blanks (it goes in headers). */
static int
cred_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 8192)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || (unsigned char)*s >= 127)
			return 0;
	return 1;
}

static int
set_creds(struct creds_provider *p, const char *ak, const char *sk, const char *token,
    int64_t expiration)
{
	char *nak = strdup(ak), *nsk = strdup(sk);
	char *ntok = token && *token ? strdup(token) : NULL;

	if (nak == NULL || nsk == NULL || (token && *token && ntok == NULL)) {
		free_secret(&nak);
		free_secret(&nsk);
		free_secret(&ntok);
		return SM_ENOMEM;
	}
	clear_creds(p);
	p->ak = nak;
	p->sk = nsk;
	p->token = ntok;
	p->expiration = expiration;
	return 0;
}

/* ---- waiters ---------------------------------------------------------- */

static void
provider_free(struct creds_provider *p)
{
	clear_creds(p);
	free_secret(&p->imds_token);
	free(p->role);
	free(p->endpoint);
	free(p->waiters);
	free(p);
}

/* Call the waiters present now with `code` (those added meanwhile wait
 * for their own outcome). */
static void
notify(struct creds_provider *p, int code)
{
	size_t n0 = p->nwaiters;

	p->in_notify++;
	while (n0-- > 0 && p->nwaiters > 0 && !p->dead) {
		struct waiter w = p->waiters[0];

		memmove(p->waiters, p->waiters + 1, (p->nwaiters - 1) * sizeof(*p->waiters));
		p->nwaiters--;
		w.cb(w.arg, code);
	}
	p->in_notify--;
	if (p->dead && p->in_notify == 0)
		provider_free(p);
}

static int
valid_now(const struct creds_provider *p)
{
	if (p->ak == NULL)
		return 0;
	return p->expiration == 0 || sm_time_wall_ms() / 1000 < p->expiration;
}

static int64_t
on_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct creds_provider *p = arg;

	(void)loop;
	(void)id;
	p->timer = 0;
	if (valid_now(p))
		notify(p, 0);
	else if (p->step == STEP_IDLE)
		notify(p, SM_ECREDS);
	/* else: the fetch in flight will notify */
	return -1;
}

static void
arm_timer(struct creds_provider *p)
{
	if (p->timer == 0)
		p->timer = sm_loop_timer_add(p->loop, 0, on_timer, p);
}

/* ---- IMDS ------------------------------------------------------------- */

static void
imds_fail(struct creds_provider *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
imds_fail(struct creds_provider *p, const char *fmt, ...)
{
	va_list ap;
	char what[400];

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	set_last_error(p, "instance metadata (%s): %s", p->endpoint, what);
	sm_log_warn("aws credentials: %s", p->last_error);
	p->step = STEP_IDLE;
	p->req = NULL;
	p->failed = 1;
	p->retry_after = sm_time_mono_ms() + CREDS_RETRY_AFTER_MS;
	/* we may be inside tp__creds_get or tp__creds_wait: tell waiters from the loop */
	arm_timer(p);
}

static void imds_on_done(void *arg, const struct http_response *resp);

static void
imds_request(struct creds_provider *p, enum imds_step step)
{
	struct http_header h[1];
	struct http_req_spec s;
	struct sm_error err;
	char *url = NULL;
	const char *what;
	int rc;

	memset(&s, 0, sizeof(s));
	switch (step) {
	case STEP_TOKEN:
		what = "/latest/api/token";
		rc = asprintf(&url, "%s%s", p->endpoint, what);
		s.method = "PUT";
		h[0].name = "X-aws-ec2-metadata-token-ttl-seconds";
		h[0].value = CREDS_IMDS_TOKEN_TTL_STR;
		break;
	case STEP_ROLE:
		what = "/latest/meta-data/iam/security-credentials/";
		rc = asprintf(&url, "%s%s", p->endpoint, what);
		s.method = "GET";
		h[0].name = "X-aws-ec2-metadata-token";
		h[0].value = p->imds_token;
		break;
	default:
		what = "role credentials";
		rc = asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s",
		    p->endpoint, p->role);
		s.method = "GET";
		h[0].name = "X-aws-ec2-metadata-token";
		h[0].value = p->imds_token;
		break;
	}
	if (rc < 0) {
		imds_fail(p, "out of memory");
		return;
	}
	s.url = url;
	s.headers = h;
	s.nheaders = 1;
	s.resp_max = CREDS_IMDS_RESP_MAX;
	s.connect_timeout_ms = p->connect_ms;
	s.timeout_ms = p->timeout_ms;
	p->step = step;
	sm_error_clear(&err);
	rc = tp__http_start(p->http, &s, imds_on_done, p, &p->req, &err);
	free(url);
	if (rc != 0)
		imds_fail(p, "cannot start %s: %s", what, err.msg);
}

static void
imds_start(struct creds_provider *p)
{
	if (p->step != STEP_IDLE || p->dead)
		return;
	p->token_retried = 0;
	if (p->imds_token && sm_time_mono_ms() < p->imds_token_until)
		imds_request(p, STEP_ROLE);
	else
		imds_request(p, STEP_TOKEN);
}

/* A 401 on a metadata GET: the token expired or was revoked; get a new
 * one, once per fetch. */
static int
imds_retry_token(struct creds_provider *p)
{
	if (p->token_retried)
		return 0;
	p->token_retried = 1;
	free_secret(&p->imds_token);
	imds_request(p, STEP_TOKEN);
	return 1;
}

static void
imds_got_creds(struct creds_provider *p, const struct http_response *resp)
{
	json_t *root, *v;
	json_error_t jerr;
	const char *ak, *sk, *tok, *exp, *code;
	int64_t expiration = 0;

	root = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		/* never quote the body: it holds secrets */
		imds_fail(p, "role \"%s\": answer is not a JSON object", p->role);
		return;
	}
	v = json_object_get(root, "Code");
	code = json_is_string(v) ? json_string_value(v) : NULL;
	if (v && (code == NULL || strcmp(code, "Success") != 0)) {
		char c[64];

		snprintf(c, sizeof(c), "%s", code ? code : "?");
		for (char *q = c; *q; q++)
			if (!isalnum((unsigned char)*q))
				*q = '_';
		json_decref(root);
		imds_fail(p, "role \"%s\": Code is \"%s\", not \"Success\"", p->role, c);
		return;
	}
	ak = json_string_value(json_object_get(root, "AccessKeyId"));
	sk = json_string_value(json_object_get(root, "SecretAccessKey"));
	tok = json_string_value(json_object_get(root, "Token"));
	exp = json_string_value(json_object_get(root, "Expiration"));
	if (!cred_ok(ak) || !cred_ok(sk) || (tok && *tok && !cred_ok(tok))) {
		json_decref(root);
		imds_fail(p, "role \"%s\": AccessKeyId, SecretAccessKey or Token missing or "
		    "malformed", p->role);
		return;
	}
	if (exp && sm_time_parse(exp, &expiration) != 0) {
		json_decref(root);
		imds_fail(p, "role \"%s\": Expiration is not an ISO 8601 UTC time", p->role);
		return;
	}
	expiration /= 1000;
	if (expiration && expiration <= sm_time_wall_ms() / 1000) {
		json_decref(root);
		imds_fail(p, "role \"%s\": the credentials served have already expired; "
		    "check the instance clock", p->role);
		return;
	}
	if (set_creds(p, ak, sk, tok, expiration) != 0) {
		json_decref(root);
		imds_fail(p, "out of memory");
		return;
	}
	json_decref(root);
	p->step = STEP_IDLE;
	p->req = NULL;
	p->failed = 0;
	p->last_error[0] = '\0';
	sm_log_info("aws credentials: from instance metadata role \"%s\", expire in %lld s",
	    p->role, expiration ? (long long)(expiration - sm_time_wall_ms() / 1000) : -1LL);
	notify(p, 0);
}

static int
role_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@_-", s[i]))
			return 0;
	return 1;
}

static void
imds_on_done(void *arg, const struct http_response *resp)
{
	struct creds_provider *p = arg;
	enum imds_step step = p->step;
	const char *what = step == STEP_TOKEN ? "PUT /latest/api/token" :
	    step == STEP_ROLE ? "GET /latest/meta-data/iam/security-credentials/" :
	    "GET role credentials";

	p->req = NULL;
	if (resp->code != 0) {
		imds_fail(p, "%s: %s (%s)", what, sm_strerror(resp->code),
		    resp->error ? resp->error : "");
		return;
	}
	if (resp->status == 401 && step != STEP_TOKEN && imds_retry_token(p))
		return;
	if (resp->status != 200) {
		imds_fail(p, "%s: http status %ld%s", what, resp->status,
		    resp->status == 404 && step != STEP_TOKEN ?
		    " (is an instance profile attached?)" : "");
		return;
	}
	switch (step) {
	case STEP_TOKEN:
		if (resp->body_len == 0 || !cred_ok(resp->body)) {
			imds_fail(p, "%s: empty or malformed token", what);
			return;
		}
		free_secret(&p->imds_token);
		p->imds_token = strdup(resp->body);
		if (p->imds_token == NULL) {
			imds_fail(p, "out of memory");
			return;
		}
		/* use it a minute less than granted */
		p->imds_token_until = sm_time_mono_ms() +
		    (uint64_t)(CREDS_IMDS_TOKEN_TTL_S - 60) * 1000;
		imds_request(p, STEP_ROLE);
		return;
	case STEP_ROLE: {
		const char *s = resp->body, *e;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		for (e = s; *e && *e != '\n' && *e != '\r'; e++)
			;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (!role_ok(s, (size_t)(e - s))) {
			imds_fail(p, "%s: no usable role name in the answer", what);
			return;
		}
		free(p->role);
		p->role = strndup(s, (size_t)(e - s));
		if (p->role == NULL) {
			imds_fail(p, "out of memory");
			return;
		}
		imds_request(p, STEP_CREDS);
		return;
	}
	default:
		imds_got_creds(p, resp);
		return;
	}
}

/* ---- static sources ---------------------------------------------------- */

/*
 * Look for keys in one section of one parsed file.  0: found (set);
 * SM_ENOTFOUND: not there; other: error with `err` set.
 */
static int
from_section(struct creds_provider *p, const struct awsconf_ini *ini, const char *path,
    const char *section, enum src src, struct sm_error *err)
{
	const char *ak = tp__awsconf_ini_get(ini, section, "aws_access_key_id");
	const char *sk = tp__awsconf_ini_get(ini, section, "aws_secret_access_key");
	const char *tok = tp__awsconf_ini_get(ini, section, "aws_session_token");
	static const char *const unsupported[] = { "role_arn", "credential_process",
		"sso_start_url", "sso_session", "web_identity_token_file" };
	size_t i;

	if (ak == NULL && sk == NULL) {
		for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
			if (tp__awsconf_ini_get(ini, section, unsupported[i]))
				return sm_error_set(err, SM_EUNSUPPORTED,
				    "%s: [%s] uses %s, which smd does not support; give static "
				    "keys or use an instance role", path, section, unsupported[i]);
		return SM_ENOTFOUND;
	}
	if (ak == NULL || *ak == '\0' || sk == NULL || *sk == '\0')
		return sm_error_set(err, SM_ECREDS,
		    "%s: [%s] has %s but not %s; give both", path, section,
		    ak && *ak ? "aws_access_key_id" : "aws_secret_access_key",
		    ak && *ak ? "aws_secret_access_key" : "aws_access_key_id");
	if (!cred_ok(ak) || !cred_ok(sk) || (tok && *tok && !cred_ok(tok)))
		return sm_error_set(err, SM_ECREDS,
		    "%s: [%s]: a key holds blanks or control characters; check the file",
		    path, section);
	if (set_creds(p, ak, sk, tok, 0) != 0)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	p->src = src;
	return 0;
}

/* Load a shared file; *ini NULL when it does not exist. */
static int
load_file(const char *path, struct awsconf_ini **ini, struct sm_error *err)
{
	int rc;

	*ini = NULL;
	if (path == NULL)
		return 0;
	rc = tp__awsconf_ini_load(path, ini, err);
	if (rc == SM_ENOTFOUND) {
		if (err)
			sm_error_clear(err);
		return 0;
	}
	return rc;
}

static int
from_files(struct creds_provider *p, const char *profile, int explicit_profile,
    struct sm_error *err)
{
	struct awsconf_ini *cini = NULL, *fini = NULL;
	char *cpath = tp__awsconf_credentials_path(), *fpath = tp__awsconf_config_path();
	char *section = tp__awsconf_config_section(profile);
	int rc;

	if (section == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = load_file(cpath, &cini, err)) != 0)
		goto out;
	if (cini) {
		rc = from_section(p, cini, cpath, profile, SRC_CREDS_FILE, err);
		if (rc != SM_ENOTFOUND)
			goto out;
	}
	if ((rc = load_file(fpath, &fini, err)) != 0)
		goto out;
	if (fini) {
		rc = from_section(p, fini, fpath, section, SRC_CONFIG_FILE, err);
		if (rc == SM_ENOTFOUND && strcmp(profile, "default") == 0)
			rc = from_section(p, fini, fpath, "profile default", SRC_CONFIG_FILE, err);
		if (rc != SM_ENOTFOUND)
			goto out;
	}
	rc = SM_ENOTFOUND;
	if (explicit_profile && !tp__awsconf_ini_has_section(cini, profile) &&
	    !tp__awsconf_ini_has_section(fini, section))
		rc = sm_error_set(err, SM_ECREDS,
		    "profile \"%s\" is neither in \"%s\" nor in \"%s\"; check AWS_PROFILE",
		    profile, cpath ? cpath : "(no credentials file)",
		    fpath ? fpath : "(no config file)");
out:
	tp__awsconf_ini_free(cini);
	tp__awsconf_ini_free(fini);
	free(cpath);
	free(fpath);
	free(section);
	return rc;
}

/* ---- the provider ----------------------------------------------------- */

static int
imds_disabled(void)
{
	const char *v = env("AWS_EC2_METADATA_DISABLED");

	return v && strcasecmp(v, "true") == 0;
}

static char *
imds_endpoint(void)
{
	const char *v = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t n;

	if (v == NULL)
		v = mode && strcasecmp(mode, "ipv6") == 0 ? "http://[fd00:ec2::254]" :
		    CREDS_IMDS_DEFAULT_ENDPOINT;
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	return strndup(v, n);
}

int
tp__creds_provider_create(struct creds_provider **out, struct sm_loop *loop, struct http *http,
    const struct creds_options *opt, struct sm_error *err)
{
	struct creds_provider *p;
	const char *ak, *sk, *profile;
	int rc, explicit_profile;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	p->loop = loop;
	p->http = http;
	p->connect_ms = opt && opt->imds_connect_timeout_ms > 0 ?
	    opt->imds_connect_timeout_ms : 1000;
	p->timeout_ms = opt && opt->imds_timeout_ms > 0 ? opt->imds_timeout_ms : 2000;

	/* 1. environment */
	ak = env("AWS_ACCESS_KEY_ID");
	sk = env("AWS_SECRET_ACCESS_KEY");
	if (ak || sk) {
		const char *tok = env("AWS_SESSION_TOKEN");

		if (ak == NULL || sk == NULL) {
			rc = sm_error_set(err, SM_ECREDS, "%s is set but %s is not; set both",
			    ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			    ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			goto fail;
		}
		if (!cred_ok(ak) || !cred_ok(sk) || (tok && !cred_ok(tok))) {
			rc = sm_error_set(err, SM_ECREDS, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY "
			    "or AWS_SESSION_TOKEN holds blanks or control characters");
			goto fail;
		}
		if (set_creds(p, ak, sk, tok, 0) != 0) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		p->src = SRC_ENV;
		goto found;
	}

	/* 2, 3. shared files */
	profile = opt && opt->profile && *opt->profile ? opt->profile : env("AWS_PROFILE");
	explicit_profile = profile != NULL;
	if (profile == NULL)
		profile = "default";
	rc = from_files(p, profile, explicit_profile, err);
	if (rc == 0)
		goto found;
	if (rc != SM_ENOTFOUND)
		goto fail;

	/* 4. IMDS */
	if ((opt && opt->no_imds) || imds_disabled() || loop == NULL) {
		rc = sm_error_set(err, SM_ECREDS,
		    "no aws credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
		    "give profile \"%s\" keys in the shared credentials file (%s)", profile,
		    imds_disabled() ? "instance metadata is disabled by AWS_EC2_METADATA_DISABLED" :
		    opt && opt->no_imds ? "instance metadata is disabled" :
		    "instance metadata needs an event loop");
		goto fail;
	}
	p->imds = 1;
	p->src = SRC_IMDS;
	p->endpoint = imds_endpoint();
	if (p->endpoint == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "out of memory");
		goto fail;
	}
	if (p->http == NULL) {
		rc = tp__http_create(&p->http, loop, err);
		if (rc)
			goto fail;
		p->own_http = 1;
	}
	sm_log_info("aws credentials: fetching from instance metadata at %s", p->endpoint);
	imds_start(p);
	*out = p;
	return 0;
found:
	sm_log_info("aws credentials: from %s", tp__creds_source(p));
	*out = p;
	return 0;
fail:
	provider_free(p);
	return rc;
}

void
tp__creds_provider_destroy(struct creds_provider *p)
{
	if (p == NULL || p->dead)
		return;
	if (p->req) {
		tp__http_cancel(p->req);
		p->req = NULL;
	}
	p->step = STEP_IDLE;
	if (p->timer) {
		sm_loop_timer_del(p->loop, p->timer);
		p->timer = 0;
	}
	if (p->own_http) {
		tp__http_destroy(p->http);
		p->http = NULL;
		p->own_http = 0;
	}
	/* pending waiters hear that it is over */
	p->in_notify++;
	while (p->nwaiters > 0) {
		struct waiter w = p->waiters[0];

		memmove(p->waiters, p->waiters + 1, (p->nwaiters - 1) * sizeof(*p->waiters));
		p->nwaiters--;
		w.cb(w.arg, SM_ECANCELED);
	}
	p->in_notify--;
	p->dead = 1;
	if (p->in_notify == 0)
		provider_free(p);
}

int
tp__creds_get(struct creds_provider *p, struct sigv4_creds *out)
{
	int64_t now;

	memset(out, 0, sizeof(*out));
	if (p == NULL || p->dead)
		return SM_ECREDS;
	if (p->imds) {
		now = sm_time_wall_ms() / 1000;
		if (p->ak == NULL || (p->expiration &&
		    now >= p->expiration - CREDS_REFRESH_BEFORE_S)) {
			if (p->step == STEP_IDLE && (!p->failed ||
			    sm_time_mono_ms() >= p->retry_after))
				imds_start(p);
		}
		if (!valid_now(p))
			return p->step != STEP_IDLE ? SM_EAGAIN : SM_ECREDS;
	}
	if (p->ak == NULL)
		return SM_ECREDS;
	out->access_key = p->ak;
	out->secret_key = p->sk;
	out->session_token = p->token;
	return 0;
}

int
tp__creds_wait(struct creds_provider *p, creds_ready_cb *cb, void *arg)
{
	if (p == NULL || cb == NULL || p->loop == NULL || p->dead)
		return SM_EINVAL;
	if (p->nwaiters == p->capwaiters) {
		size_t nc = p->capwaiters ? p->capwaiters * 2 : 4;
		struct waiter *nw = realloc(p->waiters, nc * sizeof(*nw));

		if (nw == NULL)
			return SM_ENOMEM;
		p->waiters = nw;
		p->capwaiters = nc;
	}
	/* start first: a synchronous failure arms the timer, never calls back */
	if (p->imds && !valid_now(p) && p->step == STEP_IDLE)
		imds_start(p);
	p->waiters[p->nwaiters++] = (struct waiter){ cb, arg };
	if (valid_now(p) || p->step == STEP_IDLE) {
		arm_timer(p);
		if (p->timer == 0) {
			p->nwaiters--;
			return SM_ENOMEM;
		}
	}
	return 0;
}

const char *
tp__creds_last_error(const struct creds_provider *p)
{
	return p ? p->last_error : "";
}

const char *
tp__creds_source(const struct creds_provider *p)
{
	switch (p ? p->src : SRC_NONE) {
	case SRC_ENV:
		return "env";
	case SRC_CREDS_FILE:
		return "shared-credentials-file";
	case SRC_CONFIG_FILE:
		return "shared-config-file";
	case SRC_IMDS:
		return "imds";
	default:
		return "none";
	}
}

int64_t
tp__creds_expiration(const struct creds_provider *p)
{
	return p ? p->expiration : 0;
}
