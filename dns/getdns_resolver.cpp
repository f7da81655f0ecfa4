// The getdns-based TlsaResolver: one getdns context on one libevent loop, results shared through TlsaCache.
//
// Every lookup is a Waiter with its own timer. A TLSA lookup joins the cache's flight for its name; the
// flight's leader sends one getdns query (a Query with its own timer at timeout_ms, which cancels the
// query and ends the flight with `timeout`). Results reach waiters through the LoopMailbox, so callbacks
// never run inside lookup_*() or inside a getdns callback, and waiters on other threads get them on
// their own loop. The waiter's timer (timeout_ms + watchdog_margin_ms) ends the wait even if no result
// ever arrives, e.g. when getdns loses a callback or another thread's leader is stuck.
#include <arpa/inet.h>
#include <getdns/getdns_extra.h>

#include <chrono>
#include <ctime>
#include <unordered_map>
#include <variant>

#include "base/c_handles.hpp"
#include "base/dns_name.hpp"
#include "base/ip_literal.hpp"
#include "base/loop_mailbox.hpp"
#include "base/time_util.hpp"
#include "dns/getdns_event_loop.hpp"
#include "dns/getdns_handles.hpp"
#include "dns/make_resolver.hpp"
#include "dns/reply_interpretation.hpp"

namespace dance::dns {
namespace {

using SteadyClock = std::chrono::steady_clock;

class ResolverCore;

// The answer of a query that belongs to one waiter (not shared through the cache): addresses, or NAPTR/SRV.
using DirectResult = std::variant<AddressResult, RecordSetResult>;

struct Waiter {
    ResolverCore* core = nullptr;
    uint64_t id = 0;
    TlsaCallback on_tlsa;  // exactly one of the three callbacks is set
    AddressCallback on_address;
    RecordSetCallback on_records;
    SteadyClock::time_point started = SteadyClock::now();
    EventPtr timer;
    std::optional<TlsaResult> ready_tlsa;  // answered without a query: delivered by a zero timer
    std::optional<DirectResult> ready_direct;
    bool cache_hit = false;
    struct Query* direct_query = nullptr;
};

struct Query {
    ResolverCore* core = nullptr;
    bool is_tlsa = true;
    uint16_t rrtype = 0;     // direct queries: 0 = addresses (getdns_address), else the record type
    std::string name;        // TLSA: lower-cased owner name, the flight's key; direct: the name
    uint64_t waiter_id = 0;  // direct queries only
    getdns_transaction_t transaction = 0;
    EventPtr timer;  // TLSA queries only
    std::optional<TlsaResult> early_tlsa;  // reply that arrived while getdns_general() was running
    std::optional<DirectResult> early_direct;
};

TlsaResult tlsa_failure(LookupStatus status, std::string detail) {
    return lookup_failure<TlsaResult>(status, std::move(detail));
}

AddressResult address_failure(LookupStatus status, std::string detail) {
    return lookup_failure<AddressResult>(status, std::move(detail));
}

// A failure of the kind the waiter expects.
DirectResult direct_failure(const Waiter& waiter, LookupStatus status, std::string detail) {
    if (waiter.on_records) return lookup_failure<RecordSetResult>(status, std::move(detail));
    return address_failure(status, std::move(detail));
}

std::string getdns_error(getdns_return_t rc) {
    const char* text = getdns_get_errorstr_by_id(rc);
    return text ? text : "getdns error " + std::to_string(rc);
}

class PendingHandle final : public PendingLookup {
public:
    PendingHandle(std::weak_ptr<ResolverCore> core, uint64_t id) : core_(std::move(core)), id_(id) {}
    ~PendingHandle() override;

private:
    std::weak_ptr<ResolverCore> core_;
    uint64_t id_;
};

class ResolverCore : public std::enable_shared_from_this<ResolverCore> {
public:
    ResolverCore(event_base* base, const config::DnsConfig& config, std::shared_ptr<TlsaCache> cache,
                 LookupObserver* observer)
        : base_(base),
          config_(config),
          cache_(std::move(cache)),
          observer_(observer),
          validator_(config.mode == config::DnsMode::trust_ad ? Validator::resolver_ad_bit
                                                              : Validator::getdns_dnssec_status),
          getdns_loop_(std::make_unique<GetdnsEventLoop>(base)),
          context_(make_getdns_context(getdns_loop_->loop(), config, max_outstanding_lookups)),
          tlsa_extensions_(make_tlsa_extensions(config)),
          mailbox_(LoopMailbox::create(base)) {
        if (!cache_) throw ResolverSetupError("no TLSA cache given");
        if (!mailbox_) throw ResolverSetupError("cannot create the resolver's event loop mailbox");
    }

    ~ResolverCore() {
        shutting_down_ = true;
        mailbox_->close();
        waiters_.clear();
        std::vector<std::string> open_flights;
        for (const auto& [pointer, query] : queries_) {
            if (query->is_tlsa) open_flights.push_back(query->name);
        }
        context_.reset();  // getdns cancels what is still outstanding; those callbacks are ignored
        queries_.clear();
        // Waiters on other threads must not wait for a query that will never answer.
        for (const auto& name : open_flights) {
            cache_->finish(name, tlsa_failure(LookupStatus::error, "resolver shut down"));
        }
    }

    PendingLookupPtr lookup_tlsa(std::string_view owner_name, TlsaCallback callback) {
        Waiter& waiter = add_waiter();
        waiter.on_tlsa = std::move(callback);
        if (std::string reason = why_invalid_name(owner_name); !reason.empty()) {
            waiter.ready_tlsa = tlsa_failure(LookupStatus::error, "invalid name: " + reason);
            arm(waiter, std::chrono::milliseconds(0));
            return handle(waiter.id);
        }
        std::string key = lower_case(owner_name);
        auto admission = cache_->admit(key, flight_waiter(waiter.id));
        if (admission.role == TlsaCache::Role::cached) {
            waiter.ready_tlsa = std::move(admission.cached);
            waiter.cache_hit = true;
            arm(waiter, std::chrono::milliseconds(0));
            return handle(waiter.id);
        }
        arm(waiter, std::chrono::milliseconds(config_.timeout_ms + watchdog_margin_ms));
        uint64_t id = waiter.id;  // start_tlsa_query never delivers synchronously, but keep no reference
        if (admission.role == TlsaCache::Role::leader) start_tlsa_query(key);
        return handle(id);
    }

    std::optional<TlsaResult> cached_tlsa(std::string_view owner_name) {
        if (!why_invalid_name(owner_name).empty()) return std::nullopt;
        auto started = SteadyClock::now();
        auto hit = cache_->find(owner_name);
        if (hit && observer_) observer_->on_tlsa_lookup(hit->status, true, seconds_since(started));
        return hit;
    }

    PendingLookupPtr lookup_addresses(std::string_view host, AddressCallback callback) {
        Waiter& waiter = add_waiter();
        waiter.on_address = std::move(callback);
        std::string name(host);
        if (is_ip_literal(name)) {
            AddressResult literal;
            literal.status = LookupStatus::insecure;
            literal.addresses.push_back(name);
            literal.detail = "address literal";
            waiter.ready_direct = std::move(literal);
            arm(waiter, std::chrono::milliseconds(0));
        } else if (std::string reason = why_invalid_name(name); !reason.empty()) {
            waiter.ready_direct = address_failure(LookupStatus::error, "invalid host name: " + reason);
            arm(waiter, std::chrono::milliseconds(0));
        } else {
            arm(waiter, std::chrono::milliseconds(config_.timeout_ms));
            start_direct_query(waiter, name, 0);
        }
        return handle(waiter.id);
    }

    bool looks_up_records() const { return config_.mode != config::DnsMode::validate; }

    PendingLookupPtr lookup_records(std::string_view name, uint16_t rrtype, RecordSetCallback callback) {
        Waiter& waiter = add_waiter();
        waiter.on_records = std::move(callback);
        if (!looks_up_records()) {
            waiter.ready_direct = direct_failure(waiter, LookupStatus::error, "NAPTR/SRV lookups are off in validate mode");
            arm(waiter, std::chrono::milliseconds(0));
        } else if (std::string reason = why_invalid_name(name); !reason.empty()) {
            waiter.ready_direct = direct_failure(waiter, LookupStatus::error, "invalid name: " + reason);
            arm(waiter, std::chrono::milliseconds(0));
        } else if (rrtype != GETDNS_RRTYPE_NAPTR && rrtype != GETDNS_RRTYPE_SRV) {
            waiter.ready_direct = direct_failure(waiter, LookupStatus::error, "only NAPTR and SRV lookups are supported");
            arm(waiter, std::chrono::milliseconds(0));
        } else {
            arm(waiter, std::chrono::milliseconds(config_.timeout_ms));
            start_direct_query(waiter, lower_case(name), rrtype);
        }
        return handle(waiter.id);
    }

    void cancel(uint64_t id) {
        auto found = waiters_.find(id);
        if (found == waiters_.end()) return;
        if (Query* query = found->second->direct_query) drop_query(query, true);
        waiters_.erase(found);
    }

private:
    Waiter& add_waiter() {
        auto waiter = std::make_unique<Waiter>();
        waiter->core = this;
        waiter->id = next_id_++;
        waiter->timer.reset(evtimer_new(base_, &ResolverCore::on_waiter_timer, waiter.get()));
        if (!waiter->timer) throw std::bad_alloc();
        return *waiters_.emplace(waiter->id, std::move(waiter)).first->second;
    }

    static void arm(Waiter& waiter, std::chrono::milliseconds delay) {
        timeval tv = to_timeval(delay);
        evtimer_add(waiter.timer.get(), &tv);
    }

    PendingLookupPtr handle(uint64_t id) { return std::make_unique<PendingHandle>(weak_from_this(), id); }

    TlsaCache::Waiter flight_waiter(uint64_t id) {
        return [mailbox = mailbox_, core = weak_from_this(), id](const TlsaResult& result) {
            mailbox->post([core, id, result] {
                if (auto alive = core.lock()) alive->deliver_tlsa(id, result, false);
            });
        };
    }

    void deliver_tlsa(uint64_t id, const TlsaResult& result, bool cache_hit) {
        auto keep_alive = shared_from_this();  // the callback may destroy the resolver
        auto found = waiters_.find(id);
        if (found == waiters_.end()) return;
        std::unique_ptr<Waiter> waiter = std::move(found->second);
        waiters_.erase(found);
        TlsaResult delivered = result;
        delivered.from_cache = delivered.from_cache || cache_hit;
        if (observer_) observer_->on_tlsa_lookup(delivered.status, cache_hit, seconds_since(waiter->started));
        waiter->on_tlsa(delivered);
    }

    void deliver_direct(uint64_t id, const DirectResult& result) {
        auto keep_alive = shared_from_this();
        auto found = waiters_.find(id);
        if (found == waiters_.end()) return;
        std::unique_ptr<Waiter> waiter = std::move(found->second);
        waiters_.erase(found);
        if (waiter->direct_query) drop_query(waiter->direct_query, true);
        if (waiter->on_records) {
            if (auto* records = std::get_if<RecordSetResult>(&result)) waiter->on_records(*records);
        } else if (auto* addresses = std::get_if<AddressResult>(&result)) {
            waiter->on_address(*addresses);
        }
    }

    static void on_waiter_timer(evutil_socket_t, short, void* arg) {
        auto* waiter = static_cast<Waiter*>(arg);
        ResolverCore* core = waiter->core;
        uint64_t id = waiter->id;
        auto waited = "no answer within " + std::to_string(core->config_.timeout_ms) + " ms";
        if (waiter->on_tlsa) {
            TlsaResult result = waiter->ready_tlsa ? *waiter->ready_tlsa : tlsa_failure(LookupStatus::timeout, waited);
            core->deliver_tlsa(id, result, waiter->cache_hit);
        } else {
            DirectResult result =
                waiter->ready_direct ? *waiter->ready_direct : direct_failure(*waiter, LookupStatus::timeout, waited);
            core->deliver_direct(id, result);
        }
    }

    Query* add_query(bool is_tlsa, std::string name) {
        auto query = std::make_unique<Query>();
        query->core = this;
        query->is_tlsa = is_tlsa;
        query->name = std::move(name);
        Query* pointer = query.get();
        queries_.emplace(pointer, std::move(query));
        return pointer;
    }

    // Cancels the getdns request if it is still outstanding, and forgets the query.
    void drop_query(Query* query, bool outstanding) {
        if (outstanding) getdns_cancel_callback(context_.get(), query->transaction);
        if (!query->is_tlsa) {
            if (auto waiter = waiters_.find(query->waiter_id); waiter != waiters_.end()) {
                waiter->second->direct_query = nullptr;
            }
        }
        queries_.erase(query);
    }

    void start_tlsa_query(const std::string& key) {
        if (queries_.size() >= max_outstanding_lookups) {
            cache_->finish(key, tlsa_failure(LookupStatus::error, "too many outstanding DNS lookups"));
            return;
        }
        Query* query = add_query(true, key);
        query->timer.reset(evtimer_new(base_, &ResolverCore::on_query_timer, query));
        submitting_ = true;
        getdns_return_t rc = query->timer ? getdns_general(context_.get(), key.c_str(), GETDNS_RRTYPE_TLSA,
                                                           tlsa_extensions_.get(), query, &query->transaction,
                                                           &ResolverCore::on_getdns_reply)
                                          : GETDNS_RETURN_MEMORY_ERROR;
        submitting_ = false;
        if (rc != GETDNS_RETURN_GOOD) {
            drop_query(query, false);
            cache_->finish(key, tlsa_failure(LookupStatus::error, "query not sent: " + getdns_error(rc)));
            return;
        }
        if (query->early_tlsa) {
            complete_tlsa(query, *query->early_tlsa);
            return;
        }
        timeval tv = to_timeval(std::chrono::milliseconds(config_.timeout_ms));
        evtimer_add(query->timer.get(), &tv);
    }

    // A query of one waiter's own: addresses (rrtype 0) or NAPTR/SRV, with the DNSSEC extensions of the mode.
    void start_direct_query(Waiter& waiter, const std::string& name, uint16_t rrtype) {
        if (queries_.size() >= max_outstanding_lookups) {
            waiter.ready_direct = direct_failure(waiter, LookupStatus::error, "too many outstanding DNS lookups");
            arm(waiter, std::chrono::milliseconds(0));
            return;
        }
        Query* query = add_query(false, name);
        query->waiter_id = waiter.id;
        query->rrtype = rrtype;
        submitting_ = true;
        getdns_return_t rc =
            rrtype == 0 ? getdns_address(context_.get(), name.c_str(), tlsa_extensions_.get(), query, &query->transaction,
                                         &ResolverCore::on_getdns_reply)
                        : getdns_general(context_.get(), name.c_str(), rrtype, tlsa_extensions_.get(), query,
                                         &query->transaction, &ResolverCore::on_getdns_reply);
        submitting_ = false;
        if (rc != GETDNS_RETURN_GOOD) {
            drop_query(query, false);
            waiter.ready_direct = direct_failure(waiter, LookupStatus::error, "query not sent: " + getdns_error(rc));
            arm(waiter, std::chrono::milliseconds(0));
            return;
        }
        if (query->early_direct) {
            complete_direct(query, *query->early_direct);
            return;
        }
        waiter.direct_query = query;
    }

    static void on_query_timer(evutil_socket_t, short, void* arg) {
        auto* query = static_cast<Query*>(arg);
        ResolverCore* core = query->core;
        std::string key = query->name;
        core->drop_query(query, true);
        core->cache_->finish(key, tlsa_failure(LookupStatus::timeout, "no answer within " +
                                                                          std::to_string(core->config_.timeout_ms) +
                                                                          " ms"));
    }

    static void on_getdns_reply(getdns_context*, getdns_callback_type_t type, getdns_dict* response,
                                void* arg, getdns_transaction_t) {
        GetdnsDictPtr owned(response);
        if (type == GETDNS_CALLBACK_CANCEL) return;  // we cancelled it and already forgot the query
        auto* query = static_cast<Query*>(arg);
        if (query->core->shutting_down_) return;
        query->core->on_reply(query, type, owned.get());
    }

    void on_reply(Query* query, getdns_callback_type_t type, const getdns_dict* response) {
        if (query->is_tlsa) {
            TlsaResult result =
                type == GETDNS_CALLBACK_COMPLETE
                    ? interpret_tlsa_response(response, validator_, config_.cache.max_ttl_s, std::time(nullptr))
                : type == GETDNS_CALLBACK_TIMEOUT ? tlsa_failure(LookupStatus::timeout, "getdns timed out")
                                                  : tlsa_failure(LookupStatus::error, "getdns reported an error");
            if (submitting_) {
                query->early_tlsa = std::move(result);
            } else {
                complete_tlsa(query, result);
            }
        } else {
            DirectResult result = interpret_direct(query, type, response);
            if (submitting_) {
                query->early_direct = std::move(result);
            } else {
                complete_direct(query, result);
            }
        }
    }

    DirectResult interpret_direct(const Query* query, getdns_callback_type_t type, const getdns_dict* response) {
        auto failed = [query](LookupStatus status, std::string detail) -> DirectResult {
            if (query->rrtype != 0) return lookup_failure<RecordSetResult>(status, std::move(detail));
            return address_failure(status, std::move(detail));
        };
        if (type == GETDNS_CALLBACK_TIMEOUT) return failed(LookupStatus::timeout, "getdns timed out");
        if (type != GETDNS_CALLBACK_COMPLETE) return failed(LookupStatus::error, "getdns reported an error");
        if (query->rrtype == 0) return interpret_address_response(response, validator_, std::time(nullptr));
        return interpret_records_response(response, query->rrtype, validator_, config_.cache.max_ttl_s, std::time(nullptr));
    }

    // By value: the result may live in the query (early_tlsa), which drop_query destroys.
    void complete_tlsa(Query* query, TlsaResult result) {
        std::string key = query->name;
        drop_query(query, false);
        cache_->finish(key, result);
    }

    void complete_direct(Query* query, DirectResult result) {
        uint64_t id = query->waiter_id;
        drop_query(query, false);
        mailbox_->post([core = weak_from_this(), id, result] {
            if (auto alive = core.lock()) alive->deliver_direct(id, result);
        });
    }

    event_base* base_;
    config::DnsConfig config_;
    std::shared_ptr<TlsaCache> cache_;
    LookupObserver* observer_;
    Validator validator_;
    std::unique_ptr<GetdnsEventLoop> getdns_loop_;  // outlives context_
    GetdnsContextPtr context_;
    GetdnsDictPtr tlsa_extensions_;
    std::shared_ptr<LoopMailbox> mailbox_;
    std::unordered_map<uint64_t, std::unique_ptr<Waiter>> waiters_;
    std::unordered_map<Query*, std::unique_ptr<Query>> queries_;
    uint64_t next_id_ = 1;
    bool submitting_ = false;
    bool shutting_down_ = false;
};

PendingHandle::~PendingHandle() {
    if (auto core = core_.lock()) core->cancel(id_);
}

class GetdnsResolver final : public TlsaResolver {
public:
    explicit GetdnsResolver(std::shared_ptr<ResolverCore> core) : core_(std::move(core)) {}

    PendingLookupPtr lookup_tlsa(std::string_view owner_name, TlsaCallback callback) override {
        return core_->lookup_tlsa(owner_name, std::move(callback));
    }
    std::optional<TlsaResult> cached_tlsa(std::string_view owner_name) override {
        return core_->cached_tlsa(owner_name);
    }
    PendingLookupPtr lookup_addresses(std::string_view host, AddressCallback callback) override {
        return core_->lookup_addresses(host, std::move(callback));
    }
    PendingLookupPtr lookup_records(std::string_view name, uint16_t rrtype, RecordSetCallback callback) override {
        return core_->lookup_records(name, rrtype, std::move(callback));
    }
    bool looks_up_records() const override { return core_->looks_up_records(); }

private:
    std::shared_ptr<ResolverCore> core_;
};

}  // namespace

std::unique_ptr<TlsaResolver> make_resolver(event_base* base, const config::DnsConfig& config,
                                            std::shared_ptr<TlsaCache> cache, LookupObserver* observer) {
    return std::make_unique<GetdnsResolver>(
        std::make_shared<ResolverCore>(base, config, std::move(cache), observer));
}

}  // namespace dance::dns
