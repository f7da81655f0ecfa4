"""One CSV row per bench run with its headline figures, appended to tests/bench/history.csv (tracked)."""
import csv
import os
import subprocess

COLUMNS = ["date", "commit", "dirty", "sections", "openssl", "haproxy", "cpu", "cores",
           "handshakes_per_cpu_s", "haproxy_handshakes_per_cpu_s", "handshakes_ratio", "ceiling_fraction",
           "requests_per_s", "requests_ratio", "p99_ms", "haproxy_p99_ms", "added_p99_ms",
           "idle_kib_per_conn", "haproxy_idle_kib_per_conn", "idle_ratio", "cold_trust_ad_ms"]


HERE = os.path.dirname(os.path.abspath(__file__))


def git(*args):
    """git's answer, or None where git cannot run (a Debian 13 chroot without git)."""
    try:
        done = subprocess.run(["git", "-C", HERE, *args], capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else ""


def head_commit():
    """The checked-out commit, read from .git when git itself is not installed."""
    commit = git("rev-parse", "--short=12", "HEAD")
    if commit is not None:
        return commit
    dot_git = os.path.join(HERE, "..", "..", "..", ".git")
    try:
        with open(os.path.join(dot_git, "HEAD")) as f:
            head = f.read().strip()
        if head.startswith("ref: "):
            with open(os.path.join(dot_git, head[5:])) as f:
                head = f.read().strip()
        return head[:12]
    except OSError:
        return ""


def dirty():
    status = git("status", "--porcelain", "--untracked-files=no")
    return "unknown" if status is None else "yes" if status else "no"


def find(rows, section, prefix):
    for row in rows:
        if row.section == section and row.metric.startswith(prefix):
            return row
    return None


def number(value, digits=3):
    return "" if value is None else f"{value:.{digits}g}" if abs(value) < 100 else f"{value:.0f}"


def append(path, rows, machine):
    if not path:
        return
    handshakes = find(rows, "handshakes", "TLS 1.3 mTLS handshakes per server CPU-second")
    ceiling = find(rows, "handshakes", "crypto ceiling")
    requests = find(rows, "requests", "keep-alive JoinReq/s")
    p99 = find(rows, "requests", "latency p99 at")
    added = find(rows, "requests", "added p99")
    memory = find(rows, "memory", "RSS per idle TLS connection")
    cold = find(rows, "cold path", "never-seen identity -> JoinAns-sized answer, trust-ad")
    sections = [name for name, row in (("handshakes", handshakes), ("requests", requests), ("memory", memory),
                                       ("cold", cold)) if row]

    def ratio(row):
        return "" if row is None or row.ratio() == "n/a" else row.ratio().rstrip("x")

    record = {
        "date": machine["date"], "commit": head_commit(), "dirty": dirty(),
        "sections": "+".join(sections), "openssl": machine["openssl"].split(" (")[0],
        "haproxy": " ".join(machine["haproxy"].split()[:3]), "cpu": machine["cpu"], "cores": machine["nproc"],
        "handshakes_per_cpu_s": number(handshakes and handshakes.ours),
        "haproxy_handshakes_per_cpu_s": number(handshakes and handshakes.baseline),
        "handshakes_ratio": ratio(handshakes),
        "ceiling_fraction": "" if ceiling is None else f"{ceiling.ours:.3f}",
        "requests_per_s": number(requests and requests.ours), "requests_ratio": ratio(requests),
        "p99_ms": number(p99 and p99.ours), "haproxy_p99_ms": number(p99 and p99.baseline),
        "added_p99_ms": number(added and added.ours),
        "idle_kib_per_conn": number(memory and memory.ours),
        "haproxy_idle_kib_per_conn": number(memory and memory.baseline), "idle_ratio": ratio(memory),
        "cold_trust_ad_ms": number(cold and cold.ours),
    }
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(record)
    print(f"history: one row appended to {path}", flush=True)
