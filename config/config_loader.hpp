// Reads a dance-sidecar YAML file into a validated Config, or reports every mistake it finds.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace dance::config {

// Exactly one of the two is set: a config (errors empty) or at least one error (config empty).
// Errors are sorted by position in the file.
struct LoadResult {
    std::optional<Config> config;
    std::vector<ConfigError> errors;

    bool ok() const { return config.has_value(); }
};

// Relative cert/key/ca_file/trust_anchors paths resolve against the directory of `path`; the Config
// holds them as absolute paths.
LoadResult load_config(const std::string& path);

// `display_name` names the file in error messages. Relative file paths resolve against `base_dir`,
// or the directory part of `display_name` when base_dir is empty.
LoadResult load_config_text(std::string_view text, const std::string& display_name,
                            const std::filesystem::path& base_dir = {});

}  // namespace dance::config
