// Why a handshake ended: the fixed label set of dance_handshakes_total{result}.
#pragma once

#include <string_view>

#include "dns/lookup_result.hpp"

namespace dance::proxy {

namespace reason {
inline constexpr std::string_view ok = "ok";
inline constexpr std::string_view no_certificate = "no_certificate";
inline constexpr std::string_view no_clientid = "no_clientid";
inline constexpr std::string_view empty_clientid = "empty_clientid";
inline constexpr std::string_view bad_clientid = "bad_clientid";
inline constexpr std::string_view not_allowed = "not_allowed";
inline constexpr std::string_view tlsa_mismatch = "tlsa_mismatch";
inline constexpr std::string_view name_mismatch = "name_mismatch";
inline constexpr std::string_view protocol_version = "protocol_version";
inline constexpr std::string_view timeout = "timeout";
inline constexpr std::string_view tls_error = "tls_error";
inline constexpr std::string_view too_many_pending = "too_many_pending";
// outbound
inline constexpr std::string_view no_offer = "no_offer";
inline constexpr std::string_view peer_rejected = "peer_rejected";
inline constexpr std::string_view server_tlsa_mismatch = "server_tlsa_mismatch";
inline constexpr std::string_view connect_failed = "connect_failed";
}  // namespace reason

// dns_bogus, dns_insecure, ... for a lookup that cannot authenticate.
std::string_view dns_failure_reason(dns::LookupStatus status);

}  // namespace dance::proxy
