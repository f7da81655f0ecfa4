"""Starts and stops the hermetic DNSSEC lab (tests/dnslab/lab.sh) from Python tests.

    from lab import DnsLab

    @pytest.fixture(scope="session")
    def dns_lab():
        with DnsLab() as lab:
            yield lab

    def test_something(dns_lab):
        dns_lab.UNBOUND_PORT, dns_lab.name_ns_a, dns_lab.tlsa_ns_a, dns_lab.pki("ns-a.pem") ...

Every key of lab.env/lab.json is an attribute, in upper or lower case. Set LAB_KEEP=1 to keep the
lab directory (logs, zones, PKI) after the tests.
"""
import atexit
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

LAB_SH = pathlib.Path(__file__).resolve().parent.parent / "dnslab" / "lab.sh"


class DnsLab:
    """netns=True only inside a private network namespace (unshare -rn): nsd then serves on port 53."""

    def __init__(self, netns=False, base_port=None, js_port=None):
        self.netns = netns
        self.base_port = base_port
        self.js_port = js_port
        self.dir = None
        self.env = {}

    def start(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="dnslab-"))
        command = [str(LAB_SH), "start", str(self.dir)] + (["--netns"] if self.netns else [])
        environment = dict(os.environ)
        if self.base_port:
            environment["LAB_BASE_PORT"] = str(self.base_port)
        if self.js_port:
            environment["LAB_JS_PORT"] = str(self.js_port)
        atexit.register(self.stop)
        result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(f"lab.sh start failed: {result.stderr.strip()}")
        self.env = json.loads((self.dir / "lab.json").read_text())
        return self

    def stop(self):
        if self.dir is None:
            return
        subprocess.run([str(LAB_SH), "stop", str(self.dir)], capture_output=True, timeout=60)
        if os.environ.get("LAB_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        atexit.unregister(self.stop)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __getattr__(self, key):
        env = self.__dict__.get("env", {})
        for candidate in (key, key.upper()):
            if candidate in env:
                return env[candidate]
        raise AttributeError(key)

    def pki(self, file_name):
        """Path of a PKI file, e.g. pki("ns-a.key")."""
        return pathlib.Path(self.env["PKI_DIR"]) / file_name

    def set_tlsa(self, owner, rdata, ttl=None):
        """Replaces the TLSA RRset at owner ("U S M HEX", several joined by ";", "" deletes it)."""
        command = [str(LAB_SH), "set-tlsa", str(self.dir), owner, rdata] + ([str(ttl)] if ttl else [])
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def unbound_stats(self):
        """unbound's counters as a dict (stats_noreset: reading does not clear them)."""
        output = subprocess.run(self.env["UNBOUND_STATS_CMD"].split(), check=True, capture_output=True,
                                text=True, timeout=30).stdout
        return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)

    def unbound_query_count(self):
        """How many queries unbound has received from clients so far."""
        return int(float(self.unbound_stats()[self.env["UNBOUND_QUERY_COUNTER"]]))
