#!/usr/bin/env bash
# test_fleet_hostile.sh SMCTL local|aws - TAP tests of the fleet readers over
# a bucket of broken and hostile objects (hostile_fixture.py: zip bombs and
# lying zips, hostile JSON, wrong types, terminal escapes, 10,000 heartbeats,
# a heartbeat of 100,000 tasks, clocks in year 9999): `smctl stats`,
# `failed`, `search`, `instances`, `inspect --remote` and `results` answer
# with a clear error per object, within bounded memory and time, never a
# crash, and write no raw control character to the terminal.
# aws: run by with_moto.sh (the bucket filled with boto3; 1,000 heartbeats).
set -u
smctl=$1
backend=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_fleet_hostile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
command -v python3 >/dev/null || tap_skip_all "python3 not found"
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
fixture=$SM_SOURCE_DIR/test/fleet/hostile_fixture.py
day=$(date -u +%Y-%m-%d)
bucket=hostile-bucket
conf=$tmp/smd.conf
printf 'backend = %s\nstate_dir = %s/state\nbucket = %s\nqueues = hostile_q\n' \
	"$backend" "$tmp" "$bucket" > "$conf"
mkdir -p "$tmp/state"
if [ "$backend" = aws ]; then
	[ -n "${AWS_ENDPOINT_URL:-}" ] || tap_skip_all "run by with_moto.sh (no AWS_ENDPOINT_URL)"
	python3 -c 'import boto3' 2>/dev/null || tap_skip_all "python3 with boto3 not found"
	heartbeats=1000
	python3 "$fixture" put s3 - "$bucket" "$day" "$heartbeats" > "$tmp/n" ||
		tap_skip_all "cannot fill the bucket"
else
	heartbeats=10000
	python3 "$fixture" put local "$tmp/state/objects" "$bucket" "$day" "$heartbeats" > "$tmp/n"
fi
echo "# $(cat "$tmp/n") objects in the bucket"

# tm DESC WANT_RC MAX_MB MAX_S CMD...: CMD's exit status, and its peak RSS and
# time within bounds (stdout in $tmp/out, stderr in $tmp/err)
tm() {
	local desc=$1 want=$2 mb=$3 secs=$4
	shift 4
	python3 - "$tmp" "$@" <<'EOF'
import resource, subprocess, sys, time
tmp = sys.argv[1]
t = time.time()
with open(tmp + "/out", "wb") as o, open(tmp + "/err", "wb") as e:
    rc = subprocess.call(sys.argv[2:], stdout=o, stderr=e, stdin=subprocess.DEVNULL)
with open(tmp + "/measure", "w") as m:
    m.write("%d %d %.2f\n" % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
                              time.time() - t))
EOF
	read -r rc rss secs_taken < "$tmp/measure"
	n=$((n + 1))
	if [ "$rc" = "$want" ]; then echo "ok $n - $desc"; else
		echo "not ok $n - $desc (rc $rc, want $want)"; sed 's/^/# /' "$tmp/err" | tail -5
		failed=$((failed + 1)); fi
	check "  within $mb MB ($rss MB)" "$rss" -le "$mb"
	check "  within $secs s ($secs_taken s)" "${secs_taken%.*}" -lt "$secs"
}
# clean DESC FILE...: no control character but newline (and tab) in FILE, C1
# (U+0080-U+009F) included: nothing from the bucket drives the terminal.
# CLEAN=c0: C0 controls only (JSON escapes those; DEL and C1 are text to it)
clean() {
	local desc=$1
	shift
	n=$((n + 1))
	if python3 - "$@" <<'EOF'; then echo "ok $n - $desc"; else
import os, re, sys
bad = re.compile(rb"[\x00-\x08\x0b-\x1f]" if os.environ.get("CLEAN") == "c0" else
                 rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
for f in sys.argv[1:]:
    for i, line in enumerate(open(f, "rb"), 1):
        m = bad.search(line)
        if m:
            print("# %s:%d: %r" % (f, i, line[max(0, m.start() - 30):m.end() + 10]))
            sys.exit(1)
EOF
		echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
# the key's task id in a refusal line
ids() { grep -o -- "$1" "$tmp/err" | sed 's/.*--\([0-9]*\)____.*/\1/' | sort -u | tr '\n' ' '; }

# ---- stats: every record read or refused, memory bounded -----------------------
# a member that inflated whole would take 1 GiB: the limit (4 MiB) stops it
tm "stats --json over the hostile bucket: exit 1 (refusals)" 1 512 120 \
	"$smctl" -c "$conf" stats --date "$day" --json
cp "$tmp/out" "$tmp/stats.json"
cp "$tmp/err" "$tmp/stats.err"
CLEAN=c0 clean "stats --json: no C0 control character (JSON escapes them)" "$tmp/stats.json"
clean "stats --json: stderr holds no control character" "$tmp/stats.err"
has "910, a member of 1 GiB: over the limit" "$tmp/stats.err" -- '--910____.*not counted: .*over 4194304 bytes'
has "911, a member of 1 GiB whose headers say 100 bytes: over the limit" "$tmp/stats.err" \
	-- '--911____.*not counted: .*over 4194304 bytes'
has "913, two members" "$tmp/stats.err" -- '--913____.*not counted: .*2 members'
has "916, an encrypted member" "$tmp/stats.err" -- '--916____.*not counted: .*(password|encrypt)'
has "917, a truncated zip" "$tmp/stats.err" -- '--917____.*not counted: .*zip'
has "920, an unknown compression method" "$tmp/stats.err" -- '--920____.*not counted: .*(zip|compression)'
check "912, 914, 915, 918 (zip64), 919: read (the member's name and size fields are not trusted)" \
	"$(grep -c -- '--91[24589]____.*not counted' "$tmp/stats.err")" = 0
has "930, 100,000 '[': too deep" "$tmp/stats.err" -- '--930____.*not counted: .*depth'
has "931, a record nesting 100,000 deep: too deep" "$tmp/stats.err" -- '--931____.*not counted: .*depth'
has "932, NaN" "$tmp/stats.err" -- '--932____.*not counted: .*not JSON'
has "933, Infinity" "$tmp/stats.err" -- '--933____.*not counted: .*not JSON'
has "934, 1e999" "$tmp/stats.err" -- '--934____.*not counted: .*overflow'
has "935, a task_id of 40 digits" "$tmp/stats.err" -- '--935____.*not counted: .*too big integer'
has "937, a negative duration: named" "$tmp/stats.err" -- '--937____.*not counted: .*duration_ms'
has "939, \\u0000 in strings" "$tmp/stats.err" -- '--939____.*not counted: .*(NUL|u0000)'
has "940, invalid UTF-8" "$tmp/stats.err" -- '--940____.*not counted: .*(decode|UTF)'
has "942, a reason of 10 MB: over the limit" "$tmp/stats.err" -- '--942____.*not counted: .*over 4194304 bytes'
has "943, duplicate keys" "$tmp/stats.err" -- '--943____.*not counted: .*duplicate'
check "936 (times INT64_MAX), 938 (year 9999), 941 (escapes), 944 (3 MB reason): counted" \
	"$(ids '--9\(36\|38\|41\|44\)____.*not counted')" = ""
json "every record once: counted or refused" "$tmp/stats.json" \
	"j['runs'] + sum(1 for r in j['refused'] if r['key'].endswith('.zip')) == $(python3 "$fixture" count "$day")"
json "the wrong types: each refused or counted, none twice" "$tmp/stats.json" \
	"len(set(r['key'] for r in j['refused'])) == len(j['refused'])"
json "an escape in a site is data in JSON, kept as it is" "$tmp/stats.json" \
	"any(k.startswith('site\x1b') for k in j['per_site'])"
json "heartbeats alive: the $heartbeats good ones and the hostile ones read, not year 9999 nor INT64_MAX" \
	"$tmp/stats.json" "len([a for a in j['alive'] if a.startswith('i-')]) == $heartbeats and sorted(a for a in j['alive'] if not a.startswith('i-') and not a.startswith('hostile-esc')) == ['hostile-task-types', 'hostile-tasks-many'] and any(a.startswith('hostile-esc') for a in j['alive'])"
json "heartbeats refused: over 1 MiB, not JSON (deep, NaN, a 40-digit pid, not UTF-8, duplicate keys), wrong types" \
	"$tmp/stats.json" "sorted(r['key'][14:-5] for r in j['refused'] if r['key'].startswith('smd/instances/')) == sorted(['hostile-tasks-big', 'hostile-deep', 'hostile-nan', 'hostile-huge-int', 'hostile-utf8', 'hostile-dup', 'hostile-instance-int', 'hostile-interval', 'hostile-negative', 'hostile-types'])"
tm "stats (text)" 1 512 120 "$smctl" -c "$conf" stats --date "$day"
clean "stats (text): no control character" "$tmp/out" "$tmp/err"
has "the escape shown as text" "$tmp/out" 'site\\x1b\]0;pwned'

# ---- instances ---------------------------------------------------------------------
tm "instances --all --json: $heartbeats heartbeats and the hostile ones" 0 512 120 \
	"$smctl" -c "$conf" instances --all --json
json "every good heartbeat, alive" "$tmp/out" \
	"sum(1 for i in j['instances'] if i['instance'].startswith('i-') and i['alive']) == $heartbeats"
json "last_seen_ms INT64_MAX and in year 9999: not alive" "$tmp/out" \
	"[i['alive'] for i in j['instances'] if i['instance'] in ('hostile-future', 'hostile-year-9999')] == [False, False]"
json "interval_ms INT64_MAX: not alive" "$tmp/out" \
	"[i['alive'] for i in j['instances'] if i['instance'] == 'hostile-interval'] == [False]"
json "100,000 tasks under 1 MiB: listed" "$tmp/out" \
	"[len(i['tasks']) for i in j['instances'] if i['instance'] == 'hostile-tasks-many'] == [100000]"
json "over 1 MiB, not JSON, an instance that is not a string: skipped" "$tmp/out" \
	"not [i for i in j['instances'] if i['instance'] in ('hostile-tasks-big', 'hostile-deep', 'hostile-nan', 12345)]"
json "duplicate keys: skipped as stats refuses them" "$tmp/out" \
	"not [i for i in j['instances'] if str(i['instance']).startswith('hostile-dup')]"
tm "instances --all (text)" 0 512 120 "$smctl" -c "$conf" instances --all
clean "instances (text): no control character" "$tmp/out" "$tmp/err"
has "the escapes shown as text" "$tmp/out" '^hostile-esc\\x1b\]0;pwned\\x07.* host host\\x1b'
has "C1 (CSI) shown as text" "$tmp/out" '^hostile-esc.*red\\u009b1m'
has "wrong types shown as '-'" "$tmp/out" '^hostile-types  alive  host - pid 0 smd - \(-\)'

# ---- failed, search ---------------------------------------------------------------------
tm "failed --json: every hostile record read once" 0 512 120 "$smctl" -c "$conf" failed --json
cp "$tmp/out" "$tmp/failed.json"
json "each task with a log and no data listed" "$tmp/failed.json" \
	"len(j['tasks']) == len(set(t['name'] for t in j['tasks'])) and {910, 930, 941, 945} <= set(t['task_id'] for t in j['tasks'])"
json "the unreadable ones say why" "$tmp/failed.json" \
	"[t['record_error'] for t in j['tasks'] if t['task_id'] == 910] == ['the zip member is over 4194304 bytes']"
json "the 3 MB reason read whole" "$tmp/failed.json" \
	"[len(t['reason']) for t in j['tasks'] if t['task_id'] == 944] == [3 << 20]"
tm "failed (text)" 0 512 120 "$smctl" -c "$conf" failed
clean "failed (text): no control character" "$tmp/out" "$tmp/err"
has "a reason with escapes shown as text" "$tmp/out" '^    reason: reason \\x1b\]0;pwned\\x07'
tm "search 94 (text)" 0 512 60 "$smctl" -c "$conf" search 94
clean "search (text): no control character" "$tmp/out" "$tmp/err"
has "finds the tasks" "$tmp/out" '^[0-9]+ tasks, [0-9]+ keys in 7 days'
if [ "$backend" = local ]; then
	# a file name that is not UTF-8 (smd never writes one): shown, not "out of memory"
	tm "search 950: a key that is not UTF-8" 0 512 60 "$smctl" -c "$conf" search --json 950
	json "found, its bad byte as U+FFFD" "$tmp/out" \
		"[t['site'] for t in j['tasks']] == ['bad\ufffd'] and j['tasks'][0]['keys'][0]['key'].endswith('bad\ufffd.log.zip')"
	tm "failed with that key in the bucket" 0 512 60 "$smctl" -c "$conf" failed --json
	json "lists it" "$tmp/out" "[t['site'] for t in j['tasks'] if t['task_id'] == 950] == ['bad\ufffd']"
fi

# ---- inspect --remote ----------------------------------------------------------------
# 945: a record per field of the run and every wrong type for it
tm "inspect --remote 945: the wrong types, each run printed or skipped" 1 512 120 \
	"$smctl" -c "$conf" inspect --remote 945
clean "inspect (text): no control character" "$tmp/out" "$tmp/err"
has "the runs that are records of 945 printed" "$tmp/out" '^== run [0-9]+ of [0-9]+, from the bucket: .*--945____wt'
has "the others named" "$tmp/err" 'wt[0-9_]+____hsite.state.json.zip is not a record of task 945'
tm "inspect --remote --json 945" 1 512 120 "$smctl" -c "$conf" inspect --remote --json 945
json "the runs, as they are" "$tmp/out" "len(j['runs']) > 300 and j['task_id'] == 945"
tm "inspect --remote 941: escapes everywhere, its log a 1 GiB zip bomb" 0 512 60 \
	"$smctl" -c "$conf" inspect --remote 941
clean "inspect 941: no control character" "$tmp/out" "$tmp/err"
has "the reason's escape shown as text" "$tmp/out" '^reason +reason\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31mred\\u009b1m'
has "the log bomb stopped at the limit, said so" "$tmp/out" 'the log is over 64 MiB'
tm "inspect --remote 910: its only record unreadable" 1 512 60 "$smctl" -c "$conf" inspect --remote 910
has "why" "$tmp/err" '--910____.*cannot be read: the zip member is over 4194304 bytes'
has "and not that there is none" "$tmp/err" 'no readable record of task 910 in the bucket: those found cannot be read'
for id in 936 938; do
	tm "inspect --remote $id: times INT64_MAX, 1 ms, year 9999" 0 512 60 \
		"$smctl" -c "$conf" inspect --remote "$id"
done

# ---- results: a member of 256 MiB goes to its file, not into memory --------------------
tm "results 946: its data a member of 256 MiB" 0 160 60 "$smctl" -c "$conf" results --server hs 946 "$tmp/res"
check "written whole" "$(stat -c %s "$tmp/res/$(python3 -c "import sys; sys.path.insert(0, '$SM_SOURCE_DIR/test/fleet'); import hostile_fixture as h; print(h.name_of('$day', 946))").jl")" = $((256 << 20))
rm -rf "$tmp/res"
# a record whose one member is named ../../../../tmp/... (914) or /tmp/... (915):
# written under OUTDIR by the key's name, never by the member's
rm -f /tmp/hostile-escape.state.json /tmp/hostile-abs.state.json
for id in 914 915; do
	tm "results $id: a member named outside" 0 512 60 "$smctl" -c "$conf" results --server hs "$id" "$tmp/res"
	has "  its record written under OUTDIR" "$tmp/out" "^$tmp/res/.*--${id}____t____hsite\.state\.json\$"
done
check "nothing written where the member names say" ! -e /tmp/hostile-escape.state.json -a ! -e /tmp/hostile-abs.state.json
rm -rf "$tmp/res"

# ---- serve: every page over the hostile bucket ---------------------------------------
if ! command -v curl >/dev/null; then
	tap_skip "curl not found: serve's pages"
	tap_done
	exit
fi
"$smctl" -c "$conf" serve --listen 127.0.0.1:0 --timeout 60s >"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
for _ in $(seq 100); do grep -q listening "$tmp/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$tmp/serve.out")
url=${url%/}
check "serve listens" -n "$url"
# page PATH WANT_CODE: the page answers WANT_CODE as HTML within 60 s, escaped
page() {
	local path=$1 want=$2 code
	code=$(curl -s -m 60 -o "$tmp/page.html" -w '%{http_code}' "$url$path")
	check "serve $path: $want (got $code)" "$code" = "$want"
	n=$((n + 1))
	# the fixture's markup: <script>, <img ...> and <b> before an escape
	if grep -q '^<!DOCTYPE html>' "$tmp/page.html" &&
		! grep -Eq $'<script|<img|<b>(\x1b|\xef\xbf\xbd)' "$tmp/page.html"; then
		echo "ok $n -   an HTML page, every value escaped"
	else
		echo "not ok $n -   an HTML page, every value escaped"; failed=$((failed + 1))
		grep -Eo $'.{0,40}(<script|<img|<b>(\x1b|\xef\xbf\xbd)).{0,40}' "$tmp/page.html" |
			head -3 | sed 's/^/# /'
	fi
	CLEAN=c0 clean "  no C0 control character" "$tmp/page.html"
}
fds() { ls "/proc/$spid/fd" 2>/dev/null | wc -l; }
round() {
	page / 200
	page /stats 200
	page "/stats?date=$day" 200
	page /failed 200
	page "/search?q=94" 200
	page "/search?q=%1b%5b2J" 200
	page /task/910 502
	page /task/913 502
	page /task/914 200
	page /task/936 200
	page /task/938 200
	page /task/941 200
	page /task/944 200
	page /task/945 200
	page /task/99999 404
	[ "$backend" = aws ] || page "/search?q=950" 200
}
round
grep -q 'the records of task 910 in the last 7 days cannot be read' "$tmp/page.html" ||
	curl -s "$url/task/910" > "$tmp/page.html"
has "/task/910: why there is no run" "$tmp/page.html" 'the records of task 910 in the last 7 days cannot be read'
curl -s "$url/task/941" > "$tmp/page.html"
has "/task/941: the script in the history is text" "$tmp/page.html" '&lt;script&gt;alert\(1\)&lt;/script&gt;'
curl -s "$url/" > "$tmp/page.html"
has "/: the $heartbeats instances and the hostile ones counted" "$tmp/page.html" \
	"id=\"instances-count\">$((heartbeats + 8)) instances"
fd1=$(fds)
round
round
fd2=$(fds)
check "no descriptor leaked over two more rounds ($fd1, then $fd2)" "$fd2" -le "$fd1"
hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$spid/status")
check "serve's peak memory within 800 MB ($hwm MB)" "$hwm" -le 800
kill -TERM "$spid"
wait "$spid"
check "serve stops cleanly on SIGTERM (exit $?)" "$?" = 0
sed 's/^/# serve: /' "$tmp/serve.err" | tail -5

tap_done
