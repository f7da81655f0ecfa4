"""client_auth.sender_ids: the inbound listener binds each authenticated DANE identity to the LoRaWAN
SenderIDs it may use, and refuses any other SenderID with 403 + a TS002 UnknownSender answer, forwarding
nothing to the join server. ChirpStack's roaming API made this check against the certificate CN; behind the
sidecar only the sidecar can make it.

One sidecar in optional mode (so the fail-closed rule for unauthenticated clients can be seen too):
  allow: [NAME_NS_A, *.<zone>]; sender_ids: {NAME_NS_A: ["0x010203"], *.<zone>: ["0A0B0C"]}
so ns-a may use 010203 and 0a0b0c (the union of both entries), ns-b only 0a0b0c.
"""
import json

import pytest

from conftest import JOIN_REQUEST, expect_handshake
from dane_client import encode_client_name, exchange, http_request
from processes import Sidecar
from inbound_setup import inbound_config, listen_address

LISTENER = "join-server"


def join_request(sender_id):
    body = json.loads(JOIN_REQUEST)
    body["SenderID"] = sender_id
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def sidecar(lab, join_server):
    zone = f"*.{lab.LAB_ZONE}"
    client_auth = {"mode": "optional", "allow": [lab.NAME_NS_A, zone], "ca_file": "",
                   "sender_ids": {lab.NAME_NS_A: ["0x010203"], zone: ["0A0B0C"]}}
    config = inbound_config(lab, join_server.port, client_auth=client_auth)
    with Sidecar(config, name="senders") as running:
        running.address = listen_address(config)
        yield running


def send(lab, sidecar, stem, body):
    """One request from operator `stem` ("ns-a", "ns-b") authenticated by its DANE name, or anonymous (None)."""
    if stem is None:
        return exchange(sidecar.address, None, None, None, http_request("POST", "/", body))
    name = getattr(lab, "NAME_" + stem.upper().replace("-", "_"))
    return exchange(sidecar.address, lab.pki(f"{stem}.pem"), lab.pki(f"{stem}.key"), encode_client_name(name),
                    http_request("POST", "/", body))


def refusal_counters(sidecar):
    return (sidecar.metric("dance_requests_total", listener=LISTENER, code="403"),
            sidecar.metric("dance_lorawan_messages_total", listener=LISTENER, message_type="JoinReq",
                           result_code="UnknownSender"))


@pytest.mark.parametrize("stem, sender_id", [
    ("ns-a", "010203"),   # its own entry
    ("ns-a", "0A0B0C"),   # the wildcard entry also matches ns-a: union; case does not matter
    ("ns-b", "0a0b0c"),   # only the wildcard entry
])
def test_a_bound_sender_id_is_forwarded(lab, sidecar, join_server, stem, sender_id):
    before = refusal_counters(sidecar)
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        reply = send(lab, sidecar, stem, join_request(sender_id))
    assert reply.status == 200, reply
    (record,) = seen.new_records
    assert record["message_type"] == "JoinReq", record
    assert refusal_counters(sidecar) == before


@pytest.mark.parametrize("stem, sender_id", [
    ("ns-a", "000202"),   # operator A claims to be someone else
    ("ns-b", "010203"),   # operator B claims to be operator A
    (None, "010203"),     # unauthenticated (optional mode): fail closed
])
def test_an_unbound_sender_id_is_refused_with_unknown_sender(lab, sidecar, join_server, stem, sender_id):
    requests_before, messages_before = refusal_counters(sidecar)
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=0):
        reply = send(lab, sidecar, stem, join_request(sender_id))
    assert reply.status == 403, reply
    answer = json.loads(reply.body)
    assert answer["MessageType"] == "JoinAns" and answer["TransactionID"] == 1234, answer
    assert answer["SenderID"] == "0807060504030201" and answer["ReceiverID"] == sender_id, answer
    assert answer["Result"]["ResultCode"] == "UnknownSender", answer
    assert refusal_counters(sidecar) == (requests_before + 1, messages_before + 1)
    warnings = [line for line in sidecar.log_events() if line.get("event") == "sender_not_bound"
                and line.get("sender_id") == sender_id]
    assert warnings, "no sender_not_bound log line"
    expected_identity = "" if stem is None else getattr(lab, "NAME_" + stem.upper().replace("-", "_"))
    assert warnings[-1].get("listener") == LISTENER and warnings[-1].get("client_id", "") == expected_identity, \
        warnings[-1]


def test_a_body_that_is_not_a_backend_interfaces_message_is_refused(lab, sidecar, join_server):
    before = sidecar.metric("dance_requests_total", listener=LISTENER, code="403")
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=0):
        reply = send(lab, sidecar, "ns-a", b"<html>not json</html>")
    assert reply.status == 403, reply
    assert json.loads(reply.body)["ResultCode"] == "UnknownSender", reply
    assert sidecar.metric("dance_requests_total", listener=LISTENER, code="403") == before + 1


@pytest.mark.parametrize("second_key", ["SenderID", "senderID", "\\u0053enderID"])
def test_a_second_sender_id_the_backend_could_read_instead_is_refused(lab, sidecar, join_server, second_key):
    # ChirpStack v3 (Go) would take the last of these, in any letter case; the first is ns-a's own SenderID.
    body = join_request("010203")[:-1] + f',"{second_key}":"999999"}}'.encode()
    before = sidecar.metric("dance_requests_total", listener=LISTENER, code="403")
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=0):
        reply = send(lab, sidecar, "ns-a", body)
    assert reply.status == 403, reply
    assert sidecar.metric("dance_requests_total", listener=LISTENER, code="403") == before + 1


def test_request_bodies_are_never_logged(sidecar):
    text = sidecar.log()
    assert "PHYPayload" not in text and "00010203040506070808070605040302010201cde6acb8" not in text
