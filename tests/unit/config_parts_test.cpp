#include <doctest/doctest.h>

#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "config/did_you_mean.hpp"
#include "config/host_port_parse.hpp"

using namespace dance::config;

TEST_CASE("errors print as FILE:LINE:COL: KEY.PATH: message") {
    ConfigError error{"sidecar.yaml", 12, 7, "inbound[0].tls.cert", "cannot read file \"js.pem\": No such file or directory"};
    CHECK(error.to_string() ==
          "sidecar.yaml:12:7: inbound[0].tls.cert: cannot read file \"js.pem\": No such file or directory");
    CHECK(ConfigError{"a.yaml", 1, 1, "", "YAML syntax error"}.to_string() == "a.yaml:1:1: YAML syntax error");
    CHECK(ConfigError{"a.yaml", 0, 0, "", "cannot read file"}.to_string() == "a.yaml: cannot read file");
}

TEST_CASE("edit distance counts a transposition as one edit and ignores case") {
    CHECK(edit_distance("tls", "tls") == 0);
    CHECK(edit_distance("tsl", "tls") == 1);
    CHECK(edit_distance("lisen", "listen") == 1);
    CHECK(edit_distance("Listen", "listen") == 0);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("suggestions only for likely typos") {
    std::vector<std::string_view> keys = {"listen", "backend", "tls", "client_auth", "max_connections"};
    CHECK(did_you_mean("tsl", keys) == " (did you mean \"tls\"?)");
    CHECK(did_you_mean("max_conections", keys) == " (did you mean \"max_connections\"?)");
    CHECK(did_you_mean("frobnicate", keys) == "");
    CHECK(did_you_mean("x", keys) == "");
}

TEST_CASE("host:port parsing") {
    HostPort out;
    CHECK(parse_host_port("127.0.0.1:8003", HostRule::ip_only, out) == "");
    CHECK(out.to_string() == "127.0.0.1:8003");
    CHECK(parse_host_port("[2001:DB8:0::1]:53", HostRule::ip_only, out) == "");
    CHECK(out.host == "2001:db8::1");
    CHECK(out.to_string() == "[2001:db8::1]:53");
    CHECK(parse_host_port("JS.Example:443", HostRule::name_only, out) == "");
    CHECK(out.host == "js.example");
    CHECK(parse_host_port("js.example:443", HostRule::ip_only, out) ==
          "expected an IP address (IPv4, or IPv6 in brackets), not a host name");
    CHECK(parse_host_port("192.0.2.1:443", HostRule::name_only, out) == "expected a host name, not an IP address");
    CHECK(parse_host_port("::1:53", HostRule::ip_only, out) == "IPv6 addresses need brackets, e.g. [::1]:8003");
    CHECK(parse_host_port("127.0.0.1", HostRule::ip_only, out) == "missing \":port\"");
    CHECK(parse_host_port("127.0.0.1:0", HostRule::ip_only, out) == "port must be between 1 and 65535");
    CHECK(parse_host_port("127.0.0.1:65536", HostRule::ip_only, out) == "port must be between 1 and 65535");
    CHECK(parse_host_port("127.0.0.1:http", HostRule::ip_only, out) == "port must be a number");
    CHECK(parse_host_port("256.0.0.1:1", HostRule::ip_or_name, out) == "invalid IPv4 address");
    CHECK(parse_host_port("[::1:53", HostRule::ip_only, out) == "missing \"]\" after IPv6 address");
    CHECK(parse_host_port("[127.0.0.1]:53", HostRule::ip_only, out) == "invalid IPv6 address in brackets");
}

TEST_CASE("loopback, wildcard and overlapping listen addresses") {
    CHECK(is_loopback_ip("127.0.0.1"));
    CHECK(is_loopback_ip("127.255.0.9"));
    CHECK(is_loopback_ip("::1"));
    CHECK(is_loopback_ip("::ffff:127.0.0.1"));
    CHECK_FALSE(is_loopback_ip("128.0.0.1"));
    CHECK_FALSE(is_loopback_ip("::"));
    CHECK_FALSE(is_loopback_ip("js.example"));
    CHECK(listen_addresses_overlap({"0.0.0.0", 80}, {"127.0.0.1", 80}));
    CHECK(listen_addresses_overlap({"::", 80}, {"127.0.0.1", 80}));
    CHECK(listen_addresses_overlap({"::1", 80}, {"::1", 80}));
    CHECK_FALSE(listen_addresses_overlap({"0.0.0.0", 80}, {"::1", 80}));
    CHECK_FALSE(listen_addresses_overlap({"127.0.0.1", 80}, {"127.0.0.2", 80}));
    CHECK_FALSE(listen_addresses_overlap({"0.0.0.0", 80}, {"0.0.0.0", 81}));
}
