// The join server's Backend Interfaces logic: a request body in, an HTTP status and answer body out.
// Behaves like ChirpStack v3's join server (see /work/shared/lorawan-vectors.md, "Error answers").
#pragma once

#include <string>
#include <string_view>

#include "tests/peers/join_server/device_table.hpp"

namespace dance::peers {

struct HttpAnswer {
    int status = 200;
    std::string body;
    std::string message_type;  // of the request, "" when it had none; for the request record
};

class JoinHandler {
public:
    explicit JoinHandler(JoinServerConfig config) : config_(std::move(config)) {}

    // JoinReq: 200 JoinAns Success (JoinAccept + session keys), 200 MICFailed, 400 UnknownDevEUI,
    // 400 MalformedRequest for unusable fields. Other MessageTypes and unparseable JSON: 400 with a
    // bare {"ResultCode":"Other","Description":...}. Each successful join advances the JoinNonce.
    HttpAnswer answer(std::string_view body);

private:
    JoinServerConfig config_;
};

}  // namespace dance::peers
