#!/usr/bin/env bash
# test_smctl_submit_aws.sh SMCTL - TAP tests of `smctl submit` on the aws
# backend, run by test/support/with_moto.sh against a private moto_server
# with signing enforced (credentials and endpoint from the environment, as
# the standard chain reads them).  What landed is read back with boto3: the
# body exactly as given, under the message id smctl printed; a refused
# message sends nothing; the state directory is not touched.
set -u
smctl=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_smctl_submit_aws.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
[ -n "${AWS_ENDPOINT_URL:-}" ] || tap_skip_all "run by with_moto.sh (no AWS_ENDPOINT_URL)"
python3 -c 'import boto3' 2>/dev/null || tap_skip_all "python3 with boto3 not found"
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

conf=$tmp/smd.conf
printf 'backend = aws\nstate_dir = %s/state\n' "$tmp" > "$conf"
# receive QUEUE: every message of QUEUE as "message-id<TAB>body" lines
# (none: no line; a missing queue: "missing")
receive() {
	python3 - "$1" <<'EOF'
import os, sys, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
try:
    url = sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"]
except sqs.exceptions.QueueDoesNotExist:
    print("missing")
    sys.exit(0)
r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
for m in r.get("Messages", []):
    print(m["MessageId"] + "\t" + m["Body"])
EOF
}

body='{"task_id": 4444, "server_name": "uiserver", "site": "walmart", "searchterms_str": "water/bottle"}'
t "submit to SQS" 0 "$smctl" -c "$conf" submit "$body"
has "prints the message id" "$tmp/out" '^[0-9a-f-]{36}$'
id=$(cat "$tmp/out")
receive sqs_ranking_spiders_tasks_urgent > "$tmp/got"
check "boto3 finds one message in the highest-priority queue" "$(wc -l < "$tmp/got")" = 1
check "under the printed id, with the body as given" "$(cat "$tmp/got")" = "$id	$body"
check "the aws backend leaves the state directory alone" ! -e "$tmp/state"

t "submit --queue NAME (created when missing)" 0 "$smctl" -c "$conf" submit --queue smctl_test_queue "$body"
id=$(cat "$tmp/out")
receive smctl_test_queue > "$tmp/got"
check "boto3 finds it in that queue" "$(cat "$tmp/got")" = "$id	$body"

t "an invalid task is not sent" 1 "$smctl" -c "$conf" submit --queue smctl_refused '{"task_id": 1, "server_name": "uiserver", "site": "walmart"}'
has "with the reason" "$tmp/err" "not sent: bad message: fields 'searchterms_str', 'url', 'urls'"
t "invalid JSON is not sent" 1 "$smctl" -c "$conf" submit --queue smctl_refused '{"task_id": 1'
check "no queue was even created" "$(receive smctl_refused)" = missing

AWS_ENDPOINT_URL=http://127.0.0.1:1 AWS_MAX_ATTEMPTS=1 t "an unreachable endpoint fails" 1 \
	"$smctl" -c "$conf" submit "$body"
has "and says so" "$tmp/err" "cannot (find or create|send to) queue 'sqs_ranking_spiders_tasks_urgent'"

tap_done
