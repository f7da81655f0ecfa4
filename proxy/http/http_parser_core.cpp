#include "proxy/http/http_parser_core.hpp"

#include <climits>

#include <event2/buffer.h>

namespace dance::proxy {
namespace {

void trim_trailing_blanks(std::string& text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
}

// The relay re-frames every body with Content-Length; it can only undo the chunked coding. Anything else
// (another coding, a list, a second Transfer-Encoding header) would reach the next hop misframed.
bool transfer_encoding_supported(const HttpMessage& message) {
    int seen = 0;
    for (const auto& [name, value] : message.headers) {
        if (!iequals(name, "transfer-encoding")) continue;
        if (++seen > 1 || !iequals(value, "chunked")) return false;
    }
    return true;
}

// Names are checked here, where the request is refused, so that no later rule meets an odd spelling:
// "Content-Length :" with a blank is not Content-Length to http-parser but might be to the next hop.
std::string_view why_header_section_invalid(const HttpMessage& message) {
    static constexpr std::string_view transfer_encoding = "transfer-encoding";
    for (const auto& [name, value] : message.headers) {
        if (!is_field_name_token(name)) return "header field name is not a token";
        // http-parser 2.9 flags any name that merely starts with Transfer-Encoding as one, and would frame the
        // message differently from the next hop.
        if (name.size() > transfer_encoding.size() && iequals(name.substr(0, transfer_encoding.size()), transfer_encoding))
            return "header field name extends Transfer-Encoding";
        if (!is_field_value_text(value)) return "control character in a header field value";
    }
    return {};
}

// http-parser 2.9 as Debian builds it lets a tab and bytes above 0x7E into the request-target; the next hop
// may split or decode them differently. Two Host fields may name two different hosts (RFC 9112 section 3.2).
std::string_view why_request_line_invalid(const HttpRequest& request) {
    for (unsigned char byte : request.target)
        if (byte <= 0x20 || byte >= 0x7f) return "request-target holds a byte that is not visible ASCII";
    int hosts = 0;
    for (const auto& header : request.headers)
        if (iequals(header.first, "host") && ++hosts > 1) return "more than one Host header field";
    return {};
}

}  // namespace

std::string_view to_string(HttpParseError error) {
    switch (error) {
        case HttpParseError::none: return "none";
        case HttpParseError::malformed: return "malformed";
        case HttpParseError::headers_too_large: return "headers_too_large";
        case HttpParseError::body_too_large: return "body_too_large";
        case HttpParseError::unsupported: return "unsupported";
    }
    return "unknown";
}

const http_parser_settings HttpParserCore::settings_ = [] {
    http_parser_settings settings{};
    settings.on_message_begin = &HttpParserCore::on_message_begin;
    settings.on_url = &HttpParserCore::on_url;
    settings.on_status = &HttpParserCore::on_status;
    settings.on_header_field = &HttpParserCore::on_header_field;
    settings.on_header_value = &HttpParserCore::on_header_value;
    settings.on_headers_complete = &HttpParserCore::on_headers_complete;
    settings.on_body = &HttpParserCore::on_body;
    settings.on_message_complete = &HttpParserCore::on_message_complete;
    return settings;
}();

HttpParserCore::HttpParserCore(http_parser_type type, HttpParseLimits limits) : type_(type), limits_(limits) {
    http_parser_init(&parser_, type);
    parser_.data = this;
}

std::size_t HttpParserCore::parse(std::string_view data) {
    if (ready_ || failed() || data.empty()) return 0;
    std::size_t consumed = http_parser_execute(&parser_, &settings_, data.data(), data.size());
    record_parser_error();
    return consumed;
}

bool HttpParserCore::parse_from(evbuffer* input) {
    while (!ready_ && !failed() && evbuffer_get_length(input) > 0) {
        evbuffer_iovec chunk{};
        if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1) break;
        std::size_t consumed = parse({static_cast<const char*>(chunk.iov_base), chunk.iov_len});
        evbuffer_drain(input, consumed);
        if (consumed < chunk.iov_len) break;
    }
    return ready_;
}

bool HttpParserCore::finish_at_eof() {
    if (ready_ || failed() || !started_) return ready_;
    http_parser_execute(&parser_, &settings_, nullptr, 0);
    record_parser_error();
    if (!ready_ && !failed()) fail(HttpParseError::malformed, "connection closed inside a message");
    return ready_;
}

void HttpParserCore::reset_for_next_message() {
    request_ = {};
    response_ = {};
    header_bytes_ = 0;
    last_was_value_ = false;
    started_ = false;
    headers_done_ = false;
    ready_ = false;
    skip_body_ = false;
    http_parser_pause(&parser_, 0);
}

void HttpParserCore::record_parser_error() {
    auto code = HTTP_PARSER_ERRNO(&parser_);
    if (code == HPE_OK || code == HPE_PAUSED || failed()) return;
    if (code == HPE_HEADER_OVERFLOW) {
        fail(HttpParseError::headers_too_large, "header section too large");
    } else {
        fail(HttpParseError::malformed, http_errno_description(code));
    }
}

int HttpParserCore::fail(HttpParseError error, std::string description) {
    if (!failed()) {
        error_ = error;
        error_description_ = std::move(description);
    }
    return -1;
}

HttpMessage& HttpParserCore::current() {
    if (type_ == HTTP_REQUEST) return request_;
    return response_;
}

bool HttpParserCore::count_header_bytes(std::size_t length) {
    header_bytes_ += length;
    if (header_bytes_ <= limits_.max_header_bytes) return true;
    fail(HttpParseError::headers_too_large, "header section larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
    return false;
}

int HttpParserCore::on_message_begin(http_parser* parser) {
    self(parser).started_ = true;
    return 0;
}

int HttpParserCore::on_url(http_parser* parser, const char* at, std::size_t length) {
    auto& me = self(parser);
    if (!me.count_header_bytes(length)) return -1;
    me.request_.target.append(at, length);
    return 0;
}

int HttpParserCore::on_status(http_parser* parser, const char* at, std::size_t length) {
    auto& me = self(parser);
    if (!me.count_header_bytes(length)) return -1;
    me.response_.reason.append(at, length);
    return 0;
}

int HttpParserCore::on_header_field(http_parser* parser, const char* at, std::size_t length) {
    auto& me = self(parser);
    if (!me.count_header_bytes(length)) return -1;
    if (me.headers_done_) return 0;  // a chunked trailer: counted, never a header
    auto& headers = me.current().headers;
    if (headers.capacity() == 0) headers.reserve(8);  // one allocation for a usual header section, not four
    if (me.last_was_value_ || headers.empty()) headers.emplace_back();
    headers.back().first.append(at, length);
    me.last_was_value_ = false;
    return 0;
}

int HttpParserCore::on_header_value(http_parser* parser, const char* at, std::size_t length) {
    auto& me = self(parser);
    if (!me.count_header_bytes(length)) return -1;
    if (me.headers_done_) return 0;
    me.current().headers.back().second.append(at, length);
    me.last_was_value_ = true;
    return 0;
}

int HttpParserCore::on_headers_complete(http_parser* parser) {
    auto& me = self(parser);
    auto& message = me.current();
    for (auto& header : message.headers) trim_trailing_blanks(header.second);
    message.version_major = parser->http_major;
    message.version_minor = parser->http_minor;
    if (auto problem = why_header_section_invalid(message); !problem.empty())
        return me.fail(HttpParseError::malformed, std::string(problem));
    if (!transfer_encoding_supported(message))
        return me.fail(HttpParseError::unsupported, "Transfer-Encoding other than chunked");
    if (me.type_ == HTTP_REQUEST) {
        if (parser->method == HTTP_CONNECT) return me.fail(HttpParseError::unsupported, "CONNECT is not supported");
        if (auto problem = why_request_line_invalid(me.request_); !problem.empty())
            return me.fail(HttpParseError::malformed, std::string(problem));
        me.request_.method = http_method_str(static_cast<http_method>(parser->method));
    } else {
        me.response_.status = static_cast<int>(parser->status_code);
        // http-parser takes one to three digits; below 100 the answer could only be relayed unframed.
        if (me.response_.status < 100) return me.fail(HttpParseError::malformed, "status code below 100");
    }
    me.headers_done_ = true;
    if (me.skip_body_) return 1;
    if (parser->content_length != ULLONG_MAX && parser->content_length > me.limits_.max_body_bytes)
        return me.fail(HttpParseError::body_too_large, "Content-Length above " + std::to_string(me.limits_.max_body_bytes));
    return 0;
}

int HttpParserCore::on_body(http_parser* parser, const char* at, std::size_t length) {
    auto& me = self(parser);
    auto& body = me.current().body;
    if (body.size() + length > me.limits_.max_body_bytes)
        return me.fail(HttpParseError::body_too_large, "body above " + std::to_string(me.limits_.max_body_bytes) + " bytes");
    body.append(at, length);
    return 0;
}

int HttpParserCore::on_message_complete(http_parser* parser) {
    auto& me = self(parser);
    me.ready_ = true;
    me.keep_alive_ = http_should_keep_alive(parser) != 0;
    http_parser_pause(parser, 1);
    return 0;
}

}  // namespace dance::proxy
