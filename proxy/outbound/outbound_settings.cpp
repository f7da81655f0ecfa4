#include "proxy/outbound/outbound_settings.hpp"

#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {

std::shared_ptr<const OutboundSettings> make_outbound_settings(const config::OutboundListener& listener,
                                                               uint16_t codepoint, std::string& error) {
    ClientContextOptions options{listener.tls.cert, listener.tls.key, listener.ca_file, codepoint,
                                 listener.tls.raw_public_key};
    SslCtxPtr ctx = make_client_context(options, error);
    if (!ctx) return nullptr;
    auto settings = std::make_shared<OutboundSettings>();
    settings->config = listener;
    settings->tls = SharedSslCtx(ctx.release(), SSL_CTX_free);
    return settings;
}

}  // namespace dance::proxy
