#!/usr/bin/env bash
# demo.sh - set up, build, and run the main job on the embedded default:
# smd takes the three flows of the old system's flow test (a search term,
# a product url, a search term with with_best_seller_ranking) from its
# local queues, runs the bundled test spider for each, zips and uploads
# the results to the local bucket and reports; then `smctl inspect` shows
# one task and the bucket's keys are listed.  Everything lives in a
# temporary state directory (the local backend: queues in its LMDB store,
# objects as files under it); nothing leaves the machine.
#
#   scripts/demo.sh                     set up (Debian packages), build, run
#   SM_DEMO_NO_SETUP=1 scripts/demo.sh  neither set up nor build: use the
#                                       programs already built
#   SM_DEMO_BUILD_DIR=DIR               the build directory (default: build)
#   SM_DEMO_KEEP=1                      keep the state directory afterwards
#
# Packages are installed as root with apt-get directly, or through sudo
# for another user (scripts/setup.sh); the build and the run need no root.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
build=${SM_DEMO_BUILD_DIR:-$top/build}
jobs=$(nproc 2>/dev/null || echo 2)

if [ "${SM_DEMO_NO_SETUP:-0}" != 1 ]; then
	scripts/setup.sh
	cmake -S . -B "$build" -DSM_BENCH=OFF >/dev/null
	cmake --build "$build" -j"$jobs" --target smd smctl fake_scrapy >/dev/null
fi
smd=$build/cmd/smd
smctl=$build/cmd/smctl
spider=$build/test/spider/fake_scrapy
for p in "$smd" "$smctl" "$spider"; do
	[ -x "$p" ] || { echo "demo: $p is not built (run without SM_DEMO_NO_SETUP=1)" >&2; exit 1; }
done

state=$(mktemp -d "${TMPDIR:-/tmp}/smd-demo.XXXXXX")
if [ "${SM_DEMO_KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$state"' EXIT
fi
# smd's configuration (docs/configuration.md): the local backend, the test
# spider instead of scrapy, short intervals for a quick run
conf=$state/smd.conf
cat > "$conf" <<EOF
backend = local
state_dir = $state/state
machines_dir = $top/machines
spider_program = $spider
spiders_dir = $state
poll_wait = 1s
progress_interval = 1s
EOF

echo "== submit the three flows of the old flow test (state: $state/state)"
server=test_server_name
for task in \
	'{"task_id": 4444, "server_name": "'$server'", "site": "walmart", "searchterms_str": "water/bottle", "cmd_args": {"quantity": 20, "fake_items": 4, "fake_delay_ms": 300}}' \
	'{"task_id": 4445, "server_name": "'$server'", "site": "walmart", "url": "http://www.walmart.com/ip/31262048", "cmd_args": {"fake_items": 1}}' \
	'{"task_id": 4446, "server_name": "'$server'", "site": "walmart", "searchterms_str": "batteries", "with_best_seller_ranking": "True", "cmd_args": {"fake_items": 3}}'; do
	printf '%s\n  -> message ' "$task"
	"$smctl" -c "$conf" submit "$task"
done

echo
echo "== smd --exit-when-idle: runs every task, then stops"
"$smd" -c "$conf" --exit-when-idle -q
echo "smd stopped: every queue is empty and no task runs"

echo
echo "== smctl inspect 4446 (the search term with with_best_seller_ranking)"
"$smctl" -c "$conf" inspect --log-lines 5 4446

echo
echo "== the keys in the bucket spyder-bucket (local backend: <state_dir>/objects/<bucket>/<key>)"
(cd "$state/state/objects/spyder-bucket" && find . -type f | sed 's|^\./||' | sort)

echo
if [ "${SM_DEMO_KEEP:-0}" = 1 ]; then
	echo "demo done; the state is kept: '$smctl -c $conf inspect 4444 --json'"
else
	echo "demo done (SM_DEMO_KEEP=1 keeps the state directory for 'smctl inspect')"
fi
