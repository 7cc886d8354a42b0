#!/usr/bin/env bash
# test_smctl_replay.sh SMCTL - `smctl replay`'s command line, and
# task.scxml's replay routing (docs/daemon.md "Replay") run by `smctl
# simulate` with every action stubbed: a replay goes from validation to the
# step its `replay.from` names, reuses the failed run's work directory
# (uploading) or keys (reporting), and deletes or releases no queue message,
# ending reported, failed or released; a delivery (no replay) still deletes
# and releases its message.  The end-to-end runs are test_smd_replay.
set -u
smctl=$1
task=${SM_SOURCE_DIR:?}/machines/task.scxml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"

job='{"ok":true,"msg":{"task_id":7,"with_best_seller_ranking":false},"name":"n","bucket":"b",
"keys":{"s3_key_instance_starter_logs":"il"},"cache_key":"ck","cache_get":true,"cache_save":true,
"progress_queue":"pq","output_queue":"oq"}'
job=$(printf '%s' "$job" | tr -d '\n')
base=(-a "task_validate=$job" -a 'cache_lookup={"hit":false}' -a 'branch_checkout={"cwd":null}'
  -a 'spider_start={"pid":1}'
  -a 'spider_wait={"items":2}' -a 'pack={"files":[],"items":2}' -a 'upload={}'
  -a 'cache_save={}' -a 'report={}' -a 'queue_delete={}' -a 'queue_release={}')
stubs=("${base[@]}" -a 'report_compose={"body":"out"}')
env() { # env REPLAY_JSON_OR_EMPTY: the task the daemon would start
  if [ -n "$1" ]; then
    printf '{"body":"{}","instance":"task-2","receipt":null,"queue_url":"u","replay":%s}' "$1"
  else
    printf '{"body":"{}","instance":"task-2","receipt":"r1","queue_url":"u"}'
  fi
}
t "replay --help" 0 "$smctl" replay --help
has "  shows its usage" "$tmp/out" '^usage: smctl replay .*TASK_ID$'
has "  smctl --help lists replay" <("$smctl" --help) '^  replay '
t "replay without a task id is a usage error" 2 "$smctl" replay
t "replay with two task ids is a usage error" 2 "$smctl" replay 1 2
t "replay with a bad option is a usage error" 2 "$smctl" replay --bogus 1
for bad in abc -1 1.5 ' 1' 99999999999999999999 "$(printf '1\033[31m')" ''; do
  t "replay task id '$(printf '%q' "$bad")' is a usage error" 2 "$smctl" replay -d "$tmp/sd" "$bad"
done
has "  it says what a task id is" "$tmp/err" 'a task id is 1 to 19 decimal digits'
t "replay --timeout 0 is a usage error" 2 "$smctl" replay --timeout 0 1
t "replay on a missing state directory exits 1" 1 "$smctl" replay -d "$tmp/none" 5
has "  naming it" "$tmp/err" "$tmp/none"
check "  and creating nothing" ! -e "$tmp/none"

sim() { t "$1" "$2" "$smctl" simulate -T 20 --task "$(env "$3")" "${@:4}" "$task"; }
lacks() { # lacks DESCRIPTION FILE REGEX
  n=$((n + 1))
  if grep -Eq -- "$3" "$2"; then echo "not ok $n - $1"; grep -E -- "$3" "$2" | sed 's/^/# /' | head -3
    failed=$((failed + 1)); else echo "ok $n - $1"; fi
}

sim "from reporting: reported" 0 '{"from":"reporting","of":"task-1","keys":{"s3_key_data":"old.jl.zip"}}' "${stubs[@]}"
check "  its last line is reported" "$(last)" = reported
has "  validation leads to composing" "$tmp/err" '\] received -> composing$'
has "  the report names the failed run's keys" "$tmp/err" 'action report_compose .*"keys":\{"s3_key_data":"old.jl.zip"\}'
lacks "  no spider, pack, upload or cache" "$tmp/err" 'action (spider_start|pack|upload|cache_lookup|cache_save) '
lacks "  no message deleted" "$tmp/err" 'action queue_delete'

sim "from uploading: reported" 0 '{"from":"uploading","of":"task-1","work":"task-1"}' "${stubs[@]}"
has "  validation leads to packing" "$tmp/err" '\] received -> packing$'
has "  pack reads the failed run's work directory" "$tmp/err" 'action pack .*"instance":"task-1"'
has "  then upload and the report" "$tmp/err" 'action upload .*'
lacks "  no spider, no cache lookup" "$tmp/err" 'action (spider_start|spider_wait|cache_lookup) '
lacks "  no message deleted" "$tmp/err" 'action queue_delete'

sim "from spawned: reported" 0 '{"from":"spawned","of":"task-1"}' "${stubs[@]}"
has "  validation leads to spawned" "$tmp/err" '\] received -> spawned$'
has "  the spider runs in the new run's work directory" "$tmp/err" 'action spider_start .*"instance":"task-2"'
has "  pack reads it there" "$tmp/err" 'action pack .*"instance":"task-2"'
lacks "  no cache lookup" "$tmp/err" 'action cache_lookup '
lacks "  no message deleted" "$tmp/err" 'action queue_delete'

sim "from the start: reported" 0 '{"from":"received","of":"task-1"}' "${stubs[@]}"
has "  the cache is looked up" "$tmp/err" 'action cache_lookup '
has "  the spider runs" "$tmp/err" 'action spider_start '
lacks "  no message deleted" "$tmp/err" 'action queue_delete'

sim "a delivery: reported" 0 '' "${stubs[@]}"
has "  its message is deleted" "$tmp/err" 'action queue_delete .*"receipt":"r1"'

sim "a replay that fails again: failed" 0 '{"from":"reporting","of":"task-1","keys":{}}' "${base[@]}" -a 'report_compose!error.execution'
check "  its last line is failed" "$(last)" = failed
has "  \"failed\" is reported" "$tmp/err" 'action report .*"progress":"failed"'
lacks "  no message deleted" "$tmp/err" 'action queue_delete'
lacks "  no log packed (no spider ran in it)" "$tmp/err" 'action pack '

sim "a replay released: released" 0 '{"from":"spawned","of":"task-1"}' "${stubs[@]}" -e release
check "  its last line is released" "$(last)" = released
lacks "  no message given back" "$tmp/err" 'action queue_release'
sim "a delivery released: released" 0 '' "${stubs[@]}" -e release
has "  its message is given back" "$tmp/err" 'action queue_release .*"receipt":"r1"'

tap_done
