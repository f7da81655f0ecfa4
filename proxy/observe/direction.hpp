// Which side of the sidecar a listener serves: inbound (TLS from remote clients, DANE client auth) or
// outbound (local plain HTTP, TLS to a remote server with our DANE identity).
#pragma once

#include <string_view>

namespace dance::proxy {

enum class Direction { inbound, outbound };

constexpr std::string_view to_string(Direction direction) {
    return direction == Direction::inbound ? "inbound" : "outbound";
}

}  // namespace dance::proxy
