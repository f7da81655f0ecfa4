#include "config/host_port_parse.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/dns_name.hpp"
#include "base/ip_literal.hpp"

namespace dance::config {
namespace {

bool looks_like_ipv4(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string parse_port(std::string_view text, uint16_t& port) {
    if (text.empty()) return "missing port number";
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return "port must be a number";
    if (value < 1 || value > 65535) return "port must be between 1 and 65535";
    port = static_cast<uint16_t>(value);
    return "";
}

std::string check_host(const std::string& host, HostRule rule, std::string& canonical) {
    canonical = canonical_ip(host);
    if (!canonical.empty()) {
        if (rule == HostRule::name_only) return "expected a host name, not an IP address";
        return "";
    }
    if (host.empty()) return "missing host";
    if (looks_like_ipv4(host)) return "invalid IPv4 address";
    if (rule == HostRule::ip_only) return "expected an IP address (IPv4, or IPv6 in brackets), not a host name";
    std::string why = dance::why_invalid_name(host);
    if (!why.empty()) return "invalid host name: " + why;
    canonical = dance::lower_case(host);
    return "";
}

}  // namespace

std::string parse_host_port(std::string_view text, HostRule rule, HostPort& out) {
    std::string host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return "missing \"]\" after IPv6 address";
        host = std::string(text.substr(1, close - 1));
        if (host.find(':') == std::string::npos || canonical_ip(host).empty())
            return "invalid IPv6 address in brackets";
        if (close + 1 >= text.size() || text[close + 1] != ':') return "missing \":port\" after \"]\"";
        port_text = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return "missing \":port\"";
        host = std::string(text.substr(0, colon));
        if (host.find(':') != std::string::npos) return "IPv6 addresses need brackets, e.g. [::1]:8003";
        port_text = text.substr(colon + 1);
    }
    std::string canonical;
    if (std::string why = check_host(host, rule, canonical); !why.empty()) return why;
    uint16_t port = 0;
    if (std::string why = parse_port(port_text, port); !why.empty()) return why;
    out = HostPort{canonical, port};
    return "";
}

bool is_loopback_ip(const std::string& host) {
    auto literal = parse_ip_literal(host);
    if (!literal) return false;
    const unsigned char* binary = literal->bytes.data();
    if (literal->family == AF_INET) return binary[0] == 127;
    static constexpr unsigned char loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(binary, loopback6, 16) == 0) return true;
    return std::memcmp(binary, mapped_prefix, 12) == 0 && binary[12] == 127;
}

bool is_wildcard_ip(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

bool listen_addresses_overlap(const HostPort& a, const HostPort& b) {
    if (a.port != b.port) return false;
    if (a.host == b.host || a.host == "::" || b.host == "::") return true;
    bool a_v4 = a.host.find(':') == std::string::npos, b_v4 = b.host.find(':') == std::string::npos;
    return a_v4 && b_v4 && (a.host == "0.0.0.0" || b.host == "0.0.0.0");
}

}  // namespace dance::config
