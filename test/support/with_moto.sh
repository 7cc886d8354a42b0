#!/bin/sh
# with_moto.sh COMMAND [ARGS...] - run COMMAND against a private moto_server.
#
# Starts moto_server (through moto_run.py: see there) on a free loopback
# port with authentication enforced
# after setup (INITIAL_NO_AUTH_ACTION_COUNT=3 covers the IAM calls that
# create a user, its allow-all policy and its access key), exports
#   AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
#   AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
# (and unsets AWS_PROFILE and other credential sources), runs COMMAND, stops
# moto and exits with COMMAND's status.  When a peer it needs is missing
# (moto_server, python3 with boto3) it runs nothing, prints a TAP skip and
# exits 77, which ctest reports as Skipped (SKIP_RETURN_CODE, set by
# sm_moto_test); with SM_REQUIRE_PEERS=1 (scripts/test.sh, CI) it fails.
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	echo "usage: with_moto.sh command [args...]" >&2
	exit 2
fi
missing=
command -v moto_server >/dev/null 2>&1 || missing="moto_server (pip install 'moto[server]')"
if [ -z "$missing" ] && ! python3 -c 'import boto3' >/dev/null 2>&1; then
	missing="python3 with boto3"
fi
if [ -n "$missing" ]; then
	echo "with_moto.sh: $missing not found: the AWS tests need it" >&2
	if [ "${SM_REQUIRE_PEERS:-0}" = 1 ]; then
		echo "Bail out! $missing not found (SM_REQUIRE_PEERS=1)"
		exit 1
	fi
	echo "1..0 # SKIP $missing not found"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/with_moto.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		# moto_server may be a wrapper: end its children too
		pkill -P "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

started=0
for try in 1 2 3; do
	port=$(free_port) || exit 1
	INITIAL_NO_AUTH_ACTION_COUNT=3 python3 "$here/moto_run.py" -H 127.0.0.1 -p "$port" \
		>"$tmp/moto.log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 150 ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		# /moto-api/ is not an AWS action: it does not use up the
		# unauthenticated allowance
		if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
			started=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ $started -eq 1 ] && break
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
done
if [ $started -ne 1 ]; then
	echo "with_moto.sh: moto_server did not start; its log:" >&2
	cat "$tmp/moto.log" >&2
	exit 1
fi

endpoint="http://127.0.0.1:$port"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
	AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL_SQS \
	AWS_ENDPOINT_URL_S3 AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_WEB_IDENTITY_TOKEN_FILE
# a config file that cannot exist: the developer's ~/.aws never leaks in
export AWS_CONFIG_FILE="$tmp/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$tmp/aws-credentials"
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

keys=$(python3 "$here/moto_setup.py" "$endpoint" 2>"$tmp/setup.err")
if [ $? -ne 0 ] || [ -z "$keys" ]; then
	echo "with_moto.sh: creating the IAM user in moto failed:" >&2
	cat "$tmp/setup.err" >&2
	exit 1
fi
AWS_ACCESS_KEY_ID=${keys%% *}
AWS_SECRET_ACCESS_KEY=${keys#* }
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export SM_MOTO_LOG="$tmp/moto.log"

"$@"
status=$?
exit $status
