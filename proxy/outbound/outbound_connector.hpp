// New TLS connections to one destination of an outbound listener: address and TLSA lookups through dns/,
// then a TLS 1.3 handshake with our DANE client identity, the server authenticated per `server_auth`.
//
// A discovered destination (a federation name, docs/federation.md) is held to more: its address answer,
// CNAMEs included, must be DNSSEC-secure (else the route fails and nothing is connected), and its TLSA
// records are looked up per RFC 7671 §7: at the CNAME target first, at the original name if the target has
// provably none.
#pragma once

#include "dns/tlsa_resolver.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/outbound/outbound_settings.hpp"
#include "proxy/route/route_cache.hpp"
#include "proxy/route/route_decision.hpp"
#include "proxy/upstream/upstream_connector.hpp"

namespace dance::proxy {

// Reads the current settings at every connect, so a reload applies to the next connection. `destination`
// empty (no host): the listener's fixed upstream (and connect_to). A discovered destination's walk is looked up
// in, and stored into, `routes` when given.
Connector make_outbound_connector(event_base* base, dns::TlsaResolver& resolver,
                                  SettingsSlot<OutboundSettings>& settings, ListenerMetrics& metrics,
                                  RouteDestination destination = {}, RouteCache* routes = nullptr);

}  // namespace dance::proxy
