#include "config/load_context.hpp"

#include <algorithm>

namespace dance::config {

LoadContext::LoadContext(std::string display_name, std::filesystem::path base_dir)
    : display_name_(std::move(display_name)), base_dir_(std::move(base_dir)) {}

void LoadContext::report(const YAML::Mark& mark, const std::string& key_path, const std::string& message) {
    // yaml-cpp marks are 0-based; an empty document has a null mark (-1).
    int line = mark.line < 0 ? 1 : mark.line + 1;
    int column = mark.column < 0 ? 1 : mark.column + 1;
    errors_.push_back({display_name_, line, column, key_path, message});
}

void LoadContext::report(const std::string& key_path, const std::string& message) {
    report(find_mark(key_path), key_path, message);
}

void LoadContext::remember(const std::string& key_path, const YAML::Mark& mark) {
    marks_.emplace(key_path, mark);
}

YAML::Mark LoadContext::find_mark(std::string key_path) const {
    while (true) {
        if (auto found = marks_.find(key_path); found != marks_.end()) return found->second;
        size_t cut = key_path.find_last_of(".[");
        if (cut == std::string::npos) return YAML::Mark::null_mark();
        key_path.resize(cut);
    }
}

std::filesystem::path LoadContext::resolve(const std::string& written_path) const {
    if (written_path.empty()) return {};
    std::filesystem::path path(written_path);
    if (path.is_absolute() || base_dir_.empty()) return path;
    return base_dir_ / path;
}

std::vector<ConfigError> LoadContext::sorted_errors() const {
    std::vector<ConfigError> sorted = errors_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError& a, const ConfigError& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return sorted;
}

}  // namespace dance::config
