#!/usr/bin/env bash
# Hermetic DNSSEC lab: a test PKI, nsd serving a signed fake root, TLD and example zone on loopback,
# and a validating unbound in front of it. See README.md next to this script.
#
#   lab.sh start DIR [--netns] [--dot]    build everything in DIR, start the servers, write DIR/lab.env
#                                         and DIR/lab.json; --netns: inside a private network namespace,
#                                         nsd on 127.0.0.1:53 and zones under TLD "lab"; --dot (or
#                                         LAB_DOT=1): unbound also serves DNS over TLS on its own port
#   lab.sh stop DIR                       stop the servers started in DIR (idempotent)
#   lab.sh set-tlsa DIR OWNER "U S M HEX[; U S M HEX...]" [TTL]
#                                         replace (or with "" delete) the TLSA RRset at OWNER, re-sign,
#                                         reload nsd and flush the zone from unbound's cache
#   lab.sh exec-netns DIR -- CMD [ARG...] run CMD in a new network namespace with a --netns lab started
#                                         in DIR and its lab.env exported; stop the lab afterwards
#                                         (unshare -n as root, unshare -rn otherwise)
#   lab.sh netns-check                    exit 0 if exec-netns can work here, else print why and exit 1
# Environment: LAB_BASE_PORT (nsd, unbound, unbound-control on BASE, BASE+1, BASE+2; default: free
# ports), LAB_JS_PORT (also publish _PORT._tcp.js TLSA for a join server on that port), LAB_FED_PORT
# (publish the federation servers' TLSA at _PORT._tcp, see README.md), LAB_DOT=1 (same as --dot; the DoT
# port is BASE+3).
set -euo pipefail

LAB_SH=$(readlink -f "${BASH_SOURCE[0]}")
LAB_HOME=$(dirname "$LAB_SH")
source "$LAB_HOME/lib/common.sh"
source "$LAB_HOME/lib/names.sh"
source "$LAB_HOME/lib/pki.sh"
source "$LAB_HOME/lib/zones.sh"
source "$LAB_HOME/lib/servers.sh"
source "$LAB_HOME/lib/env.sh"

set_paths() {  # $1: lab dir
  mkdir -p "$1"
  LAB_DIR=$(readlink -f "$1")
  PKI_DIR=$LAB_DIR/pki
  KEYS_DIR=$LAB_DIR/keys
  ZONES_DIR=$LAB_DIR/zones
  PIDS_DIR=$LAB_DIR/pids
  UNBOUND_CONF=$LAB_DIR/unbound.conf
  TRUST_ANCHOR_FILE=$LAB_DIR/root.anchor
  TRUST_ANCHOR_DS_FILE=$LAB_DIR/root.ds
}

# A namespace from unshare -n has nothing but a loopback interface; the host has more.
in_private_netns() {
  local init
  if init=$(readlink /proc/1/ns/net 2>/dev/null) && [[ $init == "$(readlink /proc/self/ns/net)" ]]; then
    return 1
  fi
  [[ $(ip -o link show | awk -F': ' '{ print $2 }') == lo ]]
}

choose_ports() {
  local ports
  if [[ -n ${LAB_BASE_PORT:-} ]]; then
    ports="$LAB_BASE_PORT $((LAB_BASE_PORT + 1)) $((LAB_BASE_PORT + 2)) $((LAB_BASE_PORT + 3))"
  else
    ports=$(free_ports $((LAB_DOT ? 4 : 3)))
  fi
  read -r NSD_PORT UNBOUND_PORT UNBOUND_CONTROL_PORT UNBOUND_DOT_PORT <<<"$ports"
  ((LAB_DOT)) || UNBOUND_DOT_PORT=""
  [[ $LAB_MODE == netns ]] && NSD_PORT=53
  return 0
}

# Two labs may race for the same free port: retry with new ones unless the ports were given.
start_with_ports() {  # $1: serial
  local attempt
  for attempt in 1 2 3; do
    choose_ports
    write_nsd_conf
    write_unbound_conf
    start_servers
    if wait_for_servers "$1"; then
      return 0
    fi
    echo "attempt $attempt with ports $NSD_PORT $UNBOUND_PORT $UNBOUND_CONTROL_PORT $UNBOUND_DOT_PORT failed" >>"$LAB_DIR/start.log"
    stop_servers
    [[ -z ${LAB_BASE_PORT:-} ]] || break
  done
  tail -n 20 "$LAB_DIR/nsd.log" "$LAB_DIR/unbound.log" >&2 || true
  die "the servers did not start; logs are in $LAB_DIR"
}

cmd_start() {  # $1: dir, then the options --netns, --dot
  [[ $# -ge 1 ]] || die "usage: lab.sh start DIR [--netns] [--dot]"
  local dir=$1 option
  shift
  LAB_MODE=host
  [[ ${LAB_DOT:-0} == 1 ]] && LAB_DOT=1 || LAB_DOT=0
  for option in "$@"; do
    case $option in
      --netns) LAB_MODE=netns ;;
      --dot) LAB_DOT=1 ;;
      *) die "unknown option $option" ;;
    esac
  done
  if [[ $LAB_MODE == netns ]]; then
    in_private_netns || die "--netns needs a private network namespace (use lab.sh exec-netns, or unshare -rn)"
    ip link set lo up
  fi
  set_paths "$dir"
  [[ ! -e $LAB_DIR/lab.env ]] || die "$LAB_DIR already holds a lab; stop it and use a fresh directory"
  trap stop_servers EXIT  # a start that fails half-way leaves nothing running
  LAB_TLD=${LAB_TLD:-$([[ $LAB_MODE == netns ]] && echo lab || echo test)}
  LAB_ZONE=example.$LAB_TLD
  NSD_ADDR=127.0.0.1
  UNBOUND_ADDR=127.0.0.1
  JS_ADDR=127.0.0.1
  define_names
  mkdir -p "$ZONES_DIR" "$PIDS_DIR"

  make_dnssec_keys &
  make_pki
  ((LAB_DOT)) && make_dot_pki
  wait
  [[ -f $KEYS_DIR/key-for-.name ]] || die "ldns-keygen failed"
  define_tlsa_values
  write_trust_anchors
  write_initial_tlsa_sets
  build_zones "$(next_serial)"
  start_with_ports "$(cat "$ZONES_DIR/serial")"

  NSD_PID=$(cat "$PIDS_DIR/nsd")
  UNBOUND_PID=$(cat "$PIDS_DIR/unbound")
  ROOT_SERVERS=$([[ $LAB_MODE == netns ]] && echo 127.0.0.1 || echo "")
  UNBOUND_STATS_CMD="unbound-control -c $UNBOUND_CONF stats_noreset"
  UNBOUND_QUERY_COUNTER=total.num.queries
  write_lab_env
  trap - EXIT
}

load_lab() {  # $1: dir
  set_paths "$1"
  [[ -f $LAB_DIR/lab.env ]] || die "no lab in $LAB_DIR"
  source "$LAB_DIR/lab.env"
}

cmd_stop() {  # $1: dir
  [[ $# -eq 1 ]] || die "usage: lab.sh stop DIR"
  [[ -d $1 ]] || return 0
  set_paths "$1"
  stop_servers
}

normalise_name() { local name=${1%.}; echo "${name,,}"; }

zone_of_owner() {  # $1: normalised owner
  if [[ $1 == "$INSECURE_ZONE" || $1 == *".$INSECURE_ZONE" ]]; then
    echo "$INSECURE_ZONE"
  elif [[ $1 == "$LAB_ZONE" || $1 == *".$LAB_ZONE" ]]; then
    echo "$LAB_ZONE"
  elif [[ $1 == "$FED_ZONE" || $1 == *".$FED_ZONE" ]]; then
    echo "$FED_ZONE"
  else
    die "$1 is not in $LAB_ZONE or $FED_ZONE"
  fi
}

# $1: tlsa set file, $2: owner, $3: records separated by ";", $4: TTL ("" = keep the old one, or 300).
replace_tlsa_set() {
  local file=$1 owner=$2. records=$3 ttl=$4 record
  if [[ -z $ttl ]]; then
    ttl=$(awk -v o="$owner" '$1 == o { print $2; exit }' "$file")
    ttl=${ttl:-300}
  fi
  [[ $ttl =~ ^[0-9]+$ ]] || die "bad TTL '$ttl'"
  awk -v o="$owner" '$1 != o' "$file" >"$file.new"
  IFS=';' read -ra parts <<<"$records"
  for record in "${parts[@]}"; do
    record=$(echo "$record" | xargs)
    [[ -z $record ]] && continue
    [[ $record =~ ^[0-9]{1,3}\ [0-9]{1,3}\ [0-9]{1,3}\ [0-9a-fA-F]+$ ]] || die "bad TLSA rdata '$record'"
    echo "$owner $ttl $record" >>"$file.new"
  done
  mv -f "$file.new" "$file"
}

cmd_set_tlsa() {  # $1: dir, $2: owner, $3: rdata, $4: optional TTL
  [[ $# -ge 3 && $# -le 4 ]] || die "usage: lab.sh set-tlsa DIR OWNER \"U S M HEX\" [TTL]"
  load_lab "$1"
  local owner serial
  owner=$(normalise_name "$2")
  replace_tlsa_set "$ZONES_DIR/$(zone_of_owner "$owner").tlsa" "$owner" "$3" "${4:-}"
  serial=$(next_serial)
  build_zones "$serial"
  kill -HUP "$NSD_PID"
  wait_for_dns 10 "$NSD_ADDR" "$NSD_PORT" "$LAB_ZONE" "$serial" || die "nsd did not load serial $serial"
  wait_for_dns 10 "$NSD_ADDR" "$NSD_PORT" "$INSECURE_ZONE" "$serial" || die "nsd did not load serial $serial"
  wait_for_dns 10 "$NSD_ADDR" "$NSD_PORT" "$FED_ZONE" "$serial" || die "nsd did not load serial $serial"
  record_nsd_workers
  unbound-control -c "$UNBOUND_CONF" flush_zone "$LAB_ZONE" >/dev/null
  unbound-control -c "$UNBOUND_CONF" flush_zone "$FED_ZONE" >/dev/null
}

# A private network namespace: root makes one directly (unshare -n); anyone else through a user namespace
# (unshare -rn), which the kernel refuses inside a chroot and where unprivileged user namespaces are disabled.
netns_unshare_option() {
  if ((EUID == 0)); then printf '%s\n' -n; else printf '%s\n' -rn; fi
}

cmd_netns_check() {  # exit 0 if exec-netns can work here; else print why on stdout and exit 1
  local option error why
  option=$(netns_unshare_option)
  error=$(unshare "$option" true 2>&1) && return 0
  why="unshare $option: ${error:-failed}"
  # Inside a chroot / is not the root of PID 1 (readable by root only).
  if [[ -r /proc/1/root/. && $(stat -c %d:%i /) != "$(stat -c %d:%i /proc/1/root/. 2>/dev/null)" ]] ||
     { ((EUID != 0)) && command -v ischroot >/dev/null && ischroot; }; then
    why+=" (this is a chroot: the kernel refuses user namespaces in one; run as root, a plain network"
    why+=" namespace is used)"
  fi
  echo "$why"
  return 1
}

cmd_exec_netns() {  # $1: dir, "--", command...
  [[ $# -ge 3 && $2 == -- ]] || die "usage: lab.sh exec-netns DIR -- CMD [ARG...]"
  exec unshare "$(netns_unshare_option)" -- "$LAB_SH" _inside-netns "$1" "${@:3}"
}

cmd_inside_netns() {  # $1: dir, command...
  NETNS_LAB_DIR=$1
  shift
  ip link set lo up
  trap '"$LAB_SH" stop "$NETNS_LAB_DIR"' EXIT
  "$LAB_SH" start "$NETNS_LAB_DIR" --netns
  set -a
  source "$NETNS_LAB_DIR/lab.env"
  set +a
  local rc=0
  "$@" || rc=$?
  return "$rc"
}

main() {
  [[ $# -ge 1 ]] || die "usage: lab.sh start|stop|set-tlsa|exec-netns DIR ... | netns-check"
  local command=$1
  shift
  case $command in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    set-tlsa) cmd_set_tlsa "$@" ;;
    exec-netns) cmd_exec_netns "$@" ;;
    netns-check) cmd_netns_check ;;
    _inside-netns) cmd_inside_netns "$@" ;;
    *) die "unknown command $command" ;;
  esac
}

main "$@"
