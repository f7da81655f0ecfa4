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

namespace {

void check_same(std::string_view body, unsigned wanted) {
    const auto fast = parse_backend_message(body, wanted);
    const auto full = dance::proxy::parse_backend_message_sax(body, wanted);
    INFO("body: " << std::string(body) << " wanted: " << wanted);
    REQUIRE(fast.has_value() == full.has_value());
    if (!fast) return;
    CHECK(fast->message_type == full->message_type);
    CHECK(fast->sender_id == full->sender_id);
    CHECK(fast->receiver_id == full->receiver_id);
    CHECK(fast->result_code == full->result_code);
    CHECK(fast->transaction_id == full->transaction_id);
    CHECK(fast->protocol_version == full->protocol_version);
}

}  // namespace

TEST_CASE("the plain-JSON fast path answers as the full reader, for every prefix and every wanted set") {
    const std::string bodies[] = {
        R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201","TransactionID":1234,)"
        R"("MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.0.2",)"
        R"("PHYPayload":"00010203040506070808070605040302010201cde6acb8","DevEUI":"0102030405060708"})",
        R"({"AppSKey":{"AESKey":"00112233445566778899aabbccddeeff","KEKLabel":""},"Lifetime":0,)"
        R"("MessageType":"JoinAns","PHYPayload":"20aabb","ProtocolVersion":"1.0","ReceiverID":"010203",)"
        R"("Result":{"ResultCode":"Success"},"SenderID":"0807060504030201","TransactionID":1234})",
        R"({"MessageType":"JoinAns","VSExtension":{"ResultCode":"Decoy","MessageType":"Decoy"},)"
        R"("Result":{"Details":{"ResultCode":"Nested"},"ResultCode":"MICFailed","Description":"invalid mic"},)"
        R"("TransactionID":4294967295,"SenderID":"0807060504030201"})",
        R"({"Result":[{"ResultCode":"InArray"}],"ResultCode":"Other","x":[1,-2,3.5e-3,true,false,null,[],{}]})",
        R"( { "MessageType" : "JoinReq" , "TransactionID" : 0 , "a" : [ "MessageType" , { "ResultCode" : "x" } ] } )"
        "\n",
        R"({"TransactionID":-1,"MessageType":"JoinReq"})",
        R"({"TransactionID":1.5,"MessageType":"JoinReq"})",
        R"({"TransactionID":1e3,"MessageType":"JoinReq"})",
        R"({"TransactionID":-0,"MessageType":"JoinReq"})",
        R"({"TransactionID":18446744073709551615,"MessageType":"JoinReq"})",
        R"({"TransactionID":18446744073709551616,"MessageType":"JoinReq"})",
        R"({"TransactionID":"12","MessageType":"JoinReq"})",
        R"({"TransactionID":012,"MessageType":"JoinReq"})",
        R"({"MessageType":"Join\"Req","SenderID":"caf\u00e9"})",
        "{\"MessageType\":\"Join\xc3\xa9\",\"SenderID\":\"x\"}",
        "{\"MessageType\":\"Join\x7f\",\"SenderID\":\"x\tz\"}",
        "\xef\xbb\xbf{\"MessageType\":\"JoinReq\"}",
        R"({"MessageType":"JoinReq",})",
        R"({"MessageType":"JoinReq"} {})",
        R"({"MessageType":"JoinReq","a":[1,]})",
        R"({"MessageType":"JoinReq","a":tru})",
        R"({"MessageType":"JoinReq","a":-})",
        R"({"MessageType":"JoinReq","a":1.})",
        R"({"MessageType":"JoinReq","a":1e})",
        R"({"MessageType":"JoinReq" "a":1})",
        R"({"MessageType":"JoinReq","a":/*c*/1})",
        R"({"Result":{"ResultCode":"Success"}})",
        R"({"Result":"Success","ResultCode":"Other"})",
        R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"A":{"B":{"C":{"D":{"E":{"F":{"G":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}},"MessageType":"JoinReq"})",
        R"(["JoinReq"])",
        R"("JoinReq")",
        "42",
        "{}",
        "",
    };
    const unsigned wanted_sets[] = {dance::proxy::all_backend_fields, dance::proxy::field_message_type,
                                    dance::proxy::field_result_code,
                                    dance::proxy::field_sender_id | dance::proxy::field_message_type,
                                    dance::proxy::field_transaction_id, 0u};
    for (const std::string& body : bodies) {
        for (std::size_t length = 0; length <= body.size(); ++length) {
            for (unsigned wanted : wanted_sets) check_same(std::string_view(body).substr(0, length), wanted);
        }
    }
}
