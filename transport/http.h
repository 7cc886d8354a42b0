/*
 * http.h - asynchronous HTTP(S) on libcurl multi, driven by struct sm_loop.
 *
 * One struct http per loop holds one curl multi handle (so connections are
 * reused across requests) and registers curl's sockets and timeout with the
 * loop.  Any number of requests run at once in the loop thread; a 20 s long
 * poll never blocks anything else.  TLS peers are always verified.
 *
 *   struct http_req_spec s = { .method = "GET", .url = "https://..." };
 *   tp__http_start(h, &s, done, arg, NULL);
 *   ... the loop runs; done(arg, resp) is called exactly once ...
 *
 * Every pointer in the spec is read (and copied as needed) during
 * tp__http_start only: the caller may free them as soon as it returns.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "sm_err.h"

struct sm_loop;
struct http;
struct http_request;

struct http_header {
	const char *name;
	const char *value;
};

/* Default cap of a response body kept in memory. */
#define HTTP_RESP_MAX_DEFAULT (16u * 1024 * 1024)

struct http_req_spec {
	const char *method;            /* "GET", "PUT", "POST", "HEAD", "DELETE" */
	const char *url;               /* absolute http:// or https:// URL */
	const struct http_header *headers;
	size_t nheaders;

	/* Request body: from memory (copied), or a byte range of a file (the
	 * file is opened at start, read while sending).  At most one. */
	const void *body;
	size_t body_len;
	const char *body_file;
	uint64_t body_file_offset;
	uint64_t body_file_len;

	/* Response body: to memory up to `resp_max` bytes (0: default cap;
	 * beyond it the request fails with SM_ETOOBIG), or streamed to
	 * `resp_file` (created 0600 / truncated; only written for 2xx
	 * answers, other answers go to memory so errors can be parsed). */
	size_t resp_max;
	const char *resp_file;

	/* PEM file of trusted CAs for https (NULL: the system's store); the
	 * peer and its host name are verified either way. */
	const char *ca_file;

	long connect_timeout_ms;       /* 0: 10 s */
	long timeout_ms;               /* whole transfer; 0: 60 s; -1: none */
	/* When both are > 0: the transfer fails (SM_ETIMEOUT) once it has
	 * moved fewer than low_speed_bytes a second, on average, for
	 * low_speed_window_s seconds in a row (curl's LOW_SPEED_LIMIT/TIME).
	 * For long transfers, with timeout_ms = -1. */
	long low_speed_bytes;
	long low_speed_window_s;
};

struct http_response {
	int code;                /* 0: an HTTP answer arrived (any status);
	                            SM_ETIMEOUT, SM_ENET (refused, reset, dns),
	                            SM_ETLS, SM_ETOOBIG, SM_EIO (file),
	                            SM_ECANCELED (tp__http_destroy) */
	int curl_code;           /* CURLcode, 0 if none */
	const char *error;       /* curl's error text or ours when code != 0 */
	long status;             /* HTTP status, 0 when no answer */
	const char *body;        /* memory body, NUL-terminated (also when empty) */
	size_t body_len;
	uint64_t file_bytes;     /* bytes written to resp_file */
	double total_s;          /* transfer time */
	struct http_request *req; /* for tp__http_response_header() */
};

/* Called exactly once per started request, from the loop (never from
 * inside tp__http_start).  `resp` and everything in it is valid only during
 * the call. */
typedef void http_done_cb(void *arg, const struct http_response *resp);

int tp__http_create(struct http **out, struct sm_loop *loop, struct sm_error *err);
/* Cancels outstanding requests: their callbacks run with SM_ECANCELED. */
void tp__http_destroy(struct http *h);

/*
 * Start a request.  0: started (the callback will run); negative SM_E*:
 * not started (no callback; `err` says why).  `out` (may be NULL)
 * receives a handle that is valid until the callback returns.
 */
int tp__http_start(struct http *h, const struct http_req_spec *spec, http_done_cb *cb, void *arg,
    struct http_request **out, struct sm_error *err);
/* Abort a request; its callback will not run. */
void tp__http_cancel(struct http_request *r);

/* A response header (case-insensitive name; the last one of the final
 * answer), or NULL.  Valid during the callback only. */
const char *tp__http_response_header(const struct http_response *resp, const char *name);

/* Number of requests in flight. */
size_t tp__http_inflight(const struct http *h);

/* Nonzero if the URL's host is loopback: an address of 127.0.0.0/8
 * (written as a dotted quad), [::1] or localhost. */
int tp__http_url_is_loopback(const char *url);
/* Nonzero if requests to the URL never go through a proxy from the
 * environment (http_proxy, HTTPS_PROXY...): loopback hosts and the EC2
 * instance metadata addresses 169.254.169.254 and [fd00:ec2::254], whose
 * answers hold credentials that no proxy may see. */
int tp__http_url_bypasses_proxy(const char *url);

#endif
