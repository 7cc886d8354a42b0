#!/usr/bin/env bash
# demo.sh - set up, build, and run the main job on the embedded default:
# the task lifecycle machine (machines/task.scxml) runs for a sample task
# with every transition committed to a local LMDB store, then `smctl
# inspect` shows what happened.  Until the daemon's actions exist, the
# actions are simulated with fixed results (smctl simulate --action).
#
#   scripts/demo.sh                 state in ./demo-state (kept for inspection)
#   SM_DEMO_DIR=/tmp/x scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
state=${SM_DEMO_DIR:-$top/demo-state}
jobs=$(nproc 2>/dev/null || echo 2)

scripts/setup.sh
cmake -S . -B build -DSM_BENCH=OFF >/dev/null
cmake --build build -j"$jobs" --target smctl >/dev/null
smctl=build/cmd/smctl
body=$(tr -d '\n' < machines/examples/task.json)
envelope() { # the delivery smd starts a task instance with
	python3 -c 'import json,sys; print(json.dumps({"body": sys.argv[1], "message_id": "m-"+sys.argv[2], "receipt": "r", "queue": "sqs_ranking_spiders_tasks", "queue_url": "local://queue/sqs_ranking_spiders_tasks", "receive_count": 1, "received_ms": 0, "instance": sys.argv[2]}))' "$1" "$2"
}
name=2026/11/28/28-11-2026____demo____test_server_name--4444____water____walmart
job='{"ok":true,"msg":{"task_id":4444,"server_name":"test_server_name","site":"walmart","searchterms_str":"water","with_best_seller_ranking":false},"name":"'$name'","bucket":"spyder-bucket","keys":{"s3_key_data":"'$name'.jl.zip","s3_key_logs":"'$name'.log.zip","csv_data_key":"'$name'.csv.zip"},"cache_key":"0","cache_get":true,"cache_save":true,"progress_queue":"test_server_namesqs_ranking_spiders_progress","output_queue":"test_server_namesqs_ranking_spiders_output"}'

echo "== check machines/task.scxml"
$smctl check machines/task.scxml

echo
echo "== task 4444: a search task that crawls, uploads and reports (state: $state)"
id="task-4444-$(date +%s)"
$smctl simulate -q -d "$state" -i "$id" --task "$(envelope "$body" "$id")" \
  -a "task_validate=$job" -a 'cache_lookup={"hit":false}' -a 'spider_start={"pid":1}' \
  -a 'spider_wait={"items":20}' -a 'pack={"files":[],"items":20}' -a 'upload={"uploaded":3}' \
  -a 'cache_save={}' -a 'report_compose={"body":"{}"}' -a 'report={"sent":true}' \
  -a 'queue_delete={"deleted":true}' machines/task.scxml
$smctl inspect -d "$state" "$id"

echo
echo "== task 4445: the spider fails; its log is uploaded and 'failed' is reported"
id2="task-4445-$(date +%s)"
$smctl simulate -q -d "$state" -i "$id2" --task "$(envelope "${body/4444/4445}" "$id2")" \
  -a "task_validate=$job" -a 'cache_lookup={"hit":false}' -a 'spider_start={"pid":1}' \
  -a 'spider_wait!error.spider.exit' -a 'pack={"files":[]}' -a 'upload={"uploaded":1}' \
  -a 'report={"sent":true}' -a 'queue_delete={"deleted":true}' machines/task.scxml
$smctl inspect -d "$state" "$id2"

echo
echo "demo done: 'build/cmd/smctl inspect -d $state $id --json' shows the same as JSON"
