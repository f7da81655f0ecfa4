// Microseconds of wall and CPU time per TLSA lookup: cache hits, and misses in the lab's modes.
// Run through run.sh (it starts the DNS lab and exports its variables).
//   dns_bench [ITERATIONS]
#include <event2/event.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dns/make_resolver.hpp"

using namespace dance;

namespace {

std::string env(const char* key) {
    const char* value = std::getenv(key);
    if (!value) {
        std::fprintf(stderr, "dns_bench: %s is not set; run through tests/bench/dns/run.sh\n", key);
        std::exit(2);
    }
    return value;
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Sample {
    double wall_us;
    double cpu_us;
};

template <typename Body>
Sample measure(int iterations, Body body) {
    double cpu_before = cpu_seconds();
    auto wall_before = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) body();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    double cpu = cpu_seconds() - cpu_before;
    return {wall * 1e6 / iterations, cpu * 1e6 / iterations};
}

config::DnsConfig lab_config(config::DnsMode mode) {
    config::DnsConfig dns;
    dns.mode = mode;
    dns.trust_anchors = env("TRUST_ANCHOR_FILE");
    if (mode == config::DnsMode::recursive) {
        dns.root_servers = {env("ROOT_SERVERS")};
    } else {
        dns.resolvers = {{env("UNBOUND_ADDR"), static_cast<uint16_t>(std::stoi(env("UNBOUND_PORT")))}};
    }
    return dns;
}

struct BaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};

class Bench {
public:
    Bench(const config::DnsConfig& dns) : base_(event_base_new()) {
        cache_ = std::make_shared<dns::TlsaCache>(dns.cache);
        resolver_ = dns::make_resolver(base_.get(), dns, cache_);
    }

    // One lookup through the event loop, start to callback.
    dns::LookupStatus lookup(const std::string& name) {
        dns::LookupStatus status = dns::LookupStatus::error;
        bool done = false;
        auto pending = resolver_->lookup_tlsa(name, [&](const dns::TlsaResult& result) {
            status = result.status;
            done = true;
            event_base_loopbreak(base_.get());
        });
        while (!done) event_base_loop(base_.get(), EVLOOP_ONCE);
        return status;
    }

    bool probe(const std::string& name) { return resolver_->cached_tlsa(name).has_value(); }

private:
    std::unique_ptr<event_base, BaseDeleter> base_;
    std::shared_ptr<dns::TlsaCache> cache_;
    std::unique_ptr<dns::TlsaResolver> resolver_;
};

void row(const char* mode, const char* what, Sample sample) {
    std::printf("| %-9s | %-44s | %10.2f | %10.2f |\n", mode, what, sample.wall_us, sample.cpu_us);
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;
    const std::string name = env("NAME_NS_A");
    std::vector<config::DnsMode> modes = env("LAB_MODE") == "netns"
                                             ? std::vector<config::DnsMode>{config::DnsMode::recursive}
                                             : std::vector<config::DnsMode>{config::DnsMode::trust_ad,
                                                                            config::DnsMode::validate};
    for (config::DnsMode mode : modes) {
        const char* mode_name = mode == config::DnsMode::recursive  ? "recursive"
                                : mode == config::DnsMode::trust_ad ? "trust-ad"
                                                                    : "validate";
        config::DnsConfig cached = lab_config(mode);
        Bench hits(cached);
        if (hits.lookup(name) != dns::LookupStatus::secure) {
            std::fprintf(stderr, "dns_bench: %s is not secure in mode %s\n", name.c_str(), mode_name);
            return 1;
        }
        row(mode_name, "hit: cached_tlsa() (synchronous probe)", measure(iterations * 10, [&] { hits.probe(name); }));
        row(mode_name, "hit: lookup_tlsa() to callback", measure(iterations, [&] { hits.lookup(name); }));

        config::DnsConfig uncached = lab_config(mode);
        uncached.cache.max_entries = 0;  // every lookup goes upstream
        Bench misses(uncached);
        misses.lookup(name);  // warm the upstream's (or libunbound's) own cache
        int miss_iterations = mode == config::DnsMode::validate ? iterations / 4 : iterations;
        row(mode_name,
            mode == config::DnsMode::recursive ? "miss: libunbound in-process (its cache warm)"
            : mode == config::DnsMode::trust_ad ? "miss: query to unbound (unbound cache warm)"
                                                : "miss: getdns validates chain (unbound warm)",
            measure(miss_iterations, [&] { misses.lookup(name); }));
    }
    return 0;
}
