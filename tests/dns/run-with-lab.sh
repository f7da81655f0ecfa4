#!/usr/bin/env bash
# Starts a fresh DNS lab, runs the command with the lab's variables exported, stops the lab.
#   run-with-lab.sh [--netns] CMD [ARG...]
# --netns: the lab runs in a private network namespace (root servers on port 53, TLD "lab"), as
# recursive mode needs. Where no such namespace can be made (a user namespace in a chroot, not as root) it
# prints the reason and exits 77, which CTest reports as skipped.
set -euo pipefail
lab_sh=$(dirname "$(readlink -f "$0")")/../dnslab/lab.sh
netns=0
if [[ ${1:-} == --netns ]]; then
  netns=1
  shift
  if ! why=$("$lab_sh" netns-check); then
    echo "SKIPPED: the recursive-mode lab needs a private network namespace: $why"
    exit 77
  fi
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/dance-dns-lab.XXXXXX")
cleanup() {
  "$lab_sh" stop "$dir/lab" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
if ((netns)); then
  "$lab_sh" exec-netns "$dir/lab" -- "$@"
else
  "$lab_sh" start "$dir/lab" >/dev/null
  set -a
  source "$dir/lab/lab.env"
  set +a
  "$@"
fi
