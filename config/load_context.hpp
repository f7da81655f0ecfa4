// Shared state of one load: where errors go, where each key was seen, where relative paths start.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/mark.h>

#include "config/config_error.hpp"

namespace dance::config {

class LoadContext {
public:
    LoadContext(std::string display_name, std::filesystem::path base_dir);

    void report(const YAML::Mark& mark, const std::string& key_path, const std::string& message);
    // For checks that run after reading: locates the error where `key_path` (or its closest
    // remembered ancestor) was seen in the file.
    void report(const std::string& key_path, const std::string& message);

    void remember(const std::string& key_path, const YAML::Mark& mark);

    // Joined with the config file's directory when relative; "" stays "".
    std::filesystem::path resolve(const std::string& written_path) const;

    bool has_errors() const { return !errors_.empty(); }
    std::vector<ConfigError> sorted_errors() const;

private:
    YAML::Mark find_mark(std::string key_path) const;

    std::string display_name_;
    std::filesystem::path base_dir_;
    std::vector<ConfigError> errors_;
    std::map<std::string, YAML::Mark> marks_;
};

}  // namespace dance::config
