// Walks a YAML list of listener mappings ("inbound:", "outbound:").
#pragma once

#include <string_view>
#include <vector>

#include "config/yaml_map.hpp"

namespace dance::config {

// Calls read_one(YamlMap) for each element; reports a value that is not a list.
template <typename ReadOne>
void for_each_listener(const YamlMap& root, std::string_view key, const std::vector<std::string_view>& keys,
                       ReadOne&& read_one) {
    const YAML::Node* list = root.value(key);
    if (!list) return;
    std::string path = root.path_of(key);
    if (!list->IsSequence()) {
        root.context().report(list->Mark(), path, "expected a list of listeners, got " + describe(*list));
        return;
    }
    for (size_t i = 0; i < list->size(); ++i) {
        YAML::Node element = (*list)[i];
        std::string element_path = index_path(path, i);
        root.context().remember(element_path, element.Mark());
        if (!element.IsMap()) {
            root.context().report(element.Mark(), element_path, "expected a listener mapping, got " + describe(element));
            continue;
        }
        read_one(YamlMap(root.context(), element, element_path, keys, element.Mark()));
    }
}

}  // namespace dance::config
