// Relays one whole HTTP request to an upstream pool and its answer back, for either direction.
// Failures become well-formed LoRaWAN Backend Interfaces answers (ResultCode "Other"), never HTML.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "proxy/http/http_server_session.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/upstream/upstream_pool.hpp"

namespace dance::proxy {

struct RelayRoute {
    ListenerMetrics& metrics;
    UpstreamPool& pool;
    std::string_view peer_name;  // "backend" or "upstream", for error descriptions
    std::function<void(const UpstreamResult&)> observe = {};  // told how the relay ended, before the answer
};

// For the access log: `identity` is the authenticated ClientName on the inbound side, or our own client_id
// on the outbound side; `client` the peer address.
struct RequestOrigin {
    std::string identity;
    std::string client;
};

// A header only the sidecar may set (the client's identity, Host): every spelling of its name the client sent
// is removed (see HttpMessage::remove_header_spellings), then `value`, if any, is added.
struct ProxyHeader {
    std::string_view name;
    std::optional<std::string> value;
};

// Strips the hop-by-hop headers first, so that no Connection header can name a proxy header away, then sets
// the proxy headers, then relays.
void relay_request(HttpRequest&& request, ResponseWriter writer, const RelayRoute& route, RequestOrigin origin,
                   std::span<ProxyHeader> proxy_headers);

// How a request ended, in one call: counted (dance_requests_total, dance_lorawan_messages_total), logged (the
// access line) and answered. Every request a listener takes ends here: relayed, refused, or failed upstream.
struct RequestSummary {
    std::string_view method;
    std::string_view path;
    std::string_view message_type;  // "" when the body is not a Backend Interfaces message
};
void finish_request(ListenerMetrics& metrics, const RequestOrigin& origin, const RequestSummary& request,
                    ResponseWriter& writer, HttpResponse response, std::string_view result_code, double seconds);

// A request the sidecar answers itself and never forwards: `status` with the Backend Interfaces answer to it
// (ResultCode `result_code`, Result.Description `description`), through finish_request().
void refuse_request(ListenerMetrics& metrics, const RequestOrigin& origin, const HttpRequest& request,
                    ResponseWriter& writer, int status, std::string_view message_type, std::string_view result_code,
                    const std::string& description);

// The session's own error answers (400, 413, 431, ...) in the bare Backend Interfaces form
// {"ResultCode":"Other","Description":...}: ChirpStack parses every body as JSON.
HttpResponse session_error_response(int status, std::string_view problem);

// The ResultCode of the answer to a request that could not be relayed: UnkownReceiver (TS002's spelling) for a
// receiver proved absent by DNSSEC, else Other.
std::string_view failure_result_code(const UpstreamFailure& failure);

// The status and Backend Interfaces answer for a request that could not be relayed.
HttpResponse failure_response(const UpstreamFailure& failure, std::string_view request_body,
                              std::string_view peer_name);

}  // namespace dance::proxy
