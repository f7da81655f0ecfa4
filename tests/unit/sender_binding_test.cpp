#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "proxy/auth/sender_binding.hpp"

using dance::proxy::normalize_sender_id;
using dance::proxy::SenderBinding;

namespace {

// As the config loader stores it: allow entries lower-cased, SenderIDs lower-case hex without 0x.
SenderBinding operators() {
    return SenderBinding({{"_ns-client.ns-a.example", {"010203"}},
                          {"*.operator-b.example", {"000202", "0807060504030201"}},
                          {"roaming.operator-b.example", {"00000b"}}});
}

std::string join_request(std::string_view sender_id) {
    return R"({"ProtocolVersion":"1.0","SenderID":")" + std::string(sender_id) +
           R"(","ReceiverID":"0807060504030201","TransactionID":1,"MessageType":"JoinReq",)"
           R"("DevEUI":"0102030405060708"})";
}

}  // namespace

TEST_CASE("an exact entry allows exactly its SenderIDs") {
    const SenderBinding binding = operators();
    CHECK(binding.enabled());
    CHECK(binding.allows("_ns-client.ns-a.example", "010203"));
    CHECK_FALSE(binding.allows("_ns-client.ns-a.example", "000202"));
    CHECK_FALSE(binding.allows("other.ns-a.example", "010203"));
}

TEST_CASE("a wildcard entry covers names below its zone, not the zone itself") {
    const SenderBinding binding = operators();
    CHECK(binding.allows("ns.operator-b.example", "000202"));
    CHECK(binding.allows("a.b.operator-b.example", "0807060504030201"));
    CHECK_FALSE(binding.allows("operator-b.example", "000202"));
    CHECK_FALSE(binding.allows("ns.operator-b.example", "010203"));
}

TEST_CASE("every matching entry contributes: the allowed set is the union") {
    const SenderBinding binding = operators();
    // roaming.operator-b.example matches both its exact entry and *.operator-b.example.
    CHECK(binding.allows("roaming.operator-b.example", "00000b"));
    CHECK(binding.allows("roaming.operator-b.example", "000202"));
    // ns.operator-b.example matches only the wildcard.
    CHECK_FALSE(binding.allows("ns.operator-b.example", "00000b"));
}

TEST_CASE("case and a 0x prefix do not matter, on either side") {
    const SenderBinding binding = operators();
    CHECK(binding.allows("_NS-Client.NS-A.example", "010203"));
    CHECK(binding.allows("NS.Operator-B.EXAMPLE", "0x0807060504030201"));
    CHECK(binding.allows("ns.operator-b.example", "0X000202"));
    CHECK(binding.allows("ns.operator-b.example", "08070605040302AB") == false);
    CHECK(normalize_sender_id("0xABCDEF") == "abcdef");
    CHECK(normalize_sender_id("0XAbCdEf0102030405") == "abcdef0102030405");
    CHECK(normalize_sender_id("010203") == "010203");
}

TEST_CASE("no identity or no SenderID is never allowed") {
    const SenderBinding binding = operators();
    CHECK_FALSE(binding.allows("", "010203"));
    CHECK_FALSE(binding.allows("_ns-client.ns-a.example", ""));
    CHECK_FALSE(binding.allows("_ns-client.ns-a.example", "0x"));
}

TEST_CASE("check() reads MessageType and SenderID from the body") {
    const SenderBinding binding = operators();
    auto passed = binding.check("_ns-client.ns-a.example", join_request("010203"));
    CHECK(passed.allowed);
    CHECK(passed.message_type == "JoinReq");
    CHECK(passed.sender_id == "010203");

    auto refused = binding.check("_ns-client.ns-a.example", join_request("000202"));
    CHECK_FALSE(refused.allowed);
    CHECK(refused.message_type == "JoinReq");
    CHECK(refused.sender_id == "000202");
}

TEST_CASE("with a binding, bodies without a usable SenderID are refused (fail closed)") {
    const SenderBinding binding = operators();
    CHECK_FALSE(binding.check("_ns-client.ns-a.example", "not json").allowed);
    CHECK_FALSE(binding.check("_ns-client.ns-a.example", "").allowed);
    CHECK_FALSE(binding.check("_ns-client.ns-a.example", R"({"MessageType":"JoinReq"})").allowed);
    CHECK_FALSE(binding.check("_ns-client.ns-a.example", R"({"SenderID":010203})").allowed);
    CHECK_FALSE(binding.check("", join_request("010203")).allowed);  // unauthenticated (optional mode)
    CHECK_FALSE(binding.check("unknown.example", join_request("010203")).allowed);
}

TEST_CASE("without a binding every request passes, as before") {
    const SenderBinding none;
    CHECK_FALSE(none.enabled());
    CHECK(none.check("", "not json").allowed);
    CHECK(none.check("anyone.example", join_request("ffffff")).allowed);
    CHECK_FALSE(SenderBinding(std::map<std::string, std::vector<std::string>>{}).enabled());
}
