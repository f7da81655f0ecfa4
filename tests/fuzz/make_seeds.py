#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz harnesses into tests/fuzz/corpus/<harness>/.

The corpora are committed; run this again after changing it (it rewrites every seed it knows and removes
nothing else). File names say what each seed is.
"""
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
UNIT_CONFIGS = HERE.parent / "unit" / "configs"


def write(harness, name, data):
    directory = CORPUS / harness
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)


# --- clientname: ClientName<0..255> extension_data --------------------------------------------------------
def client_name(name):
    raw = name.encode("latin-1") if isinstance(name, str) else name
    return bytes([len(raw) & 0xFF]) + raw


def clientname_seeds():
    write("clientname", "offer_empty", b"\x00")
    write("clientname", "no_bytes", b"")
    write("clientname", "ns_client", client_name("_ns-client.ns.operator-a.example"))
    write("clientname", "device", client_name("sensor7._device.example.com"))
    write("clientname", "upper_case", client_name("_NS-Client.NS.Operator-B.Example"))
    write("clientname", "single_label", client_name("a"))
    write("clientname", "length_too_long", b"\x09short")
    write("clientname", "length_too_short", b"\x02abc")
    write("clientname", "trailing_dot", client_name("ns.example."))
    write("clientname", "empty_label", client_name("a..example"))
    write("clientname", "leading_dot", client_name(".example"))
    write("clientname", "escape", client_name("a\\065.example"))
    write("clientname", "label_63", client_name("a" * 63 + ".example"))
    write("clientname", "label_64", client_name("a" * 64 + ".example"))
    name_253 = ".".join(["b" * 63] * 3 + ["c" * 61])
    write("clientname", "name_253", client_name(name_253))
    write("clientname", "name_254", client_name(name_253 + "d"))
    write("clientname", "name_255", client_name(name_253 + "de"))
    write("clientname", "nul_byte", client_name(b"ns\x00.example"))
    write("clientname", "non_ascii", client_name("n\u00e9.example".encode()))
    write("clientname", "space", client_name("ns example"))
    write("clientname", "wildcard", client_name("*.operator-b.example"))


# --- http_request: what a client sends to a listener -------------------------------------------------------
JOIN_REQ = ('{"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0102030405060708","TransactionID":42,'
            '"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00dc0000d07ed5b3701e6fedf57ceeaf00c886030af2c5",'
            '"DevEUI":"0102030405060708","DevAddr":"01020304","DLSettings":"00","RxDelay":1}')


def http_request_seeds():
    body = JOIN_REQ
    write("http_request", "join_req",
          f"POST /api HTTP/1.1\r\nHost: js.example\r\nContent-Type: application/json\r\n"
          f"Content-Length: {len(body)}\r\n\r\n{body}")
    write("http_request", "chunked",
          "POST /api HTTP/1.1\r\nHost: js\r\nTransfer-Encoding: chunked\r\n\r\n"
          "5\r\n{\"a\":\r\n3;ext=1\r\n1}\n\r\n0\r\nX-Trailer: t\r\n\r\n")
    write("http_request", "pipelined",
          "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.0\r\n\r\n")
    write("http_request", "identity_spoofing",
          "POST /api HTTP/1.1\r\nX-Dane-Client-Id: _evil.example\r\nx_dane_client_id: _evil2.example\r\n"
          "X-DANE-CLIENT-TLSA: 3 1 1 00\r\nX_Dane_Client_Tlsa: 0\r\nContent-Length: 0\r\n\r\n")
    write("http_request", "connection_lists_identity",
          "POST /api HTTP/1.1\r\nConnection: X-Dane-Client-Id, close\r\nX-Dane-Client-Id: x\r\n"
          "Keep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx")
    write("http_request", "http10_keep_alive",
          "POST /api HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc")
    write("http_request", "expect_continue",
          "POST /api HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody")
    write("http_request", "te_gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
    write("http_request", "te_twice",
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write("http_request", "cl_and_te",
          "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write("http_request", "cl_twice", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    write("http_request", "obs_fold", "GET / HTTP/1.1\r\nX-Folded: first\r\n  second\r\n\tthird\r\nHost: h\r\n\r\n")
    write("http_request", "absolute_form", "GET http://js.example:8080/api?q=1#f HTTP/1.1\r\nHost: js.example\r\n\r\n")
    write("http_request", "upgrade",
          "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nrest of stream")
    write("http_request", "proxy_headers",
          "GET / HTTP/1.1\r\nProxy-Authorization: Basic x\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n"
          "Trailer: X\r\nContent_Length: 9\r\nHost: h\r\n\r\n")
    write("http_request", "space_in_name", "GET / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc")
    write("http_request", "lf_only", "POST /a HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
    write("http_request", "control_in_value", "GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n")
    write("http_request", "connect", "CONNECT js.example:443 HTTP/1.1\r\nHost: js.example:443\r\n\r\n")
    write("http_request", "methods",
          "PUT /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nxDELETE /b HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\n"
          "M-SEARCH * HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n")
    write("http_request", "empty_values", "GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank:   \t \r\nHost:h\r\n\r\n")
    write("http_request", "big_content_length", "POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n")
    write("http_request", "truncated", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")


# --- http_response: [flags][what the upstream sends] -------------------------------------------------------
# flags: bit 0 HEAD request, bit 1 session closes after the answer, bit 2 HTTP/1.0 keep-alive client,
# bits 3-7 chunk size for incremental parsing.
def http_response(flags, text):
    return bytes([flags]) + (text.encode() if isinstance(text, str) else text)


def http_response_seeds():
    body = ('{"ProtocolVersion":"1.0","SenderID":"0102030405060708","ReceiverID":"010203","TransactionID":42,'
            '"MessageType":"JoinAns","Result":{"ResultCode":"Success"},"PHYPayload":"20"}')
    write("http_response", "join_ans", http_response(0x08, f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                                           f"Content-Length: {len(body)}\r\n\r\n{body}"))
    write("http_response", "chunked", http_response(0x10, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                                          "Trailer: X\r\n\r\n4\r\nabcd\r\n0\r\nX: y\r\n\r\n"))
    write("http_response", "close_delimited", http_response(0x02, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof"))
    write("http_response", "continue_then_ok", http_response(0x00, "HTTP/1.1 100 Continue\r\n\r\n"
                                                                   "HTTP/1.1 102 Processing\r\n\r\n"
                                                                   "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
    write("http_response", "switching", http_response(0x00, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                                                            "Connection: Upgrade\r\n\r\n"))
    write("http_response", "no_content", http_response(0x00, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"))
    write("http_response", "not_modified", http_response(0x04, "HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n\r\n"))
    write("http_response", "head", http_response(0x01, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"))
    write("http_response", "http10_keep_alive", http_response(0x04, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                                                                    "Keep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"))
    write("http_response", "error_html", http_response(0x00, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                                                             "Content-Length: 13\r\n\r\n<html></html>"))
    write("http_response", "empty_reason", http_response(0x00, "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"))
    write("http_response", "odd_status", http_response(0x00, "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"))
    write("http_response", "te_gzip", http_response(0x00, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx"))
    write("http_response", "cl_twice", http_response(0x00, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"))
    write("http_response", "connection_lists", http_response(0x00, "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\n"
                                                                   "X-Secret: s\r\nProxy-Authenticate: B\r\n"
                                                                   "Content-Length: 0\r\n\r\n"))
    write("http_response", "obs_fold", http_response(0x00, "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n"))
    write("http_response", "lf_only", http_response(0x00, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"))
    write("http_response", "truncated", http_response(0x00, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))


# --- lorawan_answer: [ResultCode index][Description length][Description][body] ------------------------------
def lorawan(code_index, description, body):
    description = description.encode() if isinstance(description, str) else description
    body = body.encode() if isinstance(body, str) else body
    return bytes([code_index, len(description)]) + description + body


def lorawan_answer_seeds():
    write("lorawan_answer", "join_req", lorawan(0, "backend unavailable: connection refused", JOIN_REQ))
    write("lorawan_answer", "join_req_unknown_sender", lorawan(7, "SenderID not bound", JOIN_REQ))
    write("lorawan_answer", "join_req_other_identity", lorawan(16 + 7, "not bound", JOIN_REQ))
    write("lorawan_answer", "pr_start_req",
          lorawan(0, "timed out", '{"ProtocolVersion":"1.1","SenderID":"00000b","ReceiverID":"000001",'
                                  '"TransactionID":18446744073709551615,"MessageType":"PRStartReq",'
                                  '"SenderNSID":"0102030405060708","PHYPayload":"40"}'))
    write("lorawan_answer", "sender_0x", lorawan(16, "x", '{"MessageType":"HomeNSReq","SenderID":"0xABCDEF"}'))
    write("lorawan_answer", "join_ans",
          lorawan(1, "", '{"MessageType":"JoinAns","SenderID":"01","ReceiverID":"02","Result":{"ResultCode":"Success"}}'))
    write("lorawan_answer", "bare_error", lorawan(0, "d", '{"ResultCode":"Other","Description":"bad"}'))
    write("lorawan_answer", "not_json", lorawan(0, "not json", "<html>502</html>"))
    write("lorawan_answer", "array", lorawan(0, "", '[{"MessageType":"JoinReq"}]'))
    write("lorawan_answer", "empty_body", lorawan(0, "empty", ""))
    write("lorawan_answer", "just_req", lorawan(0, "", '{"MessageType":"Req"}'))
    write("lorawan_answer", "duplicates",
          lorawan(0, "", '{"MessageType":"JoinReq","SenderID":"010203","SenderID":"ffffff","MessageType":"RejoinReq"}'))
    write("lorawan_answer", "case_variants",
          lorawan(16, "", '{"MessageType":"JoinReq","senderid":"ffffff","SenderID":"010203"}'))
    write("lorawan_answer", "non_ascii_key",
          lorawan(16, "", '{"MessageType":"JoinReq","\u017fenderID":"ffffff","SenderID":"010203"}'))
    write("lorawan_answer", "escapes",
          lorawan(0, "", '{"MessageType":"Join\\u0052eq","SenderID":"01\\u00e9\\ud83d\\ude00","ReceiverID":"\\"\\\\\\n"}'))
    write("lorawan_answer", "transaction_ids",
          lorawan(0, "", '{"MessageType":"JoinReq","TransactionID":-1,"TransactionID":1.5,"ProtocolVersion":7}'))
    write("lorawan_answer", "big_transaction_id",
          lorawan(0, "", '{"MessageType":"JoinReq","TransactionID":184467440737095516160}'))
    write("lorawan_answer", "invalid_utf8_description", lorawan(2, b"\xff\xfe\xc3(", '{"MessageType":"XmitDataReq"}'))
    write("lorawan_answer", "quote_code", lorawan(15, "\"\\\x00", '{"MessageType":"ProfileReq","SenderID":""}'))
    write("lorawan_answer", "nested", lorawan(0, "", '{"MessageType":"JoinReq","Result":{"ResultCode":"x"},'
                                                     '"ResultCode":"y","a":[[[[{"b":null}]]]],"c":true}'))
    write("lorawan_answer", "whitespace", lorawan(0, "", ' \t\r\n{ "MessageType" : "JoinReq" } \n'))


# --- config_loader: YAML configs --------------------------------------------------------------------------
def config_loader_seeds():
    for path in sorted(UNIT_CONFIGS.glob("*.yaml")):
        shutil.copyfile(path, CORPUS / "config_loader" / path.name)
    write("config_loader", "flow_everything.yaml",
          'inbound: [{name: a, listen: "0.0.0.0:1", backend: "127.0.0.1:2", tls: {cert: js.pem, key: js.key},'
          ' client_auth: {allow: ["*.B.example"], sender_ids: {"*.b.example": ["0x01"]}}}]\n'
          'outbound: [{name: b, listen: "[::1]:3", upstream: "h.example:4", tls: {cert: ns.pem, key: ns.key,'
          ' client_id: c.example}, server_auth: dane-or-pkix, ca_file: ca.pem}]\n')
    write("config_loader", "anchors_aliases.yaml",
          "tls: &t {cert: js.pem, key: js.key}\ninbound:\n  - name: x\n    listen: \"127.0.0.1:1\"\n"
          "    backend: \"127.0.0.1:2\"\n    tls: *t\n    <<: {max_connections: 5}\n")
    write("config_loader", "tabs_and_cr.yaml", "inbound:\r\n\t- name: x\r\n  backend: [\r\n")
    write("config_loader", "documents.yaml", "---\nworkers: 2\n...\n---\nworkers: 3\n")
    write("config_loader", "tags.yaml", "workers: !!str 4\ndrain_timeout_ms: !!binary aGk=\nlog: !custom {level: x}\n")


# --- tlsa_reply: [control][now: 4 bytes][DNS message] ------------------------------------------------------
NOW = 1_800_000_000


def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def rr(name, rtype, ttl, rdata, compressed_owner=None):
    owner = compressed_owner if compressed_owner is not None else dns_name(name)
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def tlsa_rdata(usage, selector, matching, data):
    return bytes([usage, selector, matching]) + data


def rrsig_rdata(covered, expiration, inception=NOW - 86400):
    return (struct.pack(">HBBIIIH", covered, 13, 4, 300, expiration, inception, 12345) + dns_name("js.example")
            + b"\x01" * 64)


def message(answers, rcode=0, ad=True, authority=(), qname="_8003._tcp.js.example", qtype=52):
    flags = 0x8000 | 0x0100 | 0x0080 | (0x0020 if ad else 0) | rcode  # QR RD RA [AD] RCODE
    header = struct.pack(">HHHHHH", 0x1234, flags, 1, len(answers), len(authority), 0)
    question = dns_name(qname) + struct.pack(">HH", qtype, 1)
    return header + question + b"".join(answers) + b"".join(authority)


def control(status_mode=False, status_index=0, dnssec_index=0, no_reply=False):
    return bytes([(1 if status_mode else 0) | (status_index << 1) | (dnssec_index << 4) | (0x80 if no_reply else 0)])


def tlsa_reply_seeds():
    now = struct.pack(">I", NOW)
    owner = "_8003._tcp.js.example"
    pointer = b"\xc0\x0c"  # the question's name
    good = rr(owner, 52, 300, tlsa_rdata(3, 1, 1, bytes(range(32))), pointer)
    sig = rr(owner, 46, 300, rrsig_rdata(52, NOW + 120), pointer)
    secure_ad = control()
    secure_status = control(status_mode=True, dnssec_index=1)
    write("tlsa_reply", "ad_secure", secure_ad + now + message([good, sig]))
    write("tlsa_reply", "ad_not_set", secure_ad + now + message([good], ad=False))
    write("tlsa_reply", "status_secure", secure_status + now + message([good, sig], ad=False))
    write("tlsa_reply", "status_bogus", control(True, 0, 2) + now + message([good]))
    write("tlsa_reply", "status_insecure", control(True, 0, 3) + now + message([good]))
    write("tlsa_reply", "status_indeterminate", control(True, 0, 4) + now + message([good]))
    write("tlsa_reply", "status_absent", control(True, 0, 0) + now + message([good]))
    write("tlsa_reply", "timeout", control(False, 2) + now + message([good]))
    write("tlsa_reply", "no_reply", control(False, 0, 0, True) + now + message([good]))
    write("tlsa_reply", "nxdomain", control(False, 1) + now + message([], rcode=3))
    write("tlsa_reply", "servfail", secure_ad + now + message([], rcode=2, ad=False))
    write("tlsa_reply", "refused", secure_status + now + message([], rcode=5))
    write("tlsa_reply", "nodata", secure_ad + now + message([]))
    write("tlsa_reply", "two_records", secure_ad + now + message(
        [good, rr(owner, 52, 60, tlsa_rdata(2, 0, 2, b"\xaa" * 64), pointer), sig]))
    write("tlsa_reply", "undefined_parameters", secure_ad + now + message(
        [rr(owner, 52, 300, tlsa_rdata(4, 2, 3, b"\x01"), pointer)]))
    write("tlsa_reply", "empty_association_data", secure_ad + now + message(
        [rr(owner, 52, 300, tlsa_rdata(3, 1, 1, b""), pointer)]))
    write("tlsa_reply", "expired_signature", secure_status + now + message(
        [good, rr(owner, 46, 300, rrsig_rdata(52, NOW - 10), pointer)]))
    write("tlsa_reply", "cname_chain", secure_ad + now + message(
        [rr(owner, 5, 300, dns_name("tlsa.js.example"), pointer),
         rr("tlsa.js.example", 52, 300, tlsa_rdata(3, 0, 0, b"\x30\x82\x01\x0a"))]))
    write("tlsa_reply", "addresses", secure_ad + now + message(
        [rr("js.example", 1, 300, bytes([192, 0, 2, 1])), rr("js.example", 28, 60, bytes(15) + b"\x01"),
         rr("js.example", 1, 30, bytes([10, 0, 0, 1]))], qname="js.example", qtype=1))
    write("tlsa_reply", "authority_tlsa", secure_ad + now + message(
        [], authority=[rr(owner, 52, 300, tlsa_rdata(3, 1, 1, b"\x02" * 32))]))
    write("tlsa_reply", "truncated_rdata", secure_ad + now + message([good])[:-7])


# --- every input in crashes-found/ (named <harness>-<what>) is also a seed: a regression check per run ----------
def route_decision_seeds():
    def body(message_type, receiver_id, extra=""):
        return ('{"ProtocolVersion":"1.0","SenderID":"000001","ReceiverID":"%s","TransactionID":1,'
                '"MessageType":"%s"%s}' % (receiver_id, message_type, extra))
    write("route_decision", "joinreq_discovered", body("JoinReq", "0102030405060708"))
    write("route_decision", "joinreq_static", body("JoinReq", "0807060504030201"))
    write("route_decision", "joinreq_0x_upper", body("JoinReq", "0x70B3D57ED0000001"))
    write("route_decision", "prstartreq_netid", body("PRStartReq", "00050a"))
    write("route_decision", "prstartreq_static", body("PRStartReq", "000505"))
    write("route_decision", "appskeyans_as", body("AppSKeyAns", "as.example.com"))
    write("route_decision", "not_hex", body("JoinReq", "08070605040302zz"))
    write("route_decision", "dots_in_id", body("JoinReq", "1.0.2.0.3.0.4.0"))
    write("route_decision", "duplicate_key", body("JoinReq", "0102030405060708", ',"receiverid":"0807060504030201"'))
    write("route_decision", "unknown_type", body("Unknown", "0102030405060708"))
    write("route_decision", "empty", "")


def regression_seeds():
    for path in sorted((HERE / "crashes-found").glob("*")):
        harness, _, what = path.name.partition("-")
        if (CORPUS / harness).is_dir():
            shutil.copyfile(path, CORPUS / harness / f"regression-{what}")


def main():
    for name in ("clientname", "http_request", "http_response", "lorawan_answer", "config_loader", "tlsa_reply"):
        (CORPUS / name).mkdir(parents=True, exist_ok=True)
    clientname_seeds()
    http_request_seeds()
    http_response_seeds()
    lorawan_answer_seeds()
    config_loader_seeds()
    tlsa_reply_seeds()
    route_decision_seeds()
    regression_seeds()
    for directory in sorted(CORPUS.iterdir()):
        print(f"{directory.name}: {len(list(directory.iterdir()))} seeds")


if __name__ == "__main__":
    main()
