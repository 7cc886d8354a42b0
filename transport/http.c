/*
 * http.c - libcurl multi on struct sm_loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); we register those with the loop
 * and call curl_multi_socket_action() when they fire, then collect finished
 * transfers with curl_multi_info_read().  Completion callbacks run from
 * there, never from inside curl, so they may start or cancel requests.
 *
 * libcurl is not linked: the first tp__http_create() loads it (dlopen) and
 * every call goes through the table `cu`.  smd on the local backend never
 * makes an http client, so it never maps libcurl and the two dozen
 * libraries that come with it (GnuTLS through librtmp, whose constructor
 * initialises it, Kerberos, LDAP, ssh2, ...): 3.5 MiB of resident memory,
 * a third of an idle smd (docs/bench-daemon.md).
 */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sm_log.h"
#include "sm_loop.h"

struct hdr {
	char *name;
	char *value;
};

struct http_request {
	struct http *h;
	struct http_request *prev, *next;
	CURL *easy;
	struct curl_slist *slist;
	http_done_cb *cb;
	void *arg;

	/* request body */
	char *body;
	size_t body_len, body_pos;
	FILE *body_fp;
	uint64_t body_off, body_total, body_sent;

	/* response */
	char *resp;
	size_t resp_len, resp_cap, resp_max;
	int resp_fd;
	char *resp_path;
	uint64_t file_bytes;
	struct hdr *hdrs;
	size_t nhdrs, hdrs_cap;

	int toobig;
	int file_err;
	char errbuf[CURL_ERROR_SIZE];
	char ourerr[256];
};

struct http {
	struct sm_loop *loop;
	CURLM *multi;
	uint64_t timer_id;
	struct http_request *reqs;
	size_t nreqs;
	int *fds;                 /* sockets registered with the loop */
	size_t nfds, fds_cap;
	int destroying;
};

static void check_done(struct http *h);

/* ---- libcurl, loaded on first use --------------------------------------- */

#ifndef SM_LIBCURL_SONAME
#define SM_LIBCURL_SONAME "libcurl.so.4"
#endif

static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_error[256]; /* why loading failed; "" once loaded */

static int
cu_sym(void *lib, const char *name, void *slot, size_t size)
{
	void *p = dlsym(lib, name);

	if (p == NULL || size != sizeof(p)) {
		snprintf(cu_error, sizeof(cu_error), "%s has no %s", SM_LIBCURL_SONAME, name);
		return -1;
	}
	memcpy(slot, &p, size);
	return 0;
}

#define CU_SYM(f) cu_sym(lib, "curl_" #f, &cu.f, sizeof(cu.f))

static void
cu_load(void)
{
	void *lib = dlopen(SM_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (lib == NULL) {
		const char *e = dlerror();
		snprintf(cu_error, sizeof(cu_error), "%s", e != NULL ? e : SM_LIBCURL_SONAME);
		return;
	}
	if (CU_SYM(global_init) != 0 || CU_SYM(global_cleanup) != 0 || CU_SYM(easy_init) != 0 ||
	    CU_SYM(easy_cleanup) != 0 || CU_SYM(easy_setopt) != 0 || CU_SYM(easy_getinfo) != 0 ||
	    CU_SYM(easy_strerror) != 0 || CU_SYM(multi_init) != 0 || CU_SYM(multi_cleanup) != 0 ||
	    CU_SYM(multi_setopt) != 0 || CU_SYM(multi_add_handle) != 0 ||
	    CU_SYM(multi_remove_handle) != 0 || CU_SYM(multi_socket_action) != 0 ||
	    CU_SYM(multi_info_read) != 0 || CU_SYM(slist_append) != 0 ||
	    CU_SYM(slist_free_all) != 0) {
		memset(&cu, 0, sizeof(cu));
		return; /* left loaded: dlclose of a half-used libcurl buys nothing */
	}
	cu_error[0] = '\0';
}

/* Load libcurl once; 0 or SM_ENET with what failed in `err`. */
static int
cu_ready(struct sm_error *err)
{
	pthread_once(&cu_once, cu_load);
	if (cu.global_init == NULL)
		return sm_error_set(err, SM_ENET,
		    "cannot load libcurl (%s): install libcurl 4 for the aws backend", cu_error);
	return 0;
}

/* ---- sockets and timer ------------------------------------------------ */

static int
fd_index(struct http *h, int fd)
{
	size_t i;

	for (i = 0; i < h->nfds; i++)
		if (h->fds[i] == fd)
			return (int)i;
	return -1;
}

static void
on_io(struct sm_loop *loop, int fd, unsigned events, void *arg)
{
	struct http *h = arg;
	int running = 0, mask = 0;

	(void)loop;
	if (events & SM_LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & SM_LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	cu.multi_socket_action(h->multi, fd, mask, &running);
	check_done(h);
}

static int
on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	unsigned ev = 0;
	int idx;

	(void)easy;
	(void)socketp;
	idx = fd_index(h, s);
	if (what == CURL_POLL_REMOVE) {
		if (idx >= 0) {
			sm_loop_io_del(h->loop, s);
			h->fds[idx] = h->fds[--h->nfds];
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= SM_LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= SM_LOOP_WRITE;
	if (idx >= 0)
		return sm_loop_io_mod(h->loop, s, ev) == 0 ? 0 : -1;
	if (h->nfds == h->fds_cap) {
		size_t cap = h->fds_cap ? h->fds_cap * 2 : 16;
		int *n = realloc(h->fds, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		h->fds = n;
		h->fds_cap = cap;
	}
	if (sm_loop_io_add(h->loop, s, ev, on_io, h) != 0)
		return -1;
	h->fds[h->nfds++] = s;
	return 0;
}

static int64_t
on_timer(struct sm_loop *loop, uint64_t id, void *arg)
{
	struct http *h = arg;
	int running = 0;

	(void)loop;
	(void)id;
	h->timer_id = 0;
	cu.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
	return -1;
}

static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (h->timer_id != 0) {
		sm_loop_timer_del(h->loop, h->timer_id);
		h->timer_id = 0;
	}
	if (timeout_ms < 0)
		return 0;
	/* never call curl from inside curl: even "now" goes through the loop */
	h->timer_id = sm_loop_timer_add(h->loop, timeout_ms, on_timer, h);
	return h->timer_id != 0 ? 0 : -1;
}

/* ---- per-request curl callbacks --------------------------------------- */

static size_t
on_header(char *buf, size_t size, size_t n, void *userp)
{
	struct http_request *r = userp;
	size_t len = size * n, nl, vl;
	char *colon, *end, *v;
	struct hdr *hd;

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new answer (100 Continue, redirect): forget the previous */
		while (r->nhdrs > 0) {
			r->nhdrs--;
			free(r->hdrs[r->nhdrs].name);
			free(r->hdrs[r->nhdrs].value);
		}
		return len;
	}
	end = buf + len;
	while (end > buf && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((colon = memchr(buf, ':', (size_t)(end - buf))) == NULL)
		return len;
	nl = (size_t)(colon - buf);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vl = (size_t)(end - v);
	if (r->nhdrs >= 256)
		return len;               /* hostile server: keep the first ones */
	if (r->nhdrs == r->hdrs_cap) {
		size_t cap = r->hdrs_cap ? r->hdrs_cap * 2 : 16;
		struct hdr *nh = realloc(r->hdrs, cap * sizeof(*nh));
		if (nh == NULL)
			return 0;
		r->hdrs = nh;
		r->hdrs_cap = cap;
	}
	hd = &r->hdrs[r->nhdrs];
	if ((hd->name = strndup(buf, nl)) == NULL)
		return 0;
	if ((hd->value = strndup(v, vl)) == NULL) {
		free(hd->name);
		return 0;
	}
	r->nhdrs++;
	return len;
}

static size_t
on_write(char *buf, size_t size, size_t n, void *userp)
{
	struct http_request *r = userp;
	size_t len = size * n;
	long status = 0;

	cu.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->resp_fd >= 0 && status >= 200 && status < 300) {
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(r->resp_fd, buf + off, len - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				snprintf(r->ourerr, sizeof(r->ourerr),
				    "cannot write '%s': %s", r->resp_path, strerror(errno));
				r->file_err = 1;
				return 0;
			}
			off += (size_t)w;
		}
		r->file_bytes += len;
		return len;
	}
	if (len > r->resp_max - r->resp_len) {
		r->toobig = 1;
		snprintf(r->ourerr, sizeof(r->ourerr),
		    "response body larger than %zu bytes", r->resp_max);
		return 0;
	}
	if (r->resp_len + len + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 4096;
		char *nb;
		while (cap < r->resp_len + len + 1)
			cap *= 2;
		if ((nb = realloc(r->resp, cap)) == NULL)
			return 0;
		r->resp = nb;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, buf, len);
	r->resp_len += len;
	r->resp[r->resp_len] = '\0';
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *userp)
{
	struct http_request *r = userp;
	size_t want = size * n, got;

	if (r->body_fp != NULL) {
		uint64_t left = r->body_total - r->body_sent;
		if (want > left)
			want = (size_t)left;
		if (want == 0)
			return 0;
		got = fread(buf, 1, want, r->body_fp);
		if (got == 0) {
			snprintf(r->ourerr, sizeof(r->ourerr),
			    "request body file ended %llu bytes early",
			    (unsigned long long)left);
			r->file_err = 1;
			return CURL_READFUNC_ABORT;
		}
		r->body_sent += got;
		return got;
	}
	got = r->body_len - r->body_pos;
	if (got > want)
		got = want;
	if (got > 0)
		memcpy(buf, r->body + r->body_pos, got);
	r->body_pos += got;
	return got;
}

static int
on_seek(void *userp, curl_off_t offset, int origin)
{
	struct http_request *r = userp;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (r->body_fp != NULL) {
		if ((uint64_t)offset > r->body_total ||
		    fseeko(r->body_fp, (off_t)(r->body_off + (uint64_t)offset), SEEK_SET) != 0)
			return CURL_SEEKFUNC_FAIL;
		r->body_sent = (uint64_t)offset;
		return CURL_SEEKFUNC_OK;
	}
	if ((size_t)offset > r->body_len)
		return CURL_SEEKFUNC_FAIL;
	r->body_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* ---- request lifetime ------------------------------------------------- */

static void
req_free(struct http_request *r)
{
	size_t i;

	if (r->easy != NULL)
		cu.easy_cleanup(r->easy);
	cu.slist_free_all(r->slist);
	free(r->body);
	if (r->body_fp != NULL)
		fclose(r->body_fp);
	if (r->resp_fd >= 0)
		close(r->resp_fd);
	free(r->resp_path);
	free(r->resp);
	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	free(r);
}

static void
req_unlink(struct http_request *r)
{
	struct http *h = r->h;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	h->nreqs--;
}

static int
code_from_curl(struct http_request *r, CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return SM_ETIMEOUT;
	case CURLE_WRITE_ERROR:
		if (r->toobig)
			return SM_ETOOBIG;
		return SM_EIO;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		return SM_EIO;
	case CURLE_OUT_OF_MEMORY:
		return SM_ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return SM_ETLS;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return SM_EINVAL;
	default:
		return SM_ENET;
	}
}

static void
finish(struct http_request *r, CURLcode cc)
{
	struct http *h = r->h;
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.req = r;
	resp.curl_code = (int)cc;
	resp.code = code_from_curl(r, cc);
	if (r->file_err)
		resp.code = SM_EIO;
	if (resp.code != 0)
		resp.error = r->ourerr[0] ? r->ourerr :
		    r->errbuf[0] ? r->errbuf : cu.easy_strerror(cc);
	cu.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	cu.easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &resp.total_s);
	resp.body = r->resp != NULL ? r->resp : "";
	resp.body_len = r->resp_len;
	resp.file_bytes = r->file_bytes;
	cu.multi_remove_handle(h->multi, r->easy);
	req_unlink(r);
	if (r->resp_fd >= 0) {
		if (close(r->resp_fd) != 0 && resp.code == 0) {
			resp.code = SM_EIO;
			snprintf(r->ourerr, sizeof(r->ourerr), "cannot write '%s': %s",
			    r->resp_path, strerror(errno));
			resp.error = r->ourerr;
		}
		r->resp_fd = -1;
	}
	r->cb(r->arg, &resp);
	req_free(r);
}

static void
check_done(struct http *h)
{
	CURLMsg *m;
	int left;

	while ((m = cu.multi_info_read(h->multi, &left)) != NULL) {
		struct http_request *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r != NULL)
			finish(r, m->data.result);
	}
}

/* ---- public ----------------------------------------------------------- */

int
tp__http_create(struct http **out, struct sm_loop *loop, struct sm_error *err)
{
	struct http *h;
	int rc;

	*out = NULL;
	if ((rc = cu_ready(err)) != 0)
		return rc;
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sm_error_set(err, SM_ENET, "cannot initialise libcurl");
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		cu.global_cleanup();
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	}
	h->loop = loop;
	if ((h->multi = cu.multi_init()) == NULL) {
		free(h);
		cu.global_cleanup();
		return sm_error_set(err, SM_ENOMEM, "cannot create a curl multi handle");
	}
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	cu.multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
	*out = h;
	return 0;
}

void
tp__http_destroy(struct http *h)
{
	struct http_request *r;
	struct http_response resp;

	if (h == NULL)
		return;
	h->destroying = 1;
	while ((r = h->reqs) != NULL) {
		cu.multi_remove_handle(h->multi, r->easy);
		req_unlink(r);
		memset(&resp, 0, sizeof(resp));
		resp.code = SM_ECANCELED;
		resp.error = "request canceled: the http client is shutting down";
		resp.body = "";
		resp.req = r;
		r->cb(r->arg, &resp);
		req_free(r);
	}
	cu.multi_cleanup(h->multi);
	while (h->nfds > 0)
		sm_loop_io_del(h->loop, h->fds[--h->nfds]);
	if (h->timer_id != 0)
		sm_loop_timer_del(h->loop, h->timer_id);
	free(h->fds);
	free(h);
	cu.global_cleanup();
}

int
tp__http_url_is_loopback(const char *url)
{
	const char *p, *end;
	char host[16];
	struct in_addr a;
	size_t n;

	if ((p = strstr(url, "://")) == NULL)
		return 0;
	p += 3;
	if ((end = strchr(p, '@')) != NULL && end < p + strcspn(p, "/"))
		p = end + 1;
	if (*p == '[')
		return strncmp(p, "[::1]", 5) == 0;
	n = strcspn(p, ":/?#");
	if (n == 9 && strncasecmp(p, "localhost", 9) == 0)
		return 1;
	/* 127.0.0.0/8, written as a whole dotted quad */
	if (n < 7 || n >= sizeof(host))
		return 0;
	memcpy(host, p, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int
tp__http_url_bypasses_proxy(const char *url)
{
	const char *p;
	size_t n;

	if (tp__http_url_is_loopback(url))
		return 1;
	if ((p = strstr(url, "://")) == NULL)
		return 0;
	p += 3;
	if (strncmp(p, "[fd00:ec2::254]", 15) == 0)
		return 1;
	n = strcspn(p, ":/?#");
	return n == 15 && strncmp(p, "169.254.169.254", 15) == 0;
}

static int
setup_body(struct http_request *r, const struct http_req_spec *spec, struct sm_error *err)
{
	if (spec->body_file != NULL) {
		if ((r->body_fp = fopen(spec->body_file, "rb")) == NULL)
			return sm_error_set(err, sm_error_from_errno(errno),
			    "cannot open '%s' to upload: %s", spec->body_file, strerror(errno));
		if (fseeko(r->body_fp, (off_t)spec->body_file_offset, SEEK_SET) != 0)
			return sm_error_set(err, SM_EIO, "cannot seek '%s' to %llu: %s",
			    spec->body_file, (unsigned long long)spec->body_file_offset,
			    strerror(errno));
		r->body_off = spec->body_file_offset;
		r->body_total = spec->body_file_len;
		return 0;
	}
	if (spec->body_len > 0) {
		if ((r->body = malloc(spec->body_len)) == NULL)
			return sm_error_set(err, SM_ENOMEM, "out of memory");
		memcpy(r->body, spec->body, spec->body_len);
		r->body_len = spec->body_len;
	}
	return 0;
}

int
tp__http_start(struct http *h, const struct http_req_spec *spec, http_done_cb *cb, void *arg,
    struct http_request **out, struct sm_error *err)
{
	struct http_request *r;
	const char *method;
	curl_off_t blen;
	int has_body, rc = SM_ENOMEM;
	size_t i;
	char *line = NULL;

	if (out != NULL)
		*out = NULL;
	if (h->destroying)
		return sm_error_set(err, SM_ECANCELED, "http client is shutting down");
	if (spec->url == NULL || cb == NULL ||
	    (strncmp(spec->url, "http://", 7) != 0 && strncmp(spec->url, "https://", 8) != 0))
		return sm_error_set(err, SM_EINVAL, "url '%s' is not http:// or https://",
		    spec->url ? spec->url : "(null)");
	if (spec->body_file != NULL && spec->body_len > 0)
		return sm_error_set(err, SM_EINVAL, "a request has one body, not two");
	method = spec->method != NULL ? spec->method : "GET";
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return sm_error_set(err, SM_ENOMEM, "out of memory");
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	r->resp_fd = -1;
	r->resp_max = spec->resp_max ? spec->resp_max : HTTP_RESP_MAX_DEFAULT;
	if ((rc = setup_body(r, spec, err)) != 0)
		goto fail;
	if (spec->resp_file != NULL) {
		if ((r->resp_path = strdup(spec->resp_file)) == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		r->resp_fd = open(spec->resp_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		if (r->resp_fd < 0) {
			rc = sm_error_set(err, sm_error_from_errno(errno),
			    "cannot create '%s' for a download: %s", spec->resp_file,
			    strerror(errno));
			goto fail;
		}
	}
	if ((r->easy = cu.easy_init()) == NULL) {
		rc = sm_error_set(err, SM_ENOMEM, "cannot create a curl handle");
		goto fail;
	}
	for (i = 0; i < spec->nheaders; i++) {
		struct curl_slist *s;
		const char *v = spec->headers[i].value ? spec->headers[i].value : "";
		if (strpbrk(spec->headers[i].name, "\r\n:") != NULL || strpbrk(v, "\r\n")) {
			rc = sm_error_set(err, SM_EINVAL,
			    "header '%s' has a line break or colon in it", spec->headers[i].name);
			goto fail;
		}
		/* "Name;" sends an empty header; "Name:" would remove it */
		if (asprintf(&line, *v ? "%s: %s" : "%s;", spec->headers[i].name, v) < 0) {
			line = NULL;
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		if ((s = cu.slist_append(r->slist, line)) == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		r->slist = s;
		free(line);
		line = NULL;
	}
	/* no 100-continue round trip; no form content type we did not sign */
	{
		struct curl_slist *s = cu.slist_append(r->slist, "Expect:");
		if (s == NULL) {
			rc = sm_error_set(err, SM_ENOMEM, "out of memory");
			goto fail;
		}
		r->slist = s;
	}

	cu.easy_setopt(r->easy, CURLOPT_URL, spec->url);
	cu.easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	cu.easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	cu.easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	cu.easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (spec->ca_file != NULL)
		cu.easy_setopt(r->easy, CURLOPT_CAINFO, spec->ca_file);
	cu.easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	cu.easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	cu.easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    spec->connect_timeout_ms > 0 ? spec->connect_timeout_ms : 10000L);
	cu.easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
	    spec->timeout_ms > 0     ? spec->timeout_ms :
	        spec->timeout_ms < 0 ? 0L :
	                               60000L);
	if (spec->low_speed_bytes > 0 && spec->low_speed_window_s > 0) {
		cu.easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, spec->low_speed_bytes);
		cu.easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME, spec->low_speed_window_s);
	}
	if (tp__http_url_bypasses_proxy(spec->url))
		cu.easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
	cu.easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->slist);
	cu.easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	cu.easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	cu.easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	cu.easy_setopt(r->easy, CURLOPT_READFUNCTION, on_read);
	cu.easy_setopt(r->easy, CURLOPT_READDATA, r);
	cu.easy_setopt(r->easy, CURLOPT_SEEKFUNCTION, on_seek);
	cu.easy_setopt(r->easy, CURLOPT_SEEKDATA, r);

	has_body = r->body_fp != NULL || r->body_len > 0;
	blen = r->body_fp != NULL ? (curl_off_t)r->body_total : (curl_off_t)r->body_len;
	if (strcmp(method, "GET") == 0 && !has_body) {
		cu.easy_setopt(r->easy, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		cu.easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		cu.easy_setopt(r->easy, CURLOPT_POST, 1L);
		cu.easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, blen);
	} else if (strcmp(method, "PUT") == 0 || has_body) {
		cu.easy_setopt(r->easy, CURLOPT_UPLOAD, 1L);
		cu.easy_setopt(r->easy, CURLOPT_INFILESIZE_LARGE, blen);
		if (strcmp(method, "PUT") != 0)
			cu.easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	} else {
		cu.easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	}

	if (cu.multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		rc = sm_error_set(err, SM_ENOMEM, "cannot add a request to curl");
		goto fail;
	}
	r->next = h->reqs;
	if (h->reqs != NULL)
		h->reqs->prev = r;
	h->reqs = r;
	h->nreqs++;
	if (out != NULL)
		*out = r;
	return 0;
fail:
	free(line);
	if (r->resp_fd >= 0 && r->resp_path != NULL)
		unlink(r->resp_path);
	req_free(r);
	return rc;
}

void
tp__http_cancel(struct http_request *r)
{
	if (r == NULL)
		return;
	cu.multi_remove_handle(r->h->multi, r->easy);
	req_unlink(r);
	req_free(r);
}

const char *
tp__http_response_header(const struct http_response *resp, const char *name)
{
	const struct http_request *r = resp->req;
	size_t i;

	if (r == NULL)
		return NULL;
	for (i = r->nhdrs; i > 0; i--)
		if (strcasecmp(r->hdrs[i - 1].name, name) == 0)
			return r->hdrs[i - 1].value;
	return NULL;
}

size_t
tp__http_inflight(const struct http *h)
{
	return h->nreqs;
}
