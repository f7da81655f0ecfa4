#include "proxy/tls13_alert.hpp"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>

#include "proxy/free_with.hpp"

namespace dance::proxy {
namespace {

using KdfPtr = std::unique_ptr<EVP_KDF, FreeWith<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, FreeWith<EVP_KDF_CTX_free>>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, FreeWith<EVP_CIPHER_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, FreeWith<EVP_CIPHER_CTX_free>>;

constexpr std::string_view server_secret_label = "SERVER_TRAFFIC_SECRET_0 ";
constexpr size_t client_random_hex_size = 64;
constexpr size_t aead_nonce_size = 12;  // every TLS 1.3 AEAD suite
constexpr size_t aead_tag_size = 16;
constexpr size_t record_header_size = 5;
constexpr uint8_t content_type_alert = 21;
constexpr uint8_t content_type_application_data = 23;
constexpr uint8_t alert_level_fatal = 2;

bool decode_hex(std::string_view hex, std::span<uint8_t> out) {
    if (hex.size() != out.size() * 2) return false;
    for (size_t i = 0; i < out.size(); ++i) {
        int high = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[2 * i]));
        int low = OPENSSL_hexchar2int(static_cast<unsigned char>(hex[2 * i + 1]));
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return true;
}

// The cipher of a TLS 1.3 suite we can seal with, or null.
CipherPtr fetch_aead(const SSL_CIPHER* suite) {
    switch (SSL_CIPHER_get_cipher_nid(suite)) {
        case NID_aes_128_gcm:
        case NID_aes_256_gcm:
        case NID_chacha20_poly1305:
            return CipherPtr(EVP_CIPHER_fetch(nullptr, OBJ_nid2sn(SSL_CIPHER_get_cipher_nid(suite)), nullptr));
        default: return nullptr;
    }
}

bool aead_seal(const EVP_CIPHER* cipher, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
               std::span<const uint8_t> additional_data, std::span<const uint8_t> plaintext,
               std::span<uint8_t> ciphertext_and_tag) {
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int length = 0;
    return ctx && EVP_EncryptInit_ex2(ctx.get(), cipher, key.data(), nonce.data(), nullptr) == 1 &&
           EVP_EncryptUpdate(ctx.get(), nullptr, &length, additional_data.data(),
                             static_cast<int>(additional_data.size())) == 1 &&
           EVP_EncryptUpdate(ctx.get(), ciphertext_and_tag.data(), &length, plaintext.data(),
                             static_cast<int>(plaintext.size())) == 1 &&
           EVP_EncryptFinal_ex(ctx.get(), ciphertext_and_tag.data() + length, &length) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(aead_tag_size),
                               ciphertext_and_tag.data() + plaintext.size()) == 1;
}

}  // namespace

void ServerTrafficSecret::capture(std::string_view keylog_line) {
    if (!keylog_line.starts_with(server_secret_label)) return;
    std::string_view rest = keylog_line.substr(server_secret_label.size());
    if (rest.size() <= client_random_hex_size + 1 || rest[client_random_hex_size] != ' ') return;
    std::string_view secret_hex = rest.substr(client_random_hex_size + 1);
    size_t size = secret_hex.size() / 2;
    if (size > secret_.size() || !decode_hex(secret_hex, std::span(secret_).first(size))) return wipe();
    size_ = size;
}

void ServerTrafficSecret::wipe() {
    OPENSSL_cleanse(secret_.data(), secret_.size());
    size_ = 0;
}

bool hkdf_expand_label(const EVP_MD* digest, std::span<const uint8_t> secret, std::string_view label,
                       std::span<uint8_t> out) {
    // struct HkdfLabel { uint16 length; opaque label<7..255> = "tls13 " + label; opaque context<0..255> = ""; }
    std::string full_label = "tls13 " + std::string(label);
    std::vector<uint8_t> info{static_cast<uint8_t>(out.size() >> 8), static_cast<uint8_t>(out.size()),
                              static_cast<uint8_t>(full_label.size())};
    info.insert(info.end(), full_label.begin(), full_label.end());
    info.push_back(0);

    KdfPtr kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
    KdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
    if (!ctx) return false;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(digest)), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()), secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
        OSSL_PARAM_construct_end(),
    };
    return EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) == 1;
}

std::vector<uint8_t> seal_first_server_alert(const SSL* ssl, const ServerTrafficSecret& secret,
                                             uint8_t description) {
    const SSL_CIPHER* suite = SSL_get_current_cipher(ssl);
    CipherPtr cipher = suite ? fetch_aead(suite) : nullptr;
    const EVP_MD* digest = suite ? SSL_CIPHER_get_handshake_digest(suite) : nullptr;
    if (!cipher || !digest || secret.empty() || SSL_version(ssl) != TLS1_3_VERSION) return {};

    std::array<uint8_t, EVP_MAX_KEY_LENGTH> key{};
    std::array<uint8_t, aead_nonce_size> nonce{};  // the write IV; XOR with sequence number 0 leaves it as is
    auto key_bytes = std::span(key).first(static_cast<size_t>(EVP_CIPHER_get_key_length(cipher.get())));
    bool derived = hkdf_expand_label(digest, secret.bytes(), "key", key_bytes) &&
                   hkdf_expand_label(digest, secret.bytes(), "iv", nonce);

    // TLSInnerPlaintext: the alert, then its real content type; no padding.
    const std::array<uint8_t, 3> inner{alert_level_fatal, description, content_type_alert};
    const size_t body_size = inner.size() + aead_tag_size;
    std::vector<uint8_t> record{content_type_application_data, 0x03, 0x03, static_cast<uint8_t>(body_size >> 8),
                                static_cast<uint8_t>(body_size)};
    record.resize(record_header_size + body_size);
    bool sealed = derived && aead_seal(cipher.get(), key_bytes, nonce, std::span(record).first(record_header_size),
                                       inner, std::span(record).subspan(record_header_size));
    OPENSSL_cleanse(key.data(), key.size());
    OPENSSL_cleanse(nonce.data(), nonce.size());
    if (!sealed) return {};
    return record;
}

}  // namespace dance::proxy
