// The loader against tests/unit/configs/: every valid_*.yaml must load, every other *.yaml must fail
// with exactly the lines of its .expected file. Certificates and keys are made at test time.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "config/config_loader.hpp"
#include "config_test_files.hpp"

namespace fs = std::filesystem;
using dance::config::load_config;
using dance::config::LoadResult;

namespace {

class ConfigDirectory {
public:
    ConfigDirectory() {
        auto js_key = dance::test::make_ec_key();
        auto ns_key = dance::test::make_ec_key();
        auto ca_key = dance::test::make_ec_key();
        auto ca = dance::test::make_certificate("test ca", ca_key.get(), nullptr, nullptr, true);
        auto js = dance::test::make_certificate("js", js_key.get(), ca.get(), ca_key.get(), false);
        auto ns = dance::test::make_certificate("ns", ns_key.get(), ca.get(), ca_key.get(), false);
        dance::test::write_certificate_pem(path() / "js.pem", js.get());
        dance::test::write_certificate_pem(path() / "js.pem", ca.get(), true);
        dance::test::write_key_pem(path() / "js.key", js_key.get());
        dance::test::write_certificate_pem(path() / "ns.pem", ns.get());
        dance::test::write_key_pem(path() / "ns.key", ns_key.get());
        dance::test::write_certificate_pem(path() / "ca.pem", ca.get());
        dance::test::write_text(path() / "notacert.pem", "this is not PEM\n");
        // ca.pem, then a block OpenSSL's CA loader refuses (and with it the whole file).
        std::string damaged_block = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        dance::test::write_text(path() / "damaged-ca.pem", dance::test::read_text(path() / "ca.pem") + damaged_block);
        dance::test::write_text(path() / "root.key", ". IN DS 20326 8 2 e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d\n");
        for (const auto& entry : fs::directory_iterator(DANCE_TEST_CONFIG_DIR))
            fs::copy_file(entry.path(), path() / entry.path().filename());
    }

    const fs::path& path() const { return directory_.path(); }

    std::vector<std::string> yaml_files() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path()))
            if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

    LoadResult load(const std::string& name) const {
        dance::test::ScopedWorkingDirectory in_directory(path());
        return load_config(name);
    }

private:
    dance::test::TempDir directory_;
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::vector<std::string> messages(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const auto& error : result.errors) lines.push_back(error.to_string());
    return lines;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

}  // namespace

TEST_CASE("every valid_*.yaml loads without errors") {
    ConfigDirectory directory;
    int valid_files = 0;
    for (const std::string& name : directory.yaml_files()) {
        if (!name.starts_with("valid_")) continue;
        ++valid_files;
        CAPTURE(name);
        LoadResult result = directory.load(name);
        INFO(joined(messages(result)));
        CHECK(result.ok());
        CHECK(result.errors.empty());
    }
    CHECK(valid_files >= 3);
}

TEST_CASE("every invalid config fails with exactly the messages of its .expected file") {
    ConfigDirectory directory;
    int invalid_files = 0;
    for (const std::string& name : directory.yaml_files()) {
        if (name.starts_with("valid_")) continue;
        ++invalid_files;
        CAPTURE(name);
        fs::path expected_file = directory.path() / fs::path(name).replace_extension(".expected");
        REQUIRE_MESSAGE(fs::exists(expected_file), "missing " << expected_file.filename());
        LoadResult result = directory.load(name);
        CHECK_FALSE(result.ok());
        CHECK(joined(messages(result)) == joined(lines_of(dance::test::read_text(expected_file))));
    }
    CHECK(invalid_files >= 10);
}

TEST_CASE("one file with five different mistakes gives five located messages") {
    ConfigDirectory directory;
    LoadResult result = directory.load("five_mistakes.yaml");
    REQUIRE(result.errors.size() == 5);
    std::set<int> lines;
    std::set<std::string> key_paths;
    for (const auto& error : result.errors) {
        CHECK(error.file == "five_mistakes.yaml");
        CHECK(error.column > 0);
        lines.insert(error.line);
        key_paths.insert(error.key_path);
    }
    CHECK(lines == std::set<int>{5, 9, 12, 15, 18});
    CHECK(key_paths == std::set<std::string>{"dns.resolvers[0]", "inbound[0].backend", "inbound[0].client_auth.mode",
                                             "outbound[0].name", "outbound[0].tls.cert"});
}

TEST_CASE("a loaded inbound config carries every value, names lower-cased, paths absolute") {
    ConfigDirectory directory;
    LoadResult result = directory.load("valid_inbound.yaml");
    REQUIRE(result.ok());
    const auto& config = *result.config;
    CHECK(config.dns.mode == dance::config::DnsMode::trust_ad);
    REQUIRE(config.dns.resolvers.size() == 1);
    CHECK(config.dns.resolvers[0].to_string() == "127.0.0.1:53");
    CHECK(config.dane_clientid.codepoint == 65498);
    REQUIRE(config.inbound.size() == 1);
    const auto& listener = config.inbound[0];
    CHECK(listener.name == "join-server");
    CHECK(listener.listen.to_string() == "0.0.0.0:8003");
    CHECK(listener.backend.to_string() == "127.0.0.1:8080");
    CHECK(listener.client_auth.allow ==
          std::vector<std::string>{"_ns-client.ns.operator-a.example", "*.operator-b.example"});
    CHECK(listener.client_auth.ca_file.empty());
    CHECK(fs::path(listener.tls.cert).is_absolute());
    CHECK(fs::equivalent(listener.tls.cert, directory.path() / "js.pem"));
    CHECK(fs::equivalent(listener.tls.key, directory.path() / "js.key"));
    CHECK(listener.timeouts.backend_ms == 5000);
    CHECK(listener.max_pending_dns == 1024);
    CHECK(fs::equivalent(config.source_file, directory.path() / "valid_inbound.yaml"));
}

TEST_CASE("client_auth.sender_ids: keys and SenderIDs are stored lower-cased, without 0x; default empty") {
    ConfigDirectory directory;
    LoadResult result = directory.load("valid_sender_ids.yaml");
    INFO(joined(messages(result)));
    REQUIRE(result.ok());
    using SenderIds = std::map<std::string, std::vector<std::string>>;
    CHECK(result.config->inbound[0].client_auth.sender_ids ==
          SenderIds{{"_ns-client.ns.operator-a.example", {"010203"}},
                    {"*.operator-b.example", {"00000b", "0807060504030201", "abcdef"}}});

    LoadResult without = directory.load("valid_inbound.yaml");
    REQUIRE(without.ok());
    CHECK(without.config->inbound[0].client_auth.sender_ids.empty());
}

TEST_CASE("a loaded outbound config keeps defaults for absent keys and canonical IPv6") {
    ConfigDirectory directory;
    LoadResult result = directory.load("valid_outbound.yaml");
    REQUIRE(result.ok());
    const auto& config = *result.config;
    CHECK(config.dns.mode == dance::config::DnsMode::recursive);
    CHECK(config.dns.root_servers == std::vector<std::string>{"127.0.0.53", "::1"});
    CHECK(fs::equivalent(config.dns.trust_anchors, directory.path() / "root.key"));
    CHECK(config.admin.listen.to_string() == "127.0.0.1:9901");
    REQUIRE(config.outbound.size() == 2);
    const auto& first = config.outbound[0];
    CHECK(first.upstream.host == "js.operator-b.example");
    CHECK(first.upstream.port == 8003);
    CHECK(first.connect_to.host.empty());
    CHECK(first.tls.client_id == "_ns-client.ns.operator-a.example");
    CHECK_FALSE(first.allow_non_loopback_listen);
    const auto& second = config.outbound[1];
    CHECK(second.listen.to_string() == "[::1]:8004");
    CHECK(second.connect_to.to_string() == "[2001:db8::10]:8443");
    CHECK(second.server_auth == dance::config::ServerAuth::dane_or_pkix);
    CHECK(fs::equivalent(second.ca_file, directory.path() / "ca.pem"));
    CHECK(second.timeouts.request_ms == 5000);
    CHECK(second.max_idle_connections == 64);
}

TEST_CASE("relative paths resolve against the config file's directory, not the working directory") {
    ConfigDirectory directory;
    fs::path elsewhere = directory.path() / "elsewhere";
    fs::create_directory(elsewhere);
    dance::test::ScopedWorkingDirectory in_elsewhere(elsewhere);
    LoadResult result = load_config("../valid_inbound.yaml");
    INFO(joined(messages(result)));
    REQUIRE(result.ok());
    CHECK(fs::equivalent(result.config->inbound[0].tls.cert, directory.path() / "js.pem"));

    LoadResult broken = load_config("../five_mistakes.yaml");
    REQUIRE(broken.errors.size() == 5);
    CHECK(broken.errors.back().to_string() ==
          "../five_mistakes.yaml:18:17: outbound[0].tls.cert: cannot read file \"../missing.pem\": No such file or "
          "directory");
}

TEST_CASE("a missing config file is one error naming the file") {
    LoadResult result = load_config("/nonexistent/sidecar.yaml");
    REQUIRE(result.errors.size() == 1);
    CHECK_FALSE(result.ok());
    CHECK(result.errors[0].to_string() == "/nonexistent/sidecar.yaml: cannot read file: No such file or directory");
}

TEST_CASE("load_config_text names the file as told and resolves against base_dir") {
    ConfigDirectory directory;
    std::string text = dance::test::read_text(directory.path() / "key_mismatch.yaml");
    LoadResult result = dance::config::load_config_text(text, "sidecar.yaml", directory.path());
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].to_string() ==
          "sidecar.yaml:5:30: outbound[0].tls.key: the private key does not match the certificate's public key in \"" +
              (directory.path() / "ns.pem").string() + "\"");
}

TEST_CASE("route: suffixes are normalized, routes: keys lower-cased without 0x and sorted longest first") {
    ConfigDirectory directory;
    LoadResult result = directory.load("valid_route.yaml");
    REQUIRE(result.ok());
    REQUIRE(result.config->outbound.size() == 2);
    const auto& federation = result.config->outbound[0];
    CHECK(federation.routes_by_receiver());
    CHECK(federation.upstream.host.empty());
    CHECK(federation.route.discover);
    CHECK(federation.route.join_eui_suffix == "joineuis.lora-alliance.org");
    CHECK(federation.route.net_id_suffix.empty());
    CHECK(federation.route.port == 8443);
    CHECK(federation.route.max_destinations == 8);
    std::vector<std::string> keys;
    for (const auto& route : federation.routes) keys.push_back(route.key);
    CHECK(keys == std::vector<std::string>{"0807060504030201", "as.example.com", "70b3d57ed0", "000505", "00"});
    CHECK(federation.routes[0].destination.to_string() == "js.partner.example:8003");
    CHECK(federation.routes[3].match == dance::config::StaticRoute::Match::net_id);
    const auto& static_only = result.config->outbound[1];
    CHECK(static_only.routes_by_receiver());
    CHECK_FALSE(static_only.route.discover);
}
