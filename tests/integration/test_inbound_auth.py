"""The inbound listener authenticates each client by dane_clientid + DNSSEC-validated TLSA (require mode).

One sidecar (trust-ad against the lab's unbound, allow-list `*.<zone>`, no CA file) in front of a recording
join server, and a second one with the organisation CA as `ca_file` for the PKIX usages; each test makes one
connection and checks what the client saw, that dance_handshakes_total moved
by exactly one for the expected result, and what the join server received (nothing on failure).
"""
import re
import socket
import ssl
import time

import pytest

from conftest import JOIN_REQUEST, expect_handshake
from dane_client import Session, encode_client_name, exchange, http_request
from processes import Sidecar
from inbound_setup import inbound_config, listen_address

CACHE_MAX_TTL_S = 3
HANDSHAKE_FAILURE = 40  # every DANE refusal (RFC 8446 alert numbers)
CERTIFICATE_REQUIRED = 116  # an empty client Certificate, sent by libssl itself (RFC 8446 4.4.2.4)


@pytest.fixture(scope="module")
def sidecar(lab, join_server):
    config = inbound_config(lab, join_server.port, max_ttl_s=CACHE_MAX_TTL_S, log_level="debug")
    with Sidecar(config) as running:
        running.address = listen_address(config)
        yield running


def assert_accepted(result):
    assert "server offered dane_clientid: yes" in result.stdout, result.stdout + result.stderr
    assert "identity: accepted by the server" in result.stdout, result.stdout + result.stderr
    assert "http: 200 OK" in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def received_alerts(error_text):
    """The alert numbers OpenSSL reported receiving in the ctypes client's error text: the reason code of
    "error:0A000410:SSL routines::sslv3 alert handshake failure" is 1000 + the alert number."""
    reasons = [int(code, 16) & 0x7FFFFF for code in re.findall(r"error:([0-9A-Fa-f]{8}):SSL routines", error_text)]
    return [reason - 1000 for reason in reasons if 1000 <= reason < 1256]


def assert_refused(address, cert, key, client_name):
    """Connects with `client_name` in dane_clientid and waits for the verdict without sending a request;
    the alert must be handshake_failure (40), as the draft asks, not bad_certificate."""
    reply = exchange(address, cert, key, encode_client_name(client_name), b"")
    assert reply.handshake_done, f"TLS 1.3: the client finishes before the server has decided: {reply}"
    assert reply.status is None and "alert handshake failure" in reply.error, reply
    assert received_alerts(reply.error) == [HANDSHAKE_FAILURE], reply


def assert_forwarded_identity(records, name, tlsa):
    (record,) = records
    assert record["method"] == "POST" and record["message_type"] == "JoinReq", record
    assert record["headers"].get("x-dane-client-id") == name, record
    assert record["headers"].get("x-dane-client-tlsa") == tlsa, record


@pytest.mark.parametrize("name_key, stem, tlsa", [
    ("NAME_NS_A", "ns-a", "3 1 1"),
    ("NAME_C301", "ns-a", "3 0 1"),
    ("NAME_C312", "ns-a", "3 1 2"),
    ("NAME_RSA", "rsa", "3 1 1"),
    ("NAME_NS_B", "ns-b", "3 1 1"),
])
def test_dane_ee_client_is_accepted(lab, sidecar, join_server, probe, name_key, stem, tlsa):
    name = getattr(lab, name_key)
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = probe(sidecar.address, lab.pki(f"{stem}.pem"), lab.pki(f"{stem}.key"), name)
    assert_accepted(result)
    assert_forwarded_identity(seen.new_records, name, tlsa)


@pytest.mark.parametrize("name_key, tlsa", [("NAME_DEVICE", "2 0 1"), ("NAME_DEVICE_B", "2 1 1")])
def test_dane_ta_device_with_chain_is_accepted(lab, sidecar, join_server, probe, chain_file, name_key, tlsa):
    name = getattr(lab, name_key)
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = probe(sidecar.address, chain_file("device"), lab.pki("device.key"), name)
    assert_accepted(result)
    assert_forwarded_identity(seen.new_records, name, tlsa)


def test_two_unrelated_operators_are_both_accepted(lab, sidecar, join_server, probe):
    for stem, name in (("ns-a", lab.NAME_NS_A), ("ns-b", lab.NAME_NS_B)):
        with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
            result = probe(sidecar.address, lab.pki(f"{stem}.pem"), lab.pki(f"{stem}.key"), name)
        assert_accepted(result)
        assert_forwarded_identity(seen.new_records, name, "3 1 1")


def test_identity_headers_sent_by_the_client_are_replaced(lab, sidecar, join_server):
    forged = {"X-Dane-Client-Id": f"forged.{lab.LAB_ZONE}", "x-dane-client-tlsa": "0 0 0"}
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        reply = exchange(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                         encode_client_name(lab.NAME_NS_A), http_request("POST", "/", JOIN_REQUEST, forged))
    assert reply.status == 200, reply
    assert_forwarded_identity(seen.new_records, lab.NAME_NS_A, "3 1 1")


def test_no_session_is_resumed_so_every_connection_is_checked_against_dns(lab, sidecar, join_server):
    session = Session()
    try:
        for attempt in range(2):
            with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1):
                reply = exchange(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                                 encode_client_name(lab.NAME_NS_A), http_request("POST", "/", JOIN_REQUEST),
                                 session=session)
            assert reply.status == 200, reply
            assert not reply.resumed, f"connection {attempt + 1} resumed a session: no DANE check happened"
            assert not reply.resumable, "the sidecar issued a session ticket"
    finally:
        session.close()


def test_stale_and_current_record_in_one_set_is_accepted(lab, sidecar, join_server, probe):
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_STALE)
    assert_accepted(result)
    assert_forwarded_identity(seen.new_records, lab.NAME_STALE, "3 1 1")


@pytest.mark.parametrize("name_key, reason", [
    ("NAME_BOGUS_SIG", "dns_bogus"),
    ("NAME_BOGUS_RDATA", "dns_bogus"),
    ("NAME_EXPIRED", "dns_bogus"),
    ("NAME_INSECURE", "dns_insecure"),
    ("NAME_NXDOMAIN", "dns_nxdomain"),
    ("NAME_NODATA", "dns_nodata"),
    ("NAME_REFUSED", "dns_error"),
    ("NAME_MISMATCH", "tlsa_mismatch"),
])
def test_client_without_valid_tlsa_is_rejected(lab, sidecar, join_server, name_key, reason):
    with expect_handshake(sidecar, join_server, reason, requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), getattr(lab, name_key))


def test_rogue_certificate_claiming_an_operator_name_is_rejected(lab, sidecar, join_server):
    with expect_handshake(sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("rogue.pem"), lab.pki("rogue.key"), lab.NAME_NS_A)


def test_dane_ta_name_missing_from_san_is_rejected(lab, sidecar, join_server, chain_file):
    with expect_handshake(sidecar, join_server, "name_mismatch", requests_forwarded=0):
        assert_refused(sidecar.address, chain_file("device-nosan"), lab.pki("device-nosan.key"), lab.NAME_NOSAN)


def test_name_outside_the_allow_list_is_rejected_without_a_dns_query(lab, sidecar, join_server):
    queries_before = lab.unbound_query_count()
    with expect_handshake(sidecar, join_server, "not_allowed", requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), "_ns-client.ns.operator-c.invalid")
    assert lab.unbound_query_count() == queries_before, "the resolver was queried for a name outside the allow-list"


@pytest.mark.parametrize("bad_name", ["has space.{zone}", "\\065bc.{zone}", "trailing-dot.{zone}."])
def test_malformed_client_name_is_rejected_without_a_dns_query(lab, sidecar, join_server, bad_name):
    queries_before = lab.unbound_query_count()
    with expect_handshake(sidecar, join_server, "bad_clientid", requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), bad_name.format(zone=lab.LAB_ZONE))
    assert lab.unbound_query_count() == queries_before


def test_probe_reports_a_fast_rejection_as_rejected(lab, sidecar, join_server, probe):
    """The probe writes its request right after its Finished. A rejection that needs no DNS is sent at once:
    before 31e7be0 (lingering close) the sidecar's close() reset the connection and most of these
    attempts saw "closed the connection without an answer" instead of the alert."""
    for _ in range(10):
        with expect_handshake(sidecar, join_server, "not_allowed", requests_forwarded=0):
            result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), "_ns-client.ns.operator-c.invalid")
        assert result.returncode == 1 and "http:" not in result.stdout, result.stdout
        assert "identity: REJECTED by the server" in result.stdout and "alert handshake failure" in result.stdout, \
            result.stdout


def test_empty_client_name_is_rejected(lab, sidecar, join_server):
    with expect_handshake(sidecar, join_server, "empty_clientid", requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), "")


def tls13_client(cert=None, key=None, maximum=ssl.TLSVersion.TLSv1_3):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = maximum
    if cert:
        context.load_cert_chain(cert, key)
    return context


def python_ssl_verdict(address, context):
    """Handshake, then wait for the server's verdict without sending anything: the SSLError text."""
    with socket.create_connection(address, timeout=30) as raw:
        with context.wrap_socket(raw) as tls:
            try:
                data = tls.recv(1024)
            except ssl.SSLError as error:
                return str(error)
            return f"no alert, read {data!r}"


def test_client_without_certificate_gets_certificate_required(sidecar, join_server):
    """An empty Certificate is not a DANE failure: libssl refuses it with certificate_required (116)."""
    with expect_handshake(sidecar, join_server, "no_certificate", requests_forwarded=0):
        verdict = python_ssl_verdict(sidecar.address, tls13_client())
    assert "TLSV13_ALERT_CERTIFICATE_REQUIRED" in verdict, verdict


def test_client_without_certificate_sending_a_request_at_once_gets_certificate_required(sidecar, join_server):
    with expect_handshake(sidecar, join_server, "no_certificate", requests_forwarded=0):
        reply = exchange(sidecar.address, None, None, None, http_request("POST", "/", JOIN_REQUEST))
    assert reply.status is None and "alert certificate required" in reply.error, reply
    assert set(received_alerts(reply.error)) == {CERTIFICATE_REQUIRED}, reply


def test_client_certificate_without_dane_clientid_is_rejected(lab, sidecar, join_server):
    with expect_handshake(sidecar, join_server, "no_clientid", requests_forwarded=0):
        verdict = python_ssl_verdict(sidecar.address, tls13_client(lab.pki("ns-a.pem"), lab.pki("ns-a.key")))
    assert "HANDSHAKE_FAILURE" in verdict, verdict


def test_malformed_client_hello_gets_a_fatal_alert_and_counts_as_tls_error(sidecar, join_server):
    # A ClientHello record whose body ends before legacy_version: a decoding error, not an authentication one.
    truncated_hello = bytes([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03])
    with expect_handshake(sidecar, join_server, "tls_error", requests_forwarded=0):
        with socket.create_connection(sidecar.address, timeout=30) as raw:
            raw.sendall(truncated_hello)
            answer = raw.recv(7)
    assert answer[:1] == b"\x15" and answer[5:6] == b"\x02", f"expected a fatal alert record, got {answer!r}"


def test_tls12_client_is_refused(lab, sidecar, join_server):
    context = tls13_client(lab.pki("ns-a.pem"), lab.pki("ns-a.key"), maximum=ssl.TLSVersion.TLSv1_2)
    with expect_handshake(sidecar, join_server, "protocol_version", requests_forwarded=0):
        with socket.create_connection(sidecar.address, timeout=30) as raw:
            with pytest.raises(ssl.SSLError) as refused:
                context.wrap_socket(raw)
    assert "PROTOCOL_VERSION" in str(refused.value) or "UNSUPPORTED_PROTOCOL" in str(refused.value), refused.value


def test_changed_tlsa_record_refuses_the_old_key_after_the_cache_expires(lab, sidecar, join_server, probe):
    name = lab.NAME_CHANGING
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1):
        assert_accepted(probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), name))
    lab.set_tlsa(name, lab.TLSA_NS_B)
    time.sleep(CACHE_MAX_TTL_S + 1.5)  # the record's TTL is 2 s, the sidecar caps at CACHE_MAX_TTL_S
    with expect_handshake(sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        assert_refused(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), name)
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        assert_accepted(probe(sidecar.address, lab.pki("ns-b.pem"), lab.pki("ns-b.key"), name))
    assert_forwarded_identity(seen.new_records, name, "3 1 1")


def test_log_never_contains_message_bodies(lab, sidecar, join_server, probe):
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1):
        assert_accepted(probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_NS_A))
    log = sidecar.log()
    assert '"event":"handshake_ok"' in log.replace(" ", ""), "debug logging is off: this test would prove nothing"
    for fragment in ("PHYPayload", "00010203040506070808070605040302010201cde6acb8", "AESKey", "NwkSKey", "CFList"):
        assert fragment not in log, f"{fragment} (from a message body) in the sidecar's log"


@pytest.fixture(scope="module")
def pkix_sidecar(lab, join_server):
    """Like `sidecar`, with the organisation CA configured: TLSA usages 0 and 1 become usable."""
    client_auth = {"mode": "require", "allow": [f"*.{lab.LAB_ZONE}"], "ca_file": str(lab.pki("org-ca.pem"))}
    config = inbound_config(lab, join_server.port, client_auth=client_auth, log_level="debug")
    with Sidecar(config, name="pkix") as running:
        running.address = listen_address(config)
        yield running


@pytest.mark.parametrize("name_key, tlsa", [("NAME_PKIX_EE", "1 1 1"), ("NAME_PKIX_TA", "0 0 1")])
def test_pkix_usage_with_a_ca_file_is_accepted(lab, pkix_sidecar, join_server, probe, chain_file, name_key, tlsa):
    name = getattr(lab, name_key)
    with expect_handshake(pkix_sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = probe(pkix_sidecar.address, chain_file("device"), lab.pki("device.key"), name)
    assert_accepted(result)
    assert_forwarded_identity(seen.new_records, name, tlsa)


@pytest.mark.parametrize("name_key", ["NAME_PKIX_EE", "NAME_PKIX_TA"])
def test_pkix_usage_without_a_ca_file_is_not_usable(lab, sidecar, join_server, chain_file, name_key):
    with expect_handshake(sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        assert_refused(sidecar.address, chain_file("device"), lab.pki("device.key"), getattr(lab, name_key))


def test_no_usable_record_never_falls_back_to_pkix(lab, pkix_sidecar, join_server, chain_file):
    # The chain is valid under the configured CA and the name is in its SAN: only DANE may decide, and the
    # name's one record has a matching type nobody implements. RFC 7671 section 5: a set without a usable
    # record is no TLSA record at all (dns_nodata), and still refused with handshake_failure, never PKIX.
    with expect_handshake(pkix_sidecar, join_server, "dns_nodata", requests_forwarded=0):
        assert_refused(pkix_sidecar.address, chain_file("device"), lab.pki("device.key"), lab.NAME_UNUSABLE)


def test_pkix_ee_record_for_a_certificate_outside_the_ca_is_rejected(lab, pkix_sidecar, join_server):
    with expect_handshake(pkix_sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        assert_refused(pkix_sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), lab.NAME_PKIX_UNTRUSTED)
