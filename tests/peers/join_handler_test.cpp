// The join server's answers: the golden JoinAns byte for byte, and ChirpStack v3's error answers.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/peers/aes.hpp"
#include "tests/peers/join_server/join_handler.hpp"
#include "tests/peers/vectors.hpp"

using namespace dance::peers;
using nlohmann::json;
namespace v = dance::peers::vectors;

namespace {

JoinServerConfig golden_config() {
    JoinServerConfig config;
    add_device_option(std::string(v::kDevEui) + ":" + v::kNwkKey + ":" + v::kAppKey11 + ":" +
                          std::to_string(v::kStoredJoinNonce),
                      config);
    return config;
}

json golden_request() { return json::parse(v::kJoinReqV3); }

}  // namespace

TEST_CASE("the golden JoinReq gets exactly the golden JoinAns, and the JoinNonce advances") {
    JoinHandler handler(golden_config());
    const HttpAnswer answer = handler.answer(v::kJoinReqV3);
    CHECK(answer.status == 200);
    CHECK(answer.message_type == "JoinReq");
    CHECK(json::parse(answer.body) == json::parse(v::kJoinAnsV3));

    const json second = json::parse(handler.answer(v::kJoinReqV3).body);
    CHECK(second["Result"]["ResultCode"] == "Success");
    CHECK(second["PHYPayload"] != v::kJoinAccept10);
}

TEST_CASE("a LoRaWAN 1.1 JoinReq gets the golden 1.1 JoinAccept and four session keys") {
    JoinHandler handler(golden_config());
    json request = golden_request();
    request["MACVersion"] = "1.1.0";
    request["DLSettings"] = "95";
    const json answer = json::parse(handler.answer(request.dump()).body);
    CHECK(answer["PHYPayload"] == v::kJoinAccept11);
    CHECK(answer["SNwkSIntKey"]["AESKey"] == v::kSNwkSIntKey);
    CHECK(answer["FNwkSIntKey"]["AESKey"] == v::kFNwkSIntKey);
    CHECK(answer["NwkSEncKey"]["AESKey"] == v::kNwkSEncKey);
    CHECK(answer["AppSKey"]["AESKey"] == v::kAppSKey11);
    CHECK_FALSE(answer.contains("NwkSKey"));
}

TEST_CASE("with a KEK the session keys travel wrapped under its label") {
    JoinServerConfig config = golden_config();
    config.kek = parse_kek_option(std::string("ns-kek:") + v::kKek);
    JoinHandler handler(std::move(config));
    const json answer = json::parse(handler.answer(v::kJoinReqV3).body);
    CHECK(answer["NwkSKey"]["KEKLabel"] == "ns-kek");
    const auto wrapped = from_hex(answer["NwkSKey"]["AESKey"].get<std::string>()).value();
    CHECK(to_hex(aes_key_unwrap(fixed_from_hex<16>(v::kKek).value(), wrapped).value()) == v::kNwkSKey);
}

TEST_CASE("a bad MIC gets HTTP 200 MICFailed without PHYPayload, and does not use a JoinNonce") {
    JoinHandler handler(golden_config());
    json request = golden_request();
    request["PHYPayload"] = "00010203040506070808070605040302010201cde6acb9";
    const HttpAnswer answer = handler.answer(request.dump());
    CHECK(answer.status == 200);
    const json body = json::parse(answer.body);
    CHECK(body["Result"] == json{{"ResultCode", "MICFailed"}, {"Description", "invalid mic"}});
    CHECK(body["MessageType"] == "JoinAns");
    CHECK(body["TransactionID"] == 1234);
    CHECK_FALSE(body.contains("PHYPayload"));
    CHECK(json::parse(handler.answer(v::kJoinReqV3).body)["PHYPayload"] == v::kJoinAccept10);
}

TEST_CASE("an unknown DevEUI gets HTTP 400 UnknownDevEUI") {
    JoinServerConfig config;
    JoinHandler handler(std::move(config));
    const HttpAnswer answer = handler.answer(v::kJoinReqV3);
    CHECK(answer.status == 400);
    CHECK(json::parse(answer.body)["Result"] ==
          json{{"ResultCode", "UnknownDevEUI"}, {"Description", "deveui does not exist"}});
}

TEST_CASE("unparseable JSON and other MessageTypes get HTTP 400 with a bare Result") {
    JoinHandler handler(golden_config());
    const HttpAnswer garbage = handler.answer("{\"MessageType\":");
    CHECK(garbage.status == 400);
    CHECK(json::parse(garbage.body)["ResultCode"] == "Other");
    CHECK_FALSE(json::parse(garbage.body).contains("MessageType"));
    const HttpAnswer home_ns = handler.answer(R"({"MessageType":"HomeNSReq","TransactionID":1})");
    CHECK(home_ns.status == 400);
    CHECK(home_ns.message_type == "HomeNSReq");
}

TEST_CASE("fields of the wrong type or size give MalformedRequest, never an exception") {
    JoinHandler handler(golden_config());
    for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
             {"DevAddr", 5}, {"DLSettings", "1515"}, {"RxDelay", "1"}, {"CFList", "98"}, {"SenderID", json::array()},
             {"PHYPayload", "00"}}) {
        json request = golden_request();
        request[field] = value;
        const HttpAnswer answer = handler.answer(request.dump());
        CHECK(answer.status == 400);
        CHECK(json::parse(answer.body)["Result"]["ResultCode"] == "MalformedRequest");
    }
}
