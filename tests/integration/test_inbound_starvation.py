"""Starvation: clients that open connections and never finish their handshake must not lock out a client that
does, and running out of file descriptors must neither spin the accept loop nor stop the listener for good.

Each test floods a real sidecar from this process with sockets that send half a ClientHello and then stall,
and checks that an authenticated client (real TLS 1.3 with dane_clientid) is still served, that the
process lives, and that the refusals were counted.
"""
import contextlib
import json
import os
import resource
import socket
import threading
import time

import pytest

from conftest import JOIN_REQUEST, wait_until
from dane_client import DaneConnection, encode_client_name, http_request
from inbound_setup import inbound_config, listen_address
from processes import Sidecar

# A TLS record header announcing a 512-byte handshake message, and the first bytes of a ClientHello: the server
# reads it and waits for the rest, which never comes.
HALF_CLIENT_HELLO = bytes.fromhex("16030102000100 01fc 0303".replace(" ", "")) + bytes(32)
STALLED = 10_000


def process_cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric_when_answering(sidecar, name, **labels):
    """The metric, or None while the admin endpoint cannot take a connection (descriptors still exhausted)."""
    try:
        return sidecar.metric(name, **labels)
    except OSError:
        return None


def raise_open_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class StalledClients:
    """Sockets that each send half a ClientHello and then hold the connection open."""

    def __init__(self, address):
        self.address = address
        self.sockets = []

    def open(self, count):
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(self.address)
            self.sockets.append(sock)
        for sock in self.sockets[-count:]:
            with contextlib.suppress(OSError):
                sock.send(HALF_CLIENT_HELLO)

    def close(self):
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


def keep_opening(stalled, running):
    """50 more stalled connections every 0.1 s while `running` is set (500 a second)."""
    while running.is_set():
        stalled.open(50)
        time.sleep(0.1)


def authenticated_request(lab, address):
    with DaneConnection(address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name(lab.NAME_NS_A),
                        timeout_s=20) as connection:
        return connection.request(http_request("POST", "/", JOIN_REQUEST))


def test_ten_thousand_stalled_handshakes_do_not_lock_out_an_authenticated_client(lab, join_server):
    raise_open_file_limit(STALLED + 4000)
    # Every slot of max_connections held by a stalled client, and a handshake budget the flood outlasts.
    config = inbound_config(lab, join_server.port, max_connections=2000, max_handshakes=500,
                            timeouts={"handshake_ms": 60000, "idle_ms": 60000, "backend_ms": 5000})
    with Sidecar(config, name="starvation") as sidecar:
        address = listen_address(config)
        stalled = StalledClients(address)
        keep_flooding = threading.Event()
        try:
            stalled.open(STALLED)
            assert wait_until(lambda: sidecar.metric("dance_connections_active") >= 1000, deadline_s=30)
            # Keep opening stalled connections while the real client comes in.
            keep_flooding.set()
            flood = threading.Thread(target=keep_opening, args=(stalled, keep_flooding), daemon=True)
            flood.start()
            records_before = len(join_server.records())
            replies = [authenticated_request(lab, address) for _ in range(5)]
            keep_flooding.clear()
            flood.join(timeout=10)
            assert [reply.status for reply in replies] == [200] * 5, replies
            assert all(json.loads(reply.body)["MessageType"] == "JoinAns" for reply in replies)
            assert len(join_server.records()) - records_before == 5
            assert sidecar.process.poll() is None
            assert sidecar.metric("dance_connections_rejected_total", reason="max_handshakes") > 0
            assert sidecar.metric("dance_handshakes_total", result="ok") == 5
        finally:
            keep_flooding.clear()
            stalled.close()


def test_running_out_of_file_descriptors_neither_spins_nor_stops_the_listener(lab, join_server):
    config = inbound_config(lab, join_server.port, workers=1)
    with Sidecar(config, name="emfile", max_open_files=256) as sidecar:
        address = listen_address(config)
        # UBSan's vptr check reads an object through a pipe() the first time it meets a (type, dynamic type)
        # pair; with no descriptor left it would report a valid object as invalid and stop the process. So
        # every path the flood will take runs once before the descriptors run out: authenticated requests, a
        # refused name, handshakes the client abandons at each stage, and a scrape.
        for _ in range(2):
            assert authenticated_request(lab, address).status == 200
        refused = DaneConnection(address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name("x.invalid"))
        with contextlib.suppress(Exception):
            refused.connect()
        refused.close()
        for wait in (0, 0.2):
            abandoned = StalledClients(address)
            abandoned.open(3)
            time.sleep(wait)
            abandoned.close()
        time.sleep(0.5)
        sidecar.metrics_text()
        stalled = StalledClients(address)
        try:
            stalled.open(400)  # more than the sidecar can hold: accept() fails with EMFILE
            # Connections waiting at the admin endpoint too: its accept() fails the same way (no scrape is
            # asked meanwhile; these connections stay queued in the kernel).
            admin_host, admin_port = sidecar.config["admin"]["listen"].rsplit(":", 1)
            waiting_at_admin = [socket.create_connection((admin_host, int(admin_port)), timeout=5) for _ in range(3)]
            stalled.sockets.extend(waiting_at_admin)
            time.sleep(1)
            cpu_before = process_cpu_seconds(sidecar.process.pid)
            time.sleep(2)
            spent = process_cpu_seconds(sidecar.process.pid) - cpu_before
            assert spent < 0.5, f"the sidecar spent {spent:.2f} CPU-s in 2 s with its descriptors exhausted"
        finally:
            stalled.close()
        # Descriptors are free again once the closed connections are gone: the listener accepts as before.
        drained = wait_until(lambda: metric_when_answering(sidecar, "dance_connections_active") == 0, deadline_s=30)
        assert sidecar.process.poll() is None, f"the sidecar stopped:\n{sidecar.log()[-3000:]}"
        assert drained
        assert sidecar.metric("dance_connections_rejected_total", reason="accept_error") > 0
        reply = authenticated_request(lab, address)
        assert reply.status == 200, reply
        assert sidecar.process.poll() is None
