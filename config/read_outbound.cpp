#include "config/listener_list.hpp"
#include "config/name_values.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

// "" (or absent) means: dial the upstream name itself.
bool read_connect_to(LoadContext& context, const YAML::Node& node, const std::string& path, HostPort& out) {
    if (node.IsScalar() && node.Scalar().empty()) return true;
    return host_port_value(HostRule::ip_or_name)(context, node, path, out);
}

void read_timeouts(const YamlMap& listener, OutboundTimeouts& out) {
    YamlMap timeouts = listener.child("timeouts", {"connect_ms", "handshake_ms", "request_ms", "idle_ms"});
    timeouts.read("connect_ms", out.connect_ms, positive_integer<uint32_t>());
    timeouts.read("handshake_ms", out.handshake_ms, positive_integer<uint32_t>());
    timeouts.read("request_ms", out.request_ms, positive_integer<uint32_t>());
    timeouts.read("idle_ms", out.idle_ms, positive_integer<uint32_t>());
}

// Whoever can reach an outbound listener borrows our DANE identity, so it stays on loopback by default.
void check_listen_is_private(const YamlMap& listener, const OutboundListener& out, bool listen_valid) {
    if (!listen_valid || out.allow_non_loopback_listen || is_loopback_ip(out.listen.host)) return;
    listener.context().report(listener.path_of("listen"),
                              "outbound listener on non-loopback address " + out.listen.to_string() +
                                  ": anyone who reaches it borrows our DANE identity "
                                  "(set allow_non_loopback_listen: true to accept that)");
}

// Either one fixed upstream, or routing by ReceiverID (route: and/or routes:), never both.
void read_destination_choice(const YamlMap& listener, OutboundListener& out) {
    bool routing = listener.value("route") || listener.value("routes");
    if (!routing) {
        listener.require("upstream", out.upstream, host_port_value(HostRule::name_only));
    } else if (listener.value("upstream")) {
        listener.context().report(listener.path_of("upstream"),
                                  "upstream and route/routes exclude each other: a listener either sends every "
                                  "request to one upstream or routes each by its ReceiverID");
    }
}

void check_routing_options(const YamlMap& listener, const OutboundListener& out) {
    if (!out.routes_by_receiver()) return;
    if (listener.value("connect_to")) {
        listener.context().report(listener.path_of("connect_to"),
                                  "connect_to applies to a fixed upstream only; a routing listener dials what "
                                  "DNS (or the routes: entry) names");
    }
    if (out.route.discover && out.server_auth == ServerAuth::pkix) {
        listener.context().report(listener.path_of("server_auth"),
                                  "server_auth: pkix with route: would trust a DNSSEC-discovered server by a CA "
                                  "alone; use dane (or dane-or-pkix)");
    }
}

OutboundListener read_outbound(const YamlMap& listener) {
    OutboundListener out;
    listener.require("name", out.name, read_listener_name);
    bool listen_valid = listener.require("listen", out.listen, host_port_value(HostRule::ip_only));
    read_route(listener, out.route);
    read_static_routes(listener, out.routes);
    read_destination_choice(listener, out);
    listener.read("connect_to", out.connect_to, read_connect_to);
    read_tls_files(listener, out.tls, true);
    listener.read("server_auth", out.server_auth,
                  one_of<ServerAuth>({{"dane", ServerAuth::dane}, {"pkix", ServerAuth::pkix},
                                      {"dane-or-pkix", ServerAuth::dane_or_pkix}}));
    read_file_path(listener, "ca_file", out.ca_file, true);
    read_timeouts(listener, out.timeouts);
    listener.read("max_idle_connections", out.max_idle_connections, integer_between<uint32_t>(0, 100000));
    listener.read("max_body_bytes", out.max_body_bytes, positive_integer<uint32_t>());
    listener.read("allow_non_loopback_listen", out.allow_non_loopback_listen, read_bool);
    check_listen_is_private(listener, out, listen_valid);
    check_routing_options(listener, out);
    return out;
}

}  // namespace

void read_outbound_listeners(const YamlMap& root, std::vector<OutboundListener>& out) {
    static const std::vector<std::string_view> keys = {
        "name",     "listen",         "upstream",       "route",          "routes",     "connect_to",
        "tls",      "server_auth",    "ca_file",        "timeouts",
        "max_idle_connections",       "max_body_bytes", "allow_non_loopback_listen"};
    for_each_listener(root, "outbound", keys,
                      [&out](const YamlMap& listener) { out.push_back(read_outbound(listener)); });
}

}  // namespace dance::config
