"""200 clients with distinct names authenticate while TLSA lookups for other names hang until the DNS
timeout: a stuck lookup must not hold up anybody else.

The sidecar's resolver is a small UDP relay in front of the lab's unbound that silently drops queries for
names whose first label starts with "hang". Every name lives under a DNSSEC-signed wildcard
`*.bulk.<zone> TLSA 3 1 1 <ns-a>`, so the dropped names would authenticate too if their queries got through.
Also: the bound on handshakes waiting for DNS (max_pending_dns), and 100 stalled TCP clients.
"""
import concurrent.futures
import socket
import threading
import time

import pytest

from conftest import JOIN_REQUEST, counter_delta, wait_until
from dane_client import encode_client_name, exchange, http_request
from processes import Sidecar
from inbound_setup import inbound_config, listen_address

GOOD_CLIENTS = 200
CONCURRENCY = 20  # concurrent good handshakes: enough to interleave, bearable on 2 cores under ASan
HANGING_CLIENTS = 4
DNS_TIMEOUT_MS = 15000


def query_name(packet):
    """The lower-case QNAME of a DNS query, or "" if it cannot be read."""
    labels, at = [], 12
    try:
        while packet[at]:
            length = packet[at]
            labels.append(packet[at + 1:at + 1 + length].decode("ascii").lower())
            at += 1 + length
    except (IndexError, UnicodeDecodeError):
        return ""
    return ".".join(labels)


class DroppingRelay:
    """UDP DNS relay to `upstream` that drops every query whose first label starts with `drop_prefix`."""

    def __init__(self, upstream, drop_prefix):
        self.upstream = upstream
        self.drop_prefix = drop_prefix
        self.dropped = []
        self.relayed = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                packet, client = self.sock.recvfrom(65535)
            except OSError:
                return  # closed
            name = query_name(packet)
            if name.startswith(self.drop_prefix):
                with self.lock:
                    self.dropped.append(name)
                continue
            threading.Thread(target=self.relay, args=(packet, client), daemon=True).start()

    def relay(self, packet, client):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
            upstream.settimeout(10)
            upstream.sendto(packet, self.upstream)
            try:
                answer = upstream.recv(65535)
            except OSError:
                return
        try:
            self.sock.sendto(answer, client)
        except OSError:
            return
        with self.lock:
            self.relayed += 1

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def relay(lab):
    started = DroppingRelay(("127.0.0.1", int(lab.UNBOUND_PORT)), "hang")
    yield started
    started.close()


@pytest.fixture(scope="module")
def bulk_zone(lab):
    zone = f"bulk.{lab.LAB_ZONE}"
    lab.set_tlsa(f"*.{zone}", lab.TLSA_NS_A)
    return zone


def authenticate(address, cert, key, name):
    """One client: (reply, monotonic time it finished)."""
    reply = exchange(address, cert, key, encode_client_name(name), http_request("POST", "/", JOIN_REQUEST),
                     timeout_s=60)
    return reply, time.monotonic()


def test_good_names_are_not_held_up_by_hanging_lookups(lab, join_server, relay, bulk_zone):
    config = inbound_config(lab, join_server.port, resolvers=[relay.address], dns_timeout_ms=DNS_TIMEOUT_MS,
                            timeouts={"handshake_ms": 2 * DNS_TIMEOUT_MS, "idle_ms": 60000, "backend_ms": 5000})
    cert, key = lab.pki("ns-a.pem"), lab.pki("ns-a.key")
    good_names = [f"c{index}.{bulk_zone}" for index in range(GOOD_CLIENTS)]
    hanging_names = [f"hang{index}.{bulk_zone}" for index in range(HANGING_CLIENTS)]
    with Sidecar(config, name="concurrency") as sidecar:
        address = listen_address(config)
        counts_before = sidecar.handshake_counts("join-server")
        records_before = len(join_server.records())
        with concurrent.futures.ThreadPoolExecutor(HANGING_CLIENTS) as hanging_pool, \
                concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as good_pool:
            hanging_started = time.monotonic()
            hanging = [hanging_pool.submit(authenticate, address, cert, key, name) for name in hanging_names]
            assert wait_until(lambda: len(set(relay.dropped)) == HANGING_CLIENTS), relay.dropped
            good_started = time.monotonic()
            good = list(good_pool.map(lambda name: authenticate(address, cert, key, name), good_names))
            pending_dns = sidecar.metric("dance_pending_dns_handshakes", listener="join-server")
            hanging = [future.result() for future in hanging]

        good_finished = max(finished for _, finished in good)
        failed = [(name, reply) for name, (reply, _) in zip(good_names, good) if reply.status != 200]
        assert not failed, f"{len(failed)} good clients failed, first: {failed[0]}"
        assert pending_dns == HANGING_CLIENTS, f"{pending_dns} handshakes waiting for DNS after the good ones"
        for reply, finished in hanging:
            assert reply.handshake_done and reply.status is None and "handshake failure" in reply.error, reply
            assert finished > good_finished, "a hanging lookup ended before the good clients were done"
            assert finished - hanging_started >= DNS_TIMEOUT_MS / 1000 * 0.9
        print(f"{GOOD_CLIENTS} good handshakes + requests at concurrency {CONCURRENCY}: "
              f"{good_finished - good_started:.2f} s while {HANGING_CLIENTS} lookups hung")

        assert wait_until(lambda: sum(counter_delta(counts_before, sidecar.handshake_counts("join-server")).values())
                          >= GOOD_CLIENTS + HANGING_CLIENTS)
        delta = counter_delta(counts_before, sidecar.handshake_counts("join-server"))
        assert delta == {"ok": GOOD_CLIENTS, "dns_timeout": HANGING_CLIENTS}, delta
        forwarded = join_server.records()[records_before:]
        assert sorted(record["headers"].get("x-dane-client-id") for record in forwarded) == sorted(good_names)


def test_handshakes_beyond_max_pending_dns_are_refused_at_once(lab, join_server, relay, bulk_zone):
    dns_timeout_ms = 4000
    config = inbound_config(lab, join_server.port, resolvers=[relay.address], dns_timeout_ms=dns_timeout_ms,
                            workers=1, max_pending_dns=1)
    cert, key = lab.pki("ns-a.pem"), lab.pki("ns-a.key")
    with Sidecar(config, name="max-pending-dns") as sidecar:
        address = listen_address(config)
        counts_before = sidecar.handshake_counts("join-server")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(authenticate, address, cert, key, f"hang-pending.{bulk_zone}")
            assert wait_until(lambda: sidecar.metric("dance_pending_dns_handshakes") == 1)
            started = time.monotonic()
            refused, _ = authenticate(address, cert, key, f"c-refused.{bulk_zone}")
            refused_after = time.monotonic() - started
            timed_out, _ = waiting.result()
        for reply in (refused, timed_out):
            assert reply.handshake_done and reply.status is None and "handshake failure" in reply.error, reply
        assert refused_after < dns_timeout_ms / 1000 / 2, f"refused after {refused_after:.2f} s: it waited for DNS"
        accepted, _ = authenticate(address, cert, key, f"c-after.{bulk_zone}")  # the slot is free again
        assert accepted.status == 200, accepted
        delta = counter_delta(counts_before, sidecar.handshake_counts("join-server"))
        assert delta == {"too_many_pending": 1, "dns_timeout": 1, "ok": 1}, delta


def test_stalled_connections_do_not_block_authenticated_clients(lab, join_server, bulk_zone):
    stalled_count, good_count = 100, 20
    handshake_ms = 10000
    config = inbound_config(lab, join_server.port, timeouts={"handshake_ms": handshake_ms, "idle_ms": 60000,
                                                            "backend_ms": 5000})
    cert, key = lab.pki("ns-a.pem"), lab.pki("ns-a.key")
    with Sidecar(config, name="stalled") as sidecar:
        address = listen_address(config)
        counts_before = sidecar.handshake_counts("join-server")
        stalled = [socket.create_connection(address, timeout=30) for _ in range(stalled_count)]
        try:
            assert wait_until(lambda: sidecar.metric("dance_connections_active") == stalled_count)
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
                good = list(pool.map(lambda index: authenticate(address, cert, key, f"s{index}.{bulk_zone}"),
                                     range(good_count)))
            assert all(reply.status == 200 for reply, _ in good), [reply for reply, _ in good if reply.status != 200]
            assert max(finished for _, finished in good) - started < handshake_ms / 1000 * 0.9, \
                "good clients waited for the stalled ones"
            for sock in stalled:  # each is dropped by the server, not by us
                assert sock.recv(1) == b""
        finally:
            for sock in stalled:
                sock.close()
        assert wait_until(lambda: sum(counter_delta(counts_before, sidecar.handshake_counts("join-server")).values())
                          >= stalled_count + good_count)
        delta = counter_delta(counts_before, sidecar.handshake_counts("join-server"))
        assert delta == {"ok": good_count, "timeout": stalled_count}, delta
