# Shared helpers for lab.sh: messages, time stamps, free ports, process bookkeeping.

die() {
  echo "lab.sh: $*" >&2
  exit 1
}

# ldns-signzone takes YYYYMMDDhhmmss in UTC.
utc_stamp() {  # $1: offset understood by date -d, e.g. "-1 hour"
  date -u -d "$1" +%Y%m%d%H%M%S
}

# Prints N loopback ports that are free for both UDP and TCP right now.
free_ports() {  # $1: count
  /usr/bin/python3 - "$1" <<'PY'
import socket, sys
found = []
while len(found) < int(sys.argv[1]):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        tcp.bind(("127.0.0.1", port))
        if port not in found:
            found.append(port)
    except OSError:
        pass
    finally:
        tcp.close()
        udp.close()
print(" ".join(map(str, found)))
PY
}

# A recorded PID counts as ours only while its command line still names the lab directory,
# so a recycled PID is never killed.
pid_is_ours() {  # $1: pid, $2: lab dir
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' </proc/"$1"/cmdline | grep -F -- "$2" >/dev/null
}
