#include "config/yaml_map.hpp"

#include <algorithm>

#include "config/did_you_mean.hpp"

namespace dance::config {

std::string join_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "\"" + node.Scalar() + "\"";
        default: return "nothing";
    }
}

YamlMap::YamlMap(LoadContext& context, const YAML::Node& node, std::string path,
                 std::vector<std::string_view> known_keys, const YAML::Mark& where)
    : context_(&context), path_(std::move(path)), mark_(where) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsMap()) {
        context.report(node.Mark(), path_, "expected a mapping, got " + describe(node));
        wrong_type_ = true;
        return;
    }
    mark_ = node.Mark();
    for (auto it = node.begin(); it != node.end(); ++it) add_entry(it->first, it->second, known_keys);
}

void YamlMap::add_entry(const YAML::Node& key, const YAML::Node& value,
                        const std::vector<std::string_view>& known) {
    if (!key.IsScalar()) {
        context_->report(key.Mark(), path_, "keys must be plain words, got " + describe(key));
        return;
    }
    const std::string& name = key.Scalar();
    std::string path = join_path(path_, name);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
        context_->report(key.Mark(), path, "unknown key \"" + name + "\"" + did_you_mean(name, known));
        return;
    }
    if (const Entry* first = find(name)) {
        context_->report(key.Mark(), path,
                         "duplicate key (first given on line " + std::to_string(first->key_mark.line + 1) + ")");
        return;
    }
    entries_.push_back({name, value, key.Mark()});
    context_->remember(path, value.IsNull() ? key.Mark() : value.Mark());
}

const YamlMap::Entry* YamlMap::find(std::string_view key) const {
    for (const Entry& entry : entries_)
        if (entry.key == key) return &entry;
    return nullptr;
}

const YAML::Node* YamlMap::value(std::string_view key) const {
    const Entry* entry = find(key);
    return entry && !entry->value.IsNull() ? &entry->value : nullptr;
}

std::string YamlMap::path_of(std::string_view key) const { return join_path(path_, key); }

YamlMap YamlMap::child(std::string_view key, std::vector<std::string_view> known_keys) const {
    const Entry* entry = find(key);
    if (!entry) return YamlMap(*context_, YAML::Node(), path_of(key), std::move(known_keys), mark_);
    return YamlMap(*context_, entry->value, path_of(key), std::move(known_keys), entry->key_mark);
}

void YamlMap::report_missing(std::string_view key) const {
    if (wrong_type_) return;
    const Entry* entry = find(key);
    context_->report(entry ? entry->key_mark : mark_, path_of(key),
                     entry ? "must not be empty" : "required key is missing");
}

}  // namespace dance::config
