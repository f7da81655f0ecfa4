// An inbound listener's settings snapshot (see SettingsSlot): its config, TLS context and client policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/c_handles.hpp"
#include "base/settings_slot.hpp"
#include "config/config.hpp"
#include "proxy/auth/client_auth_policy.hpp"
#include "proxy/auth/sender_binding.hpp"

namespace dance::proxy {

struct InboundSettings {
    config::InboundListener config;
    SharedSslCtx tls;
    ClientAuthPolicy policy;
    SenderBinding sender_binding;
};

// Builds a snapshot from validated config; null + error if the certificate or key cannot be used.
std::shared_ptr<const InboundSettings> make_inbound_settings(const config::InboundListener& listener,
                                                             uint16_t codepoint, std::string& error);

}  // namespace dance::proxy
