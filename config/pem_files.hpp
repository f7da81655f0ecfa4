// Certificates and private keys read from PEM files, owned by RAII handles.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace dance::config {

struct X509Free {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
struct EvpPkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct CertificateChain {
    std::vector<X509Ptr> certificates;  // in file order: leaf first, then its chain
    std::string error;                  // "" when at least one certificate was read
};

struct PrivateKey {
    EvpPkeyPtr key;
    std::string error;
};

// Errors read like `cannot read file "js.pem": No such file or directory` and name the path as given.
CertificateChain read_certificate_chain(const std::filesystem::path& path);
PrivateKey read_private_key(const std::filesystem::path& path);

// "" when `key` is the private half of the certificate's public key.
std::string why_key_does_not_match(X509* certificate, EVP_PKEY* key);

}  // namespace dance::config
