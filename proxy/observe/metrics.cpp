#include "proxy/observe/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "proxy/observe/process_metrics.hpp"
#include "version.hpp"

namespace dance::proxy {

namespace {

// TS002 vocabulary. Index 0 of each is "none" (absent), the last is "unrecognized".
constexpr std::array<std::string_view, 25> lorawan_message_types{
    "none",       "JoinReq",    "JoinAns",    "RejoinReq",   "RejoinAns",   "AppSKeyReq",  "AppSKeyAns",
    "PRStartReq", "PRStartAns", "PRStopReq",  "PRStopAns",   "HRStartReq",  "HRStartAns",  "HRStopReq",
    "HRStopAns",  "HomeNSReq",  "HomeNSAns",  "ProfileReq",  "ProfileAns",  "XmitDataReq", "XmitDataAns",
    "XmitLocReq", "XmitLocAns", "ErrorNotif", "unrecognized",
};
constexpr std::array<std::string_view, 22> lorawan_result_codes{
    "none",
    "Success",
    "MICFailed",
    "JoinReqFailed",
    "NoRoamingAgreement",
    "DevRoamingDisallowed",
    "RoamingActDisallowed",
    "ActivationDisallowed",
    "UnknownDevEUI",
    "UnknownDevAddr",
    "UnknownSender",
    "UnknownReceiver",
    "Deferred",
    "XmitFailed",
    "InvalidFPort",
    "InvalidProtocolVersion",
    "StaleDeviceProfile",
    "MalformedRequest",
    "FrameSizeError",
    "Other",
    "UnkownReceiver",  // the spec's own misspelling, seen on the wire; counted as UnknownReceiver
    "unrecognized",
};
constexpr std::size_t misspelled_unknown_receiver = 20;
constexpr std::size_t unknown_receiver = 11;
static_assert(lorawan_result_codes[unknown_receiver] == "UnknownReceiver");
static_assert(lorawan_result_codes[misspelled_unknown_receiver] == "UnkownReceiver");
constexpr std::size_t lorawan_cell_count = lorawan_message_types.size() * lorawan_result_codes.size();

template <std::size_t N>
std::size_t vocabulary_index(const std::array<std::string_view, N>& vocabulary, std::string_view value) {
    if (value.empty()) return 0;
    auto found = std::find(vocabulary.begin() + 1, vocabulary.end() - 1, value);
    return static_cast<std::size_t>(found - vocabulary.begin());  // end() - 1 = "unrecognized"
}

constexpr std::array<dns::LookupStatus, 7> lookup_statuses{
    dns::LookupStatus::secure,   dns::LookupStatus::insecure, dns::LookupStatus::bogus, dns::LookupStatus::nxdomain,
    dns::LookupStatus::nodata,   dns::LookupStatus::timeout,  dns::LookupStatus::error,
};

std::string_view lookup_status_label(dns::LookupStatus status) {
    switch (status) {
        case dns::LookupStatus::secure: return "secure";
        case dns::LookupStatus::insecure: return "insecure";
        case dns::LookupStatus::bogus: return "bogus";
        case dns::LookupStatus::nxdomain: return "nxdomain";
        case dns::LookupStatus::nodata: return "nodata";
        case dns::LookupStatus::timeout: return "timeout";
        case dns::LookupStatus::error: return "error";
    }
    return "error";
}

std::size_t lookup_status_index(dns::LookupStatus status) {
    auto index = static_cast<std::size_t>(status);
    return index < lookup_statuses.size() ? index : lookup_statuses.size() - 1;
}

// Handshakes and requests span sub-millisecond loopback to multi-second DNS timeouts.
prometheus::Histogram::BucketBoundaries latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
prometheus::Histogram::BucketBoundaries dns_buckets() {
    return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

// The counter in slot, created on first use. make_labels runs only then: the hot path is one atomic load.
template <typename MakeLabels>
prometheus::Counter& counter_in_slot(std::atomic<prometheus::Counter*>& slot, std::mutex& create_mutex,
                                     prometheus::Family<prometheus::Counter>& family, MakeLabels make_labels) {
    if (auto* counter = slot.load(std::memory_order_acquire)) return *counter;
    std::lock_guard lock(create_mutex);
    if (auto* counter = slot.load(std::memory_order_relaxed)) return *counter;
    auto* counter = &family.Add(make_labels());
    slot.store(counter, std::memory_order_release);
    return *counter;
}

}  // namespace

class MetricFamilies {
public:
    explicit MetricFamilies(prometheus::Registry& registry)
        : handshakes(prometheus::BuildCounter()
                         .Name("dance_handshakes_total")
                         .Help("TLS handshakes by outcome (ok or the reason for failure)")
                         .Register(registry)),
          handshake_duration(prometheus::BuildHistogram()
                                 .Name("dance_handshake_duration_seconds")
                                 .Help("Time from TCP accept/connect to handshake outcome, DNS wait included")
                                 .Register(registry)),
          tlsa_lookups(prometheus::BuildCounter()
                           .Name("dance_tlsa_lookups_total")
                           .Help("TLSA lookups by DNSSEC outcome and cache use")
                           .Register(registry)),
          tlsa_lookup_duration(prometheus::BuildHistogram()
                                   .Name("dance_tlsa_lookup_duration_seconds")
                                   .Help("TLSA lookup latency, cache hits included")
                                   .Register(registry)),
          tlsa_cache_entries(prometheus::BuildGauge()
                                 .Name("dance_tlsa_cache_entries")
                                 .Help("Entries in the shared TLSA cache")
                                 .Register(registry)),
          connections_active(prometheus::BuildGauge()
                                 .Name("dance_connections_active")
                                 .Help("Open connections")
                                 .Register(registry)),
          connections_rejected(prometheus::BuildCounter()
                                   .Name("dance_connections_rejected_total")
                                   .Help("Connections refused before the handshake, by reason")
                                   .Register(registry)),
          requests(prometheus::BuildCounter()
                       .Name("dance_requests_total")
                       .Help("Proxied HTTP requests by status sent to the client (0 = none)")
                       .Register(registry)),
          request_duration(prometheus::BuildHistogram()
                               .Name("dance_request_duration_seconds")
                               .Help("Time from request start to the last response byte")
                               .Register(registry)),
          lorawan_messages(prometheus::BuildCounter()
                               .Name("dance_lorawan_messages_total")
                               .Help("LoRaWAN Backend Interfaces messages by MessageType and Result.ResultCode")
                               .Register(registry)),
          certificate_expiry(prometheus::BuildGauge()
                                 .Name("dance_certificate_expiry_timestamp_seconds")
                                 .Help("notAfter of the listener's own certificate, Unix time")
                                 .Register(registry)),
          config_reloads(prometheus::BuildCounter()
                             .Name("dance_config_reloads_total")
                             .Help("Configuration reloads by outcome")
                             .Register(registry)),
          pending_dns(prometheus::BuildGauge()
                          .Name("dance_pending_dns_handshakes")
                          .Help("Handshakes paused waiting for a TLSA lookup")
                          .Register(registry)),
          route_lookups(prometheus::BuildCounter()
                            .Name("dance_route_lookups_total")
                            .Help("Requests routed by ReceiverID, by kind of ID and how the route ended")
                            .Register(registry)),
          build_info(prometheus::BuildGauge()
                         .Name("dance_build_info")
                         .Help("Always 1; the version label says which build is running")
                         .Register(registry)) {}

    prometheus::Family<prometheus::Counter>& handshakes;
    prometheus::Family<prometheus::Histogram>& handshake_duration;
    prometheus::Family<prometheus::Counter>& tlsa_lookups;
    prometheus::Family<prometheus::Histogram>& tlsa_lookup_duration;
    prometheus::Family<prometheus::Gauge>& tlsa_cache_entries;
    prometheus::Family<prometheus::Gauge>& connections_active;
    prometheus::Family<prometheus::Counter>& connections_rejected;
    prometheus::Family<prometheus::Counter>& requests;
    prometheus::Family<prometheus::Histogram>& request_duration;
    prometheus::Family<prometheus::Counter>& lorawan_messages;
    prometheus::Family<prometheus::Gauge>& certificate_expiry;
    prometheus::Family<prometheus::Counter>& config_reloads;
    prometheus::Family<prometheus::Gauge>& pending_dns;
    prometheus::Family<prometheus::Counter>& route_lookups;
    prometheus::Family<prometheus::Gauge>& build_info;
};

// ---- ListenerMetrics ----

ListenerMetrics::ListenerMetrics(MetricFamilies& families, std::string name, Direction direction)
    : name_(std::move(name)),
      direction_(direction),
      families_(families),
      lorawan_messages_(std::make_unique<std::atomic<prometheus::Counter*>[]>(lorawan_cell_count)) {
    const std::string direction_label(to_string(direction));
    const prometheus::Labels labels{{"listener", name_}, {"direction", direction_label}};

    for (std::size_t i = 0; i < handshake_result_count; ++i) {
        auto result = static_cast<HandshakeResult>(i);
        if (direction == Direction::inbound ? !applies_to_inbound(result) : !applies_to_outbound(result)) continue;
        auto with_result = labels;
        with_result.emplace("result", std::string(to_string(result)));
        handshakes_[i].store(&families.handshakes.Add(with_result), std::memory_order_relaxed);
    }
    handshake_duration_ = &families.handshake_duration.Add(labels, latency_buckets());
    connections_active_ = &families.connections_active.Add(labels);
    for (std::size_t i = 0; i < known_reject_reasons.size(); ++i) {
        auto with_reason = labels;
        with_reason.emplace("reason", std::string(known_reject_reasons[i]));
        known_rejections_[i] = &families.connections_rejected.Add(with_reason);
    }
    for (int code : known_request_codes) {
        auto with_code = labels;
        with_code.emplace("code", std::to_string(code));
        requests_by_code_[static_cast<std::size_t>(code)].store(&families.requests.Add(with_code), std::memory_order_relaxed);
    }
    request_duration_ = &families.request_duration.Add(labels, latency_buckets());
    pending_dns_ = &families.pending_dns.Add({{"listener", name_}});
}

ListenerMetrics::~ListenerMetrics() = default;

void ListenerMetrics::handshake(HandshakeResult result, double seconds) {
    auto index = static_cast<std::size_t>(result);
    // Slots not pre-created (an outbound-only result on an inbound listener) are created on first use.
    counter_in_slot(handshakes_[index], create_mutex_, families_.handshakes, [&]() -> prometheus::Labels {
        return {{"listener", name_},
                {"direction", std::string(to_string(direction_))},
                {"result", std::string(to_string(result))}};
    }).Increment();
    if (std::isfinite(seconds) && seconds >= 0) handshake_duration_->Observe(seconds);
}

void ListenerMetrics::connection_opened() { connections_active_->Increment(); }

void ListenerMetrics::connection_closed() { connections_active_->Decrement(); }

void ListenerMetrics::connection_rejected(std::string_view reason) {
    auto known = std::find(known_reject_reasons.begin(), known_reject_reasons.end(), reason);
    if (known != known_reject_reasons.end()) {
        known_rejections_[static_cast<std::size_t>(known - known_reject_reasons.begin())]->Increment();
        return;
    }
    std::lock_guard lock(create_mutex_);
    auto found = other_rejections_.find(reason);
    if (found == other_rejections_.end()) {
        auto* counter = &families_.connections_rejected.Add({{"listener", name_},
                                                             {"direction", std::string(to_string(direction_))},
                                                             {"reason", std::string(reason)}});
        found = other_rejections_.emplace(std::string(reason), counter).first;
    }
    found->second->Increment();
}

void ListenerMetrics::request(int http_status, double seconds) {
    std::size_t code = (http_status >= 100 && http_status < 600) ? static_cast<std::size_t>(http_status) : 0;
    counter_in_slot(requests_by_code_[code], create_mutex_, families_.requests, [&]() -> prometheus::Labels {
        return {{"listener", name_}, {"direction", std::string(to_string(direction_))}, {"code", std::to_string(code)}};
    }).Increment();
    if (std::isfinite(seconds) && seconds >= 0) request_duration_->Observe(seconds);
}

void ListenerMetrics::lorawan_message(std::string_view message_type, std::string_view result_code) {
    std::size_t type = vocabulary_index(lorawan_message_types, message_type);
    std::size_t code = vocabulary_index(lorawan_result_codes, result_code);
    if (code == misspelled_unknown_receiver) code = unknown_receiver;
    auto& slot = lorawan_messages_[type * lorawan_result_codes.size() + code];
    counter_in_slot(slot, create_mutex_, families_.lorawan_messages, [&]() -> prometheus::Labels {
        return {{"listener", name_},
                {"message_type", std::string(lorawan_message_types[type])},
                {"result_code", std::string(lorawan_result_codes[code])}};
    }).Increment();
}

void ListenerMetrics::certificate_expiry(double unix_seconds) {
    auto* gauge = certificate_expiry_.load(std::memory_order_acquire);
    if (gauge == nullptr) {
        std::lock_guard lock(create_mutex_);
        gauge = certificate_expiry_.load(std::memory_order_relaxed);
        if (gauge == nullptr) {
            gauge = &families_.certificate_expiry.Add({{"listener", name_}});
            certificate_expiry_.store(gauge, std::memory_order_release);
        }
    }
    gauge->Set(unix_seconds);
}

void ListenerMetrics::pending_dns(int delta) { pending_dns_->Increment(static_cast<double>(delta)); }

void ListenerMetrics::routes_enabled() {
    for (std::string_view kind : route_kinds) {
        for (std::string_view result : route_results) route_lookup_counter(kind, result);
    }
}

void ListenerMetrics::route_lookup(std::string_view kind, std::string_view result) {
    route_lookup_counter(kind, result).Increment();
}

prometheus::Counter& ListenerMetrics::route_lookup_counter(std::string_view kind, std::string_view result) {
    auto kind_index = static_cast<std::size_t>(std::find(route_kinds.begin(), route_kinds.end() - 1, kind) - route_kinds.begin());
    auto result_index = static_cast<std::size_t>(std::find(route_results.begin(), route_results.end(), result) - route_results.begin());
    constexpr std::size_t error_index = 8;
    static_assert(route_results[error_index] == "error");
    if (result_index == route_results.size()) result_index = error_index;
    auto& slot = route_lookups_[kind_index * route_results.size() + result_index];
    return counter_in_slot(slot, create_mutex_, families_.route_lookups, [&]() -> prometheus::Labels {
        return {{"listener", name_},
                {"kind", std::string(route_kinds[kind_index])},
                {"result", std::string(route_results[result_index])}};
    });
}

// ---- Metrics ----

Metrics::Metrics() : Metrics(DANCE_SIDECAR_VERSION) {}

Metrics::Metrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<MetricFamilies>(*registry_)) {
    for (auto status : lookup_statuses) {
        for (bool cache_hit : {false, true}) {
            tlsa_lookups_[lookup_status_index(status) * 2 + (cache_hit ? 1 : 0)] = &families_->tlsa_lookups.Add(
                {{"result", std::string(lookup_status_label(status))}, {"cache", cache_hit ? "hit" : "miss"}});
        }
    }
    tlsa_lookup_duration_ = &families_->tlsa_lookup_duration.Add({}, dns_buckets());
    tlsa_cache_entries_ = &families_->tlsa_cache_entries.Add({});
    reloads_ok_ = &families_->config_reloads.Add({{"result", "ok"}});
    reloads_error_ = &families_->config_reloads.Add({{"result", "error"}});
    families_->build_info.Add({{"version", std::string(version)}}).Set(1);
}

Metrics::~Metrics() = default;

ListenerMetrics& Metrics::listener(std::string_view name, Direction direction) {
    std::lock_guard lock(listeners_mutex_);
    auto key = std::make_pair(std::string(name), direction);
    auto found = listeners_.find(key);
    if (found == listeners_.end()) {
        auto created = std::make_unique<ListenerMetrics>(*families_, key.first, direction);
        found = listeners_.emplace(std::move(key), std::move(created)).first;
    }
    return *found->second;
}

void Metrics::on_tlsa_lookup(dns::LookupStatus status, bool cache_hit, double seconds) {
    tlsa_lookups_[lookup_status_index(status) * 2 + (cache_hit ? 1 : 0)]->Increment();
    if (std::isfinite(seconds) && seconds >= 0) tlsa_lookup_duration_->Observe(seconds);
}

void Metrics::set_tlsa_cache_entries(double entries) { tlsa_cache_entries_->Set(entries); }

void Metrics::config_reload(bool ok) { (ok ? reloads_ok_ : reloads_error_)->Increment(); }

// procfs is memory, not disk: reading it on the admin thread at each scrape does not block.
std::string Metrics::serialize() const {
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    std::vector<prometheus::MetricFamily> process = collect_process_metrics();
    families.insert(families.end(), std::make_move_iterator(process.begin()), std::make_move_iterator(process.end()));
    return prometheus::TextSerializer().Serialize(families);
}

std::shared_ptr<prometheus::Registry> Metrics::registry() { return registry_; }

}  // namespace dance::proxy
