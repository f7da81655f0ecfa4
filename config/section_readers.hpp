// The readers of each part of the schema. Each fills its struct from the YAML, keeps the defaults of
// config.hpp for absent keys, and reports what is wrong through the map's LoadContext.
#pragma once

#include "config/config.hpp"
#include "config/yaml_map.hpp"

namespace dance::config {

void read_log(const YamlMap& root, LogConfig& out);
void read_admin(const YamlMap& root, AdminConfig& out);
void read_process_settings(const YamlMap& root, Config& out);  // workers, drain_timeout_ms, dane_clientid
void read_dns(const YamlMap& root, DnsConfig& out);
void read_inbound_listeners(const YamlMap& root, std::vector<InboundListener>& out);
void read_outbound_listeners(const YamlMap& root, std::vector<OutboundListener>& out);
// An outbound listener's `route:` (DNS discovery) and `routes:` (static overrides, sorted longest key first).
void read_route(const YamlMap& listener, RouteConfig& out);
void read_static_routes(const YamlMap& listener, std::vector<StaticRoute>& out);

// tls: {cert, key} (+ client_id for outbound): readable PEM files, and the key matches the certificate.
void read_tls_files(const YamlMap& listener, TlsFiles& out, bool outbound);
// An optional `raw_public_key: BOOL`; true is an error where OpenSSL is older than 3.2.
void read_raw_public_key_switch(const YamlMap& map, bool& out);
// An optional file path (CA bundle, trust anchors); stored absolute; `must_hold_certificates` also
// loads it as a PEM CA bundle, the way OpenSSL (and getdns) will.
void read_file_path(const YamlMap& map, std::string_view key, std::string& out, bool must_hold_certificates);

// Checks across sections: listen addresses and listener names in use twice.
void check_listeners_do_not_collide(LoadContext& context, const Config& config);

}  // namespace dance::config
