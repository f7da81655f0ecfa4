// Creates the getdns-based resolver for one event loop thread.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "dns/getdns_context_setup.hpp"
#include "dns/tlsa_cache.hpp"
#include "dns/tlsa_resolver.hpp"

namespace dance::dns {

// Lookups per resolver that may wait on the network at once; more fail at once with status error.
inline constexpr size_t max_outstanding_lookups = 4096;

// Followers of another thread's query, and every lookup whose query never reports back, end with
// status timeout this long after timeout_ms (the query's own timer fires at timeout_ms).
inline constexpr uint32_t watchdog_margin_ms = 500;

// Create and use the resolver on the thread that runs `base`; destroy it there, before the base.
// Throws ResolverSetupError if the configuration cannot be applied.
std::unique_ptr<TlsaResolver> make_resolver(event_base* base, const config::DnsConfig& config,
                                            std::shared_ptr<TlsaCache> cache, LookupObserver* observer = nullptr);

}  // namespace dance::dns
