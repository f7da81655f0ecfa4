#include "config/yaml_values.hpp"

#include <charconv>

#include "config/did_you_mean.hpp"
#include "config/yaml_map.hpp"

namespace dance::config {
namespace {

std::string list_of_choices(const std::vector<std::string_view>& names) {
    std::string text;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
        text += names[i];
    }
    return text;
}

}  // namespace

bool read_string(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    if (!node.IsScalar()) {
        context.report(node.Mark(), path, "expected a string, got " + describe(node));
        return false;
    }
    out = node.Scalar();
    return true;
}

bool read_bool(LoadContext& context, const YAML::Node& node, const std::string& path, bool& out) {
    // Only the two literal words: YAML 1.1's yes/no/on/off are a classic source of surprises.
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
        out = node.Scalar() == "true";
        return true;
    }
    context.report(node.Mark(), path, "expected true or false, got " + describe(node));
    return false;
}

bool read_string_list(LoadContext& context, const YAML::Node& node, const std::string& path,
                      std::vector<std::string>& out) {
    if (!node.IsSequence()) {
        context.report(node.Mark(), path, "expected a list of strings, got " + describe(node));
        return false;
    }
    std::vector<std::string> values;
    bool all_read = true;
    for (size_t i = 0; i < node.size(); ++i) {
        std::string item_path = index_path(path, i);
        context.remember(item_path, node[i].Mark());
        std::string value;
        if (read_string(context, node[i], item_path, value))
            values.push_back(std::move(value));
        else
            all_read = false;
    }
    if (all_read) out = std::move(values);
    return all_read;
}

bool read_unsigned(LoadContext& context, const YAML::Node& node, const std::string& path, uint64_t min,
                   uint64_t max, uint64_t& out) {
    std::string range = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
    if (!node.IsScalar()) {
        context.report(node.Mark(), path, "expected " + range + ", got " + describe(node));
        return false;
    }
    const std::string& text = node.Scalar();
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    bool parsed = !text.empty() && error == std::errc() && end == text.data() + text.size();
    if (!parsed || value < min || value > max) {
        context.report(node.Mark(), path, "expected " + range + ", got " + describe(node));
        return false;
    }
    out = value;
    return true;
}

std::optional<size_t> read_choice(LoadContext& context, const YAML::Node& node, const std::string& path,
                                  const std::vector<std::string_view>& names) {
    if (node.IsScalar()) {
        for (size_t i = 0; i < names.size(); ++i)
            if (node.Scalar() == names[i]) return i;
    }
    std::string hint = node.IsScalar() ? did_you_mean(node.Scalar(), names) : "";
    context.report(node.Mark(), path,
                   "expected " + list_of_choices(names) + ", got " + describe(node) + hint);
    return std::nullopt;
}

}  // namespace dance::config
