/*
 * test_creds_moto.c - the whole chain end to end: the "aws" transport
 * backend gets its credentials from a shared credentials file, from a
 * config-file profile, and from (fake, loopback) instance metadata, and
 * moto, with authentication enforced, accepts the signed requests.  A wrong
 * secret in the file is refused by moto and the error never shows it.
 * Run under test/support/with_moto.sh.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds_test_util.h"
#include "sm_loop.h"
#include "support/tp_collect.h"
#include "tap.h"
#include "transport.h"

static char tmpdir[256];
static char *ak, *sk;

/* Create the aws backend, then a bucket, an object, and read it back. */
static void
round_trip(const char *label, const char *bucket, int expect_ok)
{
	struct sm_loop *loop = NULL;
	struct tp *tp = NULL;
	struct tp_config cfg;
	struct sm_error err;
	struct tp_out d = { 0 };
	int rc;

	sm_loop_create(&loop);
	tp_config_init(&cfg);
	cfg.backend = "aws";
	sm_error_clear(&err);
	rc = tp_create(&tp, loop, &cfg, &err);
	is_int(rc, 0, "%s: aws backend created", label);
	if (rc != 0) {
		diag("%s", err.msg);
		sm_loop_destroy(loop);
		return;
	}
	tpc_reset(&d);
	rc = tp_bucket_create(tp, bucket, tpc_on_done, &d, NULL);
	if (rc == 0)
		tp_wait(tp, &d.done, 20000);
	if (!expect_ok) {
		ok(rc == 0 && d.done && d.code == SM_EAUTH, "%s: moto refuses (%s)", label,
		    sm_errname(d.code));
		ok(strstr(d.msg, "WRONGSECRET") == NULL, "%s: the secret is not in the message",
		    label);
		like_str(d.msg, "credentials", "%s: message says to check the credentials", label);
		goto out;
	}
	ok(rc == 0 && d.done && d.code == 0, "%s: bucket created (%s)", label, d.msg);
	tpc_reset(&d);
	rc = tp_object_put_mem(tp, bucket, "dir/hello world.txt", "hi there", 8, "text/plain",
	    tpc_on_object, &d, NULL);
	if (rc == 0)
		tp_wait(tp, &d.done, 20000);
	ok(rc == 0 && d.done && d.code == 0, "%s: object put (%s)", label, d.msg);
	tpc_reset(&d);
	rc = tp_object_get_mem(tp, bucket, "dir/hello world.txt", 1024, tpc_on_data, &d, NULL);
	if (rc == 0)
		tp_wait(tp, &d.done, 20000);
	ok(rc == 0 && d.done && d.code == 0, "%s: object get (%s)", label, d.msg);
	is_str(d.data, "hi there", "%s: content", label);
out:
	tpc_reset(&d);
	tp_destroy(tp);
	sm_loop_destroy(loop);
}

int
main(void)
{
	char path[600], buf[1024];
	pid_t imds;
	int port = 0;

	plan_no_plan();
	if (getenv("SM_MOTO_SKIP"))
		skip_all("moto_server is not installed");
	if (getenv("AWS_ENDPOINT_URL") == NULL ||
	    strncmp(getenv("AWS_ENDPOINT_URL"), "http://127.0.0.1:", 17) != 0 ||
	    getenv("AWS_ACCESS_KEY_ID") == NULL || getenv("AWS_SECRET_ACCESS_KEY") == NULL)
		skip_all("run me under test/support/with_moto.sh");
	ak = strdup(getenv("AWS_ACCESS_KEY_ID"));
	sk = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/creds-moto-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("HOME", tmpdir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

	/* 1. shared credentials file */
	snprintf(buf, sizeof(buf), "[default]\naws_access_key_id = %s\n"
	    "aws_secret_access_key = %s\n", ak, sk);
	ctu_write_str(tmpdir, "credentials", buf);
	snprintf(path, sizeof(path), "%s/credentials", tmpdir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	round_trip("credentials file", "creds-file-bucket", 1);

	/* 2. config-file profile selected by AWS_PROFILE */
	ctu_write_str(tmpdir, "credentials", "[other]\naws_access_key_id = AKIDNOPE\n"
	    "aws_secret_access_key = nope\n");
	snprintf(buf, sizeof(buf), "[profile moto]\naws_access_key_id = %s\n"
	    "aws_secret_access_key = %s\nregion = us-east-1\n", ak, sk);
	ctu_write_str(tmpdir, "config2", buf);
	snprintf(path, sizeof(path), "%s/config2", tmpdir);
	setenv("AWS_CONFIG_FILE", path, 1);
	setenv("AWS_PROFILE", "moto", 1);
	round_trip("config profile", "creds-config-bucket", 1);
	unsetenv("AWS_PROFILE");

	/* 3. wrong secret: refused, and never echoed */
	snprintf(buf, sizeof(buf), "[default]\naws_access_key_id = %s\n"
	    "aws_secret_access_key = WRONGSECRETWRONGSECRETWRONGSECRET1234\n", ak);
	ctu_write_str(tmpdir, "credentials", buf);
	round_trip("wrong secret", "creds-wrong-bucket", 0);

	/* 4. instance metadata (fake, loopback) serving moto's keys */
	ctu_write_str(tmpdir, "credentials", "");
	setenv("FAKE_IMDS_ACCESS_KEY", ak, 1);
	setenv("FAKE_IMDS_SECRET_KEY", sk, 1);
	imds = ctu_imds_start(&port);
	ok(imds > 0 && port > 0, "imds: fake server started");
	if (imds > 0) {
		snprintf(buf, sizeof(buf), "http://127.0.0.1:%d", port);
		setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", buf, 1);
		unsetenv("AWS_EC2_METADATA_DISABLED");
		round_trip("instance metadata", "creds-imds-bucket", 1);
		ctu_imds_stop(imds);
	}
	unsetenv("FAKE_IMDS_ACCESS_KEY");
	unsetenv("FAKE_IMDS_SECRET_KEY");

	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path) != 0)
		diag("could not remove %s", tmpdir);
	free(ak);
	free(sk);
	return done_testing();
}
