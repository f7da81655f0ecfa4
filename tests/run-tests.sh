#!/usr/bin/env bash
# Installs what is needed, builds dance-sidecar with AddressSanitizer + UndefinedBehaviorSanitizer and
# -Werror, and runs every test (unit, DNS lab, integration, deployment checks) through CTest, then the
# libFuzzer harnesses of tests/fuzz for FUZZ_SECONDS each (default 60, 0 = skip).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  bash deploy/install-deps.sh
fi

build_dir=${BUILD_DIR:-build-test}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DDANCE_SANITIZE=ON -DDANCE_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
# Every temporary file of the run (the tests' work directories, the servers' logs) goes under one directory,
# removed at the end; DANCE_KEEP_TEST_TMP=1 keeps it for a post-mortem.
test_tmp=$(mktemp -d "${TMPDIR:-/tmp}/dance-tests.XXXXXX")
if [ "${DANCE_KEEP_TEST_TMP:-0}" = 1 ]; then
  trap 'echo "test files kept in $test_tmp"' EXIT
else
  trap 'rm -rf "$test_tmp"' EXIT
fi
export TMPDIR=$test_tmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest_status=0
(cd "$build_dir" && ctest --output-on-failure --timeout 900 "$@") || ctest_status=$?

# libFuzzer harnesses (tests/fuzz/README.md), in their own clang build (build-fuzz): FUZZ_SECONDS each
# (default 60; 0 skips them). Fails the run if any harness crashes.
fuzz_status=0
if [ "${FUZZ_SECONDS:-60}" = 0 ]; then
  echo "fuzz: skipped (FUZZ_SECONDS=0)"
else
  DANCE_BUILD_LOCK=${DANCE_BUILD_LOCK-} bash tests/fuzz/run-fuzzers.sh "${FUZZ_SECONDS:-60}" || fuzz_status=$?
fi
if [ "$ctest_status" != 0 ]; then exit "$ctest_status"; fi
exit "$fuzz_status"
