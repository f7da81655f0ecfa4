"""Real processes for integration tests and the demo: dance-sidecar, the LoRaWAN join server, free ports.

Every process started here is stopped by stop() (or at exit); a sidecar's stderr is kept so a test can
assert on its log lines and fail on any sanitizer report.
"""
import atexit
import json
import os
import pathlib
import resource
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 60  # a busy 2-core machine with ASan builds
# The golden device of the LoRaWAN test vectors (tests/peers/vectors.hpp): last JoinNonce 65535, so the next JoinAns is the golden one.
GOLDEN_DEVICE = "0102030405060708:01020304050607080102030405060708:01020304050607080102030405060708:65535"
GOLDEN_JOINREQ = (
    '{"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201","TransactionID":1234,'
    '"MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.0.2",'
    '"PHYPayload":"00010203040506070808070605040302010201cde6acb8","DevEUI":"0102030405060708",'
    '"DevAddr":"01020304","DLSettings":"15","RxDelay":1,"CFList":"988d8468958400000000000000000000"}'
)
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


_HANDED_OUT = set()


def free_port(kind=socket.SOCK_STREAM):
    """A port nothing listens on, never one this process handed out before: the kernel may return the same
    ephemeral port to two probes in a row, and a config whose listen and admin ports collide is refused."""
    while True:
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


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


def binary(variable, fallback):
    """Path of a built executable: from the environment CTest sets, else the usual build directory."""
    path = os.environ.get(variable) or str(REPO / "build" / fallback)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{variable}: {path} is not an executable (build first)")
    return path


def wait_for_port(port, timeout=10.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def limit_open_files(count):
    """A preexec_fn that gives the child at most `count` file descriptors; (soft, hard) sets the two apart."""
    soft, hard = count if isinstance(count, tuple) else (count, count)
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Process:
    def __init__(self, command, name, max_open_files=None):
        self.name = name
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-"))
        self.stderr_path = self.workdir / "stderr.log"
        self._stderr = open(self.stderr_path, "w")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._stderr,
                                        stdin=subprocess.DEVNULL,
                                        preexec_fn=limit_open_files(max_open_files) if max_open_files else None)
        atexit.register(self.kill)

    def log(self):
        return self.stderr_path.read_text(errors="replace")

    def log_events(self):
        """JSON log lines as dicts (non-JSON lines skipped)."""
        events = []
        for line in self.log().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
        return events

    def stop(self, timeout=30.0):
        """SIGTERM; returns the exit code. A process that ignores it gets SIGABRT (ASan prints where it
        hung), then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGABRT)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._stderr.close()
        atexit.unregister(self.kill)
        return self.process.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class JoinServer(Process):
    """tests/peers' LoRaWAN join server, recording the headers of every request it receives."""

    def __init__(self, extra=(), port=None):
        self.port = port or free_port()  # a port: a restart where the previous one listened
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="joinserver-rec-"))
        self.record_path = workdir / "received.jsonl"
        self.record_path.touch()
        super().__init__([binary("JOIN_SERVER", "tests/peers/lorawan-join-server"), "--listen",
                          f"127.0.0.1:{self.port}", "--device", GOLDEN_DEVICE, "--record",
                          str(self.record_path), *extra], "joinserver")
        wait_for_port(self.port, process=self.process)

    def records(self):
        return [json.loads(line) for line in self.record_path.read_text().splitlines() if line.strip()]


class Sidecar(Process):
    """dance-sidecar run -c <config written from a dict>; JSON logs on stderr; admin on a free port unless the
    config names one. As a context manager it stops the sidecar at the end and insists on exit 0 and a
    sanitizer-clean stderr."""

    def __init__(self, config, name="sidecar", max_open_files=None):
        config = dict(config)
        config.setdefault("log", {"level": "debug", "format": "json"})
        config.setdefault("admin", {"listen": f"127.0.0.1:{free_port()}"})
        config.setdefault("workers", 2)
        self.admin_port = int(config["admin"]["listen"].rsplit(":", 1)[1])
        self.config = config
        workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-config-"))
        self.config_path = workdir / "sidecar.yaml"
        self.write_config(config)
        super().__init__([binary("DANCE_SIDECAR", "cli/dance-sidecar"), "run", "-c", str(self.config_path)], name,
                         max_open_files)
        # The admin endpoint starts after every listener is bound. (Probing the listeners themselves would
        # count a failed handshake on each inbound one.)
        wait_for_port(self.admin_port, timeout=STARTUP_DEADLINE_S, process=self.process)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        code = self.stop()
        reports = self.sanitizer_reports()
        if exc_type is None:  # otherwise keep the test's own failure
            assert not reports, f"sanitizer report in {self.name}'s stderr:\n{reports[0]}"
            assert code == 0, f"{self.name} exited with {code}:\n{self.log()[-4000:]}"

    def write_config(self, config):
        # JSON is YAML: no YAML writer needed.
        self.config_path.write_text(json.dumps(config, indent=2))

    def reload(self):
        self.process.send_signal(signal.SIGHUP)

    def admin_get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metrics_text(self):
        return self.admin_get("/metrics")[1]

    def metric(self, name, **labels):
        """Sum of the series of `name` whose labels include all of `labels` (0 if none)."""
        wanted = {(key, str(value)) for key, value in labels.items()}
        return sum(value for (series, series_labels), value in parse_metrics(self.metrics_text()).items()
                   if series == name and wanted <= series_labels)

    def handshake_counts(self, listener, direction="inbound"):
        """{result: count} of dance_handshakes_total for one listener."""
        counts = {}
        for (name, labels), value in parse_metrics(self.metrics_text()).items():
            label = dict(labels)
            if name == "dance_handshakes_total" and label.get("listener") == listener and \
                    label.get("direction") == direction:
                counts[label["result"]] = counts.get(label["result"], 0) + value
        return counts

    def sanitizer_reports(self):
        report = sanitizer_report(self.log())
        return [report] if report else []

    def assert_clean(self):
        reports = self.sanitizer_reports()
        assert not reports, f"sanitizer report in {self.name}'s stderr:\n{reports[0]}"


def post(port, body=GOLDEN_JOINREQ, path="/api", timeout=10):
    """POST over plain HTTP; returns (status, parsed JSON body or text)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
