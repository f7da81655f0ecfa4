// How a request relayed to an upstream ended: a response, or a classified failure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/http/http_message.hpp"

namespace dance::proxy {

enum class UpstreamError {
    connect_failed,          // TCP connect refused/unreachable, or no usable address
    connect_timeout,         // no connection (incl. TLS handshake) within the connect or request time
    dns_failed,              // address or TLSA lookup failed (connectors fill `reason` with the detail)
    tls_failed,              // TLS handshake or record-layer error
    server_auth_failed,      // the server's certificate did not authenticate (DANE/PKIX)
    peer_rejected,           // the server refused our client identity (TLS alert on the first read)
    timeout,                 // request sent (or being sent) but no complete response in time
    closed_before_response,  // the connection ended before a complete response
    protocol_error,          // the response could not be parsed
    response_too_large,      // response headers or body over the limits
    route_failed,            // a discovered route did not resolve securely: `reason` is the route result
                             // (unknown_receiver, insecure, bogus, timeout, error); nothing was connected
    other,
};

std::string_view to_string(UpstreamError error);

struct UpstreamFailure {
    UpstreamError kind = UpstreamError::other;
    std::string description;  // for logs: human-readable, never contains message bodies
    std::string reason;       // optional finer label for metrics, e.g. "dns_bogus"; "" = to_string(kind)
    // The connector already counted this failure as a handshake result (dance_handshakes_total): the relay
    // must not count it again. False for a rejection read after the handshake, which only the relay sees.
    bool handshake_counted = false;
};

struct UpstreamResult {
    std::optional<HttpResponse> response;  // set on success, whatever the HTTP status
    UpstreamFailure failure;               // meaningful only without a response
    bool request_bytes_sent = false;       // some of the request may have reached the server
    bool reused_connection = false;        // the final attempt ran on a pooled connection

    bool ok() const { return response.has_value(); }
};

}  // namespace dance::proxy
