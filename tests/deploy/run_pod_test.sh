#!/usr/bin/env bash
# CTest deploy.pod: builds the images with deploy/build-image.sh --test-peers (podman's layer cache makes this
# quick when the tree has not changed since the last build) and runs tests/deploy/test_pod.py against them.
# Exit 77 (CTest: Skipped) with the reason printed where podman cannot run containers; never a silent pass.
# DANCE_POD_TEST=0 skips it the same visible way (for machines known to have no container runtime).
set -uo pipefail
cd "$(dirname "$0")/../.."
skip() { echo "SKIPPED: deploy.pod: $*"; exit 77; }

[[ ${DANCE_POD_TEST:-1} != 0 ]] || skip "DANCE_POD_TEST=0"
[[ $(id -u) == 0 ]] || skip "needs root: the images are built and run with rootful podman"

started=$SECONDS
if ! bash deploy/build-image.sh --test-peers; then
  if command -v podman >/dev/null && podman image exists localhost/debian:13; then
    probe=$(podman run --rm --pull=never --network none localhost/debian:13 true 2>&1) ||
      skip "podman cannot run a container here: ${probe: -400}"
  fi
  echo "FAILED: deploy/build-image.sh --test-peers"
  exit 1
fi
probe=$(podman run --rm --pull=never --network none --read-only --cap-drop ALL --user 10001:10001 \
  "localhost/dance-sidecar:$(sed -n 's/^project(dance-sidecar VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" --version 2>&1) ||
  skip "podman cannot run a container here: ${probe: -400}"
echo "deploy.pod: images ready in $((SECONDS - started)) s"

output=$(mktemp)
trap 'rm -f "$output"' EXIT
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs tests/deploy/test_pod.py 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
echo "deploy.pod: $((SECONDS - started)) s in all"
if ((status == 0)) && ! grep -Eq '[0-9]+ passed' "$output"; then
  skip "every pod test was skipped (reasons above)"
fi
exit "$status"
