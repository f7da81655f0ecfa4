#include "config/pem_files.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dance::config {
namespace {

struct BioFree {
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string quoted(const std::filesystem::path& path) { return "\"" + path.string() + "\""; }

// Opens the file with fopen first so the error names the system's reason (ENOENT, EACCES, EISDIR).
BioPtr open_file(const std::filesystem::path& path, std::string& error) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        error = "cannot read file " + quoted(path) + ": " + std::strerror(EISDIR);
        return nullptr;
    }
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) {
        error = "cannot read file " + quoted(path) + ": " + std::strerror(errno);
        return nullptr;
    }
    return BioPtr(BIO_new_fp(file, BIO_CLOSE));
}

}  // namespace

CertificateChain read_certificate_chain(const std::filesystem::path& path) {
    CertificateChain chain;
    BioPtr bio = open_file(path, chain.error);
    if (!bio) return chain;
    while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
        chain.certificates.emplace_back(certificate);
    ERR_clear_error();  // the loop ends on "no start line"
    if (chain.certificates.empty()) chain.error = "no PEM certificate in " + quoted(path);
    return chain;
}

PrivateKey read_private_key(const std::filesystem::path& path) {
    PrivateKey result;
    BioPtr bio = open_file(path, result.error);
    if (!bio) return result;
    // A null password callback would prompt on the terminal for an encrypted key; refuse instead.
    auto no_password = [](char*, int, int, void*) { return 0; };
    result.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    ERR_clear_error();
    if (!result.key) result.error = "no usable PEM private key in " + quoted(path) + " (encrypted keys are not supported)";
    return result;
}

std::string why_not_a_ca_bundle(const std::filesystem::path& path) {
    std::string why = read_certificate_chain(path).error;
    if (!why.empty()) return why;
    std::unique_ptr<X509_STORE, FreeWith<X509_STORE_free>> store(X509_STORE_new());
    ERR_clear_error();
    if (store && X509_STORE_load_file(store.get(), path.c_str()) == 1) return "";
    const char* reason = ERR_reason_error_string(ERR_peek_error());
    ERR_clear_error();
    return "cannot load " + quoted(path) + " as a CA bundle: " + (reason ? reason : "unknown OpenSSL error");
}

std::string why_key_does_not_match(X509* certificate, EVP_PKEY* key) {
    EVP_PKEY* public_key = X509_get0_pubkey(certificate);
    if (!public_key) return "the certificate's public key cannot be decoded";
    int equal = EVP_PKEY_eq(public_key, key);
    ERR_clear_error();
    return equal == 1 ? "" : "the private key does not match the certificate's public key";
}

}  // namespace dance::config
