// A TlsaResolver for unit tests: answers only when the test says so, from a loop timer, and checks the
// PendingLookup contract (a cancelled lookup's callback is never called).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <event2/event.h>

#include "base/c_handles.hpp"
#include "dns/tlsa_resolver.hpp"

namespace dance::proxy::testing {

class FakeResolver : public dns::TlsaResolver {
public:
    explicit FakeResolver(event_base* base) : base_(base) {}

    struct Lookup : dns::PendingLookup {
        ~Lookup() override { *cancelled = true; }
        std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
    };

    dns::PendingLookupPtr lookup_tlsa(std::string_view name, dns::TlsaCallback callback) override {
        ++lookups;
        last_name = std::string(name);
        auto lookup = std::make_unique<Lookup>();
        cancelled_ = lookup->cancelled;
        callback_ = std::move(callback);
        return lookup;
    }
    std::optional<dns::TlsaResult> cached_tlsa(std::string_view name) override {
        auto found = cache.find(std::string(name));
        if (found == cache.end()) return std::nullopt;
        return found->second;
    }
    dns::PendingLookupPtr lookup_addresses(std::string_view, dns::AddressCallback) override { return nullptr; }
    dns::PendingLookupPtr lookup_records(std::string_view, uint16_t, dns::RecordSetCallback) override { return nullptr; }

    bool waiting() const { return callback_ && !*cancelled_; }

    // Delivers `result` from a loop timer `delay` from now, as the real resolver does (never synchronously).
    void answer_after(std::chrono::microseconds delay, dns::TlsaResult result) {
        pending_result_ = std::move(result);
        answer_timer_.reset(evtimer_new(base_, &FakeResolver::deliver, this));
        timeval tv{static_cast<time_t>(delay.count() / 1000000), static_cast<suseconds_t>(delay.count() % 1000000)};
        evtimer_add(answer_timer_.get(), &tv);
    }

    std::map<std::string, dns::TlsaResult> cache;  // what cached_tlsa() answers
    int lookups = 0;
    std::string last_name;
    int answers_delivered = 0;
    int answers_suppressed = 0;

private:
    static void deliver(evutil_socket_t, short, void* self) {
        auto& me = *static_cast<FakeResolver*>(self);
        if (*me.cancelled_) {
            ++me.answers_suppressed;
            return;
        }
        ++me.answers_delivered;
        auto callback = std::move(me.callback_);
        me.callback_ = nullptr;
        callback(me.pending_result_);
    }

    event_base* base_;
    dns::TlsaCallback callback_;
    std::shared_ptr<bool> cancelled_ = std::make_shared<bool>(true);
    dns::TlsaResult pending_result_;
    EventPtr answer_timer_;
};

}  // namespace dance::proxy::testing
