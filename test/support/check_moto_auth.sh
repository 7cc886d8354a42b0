#!/bin/sh
# check_moto_auth.sh - run under with_moto.sh: proves that the harness's moto
# enforces signatures (a wrong secret is refused) and accepts the exported
# key.  Speaks TAP.
if ! command -v aws >/dev/null 2>&1; then
	if [ "${SM_REQUIRE_PEERS:-0}" = 1 ]; then
		echo "Bail out! the aws CLI is not installed (SM_REQUIRE_PEERS=1)"
		exit 1
	fi
	echo "1..0 # SKIP the aws CLI is not installed"
	exit 77
fi
echo "1..3"
fail=0
case "$AWS_ENDPOINT_URL" in
http://127.0.0.1:*) echo "ok 1 - endpoint is loopback ($AWS_ENDPOINT_URL)" ;;
*) echo "not ok 1 - endpoint is loopback ($AWS_ENDPOINT_URL)"; fail=1 ;;
esac
if aws sqs list-queues --endpoint-url "$AWS_ENDPOINT_URL" >/dev/null 2>&1; then
	echo "ok 2 - the exported key is accepted"
else
	echo "not ok 2 - the exported key is accepted"; fail=1
fi
out=$(AWS_SECRET_ACCESS_KEY=not-the-secret aws sqs list-queues \
	--endpoint-url "$AWS_ENDPOINT_URL" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q SignatureDoesNotMatch; then
	echo "ok 3 - a request signed with a wrong secret is refused (SignatureDoesNotMatch)"
else
	echo "not ok 3 - a request signed with a wrong secret is refused"
	echo "$out" | sed 's/^/# /'
	fail=1
fi
exit $fail
