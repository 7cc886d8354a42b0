#!/usr/bin/env bash
# test_smctl.sh SMCTL - TAP tests of smctl check/graph/simulate (exit codes,
# messages, output contract) including hostile command lines.
set -u
smctl=$1
m=${SM_SOURCE_DIR:?}/test/engine/machines
w3c=${SM_SHARED_DIR:?}/testdata/w3c-scxml/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"

t "global --help" 0 "$smctl" --help
has "help lists simulate" "$tmp/out" '^  simulate'
t "no command is a usage error" 2 "$smctl"
t "unknown command is a usage error" 2 "$smctl" frobnicate
has "unknown command named" "$tmp/err" "unknown command 'frobnicate'"
for c in check graph simulate; do
  t "$c --help" 0 "$smctl" $c --help
  has "$c --help shows usage" "$tmp/out" "^usage: smctl $c"
  t "$c with a bad option" 2 "$smctl" $c --bogus
done

t "check good files" 0 "$smctl" check "$m/preemption/machine.scxml" "$m/task_assign/machine.scxml"
has "check says ok" "$tmp/out" 'preemption/machine.scxml: ok$'
printf '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">\n<state id="a"><transition event="x" target="nowhere"/></state>\n<final id="f"/></scxml>\n' > "$tmp/bad.scxml"
t "check a bad file exits 1" 1 "$smctl" check "$tmp/bad.scxml" "$m/preemption/machine.scxml"
has "diagnostic is file:line: message" "$tmp/err" "bad.scxml:2: .*nowhere"
has "the good file is still ok" "$tmp/out" 'preemption/machine.scxml: ok$'
t "check a missing file exits 1" 1 "$smctl" check "$tmp/missing.scxml"
has "missing file named" "$tmp/err" "missing.scxml"
head -c 3000 /dev/urandom > "$tmp/noise.scxml"
t "check random bytes exits 1" 1 "$smctl" check "$tmp/noise.scxml"
t "check without files is a usage error" 2 "$smctl" check
printf '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="a">\n<state id="a">\n<transition event="x" target="a"/></state></scxml>\n' > "$tmp/nofinal.scxml"
t "check a machine without a final: ok, with a warning" 0 "$smctl" check "$tmp/nofinal.scxml"
has "the warning is file:line: warning: ..." "$tmp/err" 'nofinal.scxml:1: warning: machine has no <final> state'
has "and the file is ok" "$tmp/out" 'nofinal.scxml: ok$'
t "check --strict refuses a file with warnings" 1 "$smctl" check --strict "$tmp/nofinal.scxml" "$m/preemption/machine.scxml"
has "--strict: the warning with file:line" "$tmp/err" 'nofinal.scxml:1: warning: machine has no <final> state'
has "--strict: says why it is refused" "$tmp/err" 'nofinal.scxml: refused: 1 warning\(s\), which --strict counts as errors'
has "--strict: a clean file is still ok" "$tmp/out" 'preemption/machine.scxml: ok$'
t "simulate runs a machine without a final until its timeout" 1 "$smctl" simulate -T 0.3 -e x "$tmp/nofinal.scxml"
has "and says no final state was reached" "$tmp/err" 'no final state reached'
task=${SM_SOURCE_DIR}/machines/task.scxml
t "check task.scxml with all its actions registered" 0 "$smctl" check \
  --actions task_validate,cache_lookup,cache_save,branch_checkout,spider_start,spider_wait,pack \
  --actions 'upload report report_compose queue_delete queue_release' "$task"
t "check task.scxml with an action missing exits 1" 1 "$smctl" check -a task_validate,cache_lookup,branch_checkout,spider_start,spider_wait,pack,upload,report,report_compose,queue_delete,queue_release "$task"
has "the unregistered action is named with its line" "$tmp/err" 'task.scxml:[0-9]+: <invoke src="cache_save">: no action of that name is registered'

t "graph" 0 "$smctl" graph "$m/parallel_done/machine.scxml"
has "graph is DOT" "$tmp/out" '^(strict )?digraph'
t "graph of two files is a usage error" 2 "$smctl" graph a b
t "graph of a bad file exits 1" 1 "$smctl" graph "$tmp/bad.scxml"

t "simulate reaches pass" 0 "$smctl" simulate "$w3c/test144.scxml"
[ "$(last)" = pass ]; n=$((n + 1)); if [ "$(last)" = pass ]; then echo "ok $n - last stdout line is the final id"; else echo "not ok $n - last line '$(last)'"; failed=$((failed+1)); fi
has "transitions traced on stderr" "$tmp/err" '\] s0 -> s1'
t "simulate with events and data" 0 "$smctl" simulate -e 'add={"n":2}' --event 'add={"n":3}' -e check "$m/task_assign/machine.scxml"
[ "$(last)" = ok ]; n=$((n + 1)); if [ "$(last)" = ok ]; then echo "ok $n - events with data drive the machine"; else echo "not ok $n - got '$(last)'"; failed=$((failed+1)); fi
t "simulate without a final exits 1" 1 "$smctl" simulate --timeout 0.3 -e next "$m/history_deep/machine.scxml"
has "says no final state was reached" "$tmp/err" 'no final state reached'
t "simulate: event data not json" 2 "$smctl" simulate -e 'x={bad' "$m/preemption/machine.scxml"
has "names the bad event" "$tmp/err" "x=\\{bad"
t "simulate: empty event name" 2 "$smctl" simulate -e '=1' "$m/preemption/machine.scxml"
t "simulate: task not an object" 2 "$smctl" simulate --task '[1]' "$m/preemption/machine.scxml"
t "simulate: task not json" 2 "$smctl" simulate --task '{' "$m/preemption/machine.scxml"
t "simulate: bad timeout" 2 "$smctl" simulate --timeout -3 "$m/preemption/machine.scxml"
t "simulate: timeout not a number" 2 "$smctl" simulate --timeout 5x "$m/preemption/machine.scxml"
t "simulate: timeout NaN" 2 "$smctl" simulate --timeout nan "$m/preemption/machine.scxml"
t "simulate: timeout inf" 2 "$smctl" simulate --timeout inf "$m/preemption/machine.scxml"
t "simulate: timeout with an exponent" 2 "$smctl" simulate --timeout 1e3 "$m/preemption/machine.scxml"
has "the refusal says what to write" "$tmp/err" "--timeout wants a duration from 1ms to 24h"
t "simulate: timeout over 24h" 2 "$smctl" simulate --timeout 25h "$m/preemption/machine.scxml"
t "simulate: a duration as timeout" 1 "$smctl" simulate --timeout 300ms -e next "$m/history_deep/machine.scxml"
has "gave up at the timeout" "$tmp/err" 'no final state reached before the timeout'
t "simulate: id over the engine's limit is a usage error" 2 "$smctl" simulate --id "$(printf 'x%.0s' $(seq 201))" "$m/preemption/machine.scxml"
has "says the limit" "$tmp/err" "--id wants 1 to 200 bytes"
t "simulate: id of 200 bytes is fine" 0 "$smctl" simulate -q --id "$(printf 'x%.0s' $(seq 200))" -e go "$m/preemption/machine.scxml"
t "simulate: no file" 2 "$smctl" simulate
t "simulate: bad machine exits 1" 1 "$smctl" simulate "$tmp/bad.scxml"
t "simulate --task reaches the datamodel" 0 "$smctl" simulate -q --task '{"site":"walmart"}' -e go "$m/donedata/machine.scxml"

cat > "$tmp/act.scxml" <<'XML'
<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:sm="urn:smd:scxml:1" version="1.0"
       datamodel="task" initial="w">
  <state id="w">
    <invoke id="j" type="urn:smd:scxml:1" src="job" sm:attempts="2" sm:delay="100ms"/>
    <transition event="done.invoke.j" cond="_event.data.n == 3" target="good"/>
    <transition event="error.invoke.j" cond="_event.data.attempt == 2" target="gave_up"/>
    <transition event="error.invoke.j" target="other"/>
  </state>
  <final id="good"/><final id="gave_up"/><final id="other"/>
</scxml>
XML
t "simulate --action NAME=JSON" 0 "$smctl" simulate -a 'job={"n":3}' "$tmp/act.scxml"
[ "$(last)" = good ]; n=$((n + 1)); if [ "$(last)" = good ]; then echo "ok $n - the action result is _event.data"; else echo "not ok $n - got '$(last)'"; failed=$((failed+1)); fi
has "the action start is shown" "$tmp/err" 'action job \(invoke .j., attempt 1\)'
t "simulate --action NAME!ERROR retries then fails" 0 "$smctl" simulate -a 'job!error.io' "$tmp/act.scxml"
[ "$(last)" = gave_up ]; n=$((n + 1)); if [ "$(last)" = gave_up ]; then echo "ok $n - two attempts, then error.invoke"; else echo "not ok $n - got '$(last)'"; failed=$((failed+1)); fi
has "second attempt shown" "$tmp/err" 'attempt 2'
t "simulate: unregistered action fails the invoke" 0 "$smctl" simulate "$tmp/act.scxml"
[ "$(last)" = other ]; n=$((n + 1)); if [ "$(last)" = other ]; then echo "ok $n - error.invoke for an unknown action"; else echo "not ok $n - got '$(last)'"; failed=$((failed+1)); fi
t "simulate: --action without result" 2 "$smctl" simulate -a job "$tmp/act.scxml"
t "simulate: --action bad json" 2 "$smctl" simulate -a 'job={' "$tmp/act.scxml"
t "simulate: --action bad error name" 2 "$smctl" simulate -a 'job!bad name' "$tmp/act.scxml"
t "simulate: --action twice" 2 "$smctl" simulate -a 'job=1' -a 'job=2' "$tmp/act.scxml"

# simulate --state-dir persists; inspect reads it back
t "simulate --state-dir" 0 "$smctl" simulate -q -d "$tmp/state" --id t1 -a 'job!error.io' "$tmp/act.scxml"
t "simulate: a finished id is not run again" 0 "$smctl" simulate -d "$tmp/state" --id t1 "$tmp/act.scxml"
has "says it had finished" "$tmp/err" "instance 't1' had already finished"
[ "$(last)" = gave_up ]; n=$((n + 1)); if [ "$(last)" = gave_up ]; then echo "ok $n - and prints its final state"; else echo "not ok $n - got '$(last)'"; failed=$((failed+1)); fi
t "inspect" 0 "$smctl" inspect -d "$tmp/state" t1
has "inspect: status and final" "$tmp/out" "^status +done \\(final state 'gave_up'\\)"
has "inspect: the start record" "$tmp/out" "#1 .* start: \\(none\\) -> w  \\[start j\\]"
has "inspect: the retry record" "$tmp/out" "retry after error.io: w -> w  \\(attempt 2 in [0-9]+ ms"
has "inspect: the final step" "$tmp/out" "error.invoke.j: w -> gave_up"
t "inspect --json" 0 "$smctl" inspect -d "$tmp/state" --json t1
n=$((n + 1)); if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["instance"]["final"]=="gave_up" and len(j["history"])==3' "$tmp/out" 2>/dev/null; then echo "ok $n - inspect --json is the stored record and 3 history records (start, retry, error)"; else echo "not ok $n - inspect --json"; failed=$((failed+1)); fi
t "inspect --last 1" 0 "$smctl" inspect -d "$tmp/state" --last 1 t1
has "only one record" "$tmp/out" "history \\(1 record\\)"
t "inspect: SMD_STATE_DIR" 0 env SMD_STATE_DIR="$tmp/state" "$smctl" inspect t1
t "inspect: unknown id exits 1" 1 "$smctl" inspect -d "$tmp/state" nope
has "inspect: says what is missing" "$tmp/err" "no instance 'nope'"
t "inspect: no state dir is a usage error" 2 env -u SMD_STATE_DIR "$smctl" inspect t1
t "inspect: missing state dir exits 1" 1 "$smctl" inspect -d "$tmp/none" t1
t "inspect: bad --last" 2 "$smctl" inspect -d "$tmp/state" --last x t1
t "simulate: an event name with an escape sequence" 1 "$smctl" simulate -q -d "$tmp/esc" --id e1 --timeout 0.3 -e "$(printf 'x\033[31mred')" "$m/history_deep/machine.scxml"
t "inspect it" 0 "$smctl" inspect -d "$tmp/esc" e1
n=$((n + 1)); if grep -q "$(printf '\033')" "$tmp/out"; then echo "not ok $n - inspect printed a raw ESC"; failed=$((failed+1)); else echo "ok $n - inspect prints no raw control characters"; fi
has "the event name is shown escaped" "$tmp/out" 'x\\x1b\[31mred'
# a session stopped without reaching a final state (a loop of eventless
# transitions): the record's "final" is null and inspect says so
cat > "$tmp/loop.scxml" <<'XML'
<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="task" initial="a">
  <state id="a"><transition event="go" target="b"/></state>
  <state id="b"><transition target="c"/></state>
  <state id="c"><transition target="b"/><transition event="x" target="f"/></state>
  <final id="f"/>
</scxml>
XML
t "simulate: a session that never settles stops" 1 "$smctl" simulate -q -d "$tmp/loop" --id L1 -e go "$tmp/loop.scxml"
t "inspect the stopped session" 0 "$smctl" inspect -d "$tmp/loop" L1
has "inspect: stopped without a final state" "$tmp/out" "^status +done \\(stopped without reaching a final state\\)"
t "inspect --json the stopped session" 0 "$smctl" inspect -d "$tmp/loop" --json L1
n=$((n + 1)); if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["instance"]["status"]=="done" and j["instance"]["final"] is None' "$tmp/out" 2>/dev/null; then echo "ok $n - its record has final null"; else echo "not ok $n - its record's final is not null"; failed=$((failed+1)); fi
t "inspect --help" 0 "$smctl" inspect --help
has "inspect --help shows usage" "$tmp/out" "^usage: smctl inspect"
t "inspect with a bad option" 2 "$smctl" inspect --bogus t1

# stores and records written by a newer version are refused with a message
# (mdb_dump/mdb_load from lmdb-utils edit the store)
if command -v mdb_dump >/dev/null && command -v mdb_load >/dev/null; then
  cp -r "$tmp/state" "$tmp/newrec"
  mdb_dump -p -s instances "$tmp/newrec/store" | sed 's/^ {"v":1,/ {"v":99,/' > "$tmp/inst.dump"
  mdb_load -s instances -f "$tmp/inst.dump" "$tmp/newrec/store" 2>/dev/null
  t "inspect: a record of a newer format exits 1" 1 "$smctl" inspect -d "$tmp/newrec" t1
  has "says the record is newer and what to do" "$tmp/err" "has format 99, newer than this program reads \\(1\\): use the smctl"
  cp -r "$tmp/state" "$tmp/newstore"
  printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n format\n \\00\\00\\00\\00\\00\\00\\00\\09\nDATA=END\n' > "$tmp/meta.dump"
  mdb_load -s meta -f "$tmp/meta.dump" "$tmp/newstore/store"
  t "inspect: a store of a newer format exits 1" 1 "$smctl" inspect -d "$tmp/newstore" t1
  has "says the store format is newer" "$tmp/err" "[Ff]ormat|version|newer"
  head -c 8192 /dev/urandom > "$tmp/garbage.mdb"
  mkdir -p "$tmp/garbage/store" && cp "$tmp/garbage.mdb" "$tmp/garbage/store/data.mdb"
  t "inspect: a garbage store exits 1" 1 "$smctl" inspect -d "$tmp/garbage" t1
  n=$((n + 1)); if [ -s "$tmp/err" ]; then echo "ok $n - with a message"; else echo "not ok $n - no message for a garbage store"; failed=$((failed+1)); fi
else
  tap_skip "no mdb_dump/mdb_load (lmdb-utils)"
fi

tap_done
