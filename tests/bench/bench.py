#!/usr/bin/python3
"""dance-sidecar benchmarks (issue 7), all on loopback: handshakes per CPU-second versus HAProxy and the
crypto ceiling, request rate and latency through the sidecar chain versus an HAProxy chain, RSS per idle
TLS connection, cold-path latency per DNS mode. Started by run.sh; writes results/latest.{md,csv,json}."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import configs, history, plot, procs, report, speed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_SH = os.path.join(HERE, "..", "dnslab", "lab.sh")
GOLDEN_DEV_EUI = "0102030405060708"  # tests/peers/vectors.hpp
GOLDEN_NWK_KEY = "01020304050607080102030405060708"
WORKERS = 1  # the same for dance-sidecar (workers) and HAProxy (nbthread)


def read_lab_env(lab_dir):
    env = {}
    with open(os.path.join(lab_dir, "lab.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            env[key] = value.strip("'")
    return env


class Bench:
    def __init__(self, args, workdir, lab):
        self.args = args
        self.workdir = workdir
        self.lab = lab
        self.group = procs.Group(workdir)
        self.rows = []
        self.notes = {}
        self.admin_ports = {}  # inbound sidecar listen port -> its admin port (metrics)

    # ---- processes -------------------------------------------------------------------------------------
    def start_join_server(self):
        port = procs.free_port()
        devices = configs.write_devices(f"{self.workdir}/devices.json", GOLDEN_DEV_EUI, GOLDEN_NWK_KEY)
        process = self.group.start("join-server", [self.args.join_server, "--listen", f"127.0.0.1:{port}",
                                                   "--config", devices])
        procs.wait_for_port(port, process)
        return port

    def start_sidecar(self, name, config):
        process = self.group.start(name, [self.args.sidecar, "run", "-c", config])
        return process

    def start_inbound(self, name, port, backend_port, dns_mode="trust-ad"):
        admin_port = procs.free_port()
        config = configs.inbound_yaml(f"{self.workdir}/{name}.yaml", self.lab, port=port, backend_port=backend_port,
                                      workers=WORKERS, admin_port=admin_port, dns_mode=dns_mode)
        self.admin_ports[port] = admin_port
        process = self.start_sidecar(name, config)
        procs.wait_for_port(port, process)
        return process

    def start_haproxy(self, name, config):
        subprocess.run(["haproxy", "-c", "-q", "-f", config], check=True)
        return self.group.start(name, ["haproxy", "-db", "-f", config])

    # ---- the load generator ----------------------------------------------------------------------------
    def handshake_load(self, port, client, *extra, timeout=120):
        args = [self.args.handshake_load, "--port", str(port), "--sni", self.lab["NAME_JS"],
                "--server-tlsa", self.lab["TLSA_JS"], *client, *extra]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if not done.stdout.strip():
            raise RuntimeError(f"handshake_load failed: {done.stderr.strip()}")
        return json.loads(done.stdout.splitlines()[0])

    def dane_client(self, client_id=None):
        pki = self.lab["PKI_DIR"]
        return ["--cert", f"{pki}/ns-a.pem", "--key", f"{pki}/ns-a.key",
                "--client-id", client_id or self.lab["NAME_NS_A"]]

    def pkix_client(self):
        return ["--cert", self.hapki["client_cert"], "--key", f"{self.lab['PKI_DIR']}/ns-a.key",
                "--client-id", self.lab["NAME_NS_A"]]

    def emulate(self, url, *extra, timeout=180):
        args = [self.args.ns_emulator, "--url", url, "--keepalive", "--no-verify", *extra]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if not done.stdout.strip():
            raise RuntimeError(f"ns emulator failed: {done.stderr.strip()}")
        summary = json.loads(done.stdout)
        if summary["result_codes"].get("Success", 0) != summary["requests"]:
            raise RuntimeError(f"not every JoinReq succeeded through {url}: {summary}")
        return summary

    # ---- 1. handshakes ---------------------------------------------------------------------------------
    def measure_handshakes(self, label, port, pid, client):
        self.handshake_load(port, client, "--duration-s", "1", "--concurrency", "4")  # warm TLSA cache
        before = procs.cpu_seconds(pid)
        result = self.handshake_load(port, client, "--duration-s", str(self.args.handshake_s),
                                     "--concurrency", "8")
        cpu = procs.cpu_seconds(pid) - before
        if result["succeeded"] == 0:
            raise RuntimeError(f"{label}: no handshake succeeded: {result['first_error']}")
        per_cpu_s = result["succeeded"] / cpu if cpu > 0 else float("nan")
        print(f"  {label}: {result['succeeded']} handshakes, {result['per_second']:.0f}/s wall, "
              f"{cpu:.2f} CPU-s, {per_cpu_s:.0f}/CPU-s, failures {result['failed']}", flush=True)
        return {"handshakes": result["succeeded"], "failed": result["failed"], "cpu_s": cpu,
                "per_cpu_s": per_cpu_s, "wall_per_s": result["per_second"], "ms_cpu": 1000 / per_cpu_s}

    def section_handshakes(self):
        print("1. handshakes", flush=True)
        ours = self.measure_handshakes("dance-sidecar", self.port_in, self.inbound.pid, self.dane_client())
        theirs = self.measure_handshakes("haproxy", self.port_hin, self.haproxy_in.pid, self.pkix_client())
        prices = speed.measure()
        ceiling = speed.handshake_ceiling(prices)
        self.notes["speed"] = prices
        self.notes["profile_handshake"] = {"ours": ours, "haproxy": theirs}
        self.add("handshakes", "TLS 1.3 mTLS handshakes per server CPU-second", ours["per_cpu_s"],
                 theirs["per_cpu_s"], ">= 1.0x HAProxy", ours["per_cpu_s"] >= theirs["per_cpu_s"], "/CPU-s")
        self.add("handshakes", "server CPU per handshake", ours["ms_cpu"], theirs["ms_cpu"], "", None, "ms")
        self.add("handshakes", "handshakes per second, wall clock (loop client on the other core)",
                 ours["wall_per_s"], theirs["wall_per_s"], "", None, "/s")
        self.add("handshakes", "crypto ceiling 1/(2 X25519 + P-256 sign + verify), fraction reached",
                 ours["per_cpu_s"] / ceiling, theirs["per_cpu_s"] / ceiling, ">= 60% of ceiling",
                 ours["per_cpu_s"] / ceiling >= 0.6, f"of {ceiling:.0f}/s", fraction=True)

    # ---- 2. requests -----------------------------------------------------------------------------------
    def max_rate(self, url, pids):
        calibration = self.emulate(url, "--count", "1500", "--concurrency", "16")
        count = max(2000, int(calibration["requests_per_second"] * self.args.request_s))
        before = sum(procs.cpu_seconds(pid) for pid in pids)
        summary = self.emulate(url, "--count", str(count), "--concurrency", "16")
        summary["proxy_cpu_us_per_request"] = (sum(procs.cpu_seconds(pid) for pid in pids) - before) * 1e6 / count
        return summary

    def fixed_rate(self, url, rate, samples_file=None):
        # Warm-up at the same rate first: the emulator's 256 connections make both outbound proxies grow
        # their upstream pools (new TLS handshakes), which is start-up cost, not steady-state latency.
        self.emulate(url, "--count", str(max(200, int(rate * 2))), "--concurrency", "256", "--rate", f"{rate:.1f}")
        count = max(500, int(rate * self.args.request_s))
        extra = ["--latencies-out", samples_file] if samples_file else []
        return self.emulate(url, "--count", str(count), "--concurrency", "256", "--rate", f"{rate:.1f}", *extra)

    def section_requests(self):
        print("2. requests", flush=True)
        chains = {"ours": f"http://127.0.0.1:{self.port_out}/", "haproxy": f"http://127.0.0.1:{self.port_hout}/"}
        direct = f"http://127.0.0.1:{self.port_js}/"
        pids = {"ours": [self.inbound.pid, self.outbound.pid], "haproxy": [self.haproxy_in.pid, self.haproxy_out.pid]}
        peak = {name: self.max_rate(url, pids[name]) for name, url in chains.items()}
        for name, summary in peak.items():
            print(f"  {name}: max {summary['requests_per_second']:.0f} req/s, "
                  f"{summary['proxy_cpu_us_per_request']:.0f} us proxy CPU per request", flush=True)
        half = {name: peak[name]["requests_per_second"] / 2 for name in chains}
        os.makedirs(self.args.results, exist_ok=True)
        samples = {name: f"{self.args.results}/latency-{name}.txt" for name in (*chains, "backend")}
        at_half = {name: self.fixed_rate(url, half[name], samples[name]) for name, url in chains.items()}
        backend_only = self.fixed_rate(direct, half["ours"], samples["backend"])
        plot.latency_png(f"{self.args.results}/latency.png", samples, half)
        for name, summary in at_half.items():
            print(f"  {name} at {half[name]:.0f}/s: {summary['latency_ms']}", flush=True)
        print(f"  join server alone at {half['ours']:.0f}/s: {backend_only['latency_ms']}", flush=True)
        self.notes["requests"] = {"peak": peak, "half": at_half, "backend_only": backend_only}
        ours_rps, theirs_rps = peak["ours"]["requests_per_second"], peak["haproxy"]["requests_per_second"]
        self.add("requests", "keep-alive JoinReq/s, NS emulator -> outbound -> inbound -> join server", ours_rps,
                 theirs_rps, ">= 1.0x HAProxy chain", ours_rps >= theirs_rps, "/s")
        self.add("requests", "CPU of both proxies per request at max rate", peak["ours"]["proxy_cpu_us_per_request"],
                 peak["haproxy"]["proxy_cpu_us_per_request"], "", None, "us")
        for key in ("p50", "p99", "p99.9"):
            self.add("requests", f"latency {key} at 50% of own max (constant rate)",
                     at_half["ours"]["latency_ms"][key], at_half["haproxy"]["latency_ms"][key], "", None, "ms")
        added = at_half["ours"]["latency_ms"]["p99"] - backend_only["latency_ms"]["p99"]
        added_haproxy = at_half["haproxy"]["latency_ms"]["p99"] - backend_only["latency_ms"]["p99"]
        self.add("requests", "added p99 over the join server alone at the same rate", added, added_haproxy,
                 "<= 1 ms", added <= 1.0, "ms")

    # ---- 3. memory -------------------------------------------------------------------------------------
    def rss_per_connection(self, label, port, pid, client):
        before = procs.rss_kib(pid)
        args = [self.args.handshake_load, "--port", str(port), "--sni", self.lab["NAME_JS"], "--server-tlsa",
                self.lab["TLSA_JS"], *client, "--hold", str(self.args.connections), "--concurrency", "32",
                "--duration-s", "240"]
        holder = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            summary = json.loads(holder.stdout.readline())
            time.sleep(3)  # let the server finish the last handshakes it has read
            after = procs.rss_kib(pid)
            fds = procs.open_fds(pid)
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
        held = summary["succeeded"]
        if held == 0:
            raise RuntimeError(f"{label}: no connection held: {summary['first_error']}")
        per = (after - before) * 1024 / held
        print(f"  {label}: {held} held ({summary['failed']} failed), RSS {before} -> {after} KiB, "
              f"{fds} fds, {per:.0f} B/connection", flush=True)
        return {"held": held, "failed": summary["failed"], "rss_before_kib": before, "rss_after_kib": after,
                "server_fds": fds, "bytes_per_connection": per}

    def section_memory(self):
        print("3. memory", flush=True)
        ours = self.rss_per_connection("dance-sidecar", self.port_in, self.inbound.pid, self.dane_client())
        theirs = self.rss_per_connection("haproxy", self.port_hin, self.haproxy_in.pid, self.pkix_client())
        self.notes["memory"] = {"ours": ours, "haproxy": theirs}
        self.add("memory", f"RSS per idle TLS connection at {self.args.connections} connections (held "
                 f"{ours['held']} / {theirs['held']})", ours["bytes_per_connection"] / 1024,
                 theirs["bytes_per_connection"] / 1024, "<= HAProxy",
                 ours["bytes_per_connection"] <= theirs["bytes_per_connection"], "KiB")

    # ---- 4. cold path ----------------------------------------------------------------------------------
    def server_seconds(self, port):
        """(TLSA lookup seconds, handshake seconds) summed so far by the inbound sidecar on `port`: its own
        timers, dance_tlsa_lookup_duration_seconds and dance_handshake_duration_seconds (accept to outcome)."""
        url = f"http://127.0.0.1:{self.admin_ports[port]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
        sums = {"dance_tlsa_lookup_duration_seconds_sum": 0.0, "dance_handshake_duration_seconds_sum": 0.0}
        for line in text.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in sums:
                sums[name] += float(line.rsplit(" ", 1)[1])
        return sums["dance_tlsa_lookup_duration_seconds_sum"], sums["dance_handshake_duration_seconds_sum"]

    def cold_samples(self, port, zone, samples):
        """One new connection per never-seen identity; each sample splits the client's time to the answer into
        the sidecar's TLSA lookup (DNS + DNSSEC validation), the rest of its handshake (accept to verdict minus
        the lookup) and the remainder (TCP connect, the request, the answer)."""
        measured = []
        for i in range(samples):
            name = f"b{i}-{uuid.uuid4().hex[:8]}.cold.{zone}"  # matched by the *.cold wildcard TLSA
            lookup_before, handshake_before = self.server_seconds(port)
            result = self.handshake_load(port, self.dane_client(name), "--count", "1", "--duration-s", "30")
            if result["succeeded"] != 1:
                raise RuntimeError(f"cold path with {name} failed: {result['first_error']}")
            lookup_after, handshake_after = self.server_seconds(port)
            total = result["latency_ms"]["p50"]
            lookup = (lookup_after - lookup_before) * 1000
            handshake = (handshake_after - handshake_before) * 1000
            measured.append({"total_ms": total, "lookup_ms": lookup, "handshake_without_lookup_ms": handshake - lookup,
                             "connect_request_answer_ms": total - handshake})
        return sorted(measured, key=lambda sample: sample["total_ms"])

    def section_cold(self):
        print("4. cold path", flush=True)
        samples = self.args.cold_samples
        warm = self.handshake_load(self.port_in, self.dane_client(), "--count", str(samples), "--duration-s", "30")
        haproxy_new = self.handshake_load(self.port_hin, self.pkix_client(), "--count", str(samples),
                                          "--duration-s", "30")
        modes = {"trust-ad": self.cold_samples(self.port_in, self.lab["LAB_ZONE"], samples)}
        port_validate = procs.free_port()
        validating = self.start_inbound("inbound-validate", port_validate, self.port_js, dns_mode="validate")
        modes["validate"] = self.cold_samples(port_validate, self.lab["LAB_ZONE"], samples)
        self.group.stop(validating)
        modes["recursive"] = self.cold_recursive_in_netns(samples)
        baseline = haproxy_new["latency_ms"]["p50"]
        self.notes["cold"] = {"modes": modes, "warm": warm, "haproxy_new_connection": haproxy_new}
        for mode, measured in modes.items():
            if not measured:
                self.add("cold path", f"never-seen identity -> answer, {mode} (not measured)", None, baseline,
                         "", None, "ms")
                continue
            self.add_cold_rows(mode, measured, baseline)
        self.add("cold path", "warm identity, new connection (baseline: HAProxy new connection)",
                 warm["latency_ms"]["p50"], baseline, "", None, "ms")

    def add_cold_rows(self, mode, measured, baseline):
        def median(key):
            values = sorted(sample[key] for sample in measured)
            return values[len(values) // 2]

        total = median("total_ms")
        target = "<= 5 ms" if mode == "trust-ad" else ""
        print(f"  {mode}: median {total:.2f} ms, max {measured[-1]['total_ms']:.2f} ms; lookup "
              f"{median('lookup_ms'):.2f}, rest of handshake {median('handshake_without_lookup_ms'):.2f}, connect + "
              f"request + answer {median('connect_request_answer_ms'):.2f} ms", flush=True)
        self.add("cold path", f"never-seen identity -> JoinAns-sized answer, {mode} (median of {len(measured)}; "
                 f"baseline: HAProxy new connection)", total, baseline, target, total <= 5.0 if target else None,
                 "ms")
        for key, what in (("lookup_ms", "TLSA lookup + DNSSEC validation (sidecar's timer)"),
                          ("handshake_without_lookup_ms", "rest of the handshake, accept to verdict"),
                          ("connect_request_answer_ms", "TCP connect + request + answer (client time - handshake)")):
            self.add("cold path", f"  {mode}, of which: {what}", median(key), None, "", None, "ms")

    def cold_recursive_in_netns(self, samples):
        out = f"{self.workdir}/cold-recursive.json"
        netns_lab = f"{self.workdir}/lab-netns"
        args = ["bash", LAB_SH, "exec-netns", netns_lab, "--", "/usr/bin/python3", os.path.abspath(__file__),
                "--cold-recursive-out", out, "--samples", str(samples), *self.binary_args()]
        done = subprocess.run(args, capture_output=True, text=True, timeout=240)
        if done.returncode != 0 or not os.path.exists(out):
            print(f"  recursive mode failed: {done.stderr.strip()[-800:]}", flush=True)
            return []
        with open(out) as f:
            return json.load(f)

    def binary_args(self):
        return ["--sidecar", self.args.sidecar, "--join-server", self.args.join_server,
                "--ns-emulator", self.args.ns_emulator, "--handshake-load", self.args.handshake_load]

    # ---- where the handshake CPU goes (perf) -------------------------------------------------------------
    def profile(self, label, port, pid, client, seconds=6):
        os.makedirs(self.args.results, exist_ok=True)
        data = f"{self.args.results}/perf-{label}.data"  # kept for perf report / perf annotate
        recorder = subprocess.Popen(["perf", "record", "-q", "-F", "499", "--call-graph", self.args.perf_call_graph,
                                     "-p", str(pid), "-o", data],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.handshake_load(port, client, "--duration-s", str(seconds), "--concurrency", "8")
        finally:
            recorder.send_signal(2)  # SIGINT: perf writes its data and exits
            recorder.wait(timeout=60)
        texts = []
        for sort in ("dso", "dso,symbol"):
            done = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
                                   "--percent-limit", "1.5", "-g", "none"], capture_output=True, text=True)
            lines = [re.sub(r"(\s+-)+\s*$", "", line).rstrip() for line in done.stdout.splitlines()]
            texts.append("\n".join(line for line in lines if line and not line.startswith("#")))
        return texts

    def section_profile(self):
        if shutil.which("perf") is None:
            print("profile: perf not installed, skipped", flush=True)
            return
        print("5. profile (perf, server side of the handshake benchmark)", flush=True)
        ours = self.profile("dance-sidecar", self.port_in, self.inbound.pid, self.dane_client())
        theirs = self.profile("haproxy", self.port_hin, self.haproxy_in.pid, self.pkix_client())
        text = (f"## dance-sidecar inbound, by library\n{ours[0]}\n\n## by symbol\n{ours[1]}\n\n"
                f"## HAProxy, by library\n{theirs[0]}\n\n## by symbol\n{theirs[1]}\n")
        self.notes["profile_text"] = text
        print(text, flush=True)

    # ---- results ---------------------------------------------------------------------------------------
    def add(self, section, metric, ours, baseline, target, met, unit, fraction=False):
        self.rows.append(report.Row(section, metric, ours, baseline, target, met, unit, fraction))

    def setup_main(self):
        self.hapki = configs.make_haproxy_pki(self.workdir, self.lab)
        self.port_js = self.start_join_server()
        self.port_in = int(self.lab["JS_PORT_USED"])
        self.inbound = self.start_inbound("inbound", self.port_in, self.port_js)
        self.port_out = procs.free_port()
        outbound = configs.outbound_yaml(f"{self.workdir}/outbound.yaml", self.lab, port=self.port_out,
                                         upstream_port=self.port_in, workers=WORKERS, admin_port=procs.free_port())
        self.outbound = self.start_sidecar("outbound", outbound)
        procs.wait_for_port(self.port_out, self.outbound)
        self.port_hin, self.port_hout = procs.free_port(), procs.free_port()
        self.haproxy_in = self.start_haproxy("haproxy-inbound", configs.haproxy_inbound_cfg(
            f"{self.workdir}/haproxy-in.cfg", self.hapki, port=self.port_hin, backend_port=self.port_js,
            threads=WORKERS))
        procs.wait_for_port(self.port_hin, self.haproxy_in)
        self.haproxy_out = self.start_haproxy("haproxy-outbound", configs.haproxy_outbound_cfg(
            f"{self.workdir}/haproxy-out.cfg", self.lab, self.hapki, port=self.port_hout,
            upstream_port=self.port_hin, threads=WORKERS))
        procs.wait_for_port(self.port_hout, self.haproxy_out)


def publish_cold_wildcard(lab):
    subprocess.run(["bash", LAB_SH, "set-tlsa", lab["LAB_DIR"], f"*.cold.{lab['LAB_ZONE']}", lab["TLSA_NS_A"]],
                   check=True, capture_output=True)


def cold_recursive_main(args):
    """Runs inside `lab.sh exec-netns`: recursive mode needs the fake root on port 53 of a private netns."""
    lab = read_lab_env(os.environ["LAB_DIR"])
    publish_cold_wildcard(lab)
    with tempfile.TemporaryDirectory(prefix="bench-netns-") as workdir:
        bench = Bench(args, workdir, lab)
        try:
            port_js = bench.start_join_server()
            port = procs.free_port()
            bench.start_inbound("inbound-recursive", port, port_js, dns_mode="recursive")
            measured = bench.cold_samples(port, lab["LAB_ZONE"], args.samples)
        except Exception:
            with open(f"{workdir}/inbound-recursive.log") as log:
                sys.stderr.write(log.read()[-1500:])  # the sidecar's reason: its log dies with the netns
            raise
        finally:
            bench.group.stop_all()
    with open(args.cold_recursive_out, "w") as f:
        json.dump(measured, f)


def machine_description():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    haproxy = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "haproxy": haproxy, "openssl": openssl, "workers": WORKERS}


def main():
    parser = argparse.ArgumentParser()
    for binary in ("--sidecar", "--join-server", "--ns-emulator", "--handshake-load"):
        parser.add_argument(binary, required=True)
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    parser.add_argument("--history", default=os.path.join(HERE, "history.csv"),
                        help="CSV the run's headline figures are appended to ('' = none)")
    parser.add_argument("--handshake-s", type=float, default=10)
    parser.add_argument("--request-s", type=float, default=8)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--samples", "--cold-samples", dest="cold_samples", type=int, default=15)
    parser.add_argument("--sections", default="handshakes,requests,memory,cold,profile")
    parser.add_argument("--perf-call-graph", default="fp", help="fp, or dwarf to see into libcrypto (slower)")
    parser.add_argument("--cold-recursive-out")
    args = parser.parse_args()
    args.samples = args.cold_samples
    if args.cold_recursive_out:
        return cold_recursive_main(args)

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="dance-bench-")
    lab_dir = f"{workdir}/lab"
    js_port = procs.free_port()
    subprocess.run(["bash", LAB_SH, "start", lab_dir], check=True, capture_output=True,
                   env={**os.environ, "LAB_JS_PORT": str(js_port)})
    bench = None
    try:
        lab = read_lab_env(lab_dir)
        lab["JS_PORT_USED"] = str(js_port)
        publish_cold_wildcard(lab)
        bench = Bench(args, workdir, lab)
        bench.setup_main()
        sections = {"handshakes": bench.section_handshakes, "requests": bench.section_requests,
                    "memory": bench.section_memory, "cold": bench.section_cold,
                    "profile": bench.section_profile}
        for name in args.sections.split(","):
            sections[name]()
    finally:
        if bench:
            bench.group.stop_all()
        subprocess.run(["bash", LAB_SH, "stop", lab_dir], capture_output=True)
    machine = machine_description()
    machine["duration_s"] = round(time.monotonic() - started)
    os.makedirs(args.results, exist_ok=True)
    report.write(args.results, bench.rows, machine, bench.notes)
    history.append(args.history, bench.rows, machine)
    print(open(os.path.join(args.results, "latest.md")).read())
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
