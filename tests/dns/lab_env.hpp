// The DNS lab's variables (tests/dnslab/lab.sh writes lab.env; run-with-lab.sh exports it).
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dance::dns::test {

inline std::string lab(const char* key) {
    const char* value = std::getenv(key);
    if (!value) FAIL("the lab variable " << key << " is not set: run this test through tests/dns/run-with-lab.sh");
    return value;
}

inline bool lab_in_netns() { return lab("LAB_MODE") == "netns"; }

// Modes this lab can test: the netns lab has root servers on port 53 for recursive mode.
inline std::vector<config::DnsMode> lab_modes() {
    if (lab_in_netns()) return {config::DnsMode::recursive};
    return {config::DnsMode::trust_ad, config::DnsMode::validate};
}

inline const char* mode_name(config::DnsMode mode) {
    switch (mode) {
        case config::DnsMode::recursive: return "recursive";
        case config::DnsMode::trust_ad: return "trust-ad";
        case config::DnsMode::validate: return "validate";
    }
    return "?";
}

inline config::DnsConfig lab_config(config::DnsMode mode) {
    config::DnsConfig config;
    config.mode = mode;
    config.trust_anchors = lab("TRUST_ANCHOR_FILE");
    config.timeout_ms = 3000;  // generous: two cores shared by several builds
    if (mode == config::DnsMode::recursive) {
        config.root_servers = {lab("ROOT_SERVERS")};
    } else {
        config.resolvers = {{lab("UNBOUND_ADDR"), static_cast<uint16_t>(std::stoi(lab("UNBOUND_PORT")))}};
    }
    return config;
}

// A deleter type of its own: decltype(&pclose) as a template argument drops glibc 2.41's attributes on pclose
// and g++ 14 warns (-Wignored-attributes), as for fclose (base/c_handles.hpp).
struct PipeCloser {
    void operator()(FILE* pipe) const { pclose(pipe); }
};

// Queries unbound has received from clients so far.
inline long unbound_queries() {
    std::string command = lab("UNBOUND_STATS_CMD") + " 2>/dev/null";
    std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
    REQUIRE(pipe);
    std::string key = lab("UNBOUND_QUERY_COUNTER") + "=";
    char line[512];
    while (std::fgets(line, sizeof line, pipe.get())) {
        std::string text(line);
        if (text.rfind(key, 0) == 0) return std::stol(text.substr(key.size()));
    }
    FAIL("no " << key << " in unbound statistics");
    return -1;
}

}  // namespace dance::dns::test
