#include "config/config_error.hpp"

namespace dance::config {

std::string ConfigError::to_string() const {
    std::string text = file + ":";
    if (line > 0) text += std::to_string(line) + ":" + std::to_string(column) + ":";
    text += " ";
    if (!key_path.empty()) text += key_path + ": ";
    return text + message;
}

}  // namespace dance::config
