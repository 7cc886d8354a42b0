#!/usr/bin/env bash
# test_smctl_stats.sh SMCTL local|aws - TAP tests of `smctl stats` and
# `smctl inspect --remote` over a bucket filled by fleet_fixture.py (task
# records of finished, failed, cached and retried tasks from two instances,
# heartbeats alive and stale, start markers, hostile records): each figure
# is asserted, each hostile record is named once and does not stop the
# count.  aws: run by with_moto.sh (signing enforced), the bucket filled and
# listed back with boto3; local: files under <state_dir>/objects/<bucket>/.
set -u
smctl=$1
backend=$2
spider=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_smctl_stats.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
command -v python3 >/dev/null || tap_skip_all "python3 not found"
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
fixture=$SM_SOURCE_DIR/test/smctl/fleet_fixture.py
day=$(date -u +%Y-%m-%d)
prev=$(date -u -d "$day - 1 day" +%Y-%m-%d)
bucket=stats-bucket
conf=$tmp/smd.conf
if [ "$backend" = aws ]; then
	[ -n "${AWS_ENDPOINT_URL:-}" ] || tap_skip_all "run by with_moto.sh (no AWS_ENDPOINT_URL)"
	python3 -c 'import boto3' 2>/dev/null || tap_skip_all "python3 with boto3 not found"
	printf 'backend = aws\nstate_dir = %s/state\nbucket = %s\nqueues = stats_q1, stats_missing\n' \
		"$tmp" "$bucket" > "$conf"
	python3 - <<'EOF'
import os, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
url = sqs.create_queue(QueueName="stats_q1")["QueueUrl"]
for i in range(3):
    sqs.send_message(QueueUrl=url, MessageBody='{"n": %d}' % i)
EOF
	python3 "$fixture" put s3 - "$bucket" "$day" > "$tmp/n" || tap_skip_all "cannot fill the bucket"
else
	printf 'backend = local\nstate_dir = %s/state\nbucket = %s\nqueues = stats_q1, stats_missing\n' \
		"$tmp" "$bucket" > "$conf"
	printf 'machines_dir = %s/machines\nspider_program = %s\nspiders_dir = %s\npoll_wait = 1s\n' \
		"$SM_SOURCE_DIR" "$spider" "$tmp" >> "$conf"
	mkdir -p "$tmp/state"
	# the records' machine version: this task.scxml, so replay --remote can run them
	export FIXTURE_MACHINE=$(sha256sum "$SM_SOURCE_DIR/machines/task.scxml" | cut -d' ' -f1)
	# three messages in stats_q1, through smctl submit (the local queues)
	for i in 1 2 3; do
		"$smctl" -c "$conf" submit --queue stats_q1 \
			"{\"task_id\": $i, \"server_name\": \"s\", \"site\": \"walmart\", \"searchterms_str\": \"x\"}" \
			>/dev/null 2>"$tmp/submit.err" || { cat "$tmp/submit.err" >&2; }
	done
	python3 "$fixture" put local "$tmp/state/objects" "$bucket" "$day" > "$tmp/n"
fi

# ---- usage ------------------------------------------------------------------
t "stats --help" 0 "$smctl" stats --help
has "says what each figure counts" "$tmp/out" 'a task id run twice is one'
t "a bad --date is a usage error" 2 "$smctl" -c "$conf" stats --date 2026-13-01
t "a bad --days is a usage error" 2 "$smctl" -c "$conf" stats --days 0
t "an argument is a usage error" 2 "$smctl" -c "$conf" stats extra

# ---- the figures of one day -------------------------------------------------
t "stats --json of $day: hostile records make it exit 1" 1 \
	"$smctl" -c "$conf" stats --date "$day" --json
cp "$tmp/out" "$tmp/day.json"
cp "$tmp/err" "$tmp/day.err"
json "the day and the window" "$tmp/day.json" "j['date'] == '$day' and j['days'] == 1"
json "received: 5 tasks (104's two runs are one task)" "$tmp/day.json" "j['received'] == 5"
json "finished 4, failed 1 (the last run decides)" "$tmp/day.json" "j['finished'] == 4 and j['failed'] == 1"
json "runs 6, retries 1" "$tmp/day.json" "j['runs'] == 6 and j['retries'] == 1"
json "cache: 1 hit of 4 lookups (skipped is no lookup)" "$tmp/day.json" \
	"j['cache_hits'] == 1 and j['cache_lookups'] == 4 and abs(j['hit_rate'] - 0.25) < 1e-9"
json "per site" "$tmp/day.json" \
	"j['per_site'] == {'walmart': dict(received=2, finished=2, failed=0, cache_hits=1, retries=0), 'amazon': dict(received=2, finished=1, failed=1, cache_hits=0, retries=1), '(none)': dict(received=1, finished=1, failed=0, cache_hits=0, retries=0)}"
json "per server" "$tmp/day.json" \
	"j['per_server'] == {'s1': dict(received=3, finished=3, failed=0, cache_hits=1, retries=0), 's2': dict(received=2, finished=1, failed=1, cache_hits=0, retries=1)}"
json "per hour: 2 at 01, 1 at 02, 1 at 03, 1 at 23" "$tmp/day.json" \
	"j['per_hour'] == [0, 2, 1, 1] + [0] * 19 + [1]"
json "durations (nearest rank over 6 runs)" "$tmp/day.json" \
	"j['duration_ms'] == {'p50': 1000, 'p90': 4000, 'p99': 4000, 'max': 4000, 'runs': 6}"
json "instances: 1 alive of 2 heartbeats, 2 started, 1 task running" "$tmp/day.json" \
	"j['instances_alive'] == 1 and j['heartbeats'] == 2 and j['instances_started'] == 2 and j['running'] == 1 and j['alive'] == ['i-0aaaaaaaaaaaaaaaa-20260101']"
json "queue depths: 3 in stats_q1, the missing queue named with why" "$tmp/day.json" \
	"j['queues'] == {'stats_q1': 3, 'stats_missing': None} and 'does not exist' in j['queue_errors']['stats_missing']"
json "8 refused: 7 hostile records and a broken heartbeat" "$tmp/day.json" "len(j['refused']) == 8"
json "each hostile record once" "$tmp/day.json" \
	"sorted(int(r['key'].split('--')[1].split('____')[0]) for r in j['refused'] if r['key'].endswith('.zip')) == list(range(901, 908))"
json "requests counted" "$tmp/day.json" "j['requests'] > 0"
has "not a zip: said so" "$tmp/day.err" -- '--901____.*not counted: .*(zip|archive)'
has "an oversized member: said so" "$tmp/day.err" -- '--902____.*not counted: .*(too large|over|bytes)'
has "another format: said so" "$tmp/day.err" -- '--903____.*not counted: .*something-else'
has "version 2: said so" "$tmp/day.err" -- '--904____.*not counted: .*(version|newer)'
has "no task_id: named" "$tmp/day.err" -- '--905____.*not counted: .*task_id'
has "a duration of the wrong type: named" "$tmp/day.err" -- '--906____.*not counted: .*duration_ms'
has "not JSON: said so" "$tmp/day.err" -- '--907____.*not counted: .*JSON'
has "the broken heartbeat: said so" "$tmp/day.err" 'broken.json not counted'
check "one line per refusal" "$(grep -c 'not counted' "$tmp/day.err")" = 8

t "stats (text)" 1 "$smctl" -c "$conf" stats --date "$day"
has "received line" "$tmp/out" '^  received +5$'
has "the hit rate" "$tmp/out" 'served from cache +1 of 4 looked up \(hit rate 25.0%\)'
has "a site row" "$tmp/out" '^  amazon +2 +1 +1 +0 +1$'
has "the refusals are counted" "$tmp/out" '^8 record\(s\) refused'

t "stats --days 2 counts the day before too" 1 "$smctl" -c "$conf" stats --date "$day" --days 2 --json
json "7 tasks, 3 started, from $prev" "$tmp/out" \
	"j['received'] == 7 and j['failed'] == 2 and j['instances_started'] == 3 and j['from'] == '$prev' and j['cache_hits'] == 2"
t "stats of the day before alone: the broken heartbeat only, exit 1" 1 "$smctl" -c "$conf" stats --date "$prev" --json
json "two tasks (one a message without task_id or server), per_hour of that day" "$tmp/out" \
	"j['received'] == 2 and j['failed'] == 1 and j['per_server']['(none)']['failed'] == 1 and j['per_hour'][12] == 1 and j['per_hour'][13] == 1 and [r['key'] for r in j['refused']] == ['smd/instances/broken.json']"

# ---- the bucket cannot be read ----------------------------------------------
if [ "$backend" = aws ]; then
	AWS_MAX_ATTEMPTS=1 t "an unreachable endpoint: exit 1" 1 env AWS_ENDPOINT_URL=http://127.0.0.1:1 \
		"$smctl" -c "$conf" stats --date "$day"
	has "said plainly" "$tmp/err" 'reach|connect|network'
	t "no such bucket: exit 1" 1 "$smctl" -c "$conf" stats -o bucket=no-such-bucket-here
	has "said plainly" "$tmp/err" "no-such-bucket-here"
	t "no credentials: exit 1" 1 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent \
		"$smctl" -c "$conf" stats
	has "said plainly" "$tmp/err" 'credentials'
else
	t "no state directory: exit 1" 1 "$smctl" -c "$conf" stats -o state_dir="$tmp/nowhere"
	has "said plainly" "$tmp/err" 'nowhere'
fi

# ---- inspect --remote --------------------------------------------------------
t "inspect 104 --remote --json: both runs" 0 "$smctl" -c "$conf" inspect --remote --json 104
json "two runs, oldest first, from the bucket" "$tmp/out" \
	"len(j['runs']) == 2 and [r['state'] for r in j['runs']] == ['failed', 'reported'] and all(r['source'] == 'bucket' and r['record_key'].endswith('.state.json.zip') for r in j['runs'])"
json "the top is the newest run" "$tmp/out" "j['state'] == 'reported' and j['task_id'] == 104"
t "inspect 104 --remote (text)" 0 "$smctl" -c "$conf" inspect --remote 104
has "run headers name the record" "$tmp/out" '^== run 2 of 2, from the bucket: .*--104____.*\.state\.json\.zip$'
has "the printer of the local inspect" "$tmp/out" '^state +failed \(final\)$'
has "its reason" "$tmp/out" '^reason +upload failed$'
t "inspect 103 --remote: the spider log's tail from its .log.zip" 0 "$smctl" -c "$conf" inspect --remote -l 3 103
has "its last lines" "$tmp/out" 'log line 30'
check "only the last 3" "$(grep -c 'log line' "$tmp/out")" = 2
has "a terminal escape in the log is shown as text" "$tmp/out" 'Traceback: \\x1b\[31mspider died'
t "inspect 103 --remote --json: the log's lines" 0 "$smctl" -c "$conf" inspect --remote --json -l 5 103
json "logs[0]: its key and 5 lines" "$tmp/out" \
	"j['logs'][0]['key'].endswith('--103____water____amazon.log.zip') and len(j['logs'][0]['lines']) == 5 and j['logs'][0]['lines'][0] == 'log line 27'"
t "inspect 104 --remote --json: a log that is not there" 0 "$smctl" -c "$conf" inspect --remote --json 104
json "says why, the run still shown" "$tmp/out" \
	"all('error' in l and 'lines' not in l for r in j['runs'] for l in r['logs']) and len(j['runs'][0]['logs']) == 1"
t "inspect --remote --server s1 104: none from s1" 1 "$smctl" -c "$conf" inspect --remote --server s1 104
has "says so" "$tmp/err" 'no record of task 104 from server s1'
t "inspect --remote of an unknown task" 1 "$smctl" -c "$conf" inspect --remote 4242
has "says where it looked" "$tmp/err" 'no record of task 4242 in the bucket in the last 7 day'
t "inspect --remote of a hostile record: named, exit 1" 1 "$smctl" -c "$conf" inspect --remote 904
has "why" "$tmp/err" 'record .*--904____.* cannot be read: .*(version|newer)'
t "inspect --remote of an instance id is a usage error" 2 "$smctl" -c "$conf" inspect --remote task-1
if [ "$backend" = local ]; then
	# the state directory has no task 101: inspect looks in the bucket by itself
	t "inspect 101 with no such task here falls back to the bucket" 0 \
		"$smctl" -c "$conf" inspect --json 101
	has "and says so on stderr" "$tmp/err" "no task 101 in '.*': looking for its records in the bucket"
	json "the record's run" "$tmp/out" "j['source'] == 'bucket' and j['state'] == 'reported'"

	# ---- replay --remote ---------------------------------------------------------
	t "replay --help names --remote" 0 "$smctl" replay --help
	has "and says it runs from the start" "$tmp/out" "from the start \\(spider included\\)"
	t "replay 102 (not here): taken from the bucket, run here to its end" 0 \
		"$smctl" -c "$conf" replay 102
	has "says where it took it from" "$tmp/err" "no run of task 102 in '.*': taking it from its record in the bucket"
	has "names the record" "$tmp/err" "task 102 from the record .*--102____.*\\.state\\.json\\.zip"
	check "reported" "$(last)" = reported
	t "inspect 102 now shows the local run" 0 "$smctl" -c "$conf" inspect --json 102
	json "a local run seeded from the record, from the start" "$tmp/out" \
		"'source' not in j and j['state'] == 'reported' and j['instance']['task']['replay']['from'] == 'received' and j['instance']['task']['replay']['of'].endswith('--102____water____walmart.state.json.zip') and json.loads(j['message'])['task_id'] == 102"
	FIXTURE_MACHINE=$(printf '%064d' 7) python3 "$fixture" put local "$tmp/state/objects" "$bucket" "$day" >/dev/null
	t "replay --remote of a machine version not here: refused" 1 "$smctl" -c "$conf" replay --remote 103
	has "says so and what to do" "$tmp/err" "machine version is not on this instance"
	t "replay --remote of an unknown task" 1 "$smctl" -c "$conf" replay --remote 4242
	has "says where it looked" "$tmp/err" "no record of task 4242 in the bucket in the last 7 day"
fi
tap_done
