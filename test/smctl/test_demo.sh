#!/usr/bin/env bash
# test_demo.sh - TAP test of the README's main command, scripts/demo.sh, end
# to end without its setup and build (SM_DEMO_NO_SETUP=1, the programs of
# SM_BUILD_DIR): the three flows are submitted, smd runs them and stops,
# inspect shows a reported task (its spider log's tail from the bucket, the
# work directory being gone), the bucket holds every task's four keys and
# the daemon's log; the state directory is removed afterwards.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

start=$(date +%s)
TMPDIR=$tmp SM_DEMO_NO_SETUP=1 SM_DEMO_BUILD_DIR=$SM_BUILD_DIR t "demo.sh runs" 0 \
	"$SM_SOURCE_DIR/scripts/demo.sh"
took=$(($(date +%s) - start))
check "within 30 s (took $took s)" "$took" -le 30
for id in 4444 4445 4446; do
	has "task $id submitted" "$tmp/out" "^\\{\"task_id\": $id, "
done
has "message ids printed" "$tmp/out" '^  -> message [0-9a-f-]{36}$'
has "smd stopped when idle" "$tmp/out" '^smd stopped'
has "inspect shows task 4446" "$tmp/out" '^task +4446 from test_server_name$'
has "reported" "$tmp/out" '^state +reported \(final\)$'
# the work directory went when the task was reported: its main log's tail
# comes from the bucket (the best-seller crawl's log is not uploaded)
has "with its log's tail from the bucket, naming the key" "$tmp/out" '^log main\.log \(last 5 lines, from the bucket: [0-9]{4}/[0-9]{2}/[0-9]{2}/.*test_server_name--4446____batteries____walmart\.log\.zip\):$'
has "the log's last line" "$tmp/out" '^  .*Spider closed \(finished\)$'
check "no best-seller log (not uploaded, gone with the work directory)" -z "$(grep '^log bsr\.log' "$tmp/out")"
for k in '4444____waterbottle' '4445____single-product-url-request' '4446____batteries'; do
	for s in jl.zip csv.zip log.zip progress.zip; do
		has "bucket key ...--${k}____walmart.$s" "$tmp/out" "^[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}-[0-9]{2}-[0-9]{4}____[a-z0-9]{28}____test_server_name--${k}____walmart\\.${s//./\\.}\$"
	done
done
has "the daemon's log key" "$tmp/out" '____remote_instance_starter2\.log$'
check "the state directory is gone" -z "$(ls "$tmp" | grep smd-demo)"
tap_done
