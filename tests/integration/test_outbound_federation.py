"""Routing by ReceiverID (issue #16, docs/federation.md): one outbound listener with `route:` and no per-partner
configuration finds each partner by the TS002 1.0 §19.1 name of the request's ReceiverID in the DNS lab's
signed zones (tests/dnslab/README.md, "Federation"), authenticates it by DANE and relays the request.

Partners, each an inbound sidecar (js.pem, TLSA 3 1 1 at _PORT._tcp) on a loopback alias at the same PORT:
  JS1  127.0.0.21  JoinEUI 0807060504030201, A record                     -> join server js1
  JS2  127.0.0.22  JoinEUI 70b3d57ed0000002, CNAME into operator-b.<tld>  -> join server js2
  hNS  127.0.0.23  NetID 00050a                                           -> a recording PRStartReq backend
  static 127.0.0.1 js.<zone>:PORT, only reachable through a `routes:` entry -> join server js_static
Every failure case of the lab points at JS1's address: a connection opened by mistake would show on JS1's
listener. "No connection" is checked on every inbound sidecar (dance_handshakes_total and
dance_connections_rejected_total, any label) and on the outbound side (dance_handshakes_total).
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inbound_setup import inbound_config
from lab import DnsLab
from processes import GOLDEN_JOINREQ, JoinServer, Sidecar, free_port, parse_metrics, post

PORT = free_port()  # route.port: every discovered partner listens here (on its own loopback address)
SENDER_NET_ID = "010203"
SETTLE_S = 0.5  # after an answer: time for a wrongly opened connection to be counted by the partner


@pytest.fixture(scope="module")
def lab():
    with DnsLab(js_port=PORT, fed_port=PORT) as started:
        yield started


def join_request(receiver_id, message_type="JoinReq", **fields):
    body = json.loads(GOLDEN_JOINREQ)
    if receiver_id is None:
        del body["ReceiverID"]
    else:
        body["ReceiverID"] = receiver_id
    body["MessageType"] = message_type
    body.update(fields)
    return json.dumps(body)


def pr_start_request(net_id, transaction_id=77):
    return json.dumps({
        "ProtocolVersion": "1.0", "SenderID": SENDER_NET_ID, "ReceiverID": net_id, "TransactionID": transaction_id,
        "MessageType": "PRStartReq", "PHYPayload": "40040302012000010001a7f6f4c7a29c3ec5",
        "ULMetaData": {"DevAddr": "01020304", "DataRate": 5, "ULFreq": 868.1, "RecvTime": "2026-01-01T00:00:00Z",
                       "RFRegion": "EU868", "GWCnt": 1, "GWInfo": []},
    })


class RecordingBackend:
    """A home NS behind an inbound sidecar: answers PRStartReq with PRStartAns Success, records what it got."""

    def __init__(self):
        self.records = []
        records = self.records

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = json.loads(body)
                records.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": request})
                answer = json.dumps({
                    "ProtocolVersion": request.get("ProtocolVersion", "1.0"), "SenderID": request.get("ReceiverID"),
                    "ReceiverID": request.get("SenderID"), "TransactionID": request.get("TransactionID"),
                    "MessageType": "PRStartAns", "Result": {"ResultCode": "Success"}, "Lifetime": 0,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def partner_config(lab, address, backend_port):
    config = inbound_config(lab, backend_port, workers=1, listen=f"{address}:{PORT}",
                            client_auth={"mode": "require", "allow": [lab.NAME_NS_A], "ca_file": ""})
    config["inbound"][0]["name"] = "partner"
    return config


@pytest.fixture(scope="module")
def join_servers():
    servers = {name: JoinServer() for name in ("js1", "js2", "js_static")}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def hns_backend():
    backend = RecordingBackend()
    yield backend
    backend.stop()


@pytest.fixture(scope="module")
def partners(lab, join_servers, hns_backend):
    """The inbound sidecars in front of each partner, by name."""
    backends = {"js1": (lab.FED_ADDR_JS1, join_servers["js1"].port),
                "js2": (lab.FED_ADDR_JS2, join_servers["js2"].port),
                "hns": (lab.FED_ADDR_HNS, hns_backend.port),
                "js_static": ("127.0.0.1", join_servers["js_static"].port)}
    started = {}
    try:
        for name, (address, backend_port) in backends.items():
            started[name] = Sidecar(partner_config(lab, address, backend_port), name=f"inbound-{name}")
        yield started
    finally:
        for sidecar in started.values():
            assert sidecar.stop() == 0
            assert sidecar.sanitizer_reports() == []


def federation_config(lab, join_eui_suffix=None, net_id_suffix=None, routes=None):
    listener = {
        "name": "federation", "listen": f"127.0.0.1:{free_port()}", "server_auth": "dane",
        "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")), "client_id": lab.NAME_NS_A},
        "route": {
            "join_eui_suffix": lab.FED_JOIN_EUI_SUFFIX if join_eui_suffix is None else join_eui_suffix,
            "net_id_suffix": lab.FED_NET_ID_SUFFIX if net_id_suffix is None else net_id_suffix,
            "port": PORT, "max_destinations": 64,
        },
        "timeouts": {"request_ms": 10000},
    }
    if routes:
        listener["routes"] = routes
    return {
        "dns": {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"], "timeout_ms": 3000},
        "outbound": [listener],
    }


@pytest.fixture(scope="module")
def federation(lab, partners):
    """The outbound sidecar under test: `route:` only, no partner named anywhere in its configuration."""
    sidecar = Sidecar(federation_config(lab), name="outbound-federation")
    yield sidecar
    assert sidecar.stop() == 0
    assert sidecar.sanitizer_reports() == []


@pytest.fixture(scope="module")
def federation_with_static_route(lab, partners):
    """Same, plus a static route for JS1's JoinEUI to js.<zone>:PORT (the static partner), and NetID routing off."""
    config = federation_config(lab, net_id_suffix="", routes={lab.FED_JOIN_EUI_JS1: f"{lab.NAME_JS}:{PORT}"})
    sidecar = Sidecar(config, name="outbound-federation-static")
    yield sidecar
    assert sidecar.stop() == 0
    assert sidecar.sanitizer_reports() == []


def listen_port(sidecar):
    return int(sidecar.config["outbound"][0]["listen"].rsplit(":", 1)[1])


def route_lookups(sidecar):
    """{(kind, result): count} of dance_route_lookups_total for the listener `federation`."""
    counts = {}
    for (name, labels), value in parse_metrics(sidecar.metrics_text()).items():
        label = dict(labels)
        if name == "dance_route_lookups_total" and label.get("listener") == "federation" and value:
            counts[(label["kind"], label["result"])] = value
    return counts


def connection_counters(partners, outbound):
    """Everything that moves when a connection reaches a partner or the outbound side dials one."""
    counters = {}
    for partner, sidecar in partners.items():
        for (name, labels), value in parse_metrics(sidecar.metrics_text()).items():
            if name in ("dance_handshakes_total", "dance_connections_rejected_total"):
                key = (partner, name, tuple(sorted(labels)))
                counters[key] = counters.get(key, 0) + value
    for (name, labels), value in parse_metrics(outbound.metrics_text()).items():
        if name == "dance_handshakes_total" and dict(labels).get("direction") == "outbound":
            counters[("outbound", name, tuple(sorted(labels)))] = value
    return counters


def delta(before, after):
    return {key: after.get(key, 0) - before.get(key, 0) for key in set(before) | set(after)
            if after.get(key, 0) != before.get(key, 0)}


def result_code(answer):
    assert isinstance(answer, dict), f"not a JSON answer: {answer!r}"
    return (answer.get("Result") or {}).get("ResultCode", answer.get("ResultCode"))


class Deliveries:
    """What each backend (join servers, hNS backend) received since the snapshot."""

    def __init__(self, join_servers, hns_backend):
        self.join_servers = join_servers
        self.hns_backend = hns_backend
        self.before = self.counts()

    def counts(self):
        counts = {name: len(server.records()) for name, server in self.join_servers.items()}
        counts["hns"] = len(self.hns_backend.records)
        return counts

    def new(self):
        return {name: count - self.before[name] for name, count in self.counts().items() if count != self.before[name]}


def wait_for(condition, deadline_s=10):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()


# ---- requests that are routed ----

def test_joinreq_for_js1_join_eui_reaches_js1_only(lab, join_servers, hns_backend, partners, federation):
    deliveries = Deliveries(join_servers, hns_backend)
    connections = connection_counters(partners, federation)
    lookups = route_lookups(federation)
    status, answer = post(listen_port(federation), join_request(lab.FED_JOIN_EUI_JS1))
    assert status == 200 and answer["MessageType"] == "JoinAns", answer
    assert result_code(answer) == "Success", answer
    assert answer["SenderID"] == lab.FED_JOIN_EUI_JS1
    assert wait_for(deliveries.new) and deliveries.new() == {"js1": 1}
    received = join_servers["js1"].records()[-1]
    assert received["headers"]["x-dane-client-id"] == lab.NAME_NS_A
    assert delta(lookups, route_lookups(federation)) == {("join_eui", "secure"): 1}
    # The counters the refusal tests watch do see connections (to JS1 only; none if a pooled one was reused).
    assert partners["js1"].metric("dance_handshakes_total", result="ok") >= 1
    moved = {key[0] for key in delta(connections, connection_counters(partners, federation))}
    assert moved <= {"js1", "outbound"}, moved


def test_joinreq_for_js2_join_eui_follows_the_cname_into_another_signed_zone(lab, join_servers, hns_backend,
                                                                             partners, federation):
    deliveries = Deliveries(join_servers, hns_backend)
    lookups = route_lookups(federation)
    status, answer = post(listen_port(federation), join_request(lab.FED_JOIN_EUI_JS2))
    assert status == 200 and answer["MessageType"] == "JoinAns", answer
    assert result_code(answer) == "Success", answer
    assert answer["SenderID"] == lab.FED_JOIN_EUI_JS2
    assert wait_for(deliveries.new) and deliveries.new() == {"js2": 1}
    assert join_servers["js2"].records()[-1]["headers"]["x-dane-client-id"] == lab.NAME_NS_A
    assert delta(lookups, route_lookups(federation)) == {("join_eui", "secure"): 1}


def test_prstartreq_for_net_id_reaches_the_home_ns(lab, join_servers, hns_backend, partners, federation):
    deliveries = Deliveries(join_servers, hns_backend)
    lookups = route_lookups(federation)
    status, answer = post(listen_port(federation), pr_start_request(lab.FED_NET_ID_HNS))
    assert status == 200 and answer["MessageType"] == "PRStartAns", answer
    assert result_code(answer) == "Success", answer
    assert wait_for(deliveries.new) and deliveries.new() == {"hns": 1}
    received = hns_backend.records[-1]
    assert received["body"]["MessageType"] == "PRStartReq" and received["body"]["ReceiverID"] == lab.FED_NET_ID_HNS
    assert received["headers"]["x-dane-client-id"] == lab.NAME_NS_A
    assert delta(lookups, route_lookups(federation)) == {("net_id", "secure"): 1}


def test_static_route_wins_over_dns(lab, join_servers, hns_backend, partners, federation_with_static_route):
    deliveries = Deliveries(join_servers, hns_backend)
    lookups = route_lookups(federation_with_static_route)
    status, answer = post(listen_port(federation_with_static_route), join_request(lab.FED_JOIN_EUI_JS1))
    assert status == 200 and result_code(answer) == "Success", answer
    # JS1's name resolves securely, but the static route wins.
    assert wait_for(deliveries.new) and deliveries.new() == {"js_static": 1}
    assert delta(lookups, route_lookups(federation_with_static_route)) == {("join_eui", "static"): 1}


def test_join_eui_without_static_route_is_still_discovered_next_to_static_routes(
        lab, join_servers, hns_backend, partners, federation_with_static_route):
    deliveries = Deliveries(join_servers, hns_backend)
    status, answer = post(listen_port(federation_with_static_route), join_request(lab.FED_JOIN_EUI_JS2))
    assert status == 200 and result_code(answer) == "Success", answer
    assert wait_for(deliveries.new) and deliveries.new() == {"js2": 1}


def test_joinreq_found_by_naptr_and_srv_reaches_the_srv_target(lab, join_servers, hns_backend, partners, federation):
    # NAPTR "S" "LWNS" -> SRV <port> srv-js.<zone> (JS1's address, TLSA at _<port>._tcp.srv-js.<zone>); the
    # name has a plain-HTTP "LWN" record of lower order too, which must be skipped.
    deliveries = Deliveries(join_servers, hns_backend)
    lookups = route_lookups(federation)
    status, answer = post(listen_port(federation), join_request(lab.FED_JOIN_EUI_SRV))
    assert status == 200 and result_code(answer) == "Success", answer
    assert wait_for(deliveries.new) and deliveries.new() == {"js1": 1}
    assert delta(lookups, route_lookups(federation)) == {("join_eui", "secure"): 1}


def test_asynchronous_join_answer_reaches_the_network_server_by_net_id(lab, join_servers, hns_backend, partners,
                                                                      federation):
    # With AnsURL / ChirpStack's async mode the JoinAns is a POST of its own, JS -> NS, ReceiverID = the NS's
    # NetID: the JS side's routing listener finds the NS's inbound sidecar like any roaming partner, and that
    # sidecar authenticates the JS side by dane_clientid.
    deliveries = Deliveries(join_servers, hns_backend)
    lookups = route_lookups(federation)
    body = json.dumps({"ProtocolVersion": "1.0", "SenderID": lab.FED_JOIN_EUI_JS1, "ReceiverID": lab.FED_NET_ID_HNS,
                       "TransactionID": 4321, "MessageType": "JoinAns", "Result": {"ResultCode": "Success"},
                       "PHYPayload": "20aabbccdd"})
    status, _ = post(listen_port(federation), body)
    assert status == 200
    assert wait_for(deliveries.new) and deliveries.new() == {"hns": 1}
    received = hns_backend.records[-1]
    assert received["body"]["MessageType"] == "JoinAns" and received["body"]["TransactionID"] == 4321
    assert received["headers"]["x-dane-client-id"] == lab.NAME_NS_A
    assert delta(lookups, route_lookups(federation)) == {("net_id", "secure"): 1}


# ---- requests that are refused: the answer, the counter, and no connection to anyone ----

def refused(lab, join_servers, hns_backend, partners, sidecar, body):
    """Posts `body`; returns (status, answer, route lookup delta) after checking that nothing was delivered and
    no connection was opened."""
    deliveries = Deliveries(join_servers, hns_backend)
    connections = connection_counters(partners, sidecar)
    lookups = route_lookups(sidecar)
    status, answer = post(listen_port(sidecar), body)
    time.sleep(SETTLE_S)
    assert deliveries.new() == {}
    assert delta(connections, connection_counters(partners, sidecar)) == {}, "a connection was opened"
    return status, answer, delta(lookups, route_lookups(sidecar))


def test_insecure_route_is_refused_without_connection(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_INSECURE))
    assert (status, result_code(answer)) == (502, "Other"), answer
    assert answer["MessageType"] == "JoinAns"
    assert lookups == {("join_eui", "insecure"): 1}


def test_bogus_route_is_refused_without_connection(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_BOGUS))
    assert (status, result_code(answer)) == (502, "Other"), answer
    assert lookups == {("join_eui", "bogus"): 1}


def test_join_eui_without_name_is_unknown_receiver(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_NXDOMAIN))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer  # sic, TS002 Table 24
    assert answer["MessageType"] == "JoinAns" and answer["TransactionID"] == 1234
    assert lookups == {("join_eui", "unknown_receiver"): 1}


def test_join_eui_name_without_address_is_unknown_receiver(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_NODATA))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer
    assert lookups == {("join_eui", "unknown_receiver"): 1}


def test_naptr_without_https_service_is_no_service(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_NO_SERVICE))
    assert (status, result_code(answer)) == (200, "Other"), answer
    assert lookups == {("join_eui", "no_service"): 1}


def test_srv_target_dot_is_unknown_receiver(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_SRV_DOT))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer
    assert lookups == {("join_eui", "unknown_receiver"): 1}


def test_receiver_id_not_hex_is_malformed(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request("08070605040302zz"))
    assert (status, result_code(answer)) == (400, "MalformedRequest"), answer
    assert lookups == {("join_eui", "malformed"): 1}


def test_receiver_id_of_wrong_length_is_malformed(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request("08070605040302"))  # 14 digits: not a JoinEUI
    assert (status, result_code(answer)) == (400, "MalformedRequest"), answer
    assert lookups == {("join_eui", "malformed"): 1}


def test_net_id_of_wrong_length_is_malformed(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      pr_start_request("00050a00"))
    assert (status, result_code(answer)) == (400, "MalformedRequest"), answer
    assert lookups == {("net_id", "malformed"): 1}


def test_missing_receiver_id_is_malformed(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation, join_request(None))
    assert (status, result_code(answer)) == (400, "MalformedRequest"), answer
    assert lookups == {("join_eui", "malformed"): 1}


def test_unknown_message_type_is_unknown_receiver(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request(lab.FED_JOIN_EUI_JS1, message_type="FrobnicateReq"))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer
    assert lookups == {("unknown", "unknown_receiver"): 1}


def test_as_id_without_static_route_is_unknown_receiver(lab, join_servers, hns_backend, partners, federation):
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation,
                                      join_request("as.example", message_type="AppSKeyAns"))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer
    assert lookups == {("as_id", "unknown_receiver"): 1}


def test_kind_with_empty_suffix_and_no_static_route_is_unknown_receiver(lab, join_servers, hns_backend, partners,
                                                                        federation_with_static_route):
    # net_id_suffix "" turns NetID discovery off, though 00050a has a secure name in the lab.
    status, answer, lookups = refused(lab, join_servers, hns_backend, partners, federation_with_static_route,
                                      pr_start_request(lab.FED_NET_ID_HNS))
    assert (status, result_code(answer)) == (200, "UnkownReceiver"), answer
    assert lookups == {("net_id", "unknown_receiver"): 1}


def test_no_sanitizer_report_in_any_sidecar(partners, federation):
    for sidecar in [*partners.values(), federation]:
        sidecar.assert_clean()
