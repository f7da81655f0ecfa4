#include "proxy/auth/authentication_renewal.hpp"
#include "base/time_util.hpp"

#include <algorithm>

namespace dance::proxy {

AuthenticationRenewal::AuthenticationRenewal(event_base* base, dns::TlsaResolver& resolver, std::string client_name,
                                             dns::TlsaRecord matched, Clock::time_point valid_until,
                                             Allowed still_allowed, Renewed on_renewed, Lapsed on_lapsed)
    : resolver_(resolver),
      client_name_(std::move(client_name)),
      matched_(std::move(matched)),
      still_allowed_(std::move(still_allowed)),
      on_renewed_(std::move(on_renewed)),
      on_lapsed_(std::move(on_lapsed)),
      timer_(evtimer_new(base, &AuthenticationRenewal::expired, this)) {
    expire_at(valid_until);
}

void AuthenticationRenewal::expire_at(Clock::time_point valid_until) {
    timeval delay = to_timeval(std::chrono::duration_cast<std::chrono::microseconds>(valid_until - Clock::now()));
    evtimer_add(timer_.get(), &delay);
}

void AuthenticationRenewal::expired(evutil_socket_t, short, void* self) {
    static_cast<AuthenticationRenewal*>(self)->renew();
}

void AuthenticationRenewal::renew() {
    if (!still_allowed_()) {
        state_ = State::lapsed;
        return on_lapsed_("ClientName no longer in the allow-list");
    }
    state_ = State::renewing;
    lookup_ = resolver_.lookup_tlsa(client_name_, [this](const dns::TlsaResult& answer) { on_answer(answer); });
}

void AuthenticationRenewal::on_answer(const dns::TlsaResult& answer) {
    if (!answer.authenticates()) {
        state_ = State::lapsed;
        return on_lapsed_("TLSA lookup: " + std::string(dns::to_string(answer.status)));
    }
    if (std::find(answer.records.begin(), answer.records.end(), matched_) == answer.records.end()) {
        state_ = State::lapsed;
        return on_lapsed_("the TLSA record that authenticated the connection is no longer published");
    }
    state_ = State::valid;
    // A resolver serves the last second of its cached copy with TTL 0 (our lifetime ran out together with its
    // own): check again a second later rather than in a loop, or than dropping a connection still vouched for.
    // (A cached answer is only ever used up to its own end: the next renewal then queries.)
    Clock::time_point next = answer.valid_until;
    if (!answer.from_cache) next = std::max(next, Clock::now() + std::chrono::seconds(1));
    expire_at(next);
    on_renewed_();
}

}  // namespace dance::proxy
