"""A reload reaches what it claims: open keep-alive connections meet the new allow-list, SenderID bindings and
identity header on their next request; outbound pools stop reusing connections made with the old settings;
and a change that needs a restart is reported as such, never silently ignored.

Each test keeps one real DANE TLS 1.3 connection open across a SIGHUP reload of a real sidecar.
"""
import contextlib
import json
import time

from conftest import JOIN_REQUEST, wait_until
from dane_client import DaneConnection, encode_client_name, http_request
from inbound_setup import inbound_config, listen_address
from processes import Sidecar, free_port, post

INBOUND_PORT = free_port()  # the lab publishes the JS TLSA record at this port (see conftest's lab fixture)


def reloaded(sidecar, config):
    """Writes `config`, sends SIGHUP and waits for the reload to be applied."""
    before = sidecar.metric("dance_config_reloads_total", result="ok")
    sidecar.write_config(config)
    sidecar.reload()
    assert wait_until(lambda: sidecar.metric("dance_config_reloads_total", result="ok") > before, deadline_s=10)


def lapses(sidecar):
    return [event for event in sidecar.log_events() if event.get("event") == "authentication_lapsed"]


def join_request(sender_id="010203", headers=None):
    body = json.loads(JOIN_REQUEST)
    body["SenderID"] = sender_id
    return http_request("POST", "/", json.dumps(body).encode(), headers)


@contextlib.contextmanager
def open_connection(lab, config):
    with DaneConnection(listen_address(config), lab.pki("ns-a.pem"), lab.pki("ns-a.key"),
                        encode_client_name(lab.NAME_NS_A)) as connection:
        yield connection


def test_an_allow_entry_removed_by_a_reload_refuses_the_next_request_on_an_open_connection(lab, join_server):
    config = inbound_config(lab, join_server.port, workers=1)
    with Sidecar(config, name="reload-allow") as sidecar, open_connection(lab, config) as connection:
        assert connection.request(join_request()).status == 200
        forwarded = len(join_server.records())
        narrowed = inbound_config(lab, join_server.port, workers=1,
                                  client_auth={"mode": "require", "allow": [lab.NAME_NS_B], "ca_file": ""})
        narrowed["inbound"][0]["listen"] = config["inbound"][0]["listen"]
        narrowed["admin"] = sidecar.config["admin"]
        reloaded(sidecar, narrowed)
        reply = connection.request(join_request())
        assert reply.status == 403, reply
        assert "allow-list" in json.loads(reply.body)["Result"]["Description"], reply
        assert reply.headers.get("connection") == "close", reply
        assert len(join_server.records()) == forwarded
        assert connection.closed_by_server_within(5)
        assert wait_until(lambda: lapses(sidecar), deadline_s=10)  # the log writer is asynchronous
        assert len(lapses(sidecar)) == 1 and "allow-list" in lapses(sidecar)[0].get("reason", "")


def test_a_sender_id_unbound_by_a_reload_is_refused_on_an_open_connection(lab, join_server):
    auth = {"mode": "require", "allow": [lab.NAME_NS_A], "ca_file": "", "sender_ids": {lab.NAME_NS_A: ["010203"]}}
    config = inbound_config(lab, join_server.port, workers=1, client_auth=auth)
    with Sidecar(config, name="reload-senders") as sidecar, open_connection(lab, config) as connection:
        assert connection.request(join_request("010203")).status == 200
        forwarded = len(join_server.records())
        rebound = json.loads(json.dumps(sidecar.config))
        rebound["inbound"][0]["client_auth"]["sender_ids"] = {lab.NAME_NS_A: ["0a0b0c"]}
        reloaded(sidecar, rebound)
        reply = connection.request(join_request("010203"))
        assert reply.status == 403, reply
        assert json.loads(reply.body)["Result"]["ResultCode"] == "UnknownSender", reply
        assert len(join_server.records()) == forwarded
        assert connection.request(join_request("0a0b0c")).status == 200  # the new binding, same connection


def test_a_renamed_identity_header_is_used_from_the_next_request_on(lab, join_server):
    config = inbound_config(lab, join_server.port, workers=1)
    with Sidecar(config, name="reload-header") as sidecar, open_connection(lab, config) as connection:
        assert connection.request(join_request()).status == 200
        renamed = json.loads(json.dumps(sidecar.config))
        renamed["inbound"][0]["identity_header"] = "X-Operator-Identity"
        reloaded(sidecar, renamed)
        assert connection.request(join_request()).status == 200
        headers = join_server.records()[-1]["headers"]
        assert headers.get("x-operator-identity") == lab.NAME_NS_A, headers
        assert "x-dane-client-id" not in headers, headers
        # A backend not yet reconfigured may still trust the former name: a client cannot forge it either,
        # nor, after a second rename, the first one.
        twice = json.loads(json.dumps(renamed))
        twice["inbound"][0]["identity_header"] = "X-Second-Identity"
        reloaded(sidecar, twice)
        forged = {"x-dane-client-id": "forged.example", "X_Operator_Identity": "forged.example"}
        assert connection.request(join_request(headers=forged)).status == 200
        headers = join_server.records()[-1]["headers"]
        assert headers.get("x-second-identity") == lab.NAME_NS_A, headers
        assert "x-dane-client-id" not in headers and "x-operator-identity" not in headers, headers
        assert not any("forged" in value for value in headers.values()), headers


def test_outbound_pool_connections_made_before_a_reload_are_not_reused(lab, join_server):
    inbound_port = INBOUND_PORT
    inbound = inbound_config(lab, join_server.port)
    inbound["inbound"][0]["listen"] = f"127.0.0.1:{inbound_port}"
    outbound = {
        "workers": 1,  # one pool
        "dns": inbound["dns"],
        "outbound": [{"name": "js", "listen": f"127.0.0.1:{free_port()}", "upstream": f"{lab.NAME_JS}:{inbound_port}",
                      "connect_to": f"127.0.0.1:{inbound_port}", "server_auth": "dane",
                      "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")),
                              "client_id": lab.NAME_NS_A}}],
    }
    outbound_listen = int(outbound["outbound"][0]["listen"].rsplit(":", 1)[1])
    with Sidecar(inbound, name="reload-pool-in") as js_side, Sidecar(outbound, name="reload-pool-out") as ns_side:
        assert post(outbound_listen)[0] == 200
        assert post(outbound_listen)[0] == 200
        assert js_side.metric("dance_handshakes_total", result="ok") == 1  # the second rode the pooled connection
        reloaded(ns_side, json.loads(json.dumps(ns_side.config)))
        assert post(outbound_listen)[0] == 200
        assert js_side.metric("dance_handshakes_total", result="ok") == 2  # a new connection after the reload


def test_a_dns_change_is_reported_as_needing_a_restart(lab, join_server):
    config = inbound_config(lab, join_server.port, workers=1)
    with Sidecar(config, name="reload-dns") as sidecar:
        changed = json.loads(json.dumps(sidecar.config))
        changed["dns"]["timeout_ms"] = changed["dns"]["timeout_ms"] + 1000
        changed["workers"] = 2
        reloaded(sidecar, changed)
        assert wait_until(lambda: any(event.get("event") == "config_reload_needs_restart"
                                      for event in sidecar.log_events()), deadline_s=10)
        event = next(e for e in sidecar.log_events() if e.get("event") == "config_reload_needs_restart")
        assert event.get("keys") == "dns,workers", event
        # Reloading the same file again still reports it: the running values did not change.
        reloaded(sidecar, changed)
        assert wait_until(lambda: sum(e.get("event") == "config_reload_needs_restart"
                                      for e in sidecar.log_events()) == 2, deadline_s=10)
