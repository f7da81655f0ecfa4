#!/usr/bin/env bash
# Checks deploy/systemd/dance-sidecar.service with systemd's own tools:
#  - `systemd-analyze verify` must print nothing: it exits 0 even for unknown or misspelt directives and
#    only warns, so any output fails the test;
#  - `systemd-analyze security --offline` must rate the sandbox 2.5 ("OK") or better.
# verify needs the binary that ExecStart names, so a copy of the unit points at the freshly built one.
# Usage: check_systemd_unit.sh UNIT_FILE DANCE_SIDECAR_BINARY
set -euo pipefail
unit=$1
binary=$2
skip=77

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
  exit $skip
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy="$work/$(basename "$unit")"
sed "s|/usr/local/bin/dance-sidecar|$binary|g" "$unit" >"$copy"

grep -q '^ExecStart=/usr/local/bin/dance-sidecar run -c ' "$unit" ||
  { echo "FAIL: ExecStart must run /usr/local/bin/dance-sidecar run -c FILE"; exit 1; }
for directive in 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' 'NoNewPrivileges=yes' \
                 'ProtectSystem=strict' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'DynamicUser=yes'; do
  grep -qxF "$directive" "$unit" || { echo "FAIL: missing directive: $directive"; exit 1; }
done

if ! output=$(systemd-analyze verify "$copy" 2>&1); then
  if grep -qiE 'Failed to (connect|initialize)|System has not been booted|not supported' <<<"$output"; then
    echo "SKIP: systemd-analyze verify cannot run in this environment:"
    echo "$output"
    exit $skip
  fi
  echo "FAIL: systemd-analyze verify:"
  echo "$output"
  exit 1
fi
if [ -n "$output" ]; then
  echo "FAIL: systemd-analyze verify warned:"
  echo "$output"
  exit 1
fi
echo "ok: systemd-analyze verify clean"

# --threshold counts in tenths: 25 = exposure level 2.5.
if ! report=$(systemd-analyze security --offline=yes --threshold=25 "$copy" 2>&1); then
  echo "FAIL: sandbox exposure above 2.5:"
  echo "$report"
  exit 1
fi
grep 'Overall exposure level' <<<"$report"
