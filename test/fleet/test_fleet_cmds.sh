#!/usr/bin/env bash
# test_fleet_cmds.sh local|aws SMCTL SMD SPIDER - TAP tests of smctl's fleet
# commands (search, failed, instances, stop-flag, results; clean on the
# local backend) against a bucket filled by real smd runs with the test
# spider (a finished task, a failed one, a cache hit of the first) and by
# keys put directly (other days up to 40 days back, a task record with its
# reason, heartbeats alive and stale, a task id shared by two servers).
# aws: run by with_moto.sh (signing enforced); what smctl prints is
# cross-checked against the bucket as boto3 lists and reads it.  local:
# the same checks against the files of <state>/objects/<bucket>.
set -u
mode=$1 smctl=$2 smd=$3 spider=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_fleet_$mode.XXXXXX")
smd_pid=
cleanup() {
	[ -n "$smd_pid" ] && kill -KILL "$smd_pid" 2>/dev/null && wait "$smd_pid" 2>/dev/null
	[ -n "${SM_TEST_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
command -v python3 >/dev/null || tap_skip_all "python3 not found"
if [ "$mode" = aws ]; then
	[ -n "${AWS_ENDPOINT_URL:-}" ] || tap_skip_all "run by with_moto.sh (no AWS_ENDPOINT_URL)"
	python3 -c 'import boto3' 2>/dev/null || tap_skip_all "python3 with boto3 not found"
fi
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

state=$tmp/state
conf=$tmp/smd.conf
bucket=fleet-test-bucket
cat > "$conf" <<EOF
backend = $mode
bucket = $bucket
state_dir = $state
machines_dir = $SM_SOURCE_DIR/machines
spider_program = $spider
spiders_dir = $tmp
poll_wait = 1s
progress_interval = 1s
EOF

# bucket.py: the bucket as the test sees it, through boto3 (aws) or the
# files (local): put KEY FILE | putzip KEY MEMBER TEXT | get KEY | unzip KEY
# | list [PREFIX] (key<TAB>size lines, sorted) | mkbucket
cat > "$tmp/bucket.py" <<'EOF'
import io, os, sys, zipfile
mode, root, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
cmd, args = sys.argv[4], sys.argv[5:]
if mode == "aws":
    import boto3
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
def put(key, data):
    if mode == "aws":
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    else:
        p = os.path.join(root, bucket, key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "wb").write(data)
def get(key):
    if mode == "aws":
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return open(os.path.join(root, bucket, key), "rb").read()
if cmd == "mkbucket":
    if mode == "aws":
        s3.create_bucket(Bucket=bucket)
    else:
        os.makedirs(os.path.join(root, bucket), exist_ok=True)
elif cmd == "put":
    put(args[0], open(args[1], "rb").read())
elif cmd == "putzip":
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(args[1], args[2])
    put(args[0], b.getvalue())
elif cmd == "get":
    sys.stdout.buffer.write(get(args[0]))
elif cmd == "unzip":
    z = zipfile.ZipFile(io.BytesIO(get(args[0])))
    sys.stdout.buffer.write(z.read(z.namelist()[0]))
elif cmd == "list":
    prefix = args[0] if args else ""
    out = []
    if mode == "aws":
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
    else:
        base = os.path.join(root, bucket)
        for d, _, files in os.walk(base):
            for f in files:
                k = os.path.relpath(os.path.join(d, f), base)
                if k.startswith(prefix):
                    out.append((k, os.path.getsize(os.path.join(d, f))))
    for k, s in sorted(out):
        print("%s\t%d" % (k, s))
EOF
bk() { python3 "$tmp/bucket.py" "$mode" "$state/objects" "$bucket" "$@"; }
task() { # task ID SERVER TERM [EXTRA-FIELDS]
	echo "{\"task_id\": $1, \"server_name\": \"$2\", \"site\": \"walmart\", \"searchterms_str\": \"$3\"${4:+, $4}}"
}
day() { date -u -d "@$(( $(date -u +%s) - $1 * 86400 ))" +"$2"; }

# ---- the bucket: real runs ------------------------------------------------------
[ "$mode" = aws ] && bk mkbucket
t "submit a task that finishes" 0 "$smctl" -c "$conf" submit "$(task 7101 uiserver 'water bottle' '"cmd_args": {"fake_items": 3}')"
t "submit a task that fails" 0 "$smctl" -c "$conf" submit "$(task 7102 uiserver 'broken spider' '"cmd_args": {"fake_mode": "fail"}')"
t "submit a cache hit of the first" 0 "$smctl" -c "$conf" submit "$(task 7103 otherserver 'water bottle' '"cmd_args": {"fake_items": 3}')"
timeout 200 "$smd" -c "$conf" --exit-when-idle -q >"$tmp/smd.out" 2>&1
check "smd ran them and stopped ($(tail -2 "$tmp/smd.out" | tr '\n' ' '))" $? -eq 0
inst=$(cat "$state/instance-id")

# ---- the bucket: keys put directly ---------------------------------------------
other=zzzzzzzzzzzzzzzzzzzzzzzzzzz1
echo items > "$tmp/items"
for ago in 3 10 40; do
	d=$(day $ago %Y/%m/%d) dn=$(day $ago %d-%m-%Y)
	name="$d/${dn}____${other}____uiserver--88${ago}____old term____target"
	bk putzip "$name.jl.zip" x.jl '{"a": 1}'
	bk putzip "$name.log.zip" x.log "log of day $ago"
done
# a failed task three days ago, with its record
d=$(day 3 %Y/%m/%d) dn=$(day 3 %d-%m-%Y)
fname="$d/${dn}____${other}____farserver--9001____lost____amazon"
bk putzip "$fname.log.zip" x.log "spider log"
bk putzip "$fname.state.json.zip" x.state.json \
	'{"format": "smd-task-record", "version": 1, "state": "failed", "reason": "spider exited with status 1", "unknown_field": [1]}'
# task id 7101 also on another server, ten days ago
name2="$(day 10 %Y/%m/%d)/$(day 10 %d-%m-%Y)____${other}____twinserver--7101____twin____walmart"
bk putzip "$name2.jl.zip" x.jl '{"twin": 1}'
now_ms=$(( $(date -u +%s) * 1000 ))
printf '{"format": "smd-heartbeat", "version": 1, "instance": "%s", "hostname": "alive-host", "pid": 42, "smd_version": "0.1.0", "started_ms": %d, "last_seen_ms": %d, "interval_ms": 60000, "backend": "%s", "queues": ["q"], "stopping": false, "tasks": [{"task_id": 5, "server_name": "ui", "site": "walmart", "state": "running", "since_ms": %d, "name": "n"}]}' \
	"$other" $((now_ms - 600000)) $((now_ms - 1000)) "$mode" $((now_ms - 5000)) > "$tmp/hb1"
printf '{"format": "smd-heartbeat", "version": 1, "instance": "yyyyyyyyyyyyyyyyyyyyyyyyyyy2", "hostname": "dead-host", "pid": 7, "last_seen_ms": %d, "interval_ms": 60000, "tasks": []}' \
	$((now_ms - 3600000)) > "$tmp/hb2"
echo 'not json' > "$tmp/hb3"
bk put "smd/instances/$other.json" "$tmp/hb1"
bk put smd/instances/yyyyyyyyyyyyyyyyyyyyyyyyyyy2.json "$tmp/hb2"
bk put smd/instances/garbage.json "$tmp/hb3"

# ---- --help and usage ------------------------------------------------------------
for c in search failed instances stop-flag results; do
	t "$c --help" 0 "$smctl" "$c" --help
	has "$c --help shows the usage and exit status" "$tmp/out" '^usage: smctl '"$c"
	has "$c --help documents the exit status" "$tmp/out" '^Exit status'
done
t "search without TEXT is a usage error" 2 "$smctl" -c "$conf" search
t "search --days 0 is a usage error" 2 "$smctl" -c "$conf" search --days 0 x
t "search --until with a bad day is a usage error" 2 "$smctl" -c "$conf" search --until 2024-13-01 x
t "stop-flag maybe is a usage error" 2 "$smctl" -c "$conf" stop-flag maybe
t "results x is a usage error" 2 "$smctl" -c "$conf" results x

# ---- search ----------------------------------------------------------------------
t "search 7101 --json" 0 "$smctl" -c "$conf" search --json 7101
cp "$tmp/out" "$tmp/s.json"
json "finds task 7101 of uiserver (today) only within 7 days" "$tmp/s.json" \
	"[(x['task_id'], x['server_name']) for x in j['tasks']] == [(7101, 'uiserver')]"
json "with its four outputs and its record" "$tmp/s.json" \
	"sorted(k['key'].split('____')[-1] for k in j['tasks'][0]['keys']) == ['walmart.csv.zip', 'walmart.jl.zip', 'walmart.log.zip', 'walmart.progress.zip', 'walmart.state.json.zip']"
json "named as smd names it" "$tmp/s.json" \
	"j['tasks'][0]['instance'] == '$inst' and j['tasks'][0]['term'] == 'water bottle' and j['tasks'][0]['site'] == 'walmart'"
bk list "$(day 0 %Y/%m/%d)/" > "$tmp/today"
grep -- '--7101____' "$tmp/today" | cut -f1 > "$tmp/want"
python3 -c "import json,sys; print('\n'.join(k['key'] for t in json.load(open(sys.argv[1]))['tasks'] for k in t['keys']))" "$tmp/s.json" | sort > "$tmp/got"
check "the keys are those the bucket lists ($mode cross-check)" "$(cat "$tmp/got")" = "$(cat "$tmp/want")"
json "sizes as the bucket gives them" "$tmp/s.json" \
	"all(k['size'] == int(l.split('\t')[1]) for t in j['tasks'] for k in t['keys'] for l in open('$tmp/today') if l.split('\t')[0] == k['key'])"
json "one list request per day (7)" "$tmp/s.json" "j['requests'] == 7"
t "search 7101 --days 30" 0 "$smctl" -c "$conf" search --json --days 30 7101
json "finds the twin of ten days ago too, newest first" "$tmp/out" \
	"[x['server_name'] for x in j['tasks']] == ['uiserver', 'twinserver']"
t "search 'old term' --days 30" 0 "$smctl" -c "$conf" search --json --days 30 'old term'
json "two tasks (3 and 10 days ago), not the one of 40 days" "$tmp/out" \
	"sorted(x['task_id'] for x in j['tasks']) == [883, 8810]"
t "search 'old term' --days 41" 0 "$smctl" -c "$conf" search --json --days 41 'old term'
json "with 41 days the one of 40 days ago too" "$tmp/out" "len(j['tasks']) == 3 and j['requests'] == 41"
t "search 'old term' --until 10 days ago --days 1" 0 "$smctl" -c "$conf" search --json --until "$(day 10 %Y-%m-%d)" --days 1 'old term'
json "--until picks the last day" "$tmp/out" "[x['task_id'] for x in j['tasks']] == [8810]"
t "search by instance id" 0 "$smctl" -c "$conf" search "$inst"
has "text output names the tasks" "$tmp/out" "task 7102 of uiserver \(walmart\) on $inst: 'broken spider'"
has "and the daemon's log" "$tmp/out" "remote_instance_starter2.log"
has "and a summary" "$tmp/out" '^[0-9]+ tasks, [0-9]+ keys in 7 days, 7 requests$'
t "search for nothing found" 0 "$smctl" -c "$conf" search --json no-such-text
json "gives no tasks" "$tmp/out" "j['tasks'] == []"

# ---- failed ----------------------------------------------------------------------
t "failed --json" 0 "$smctl" -c "$conf" failed --json
cp "$tmp/out" "$tmp/f.json"
json "the failed run and the task with a record, newest first" "$tmp/f.json" \
	"[x['task_id'] for x in j['tasks']] == [7102, 9001]"
json "the reason from the record" "$tmp/f.json" \
	"j['tasks'][1]['reason'] == 'spider exited with status 1' and j['tasks'][1]['state'] == 'failed'"
json "finished, cached and old tasks with data are not listed" "$tmp/f.json" \
	"not any(x['task_id'] in (7101, 7103, 883) for x in j['tasks'])"
check "smd wrote the failed run's record" "$(bk list "$(day 0 %Y/%m/%d)/" | grep -c -- '--7102____.*state.json.zip')" -eq 1
json "smd's own record of the failed run gives its reason" "$tmp/f.json" \
	"'spider' in (j['tasks'][0]['reason'] or '') and j['tasks'][0]['record_key'].endswith('.state.json.zip')"
t "failed --server farserver" 0 "$smctl" -c "$conf" failed --json --server farserver
json "only that server" "$tmp/out" "[x['task_id'] for x in j['tasks']] == [9001]"
t "failed --site walmart" 0 "$smctl" -c "$conf" failed --json --site walmart
json "only that site" "$tmp/out" "[x['task_id'] for x in j['tasks']] == [7102]"
t "failed --days 1" 0 "$smctl" -c "$conf" failed --days 1
has "text: the reason or that there is none" "$tmp/out" '^    reason'
has "text: a count" "$tmp/out" '^1 failed tasks in 1 days$'

# ---- instances -------------------------------------------------------------------
t "instances --json" 0 "$smctl" -c "$conf" instances --json
json "the live instance only" "$tmp/out" "[x['instance'] for x in j['instances']] == ['$other'] and j['instances'][0]['alive']"
json "with what it runs" "$tmp/out" "j['instances'][0]['tasks'][0]['task_id'] == 5"
t "instances --all" 0 "$smctl" -c "$conf" instances --all
has "shows the stale one" "$tmp/out" '^yyyyyyyyyyyyyyyyyyyyyyyyyyy2  stale  host dead-host'
has "and the live one" "$tmp/out" "^$other  alive  host alive-host pid 42"
has "and its task" "$tmp/out" 'task 5 of ui \(walmart\): running since'

# ---- stop-flag -------------------------------------------------------------------
t "stop-flag status (never set)" 0 "$smctl" -c "$conf" stop-flag status
has "is off, not set" "$tmp/out" '^off \(the flag is not set\)$'
t "stop-flag on" 0 "$smctl" -c "$conf" stop-flag on
check "the bucket holds true" "$(bk get scrapy_daemon_stop_flag)" = true
t "stop-flag status --json" 0 "$smctl" -c "$conf" stop-flag status --json
json "reads it" "$tmp/out" "j['stop'] is True and j['exists'] is True"
t "stop-flag off" 0 "$smctl" -c "$conf" stop-flag off
check "the bucket holds false" "$(bk get scrapy_daemon_stop_flag)" = false
printf ' TRUE\n' > "$tmp/flag"
bk put scrapy_daemon_stop_flag "$tmp/flag"
t "stop-flag status of ' TRUE' (as smd reads it)" 0 "$smctl" -c "$conf" stop-flag status
has "is on" "$tmp/out" '^on$'
bk put scrapy_daemon_stop_flag "$tmp/items"
t "stop-flag status of another word" 0 "$smctl" -c "$conf" stop-flag status
has "is off" "$tmp/out" '^off$'

# ---- results ----------------------------------------------------------------------
t "results 7101 (two servers share it)" 1 "$smctl" -c "$conf" results --days 30 7101 "$tmp/r"
has "asks for --server, naming them" "$tmp/err" "several servers \('(uiserver', 'twinserver|twinserver', 'uiserver)'\).*--server"
t "results 7101 --server uiserver" 0 "$smctl" -c "$conf" results --days 30 --server uiserver 7101 "$tmp/r"
check "five files written (four outputs, the record)" "$(wc -l < "$tmp/out")" -eq 5
jl=$(grep '\.jl$' "$tmp/out")
key=$(grep -- '--7101____.*\.jl\.zip' "$tmp/today" | cut -f1)
check "the .jl is the zip's member as read back ($mode)" "$(cat "$jl")" = "$(bk unzip "$key")"
check "three items in it" "$(wc -l < "$jl")" -eq 3
mkdir "$tmp/r4" && echo secret > "$tmp/victim"
t "results with a symlink planted at a temporary file's name" 1 sh -c \
	'ln -s "$1" "$2/$3.tmp.$$" && exec "$4" -c "$5" results --days 30 --server uiserver 7101 "$2"' \
	sh "$tmp/victim" "$tmp/r4" "$(basename "$jl")" "$smctl" "$conf"
has "says it cannot write" "$tmp/err" "cannot write '$tmp/r4/.*\.jl\.tmp\.[0-9]+'"
check "the symlink's target is untouched" "$(cat "$tmp/victim")" = secret
t "results 9001 --json" 0 "$smctl" -c "$conf" results --json 9001 "$tmp/r2"
json "the log and the record" "$tmp/out" "sorted(f['path'].rsplit('.', 1)[-1] for f in j['files']) == ['json', 'log']"
check "the record unzipped" "$(grep -c 'spider exited' "$tmp/r2/$(day 3 %d-%m-%Y)____${other}____farserver--9001____lost____amazon.state.json")" -eq 1
t "results of an unknown task" 1 "$smctl" -c "$conf" results 123456 "$tmp/r3"
has "says what to do" "$tmp/err" 'no task 123456 in the last 7 days .*--days N'

# ---- clear errors ------------------------------------------------------------------
t "search in a bucket that does not exist" 1 "$smctl" -c "$conf" search -o bucket=no-such-bucket x
has "says so" "$tmp/err" "bucket 'no-such-bucket' does not exist"
if [ "$mode" = aws ]; then
	AWS_ENDPOINT_URL=http://127.0.0.1:1 AWS_MAX_ATTEMPTS=1 t "an unreachable endpoint" 1 "$smctl" -c "$conf" search x
	has "says so" "$tmp/err" "cannot reach the bucket '$bucket'.*check the endpoint"
	t "no credentials" 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent \
		"$smctl" -c "$conf" failed
	has "says so" "$tmp/err" "no aws credentials"
	AWS_SECRET_ACCESS_KEY=wrong t "wrong credentials (signing enforced)" 1 "$smctl" -c "$conf" instances
	has "says access is denied" "$tmp/err" "access to bucket '$bucket' denied"
else
	t "no state directory (local)" 1 "$smctl" -c "$conf" search -d "$tmp/none" x
	has "says so" "$tmp/err" "no state directory '$tmp/none'"
	check "and does not make one" ! -e "$tmp/none"
fi

# ---- clean (the instance's own state directory) ----------------------------------
t "clean --help" 0 "$smctl" clean --help
mkdir -p "$tmp/home/.ssh" && echo keep > "$tmp/home/.ssh/id" && ln -s / "$tmp/home/root"
t "clean of a directory that is not a state directory" 1 "$smctl" clean -d "$tmp/home" --yes
has "is refused, naming a foreign entry" "$tmp/err" "not a state directory: it holds '(\.ssh|root)'"
check "nothing removed" "$(cat "$tmp/home/.ssh/id")" = keep
check "nothing created (no lock taken there)" ! -e "$tmp/home/lock"
mkdir "$tmp/empty"
t "clean of a directory without instance-id nor lock" 1 "$smctl" clean -d "$tmp/empty" --yes
has "is refused" "$tmp/err" "not a state directory: it has no 'instance-id' nor 'lock'"
check "and nothing is made there" "$(ls -A "$tmp/empty")" = ""
"$smd" -c "$conf" -q >"$tmp/smd2.out" 2>&1 &
smd_pid=$!
for i in $(seq 100); do [ -S "$state/control" ] && break; sleep 0.1; done
t "clean while smd runs" 1 "$smctl" -c "$conf" clean --yes
has "is refused, naming the holder" "$tmp/err" "refused: .*$smd_pid"
check "the instance id is still there" -s "$state/instance-id"
kill -TERM "$smd_pid"; wait "$smd_pid"; smd_pid=
t "clean without --yes and no terminal" 1 "$smctl" -c "$conf" clean
has "asks for --yes" "$tmp/err" 'give --yes'
t "clean --yes" 0 "$smctl" -c "$conf" clean --yes
check "only the lock is left" "$(ls -A "$state")" = lock
t "clean again (only the lock left)" 0 "$smctl" -c "$conf" clean --yes
timeout 60 "$smd" -c "$conf" --exit-when-idle -q >>"$tmp/smd.out" 2>&1
check "the next smd makes a new instance id" "$(cat "$state/instance-id")" != "$inst"

tap_done
