// Every Prometheus series dance-sidecar exports, declared in one place. The names are a contract with
// dashboards and alerts: do not rename without a deprecation period.
//
//   dance_handshakes_total{listener,direction,result}            counter
//   dance_handshake_duration_seconds{listener,direction}         histogram
//   dance_tlsa_lookups_total{result,cache}                       counter   cache = hit | miss
//   dance_tlsa_lookup_duration_seconds                           histogram
//   dance_tlsa_cache_entries                                     gauge
//   dance_connections_active{listener,direction}                 gauge
//   dance_connections_rejected_total{listener,direction,reason}  counter
//   dance_requests_total{listener,direction,code}                counter   code = HTTP status, "0" = none
//   dance_request_duration_seconds{listener,direction}           histogram
//   dance_lorawan_messages_total{listener,message_type,result_code}  counter
//   dance_certificate_expiry_timestamp_seconds{listener}         gauge     absent until first set
//   dance_config_reloads_total{result}                           counter   result = ok | error
//   dance_pending_dns_handshakes{listener}                       gauge
//   dance_build_info{version}                                    gauge (always 1)
//
// Thread-safe: ListenerMetrics methods may be called from any worker thread concurrently. The hot path
// is an array index plus an atomic update; label strings are resolved once, when a listener is created.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dns/tlsa_resolver.hpp"
#include "proxy/observe/direction.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace dance::proxy {

class MetricFamilies;  // the registered families; defined in metrics.cpp

// Reasons for dance_connections_rejected_total that exist at 0 from the start; others are created on
// first use (keep them a small fixed set: they are label values).
inline constexpr std::array<std::string_view, 7> known_reject_reasons{
    "max_connections", "max_handshakes", "max_handshakes_per_source", "too_many_pending", "draining", "accept_error",
    "unauthenticated_buffer_limit"};

// Status codes of dance_requests_total that exist at 0 from the start, so rate() sees a listener's first
// failure (DanceUpstreamErrors reads 502/503/504); other codes are created on first use.
inline constexpr std::array<int, 8> known_request_codes{200, 400, 403, 413, 431, 502, 503, 504};

// dance_route_lookups_total's label values (routing outbound listeners): what kind of ID the ReceiverID is, and
// how the request's route ended. Fixed sets; every pair exists at 0 once routes_enabled() ran.
inline constexpr std::array<std::string_view, 4> route_kinds{"join_eui", "net_id", "as_id", "unknown"};
// "secure" and "static": relayed, or failed after the route was found ("upstream_failed": the server's TLSA,
// the handshake, the connection or the request time ran out on a discovered route).
inline constexpr std::array<std::string_view, 11> route_results{
    "static", "secure", "malformed", "unknown_receiver", "no_service", "insecure", "bogus", "timeout", "error",
    "overload", "upstream_failed"};

// The counters and gauges of one (listener, direction). Obtained from Metrics::listener(); lives as
// long as the Metrics object.
class ListenerMetrics {
public:
    ListenerMetrics(MetricFamilies& families, std::string name, Direction direction);  // see listener()
    ListenerMetrics(const ListenerMetrics&) = delete;
    ListenerMetrics& operator=(const ListenerMetrics&) = delete;
    ~ListenerMetrics();

    const std::string& name() const { return name_; }
    Direction direction() const { return direction_; }

    // Series for the results that apply to this listener's kind exist at 0 from the start.
    void handshake(HandshakeResult result, double seconds);

    void connection_opened();
    void connection_closed();
    void connection_rejected(std::string_view reason);

    // http_status 0 = no response was sent (client went away). Statuses outside 100..599 count as 0.
    void request(int http_status, double seconds);

    // Both values come from peer-controlled JSON: anything outside the TS002 vocabulary is counted as
    // "unrecognized", an absent value as "none", so the label set stays bounded.
    void lorawan_message(std::string_view message_type, std::string_view result_code);

    void certificate_expiry(double unix_seconds);
    void pending_dns(int delta);

    // A routing listener: creates every dance_route_lookups_total series at 0. Call once, at setup.
    void routes_enabled();
    // One per routed request; values outside route_kinds / route_results count as "unknown" / "error".
    void route_lookup(std::string_view kind, std::string_view result);

private:
    prometheus::Counter& route_lookup_counter(std::string_view kind, std::string_view result);

    std::string name_;
    Direction direction_;
    MetricFamilies& families_;
    std::mutex create_mutex_;  // only for series created on first use

    std::array<std::atomic<prometheus::Counter*>, handshake_result_count> handshakes_{};
    prometheus::Histogram* handshake_duration_;
    prometheus::Gauge* connections_active_;
    std::array<prometheus::Counter*, known_reject_reasons.size()> known_rejections_{};
    std::map<std::string, prometheus::Counter*, std::less<>> other_rejections_;
    std::array<std::atomic<prometheus::Counter*>, 600> requests_by_code_{};
    prometheus::Histogram* request_duration_;
    std::unique_ptr<std::atomic<prometheus::Counter*>[]> lorawan_messages_;  // [type][result code]
    std::atomic<prometheus::Gauge*> certificate_expiry_{nullptr};  // absent until known: 0 would alert
    prometheus::Gauge* pending_dns_;
    std::array<std::atomic<prometheus::Counter*>, route_kinds.size() * route_results.size()> route_lookups_{};
};

class Metrics : public dns::LookupObserver {
public:
    Metrics();  // version label from the build
    explicit Metrics(std::string_view version);
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;
    ~Metrics() override;

    // Creates the listener's series on first call (all fixed results at 0); the reference stays valid
    // for the life of this object. Call at listener setup, keep the reference for the hot path.
    ListenerMetrics& listener(std::string_view name, Direction direction);

    void on_tlsa_lookup(dns::LookupStatus status, bool cache_hit, double seconds) override;
    void set_tlsa_cache_entries(double entries);
    void config_reload(bool ok);

    std::string serialize() const;  // Prometheus text exposition format 0.0.4
    std::shared_ptr<prometheus::Registry> registry();

private:
    std::shared_ptr<prometheus::Registry> registry_;
    std::unique_ptr<MetricFamilies> families_;
    std::array<prometheus::Counter*, 14> tlsa_lookups_{};  // [status * 2 + cache_hit]
    prometheus::Histogram* tlsa_lookup_duration_;
    prometheus::Gauge* tlsa_cache_entries_;
    prometheus::Counter* reloads_ok_;
    prometheus::Counter* reloads_error_;

    std::mutex listeners_mutex_;
    std::map<std::pair<std::string, Direction>, std::unique_ptr<ListenerMetrics>> listeners_;
};

// Content-Type of serialize()'s output.
inline constexpr std::string_view prometheus_text_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace dance::proxy
