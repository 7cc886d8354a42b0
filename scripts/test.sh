#!/usr/bin/env bash
# test.sh - set up, build and run every test: the normal build (-Werror),
# the same suite under AddressSanitizer + UBSan, and the fuzz targets
# built with clang and run for a short smoke.
#
#   scripts/test.sh            everything
#   SM_TEST_QUICK=1 scripts/test.sh   the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

scripts/setup.sh

step() { printf '\n=== %s ===\n' "$*"; }

step "build (gcc, -Werror)"
cmake -S . -B build -DSM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
step "tests"
(cd build && ctest --output-on-failure -j"$jobs")

[ "${SM_TEST_QUICK:-0}" = 1 ] && exit 0

step "build with AddressSanitizer + UBSan"
cmake -S . -B build-asan -DSM_SANITIZE=ON -DSM_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
step "tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

step "fuzz targets (clang, libFuzzer): corpus replay, then a short timed run each"
CC=clang cmake -S . -B build-fuzz -DSM_FUZZ=ON -DSM_BENCH=OFF -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest --output-on-failure -L fuzz -j"$jobs")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for f in build-fuzz/test/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  mkdir -p "$scratch/$name"
  args=("$scratch/$name") # new inputs go here, never into the repository
  corpus="$top/test/fuzz/corpus/${name#fuzz_}"
  [ -d "$corpus" ] && args+=("$corpus")
  echo "fuzz: $name for ${SM_FUZZ_SECONDS:-20} s"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$f" -max_total_time="${SM_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 "${args[@]}" 2>&1 | tail -n 1
done
step "all tests passed"
