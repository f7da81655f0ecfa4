// How an UpstreamPool obtains new connections: an asynchronous factory of ready bufferevents.
//
// Contract for implementations:
//  - the callback runs on the pool's event loop, at most once, and never inside the Connector call;
//  - destroying the ConnectAttempt before the callback ran cancels it: the callback never runs;
//  - the pool may destroy the attempt from inside the callback (it defers the destruction), but the
//    attempt must not use its members after the callback returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "base/c_handles.hpp"
#include "proxy/upstream/upstream_result.hpp"

namespace dance::proxy {

struct ConnectOutcome {
    using Clock = std::chrono::steady_clock;
    BuffereventPtr connection;  // established and ready for HTTP bytes; null on failure
    UpstreamFailure failure;    // meaningful only when connection is null
    // The server's authentication holds until then (its TLSA answer expires): no exchange starts on the
    // connection afterwards.
    Clock::time_point reuse_until = Clock::time_point::max();

    static ConnectOutcome ready(BuffereventPtr connection, Clock::time_point reuse_until = Clock::time_point::max()) {
        return {std::move(connection), {}, reuse_until};
    }
    // `handshake_counted`: the connector counted the failure in dance_handshakes_total itself.
    static ConnectOutcome failed(UpstreamError kind, std::string description, std::string reason = {},
                                 bool handshake_counted = false) {
        return {nullptr, {kind, std::move(description), std::move(reason), handshake_counted}};
    }
};

class ConnectAttempt {
public:
    virtual ~ConnectAttempt() = default;
};

using ConnectCallback = std::function<void(ConnectOutcome)>;
using Connector = std::function<std::unique_ptr<ConnectAttempt>(ConnectCallback)>;

}  // namespace dance::proxy
