#include "config/name_values.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/dns_name.hpp"
#include "config/yaml_map.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

std::string why_invalid_allow_entry(const std::string& entry) {
    if (entry == "*") return "a bare \"*\" would allow every name; use \"*.zone\"";
    bool wildcard = entry.starts_with("*.");
    std::string rest = wildcard ? entry.substr(2) : entry;
    if (rest.find('*') != std::string::npos) return "\"*\" is only allowed as the whole first label";
    return dance::why_invalid_name(rest);
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

bool read_client_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    std::string name;
    if (!read_string(context, node, path, name)) return false;
    std::string why = name.find('*') != std::string::npos ? "wildcards are only allowed in client_auth.allow"
                                                           : dance::why_invalid_name(name);
    if (!why.empty()) {
        context.report(node.Mark(), path, "invalid client name \"" + name + "\": " + why);
        return false;
    }
    out = dance::lower_case(name);
    return true;
}

bool read_host_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    std::string name;
    if (!read_string(context, node, path, name)) return false;
    if (std::string why = dance::why_invalid_name(name); !why.empty()) {
        context.report(node.Mark(), path, "invalid host name \"" + name + "\": " + why);
        return false;
    }
    out = dance::lower_case(name);
    return true;
}

bool read_allow_list(LoadContext& context, const YAML::Node& node, const std::string& path,
                     std::vector<std::string>& out) {
    std::vector<std::string> entries;
    if (!read_string_list(context, node, path, entries)) return false;
    if (entries.empty()) {
        context.report(node.Mark(), path, "empty allow list: no client could ever authenticate");
        return false;
    }
    bool all_valid = true;
    for (size_t i = 0; i < entries.size(); ++i) {
        std::string why = why_invalid_allow_entry(entries[i]);
        if (why.empty()) continue;
        context.report(node[i].Mark(), index_path(path, i), "invalid allow entry \"" + entries[i] + "\": " + why);
        all_valid = false;
    }
    if (!all_valid) return false;
    out.clear();
    for (const std::string& entry : entries) out.push_back(dance::lower_case(entry));
    return true;
}

bool read_listener_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    std::string name;
    if (!read_string(context, node, path, name)) return false;
    bool valid = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!valid) {
        context.report(node.Mark(), path,
                       "invalid listener name \"" + name + "\": use 1 to 64 characters from a-z, 0-9, _ and -");
        return false;
    }
    out = name;
    return true;
}

bool read_header_name(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    std::string name;
    if (!read_string(context, node, path, name)) return false;
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
        context.report(node.Mark(), path, "invalid HTTP header name \"" + name + "\"");
        return false;
    }
    out = name;
    return true;
}

}  // namespace dance::config
