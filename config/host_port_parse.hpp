// Text forms of socket addresses: "192.0.2.1:8003", "[2001:db8::1]:8003", "js.example:8003".
#pragma once

#include <string>
#include <string_view>

#include "base/ip_literal.hpp"
#include "config/config.hpp"

namespace dance::config {

enum class HostRule { ip_only, name_only, ip_or_name };

// Fills `out` (IP literals in canonical form) and returns "", or returns why the text is not usable.
std::string parse_host_port(std::string_view text, HostRule rule, HostPort& out);

bool is_loopback_ip(const std::string& host);  // 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104
bool is_wildcard_ip(const std::string& host);  // 0.0.0.0 or ::

// Whether two listening sockets would compete for the same port (equal, or one is a wildcard that
// covers the other; "::" covers IPv4 too on a dual-stack host).
bool listen_addresses_overlap(const HostPort& a, const HostPort& b);

}  // namespace dance::config
