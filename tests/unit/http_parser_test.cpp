#include <doctest/doctest.h>

#include <string>

#include <event2/buffer.h>

#include "proxy/http/http_parser_request.hpp"
#include "proxy/http/http_parser_response.hpp"

using namespace dance;
using namespace dance::proxy;

TEST_CASE("a request split at every byte is reassembled") {
    const std::string wire =
        "POST /join HTTP/1.1\r\nHost: js.example\r\nX-Long: a b  \r\nContent-Length: 11\r\n\r\n{\"x\":\"abc\"}";
    HttpRequestParser parser;
    for (char c : wire) CHECK(parser.parse(std::string_view(&c, 1)) == 1);
    REQUIRE(parser.message_ready());
    CHECK(parser.keep_alive());
    auto request = parser.take_request();
    CHECK(request.method == "POST");
    CHECK(request.target == "/join");
    CHECK(request.header("host") == "js.example");
    CHECK(request.header("x-long") == "a b");
    CHECK(request.body == "{\"x\":\"abc\"}");
    CHECK_FALSE(parser.message_started());
}

TEST_CASE("pipelined requests are delivered one at a time, in order") {
    const std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string second = "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
    const std::string third = "GET /3 HTTP/1.0\r\n\r\n";
    const std::string wire = first + second + third;
    HttpRequestParser parser;
    std::size_t consumed = parser.parse(wire);
    CHECK(consumed == first.size());
    CHECK(parser.parse(std::string_view(wire).substr(consumed)) == 0);  // nothing until taken
    CHECK(parser.take_request().target == "/1");
    consumed += parser.parse(std::string_view(wire).substr(consumed));
    auto second_request = parser.take_request();
    CHECK(second_request.target == "/2");
    CHECK(second_request.body == "hi");
    consumed += parser.parse(std::string_view(wire).substr(consumed));
    CHECK(consumed == wire.size());
    REQUIRE(parser.message_ready());
    CHECK_FALSE(parser.keep_alive());
    CHECK(parser.take_request().version_minor == 0);
}

TEST_CASE("parse_from drains only the completed message from an evbuffer") {
    evbuffer* input = evbuffer_new();
    const std::string wire = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    evbuffer_add(input, wire.data(), wire.size());
    HttpRequestParser parser;
    CHECK(parser.parse_from(input));
    CHECK(evbuffer_get_length(input) == wire.size() / 2);
    CHECK(parser.take_request().target == "/a");
    CHECK(parser.parse_from(input));
    CHECK(parser.take_request().target == "/b");
    CHECK(evbuffer_get_length(input) == 0);
    evbuffer_free(input);
}

TEST_CASE("a chunked body is de-chunked") {
    const std::string wire =
        "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n";
    HttpRequestParser parser;
    CHECK(parser.parse(wire) == wire.size());
    REQUIRE(parser.message_ready());
    CHECK(parser.take_request().body == "Wikipedia");
}

TEST_CASE("limits: body and header sizes") {
    HttpParseLimits limits{.max_header_bytes = 100, .max_body_bytes = 8};
    SUBCASE("declared Content-Length over the limit fails at the headers") {
        HttpRequestParser parser(limits);
        parser.parse("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n");
        CHECK(parser.error() == HttpParseError::body_too_large);
    }
    SUBCASE("chunked body over the limit") {
        HttpRequestParser parser(limits);
        parser.parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n");
        CHECK(parser.error() == HttpParseError::body_too_large);
    }
    SUBCASE("body at the limit is fine") {
        HttpRequestParser parser(limits);
        parser.parse("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
        CHECK(parser.message_ready());
    }
    SUBCASE("header section over the limit") {
        HttpRequestParser parser(limits);
        parser.parse("GET / HTTP/1.1\r\nX-Big: " + std::string(120, 'a') + "\r\n\r\n");
        CHECK(parser.error() == HttpParseError::headers_too_large);
    }
}

TEST_CASE("malformed and unsupported requests") {
    for (std::string wire : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                             "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        CAPTURE(wire);
        HttpRequestParser parser;
        parser.parse(wire);
        CHECK(parser.error() == HttpParseError::malformed);
        CHECK_FALSE(parser.error_description().empty());
    }
    HttpRequestParser parser;
    parser.parse("CONNECT js:443 HTTP/1.1\r\n\r\n");
    CHECK(parser.error() == HttpParseError::unsupported);
}

TEST_CASE("Expect: 100-continue is visible once the headers are in") {
    HttpRequestParser parser;
    parser.parse("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    CHECK(parser.expects_continue());
    parser.parse("abcd");
    CHECK_FALSE(parser.expects_continue());
    CHECK(parser.message_ready());
}

TEST_CASE("responses: Content-Length, chunked, read-until-EOF, HEAD") {
    HttpResponseParser parser;
    parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    REQUIRE(parser.message_ready());
    auto response = parser.take_response();
    CHECK(response.status == 200);
    CHECK(response.reason == "OK");
    CHECK(response.body == "ok");

    parser.parse("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n");
    CHECK(parser.take_response().body == "ab");

    parser.expect_no_body(true);
    parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n");
    REQUIRE(parser.message_ready());
    CHECK(parser.take_response().body.empty());

    parser.parse("HTTP/1.0 200 OK\r\n\r\nuntil eof");
    CHECK_FALSE(parser.message_ready());
    CHECK(parser.finish_at_eof());
    CHECK_FALSE(parser.keep_alive());
    CHECK(parser.take_response().body == "until eof");
}

TEST_CASE("a response cut short by EOF is an error") {
    HttpResponseParser parser;
    parser.parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    CHECK_FALSE(parser.finish_at_eof());
    CHECK(parser.error() == HttpParseError::malformed);
}

namespace {

// Parses one whole request; returns the error (none when a request came out).
HttpParseError parse_error_of(const std::string& wire, HttpRequest* request = nullptr) {
    HttpRequestParser parser;
    parser.parse(wire);
    if (parser.failed()) return parser.error();
    if (!parser.message_ready()) return HttpParseError::malformed;  // incomplete counts as refused
    if (request != nullptr) *request = parser.take_request();
    return HttpParseError::none;
}

std::string post_with(const std::string& headers, const std::string& body = "hello") {
    return "POST / HTTP/1.1\r\nHost: a\r\n" + headers + "\r\n" + body;
}

}  // namespace

TEST_CASE("a header field name that is not a token is refused (whitespace before the colon included)") {
    for (std::string header : {"X-Dane-Client-Id : forged\r\nContent-Length: 5\r\n",
                               "Content-Length : 5\r\n", "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n",
                               "X-Dane-Client-Id\t: forged\r\nContent-Length: 5\r\n",
                               "X(Dane): forged\r\nContent-Length: 5\r\n", "X\"Id\": forged\r\nContent-Length: 5\r\n"}) {
        CAPTURE(header);
        CHECK(parse_error_of(post_with(header)) == HttpParseError::malformed);
    }
    HttpRequest request;
    CHECK(parse_error_of(post_with("X_Dane-Client.Id~!#$%&'*+^`|: ok\r\nContent-Length: 5\r\n"), &request) ==
          HttpParseError::none);
    CHECK(request.header("X_Dane-Client.Id~!#$%&'*+^`|") == "ok");
}

TEST_CASE("a control character in a header value is refused") {
    std::string nul_value = "X-A: a";
    nul_value += '\0';
    nul_value += "b\r\nContent-Length: 5\r\n";
    for (const std::string& header : {nul_value, std::string("X-A: a\x01" "b\r\nContent-Length: 5\r\n"),
                                      std::string("X-A: a\x7f\r\nContent-Length: 5\r\n")}) {
        CHECK(parse_error_of(post_with(header)) != HttpParseError::none);
    }
    HttpRequest request;
    CHECK(parse_error_of(post_with("X-A: a\tb\r\nContent-Length: 5\r\n"), &request) == HttpParseError::none);
    CHECK(request.header("x-a") == "a\tb");
}

TEST_CASE("an obsolete line folding never puts CR or LF into a header value") {
    HttpRequest request;
    HttpParseError error = parse_error_of(post_with("X-A: one\r\n two\r\nContent-Length: 5\r\n"), &request);
    if (error == HttpParseError::none) {
        for (const auto& [name, value] : request.headers) {
            CHECK(value.find_first_of("\r\n") == std::string::npos);
            CHECK(name.find_first_of("\r\n ") == std::string::npos);
        }
    }
}

TEST_CASE("chunked trailers never become headers") {
    HttpRequest request;
    std::string wire = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n0\r\nX-Dane-Client-Id: forged\r\nContent-Length: 9\r\n\r\n";
    REQUIRE(parse_error_of(wire, &request) == HttpParseError::none);
    CHECK(request.body == "hello");
    CHECK_FALSE(request.header("x-dane-client-id"));
    CHECK(request.headers.size() == 2);  // Host and Transfer-Encoding
}

TEST_CASE("a Transfer-Encoding other than exactly chunked is refused as unsupported") {
    for (std::string coding : {"gzip, chunked", "chunked, identity", "identity", "xchunked", "chunked;q=1", ""}) {
        CAPTURE(coding);
        std::string wire = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + coding + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        CHECK(parse_error_of(wire) != HttpParseError::none);
    }
    std::string twice = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n0\r\n\r\n";
    CHECK(parse_error_of(twice) == HttpParseError::unsupported);
    HttpRequest request;
    CHECK(parse_error_of("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n", &request) ==
          HttpParseError::none);
    CHECK(request.body == "hello");
}

TEST_CASE("duplicate or conflicting body framing is refused") {
    for (std::string headers : {"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n",
                                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "Content-Length: 5, 5\r\n",
                                "Content-Length: +5\r\n", "Content-Length: 0x5\r\n"}) {
        CAPTURE(headers);
        CHECK(parse_error_of(post_with(headers)) != HttpParseError::none);
    }
}

TEST_CASE("a field name that merely starts with Transfer-Encoding is refused (http-parser would treat it as one)") {
    for (std::string headers : {"Transfer-Encoding-X: a\r\nTransfer-Encoding: chunked\r\n",
                                "Transfer-EncodingX: a\r\nContent-Length: 5\r\n", "transfer-encoding-: a\r\nContent-Length: 5\r\n"}) {
        CAPTURE(headers);
        CHECK(parse_error_of(post_with(headers)) != HttpParseError::none);
    }
}

TEST_CASE("a response status below 100 is malformed, also when the body runs to the end of the connection") {
    for (std::string wire : {"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 1 Odd\r\n\r\nbody"}) {
        CAPTURE(wire);
        HttpResponseParser parser;
        parser.parse(wire);
        parser.finish_at_eof();
        CHECK(parser.failed());
        CHECK_FALSE(parser.message_ready());
    }
}

TEST_CASE("a request-target with a tab, a byte above 0x7E or a second Host is malformed") {
    for (std::string wire : {std::string("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),
                             std::string("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"),
                             std::string("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
                             std::string("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
                             std::string("GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n")}) {
        CAPTURE(wire);
        CHECK(parse_error_of(wire) == HttpParseError::malformed);
    }
    HttpRequest request;
    CHECK(parse_error_of("GET /api/%C3%A9?x=1&y=~ HTTP/1.1\r\nHost: a\r\nX-Host: b\r\n\r\n", &request) ==
          HttpParseError::none);
    CHECK(request.target == "/api/%C3%A9?x=1&y=~");
}
