/*
 * creds.h - the AWS credentials chain (tp__creds_ functions).
 *
 * Order, first hit wins:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN);
 *   2. shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
 *      $HOME/.aws/credentials), section "[<profile>]";
 *   3. shared config file (AWS_CONFIG_FILE, default $HOME/.aws/config),
 *      section "[profile <profile>]" ("[default]" for the default profile);
 *      keys aws_access_key_id, aws_secret_access_key, aws_session_token;
 *      the profile is AWS_PROFILE or "default";
 *   4. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED is
 *      "true"): PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds),
 *      GET /latest/meta-data/iam/security-credentials/ (the role name),
 *      GET .../<role> (JSON AccessKeyId, SecretAccessKey, Token,
 *      Expiration).  Endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *      http://169.254.169.254).  Asynchronous, through http.h on the loop;
 *      refreshed CREDS_REFRESH_BEFORE_S before Expiration; a 401 with a
 *      cached token fetches a new token once and retries.
 *
 * Steps 1-3 are resolved synchronously by tp__creds_provider_create().  A
 * shared file that exists but does not parse is an error (file:line in
 * the message); a missing file is not.  Secrets never appear in messages
 * or logs.
 */
#ifndef CREDS_H
#define CREDS_H

#include <stdint.h>

#include "sigv4.h"
#include "sm_err.h"

struct sm_loop;
struct http;
struct creds_provider;

/* Refresh IMDS credentials this long before they expire. */
#define CREDS_REFRESH_BEFORE_S 300
#define CREDS_IMDS_TOKEN_TTL_S 21600
#define CREDS_IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"

struct creds_options {
	/* NULL: AWS_PROFILE or "default". */
	const char *profile;
	/* Nonzero: skip IMDS whatever the environment says. */
	int no_imds;
	/* IMDS per-request timeouts; 0: 1000 ms connect, 2000 ms total. */
	long imds_connect_timeout_ms;
	long imds_timeout_ms;
};

/*
 * Resolve the chain.  `loop` and `http` are borrowed and must outlive the
 * provider; `http` NULL: the provider creates its own on `loop` when it
 * needs IMDS; `loop` NULL: no IMDS.  `opt` NULL: defaults.
 *
 * Returns 0 when a source was found or an IMDS fetch was started (the
 * first tp__creds_get may then answer SM_EAGAIN); SM_ECREDS when nothing can
 * provide credentials; SM_EPARSE for a malformed shared file; SM_ENOMEM.
 */
int tp__creds_provider_create(struct creds_provider **out, struct sm_loop *loop, struct http *http,
    const struct creds_options *opt, struct sm_error *err);
/* Cancels an IMDS fetch in flight (pending waiters get SM_ECANCELED). */
void tp__creds_provider_destroy(struct creds_provider *p);

/*
 * The current credentials.  0: `out` filled; its strings belong to the
 * provider and stay valid until control returns to the loop (a refresh
 * only happens from the loop).  When the IMDS credentials are within
 * CREDS_REFRESH_BEFORE_S of expiry a refresh is started and the old ones
 * are returned while still valid.
 * SM_EAGAIN: a fetch is in flight and nothing valid is cached; use
 * tp__creds_wait().  SM_ECREDS: the last fetch failed (tp__creds_last_error says
 * why; the next tp__creds_get or tp__creds_wait starts a new fetch).
 */
int tp__creds_get(struct creds_provider *p, struct sigv4_creds *out);

/*
 * Call `cb` from the loop once credentials are available (code 0) or the
 * fetch failed (code SM_ECREDS, SM_ECANCELED); never from inside
 * tp__creds_wait.  Starts a fetch if none is in flight.  Returns 0 or
 * SM_ENOMEM / SM_EINVAL (no loop).
 */
typedef void creds_ready_cb(void *arg, int code);
int tp__creds_wait(struct creds_provider *p, creds_ready_cb *cb, void *arg);

/* The message of the last failure ("" if none).  Never holds a secret. */
const char *tp__creds_last_error(const struct creds_provider *p);

/* Where the credentials came from: "env", "shared-credentials-file",
 * "shared-config-file", "imds", or "none". */
const char *tp__creds_source(const struct creds_provider *p);

/* Wall-clock expiry of the current credentials (seconds since the epoch),
 * 0 when they do not expire. */
int64_t tp__creds_expiration(const struct creds_provider *p);

#endif
