"""Checks the DNSSEC lab itself: validation outcomes, set-tlsa, PKI, bursts, parallel labs, netns, cleanup."""
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from lab import LAB_SH, DnsLab  # noqa: E402

SECURE_NAMES = {  # env key of the name -> env key of its expected TLSA rdata (None: several records)
    "NAME_NS_A": "TLSA_NS_A", "NAME_C301": "TLSA_NS_A_301", "NAME_C312": "TLSA_NS_A_312",
    "NAME_NS_B": "TLSA_NS_B", "NAME_DEVICE": "TLSA_DEVICE", "NAME_DEVICE_B": "TLSA_DEVICE_B",
    "NAME_NOSAN": "TLSA_DEVICE", "NAME_RSA": "TLSA_RSA", "NAME_MISMATCH": "TLSA_OTHER",
    "NAME_CHANGING": "TLSA_NS_A", "NAME_JS_TLSA": "TLSA_JS", "NAME_JS_WRONG_TLSA": "TLSA_OTHER",
    "NAME_PKIX_EE": "TLSA_PKIX_EE", "NAME_PKIX_TA": "TLSA_PKIX_TA", "NAME_PKIX_UNTRUSTED": "TLSA_PKIX_UNTRUSTED",
}
BOGUS_NAMES = ["NAME_BOGUS_RDATA", "NAME_BOGUS_SIG", "NAME_EXPIRED"]
FED_PORT = 4443  # LAB_FED_PORT: the federation servers' TLSA at _4443._tcp
FED_SECURE_ADDRESSES = {  # ReceiverID name -> (address key, CNAME target key or None)
    "NAME_FED_JS1": ("FED_ADDR_JS1", None), "NAME_FED_JS2": ("FED_ADDR_JS2", "NAME_FED_JS2_TARGET"),
    "NAME_FED_HNS": ("FED_ADDR_HNS", None),
}
FED_TLSA_OWNERS = ["NAME_FED_JS1", "NAME_FED_JS2_TARGET", "NAME_FED_HNS", "NAME_FED_INSECURE", "NAME_FED_BOGUS"]


class Reply:
    def __init__(self, drill_output):
        self.rcode = drill_output.split("rcode: ", 1)[1].split(",", 1)[0]
        self.flags = drill_output.split(";; flags: ", 1)[1].split(";", 1)[0].split()
        self.records = []
        section = None
        for line in drill_output.splitlines():
            if line.startswith(";; ") and line.endswith(" SECTION:"):
                section = line[3:-9]
            elif section == "ANSWER" and line and not line.startswith(";"):
                self.records.append(line.split())

    def rdata(self, rtype):
        return sorted(" ".join(r[4:]).lower() for r in self.records if r[3] == rtype)


def ask(port, name, rtype="TLSA", *options):
    output = subprocess.run(["drill", "-D", *options, "-p", str(port), name, rtype, "@127.0.0.1"],
                            capture_output=True, text=True, timeout=60).stdout
    return Reply(output)


def lab_processes(directory):
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(directory) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def wait_for_no_processes(directory):
    for _ in range(200):  # generous: up to 20 s on a busy machine
        if not lab_processes(directory):
            return []
        time.sleep(0.1)
    return lab_processes(directory)


@pytest.fixture(scope="module")
def lab():
    started = time.monotonic()
    with DnsLab(fed_port=FED_PORT) as running:
        print(f"lab started in {time.monotonic() - started:.2f} s")
        yield running


@pytest.mark.parametrize("name_key,tlsa_key", SECURE_NAMES.items())
def test_secure_names_validate_with_expected_rdata(lab, name_key, tlsa_key):
    reply = ask(lab.UNBOUND_PORT, lab.env[name_key])
    assert reply.rcode == "NOERROR"
    assert "ad" in reply.flags
    assert reply.rdata("TLSA") == [lab.env[tlsa_key]]


def test_stale_set_holds_old_and_current_record(lab):
    reply = ask(lab.UNBOUND_PORT, lab.NAME_STALE)
    assert "ad" in reply.flags
    assert reply.rdata("TLSA") == sorted([lab.TLSA_OTHER, lab.TLSA_NS_A])


def test_join_server_address_is_secure(lab):
    reply = ask(lab.UNBOUND_PORT, lab.NAME_JS, "A")
    assert "ad" in reply.flags and reply.rdata("A") == ["127.0.0.1"]


@pytest.mark.parametrize("name_key", BOGUS_NAMES)
def test_bogus_names_fail_validation_but_exist(lab, name_key):
    assert ask(lab.UNBOUND_PORT, lab.env[name_key]).rcode == "SERVFAIL"
    unchecked = ask(lab.UNBOUND_PORT, lab.env[name_key], "TLSA", "-o", "CD")
    assert unchecked.rcode == "NOERROR" and len(unchecked.rdata("TLSA")) == 1


def test_insecure_name_answers_without_ad(lab):
    reply = ask(lab.UNBOUND_PORT, lab.NAME_INSECURE)
    assert reply.rcode == "NOERROR"
    assert "ad" not in reply.flags
    assert reply.rdata("TLSA") == [lab.TLSA_NS_A]


def test_nxdomain_and_nodata_are_proven(lab):
    nxdomain = ask(lab.UNBOUND_PORT, lab.NAME_NXDOMAIN)
    assert nxdomain.rcode == "NXDOMAIN" and "ad" in nxdomain.flags
    nodata = ask(lab.UNBOUND_PORT, lab.NAME_NODATA)
    assert nodata.rcode == "NOERROR" and "ad" in nodata.flags and nodata.records == []


def ts002_join_eui_name(join_eui, suffix):
    return ".".join(reversed(join_eui.lower())) + "." + suffix


def test_federation_names_are_the_ts002_names_of_their_receiver_ids(lab):
    for key in ("JS1", "JS2", "INSECURE", "BOGUS", "NXDOMAIN", "NODATA"):
        assert lab.env[f"NAME_FED_{key}"] == ts002_join_eui_name(lab.env[f"FED_JOIN_EUI_{key}"],
                                                                  lab.FED_JOIN_EUI_SUFFIX)
    assert lab.NAME_FED_JS1 == f"1.0.2.0.3.0.4.0.5.0.6.0.7.0.8.0.joineuis.{lab.LAB_ZONE}"
    assert lab.NAME_FED_HNS == f"00050a.netids.{lab.LAB_ZONE}"
    assert lab.NAME_FED_JS2_TARGET.endswith("." + lab.FED_ZONE) and lab.FED_ZONE != lab.LAB_ZONE


@pytest.mark.parametrize("name_key,expected", FED_SECURE_ADDRESSES.items())
def test_federation_names_have_secure_addresses(lab, name_key, expected):
    address_key, target_key = expected
    reply = ask(lab.UNBOUND_PORT, lab.env[name_key], "A")
    assert reply.rcode == "NOERROR" and "ad" in reply.flags
    assert reply.rdata("A") == [lab.env[address_key]]
    assert reply.rdata("CNAME") == ([lab.env[target_key] + "."] if target_key else [])


@pytest.mark.parametrize("owner_key", FED_TLSA_OWNERS)
def test_federation_servers_have_secure_tlsa_at_the_test_port(lab, owner_key):
    reply = ask(lab.UNBOUND_PORT, f"_{FED_PORT}._tcp.{lab.env[owner_key]}")
    assert reply.rcode == "NOERROR" and "ad" in reply.flags
    assert reply.rdata("TLSA") == [lab.TLSA_JS]


def test_federation_cname_owner_has_no_tlsa_of_its_own(lab):
    # RFC 7671 §7: JS2's TLSA is at the CNAME target; the original name's is securely absent.
    reply = ask(lab.UNBOUND_PORT, f"_{FED_PORT}._tcp.{lab.NAME_FED_JS2}")
    assert reply.rcode == "NXDOMAIN" and "ad" in reply.flags


def test_federation_name_into_the_unsigned_child_is_insecure(lab):
    reply = ask(lab.UNBOUND_PORT, lab.NAME_FED_INSECURE, "A")
    assert reply.rcode == "NOERROR" and "ad" not in reply.flags
    assert reply.rdata("CNAME") == [lab.NAME_FED_INSECURE_TARGET + "."]
    assert reply.rdata("A") == [lab.FED_ADDR_JS1]


def test_federation_bogus_address_fails_validation_but_exists(lab):
    assert ask(lab.UNBOUND_PORT, lab.NAME_FED_BOGUS, "A").rcode == "SERVFAIL"
    unchecked = ask(lab.UNBOUND_PORT, lab.NAME_FED_BOGUS, "A", "-o", "CD")
    assert unchecked.rcode == "NOERROR" and unchecked.rdata("A") == [lab.FED_ADDR_JS1]


def test_federation_missing_receivers_are_proven_absent(lab):
    nxdomain = ask(lab.UNBOUND_PORT, lab.NAME_FED_NXDOMAIN, "A")
    assert nxdomain.rcode == "NXDOMAIN" and "ad" in nxdomain.flags
    nodata = ask(lab.UNBOUND_PORT, lab.NAME_FED_NODATA, "A")
    assert nodata.rcode == "NOERROR" and "ad" in nodata.flags and nodata.records == []
    assert "ad" in ask(lab.UNBOUND_PORT, lab.NAME_FED_NODATA, "TXT").flags


def test_set_tlsa_writes_in_the_second_signed_zone(lab):
    owner = f"_8443._tcp.{lab.NAME_FED_JS2_TARGET}"
    lab.set_tlsa(owner, lab.TLSA_OTHER)
    reply = ask(lab.UNBOUND_PORT, owner)
    assert "ad" in reply.flags and reply.rdata("TLSA") == [lab.TLSA_OTHER]
    lab.set_tlsa(owner, "")
    assert ask(lab.UNBOUND_PORT, owner).rcode == "NXDOMAIN"
    assert ask(lab.UNBOUND_PORT, lab.NAME_FED_BOGUS, "A").rcode == "SERVFAIL"  # still bogus after re-signing


def test_refused_name_gets_a_resolver_error(lab):
    assert ask(lab.UNBOUND_PORT, lab.NAME_REFUSED).rcode == "REFUSED"


def test_set_tlsa_changes_the_answer(lab):
    lab.set_tlsa(lab.NAME_CHANGING, lab.TLSA_NS_B)
    changed = ask(lab.UNBOUND_PORT, lab.NAME_CHANGING)
    assert "ad" in changed.flags and changed.rdata("TLSA") == [lab.TLSA_NS_B]
    assert changed.records[0][1] == "2"  # the TTL is kept
    lab.set_tlsa(lab.NAME_CHANGING, f"{lab.TLSA_NS_A}; {lab.TLSA_ROGUE}", 60)
    both = ask(lab.UNBOUND_PORT, lab.NAME_CHANGING)
    assert both.rdata("TLSA") == sorted([lab.TLSA_NS_A, lab.TLSA_ROGUE])
    lab.set_tlsa(lab.NAME_CHANGING, lab.TLSA_NS_A, 2)
    assert ask(lab.UNBOUND_PORT, lab.NAME_CHANGING).rdata("TLSA") == [lab.TLSA_NS_A]
    assert ask(lab.UNBOUND_PORT, lab.NAME_BOGUS_SIG).rcode == "SERVFAIL"  # re-signing keeps the bogus names


def test_set_tlsa_adds_and_deletes_names(lab):
    name = f"added.{lab.LAB_ZONE}"
    lab.set_tlsa(name, lab.TLSA_RSA)
    assert ask(lab.UNBOUND_PORT, name).rdata("TLSA") == [lab.TLSA_RSA]
    lab.set_tlsa(name, "")
    assert ask(lab.UNBOUND_PORT, name).rcode == "NXDOMAIN"


def test_unbound_counts_queries(lab):
    before = lab.unbound_query_count()
    ask(lab.UNBOUND_PORT, lab.NAME_NS_A)
    assert lab.unbound_query_count() == before + 1


def dns_query(qid, name):
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", 52, 1)


def burst(port, names):
    """Sends every query at once, then collects replies; returns the ids that got none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for qid, name in enumerate(names):
            sock.sendto(dns_query(qid, name), ("127.0.0.1", port))
        missing = set(range(len(names)))
        sock.settimeout(20)
        try:
            while missing:
                missing.discard(struct.unpack("!H", sock.recv(4096)[:2])[0])
        except socket.timeout:
            pass
        return missing


@pytest.mark.parametrize("server", ["NSD_PORT", "UNBOUND_PORT"])
def test_hundred_parallel_queries_all_answered(lab, server):
    names = [f"burst{i}.{lab.LAB_ZONE}" if i % 2 else lab.NAME_NS_A for i in range(100)]
    assert burst(lab.env[server], names) == set()


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def test_pki_relations(lab):
    ca = str(lab.pki("org-ca.pem"))
    assert openssl("verify", "-CAfile", ca, str(lab.pki("device.pem"))).returncode == 0
    assert openssl("verify", "-CAfile", ca, str(lab.pki("ns-a.pem"))).returncode != 0
    device = openssl("x509", "-in", str(lab.pki("device.pem")), "-noout", "-ext", "subjectAltName").stdout
    assert f"DNS:{lab.NAME_DEVICE}" in device and f"DNS:{lab.NAME_DEVICE_B}" in device
    nosan = openssl("x509", "-in", str(lab.pki("device-nosan.pem")), "-noout", "-ext", "subjectAltName").stdout
    assert lab.NAME_NOSAN not in nosan
    assert "rsaEncryption" in openssl("x509", "-in", str(lab.pki("rsa.pem")), "-noout", "-text").stdout


def test_tlsa_values_match_openssl(lab):
    spki = subprocess.run(f"openssl x509 -in {lab.pki('ns-a.pem')} -noout -pubkey | openssl pkey -pubin "
                          "-outform DER | openssl dgst -sha256 -r", shell=True, capture_output=True, text=True)
    assert lab.TLSA_NS_A == "3 1 1 " + spki.stdout.split()[0]
    cert = subprocess.run(f"openssl x509 -in {lab.pki('org-ca.pem')} -outform DER | openssl dgst -sha256 -r",
                          shell=True, capture_output=True, text=True)
    assert lab.TLSA_DEVICE == "2 0 1 " + cert.stdout.split()[0]


def test_trust_anchor_file_is_one_rr_per_line(lab):
    lines = pathlib.Path(lab.TRUST_ANCHOR_FILE).read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith(". 3600 IN DNSKEY 257 3 13 ") and ";" not in lines[0]
    assert pathlib.Path(lab.TRUST_ANCHOR_DS_FILE).read_text().startswith(". 3600 IN DS ")


def test_two_labs_run_at_once_and_stop_cleanly(lab):
    with DnsLab() as second:
        directory = second.dir
        ports = {second.NSD_PORT, second.UNBOUND_PORT, second.UNBOUND_CONTROL_PORT}
        assert not ports & {lab.NSD_PORT, lab.UNBOUND_PORT, lab.UNBOUND_CONTROL_PORT}
        assert "ad" in ask(second.UNBOUND_PORT, second.NAME_NS_A).flags
        assert lab_processes(directory)
        subprocess.run([str(LAB_SH), "stop", str(directory)], check=True)
        assert wait_for_no_processes(directory) == []
        subprocess.run([str(LAB_SH), "stop", str(directory)], check=True)  # idempotent
    assert "ad" in ask(lab.UNBOUND_PORT, lab.NAME_NS_A).flags  # the first lab was not touched


def test_start_on_busy_ports_fails_and_leaves_nothing(lab):
    directory = pathlib.Path(tempfile.mkdtemp(prefix="dnslab-busy-"))
    try:
        environment = dict(os.environ, LAB_BASE_PORT=str(lab.NSD_PORT))  # the first lab answers there
        result = subprocess.run([str(LAB_SH), "start", str(directory)], env=environment, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode != 0 and "did not start" in result.stderr
        assert wait_for_no_processes(directory) == []
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert "ad" in ask(lab.UNBOUND_PORT, lab.NAME_NS_A).flags


def test_start_refuses_a_used_directory(lab):
    result = subprocess.run([str(LAB_SH), "start", str(lab.dir)], capture_output=True, text=True)
    assert result.returncode != 0 and "already holds a lab" in result.stderr


def test_set_tlsa_rejects_bad_input(lab):
    for owner, rdata in [("elsewhere.example.org", lab.TLSA_NS_A), (lab.NAME_CHANGING, "3 1 1 xyz")]:
        result = subprocess.run([str(LAB_SH), "set-tlsa", str(lab.dir), owner, rdata], capture_output=True)
        assert result.returncode != 0
    assert ask(lab.UNBOUND_PORT, lab.NAME_CHANGING).rdata("TLSA") == [lab.TLSA_NS_A]


def netns_unavailable():
    """Why lab.sh exec-netns cannot work here ("" if it can)."""
    check = subprocess.run([str(LAB_SH), "netns-check"], capture_output=True, text=True)
    return "" if check.returncode == 0 else check.stdout.strip() or check.stderr.strip() or "netns-check failed"


NETNS_CHECK = r"""
set -e
test "$LAB_ZONE" = example.lab && test "$NSD_PORT" = 53 && test "$ROOT_SERVERS" = 127.0.0.1
drill -D -p 53 . SOA @127.0.0.1 | grep -q 'rcode: NOERROR'
drill -D -p "$UNBOUND_PORT" "$NAME_NS_A" TLSA @127.0.0.1 | grep -q 'flags: qr rd ra ad'
drill -D -p "$UNBOUND_PORT" "$NAME_EXPIRED" TLSA @127.0.0.1 | grep -q 'rcode: SERVFAIL'
drill -D -p "$UNBOUND_PORT" "$NAME_FED_JS2" A @127.0.0.1 | grep -q 'flags: qr rd ra ad'
drill -D -p "$UNBOUND_PORT" "$NAME_FED_JS2" A @127.0.0.1 | grep -q "$FED_ADDR_JS2"
drill -D -p "$UNBOUND_PORT" "$NAME_FED_BOGUS" A @127.0.0.1 | grep -q 'rcode: SERVFAIL'
echo netns-ok
"""


NETNS_UNAVAILABLE = netns_unavailable()


@pytest.mark.skipif(bool(NETNS_UNAVAILABLE), reason=f"no private network namespace: {NETNS_UNAVAILABLE}")
def test_netns_mode_serves_lab_tld_on_port_53():
    directory = pathlib.Path(tempfile.mkdtemp(prefix="dnslab-netns-"))
    try:
        result = subprocess.run([str(LAB_SH), "exec-netns", str(directory), "--", "bash", "-c", NETNS_CHECK],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "netns-ok" in result.stdout
        assert wait_for_no_processes(directory) == []
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_netns_flag_is_refused_outside_a_namespace():
    if subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout.count("\n") <= 1:
        pytest.skip("this namespace has only a loopback interface")
    directory = pathlib.Path(tempfile.mkdtemp(prefix="dnslab-refuse-"))
    try:
        result = subprocess.run([str(LAB_SH), "start", str(directory), "--netns"], capture_output=True, text=True)
        assert result.returncode != 0 and "private network namespace" in result.stderr
        assert lab_processes(directory) == []
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_stop_leaves_no_process_behind():
    with DnsLab() as short_lived:
        directory = short_lived.dir
        short_lived.set_tlsa(short_lived.NAME_CHANGING, short_lived.TLSA_NS_B)  # reload forks new workers
        assert lab_processes(directory)
    assert wait_for_no_processes(directory) == []
    assert not os.path.exists(directory)
