// SSL_CTX construction for the inbound (server) and outbound (client) sides.
#pragma once

#include <cstdint>
#include <string>

#include "base/c_handles.hpp"
#include "config/config.hpp"

namespace dance::proxy {

struct ServerContextOptions {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;  // enables PKIX-TA/PKIX-EE TLSA usages; "" = empty trust store
    bool require_client_auth = true;  // TLS 1.3 only, certificate mandatory
    uint16_t clientid_codepoint = 65498;
    SSL_verify_cb verify_callback = nullptr;
    bool accept_client_raw_public_key = false;  // RFC 7250, OpenSSL 3.2+: matched by DANE-EE SPKI records only
};

struct ClientContextOptions {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;  // PKIX server authentication and PKIX TLSA usages
    uint16_t clientid_codepoint = 65498;
    bool offer_raw_public_key = false;  // RFC 7250, OpenSSL 3.2+: our key without its certificate
};

// On failure returns null and explains in `error` (with OpenSSL's reason).
SslCtxPtr make_server_context(const ServerContextOptions& options, std::string& error);
SslCtxPtr make_client_context(const ClientContextOptions& options, std::string& error);

// The first OpenSSL error on this thread's queue, as text; clears the queue.
std::string take_openssl_error();

// Not-after of the context's certificate as Unix time, 0 if unknown.
double certificate_not_after(SSL_CTX* ctx);

}  // namespace dance::proxy
