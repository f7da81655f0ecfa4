"""RFC 7250 raw public keys (OpenSSL 3.2 and later): a client authenticates with its bare key, matched only by a
DANE-EE SPKI record (3 1 x) at its ClientName, through the real DNS lab.

Inbound `client_auth.raw_public_key: true` accepts one (certificates still accepted); outbound
`tls.raw_public_key: true` and `probe --raw-public-key` present one, falling back to the certificate when the
server takes none. Against OpenSSL's own s_client/s_server (`-enable_client_rpk`) for interoperability. Where
the build has OpenSSL 3.0 (Debian 12), `check` must refuse the option with the version, and the rest is
skipped with that reason.
"""
import re
import subprocess
import time

import pytest

from conftest import GENEROUS_S, expect_handshake, required_binary, wait_until
from inbound_setup import inbound_config, listen_address
from processes import Process, Sidecar, free_port, post, wait_for_port

INBOUND_PORT = free_port()  # the lab publishes the JS name's TLSA at _<this port>._tcp (outbound chain)


def sidecar_version():
    return subprocess.run([required_binary("DANCE_SIDECAR"), "--version"], capture_output=True, text=True,
                          timeout=GENEROUS_S).stdout


SUPPORTED = "raw public keys: yes" in sidecar_version()
needs_raw_keys = pytest.mark.skipif(not SUPPORTED, reason="this build's OpenSSL is older than 3.2 (no RFC 7250): "
                                                          + sidecar_version().strip())


def raw_key_inbound(lab, backend_port, *, accept_raw_key=True, port=None):
    config = inbound_config(lab, backend_port, log_level="debug",
                            client_auth={"mode": "require", "allow": [f"*.{lab.LAB_ZONE}"],
                                         "raw_public_key": accept_raw_key})
    if port:
        config["inbound"][0]["listen"] = f"127.0.0.1:{port}"
    return config


def running_inbound(config, name):
    if not SUPPORTED:
        pytest.skip("this build's OpenSSL is older than 3.2")
    with Sidecar(config, name=name) as running:
        running.address = listen_address(config)
        yield running


@pytest.fixture(scope="module")
def sidecar(lab, join_server):
    yield from running_inbound(raw_key_inbound(lab, join_server.port, port=INBOUND_PORT), "inbound")


@pytest.fixture(scope="module")
def x509_only_sidecar(lab, join_server):
    yield from running_inbound(raw_key_inbound(lab, join_server.port, accept_raw_key=False), "inbound-x509")


def raw_key_probe(probe, address, lab, stem, name_key):
    return probe(address, lab.pki(f"{stem}.pem"), lab.pki(f"{stem}.key"), getattr(lab, name_key), "--raw-public-key")


def check_config(tmp_path, text):
    path = tmp_path / "sidecar.yaml"
    path.write_text(text)
    return subprocess.run([required_binary("DANCE_SIDECAR"), "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=GENEROUS_S)


@pytest.mark.skipif(SUPPORTED, reason="this build has OpenSSL 3.2 or later: the option is accepted")
def test_check_refuses_the_option_below_openssl_3_2_naming_line_and_version(lab, tmp_path):
    result = check_config(tmp_path, f"""\
inbound:
  - name: js
    listen: "127.0.0.1:{free_port()}"
    backend: "127.0.0.1:{free_port()}"
    tls: {{cert: "{lab.pki('js.pem')}", key: "{lab.pki('js.key')}"}}
    client_auth:
      allow: ["*.{lab.LAB_ZONE}"]
      raw_public_key: true
""")
    assert result.returncode == 2, result
    assert re.search(r"sidecar\.yaml:8:\d+: inbound\[0\]\.client_auth\.raw_public_key: raw public keys "
                     r"\(RFC 7250\) need OpenSSL 3\.2 or later; this build uses OpenSSL 3\.", result.stdout + result.stderr), \
        result.stdout + result.stderr


@needs_raw_keys
@pytest.mark.parametrize("name_key, tlsa", [("NAME_NS_A", "3 1 1"), ("NAME_C312", "3 1 2")])
def test_raw_key_matched_by_a_dane_ee_spki_record_is_accepted(lab, sidecar, join_server, probe, name_key, tlsa):
    with expect_handshake(sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = raw_key_probe(probe, sidecar.address, lab, "ns-a", name_key)
    assert "client credential: raw public key" in result.stdout, result.stdout + result.stderr
    assert "identity: accepted by the server" in result.stdout and result.returncode == 0, result.stdout
    (record,) = seen.new_records
    assert record["headers"].get("x-dane-client-id") == getattr(lab, name_key)
    assert record["headers"].get("x-dane-client-tlsa") == tlsa
    logged = [event for event in sidecar.log_events() if event.get("event") == "handshake_ok"
              and event.get("client_id") == getattr(lab, name_key)]
    assert logged and logged[-1].get("credential") == "raw_public_key", logged


@needs_raw_keys
def test_raw_key_with_only_a_certificate_record_is_refused(lab, sidecar, join_server, probe):
    # NAME_C301 publishes 3 0 1 (the hash of ns-a's whole certificate): a bare key cannot match it.
    with expect_handshake(sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        result = raw_key_probe(probe, sidecar.address, lab, "ns-a", "NAME_C301")
    assert "identity: REJECTED by the server" in result.stdout and "handshake failure" in result.stdout, result.stdout
    assert result.returncode != 0
    assert any("3 1 x" in event.get("detail", "") for event in sidecar.log_events()
               if event.get("event") == "handshake_failed"), sidecar.log()[-2000:]


@needs_raw_keys
def test_raw_key_of_another_client_is_refused(lab, sidecar, join_server, probe):
    # ns-b's key under ns-a's name: the 3 1 1 record is ns-a's.
    with expect_handshake(sidecar, join_server, "tlsa_mismatch", requests_forwarded=0):
        result = probe(sidecar.address, lab.pki("ns-b.pem"), lab.pki("ns-b.key"), lab.NAME_NS_A, "--raw-public-key")
    assert "client credential: raw public key" in result.stdout, result.stdout
    assert "identity: REJECTED by the server" in result.stdout and result.returncode != 0, result.stdout


@needs_raw_keys
def test_raw_key_outside_the_allow_list_is_refused_without_a_lookup(lab, sidecar, join_server, probe):
    lookups_before = sidecar.metric("dance_tlsa_lookups_total")
    with expect_handshake(sidecar, join_server, "not_allowed", requests_forwarded=0):
        result = probe(sidecar.address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), "_ns.not-in-the.list",
                       "--raw-public-key")
    assert "client credential: raw public key" in result.stdout, result.stdout
    assert result.returncode != 0
    assert sidecar.metric("dance_tlsa_lookups_total") == lookups_before


@needs_raw_keys
def test_openssl_s_client_raw_key_without_dane_clientid_is_refused(lab, sidecar, join_server):
    """OpenSSL's own client negotiates the raw key but cannot send dane_clientid: handshake_failure."""
    host, port = sidecar.address
    with expect_handshake(sidecar, join_server, "no_clientid", requests_forwarded=0):
        result = subprocess.run(
            ["openssl", "s_client", "-connect", f"{host}:{port}", "-tls1_3", "-cert", str(lab.pki("ns-a.pem")),
             "-key", str(lab.pki("ns-a.key")), "-enable_client_rpk", "-ign_eof"],
            input="GET / HTTP/1.1\r\nHost: js\r\n\r\n", capture_output=True, text=True, timeout=GENEROUS_S)
    output = result.stdout + result.stderr
    assert "alert handshake failure" in output, output[-3000:]


@needs_raw_keys
def test_a_server_that_takes_no_raw_key_gets_the_certificate(lab, x509_only_sidecar, join_server, probe):
    with expect_handshake(x509_only_sidecar, join_server, "ok", requests_forwarded=1) as seen:
        result = raw_key_probe(probe, x509_only_sidecar.address, lab, "ns-a", "NAME_NS_A")
    assert "client credential: certificate (the server took no raw key)" in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert seen.new_records[0]["headers"].get("x-dane-client-tlsa") == "3 1 1"


@needs_raw_keys
def test_probe_presents_a_raw_key_to_openssl_s_server(lab):
    """Interoperability with OpenSSL's own server: the raw key is negotiated and sent, and s_server verified a raw
    key (it has no DANE records, so it reports it untrusted and, without -verify_return_error, goes on)."""
    port = free_port()
    server = Process(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_3", "-cert",
                      str(lab.pki("js.pem")), "-key", str(lab.pki("js.key")), "-Verify", "1",
                      "-enable_client_rpk", "-www"], "s_server")
    try:
        wait_for_port(port, process=server.process)
        result = subprocess.run([required_binary("DANCE_SIDECAR"), "probe", "--connect", f"127.0.0.1:{port}",
                                 "--cert", str(lab.pki("ns-a.pem")), "--key", str(lab.pki("ns-a.key")),
                                 "--client-id", lab.NAME_NS_A, "--raw-public-key"],
                                capture_output=True, text=True, timeout=GENEROUS_S)
    finally:
        server.stop()
    assert "server offered dane_clientid: no" in result.stdout, result.stdout
    assert "client credential: raw public key" in result.stdout, result.stdout + result.stderr
    assert "handshake: completed" in result.stdout, result.stdout + result.stderr
    assert "Raw public key untrusted" in server.log(), server.log()[-2000:]


@needs_raw_keys
def test_outbound_listener_presents_a_raw_key_end_to_end(lab, sidecar, join_server):
    """NS -> outbound (tls.raw_public_key) -> inbound (client_auth.raw_public_key) -> join server."""
    listen_port = free_port()
    config = {
        "dns": {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"], "timeout_ms": 2000},
        "outbound": [{
            "name": "js", "listen": f"127.0.0.1:{listen_port}", "upstream": f"{lab.NAME_JS}:{INBOUND_PORT}",
            "connect_to": f"127.0.0.1:{INBOUND_PORT}",
            "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")), "client_id": lab.NAME_NS_A,
                    "raw_public_key": True},
        }],
    }
    before = len(join_server.records())
    with Sidecar(config, name="outbound") as outbound:
        status, answer = post(listen_port)
        assert status == 200 and answer["Result"]["ResultCode"] == "Success", answer
        assert outbound.metric("dance_handshakes_total", direction="outbound", result="ok") == 1
    (record,) = join_server.records()[before:]
    assert record["headers"].get("x-dane-client-id") == lab.NAME_NS_A
    assert wait_until(lambda: [event for event in sidecar.log_events() if event.get("event") == "handshake_ok"
                               and event.get("credential") == "raw_public_key"
                               and event.get("client_id") == lab.NAME_NS_A])
