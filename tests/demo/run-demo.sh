#!/usr/bin/env bash
# The whole mission in one command: installs what is needed, builds dance-sidecar, starts a local DNSSEC
# lab (nsd + validating unbound), a LoRaWAN join server behind an inbound sidecar and an outbound sidecar
# in front of it, sends a JoinReq through the chain and shows what each side saw. Then an unlisted identity
# and a forged certificate are refused. Last, "two partners, zero config": one routing outbound listener finds
# two Join Servers by their JoinEUI in the signed zones (A record, CNAME, NAPTR -> SRV) and answers a missing
# and an unsigned one as TS002 says. Nothing is left running unless --keep is given.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" = 0 ]; then
  bash deploy/install-deps.sh
fi
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target dance-sidecar lorawan-join-server lorawan-ns-emulator
export DANCE_SIDECAR="$PWD/$build_dir/cli/dance-sidecar"
export JOIN_SERVER="$PWD/$build_dir/tests/peers/lorawan-join-server"
export NS_EMULATOR="$PWD/$build_dir/tests/peers/lorawan-ns-emulator"
exec /usr/bin/python3 tests/demo/demo.py "$@"
