#!/usr/bin/env bash
# Builds the container images of deploy/Dockerfile with podman on a fresh Debian 12 or 13 machine, as root, with no
# registry but Debian's archive:
#   1. installs podman, buildah and debootstrap if missing (apt-get);
#   2. makes sure podman runs containers here: /etc/containers/containers.conf with runtime = "runc" and
#      default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"] (written if the file does not exist, else
#      checked): where the container runtime may not raise rlimits, podman's defaults fail to start anything;
#   3. creates the base images localhost/debian:13 and localhost/debian:13-slim, if missing, from
#      `debootstrap --variant=minbase trixie` + `podman import` (no Docker Hub);
#   4. builds dance-sidecar:VERSION (stage runtime, FROM scratch) and dance-unbound:VERSION (stage unbound),
#      and with --test-peers also dance-test-peers:VERSION (the join server and NS emulator of the tests).
# Prints the size of each image built. Options:
#   --tag-prefix P     image names P/dance-sidecar:VERSION ... (default: localhost; always qualified, since
#                      podman may resolve a short name to another local repository)
#   --test-peers       also build the test-peers stage (tests/deploy/test_pod.py needs it)
#   --only-sidecar     skip the unbound image
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DANCE_BUILD_LOCK (a file to flock while
# compiling, for shared build machines).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="localhost/" test_peers=0 unbound=1
while (($#)); do
  case $1 in
    --tag-prefix) prefix="${2%/}/"; shift 2 ;;
    --test-peers) test_peers=1; shift ;;
    --only-sidecar) unbound=0; shift ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1mbuild-image:\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (podman builds as root here; rootless needs subuid set-up)"
version=$(sed -n 's/^project(dance-sidecar VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[[ -n $version ]] || die "no version in CMakeLists.txt"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# 1. Tools.
missing=()
# catatonit and slirp4netns: pods (the pause image is built locally) with a network of their own.
for tool in podman:podman buildah:buildah debootstrap:debootstrap runc:runc catatonit:catatonit slirp4netns:slirp4netns; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" netavark aardvark-dns uidmap >/dev/null
fi

# 2. Engine settings.
conf=/etc/containers/containers.conf
if [[ ! -e $conf ]]; then
  say "writing $conf (runtime runc, nofile 1024:20000, nproc 4096)"
  mkdir -p /etc/containers
  cat >"$conf" <<'END'
# Written by dance-sidecar's deploy/build-image.sh (see deploy/README.md, "Container image").
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
END
else
  grep -Eq '^\s*runtime\s*=\s*"runc"' "$conf" ||
    say "warning: $conf does not set runtime = \"runc\" under [engine]; if containers fail to start, add it"
  grep -Eq '^\s*default_ulimits\s*=.*nofile.*nproc|^\s*default_ulimits\s*=.*nproc.*nofile' "$conf" ||
    say "warning: $conf sets no default_ulimits for nofile and nproc; if containers fail with \"error setting rlimit\", add default_ulimits = [\"nofile=1024:20000\", \"nproc=4096:4096\"] under [containers]"
fi

# 3. Base images (Debian 13 minbase: what debian:13-slim is, made here from Debian's archive).
if ! podman image exists localhost/debian:13 || ! podman image exists localhost/debian:13-slim; then
  rootfs=$(mktemp -d /var/tmp/dance-debootstrap.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap --variant=minbase trixie from $mirror (a few minutes)"
  debootstrap --variant=minbase trixie "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    die "debootstrap failed, see $rootfs.log"
  cat >"$rootfs/etc/apt/sources.list" <<END
deb $mirror trixie main
deb $mirror trixie-updates main
deb ${mirror%/debian}/debian-security trixie-security main
END
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs.log"
  say "importing it as localhost/debian:13 and localhost/debian:13-slim"
  tar --numeric-owner -C "$rootfs" -c . |
    podman import --change 'CMD ["/bin/bash"]' - localhost/debian:13 >/dev/null
  podman tag localhost/debian:13 localhost/debian:13-slim
  rm -rf "$rootfs"
  trap - EXIT
fi

# 4. Images. The build context is the repository root; Dockerfile.dockerignore keeps .git and build trees out.
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build() {  # target image [nolock]: only stages that compile wait for DANCE_BUILD_LOCK
  say "building $2 (stage $1)"
  local lock=()
  [[ -n ${DANCE_BUILD_LOCK:-} && -z ${3:-} ]] && lock=(flock "$DANCE_BUILD_LOCK")
  "${lock[@]}" podman build --pull=never --layers --network host -f deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore \
    --target "$1" -t "$2" \
    --label org.opencontainers.image.created="$created" \
    --label org.opencontainers.image.revision="$revision" \
    --label org.opencontainers.image.version="$version" .
}
images=()
if ((unbound)); then
  build unbound "${prefix}dance-unbound:$version" nolock
  images+=("${prefix}dance-unbound:$version")
fi
build build-deps "localhost/dance-build-deps:$version" nolock  # downloads only; cached afterwards
build runtime "${prefix}dance-sidecar:$version"
images=("${prefix}dance-sidecar:$version" "${images[@]}")
if ((test_peers)); then
  build test-peers "${prefix}dance-test-peers:$version"
  images+=("${prefix}dance-test-peers:$version")
fi

for image in "${images[@]}"; do
  size=$(podman image inspect --format '{{.Size}}' "$image")
  compressed=$(podman save --format oci-archive "$image" 2>/dev/null | gzip -c | wc -c)
  awk -v i="$image" -v s="$size" -v c="$compressed" \
    'BEGIN { printf "%-40s %6.1f MB on disk, %6.1f MB gzip-compressed\n", i, s / 1e6, c / 1e6 }'
done
