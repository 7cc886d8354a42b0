/*
 * faultd_client.h - start test/support/faultd.py from a test program and
 * drive it (header-only; for tests).
 *
 *   struct faultd fd;
 *   if (faultd_start(&fd) != 0) skip_all("python3 not available");
 *   faultd_script(&fd, "{\"steps\":[{\"preset\":\"500\"}]}");
 *   ... point AWS_ENDPOINT_URL at fd.url ...
 *   faultd_count(&fd);          // scripted requests served
 *   json_t *log = faultd_log(&fd);  // the requests it saw (json_decref)
 *   faultd_log_count(log, "DELETE", "uploadId=");  // how many matched
 *   faultd_wait_count(&fd, loop, 2, 10000);  // run a loop until 2 were served
 *   faultd_stop(&fd);
 *
 * The server lives as long as the pipe to its stdin: it ends when we call
 * faultd_stop or exit.  Control requests use blocking curl easy calls.
 */
#ifndef FAULTD_CLIENT_H
#define FAULTD_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sm_loop.h"

struct faultd {
	pid_t pid;
	int in_fd;               /* its stdin */
	int port;
	char url[64];            /* http://127.0.0.1:PORT */
};

struct faultd__buf {
	char *p;
	size_t n;
};

static size_t
faultd__write(char *b, size_t s, size_t n, void *u)
{
	struct faultd__buf *buf = u;
	char *np = realloc(buf->p, buf->n + s * n + 1);

	if (np == NULL)
		return 0;
	memcpy(np + buf->n, b, s * n);
	buf->n += s * n;
	np[buf->n] = '\0';
	buf->p = np;
	return s * n;
}

/* Start faultd; with `tls_cert`/`tls_key` (PEM files) it speaks HTTPS. */
__attribute__((unused)) static int
faultd_start_tls(struct faultd *f, const char *tls_cert, const char *tls_key)
{
	int in[2], out[2];
	const char *src = getenv("SM_SOURCE_DIR");
	char script[4096], line[128];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	if (src == NULL)
		src = ".";
	snprintf(script, sizeof(script), "%s/test/support/faultd.py", src);
	if (pipe(in) != 0 || pipe(out) != 0)
		return -1;
	if ((f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		if (tls_cert != NULL)
			execlp("python3", "python3", script, "--tls", tls_cert, tls_key,
			    (char *)NULL);
		else
			execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f->in_fd = in[1];
	if ((fp = fdopen(out[0], "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), fp) == NULL || sscanf(line, "PORT %d", &f->port) != 1) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%d", tls_cert ? "https" : "http",
	    f->port);
	return 0;
}

__attribute__((unused)) static int
faultd_start(struct faultd *f)
{
	return faultd_start_tls(f, NULL, NULL);
}

__attribute__((unused)) static void
faultd_stop(struct faultd *f)
{
	int st;

	if (f->pid <= 0)
		return;
	close(f->in_fd);
	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	f->pid = 0;
}

/* GET or POST a control path; returns a malloc'd body or NULL. */
__attribute__((unused)) static char *
faultd_control(struct faultd *f, const char *path, const char *post)
{
	struct faultd__buf buf = { NULL, 0 };
	char url[256];
	CURL *c = curl_easy_init();
	CURLcode cc;

	if (c == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", f->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, faultd__write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	/* generous: control requests wait behind test traffic under sanitizers */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	if (post != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		free(buf.p);
		return NULL;
	}
	if (buf.p == NULL)
		buf.p = strdup("");
	return buf.p;
}

__attribute__((unused)) static int
faultd_script(struct faultd *f, const char *json)
{
	char *r = faultd_control(f, "/__script", json);

	free(r);
	return r != NULL ? 0 : -1;
}

__attribute__((unused)) static int
faultd_count(struct faultd *f)
{
	char *r = faultd_control(f, "/__count", NULL);
	int n = r != NULL ? atoi(r) : -1;

	free(r);
	return n;
}

/*
 * Point the aws transport backend at faultd: AWS_ENDPOINT_URL, the key
 * AKIDFAULTD with `secret`, no instance metadata, no config or credentials
 * file, and no AWS_PROFILE, AWS_MAX_ATTEMPTS or AWS_SESSION_TOKEN from the
 * caller's environment.
 */
__attribute__((unused)) static void
faultd_aws_env(const struct faultd *f, const char *secret)
{
	setenv("AWS_ENDPOINT_URL", f->url, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDFAULTD", 1);
	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/smd-test/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/smd-test/credentials", 1);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_MAX_ATTEMPTS");
	unsetenv("AWS_SESSION_TOKEN");
}

/* Run `loop` for `ms` milliseconds (requests to faultd move meanwhile). */
__attribute__((unused)) static void
faultd_run_for(struct sm_loop *loop, int ms)
{
	uint64_t until = sm_time_mono_ms() + (uint64_t)ms;

	while (sm_time_mono_ms() < until)
		sm_loop_run_once(loop, 20);
}

/* Run `loop` until faultd has served `n` requests: 0 if it did within
 * `ms` milliseconds, else -1. */
__attribute__((unused)) static int
faultd_wait_count(struct faultd *f, struct sm_loop *loop, int n, int ms)
{
	uint64_t until = sm_time_mono_ms() + (uint64_t)ms;

	while (sm_time_mono_ms() < until) {
		sm_loop_run_once(loop, 20);
		if (faultd_count(f) >= n)
			return 0;
	}
	return -1;
}

/*
 * A self-signed certificate for 127.0.0.1 (what faultd_start_tls wants):
 * writes dir/cert.pem and dir/key.pem with openssl and puts their paths in
 * cert and key.  0 on success, -1 if openssl failed.
 */
__attribute__((unused)) static int
faultd_make_cert(const char *dir, char *cert, size_t cert_size, char *key, size_t key_size)
{
	char cmd[1024];

	snprintf(cert, cert_size, "%s/cert.pem", dir);
	snprintf(key, key_size, "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
	    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s "
	    "-out %s >/dev/null 2>&1", key, cert);
	return system(cmd) == 0 ? 0 : -1;
}

/* The requests faultd saw, as a JSON array (caller json_decref's); NULL if
 * the control request or the parse failed. */
__attribute__((unused)) static json_t *
faultd_log(struct faultd *f)
{
	char *t = faultd_control(f, "/__log", NULL);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;

	free(t);
	return j;
}

/* How many requests of `log` had `method` and a path containing
 * `path_part` (NULL: any path). */
__attribute__((unused)) static int
faultd_log_count(json_t *log, const char *method, const char *path_part)
{
	size_t i;
	int n = 0;

	for (i = 0; i < json_array_size(log); i++) {
		json_t *e = json_array_get(log, i);
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *p = json_string_value(json_object_get(e, "path"));
		if (m != NULL && p != NULL && strcmp(m, method) == 0 &&
		    (path_part == NULL || strstr(p, path_part) != NULL))
			n++;
	}
	return n;
}

#endif
