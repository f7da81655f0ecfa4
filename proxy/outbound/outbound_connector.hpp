// New TLS connections to an outbound listener's upstream: address and TLSA lookups through dns/, then a TLS
// 1.3 handshake with our DANE client identity, the server authenticated per `server_auth`.
#pragma once

#include "dns/tlsa_resolver.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/outbound/outbound_settings.hpp"
#include "proxy/upstream/upstream_connector.hpp"

namespace dance::proxy {

// Reads the current settings at every connect, so a reload applies to the next connection.
Connector make_outbound_connector(event_base* base, dns::TlsaResolver& resolver,
                                  SettingsSlot<OutboundSettings>& settings, ListenerMetrics& metrics);

}  // namespace dance::proxy
