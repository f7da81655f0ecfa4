// Who may authenticate on an inbound listener, and how many handshakes may wait for DNS at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace dance::proxy {

struct ClientAuthPolicy {
    config::ClientAuthMode mode = config::ClientAuthMode::require;
    std::vector<std::string> allow;  // lower-cased names or "*.zone"
    bool pkix_usages = false;        // a CA file is configured: TLSA usages 0 and 1 are usable
    uint32_t handshake_ms = 10000;
};

// The allow-list check, made before any DNS query for the name.
bool client_name_allowed(const ClientAuthPolicy& policy, std::string_view lower_case_name);

// Handshakes of one worker that are waiting for DNS; bounded so stalled lookups cannot pile up.
struct PendingDnsBudget {
    uint32_t limit = 1024;
    uint32_t in_use = 0;
    std::function<void(int)> on_change;  // metrics gauge
};

}  // namespace dance::proxy
