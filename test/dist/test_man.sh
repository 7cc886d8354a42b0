#!/usr/bin/env bash
# test_man.sh SMD SMCTL - TAP tests of docs/man/smd.8 and docs/man/smctl.1
# against the programs, so that the pages cannot drift: smd.8 has an entry
# for every configuration key (as `smd --print-config` lists them) and every
# option of `smd --help`; smctl.1 has a section for every command of
# `smctl --help` and names every option of its `--help`; both render with
# groff without a warning.
set -u
smd=$1 smctl=$2
: "${SM_SOURCE_DIR:?}"
man=$SM_SOURCE_DIR/docs/man
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$SM_SOURCE_DIR/test/support/tap.sh"

# long options of a --help text, one a line, without the dashes
long_opts() { grep -oE -- '(^|[ ,[])--[a-z][a-z-]*' "$1" | sed 's/.*--//' | sort -u; }
# the roff text FILE names the option --NAME (written \-\-NA\-ME)
names_opt() { grep -Fq -- "\\-\\-$(printf '%s' "$2" | sed 's/-/\\-/g')" "$1"; }
# the part of FILE from the heading line HEADING up to the next heading
section() { awk -v h="$2" '$0 == h {on = 1; print; next} on && /^\.S[HS]/ {on = 0} on' "$1"; }

t "smd --print-config lists the keys" 0 env -i "$smd" --print-config
sed 's/ =.*//' "$tmp/out" > "$tmp/keys"
check "there are keys ($(wc -l < "$tmp/keys"))" "$(wc -l < "$tmp/keys")" -ge 20
section "$man/smd.8" ".SH CONFIGURATION" > "$tmp/section"
while read -r k; do
  # an entry: `.TP` then `.B key` (the default on the next lines)
  grep -Eq "^\.B $k$" "$tmp/section"
  check "smd.8 CONFIGURATION has an entry for the key $k" $? -eq 0
done < "$tmp/keys"
t "smd --help" 0 "$smd" --help
long_opts "$tmp/out" > "$tmp/opts"
check "smd --help has options" -s "$tmp/opts"
section "$man/smd.8" ".SH OPTIONS" > "$tmp/section"
while read -r o; do
  names_opt "$tmp/section" "$o"
  check "smd.8 OPTIONS documents --$o" $? -eq 0
done < "$tmp/opts"

t "smctl --help" 0 "$smctl" --help
sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' "$tmp/out" > "$tmp/cmds"
check "smctl --help lists commands ($(tr '\n' ' ' < "$tmp/cmds"))" "$(wc -l < "$tmp/cmds")" -ge 4
while read -r c; do
  section "$man/smctl.1" ".SS \"smctl $c\"" > "$tmp/section"
  check "smctl.1 has a section .SS \"smctl $c\"" -s "$tmp/section"
  "$smctl" "$c" --help > "$tmp/help" 2>&1
  long_opts "$tmp/help" > "$tmp/copts"
  while read -r o; do
    [ "$o" = help ] && continue
    names_opt "$tmp/section" "$o"
    check "its section documents smctl $c --$o" $? -eq 0
  done < "$tmp/copts"
done < "$tmp/cmds"

if command -v groff >/dev/null 2>&1; then
  for p in smd.8 smctl.1; do
    t "$p renders (groff -man -Tutf8 -ww)" 0 groff -man -Tutf8 -ww -z "$man/$p"
    check "$p renders without a warning ($(head -c 300 "$tmp/err" | tr '\n' ' '))" ! -s "$tmp/err"
  done
else
  tap_skip "groff is not installed (package groff-base): the pages are not rendered"
fi
tap_done
