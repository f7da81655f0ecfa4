"""The inbound listener under adverse conditions: an unanswering resolver, stalled clients, optional client
authentication, and the connection limit. Each test runs its own sidecar with the setting it needs."""
import contextlib
import socket
import time

import pytest

from conftest import JOIN_REQUEST, expect_handshake, wait_until
from dane_client import DaneConnection, encode_client_name, exchange, http_request
from processes import Sidecar
from inbound_setup import inbound_config, listen_address

LISTENER = "join-server"


@contextlib.contextmanager
def running_sidecar(name, config):
    with Sidecar(config, name=name) as sidecar:
        sidecar.address = listen_address(config)
        yield sidecar


def established(lab, sidecar):
    """An authenticated keep-alive connection (use as a context manager)."""
    return DaneConnection(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name(lab.NAME_NS_A))


def assert_rejected(result):
    assert "identity: REJECTED by the server" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 1, result.stdout + result.stderr


def assert_accepted(result):
    assert "identity: accepted by the server" in result.stdout and "http: 200 OK" in result.stdout, \
        result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


def connection_closed_by_server(sock):
    """Blocks until the server closes `sock`; True for a close or reset, False if it sent data instead."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("resolver_kind", ["black-hole", "closed-port"])
def test_unanswered_tlsa_query_fails_with_dns_timeout(lab, join_server, probe, resolver_kind):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
        resolver.bind(("127.0.0.1", 0))  # black hole: receives the queries, never answers
        address = f"127.0.0.1:{resolver.getsockname()[1]}"
        if resolver_kind == "closed-port":
            resolver.close()  # queries now get ICMP port unreachable
        config = inbound_config(lab, join_server.port, resolvers=[address], dns_timeout_ms=1000)
        with running_sidecar(f"dns-timeout-{resolver_kind}", config) as sidecar:
            started = time.monotonic()
            with expect_handshake(sidecar, join_server, "dns_timeout", requests_forwarded=0):
                result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_NS_A)
            assert_rejected(result)
            assert time.monotonic() - started >= 0.9, "rejected before the DNS timeout could have expired"
            if resolver_kind == "black-hole":
                resolver.settimeout(0)
                assert resolver.recv(4096), "the sidecar never queried the resolver"


def test_stalled_client_is_dropped_after_handshake_ms(lab, join_server):
    config = inbound_config(lab, join_server.port, timeouts={"handshake_ms": 500, "idle_ms": 60000,
                                                            "backend_ms": 5000})
    with running_sidecar("handshake-timeout", config) as sidecar:
        with expect_handshake(sidecar, join_server, "timeout", requests_forwarded=0):
            with socket.create_connection(sidecar.address, timeout=30) as stalled:  # connects, says nothing
                started = time.monotonic()
                assert connection_closed_by_server(stalled)
                waited = time.monotonic() - started
        assert 0.4 <= waited < 20, f"dropped after {waited:.2f} s, handshake_ms is 0.5 s"


@pytest.fixture(scope="module")
def optional_sidecar(lab, join_server):
    config = inbound_config(lab, join_server.port, client_auth={"mode": "optional", "allow": [f"*.{lab.LAB_ZONE}"],
                                                                "ca_file": ""})
    with running_sidecar("optional", config) as sidecar:
        yield sidecar


FORGED = {"X-Dane-Client-Id": "forged.example.invalid", "X-Dane-Client-Tlsa": "3 1 1"}


@pytest.mark.parametrize("with_certificate", [True, False], ids=["certificate", "no-certificate"])
def test_optional_mode_forwards_a_client_without_dane_clientid_anonymously(lab, optional_sidecar, join_server,
                                                                           with_certificate):
    cert, key = (lab.pki("ns-a.pem"), lab.pki("ns-a.key")) if with_certificate else (None, None)
    with expect_handshake(optional_sidecar, join_server, "ok", requests_forwarded=1) as seen:
        reply = exchange(optional_sidecar.address, cert, key, None, http_request("POST", "/", JOIN_REQUEST, FORGED))
    assert reply.status == 200, reply
    (record,) = seen.new_records
    assert "x-dane-client-id" not in record["headers"] and "x-dane-client-tlsa" not in record["headers"], record


def test_optional_mode_still_rejects_a_failed_dane_clientid(lab, optional_sidecar, join_server, probe):
    with expect_handshake(optional_sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        result = probe(optional_sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_MISMATCH)
    assert_rejected(result)


def test_optional_mode_authenticates_a_valid_dane_clientid(lab, optional_sidecar, join_server, probe):
    with expect_handshake(optional_sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = probe(optional_sidecar.address, lab.pki("ns-b.pem"), lab.pki("ns-b.key"), lab.NAME_NS_B)
    assert_accepted(result)
    assert seen.new_records[0]["headers"].get("x-dane-client-id") == lab.NAME_NS_B


def test_connection_beyond_max_connections_is_refused(lab, join_server, probe):
    # Two authenticated, idle keep-alive connections hold both slots: none is in its handshake to make room, so
    # a third connection is refused. (A stalled handshake would give way: see the next test.)
    config = inbound_config(lab, join_server.port, max_connections=2, workers=1)
    with running_sidecar("max-connections", config) as sidecar:
        def active():
            return sidecar.metric("dance_connections_active", listener=LISTENER)

        def refused():
            return sidecar.metric("dance_connections_rejected_total", listener=LISTENER, reason="max_connections")

        refused_before = refused()
        with established(lab, sidecar) as first, established(lab, sidecar) as second:
            assert first.request(http_request("POST", "/", JOIN_REQUEST)).status == 200
            assert second.request(http_request("POST", "/", JOIN_REQUEST)).status == 200
            assert wait_until(lambda: active() == 2), f"dance_connections_active is {active()}"
            with socket.create_connection(sidecar.address, timeout=30) as third:
                assert connection_closed_by_server(third)
            assert wait_until(lambda: refused() == refused_before + 1)
            assert refused() == refused_before + 1 and active() == 2
        assert wait_until(lambda: active() == 0), f"dance_connections_active is {active()} after the clients left"
        result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_NS_A)
        assert_accepted(result)
        assert refused() == refused_before + 1


def test_a_stalled_handshake_makes_room_at_max_connections(lab, join_server, probe):
    config = inbound_config(lab, join_server.port, max_connections=2, workers=1)
    with running_sidecar("max-connections-stalled", config) as sidecar:
        with socket.create_connection(sidecar.address, timeout=30) as oldest, \
                socket.create_connection(sidecar.address, timeout=30):  # two stalled clients hold the slots
            assert wait_until(lambda: sidecar.metric("dance_connections_active", listener=LISTENER) == 2)
            result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_NS_A)
            assert_accepted(result)
            assert connection_closed_by_server(oldest)
        assert sidecar.metric("dance_connections_rejected_total", listener=LISTENER, reason="max_handshakes") == 1
        assert sidecar.metric("dance_connections_rejected_total", listener=LISTENER, reason="max_connections") == 0
