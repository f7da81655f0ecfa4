#include "proxy/http/http_message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_set>

#include "base/dns_name.hpp"

namespace dance::proxy {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Calls visit(token) for each comma-separated token of a list header value.
template <typename Visit>
void for_each_token(std::string_view list, Visit visit) {
    while (!list.empty()) {
        auto comma = list.find(',');
        visit(trim(list.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

bool is_hop_by_hop(std::string_view name) {
    static constexpr std::array<std::string_view, 8> names = {
        "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect"};
    return istarts_with(name, "proxy-") ||
           std::any_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(n, name); });
}

bool response_has_body_framing(int status) { return status >= 200 && status != 204 && status != 304; }

void append_headers_and_body(std::string& out, const HttpMessage& message, bool with_content_length) {
    for (const auto& [name, value] : message.headers) {
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
        out.append(name).append(": ").append(value).append("\r\n");
    }
    if (with_content_length) out.append("Content-Length: ").append(std::to_string(message.body.size())).append("\r\n");
    out.append("\r\n");
    if (with_content_length) out.append(message.body);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string_view> HttpMessage::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

void HttpMessage::set_header(std::string_view name, std::string_view value) {
    remove_header(name);
    add_header(name, value);
}

void HttpMessage::add_header(std::string_view name, std::string_view value) { headers.emplace_back(name, value); }

std::size_t HttpMessage::remove_header(std::string_view name) {
    return std::erase_if(headers, [&](const HttpHeader& h) { return iequals(h.first, name); });
}

bool HttpMessage::has_connection_token(std::string_view token) const {
    bool found = false;
    for (const auto& [name, value] : headers)
        if (iequals(name, "connection")) for_each_token(value, [&](std::string_view t) { found = found || iequals(t, token); });
    return found;
}

bool HttpMessage::wants_keep_alive() const {
    if (version_major > 1 || (version_major == 1 && version_minor >= 1)) return !has_connection_token("close");
    return has_connection_token("keep-alive");
}

// Linear in the size of the message: the names Connection lists go into a hash set once.
void strip_hop_by_hop_headers(HttpMessage& message) {
    std::unordered_set<std::string> listed;
    for (const auto& [name, value] : message.headers)
        if (iequals(name, "connection")) for_each_token(value, [&](std::string_view t) { listed.insert(dance::lower_case(t)); });
    std::erase_if(message.headers, [&](const HttpHeader& h) {
        return is_hop_by_hop(h.first) || (!listed.empty() && listed.contains(dance::lower_case(h.first)));
    });
}

std::size_t HttpMessage::remove_header_spellings(std::string_view name) {
    return std::erase_if(headers, [&](const HttpHeader& h) { return same_field_name_spelling(h.first, name); });
}

// CGI gateways (lighttpd's http_cgi_encode_varname, Apache's) upper-case letters and turn every other
// non-digit into '_': X.Dane.Client.Id, X~Dane~Client~Id and X_Dane_Client_Id all become HTTP_X_DANE_CLIENT_ID.
bool same_field_name_spelling(std::string_view a, std::string_view b) {
    auto fold = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) ? lower(c) : '-'; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return fold(x) == fold(y); });
}

bool is_field_name_token(std::string_view name) {
    static constexpr std::string_view token_punctuation = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || token_punctuation.find(c) != std::string_view::npos;
    });
}

bool is_field_value_text(std::string_view value) {
    return std::none_of(value.begin(), value.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\t') || byte == 0x7f;
    });
}

std::string serialize(const HttpRequest& request) {
    std::string out;
    out.reserve(256 + request.body.size());
    out.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
    append_headers_and_body(out, request, true);
    return out;
}

std::string serialize(const HttpResponse& response) {
    std::string out;
    out.reserve(256 + response.body.size());
    std::string_view reason = response.reason.empty() ? standard_reason_phrase(response.status) : response.reason;
    out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ").append(reason).append("\r\n");
    append_headers_and_body(out, response, response_has_body_framing(response.status));
    return out;
}

std::string_view standard_reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "Unknown";
    }
}

HttpResponse make_response(int status, std::string body, std::string_view content_type) {
    HttpResponse response;
    response.status = status;
    if (!body.empty()) response.add_header("Content-Type", content_type);
    response.body = std::move(body);
    return response;
}

}  // namespace dance::proxy
