#include "dns/tlsa_from_cert.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace dance::dns {
namespace {

struct OpensslFree {
    void operator()(unsigned char* bytes) const { OPENSSL_free(bytes); }
};

std::vector<uint8_t> selected_der(X509* certificate, uint8_t selector) {
    unsigned char* der = nullptr;
    int length = selector == 0 ? i2d_X509(certificate, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
    std::unique_ptr<unsigned char, OpensslFree> owned(der);
    if (length <= 0) throw std::runtime_error("cannot DER-encode the certificate");
    return std::vector<uint8_t>(der, der + length);
}

std::vector<uint8_t> digest(const std::vector<uint8_t>& bytes, const EVP_MD* algorithm) {
    std::vector<uint8_t> hash(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (!EVP_Digest(bytes.data(), bytes.size(), hash.data(), &length, algorithm, nullptr))
        throw std::runtime_error("cannot compute the digest");
    hash.resize(length);
    return hash;
}

}  // namespace

TlsaRecord tlsa_for_certificate(X509* certificate, uint8_t usage, uint8_t selector, uint8_t matching) {
    if (!certificate) throw std::invalid_argument("no certificate");
    if (usage > 3) throw std::invalid_argument("usage must be 0, 1, 2 or 3");
    if (selector > 1) throw std::invalid_argument("selector must be 0 (certificate) or 1 (public key)");
    if (matching > 2) throw std::invalid_argument("matching type must be 0 (full), 1 (SHA-256) or 2 (SHA-512)");
    std::vector<uint8_t> selected = selected_der(certificate, selector);
    TlsaRecord record{usage, selector, matching, {}};
    switch (matching) {
        case 0: record.data = std::move(selected); break;
        case 1: record.data = digest(selected, EVP_sha256()); break;
        default: record.data = digest(selected, EVP_sha512()); break;
    }
    return record;
}

}  // namespace dance::dns
