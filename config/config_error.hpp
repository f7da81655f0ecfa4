// One located configuration mistake, printed as "FILE:LINE:COL: KEY.PATH: message".
#pragma once

#include <string>

namespace dance::config {

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 = the whole file (then to_string prints "FILE: message")
    int column = 0;  // 1-based
    std::string key_path;  // "inbound[0].tls.cert"; "" for file-level problems
    std::string message;

    std::string to_string() const;
};

}  // namespace dance::config
