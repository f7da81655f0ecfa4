// handshake_load: the benchmarks' TLS load generator, built on proxy::connect_tls like `probe`.
// Rate mode: `--concurrency` fresh TLS 1.3 connections at a time, each doing one HTTP request, for
// `--duration-s` or `--count` successes. Hold mode (`--hold N`): opens N connections, prints the summary,
// keeps them idle until SIGTERM or stdin EOF. Prints one JSON line.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "proxy/http/http_message.hpp"
#include "proxy/tls/tls_context.hpp"
#include "tests/bench/load_runner.hpp"

using namespace dance;

namespace {

struct Options {
    std::string address = "127.0.0.1";
    uint16_t port = 0;
    std::string sni;
    std::string cert;
    std::string key;
    std::string client_id;
    std::string ca_file;
    std::string server_tlsa;
    uint16_t codepoint = 65498;
    std::string path = "/health";
    std::string body_file;
    bench::LoadSettings load;
};

std::optional<dns::TlsaRecord> parse_tlsa(const std::string& text) {
    std::istringstream fields(text);
    unsigned usage = 0, selector = 0, matching = 0;
    std::string hex;
    if (!(fields >> usage >> selector >> matching >> hex) || hex.size() % 2 != 0) return std::nullopt;
    dns::TlsaRecord record{static_cast<uint8_t>(usage), static_cast<uint8_t>(selector),
                           static_cast<uint8_t>(matching), {}};
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        record.data.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    }
    return record;
}

proxy::TlsConnectTarget make_target(const Options& options) {
    proxy::TlsConnectTarget target;
    target.address = options.address;
    target.port = options.port;
    target.server_name = options.sni;
    target.client_id = options.client_id;
    target.require_offer = false;  // HAProxy, the baseline, does not offer dane_clientid
    target.timeout_ms = 30000;
    if (!options.server_tlsa.empty()) {
        auto record = parse_tlsa(options.server_tlsa);
        if (!record) throw std::runtime_error("--server-tlsa wants \"U S M HEX\"");
        target.verification = proxy::ServerVerification::dane;
        target.server_tlsa.push_back(std::move(*record));
    } else {
        target.verification = options.ca_file.empty() ? proxy::ServerVerification::none
                                                      : proxy::ServerVerification::pkix;
    }
    return target;
}

std::string make_request(const Options& options) {
    proxy::HttpRequest request;
    request.method = options.body_file.empty() ? "GET" : "POST";
    request.target = options.path;
    request.add_header("Host", options.sni);
    request.add_header("Connection", "close");
    if (!options.body_file.empty()) {
        std::ifstream file(options.body_file, std::ios::binary);
        if (!file) throw std::runtime_error("cannot read " + options.body_file);
        std::ostringstream content;
        content << file.rdbuf();
        request.body = content.str();
        request.add_header("Content-Type", "application/json");
    }
    return proxy::serialize(request);
}

double percentile(std::vector<double>& values, double fraction) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

nlohmann::ordered_json summarize(bench::LoadTotals& totals) {
    nlohmann::ordered_json out;
    out["succeeded"] = totals.succeeded;
    out["failed"] = totals.failed;
    out["first_error"] = totals.first_error;
    out["elapsed_s"] = totals.elapsed_s;
    out["per_second"] = totals.elapsed_s > 0 ? static_cast<double>(totals.succeeded) / totals.elapsed_s : 0;
    out["latency_ms"] = {{"p50", percentile(totals.latencies_ms, 0.5)},
                         {"p99", percentile(totals.latencies_ms, 0.99)},
                         {"max", totals.latencies_ms.empty() ? 0 : totals.latencies_ms.back()}};
    return out;
}

int run(const Options& options) {
    std::string error;
    proxy::ClientContextOptions context_options{options.cert, options.key, options.ca_file, options.codepoint};
    dance::SslCtxPtr ctx = proxy::make_client_context(context_options, error);
    if (!ctx) throw std::runtime_error(error);
    bench::LoadSettings settings = options.load;
    settings.target = make_target(options);
    if (settings.hold == 0) settings.request_wire = make_request(options);
    bench::LoadRunner runner(ctx.get(), std::move(settings));
    bench::LoadTotals totals = runner.run();
    std::cout << summarize(totals).dump() << std::endl;
    if (options.load.hold > 0) runner.wait_for_stop_signal();
    return totals.succeeded > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options options;
    CLI::App app{"handshake_load: TLS 1.3 (dane_clientid) handshake load generator for the benchmarks"};
    app.add_option("--address", options.address, "server IP address")->capture_default_str();
    app.add_option("--port", options.port, "server port")->required();
    app.add_option("--sni", options.sni, "server name (SNI, Host)")->required();
    app.add_option("--cert", options.cert, "client certificate (PEM, chain)")->required();
    app.add_option("--key", options.key, "client key")->required();
    app.add_option("--client-id", options.client_id, "our TLSA owner name for dane_clientid")->required();
    app.add_option("--ca-file", options.ca_file, "authenticate the server by PKIX with these CAs");
    app.add_option("--server-tlsa", options.server_tlsa, "authenticate the server by this TLSA record");
    app.add_option("--codepoint", options.codepoint, "dane_clientid codepoint")->capture_default_str();
    app.add_option("--path", options.path, "request target")->capture_default_str();
    app.add_option("--body", options.body_file, "POST this file (JSON) instead of a GET");
    app.add_option("--concurrency", options.load.concurrency, "connections in progress")->check(CLI::PositiveNumber);
    app.add_option("--count", options.load.count, "stop after this many successful connections");
    app.add_option("--duration-s", options.load.duration_s, "time limit")->capture_default_str();
    app.add_option("--hold", options.load.hold, "open this many connections and keep them idle");
    CLI11_PARSE(app, argc, argv);
    try {
        return run(options);
    } catch (const std::exception& failure) {
        std::cerr << "handshake_load: " << failure.what() << "\n";
        return 2;
    }
}
