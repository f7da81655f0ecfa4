#include "config/listener_list.hpp"
#include "config/name_values.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

void read_client_auth(const YamlMap& listener, ClientAuthConfig& out) {
    YamlMap auth = listener.child("client_auth", {"mode", "allow", "ca_file"});
    auth.read("mode", out.mode,
              one_of<ClientAuthMode>({{"require", ClientAuthMode::require}, {"optional", ClientAuthMode::optional}}));
    auth.require("allow", out.allow, read_allow_list);
    read_file_path(auth, "ca_file", out.ca_file, true);
}

void read_timeouts(const YamlMap& listener, InboundTimeouts& out) {
    YamlMap timeouts = listener.child("timeouts", {"handshake_ms", "idle_ms", "backend_ms"});
    timeouts.read("handshake_ms", out.handshake_ms, positive_integer<uint32_t>());
    timeouts.read("idle_ms", out.idle_ms, positive_integer<uint32_t>());
    timeouts.read("backend_ms", out.backend_ms, positive_integer<uint32_t>());
}

InboundListener read_inbound(const YamlMap& listener) {
    InboundListener out;
    listener.require("name", out.name, read_listener_name);
    listener.require("listen", out.listen, host_port_value(HostRule::ip_only));
    listener.require("backend", out.backend, host_port_value(HostRule::ip_only));
    read_tls_files(listener, out.tls, false);
    read_client_auth(listener, out.client_auth);
    listener.read("identity_header", out.identity_header, read_header_name);
    read_timeouts(listener, out.timeouts);
    listener.read("max_connections", out.max_connections, positive_integer<uint32_t>());
    listener.read("max_body_bytes", out.max_body_bytes, positive_integer<uint32_t>());
    listener.read("max_pending_dns", out.max_pending_dns, positive_integer<uint32_t>());
    return out;
}

}  // namespace

void read_inbound_listeners(const YamlMap& root, std::vector<InboundListener>& out) {
    static const std::vector<std::string_view> keys = {
        "name",     "listen",          "backend",         "tls",           "client_auth",
        "identity_header", "timeouts", "max_connections", "max_body_bytes", "max_pending_dns"};
    for_each_listener(root, "inbound", keys, [&out](const YamlMap& listener) { out.push_back(read_inbound(listener)); });
}

}  // namespace dance::config
