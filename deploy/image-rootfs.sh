#!/usr/bin/env bash
# Assembles a minimal root file system for a FROM-scratch image: the given binaries in /usr/local/bin,
# exactly the shared libraries they load (ldd closure: DT_NEEDED, transitively, plus the dynamic loader),
# laid out as Debian does (merged /usr, multiarch), the CA bundle, the DNSSEC root anchor, and
# /etc/passwd + /etc/group naming user 10001. Used by deploy/Dockerfile; tests/deploy/test_dockerfile.py
# runs it on the host binary and starts the result in a chroot.
#   deploy/image-rootfs.sh DEST BINARY...
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 DEST BINARY..." >&2; exit 2; }
dest=$1
shift
mkdir -p "$dest/usr/local/bin" "$dest/usr/lib" "$dest/usr/lib64" "$dest/etc/ssl/certs" "$dest/tmp"
chmod 1777 "$dest/tmp"
ln -sfn usr/lib "$dest/lib"
ln -sfn usr/lib64 "$dest/lib64"

# Copies a file under the path the loader asks for (the symlink name), with the content of its target.
copy_as() {  # source path-in-image
  local target=$dest${2/#\/lib/\/usr\/lib}
  mkdir -p "$(dirname "$target")"
  cp -L --preserve=mode "$1" "$target"
}

for binary in "$@"; do
  install -m 0755 "$binary" "$dest/usr/local/bin/$(basename "$binary")"
  # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
  ldd "$binary" | while read -r first arrow path _; do
    if [[ $arrow == "=>" && $path == /* ]]; then
      copy_as "$path" "$path"
    elif [[ $first == /* ]]; then
      copy_as "$first" "$first"
    elif [[ $arrow == "=>" && $first != linux-vdso* ]]; then
      echo "image-rootfs: $binary: unresolved $first" >&2
      exit 1
    fi
  done
done

# TLS trust store (OpenSSL's default file, /usr/lib/ssl/cert.pem, points at it as on Debian).
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/"
  mkdir -p "$dest/usr/lib/ssl"
  ln -sfn /etc/ssl/certs/ca-certificates.crt "$dest/usr/lib/ssl/cert.pem"
  ln -sfn /etc/ssl/certs "$dest/usr/lib/ssl/certs"
fi
# Root trust anchor for dns.mode recursive / validate with trust_anchors: "" (getdns' default file).
if [[ -f /usr/share/dns/root.key ]]; then
  mkdir -p "$dest/usr/share/dns"
  cp -L /usr/share/dns/root.key "$dest/usr/share/dns/"
fi
printf 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\ndance:x:10001:10001:dance-sidecar:/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$dest/etc/passwd"
printf 'root:x:0:\ndance:x:10001:\nnogroup:x:65534:\n' >"$dest/etc/group"
