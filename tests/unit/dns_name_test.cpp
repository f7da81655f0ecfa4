#include <doctest/doctest.h>

#include "base/dns_name.hpp"

using dance::allow_entry_matches;
using dance::why_invalid_name;

TEST_CASE("client names follow the draft's presentation format") {
    CHECK(why_invalid_name("_ns-client.ns.operator-a.example") == "");
    CHECK(why_invalid_name("sensor7._device.example.com") == "");
    CHECK(why_invalid_name("") == "empty name");
    CHECK(why_invalid_name("a.example.") == "trailing dot");
    CHECK(why_invalid_name("a..example") == "empty label");
    CHECK(why_invalid_name("a\\046b.example") == "escape sequences are not allowed");
    CHECK(why_invalid_name("a b.example") == "character not allowed in a name");
    CHECK(why_invalid_name(std::string(64, 'a') + ".example") == "label longer than 63 characters");
    std::string long_name;
    for (int i = 0; i < 26; ++i) long_name += "abcdefghi.";
    long_name += "example";
    CHECK(long_name.size() > 253);
    CHECK(why_invalid_name(long_name) == "longer than 253 characters");
}

TEST_CASE("allow-list entries are exact names or strict sub-zones, case-insensitive") {
    CHECK(allow_entry_matches("_ns-client.ns.operator-a.example", "_NS-client.ns.Operator-A.example"));
    CHECK_FALSE(allow_entry_matches("_ns-client.ns.operator-a.example", "x._ns-client.ns.operator-a.example"));
    CHECK(allow_entry_matches("*.operator-b.example", "ns.operator-b.example"));
    CHECK(allow_entry_matches("*.operator-b.example", "_a.deep.ns.OPERATOR-B.example"));
    CHECK_FALSE(allow_entry_matches("*.operator-b.example", "operator-b.example"));
    CHECK_FALSE(allow_entry_matches("*.operator-b.example", "evil-operator-b.example"));
    CHECK_FALSE(allow_entry_matches("*.operator-b.example", "operator-b.example.evil"));
}
