// Keeps an authenticated inbound connection's DANE authentication no older than the DNS behind it.
//
// A keep-alive connection is a session: it must not outlive the TLSA answer that authenticated it. When that
// answer expires (its cache lifetime: TTL, RRSIG expiry, max_ttl_s) the ClientName, if the current allow-list
// still names it, is looked up again through the shared cache and its single flight. The connection stays
// authenticated only if the new answer is secure
// and still holds the record that matched in the handshake (the certificate chain cannot change within a
// connection); otherwise the authentication lapses for good. While the lookup runs, the owner holds the
// connection's requests back (state renewing).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/c_handles.hpp"
#include "dns/tlsa_record.hpp"
#include "dns/tlsa_resolver.hpp"

namespace dance::proxy {

class AuthenticationRenewal {
public:
    using Clock = std::chrono::steady_clock;
    using Allowed = std::function<bool()>;  // the name is (still) in the current allow-list
    using Renewed = std::function<void()>;
    using Lapsed = std::function<void(std::string why)>;
    enum class State { valid, renewing, lapsed };

    // The callbacks run from the event loop, each time a renewal ends; Lapsed at most once, and last.
    // `still_allowed` is asked before each lookup: a name a reload took off the allow-list is not queried.
    AuthenticationRenewal(event_base* base, dns::TlsaResolver& resolver, std::string client_name,
                          dns::TlsaRecord matched, Clock::time_point valid_until, Allowed still_allowed,
                          Renewed on_renewed, Lapsed on_lapsed);
    AuthenticationRenewal(const AuthenticationRenewal&) = delete;
    AuthenticationRenewal& operator=(const AuthenticationRenewal&) = delete;

    State state() const { return state_; }

private:
    void expire_at(Clock::time_point valid_until);
    void renew();
    void on_answer(const dns::TlsaResult& answer);
    static void expired(evutil_socket_t, short, void* self);

    dns::TlsaResolver& resolver_;
    std::string client_name_;
    dns::TlsaRecord matched_;
    Allowed still_allowed_;
    Renewed on_renewed_;
    Lapsed on_lapsed_;
    State state_ = State::valid;
    EventPtr timer_;
    dns::PendingLookupPtr lookup_;
};

}  // namespace dance::proxy
