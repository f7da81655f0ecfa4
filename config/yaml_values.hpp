// Typed readers for scalar values. Each has the shape
//   bool reader(LoadContext&, const YAML::Node&, const std::string& key_path, T& out)
// and reports its own error (returning false, leaving `out` alone) when the value does not fit.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/host_port_parse.hpp"
#include "config/load_context.hpp"

namespace dance::config {

bool read_string(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out);
bool read_bool(LoadContext& context, const YAML::Node& node, const std::string& path, bool& out);
bool read_string_list(LoadContext& context, const YAML::Node& node, const std::string& path,
                      std::vector<std::string>& out);

bool read_unsigned(LoadContext& context, const YAML::Node& node, const std::string& path, uint64_t min,
                   uint64_t max, uint64_t& out);

// Index of the value in `names`, or nullopt after reporting the choices.
std::optional<size_t> read_choice(LoadContext& context, const YAML::Node& node, const std::string& path,
                                  const std::vector<std::string_view>& names);

template <typename T>
auto integer_between(uint64_t min, uint64_t max) {
    return [min, max](LoadContext& context, const YAML::Node& node, const std::string& path, T& out) {
        uint64_t value = 0;
        if (!read_unsigned(context, node, path, min, max, value)) return false;
        out = static_cast<T>(value);
        return true;
    };
}

template <typename T>
auto positive_integer() {
    return integer_between<T>(1, std::numeric_limits<T>::max());
}

template <typename Enum>
auto one_of(std::vector<std::pair<std::string_view, Enum>> table) {
    return [table = std::move(table)](LoadContext& context, const YAML::Node& node, const std::string& path,
                                      Enum& out) {
        std::vector<std::string_view> names;
        for (const auto& [name, value] : table) names.push_back(name);
        std::optional<size_t> index = read_choice(context, node, path, names);
        if (!index) return false;
        out = table[*index].second;
        return true;
    };
}

inline auto host_port_value(HostRule rule) {
    return [rule](LoadContext& context, const YAML::Node& node, const std::string& path, HostPort& out) {
        std::string text;
        if (!read_string(context, node, path, text)) return false;
        std::string why = parse_host_port(text, rule, out);
        if (!why.empty()) context.report(node.Mark(), path, "invalid address \"" + text + "\": " + why);
        return why.empty();
    };
}

}  // namespace dance::config
