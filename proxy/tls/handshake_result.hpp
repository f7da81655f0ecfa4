// Every way a handshake can end, declared once: the enum, the `result` label of dance_handshakes_total, the
// `reason` of handshake_failed log lines and which listener kind can end that way all come from this list.
// To add a result: one X(...) line here; metrics, logs and the README table follow from it.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "dns/lookup_result.hpp"

namespace dance::proxy {

// X(name, where): where = both, inbound or outbound (the listener kinds whose series start at 0).
#define DANCE_HANDSHAKE_RESULTS(X) \
    X(ok, both)                    \
    X(no_certificate, inbound)     \
    X(no_clientid, inbound)        \
    X(empty_clientid, inbound)     \
    X(bad_clientid, inbound)       \
    X(not_allowed, inbound)        \
    X(dns_bogus, both)             \
    X(dns_insecure, both)          \
    X(dns_nxdomain, both)          \
    X(dns_nodata, both)            \
    X(dns_timeout, both)           \
    X(dns_error, both)             \
    X(tlsa_mismatch, inbound)      \
    X(name_mismatch, inbound)      \
    X(protocol_version, inbound)   \
    X(timeout, both)               \
    X(tls_error, both)             \
    X(too_many_pending, inbound)   \
    X(no_offer, outbound)          \
    X(peer_rejected, outbound)     \
    X(server_tlsa_mismatch, outbound) \
    X(connect_failed, outbound)

enum class HandshakeResult {
#define DANCE_RESULT_ENUM(name, where) name,
    DANCE_HANDSHAKE_RESULTS(DANCE_RESULT_ENUM)
#undef DANCE_RESULT_ENUM
};

enum class ResultScope { both, inbound, outbound };

struct HandshakeResultInfo {
    std::string_view label;
    ResultScope scope;
};

inline constexpr std::array handshake_results{
#define DANCE_RESULT_INFO(name, where) HandshakeResultInfo{#name, ResultScope::where},
    DANCE_HANDSHAKE_RESULTS(DANCE_RESULT_INFO)
#undef DANCE_RESULT_INFO
};
inline constexpr std::size_t handshake_result_count = handshake_results.size();

constexpr std::string_view to_string(HandshakeResult result) {
    return handshake_results[static_cast<std::size_t>(result)].label;
}

constexpr bool applies_to_inbound(HandshakeResult result) {
    return handshake_results[static_cast<std::size_t>(result)].scope != ResultScope::outbound;
}
constexpr bool applies_to_outbound(HandshakeResult result) {
    return handshake_results[static_cast<std::size_t>(result)].scope != ResultScope::inbound;
}

// The result a TLSA lookup that cannot authenticate ends in (dns_bogus, ...); secure (without records) is dns_nodata.
HandshakeResult dns_failure_result(dns::LookupStatus status);

}  // namespace dance::proxy
