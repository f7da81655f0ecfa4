"""A TLSA answer and the handshake timer (timeouts.handshake_ms) due in the same event-loop iteration.

The sidecar's resolver is a small UDP proxy in front of the lab's unbound that holds each answer until a moment
chosen by the client: the first label of the ClientName is `a<µs>-<n>`, the CLOCK_MONOTONIC time (µs) at which
the answer is released, or `d<µs>-<n>`, a delay counted from the query's arrival. Every name lives under a
DNSSEC-signed wildcard `*.race.<zone> TLSA 3 1 1 <ns-a>`, so each attempt has a name of its own (nothing comes
from a cache) and authenticates if its answer is in before the timer.

The sweep releases answers from handshake_ms - 40 ms to handshake_ms + 40 ms after the client connects, in
0.25 ms steps (four passes, each shifted by a quarter step), 20 clients at a time against one worker: under that
load an answer read in one iteration (the resolver posts it to the loop's mailbox) and a timer expiring during
that iteration are both handled in the next one, the answer first. Before the fix this crashed the worker: the
timer freed the paused handshake, then the resume the answer had scheduled drove it. Every attempt must end in
an authenticated 200 or a refusal, dance_handshakes_total must count each exactly once, and the sweep must
have produced such collisions (answers that reached their handshake, which then timed out anyway): about 10
per 640 handshakes on the 2-core machine under ASan.
"""
import concurrent.futures
import heapq
import itertools
import random
import re
import selectors
import socket
import threading
import time

import pytest

from conftest import JOIN_REQUEST, counter_delta, wait_until
from dane_client import encode_client_name, exchange, http_request
from inbound_setup import inbound_config, listen_address
from processes import Sidecar

LISTENER = "join-server"
HANDSHAKE_MS = 300
DNS_TIMEOUT_MS = 2000  # larger than handshake_ms: the handshake timer always comes first
SWEEP_MS = 40
STEP_MS = 0.25
PASSES = 4  # each shifted by a quarter step: 1284 handshakes
CONCURRENCY = 20
MAX_PENDING_DNS_LOW = 4
ASYNC_JOBS_SPARE = 8  # proxy/worker.cpp: async_job_limit() = 8 + the listeners' max_pending_dns
EXPECTED_RESULTS = {"ok", "timeout", "dns_timeout"}


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


def monotonic_us():
    return time.monotonic_ns() // 1000


class DelayingResolver:
    """UDP DNS proxy to `upstream` (stdlib only, one thread). Each query is forwarded at once; its answer is
    held until the release time the query name asks for (see the module docstring), or sent at once for any
    other name. .released lists (name, release time, time sent) in seconds of time.monotonic()."""

    _ABSOLUTE = re.compile(r"a(\d+)-")
    _DELAY = re.compile(r"d(\d+)-")

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.queries = 0
        self.released = []
        self._held = []  # heap of (release, sequence, answer, client, name)
        self._sequence = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.sock, selectors.EVENT_READ, "query")
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def release_time(self, name, arrived):
        label = name.split(".", 1)[0]
        if match := self._ABSOLUTE.match(label):
            return int(match.group(1)) / 1e6
        if match := self._DELAY.match(label):
            return arrived + int(match.group(1)) / 1e6
        return arrived

    def _serve(self):
        while self._running:
            timeout = max(0.0, self._held[0][0] - time.monotonic()) if self._held else None
            for key, _ in self._selector.select(timeout):
                if key.data == "query":
                    self._forward_queries()
                elif key.data == "wake":
                    self._wake_read.recv(16)
                else:
                    self._hold_answer(key)
            self._send_due_answers()

    def _forward_queries(self):
        while True:
            try:
                packet, client = self.sock.recvfrom(65535)
            except (BlockingIOError, OSError):
                return
            arrived = time.monotonic()
            name = query_name(packet)
            self.queries += 1
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.setblocking(False)
            upstream.connect(self.upstream)
            upstream.send(packet)
            self._selector.register(upstream, selectors.EVENT_READ, (client, name, self.release_time(name, arrived)))

    def _hold_answer(self, key):
        upstream = key.fileobj
        client, name, release = key.data
        try:
            answer = upstream.recv(65535)
        except OSError:
            answer = None
        self._selector.unregister(upstream)
        upstream.close()
        if answer:
            heapq.heappush(self._held, (release, next(self._sequence), answer, client, name))

    def _send_due_answers(self):
        now = time.monotonic()
        while self._held and self._held[0][0] <= now:
            release, _, answer, client, name = heapq.heappop(self._held)
            try:
                self.sock.sendto(answer, client)
            except OSError:
                continue
            self.released.append((name, release, time.monotonic()))

    def close(self):
        self._running = False
        self._wake_write.send(b"x")
        self._thread.join(timeout=10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()
        self._wake_write.close()


@pytest.fixture(scope="module")
def race_zone(lab):
    zone = f"race.{lab.LAB_ZONE}"
    lab.set_tlsa(f"*.{zone}", lab.TLSA_NS_A)
    return zone


@pytest.fixture(scope="module")
def resolver(lab):
    started = DelayingResolver(("127.0.0.1", int(lab.UNBOUND_PORT)))
    yield started
    started.close()


def race_config(lab, join_server, resolver, **listener):
    return inbound_config(lab, join_server.port, resolvers=[resolver.address], dns_timeout_ms=DNS_TIMEOUT_MS,
                          max_ttl_s=1, negative_ttl_s=1, workers=1,
                          timeouts={"handshake_ms": HANDSHAKE_MS, "idle_ms": 60000, "backend_ms": 5000}, **listener)


_attempt_numbers = itertools.count()


def attempt(lab, address, zone, first_label):
    """One client: handshake with the name <first_label(connect time µs)>-<n>.<zone>, then one JoinReq.
    Returns (outcome, reply or exception text, connect time): outcome "ok" (authenticated, 200), "refused"
    (a verdict without an HTTP answer) or "other"."""
    number = next(_attempt_numbers)
    connect_us = monotonic_us()
    name = f"{first_label(connect_us)}-{number}.{zone}"
    try:
        reply = exchange(address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name(name),
                         http_request("POST", "/", JOIN_REQUEST), timeout_s=30)
    except OSError as error:
        return "other", f"{name}: {error!r}", connect_us / 1e6
    if reply.handshake_done and reply.status == 200:
        return "ok", reply, connect_us / 1e6
    if reply.status is None and reply.error:
        return "refused", reply, connect_us / 1e6
    return "other", f"{name}: {reply}", connect_us / 1e6


def released_at(offset_ms):
    """first_label for an answer released `offset_ms` after the handshake timer is due (connect + handshake_ms)."""
    return lambda connect_us: f"a{connect_us + int((HANDSHAKE_MS + offset_ms) * 1000)}"


def delayed_by(delay_ms):
    return lambda _connect_us: f"d{int(delay_ms * 1000)}"


class AliveMonitor:
    """Polls the sidecar process while the sweep runs; .died_at is the monotonic time it was found dead."""

    def __init__(self, sidecar):
        self.sidecar = sidecar
        self.died_at = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(0.02):
            if self.sidecar.process.poll() is not None:
                self.died_at = time.monotonic()
                return

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def assert_alive(sidecar):
    assert sidecar.process.poll() is None, \
        f"the sidecar died with {sidecar.process.returncode}:\n{sidecar.log()[-6000:]}"
    sidecar.assert_clean()


def wait_for_counted(sidecar, counts_before, expected_total):
    wait_until(lambda: sum(counter_delta(counts_before, sidecar.handshake_counts(LISTENER)).values())
               >= expected_total, deadline_s=30)
    return counter_delta(counts_before, sidecar.handshake_counts(LISTENER))


def assert_pending_dns_returns_to_zero(sidecar):
    assert wait_until(lambda: sidecar.metric("dance_pending_dns_handshakes", listener=LISTENER) == 0, deadline_s=10), \
        f"dance_pending_dns_handshakes stays at {sidecar.metric('dance_pending_dns_handshakes', listener=LISTENER)}"


def assert_one_more_client_is_authenticated(lab, sidecar, race_zone):
    counts_before = sidecar.handshake_counts(LISTENER)
    outcome, reply, _ = attempt(lab, sidecar.address, race_zone, lambda _connect_us: "final")
    assert outcome == "ok", f"a normal client after the timeouts was not served: {reply}"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply
    assert wait_for_counted(sidecar, counts_before, 1) == {"ok": 1}


def test_tlsa_answers_landing_on_the_handshake_timer_never_crash_the_worker(lab, join_server, resolver, race_zone):
    steps = int(2 * SWEEP_MS / STEP_MS) + 1
    offsets = [-SWEEP_MS + index * STEP_MS + phase * STEP_MS / PASSES
               for phase in range(PASSES) for index in range(steps)]
    random.Random(20261204).shuffle(offsets)  # clients in flight together have unrelated offsets
    config = race_config(lab, join_server, resolver, max_pending_dns=64)
    started = time.monotonic()
    with Sidecar(config, name="handshake-race") as sidecar:
        sidecar.address = listen_address(config)
        counts_before = sidecar.handshake_counts(LISTENER)
        queries_before = resolver.queries
        delivered_before = sidecar.metric("dance_tlsa_lookups_total")
        monitor = AliveMonitor(sidecar)
        try:
            with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
                results = list(pool.map(
                    lambda offset: attempt(lab, sidecar.address, race_zone, released_at(offset)), offsets))
        finally:
            monitor.stop()
        sweep_s = time.monotonic() - started
        assert monitor.died_at is None, \
            f"the sidecar died {monitor.died_at - started:.2f} s into the sweep:\n{sidecar.log()[-6000:]}"
        assert_alive(sidecar)

        outcomes = [outcome for outcome, _, _ in results]
        others = [detail for outcome, detail, _ in results if outcome == "other"]
        assert not others, f"{len(others)} attempts ended neither in a 200 nor in a refusal, e.g. {others[:3]}"
        delta = wait_for_counted(sidecar, counts_before, len(offsets))
        assert sum(delta.values()) == len(offsets), \
            f"{len(offsets)} handshakes, dance_handshakes_total moved by {sum(delta.values())}: {delta}"
        assert set(delta) <= EXPECTED_RESULTS, f"unexpected handshake results: {delta}"
        assert delta.get("ok", 0) == outcomes.count("ok"), (delta, outcomes.count("ok"))
        assert delta.get("ok", 0) > 0 and delta.get("timeout", 0) > 0, f"the sweep missed one side: {delta}"
        assert resolver.queries - queries_before >= outcomes.count("ok"), "answers did not come through the proxy"

        # The proxy really placed the answers around the timer: well before it they authenticate, well after
        # it they cannot.
        early = [outcome for offset, outcome in zip(offsets, outcomes) if offset <= -SWEEP_MS / 2]
        late = [outcome for offset, outcome in zip(offsets, outcomes) if offset >= SWEEP_MS / 2]
        assert early.count("ok") >= 0.9 * len(early), f"only {early.count('ok')}/{len(early)} early answers were ok"
        assert late.count("refused") >= 0.9 * len(late), \
            f"only {late.count('refused')}/{len(late)} answers after the timer were refused"

        # A lookup is counted when its answer reaches the handshake; a cancelled one (the timer came first) is
        # not. An answer that reached its handshake which still timed out is the race itself: the timer ran
        # after the answer was in and before the handshake resumed. The sweep must have produced some.
        delivered = sidecar.metric("dance_tlsa_lookups_total") - delivered_before
        raced = delivered - delta.get("ok", 0)
        assert raced >= 1, f"no answer landed between the timer and the resume ({delivered} delivered, {delta}): " \
                           "the sweep did not exercise the race"

        assert_pending_dns_returns_to_zero(sidecar)
        assert_one_more_client_is_authenticated(lab, sidecar, race_zone)
        assert_alive(sidecar)
        print(f"{len(offsets)} handshakes in {sweep_s:.1f} s: {delta}; {raced:.0f} answers reached a handshake "
              f"whose timer then won")


def test_timeouts_on_paused_handshakes_leak_no_async_jobs(lab, join_server, resolver, race_zone):
    """With max_pending_dns 4 and one worker the async job pool holds 8 + 4 jobs. Many more handshakes than that
    time out while paused on DNS (answers held 1 s, or released around the timer); a leaked job per timeout
    would leave none for the next client, refused with too_many_pending."""
    config = race_config(lab, join_server, resolver, max_pending_dns=MAX_PENDING_DNS_LOW)
    held = 3 * (ASYNC_JOBS_SPARE + MAX_PENDING_DNS_LOW)
    around_the_timer = [offset / 2 for offset in range(-10, 11)]  # -5 ms .. +5 ms
    with Sidecar(config, name="handshake-race-jobs") as sidecar:
        sidecar.address = listen_address(config)
        counts_before = sidecar.handshake_counts(LISTENER)
        with concurrent.futures.ThreadPoolExecutor(MAX_PENDING_DNS_LOW) as pool:  # never above max_pending_dns
            timed_out = list(pool.map(lambda _: attempt(lab, sidecar.address, race_zone, delayed_by(1000)),
                                      range(held)))
            raced = list(pool.map(lambda offset: attempt(lab, sidecar.address, race_zone, released_at(offset)),
                                  around_the_timer))
        assert_alive(sidecar)
        assert [outcome for outcome, _, _ in timed_out] == ["refused"] * held, timed_out
        assert all(outcome in ("ok", "refused") for outcome, _, _ in raced), raced
        total = held + len(around_the_timer)
        delta = wait_for_counted(sidecar, counts_before, total)
        assert sum(delta.values()) == total and set(delta) <= EXPECTED_RESULTS, delta
        assert delta.get("timeout", 0) >= held, delta
        assert_pending_dns_returns_to_zero(sidecar)
        assert_one_more_client_is_authenticated(lab, sidecar, race_zone)
        assert_alive(sidecar)


def full_client_hello():
    """A complete TLS 1.3 ClientHello (no dane_clientid), as bytes, from a client that will never go on."""
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    outgoing = ssl.MemoryBIO()
    client = context.wrap_bio(ssl.MemoryBIO(), outgoing)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def test_making_room_spares_a_handshake_waiting_for_its_tlsa_answer(lab, join_server, resolver, race_zone):
    # max_handshakes 2 on one worker: a client whose flight is in and whose TLSA answer is on its way (the
    # oldest), then a client that sent a whole ClientHello and stalls. A third client needs room: the staller
    # goes, the client waiting for DNS finishes.
    config = race_config(lab, join_server, resolver, max_handshakes=2)
    config["inbound"][0]["timeouts"]["handshake_ms"] = 10000
    with Sidecar(config, name="evict-order") as sidecar:
        sidecar.address = listen_address(config)
        queries_before = resolver.queries
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            waiting = pool.submit(attempt, lab, sidecar.address, race_zone, delayed_by(1500))
            assert wait_until(lambda: resolver.queries > queries_before), "the first client's lookup never started"
            with socket.create_connection(sidecar.address, timeout=30) as staller:
                staller.sendall(full_client_hello())
                time.sleep(0.5)  # the sidecar answered the ClientHello and waits for the client's flight
                third = attempt(lab, sidecar.address, race_zone, delayed_by(0))
                assert third[0] == "ok", third
                staller.settimeout(5)
                try:
                    while staller.recv(65536):  # the ServerHello flight, then the close
                        pass
                except ConnectionResetError:
                    pass
                except socket.timeout:
                    pytest.fail("the stalled client was not the one closed to make room")
            outcome = waiting.result(timeout=30)
        assert outcome[0] == "ok", outcome
        assert sidecar.metric("dance_connections_rejected_total", listener=LISTENER, reason="max_handshakes") == 1
        assert sidecar.metric("dance_handshakes_total", listener=LISTENER, result="ok") == 2
