#include "proxy/upstream/upstream_tcp_connector.hpp"
#include "base/ip_literal.hpp"
#include "base/time_util.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

#include <event2/util.h>

namespace dance::proxy {
namespace {

class TcpConnectAttempt final : public ConnectAttempt {
public:
    TcpConnectAttempt(event_base* base, const config::HostPort& address, std::uint32_t timeout_ms, ConnectCallback done)
        : done_(std::move(done)),
          description_(address.to_string()),
          timer_(evtimer_new(base, &TcpConnectAttempt::on_timer, this)) {
        auto literal = socket_address(address.host, address.port);
        if (literal) {
            connection_.reset(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
            bufferevent_setcb(connection_.get(), nullptr, nullptr, &TcpConnectAttempt::on_event, this);
        }
        if (!literal || bufferevent_socket_connect(connection_.get(), literal->get(), static_cast<int>(literal->length)) != 0) {
            pending_failure_ = ConnectOutcome::failed(
                UpstreamError::connect_failed,
                literal ? "connect to " + description_ + ": " + evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                               : "not an IP address literal: " + address.host);
            connection_.reset();
            timeval now{0, 0};
            evtimer_add(timer_.get(), &now);  // report from the loop, never inside the Connector call
            return;
        }
        timeval timeout = milliseconds_to_timeval(timeout_ms);
        evtimer_add(timer_.get(), &timeout);
    }

private:
    static void on_event(bufferevent*, short what, void* self) {
        auto* attempt = static_cast<TcpConnectAttempt*>(self);
        if (what & BEV_EVENT_CONNECTED) {
            attempt->succeed();
        } else {
            attempt->finish(ConnectOutcome::failed(
                UpstreamError::connect_failed,
                "connect to " + attempt->description_ + ": " + evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
        }
    }

    static void on_timer(evutil_socket_t, short, void* self) {
        auto* attempt = static_cast<TcpConnectAttempt*>(self);
        if (attempt->pending_failure_) {
            attempt->finish(std::move(*attempt->pending_failure_));
        } else {
            attempt->finish(ConnectOutcome::failed(UpstreamError::connect_timeout, "connect to " + attempt->description_ + " timed out"));
        }
    }

    void succeed() {
        int one = 1;
        setsockopt(bufferevent_getfd(connection_.get()), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bufferevent_setcb(connection_.get(), nullptr, nullptr, nullptr, nullptr);
        finish(ConnectOutcome::ready(std::move(connection_)));
    }

    void finish(ConnectOutcome outcome) {
        evtimer_del(timer_.get());
        connection_.reset();
        auto done = std::move(done_);
        done(std::move(outcome));  // may destroy this attempt: nothing after
    }

    ConnectCallback done_;
    std::string description_;
    EventPtr timer_;
    BuffereventPtr connection_;
    std::optional<ConnectOutcome> pending_failure_;
};

}  // namespace

Connector make_tcp_connector(event_base* base, config::HostPort address, std::uint32_t connect_timeout_ms) {
    return [base, address = std::move(address), connect_timeout_ms](ConnectCallback done) -> std::unique_ptr<ConnectAttempt> {
        return std::make_unique<TcpConnectAttempt>(base, address, connect_timeout_ms, std::move(done));
    };
}

}  // namespace dance::proxy
