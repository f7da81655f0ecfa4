"""Runs `dance-sidecar run -c` for a test: writes the config, waits for /readyz, scrapes /metrics, stops
with SIGTERM and insists on exit 0 and a sanitizer-clean stderr.

    with Sidecar(binary, tmp_dir, config) as sidecar:     # config: a dict, written as YAML (JSON syntax)
        sidecar.handshake_counts("join-server")           # {"ok": 3.0, "not_allowed": 1.0, ...}
        sidecar.metric("dance_connections_rejected_total", listener="join-server", reason="max_connections")
"""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

STARTUP_DEADLINE_S = 60  # a busy 2-core machine with ASan builds
STOP_DEADLINE_S = 30
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset of (label, value)): float}."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = frozenset(_LABEL.findall(match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def sanitizer_report(text):
    """The first sanitizer report in `text`, or ""."""
    for marker in SANITIZER_MARKERS:
        at = text.find(marker)
        if at >= 0:
            return text[max(0, at - 200):at + 3000]
    return ""


class Sidecar:
    def __init__(self, binary, workdir, config, name="sidecar"):
        self.binary = binary
        self.workdir = pathlib.Path(workdir)
        self.config = config
        self.config_file = self.workdir / f"{name}.yaml"
        self.stderr_file = self.workdir / f"{name}.stderr"
        self.admin_url = "http://" + config["admin"]["listen"]
        self.process = None

    def start(self):
        self.config_file.write_text(json.dumps(self.config, indent=2) + "\n")  # JSON is YAML
        with open(self.stderr_file, "wb") as stderr:
            self.process = subprocess.Popen([self.binary, "run", "-c", str(self.config_file)],
                                            stdout=subprocess.DEVNULL, stderr=stderr)
        self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dance-sidecar exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                with urllib.request.urlopen(self.admin_url + "/readyz", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except urllib.error.HTTPError as error:
                last = f"/readyz {error.code}: {error.read().decode(errors='replace')}"
            except OSError as error:
                last = str(error)
            time.sleep(0.05)
        raise AssertionError(f"dance-sidecar not ready after {STARTUP_DEADLINE_S} s ({last}):\n{self.stderr()}")

    def stderr(self):
        return self.stderr_file.read_text(errors="replace") if self.stderr_file.exists() else ""

    def log_lines(self):
        """The JSON log lines written so far (sanitizer output and other text is skipped)."""
        lines = []
        for line in self.stderr().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines

    def assert_clean(self):
        report = sanitizer_report(self.stderr())
        assert not report, f"sanitizer report in dance-sidecar's stderr:\n{report}"

    def metrics(self):
        with urllib.request.urlopen(self.admin_url + "/metrics", timeout=10) as reply:
            return parse_metrics(reply.read().decode())

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` (0 when none)."""
        wanted = set(labels.items())
        return sum(value for (sample, sample_labels), value in self.metrics().items()
                   if sample == name and wanted <= sample_labels)

    def handshake_counts(self, listener, direction="inbound"):
        """{result: count} of dance_handshakes_total for one listener."""
        counts = {}
        for (name, labels), value in self.metrics().items():
            label = dict(labels)
            if name == "dance_handshakes_total" and label.get("listener") == listener and \
                    label.get("direction") == direction:
                counts[label["result"]] = counts.get(label["result"], 0) + value
        return counts

    def stop(self):
        """SIGTERM; asserts exit 0 and no sanitizer report."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGABRT)  # ASan prints where it hung
                process.wait(timeout=STOP_DEADLINE_S)
                raise AssertionError(f"dance-sidecar ignored SIGTERM for {STOP_DEADLINE_S} s:\n{self.stderr()}")
        self.assert_clean()
        assert process.returncode == 0, f"dance-sidecar exited with {process.returncode}:\n{self.stderr()[-4000:]}"

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.stop()
        else:
            try:
                self.stop()
            except AssertionError as error:  # keep the original failure, but do not lose this one
                print(error)


def inbound_config(lab, backend_port, *, resolvers=None, workers=2, dns_timeout_ms=3000, max_ttl_s=3600,
                   negative_ttl_s=30, log_level="info", **listener):
    """A config with one inbound listener `join-server` on a free port, trust-ad against the lab's unbound.
    Keyword arguments override the listener's keys (client_auth, timeouts, max_connections, ...)."""
    inbound = {
        "name": "join-server",
        "listen": f"127.0.0.1:{free_port()}",
        "backend": f"127.0.0.1:{backend_port}",
        "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
        "client_auth": {"mode": "require", "allow": [f"*.{lab.LAB_ZONE}"], "ca_file": ""},
        "identity_header": "X-Dane-Client-Id",
        "timeouts": {"handshake_ms": 10000, "idle_ms": 60000, "backend_ms": 5000},
        "max_connections": 10000,
    }
    inbound.update(listener)
    return {
        "log": {"level": log_level, "format": "json"},
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "workers": workers,
        "drain_timeout_ms": 5000,
        "dns": {
            "resolvers": resolvers or [f"127.0.0.1:{lab.UNBOUND_PORT}"],
            "mode": "trust-ad",
            "transport": "udp",
            "timeout_ms": dns_timeout_ms,
            "cache": {"max_entries": 10000, "max_ttl_s": max_ttl_s, "negative_ttl_s": negative_ttl_s},
        },
        "dane_clientid": {"codepoint": 65498},
        "inbound": [inbound],
        "outbound": [],
    }


def listen_address(config):
    host, port = config["inbound"][0]["listen"].rsplit(":", 1)
    return host, int(port)


def sidecar_binary():
    binary = os.environ.get("DANCE_SIDECAR", "")
    assert binary and os.access(binary, os.X_OK), "DANCE_SIDECAR must name the dance-sidecar binary"
    return binary
