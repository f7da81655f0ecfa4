// A fatal TLS 1.3 alert that the server sends itself, right after its handshake completed.
//
// Why: when a client sends an empty Certificate, libssl 3.0 can only refuse with certificate_required (116)
// and offers no hook to choose the alert; DANCE wants handshake_failure (40) for every authentication
// failure. So an inbound listener lets a certificate-less handshake complete, refuses it, and sends the alert
// as the server's first application-data record: sealed under server_application_traffic_secret_0 (taken
// from the keylog callback) with sequence number 0, which holds because inbound listeners send no
// NewSessionTicket and nothing else before the verdict. To the client this looks exactly like the other
// refusals: in TLS 1.3 it learns the verdict from an alert on its first read.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/ssl.h>

namespace dance::proxy {

class ServerTrafficSecret {
public:
    ServerTrafficSecret() = default;
    ~ServerTrafficSecret() { wipe(); }
    ServerTrafficSecret(const ServerTrafficSecret&) = delete;
    ServerTrafficSecret& operator=(const ServerTrafficSecret&) = delete;

    // Feed every line of the SSL_CTX keylog callback; only SERVER_TRAFFIC_SECRET_0 is kept.
    void capture(std::string_view keylog_line);
    std::span<const uint8_t> bytes() const { return {secret_.data(), size_}; }
    bool empty() const { return size_ == 0; }
    void wipe();

private:
    std::array<uint8_t, EVP_MAX_MD_SIZE> secret_{};
    size_t size_ = 0;
};

// HKDF-Expand-Label(secret, label, "", out.size()) of RFC 8446 section 7.1.
bool hkdf_expand_label(const EVP_MD* digest, std::span<const uint8_t> secret, std::string_view label,
                       std::span<uint8_t> out);

// The complete TLSCiphertext record of a fatal alert with `description`, sealed as the first record under
// `secret` with the AEAD of `ssl`'s negotiated cipher suite. Empty if the suite is not a TLS 1.3 AEAD suite
// this code knows (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305) or sealing failed.
std::vector<uint8_t> seal_first_server_alert(const SSL* ssl, const ServerTrafficSecret& secret,
                                             uint8_t description);

// The TLS 1.3 suites an inbound listener offers: exactly those seal_first_server_alert can seal.
inline constexpr const char* sealable_tls13_suites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

}  // namespace dance::proxy
