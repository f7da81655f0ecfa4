"""The demo behind README command 1 (see run-demo.sh, which builds and sets the binary paths)."""
import http.server
import json
import pathlib
import signal
import subprocess
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))

from lab import DnsLab  # noqa: E402
from processes import GOLDEN_JOINREQ, JoinServer, Sidecar, binary, free_port, parse_metrics, post  # noqa: E402


def title(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def metric_lines(sidecar, *prefixes):
    for line in sidecar.metrics_text().splitlines():
        if line.startswith(prefixes) and not line.endswith(" 0"):
            print("   ", line)


def probe(lab, port, cert, key, client_id):
    result = subprocess.run([binary("DANCE_SIDECAR", "cli/dance-sidecar"), "probe", "--connect", f"127.0.0.1:{port}",
                             "--sni", lab.NAME_JS, "--cert", str(lab.pki(cert)), "--key", str(lab.pki(key)),
                             "--client-id", client_id], capture_output=True, text=True, timeout=30)
    for line in result.stdout.splitlines():
        if line.startswith(("identity:", "server offered", "client name sent")):
            print("   ", line)
    return result.returncode


class NetworkServerBackend:
    """Stands for ChirpStack's [backend_interfaces] API: records each POST, answers 200 with an empty JSON object."""

    def __init__(self):
        self.received = []
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                received.append((body, self.headers.get("X-Dane-Client-Id")))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def federation_step(lab, dns, join_server, fed_port):
    """Two Join Servers found by DNS from the JoinEUI, through one outbound listener with no per-partner config."""
    title("Two partners, zero config: one routing outbound listener finds each Join Server by its JoinEUI")
    partners = []
    for name, address in (("js1", lab.FED_ADDR_JS1), ("js2", lab.FED_ADDR_JS2)):
        partners.append(Sidecar({"log": {"level": "warn", "format": "json"}, "dns": dns, "inbound": [{
            "name": name, "listen": f"{address}:{fed_port}", "backend": f"127.0.0.1:{join_server.port}",
            "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
            "client_auth": {"mode": "require", "allow": [lab.NAME_NS_A]}}]}, name=f"inbound-{name}"))
        print(f"    partner {name}: inbound sidecar on {address}:{fed_port}")
    ns_backend = NetworkServerBackend()
    partners.append(Sidecar({"log": {"level": "warn", "format": "json"}, "dns": dns, "inbound": [{
        "name": "ns", "listen": f"{lab.FED_ADDR_HNS}:{fed_port}", "backend": f"127.0.0.1:{ns_backend.port}",
        "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))}, "identity_header": "X-Dane-Client-Id",
        "client_auth": {"mode": "require", "allow": [lab.NAME_NS_A]}}]}, name="inbound-ns"))
    print(f"    network server NetID {lab.FED_NET_ID_HNS}: inbound sidecar on {lab.FED_ADDR_HNS}:{fed_port}")
    port = free_port()
    router = Sidecar({"log": {"level": "warn", "format": "json"}, "dns": dns, "outbound": [{
        "name": "federation", "listen": f"127.0.0.1:{port}", "server_auth": "dane",
        "route": {"join_eui_suffix": lab.FED_JOIN_EUI_SUFFIX, "net_id_suffix": lab.FED_NET_ID_SUFFIX, "port": fed_port},
        "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")), "client_id": lab.NAME_NS_A}}]},
        name="outbound-federation")
    print(f"    routing outbound sidecar on 127.0.0.1:{port}: route by ReceiverID under {lab.FED_JOIN_EUI_SUFFIX}")
    try:
        for join_eui, how in ((lab.FED_JOIN_EUI_JS1, "A record"), (lab.FED_JOIN_EUI_JS2, "CNAME into another signed zone"),
                              (lab.FED_JOIN_EUI_SRV, "NAPTR LWNS -> SRV"), (lab.FED_JOIN_EUI_NXDOMAIN, "no such name"),
                              (lab.FED_JOIN_EUI_INSECURE, "unsigned zone")):
            result = subprocess.run([binary("DANCE_SIDECAR", "cli/dance-sidecar"), "resolve", "-c", str(router.config_path),
                                     "--route", join_eui], capture_output=True, text=True, timeout=30)
            line = json.loads(result.stdout)
            print(f"    resolve --route {join_eui} ({how}): {line['status']}"
                  + (f", server {line.get('sni')}" if line.get("sni") else f", answer {line.get('result_code')}"))
            body = json.loads(GOLDEN_JOINREQ)
            body["ReceiverID"] = join_eui
            status, answer = post(port, json.dumps(body))
            code = answer.get("Result", {}).get("ResultCode") if isinstance(answer, dict) else answer
            print(f"      JoinReq -> HTTP {status}, ResultCode {code}")
        title("Asynchronous answer: a JoinAns POSTed back by NetID (AnsURL / ChirpStack async mode); the routing "
              "sidecar plays the JS side here, with the lab's one client identity")
        answer = {"ProtocolVersion": "1.0", "SenderID": lab.FED_JOIN_EUI_JS1, "ReceiverID": lab.FED_NET_ID_HNS,
                  "TransactionID": 99, "MessageType": "JoinAns", "Result": {"ResultCode": "Success"}}
        status, _ = post(port, json.dumps(answer))
        got = ns_backend.received[-1] if ns_backend.received else ({}, None)
        print(f"    JoinAns to NetID {lab.FED_NET_ID_HNS} -> HTTP {status}; the NS received "
              f"{got[0].get('MessageType')} from X-Dane-Client-Id {got[1]} (DANE both ways)")
        for partner in partners:
            served = sum(value for (name, labels), value in parse_metrics(partner.metrics_text()).items()
                         if name == "dance_requests_total" and ("code", "200") in labels)
            print(f"    {partner.name}: {int(served)} request(s) served")
        metric_lines(router, "dance_route_lookups_total")
    finally:
        router.stop()
        for partner in partners:
            partner.stop()
        ns_backend.stop()


def main():
    keep = "--keep" in sys.argv
    inbound_port = free_port()
    fed_port = free_port()
    title("Starting the DNSSEC lab: nsd (fake root, test., example.test., all signed) + validating unbound")
    with DnsLab(js_port=inbound_port, fed_port=fed_port) as lab:
        print(f"    unbound on 127.0.0.1:{lab.UNBOUND_PORT}, zone {lab.LAB_ZONE}")
        dns = {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"]}
        join_server = JoinServer()
        print(f"    join server (LoRaWAN JS peer) on 127.0.0.1:{join_server.port}")
        inbound = Sidecar({"log": {"level": "warn", "format": "json"}, "dns": dns, "inbound": [{
            "name": "join-server", "listen": f"127.0.0.1:{inbound_port}", "backend": f"127.0.0.1:{join_server.port}",
            "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
            "client_auth": {"mode": "require", "allow": [lab.NAME_NS_A]}}]}, name="inbound")
        print(f"    inbound sidecar (beside the JS) on 127.0.0.1:{inbound_port}, allows {lab.NAME_NS_A}")
        outbound_port = free_port()
        outbound = Sidecar({"log": {"level": "warn", "format": "json"}, "dns": dns, "outbound": [{
            "name": "join-server", "listen": f"127.0.0.1:{outbound_port}",
            "upstream": f"{lab.NAME_JS}:{inbound_port}", "server_auth": "dane",
            "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")),
                    "client_id": lab.NAME_NS_A}}]}, name="outbound")
        print(f"    outbound sidecar (beside the NS) on 127.0.0.1:{outbound_port} -> {lab.NAME_JS}:{inbound_port}")
        try:
            title("NS emulator sends the golden JoinReq to http://127.0.0.1:%d/api" % outbound_port)
            result = subprocess.run([binary("NS_EMULATOR", "tests/peers/lorawan-ns-emulator"), "--url",
                                     f"http://127.0.0.1:{outbound_port}/api", "--golden", "--count", "1"],
                                    capture_output=True, text=True, timeout=60)
            summary = json.loads(result.stdout)
            print(f"    JoinAns ResultCode: {summary['result_codes']}, golden JoinAns bytes match: "
                  f"{summary['verify_failures'] == 0 and result.returncode == 0}")
            received = join_server.records()[-1]
            title("What the join server saw")
            print(f"    X-Dane-Client-Id:   {received['headers'].get('x-dane-client-id')}")
            print(f"    X-Dane-Client-Tlsa: {received['headers'].get('x-dane-client-tlsa')}")
            title("TLSA records used (resolve through the same validating path)")
            for name in (lab.NAME_NS_A, f"_{inbound_port}._tcp.{lab.NAME_JS}"):
                subprocess.run([binary("DANCE_SIDECAR", "cli/dance-sidecar"), "resolve", "-c",
                                str(inbound.config_path), name], timeout=30)
            title("Refused: an identity the inbound allow-list does not name (operator B)")
            probe(lab, inbound_port, "ns-b.pem", "ns-b.key", lab.NAME_NS_B)
            title("Refused: a forged certificate claiming operator A's name")
            probe(lab, inbound_port, "rogue.pem", "rogue.key", lab.NAME_NS_A)
            title("Metrics (non-zero lines)")
            metric_lines(outbound, "dance_handshakes_total", "dance_requests_total", "dance_lorawan_messages_total")
            metric_lines(inbound, "dance_handshakes_total", "dance_requests_total", "dance_tlsa_lookups_total")
            federation_step(lab, dns, join_server, fed_port)
            if keep:
                title("--keep: everything stays up; Ctrl-C to stop")
                print(f"    curl -s -X POST --data-binary @body.json http://127.0.0.1:{outbound_port}/api")
                print(f"    curl -s http://127.0.0.1:{inbound.admin_port}/metrics")
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            outbound.stop()
            inbound.stop()
            join_server.stop()
    title("Done: everything stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
