#!/usr/bin/python3
"""Handshakes per server CPU-second of the inbound sidecar on each heap allocator, before and after a burst of
10,000 held connections, side by side in one run.

One sidecar per allocator, all from the same Release binary (glibc's malloc, or Debian's jemalloc or
mimalloc by LD_PRELOAD: what -DDANCE_ALLOCATOR=jemalloc links), all behind the same DNS lab and join server.
The handshake measurements alternate between the sidecars (A B C A B C ...), so that this shared machine's
noise falls on all of them alike; the medians are compared. With --perf, one measurement per sidecar and phase
is profiled (perf record, cpu-clock) and the CPU share of the allocator's library and of libc is printed:
with glibc the share of libc grows after the burst (_int_malloc walking bins that the burst filled).

On demand (not in the test command), after tests/bench/run.sh has built build-release:

    python3 tests/bench/allocator_spike.py [--build-dir build-release] [--rounds 6] [--perf]
"""
import argparse
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402
from benchlib import configs, procs  # noqa: E402

LIBDIR = pathlib.Path("/usr/lib/x86_64-linux-gnu")
PRELOADS = {"jemalloc": ["libjemalloc.so.2"], "mimalloc": ["libmimalloc.so.3", "libmimalloc.so.2"]}


def allocators():
    """{name: LD_PRELOAD value or ''}: glibc, and each of the others that is installed."""
    found = {"glibc": ""}
    for name, files in PRELOADS.items():
        path = next((LIBDIR / f for f in files if (LIBDIR / f).exists()), None)
        if path:
            found[name] = str(path)
        else:
            print(f"({name} not installed: {' or '.join(files)} missing in {LIBDIR}; left out)")
    return found


def cpu_shares(perf_data, libraries):
    """{library: percent of the samples} from `perf report --sort dso`."""
    report = subprocess.run(["perf", "report", "-i", perf_data, "--no-children", "--sort", "dso", "--stdio"],
                            capture_output=True, text=True).stdout
    shares = {}
    for line in report.splitlines():
        words = line.split()
        if len(words) == 2 and words[0].endswith("%"):
            for library in libraries:
                if words[1].startswith(library):
                    shares[library] = shares.get(library, 0.0) + float(words[0].rstrip("%"))
    return shares


class Run:
    def __init__(self, args, workdir, lab):
        self.args = args
        self.bench = bench.Bench(args, workdir, lab)
        self.workdir = workdir
        self.sidecars = {}  # name -> (port, pid)
        self.per_cpu_s = {}  # (name, phase) -> [handshakes per CPU-second]
        self.profiles = {}  # (name, phase) -> perf data file

    def start(self, preloads):
        join_server = self.bench.start_join_server()
        for name, preload in preloads.items():
            port, admin = procs.free_port(), procs.free_port()
            config = configs.inbound_yaml(f"{self.workdir}/{name}.yaml", self.bench.lab, port=port,
                                          backend_port=join_server, workers=1, admin_port=admin)
            env = {**os.environ, "LD_PRELOAD": preload} if preload else dict(os.environ)
            process = self.bench.group.start(name, [self.args.sidecar, "run", "-c", config], env=env)
            procs.wait_for_port(port, process)
            self.sidecars[name] = (port, process.pid)

    def measure(self, phase):
        for round_number in range(self.args.rounds):
            for name, (port, pid) in self.sidecars.items():
                perf = None
                if self.args.perf and round_number == 1:
                    data = f"{self.workdir}/perf-{name}-{phase}.data"
                    # from the start of measure_handshakes' 1 s warm-up to about the end of its measurement
                    perf = subprocess.Popen(["perf", "record", "-F", "499", "-p", str(pid), "-o", data, "--",
                                             "sleep", str(self.args.handshake_s)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    self.profiles[(name, phase)] = data
                result = self.bench.measure_handshakes(f"{name} {phase}", port, pid, self.bench.dane_client())
                self.per_cpu_s.setdefault((name, phase), []).append(result["per_cpu_s"])
                if perf and perf.wait() != 0:
                    raise RuntimeError(f"perf record failed for {name} (perf_event_paranoid? run as root)")

    def burst(self):
        for name, (port, pid) in self.sidecars.items():
            self.bench.rss_per_connection(name, port, pid, self.bench.dane_client())
        time.sleep(2)

    def report(self, preloads):
        print(f"\nhandshakes per server CPU-second, median of {self.args.rounds} alternated measurements of "
              f"{self.args.handshake_s:g} s each; burst: {self.args.connections} connections held, then closed")
        print(f"{'allocator':10s} {'before':>8s} {'after':>8s} {'after/before':>13s} {'after vs glibc after':>21s}")
        glibc_after = statistics.median(self.per_cpu_s[("glibc", "after")])
        for name in preloads:
            before = statistics.median(self.per_cpu_s[(name, "before")])
            after = statistics.median(self.per_cpu_s[(name, "after")])
            print(f"{name:10s} {before:8.0f} {after:8.0f} {after / before:13.2f} {after / glibc_after:20.2f}x")
        if self.profiles:
            print("\nCPU share (perf, cpu-clock): libc / the preloaded allocator")
            for name, preload in preloads.items():
                libraries = ["libc.so"] + ([pathlib.Path(preload).name.split(".so")[0]] if preload else [])
                for phase in ("before", "after"):
                    shares = cpu_shares(self.profiles[(name, phase)], libraries)
                    print(f"  {name:10s} {phase:6s} " + ", ".join(f"{lib} {shares.get(lib, 0.0):.1f}%"
                                                                 for lib in libraries))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(HERE.parents[1] / "build-release"))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--handshake-s", type=float, default=5)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--perf", action="store_true", help="profile one measurement per sidecar and phase")
    args = parser.parse_args()
    build = pathlib.Path(args.build_dir)
    args.sidecar = str(build / "cli" / "dance-sidecar")
    args.join_server = str(build / "tests" / "peers" / "lorawan-join-server")
    args.handshake_load = str(build / "tests" / "bench" / "handshake_load")
    args.ns_emulator = None
    if args.perf and shutil.which("perf") is None:
        parser.error("--perf needs perf (Debian package linux-perf)")

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the burst: as many descriptors in every process
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    version = subprocess.run([args.sidecar, "--version"], capture_output=True, text=True).stdout
    if "heap: glibc malloc" not in version:
        parser.error(f"{args.sidecar} must be built with -DDANCE_ALLOCATOR=system (it says: {version.strip()})")
    preloads = allocators()
    workdir = tempfile.mkdtemp(prefix="dance-allocators-")
    lab_dir = f"{workdir}/lab"
    subprocess.run(["bash", bench.LAB_SH, "start", lab_dir], check=True, capture_output=True)
    run = None
    try:
        run = Run(args, workdir, bench.read_lab_env(lab_dir))
        run.start(preloads)
        run.measure("before")
        run.burst()
        run.measure("after")
        run.report(preloads)
    finally:
        if run:
            run.bench.group.stop_all()
        subprocess.run(["bash", bench.LAB_SH, "stop", lab_dir], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
