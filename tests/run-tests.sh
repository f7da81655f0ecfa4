#!/usr/bin/env bash
# Installs what is needed, builds dance-sidecar with AddressSanitizer + UndefinedBehaviorSanitizer and
# -Werror, and runs every test (unit, DNS lab, integration, deployment checks) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  bash deploy/install-deps.sh
fi

build_dir=${BUILD_DIR:-build-test}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DDANCE_SANITIZE=ON -DDANCE_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure --timeout 900 "$@"
