#!/usr/bin/env bash
# test.sh - set up, build and run every test, the way CI does (.ci/run):
#
#   1. the normal build (gcc, -Werror) and every test, with every test peer
#      required (SM_REQUIRE_PEERS=1: a missing moto_server, boto3, aws CLI,
#      openssl, dot... fails the run; nothing passes by skipping);
#   2. a Release build (gcc -O3, -Werror) and a clang build (-Werror): the
#      code must be warning-free at every level and with both compilers;
#   3. the suite under AddressSanitizer + UBSan;
#   4. the fuzz targets built with clang: corpus replay, then a short run each.
#
#   scripts/test.sh                   everything
#   SM_TEST_QUICK=1 scripts/test.sh   step 1 only
#
# Installing missing Debian packages needs root: as root apt-get runs
# directly, otherwise through sudo (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

scripts/setup.sh --peers
export SM_REQUIRE_PEERS=1

step() { printf '\n=== %s ===\n' "$*"; }

step "build (gcc, -Werror)"
cmake -S . -B build -DSM_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
step "tests"
(cd build && ctest --output-on-failure -j"$jobs")

[ "${SM_TEST_QUICK:-0}" = 1 ] && exit 0

step "Release build (gcc -O3, -Werror)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSM_WERROR=ON >/dev/null
cmake --build build-release -j"$jobs"
step "clang build (-Werror)"
cmake -S . -B build-clang -DCMAKE_C_COMPILER=clang -DSM_WERROR=ON >/dev/null
cmake --build build-clang -j"$jobs"

step "build with AddressSanitizer + UBSan"
cmake -S . -B build-asan -DSM_SANITIZE=ON -DSM_WERROR=ON -DSM_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
step "tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/../test/support/lsan.supp":print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")

step "fuzz targets (clang, libFuzzer): corpus replay, then a short timed run each"
cmake -S . -B build-fuzz -DSM_FUZZ=ON -DSM_WERROR=ON -DSM_BENCH=OFF \
  -DCMAKE_C_COMPILER=clang >/dev/null
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
