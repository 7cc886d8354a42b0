/*
 * test_creds.c - the credentials chain: environment, profiles in the
 * shared files and their precedence, missing and malformed files (no
 * secret in any message or log line), and IMDSv2 against a fake metadata
 * server on 127.0.0.1 (fake_imds.py): token, role, credentials, refresh
 * before expiry, a 401 that fetches a new token, failures, disabled IMDS.
 *
 * Every test points AWS_EC2_METADATA_SERVICE_ENDPOINT at loopback or
 * disables IMDS: 169.254.169.254 is never contacted.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"
#include "creds_test_util.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "tap.h"

static char tmpdir[256];
static FILE *log_fp;

static void
rm(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

static void
clean_env(void)
{
	static const char *const vars[] = { "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tmpdir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	/* belt and braces: even if enabled by mistake, only loopback */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
}

/* Create a provider without a loop (static sources only). */
static int
mk(struct creds_provider **p, struct sm_error *err)
{
	sm_error_clear(err);
	*p = NULL;
	return tp__creds_provider_create(p, NULL, NULL, NULL, err);
}

static void
test_env(void)
{
	struct creds_provider *p;
	struct sigv4_creds c;
	struct sm_error err;

	clean_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET123", 1);
	setenv("AWS_SESSION_TOKEN", "ENVTOKEN", 1);
	ctu_write_str(tmpdir, ".aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
	    "aws_secret_access_key = FILESECRET\n");
	is_int(mk(&p, &err), 0, "env: provider created");
	is_str(tp__creds_source(p), "env", "env: source is env (beats the file)");
	is_int(tp__creds_get(p, &c), 0, "env: creds available");
	is_str(c.access_key, "AKIDENV", "env: access key");
	is_str(c.secret_key, "ENVSECRET123", "env: secret key");
	is_str(c.session_token, "ENVTOKEN", "env: session token");
	is_int(tp__creds_expiration(p), 0, "env: never expire");
	tp__creds_provider_destroy(p);

	unsetenv("AWS_SESSION_TOKEN");
	mk(&p, &err);
	tp__creds_get(p, &c);
	ok(c.session_token == NULL, "env: no token when unset");
	tp__creds_provider_destroy(p);

	unsetenv("AWS_SECRET_ACCESS_KEY");
	is_int(mk(&p, &err), SM_ECREDS, "env: access key without secret refused");
	like_str(err.msg, "AWS_SECRET_ACCESS_KEY", "env: message names the missing variable");
	ok(p == NULL, "env: no provider on failure");
	setenv("AWS_SECRET_ACCESS_KEY", "bad\nsecret", 1);
	is_int(mk(&p, &err), SM_ECREDS, "env: secret with a newline refused");
	ok(strstr(err.msg, "bad") == NULL, "env: the secret is not quoted");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	rm(".aws/credentials");
}

static void
test_files(void)
{
	struct creds_provider *p;
	struct sigv4_creds c;
	struct sm_error err;
	char path[512];

	clean_env();
	/* credentials file [default] */
	ctu_write_str(tmpdir, ".aws/credentials", "# keys\n[default]\r\naws_access_key_id = AKIDDEF\r\n"
	    "aws_secret_access_key = DEFSECRET\r\n\r\n[dev]\naws_access_key_id=AKIDDEV\n"
	    "aws_secret_access_key=DEVSECRET\naws_session_token=DEVTOKEN\n");
	ctu_write_str(tmpdir, ".aws/config", "[default]\nregion = eu-west-1\naws_access_key_id = AKIDCFGDEF\n"
	    "aws_secret_access_key = CFGDEFSECRET\n[profile dev]\naws_access_key_id = AKIDCFGDEV\n"
	    "aws_secret_access_key = CFGDEVSECRET\n[profile onlycfg]\n"
	    "aws_access_key_id = AKIDONLYCFG\naws_secret_access_key = ONLYCFGSECRET\n"
	    "[profile assume]\nrole_arn = arn:aws:iam::123456789012:role/x\n"
	    "source_profile = default\n[profile empty]\nregion = us-east-2\n");
	is_int(mk(&p, &err), 0, "files: default profile");
	is_str(tp__creds_source(p), "shared-credentials-file", "files: credentials file first");
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDDEF", "files: [default] of the credentials file (CRLF)");
	is_str(c.secret_key, "DEFSECRET", "files: its secret");
	tp__creds_provider_destroy(p);

	setenv("AWS_PROFILE", "dev", 1);
	mk(&p, &err);
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDDEV", "files: AWS_PROFILE=dev picks [dev]");
	is_str(c.session_token, "DEVTOKEN", "files: session token from the file");
	is_str(tp__creds_source(p), "shared-credentials-file",
	    "files: credentials file beats [profile dev] of the config");
	tp__creds_provider_destroy(p);

	setenv("AWS_PROFILE", "onlycfg", 1);
	is_int(mk(&p, &err), 0, "files: profile only in the config");
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDONLYCFG", "files: [profile onlycfg] of the config");
	is_str(tp__creds_source(p), "shared-config-file", "files: source is the config file");
	tp__creds_provider_destroy(p);

	setenv("AWS_PROFILE", "nosuch", 1);
	is_int(mk(&p, &err), SM_ECREDS, "files: unknown profile refused");
	like_str(err.msg, "\"nosuch\"", "files: message names the profile");
	like_str(err.msg, "AWS_PROFILE", "files: message says what to check");

	setenv("AWS_PROFILE", "assume", 1);
	is_int(mk(&p, &err), SM_EUNSUPPORTED, "files: role_arn profile unsupported");
	like_str(err.msg, "role_arn", "files: message names the feature");

	setenv("AWS_PROFILE", "empty", 1);
	is_int(mk(&p, &err), SM_ECREDS, "files: profile without keys and no IMDS");
	like_str(err.msg, "instance metadata is disabled", "files: says IMDS is off");
	unsetenv("AWS_PROFILE");

	/* config [default] when the credentials file has no [default] */
	ctu_write_str(tmpdir, ".aws/credentials", "[dev]\naws_access_key_id=AKIDDEV\n"
	    "aws_secret_access_key=DEVSECRET\n");
	mk(&p, &err);
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDCFGDEF", "files: config [default] after credentials file");
	tp__creds_provider_destroy(p);

	/* overridden locations */
	snprintf(path, sizeof(path), "%s/other-creds", tmpdir);
	ctu_write_str(tmpdir, "other-creds", "[default]\naws_access_key_id=AKIDOTHER\n"
	    "aws_secret_access_key=OTHERSECRET\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	mk(&p, &err);
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDOTHER", "files: AWS_SHARED_CREDENTIALS_FILE");
	tp__creds_provider_destroy(p);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	snprintf(path, sizeof(path), "%s/other-config", tmpdir);
	ctu_write_str(tmpdir, "other-config", "[profile x]\naws_access_key_id=AKIDOTHERCFG\n"
	    "aws_secret_access_key=OTHERCFGSECRET\n");
	setenv("AWS_CONFIG_FILE", path, 1);
	setenv("AWS_PROFILE", "x", 1);
	mk(&p, &err);
	tp__creds_get(p, &c);
	is_str(c.access_key, "AKIDOTHERCFG", "files: AWS_CONFIG_FILE");
	tp__creds_provider_destroy(p);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_PROFILE");

	/* missing files */
	rm(".aws/credentials");
	rm(".aws/config");
	is_int(mk(&p, &err), SM_ECREDS, "files: none at all, IMDS disabled");
	like_str(err.msg, "AWS_ACCESS_KEY_ID", "files: message says what to set");
	unsetenv("HOME");
	is_int(mk(&p, &err), SM_ECREDS, "files: no HOME is not a crash");
	setenv("HOME", tmpdir, 1);

	/* malformed files never leak the secret */
	ctu_write_str(tmpdir, ".aws/credentials", "[default]\naws_access_key_id = AKIDX\n"
	    "aws_secret_access_key  wJalrSECRETLEAK\n");
	is_int(mk(&p, &err), SM_EPARSE, "malformed: line without '=' refused");
	like_str(err.msg, "credentials:3:", "malformed: file:line in the message");
	ok(strstr(err.msg, "wJalrSECRETLEAK") == NULL, "malformed: secret not in the message");
	ctu_write_str(tmpdir, ".aws/credentials", "[default\naws_access_key_id = AKIDX\n"
	    "aws_secret_access_key = wJalrSECRETLEAK\n");
	is_int(mk(&p, &err), SM_EPARSE, "malformed: missing ']' refused");
	ok(strstr(err.msg, "wJalrSECRETLEAK") == NULL, "malformed: secret not in the message");
	ctu_write_str(tmpdir, ".aws/credentials", "[default]\naws_secret_access_key = wJalrSECRETLEAK\n");
	is_int(mk(&p, &err), SM_ECREDS, "malformed: secret without access key refused");
	like_str(err.msg, "aws_access_key_id", "malformed: says which key is missing");
	ok(strstr(err.msg, "wJalrSECRETLEAK") == NULL, "malformed: secret not in the message");
	ctu_write_str(tmpdir, ".aws/credentials", "[default]\naws_access_key_id = AKID X\n"
	    "aws_secret_access_key = wJalrSECRETLEAK\n");
	is_int(mk(&p, &err), SM_ECREDS, "malformed: blank inside a key refused");
	ok(strstr(err.msg, "wJalrSECRETLEAK") == NULL, "malformed: secret not in the message");
	rm(".aws/credentials");
	/* a malformed config file is an error too (it would hold the profile) */
	ctu_write_str(tmpdir, ".aws/config", "[default]\nregion\n");
	is_int(mk(&p, &err), SM_EPARSE, "malformed: config file refused");
	rm(".aws/config");
}

/* ---- the fake IMDS ---------------------------------------------------- */

static pid_t imds_pid;
static int imds_port;

static int
imds_start_server(void)
{
	imds_pid = ctu_imds_start(&imds_port);
	if (imds_pid < 0) {
		imds_pid = 0;
		return -1;
	}
	return imds_port > 0 ? 0 : -1;
}

static void
imds_stop_server(void)
{
	ctu_imds_stop(imds_pid);
	imds_pid = 0;
}

static size_t
collect(char *ptr, size_t size, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), add = size * n;

	if (have + add >= 1024)
		add = 1023 - have;
	memcpy(buf + have, ptr, add);
	buf[have + add] = '\0';
	return size * n;
}

/* A control call to the fake server (synchronous, loopback). */
static int
ctl(const char *path_query, char *out)
{
	char url[512], buf[1024] = "";
	CURL *e = curl_easy_init();
	long code = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", imds_port, path_query);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	if (out)
		strcpy(out, buf);
	return rc == CURLE_OK && code == 200 ? 0 : -1;
}

/* One counter from /_ctl/stats. */
static int
stat_of(const char *name)
{
	char buf[1024], key[64], *s;

	if (ctl("/_ctl/stats", buf) != 0)
		return -1;
	snprintf(key, sizeof(key), "\"%s\": ", name);
	s = strstr(buf, key);
	return s ? atoi(s + strlen(key)) : -1;
}

struct waitres {
	int called;
	int code;
};

static void
on_ready(void *arg, int code)
{
	struct waitres *w = arg;

	w->called++;
	w->code = code;
}

static void
run_until(struct sm_loop *loop, const int *flag, int timeout_ms)
{
	uint64_t end = sm_time_mono_ms() + (uint64_t)timeout_ms;

	while (!*flag && sm_time_mono_ms() < end)
		sm_loop_run_once(loop, 50);
}

static void
test_imds(void)
{
	struct sm_loop *loop = NULL;
	struct creds_provider *p = NULL;
	struct sigv4_creds c;
	struct sm_error err;
	struct waitres w = { 0, 0 };
	char ep[128];
	int rc, t0;

	clean_env();
	if (imds_start_server() != 0) {
		ok(0, "imds: fake server started");
		return;
	}
	ok(1, "imds: fake server on 127.0.0.1:%d", imds_port);
	if (sm_loop_create(&loop) != 0) {
		ok(0, "loop created");
		return;
	}
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/", imds_port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");

	/* first fetch: token, role, creds */
	sm_error_clear(&err);
	rc = tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	is_int(rc, 0, "imds: provider created (fetch started)");
	if (rc != 0) {
		diag("%s", err.msg);
		goto out;
	}
	is_str(tp__creds_source(p), "imds", "imds: source");
	is_int(tp__creds_get(p, &c), SM_EAGAIN, "imds: nothing yet, fetch in flight");
	is_int(tp__creds_wait(p, on_ready, &w), 0, "imds: wait registered");
	is_int(w.called, 0, "imds: waiter not called from inside creds_wait");
	run_until(loop, &w.called, 5000);
	is_int(w.called, 1, "imds: waiter called once");
	is_int(w.code, 0, "imds: with success");
	is_int(tp__creds_get(p, &c), 0, "imds: creds available");
	is_str(c.access_key, "ASIAFAKE1", "imds: AccessKeyId");
	is_str(c.secret_key, "fake-secret-1", "imds: SecretAccessKey");
	is_str(c.session_token, "fake-token-1", "imds: Token");
	{
		int64_t left = tp__creds_expiration(p) - sm_time_wall_ms() / 1000;

		ok(left > 3500 && left <= 3600, "imds: Expiration parsed (%lld s left)",
		    (long long)left);
	}
	is_int(stat_of("token"), 1, "imds: one token PUT");
	is_int(stat_of("ttl_missing"), 0, "imds: token PUT carried the TTL header");
	is_int(stat_of("role"), 1, "imds: one role GET");
	is_int(stat_of("creds"), 1, "imds: one credentials GET");
	/* cached: no new fetch */
	tp__creds_get(p, &c);
	sm_loop_run_once(loop, 50);
	is_int(stat_of("creds"), 1, "imds: valid creds are not fetched again");
	/* a waiter when creds are there: called from the loop, not inline */
	w.called = 0;
	is_int(tp__creds_wait(p, on_ready, &w), 0, "imds: wait with creds cached");
	is_int(w.called, 0, "imds: not called inline");
	run_until(loop, &w.called, 2000);
	ok(w.called == 1 && w.code == 0, "imds: called from the loop with success");
	tp__creds_provider_destroy(p);
	p = NULL;

	/* refresh before expiry: creds that expire in 100 s (< 300 s) */
	ctl("/_ctl/set?expiry=100", NULL);
	w.called = 0;
	tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	tp__creds_wait(p, on_ready, &w);
	run_until(loop, &w.called, 5000);
	is_int(tp__creds_get(p, &c), 0, "refresh: short-lived creds returned while valid");
	is_str(c.access_key, "ASIAFAKE2", "refresh: the second set");
	t0 = stat_of("token");
	ctl("/_ctl/set?expiry=3600", NULL);
	{
		int changed = 0;
		uint64_t end = sm_time_mono_ms() + 5000;

		while (!changed && sm_time_mono_ms() < end) {
			sm_loop_run_once(loop, 50);
			if (tp__creds_get(p, &c) == 0 && strcmp(c.access_key, "ASIAFAKE2") != 0)
				changed = 1;
		}
		ok(changed, "refresh: new creds fetched in the background");
	}
	is_str(c.access_key, "ASIAFAKE3", "refresh: the third set");
	is_int(stat_of("token"), t0, "refresh: the cached token was reused");
	ok(tp__creds_expiration(p) - sm_time_wall_ms() / 1000 > 3000, "refresh: new expiry");

	/* 401: the server forgot our token; one new token, then success */
	ctl("/_ctl/set?expiry=100&revoke=1", NULL);
	/* make the current creds due for refresh: fetch a short-lived set */
	{
		/* creds (ASIAFAKE3) are long-lived; use a new provider whose
		 * cached token we then revoke */
		tp__creds_provider_destroy(p);
		p = NULL;
		w.called = 0;
		tp__creds_provider_create(&p, loop, NULL, NULL, &err);
		tp__creds_wait(p, on_ready, &w);
		run_until(loop, &w.called, 5000);
		tp__creds_get(p, &c);
		is_str(c.access_key, "ASIAFAKE4", "401: short-lived set fetched");
		t0 = stat_of("token");
		rc = stat_of("unauthorized");
		ctl("/_ctl/set?expiry=3600&revoke=1", NULL);
		{
			int changed = 0;
			uint64_t end = sm_time_mono_ms() + 5000;

			while (!changed && sm_time_mono_ms() < end) {
				sm_loop_run_once(loop, 50);
				if (tp__creds_get(p, &c) == 0 &&
				    strcmp(c.access_key, "ASIAFAKE4") != 0)
					changed = 1;
			}
			ok(changed, "401: refreshed despite the revoked token");
		}
		is_str(c.access_key, "ASIAFAKE5", "401: the next set");
		is_int(stat_of("unauthorized"), rc + 1, "401: exactly one 401 seen");
		is_int(stat_of("token"), t0 + 1, "401: exactly one new token");
	}
	tp__creds_provider_destroy(p);
	p = NULL;

	/* failures: status, garbage body, expired, wrong code */
	{
		static const struct {
			const char *set, *what, *reset;
		} fails[] = {
			{ "/_ctl/set?creds_status=500", "500", "/_ctl/set?creds_status=200" },
			{ "/_ctl/set?creds_status=404", "instance profile", "/_ctl/set?creds_status=200" },
			{ "/_ctl/set?token_status=403", "403", "/_ctl/set?token_status=200" },
			{ "/_ctl/set?body=bad", "not a JSON object", "/_ctl/set?body=good" },
			{ "/_ctl/set?body=expired", "expired", "/_ctl/set?body=good" },
			{ "/_ctl/set?body=nocode", "not \"Success\"", "/_ctl/set?body=good" },
		};

		for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
			ctl(fails[i].set, NULL);
			w.called = 0;
			rc = tp__creds_provider_create(&p, loop, NULL, NULL, &err);
			is_int(rc, 0, "fail %s: created", fails[i].what);
			tp__creds_wait(p, on_ready, &w);
			run_until(loop, &w.called, 5000);
			ok(w.called == 1 && w.code == SM_ECREDS, "fail %s: waiter gets SM_ECREDS",
			    fails[i].what);
			is_int(tp__creds_get(p, &c), SM_ECREDS, "fail %s: no creds", fails[i].what);
			like_str(tp__creds_last_error(p), fails[i].what,
			    "fail %s: message says why", fails[i].what);
			ok(strstr(tp__creds_last_error(p), "fake-secret") == NULL &&
			        strstr(tp__creds_last_error(p), "fake-token") == NULL,
			    "fail %s: no secret in the message", fails[i].what);
			tp__creds_provider_destroy(p);
			p = NULL;
			ctl(fails[i].reset, NULL);
		}
	}

	/* recovery after a failure: tp__creds_wait starts a new fetch */
	ctl("/_ctl/set?creds_status=500", NULL);
	w.called = 0;
	tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	tp__creds_wait(p, on_ready, &w);
	run_until(loop, &w.called, 5000);
	is_int(w.code, SM_ECREDS, "recover: first fetch fails");
	ctl("/_ctl/set?creds_status=200", NULL);
	w.called = 0;
	tp__creds_wait(p, on_ready, &w);
	run_until(loop, &w.called, 5000);
	is_int(w.code, 0, "recover: a new wait fetches again and succeeds");
	is_int(tp__creds_get(p, &c), 0, "recover: creds now");
	tp__creds_provider_destroy(p);
	p = NULL;

	/* destroy with a waiter pending: it hears SM_ECANCELED */
	w.called = 0;
	tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	tp__creds_wait(p, on_ready, &w);
	tp__creds_provider_destroy(p);
	p = NULL;
	ok(w.called == 1 && w.code == SM_ECANCELED, "destroy: pending waiter canceled");

	/* unreachable endpoint: quick failure, no hang */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	w.called = 0;
	tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	tp__creds_wait(p, on_ready, &w);
	run_until(loop, &w.called, 5000);
	ok(w.called == 1 && w.code == SM_ECREDS, "unreachable: fails");
	like_str(tp__creds_last_error(p), "127.0.0.1:1", "unreachable: message names the endpoint");
	tp__creds_provider_destroy(p);
	p = NULL;

	/* disabled: no request at all */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	t0 = stat_of("token");
	rc = tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	is_int(rc, SM_ECREDS, "disabled: no credentials");
	for (int i = 0; i < 5; i++)
		sm_loop_run_once(loop, 20);
	is_int(stat_of("token"), t0, "disabled: the metadata service was not asked");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	{
		struct creds_options o = { .no_imds = 1 };

		is_int(tp__creds_provider_create(&p, loop, NULL, &o, &err), SM_ECREDS,
		    "no_imds option: no credentials");
	}
	/* env beats IMDS */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET123", 1);
	t0 = stat_of("token");
	rc = tp__creds_provider_create(&p, loop, NULL, NULL, &err);
	is_str(tp__creds_source(p), "env", "env beats imds");
	is_int(stat_of("token"), t0, "imds not asked when env has keys");
	tp__creds_provider_destroy(p);
	p = NULL;
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
out:
	tp__creds_provider_destroy(p);
	ctl("/_ctl/quit", NULL);
	imds_stop_server();
	sm_loop_destroy(loop);
	clean_env();
}

int
main(void)
{
	char path[600];

	plan_no_plan();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/creds-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/.aws", tmpdir);
	mkdir(path, 0700);
	log_fp = tmpfile();
	sm_log_init(log_fp, SM_LOG_DEBUG, "test_creds");
	curl_global_init(CURL_GLOBAL_DEFAULT);

	test_env();
	test_files();
	test_imds();

	/* nothing secret reached the log */
	{
		char buf[65536];
		size_t n;

		fflush(log_fp);
		rewind(log_fp);
		n = fread(buf, 1, sizeof(buf) - 1, log_fp);
		buf[n] = '\0';
		ok(n > 0, "log: something was logged (%zu bytes)", n);
		ok(strstr(buf, "fake-secret") == NULL && strstr(buf, "fake-token") == NULL &&
		    strstr(buf, "SECRET") == NULL && strstr(buf, "fake-imds-token") == NULL,
		    "log: no secret, session token or imds token in the log");
		fclose(log_fp);
	}
	curl_global_cleanup();
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
