#include <openssl/ssl.h>

#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {

void read_log(const YamlMap& root, LogConfig& out) {
    YamlMap log = root.child("log", {"level", "format"});
    log.read("level", out.level,
             one_of<LogLevel>({{"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warn", LogLevel::warn},
                               {"error", LogLevel::error}}));
    log.read("format", out.format, one_of<LogFormat>({{"json", LogFormat::json}, {"text", LogFormat::text}}));
}

void read_admin(const YamlMap& root, AdminConfig& out) {
    YamlMap admin = root.child("admin", {"listen", "enabled"});
    admin.read("listen", out.listen, host_port_value(HostRule::ip_only));
    admin.read("enabled", out.enabled, read_bool);
}

namespace {

// OpenSSL refuses a custom extension on a codepoint it implements itself (server_name, key_share...).
bool read_codepoint(LoadContext& context, const YAML::Node& node, const std::string& path, uint16_t& out) {
    uint16_t codepoint = 0;
    if (!integer_between<uint16_t>(0, 65535)(context, node, path, codepoint)) return false;
    if (SSL_extension_supported(codepoint)) {
        context.report(node.Mark(), path,
                       "codepoint " + std::to_string(codepoint) + " is a TLS extension OpenSSL already implements");
        return false;
    }
    out = codepoint;
    return true;
}

}  // namespace

void read_process_settings(const YamlMap& root, Config& out) {
    root.read("workers", out.workers, integer_between<uint32_t>(0, 1024));
    root.read("drain_timeout_ms", out.drain_timeout_ms, integer_between<uint32_t>(0, 3600 * 1000));
    YamlMap clientid = root.child("dane_clientid", {"codepoint"});
    clientid.read("codepoint", out.dane_clientid.codepoint, read_codepoint);
}

}  // namespace dance::config
