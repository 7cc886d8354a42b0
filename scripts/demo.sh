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
task=$(cat machines/examples/task.json)

echo "== check machines/task.scxml"
$smctl check machines/task.scxml

echo
echo "== task 4444: a search task that crawls, uploads and reports (state: $state)"
id="task-4444-$(date +%s)"
$smctl simulate -q -d "$state" -i "$id" --task "$task" \
  -a 'cache_get={"hit":false}' -a 'spider={"items":20}' -a 'pack={}' \
  -a 'upload={"keys":{"s3_key_data":"2026/11/28/28-11-2026____demo____test_server_name--4444____water____walmart.jl.zip"}}' \
  -a 'cache_put={}' -a 'report={}' machines/task.scxml
$smctl inspect -d "$state" "$id"

echo
echo "== task 4445: the spider fails; its log is uploaded and 'failed' is reported"
id2="task-4445-$(date +%s)"
$smctl simulate -q -d "$state" -i "$id2" --task "${task/4444/4445}" \
  -a 'cache_get={"hit":false}' -a 'spider!error.spider.exit' -a 'upload_logs={}' \
  -a 'report={}' machines/task.scxml
$smctl inspect -d "$state" "$id2"

echo
echo "demo done: 'build/cmd/smctl inspect -d $state $id --json' shows the same as JSON"
