"""Fixtures of the inbound listener tests: the DNS lab, the LoRaWAN join server behind the sidecar, the
probe, and `expect_handshake`, which checks that exactly one handshake of the expected result was
counted and what the backend received meanwhile."""
import contextlib
import os
import pathlib
import subprocess
import sys
import time

import pytest

from processes import JoinServer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from lab import DnsLab  # noqa: E402

GENEROUS_S = 60  # bounds only catch hangs: a busy 2-core machine with ASan builds
# ChirpStack v3's JoinReq of lorawan-vectors.md ("JoinReq LW10").
JOIN_REQUEST = (b'{"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201",'
                b'"TransactionID":1234,"MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.0.2",'
                b'"PHYPayload":"00010203040506070808070605040302010201cde6acb8","DevEUI":"0102030405060708",'
                b'"DevAddr":"01020304","DLSettings":"15","RxDelay":1,"CFList":"988d8468958400000000000000000000"}')


def required_binary(variable):
    binary = os.environ.get(variable, "")
    assert binary and os.access(binary, os.X_OK), f"{variable} must name an executable (set by CTest)"
    return binary


@pytest.fixture(scope="module")
def lab(request):
    """The DNS lab for one test module. A module that runs the whole chain sets INBOUND_PORT: the lab's JS
    name then carries its TLSA record at that port (_<port>._tcp)."""
    with DnsLab(js_port=getattr(request.module, "INBOUND_PORT", None)) as started:
        yield started


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("inbound")


@pytest.fixture(scope="module")
def join_server():
    server = JoinServer()
    yield server
    server.stop()


@pytest.fixture
def fresh_join_server():
    """A join server of its own for one test (its records start empty)."""
    server = JoinServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def join_request_file(module_dir):
    path = module_dir / "join-request.json"
    path.write_bytes(JOIN_REQUEST)
    return path


@pytest.fixture(scope="module")
def chain_file(lab, module_dir):
    """chain_file("device") -> PEM with the leaf device.pem followed by the organisation CA."""

    def build(stem):
        path = module_dir / f"{stem}-chain.pem"
        leaf = lab.pki(f"{stem}.pem").read_text()
        assert leaf.count("BEGIN CERTIFICATE") == 1, f"{stem}.pem already holds a chain"
        path.write_text(leaf + lab.pki("org-ca.pem").read_text())
        return path

    return build


@pytest.fixture(scope="module")
def probe(join_request_file):
    """probe(address, cert, key, client_id, *extra) -> CompletedProcess of `dance-sidecar probe --post /`."""
    binary = required_binary("DANCE_SIDECAR")

    def run(address, cert, key, client_id, *extra):
        command = [binary, "probe", "--connect", f"{address[0]}:{address[1]}", "--cert", str(cert), "--key", str(key),
                   "--client-id", client_id, "--post", "/", "--body", str(join_request_file), *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=GENEROUS_S)

    return run


def wait_until(condition, deadline_s=GENEROUS_S, interval_s=0.05):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    return condition()


def counter_delta(before, after):
    keys = set(before) | set(after)
    return {key: after.get(key, 0) - before.get(key, 0) for key in keys if after.get(key, 0) != before.get(key, 0)}


class HandshakeExpectation:
    def __init__(self):
        self.new_records = []


@contextlib.contextmanager
def expect_handshake(sidecar, backend, result, requests_forwarded, listener="join-server"):
    """Around one client action: dance_handshakes_total of `listener` moved by exactly one, for `result`,
    and the backend received exactly `requests_forwarded` requests (.new_records after the block)."""
    counts_before = sidecar.handshake_counts(listener)
    records_before = len(backend.records())
    expectation = HandshakeExpectation()
    yield expectation
    # The server counts right after it has sent its verdict: the client may have seen it a moment earlier.
    wait_until(lambda: sum(counter_delta(counts_before, sidecar.handshake_counts(listener)).values()) >= 1)
    if requests_forwarded:
        wait_until(lambda: len(backend.records()) >= records_before + requests_forwarded)
    else:
        time.sleep(0.2)  # a request wrongly forwarded would be recorded by now
    delta = counter_delta(counts_before, sidecar.handshake_counts(listener))
    assert delta == {result: 1}, f"dance_handshakes_total moved by {delta}, expected {{{result!r}: 1}}"
    expectation.new_records = backend.records()[records_before:]
    assert len(expectation.new_records) == requests_forwarded, \
        f"backend received {expectation.new_records}, expected {requests_forwarded} request(s)"
    sidecar.assert_clean()
