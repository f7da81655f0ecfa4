// Readers for the names a configuration carries: DANE client names, allow-list entries, listener
// names, HTTP header names. Same shape as the readers in yaml_values.hpp.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/load_context.hpp"

namespace dance::config {

// A TLSA owner name as sent in dane_clientid (no wildcard); stored lower-cased.
bool read_client_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out);

// A host name such as a DNS-over-TLS resolver's certificate name; stored lower-cased.
bool read_host_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out);

// Exact names or "*.zone"; stored lower-cased. At least one entry.
bool read_allow_list(LoadContext& context, const YAML::Node& node, const std::string& path,
                     std::vector<std::string>& out);

// [a-z0-9_-], 1..64 characters: it becomes a metrics label and a log field.
bool read_listener_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out);

// An RFC 9110 token.
bool read_header_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out);

}  // namespace dance::config
