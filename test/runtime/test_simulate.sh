#!/usr/bin/env bash
# test_simulate.sh SMCTL - `smctl simulate -d DIR` starts as smd does
# (runtime/rt_boot): a run killed with SIGKILL resumes from its last commit
# and ends with the same final state and history as an uninterrupted run; a
# second writer on the directory is refused naming the holder's pid, while
# `smctl inspect` works beside it; the configuration (file, SMD_*, -o) is
# read and bad values refused.
set -u
smctl=$1
tmp=$(mktemp -d)
bg=
trap '[ -n "$bg" ] && kill -9 $bg 2>/dev/null; rm -rf "$tmp"' EXIT
. "${SM_SOURCE_DIR:?}/test/support/tap.sh"
command -v python3 >/dev/null || tap_skip_all "python3 not found (reads inspect --json)"

# A chain of delayed steps with an action in the middle: ~2.4 s in all.
cat > "$tmp/chain.scxml" <<'XML'
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:sm="urn:smd:scxml:1" version="1.0"
       datamodel="null" initial="s1">
  <state id="s1"><onentry><send event="next" delay="400ms"/></onentry>
    <transition event="next" target="s2"/></state>
  <state id="s2"><onentry><send event="next" delay="400ms"/></onentry>
    <transition event="next" target="s3"/></state>
  <state id="s3"><invoke type="urn:smd:scxml:1" src="job" id="j"/>
    <transition event="done.invoke.j" target="s4"/>
    <transition event="error.*" target="failed"/></state>
  <state id="s4"><onentry><send event="next" delay="400ms"/></onentry>
    <transition event="next" target="s5"/></state>
  <state id="s5"><onentry><send event="next" delay="400ms"/></onentry>
    <transition event="next" target="s6"/></state>
  <state id="s6"><onentry><send event="next" delay="400ms"/></onentry>
    <transition event="next" target="done"/></state>
  <final id="done"/>
  <final id="failed"/>
</scxml>
XML
sim() { "$smctl" simulate -q -a 'job={"ok":true}' --timeout 20 "$@" "$tmp/chain.scxml"; }
# the same in the background, $bg its pid (smctl's own, not a subshell's)
sim_bg() { "$smctl" simulate -q -a 'job={"ok":true}' --timeout 20 "$@" "$tmp/chain.scxml" >/dev/null 2>&1 & bg=$!; }
# history of instance $2 in state dir $1 as "event:from->to" lines
hist() {
  "$smctl" inspect -d "$1" --json "$2" 2>/dev/null | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
except ValueError:
    sys.exit(0)  # not there yet
for r in j["history"]:
    ev = (r.get("event") or {}).get("name")
    print("%s %s:%s->%s" % (r["kind"], ev, ",".join(r.get("from") or []), ",".join(r["to"])))'
}
# number of history records (inspect's text view: python starts too slowly to poll)
records() {
  "$smctl" inspect -d "$1" "$2" 2>/dev/null | sed -n 's/^history (\([0-9]*\) records\{0,1\}.*/\1/p' | grep . || echo 0
}

# 1. the uninterrupted run
t "uninterrupted run" 0 sim -d "$tmp/a" --id job1
check "ends in done" "$(last)" = done
hist "$tmp/a" job1 > "$tmp/hist.a"
check "its history has 7 records (start and 6 steps)" "$(wc -l < "$tmp/hist.a")" -eq 7

# 2. kill -9 in the middle, then run again
sim_bg -d "$tmp/b" --id job1
for _ in $(seq 100); do
  [ "$(records "$tmp/b" job1)" -ge 3 ] && break
  sleep 0.02
done
kill -9 $bg; wait $bg 2>/dev/null; bg=
k=$(records "$tmp/b" job1)
check "killed after some steps and before the end ($k records)" "$k" -ge 3 -a "$k" -lt 7
t "the killed run's instance is unfinished" 0 "$smctl" inspect -d "$tmp/b" job1
has "inspect says running" "$tmp/out" '^status +running'
t "simulate again on the same directory and id" 0 sim -d "$tmp/b" --id job1
check "the same final state line" "$(last)" = done
has "it says it resumed" "$tmp/err" "instance 'job1' resumed from its last commit"
hist "$tmp/b" job1 > "$tmp/hist.b"
n=$((n + 1))
if diff "$tmp/hist.a" "$tmp/hist.b" >"$tmp/diff"; then
  echo "ok $n - the same history as the uninterrupted run (no step twice, none lost)"
else
  echo "not ok $n - histories differ"; sed 's/^/# /' "$tmp/diff"; failed=$((failed + 1))
fi
t "a third run prints the final state and runs nothing" 0 sim -d "$tmp/b" --id job1
check "final line" "$(last)" = done
check "history unchanged" "$(records "$tmp/b" job1)" -eq 7

# 3. one writer per state directory; inspect works beside it
sim_bg -d "$tmp/c" --id long
for _ in $(seq 100); do
  "$smctl" inspect -d "$tmp/c" long >/dev/null 2>&1 && break
  sleep 0.05
done
t "a second simulate on a held directory is refused" 1 sim -d "$tmp/c" --id other
has "the message names the holder's pid" "$tmp/err" "state directory '$tmp/c' is in use by process $bg"
has "and says what to do" "$tmp/err" "stop that process"
t "inspect works while the writer runs" 0 "$smctl" inspect -d "$tmp/c" long
has "and sees the running instance" "$tmp/out" '^status +running'
check "the refused run wrote nothing" "$(records "$tmp/c" other)" -eq 0
wait $bg; rc=$?; bg=
check "the holder finished normally (rc $rc)" "$rc" -eq 0
t "once it ended, the directory is free" 0 sim -d "$tmp/c" --id other
check "and the run completes" "$(last)" = done

# 4. the configuration
t "-o state_dir persists like -d" 0 sim -o state_dir="$tmp/d" -o durability=process --id o1
t "inspect finds it" 0 "$smctl" inspect -d "$tmp/d" o1
t "SMD_STATE_DIR persists like -d" 0 env SMD_STATE_DIR="$tmp/e" "$smctl" simulate -q -a 'job={}' --id e1 "$tmp/chain.scxml"
t "inspect finds that one" 0 "$smctl" inspect -d "$tmp/e" e1
printf 'state_dir = %s\ndurability = process\n' "$tmp/f" > "$tmp/smd.conf"
t "a configuration file" 0 sim -c "$tmp/smd.conf" --id f1
t "inspect finds it in the file's state_dir" 0 "$smctl" inspect -d "$tmp/f" f1
t "-d wins over the file" 0 sim -c "$tmp/smd.conf" -d "$tmp/g" --id g1
t "inspect: in -d's directory" 0 "$smctl" inspect -d "$tmp/g" g1
t "a bad -o value is refused" 2 sim -o durability=fast
has "with what and where" "$tmp/err" "-o 'durability=fast': durability: 'fast' is refused: use 'full' or 'process'"
t "a bad SMD_ variable is refused" 2 env SMD_POLL_WAIT=5x "$smctl" simulate -q "$tmp/chain.scxml"
has "naming the variable" "$tmp/err" "environment SMD_POLL_WAIT: poll_wait: '5x' is not a duration"
t "an unknown SMD_ variable is refused" 2 env SMD_STAT_DIR=/x "$smctl" simulate -q "$tmp/chain.scxml"
printf 'state_dir = /x\nbogus = 1\npoll_wait\n' > "$tmp/bad.conf"
t "a bad file is refused" 2 sim -c "$tmp/bad.conf"
has "file:line for the unknown key" "$tmp/err" "bad.conf:2: unknown key 'bogus'"
has "file:line for the line without '='" "$tmp/err" "bad.conf:3: expected 'key = value'"
t "a missing file is refused" 2 sim -c "$tmp/none.conf"
check "nothing was created for the refused runs" ! -e "$tmp/x"
tap_done
