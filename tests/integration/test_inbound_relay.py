"""After authentication the inbound listener relays HTTP/1.1 to its backend: keep-alive on both sides, chunked
bodies, a body limit, Backend Interfaces answers when the backend fails, and connections that live no longer
than the client's idle timeout or the TLSA answer that authenticated it.

Each test speaks TLS 1.3 with a real dane_clientid (tests/integration/dane_client.py) to a real sidecar in front
of the recording LoRaWAN join server, with the DNS lab's validating unbound behind the sidecar.
"""
import contextlib
import json
import os
import signal
import time

import pytest

from conftest import JOIN_REQUEST, wait_until
from dane_client import DaneConnection, encode_client_name, http_request
from inbound_setup import inbound_config, listen_address
from processes import JoinServer, Sidecar, free_port

MAX_BODY_BYTES = 2048


@contextlib.contextmanager
def inbound_sidecar(config, name="sidecar"):
    """A running sidecar with one inbound listener; .address is where it listens."""
    with Sidecar(config, name=name) as sidecar:
        sidecar.address = listen_address(config)
        yield sidecar


@pytest.fixture(scope="module")
def sidecar(lab, join_server):
    with inbound_sidecar(inbound_config(lab, join_server.port, max_body_bytes=MAX_BODY_BYTES)) as running:
        yield running


def connect(lab, sidecar, **options):
    return DaneConnection(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                          encode_client_name(lab.NAME_NS_A), **options)


def logged_lapse(sidecar, matches):
    """An authentication_lapsed log line that `matches` shows up (the log writer is asynchronous)."""
    return wait_until(lambda: any(event.get("event") == "authentication_lapsed" and matches(event)
                                  for event in sidecar.log_events()), deadline_s=10)


def join_request(headers=None):
    return http_request("POST", "/", JOIN_REQUEST, headers)


def chunked_join_request():
    head = b"POST / HTTP/1.1\r\nHost: sidecar.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    middle = len(JOIN_REQUEST) // 2
    chunks = [JOIN_REQUEST[:middle], JOIN_REQUEST[middle:]]
    return head + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def assert_join_answer_reporting_failure(reply, status, cause):
    """The answer a LoRaWAN NS can parse: a JoinAns to our JoinReq with ResultCode Other."""
    assert reply.status == status, reply
    assert reply.headers.get("content-type", "").startswith("application/json"), reply
    answer = json.loads(reply.body)
    assert answer["MessageType"] == "JoinAns", answer
    assert answer["SenderID"] == "0807060504030201" and answer["ReceiverID"] == "010203", answer
    assert answer["TransactionID"] == 1234, answer
    assert answer["Result"]["ResultCode"] == "Other", answer
    assert cause in answer["Result"]["Description"], answer


def test_one_client_connection_carries_many_requests_over_one_pooled_backend_connection(lab, sidecar, join_server):
    handshakes_before = sidecar.metric("dance_handshakes_total", result="ok")
    records_before = len(join_server.records())
    with connect(lab, sidecar) as connection:
        replies = [connection.request(join_request()) for _ in range(5)]
    assert [reply.status for reply in replies] == [200] * 5, replies
    assert all(json.loads(reply.body)["MessageType"] == "JoinAns" for reply in replies)
    assert sidecar.metric("dance_handshakes_total", result="ok") - handshakes_before == 1
    received = join_server.records()[records_before:]
    assert len(received) == 5
    assert len({record["peer"] for record in received}) == 1, "the backend connection was not reused"


def test_a_chunked_request_body_reaches_the_backend_with_its_length(lab, sidecar, join_server):
    records_before = len(join_server.records())
    with connect(lab, sidecar) as connection:
        reply = connection.request(chunked_join_request())
    assert reply.status == 200, reply
    assert json.loads(reply.body)["Result"]["ResultCode"] == "Success"
    (record,) = join_server.records()[records_before:]
    assert record["message_type"] == "JoinReq"
    assert record["headers"].get("content-length") == str(len(JOIN_REQUEST)), record
    assert "transfer-encoding" not in record["headers"], record


def test_a_body_over_max_body_bytes_gets_413_and_reaches_nothing(lab, sidecar, join_server):
    records_before = len(join_server.records())
    padded = JOIN_REQUEST[:-1] + b',"Padding":"' + b"0" * MAX_BODY_BYTES + b'"}'
    with connect(lab, sidecar) as connection:
        reply = connection.request(http_request("POST", "/", padded))
    assert reply.status == 413, reply
    assert reply.headers.get("connection") == "close", reply
    time.sleep(0.2)  # a request wrongly forwarded would be recorded by now
    assert join_server.records()[records_before:] == []


def test_a_refused_backend_gets_a_502_join_answer_with_result_other(lab):
    config = inbound_config(lab, free_port())  # nothing listens there
    with inbound_sidecar(config, "inbound-no-backend") as sidecar:
        with connect(lab, sidecar) as connection:
            reply = connection.request(join_request())
        assert_join_answer_reporting_failure(reply, 502, "refused")
        assert sidecar.metric("dance_requests_total", code="502") == 1
        assert sidecar.metric("dance_lorawan_messages_total", message_type="JoinReq", result_code="Other") == 1


def test_a_backend_slower_than_backend_ms_gets_a_504_join_answer_with_result_other(lab):
    slow_backend = JoinServer(extra=["--delay-ms", "3000"])
    config = inbound_config(lab, slow_backend.port,
                            timeouts={"handshake_ms": 10000, "idle_ms": 60000, "backend_ms": 300})
    try:
        with inbound_sidecar(config, "inbound-slow-backend") as sidecar:
            with connect(lab, sidecar) as connection:
                reply = connection.request(join_request())
            assert_join_answer_reporting_failure(reply, 504, "300 ms")
            assert sidecar.metric("dance_requests_total", code="504") == 1
    finally:
        slow_backend.stop()


def test_a_request_that_is_not_backend_interfaces_gets_a_small_json_error(lab):
    config = inbound_config(lab, free_port())
    with inbound_sidecar(config, "inbound-no-backend-text") as sidecar:
        with connect(lab, sidecar) as connection:
            reply = connection.request(http_request("POST", "/status", b"plain text, not JSON"))
    assert reply.status == 502, reply
    assert reply.headers.get("content-type", "").startswith("application/json"), reply
    assert "MessageType" not in json.loads(reply.body), reply.body


def test_an_idle_client_connection_is_closed_after_idle_ms(lab, join_server):
    config = inbound_config(lab, join_server.port,
                            timeouts={"handshake_ms": 10000, "idle_ms": 2000, "backend_ms": 5000})
    with inbound_sidecar(config, "inbound-idle") as sidecar:
        with connect(lab, sidecar) as connection:
            assert connection.request(join_request()).status == 200
            assert not connection.closed_by_server_within(0.5), "closed long before idle_ms"
            assert connection.closed_by_server_within(10), "still open long after idle_ms"


def test_a_connection_outlives_its_tlsa_answer_by_renewing_it(lab, join_server):
    """Keep-alive must not extend an authentication beyond the TLSA answer behind it (here the cache lifetime,
    max_ttl_s = 2 s): at expiry the name is looked up again, and the connection goes on only because the
    record that matched is still published."""
    config = inbound_config(lab, join_server.port, max_ttl_s=2)
    with inbound_sidecar(config, "inbound-tlsa-renewal") as sidecar:
        with connect(lab, sidecar) as connection:
            assert connection.request(join_request()).status == 200
            lookups = sidecar.metric("dance_tlsa_lookups_total", cache="miss")
            time.sleep(3.5)
            second = connection.request(join_request())
        assert second.status == 200 and second.headers.get("connection") != "close", second
        assert sidecar.metric("dance_handshakes_total", result="ok") == 1
        assert sidecar.metric("dance_tlsa_lookups_total", cache="miss") > lookups, "the answer was not renewed"


def test_a_connection_whose_tlsa_record_was_replaced_is_closed(lab, join_server):
    name = lab.NAME_CHANGING  # TTL 2 s
    config = inbound_config(lab, join_server.port)
    try:
        with inbound_sidecar(config, "inbound-tlsa-replaced") as sidecar:
            with DaneConnection(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                                encode_client_name(name)) as connection:
                assert connection.request(join_request()).status == 200
                lab.set_tlsa(name, lab.TLSA_NS_B)
                assert connection.closed_by_server_within(15), "the connection outlived its TLSA record"
            assert logged_lapse(sidecar, lambda event: event.get("client_id") == name)
    finally:
        lab.set_tlsa(name, lab.TLSA_NS_A)


def test_the_request_in_flight_when_the_record_is_replaced_is_answered_and_is_the_last(lab):
    name = lab.NAME_CHANGING
    slow_backend = JoinServer(extra=["--delay-ms", "6000"])
    config = inbound_config(lab, slow_backend.port, timeouts={"handshake_ms": 10000, "idle_ms": 60000,
                                                              "backend_ms": 10000})
    try:
        with inbound_sidecar(config, "inbound-tlsa-replaced-busy") as sidecar:
            with DaneConnection(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                                encode_client_name(name)) as connection:
                connection.send(join_request())
                lab.set_tlsa(name, lab.TLSA_NS_B)
                reply = connection.receive()
                assert reply.status == 200, reply
                assert reply.headers.get("connection") == "close", reply
                assert connection.closed_by_server_within(5)
    finally:
        lab.set_tlsa(name, lab.TLSA_NS_A)
        slow_backend.stop()


@contextlib.contextmanager
def frozen_resolver(lab):
    """unbound stopped (SIGSTOP): queries wait unanswered until it is thawed, at the latest on leaving."""
    pid = int(lab.UNBOUND_PID)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield lambda: os.kill(pid, signal.SIGCONT)
    finally:
        os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def renewal_on_a_frozen_resolver(lab, sidecar):
    """A connection that made one request, 2.5 s later: its 2 s TLSA answer (max_ttl_s=2) expired at the 2 s mark
    and the renewal's lookup waits on the frozen resolver. Yields (connection, thaw)."""
    with connect(lab, sidecar) as connection:
        assert connection.request(join_request()).status == 200
        time.sleep(1)
        with frozen_resolver(lab) as thaw:
            time.sleep(1.5)
            yield connection, thaw


def test_a_request_arriving_during_the_renewal_waits_for_its_verdict(lab, join_server):
    config = inbound_config(lab, join_server.port, max_ttl_s=2, dns_timeout_ms=8000)
    with inbound_sidecar(config, "inbound-renewal-wait") as sidecar:
        with renewal_on_a_frozen_resolver(lab, sidecar) as (connection, thaw):
            records = len(join_server.records())
            connection.send(join_request())
            time.sleep(0.5)
            assert len(join_server.records()) == records, "forwarded before the authentication was renewed"
            thaw()
            reply = connection.receive()
            assert reply.status == 200, reply
            assert len(join_server.records()) == records + 1


def test_a_request_waiting_on_a_renewal_that_fails_is_refused_and_not_forwarded(lab, join_server):
    config = inbound_config(lab, join_server.port, max_ttl_s=2, dns_timeout_ms=2000)
    with inbound_sidecar(config, "inbound-renewal-fails") as sidecar:
        with renewal_on_a_frozen_resolver(lab, sidecar) as (connection, _):
            records = len(join_server.records())
            reply = connection.request(join_request())  # waits: the renewal's lookup times out at the 4 s mark
            assert reply.status == 403 and reply.headers.get("connection") == "close", reply
            answer = json.loads(reply.body)
            assert answer["MessageType"] == "JoinAns" and answer["Result"]["ResultCode"] == "Other", answer
            assert "lapsed" in answer["Result"]["Description"], answer
            assert connection.closed_by_server_within(5)
            assert len(join_server.records()) == records
        assert logged_lapse(sidecar, lambda event: "timeout" in event.get("reason", ""))


def test_a_name_a_reload_took_off_the_allow_list_lapses_at_renewal_without_a_dns_query(lab, join_server):
    config = inbound_config(lab, join_server.port, max_ttl_s=3)
    with inbound_sidecar(config, "inbound-allow-list-reload") as sidecar:
        with connect(lab, sidecar) as connection:
            assert connection.request(join_request()).status == 200
            config["inbound"][0]["client_auth"]["allow"] = [lab.NAME_NS_B]
            sidecar.write_config(config)
            sidecar.reload()
            assert wait_until(lambda: sidecar.metric("dance_config_reloads_total", result="ok") == 1)
            queries = lab.unbound_query_count()
            assert connection.closed_by_server_within(10), "the connection outlived its name's allow-list entry"
        assert lab.unbound_query_count() == queries, "the sidecar queried a name outside the allow-list"
        assert logged_lapse(sidecar, lambda event: "allow-list" in event.get("reason", ""))
