// HTTP/1.1 messages as the relay buffers them: whole, with ordered headers and the de-chunked body.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dance::proxy {

using HttpHeader = std::pair<std::string, std::string>;  // name as received, value without surrounding blanks

struct HttpMessage {
    int version_major = 1;
    int version_minor = 1;
    std::vector<HttpHeader> headers;  // in arrival order, duplicates kept
    std::string body;

    // Value of the first header with this name (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const;
    // Replaces every copy of the header by a single one, appended at the end.
    void set_header(std::string_view name, std::string_view value);
    void add_header(std::string_view name, std::string_view value);
    // Removes every copy; returns how many were removed.
    std::size_t remove_header(std::string_view name);
    // Removes every header a backend could read as `name`: case-insensitive, with every character that is not a
    // letter or digit read as '-' (CGI gateways map '-', '_', '.', '~' ... all to '_'). Returns how many.
    std::size_t remove_header_spellings(std::string_view name);
    // True if some Connection header lists this token (case-insensitive), e.g. "close".
    bool has_connection_token(std::string_view token) const;
    // What the sender asked for: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with keep-alive.
    bool wants_keep_alive() const;
};

struct HttpRequest : HttpMessage {
    std::string method;  // "POST"
    std::string target;  // "/api" as received (origin-form or absolute-form)
};

struct HttpResponse : HttpMessage {
    int status = 200;
    std::string reason;  // empty: the standard phrase for status
};

// Drops the hop-by-hop headers (Connection and the names it lists, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-*) plus Content-Length and Expect, which serialisation and the
// buffering relay regenerate or make moot.
void strip_hop_by_hop_headers(HttpMessage& message);

// HTTP/1.1 wire form. Always sends "Content-Length: <body size>" (none for 1xx, 204 and 304 responses)
// and replaces any Content-Length or Transfer-Encoding header present.
std::string serialize(const HttpRequest& request);
std::string serialize(const HttpResponse& response);

std::string_view standard_reason_phrase(int status);

// A small response built by the proxy itself (errors, health answers).
HttpResponse make_response(int status, std::string body = {}, std::string_view content_type = "text/plain");

bool iequals(std::string_view a, std::string_view b);
// Equal names once lower-cased with every non-alphanumeric character read as '-'.
bool same_field_name_spelling(std::string_view a, std::string_view b);
// RFC 9110 5.1: a field name is a token (no whitespace, no separators).
bool is_field_name_token(std::string_view name);
// RFC 9110 5.5: no control character but HTAB (so no CR, LF or NUL).
bool is_field_value_text(std::string_view value);

}  // namespace dance::proxy
