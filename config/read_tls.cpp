#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/opensslv.h>

#include "config/name_values.hpp"
#include "config/pem_files.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

std::string absolute_path(const std::filesystem::path& path) {
    std::error_code ignored;
    std::filesystem::path absolute = std::filesystem::absolute(path, ignored);
    return (absolute.empty() ? path : absolute).lexically_normal().string();
}

std::string why_unreadable(const std::filesystem::path& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) return "cannot read file \"" + path.string() + "\": Is a directory";
    std::ifstream file(path);
    if (!file) return "cannot read file \"" + path.string() + "\": " + std::strerror(errno);
    return "";
}

// Reads the path and reports unreadable files; `resolved` stays empty when the path is absent or bad.
bool read_path(const YamlMap& map, std::string_view key, std::filesystem::path& resolved, bool required) {
    std::string written;
    if (!(required ? map.require(key, written, read_string) : map.read(key, written, read_string))) return false;
    if (written.empty()) {
        if (required) map.report_missing(key);
        return false;
    }
    resolved = map.context().resolve(written);
    return true;
}

}  // namespace

void read_file_path(const YamlMap& map, std::string_view key, std::string& out, bool must_hold_certificates) {
    std::filesystem::path path;
    if (!read_path(map, key, path, false)) return;
    std::string why = must_hold_certificates ? why_not_a_ca_bundle(path) : why_unreadable(path);
    if (!why.empty()) {
        map.context().report(map.path_of(key), why);
        return;
    }
    out = absolute_path(path);
}

void read_raw_public_key_switch(const YamlMap& map, bool& out) {
    if (!map.read("raw_public_key", out, read_bool) || !out) return;
#if OPENSSL_VERSION_NUMBER < 0x30200000L
    map.context().report(map.path_of("raw_public_key"),
                         std::string("raw public keys (RFC 7250) need OpenSSL 3.2 or later; this build uses ") +
                             OPENSSL_VERSION_TEXT);
    out = false;
#endif
}

void read_tls_files(const YamlMap& listener, TlsFiles& out, bool outbound) {
    std::vector<std::string_view> keys = {"cert", "key"};
    if (outbound) keys.insert(keys.end(), {"client_id", "raw_public_key"});
    YamlMap tls = listener.child("tls", keys);
    LoadContext& context = listener.context();
    if (outbound) {
        tls.require("client_id", out.client_id, read_client_name);
        read_raw_public_key_switch(tls, out.raw_public_key);
    }

    std::filesystem::path cert_path, key_path;
    CertificateChain chain;
    PrivateKey key;
    if (read_path(tls, "cert", cert_path, true)) {
        chain = read_certificate_chain(cert_path);
        if (!chain.error.empty()) context.report(tls.path_of("cert"), chain.error);
    }
    if (read_path(tls, "key", key_path, true)) {
        key = read_private_key(key_path);
        if (!key.error.empty()) context.report(tls.path_of("key"), key.error);
    }
    if (chain.certificates.empty() || !key.key) return;
    std::string mismatch = why_key_does_not_match(chain.certificates.front().get(), key.key.get());
    if (!mismatch.empty()) {
        context.report(tls.path_of("key"), mismatch + " in \"" + cert_path.string() + "\"");
        return;
    }
    out.cert = absolute_path(cert_path);
    out.key = absolute_path(key_path);
}

}  // namespace dance::config
