#include "proxy/inbound/inbound_settings.hpp"

#include <algorithm>

#include "proxy/http/http_message.hpp"
#include "proxy/inbound/inbound_handshake.hpp"
#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {

std::shared_ptr<const InboundSettings> make_inbound_settings(const config::InboundListener& listener,
                                                             uint16_t codepoint, std::string& error) {
    ServerContextOptions options;
    options.cert_file = listener.tls.cert;
    options.key_file = listener.tls.key;
    options.ca_file = listener.client_auth.ca_file;
    options.require_client_auth = listener.client_auth.mode == config::ClientAuthMode::require;
    options.clientid_codepoint = codepoint;
    options.verify_callback = verify_inbound_client;
    options.accept_client_raw_public_key = listener.client_auth.raw_public_key;
    SslCtxPtr ctx = make_server_context(options, error);
    if (!ctx) return nullptr;
    auto settings = std::make_shared<InboundSettings>();
    settings->config = listener;
    settings->tls = SharedSslCtx(ctx.release(), SSL_CTX_free);
    settings->policy.mode = listener.client_auth.mode;
    settings->policy.allow = listener.client_auth.allow;
    settings->policy.pkix_usages = !listener.client_auth.ca_file.empty();
    settings->policy.handshake_ms = listener.timeouts.handshake_ms;
    settings->sender_binding = SenderBinding(listener.client_auth.sender_ids);
    return settings;
}

std::shared_ptr<const InboundSettings> remembering_identity_headers(std::shared_ptr<const InboundSettings> next,
                                                                   const InboundSettings& previous) {
    std::vector<std::string> former = previous.former_identity_headers;
    former.push_back(previous.config.identity_header);
    std::erase_if(former, [&](const std::string& name) { return iequals(name, next->config.identity_header); });
    std::vector<std::string> unique;
    for (auto& name : former)
        if (std::none_of(unique.begin(), unique.end(), [&](const std::string& kept) { return iequals(kept, name); }))
            unique.push_back(std::move(name));
    if (unique == next->former_identity_headers) return next;
    auto copy = std::make_shared<InboundSettings>(*next);
    copy->former_identity_headers = std::move(unique);
    return copy;
}

}  // namespace dance::proxy
