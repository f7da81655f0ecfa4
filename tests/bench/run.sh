#!/usr/bin/env bash
# One command for the benchmarks (issue 7): builds a Release tree in build-release, then runs every section
# on loopback (lab, peers, sidecars, HAProxy), stops what it started and writes tests/bench/results/latest.md,
# latest.csv and latest.json. Extra arguments go to bench.py (e.g. --sections handshakes,cold).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-release}

mkdir -p "$BUILD"
echo "building Release in $BUILD (log: $BUILD/bench-build.log)"
if ! { cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDANCE_TESTS=ON \
         -DDANCE_ALLOCATOR=system &&
       nice -n 10 cmake --build "$BUILD" -j2 \
         --target dance-sidecar lorawan-join-server lorawan-ns-emulator handshake_load; } >"$BUILD/bench-build.log" 2>&1
then
  tail -n 40 "$BUILD/bench-build.log" >&2
  exit 1
fi

# 10,000 held connections need as many descriptors in the server and in the load generator.
ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$REPO/tests/bench/bench.py" \
  --sidecar "$BUILD/cli/dance-sidecar" \
  --join-server "$BUILD/tests/peers/lorawan-join-server" \
  --ns-emulator "$BUILD/tests/peers/lorawan-ns-emulator" \
  --handshake-load "$BUILD/tests/bench/handshake_load" \
  "$@"
