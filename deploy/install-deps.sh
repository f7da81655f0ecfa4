#!/usr/bin/env bash
# Installs every Debian package dance-sidecar needs to build, test, run the demo and the benchmarks, on
# Debian 12 (bookworm) or 13 (trixie). Idempotent: packages already present are left alone. Only Debian's
# archive is used.
set -euo pipefail

# The names differ between the two releases only in the clang/LLVM version of the fuzz build: the release's
# default clang is 14 on Debian 12 (too old for the project's C++20, see tests/fuzz/README.md), so 16 there;
# 19, the default, on Debian 13. DANCE_LLVM_VERSION overrides it (another release, another clang).
version_id=$(. /etc/os-release && echo "${VERSION_ID:-}")
if [[ -n ${DANCE_LLVM_VERSION:-} ]]; then
  llvm=$DANCE_LLVM_VERSION
else
  case $version_id in
    12) llvm=16 ;;
    13) llvm=19 ;;
    *)
      echo "install-deps: Debian 12 or 13 expected, this is" \
        "$(. /etc/os-release && echo "${PRETTY_NAME:-unknown}") (DANCE_LLVM_VERSION=N chooses the fuzz build's clang)" >&2
      exit 1
      ;;
  esac
fi

packages=(
  # build
  build-essential cmake pkg-config
  libssl-dev libevent-dev libgetdns-dev libyaml-cpp-dev prometheus-cpp-dev
  nlohmann-json3-dev libsimdjson-dev libhttp-parser-dev libcli11-dev doctest-dev
  # the image's allocator (-DDANCE_ALLOCATOR=jemalloc) and the bench's comparison of allocators
  libjemalloc-dev
  # DNS lab and integration tests
  nsd unbound ldnsutils openssl curl iproute2 procps
  python3 python3-pytest python3-yaml
  # metrics, deployment checks, benchmarks
  prometheus haproxy wrk yamllint dns-root-data
  # fuzzing (tests/fuzz): clang, libFuzzer, symbolizer
  "clang-$llvm" "libclang-rt-$llvm-dev" "llvm-$llvm"
  # container images and the pod test (deploy/build-image.sh, tests/deploy/test_pod.py): rootful podman
  podman buildah debootstrap runc catatonit slirp4netns netavark aardvark-dns
)

# kubectl for the deploy.kustomize test (kubectl kustomize with components): Debian 13 ships kubectl 1.32
# (package kubectl; kubernetes-client is its transitional name). Debian 12's kubernetes-client is 1.20,
# whose kustomize cannot build components: there, install_trixie_kubectl below takes Debian 13's.
if [[ $version_id == 13 ]]; then
  packages+=(kubectl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian 13's kubectl on Debian 12, for the tests only: it needs nothing but glibc 2.34. Its package is
# downloaded from Debian's archive through a private apt configuration (apt checks the archive's signature
# with the machine's debian-archive-keyring, which holds the trixie keys; the machine's sources, lists and
# packages are left alone) and its one binary goes to $KUBECTL_TARGET, outside PATH, where
# tests/deploy/check_kustomize.py looks for it. DEBIAN_MIRROR overrides http://deb.debian.org/debian.
install_trixie_kubectl() {
  local target=${KUBECTL_TARGET:-/usr/local/libexec/dance-sidecar/kubectl}
  [[ -x $target ]] && return 0
  local work
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/empty"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR:-http://deb.debian.org/debian} trixie main" \
    >"$work/sources.list"
  local private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/empty"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::Etc::Preferences=$work/empty/none"
    -o "Dir::Etc::PreferencesParts=$work/empty" -o APT::Sandbox::User=root)
  if apt-get "${private[@]}" update -qq && (cd "$work" && apt-get "${private[@]}" download -qq kubectl/trixie) &&
    dpkg-deb -x "$work"/kubectl_*.deb "$work/root"; then
    install -D -m 0755 "$work/root/usr/bin/kubectl" "$target"
  else
    echo "install-deps: Debian 13's kubectl could not be had; the deploy.kustomize test will be skipped" >&2
  fi
  rm -rf "$work"
}
if [[ $version_id == 12 ]]; then
  install_trixie_kubectl
fi

# npm, for the Kubernetes schema check (tests/deploy/k8s_schema.py fetches the npm package kubernetes-models
# once; without the npm registry it skips, saying so). Only where no npm is found (a Node.js from elsewhere
# ships its own, which Debian's package would conflict with), and never fatal.
install_npm() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }
if ! command -v npm >/dev/null 2>&1; then
  install_npm || { apt-get update -qq && install_npm; } ||
    echo "install-deps: Debian's npm could not be installed; the Kubernetes schema checks will be skipped" >&2
fi

# The Debian packages start system-wide daemons on port 53 / 9090; the tests run their own on loopback
# high ports and must not compete with them.
for service in nsd unbound prometheus haproxy; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service" || true
  fi
done
exit 0
