"""Operating the sidecar: reload (SIGHUP, certificate file change), drain on SIGTERM, readiness."""
import contextlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from processes import GOLDEN_JOINREQ, JoinServer, Sidecar, binary, free_port, post

INBOUND_PORT = free_port()


def dns_section(lab):
    # Short cache lifetimes: a rotated TLSA record must be seen within the test.
    return {"mode": "trust-ad", "resolvers": [f"127.0.0.1:{lab.UNBOUND_PORT}"],
            "cache": {"max_ttl_s": 1, "negative_ttl_s": 1}}


def inbound_config(lab, backend_port, allow, port=INBOUND_PORT):
    return {"dns": dns_section(lab), "inbound": [{
        "name": "join-server", "listen": f"127.0.0.1:{port}", "backend": f"127.0.0.1:{backend_port}",
        "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
        "client_auth": {"mode": "require", "allow": allow}}]}


def outbound_config(lab, cert, key, port=INBOUND_PORT):
    return {"dns": dns_section(lab), "outbound": [{
        "name": "join-server", "listen": f"127.0.0.1:{free_port()}", "upstream": f"{lab.NAME_JS}:{port}",
        "tls": {"cert": str(cert), "key": str(key), "client_id": lab.NAME_NS_A},
        "max_idle_connections": 4}]}


def outbound_port(sidecar):
    return int(sidecar.config["outbound"][0]["listen"].rsplit(":", 1)[1])


def tlsa_of(cert):
    result = subprocess.run([binary("DANCE_SIDECAR", "cli/dance-sidecar"), "tlsa", "--cert", str(cert)],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def make_key_pair(directory, name):
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    return cert, key


def test_client_certificate_rotation_under_traffic_loses_no_request(lab, fresh_join_server):
    work = pathlib.Path(tempfile.mkdtemp(prefix="rotation-"))
    live_cert, live_key = work / "live.pem", work / "live.key"
    shutil.copy(lab.pki("ns-a.pem"), live_cert)
    shutil.copy(lab.pki("ns-a.key"), live_key)
    new_cert, new_key = make_key_pair(work, "ns-a-next")
    inbound = Sidecar(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_A]), name="inbound")
    outbound = Sidecar(outbound_config(lab, live_cert, live_key), name="outbound")
    try:
        # Publish old + new first (the operator's usual rollover), then swap the files under traffic.
        lab.set_tlsa(lab.NAME_NS_A, f"{lab.TLSA_NS_A}; {tlsa_of(new_cert)}")
        emulator = subprocess.Popen([binary("NS_EMULATOR", "tests/peers/lorawan-ns-emulator"), "--url",
                                     f"http://127.0.0.1:{outbound_port(outbound)}/api", "--count", "3000",
                                     "--concurrency", "4", "--rate", "300", "--no-verify"],
                                    stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        for source, target in ((new_key, live_key), (new_cert, live_cert)):
            staging = target.with_suffix(".tmp")
            shutil.copy(source, staging)
            os.replace(staging, target)  # atomic, like a Kubernetes Secret volume swap
        deadline = time.monotonic() + 15
        while outbound.metric("dance_config_reloads_total", result="ok") < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert outbound.metric("dance_config_reloads_total", result="ok") >= 1
        # Retire the old record: from now on only the new certificate can authenticate.
        lab.set_tlsa(lab.NAME_NS_A, tlsa_of(new_cert))
        output, _ = emulator.communicate(timeout=120)
        summary = json.loads(output)
        assert summary["result_codes"] == {"Success": 3000}, summary
        # A brand-new connection must now present the new certificate.
        before = inbound.metric("dance_handshakes_total", result="ok")
        time.sleep(1.5)
        outbound.reload()
        status, answer = post(outbound_port(outbound))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
        assert inbound.metric("dance_handshakes_total", result="tlsa_mismatch") == 0
        assert inbound.metric("dance_handshakes_total", result="ok") >= before
    finally:
        lab.set_tlsa(lab.NAME_NS_A, lab.TLSA_NS_A)
        assert outbound.stop() == 0
        assert inbound.stop() == 0
        assert outbound.sanitizer_reports() == [] and inbound.sanitizer_reports() == []


def test_broken_config_is_rejected_and_the_old_one_keeps_serving(lab, fresh_join_server):
    inbound = Sidecar(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_A]), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    try:
        assert post(outbound_port(outbound))[0] == 200
        broken = dict(outbound.config)
        broken["outbound"] = [dict(broken["outbound"][0], tls={"cert": str(lab.pki("ns-a.pem")),
                                                               "key": str(lab.pki("ns-b.key")),
                                                               "client_id": lab.NAME_NS_A})]
        outbound.write_config(broken)
        outbound.reload()
        deadline = time.monotonic() + 10
        while outbound.metric("dance_config_reloads_total", result="error") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbound.metric("dance_config_reloads_total", result="error") == 1
        assert any(event.get("event") == "config_reload_failed" for event in outbound.log_events())
        status, answer = post(outbound_port(outbound))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
    finally:
        assert outbound.stop() == 0
        assert inbound.stop() == 0


def test_allow_list_reload_takes_effect_for_new_connections(lab, fresh_join_server):
    inbound = Sidecar(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_B]), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    try:
        assert post(outbound_port(outbound))[0] == 502
        inbound.write_config(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_B, lab.NAME_NS_A]))
        inbound.reload()
        deadline = time.monotonic() + 10
        while inbound.metric("dance_config_reloads_total", result="ok") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        status, answer = post(outbound_port(outbound))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
    finally:
        assert outbound.stop() == 0
        assert inbound.stop() == 0


def test_a_changed_config_file_is_applied_without_a_signal(lab, fresh_join_server):
    # A Kubernetes ConfigMap update changes the file under a running container: no one sends SIGHUP.
    inbound = Sidecar(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_B]), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    try:
        assert post(outbound_port(outbound))[0] == 502
        inbound.write_config(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_B, lab.NAME_NS_A]))
        deadline = time.monotonic() + 20
        while inbound.metric("dance_config_reloads_total", result="ok") < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert inbound.metric("dance_config_reloads_total", result="ok") == 1
        assert inbound.metric("dance_config_reloads_total", result="error") == 0
        status, answer = post(outbound_port(outbound))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
        time.sleep(5)  # the change is applied once, not at every watch interval
        assert inbound.metric("dance_config_reloads_total", result="ok") == 1
    finally:
        assert outbound.stop() == 0
        assert inbound.stop() == 0


def test_backend_change_on_reload_moves_new_requests_and_finishes_the_one_in_flight(lab):
    old_backend = JoinServer(extra=["--delay-ms", "1500"])
    new_backend = JoinServer()
    inbound = Sidecar(dict(inbound_config(lab, old_backend.port, [lab.NAME_NS_A]), workers=1), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    try:
        answers = []
        in_flight = threading.Thread(target=lambda: answers.append(post(outbound_port(outbound))))
        in_flight.start()
        deadline = time.monotonic() + 10
        while not old_backend.records() and time.monotonic() < deadline:
            time.sleep(0.05)
        inbound.write_config(dict(inbound_config(lab, new_backend.port, [lab.NAME_NS_A]), workers=1))
        inbound.reload()
        while inbound.metric("dance_config_reloads_total", result="ok") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert inbound.metric("dance_config_reloads_total", result="ok") == 1
        status, answer = post(outbound_port(outbound))
        assert status == 200 and answer["Result"]["ResultCode"] == "Success"
        assert len(new_backend.records()) == 1
        in_flight.join(timeout=10)
        assert answers and answers[0][0] == 200, answers
        assert len(old_backend.records()) == 1
    finally:
        assert outbound.stop() == 0
        assert inbound.stop() == 0
        old_backend.stop()
        new_backend.stop()


@contextlib.contextmanager
def chain_to_a_slow_join_server(lab):
    """Outbound and inbound sidecars in front of a join server that answers after 1.5 s; all stopped afterwards
    (stop() is idempotent, and checks each sidecar's stderr for sanitizer reports)."""
    slow = JoinServer(extra=["--delay-ms", "1500"])
    inbound = Sidecar(inbound_config(lab, slow.port, [lab.NAME_NS_A]), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    try:
        yield inbound, outbound
    finally:
        outbound.stop()
        inbound.stop()
        slow.stop()


def test_sigterm_lets_in_flight_requests_finish_then_exits_zero(lab):
    with chain_to_a_slow_join_server(lab) as (inbound, outbound):
        answers = []
        request = threading.Thread(target=lambda: answers.append(post(outbound_port(outbound))))
        request.start()
        time.sleep(0.7)  # the request is now waiting on the slow join server
        started = time.monotonic()
        assert inbound.stop(timeout=20) == 0
        request.join(timeout=20)
        assert answers and answers[0][0] == 200 and answers[0][1]["Result"]["ResultCode"] == "Success"
        assert time.monotonic() - started < 10
        assert any(event.get("event") == "draining" for event in inbound.log_events())


def test_sigterm_tells_a_keep_alive_client_to_close_in_the_answer_in_flight(lab):
    with chain_to_a_slow_join_server(lab) as (inbound, outbound):
        client = http.client.HTTPConnection("127.0.0.1", outbound_port(outbound), timeout=20)
        client.request("POST", "/api", body=GOLDEN_JOINREQ, headers={"Content-Type": "application/json"})
        time.sleep(0.7)  # the request is now waiting on the slow join server
        outbound.process.send_signal(signal.SIGTERM)
        answer = client.getresponse()
        body = json.loads(answer.read())
        assert answer.status == 200 and body["Result"]["ResultCode"] == "Success"
        assert answer.getheader("Connection") == "close", answer.getheaders()
        assert outbound.stop(timeout=20) == 0
        client.close()


def test_readyz_reports_an_unreachable_backend(lab):
    inbound = Sidecar(inbound_config(lab, free_port(), [lab.NAME_NS_A]), name="inbound")
    try:
        status, body = inbound.admin_get("/readyz")
        assert status == 503
        assert "backend" in body
        assert inbound.admin_get("/healthz")[0] == 200
    finally:
        assert inbound.stop() == 0


def test_a_real_prometheus_scrapes_the_running_sidecars(lab, fresh_join_server, tmp_path):
    from test_prometheus_scrape import stop as stop_process, wait_for_value

    inbound = Sidecar(inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_A]), name="inbound")
    outbound = Sidecar(outbound_config(lab, lab.pki("ns-a.pem"), lab.pki("ns-a.key")), name="outbound")
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: inbound\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{inbound.admin_port}']}}]\n"
        "  - job_name: outbound\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{outbound.admin_port}']}}]\n")
    prometheus = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={tmp_path / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        for _ in range(3):
            assert post(outbound_port(outbound))[0] == 200
        url = f"http://127.0.0.1:{port}"
        assert wait_for_value(url, 'up{job="outbound"}') == 1
        # Each of the 2 workers keeps its own upstream pool: at most one handshake per worker.
        assert wait_for_value(url, 'dance_handshakes_total{job="outbound",result="ok"}') in (1, 2)
        assert wait_for_value(url, 'dance_handshakes_total{job="inbound",result="ok"}') in (1, 2)
        assert wait_for_value(url, 'dance_handshakes_total{job="inbound",result="not_allowed"}') == 0
        assert wait_for_value(url, 'dance_requests_total{job="inbound",code="200"}') == 3
        assert wait_for_value(url, 'dance_lorawan_messages_total{job="outbound",message_type="JoinReq",'
                                   'result_code="Success"}') == 3
        assert wait_for_value(url, 'dance_tlsa_lookups_total{job="inbound",result="secure",cache="miss"}') == 1
        assert wait_for_value(url, 'dance_certificate_expiry_timestamp_seconds{job="inbound"}') > time.time()
        lint = subprocess.run(["promtool", "check", "metrics"], input=inbound.metrics_text(),
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0 and lint.stdout + lint.stderr == ""
    finally:
        stop_process(prometheus)
        assert outbound.stop() == 0
        assert inbound.stop() == 0


def test_kubernetes_secret_symlink_swap_reloads_the_certificate(lab, fresh_join_server):
    # A Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/; an update writes a new
    # timestamped directory and renames a new ..data symlink over the old one.
    volume = pathlib.Path(tempfile.mkdtemp(prefix="secret-volume-"))
    first = volume / "..2026_01_01"
    first.mkdir()
    shutil.copy(lab.pki("ns-a.pem"), first / "tls.crt")
    shutil.copy(lab.pki("ns-a.key"), first / "tls.key")
    (volume / "..data").symlink_to(first.name)
    for name in ("tls.crt", "tls.key"):
        (volume / name).symlink_to(f"..data/{name}")
    # Cache both TLSA answers longer than the reload takes, so that only the reload retires the connection.
    long_cache = {"max_ttl_s": 300, "negative_ttl_s": 1}
    inbound_settings = inbound_config(lab, fresh_join_server.port, [lab.NAME_NS_A])
    inbound_settings["dns"] = dict(inbound_settings["dns"], cache=long_cache)
    inbound = Sidecar(inbound_settings, name="inbound")
    config = outbound_config(lab, volume / "tls.crt", volume / "tls.key")
    config["workers"] = 1  # one upstream pool: without the retirement the second request would reuse the first
    config["dns"] = dict(config["dns"], cache=long_cache)
    outbound = Sidecar(config, name="outbound")
    try:
        assert post(outbound_port(outbound))[0] == 200
        expiry_before = outbound.metric("dance_certificate_expiry_timestamp_seconds")
        second = volume / "..2026_01_02"
        second.mkdir()
        cert, key = make_key_pair(second, "next")  # valid 2 days: a different notAfter
        os.rename(cert, second / "tls.crt")
        os.rename(key, second / "tls.key")
        (volume / "..data_tmp").symlink_to(second.name)
        os.replace(volume / "..data_tmp", volume / "..data")
        deadline = time.monotonic() + 15
        while outbound.metric("dance_config_reloads_total", result="ok") < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert outbound.metric("dance_config_reloads_total", result="ok") == 1
        expiry_after = outbound.metric("dance_certificate_expiry_timestamp_seconds")
        assert expiry_after != expiry_before and expiry_after < time.time() + 3 * 86400
        # The pooled connection made with the old certificate is retired: the next request opens a new one
        # with the new certificate, which the inbound side refuses (no TLSA record vouches for it yet).
        status, answer = post(outbound_port(outbound))
        assert status == 502, answer
        assert inbound.metric("dance_handshakes_total", result="ok") == 1
        assert inbound.metric("dance_handshakes_total", result="tlsa_mismatch") == 1
        assert outbound.metric("dance_handshakes_total", result="peer_rejected") == 1
    finally:
        assert outbound.stop() == 0
        assert inbound.stop() == 0


def open_file_limits(pid):
    """(soft, hard) RLIMIT_NOFILE of a running process."""
    for line in pathlib.Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"no open-file limit in /proc/{pid}/limits")


def test_a_low_soft_open_file_limit_is_raised_to_the_hard_one(lab, join_server):
    # podman's and containerd 2's default: soft 1024, hard much higher. At 1024 the sidecar would refuse the
    # 1,000th connection, its admin endpoint with it.
    config = inbound_config(lab, join_server.port, [lab.NAME_NS_A], port=free_port())
    config["inbound"][0]["max_connections"] = 1000  # wants 2 x 1000 + 64 descriptors
    with Sidecar(config, name="open-files-raised", max_open_files=(256, 4096)) as sidecar:
        assert open_file_limits(sidecar.process.pid) == (4096, 4096)
        events = [e for e in sidecar.log_events() if e.get("event", "").startswith("open_file_limit")]
        assert [(e["event"], e["before"], e["now"], e["hard"], e["wanted"]) for e in events] == [
            ("open_file_limit_raised", 256, 4096, 4096, 2064)]


def test_a_hard_open_file_limit_below_what_max_connections_needs_is_warned_of(lab, join_server):
    config = inbound_config(lab, join_server.port, [lab.NAME_NS_A], port=free_port())  # max_connections 10000
    with Sidecar(config, name="open-files-low", max_open_files=(512, 512)) as sidecar:
        assert open_file_limits(sidecar.process.pid) == (512, 512)
        events = [e for e in sidecar.log_events() if e.get("event", "").startswith("open_file_limit")]
        assert [(e["event"], e["level"], e["now"], e["wanted"]) for e in events] == [
            ("open_file_limit_low", "warn", 512, 20064)]
