// One YAML mapping of the schema: reports unknown keys (with a suggestion), duplicate keys and a
// non-mapping value once, then hands out its values by key. A null or absent mapping is empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/load_context.hpp"

namespace dance::config {

class YamlMap {
public:
    // `where` locates "missing key" errors when the mapping itself is null or absent.
    YamlMap(LoadContext& context, const YAML::Node& node, std::string path,
            std::vector<std::string_view> known_keys, const YAML::Mark& where);

    // nullptr when the key is absent or its value is null ("key:" or "key: ~").
    const YAML::Node* value(std::string_view key) const;
    std::string path_of(std::string_view key) const;
    YamlMap child(std::string_view key, std::vector<std::string_view> known_keys) const;
    void report_missing(std::string_view key) const;
    LoadContext& context() const { return *context_; }

    // Runs reader(context, node, path, out) when the key has a value; true when it read one.
    template <typename T, typename Reader>
    bool read(std::string_view key, T& out, Reader&& reader) const {
        const YAML::Node* node = value(key);
        return node && reader(*context_, *node, path_of(key), out);
    }

    template <typename T, typename Reader>
    bool require(std::string_view key, T& out, Reader&& reader) const {
        if (!value(key)) {
            report_missing(key);
            return false;
        }
        return read(key, out, reader);
    }

private:
    struct Entry {
        std::string key;
        YAML::Node value;
        YAML::Mark key_mark;
    };

    const Entry* find(std::string_view key) const;
    void add_entry(const YAML::Node& key, const YAML::Node& value, const std::vector<std::string_view>& known);

    LoadContext* context_;
    std::string path_;
    YAML::Mark mark_;
    bool wrong_type_ = false;  // reported once; its keys then do not count as missing
    std::vector<Entry> entries_;
};

std::string join_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, size_t index);
// "a mapping", "a list", "\"text\"": what was found instead of the expected type.
std::string describe(const YAML::Node& node);

}  // namespace dance::config
