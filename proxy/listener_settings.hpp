// The reloadable part of each listener: an immutable snapshot that connections take when they start.
// A reload builds new snapshots and swaps them in; established connections keep the one they began with.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/inbound_handshake.hpp"
#include "proxy/openssl_handles.hpp"
#include "proxy/sender_binding.hpp"

namespace dance::proxy {

struct InboundSettings {
    config::InboundListener config;
    SharedSslCtx tls;
    ClientAuthPolicy policy;
    SenderBinding sender_binding;
};

struct OutboundSettings {
    config::OutboundListener config;
    SharedSslCtx tls;
};

// Builds a snapshot from validated config; null + error if the certificate or key cannot be used.
std::shared_ptr<const InboundSettings> make_inbound_settings(const config::InboundListener& listener,
                                                             uint16_t codepoint, std::string& error);
std::shared_ptr<const OutboundSettings> make_outbound_settings(const config::OutboundListener& listener,
                                                               uint16_t codepoint, std::string& error);

template <typename Settings>
class SettingsSlot {
public:
    explicit SettingsSlot(std::shared_ptr<const Settings> initial) : current_(std::move(initial)) {}
    std::shared_ptr<const Settings> get() const { return current_.load(std::memory_order_acquire); }
    void set(std::shared_ptr<const Settings> next) { current_.store(std::move(next), std::memory_order_release); }

private:
    std::atomic<std::shared_ptr<const Settings>> current_;
};

}  // namespace dance::proxy
