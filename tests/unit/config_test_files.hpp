// Test fixtures made at test time: a private temporary directory, EC keys and certificates.
#pragma once

#include <filesystem>
#include <string>

#include "config/pem_files.hpp"

namespace dance::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Changes the working directory for the lifetime of the object.
class ScopedWorkingDirectory {
public:
    explicit ScopedWorkingDirectory(const std::filesystem::path& path);
    ~ScopedWorkingDirectory();
    ScopedWorkingDirectory(const ScopedWorkingDirectory&) = delete;
    ScopedWorkingDirectory& operator=(const ScopedWorkingDirectory&) = delete;

private:
    std::filesystem::path previous_;
};

dance::EvpPkeyPtr make_ec_key();
// Self-signed when issuer and issuer_key are null; a CA certificate when is_ca.
dance::X509Ptr make_certificate(const std::string& common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                                 bool is_ca);

void write_certificate_pem(const std::filesystem::path& path, X509* certificate, bool append = false);
void write_key_pem(const std::filesystem::path& path, EVP_PKEY* key);
void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

}  // namespace dance::test
