#include "proxy/inbound/inbound_settings.hpp"

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

}  // namespace dance::proxy
