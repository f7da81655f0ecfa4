"""Optional client authentication lets anyone in unauthenticated: what such clients can hold is bounded. Their
buffered request bytes share one budget per listener (max_unauthenticated_buffered_bytes) and each of their
connections has one request in flight, hence at most one backend connection. Authenticated clients are not
charged."""
import contextlib
import socket
import threading
import time

from conftest import JOIN_REQUEST, wait_until
from dane_client import DaneConnection, encode_client_name, http_request
from inbound_setup import inbound_config, listen_address
from processes import Sidecar

LISTENER = "join-server"
BUDGET = 300_000
PARTIAL_BODY = 120_000  # two partial bodies fit in the budget, a third does not


def optional_config(lab, backend_port, **listener):
    return inbound_config(lab, backend_port, workers=2, max_body_bytes=200_000,
                          max_unauthenticated_buffered_bytes=BUDGET,
                          client_auth={"mode": "optional", "allow": [f"*.{lab.LAB_ZONE}"], "ca_file": ""},
                          **listener)


@contextlib.contextmanager
def running_sidecar(name, config):
    with Sidecar(config, name=name) as sidecar:
        sidecar.address = listen_address(config)
        yield sidecar


def anonymous(sidecar):
    return DaneConnection(sidecar.address, None, None, None)


def authenticated(lab, sidecar):
    return DaneConnection(sidecar.address, lab.pki("ns-b.pem"), lab.pki("ns-b.key"), encode_client_name(lab.NAME_NS_B))


def partial_post(total, sent):
    head = http_request("POST", "/", b"", {"X-Test": "partial"}).replace(b"Content-Length: 0",
                                                                         f"Content-Length: {total}".encode())
    return head + b"x" * sent


def rejections(sidecar):
    return sidecar.metric("dance_connections_rejected_total", listener=LISTENER, reason="unauthenticated_buffer_limit")


def test_unauthenticated_clients_share_one_buffer_budget_and_authenticated_ones_are_not_charged(lab, join_server):
    with running_sidecar("optional-budget", optional_config(lab, join_server.port)) as sidecar:
        assert rejections(sidecar) == 0
        forwarded_before = len(join_server.records())
        with anonymous(sidecar) as first, anonymous(sidecar) as second, anonymous(sidecar) as third:
            assert first.reply.handshake_done and second.reply.handshake_done and third.reply.handshake_done
            first.send(partial_post(150_000, PARTIAL_BODY))
            second.send(partial_post(150_000, PARTIAL_BODY))
            time.sleep(0.5)  # both partial bodies are buffered by the sidecar
            reply = third.request(partial_post(150_000, PARTIAL_BODY))
            assert reply.status == 503, reply
            assert reply.headers.get("connection", "").lower() == "close", reply
            assert b'"ResultCode":"Other"' in reply.body.replace(b" ", b""), reply.body
            assert wait_until(lambda: rejections(sidecar) == 1), rejections(sidecar)

            # An authenticated partner is served in full while the anonymous clients hold the budget.
            with authenticated(lab, sidecar) as partner:
                big = JOIN_REQUEST + b" " * 150_000
                assert partner.request(http_request("POST", "/", big)).status == 200
        # The anonymous clients left: their bytes are given back and a new one is served.
        time.sleep(0.5)
        with anonymous(sidecar) as later:
            assert later.request(http_request("POST", "/", JOIN_REQUEST + b" " * PARTIAL_BODY)).status == 200
        records = join_server.records()[forwarded_before:]
        assert len(records) == 2, records  # the partner's request and the later one; nothing partial
        assert [bool(r["headers"].get("x-dane-client-id")) for r in records] == [True, False], records
        assert rejections(sidecar) == 1


class CountingBackend:
    """A plain HTTP backend that answers each request after `delay_s` and records how many connections it
    held open at once."""

    def __init__(self, delay_s):
        self.delay_s = delay_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.open = 0
        self.most_open = 0
        self.requests = 0
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.server.settimeout(0.2)
        while self.running:
            try:
                connection, _ = self.server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            data = b""
            while self.running:
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                data = rest[length:]
                with self.lock:
                    self.requests += 1
                time.sleep(self.delay_s)
                body = b'{"MessageType":"JoinAns","Result":{"ResultCode":"Success"}}'
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                                   + str(len(body)).encode() + b"\r\n\r\n" + body)
        finally:
            with self.lock:
                self.open -= 1
            connection.close()

    def close(self):
        self.running = False
        self.server.close()


def pipelined(connection, count):
    for _ in range(count):
        connection.send(http_request("POST", "/", JOIN_REQUEST))
    return [connection.receive() for _ in range(count)]


def test_an_unauthenticated_connection_holds_one_backend_connection_however_much_it_pipelines(lab):
    backend = CountingBackend(delay_s=0.3)
    try:
        with running_sidecar("optional-pipelining", optional_config(lab, backend.port)) as sidecar:
            with anonymous(sidecar) as client:
                replies = pipelined(client, 6)
            assert [reply.status for reply in replies] == [200] * 6, replies
            assert backend.requests == 6
            assert backend.most_open == 1, f"one anonymous connection opened {backend.most_open} backend connections"

            # An authenticated partner's pipelined requests are dispatched ahead, as before.
            with authenticated(lab, sidecar) as partner:
                replies = pipelined(partner, 6)
            assert [reply.status for reply in replies] == [200] * 6, replies
            assert backend.most_open > 1, "the test cannot tell: authenticated pipelining was serialized too"
    finally:
        backend.close()
