#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "proxy/lorawan/lorawan_answer.hpp"

using dance::proxy::answer_type_for;
using dance::proxy::error_answer_body;
using nlohmann::json;

namespace {
json answer_for(std::string_view request, std::string_view description = "peer unreachable") {
    return json::parse(error_answer_body(request, description));
}
}  // namespace

TEST_CASE("a JoinReq gets a JoinAns with swapped IDs and the TransactionID echoed") {
    const json answer = answer_for(
        R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201","TransactionID":1234,)"
        R"("MessageType":"JoinReq","MACVersion":"1.0.2","PHYPayload":"00010203","DevEUI":"0102030405060708"})",
        "dane: peer rejected our identity");
    CHECK(answer == json{{"ProtocolVersion", "1.0"},
                         {"SenderID", "0807060504030201"},
                         {"ReceiverID", "010203"},
                         {"TransactionID", 1234},
                         {"MessageType", "JoinAns"},
                         {"Result", {{"ResultCode", "Other"}, {"Description", "dane: peer rejected our identity"}}}});
}

TEST_CASE("every request type maps to its answer type") {
    CHECK(answer_type_for("JoinReq") == "JoinAns");
    CHECK(answer_type_for("RejoinReq") == "RejoinAns");
    CHECK(answer_type_for("AppSKeyReq") == "AppSKeyAns");
    CHECK(answer_type_for("PRStartReq") == "PRStartAns");
    CHECK(answer_type_for("PRStopReq") == "PRStopAns");
    CHECK(answer_type_for("ProfileReq") == "ProfileAns");
    CHECK(answer_type_for("XmitDataReq") == "XmitDataAns");
    CHECK(answer_type_for("HomeNSReq") == "HomeNSAns");
    CHECK(answer_type_for("FutureThingReq") == "FutureThingAns");
    CHECK(answer_type_for("JoinAns") == "");
    CHECK(answer_type_for("Req") == "");
    CHECK(answer_type_for("") == "");
}

TEST_CASE("roaming requests keep their ProtocolVersion and lack of TransactionID") {
    const json answer = answer_for(
        R"({"ProtocolVersion":"1.1","SenderID":"000202","ReceiverID":"000505","MessageType":"PRStartReq"})");
    CHECK(answer["MessageType"] == "PRStartAns");
    CHECK(answer["ProtocolVersion"] == "1.1");
    CHECK(answer["SenderID"] == "000505");
    CHECK(answer["ReceiverID"] == "000202");
    CHECK_FALSE(answer.contains("TransactionID"));
    CHECK(answer["Result"]["ResultCode"] == "Other");
}

TEST_CASE("ProtocolVersion defaults to 1.0 and key material is not copied") {
    const json answer = answer_for(
        R"({"MessageType":"HomeNSReq","TransactionID":7,"NwkSKey":{"AESKey":"df53c35f3034ccced0ff354c70de04df"}})");
    CHECK(answer["ProtocolVersion"] == "1.0");
    CHECK(answer["MessageType"] == "HomeNSAns");
    CHECK(answer["TransactionID"] == 7);
    CHECK_FALSE(answer.contains("NwkSKey"));
    CHECK(answer.dump().find("df53c35f") == std::string::npos);
}

TEST_CASE("non Backend Interfaces bodies get the bare Result form") {
    const json bare = json{{"ResultCode", "Other"}, {"Description", "bad request"}};
    CHECK(answer_for("not json", "bad request") == bare);
    CHECK(answer_for("", "bad request") == bare);
    CHECK(answer_for(R"({"MessageType":"JoinAns"})", "bad request") == bare);
    CHECK(answer_for(R"({"hello":"world"})", "bad request") == bare);
    CHECK(answer_for("[1,2]", "bad request") == bare);
}

TEST_CASE("descriptions are escaped, and invalid UTF-8 does not throw") {
    const json quoted = answer_for(R"({"MessageType":"JoinReq"})", "say \"hi\"\n");
    CHECK(quoted["Result"]["Description"] == "say \"hi\"\n");
    const std::string body = error_answer_body(R"({"MessageType":"JoinReq"})", "bad \xff byte");
    CHECK(json::accept(body));
}

TEST_CASE("a given ResultCode replaces Other in both forms") {
    const json answer = json::parse(error_answer_body(
        R"({"ProtocolVersion":"1.0","SenderID":"000202","ReceiverID":"0807060504030201","TransactionID":9,)"
        R"("MessageType":"PRStartReq"})",
        "SenderID not bound", "UnknownSender"));
    CHECK(answer["MessageType"] == "PRStartAns");
    CHECK(answer["ReceiverID"] == "000202");
    CHECK(answer["Result"] == json{{"ResultCode", "UnknownSender"}, {"Description", "SenderID not bound"}});
    CHECK(json::parse(error_answer_body("not json", "no", "UnknownSender")) ==
          json{{"ResultCode", "UnknownSender"}, {"Description", "no"}});
}
