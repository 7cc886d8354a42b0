/*
 * awsconf.h - AWS configuration: region, endpoints, profile, S3 addressing,
 * and the shared-file (ini) parser (tp__awsconf_ functions).
 *
 * Sources, first hit wins for each setting:
 *   region:       tp_config.region, AWS_REGION, AWS_DEFAULT_REGION, config
 *                 file `region` of the profile, else "us-east-1";
 *   endpoints:    tp_config.endpoint_sqs/_s3, AWS_ENDPOINT_URL_SQS /
 *                 AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, config file
 *                 `endpoint_url` of the profile (and the nested
 *                 "sqs =\n  endpoint_url = ..." / "s3 = ..." forms), else
 *                 https://sqs.<region>.amazonaws.com and
 *                 https://s3.<region>.amazonaws.com;
 *   path style:   tp_config.s3_path_style (0/1), AWS_S3_FORCE_PATH_STYLE
 *                 ("true"/"false"), config "s3 =\n  addressing_style =
 *                 path|virtual|auto", else decided per bucket (below);
 *   max attempts: tp_config.max_attempts, AWS_MAX_ATTEMPTS, config
 *                 `max_attempts`, else 3;
 *   profile:      AWS_PROFILE, else "default";
 *   CA bundle:    AWS_CA_BUNDLE, config `ca_bundle`, else none (the
 *                 system's trust store).
 * The config file is AWS_CONFIG_FILE or $HOME/.aws/config, sections
 * "[profile NAME]" (and "[default]").
 */
#ifndef AWSCONF_H
#define AWSCONF_H

#include <stddef.h>

#include "sm_err.h"

struct tp_config;

/* Shared files larger than this are refused (SM_ETOOBIG). */
#define AWSCONF_FILE_MAX (1024 * 1024)
/* Lines longer than this are a parse error. */
#define AWSCONF_LINE_MAX 4096

struct awsconf {
	char *profile;
	char *region;
	char *endpoint_sqs;        /* scheme://host[:port][/path], no trailing '/' */
	char *endpoint_s3;
	int endpoint_sqs_custom;   /* 1 if configured, 0 if the AWS default */
	int endpoint_s3_custom;
	int s3_path_style;         /* -1: per bucket, 0: virtual-hosted, 1: path */
	int max_attempts;          /* >= 1 */
	/* PEM file of the certificate authorities trusted for https
	 * endpoints instead of the system's (a private CA of MinIO, Ceph...);
	 * NULL: the system's trust store.  Peers are verified either way. */
	char *ca_bundle;
};

/*
 * Fill `conf` (zeroed first; free with tp__awsconf_free, also on failure) from
 * `cfg` (may be NULL), the environment and the config file.  A missing
 * config file is fine; a malformed one is SM_EPARSE ("file:line: what");
 * a bad endpoint URL or max attempts is SM_EINVAL.
 */
int tp__awsconf_load(struct awsconf *conf, const struct tp_config *cfg, struct sm_error *err);
void tp__awsconf_free(struct awsconf *conf);

/* Is `bucket` usable as a DNS label for virtual-hosted style (3..63 of
 * a-z 0-9 . -, starts and ends alnum, no "..", not an IPv4 address)?  With
 * `tls`, dots are refused too (the wildcard certificate would not match). */
int tp__awsconf_bucket_dns_ok(const char *bucket, int tls);

/* 1: address `bucket` path-style with this configuration: forced, or the
 * endpoint host is an IP address or localhost or has an explicit port, or
 * the bucket is not DNS compatible; 0: virtual-hosted. */
int tp__awsconf_s3_path_style(const struct awsconf *conf, const char *bucket);

/*
 * Where an S3 request for `bucket` (NULL: service level) and `key` (NULL:
 * bucket level) goes.  All three outputs are malloc'd (caller frees):
 *   base:  "scheme://host[:port]" to put the path after;
 *   host:  the Host header value ("host[:port]");
 *   path:  the raw (not encoded) path: "/bucket/key" or "/key", "/" at
 *          least (sign with path_raw = 1).
 * Returns 0, SM_EINVAL or SM_ENOMEM.
 */
int tp__awsconf_s3_target(const struct awsconf *conf, const char *bucket, const char *key,
    char **base, char **host, char **path, struct sm_error *err);

/*
 * Split an absolute http(s) URL into scheme ("http"/"https"), host
 * ("host[:port]" as for the Host header, the port omitted when it is the
 * scheme's default) and path ("" or "/..."), each malloc'd.  Returns 0,
 * SM_EINVAL (not http(s), no host, user info, bad port) or SM_ENOMEM.
 */
int tp__awsconf_split_url(
    const char *url, char **scheme, char **host, char **path, struct sm_error *err);

/* ---- the shared-file parser -------------------------------------------
 * INI as the AWS CLI reads it: "[section]" lines, "key = value" (or
 * "key: value") lines, whole-line comments starting with '#' or ';' (a '#'
 * after a value is part of the value, as in botocore), blank lines, CRLF.  An indented line after "key =" with an empty
 * value is a nested setting, stored as "key.sub".  Keys are lower-cased;
 * section names and values are kept as written (trimmed).  Errors (a
 * missing ']', a line without '=', a key outside any section, a line over
 * AWSCONF_LINE_MAX, a NUL byte) are reported as "name:line: what" and
 * never quote the line (it may hold a secret).  Later duplicates win.
 */
struct awsconf_ini;

int tp__awsconf_ini_parse(
    const char *data, size_t len, const char *name, struct awsconf_ini **out, struct sm_error *err);
/* Read and parse a file (at most AWSCONF_FILE_MAX bytes).  SM_ENOTFOUND
 * when it does not exist (err set too). */
int tp__awsconf_ini_load(const char *path, struct awsconf_ini **out, struct sm_error *err);
void tp__awsconf_ini_free(struct awsconf_ini *ini);
/* The value of `key` in `section` (exact section name, e.g. "profile dev"),
 * or NULL.  Valid until tp__awsconf_ini_free. */
const char *tp__awsconf_ini_get(
    const struct awsconf_ini *ini, const char *section, const char *key);
/* 1 if `section` appears in the file. */
int tp__awsconf_ini_has_section(const struct awsconf_ini *ini, const char *section);

/* The config file's section name for `profile`: "default" or "profile X"
 * (malloc'd, NULL when out of memory). */
char *tp__awsconf_config_section(const char *profile);
/* AWS_CONFIG_FILE or $HOME/.aws/config; AWS_SHARED_CREDENTIALS_FILE or
 * $HOME/.aws/credentials (malloc'd; NULL when HOME is unset too). */
char *tp__awsconf_config_path(void);
char *tp__awsconf_credentials_path(void);

#endif
