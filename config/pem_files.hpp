// Certificates and private keys read from PEM files, owned by RAII handles.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/c_handles.hpp"

namespace dance::config {

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

// "" when the file holds a PEM certificate and OpenSSL's CA loader (behind SSL_CTX_load_verify_locations)
// accepts all of it: that loader refuses a whole file for one damaged block, where
// read_certificate_chain() stops at it.
std::string why_not_a_ca_bundle(const std::filesystem::path& path);

// "" when `key` is the private half of the certificate's public key.
std::string why_key_does_not_match(X509* certificate, EVP_PKEY* key);

}  // namespace dance::config
