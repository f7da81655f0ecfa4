#!/usr/bin/python3
"""Does the inbound sidecar hold its max_connections inside the memory limit the Kubernetes manifest gives it?

Runs the sidecar image (deploy/build-image.sh) as deploy/kubernetes/js-deployment.yaml runs it: the config of
js-sidecar-configmap.yaml (only the lab's names and loopback ports patched in), the manifest's memory limit
with no swap, --read-only --cap-drop ALL --user 10001. Then handshake_load opens max_connections DANE-
authenticated TLS 1.3 connections (no request) and holds them while the container's cgroup is read:
memory.current and memory.peak (the kernel's own count: the process, its socket buffers and the kernel
objects of its sockets, which a process RSS does not show), memory.events' oom_kill, and the sidecar's
dance_connections_active. Exit 0 when every connection was held, nothing was OOM-killed and the memory the
kernel cannot reclaim (anonymous, kernel and socket) stayed under 85% of the limit, 1 otherwise.

On demand (not in the test command): root, podman, the image, a release build of tests/bench/handshake_load.

    python3 tests/bench/container_memory.py [--memory 448Mi] [--connections N] [--build-dir build-release]

--memory lower than the manifest's shows what a too-small limit does (the sidecar is OOM-killed).
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from lab import DnsLab  # noqa: E402
from processes import free_port, parse_metrics, wait_for_port  # noqa: E402

KUBERNETES = REPO / "deploy" / "kubernetes"
HEADROOM = 0.85  # of the limit, for what the kernel cannot reclaim
KERNEL_PARTS = ("slab", "kernel_stack", "pagetables", "percpu")  # cgroup v2 kernels without memory.stat "kernel"
VERSION = re.search(r"project\(dance-sidecar VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text()).group(1)
IMAGE = f"{os.environ.get('DANCE_IMAGE_PREFIX', 'localhost/')}dance-sidecar:{VERSION}"
MOUNT = "/etc/dance-sidecar"


def manifest_memory_limit():
    deployment = yaml.safe_load((KUBERNETES / "js-deployment.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    for container in spec.get("initContainers", []) + spec["containers"]:
        if container["image"].split("/")[-1].startswith("dance-sidecar"):
            return container["resources"]["limits"]["memory"]
    raise RuntimeError("no dance-sidecar container in js-deployment.yaml")


def bytes_of(quantity):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([KMG]i?|k)?", quantity)
    if not match:
        raise ValueError(f"not a Kubernetes memory quantity: {quantity}")
    return int(match.group(1)) * units.get(match.group(2) or "", 1)


def sidecar_config(lab, port, admin_port):
    configmap = yaml.safe_load((KUBERNETES / "js-sidecar-configmap.yaml").read_text())
    config = yaml.safe_load(configmap["data"]["sidecar.yaml"])
    config["admin"]["listen"] = f"127.0.0.1:{admin_port}"
    config["dns"]["resolvers"] = [f"127.0.0.1:{lab.UNBOUND_PORT}"]
    (listener,) = config["inbound"]
    listener["listen"] = f"127.0.0.1:{port}"
    listener["backend"] = f"127.0.0.1:{free_port()}"  # never reached: no request is sent
    listener["tls"] = {"cert": f"{MOUNT}/tls.crt", "key": f"{MOUNT}/tls.key"}
    listener["client_auth"]["allow"] = [lab.NAME_NS_A]
    return config


def memory_cgroup(pid):
    """(directory, 2 or 1): the process's memory cgroup, cgroup v2 (unified) or v1 (memory controller)."""
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "memory":
            return pathlib.Path("/sys/fs/cgroup/memory") / path.lstrip("/"), 1
        if controllers == "" and (pathlib.Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.current").exists():
            return pathlib.Path("/sys/fs/cgroup") / path.lstrip("/"), 2
    raise RuntimeError(f"no memory cgroup for process {pid}")


def read_cgroup(cgroup):
    """Bytes charged to the cgroup (current, peak) and what they are (anon, sock, kernel), and its OOM kills."""
    directory, version = cgroup

    def number(name):
        path = directory / name
        return int(path.read_text()) if path.exists() else None

    def pairs(name):
        return {key: int(value) for key, value in
                (line.split() for line in (directory / name).read_text().splitlines() if len(line.split()) == 2)}

    if version == 2:
        stat = pairs("memory.stat")
        return {"current": number("memory.current"), "peak": number("memory.peak"),
                "oom_kill": pairs("memory.events")["oom_kill"], "anon": stat["anon"], "sock": stat["sock"],
                "kernel": stat.get("kernel") or sum(stat.get(key, 0) for key in KERNEL_PARTS)}
    stat = pairs("memory.stat")
    return {"current": number("memory.usage_in_bytes"), "peak": number("memory.max_usage_in_bytes"),
            "oom_kill": pairs("memory.oom_control").get("oom_kill", 0), "anon": stat["rss"],
            "sock": number("memory.kmem.tcp.usage_in_bytes") or 0, "kernel": number("memory.kmem.usage_in_bytes") or 0}


def container_state(name):
    result = subprocess.run(["podman", "inspect", name, "--format", "{{.State.Status}} {{.State.OOMKilled}} "
                             "{{.State.ExitCode}} {{.State.Pid}}"], capture_output=True, text=True)
    status, oom_killed, code, pid = result.stdout.split()
    return status, oom_killed == "true", int(code), int(pid)


def active_connections(admin_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as answer:
            metrics = parse_metrics(answer.read().decode())
    except OSError:
        return None
    return int(sum(value for (name, _), value in metrics.items() if name == "dance_connections_active"))


def mib(value):
    return "-" if value is None else f"{value / (1 << 20):.1f} MiB"


def run(args):
    limit = args.memory or manifest_memory_limit()
    port, admin_port = free_port(), free_port()
    name = f"dance-memory-{os.getpid()}"
    with DnsLab(js_port=port) as lab, tempfile.TemporaryDirectory(prefix="dance-memory-") as work:
        work = pathlib.Path(work)
        config = sidecar_config(lab, port, admin_port)
        connections = args.connections or config["inbound"][0]["max_connections"]
        (work / "sidecar.yaml").write_text(json.dumps(config, indent=2))
        shutil.copy(lab.pki("js.pem"), work / "tls.crt")
        shutil.copy(lab.pki("js.key"), work / "tls.key")
        for path in work.iterdir():
            path.chmod(0o644)  # the container's user 10001 reads them; a test key pair
        work.chmod(0o755)
        subprocess.run(["podman", "run", "-d", "--name", name, "--network", "host", "--memory", str(bytes_of(limit)),
                        "--memory-swap", str(bytes_of(limit)), "--read-only",
                        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "10001:10001",
                        "--pull=never", "-v", f"{work}:{MOUNT}:ro", IMAGE, "run", "-c", f"{MOUNT}/sidecar.yaml"],
                       check=True, capture_output=True, text=True)
        try:
            wait_for_port(admin_port, timeout=30)
            _, _, _, pid = container_state(name)
            cgroup = memory_cgroup(pid)
            idle = read_cgroup(cgroup)
            holder = subprocess.Popen(
                [str(pathlib.Path(args.build_dir).resolve() / "tests" / "bench" / "handshake_load"), "--port",
                 str(port), "--sni", lab.NAME_JS, "--server-tlsa", lab.TLSA_JS, "--cert", str(lab.pki("ns-a.pem")),
                 "--key", str(lab.pki("ns-a.key")), "--client-id", lab.NAME_NS_A, "--hold", str(connections),
                 "--concurrency", "32", "--duration-s", "50"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                summary = json.loads(holder.stdout.readline() or "{}")
                time.sleep(3)  # the server finishes the last handshakes it has read
                status, oom_killed, code, _ = container_state(name)
                held = read_cgroup(cgroup) if status == "running" else None
                active = active_connections(admin_port) if status == "running" else None
            finally:
                holder.stdin.close()
                holder.wait(timeout=60)
            final_status, oom_killed, code, _ = container_state(name)
            oom_killed = oom_killed or code == 137  # cgroup v1: podman may not see the kernel's OOM kill
            logs = subprocess.run(["podman", "logs", "--tail", "5", name], capture_output=True, text=True)
        finally:
            subprocess.run(["podman", "rm", "-f", "-t", "5", name], capture_output=True)

    print(f"image {IMAGE}, memory limit {limit} (no swap), {connections} connections asked, "
          f"{summary.get('succeeded', 0)} completed by the client, {summary.get('failed', 0)} failed")
    print(f"  idle sidecar:       memory.current {mib(idle['current'])} (anon {mib(idle['anon'])})")
    if held:
        per_connection = (held["current"] - idle["current"]) / max(active or 1, 1)
        print(f"  {active} held:      memory.current {mib(held['current'])}, peak {mib(held['peak'])} "
              f"(anon {mib(held['anon'])}, sockets {mib(held['sock'])}, kernel {mib(held['kernel'])}); "
              f"{per_connection / 1024:.1f} KiB per connection, "
              f"{100 * held['current'] / bytes_of(limit):.0f}% of the limit")
    print(f"  container: {final_status}, OOM-killed: {oom_killed}, exit code {code}")
    if oom_killed or status != "running":
        print("  last log lines:\n    " + "\n    ".join(logs.stdout.splitlines() + logs.stderr.splitlines()))
    ok = not oom_killed and held is not None and active == connections
    # What cannot be reclaimed (anonymous, kernel and socket memory) must leave headroom: near the limit the
    # kernel only keeps the container alive by evicting its page cache, and the next burst of requests OOM-kills it.
    unreclaimable = held["anon"] + held["kernel"] + held["sock"] if held else 0
    if ok and unreclaimable > HEADROOM * bytes_of(limit):
        print(f"FAILED: anonymous, kernel and socket memory {mib(unreclaimable)} exceed {HEADROOM:.0%} of the limit")
        return 1
    print("OK: every connection held inside the limit" if ok else "FAILED")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", help="the container's memory limit (default: the manifest's limits.memory)")
    parser.add_argument("--connections", type=int, help="connections to hold (default: the config's max_connections)")
    parser.add_argument("--build-dir", default=os.environ.get("BUILD_DIR", REPO / "build-release"),
                        help="the build holding tests/bench/handshake_load")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
