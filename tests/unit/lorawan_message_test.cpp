#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "proxy/lorawan/lorawan_message.hpp"

using namespace dance;
using namespace dance::proxy;

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
    CHECK_FALSE(parse_backend_message(R"({"TransactionID":1e3})")->transaction_id);
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
    CHECK_FALSE(parse_backend_message(R"({"MessageType":"JoinReq"} {})"));
    // Invalid anywhere, even after the header fields: not a message.
    CHECK_FALSE(parse_backend_message(R"({"MessageType":"JoinReq","PHYPayload":00x1})"));
    CHECK(parse_backend_message("{}"));
}

TEST_CASE("invalid JSON anywhere in the body is refused") {
    const std::string invalid[] = {
        "{\"MessageType\":\"Join\xc3\",\"SenderID\":\"x\"}",  // broken UTF-8
        "{\"MessageType\":\"JoinReq\",\"SenderID\":\"x\tz\"}",  // raw control character
        R"({"TransactionID":012,"MessageType":"JoinReq"})",
        R"({"MessageType":"JoinReq",})",
        R"({"MessageType":"JoinReq","a":[1,]})",
        R"({"MessageType":"JoinReq","a":tru})",
        R"({"MessageType":"JoinReq","a":-})",
        R"({"MessageType":"JoinReq","a":1.})",
        R"({"MessageType":"JoinReq","a":1e})",
        R"({"MessageType":"JoinReq" "a":1})",
        R"({"MessageType":"JoinReq","a":/*c*/1})",
    };
    for (const std::string& body : invalid) {
        INFO("body: " << body);
        CHECK_FALSE(parse_backend_message(body));
        CHECK_FALSE(parse_backend_message_strictly(body));
    }
}

TEST_CASE("valid JSON that simdjson refuses is not a message either") {
    CHECK_FALSE(parse_backend_message(R"({"TransactionID":18446744073709551616})"));  // beyond 64 bits
    // byte order mark: simdjson 3.12 skips it, we refuse it whatever the version
    CHECK_FALSE(parse_backend_message("\xef\xbb\xbf{\"MessageType\":\"JoinReq\"}"));
    CHECK_FALSE(parse_backend_message_strictly("\xef\xbb\xbf{\"MessageType\":\"JoinReq\"}"));
}

TEST_CASE("deep nesting neither exhausts the stack nor passes for a message") {
    std::string deep = R"({"MessageType":"JoinReq","x":)";
    for (int i = 0; i < 100000; ++i) deep += "[";
    for (int i = 0; i < 100000; ++i) deep += "]";
    deep += "}";
    CHECK_FALSE(parse_backend_message(deep));  // deeper than simdjson's 1024 levels
}

TEST_CASE("a body larger than the reused parser's size is read by a parser of its own") {
    std::string body = R"({"MessageType":"JoinReq","VSExtension":{"Padding":")" + std::string(200 * 1024, 'a') +
                       R"("},"SenderID":"010203"})";
    const auto message = parse_backend_message(body);
    REQUIRE(message);
    CHECK(message->sender_id == "010203");
    CHECK(parse_backend_message(R"({"MessageType":"JoinAns"})")->message_type == "JoinAns");  // reused one intact
}

TEST_CASE("a field named twice counts once, the last one, as Go's encoding/json reads it") {
    CHECK(parse_backend_message(R"({"SenderID":"010203","SenderID":"999999"})")->sender_id == "999999");
}

TEST_CASE("the strict reader refuses what the backend could read differently") {
    const auto join = parse_backend_message_strictly(R"({"MessageType":"JoinReq","SenderID":"010203"})");
    REQUIRE(join);
    CHECK(join->sender_id == "010203");
    CHECK_FALSE(parse_backend_message_strictly(R"({"SenderID":"010203","SenderID":"999999"})"));
    CHECK_FALSE(parse_backend_message_strictly(R"({"SenderID":"010203","senderid":"999999"})"));
    CHECK_FALSE(parse_backend_message_strictly(R"({"SenderID":"010203","Sender\u0049D":"999999"})"));
    CHECK_FALSE(parse_backend_message_strictly(R"({"SenderID":"010203","\u017fenderID":"999999"})"));
    CHECK_FALSE(parse_backend_message_strictly(R"({"MessageType":"JoinReq","messagetype":"PRStartReq"})"));
    CHECK_FALSE(parse_backend_message_strictly(R"({"SenderID":"010203"} {"SenderID":"999999"})"));
    // Repeated fields nobody decides on, and nested look-alikes, are left to the backend.
    const auto repeated = parse_backend_message_strictly(
        R"({"SenderID":"010203","VSExtension":{"SenderID":"x","senderid":"y"},"DevEUI":"01","DevEUI":"02"})");
    REQUIRE(repeated);
    CHECK(repeated->sender_id == "010203");
}

namespace {

// The reference: nlohmann, the JSON library the project uses elsewhere, reading the same fields.
std::optional<BackendMessage> reference_parse(std::string_view body) {
    const nlohmann::json document = nlohmann::json::parse(body, nullptr, false);
    if (!document.is_object()) return std::nullopt;
    BackendMessage message;
    auto text = [&](const nlohmann::json& object, const char* key, std::string& slot) {
        if (auto it = object.find(key); it != object.end() && it->is_string()) slot = it->get<std::string>();
    };
    text(document, "MessageType", message.message_type);
    text(document, "SenderID", message.sender_id);
    text(document, "ReceiverID", message.receiver_id);
    text(document, "ProtocolVersion", message.protocol_version);
    text(document, "ResultCode", message.result_code);
    if (auto result = document.find("Result"); result != document.end() && result->is_object()) {
        text(*result, "ResultCode", message.result_code);
    }
    if (auto id = document.find("TransactionID"); id != document.end() && id->is_number_integer()) {
        if (id->is_number_unsigned() || id->get<int64_t>() >= 0) message.transaction_id = id->get<uint64_t>();
    }
    return message;
}

}  // namespace

TEST_CASE("simdjson reads what nlohmann reads from valid bodies, and refuses every invalid prefix") {
    const std::string valid[] = {
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
        R"({"TransactionID":18446744073709551615,"MessageType":"JoinReq"})",
        R"({"TransactionID":"12","MessageType":"JoinReq"})",
        R"({"MessageType":"Join\"Req","SenderID":"caf\u00e9"})",
        R"({"Result":{"ResultCode":"Success"}})",
        R"({"Result":"Success","ResultCode":"Other"})",
        R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"A":{"B":{"C":{"D":{"E":{"F":{"G":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}},"MessageType":"JoinReq"})",
        "{}",
        "",
    };
    for (const std::string& body : valid) {
        INFO("body: " << body);
        const auto ours = parse_backend_message(body);
        const auto reference = reference_parse(body);
        REQUIRE(ours.has_value() == reference.has_value());
        if (!ours) continue;
        CHECK(ours->message_type == reference->message_type);
        CHECK(ours->sender_id == reference->sender_id);
        CHECK(ours->receiver_id == reference->receiver_id);
        CHECK(ours->result_code == reference->result_code);
        CHECK(ours->transaction_id == reference->transaction_id);
        CHECK(ours->protocol_version == reference->protocol_version);
        for (std::size_t length = 0; length < body.size(); ++length) {
            const std::string_view prefix = std::string_view(body).substr(0, length);
            if (!reference_parse(prefix)) CHECK_FALSE(parse_backend_message(prefix));
        }
    }
}
