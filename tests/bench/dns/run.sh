#!/usr/bin/env bash
# Prints microseconds of wall and CPU time per TLSA lookup: cache hits, and misses in every mode,
# against the DNS lab (host lab for trust-ad/validate, network-namespace lab for recursive).
#   tests/bench/dns/run.sh [BUILD_DIR] [ITERATIONS]
# CPU is this process only (getrusage); the time unbound/nsd spend is not included.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
build_dir=$(readlink -f "${1:-$here/../../../build-dns}")
iterations=${2:-2000}
bench=$build_dir/tests/dns/dns_bench
[[ -x $bench ]] || { echo "build dns_bench first: cmake --build $build_dir --target dns_bench" >&2; exit 2; }
run_with_lab=$here/../../dns/run-with-lab.sh
echo "| mode      | case                                         | wall us/op |  CPU us/op |"
echo "|-----------|----------------------------------------------|------------|------------|"
"$run_with_lab" "$bench" "$iterations"
"$run_with_lab" --netns "$bench" "$iterations"
