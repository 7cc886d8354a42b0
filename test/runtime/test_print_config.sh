#!/usr/bin/env bash
# test_print_config.sh SMD - TAP tests of `smd --print-config`: the
# configuration smd would run with, from the same sources in the same order
# (defaults, -c FILE, SMD_<KEY>, -o), every key once as `key = value`; what
# it prints loads again to the same; a refused configuration exits 2 with
# every problem; nothing is opened or created.
set -u
smd=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"

t "defaults" 0 env -i "$smd" --print-config
cp "$tmp/out" "$tmp/defaults"
check "one line per key ($(wc -l < "$tmp/defaults"))" "$(grep -Ec '^[a-z_]+ = ' "$tmp/defaults")" -eq 24
has "poll_wait's default" "$tmp/defaults" '^poll_wait = 20s$'
has "task_timeout's default in its largest unit" "$tmp/defaults" '^task_timeout = 2h$'
has "failed_work_keep's default" "$tmp/defaults" '^failed_work_keep = 168h$'
has "spiders_repo unset" "$tmp/defaults" '^spiders_repo = $'

printf 'poll_wait = 5s\nqueues = a, b ,c\nspiders_repo = /srv/x.git\nmax_concurrent_tasks = 4\n' > "$tmp/f.conf"
t "the file" 0 env -i "$smd" -c "$tmp/f.conf" --print-config
has "the file's value" "$tmp/out" '^poll_wait = 5s$'
has "queues as a list" "$tmp/out" '^queues = a,b,c$'
t "the environment over the file" 0 env -i SMD_POLL_WAIT=6s "$smd" -c "$tmp/f.conf" --print-config
has "SMD_POLL_WAIT wins over the file" "$tmp/out" '^poll_wait = 6s$'
has "the file's other keys stay" "$tmp/out" '^max_concurrent_tasks = 4$'
t "-o over the environment" 0 env -i SMD_POLL_WAIT=6s "$smd" -c "$tmp/f.conf" -o poll_wait=7s \
  --print-config
has "-o wins" "$tmp/out" '^poll_wait = 7s$'
cp "$tmp/out" "$tmp/printed"
t "what it prints loads again" 0 env -i "$smd" -c "$tmp/printed" --print-config
cmp -s "$tmp/out" "$tmp/printed"
check "to the same configuration" $? -eq 0

printf 'poll_wait = 1500ms\nbogus = 1\n' > "$tmp/bad.conf"
t "a refused file exits 2" 2 env -i "$smd" -c "$tmp/bad.conf" --print-config
has "the value's problem, with file and line" "$tmp/err" "bad.conf:1: poll_wait: .*whole seconds"
has "and the unknown key's" "$tmp/err" "bad.conf:2: unknown key 'bogus'"
check "nothing on stdout" ! -s "$tmp/out"
t "an SMD_ variable that names no key exits 2" 2 env -i SMD_POLL_WIAT=1s "$smd" --print-config
has "it is named" "$tmp/err" 'environment SMD_POLL_WIAT'
t "-o twice exits 2" 2 env -i "$smd" -o poll_wait=1s -o poll_wait=2s --print-config
t "a missing file exits 1, as smd does" 1 env -i "$smd" -c "$tmp/missing.conf" --print-config
has "it is named" "$tmp/err" "missing.conf: cannot read the configuration file"
t "smd itself exits 1 for it" 1 env -i "$smd" -c "$tmp/missing.conf" -o state_dir="$tmp/state"
t "an argument is a usage error" 2 env -i "$smd" --print-config extra

t "it opens nothing" 0 env -i "$smd" -o state_dir="$tmp/state" --print-config
check "the state directory is not created" ! -e "$tmp/state"
tap_done
