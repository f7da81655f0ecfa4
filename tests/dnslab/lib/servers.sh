# nsd (authoritative for every lab zone) and unbound (validating, stubs every lab zone to nsd).
# Both run in the foreground of a background job so their PIDs are known at once; the PIDs of nsd's
# worker processes are recorded too, and stop waits for all of them.

write_nsd_conf() {
  local zone file
  cat >"$LAB_DIR/nsd.conf" <<END
server:
  ip-address: $NSD_ADDR@$NSD_PORT
  port: $NSD_PORT
  do-ip4: yes
  do-ip6: no
  reuseport: no
  server-count: 1
  tcp-count: 256
  username: ""
  chroot: ""
  zonesdir: "$ZONES_DIR"
  database: ""
  zonelistfile: "$LAB_DIR/nsd/zone.list"
  xfrdfile: "$LAB_DIR/nsd/xfrd.state"
  xfrdir: "$LAB_DIR/nsd"
  pidfile: "$LAB_DIR/nsd/nsd.pid"
  logfile: "$LAB_DIR/nsd.log"
  verbosity: 0
  hide-version: yes
  zonefiles-check: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
END
  for zone in root tld example insecure operator-b; do
    case $zone in
      root) file=. ;;
      tld) file=$LAB_TLD ;;
      example) file=$LAB_ZONE ;;
      insecure) file=$INSECURE_ZONE ;;
      operator-b) file=$FED_ZONE ;;
    esac
    printf 'zone:\n  name: "%s"\n  zonefile: "%s/%s.zone"\n' "$file" "$ZONES_DIR" "$zone" >>"$LAB_DIR/nsd.conf"
  done
}

write_unbound_conf() {
  local zone
  cat >"$UNBOUND_CONF" <<END
server:
  interface: $UNBOUND_ADDR@$UNBOUND_PORT
  port: $UNBOUND_PORT
  outgoing-interface: 127.0.0.1
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "$LAB_DIR"
  pidfile: "$LAB_DIR/unbound.pid"
  logfile: "$LAB_DIR/unbound.log"
  use-syslog: no
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  so-rcvbuf: 4m
  so-sndbuf: 4m
  num-queries-per-thread: 4096
  outgoing-range: 8192
  incoming-num-tcp: 256
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$TRUST_ANCHOR_FILE"
  extended-statistics: yes
  statistics-cumulative: yes
  statistics-interval: 0
  local-zone: "$LAB_TLD." nodefault
  local-zone: "refused.$LAB_ZONE." refuse
  hide-version: yes
remote-control:
  control-enable: yes
  control-interface: 127.0.0.1
  control-port: $UNBOUND_CONTROL_PORT
  control-use-cert: no
END
  ((LAB_DOT)) && write_unbound_dot_listener
  for zone in . "$LAB_TLD." "$LAB_ZONE." "$INSECURE_ZONE." "$FED_ZONE."; do
    printf 'stub-zone:\n  name: "%s"\n  stub-addr: %s@%s\n' "$zone" "$NSD_ADDR" "$NSD_PORT" >>"$UNBOUND_CONF"
  done
}

# --dot: a second interface that speaks only DNS over TLS (server: section, so before any stub-zone).
write_unbound_dot_listener() {
  cat >>"$UNBOUND_CONF" <<END
server:
  interface: $UNBOUND_ADDR@$UNBOUND_DOT_PORT
  tls-port: $UNBOUND_DOT_PORT
  tls-service-key: "$PKI_DIR/resolver.key"
  tls-service-pem: "$PKI_DIR/resolver.pem"
END
}

start_servers() {
  mkdir -p "$LAB_DIR/nsd" "$PIDS_DIR"
  nsd -d -c "$LAB_DIR/nsd.conf" </dev/null >>"$LAB_DIR/nsd.log" 2>&1 &
  echo $! >"$PIDS_DIR/nsd"
  unbound -d -c "$UNBOUND_CONF" </dev/null >>"$LAB_DIR/unbound.log" 2>&1 &
  echo $! >"$PIDS_DIR/unbound"
}

# [--pid PID] seconds address port zone [SOA serial it must serve]; gives up early if PID dies.
wait_for_dns() { "$LAB_HOME/lib/wait_dns.py" "$@"; }

descendants_of() {  # $1: pid
  local child
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants_of "$child"
  done
}

# Records nsd's helper and worker processes (forked after start, again on reload) for stop to wait on.
record_nsd_workers() {
  local file=$PIDS_DIR/nsd-workers
  { cat "$file" 2>/dev/null || true; descendants_of "$(cat "$PIDS_DIR/nsd")"; } | sort -u >"$file.new"
  mv -f "$file.new" "$file"
}

owns_port() {  # $1: pid, $2: u (UDP) or t (TCP listener), $3: port
  ss -Hln"$2"p "sport = :$3" | grep "pid=$1," >/dev/null
}

wait_for_servers() {  # $1: serial nsd must serve
  wait_for_dns --pid "$(cat "$PIDS_DIR/nsd")" 10 "$NSD_ADDR" "$NSD_PORT" "$LAB_ZONE" "$1" || return 1
  wait_for_dns --pid "$(cat "$PIDS_DIR/nsd")" 10 "$NSD_ADDR" "$NSD_PORT" "$FED_ZONE" "$1" || return 1
  wait_for_dns --pid "$(cat "$PIDS_DIR/unbound")" 10 "$UNBOUND_ADDR" "$UNBOUND_PORT" . || return 1
  # Another lab on the same ports would have answered too: the sockets must be ours.
  owns_port "$(cat "$PIDS_DIR/nsd")" u "$NSD_PORT" || return 1
  owns_port "$(cat "$PIDS_DIR/unbound")" u "$UNBOUND_PORT" || return 1
  owns_port "$(cat "$PIDS_DIR/unbound")" t "$UNBOUND_CONTROL_PORT" || return 1
  if ((LAB_DOT)); then owns_port "$(cat "$PIDS_DIR/unbound")" t "$UNBOUND_DOT_PORT" || return 1; fi
  record_nsd_workers
}

# Stops every PID recorded in $PIDS_DIR that still belongs to this lab; safe to call twice.
stop_servers() {
  [[ -d $PIDS_DIR ]] || return 0
  local file pid pids=()
  for file in "$PIDS_DIR"/*; do
    [[ -f $file ]] || continue
    for pid in $(cat "$file"); do
      pid_is_ours "$pid" "$LAB_DIR" && pids+=("$pid")
    done
  done
  if ((${#pids[@]} == 0)); then
    rm -f "$PIDS_DIR"/*
    return 0
  fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 500; i++)); do
    any_alive "${pids[@]}" || break
    sleep 0.02
  done
  if any_alive "${pids[@]}"; then
    kill -KILL "${pids[@]}" 2>/dev/null || true
    sleep 0.1
  fi
  rm -f "$PIDS_DIR"/*
}

any_alive() {
  local pid
  for pid in "$@"; do
    pid_is_ours "$pid" "$LAB_DIR" && return 0
  done
  return 1
}
