# tap.sh - TAP helpers for the shell tests (sourced; bash).  The caller sets
# $tmp (a scratch directory) and ends with `tap_done`.
#   t DESCRIPTION WANT_RC CMD...   run CMD (stdout in $tmp/out, stderr in $tmp/err)
#   has DESCRIPTION FILE REGEX     FILE has a line matching REGEX (grep -E)
#   check DESCRIPTION CONDITION... a test(1) condition
#   last                           the last non-blank line of $tmp/out
#   json DESCRIPTION FILE EXPR     the Python EXPR over j (FILE parsed as JSON) is
#                                  true (json, os and sys imported)
#   tap_skip REASON                one check skipped for a missing peer ("ok N # SKIP")
#   tap_skip_all REASON            "1..0 # SKIP REASON", exit 77 (ctest: Skipped);
#                                  with SM_REQUIRE_PEERS=1 a failure
n=0; failed=0
t() {
  local desc=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  n=$((n + 1))
  if [ "$rc" = "$want" ]; then echo "ok $n - $desc"; else
    echo "not ok $n - $desc (rc $rc, want $want)"; sed 's/^/# /' "$tmp/err" | tail -5; failed=$((failed + 1)); fi
}
has() {
  n=$((n + 1))
  if grep -Eq -- "$3" "$2"; then echo "ok $n - $1"; else
    echo "not ok $n - $1"; sed 's/^/# /' "$2" | tail -5; failed=$((failed + 1)); fi
}
check() {
  local desc=$1; shift
  n=$((n + 1))
  if [ "$@" ]; then echo "ok $n - $desc"; else
    echo "not ok $n - $desc ($*)"; failed=$((failed + 1)); fi
}
last() { grep -v '^[[:space:]]*$' "$tmp/out" | tail -n 1; }
json() {
  local desc=$1 file=$2 expr=$3
  n=$((n + 1))
  if python3 -c "import json,os,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" "$file" 2>"$tmp/py.err"; then
    echo "ok $n - $desc"
  else
    echo "not ok $n - $desc ($expr)"; sed 's/^/# /' "$tmp/py.err" | tail -3; failed=$((failed + 1))
  fi
}
tap_skip() {
  n=$((n + 1))
  if [ "${SM_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "not ok $n - $* (SM_REQUIRE_PEERS=1: a missing test peer is a failure)"; failed=$((failed + 1))
  else
    echo "ok $n # SKIP $*"
  fi
}
tap_skip_all() {
  if [ "${SM_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "Bail out! $* (SM_REQUIRE_PEERS=1: a missing test peer is a failure)"; exit 1
  fi
  echo "1..0 # SKIP $*"; exit 77
}
tap_done() {
  echo "1..$n"
  [ "$failed" -eq 0 ] || echo "# failed $failed of $n"
  [ "$failed" -eq 0 ]
}
