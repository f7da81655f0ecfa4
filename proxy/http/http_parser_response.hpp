// Incremental parser for the responses arriving on an upstream connection.
#pragma once

#include <utility>

#include "proxy/http/http_parser_core.hpp"

namespace dance::proxy {

class HttpResponseParser : public HttpParserCore {
public:
    explicit HttpResponseParser(HttpParseLimits limits = {}) : HttpParserCore(HTTP_RESPONSE, limits) {}

    // The next response answers a HEAD request: it has headers only, whatever its Content-Length says.
    void expect_no_body(bool no_body) { skip_body_ = no_body; }

    // The completed response; parsing resumes with the next one. Requires message_ready().
    HttpResponse take_response() {
        HttpResponse response = std::move(response_);
        reset_for_next_message();
        return response;
    }
};

}  // namespace dance::proxy
