"""A real Prometheus scrapes the admin endpoint; promtool lints the exposition.

Needs Debian's `prometheus` package (prometheus, promtool). The program under test is named by
DANCE_METRICS_FIXTURE: it must print "listening <port>" once its admin endpoint is up, with the metric
events of tests/integration/metrics_fixture.cpp already recorded.
"""
import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

DEADLINE_S = 120  # generous: a busy 2-core machine with sanitizer builds


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.status, dict(reply.headers), reply.read().decode()


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def fixture_port():
    binary = os.environ.get("DANCE_METRICS_FIXTURE")
    assert binary and os.access(binary, os.X_OK), "DANCE_METRICS_FIXTURE must name the fixture binary"
    process = subprocess.Popen([binary, "127.0.0.1", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("listening "), f"fixture said {line!r}"
        yield int(line.split()[1])
        assert process.poll() is None, "fixture died during the test"
    finally:
        stop(process)
    assert process.returncode == 0, f"fixture exited with {process.returncode}"


@pytest.fixture
def prometheus(tmp_path, fixture_port):
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: dance\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{fixture_port}']\n"
    )
    log = open(tmp_path / "prometheus.log", "w")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        yield f"http://127.0.0.1:{port}"
        assert process.poll() is None, "prometheus died: " + (tmp_path / "prometheus.log").read_text()
    finally:
        stop(process)
        log.close()


def query(prometheus_url, expression):
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    _, _, body = http_get(url)
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    return {json.dumps(sample["metric"], sort_keys=True): float(sample["value"][1])
            for sample in answer["data"]["result"]}


def wait_for_value(prometheus_url, expression):
    """The single value of `expression` once Prometheus has scraped it."""
    deadline = time.monotonic() + DEADLINE_S
    last_error = None
    while time.monotonic() < deadline:
        try:
            samples = query(prometheus_url, expression)
            if samples:
                assert len(samples) == 1, samples
                return next(iter(samples.values()))
        except (OSError, ValueError) as error:  # prometheus still starting
            last_error = error
        time.sleep(0.5)
    pytest.fail(f"{expression} never appeared within {DEADLINE_S}s (last error: {last_error})")


def test_prometheus_scrapes_every_series(prometheus):
    assert wait_for_value(prometheus, 'up{job="dance"}') == 1
    expected = {
        'dance_handshakes_total{listener="ns-in",direction="inbound",result="ok"}': 3,
        'dance_handshakes_total{listener="ns-in",direction="inbound",result="not_allowed"}': 1,
        'dance_handshakes_total{listener="ns-in",direction="inbound",result="dns_bogus"}': 0,
        'dance_handshakes_total{listener="js-out",direction="outbound",result="peer_rejected"}': 1,
        'dance_handshakes_total{listener="js-out",direction="outbound",result="connect_failed"}': 0,
        'dance_handshake_duration_seconds_count{listener="ns-in",direction="inbound"}': 4,
        'dance_handshake_duration_seconds_bucket{listener="ns-in",direction="inbound",le="0.001"}': 1,
        'dance_connections_active{listener="ns-in",direction="inbound"}': 2,
        'dance_connections_rejected_total{listener="ns-in",direction="inbound",reason="max_connections"}': 1,
        'dance_requests_total{listener="ns-in",direction="inbound",code="200"}': 2,
        'dance_requests_total{listener="js-out",direction="outbound",code="502"}': 0,  # exists before the first one
        'dance_request_duration_seconds_count{listener="js-out",direction="outbound"}': 1,
        'dance_lorawan_messages_total{listener="ns-in",message_type="JoinAns",result_code="Success"}': 1,
        'dance_lorawan_messages_total{listener="ns-in",message_type="JoinReq",result_code="none"}': 1,
        'dance_certificate_expiry_timestamp_seconds{listener="ns-in"}': 1893456000,
        'dance_pending_dns_handshakes{listener="ns-in"}': 1,
        'dance_tlsa_lookups_total{result="secure",cache="miss"}': 1,
        'dance_tlsa_lookups_total{result="secure",cache="hit"}': 1,
        'dance_tlsa_lookups_total{result="bogus",cache="miss"}': 1,
        'dance_tlsa_lookups_total{result="nxdomain",cache="miss"}': 0,
        'dance_tlsa_lookup_duration_seconds_count': 3,
        'dance_tlsa_cache_entries': 1,
        'dance_config_reloads_total{result="ok"}': 1,
        'dance_config_reloads_total{result="error"}': 0,
    }
    for expression, value in expected.items():
        assert wait_for_value(prometheus, expression) == value, expression
    build_info = query(prometheus, 'dance_build_info{job="dance"}')
    assert list(build_info.values()) == [1]
    assert '"version":' in next(iter(build_info))
    # PromQL over the histogram works: a quantile is a number inside the bucket range.
    p99 = wait_for_value(prometheus, 'histogram_quantile(0.99, sum by (le) '
                                     '(dance_handshake_duration_seconds_bucket{listener="ns-in"}))')
    assert 0 < p99 <= 0.005


def test_exposition_passes_promtool_lint(fixture_port):
    status, headers, body = http_get(f"http://127.0.0.1:{fixture_port}/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0 and lint.stdout == "" and lint.stderr == "", lint.stdout + lint.stderr


def test_health_and_readiness(fixture_port):
    assert http_get(f"http://127.0.0.1:{fixture_port}/healthz")[2] == "ok\n"
    status, headers, body = http_get(f"http://127.0.0.1:{fixture_port}/readyz")
    assert status == 200 and json.loads(body) == {"status": "ready"}
