#!/usr/bin/python3
"""Integration test of the LoRaWAN peers: starts lorawan-join-server on loopback, drives it with
lorawan-ns-emulator (golden, v3, v4, LoRaWAN 1.1, bad MIC, unknown DevEUI, constant rate, fail modes)
and checks result codes, HTTP statuses and the recorded request headers."""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

GOLDEN_DEV_EUI = "0102030405060708"
LOAD_DEV_EUI = "0102030405060709"
LW11_DEV_EUI = "010203040506070a"
NWK_KEY = "01020304050607080102030405060708"
APP_KEY = "08070605040302010807060904030201"
GENEROUS_S = 120  # a busy 2-core machine with sanitizers is slow; bounds only catch hangs

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, file=sys.stderr)


class JoinServer:
    def __init__(self, binary, workdir, name, *extra):
        self.port_file = os.path.join(workdir, name + ".port")
        self.record = os.path.join(workdir, name + ".jsonl")
        args = [binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file, "--record", self.record,
                *extra]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.process.kill()
            raise RuntimeError(f"join server did not print ready (got {line!r})")
        with open(self.port_file) as f:
            self.url = f"http://127.0.0.1:{int(f.read())}/"

    def records(self):
        with open(self.record) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=GENEROUS_S)


def emulate(binary, url, *args):
    done = subprocess.run([binary, "--url", url, *args], capture_output=True, text=True, timeout=GENEROUS_S)
    if done.returncode == 2 or not done.stdout.strip():
        raise RuntimeError(f"ns emulator failed: {done.stderr}")
    return done.returncode, json.loads(done.stdout)


def expect_codes(name, outcome, result_codes, http_status, exit_code=0):
    rc, summary = outcome
    check(rc == exit_code, f"{name}: exit {rc}, expected {exit_code}: {summary}")
    check(summary["result_codes"] == result_codes, f"{name}: result codes {summary['result_codes']}")
    check(summary["http_status"] == http_status, f"{name}: HTTP statuses {summary['http_status']}")
    check(summary["verify_failures"] == 0, f"{name}: {summary['first_verify_failure']}")
    return summary


def check_records(records, count_by_run):
    by_run = {}
    for record in records:
        by_run.setdefault(record["headers"].get("x-run"), []).append(record)
    for run, count in count_by_run.items():
        check(len(by_run.get(run, [])) == count, f"recorded {len(by_run.get(run, []))} requests of {run}, sent {count}")
    for record in records:
        if record["method"] != "POST":
            continue
        check(record["message_type"] == "JoinReq", f"recorded MessageType {record['message_type']}")
        check(record["headers"].get("content-type") == "application/json", f"content-type in {record}")
        check("host" in record["headers"] and "content-length" in record["headers"], f"host/length in {record}")
        check(set(record) == {"method", "path", "peer", "headers", "message_type"}, f"record fields {set(record)}")
    for record in by_run.get("v3", []):
        check(record["headers"].get("user-agent") == "Go-http-client/1.1", f"v3 user-agent in {record}")
        check(record["headers"].get("accept-encoding") == "gzip", f"v3 accept-encoding in {record}")
        check(record["headers"].get("connection") == "close", f"v3 without keep-alive: {record}")
    for record in by_run.get("v4", []):
        check(record["headers"].get("accept") == "*/*", f"v4 accept in {record}")
        check("user-agent" not in record["headers"], f"v4 user-agent in {record}")
    v3_peers = {r["peer"] for r in by_run.get("v3", [])}
    v4_peers = {r["peer"] for r in by_run.get("v4", [])}
    check(len(v3_peers) == count_by_run["v3"], f"v3 (one connection per request) used {len(v3_peers)} connections")
    check(1 <= len(v4_peers) <= 4, f"v4 --keepalive --concurrency 4 used {len(v4_peers)} connections")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--join-server", required=True)
    parser.add_argument("--ns-emulator", required=True)
    args = parser.parse_args()
    emulator = args.ns_emulator

    with tempfile.TemporaryDirectory(prefix="lorawan-peers-") as workdir:
        config = os.path.join(workdir, "devices.json")
        with open(config, "w") as f:
            json.dump({"devices": [
                {"dev_eui": GOLDEN_DEV_EUI, "nwk_key": NWK_KEY, "join_nonce": 65535},
                {"dev_eui": LOAD_DEV_EUI, "nwk_key": NWK_KEY},
                {"dev_eui": LW11_DEV_EUI, "nwk_key": NWK_KEY, "app_key": APP_KEY, "mac_version": "1.1.0"},
            ]}, f)
        server = JoinServer(args.join_server, workdir, "js", "--config", config)
        try:
            with urllib.request.urlopen(server.url + "health", timeout=GENEROUS_S) as health:
                check(health.status == 200, f"/health answered {health.status}")

            golden = expect_codes("golden", emulate(emulator, server.url, "--golden"), {"Success": 1}, {"200": 1})
            check(golden.get("golden_match") is True, "golden JoinAns differs from lorawan-vectors.md")

            load = ["--dev-eui", LOAD_DEV_EUI, "--count", "40", "--concurrency", "4"]
            expect_codes("v3", emulate(emulator, server.url, "--shape", "v3", *load, "--header", "X-Run: v3"),
                         {"Success": 40}, {"200": 40})
            expect_codes("v4", emulate(emulator, server.url, "--shape", "v4", *load, "--keepalive",
                                       "--header", "X-Run: v4"), {"Success": 40}, {"200": 40})
            expect_codes("v4 LoRaWAN 1.1", emulate(emulator, server.url, "--shape", "v4", "--dev-eui", LW11_DEV_EUI,
                                                   "--mac-version", "1.1.0", "--app-key", APP_KEY, "--count", "5",
                                                   "--header", "X-Run: lw11"), {"Success": 5}, {"200": 5})
            expect_codes("bad MIC", emulate(emulator, server.url, "--dev-eui", LOAD_DEV_EUI, "--bad-mic",
                                            "--count", "3", "--header", "X-Run: bad-mic"),
                         {"MICFailed": 3}, {"200": 3})
            expect_codes("unknown DevEUI", emulate(emulator, server.url, "--dev-eui", "ffffffffffffffff",
                                                   "--count", "2", "--header", "X-Run: unknown"),
                         {"UnknownDevEUI": 2}, {"400": 2})
            rate = expect_codes("constant rate", emulate(emulator, server.url, "--dev-eui", LOAD_DEV_EUI, "--rate",
                                                         "100", "--count", "50", "--keepalive", "--concurrency", "8",
                                                         "--header", "X-Run: rate"), {"Success": 50}, {"200": 50})
            check(rate["duration_s"] >= 0.45, f"50 requests at 100/s took {rate['duration_s']} s")
            # Someone else's DevNonce answer must not pass as ours: the emulator checks the JoinAccept.
            check(emulate(emulator, server.url, "--dev-eui", LOAD_DEV_EUI, "--nwk-key", APP_KEY)[1]["result_codes"]
                  == {"MICFailed": 1}, "a JoinReq signed with the wrong key was accepted")

            check_records(server.records(), {"v3": 40, "v4": 40, "lw11": 5, "bad-mic": 3, "unknown": 2, "rate": 50})
            recorded_text = open(server.record).read()
            check(NWK_KEY not in recorded_text and "PHYPayload" not in recorded_text, "record holds body content")
        finally:
            check(server.stop() == 0, "join server did not exit cleanly")

        late = JoinServer(args.join_server, workdir, "late", "--config", config, "--delay-ms", "1500")
        try:
            _, timed_out = emulate(emulator, late.url, "--dev-eui", LOAD_DEV_EUI, "--count", "2", "--timeout-ms", "300")
            check(timed_out["errors"] == {"timeout": 2}, f"--delay-ms 1500 vs 300 ms timeout: {timed_out['errors']}")
            waited = expect_codes("late answer", emulate(emulator, late.url, "--dev-eui", LOAD_DEV_EUI, "--count", "2",
                                                         "--concurrency", "2", "--timeout-ms", "30000"),
                                  {"Success": 2}, {"200": 2})
            check(waited["latency_ms"]["p50"] >= 1400, f"--delay-ms 1500 answered after {waited['latency_ms']}")
        finally:
            check(late.stop() == 0, "delaying join server did not exit cleanly")

        closing = JoinServer(args.join_server, workdir, "closing", "--config", config, "--close")
        try:
            rc, closed = emulate(emulator, closing.url, "--dev-eui", LOAD_DEV_EUI, "--count", "3", "--keepalive")
            check(rc == 1 and closed["errors"] == {"eof": 3} and closed["answered"] == 0, f"--close: {closed}")
            check(len(closing.records()) == 3, "--close server did not record the requests it dropped")
        finally:
            check(closing.stop() == 0, "closing join server did not exit cleanly")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("lorawan peers: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
