"""The images in the shape of the Kubernetes manifests: two podman pods, each with a network namespace of its own.

    NS pod:  ns-emulator --HTTP--> outbound sidecar (127.0.0.1:8003) ... unbound (127.0.0.1:5353)
                                        |  TLS 1.3 + dane_clientid, server checked by TLSA
                                        v  (via the host: published port of the JS pod)
    JS pod:  inbound sidecar (0.0.0.0:8003) --HTTP--> join server (the backend of the ConfigMap) ... unbound

Every container runs --read-only --cap-drop ALL --user <numeric> with no-new-privileges. The sidecars read
the sidecar.yaml of deploy/kubernetes/{ns,js}-sidecar-configmap.yaml and unbound the unbound.conf of
unbound-configmap.yaml, patched only for the lab's names, ports and trust anchor; both files and the key
pairs are mounted read-only in the layout kubelet gives ConfigMap and Secret volumes (`..data` -> a
timestamped directory, each file a symlink through `..data`). The DNSSEC lab (tests/dnslab) runs on the
host's loopback; the pods reach its nsd through slirp4netns' host-loopback address 10.0.2.2.

Checked: a golden JoinReq crosses with DANE on both sides; a kubelet-style Secret update (new ..data symlink)
reloads the outbound sidecar's certificate; SIGTERM to the inbound sidecar drains the requests in flight
(every one answered Success and seen by the join server) and it exits 0.

Needs root, podman and the images of deploy/build-image.sh --test-peers (tests/deploy/run_pod_test.sh builds
them and skips, with the reason, where podman cannot run containers).
"""
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
import uuid

import pytest
import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from lab import DnsLab  # noqa: E402
from processes import GOLDEN_DEVICE, free_port, parse_metrics  # noqa: E402

VERSION = re.search(r"project\(dance-sidecar VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text()).group(1)
PREFIX = os.environ.get("DANCE_IMAGE_PREFIX", "localhost/")
SIDECAR_IMAGE = f"{PREFIX}dance-sidecar:{VERSION}"
UNBOUND_IMAGE = f"{PREFIX}dance-unbound:{VERSION}"
PEERS_IMAGE = f"{PREFIX}dance-test-peers:{VERSION}"
KUBERNETES = REPO / "deploy" / "kubernetes"
HOST_LOOPBACK = "10.0.2.2"  # slirp4netns with allow_host_loopback=true
POD_NETWORK = "slirp4netns:allow_host_loopback=true"
USER = "10001:10001"
HARDENING = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--pull=never"]


def podman(*args, check=True, timeout=120):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


def why_podman_cannot_run():
    if os.geteuid() != 0:
        return "needs root (rootful podman)"
    if shutil.which("podman") is None:
        return "podman is not installed (deploy/build-image.sh installs it)"
    missing = [image for image in (SIDECAR_IMAGE, UNBOUND_IMAGE, PEERS_IMAGE)
               if podman("image", "exists", image, check=False).returncode != 0]
    if missing:
        return f"images missing, build them with deploy/build-image.sh --test-peers: {missing}"
    probe = podman("run", "--rm", *HARDENING, "--user", USER, "--network", "none", SIDECAR_IMAGE, "--version",
                   check=False)
    if probe.returncode != 0:
        return f"podman cannot run a container here: {probe.stderr.strip()[-400:]}"
    return ""


REASON = why_podman_cannot_run()
pytestmark = pytest.mark.skipif(bool(REASON), reason=REASON or "-")


def configmap_file(manifest, key):
    """data[key] of the ConfigMap in deploy/kubernetes/<manifest>."""
    documents = [d for d in yaml.safe_load_all((KUBERNETES / manifest).read_text()) if d]
    return next(d for d in documents if d.get("kind") == "ConfigMap")["data"][key]


class AtomicVolume:
    """A directory laid out like a kubelet ConfigMap/Secret volume (pkg/volume/util/atomic_writer.go):
    files live in ..<timestamp>/, ..data points at it, each visible name is a symlink ..data/<name>."""

    def __init__(self, root, files, mode=0o444):
        self.root, self.mode, self.generation = pathlib.Path(root), mode, 0
        self.root.mkdir(parents=True)
        self.update(files)

    def update(self, files):
        self.generation += 1
        stamp = self.root / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{self.generation:09d}"
        stamp.mkdir()
        for name, content in files.items():
            path = stamp / name
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            path.chmod(self.mode)
        stamp.chmod(0o755)
        old = os.readlink(self.root / "..data") if (self.root / "..data").is_symlink() else None
        (self.root / "..data_tmp").symlink_to(stamp.name)
        os.replace(self.root / "..data_tmp", self.root / "..data")
        for name in files:
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(f"..data/{name}")
        if old:
            shutil.rmtree(self.root / old)


def unbound_conf(lab):
    """The manifests' unbound.conf, validating the lab's zones instead of the real root."""
    conf = configmap_file("unbound-configmap.yaml", "unbound.conf")
    conf = re.sub(r'trust-anchor-file: .*', 'trust-anchor-file: "/etc/unbound/config/root.anchor"', conf)
    conf = re.sub(r'\s*root-hints: .*', '', conf)
    conf = conf.replace("server:\n", f'server:\n  local-zone: "{lab.LAB_TLD}." nodefault\n', 1)
    for zone in (".", f"{lab.LAB_TLD}.", f"{lab.LAB_ZONE}.", f"{lab.INSECURE_ZONE}."):
        conf += f'stub-zone:\n  name: "{zone}"\n  stub-addr: {HOST_LOOPBACK}@{lab.NSD_PORT}\n'
    return conf


def make_cert_with_key(key, name, days, path):
    """A re-issued certificate for the same key (what a cert-manager renewal with rotationPolicy: Never gives):
    the TLSA 3 1 1 record still matches, only the certificate's notAfter changes."""
    subprocess.run(["openssl", "req", "-new", "-x509", "-key", str(key), "-subj", f"/CN={name}",
                    "-days", str(days), "-out", str(path)], check=True, capture_output=True)
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", str(path)], check=True,
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    return time.mktime(time.strptime(end, "%b %d %H:%M:%S %Y %Z")) - time.timezone


class Pod:
    def __init__(self, name, publish):
        self.name, self.containers = name, []
        ports = [arg for host, inner in publish for arg in ("-p", f"127.0.0.1:{host}:{inner}")]
        podman("pod", "create", "--name", name, "--network", POD_NETWORK, *ports)

    def run(self, name, image, *args, volumes=(), entrypoint=None, detach=True, timeout=120):
        full = f"{self.name}-{name}"
        command = ["run", "--pod", self.name, "--name", full, *HARDENING, "--user", USER]
        for source, target in volumes:
            command += ["-v", f"{source}:{target}:{'rw' if target == '/records' else 'ro'}"]
        if entrypoint:
            command += ["--entrypoint", entrypoint]
        command += ["-d"] if detach else []
        result = podman(*command, image, *args, check=False, timeout=timeout)
        self.containers.append(full)
        if detach and result.returncode != 0:
            raise AssertionError(f"{full} did not start: {result.stderr}")
        return full if detach else result

    def remove(self):
        podman("pod", "rm", "-f", "-t", "2", self.name, check=False)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
        return answer.status, answer.read().decode()


def metrics(port):
    return parse_metrics(http_get(port, "/metrics")[1])


def metric(port, name, **labels):
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in metrics(port).items()
               if sample == name and wanted <= set(sample_labels))


def ready(port):
    try:
        return http_get(port, "/readyz")[0] == 200
    except (OSError, ValueError):
        return False


def emulator(pod, name, *args, detach=False):
    """lorawan-ns-emulator in the NS pod, posting to the outbound sidecar on the pod's loopback."""
    listen = pod.outbound_listen
    return pod.run(name, PEERS_IMAGE, "--url", f"http://{listen}/api", *args, entrypoint="lorawan-ns-emulator",
                   detach=detach)


def summary_of(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def world():
    js_port, js_admin, ns_admin = free_port(), free_port(), free_port()
    work = pathlib.Path(tempfile.mkdtemp(prefix="dance-pod-"))
    suffix = uuid.uuid4().hex[:6]
    pods = []
    # The lab publishes _<js_port>._tcp.js.<zone> TLSA 3 1 1 for js.pem: the JS pod's published port.
    with DnsLab(js_port=js_port) as lab:
        try:
            unbound_volume = AtomicVolume(work / "unbound-config", {
                "unbound.conf": unbound_conf(lab), "root.anchor": pathlib.Path(lab.TRUST_ANCHOR_FILE).read_text()})

            # JS pod: inbound sidecar, join server on the ConfigMap's backend address, unbound.
            js_config = yaml.safe_load(configmap_file("js-sidecar-configmap.yaml", "sidecar.yaml"))
            inbound = js_config["inbound"][0]
            inbound["client_auth"]["allow"] = [lab.NAME_NS_A]
            js_config["workers"] = 1
            js_config["log"]["level"] = "info"
            backend = inbound["backend"]
            js = Pod(f"dance-js-{suffix}", [(js_port, inbound["listen"].rsplit(":", 1)[1]),
                                            (js_admin, js_config["admin"]["listen"].rsplit(":", 1)[1])])
            pods.append(js)
            js_volume = AtomicVolume(work / "js-config", {"sidecar.yaml": yaml.safe_dump(js_config)})
            js_tls = AtomicVolume(work / "js-tls", {"tls.crt": lab.pki("js.pem").read_bytes(),
                                                    "tls.key": lab.pki("js.key").read_bytes()}, mode=0o440)
            subprocess.run(["chown", "-R", "10001:10001", str(js_tls.root)], check=True)
            records = work / "records"
            records.mkdir()
            os.chown(records, 10001, 10001)
            js.run("unbound", UNBOUND_IMAGE, "-c", "/etc/unbound/config/unbound.conf",
                   volumes=[(unbound_volume.root, "/etc/unbound/config")])
            js.backend = backend
            js.records = records / "received.jsonl"
            js.start_join_server = lambda *extra: js.run(
                "join-server", PEERS_IMAGE, "--listen", backend, "--device", GOLDEN_DEVICE,
                "--record", "/records/received.jsonl", *extra, volumes=[(records, "/records")])
            js.start_join_server()
            js.sidecar = js.run("sidecar", SIDECAR_IMAGE, "run", "-c", "/etc/dance-sidecar/config/sidecar.yaml",
                                volumes=[(js_volume.root, "/etc/dance-sidecar/config"),
                                         (js_tls.root, "/etc/dance-sidecar/tls")])

            # NS pod: outbound sidecar (loopback listener, as in the manifest), unbound, the NS emulator.
            ns_config = yaml.safe_load(configmap_file("ns-sidecar-configmap.yaml", "sidecar.yaml"))
            outbound = ns_config["outbound"][0]
            outbound["upstream"] = f"{lab.NAME_JS}:{js_port}"
            outbound["connect_to"] = f"{HOST_LOOPBACK}:{js_port}"  # the JS pod's port, published on the host
            outbound["tls"]["client_id"] = lab.NAME_NS_A
            ns_config["workers"] = 1
            ns = Pod(f"dance-ns-{suffix}", [(ns_admin, ns_config["admin"]["listen"].rsplit(":", 1)[1])])
            pods.append(ns)
            ns.outbound_listen = outbound["listen"]
            ns_volume = AtomicVolume(work / "ns-config", {"sidecar.yaml": yaml.safe_dump(ns_config)})
            ns_tls = AtomicVolume(work / "ns-tls", {"tls.crt": lab.pki("ns-a.pem").read_bytes(),
                                                    "tls.key": lab.pki("ns-a.key").read_bytes()}, mode=0o440)
            subprocess.run(["chown", "-R", "10001:10001", str(ns_tls.root)], check=True)
            ns.run("unbound", UNBOUND_IMAGE, "-c", "/etc/unbound/config/unbound.conf",
                   volumes=[(unbound_volume.root, "/etc/unbound/config")])
            ns.sidecar = ns.run("sidecar", SIDECAR_IMAGE, "run", "-c", "/etc/dance-sidecar/config/sidecar.yaml",
                                volumes=[(ns_volume.root, "/etc/dance-sidecar/config"),
                                         (ns_tls.root, "/etc/dance-sidecar/tls")])

            wait_until(lambda: ready(js_admin) and ready(ns_admin), 60, "both sidecars ready")
            yield {"lab": lab, "js": js, "ns": ns, "js_admin": js_admin, "ns_admin": ns_admin, "ns_tls": ns_tls,
                   "work": work}
        finally:
            for pod in pods:
                for container in pod.containers:
                    logs = podman("logs", container, check=False)
                    sys.stderr.write(f"--- {container}\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")
                pod.remove()
            shutil.rmtree(work, ignore_errors=True)


def test_every_container_is_read_only_unprivileged_and_numeric(world):
    for pod in (world["js"], world["ns"]):
        for container in pod.containers:
            info = json.loads(podman("inspect", container).stdout)[0]
            assert info["Config"]["User"] == USER, container
            assert info["HostConfig"]["ReadonlyRootfs"] is True, container
            assert info["EffectiveCaps"] in (None, []), (container, info["EffectiveCaps"])
            assert "no-new-privileges" in info["HostConfig"]["SecurityOpt"], container


def test_the_sidecar_image_holds_only_what_the_binary_loads():
    container = podman("create", "--pull=never", SIDECAR_IMAGE).stdout.strip()
    try:
        export = subprocess.Popen(["podman", "export", container], stdout=subprocess.PIPE)
        listing = subprocess.run(["tar", "-t"], stdin=export.stdout, capture_output=True, text=True, check=True)
        assert export.wait(timeout=60) == 0
    finally:
        podman("rm", container, check=False)
    files = {name.rstrip("/").removeprefix("./") for name in listing.stdout.split()}
    assert "usr/local/bin/dance-sidecar" in files
    assert not [f for f in files if f.startswith(("bin/", "usr/bin/", "usr/sbin/", "var/lib/dpkg"))], files
    libraries = {pathlib.PurePath(f).name for f in files if ".so" in f}
    assert not [name for name in libraries if "prometheus-cpp-pull" in name or "civetweb" in name], libraries
    assert {"libssl.so.3", "libgetdns.so.10", "libc.so.6", "ld-linux-x86-64.so.2", "libjemalloc.so.2"} <= libraries, \
        libraries


def test_the_sidecar_image_runs_on_jemalloc_and_openssl_3_5():
    """The image's reasons to exist as it is (deploy/README.md, "Why Debian 13 inside"): OpenSSL 3.5 with raw
    public keys, and jemalloc, whose speed survives a burst of connections where glibc's malloc does not."""
    version = podman("run", "--rm", *HARDENING, "--user", USER, "--network", "none", SIDECAR_IMAGE,
                     "--version").stdout
    assert "OpenSSL 3.5." in version and "raw public keys: yes" in version, version
    # "jemalloc 5.3.0 (loaded, but malloc is not served by it)" would fail here
    assert re.search(r"heap: jemalloc 5\.\d+\.\d+\)", version), version


def test_joinreq_crosses_both_pods_with_dane_on_both_sides(world):
    lab, js, ns = world["lab"], world["js"], world["ns"]
    summary = summary_of(emulator(ns, "golden", "--golden", "--count", "1"))
    assert summary["result_codes"] == {"Success": 1} and summary["verify_failures"] == 0, summary
    received = [json.loads(line) for line in js.records.read_text().splitlines()]
    assert received[-1]["headers"].get("x-dane-client-id") == lab.NAME_NS_A, received[-1]
    assert received[-1]["headers"].get("x-dane-client-tlsa") == "3 1 1", received[-1]
    # DANE on both sides: the inbound sidecar authenticated the client, the outbound one the server.
    assert metric(world["js_admin"], "dance_handshakes_total", result="ok") >= 1
    assert metric(world["ns_admin"], "dance_handshakes_total", result="ok") >= 1
    assert metric(world["js_admin"], "dance_tlsa_lookups_total", result="secure") >= 1
    assert metric(world["ns_admin"], "dance_tlsa_lookups_total", result="secure") >= 1


def test_secret_symlink_swap_reloads_the_certificate(world):
    lab, ns, port = world["lab"], world["ns"], world["ns_admin"]
    before = metric(port, "dance_config_reloads_total", result="ok")
    renewed = world["work"] / "ns-a-renewed.pem"
    not_after = make_cert_with_key(lab.pki("ns-a.key"), lab.NAME_NS_A, 11, renewed)
    world["ns_tls"].update({"tls.crt": renewed.read_bytes(), "tls.key": lab.pki("ns-a.key").read_bytes()})
    subprocess.run(["chown", "-R", "10001:10001", str(world["ns_tls"].root)], check=True)
    wait_until(lambda: metric(port, "dance_config_reloads_total", result="ok") > before, 30,
               "the outbound sidecar to reload after the ..data swap")
    expiries = [value for (name, _), value in metrics(port).items()
                if name == "dance_certificate_expiry_timestamp_seconds"]
    assert any(abs(value - not_after) < 2 for value in expiries), (not_after, expiries)
    summary = summary_of(emulator(ns, "after-swap", "--count", "3", "--no-verify"))
    assert summary["result_codes"] == {"Success": 3}, summary


def test_sigterm_drains_the_requests_in_flight(world):
    js, ns = world["js"], world["ns"]
    # A join server that answers after 2 s, so that requests are in flight when SIGTERM arrives.
    podman("rm", "-f", "-t", "2", f"{js.name}-join-server")
    js.containers.remove(f"{js.name}-join-server")
    js.start_join_server("--delay-ms", "2000")
    seen_before = len(js.records.read_text().splitlines())
    load = emulator(ns, "drain", "--count", "4", "--concurrency", "4", "--no-verify", "--timeout-ms", "15000",
                    detach=True)
    wait_until(lambda: metric(world["js_admin"], "dance_connections_active") >= 1, 30,
               "requests in flight through the inbound sidecar")
    time.sleep(0.5)
    podman("kill", "--signal", "TERM", js.sidecar)
    status = podman("wait", js.sidecar, timeout=60).stdout.strip()
    result = podman("wait", load, timeout=60).stdout.strip()
    output = podman("logs", load).stdout
    assert status == "0", podman("logs", js.sidecar).stderr[-2000:]
    assert result == "0", output
    summary = json.loads(output)
    assert summary["result_codes"] == {"Success": 4}, summary
    assert len(js.records.read_text().splitlines()) - seen_before == 4
    events = [json.loads(line) for line in podman("logs", js.sidecar).stderr.splitlines() if line.startswith("{")]
    assert any(event.get("event") == "draining" for event in events)
