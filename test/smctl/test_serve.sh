#!/usr/bin/env bash
# test_serve.sh SMCTL local|aws SMD SPIDER - TAP tests of `smctl serve` in
# a real browser: a bucket filled by real smd runs with the test spider (a
# task that finishes, 7301, one that fails, 7302) and as smd instances
# leave it (serve_fill.py: two heartbeats, a reported task 4242, a failed
# task 4243 whose reason and host name hold a <script>), `smctl serve` on
# a free loopback port, and
# headless Chromium loading each page (--dump-dom: the DOM after the page
# ran, so an injected script would have changed document.title).
#   local: the local backend (objects under the state directory);
#   aws:   run by with_moto.sh, moto with signing enforced.
# Also: without a token serve refuses a non-loopback address, and with one
# a request without it gets 401; a silent bucket (a listener that accepts
# and never answers) gives an error page within --timeout.
set -u
smctl=$1
mode=$2
smd=$3
spider=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_serve.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"
command -v chromium >/dev/null 2>&1 || tap_skip_all "chromium not found (apt-get install chromium)"
command -v curl >/dev/null 2>&1 || tap_skip_all "curl not found"
if [ "$mode" = aws ]; then
	[ -n "${AWS_ENDPOINT_URL:-}" ] || tap_skip_all "run by with_moto.sh (no AWS_ENDPOINT_URL)"
	python3 -c 'import boto3' 2>/dev/null || tap_skip_all "python3 with boto3 not found"
fi
for v in $(env | sed -n 's/^\(SMD_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset SMCTL_SERVE_TOKEN
fill=$SM_SOURCE_DIR/test/smctl/serve_fill.py
machines=$SM_SOURCE_DIR/machines
bucket=serve-test-bucket
mkdir -p "$tmp/state"
conf=(-o backend="$mode" -o bucket=$bucket -d "$tmp/state" -o machines_dir="$machines")
if [ "$mode" = aws ]; then
	python3 -c 'import boto3, os; boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket="'$bucket'")'
fi

# real runs: smd with the test spider, one task reported and one failed
cat > "$tmp/smd.conf" <<EOF
backend = $mode
bucket = $bucket
state_dir = $tmp/state
machines_dir = $machines
spider_program = $spider
spiders_dir = $tmp
poll_wait = 1s
progress_interval = 1s
EOF
task() { # task ID TERM CMD_ARGS
	echo "{\"task_id\": $1, \"server_name\": \"uiserver\", \"site\": \"walmart\", \"searchterms_str\": \"$2\", \"cmd_args\": $3}"
}
t "submit a task that finishes" 0 "$smctl" -c "$tmp/smd.conf" submit "$(task 7301 'water bottle' '{"fake_items": 3}')"
t "submit a task that fails" 0 "$smctl" -c "$tmp/smd.conf" submit "$(task 7302 'broken spider' '{"fake_mode": "fail"}')"
timeout 200 "$smd" -c "$tmp/smd.conf" --exit-when-idle -q > "$tmp/smd.out" 2>&1
check "smd ran them and stopped ($(tail -2 "$tmp/smd.out" | tr '\n' ' '))" $? -eq 0

if [ "$mode" = local ]; then
	python3 "$fill" local "$tmp/state/objects/$bucket" "$machines/task.scxml" > "$tmp/ids"
else
	python3 "$fill" aws $bucket "$machines/task.scxml" > "$tmp/ids"
fi
check "the bucket is filled" -s "$tmp/ids"

# serve NAME ARGS...: start `smctl serve` in the background; $url is its
# address once it printed it (empty if it did not within 10 s)
serve() {
	local name=$1
	shift
	"$smctl" serve "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
	pids+=($!)
	url=
	for _ in $(seq 100); do
		url=$(sed -n 's/^listening on //p' "$tmp/$name.out")
		[ -n "$url" ] && break
		sleep 0.1
	done
}

# page NAME PATH: the DOM of PATH after Chromium loaded it, in $tmp/NAME.html
page() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$tmp/chrome" --dump-dom "$url$2" > "$tmp/$1.html" 2> "$tmp/chrome.err"
}

serve main --listen 127.0.0.1:0 "${conf[@]}"
check "serve listens on a free loopback port" -n "$url"

page home ""
has "home: the alive instance is shown" "$tmp/home.html" '<td>a{24}live</td><td class="alive">alive'
has "home: the gone one as gone" "$tmp/home.html" '<td>g{24}gone</td><td class="dead">gone'
has "home: counted" "$tmp/home.html" '2 instances, 1 alive'
has "home: the host name holding a script is shown as text" "$tmp/home.html" \
	"&lt;script&gt;document.title='pwned'&lt;/script&gt;"
has "home: and the script did not run (the title is the page's)" "$tmp/home.html" \
	'<title>overview - smd</title>'
check "home: no script element in the page" "$(grep -c '<script' "$tmp/home.html")" = 0
has "home: today's stats: 4 received (2 by smd, 2 put)" "$tmp/home.html" 'id="received"><b>4</b>'
has "home: 2 failed" "$tmp/home.html" 'id="failed"><b>2</b>'
check "home: 24 bars in the chart" "$(grep -o 'class="bar"' "$tmp/home.html" | wc -l)" = 24
check "home: the bars count the 4 tasks" \
	"$(grep -o 'data-count="[0-9]*"' "$tmp/home.html" | tr -dc '0-9\n' | awk '{s += $1} END {print s}')" = 4
hour=$(date -u +%-H)
has "home: this hour has some" "$tmp/home.html" "data-hour=\"$hour\" data-count=\"[1-9]"

page task "task/4242"
has "task page: the task's run" "$tmp/task.html" '<th>state</th><td>reported</td>'
has "task page: its history" "$tmp/task.html" '16 records'
has "task page: a step of it" "$tmp/task.html" '<td>cache_lookup</td><td>spawned</td>'
has "task page: the machine drawn as SVG" "$tmp/task.html" '<div class="machine" id="machine"><svg'
has "task page: with its states" "$tmp/task.html" '<title>cache_lookup</title>'
# the states the run went through are filled, the others are not
filled=$(python3 - "$tmp/task.html" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
svg = html[html.index('<div class="machine"'):]
names = []
for m in re.finditer(r'<g id="node\d+" class="node[^"]*">\s*<title>([^<]*)</title>(.*?)</g>', svg, re.S):
    if '#ffd866' in m.group(2):
        names.append(m.group(1))
for m in re.finditer(r'<g id="clust\d+" class="cluster[^"]*">\s*<title>cluster_([^<]*)</title>(.*?)</g>', svg, re.S):
    if '#d08000' in m.group(2):
        names.append(m.group(1))
print(" ".join(sorted(names)))
EOF
)
check "task page: the visited states are filled (compound ones framed), no other ($filled)" \
	"$filled" = "announcing cache_lookup caching checkout crawling deleting finishing packing progressing received reported reporting spawned starting storing uploading"

page real "task/7301"
has "task page of smd's own run: reported" "$tmp/real.html" '<th>state</th><td>reported</td>'
has "its history, from smd's record" "$tmp/real.html" '<td>life, received</td><td>life, cache_lookup</td>'
has "its machine (found at the run's own path) drawn" "$tmp/real.html" '<div class="machine" id="machine"><svg'
check "with states filled" "$(grep -c '#ffd866' "$tmp/real.html")" -gt 3
page real_failed "task/7302"
has "the failed run of smd: failed" "$tmp/real_failed.html" '<th>state</th><td>failed</td>'

page failed "failed"
has "failed: smd's failed task too" "$tmp/failed.html" '<a href="/task/7302">7302</a>'
has "failed: the failed task" "$tmp/failed.html" '<a href="/task/4243">4243</a>'
has "failed: its reason, a script, as text" "$tmp/failed.html" \
	"<td>&lt;script&gt;document.title='pwned'&lt;/script&gt;</td>"
has "failed: not run" "$tmp/failed.html" '<title>failed tasks - smd</title>'
check "failed: no script element" "$(grep -c '<script' "$tmp/failed.html")" = 0

page search "search?q=4242"
has "search: finds the task" "$tmp/search.html" '1 task for'
has "search: linked to its page" "$tmp/search.html" '<a href="/task/4242">4242</a>'
page evil "search?q=%3Cscript%3Edocument.title%3D%27pwned%27%3C%2Fscript%3E"
has "search: a script as the search text is shown as text" "$tmp/evil.html" \
	"for “&lt;script&gt;document.title='pwned'&lt;/script&gt;”"
has "search: and did not run" "$tmp/evil.html" '<title>search - smd</title>'
check "search: no script element" "$(grep -c '<script' "$tmp/evil.html")" = 0

page stats "stats?date=$(date -u +%Y-%m-%d)"
has "stats of today: 4 received" "$tmp/stats.html" 'id="received"><b>4</b>'
page stats_bad "stats?date=%3Cb%3E"
has "stats: a bad date gets an error page" "$tmp/stats_bad.html" 'the date is YYYY-MM-DD'

t "stats: a day that does not exist" 0 curl -s -o /dev/null -w '%{http_code}' "${url}stats?date=2026-02-31"
check "(400, not moved on to March)" "$(cat "$tmp/out")" = 400
t "a task id over 64 bits" 0 curl -s -o /dev/null -w '%{http_code}' "${url}task/9223372036854775808"
check "(404, not read as the largest one)" "$(cat "$tmp/out")" = 404
t "another site's name as Host (DNS rebinding)" 0 curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example:8350' "$url"
check "(403 without a token)" "$(cat "$tmp/out")" = 403
t "a name under 127.0.0.1 as Host" 0 curl -s -o /dev/null -w '%{http_code}' -H 'Host: 127.0.0.1.evil.example' "$url"
check "(403)" "$(cat "$tmp/out")" = 403
t "localhost as Host" 0 curl -s -o /dev/null -w '%{http_code}' -H 'Host: localhost:8350' "${url}failed"
check "(200)" "$(cat "$tmp/out")" = 200
t "a page that does not exist: 404" 0 curl -s -o /dev/null -w '%{http_code}' "${url}nope/../../etc/passwd"
check "(404)" "$(cat "$tmp/out")" = 404
t "a POST: 405" 0 curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$url"
check "(405)" "$(cat "$tmp/out")" = 405

# ---- a slow client (slowloris): 16 connections per client address -------
hostport=${url#http://}; hostport=${hostport%/}
python3 - "${hostport%:*}" "${hostport##*:}" "$tmp/held" <<'EOF' &
import socket, sys, time
conns = []
for _ in range(16):   # idle, a request line begun and never finished
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
    c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    conns.append(c)
open(sys.argv[3], "w").write("16")
time.sleep(120)
EOF
held=$!
pids+=("$held")
for _ in $(seq 100); do [ -s "$tmp/held" ] && break; sleep 0.1; done
check "16 half-sent requests held open" -s "$tmp/held"
curl -s -m 5 -o /dev/null -w '%{http_code}' "$url" > "$tmp/out" 2>/dev/null
check "the 17th connection from that client gets no page (closed, not queued)" "$(cat "$tmp/out")" = 000
kill "$held" 2>/dev/null; wait "$held" 2>/dev/null
ok=
for _ in $(seq 50); do
	curl -s -m 5 -o /dev/null -w '%{http_code}' "$url" > "$tmp/out" 2>/dev/null
	[ "$(cat "$tmp/out")" = 200 ] && { ok=1; break; }
	sleep 0.1
done
check "once they close, the client is served again" -n "$ok"

# ---- beyond loopback: a token --------------------------------------------
t "0.0.0.0 without a token: refused" 2 "$smctl" serve --listen 0.0.0.0:0 "${conf[@]}"
has "and says what to give" "$tmp/err" 'needs a token: give --token-file FILE or set SMCTL_SERVE_TOKEN'
printf 'sekrit-token-1\n' > "$tmp/token"
serve tok --listen 0.0.0.0:0 --token-file "$tmp/token" "${conf[@]}"
check "0.0.0.0 with a token file: listens" -n "$url"
# connect through loopback: the address served is what needs the token
url=${url/0.0.0.0/127.0.0.1}
t "no token: 401" 0 curl -s -o /dev/null -w '%{http_code}' "$url"
check "(401)" "$(cat "$tmp/out")" = 401
t "a wrong token: 401" 0 curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sekrit-token-2' "${url}failed"
check "(401)" "$(cat "$tmp/out")" = 401
t "?token=TOKEN%00junk: 401 (no comparison stops at a NUL)" 0 curl -s -o /dev/null -w '%{http_code}' "${url}failed?token=sekrit-token-1%00junk"
check "(401)" "$(cat "$tmp/out")" = 401
t "?token= with the token's prefix only: 401" 0 curl -s -o /dev/null -w '%{http_code}' "${url}failed?token=sekrit-token-"
check "(401)" "$(cat "$tmp/out")" = 401
t "Authorization: Bearer TOKEN: 200" 0 curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sekrit-token-1' "$url"
check "(200)" "$(cat "$tmp/out")" = 200
t "?token=TOKEN sets a cookie" 0 curl -s -D - -o /dev/null "${url}failed?token=sekrit-token-1"
has "(the cookie)" "$tmp/out" '^Set-Cookie: smctl_token=sekrit-token-1; Path=/; HttpOnly; SameSite=Strict'
t "the cookie lets a request in" 0 curl -s -o /dev/null -w '%{http_code}' -b smctl_token=sekrit-token-1 "${url}search"
check "(200)" "$(cat "$tmp/out")" = 200
page tokpage "failed?token=sekrit-token-1"
has "the browser with ?token= gets the page" "$tmp/tokpage.html" '<a href="/task/4243">4243</a>'
page notok "failed"
has "the browser without it does not" "$tmp/notok.html" 'wants its token'

# ---- a silent bucket: an error page, not a hang -------------------------
python3 - "$tmp/silent.port" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept()   # accepted, never answered
    conns.append(c)
EOF
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/silent.port" ] && break; sleep 0.1; done
AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$tmp/silent.port") AWS_ACCESS_KEY_ID=AKIDTEST \
	AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1 \
	serve slow --listen 127.0.0.1:0 --timeout 3s -o backend=aws -o bucket=$bucket \
	-d "$tmp/state" -o machines_dir="$machines"
check "serve over a silent bucket listens" -n "$url"
start=$(date +%s)
t "a page over the silent bucket answers" 0 curl -s -m 60 -o "$tmp/slow.html" -w '%{http_code}' "$url"
took=$(($(date +%s) - start))
check "with 504 ($(cat "$tmp/out"))" "$(cat "$tmp/out")" = 504
check "within the time limit and a margin ($took s)" "$took" -le 12
has "an error page that says why" "$tmp/slow.html" 'class="error"'
page slow_task "task/4242"
has "the task page too, in the browser" "$tmp/slow_task.html" 'class="error"'

tap_done
