/*
 * test_awsconf.c - the shared-file parser (including hostile input),
 * configuration loading from env and config file, plain http endpoints
 * (loopback only unless allowed), S3 addressing and URL splitting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconf.h"
#include "sm_log.h"
#include "sm_loop.h"
#include "tap.h"
#include "transport.h"

static char tmpdir[256];

static void
write_file(const char *name, const char *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
}

static void
write_str(const char *name, const char *s)
{
	write_file(name, s, strlen(s));
}

static void
clean_env(void)
{
	static const char *const vars[] = { "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3",
		"AWS_S3_FORCE_PATH_STYLE", "AWS_MAX_ATTEMPTS", "AWS_CONFIG_FILE",
		"SM_ALLOW_INSECURE_HTTP",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CA_BUNDLE" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("HOME", tmpdir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static struct awsconf_ini *
parse(const char *s, int *rc, struct sm_error *err)
{
	struct awsconf_ini *ini = NULL;

	sm_error_clear(err);
	*rc = tp__awsconf_ini_parse(s, strlen(s), "cfg", &ini, err);
	return ini;
}

static void
test_ini(void)
{
	struct sm_error err;
	struct awsconf_ini *ini;
	int rc;

	ini = parse("# comment\n; another\n\n[default]\nRegion = eu-west-1 \n"
	    "aws_access_key_id=AKID\n  [profile dev]  \nregion: us-west-2\nregion = us-west-1\n"
	    "s3 =\n  addressing_style = path\n  endpoint_url = http://127.0.0.1:9000\n"
	    "after = x#notacomment\n", &rc, &err);
	is_int(rc, 0, "ini: valid file parses");
	is_str(tp__awsconf_ini_get(ini, "default", "region"), "eu-west-1",
	    "ini: key lower-cased, value trimmed");
	is_str(tp__awsconf_ini_get(ini, "default", "aws_access_key_id"), "AKID", "ini: no spaces");
	is_str(tp__awsconf_ini_get(ini, "profile dev", "region"), "us-west-1",
	    "ini: later duplicate wins; ':' delimiter accepted");
	is_str(tp__awsconf_ini_get(ini, "profile dev", "s3.addressing_style"), "path",
	    "ini: nested setting");
	is_str(tp__awsconf_ini_get(ini, "profile dev", "s3.endpoint_url"), "http://127.0.0.1:9000",
	    "ini: nested value with ':' kept whole");
	is_str(tp__awsconf_ini_get(ini, "profile dev", "after"), "x#notacomment",
	    "ini: '#' inside a value is kept (as botocore)");
	ok(tp__awsconf_ini_get(ini, "profile dev", "addressing_style") == NULL,
	    "ini: nested key not at top level");
	ok(tp__awsconf_ini_has_section(ini, "profile dev") &&
	        !tp__awsconf_ini_has_section(ini, "dev"),
	    "ini: section names exact");
	ok(tp__awsconf_ini_get(ini, "nope", "region") == NULL, "ini: missing section gives NULL");
	tp__awsconf_ini_free(ini);

	ini = parse("[default]\r\nregion = ap-south-1\r\n\r\n", &rc, &err);
	is_int(rc, 0, "ini: CRLF parses");
	is_str(tp__awsconf_ini_get(ini, "default", "region"), "ap-south-1", "ini: CR stripped");
	tp__awsconf_ini_free(ini);

	ini = parse("", &rc, &err);
	is_int(rc, 0, "ini: empty input is fine");
	tp__awsconf_ini_free(ini);
	ini = parse("[default]", &rc, &err);
	is_int(rc, 0, "ini: no trailing newline is fine");
	tp__awsconf_ini_free(ini);

	/* hostile */
	ini = parse("[default\naws_secret_access_key = TOPSECRETVALUE\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: missing ']' refused");
	ok(ini == NULL, "ini: no result on error");
	like_str(err.msg, "cfg:1: section header without ']'", "ini: file:line: what");
	ok(strstr(err.msg, "TOPSECRET") == NULL, "ini: message does not quote the secret");

	parse("[default]\naws_secret_access_key TOPSECRETVALUE\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: line without '=' refused");
	like_str(err.msg, "cfg:2:", "ini: line number of the bad line");
	ok(strstr(err.msg, "TOPSECRET") == NULL, "ini: secret line not quoted");

	parse("region = x\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: setting outside a section refused");
	like_str(err.msg, "outside", "ini: says why");

	parse("[]\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: empty section name refused");
	parse("[a]\n = v\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: empty key refused");

	parse("[a]\nx\n[b\ny\n", &rc, &err);
	is_int(rc, SM_EPARSE, "ini: several errors");
	like_str(err.msg, "cfg:2:", "ini: first error reported");
	like_str(err.msg, "more error", "ini: the others counted");

	{
		size_t n = AWSCONF_LINE_MAX + 100;
		char *big = malloc(n + 32);

		strcpy(big, "[a]\nk = ");
		memset(big + 8, 'v', n);
		big[8 + n] = '\0';
		parse(big, &rc, &err);
		is_int(rc, SM_EPARSE, "ini: over-long line refused");
		like_str(err.msg, "longer than", "ini: says the line is too long");
		free(big);
	}
	{
		const char data[] = "[a]\nk = v\0x\n";

		ini = NULL;
		rc = tp__awsconf_ini_parse(data, sizeof(data) - 1, "cfg", &ini, &err);
		is_int(rc, SM_EPARSE, "ini: NUL byte refused");
		tp__awsconf_ini_free(ini);
	}
	{
		size_t n = AWSCONF_FILE_MAX + 1;
		char *big = malloc(n);

		memset(big, '\n', n);
		ini = NULL;
		rc = tp__awsconf_ini_parse(big, n, "cfg", &ini, &err);
		is_int(rc, SM_ETOOBIG, "ini: input over the cap refused");
		write_file("big", big, n);
		{
			char path[512];

			snprintf(path, sizeof(path), "%s/big", tmpdir);
			is_int(tp__awsconf_ini_load(path, &ini, &err), SM_ETOOBIG,
			    "ini: file over the cap refused before reading");
		}
		free(big);
	}
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/does-not-exist", tmpdir);
		is_int(tp__awsconf_ini_load(path, &ini, &err), SM_ENOTFOUND, "ini: missing file");
		is_int(
		    tp__awsconf_ini_load(tmpdir, &ini, &err), SM_EIO, "ini: a directory refused");
	}
	/* random bytes never crash and never leak */
	{
		unsigned seed = 12345;
		char buf[512];
		int crashed = 0;

		for (int i = 0; i < 3000; i++) {
			size_t n = (size_t)(rand_r(&seed) % sizeof(buf));

			for (size_t j = 0; j < n; j++) {
				static const char alpha[] = "[]=:# ;\n\r\tab\0";

				buf[j] = (char)(rand_r(&seed) % 3 ? alpha[rand_r(&seed) %
				    (sizeof(alpha) - 1)] : rand_r(&seed));
			}
			ini = NULL;
			rc = tp__awsconf_ini_parse(buf, n, "rnd", &ini, &err);
			if ((rc == 0) != (ini != NULL))
				crashed = 1;
			tp__awsconf_ini_free(ini);
		}
		ok(!crashed, "ini: 3000 random inputs: result iff success");
	}
}

static struct awsconf conf;

static int
load(struct tp_config *cfg, struct sm_error *err)
{
	tp__awsconf_free(&conf);
	sm_error_clear(err);
	return tp__awsconf_load(&conf, cfg, err);
}

static void
test_load(void)
{
	struct tp_config cfg;
	struct sm_error err;
	int rc;

	clean_env();
	rc = load(NULL, &err);
	is_int(rc, 0, "load: nothing configured is fine");
	is_str(conf.region, "us-east-1", "load: default region");
	is_str(conf.profile, "default", "load: default profile");
	is_str(conf.endpoint_sqs, "https://sqs.us-east-1.amazonaws.com", "load: default sqs");
	is_str(conf.endpoint_s3, "https://s3.us-east-1.amazonaws.com", "load: default s3");
	is_int(conf.endpoint_sqs_custom, 0, "load: default endpoint is not custom");
	is_int(conf.max_attempts, 3, "load: 3 attempts by default");
	is_int(conf.s3_path_style, -1, "load: path style decided per bucket");

	write_str("config", "[default]\nregion = eu-central-1\nmax_attempts = 7\n"
	    "[profile dev]\nregion = ap-northeast-1\nendpoint_url = http://localhost:4566/\n"
	    "s3 =\n  addressing_style = virtual\n  endpoint_url = http://127.0.0.1:9000\n"
	    "[profile cn]\nregion = cn-north-1\n");
	rc = load(NULL, &err);
	is_int(rc, 0, "load: $HOME/.aws/config is not there, config in tmp ignored");
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/config", tmpdir);
		setenv("AWS_CONFIG_FILE", path, 1);
	}
	rc = load(NULL, &err);
	is_int(rc, 0, "load: AWS_CONFIG_FILE read");
	is_str(conf.region, "eu-central-1", "load: region from config [default]");
	is_int(conf.max_attempts, 7, "load: max_attempts from config");
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	load(NULL, &err);
	is_str(conf.region, "us-west-2", "load: AWS_DEFAULT_REGION beats config");
	setenv("AWS_REGION", "sa-east-1", 1);
	load(NULL, &err);
	is_str(conf.region, "sa-east-1", "load: AWS_REGION beats AWS_DEFAULT_REGION");
	tp_config_init(&cfg);
	cfg.region = "eu-north-1";
	load(&cfg, &err);
	is_str(conf.region, "eu-north-1", "load: tp_config beats the environment");
	is_str(conf.endpoint_sqs, "https://sqs.eu-north-1.amazonaws.com",
	    "load: default endpoint follows the region");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");

	setenv("AWS_PROFILE", "dev", 1);
	rc = load(NULL, &err);
	is_int(rc, 0, "load: profile dev");
	is_str(conf.profile, "dev", "load: profile from AWS_PROFILE");
	is_str(conf.region, "ap-northeast-1", "load: region of [profile dev]");
	is_str(conf.endpoint_sqs, "http://localhost:4566", "load: endpoint_url, '/' stripped");
	is_str(conf.endpoint_s3, "http://127.0.0.1:9000", "load: nested s3 endpoint_url wins");
	is_int(conf.endpoint_s3_custom, 1, "load: custom endpoint flagged");
	is_int(conf.s3_path_style, 0, "load: addressing_style virtual");
	is_int(conf.max_attempts, 3, "load: [default] settings do not leak into dev");
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", 1);
	load(NULL, &err);
	is_str(conf.endpoint_sqs, "http://127.0.0.1:5000", "load: AWS_ENDPOINT_URL beats config");
	is_str(conf.endpoint_s3, "http://127.0.0.1:5000", "load: ...for s3 too");
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5001", 1);
	load(NULL, &err);
	is_str(conf.endpoint_s3, "http://127.0.0.1:5001", "load: service-specific env wins");
	is_str(conf.endpoint_sqs, "http://127.0.0.1:5000", "load: ...only for its service");
	tp_config_init(&cfg);
	cfg.endpoint_sqs = "http://127.0.0.1:7000";
	cfg.s3_path_style = 1;
	cfg.max_attempts = 9;
	load(&cfg, &err);
	is_str(conf.endpoint_sqs, "http://127.0.0.1:7000", "load: tp_config endpoint wins");
	is_int(conf.s3_path_style, 1, "load: tp_config path style wins");
	is_int(conf.max_attempts, 9, "load: tp_config max attempts wins");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	load(NULL, &err);
	is_str(conf.endpoint_s3, "https://s3.ap-northeast-1.amazonaws.com",
	    "load: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");

	setenv("AWS_PROFILE", "cn", 1);
	load(NULL, &err);
	is_str(conf.endpoint_s3, "https://s3.cn-north-1.amazonaws.com.cn", "load: china suffix");
	unsetenv("AWS_PROFILE");

	/* bad values */
	setenv("AWS_ENDPOINT_URL", "ftp://127.0.0.1", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: ftp endpoint refused");
	like_str(err.msg, "endpoint", "load: message names the endpoint");
	setenv("AWS_ENDPOINT_URL", "http://user:pw@127.0.0.1", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: user info in endpoint refused");
	ok(strstr(err.msg, "pw") == NULL, "load: the password is not quoted");
	/* regression: these were refused for their scheme or query first,
	 * with the whole url (and its password) in the message */
	setenv("AWS_ENDPOINT_URL", "ftp://user:s3cr3tpw@127.0.0.1", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: ftp endpoint with user info refused");
	ok(strstr(err.msg, "s3cr3tpw") == NULL, "load: ...without quoting the password");
	setenv("AWS_ENDPOINT_URL", "http://user:s3cr3tpw@127.0.0.1/?x=1", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: endpoint with user info and a query refused");
	ok(strstr(err.msg, "s3cr3tpw") == NULL, "load: ...without quoting the password");
	unsetenv("AWS_ENDPOINT_URL");
	setenv("AWS_REGION", "us east 1", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: region with spaces refused");
	setenv("AWS_REGION", "../../etc", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: region with '/' refused");
	unsetenv("AWS_REGION");
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: 0 attempts refused");
	setenv("AWS_MAX_ATTEMPTS", "3x", 1);
	is_int(load(NULL, &err), SM_EINVAL, "load: '3x' attempts refused");
	setenv("AWS_MAX_ATTEMPTS", "5", 1);
	load(NULL, &err);
	is_int(conf.max_attempts, 5, "load: AWS_MAX_ATTEMPTS");
	unsetenv("AWS_MAX_ATTEMPTS");
	setenv("AWS_S3_FORCE_PATH_STYLE", "true", 1);
	load(NULL, &err);
	is_int(conf.s3_path_style, 1, "load: AWS_S3_FORCE_PATH_STYLE");
	unsetenv("AWS_S3_FORCE_PATH_STYLE");

	write_str("config", "[default]\nregion = eu-west-1\n[profile x\n");
	is_int(load(NULL, &err), SM_EPARSE, "load: malformed config refused");
	like_str(err.msg, "config:3:", "load: message gives file:line");
	write_str("config", "[default]\ns3 =\n  addressing_style = sideways\n");
	is_int(load(NULL, &err), SM_EINVAL, "load: unknown addressing style refused");

	/* CA bundle: none by default, config ca_bundle, AWS_CA_BUNDLE wins */
	{
		char ca1[512], ca2[512], text[700];

		snprintf(ca1, sizeof(ca1), "%s/ca1.pem", tmpdir);
		snprintf(ca2, sizeof(ca2), "%s/ca2.pem", tmpdir);
		write_str("ca1.pem", "pem\n");
		write_str("ca2.pem", "pem\n");
		write_str("config", "[default]\nregion = eu-west-1\n");
		is_int(load(NULL, &err), 0, "load: config without ca_bundle");
		ok(conf.ca_bundle == NULL, "load: no CA bundle by default (system store)");
		snprintf(text, sizeof(text), "[default]\nca_bundle = %s\n", ca1);
		write_str("config", text);
		is_int(load(NULL, &err), 0, "load: config with ca_bundle");
		is_str(conf.ca_bundle, ca1, "load: ca_bundle from config");
		setenv("AWS_CA_BUNDLE", ca2, 1);
		load(NULL, &err);
		is_str(conf.ca_bundle, ca2, "load: AWS_CA_BUNDLE beats config");
		setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
		is_int(load(NULL, &err), SM_EINVAL, "load: unreadable CA bundle refused");
		like_str(err.msg, "AWS_CA_BUNDLE", "load: message names where it came from");
		unsetenv("AWS_CA_BUNDLE");
	}
	unsetenv("AWS_CONFIG_FILE");
	tp__awsconf_free(&conf);
}

/* Load with `url` as AWS_ENDPOINT_URL; the log lines it wrote go to `logbuf`. */
static int
load_http(const char *url, struct tp_config *cfg, struct sm_error *err, char *logbuf,
    size_t logsize)
{
	FILE *lf = tmpfile();
	size_t n = 0;
	int rc;

	setenv("AWS_ENDPOINT_URL", url, 1);
	sm_log_init(lf, SM_LOG_INFO, NULL);
	rc = load(cfg, err);
	sm_log_init(NULL, SM_LOG_INFO, NULL);
	if (lf != NULL) {
		rewind(lf);
		n = fread(logbuf, 1, logsize - 1, lf);
		fclose(lf);
	}
	logbuf[n] = '\0';
	return rc;
}

static void
test_insecure_http(void)
{
	static const char *const loopback[] = { "http://127.0.0.1:9000", "http://127.3.4.5",
		"http://[::1]:9324", "http://localhost:4566", "http://LOCALHOST/gw" };
	static const char *const remote[] = { "http://minio.internal:9000",
		"http://127.0.0.1.evil.example", "http://10.0.0.7", "http://128.0.0.1",
		"http://[::2]:80", "http://localhost.example" };
	struct tp_config cfg;
	struct sm_error err;
	struct sm_loop *loop;
	struct tp *tp = NULL;
	char logbuf[2048];
	size_t i;

	clean_env();
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		is_int(load_http(loopback[i], NULL, &err, logbuf, sizeof(logbuf)), 0,
		    "http: %s is loopback: accepted (%s)", loopback[i], err.msg);
		ok(strstr(logbuf, "unencrypted") == NULL, "http: ...without a warning");
	}
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
		is_int(load_http(remote[i], NULL, &err, logbuf, sizeof(logbuf)), SM_EINVAL,
		    "http: %s is not loopback: refused", remote[i]);
	}
	like_str(err.msg, "SM_ALLOW_INSECURE_HTTP=1", "http: the message says how to allow it");
	like_str(err.msg, "https://", "http: ...and to prefer https");
	diag("%s", err.msg);
	is_int(load_http("https://minio.internal:9000", NULL, &err, logbuf, sizeof(logbuf)), 0,
	    "http: https to the same host is fine");

	setenv("SM_ALLOW_INSECURE_HTTP", "1", 1);
	is_int(load_http("http://minio.internal:9000", NULL, &err, logbuf, sizeof(logbuf)), 0,
	    "http: SM_ALLOW_INSECURE_HTTP=1 allows it");
	like_str(logbuf, "warn: sqs endpoint 'http://minio.internal:9000' is plain http",
	    "http: ...with a warning for sqs");
	like_str(logbuf, "warn: s3 endpoint", "http: ...and for s3");
	like_str(logbuf, "SM_ALLOW_INSECURE_HTTP=1", "http: ...naming what allowed it");
	setenv("SM_ALLOW_INSECURE_HTTP", "0", 1);
	is_int(load_http("http://minio.internal:9000", NULL, &err, logbuf, sizeof(logbuf)),
	    SM_EINVAL, "http: SM_ALLOW_INSECURE_HTTP=0 does not");
	setenv("SM_ALLOW_INSECURE_HTTP", "yes", 1);
	is_int(load_http("http://minio.internal:9000", NULL, &err, logbuf, sizeof(logbuf)),
	    SM_EINVAL, "http: only '1' allows it");
	unsetenv("SM_ALLOW_INSECURE_HTTP");

	tp_config_init(&cfg);
	cfg.allow_insecure_http = 1;
	is_int(load_http("http://minio.internal:9000", &cfg, &err, logbuf, sizeof(logbuf)), 0,
	    "http: tp_config.allow_insecure_http = 1 allows it");
	like_str(logbuf, "tp_config.allow_insecure_http", "http: ...and the warning says so");
	tp_config_init(&cfg);
	cfg.endpoint_s3 = "http://minio.internal:9000";
	is_int(load_http("https://sqs.example", &cfg, &err, logbuf, sizeof(logbuf)),
	    SM_EINVAL, "http: a tp_config endpoint is checked too");
	like_str(err.msg, "s3 endpoint", "http: ...naming the service");

	/* tp_create says it before anything else */
	if (sm_loop_create(&loop) != 0)
		bail_out("no loop");
	tp_config_init(&cfg);
	cfg.backend = "aws";
	cfg.endpoint_sqs = "http://sqs.internal";
	cfg.endpoint_s3 = "https://s3.internal";
	sm_error_clear(&err);
	is_int(tp_create(&tp, loop, &cfg, &err), SM_EINVAL, "http: tp_create refuses it");
	like_str(err.msg, "sqs endpoint \"http://sqs.internal\" is plain http",
	    "http: tp_create's message (%s)", err.msg);
	ok(tp == NULL, "http: no transport");
	sm_loop_destroy(loop);
	unsetenv("AWS_ENDPOINT_URL");
	tp__awsconf_free(&conf);
}

static void
test_addressing(void)
{
	struct awsconf c = { 0 };
	char *base, *host, *path, *scheme;
	struct sm_error err;

	ok(tp__awsconf_bucket_dns_ok("my-bucket", 1), "dns: my-bucket");
	ok(!tp__awsconf_bucket_dns_ok("My_Bucket", 0), "dns: upper case and '_' not dns");
	ok(!tp__awsconf_bucket_dns_ok("ab", 0), "dns: too short");
	ok(!tp__awsconf_bucket_dns_ok("a.b.c", 1), "dns: dots refused with tls");
	ok(tp__awsconf_bucket_dns_ok("a.b.c", 0), "dns: dots fine without tls");
	ok(!tp__awsconf_bucket_dns_ok("a..b", 0), "dns: '..' refused");
	ok(!tp__awsconf_bucket_dns_ok("-ab", 0), "dns: leading '-'");
	ok(!tp__awsconf_bucket_dns_ok("192.168.1.1", 0), "dns: ipv4 refused");
	ok(!tp__awsconf_bucket_dns_ok(NULL, 0), "dns: NULL");

	c.s3_path_style = -1;
	c.endpoint_s3 = (char *)"https://s3.us-east-1.amazonaws.com";
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 0, "style: aws + dns bucket -> virtual");
	is_int(tp__awsconf_s3_path_style(&c, "My_Bucket"), 1, "style: non-dns bucket -> path");
	is_int(tp__awsconf_s3_path_style(&c, "a.b.c"), 1, "style: dotted bucket over tls -> path");
	c.s3_path_style = 1;
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 1, "style: forced path");
	c.s3_path_style = 0;
	is_int(tp__awsconf_s3_path_style(&c, "My_Bucket"), 1,
	    "style: forced virtual yields for non-dns");
	c.s3_path_style = -1;
	c.endpoint_s3 = (char *)"http://127.0.0.1:9000";
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 1, "style: ip endpoint -> path");
	c.endpoint_s3 = (char *)"http://localhost";
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 1, "style: localhost -> path");
	c.endpoint_s3 = (char *)"http://minio.internal:9000";
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 1, "style: explicit port -> path");
	c.endpoint_s3 = (char *)"http://[::1]";
	is_int(tp__awsconf_s3_path_style(&c, "my-bucket"), 1, "style: ipv6 -> path");

	c.endpoint_s3 = (char *)"http://127.0.0.1:9000";
	is_int(tp__awsconf_s3_target(&c, "bkt", "a/b c.txt", &base, &host, &path, &err), 0,
	    "target: path style");
	is_str(base, "http://127.0.0.1:9000", "target: base");
	is_str(host, "127.0.0.1:9000", "target: host");
	is_str(path, "/bkt/a/b c.txt", "target: raw path with bucket");
	free(base);
	free(host);
	free(path);
	c.endpoint_s3 = (char *)"https://s3.eu-west-1.amazonaws.com";
	is_int(tp__awsconf_s3_target(&c, "my-bucket", "k", &base, &host, &path, &err), 0,
	    "target: virtual style");
	is_str(base, "https://my-bucket.s3.eu-west-1.amazonaws.com", "target: virtual base");
	is_str(host, "my-bucket.s3.eu-west-1.amazonaws.com", "target: virtual host");
	is_str(path, "/k", "target: key path");
	free(base);
	free(host);
	free(path);
	is_int(tp__awsconf_s3_target(&c, "my-bucket", NULL, &base, &host, &path, &err), 0,
	    "target: bucket level");
	is_str(path, "/", "target: bucket level path");
	free(base);
	free(host);
	free(path);
	is_int(tp__awsconf_s3_target(&c, NULL, NULL, &base, &host, &path, &err), 0,
	    "target: service level");
	is_str(host, "s3.eu-west-1.amazonaws.com", "target: service host");
	free(base);
	free(host);
	free(path);
	is_int(tp__awsconf_s3_target(&c, "a/b", "k", &base, &host, &path, &err), SM_EINVAL,
	    "target: '/' in bucket refused");
	is_int(tp__awsconf_s3_target(&c, NULL, "k", &base, &host, &path, &err), SM_EINVAL,
	    "target: key without bucket refused");
	c.endpoint_s3 = (char *)"http://gw.example:8080/s3";
	is_int(tp__awsconf_s3_target(&c, "bkt", "k", &base, &host, &path, &err), 0,
	    "target: endpoint with a path");
	is_str(path, "/s3/bkt/k", "target: endpoint path kept in front");
	free(base);
	free(host);
	free(path);

	is_int(tp__awsconf_split_url("HTTPS://Example.COM:443/", &scheme, &host, &path, &err), 0,
	    "split: https default port");
	is_str(scheme, "https", "split: scheme");
	is_str(host, "example.com", "split: default port dropped, lower-cased");
	is_str(path, "", "split: '/' path is empty");
	free(scheme);
	free(host);
	free(path);
	is_int(tp__awsconf_split_url("http://[::1]:8080/x/", &scheme, &host, &path, &err), 0,
	    "split: ipv6 with port");
	is_str(host, "[::1]:8080", "split: ipv6 host kept with port");
	is_str(path, "/x", "split: path trailing '/' stripped");
	free(scheme);
	free(host);
	free(path);
	is_int(tp__awsconf_split_url("http://h:0", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: port 0");
	is_int(tp__awsconf_split_url("http://h:99999", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: port too big");
	is_int(tp__awsconf_split_url("http://h:12a", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: port not a number");
	is_int(tp__awsconf_split_url("http://h:", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: empty port");
	is_int(tp__awsconf_split_url("http:///x", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: no host");
	is_int(tp__awsconf_split_url("http://h/x?y=1", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: query refused");
	is_int(tp__awsconf_split_url("http://h/\r\nX-Evil: 1", &scheme, &host, &path, &err),
	    SM_EINVAL, "split: CRLF refused");
	is_int(tp__awsconf_split_url("http://[::1", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: unclosed '['");
	is_int(tp__awsconf_split_url("127.0.0.1:9000", &scheme, &host, &path, &err), SM_EINVAL,
	    "split: no scheme");
}

int
main(void)
{
	char *cs;

	plan_no_plan();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/awsconf-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	clean_env();
	cs = tp__awsconf_config_section("default");
	is_str(cs, "default", "section of the default profile");
	free(cs);
	cs = tp__awsconf_config_section("dev");
	is_str(cs, "profile dev", "section of a named profile");
	free(cs);
	cs = tp__awsconf_config_path();
	ok(cs && strstr(cs, "/.aws/config"), "config path under HOME");
	free(cs);
	test_ini();
	test_load();
	test_insecure_http();
	test_addressing();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
	}
	return done_testing();
}
