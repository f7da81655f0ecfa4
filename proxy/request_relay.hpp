// Relays one whole HTTP request to an upstream pool and its answer back, for either direction.
// Failures become well-formed LoRaWAN Backend Interfaces answers (ResultCode "Other"), never HTML.
#pragma once

#include <string>

#include "proxy/http_server_session.hpp"
#include "proxy/metrics.hpp"
#include "proxy/upstream_pool.hpp"

namespace dance::proxy {

struct RelayRoute {
    ListenerMetrics& metrics;
    UpstreamPool& pool;
    std::string_view peer_name;  // "backend" or "upstream", for error descriptions
};

// For the access log: `identity` is the authenticated ClientName on the inbound side, or our own client_id
// on the outbound side; `client` the peer address. The caller has already rewritten identity headers.
struct RequestOrigin {
    std::string identity;
    std::string client;
};

void relay_request(HttpRequest&& request, ResponseWriter writer, const RelayRoute& route, RequestOrigin origin);

// The session's own error answers (400, 413, 431, ...) in the bare Backend Interfaces form
// {"ResultCode":"Other","Description":...}: ChirpStack parses every body as JSON.
HttpResponse session_error_response(int status, std::string_view problem);

// The status and Backend Interfaces answer for a request that could not be relayed.
HttpResponse failure_response(const UpstreamFailure& failure, std::string_view request_body,
                              std::string_view peer_name);

}  // namespace dance::proxy
