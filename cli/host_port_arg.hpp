// HOST:PORT arguments of the command-line tools, resolved before any event loop runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace dance::cli {

struct ResolvedEndpoint {
    std::string host;     // as given, without brackets
    std::string address;  // IP literal
    uint16_t port = 0;
};

// Accepts "host:port", "1.2.3.4:port" and "[::1]:port". Blocking resolution: only for CLI tools.
std::optional<ResolvedEndpoint> resolve_host_port(const std::string& text, std::string& error);

}  // namespace dance::cli
