// An inbound listener's settings snapshot (see SettingsSlot): its config, TLS context and client policy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
    // identity_header names used before a reload renamed it: still stripped from every request, since a
    // backend not yet reconfigured may still trust them.
    std::vector<std::string> former_identity_headers;
};

// `next` with the identity header names `previous` used or stripped (other than next's own) appended.
std::shared_ptr<const InboundSettings> remembering_identity_headers(std::shared_ptr<const InboundSettings> next,
                                                                   const InboundSettings& previous);

// Builds a snapshot from validated config; null + error if the certificate or key cannot be used.
std::shared_ptr<const InboundSettings> make_inbound_settings(const config::InboundListener& listener,
                                                             uint16_t codepoint, std::string& error);

}  // namespace dance::proxy
