// Plain TCP connections to a fixed address (the inbound side's backend).
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "proxy/upstream/upstream_connector.hpp"

struct event_base;

namespace dance::proxy {

// Non-blocking connect to an IPv4 or IPv6 literal (a DNS name fails with connect_failed), with
// TCP_NODELAY, failing with connect_timeout after connect_timeout_ms.
Connector make_tcp_connector(event_base* base, config::HostPort address, std::uint32_t connect_timeout_ms);

}  // namespace dance::proxy
