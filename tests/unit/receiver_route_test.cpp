#include <doctest/doctest.h>

#include <string>

#include "base/dns_name.hpp"
#include "proxy/lorawan/receiver_route.hpp"

using namespace dance::proxy;
using dance::normalize_federation_suffix;

namespace {

const std::string joineuis = "joineuis.lora-alliance.org";
const std::string netids = "netids.lora-alliance.org";

std::string name_or_why(ReceiverKind kind, std::string_view id) {
    std::string why;
    auto name = receiver_dns_name(kind, id, joineuis, netids, why);
    return name ? *name : "error: " + why;
}

}  // namespace

TEST_CASE("TS002 1.0 §19.1 examples: JoinEUI nibbles low-order first, NetID nibbles high-order first") {
    // The specification's own examples, lower-cased (DNS names compare without regard to case).
    CHECK(join_eui_dns_name("00005e100000002f", joineuis) ==
          "f.2.0.0.0.0.0.0.0.1.e.5.0.0.0.0.joineuis.lora-alliance.org");
    CHECK(net_id_dns_name("00050a", netids) == "00050a.netids.lora-alliance.org");
}

TEST_CASE("the same names as ChirpStack v3 and v4 and The Things Stack build") {
    // The Things Stack's JoinServerFQDN test vector (pkg/interop): 70b3d57ed0000000.
    CHECK(name_or_why(ReceiverKind::join_eui, "70b3d57ed0000000") ==
          "0.0.0.0.0.0.0.d.e.7.5.d.3.b.0.7.joineuis.lora-alliance.org");
    // lorawan-vectors.md JoinReq: ReceiverID 0807060504030201; roaming: NetID 000505.
    CHECK(name_or_why(ReceiverKind::join_eui, "0807060504030201") ==
          "1.0.2.0.3.0.4.0.5.0.6.0.7.0.8.0.joineuis.lora-alliance.org");
    CHECK(name_or_why(ReceiverKind::net_id, "000505") == "000505.netids.lora-alliance.org");
}

TEST_CASE("ReceiverIDs are read as TS002 §22.3 allows: 0x prefix and either case, then lower-cased") {
    std::string why;
    CHECK(normalize_receiver_id(ReceiverKind::join_eui, "0x0807060504030201", why) == "0807060504030201");
    CHECK(normalize_receiver_id(ReceiverKind::join_eui, "0XABCDEF0123456789", why) == "abcdef0123456789");
    CHECK(normalize_receiver_id(ReceiverKind::net_id, "00050A", why) == "00050a");
    CHECK(normalize_receiver_id(ReceiverKind::net_id, "0xC00053", why) == "c00053");
    CHECK(name_or_why(ReceiverKind::join_eui, "0x00005E100000002F") ==
          "f.2.0.0.0.0.0.0.0.1.e.5.0.0.0.0.joineuis.lora-alliance.org");
}

TEST_CASE("a ReceiverID that is not hex, or not the kind's length, has no name") {
    std::string why;
    for (std::string_view bad : {"", "0x", "080706050403020", "08070605040302010", "010203", "0807060504030g01",
                                 "0807 60504030201", "0807060504030201.", "-807060504030201", "0x0x07060504030201",
                                 "08070605040302\xff", "zz.example"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(normalize_receiver_id(ReceiverKind::join_eui, bad, why));
        CHECK_FALSE(why.empty());
    }
    for (std::string_view bad : {"", "0x", "00050", "0005050", "0807060504030201", "00050g", "0x00 50a", "00.50a"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(normalize_receiver_id(ReceiverKind::net_id, bad, why));
        CHECK_FALSE(why.empty());
    }
    CHECK(name_or_why(ReceiverKind::net_id, "0807060504030201") ==
          "error: ReceiverID is a NetID: 6 hex digits expected, got 16 characters");
    CHECK(name_or_why(ReceiverKind::join_eui, "0807060504030g01") == "error: ReceiverID is a JoinEUI: not hexadecimal");
}

TEST_CASE("an embedded label separator cannot steer the name into another zone") {
    // Only hex digits reach the name: no dot, no escape, no wildcard can come from the message.
    std::string why;
    CHECK_FALSE(receiver_dns_name(ReceiverKind::net_id, "a.evil", joineuis, netids, why));
    CHECK_FALSE(receiver_dns_name(ReceiverKind::net_id, "*.0505", joineuis, netids, why));
    CHECK_FALSE(receiver_dns_name(ReceiverKind::join_eui, "\\046\\046\\046\\046", joineuis, netids, why));
}

TEST_CASE("AS-IDs and unknown message types have no DNS name") {
    std::string why;
    CHECK_FALSE(receiver_dns_name(ReceiverKind::as_id, "as.example.com", joineuis, netids, why));
    CHECK(why == "an AS-ID has no DNS name");
    CHECK_FALSE(receiver_dns_name(ReceiverKind::unknown, "0807060504030201", joineuis, netids, why));
    CHECK(why == "not a Backend Interfaces message type");
}

TEST_CASE("a kind without a configured suffix has no name") {
    std::string why;
    CHECK_FALSE(receiver_dns_name(ReceiverKind::net_id, "000505", joineuis, "", why));
    CHECK(why == "no federation suffix for NetIDs");
    CHECK(receiver_dns_name(ReceiverKind::join_eui, "0807060504030201", joineuis, "", why));
}

TEST_CASE("MessageType decides the receiver kind (TS002 1.0 Table 12)") {
    for (std::string_view type : {"JoinReq", "RejoinReq", "AppSKeyReq", "HomeNSReq"}) {
        CAPTURE(type);
        CHECK(receiver_kind_for(type) == ReceiverKind::join_eui);
    }
    for (std::string_view type : {"PRStartReq", "PRStopReq", "HRStartReq", "HRStopReq", "ProfileReq", "XmitDataReq",
                                  "PRStartAns", "PRStopAns", "HRStartAns", "HRStopAns", "ProfileAns", "XmitDataAns",
                                  "JoinAns", "RejoinAns", "HomeNSAns"}) {
        CAPTURE(type);
        CHECK(receiver_kind_for(type) == ReceiverKind::net_id);
    }
    CHECK(receiver_kind_for("AppSKeyAns") == ReceiverKind::as_id);
    for (std::string_view type : {"", "joinreq", "JOINREQ", "JoinReq ", "Join", "ErrorNotif", "JoinReqX"}) {
        CAPTURE(type);
        CHECK(receiver_kind_for(type) == ReceiverKind::unknown);
    }
}

TEST_CASE("receiver kinds name a fixed set of metric label values") {
    CHECK(to_string(ReceiverKind::join_eui) == "join_eui");
    CHECK(to_string(ReceiverKind::net_id) == "net_id");
    CHECK(to_string(ReceiverKind::as_id) == "as_id");
    CHECK(to_string(ReceiverKind::unknown) == "unknown");
}

TEST_CASE("federation suffixes: ChirpStack v3's leading dot, a trailing dot and upper case are accepted") {
    std::string why;
    CHECK(normalize_federation_suffix(".joineuis.lora-alliance.org", why) == "joineuis.lora-alliance.org");
    CHECK(normalize_federation_suffix("JOINEUIS.LORA-ALLIANCE.ORG.", why) == "joineuis.lora-alliance.org");
    CHECK(normalize_federation_suffix("joineuis.iotreg.net", why) == "joineuis.iotreg.net");
    CHECK(normalize_federation_suffix("netids.lora-alliance.org", why) == "netids.lora-alliance.org");
}

TEST_CASE("federation suffixes that are not host names, or too long for a JoinEUI name, are refused") {
    std::string why;
    for (std::string_view bad : {"", ".", "..", "joineuis..example", "joineuis example", "joineuis.ex\\046ample",
                                 "*.example", "joineuis.example/x"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(normalize_federation_suffix(bad, why));
        CHECK_FALSE(why.empty());
    }
    // 220 characters fit (32 + 220 = 252 <= 253), 222 do not.
    std::string fits = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                       std::string(28, 'd');
    REQUIRE(fits.size() == 220);
    auto normalized = normalize_federation_suffix(fits, why);
    REQUIRE(normalized);
    CHECK(join_eui_dns_name("0807060504030201", *normalized).size() == 252);
    std::string too_long = fits + ".e";
    CHECK_FALSE(normalize_federation_suffix(too_long, why));
}
