#include <doctest/doctest.h>

#include <string>

#include "proxy/lorawan_message.hpp"

using dance::proxy::parse_backend_message;

TEST_CASE("a ChirpStack v3 JoinReq yields its header fields") {
    const auto message = parse_backend_message(
        R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201","TransactionID":1234,)"
        R"("MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.0.2",)"
        R"("PHYPayload":"00010203040506070808070605040302010201cde6acb8","DevEUI":"0102030405060708"})");
    REQUIRE(message);
    CHECK(message->message_type == "JoinReq");
    CHECK(message->sender_id == "010203");
    CHECK(message->receiver_id == "0807060504030201");
    CHECK(message->protocol_version == "1.0");
    CHECK(message->transaction_id == 1234u);
    CHECK(message->result_code == "");
}

TEST_CASE("an answer yields Result.ResultCode, not look-alike keys elsewhere") {
    const auto message = parse_backend_message(
        R"({"MessageType":"JoinAns","VSExtension":{"ResultCode":"Decoy","MessageType":"Decoy"},)"
        R"("Result":{"Details":{"ResultCode":"Nested"},"ResultCode":"MICFailed","Description":"invalid mic"},)"
        R"("TransactionID":4294967295,"SenderID":"0807060504030201"})");
    REQUIRE(message);
    CHECK(message->message_type == "JoinAns");
    CHECK(message->result_code == "MICFailed");
    CHECK(message->transaction_id == 4294967295u);
}

TEST_CASE("the bare error answer of ChirpStack v3 still gives a result code") {
    const auto message = parse_backend_message(R"({"ResultCode":"Other","Description":"bad json"})");
    REQUIRE(message);
    CHECK(message->message_type == "");
    CHECK(message->result_code == "Other");
}

TEST_CASE("odd TransactionID types are ignored, not misread") {
    CHECK_FALSE(parse_backend_message(R"({"TransactionID":-1})")->transaction_id);
    CHECK_FALSE(parse_backend_message(R"({"TransactionID":1.5})")->transaction_id);
    CHECK_FALSE(parse_backend_message(R"({"TransactionID":"12"})")->transaction_id);
    CHECK(parse_backend_message(R"({"TransactionID":0})")->transaction_id == 0u);
}

TEST_CASE("bodies that are not JSON objects give nullopt without throwing") {
    CHECK_FALSE(parse_backend_message(""));
    CHECK_FALSE(parse_backend_message("<html>502 Bad Gateway</html>"));
    CHECK_FALSE(parse_backend_message(R"({"MessageType":"JoinReq")"));
    CHECK_FALSE(parse_backend_message(R"(["JoinReq"])"));
    CHECK_FALSE(parse_backend_message("42"));
    CHECK_FALSE(parse_backend_message(R"("JoinReq")"));
    CHECK_FALSE(parse_backend_message(R"({"MessageType":"Join)" "\xff" R"("})"));
    CHECK_FALSE(parse_backend_message(R"({"a":1} trailing)"));
    CHECK(parse_backend_message("{}"));
}

TEST_CASE("deep nesting does not exhaust the stack") {
    std::string deep = R"({"MessageType":"JoinReq","x":)";
    for (int i = 0; i < 100000; ++i) deep += "[";
    for (int i = 0; i < 100000; ++i) deep += "]";
    deep += "}";
    const auto message = parse_backend_message(deep);
    REQUIRE(message);
    CHECK(message->message_type == "JoinReq");
}

TEST_CASE("reading stops once the wanted fields are known") {
    // Truncated after MessageType: only an early stop can make this succeed.
    std::string_view truncated = R"({"ProtocolVersion":"1.0","MessageType":"JoinReq","PHYPayload":"0001)";
    auto message = dance::proxy::parse_backend_message(truncated, dance::proxy::field_message_type);
    REQUIRE(message.has_value());
    CHECK(message->message_type == "JoinReq");
    CHECK_FALSE(dance::proxy::parse_backend_message(truncated).has_value());

    std::string_view answer = R"({"MessageType":"JoinAns","Result":{"ResultCode":"Success"},"AppSKey":{"AESKey":"ab)";
    auto result = dance::proxy::parse_backend_message(answer, dance::proxy::field_result_code);
    REQUIRE(result.has_value());
    CHECK(result->result_code == "Success");
}
