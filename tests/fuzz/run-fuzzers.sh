#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang 16 or later, ASan + UBSan, in build-fuzz) and runs each one for
# SECONDS over a copy of its seed corpus. Prints one line per harness, then "fuzz: N passed, M failed"; exits 1
# if any harness crashed (or failed to build). See tests/fuzz/README.md.
#
#   bash tests/fuzz/run-fuzzers.sh [SECONDS] [HARNESS...]     # default: 60 s each, every harness
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build jobs, default nproc),
# DANCE_BUILD_LOCK (file to flock around the build, default /tmp/build.lock; empty = no lock),
# FUZZ_WORK_DIR (where corpora, logs and crash inputs go; default a new directory under /tmp, removed when
# every harness passed),
# FUZZ_NICE (nice level of the fuzzers, default 0), FUZZ_CXX (default the newest clang++-N installed with
# N >= 16: 16 on Debian 12, 19 on Debian 13, as deploy/install-deps.sh installs them), FUZZ_TIMEOUT (seconds
# one input may take before libFuzzer calls it a hang, default 10; raise it on a loaded machine).
set -uo pipefail

seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: $0 [SECONDS] [HARNESS...]" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
# The newest versioned clang++ of 16 or later (Debian's unversioned clang++ is 14 on Debian 12, too old).
newest_clang() {
  local version
  for version in $(seq 40 -1 16); do
    command -v "clang++-$version" >/dev/null && { echo "clang++-$version"; return; }
  done
  echo clang++-16  # reported as not found below
}
cxx=${FUZZ_CXX:-$(newest_clang)}
lock=${DANCE_BUILD_LOCK-/tmp/build.lock}
all_harnesses=(clientname http_request http_response lorawan_answer config_loader tlsa_reply route_decision)
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${all_harnesses[@]}")

# Longest input each harness is given: a ClientName is at most 256 bytes; requests, bodies, configs and DNS
# messages of a few kilobytes reach every limit the harnesses set.
declare -A max_len=([clientname]=300 [http_request]=4096 [http_response]=4096 [lorawan_answer]=4096
                    [config_loader]=4096 [tlsa_reply]=2048 [route_decision]=1024)

summary() {
  echo "fuzz: $1 passed, $2 failed"
}

for name in "${harnesses[@]}"; do
  if [[ -z ${max_len[$name]:-} ]]; then
    echo "unknown harness: $name (known: ${all_harnesses[*]})" >&2
    exit 2
  fi
done

# --- build (idempotent: cmake only reconfigures and rebuilds what changed) ---
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found: run deploy/install-deps.sh as root (clang-N, libclang-rt-N-dev, llvm-N: N = 16" \
    "on Debian 12, 19 on Debian 13)" >&2
  summary 0 "${#harnesses[@]}"
  exit 1
fi
sanitizers="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
build_log=$build/fuzz-build.log
mkdir -p "$build"
with_lock() {
  if [[ -n $lock ]]; then flock "$lock" "$@"; else "$@"; fi
}
targets=()
for name in "${harnesses[@]}"; do targets+=(--target "fuzz_$name"); done
build_started=$SECONDS
if ! {
  cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-O1 -g -fno-omit-frame-pointer $sanitizers -D_GLIBCXX_ASSERTIONS" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DDANCE_TESTS=ON -DDANCE_FUZZ=ON -DDANCE_WERROR=OFF -DDANCE_SANITIZE=OFF &&
    with_lock cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" "${targets[@]}"
} >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  echo "fuzz: build failed (log: $build_log)" >&2
  summary 0 "${#harnesses[@]}"
  exit 1
fi
echo "fuzz: harnesses built in $((SECONDS - build_started)) s ($build)"

# --- run ---
work=${FUZZ_WORK_DIR:-$(mktemp -d /tmp/dance-fuzz.XXXXXX)}
mkdir -p "$work"
fuzz_env=(ASAN_OPTIONS="${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
          UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
symbolizer=$(command -v "llvm-symbolizer-${cxx##*-}" || command -v llvm-symbolizer || true)
[[ -z $symbolizer ]] || fuzz_env+=(ASAN_SYMBOLIZER_PATH="$symbolizer")
passed=0
failed=0
for name in "${harnesses[@]}"; do
  corpus=$work/$name/corpus
  artifacts=$work/$name/artifacts
  log=$work/$name/fuzz.log
  rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts"
  cp "$root/tests/fuzz/corpus/$name/"* "$corpus/"
  dict=()
  [[ ! -f $root/tests/fuzz/dict/$name.dict ]] || dict=(-dict="$root/tests/fuzz/dict/$name.dict")
  started=$(date +%s.%N)
  # The fuzzer's own -max_total_time ends the run; the outer timeout only guards against a hung process.
  (
    cd "$work/$name" &&
      env "${fuzz_env[@]}" timeout --kill-after=30 $((seconds + 120)) nice -n "${FUZZ_NICE:-0}" \
      "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len="${max_len[$name]}" -timeout="${FUZZ_TIMEOUT:-10}" \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$artifacts/" "$corpus" </dev/null
  ) >"$log" 2>&1
  rc=$?
  elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [[ -n $execs ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
  crash_inputs=$(find "$artifacts" -type f | wc -l)
  if ((rc == 0 && crash_inputs == 0)); then
    verdict=OK
    passed=$((passed + 1))
  else
    verdict=CRASH
    failed=$((failed + 1))
  fi
  echo "fuzz $name: ${execs:-0} execs in $elapsed s, ${cov:-0} coverage, $verdict"
  if [[ $verdict == CRASH ]]; then
    grep -E 'INVARIANT VIOLATED|ERROR: |SUMMARY: |Test unit written|^  ' "$log" | head -n 12 | sed 's/^/    /' >&2
    echo "    log: $log; inputs: $artifacts (rerun one: $build/tests/fuzz/fuzz_$name FILE)" >&2
  fi
done
if ((failed == 0)) && [[ -z ${FUZZ_WORK_DIR:-} ]]; then
  rm -rf "$work"  # nothing to look at: the grown corpora are not kept
else
  echo "fuzz: work directory $work"
fi
summary "$passed" "$failed"
((failed == 0))
