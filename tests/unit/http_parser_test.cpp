#include <doctest/doctest.h>

#include <string>

#include <event2/buffer.h>

#include "proxy/http_parser_request.hpp"
#include "proxy/http_parser_response.hpp"

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
