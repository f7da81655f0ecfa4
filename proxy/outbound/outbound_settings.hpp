// An outbound listener's settings snapshot (see SettingsSlot): its config and TLS client context.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/c_handles.hpp"
#include "base/settings_slot.hpp"
#include "config/config.hpp"

namespace dance::proxy {

struct OutboundSettings {
    config::OutboundListener config;
    SharedSslCtx tls;
};

// Builds a snapshot from validated config; null + error if the certificate or key cannot be used.
std::shared_ptr<const OutboundSettings> make_outbound_settings(const config::OutboundListener& listener,
                                                               uint16_t codepoint, std::string& error);

}  // namespace dance::proxy
