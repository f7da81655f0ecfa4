// Incremental HTTP/1.x parsing with Debian's http-parser 2.9, one whole message at a time, with limits.
//
// The parser stops after each complete message (pipelined bytes stay unconsumed) until it is taken.
// Chunked bodies are de-chunked; trailers are dropped. Refused as malformed: a field name that is not a
// token, a control character in a value. Refused as unsupported: a Transfer-Encoding other than "chunked".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <http_parser.h>

#include "proxy/http/http_message.hpp"

struct evbuffer;

namespace dance::proxy {

struct HttpParseLimits {
    std::size_t max_header_bytes = 64 * 1024;  // start line + header names and values of one message
    std::size_t max_body_bytes = 1024 * 1024;  // de-chunked body
};

enum class HttpParseError { none, malformed, headers_too_large, body_too_large, unsupported };

std::string_view to_string(HttpParseError error);

class HttpParserCore {
public:
    HttpParserCore(const HttpParserCore&) = delete;
    HttpParserCore& operator=(const HttpParserCore&) = delete;

    // Parses until a message is complete, the data runs out or an error occurs. Returns bytes consumed.
    std::size_t parse(std::string_view data);
    // The same from an evbuffer, draining what was consumed. Returns message_ready().
    bool parse_from(evbuffer* input);
    // The peer closed its side: completes a body delimited by end of connection. Returns message_ready().
    bool finish_at_eof();

    bool message_ready() const { return ready_; }
    bool message_started() const { return started_; }   // bytes of the current message were seen
    bool headers_complete() const { return headers_done_; }
    // Bytes the message being parsed holds so far: its header bytes and its (de-chunked) body.
    std::size_t message_bytes() const { return header_bytes_ + request_.body.size() + response_.body.size(); }
    // http-parser's verdict on the completed message: false means the connection ends after it.
    bool keep_alive() const { return keep_alive_; }

    bool failed() const { return error_ != HttpParseError::none; }
    HttpParseError error() const { return error_; }
    const std::string& error_description() const { return error_description_; }

protected:
    HttpParserCore(http_parser_type type, HttpParseLimits limits);
    ~HttpParserCore() = default;

    // Resets for the next message and returns the finished one's parts.
    void reset_for_next_message();
    HttpRequest request_;
    HttpResponse response_;
    bool skip_body_ = false;  // the response answers a HEAD request

private:
    static const http_parser_settings settings_;
    static HttpParserCore& self(http_parser* parser) { return *static_cast<HttpParserCore*>(parser->data); }
    static int on_message_begin(http_parser* parser);
    static int on_url(http_parser* parser, const char* at, std::size_t length);
    static int on_status(http_parser* parser, const char* at, std::size_t length);
    static int on_header_field(http_parser* parser, const char* at, std::size_t length);
    static int on_header_value(http_parser* parser, const char* at, std::size_t length);
    static int on_headers_complete(http_parser* parser);
    static int on_body(http_parser* parser, const char* at, std::size_t length);
    static int on_message_complete(http_parser* parser);

    HttpMessage& current();
    bool count_header_bytes(std::size_t length);
    int fail(HttpParseError error, std::string description);
    void record_parser_error();

    http_parser parser_{};
    http_parser_type type_;
    HttpParseLimits limits_;
    std::size_t header_bytes_ = 0;
    bool last_was_value_ = false;
    bool started_ = false;
    bool headers_done_ = false;
    bool ready_ = false;
    bool keep_alive_ = true;
    HttpParseError error_ = HttpParseError::none;
    std::string error_description_;
};

}  // namespace dance::proxy
