// Incremental parser for the requests arriving on a server connection.
#pragma once

#include <utility>

#include "proxy/http/http_parser_core.hpp"

namespace dance::proxy {

class HttpRequestParser : public HttpParserCore {
public:
    explicit HttpRequestParser(HttpParseLimits limits = {}) : HttpParserCore(HTTP_REQUEST, limits) {}

    // The completed request; parsing resumes with the next pipelined one. Requires message_ready().
    HttpRequest take_request() {
        HttpRequest request = std::move(request_);
        reset_for_next_message();
        return request;
    }

    // The headers are in and ask for "100 Continue" before the body is sent.
    bool expects_continue() const {
        auto expect = request_.header("expect");
        return headers_complete() && !message_ready() && expect && iequals(*expect, "100-continue");
    }
};

}  // namespace dance::proxy
