#include "proxy/observe/backend_probe.hpp"
#include "base/time_util.hpp"

namespace dance::proxy {

BackendProbe::BackendProbe(event_base* base, config::HostPort backend, uint32_t interval_ms)
    : base_(base), backend_(std::move(backend)), interval_ms_(interval_ms), timer_(evtimer_new(base, on_timer, this)) {}

BackendProbe::~BackendProbe() = default;

void BackendProbe::start() { probe(); }

void BackendProbe::probe() {
    attempt_.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
    sockaddr_storage address{};
    int length = sizeof address;
    std::string text = backend_.to_string();
    if (!attempt_ || evutil_parse_sockaddr_port(text.c_str(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        reachable_ = false;
        attempt_.reset();
    } else {
        bufferevent_setcb(attempt_.get(), nullptr, nullptr, on_event, this);
        timeval limit{1, 0};
        bufferevent_set_timeouts(attempt_.get(), &limit, &limit);
        if (bufferevent_socket_connect(attempt_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
            reachable_ = false;
            attempt_.reset();
        }
    }
    timeval next = milliseconds_to_timeval(interval_ms_);
    evtimer_add(timer_.get(), &next);
}

void BackendProbe::on_timer(evutil_socket_t, short, void* self) { static_cast<BackendProbe*>(self)->probe(); }

void BackendProbe::on_event(bufferevent*, short what, void* self) {
    auto* probe = static_cast<BackendProbe*>(self);
    probe->reachable_ = (what & BEV_EVENT_CONNECTED) != 0;
    probe->attempt_.reset();
}

}  // namespace dance::proxy
