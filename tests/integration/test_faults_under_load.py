"""Faults under load: the resolver killed or stalled, the backend killed or slow, slowloris, certificate rotation
with SIGHUP and SIGTERM, each while a steady load of authenticated requests runs.

The load is a few client threads on one cached identity (real TLS 1.3 with dane_clientid): some keep their
connection for several requests, one opens a new connection (a new handshake) per request. Every request has
its own path, so what the client got can be matched with what the sidecar logged and what the recording join
server received. Each case checks that the sidecar lives (and is sanitizer-clean at exit), what the clients
got, that the relevant metric moved, and that the backend received nothing it should not.
"""
import concurrent.futures
import contextlib
import http.client
import http.server
import itertools
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import JOIN_REQUEST, counter_delta, wait_until
from dane_client import DaneConnection, encode_client_name, exchange, http_request
from inbound_setup import inbound_config, listen_address
from processes import JoinServer, Sidecar, binary, free_port

LISTENER = "join-server"


@pytest.fixture(scope="module")
def bulk_zone(lab):
    """Every name under bulk.<zone> carries the ns-a key (a signed wildcard TLSA): never-seen identities are free."""
    zone = f"bulk.{lab.LAB_ZONE}"
    lab.set_tlsa(f"*.{zone}", lab.TLSA_NS_A)
    return zone


class Load:
    """`keep_alive` threads sending `per_connection` requests per connection and `fresh` threads opening a new
    connection (a new handshake) per request, all as `name`, until stop(). Each request has a unique path
    /load/<thread>/<n>; .results holds one dict per attempt:
    outcome: answered (an HTTP answer came), unanswered (sent, no complete answer), refused (no connection or
    no handshake), plus path, first (first request of its connection), status, headers, body, error, sent, done."""

    def __init__(self, lab, address, name, keep_alive=2, fresh=1, per_connection=5, pause_s=0.05):
        self.address = address
        self.cert, self.key = lab.pki("ns-a.pem"), lab.pki("ns-a.key")
        self.name = name
        self.per_connection = per_connection
        self.pause_s = pause_s
        self.results = []
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.counter = itertools.count()
        self.threads = [threading.Thread(target=self.run, args=(f"k{index}", per_connection), daemon=True)
                        for index in range(keep_alive)]
        self.threads += [threading.Thread(target=self.run, args=(f"f{index}", 1), daemon=True) for index in range(fresh)]

    def __enter__(self):
        self.running.set()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_):
        self.stop()

    def stop(self):
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=90)
        assert not any(thread.is_alive() for thread in self.threads), "a load thread hangs"

    def record(self, **result):
        with self.lock:
            self.results.append(result)

    def mark(self):
        with self.lock:
            return len(self.results)

    def since(self, mark):
        with self.lock:
            return list(self.results[mark:])

    def wait_for_answers(self, mark, count, deadline_s=60, new_connections=0):
        """Waits until `count` requests since `mark` were answered 200 (`new_connections` of them first on their
        connection: new handshakes); returns the results since mark."""
        def enough():
            done = [r for r in self.since(mark) if r["status"] == 200]
            return len(done) >= count and sum(r["first"] for r in done) >= new_connections
        assert wait_until(enough, deadline_s=deadline_s), \
            f"the load got too few answers: {summarize(self.since(mark))}"
        return self.since(mark)

    def run(self, thread_name, per_connection):
        while self.running.is_set():
            connection = DaneConnection(self.address, self.cert, self.key, encode_client_name(self.name),
                                        timeout_s=30)
            started = time.monotonic()
            try:
                try:
                    connected = connection.connect()
                except OSError as error:
                    self.record(outcome="refused", path=None, first=True, status=None, headers={}, body=b"",
                                error=f"connect: {error}", sent=started, done=time.monotonic())
                    time.sleep(max(self.pause_s, 0.1))
                    continue
                if not connected:
                    self.record(outcome="refused", path=None, first=True, status=None, headers={}, body=b"",
                                error=connection.reply.error, sent=started, done=time.monotonic())
                    time.sleep(self.pause_s)
                    continue
                for number in range(per_connection):
                    path = f"/load/{thread_name}/{next(self.counter)}"
                    headers = {"Connection": "close"} if number == per_connection - 1 else {}
                    sent = time.monotonic()
                    reply = connection.request(http_request("POST", path, JOIN_REQUEST, headers))
                    self.record(outcome="answered" if reply.status is not None else "unanswered", path=path,
                                first=number == 0, status=reply.status, headers=reply.headers, body=reply.body,
                                error=reply.error, sent=sent, done=time.monotonic())
                    if reply.status is None or reply.headers.get("connection") == "close" or not self.running.is_set():
                        break
                    time.sleep(self.pause_s)
            finally:
                connection.close()
            time.sleep(self.pause_s)


def summarize(results):
    """A short account of results for assertion messages."""
    counts = {}
    for result in results:
        key = (result["outcome"], result["status"])
        counts[key] = counts.get(key, 0) + 1
    failed = [r for r in results if r["status"] != 200]
    first = {k: failed[0][k] for k in ("outcome", "path", "status", "error", "body")} if failed else None
    return f"{counts}, first failure: {first}"


def failures(results):
    return [r for r in results if r["status"] != 200]


def lorawan_answer(result):
    """The JSON body of an answer; fails the test if it is not a JSON object (an HTML page, say)."""
    assert result["headers"].get("content-type", "").startswith("application/json"), result
    body = json.loads(result["body"])
    assert isinstance(body, dict), result
    return body


def fresh_identity(lab, address, name, path, timeout_s=60):
    """One handshake + request as `name` (the ns-a key: any name under the bulk wildcard)."""
    return exchange(address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name(name),
                    http_request("POST", path, JOIN_REQUEST), timeout_s=timeout_s)


def handshake_delta_after(sidecar, before, expected_total):
    wait_until(lambda: sum(counter_delta(before, sidecar.handshake_counts(LISTENER)).values()) >= expected_total)
    return counter_delta(before, sidecar.handshake_counts(LISTENER))


# --- 1, 2: the resolver killed or stalled ---------------------------------------------------------------------------

def resolver_fault(lab, join_server, bulk_zone, break_resolver, repair_resolver, expected_result):
    config = inbound_config(lab, join_server.port, dns_timeout_ms=1500, negative_ttl_s=1)
    cached, never_seen = f"cached.{bulk_zone}", f"never-seen-{expected_result}.{bulk_zone}"
    with Sidecar(config, name="resolver-fault") as sidecar:
        address = listen_address(config)
        with Load(lab, address, cached) as load:
            load.wait_for_answers(0, 10, new_connections=3)  # the cached identity is validated and cached
            break_resolver()
            try:
                mark = load.mark()
                lookups_before = sidecar.metric("dance_tlsa_lookups_total", result=expected_result.removeprefix("dns_"),
                                                cache="miss")
                hits_before = sidecar.metric("dance_tlsa_lookups_total", result="secure", cache="hit")
                counts_before = sidecar.handshake_counts(LISTENER)
                # A never-seen identity: its lookup cannot succeed, so it fails closed.
                refused = fresh_identity(lab, address, never_seen, "/fresh/refused")
                assert refused.handshake_done and refused.status is None, refused
                assert "handshake failure" in refused.error, refused  # alert 40
                # The server counts right after sending its verdict: the client may have read it a moment earlier.
                wait_until(lambda: counter_delta(counts_before, sidecar.handshake_counts(LISTENER)).get(expected_result))
                delta = counter_delta(counts_before, sidecar.handshake_counts(LISTENER))
                assert delta.get(expected_result) == 1, delta
                assert set(delta) <= {expected_result, "ok"}, delta
                assert sidecar.metric("dance_tlsa_lookups_total", result=expected_result.removeprefix("dns_"),
                                      cache="miss") == lookups_before + 1
                # Meanwhile the cached identity keeps working, new handshakes included.
                during = load.wait_for_answers(mark, 10, new_connections=3)
                assert not failures(during), summarize(during)
                assert sidecar.metric("dance_tlsa_lookups_total", result="secure", cache="hit") >= hits_before + 3
            finally:
                repair_resolver()
            # No restart of the sidecar: the same identity is accepted now (failures are not cached).
            accepted = fresh_identity(lab, address, never_seen, "/fresh/accepted")
            assert accepted.status == 200 and json.loads(accepted.body)["MessageType"] == "JoinAns", accepted
            assert sidecar.metric("dance_handshakes_total", listener=LISTENER, result=expected_result) == 1
        results = load.since(0)
        assert not failures(results), summarize(results)
        assert sidecar.process.poll() is None
        sidecar.assert_clean()
        # The backend got each answered request once, with the identity that was checked, and nothing of the
        # refused handshake.
        records = join_server.records()
        paths = [record["path"] for record in records]
        assert len(paths) == len(set(paths)), "a request reached the backend twice"
        assert set(paths) == {r["path"] for r in results if r["status"] == 200} | {"/fresh/accepted"}
        assert all(record["headers"].get("x-dane-client-id") == (never_seen if record["path"] == "/fresh/accepted"
                                                                 else cached) for record in records)


def test_resolver_killed(lab, fresh_join_server, bulk_zone):
    resolver_fault(lab, fresh_join_server, bulk_zone, lab.kill_unbound, lab.start_unbound, "dns_timeout")


def test_resolver_stalled(lab, fresh_join_server, bulk_zone):
    resolver_fault(lab, fresh_join_server, bulk_zone, lab.pause_unbound, lab.resume_unbound, "dns_timeout")


# --- 3, 4: the backend killed, or slower than backend_ms ------------------------------------------------------------

def assert_lorawan_failure(result, statuses=(502, 504)):
    """A well-formed Backend Interfaces answer to the load's JoinReq: JSON JoinAns with ResultCode Other."""
    assert result["outcome"] == "answered" and result["status"] in statuses, result
    body = lorawan_answer(result)
    assert body.get("MessageType") == "JoinAns" and body["Result"]["ResultCode"] == "Other", body


def test_backend_killed_mid_load_then_restarted(lab, bulk_zone):
    backend = JoinServer()
    restarted = None
    config = inbound_config(lab, backend.port)
    name = f"cached.{bulk_zone}"
    try:
        with Sidecar(config, name="backend-killed") as sidecar:
            address = listen_address(config)
            with Load(lab, address, name) as load:
                load.wait_for_answers(0, 10, new_connections=2)
                failed_before = sum(sidecar.metric("dance_requests_total", listener=LISTENER, code=code)
                                    for code in ("502", "504"))
                other_before = sidecar.metric("dance_lorawan_messages_total", listener=LISTENER, result_code="Other")
                backend.kill()  # returns once the process is gone: nothing sent after this can reach it
                killed_at = time.monotonic()
                assert wait_until(lambda: len([r for r in load.since(0) if r["sent"] > killed_at]) >= 10)
                restarting_at = time.monotonic()  # it may answer before JoinServer() has seen its port open
                restarted = JoinServer(port=backend.port)
                restarted_at = time.monotonic()
                mark = load.mark()
                load.wait_for_answers(mark, 10, new_connections=2)
            results = load.since(0)
            assert sidecar.process.poll() is None
            failed_after = sum(sidecar.metric("dance_requests_total", listener=LISTENER, code=code)
                               for code in ("502", "504"))
            other_after = sidecar.metric("dance_lorawan_messages_total", listener=LISTENER, result_code="Other")
        # Every request got an answer; while the backend was down a JSON JoinAns "Other", never HTML.
        assert all(r["outcome"] == "answered" for r in results), summarize(results)
        during = [r for r in results if killed_at < r["sent"] and r["done"] < restarting_at]
        assert len(during) >= 5, summarize(results)
        for result in during:
            assert_lorawan_failure(result, statuses=(502,))
        failed = failures(results)
        for result in failed:
            assert_lorawan_failure(result)
        after = [r for r in results if r["sent"] > restarted_at]
        assert len(after) >= 10 and not failures(after), summarize(after)
        assert failed_after - failed_before == len(failed)
        assert other_after - other_before == len(failed)
        # Nothing forged, nothing twice, nothing replayed to the restarted backend.
        old, new = backend.records(), restarted.records()
        assert {record["headers"].get("x-dane-client-id") for record in old + new} == {name}
        paths = [record["path"] for record in old + new]
        assert len(paths) == len(set(paths)), "a request reached the backend twice"
        assert {r["path"] for r in results if r["status"] == 200} <= set(paths)
        assert not {r["path"] for r in failed} & {record["path"] for record in new}, "a failed request was replayed"
    finally:
        backend.stop()
        if restarted is not None:
            restarted.stop()


class DelayingBackend:
    """A plain HTTP/1.1 backend in front of the join server: requests whose path starts with /slow wait
    `delay_s` first; everything is then relayed to the join server (which records it)."""

    def __init__(self, join_server, delay_s):
        target = join_server.port

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/slow"):
                    time.sleep(delay_s)
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() not in ("host", "connection", "content-length", "keep-alive")}
                upstream = http.client.HTTPConnection("127.0.0.1", target, timeout=30)
                upstream.request("POST", self.path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.getheader("Content-Type", "application/json"))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sidecar gave up on this request and closed the connection
                    self.close_connection = True

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_backend_slower_than_backend_ms_times_out_that_request_only(lab, fresh_join_server, bulk_zone):
    backend = DelayingBackend(fresh_join_server, delay_s=4)
    config = inbound_config(lab, backend.port, timeouts={"handshake_ms": 10000, "idle_ms": 60000, "backend_ms": 1500})
    name = f"cached.{bulk_zone}"
    try:
        with Sidecar(config, name="backend-slow") as sidecar:
            address = listen_address(config)
            with Load(lab, address, name) as load:
                load.wait_for_answers(0, 10, new_connections=2)
                timeouts_before = sidecar.metric("dance_requests_total", listener=LISTENER, code="504")
                other_before = sidecar.metric("dance_lorawan_messages_total", listener=LISTENER, result_code="Other")
                started = time.monotonic()
                slow = exchange(address, lab.pki("ns-a.pem"), lab.pki("ns-a.key"), encode_client_name(name),
                                http_request("POST", "/slow/1", JOIN_REQUEST), timeout_s=60)
                answered = time.monotonic()
                load.wait_for_answers(load.mark(), 5)
            results = load.since(0)
            assert sidecar.process.poll() is None
            assert sidecar.metric("dance_requests_total", listener=LISTENER, code="504") == timeouts_before + 1
            assert sidecar.metric("dance_lorawan_messages_total", listener=LISTENER,
                                  result_code="Other") == other_before + 1
        assert_lorawan_failure({"outcome": "answered", "status": slow.status, "headers": slow.headers,
                                "body": slow.body}, statuses=(504,))
        assert answered - started < 4, "the timeout answer waited for the slow backend"
        # The other clients were served meanwhile, and none of them failed.
        assert not failures(results), summarize(results)
        meanwhile = [r for r in results if r["sent"] > started and r["done"] < answered]
        assert len(meanwhile) >= 3, summarize(results)
        # The slow request reached the join server once (when the delay ended), and was not retried.
        assert wait_until(lambda: any(record["path"] == "/slow/1" for record in fresh_join_server.records()),
                          deadline_s=20)
        time.sleep(0.5)
        records = fresh_join_server.records()
        assert [record["path"] for record in records].count("/slow/1") == 1
        assert {record["headers"].get("x-dane-client-id") for record in records} == {name}
        assert {r["path"] for r in results if r["status"] == 200} <= {record["path"] for record in records}
    finally:
        backend.close()


# --- 5: slowloris -----------------------------------------------------------------------------------------------------

def client_hello():
    """The bytes of a real TLS 1.3 ClientHello (Python's ssl, through memory BIOs)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="js.example.test")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


class Dribbler:
    def __init__(self, address):
        self.sock = socket.create_connection(address, timeout=10)
        self.sock.setblocking(False)
        self.opened = time.monotonic()
        self.sent = 0
        self.closed = None  # when the server ended the connection
        self.received = b""


def dribble(dribblers, hello, interval_s, running):
    """One more byte of the ClientHello on every open connection each interval; notes when the server closes."""
    while running.is_set() and any(d.closed is None for d in dribblers):
        for d in dribblers:
            if d.closed is not None:
                continue
            try:
                d.sock.send(hello[d.sent:d.sent + 1])
                d.sent += 1
                data = d.sock.recv(4096)
                if not data:
                    d.closed = time.monotonic()
                d.received += data
            except BlockingIOError:
                pass
            except OSError:
                d.closed = time.monotonic()
        time.sleep(interval_s)


def test_slowloris_dribbling_client_hellos_does_not_lock_out_authenticated_clients(lab, fresh_join_server, bulk_zone):
    count, handshake_ms = 300, 4000
    config = inbound_config(lab, fresh_join_server.port,
                            timeouts={"handshake_ms": handshake_ms, "idle_ms": 60000, "backend_ms": 5000})
    name = f"cached.{bulk_zone}"
    hello = client_hello()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 200:  # the dribblers, the load's sockets and the rest of this process
        if hard != resource.RLIM_INFINITY and hard < count + 200:
            pytest.skip(f"needs {count + 200} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 200, hard))
    with Sidecar(config, name="slowloris") as sidecar:
        address = listen_address(config)
        with Load(lab, address, name) as load:
            load.wait_for_answers(0, 5, new_connections=2)
            counts_before = sidecar.handshake_counts(LISTENER)
            dribblers = [Dribbler(address) for _ in range(count)]
            running = threading.Event()
            running.set()
            thread = threading.Thread(target=dribble, args=(dribblers, hello, 0.5, running), daemon=True)
            thread.start()
            try:
                mark = load.mark()
                active = wait_until(lambda: sidecar.metric("dance_connections_active", listener=LISTENER) >= count)
                peak = sidecar.metric("dance_connections_active", listener=LISTENER)
                during = load.wait_for_answers(mark, 10, new_connections=3)
                thread.join(timeout=handshake_ms / 1000 + 60)
                assert not thread.is_alive(), f"{sum(d.closed is None for d in dribblers)} dribblers still open"
            finally:
                running.clear()
                for d in dribblers:
                    d.sock.close()
        results = load.since(0)
        assert sidecar.process.poll() is None
        assert active, f"only {peak} connections active"
        assert not failures(during) and not failures(results), summarize(results)
        # Each dribbler was closed by the server at its handshake deadline although it kept sending, and
        # never got a byte back (it never completed its ClientHello).
        assert all(d.sent < len(hello) for d in dribblers)
        assert not [d.received for d in dribblers if d.received]
        lifetimes = sorted(d.closed - d.opened for d in dribblers)
        assert lifetimes[0] >= handshake_ms / 1000 * 0.9 and lifetimes[-1] < handshake_ms / 1000 + 30, lifetimes
        delta = handshake_delta_after(sidecar, counts_before, count)
        assert delta.get("timeout") == count and set(delta) <= {"timeout", "ok"}, delta
        records = fresh_join_server.records()
        assert {record["headers"].get("x-dane-client-id") for record in records} == {name}
        assert len(records) == len([r for r in results if r["status"] == 200])


# --- 6: server certificate rotation with SIGHUP under load --------------------------------------------------------------

def test_inbound_certificate_rotation_with_sighup_under_load_fails_no_request(lab, fresh_join_server):
    from test_operations import make_key_pair, tlsa_of

    port = free_port()
    server_tlsa = f"_{port}._tcp.{lab.NAME_JS}"
    work = pathlib.Path(tempfile.mkdtemp(prefix="server-rotation-"))
    live_cert, live_key = work / "live.pem", work / "live.key"
    shutil.copy(lab.pki("js.pem"), live_cert)
    shutil.copy(lab.pki("js.key"), live_key)
    new_cert, new_key = make_key_pair(work, "js-next")
    old_tlsa, new_tlsa = tlsa_of(lab.pki("js.pem")), tlsa_of(new_cert)
    # Short cache lifetimes: the outbound side re-checks the server's TLSA record every second, and a pooled
    # connection older than its answer is replaced, so new handshakes meet the rotated certificate.
    dns = {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"],
           "cache": {"max_ttl_s": 1, "negative_ttl_s": 1}}
    lab.set_tlsa(server_tlsa, old_tlsa)
    inbound_settings = {"dns": dns, "inbound": [{
        "name": LISTENER, "listen": f"127.0.0.1:{port}", "backend": f"127.0.0.1:{fresh_join_server.port}",
        "tls": {"cert": str(live_cert), "key": str(live_key)},
        "client_auth": {"mode": "require", "allow": [lab.NAME_NS_A]}}]}
    outbound_settings = {"dns": dns, "outbound": [{
        "name": LISTENER, "listen": f"127.0.0.1:{free_port()}", "upstream": f"{lab.NAME_JS}:{port}",
        "tls": {"cert": str(lab.pki("ns-a.pem")), "key": str(lab.pki("ns-a.key")), "client_id": lab.NAME_NS_A},
        "max_idle_connections": 4}]}
    count = 450  # 15 s at 30 requests a second each: the rotation happens in the middle
    try:
        with Sidecar(inbound_settings, name="inbound") as inbound, Sidecar(outbound_settings, name="outbound") as outbound:
            url = f"http://127.0.0.1:{int(outbound.config['outbound'][0]['listen'].rsplit(':', 1)[1])}/api"
            emulators = [subprocess.Popen([binary("NS_EMULATOR", "tests/peers/lorawan-ns-emulator"), "--url", url,
                                           "--count", str(count), "--concurrency", "2", "--rate", "30", "--no-verify",
                                           *keep_alive, "--dev-nonce-start", str(start)],
                                          stdout=subprocess.PIPE, text=True)
                         for keep_alive, start in (([], 1000), (["--keepalive"], 5000))]
            try:
                time.sleep(2)
                expiry_before = inbound.metric("dance_certificate_expiry_timestamp_seconds")
                # The operator's rollover: publish old + new, let caches learn both, swap the files, SIGHUP.
                lab.set_tlsa(server_tlsa, f"{old_tlsa}; {new_tlsa}")
                time.sleep(1.5)
                for source, target in ((new_key, live_key), (new_cert, live_cert)):
                    staging = target.with_suffix(".tmp")
                    shutil.copy(source, staging)
                    os.replace(staging, target)
                inbound.reload()
                assert wait_until(lambda: inbound.metric("dance_certificate_expiry_timestamp_seconds") != expiry_before,
                                  deadline_s=20)
                assert inbound.metric("dance_config_reloads_total", result="ok") >= 1
                time.sleep(1.5)
                # Retire the old record: from now on only the new certificate authenticates the server.
                lab.set_tlsa(server_tlsa, new_tlsa)
                time.sleep(1.5)
                handshakes_after_retirement = outbound.metric("dance_handshakes_total", result="ok")
                assert all(emulator.poll() is None for emulator in emulators), "the load ended before the rotation"
                summaries = [json.loads(emulator.communicate(timeout=180)[0]) for emulator in emulators]
            finally:
                for emulator in emulators:
                    if emulator.poll() is None:
                        emulator.kill()
                        emulator.wait()
            for summary in summaries:
                assert summary["result_codes"] == {"Success": count} and summary["error_count"] == 0, summary
            # New connections were made, and authenticated, against the new certificate only.
            assert outbound.metric("dance_handshakes_total", result="ok") > handshakes_after_retirement
            outbound_counts = outbound.handshake_counts(LISTENER, direction="outbound")
            assert not {k for k, v in outbound_counts.items() if v and k != "ok"}, outbound_counts
            inbound_counts = inbound.handshake_counts(LISTENER)
            assert not {k for k, v in inbound_counts.items() if v and k != "ok"}, inbound_counts
            assert inbound.metric("dance_requests_total", code="200") == 2 * count
            assert inbound.process.poll() is None and outbound.process.poll() is None
        records = fresh_join_server.records()
        assert len(records) == 2 * count
        assert {record["headers"].get("x-dane-client-id") for record in records} == {lab.NAME_NS_A}
    finally:
        lab.set_tlsa(server_tlsa, "")


# --- 7: SIGTERM under load ------------------------------------------------------------------------------------------

def readiness_while_draining(sidecar):
    """/readyz statuses from the SIGTERM until one says 503 or the admin endpoint is gone."""
    seen = []

    def not_ready():
        try:
            seen.append(sidecar.admin_get("/readyz")[0])
        except OSError:
            return True
        return seen[-1] == 503

    wait_until(not_ready, deadline_s=30, interval_s=0.01)
    return seen


def test_sigterm_under_load_loses_no_accepted_request(lab, bulk_zone):
    # A join server answering after 1 s: every load thread has a request in flight when SIGTERM arrives.
    slow = JoinServer(extra=["--delay-ms", "1000"])
    config = inbound_config(lab, slow.port)  # drain_timeout_ms: 5000
    name = f"cached.{bulk_zone}"
    try:
        with Sidecar(config, name="sigterm") as sidecar:
            address = listen_address(config)
            with Load(lab, address, name, keep_alive=2, fresh=2, pause_s=0.02) as load:
                load.wait_for_answers(0, 8, new_connections=2)
                terminated = time.monotonic()
                sidecar.process.send_signal(signal.SIGTERM)
                readiness = readiness_while_draining(sidecar)
                assert sidecar.process.wait(timeout=60) == 0
                exited = time.monotonic()
                # The load goes on until it has met the closed listener a few times.
                assert wait_until(lambda: sum(r["outcome"] == "refused" and r["sent"] > exited
                                              for r in load.since(0)) >= 3, deadline_s=30)
            results = load.since(0)
        # (Leaving the block checked exit code 0 and a sanitizer-clean stderr.)
        events = sidecar.log_events()
        assert any(event.get("event") == "draining" for event in events)
        assert 503 in readiness, readiness
        logged = [event["path"] for event in events if event.get("event") == "access"]
        received = [record["path"] for record in slow.records()]
        accepted = set(logged) | set(received)
        # Every request the sidecar accepted (logged, or forwarded to the backend) got a complete answer.
        lost = [r for r in results if r["path"] in accepted and r["status"] != 200]
        assert not lost, f"{len(lost)} accepted requests lost, first: {lost[0]}"
        answered = [r for r in results if r["outcome"] == "answered"]
        assert all(r["status"] == 200 and json.loads(r["body"])["MessageType"] == "JoinAns" for r in answered), \
            summarize(answered)
        assert sorted(logged) == sorted(r["path"] for r in answered)
        assert sorted(received) == sorted(logged), "the backend and the access log disagree"
        # The requests in flight at SIGTERM were answered, telling keep-alive clients to close.
        drained = [r for r in answered if r["sent"] < terminated < r["done"]]
        assert drained, summarize(results)
        assert all(r["headers"].get("connection") == "close" for r in drained), drained
        # What was not accepted was refused: no connection, no handshake, or a keep-alive connection closed
        # before the sidecar read the request (not logged, not forwarded: the client may retry it).
        refused = [r for r in results if r["outcome"] == "refused"]
        closed_unread = [r for r in results if r["outcome"] == "unanswered"]
        assert len(refused) >= 3
        assert not [r for r in answered if r["sent"] > exited]
        print(f"SIGTERM under load: {len(answered)} answered ({len(drained)} drained), {len(refused)} refused, "
              f"{len(closed_unread)} closed before being read, 0 lost")
        assert {record["headers"].get("x-dane-client-id") for record in slow.records()} == {name}
    finally:
        slow.stop()


# --- readiness during a resolver outage ----------------------------------------------------------------------------

def test_readiness_holds_while_cached_identities_can_be_served(lab, fresh_join_server, bulk_zone):
    # A resolver outage is partial while cached answers last: /readyz stays 200 (every replica would otherwise
    # leave its Service at once), and turns 503 when the last cached answer expires.
    config = inbound_config(lab, fresh_join_server.port, dns_timeout_ms=500, max_ttl_s=8, negative_ttl_s=1)
    with Sidecar(config, name="readiness-outage") as sidecar:
        address = listen_address(config)
        assert fresh_identity(lab, address, f"ready-cached.{bulk_zone}", "/ready/cached").status == 200
        lab.kill_unbound()
        try:
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                refused = list(pool.map(lambda n: fresh_identity(lab, address, f"ready-new-{n}.{bulk_zone}",
                                                                 f"/ready/new-{n}"), range(6)))
            assert all(reply.status is None for reply in refused), refused
            assert sidecar.metric("dance_handshakes_total", listener=LISTENER, result="dns_timeout") == 6
            status, body = sidecar.admin_get("/readyz")
            assert status == 200, body  # the cached identity can still be served
            assert fresh_identity(lab, address, f"ready-cached.{bulk_zone}", "/ready/cached-again").status == 200
            assert wait_until(lambda: sidecar.admin_get("/readyz")[0] == 503, deadline_s=30), \
                "readiness never turned 503 after the cached answer expired"
            assert "no cached TLSA answer" in sidecar.admin_get("/readyz")[1]
        finally:
            lab.start_unbound()
        assert fresh_identity(lab, address, f"ready-after.{bulk_zone}", "/ready/after").status == 200
        assert wait_until(lambda: sidecar.admin_get("/readyz")[0] == 200, deadline_s=30)
