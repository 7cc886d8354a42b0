#!/usr/bin/env bash
# test_smctl_task.sh SMCTL SMD SPIDER - TAP tests of `smctl submit` and
# `smctl inspect TASK_ID` on the local backend, with the real daemon and the
# test spider: messages refused by the daemon's validator are never sent;
# good ones (argument, @FILE, stdin, --queue, -c before or after the
# command) run; a task id delivered three times from two servers shows
# every run (the third a cache hit of the first), --server picks, --json
# has the promised fields; unknown ids, a damaged record; inspect and
# submit while smd holds the state directory.
set -u
smctl=$1
smd=$2
spider=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_smctl_task.XXXXXX")
smd_pid=
cleanup() {
	[ -n "$smd_pid" ] && kill -KILL "$smd_pid" 2>/dev/null && wait "$smd_pid" 2>/dev/null
	[ -n "${SM_TEST_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
command -v python3 >/dev/null || tap_skip_all "python3 not found (reads inspect --json)"
# smd reads every SMD_* variable: none of the caller's may leak in
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

state=$tmp/state
conf=$tmp/smd.conf
cat > "$conf" <<EOF
backend = local
state_dir = $state
machines_dir = $SM_SOURCE_DIR/machines
spider_program = $spider
spiders_dir = $tmp
poll_wait = 1s
progress_interval = 1s
EOF
run_smd() { "$smd" -c "$conf" --exit-when-idle -q "$@" >>"$tmp/smd.out" 2>&1; }
uuid='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
task() { # task ID SERVER [EXTRA-FIELDS]
	echo "{\"task_id\": $1, \"server_name\": \"$2\", \"site\": \"walmart\"${3:+, $3}}"
}

# ---- submit: usage and refused messages --------------------------------------
t "submit --help" 0 "$smctl" submit --help
has "submit --help shows usage" "$tmp/out" '^usage: smctl submit .*JSON\|@FILE\|-'
t "submit without a message is a usage error" 2 "$smctl" -c "$conf" submit
t "submit with two messages is a usage error" 2 "$smctl" -c "$conf" submit '{}' '{}'
t "submit with a bad option is a usage error" 2 "$smctl" submit --bogus '{}'
t "smctl -c without a file is a usage error" 2 "$smctl" -c
printf 'no_such_key = 1\n' > "$tmp/bad.conf"
t "submit with a refused configuration exits 2" 2 "$smctl" -c "$tmp/bad.conf" submit "$(task 1 ui '"searchterms_str": "x"')"
has "names the configuration's problem" "$tmp/err" 'bad.conf:1: .*no_such_key'
t "submit: not JSON is refused" 1 "$smctl" -c "$conf" submit '{"task_id": 9001,'
has "with the validator's reason" "$tmp/err" 'not sent: bad message: message is not JSON'
t "submit: a JSON array is refused" 1 "$smctl" -c "$conf" submit '[1]'
has "says it is not an object" "$tmp/err" 'not sent: bad message: .*object'
t "submit: no search term or url is refused" 1 "$smctl" -c "$conf" submit "$(task 9001 ui)"
has "names the fields" "$tmp/err" "not sent: bad message: fields 'searchterms_str', 'url', 'urls': exactly one is required"
t "submit: a task without site is refused" 1 "$smctl" -c "$conf" submit '{"task_id": 9001, "server_name": "ui", "searchterms_str": "x"}'
has "names site" "$tmp/err" "not sent: bad message: .*site"
t "submit: shell characters in a cmd_args key are refused" 1 "$smctl" -c "$conf" submit "$(task 9001 ui '"searchterms_str": "x", "cmd_args": {"a;rm": 1}')"
t "submit: a bad boolean is refused" 1 "$smctl" -c "$conf" submit "$(task 9001 ui '"searchterms_str": "x", "forced_task": "yes"')"
t "submit: a missing @FILE" 1 "$smctl" -c "$conf" submit "@$tmp/missing.json"
has "says it cannot read it" "$tmp/err" "cannot read '$tmp/missing.json'"
check "nothing refused created the state directory" ! -e "$state"

# ---- submit: good messages, then smd runs them -------------------------------
t "submit a task (argument; -c before the command)" 0 "$smctl" -c "$conf" submit "$(task 4444 uiserver '"searchterms_str": "water/bottle", "cmd_args": {"fake_items": 2}')"
has "prints the message id" "$tmp/out" "$uuid"
cp "$tmp/out" "$tmp/id1"
check "the state directory was made 0700" "$(stat -c %a "$state" 2>/dev/null)" = 700
t "the same task id from another server (-c after the command)" 0 "$smctl" submit -c "$conf" "$(task 4444 other '"url": "http://x/1", "cmd_args": {"fake_items": 1, "fake_mode": "fail"}')"
task 5555 uiserver '"url": "http://x/5", "cmd_args": {"fake_items": 1}' > "$tmp/t5.json"
t "submit @FILE" 0 "$smctl" -c "$conf" submit "@$tmp/t5.json"
task 6666 uiserver '"urls": "http://x/6||http://x/7", "cmd_args": {"fake_items": 1}' > "$tmp/t6.json"
t "submit - (stdin)" 0 sh -c '"$1" -c "$2" submit - < "$3"' sh "$smctl" "$conf" "$tmp/t6.json"
has "prints the message id" "$tmp/out" "$uuid"
t "submit --queue" 0 "$smctl" -c "$conf" submit --queue sqs_ranking_spiders_tasks_tests "$(task 7777 uiserver '"searchterms_str": "q", "cmd_args": {"fake_items": 1}')"
t "smd runs them and stops when idle" 0 run_smd
t "the task id again, identical (a cache hit)" 0 "$smctl" -c "$conf" submit "$(task 4444 uiserver '"searchterms_str": "water/bottle", "cmd_args": {"fake_items": 2}')"
cp "$tmp/out" "$tmp/id3"
t "smd runs it" 0 run_smd

# ---- inspect TASK_ID ----------------------------------------------------------
t "inspect 4444: every run" 0 "$smctl" -c "$conf" inspect 4444
has "run 1 of 3" "$tmp/out" '^== run 1 of 3: task-[0-9]+$'
has "run 3 of 3" "$tmp/out" '^== run 3 of 3: task-[0-9]+$'
has "who sent it" "$tmp/out" '^task +4444 from other$'
has "the lifecycle state of a finished run" "$tmp/out" '^state +reported \(final\)$'
has "the failed run and its reason" "$tmp/out" '^reason +spider exited with code 1'
has "the message as received" "$tmp/out" '^message +\{"task_id": 4444, "server_name": "uiserver"'
has "the queue and the message id" "$tmp/out" "^queue +sqs_ranking_spiders_tasks_urgent, message $(cat "$tmp/id1")"
has "the cache hit and its source" "$tmp/out" '^cache +hit: served the results of [0-9]{4}/[0-9]{2}/[0-9]{2}/.*uiserver--4444____waterbottle____walmart'
has "the keys" "$tmp/out" '^  s3_key_data +[0-9]{4}/.*--4444____waterbottle____walmart\.jl\.zip$'
has "a transition with its action result" "$tmp/out" '^      result: \{"hit":false\}$'
has "an action error" "$tmp/out" '^      error: error\.invoke\.spider_wait: spider exited with code 1'
has "the spider log's tail" "$tmp/out" 'Spider error: told to fail'
t "inspect 4444 --json" 0 "$smctl" -c "$conf" inspect 4444 --json
cp "$tmp/out" "$tmp/4444.json"
json "top level: the latest run" "$tmp/4444.json" 'j["task_id"] == 4444 and j["server_name"] == "uiserver" and j["state"] == "reported" and j["final"] is True and j["instance_id"] == j["runs"][-1]["instance_id"]'
json "runs: three, oldest first" "$tmp/4444.json" 'len(j["runs"]) == 3 and [int(r["instance_id"][5:]) for r in j["runs"]] == sorted(int(r["instance_id"][5:]) for r in j["runs"])'
ID1=$(cat "$tmp/id1") ID3=$(cat "$tmp/id3") json "each run's message id is the one submit printed" "$tmp/4444.json" 'j["runs"][0]["message_id"] == os.environ["ID1"] and j["message_id"] == os.environ["ID3"]'
json "history: oldest first, from start to the final state" "$tmp/4444.json" 'j["history"][0]["kind"] == "start" and [h["seq"] for h in j["history"]] == sorted(h["seq"] for h in j["history"]) and j["history"][-1]["to"] == ["reported"]'
json "keys: the cached keys are the first run's" "$tmp/4444.json" 'j["keys"]["s3_key_data"].endswith("____uiserver--4444____waterbottle____walmart.jl.zip") and j["keys"] == j["runs"][0]["keys"] and j["keys_state"] == "cached"'
json "cache: a hit, with its key and source" "$tmp/4444.json" 'j["cache"]["hit"] is True and j["cache"]["result"] == "hit" and len(j["cache"]["key"]) == 64 and j["cache"]["source"] == j["runs"][0]["instance"]["session"]["datamodel"]["job"]["name"] and j["runs"][0]["cache"]["result"] == "miss"'
json "the failed run: state, reason, sub-states, log" "$tmp/4444.json" '[(r["state"], r["final"], r["server_name"], r["sub_states"]) for r in j["runs"]][1] == ("failed", True, "other", []) and "told to fail" in j["runs"][1]["logs"][0]["lines"][-1]'
t "inspect 4444 --server other --json" 0 "$smctl" -c "$conf" inspect --server other --json 4444
json "only the run from that server" "$tmp/out" 'len(j["runs"]) == 1 and j["server_name"] == "other" and j["state"] == "failed"'
t "inspect 4444 --server uiserver" 0 "$smctl" -c "$conf" inspect -s uiserver 4444
has "its two runs" "$tmp/out" '^== run 2 of 2:'
t "inspect 4444 --server of no run exits 1" 1 "$smctl" -c "$conf" inspect --server nobody 4444
has "says none came from it" "$tmp/err" "'4444' has 3 run\\(s\\), none from server 'nobody'"
t "inspect an unknown task id exits 1" 1 "$smctl" -c "$conf" inspect 9001
has "says there is no such task" "$tmp/err" "no task 9001 in '$state'"
t "inspect an unknown instance id exits 1" 1 "$smctl" -c "$conf" inspect task-999
has "says there is no such instance" "$tmp/err" "no instance 'task-999'"
t "inspect by instance id" 0 "$smctl" -c "$conf" inspect --json task-1
json "shows that run alone" "$tmp/out" 'j["instance_id"] == "task-1" and len(j["runs"]) == 1 and j["task_id"] == 4444'
t "inspect 5555 (sent from a file)" 0 "$smctl" inspect -d "$state" --json 5555
json "reported" "$tmp/out" 'j["state"] == "reported" and j["server_name"] == "uiserver"'
t "inspect 6666 (sent from stdin), state dir from SMD_STATE_DIR" 0 env SMD_STATE_DIR="$state" "$smctl" inspect --json 6666
json "reported" "$tmp/out" 'j["state"] == "reported"'
t "inspect 7777 (sent with --queue)" 0 "$smctl" inspect --config "$conf" --json 7777
json "came from that queue" "$tmp/out" 'j["queue"] == "sqs_ranking_spiders_tasks_tests" and j["state"] == "reported"'
t "inspect --last 2 --log-lines 0" 0 "$smctl" -c "$conf" inspect --last 2 --log-lines 0 --json 4444
json "two history records per run, no log lines" "$tmp/out" 'all(len(r["history"]) == 2 and all(l["lines"] == [] for l in r["logs"]) for r in j["runs"])'
t "inspect without a state directory is a usage error" 2 "$smctl" inspect 4444
t "inspect: bad --log-lines" 2 "$smctl" -c "$conf" inspect --log-lines -1 4444

# ---- a damaged record: the other runs are still shown -------------------------
if command -v mdb_load >/dev/null; then
	cp -r "$state" "$tmp/damaged"
	bad=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][1]["instance_id"])' "$tmp/4444.json")
	printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n %s\n not json\nDATA=END\n' "$bad" > "$tmp/bad.dump"
	mdb_load -s instances -f "$tmp/bad.dump" "$tmp/damaged/store"
	t "inspect with a damaged run exits 1" 1 "$smctl" inspect -d "$tmp/damaged" 4444
	has "names the run and says what is wrong" "$tmp/err" "run '$bad': the record is not json"
	has "the other runs are still shown" "$tmp/out" '^== run 3 of 3:'
	t "inspect --json with a damaged run exits 1" 1 "$smctl" inspect -d "$tmp/damaged" --json 4444
	json "the damaged run has its error, the others their state" "$tmp/out" '[r["state"] for r in j["runs"]] == ["reported", None, "reported"] and "not json" in j["runs"][1]["error"]'
	# index rows of task 4444 (docs/daemon.md): one whose instance never
	# committed (smd was killed between the row and the start), one whose
	# value names no instance
	printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n task_id\\004444\\00\\00\\00\\00\\00\\00\\00\\00c\n task-99\n task_id\\004444\\00\\00\\00\\00\\00\\00\\00\\00d\n \\00x\nDATA=END\n' > "$tmp/rows.dump"
	cp -r "$state" "$tmp/rows"
	mdb_load -s index -f "$tmp/rows.dump" "$tmp/rows/store"
	t "inspect with a bad index row exits 1" 1 "$smctl" inspect -d "$tmp/rows" --json 4444
	has "says the row is damaged" "$tmp/err" "task 4444: an index row does not name an instance: the store is damaged"
	json "the run without an instance is listed, with why" "$tmp/out" 'len(j["runs"]) == 4 and j["instance_id"] == "task-99" and j["state"] is None and "no instance record yet" in j["error"]'
else
	tap_skip "no mdb_load (lmdb-utils)"
fi

# ---- while smd holds the state directory --------------------------------------
"$smd" -c "$conf" -q -o poll_wait=20s >>"$tmp/smd.out" 2>&1 &
smd_pid=$!
for i in $(seq 1 100); do
	[ "$(sed -n 1p "$state/lock" 2>/dev/null)" = "$smd_pid" ] && break
	sleep 0.1
done
check "smd holds the state directory" "$(sed -n 1p "$state/lock" 2>/dev/null)" = "$smd_pid"
t "submit beside the running smd" 0 "$smctl" -c "$conf" submit "$(task 8888 uiserver '"searchterms_str": "slow", "cmd_args": {"fake_items": 4, "fake_delay_ms": 800}')"
seen_running=0
# (no python in this loop: it starts too slowly on a loaded machine)
for i in $(seq 1 300); do
	if "$smctl" -c "$conf" inspect --json 8888 >"$tmp/live.json" 2>/dev/null; then
		grep -m1 '^  "state"' "$tmp/live.json" >>"$tmp/seen"
		if [ $seen_running = 0 ] && grep -q '^  "state": "progressing",$' "$tmp/live.json"; then
			seen_running=1
			cp "$tmp/live.json" "$tmp/running.json"
		fi
		grep -q '^  "final": true' "$tmp/live.json" && break
	fi
	sleep 0.05
done
check "inspect showed the task progressing while smd ran it" "$seen_running" = 1
[ "$seen_running" = 1 ] || sed 's/^/# seen: /' "$tmp/seen"
if [ "$seen_running" = 1 ]; then
	json "with its sub-states, not final, and the spider log so far" "$tmp/running.json" 'j["sub_states"][0] == "crawling" and j["final"] is False and j["status"] == "running" and j["logs"][0]["file"] == "main.log"'
fi
json "then reported" "$tmp/live.json" 'j["state"] == "reported" and j["final"] is True'
kill -TERM "$smd_pid"
wait "$smd_pid"
check "smd stopped cleanly" $? = 0
smd_pid=

tap_done
