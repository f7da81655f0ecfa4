// decide_route(): which destination, or which TS002 answer, each request gets (docs/federation.md §2, §7).
#include <doctest/doctest.h>

#include <string>

#include "proxy/route/route_decision.hpp"

using namespace dance::proxy;
using dance::config::StaticRoute;

namespace {

dance::config::OutboundListener federation_listener() {
    dance::config::OutboundListener listener;
    listener.route.discover = true;
    listener.route.join_eui_suffix = "joineuis.example";
    listener.route.net_id_suffix = "netids.example";
    listener.route.port = 8443;
    // Longest first, as the config reader sorts them.
    listener.routes = {
        {StaticRoute::Match::any_hex, "0807060504030201", {"js.partner.example", 8003}},
        {StaticRoute::Match::join_eui, "70b3d57ed0", {"js.ttn.example", 443}},
        {StaticRoute::Match::net_id, "000505", {"hns.roaming.example", 8004}},
        {StaticRoute::Match::as_id, "as.example.com", {"as.example.com", 8006}},
    };
    return listener;
}

std::string body(std::string_view message_type, std::string_view receiver_id) {
    return R"({"ProtocolVersion":"1.0","SenderID":"000001","ReceiverID":")" + std::string(receiver_id) +
           R"(","TransactionID":1,"MessageType":")" + std::string(message_type) + R"("})";
}

RouteDecision decide(std::string_view message_type, std::string_view receiver_id) {
    return decide_route(federation_listener(), body(message_type, receiver_id));
}

}  // namespace

TEST_CASE("a JoinReq is routed by its JoinEUI to the TS002 §19.1 name, at the route's port") {
    RouteDecision decision = decide("JoinReq", "0x0102030405060708");
    REQUIRE(decision.routed);
    CHECK(decision.kind == ReceiverKind::join_eui);
    CHECK(decision.destination.discovered);
    CHECK(decision.destination.server.host == "8.0.7.0.6.0.5.0.4.0.3.0.2.0.1.0.joineuis.example");
    CHECK(decision.destination.server.port == 8443);
    CHECK(decision.destination.key() == "dns:8.0.7.0.6.0.5.0.4.0.3.0.2.0.1.0.joineuis.example:8443");
}

TEST_CASE("a PRStartReq is routed by its NetID, six digits in one label") {
    RouteDecision decision = decide("PRStartReq", "00050B");
    REQUIRE(decision.routed);
    CHECK(decision.kind == ReceiverKind::net_id);
    CHECK(decision.destination.server.host == "00050b.netids.example");
}

TEST_CASE("static routes win over DNS, longest prefix first, and only for their kind") {
    CHECK(decide("JoinReq", "0807060504030201").destination.server.host == "js.partner.example");
    CHECK_FALSE(decide("JoinReq", "0807060504030201").destination.discovered);
    CHECK(decide("RejoinReq", "70B3D57ED0000001").destination.server.host == "js.ttn.example");
    CHECK(decide("XmitDataReq", "000505").destination.server.host == "hns.roaming.example");
    // "joineui:70b3d57ed0" does not match a NetID, and "netid:000505" not a JoinEUI starting with it.
    CHECK(decide("JoinReq", "0005050000000000").destination.discovered);
    CHECK(decide("AppSKeyAns", "as.example.com").destination.server.host == "as.example.com");
}

TEST_CASE("a static route and its discovered twin use different pools") {
    RouteDestination fixed{{"js.example", 8003}, false};
    RouteDestination discovered{{"js.example", 8003}, true};
    CHECK(fixed.key() != discovered.key());
}

TEST_CASE("malformed ReceiverIDs get 400 MalformedRequest, never a DNS name") {
    for (std::string_view id : {"08070605040302zz", "080706050403020", "0x", "", "1.0.2.0", "0807060504030201.evil.example"}) {
        CAPTURE(id);
        RouteDecision decision = decide("JoinReq", id);
        CHECK_FALSE(decision.routed);
        CHECK(decision.refusal.status == 400);
        CHECK(decision.refusal.result_code == "MalformedRequest");
        CHECK(decision.refusal.metric_result == "malformed");
    }
    CHECK(decide("PRStartReq", "0005050").refusal.result_code == "MalformedRequest");
}

TEST_CASE("a body that is not a Backend Interfaces message, or names a header field twice, is malformed") {
    auto listener = federation_listener();
    for (std::string_view text : {"", "not json", "[]", R"({"ReceiverID":"0807060504030201"})",
                                  R"({"MessageType":"JoinReq","ReceiverID":"0807060504030201","receiverid":"0102030405060708"})"}) {
        CAPTURE(text);
        RouteDecision decision = decide_route(listener, text);
        CHECK_FALSE(decision.routed);
        CHECK(decision.refusal.result_code == "MalformedRequest");
    }
}

TEST_CASE("unknown MessageTypes, AS-IDs without a static route and kinds without a suffix are UnkownReceiver") {
    auto listener = federation_listener();
    listener.route.net_id_suffix.clear();
    for (auto [type, id] : {std::pair{"NotAMessage", "0807060504030201"}, {"joinreq", "0807060504030201"},
                            {"AppSKeyAns", "other-as.example.com"}, {"PRStartReq", "00050b"}}) {
        CAPTURE(type);
        RouteDecision decision = decide_route(listener, body(type, id));
        CHECK_FALSE(decision.routed);
        CHECK(decision.refusal.status == 200);
        CHECK(decision.refusal.result_code == "UnkownReceiver");
        CHECK(decision.refusal.metric_result == "unknown_receiver");
    }
}

TEST_CASE("a listener with static routes only never discovers") {
    auto listener = federation_listener();
    listener.route = {};
    CHECK(decide_route(listener, body("JoinReq", "0807060504030201")).routed);
    RouteDecision decision = decide_route(listener, body("JoinReq", "0102030405060708"));
    CHECK_FALSE(decision.routed);
    CHECK(decision.refusal.result_code == "UnkownReceiver");
}
