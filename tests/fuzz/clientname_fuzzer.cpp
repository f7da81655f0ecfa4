// The dane_clientid extension_data a peer sends (ClientName<0..255> in the client's leaf CertificateEntry, or
// the server's offer in its CertificateRequest), then what the inbound handshake does with a name: validity
// check, lower-casing, allow-list matching.
//
// Invariants:
//  - parse_client_name: `malformed` exactly when the length byte disagrees with the input size, `empty` for the
//    one-byte offer, otherwise `name` with exactly the bytes after the length byte;
//  - for a `name`, encode_client_name(name) gives back the input bytes, and parsing the encoding gives the name;
//  - why_invalid_name agrees with an independent reading of the rules in base/dns_name.hpp, and a valid name
//    survives lower_case and the encode/parse round trip still valid;
//  - allow_entry_matches agrees with an independent reading of its rules for an exact entry and a "*.zone"
//    entry taken from the name itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/dns_name.hpp"
#include "fuzz_check.hpp"
#include "proxy/tls/dane_clientid.hpp"

using dance::fuzz::escaped;
using dance::proxy::ClientNameKind;

namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_ignoring_ascii_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

// The rules of base/dns_name.hpp, written again from the comment, not from the code.
bool oracle_valid_name(std::string_view name) {
    if (name.empty() || name.size() > 253 || name.back() == '.') return false;
    size_t label_length = 0;
    for (char c : name) {
        if (c == '.') {
            if (label_length == 0) return false;
            label_length = 0;
            continue;
        }
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (!letter && !digit && c != '-' && c != '_') return false;
        if (++label_length > 63) return false;
    }
    return label_length > 0;
}

const char* kind_name(ClientNameKind kind) {
    switch (kind) {
        case ClientNameKind::empty: return "empty";
        case ClientNameKind::name: return "name";
        case ClientNameKind::malformed: return "malformed";
    }
    return "?";
}

void check_allow_list(std::string_view name) {
    // An exact entry matches its own spelling in any letter case.
    std::string upper(name);
    for (char& c : upper)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    FUZZ_CHECK(dance::allow_entry_matches(name, upper), "entry " + escaped(name));
    FUZZ_CHECK(dance::allow_entry_matches(name, dance::lower_case(name)), "entry " + escaped(name));

    // "*.zone" matches any name strictly below the zone, never the zone itself; here the zone is each
    // suffix of the name that starts after a dot.
    for (size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1)) {
        std::string_view zone = name.substr(dot + 1);
        std::string entry = "*." + std::string(zone);
        bool expected = !zone.empty();  // name = <at least one char> "." zone
        FUZZ_CHECK(dance::allow_entry_matches(entry, name) == expected,
                   "entry " + escaped(entry) + " name " + escaped(name));
        FUZZ_CHECK(!dance::allow_entry_matches(entry, zone), "entry " + escaped(entry) + " zone " + escaped(zone));
    }
    // A wildcard entry is never matched by a name that only ends with the zone without the dot boundary.
    std::string entry = "*." + std::string(name);
    FUZZ_CHECK(!dance::allow_entry_matches(entry, name), "entry " + escaped(entry));
    std::string glued = "x" + std::string(name);
    FUZZ_CHECK(!dance::allow_entry_matches(entry, glued), "entry " + escaped(entry) + " name " + escaped(glued));
    std::string below = "x." + std::string(name);
    FUZZ_CHECK(dance::allow_entry_matches(entry, below), "entry " + escaped(entry) + " name " + escaped(below));
    FUZZ_CHECK(same_ignoring_ascii_case(below.substr(2), name), "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    dance::proxy::ParsedClientName parsed = dance::proxy::parse_client_name(data, size);

    ClientNameKind expected_kind = size == 0 || data[0] != size - 1 ? ClientNameKind::malformed
                                   : size == 1                      ? ClientNameKind::empty
                                                                    : ClientNameKind::name;
    FUZZ_CHECK(parsed.kind == expected_kind, std::string("got ") + kind_name(parsed.kind) + " for " + escaped(input));
    if (parsed.kind != ClientNameKind::name) {
        FUZZ_CHECK(parsed.name.empty(), "name " + escaped(parsed.name) + " with kind " + kind_name(parsed.kind));
        return 0;
    }
    FUZZ_CHECK(parsed.name == input.substr(1), "name " + escaped(parsed.name) + " from " + escaped(input));

    // Round trip: the encoding of what was parsed is the input, and parsing it again changes nothing.
    std::vector<uint8_t> encoded = dance::proxy::encode_client_name(parsed.name);
    FUZZ_CHECK(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data),
               "encode(parse(x)) != x for " + escaped(input));
    dance::proxy::ParsedClientName again = dance::proxy::parse_client_name(encoded.data(), encoded.size());
    FUZZ_CHECK(again.kind == ClientNameKind::name && again.name == parsed.name, escaped(input));

    // Validity, as the inbound handshake checks it before the allow-list.
    std::string why = dance::why_invalid_name(parsed.name);
    bool valid = why.empty();
    FUZZ_CHECK(valid == oracle_valid_name(parsed.name),
               "why_invalid_name says " + (valid ? std::string("valid") : escaped(why)) + " for " +
                   escaped(parsed.name));
    if (!valid) return 0;
    FUZZ_CHECK(parsed.name.size() <= 253 && encoded.size() == parsed.name.size() + 1, escaped(parsed.name));

    std::string lowered = dance::lower_case(parsed.name);
    FUZZ_CHECK(lowered.size() == parsed.name.size() && same_ignoring_ascii_case(lowered, parsed.name),
               escaped(parsed.name) + " -> " + escaped(lowered));
    FUZZ_CHECK(dance::why_invalid_name(lowered).empty(), "lower-cased " + escaped(lowered) + " is invalid");
    FUZZ_CHECK(dance::lower_case(lowered) == lowered, escaped(lowered));

    check_allow_list(parsed.name);
    return 0;
}
