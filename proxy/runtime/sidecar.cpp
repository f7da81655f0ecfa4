#include "proxy/runtime/sidecar.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <thread>

#include "base/cpu_quota.hpp"
#include "base/c_handles.hpp"
#include "base/open_file_limit.hpp"
#include "config/config_loader.hpp"
#include "dns/tlsa_cache.hpp"
#include "proxy/observe/admin_server.hpp"
#include "proxy/observe/backend_probe.hpp"
#include "proxy/observe/log.hpp"
#include "proxy/observe/metrics.hpp"
#include "proxy/runtime/worker.hpp"
#include "proxy/tls/tls_context.hpp"

namespace dance::proxy {
namespace {

constexpr int dns_failures_before_unready = 5;
constexpr timeval watch_interval{2, 0};
constexpr timeval drain_poll_interval{0, 100000};

// Forwards lookups to the metrics and remembers whether the resolver still answers, for /readyz.
class DnsHealth : public dns::LookupObserver {
public:
    explicit DnsHealth(Metrics& metrics) : metrics_(metrics) {}
    void on_tlsa_lookup(dns::LookupStatus status, bool cache_hit, double seconds) override {
        metrics_.on_tlsa_lookup(status, cache_hit, seconds);
        if (cache_hit) return;
        bool unanswered = status == dns::LookupStatus::timeout || status == dns::LookupStatus::error;
        consecutive_failures_ = unanswered ? consecutive_failures_.load() + 1 : 0;
    }
    bool answering() const { return consecutive_failures_.load() < dns_failures_before_unready; }

private:
    Metrics& metrics_;
    std::atomic<int> consecutive_failures_{0};
};

struct FileStamp {
    ino_t inode = 0;
    timespec modified{};
    off_t size = 0;
    bool operator==(const FileStamp& other) const {
        return inode == other.inode && modified.tv_sec == other.modified.tv_sec &&
               modified.tv_nsec == other.modified.tv_nsec && size == other.size;
    }
};

FileStamp stamp_of(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return {};  // follows the symlinks a Kubernetes Secret swaps
    return {info.st_ino, info.st_mtim, info.st_size};
}

std::vector<std::string> credential_files(const config::Config& config) {
    std::vector<std::string> files;
    for (const auto& listener : config.inbound) {
        files.insert(files.end(), {listener.tls.cert, listener.tls.key, listener.client_auth.ca_file});
    }
    for (const auto& listener : config.outbound) {
        files.insert(files.end(), {listener.tls.cert, listener.tls.key, listener.ca_file});
    }
    std::erase(files, std::string());
    return files;
}

// workers: 0 = one loop per CPU the process may use (a container's CPU limit, not the host's cores).
unsigned worker_count(const config::Config& config) {
    if (config.workers > 0) return config.workers;
    return usable_cpus();
}

}  // namespace

struct Sidecar::State {
    config::Config config;
    Metrics metrics;
    DnsHealth dns_health{metrics};
    SharedRuntime shared;
    std::vector<std::unique_ptr<Worker>> workers;
    std::unique_ptr<AdminServer> admin;
    std::vector<std::unique_ptr<BackendProbe>> backend_probes;
    EventBasePtr base;
    std::vector<EventPtr> signal_events;
    EventPtr watch_timer;
    EventPtr drain_timer;
    std::map<std::string, FileStamp> watched;          // as of the last reload
    std::map<std::string, FileStamp> change_settling;  // a change seen at the last tick, reloaded when it holds
    std::atomic<bool> listeners_bound{false};
    std::chrono::steady_clock::time_point drain_deadline;
    bool draining = false;

    bool build_runtime(std::string& error);
    bool start_workers(std::string& error);
    void start_admin();
    void install_signals();
    void remember_file_stamps();
    void reload_if_files_changed();
    void publish_certificate_expiry();
    void reload(std::string_view trigger);
    bool apply(const config::Config& next, std::string& error);
    std::string keep_settings_that_need_a_restart(config::Config& next) const;
    void begin_drain();
    void poll_drain();
};

Sidecar::Sidecar(config::Config config) : state_(std::make_unique<State>()) { state_->config = std::move(config); }

Sidecar::~Sidecar() = default;

bool Sidecar::State::build_runtime(std::string& error) {
    shared.dns = config.dns;
    shared.cache = std::make_shared<dns::TlsaCache>(config.dns.cache);
    shared.observer = &dns_health;
    for (const auto& listener : config.inbound) {
        auto settings = make_inbound_settings(listener, config.dane_clientid.codepoint, error);
        if (!settings) return false;
        auto entry = std::make_unique<InboundShared>();
        entry->settings = std::make_unique<SettingsSlot<InboundSettings>>(std::move(settings));
        entry->metrics = &metrics.listener(listener.name, Direction::inbound);
        shared.inbound.push_back(std::move(entry));
    }
    for (const auto& listener : config.outbound) {
        auto settings = make_outbound_settings(listener, config.dane_clientid.codepoint, error);
        if (!settings) return false;
        auto entry = std::make_unique<OutboundShared>();
        entry->settings = std::make_unique<SettingsSlot<OutboundSettings>>(std::move(settings));
        entry->metrics = &metrics.listener(listener.name, Direction::outbound);
        shared.outbound.push_back(std::move(entry));
    }
    publish_certificate_expiry();
    return true;
}

void Sidecar::State::publish_certificate_expiry() {
    for (auto& listener : shared.inbound) {
        listener->metrics->certificate_expiry(certificate_not_after(listener->settings->get()->tls.get()));
    }
    for (auto& listener : shared.outbound) {
        listener->metrics->certificate_expiry(certificate_not_after(listener->settings->get()->tls.get()));
    }
}

bool Sidecar::State::start_workers(std::string& error) {
    unsigned count = worker_count(config);
    for (unsigned i = 0; i < count; ++i) {
        workers.push_back(std::make_unique<Worker>(i, shared));
        if (!workers.back()->start(error)) return false;
    }
    listeners_bound = true;
    return true;
}

void Sidecar::State::start_admin() {
    admin = std::make_unique<AdminServer>(config.admin.listen, metrics);
    admin->add_readiness_check("listeners", [this](std::string& why) {
        if (listeners_bound && !draining) return true;
        why = draining ? "draining" : "listeners not bound";
        return false;
    });
    // A resolver outage is partial while cached answers last: the clients they authenticate are still served,
    // so the pod stays in its Service (all replicas would fail the same probe at once).
    admin->add_readiness_check("dns", [this](std::string& why) {
        if (dns_health.answering() || shared.cache->has_fresh_secure_entry()) return true;
        why = "the DNS resolver does not answer and no cached TLSA answer is left";
        return false;
    });
    for (const auto& listener : config.inbound) {
        backend_probes.push_back(std::make_unique<BackendProbe>(base.get(), listener.backend));
        BackendProbe* probe = backend_probes.back().get();
        probe->start();
        admin->add_readiness_check("backend " + listener.name, [probe](std::string& why) {
            if (probe->reachable()) return true;
            why = "backend " + probe->backend().to_string() + " unreachable";
            return false;
        });
    }
}

void Sidecar::State::install_signals() {
    auto add_signal = [this](int number, event_callback_fn callback) {
        signal_events.emplace_back(evsignal_new(base.get(), number, callback, this));
        evsignal_add(signal_events.back().get(), nullptr);
    };
    add_signal(SIGHUP, [](evutil_socket_t, short, void* self) { static_cast<State*>(self)->reload("SIGHUP"); });
    add_signal(SIGTERM, [](evutil_socket_t, short, void* self) { static_cast<State*>(self)->begin_drain(); });
    add_signal(SIGINT, [](evutil_socket_t, short, void* self) { static_cast<State*>(self)->begin_drain(); });
    watch_timer.reset(event_new(base.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void* self) {
        auto* state = static_cast<State*>(self);
        state->metrics.set_tlsa_cache_entries(static_cast<double>(state->shared.cache->size()));
        state->reload_if_files_changed();
    }, this));
    evtimer_add(watch_timer.get(), &watch_interval);
}

void Sidecar::State::remember_file_stamps() {
    watched.clear();
    change_settling.clear();
    for (const std::string& path : credential_files(config)) watched[path] = stamp_of(path);
    watched[config.source_file] = stamp_of(config.source_file);
}

// The config file (a Kubernetes ConfigMap) and the credential files (Secrets) are watched. A change is applied
// once it has held for one watch interval, so a file caught half-written is not reported as a broken config.
void Sidecar::State::reload_if_files_changed() {
    std::map<std::string, FileStamp> current;
    bool changed = false;
    for (const auto& [path, stamp] : watched) {
        current[path] = stamp_of(path);
        changed = changed || !(current[path] == stamp);
    }
    if (!changed) {
        change_settling.clear();
    } else if (current == change_settling) {
        reload("config or certificate files changed");
    } else {
        change_settling = std::move(current);
    }
}

void Sidecar::State::reload(std::string_view trigger) {
    remember_file_stamps();  // a broken file is reported once, not every watch interval
    config::LoadResult loaded = config::load_config(config.source_file);
    std::string error;
    if (!loaded.ok()) {
        for (const auto& problem : loaded.errors) log::error("config_invalid", {{"error", problem.to_string()}});
        error = "invalid configuration";
    } else if (apply(*loaded.config, error)) {
        std::string needs_restart = keep_settings_that_need_a_restart(*loaded.config);
        config = std::move(*loaded.config);
        remember_file_stamps();
        publish_certificate_expiry();
        log::configure(config.log);
        metrics.config_reload(true);
        log::info("config_reloaded", {{"trigger", trigger}});
        if (!needs_restart.empty()) {
            log::warn("config_reload_needs_restart", {{"trigger", trigger}, {"keys", needs_restart},
                                                       {"running", "previous values of these keys"}});
        }
        return;
    }
    metrics.config_reload(false);
    log::error("config_reload_failed", {{"trigger", trigger}, {"error", error}, {"keeping", "previous configuration"}});
}

// What a reload cannot change in a running process (the resolvers, workers and async job pools are built at
// start): the running values are written back into `next`, so the running config says what is in force and a
// later reload reports them again. Returns the keys, comma-separated; "" when none changed.
std::string Sidecar::State::keep_settings_that_need_a_restart(config::Config& next) const {
    std::vector<std::string> keys;
    auto keep = [&keys](auto& wanted, const auto& running, std::string key) {
        if (wanted == running) return;
        wanted = running;
        keys.push_back(std::move(key));
    };
    keep(next.dns, config.dns, "dns");
    keep(next.workers, config.workers, "workers");
    keep(next.admin.listen, config.admin.listen, "admin.listen");
    keep(next.admin.enabled, config.admin.enabled, "admin.enabled");
    for (size_t i = 0; i < next.inbound.size() && i < config.inbound.size(); ++i) {
        keep(next.inbound[i].max_pending_dns, config.inbound[i].max_pending_dns,
             "inbound[" + std::to_string(i) + "].max_pending_dns");
    }
    std::string joined;
    for (const std::string& key : keys) joined += (joined.empty() ? "" : ",") + key;
    return joined;
}

// New settings for every listener of one direction; listeners may not be added, removed, renamed or moved.
template <typename Listener, typename Settings, typename Make>
bool prepare_settings(const std::vector<Listener>& next, const std::vector<Listener>& current, Make make,
                      uint16_t codepoint, std::vector<std::shared_ptr<const Settings>>& prepared, std::string& error) {
    if (next.size() != current.size()) {
        error = "adding or removing listeners needs a restart";
        return false;
    }
    for (size_t i = 0; i < next.size(); ++i) {
        if (next[i].name != current[i].name || next[i].listen.to_string() != current[i].listen.to_string()) {
            error = "listener " + next[i].name + ": renaming or moving a listener needs a restart";
            return false;
        }
        prepared.push_back(make(next[i], codepoint, error));
        if (!prepared.back()) return false;
    }
    return true;
}

// All or nothing: every listener's new settings are built before any is swapped in.
bool Sidecar::State::apply(const config::Config& next, std::string& error) {
    std::vector<std::shared_ptr<const InboundSettings>> inbound;
    std::vector<std::shared_ptr<const OutboundSettings>> outbound;
    uint16_t codepoint = next.dane_clientid.codepoint;
    if (!prepare_settings(next.inbound, config.inbound, make_inbound_settings, codepoint, inbound, error) ||
        !prepare_settings(next.outbound, config.outbound, make_outbound_settings, codepoint, outbound, error)) {
        return false;
    }
    for (size_t i = 0; i < inbound.size(); ++i) {
        auto& slot = *shared.inbound[i]->settings;
        slot.set(remembering_identity_headers(std::move(inbound[i]), *slot.get()));
    }
    for (size_t i = 0; i < outbound.size(); ++i) shared.outbound[i]->settings->set(std::move(outbound[i]));
    return true;
}

void Sidecar::State::begin_drain() {
    if (draining) return;
    draining = true;
    log::info("draining", {{"timeout_ms", config.drain_timeout_ms}});
    for (auto& worker : workers) worker->stop_accepting();
    drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.drain_timeout_ms);
    drain_timer.reset(event_new(base.get(), -1, EV_PERSIST, [](evutil_socket_t, short, void* self) {
        static_cast<State*>(self)->poll_drain();
    }, this));
    evtimer_add(drain_timer.get(), &drain_poll_interval);
    poll_drain();
}

void Sidecar::State::poll_drain() {
    size_t remaining = 0;
    for (auto& worker : workers) {
        remaining += std::min<size_t>(worker->remaining(), 1u << 30);
        worker->drain_connections();
    }
    bool expired = std::chrono::steady_clock::now() >= drain_deadline;
    if (remaining == 0 || expired) {
        if (expired && remaining > 0) log::warn("drain_timeout", {{"connections_left", remaining}});
        event_base_loopexit(base.get(), nullptr);
    }
}

namespace {

// Each inbound connection can hold a backend connection too; the rest (listeners, DNS, admin) is small.
uint64_t open_files_wanted(const config::Config& config) {
    uint64_t wanted = 64;
    for (const auto& listener : config.inbound) wanted += 2 * uint64_t{listener.max_connections};
    return wanted;
}

void raise_open_files(const config::Config& config) {
    auto limit = raise_open_file_limit();
    auto wanted = open_files_wanted(config);
    if (limit.now >= wanted && limit.now == limit.before) return;
    // Below `wanted`, the listeners' max_connections cannot be reached: the operator raises the hard limit.
    log::event(limit.now < wanted ? log::Level::warn : log::Level::info,
               limit.now < wanted ? "open_file_limit_low" : "open_file_limit_raised",
               {{"before", limit.before}, {"now", limit.now}, {"hard", limit.hard}, {"wanted", wanted}});
}

}  // namespace

int Sidecar::run() {
    State& state = *state_;
    log::configure(state.config.log);
    raise_open_files(state.config);
    std::signal(SIGPIPE, SIG_IGN);
    state.base.reset(event_base_new());
    std::string error;
    if (!state.build_runtime(error) || !state.start_workers(error)) {
        log::error("startup_failed", {{"error", error}});
        return 1;
    }
    state.start_admin();
    if (state.config.admin.enabled && !state.admin->start(error)) {
        log::error("startup_failed", {{"error", "admin: " + error}});
        return 1;
    }
    state.install_signals();
    state.remember_file_stamps();
    log::info("started", {{"workers", state.workers.size()}, {"inbound", state.config.inbound.size()},
                          {"outbound", state.config.outbound.size()}, {"admin", state.config.admin.listen.to_string()}});
    event_base_dispatch(state.base.get());
    for (auto& worker : state.workers) worker->stop();
    state.workers.clear();
    if (state.admin) state.admin->stop();
    log::info("stopped", {});
    return 0;
}

}  // namespace dance::proxy
