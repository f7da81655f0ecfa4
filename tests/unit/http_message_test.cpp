#include <doctest/doctest.h>

#include "proxy/http/http_message.hpp"

using namespace dance;
using namespace dance::proxy;

TEST_CASE("header helpers are case-insensitive and handle duplicates") {
    HttpRequest request;
    request.add_header("X-Test", "1");
    request.add_header("x-test", "2");
    request.add_header("Host", "a");
    CHECK(request.header("X-TEST") == "1");
    CHECK(request.remove_header("X-Test") == 2);
    CHECK_FALSE(request.header("x-test"));
    request.set_header("host", "b");
    REQUIRE(request.headers.size() == 1);
    CHECK(request.headers[0] == HttpHeader{"host", "b"});
}

TEST_CASE("keep-alive follows the version and the Connection tokens") {
    HttpRequest request;
    CHECK(request.wants_keep_alive());
    request.add_header("Connection", "foo, Close");
    CHECK_FALSE(request.wants_keep_alive());
    HttpRequest old;
    old.version_minor = 0;
    CHECK_FALSE(old.wants_keep_alive());
    old.add_header("Connection", "keep-alive");
    CHECK(old.wants_keep_alive());
}

TEST_CASE("hop-by-hop headers and those named by Connection are stripped") {
    HttpRequest request;
    request.headers = {{"Host", "js"},         {"Connection", "keep-alive, X-Private"},
                       {"Keep-Alive", "300"},  {"TE", "trailers"},
                       {"Trailer", "x"},       {"Transfer-Encoding", "chunked"},
                       {"Upgrade", "h2c"},     {"Proxy-Authorization", "secret"},
                       {"X-Private", "1"},     {"Content-Length", "3"},
                       {"Expect", "100-continue"}, {"Content-Type", "application/json"}};
    strip_hop_by_hop_headers(request);
    CHECK(request.headers == std::vector<HttpHeader>{{"Host", "js"}, {"Content-Type", "application/json"}});
}

TEST_CASE("serialisation always frames the body with Content-Length") {
    HttpRequest request;
    request.method = "POST";
    request.target = "/api";
    request.headers = {{"Host", "js"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "99"}};
    request.body = "{\"a\":1}";
    CHECK(serialize(request) == "POST /api HTTP/1.1\r\nHost: js\r\nContent-Length: 7\r\n\r\n{\"a\":1}");

    HttpRequest get;
    get.method = "GET";
    get.target = "/";
    CHECK(serialize(get) == "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");

    auto response = make_response(413, "too big");
    CHECK(serialize(response) ==
          "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\ntoo big");
    HttpResponse no_content;
    no_content.status = 204;
    no_content.reason = "Nothing";
    CHECK(serialize(no_content) == "HTTP/1.1 204 Nothing\r\n\r\n");
}

TEST_CASE("every spelling of a header name a backend could read as the same is removed") {
    HttpMessage message;
    for (const char* name : {"X-Dane-Client-Id", "x-dane-client-id", "X_Dane_Client_Id", "x_DANE-client_ID",
                             "X.Dane.Client.Id", "X~Dane~Client~Id", "X!Dane|Client^Id",
                             "X-Dane-Client-Idx", "X-Dane-Client", "XDane-Client-Id"}) {
        message.add_header(name, "forged");
    }
    CHECK(message.remove_header_spellings("X-Dane-Client-Id") == 7);
    REQUIRE(message.headers.size() == 3);
    CHECK(message.headers[0].first == "X-Dane-Client-Idx");
    CHECK(same_field_name_spelling("Content_Length", "content-length"));
    CHECK_FALSE(same_field_name_spelling("Content-Lengt", "content-length"));
}

TEST_CASE("field names: RFC 9110 tokens only; field values: no control characters but HTAB") {
    CHECK(is_field_name_token("X-Dane-Client-Id"));
    CHECK(is_field_name_token("!#$%&'*+-.^_`|~09azAZ"));
    for (std::string_view name : {"", "X-A ", " X-A", "X\tA", "X:A", "X(A)", "X/A", "X@A", "X\"A", "é"}) {
        CAPTURE(name);
        CHECK_FALSE(is_field_name_token(name));
    }
    CHECK(is_field_value_text("a b\tc \x80\xff"));
    for (std::string_view value : {std::string_view("a\rb"), std::string_view("a\nb"), std::string_view("a\0b", 3),
                                   std::string_view("\x7f")}) {
        CHECK_FALSE(is_field_value_text(value));
    }
}

TEST_CASE("stripping hop-by-hop headers is linear: 12,000 Connection tokens over 5,000 headers") {
    HttpMessage message;
    std::string tokens;
    for (int i = 0; i < 12000; ++i) tokens += "t" + std::to_string(i) + ",";
    message.add_header("Connection", tokens);
    for (int i = 0; i < 5000; ++i) message.add_header("h" + std::to_string(i), "v");
    message.add_header("T5", "named by Connection, any case");
    message.add_header("Keep", "kept");
    strip_hop_by_hop_headers(message);
    REQUIRE(message.headers.size() == 5001);  // h0..h4999 and Keep
    CHECK(message.header("keep") == "kept");
    CHECK_FALSE(message.header("connection"));
    CHECK_FALSE(message.header("t5"));
}
