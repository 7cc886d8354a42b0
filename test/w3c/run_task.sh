#!/usr/bin/env bash
# run_task.sh - the W3C SCXML conformance tests in the `task` datamodel.
#
# usage: run_task.sh [-t SECONDS] [-k DIR] [-v] SMCTL [TEST...]
#
#   Converts every mandatory, automatic test of the W3C manifest (the .txml
#   sources in $SM_SHARED_DIR/testdata/w3c-scxml/txml, 159 tests) with
#   confTask.xsl (xsltproc), together with the files the manifest lists as
#   its dependencies, runs each with `SMCTL simulate -q FILE` and expects
#   'pass' as the last line on stdout.  A test whose conversion stops with
#   "not applicable: ..." (a placeholder the task language cannot express;
#   docs/w3c-task.md lists them) is counted apart.  Prints one line per
#   test, then "P passed, F failed, N not applicable".
#
#   TEST...     only these test ids (default: all of the manifest's)
#   -t SECONDS  per-test timeout (default 15; a timeout is a failure)
#   -k DIR      keep the converted files in DIR (default: a temporary
#               directory, removed at the end)
#   -v          print the tail of stdout/stderr of failed tests
#
# Exit status: 0 if no test failed, 1 otherwise, 2 on usage errors, 77
# when xsltproc or xmllint is missing (ctest: Skipped).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${SM_SHARED_DIR:-}/testdata/w3c-scxml/txml
tmo=15; keep=""; verbose=0
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "t:k:vh" o; do
  case $o in
    t) tmo=$OPTARG ;;
    k) keep=$OPTARG ;;
    v) verbose=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
smctl=$1; shift
for c in xsltproc xmllint timeout; do
  command -v "$c" >/dev/null || { echo "run_task.sh: needs $c (scripts/setup.sh installs it)"; exit 77; }
done
[ -n "${SM_SHARED_DIR:-}" ] || { echo "run_task.sh: set SM_SHARED_DIR (ctest does)" >&2; exit 2; }
[ -f "$src/manifest.xml" ] || { echo "run_task.sh: no W3C sources at $src"; exit 77; }
[ -x "$smctl" ] || { echo "run_task.sh: '$smctl' is not executable" >&2; exit 2; }

if [ -n "$keep" ]; then
  mkdir -p "$keep" || exit 2
  out=$(cd "$keep" && pwd)
else
  out=$(mktemp -d) || exit 2
  trap 'rm -rf "$out"' EXIT
fi

sel="//test[@conformance='mandatory' and @manual='false']"
# the manifest's uris: "355/test355.txml" -> test355.txml (the sources are flat)
uris() { xmllint --xpath "$1" "$src/manifest.xml" 2>/dev/null |
  sed -n 's/.*uri="\([^"]*\)".*/\1/p' | sed 's|.*/||'; }
mapfile -t ids < <(xmllint --xpath "$sel/@id" "$src/manifest.xml" 2>/dev/null |
  sed -n 's/.*id="\([^"]*\)".*/\1/p')
mapfile -t deps < <(uris "$sel/dep/@uri")
[ ${#ids[@]} -gt 0 ] || { echo "run_task.sh: no tests in $src/manifest.xml" >&2; exit 2; }

# A source file into $out: a .txml becomes .scxml (xsltproc's messages,
# such as "not applicable: ...", go to $out/NAME.txml.why), others are copied.
convert() {
  local f=$1 base
  base=$(basename "$f")
  case $base in
    *.txml) xsltproc "$here/confTask.xsl" "$src/$base" >"$out/${base%.txml}.scxml" 2>"$out/$base.why" ;;
    *) cp "$src/$base" "$out/$base" ;;
  esac
}
for d in "${deps[@]}"; do
  convert "$d" || { echo "run_task.sh: cannot convert dependency $d: $(cat "$out/$d.why")" >&2; exit 2; }
done

want=" $* "
npass=0; nfail=0; nna=0; failed=""
# One test: every start document of test $1 (403 has three) must reach
# 'pass'.  Sets res (PASS, FAIL or N/A), why, and detail (-v).
run_one() {
  local n=$1 s f rc last
  res=PASS; why=""; detail=""
  for s in $(uris "//test[@id='$n']/start/@uri"); do
    if ! convert "$s"; then
      why=$(head -n 1 "$out/$s.why")
      if [[ $why == "not applicable:"* ]]; then
        res=N/A; why=${why#not applicable: }
      else
        res=FAIL; why="conversion of $s: $why"
      fi
      return
    fi
  done
  for s in $(uris "//test[@id='$n']/start/@uri"); do
    f="$out/${s%.txml}.scxml"
    timeout -k 2 "$tmo" "$smctl" simulate -q -T "$tmo" "$f" >"${f%.scxml}.out" \
      2>"${f%.scxml}.err" </dev/null
    rc=$?
    last=$(grep -v '^[[:space:]]*$' "${f%.scxml}.out" | tail -n 1 | tr -d '[:space:]')
    [ "$last" = pass ] && continue
    res=FAIL
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      why="${s%.txml}: timeout after ${tmo}s"
    else
      why="${s%.txml}: got '$last' rc=$rc"
    fi
    if [ $verbose -eq 1 ]; then
      detail=$(tail -n 5 "${f%.scxml}.out" | sed 's/^/    stdout: /'
        tail -n 5 "${f%.scxml}.err" | sed 's/^/    stderr: /')
    fi
    return
  done
}

for n in "${ids[@]}"; do
  [ $# -eq 0 ] || [[ $want == *" $n "* ]] || continue
  run_one "$n"
  case $res in
    PASS) echo "PASS test$n"; npass=$((npass + 1)) ;;
    N/A) echo "N/A  test$n ($why)"; nna=$((nna + 1)) ;;
    *) echo "FAIL test$n ($why)"; nfail=$((nfail + 1)); failed="$failed $n"
      [ -z "$detail" ] || echo "$detail" ;;
  esac
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$npass passed, $nfail failed, $nna not applicable"
[ $nfail -eq 0 ]
