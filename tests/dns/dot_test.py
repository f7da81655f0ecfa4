"""DNS over TLS to the validating resolver (dns.transport: tls), end to end through `dance-sidecar`.

A DNS lab with `--dot` (unbound also serves DoT, certificate for DOT_AUTH_NAME from the lab's DoT CA)
runs for the module. Each test writes a config, runs `dance-sidecar resolve -c` (or `check -c`) and
reads unbound's statistics: the query counters show what reached unbound and over which transport.
DANCE_SIDECAR names the binary (CTest sets it).
"""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

LAB_SH = pathlib.Path(__file__).resolve().parent.parent / "dnslab" / "lab.sh"
TIMEOUT_MS = 3000  # generous: two cores shared by several builds


@pytest.fixture(scope="module")
def lab():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="dance-dot-lab-"))
    try:
        subprocess.run([str(LAB_SH), "start", str(directory / "lab"), "--dot"], check=True,
                       capture_output=True, text=True, timeout=120)
        yield json.loads((directory / "lab" / "lab.json").read_text())
    finally:
        subprocess.run([str(LAB_SH), "stop", str(directory / "lab")], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def sidecar():
    path = os.environ.get("DANCE_SIDECAR")
    if not path:
        pytest.fail("DANCE_SIDECAR is not set: run this test through CTest (dns_dot)")
    return path


@pytest.fixture
def work():
    with tempfile.TemporaryDirectory(prefix="dance-dot-test-") as directory:
        yield pathlib.Path(directory)


def unbound_counters(lab):
    output = subprocess.run(lab["UNBOUND_STATS_CMD"].split(), capture_output=True, text=True, check=True,
                            timeout=60).stdout
    counters = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    queries = int(counters["total.num.queries"])
    tcp = int(counters["num.query.tcp"])  # TCP, TLS included
    return {"udp": queries - tcp, "tls": int(counters["num.query.tls"]), "all": queries}


def write_config(work, lab, dns_lines):
    dns = "\n".join("  " + line for line in dns_lines)
    config = work / "sidecar.yaml"
    config.write_text(f"""dns:
{dns}
  timeout_ms: {TIMEOUT_MS}
inbound:
  - name: join-server
    listen: "127.0.0.1:18003"
    backend: "127.0.0.1:18080"
    tls: {{cert: {lab["PKI_DIR"]}/js.pem, key: {lab["PKI_DIR"]}/js.key}}
    client_auth: {{mode: require, allow: ["*.{lab["LAB_ZONE"]}"]}}
""")
    return config


def dot_config(work, lab, mode="trust-ad", auth_name=None, ca_line=None):
    lines = [f"mode: {mode}",
             f'resolvers: ["127.0.0.1:{lab["UNBOUND_DOT_PORT"]}"]',  # the DoT port only
             "transport: tls",
             f"tls_auth_name: {auth_name or lab['DOT_AUTH_NAME']}"]
    if ca_line is not None:
        lines.append(ca_line)
    if mode == "validate":
        lines.append(f"trust_anchors: {lab['TRUST_ANCHOR_FILE']}")
    return write_config(work, lab, lines)


def with_lab_ca(work, lab):
    """The lab's DoT CA next to the config, named relative to it: paths resolve from the config's directory."""
    shutil.copy(lab["DOT_CA_FILE"], work / "dot-ca.pem")
    return "tls_ca_file: dot-ca.pem"


def resolve(sidecar, config, *names):
    result = subprocess.run([sidecar, "resolve", "-c", str(config), *names], capture_output=True, text=True,
                            timeout=120)
    lines = {line["name"]: line for line in map(json.loads, result.stdout.splitlines()) if line}
    return result.returncode, lines, result.stderr


def test_trust_ad_over_dot_secure_and_bogus_and_no_plaintext(lab, sidecar, work):
    config = dot_config(work, lab, ca_line=with_lab_ca(work, lab))
    before = unbound_counters(lab)

    rc, lines, stderr = resolve(sidecar, config, lab["NAME_NS_A"])
    assert rc == 0, (lines, stderr)
    secure = lines[lab["NAME_NS_A"]]
    assert secure["status"] == "secure", secure
    assert [r.lower() for r in secure["records"]] == [lab["TLSA_NS_A"].lower()]

    rc, lines, stderr = resolve(sidecar, config, lab["NAME_NS_A"], lab["NAME_BOGUS_SIG"])
    assert rc == 1, (lines, stderr)
    assert lines[lab["NAME_NS_A"]]["status"] == "secure", lines
    assert lines[lab["NAME_BOGUS_SIG"]]["status"] == "bogus", lines

    after = unbound_counters(lab)
    assert after["tls"] - before["tls"] >= 3, (before, after)
    assert after["udp"] == before["udp"], f"plaintext UDP queries reached unbound: {before} -> {after}"
    assert after["all"] - before["all"] == after["tls"] - before["tls"], "a query arrived over plain TCP"


def test_validate_over_dot_is_secure(lab, sidecar, work):
    config = dot_config(work, lab, mode="validate", ca_line=with_lab_ca(work, lab))
    before = unbound_counters(lab)
    rc, lines, stderr = resolve(sidecar, config, lab["NAME_NS_A"], lab["NAME_EXPIRED"])
    assert rc == 1, (lines, stderr)
    assert lines[lab["NAME_NS_A"]]["status"] == "secure", lines
    assert lines[lab["NAME_EXPIRED"]]["status"] == "bogus", lines
    after = unbound_counters(lab)
    assert after["udp"] == before["udp"] and after["tls"] > before["tls"], (before, after)


@pytest.mark.parametrize("case", ["wrong auth name", "CA that did not sign the resolver", "system store"])
def test_unauthenticated_resolver_fails_closed(lab, sidecar, work, case):
    if case == "wrong auth name":
        config = dot_config(work, lab, auth_name=f"other-resolver.{lab['LAB_ZONE']}", ca_line=with_lab_ca(work, lab))
    elif case == "CA that did not sign the resolver":
        config = dot_config(work, lab, ca_line=f"tls_ca_file: {lab['PKI_DIR']}/org-ca.pem")
    else:
        config = dot_config(work, lab)  # the lab's CA is in no system store
    before = unbound_counters(lab)
    rc, lines, stderr = resolve(sidecar, config, lab["NAME_NS_A"], lab["NAME_BOGUS_SIG"])
    assert rc == 1, (lines, stderr)
    for name in (lab["NAME_NS_A"], lab["NAME_BOGUS_SIG"]):
        assert lines[name]["status"] in ("error", "timeout"), lines
        assert lines[name]["records"] == [], lines
    after = unbound_counters(lab)
    assert after == before, f"a query reached unbound over an unauthenticated connection: {before} -> {after}"


def check(sidecar, config):
    result = subprocess.run([sidecar, "check", "-c", str(config)], capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def test_check_accepts_a_dot_config(lab, sidecar, work):
    rc, output = check(sidecar, dot_config(work, lab, ca_line=with_lab_ca(work, lab)))
    assert rc == 0, output
    assert "over tls to" in output, output


@pytest.mark.parametrize("case", ["udp", "missing", "not pem", "directory"])
def test_check_reports_a_bad_tls_ca_file_where_it_is(lab, sidecar, work, case):
    (work / "notes.txt").write_text("not a certificate\n")
    ca_line, expected = {
        "udp": (f"tls_ca_file: {lab['DOT_CA_FILE']}", "tls_ca_file is only used with transport: tls"),
        "missing": ("tls_ca_file: missing-ca.pem", "missing-ca.pem"),
        "not pem": ("tls_ca_file: notes.txt", "notes.txt"),
        "directory": (f"tls_ca_file: {work}", "Is a directory"),
    }[case]
    if case == "udp":
        config = write_config(work, lab, ["mode: trust-ad", f'resolvers: ["127.0.0.1:{lab["UNBOUND_PORT"]}"]',
                                          "transport: udp", ca_line])
    else:
        config = dot_config(work, lab, ca_line=ca_line)
    line_number = config.read_text().splitlines().index("  " + ca_line) + 1
    rc, output = check(sidecar, config)
    assert rc == 2, output
    assert f"{config.name}:{line_number}:" in output and "dns.tls_ca_file" in output, output
    assert expected in output, output
