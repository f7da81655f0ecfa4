#include "proxy/tls/tls_context.hpp"

#include <openssl/err.h>

#include "proxy/tls/dane_clientid.hpp"
#include "proxy/tls/raw_public_key.hpp"

namespace dance::proxy {
namespace {

constexpr const char* key_exchange_groups = "X25519:P-256:P-384";

bool load_credentials(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file,
                      std::string& error) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        error = "cannot load certificate " + cert_file + ": " + take_openssl_error();
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        error = "cannot load key " + key_file + ": " + take_openssl_error();
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        error = "key " + key_file + " does not match certificate " + cert_file;
        return false;
    }
    return true;
}

bool load_ca_file(SSL_CTX* ctx, const std::string& ca_file, std::string& error) {
    if (ca_file.empty()) return true;
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
        error = "cannot load CA file " + ca_file + ": " + take_openssl_error();
        return false;
    }
    return true;
}

}  // namespace

std::string take_openssl_error() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown TLS error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

SslCtxPtr make_server_context(const ServerContextOptions& options, std::string& error) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
        error = take_openssl_error();
        return nullptr;
    }
    SSL_CTX* raw = ctx.get();
    // DANE client auth is only sound in TLS 1.3: a TLS 1.2 handshake could bypass it silently.
    SSL_CTX_set_min_proto_version(raw, options.require_client_auth ? TLS1_3_VERSION : TLS1_2_VERSION);
    // No resumption at all: a resumed session would skip the TLSA check and could outlive the records.
    SSL_CTX_set_options(raw, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_num_tickets(raw, 0);
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    SSL_CTX_set1_groups_list(raw, key_exchange_groups);
    // Idle keep-alive connections give their 2 x 16 KiB record buffers back.
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
    // An empty client Certificate gets certificate_required from libssl itself (RFC 8446 4.4.2.4).
    int verify_mode = SSL_VERIFY_PEER;
    if (options.require_client_auth) verify_mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(raw, verify_mode, options.verify_callback);
    if (!load_credentials(raw, options.cert_file, options.key_file, error)) return nullptr;
    if (!load_ca_file(raw, options.ca_file, error)) return nullptr;
    if (SSL_CTX_dane_enable(raw) <= 0 || !install_server_extension(raw, options.clientid_codepoint)) {
        error = "cannot enable DANE / dane_clientid: " + take_openssl_error();
        return nullptr;
    }
    if (options.accept_client_raw_public_key && !enable_client_raw_public_key(raw)) {
        error = "cannot accept raw public keys: " + take_openssl_error();
        return nullptr;
    }
    return ctx;
}

SslCtxPtr make_client_context(const ClientContextOptions& options, std::string& error) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        error = take_openssl_error();
        return nullptr;
    }
    SSL_CTX* raw = ctx.get();
    SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
    SSL_CTX_set1_groups_list(raw, key_exchange_groups);
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    if (!load_credentials(raw, options.cert_file, options.key_file, error)) return nullptr;
    if (!load_ca_file(raw, options.ca_file, error)) return nullptr;
    if (SSL_CTX_dane_enable(raw) <= 0 || !install_client_extension(raw, options.clientid_codepoint)) {
        error = "cannot enable DANE / dane_clientid: " + take_openssl_error();
        return nullptr;
    }
    if (options.offer_raw_public_key && !enable_client_raw_public_key(raw)) {
        error = "cannot offer a raw public key: " + take_openssl_error();
        return nullptr;
    }
    return ctx;
}

double certificate_not_after(SSL_CTX* ctx) {
    X509* certificate = SSL_CTX_get0_certificate(ctx);
    if (certificate == nullptr) return 0;
    const ASN1_TIME* not_after = X509_get0_notAfter(certificate);
    struct tm parsed {};
    if (ASN1_TIME_to_tm(not_after, &parsed) != 1) return 0;
    return static_cast<double>(timegm(&parsed));
}

}  // namespace dance::proxy
