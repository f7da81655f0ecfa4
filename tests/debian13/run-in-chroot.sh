#!/usr/bin/env bash
# Runs the test suite (tests/run-tests.sh) on Debian 13 (trixie) from a Debian 12 machine: creates a trixie
# chroot with debootstrap (or reuses one), bind-mounts this repository and its sibling ../shared at the same
# paths inside, mounts /proc, /sys and /dev (in a mount namespace of its own: the host's mounts are left alone),
# and runs the command as root inside.
#
#   sudo bash tests/debian13/run-in-chroot.sh                    # bash tests/run-tests.sh inside
#   sudo bash tests/debian13/run-in-chroot.sh -- CMD [ARG...]    # any other command, from the repository root
#
# Environment: CHROOT_DIR (default /srv/trixie), DEBIAN_SUITE (default trixie), DEBIAN_MIRROR (default
# http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security), used
# when the chroot is created. Passed into the chroot when set: FUZZ_SECONDS, FUZZ_JOBS, DANCE_POD_TEST,
# DANCE_BUILD_LOCK, ASAN_OPTIONS, UBSAN_OPTIONS; BUILD_DIR and FUZZ_BUILD_DIR default to build-deb13 and
# build-fuzz-deb13, so the Debian 12 build trees (build-test, build-fuzz) are left alone.
#
# Inside, as root, the DNS lab makes its network namespace with unshare -n (the kernel refuses the user
# namespace of unshare -rn in a chroot) and podman runs containers (the chroot's / is made a mount point).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
chroot_dir=${CHROOT_DIR:-/srv/trixie}
suite=${DEBIAN_SUITE:-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { echo "run-in-chroot: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "must run as root (chroot, mount)"
# The mounts are made in a mount namespace of this run's own: they vanish with it (nothing to undo, even after
# a crash), the host's mounts are left alone and concurrent runs do not unmount each other's.
if [[ -z ${DANCE_CHROOT_NAMESPACE:-} ]]; then
  DANCE_CHROOT_NAMESPACE=1 exec unshare --mount --propagation slave -- bash "$0" "$@"
fi

command=(bash tests/run-tests.sh)
if [[ ${1:-} == -- ]]; then
  shift
  (($#)) || die "usage: $0 [-- CMD [ARG...]]"
  command=("$@")
elif (($#)); then
  die "usage: $0 [-- CMD [ARG...]]"
fi

# --- the chroot ---
if [[ ! -f $chroot_dir/etc/debian_version ]]; then
  command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
  echo "run-in-chroot: creating a $suite chroot in $chroot_dir (debootstrap, a few minutes)"
  debootstrap "$suite" "$chroot_dir" "$mirror"
  cat >"$chroot_dir/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main
SOURCES
fi
# Daemons installed by apt-get inside (nsd, unbound, prometheus, haproxy) must not start: they would share the
# host's network and ports.
if [[ ! -x $chroot_dir/usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d"
  chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
fi
cp -L /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
[[ -s $chroot_dir/etc/hosts ]] || cp -L /etc/hosts "$chroot_dir/etc/hosts"

# --- mounts ---
mount_at() {  # mount_at TARGET MOUNT-ARGS...
  local target=$chroot_dir$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
}
# The chroot's / a mount point of its own, as a container's root is: podman's layer unpacking remounts / and
# fails with EINVAL on a plain directory.
mount --bind "$chroot_dir" "$chroot_dir"
mount_at /proc -t proc proc
mount_at /sys --rbind /sys
mount_at /dev --rbind /dev
mount_at /run -t tmpfs -o mode=755 tmpfs
mount_at "$root" --bind "$root"
shared=$(cd "$root/.." && pwd)/shared
[[ -d $shared ]] && mount_at "$shared" --bind "$shared"
# A git worktree's .git is a file naming the main repository's git directory: make that visible too.
git_common=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
if [[ -n $git_common && -d $git_common && $git_common != "$root"/* ]]; then
  mount_at "$git_common" --bind "$git_common"
fi

# --- run ---
environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
             TERM="${TERM:-dumb}" BUILD_DIR="${BUILD_DIR:-build-deb13}"
             FUZZ_BUILD_DIR="${FUZZ_BUILD_DIR:-$root/build-fuzz-deb13}")
for name in FUZZ_SECONDS FUZZ_JOBS DANCE_POD_TEST DANCE_BUILD_LOCK ASAN_OPTIONS UBSAN_OPTIONS; do
  [[ -n ${!name+set} ]] && environment+=("$name=${!name}")
done
echo "run-in-chroot: $(. "$chroot_dir/etc/os-release" && echo "$PRETTY_NAME") in $chroot_dir: ${command[*]}"
exec chroot "$chroot_dir" /usr/bin/env -i "${environment[@]}" /bin/bash -c 'cd "$1" && shift && exec "$@"' \
  run-in-chroot "$root" "${command[@]}"
