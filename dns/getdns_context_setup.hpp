// Creates a getdns context configured for one DNS mode and bound to a libevent loop.
#pragma once

#include <cstddef>
#include <stdexcept>

#include "config/config.hpp"
#include "dns/getdns_handles.hpp"

struct getdns_eventloop;

namespace dance::dns {

struct ResolverSetupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// getdns' own request timeout runs this much later than ours, so our timer always fires first and
// cancels cleanly; getdns 1.6's own timeout path has a use-after-free during DNSSEC validation.
inline constexpr uint32_t getdns_timeout_grace_ms = 2000;

// Throws ResolverSetupError with a reason when the configuration cannot be applied.
// `loop` must outlive the context.
GetdnsContextPtr make_getdns_context(getdns_eventloop* loop, const config::DnsConfig& config,
                                     size_t max_outstanding_lookups);

// The extensions passed with every TLSA query in this mode (none for trust-ad).
GetdnsDictPtr make_tlsa_extensions(const config::DnsConfig& config);

}  // namespace dance::dns
