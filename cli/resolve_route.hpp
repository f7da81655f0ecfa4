// `dance-sidecar resolve --route RECEIVER_ID...`: the discovery chain of each ReceiverID as a routing outbound
// listener walks it (static route or TS002 name, addresses, CNAMEs, TLSA), one JSON line each.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace dance::cli {

// `listener_name` "" = the only routing outbound listener of `config`. Exit code: 0 when every ReceiverID
// leads to a server with authenticating TLSA records. Throws std::invalid_argument on a usage error.
int resolve_routes(const config::Config& config, const config::DnsConfig& dns_config, const std::string& listener_name,
                   const std::vector<std::string>& receiver_ids);

}  // namespace dance::cli
