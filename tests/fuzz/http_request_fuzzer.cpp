// The request path of a sidecar listener: the bytes a client sends, parsed by HttpRequestParser, then each
// complete request rewritten as relay_request does it (proxy/relay/request_relay.cpp) for the inbound side:
// hop-by-hop headers stripped, every spelling of the identity headers removed and ours added, serialize().
//
// Invariants:
//  - feeding the input whole, in two pieces (split at a position taken from the first byte) or in small
//    chunks (size taken from the first byte) gives the same requests, and an error in all or none (a limit
//    may be seen before a syntax error in one and after it in another): parsing is incremental, as on a
//    real socket;
//  - the serialized request, parsed again by a fresh HttpRequestParser, is exactly one complete request that
//    consumes every byte, with the same method, target and body; its headers are the rewritten request's,
//    in order, plus one Content-Length equal to the body size; exactly one X-Dane-Client-Id equal to ours
//    and one X-Dane-Client-Tlsa equal to ours (none of either for an unauthenticated client), and no other
//    header that a backend could read as one of them (case-insensitive, '_' read as '-'); no
//    Transfer-Encoding. The same for the outbound listener's proxy header, Host.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http_known_findings.hpp"
#include "proxy/http/http_message.hpp"
#include "proxy/http/http_parser_request.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

using dance::fuzz::escaped;
using namespace dance::proxy;

namespace {

// The inbound listener's headers (config default identity_header, proxy/inbound/inbound_listener.hpp).
constexpr std::string_view identity_header = "X-Dane-Client-Id";
constexpr std::string_view tlsa_header = "X-Dane-Client-Tlsa";
constexpr std::string_view our_identity = "_ns-client.ns.operator-a.example";
constexpr std::string_view our_tlsa = "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// Small limits, so that inputs of a few kilobytes reach them.
constexpr HttpParseLimits fuzz_limits{2048, 2048};

struct ParseOutcome {
    std::vector<HttpRequest> requests;
    HttpParseError error = HttpParseError::none;
};

std::string describe(const HttpRequest& request) {
    std::string text = escaped(request.method) + " " + escaped(request.target) + " HTTP/" +
                       std::to_string(request.version_major) + "." + std::to_string(request.version_minor) + "\n";
    for (const auto& [name, value] : request.headers) text += "    " + escaped(name) + ": " + escaped(value) + "\n";
    return text + "    body " + escaped(request.body);
}

bool same_request(const HttpRequest& a, const HttpRequest& b) {
    return a.method == b.method && a.target == b.target && a.version_major == b.version_major &&
           a.version_minor == b.version_minor && a.headers == b.headers && a.body == b.body;
}

// What HttpServerSession::read_requests does with parse_from: the bytes that arrived so far are offered to
// the parser, consumed bytes are drained, a complete request is taken and parsing resumes with the rest.
class Feeder {
public:
    void arrive(std::string_view chunk) {
        pending_.append(chunk);
        while (!parser_.failed()) {
            std::size_t consumed = parser_.parse(pending_);
            FUZZ_CHECK(consumed <= pending_.size(), std::to_string(consumed) + " > " + std::to_string(pending_.size()));
            pending_.erase(0, consumed);
            if (!parser_.message_ready()) break;
            outcome_.requests.push_back(parser_.take_request());
        }
    }

    ParseOutcome finish() {
        if (!parser_.failed() && parser_.finish_at_eof()) outcome_.requests.push_back(parser_.take_request());
        outcome_.error = parser_.error();
        return std::move(outcome_);
    }

private:
    HttpRequestParser parser_{fuzz_limits};
    std::string pending_;
    ParseOutcome outcome_;
};

ParseOutcome parse_in_pieces(std::string_view input, std::size_t piece) {
    Feeder feeder;
    for (std::size_t at = 0; at < input.size(); at += piece) feeder.arrive(input.substr(at, piece));
    return feeder.finish();
}

ParseOutcome parse_split(std::string_view input, std::size_t split) {
    Feeder feeder;
    feeder.arrive(input.substr(0, split));
    feeder.arrive(input.substr(split));
    return feeder.finish();
}

void check_same_outcome(const ParseOutcome& whole, const ParseOutcome& other, std::string_view how,
                        std::string_view input) {
    FUZZ_CHECK(dance::fuzz::compatible_errors(whole.error, other.error),
               std::string(how) + ": error " + std::string(to_string(other.error)) + ", whole: " +
                   std::string(to_string(whole.error)) + " for " + escaped(input));
    FUZZ_CHECK(whole.requests.size() == other.requests.size(),
               std::string(how) + ": " + std::to_string(other.requests.size()) + " requests, whole: " +
                   std::to_string(whole.requests.size()) + " for " + escaped(input));
    for (std::size_t i = 0; i < whole.requests.size(); ++i) {
        FUZZ_CHECK(same_request(whole.requests[i], other.requests[i]),
                   std::string(how) + ": request " + std::to_string(i) + "\n  whole: " + describe(whole.requests[i]) +
                       "\n  " + std::string(how) + ": " + describe(other.requests[i]));
    }
}

// The proxy headers of relay_request: the inbound listener's identity headers (its client authenticated or,
// with client_auth.mode optional, not), or the outbound listener's Host.
struct ProxyHeaderSet {
    const char* listener;
    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};

const ProxyHeaderSet proxy_header_sets[] = {
    {"inbound, authenticated", {{identity_header, our_identity}, {tlsa_header, our_tlsa}}},
    {"inbound, unauthenticated", {{identity_header, std::nullopt}, {tlsa_header, std::nullopt}}},
    {"outbound", {{"Host", "js.operator-b.example:8003"}}},
};

HttpRequest rewrite_like_relay(HttpRequest request, const ProxyHeaderSet& set) {
    strip_hop_by_hop_headers(request);
    for (const auto& [name, value] : set.headers) {
        request.remove_header_spellings(name);
        if (value) request.add_header(name, *value);
    }
    (void)parse_backend_message(request.body);  // the relay reads the LoRaWAN header fields of every body
    return request;
}

void check_backend_view(const HttpRequest& original, const ProxyHeaderSet& set) {
    HttpRequest rewritten = rewrite_like_relay(original, set);
    std::string wire = serialize(rewritten);
    auto context = [&] {
        return std::string("\n  listener: ") + set.listener + "\n  received: " + describe(original) +
               "\n  sent: " + escaped(wire, 3000);
    };

    HttpRequestParser backend;  // default limits: the backend's own
    std::size_t consumed = backend.parse(wire);
    FUZZ_CHECK(!backend.failed(), "re-parse failed: " + backend.error_description() + context());
    FUZZ_CHECK(backend.message_ready(), "re-parse: no complete request" + context());
    FUZZ_CHECK(consumed == wire.size(),
               "re-parse consumed " + std::to_string(consumed) + " of " + std::to_string(wire.size()) + context());
    HttpRequest seen = backend.take_request();
    FUZZ_CHECK(backend.parse(std::string_view(wire).substr(consumed)) == 0 && !backend.message_started(),
               "bytes after the request" + context());

    FUZZ_CHECK(seen.method == original.method, "method " + escaped(seen.method) + context());
    FUZZ_CHECK(seen.target == original.target, "target " + escaped(seen.target) + context());
    FUZZ_CHECK(seen.body == original.body, "body " + escaped(seen.body) + context());
    FUZZ_CHECK(seen.version_major == 1 && seen.version_minor == 1, "version" + context());

    // Each proxy header: exactly ours (or none), under no other spelling a backend could read as its name.
    for (const auto& [proxy_name, proxy_value] : set.headers) {
        std::size_t copies = 0;
        for (const auto& [name, value] : seen.headers) {
            if (!same_field_name_spelling(name, proxy_name)) continue;
            ++copies;
            FUZZ_CHECK(proxy_value && name == proxy_name && value == *proxy_value,
                       "header " + escaped(name) + ": " + escaped(value) + context());
        }
        FUZZ_CHECK(copies == (proxy_value ? 1u : 0u),
                   std::to_string(copies) + " copies of " + std::string(proxy_name) + context());
    }
    std::size_t content_lengths = 0;
    for (const auto& [name, value] : seen.headers) {
        if (iequals(name, "content-length")) {
            ++content_lengths;
            FUZZ_CHECK(value == std::to_string(original.body.size()), "Content-Length: " + escaped(value) + context());
        }
        FUZZ_CHECK(!iequals(name, "transfer-encoding"), "Transfer-Encoding: " + escaped(value) + context());
    }
    FUZZ_CHECK(content_lengths == 1, std::to_string(content_lengths) + " Content-Length headers" + context());

    // Nothing else changes on the way: the backend sees the rewritten headers, in order, then Content-Length.
    std::vector<HttpHeader> expected = rewritten.headers;
    expected.emplace_back("Content-Length", std::to_string(original.body.size()));
    FUZZ_CHECK(seen.headers == expected, "headers differ from the rewritten request" + context() + "\n  backend saw: " +
                                             describe(seen));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    ParseOutcome whole = parse_in_pieces(input, std::max<std::size_t>(size, 1));
    if (size > 0) {
        check_same_outcome(whole, parse_split(input, data[0] % (size + 1)), "split", input);
        check_same_outcome(whole, parse_in_pieces(input, 1 + data[0] % 7), "chunks", input);
    }
    for (const HttpRequest& request : whole.requests)
        for (const ProxyHeaderSet& set : proxy_header_sets) check_backend_view(request, set);
    return 0;
}
