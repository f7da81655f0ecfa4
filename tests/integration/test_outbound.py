"""Outbound listener: NS -> outbound sidecar -> TLS 1.3 + dane_clientid -> inbound sidecar -> join server.

Every test runs real processes on loopback: the DNSSEC lab (nsd + validating unbound), two sidecars in
trust-ad mode, tests/peers' join server, and plain HTTP clients.
"""
import json
import subprocess
import time

import pytest

from processes import Process, Sidecar, binary, free_port, post, wait_for_port

INBOUND_PORT = free_port()


def dns_section(lab, **extra):
    return {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"], "timeout_ms": 2000, **extra}


def inbound_config(lab, backend_port, port=INBOUND_PORT, allow=None):
    return {
        "dns": dns_section(lab),
        "inbound": [{
            "name": "join-server", "listen": f"127.0.0.1:{port}", "backend": f"127.0.0.1:{backend_port}",
            "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
            "client_auth": {"mode": "require", "allow": allow or [lab.NAME_NS_A]},
        }],
    }


def outbound_config(lab, upstream_port=INBOUND_PORT, connect_to="", server_auth="dane", request_ms=5000,
                    dns_cache=None):
    return {
        "dns": dns_section(lab, **({"cache": dns_cache} if dns_cache else {})),
        "outbound": [{
            "name": "js", "listen": f"127.0.0.1:{free_port()}", "upstream": f"{lab.NAME_JS}:{upstream_port}",
            "connect_to": connect_to, "server_auth": server_auth,
            "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")), "client_id": lab.NAME_NS_A},
            "timeouts": {"request_ms": request_ms},
        }],
    }


def outbound_port(sidecar):
    return int(sidecar.config["outbound"][0]["listen"].rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def inbound(lab, join_server):
    sidecar = Sidecar(inbound_config(lab, join_server.port), name="inbound")
    yield sidecar
    assert sidecar.stop() == 0
    assert sidecar.sanitizer_reports() == []


@pytest.fixture(scope="module")
def outbound(lab, inbound):
    sidecar = Sidecar(outbound_config(lab), name="outbound")
    yield sidecar
    assert sidecar.stop() == 0
    assert sidecar.sanitizer_reports() == []


def assert_bi_error(answer, fragment):
    assert answer["MessageType"] == "JoinAns"
    assert answer["SenderID"] == "0807060504030201" and answer["ReceiverID"] == "010203"
    assert answer["TransactionID"] == 1234
    assert answer["Result"]["ResultCode"] == "Other"
    assert fragment in answer["Result"]["Description"]


def test_joinreq_flows_through_both_sidecars_with_both_sides_authenticated(lab, join_server, inbound, outbound):
    before = len(join_server.records())
    status, answer = post(outbound_port(outbound))
    assert status == 200
    assert answer["MessageType"] == "JoinAns" and answer["Result"]["ResultCode"] == "Success"
    received = join_server.records()[before:]
    assert len(received) == 1
    assert received[0]["headers"]["x-dane-client-id"] == lab.NAME_NS_A
    assert received[0]["headers"]["x-dane-client-tlsa"] == "3 1 1"
    assert outbound.metric("dance_handshakes_total", direction="outbound", result="ok") >= 1
    assert inbound.metric("dance_handshakes_total", direction="inbound", result="ok") >= 1
    assert outbound.metric("dance_lorawan_messages_total", message_type="JoinReq", result_code="Success") >= 1


def test_chirpstack_v3_and_v4_joinreqs_get_valid_joinans(outbound):
    emulator = binary("NS_EMULATOR", "tests/peers/lorawan-ns-emulator")
    for shape in ("v3", "v4"):
        result = subprocess.run([emulator, "--url", f"http://127.0.0.1:{outbound_port(outbound)}/api",
                                 "--shape", shape, "--count", "5", "--concurrency", "2", "--keepalive"],
                                capture_output=True, text=True, timeout=60)
        summary = json.loads(result.stdout)
        assert summary["result_codes"] == {"Success": 5}, summary
        assert summary["verify_failures"] == 0


def test_a_thousand_sequential_requests_cost_at_most_two_handshakes(inbound, outbound):
    before = outbound.metric("dance_handshakes_total", direction="outbound", result="ok")
    emulator = binary("NS_EMULATOR", "tests/peers/lorawan-ns-emulator")
    result = subprocess.run([emulator, "--url", f"http://127.0.0.1:{outbound_port(outbound)}/api", "--count",
                             "1000", "--concurrency", "1", "--keepalive", "--no-verify"],
                            capture_output=True, text=True, timeout=300)
    summary = json.loads(result.stdout)
    assert summary["result_codes"] == {"Success": 1000}, summary
    handshakes = outbound.metric("dance_handshakes_total", direction="outbound", result="ok") - before
    assert handshakes <= 2


def test_a_pooled_connection_is_not_reused_after_the_server_tlsa_answer_expires(lab, inbound):
    # The server's TLSA answer lives max_ttl_s = 3 s here: a connection it authenticated takes no request later.
    config = dict(outbound_config(lab, dns_cache={"max_ttl_s": 3}), workers=1)  # one pool for every request
    sidecar = Sidecar(config, name="outbound-tlsa-expiry")
    try:
        assert post(outbound_port(sidecar))[0] == 200
        assert post(outbound_port(sidecar))[0] == 200
        assert sidecar.metric("dance_handshakes_total", result="ok") == 1
        time.sleep(4)
        status, answer = post(outbound_port(sidecar))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
        assert sidecar.metric("dance_handshakes_total", result="ok") == 2
    finally:
        assert sidecar.stop() == 0


def test_wrong_server_tlsa_refuses_and_sends_no_request(lab, join_server, inbound):
    # _8443._tcp.js.<zone> holds another key's hash: the inbound sidecar's certificate does not match it.
    sidecar = Sidecar(outbound_config(lab, upstream_port=8443, connect_to=f"127.0.0.1:{INBOUND_PORT}"),
                      name="outbound-wrong-tlsa")
    try:
        before = len(join_server.records())
        status, answer = post(outbound_port(sidecar))
        assert status == 502
        assert_bi_error(answer, "not authenticated")
        assert len(join_server.records()) == before
        assert sidecar.metric("dance_handshakes_total", result="server_tlsa_mismatch") == 1
    finally:
        assert sidecar.stop() == 0


def test_server_that_does_not_offer_dane_clientid_is_refused(lab):
    # A TLS 1.3 server with the right certificate (its TLSA is published) that never asks for a client
    # certificate: our identity cannot be conveyed, so nothing is sent.
    port = free_port()
    server = Process(["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-tls1_3", "-cert",
                      str(lab.pki("js.pem")), "-key", str(lab.pki("js.key")), "-www"], "s_server")
    try:
        wait_for_port(port, process=server.process)
        sidecar = Sidecar(outbound_config(lab, connect_to=f"127.0.0.1:{port}"), name="outbound-no-offer")
        try:
            status, answer = post(outbound_port(sidecar))
            assert status == 502
            assert_bi_error(answer, "did not offer dane_clientid")
            assert sidecar.metric("dance_handshakes_total", result="no_offer") == 1
        finally:
            assert sidecar.stop() == 0
    finally:
        server.kill()


def test_inbound_that_does_not_allow_our_name_is_reported_as_rejection(lab, join_server):
    port = free_port()
    refusing = Sidecar(inbound_config(lab, join_server.port, port=port, allow=[lab.NAME_NS_B]), name="inbound-refusing")
    sidecar = Sidecar(outbound_config(lab, upstream_port=INBOUND_PORT, connect_to=f"127.0.0.1:{port}"),
                      name="outbound-rejected")
    try:
        before = len(join_server.records())
        status, answer = post(outbound_port(sidecar))
        assert status == 502
        assert_bi_error(answer, "rejected our DANE client identity")
        assert len(join_server.records()) == before
        assert sidecar.metric("dance_handshakes_total", result="peer_rejected") == 1
        assert refusing.metric("dance_handshakes_total", result="not_allowed") == 1
    finally:
        assert sidecar.stop() == 0
        assert refusing.stop() == 0


def test_rejection_during_the_handshake_is_counted_once(lab):
    """A server that aborts the handshake itself (handshake_failure: no cipher suite in common) rejects us
    before any request: the connector counts it, and the relay, which sees the same failure, must not."""
    port = free_port()
    server = Process(["openssl", "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-tls1_3",
                      "-ciphersuites", "TLS_AES_128_CCM_8_SHA256", "-cert", str(lab.pki("js.pem")),
                      "-key", str(lab.pki("js.key")), "-www"], "s_server-ccm8")
    try:
        wait_for_port(port, process=server.process)
        sidecar = Sidecar(outbound_config(lab, connect_to=f"127.0.0.1:{port}"), name="outbound-handshake-refused")
        try:
            status, answer = post(outbound_port(sidecar))
            assert status == 502
            assert_bi_error(answer, "rejected our DANE client identity")
            assert sidecar.metric("dance_handshakes_total", result="peer_rejected") == 1
            assert sidecar.metric("dance_requests_total", code="502") == 1
        finally:
            assert sidecar.stop() == 0
    finally:
        server.kill()


def test_unreachable_upstream_gets_a_backend_interfaces_answer(lab):
    sidecar = Sidecar(outbound_config(lab, connect_to=f"127.0.0.1:{free_port()}"), name="outbound-refused")
    try:
        status, answer = post(outbound_port(sidecar))
        assert status == 502
        assert_bi_error(answer, "upstream")
        assert sidecar.metric("dance_handshakes_total", result="connect_failed") == 1
    finally:
        assert sidecar.stop() == 0


def test_requests_succeed_after_the_inbound_side_restarts(lab, join_server):
    port = free_port()
    first = Sidecar(inbound_config(lab, join_server.port, port=port), name="inbound-first")
    sidecar = Sidecar(outbound_config(lab, connect_to=f"127.0.0.1:{port}"), name="outbound-restart")
    try:
        assert post(outbound_port(sidecar))[0] == 200
        assert first.stop() == 0
        status, answer = post(outbound_port(sidecar))
        assert status == 502
        assert_bi_error(answer, "upstream")
        second = Sidecar(inbound_config(lab, join_server.port, port=port), name="inbound-second")
        try:
            for _ in range(3):
                status, answer = post(outbound_port(sidecar))
                assert status == 200 and answer["Result"]["ResultCode"] == "Success"
        finally:
            assert second.stop() == 0
    finally:
        assert sidecar.stop() == 0
