// The response path: the bytes an upstream (the local backend, or on the outbound side a remote sidecar) sends
// back, parsed by HttpResponseParser as UpstreamConnection::read_response does (a status below 100 and 101
// refused, interim 1xx skipped, still without a body for a HEAD, a body delimited by the end of the
// connection completed at EOF by handle_end_of_stream), then passed on as relay_request and
// HttpServerSession::deliver do it: hop-by-hop headers stripped, "Connection: close" or "Connection:
// keep-alive" set when the session says so, serialize().
//
// Input: byte 0 says whether the request was a HEAD (bit 0), whether the session closes after this answer
// (bit 1) or answers an HTTP/1.0 keep-alive client (bit 2), and the chunk size for incremental parsing (bits
// 3-7); the rest is what the upstream sent.
//
// Invariants:
//  - parsing whole or in chunks gives the same responses, and an error in both or neither (a limit may be
//    seen before a syntax error in one and after it in the other);
//  - the serialized answer, parsed by a fresh HttpResponseParser (no body expected for a HEAD), is exactly one
//    complete response, complete without waiting for the end of the connection and consuming every byte: the
//    same status, as three digits, the same reason (or the standard phrase), the same body (none where the
//    status has none), the stripped headers in order plus the session's Connection header and one
//    Content-Length equal to the body size (none for 1xx, 204 and 304), and no Transfer-Encoding.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http_known_findings.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/http_parser_response.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

using dance::fuzz::escaped;
using namespace dance::proxy;

namespace {

constexpr HttpParseLimits fuzz_limits{2048, 2048};

struct Outcome {
    std::optional<HttpResponse> response;  // the final response relayed, if any
    bool refused = false;  // a 101, or a status below 100
    bool interim_seen = false;  // 1xx responses were skipped before it
    HttpParseError error = HttpParseError::none;
};

std::string describe(const HttpResponse& response) {
    std::string text = std::to_string(response.status) + " " + escaped(response.reason) + " HTTP/" +
                       std::to_string(response.version_major) + "." + std::to_string(response.version_minor) + "\n";
    for (const auto& [name, value] : response.headers) text += "    " + escaped(name) + ": " + escaped(value) + "\n";
    return text + "    body " + escaped(response.body);
}

bool same_response(const HttpResponse& a, const HttpResponse& b) {
    return a.status == b.status && a.reason == b.reason && a.version_major == b.version_major &&
           a.version_minor == b.version_minor && a.headers == b.headers && a.body == b.body;
}

// UpstreamConnection::read_response and handle_end_of_stream over bytes arriving `piece` at a time.
Outcome read_like_upstream_connection(std::string_view input, std::size_t piece, bool head) {
    HttpResponseParser parser(fuzz_limits);
    parser.expect_no_body(head);
    std::string pending;
    Outcome outcome;
    for (std::size_t at = 0; at < input.size() && !outcome.response && !outcome.refused; at += piece) {
        pending.append(input.substr(at, piece));
        while (!parser.failed()) {
            std::size_t consumed = parser.parse(pending);
            pending.erase(0, consumed);
            if (!parser.message_ready()) break;
            HttpResponse response = parser.take_response();
            if (response.status < 100) {
                outcome.refused = true;
            } else if (response.status < 200 && response.status != 101) {
                outcome.interim_seen = true;
                parser.expect_no_body(head);
                continue;
            } else if (response.status == 101) {
                outcome.refused = true;
            } else {
                outcome.response = std::move(response);
            }
            break;
        }
        if (parser.failed()) break;
    }
    if (!outcome.response && !outcome.refused && !parser.failed() && parser.finish_at_eof())
        outcome.response = parser.take_response();
    outcome.error = parser.error();
    return outcome;
}

bool has_body_framing(int status) { return status >= 200 && status != 204 && status != 304; }

void check_client_view(HttpResponse received, bool head, bool close_after, bool http10_keep_alive) {
    HttpResponse sent = received;
    strip_hop_by_hop_headers(sent);
    (void)parse_backend_message(sent.body);  // the relay reads the LoRaWAN result of every answer
    if (close_after) {
        sent.set_header("Connection", "close");
    } else if (http10_keep_alive) {
        sent.set_header("Connection", "keep-alive");
    }
    std::string wire = serialize(sent);
    auto context = [&] { return "\n  received: " + describe(received) + "\n  sent: " + escaped(wire, 3000); };

    FUZZ_CHECK(wire.size() > 13 && wire.starts_with("HTTP/1.1 ") && std::isdigit(static_cast<unsigned char>(wire[9])) &&
                   std::isdigit(static_cast<unsigned char>(wire[10])) &&
                   std::isdigit(static_cast<unsigned char>(wire[11])) && wire[12] == ' ',
               "status line without a three-digit status" + context());

    HttpResponseParser client;
    client.expect_no_body(head);
    std::size_t consumed = client.parse(wire);
    FUZZ_CHECK(!client.failed(), "re-parse failed: " + client.error_description() + context());
    FUZZ_CHECK(client.message_ready(), "re-parse: no complete response before the end of the connection" + context());
    FUZZ_CHECK(consumed == wire.size(),
               "re-parse consumed " + std::to_string(consumed) + " of " + std::to_string(wire.size()) + context());
    HttpResponse seen = client.take_response();

    FUZZ_CHECK(seen.status == received.status, "status " + std::to_string(seen.status) + context());
    std::string_view reason = received.reason.empty() ? standard_reason_phrase(received.status) : received.reason;
    FUZZ_CHECK(seen.reason == reason, "reason " + escaped(seen.reason) + context());
    bool framed = has_body_framing(received.status);
    std::string expected_body = framed && !head ? received.body : "";
    FUZZ_CHECK(seen.body == expected_body, "body " + escaped(seen.body) + context());

    std::vector<HttpHeader> expected = sent.headers;
    if (framed) expected.emplace_back("Content-Length", std::to_string(sent.body.size()));
    FUZZ_CHECK(seen.headers == expected, "headers differ from the stripped response" + context() +
                                             "\n  client saw: " + describe(seen));
    for (const auto& [name, value] : seen.headers)
        FUZZ_CHECK(!iequals(name, "transfer-encoding"), "Transfer-Encoding: " + escaped(value) + context());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool head = data[0] & 1, close_after = data[0] & 2, http10_keep_alive = data[0] & 4;
    const std::size_t piece = 1 + (data[0] >> 3) % 16;
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    Outcome whole = read_like_upstream_connection(input, std::max<std::size_t>(input.size(), 1), head);
    Outcome chunked = read_like_upstream_connection(input, piece, head);
    auto context = [&] { return "\n  input: " + escaped(input); };
    FUZZ_CHECK(dance::fuzz::compatible_errors(whole.error, chunked.error),
               std::string("error ") + std::string(to_string(chunked.error)) + " in chunks, " +
                   std::string(to_string(whole.error)) + " whole" + context());
    FUZZ_CHECK(whole.refused == chunked.refused && whole.interim_seen == chunked.interim_seen,
               "refused or 1xx" + context());
    FUZZ_CHECK(whole.response.has_value() == chunked.response.has_value(), "a response or not" + context());
    if (!whole.response) return 0;
    FUZZ_CHECK(same_response(*whole.response, *chunked.response),
               "whole: " + describe(*whole.response) + "\n  chunks: " + describe(*chunked.response) + context());
    check_client_view(*whole.response, head, close_after, http10_keep_alive);
    return 0;
}
