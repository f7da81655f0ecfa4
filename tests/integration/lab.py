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
import signal
import subprocess
import tempfile
import time

LAB_SH = pathlib.Path(__file__).resolve().parent.parent / "dnslab" / "lab.sh"


class DnsLab:
    """netns=True only inside a private network namespace (unshare -rn): nsd then serves on port 53."""

    def __init__(self, netns=False, base_port=None, js_port=None, fed_port=None):
        """js_port: also publish _<js_port>._tcp.js.<zone> TLSA (LAB_JS_PORT); fed_port: publish the federation
        servers' TLSA at _<fed_port>._tcp (LAB_FED_PORT, tests/dnslab/README.md)."""
        self.netns = netns
        self.base_port = base_port
        self.js_port = js_port
        self.fed_port = fed_port
        self.dir = None
        self.env = {}
        self.restarted_unbound = None  # the Popen of an unbound started again by start_unbound()

    def start(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="dnslab-"))
        command = [str(LAB_SH), "start", str(self.dir)] + (["--netns"] if self.netns else [])
        environment = dict(os.environ)
        if self.base_port:
            environment["LAB_BASE_PORT"] = str(self.base_port)
        if self.js_port:
            environment["LAB_JS_PORT"] = str(self.js_port)
        if self.fed_port:
            environment["LAB_FED_PORT"] = str(self.fed_port)
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
        if self.restarted_unbound is not None:  # stopped by lab.sh (its PID is in pids/unbound): reap it
            self.restarted_unbound.kill()
            self.restarted_unbound.wait()
            self.restarted_unbound = None
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

    def unbound_pid(self):
        """PID of the running unbound (lab.sh's pids/unbound; start_unbound() updates it)."""
        return int((self.dir / "pids" / "unbound").read_text().split()[0])

    def kill_unbound(self):
        """SIGKILL to unbound (a crash: no goodbye), and waits until it is gone. Its port is then closed."""
        pid = self.unbound_pid()
        os.kill(pid, signal.SIGKILL)
        if self.restarted_unbound is not None and self.restarted_unbound.pid == pid:
            self.restarted_unbound.wait()
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return  # dead; its parent (not us) reaps it
            except FileNotFoundError:
                return
            time.sleep(0.02)
        raise RuntimeError(f"unbound {pid} still alive after SIGKILL")

    def start_unbound(self):
        """Starts unbound again with the lab's configuration (same port, cold cache), waits until it answers."""
        log = open(self.dir / "unbound.log", "a")
        process = subprocess.Popen(["unbound", "-d", "-c", self.env["UNBOUND_CONF"]], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log)
        log.close()
        self.restarted_unbound = process
        (self.dir / "pids" / "unbound").write_text(f"{process.pid}\n")  # lab.sh stop stops this one
        wait = LAB_SH.parent / "lib" / "wait_dns.py"
        subprocess.run([str(wait), "--pid", str(process.pid), "20", "127.0.0.1", str(self.UNBOUND_PORT), "."],
                       check=True, capture_output=True, timeout=60)

    def pause_unbound(self):
        """SIGSTOP: unbound holds its port but answers nothing (queries queue in its socket buffer)."""
        os.kill(self.unbound_pid(), signal.SIGSTOP)

    def resume_unbound(self):
        os.kill(self.unbound_pid(), signal.SIGCONT)
