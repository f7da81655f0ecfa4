// lorawan-ns-emulator: sends ChirpStack v3/v4-shaped JoinReqs and prints a JSON summary; also the load
// generator of the benchmarks. Exit status 0 when every request got an HTTP answer that passed the checks.
#include <csignal>
#include <fstream>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>

#include "tests/peers/ns_emulator/join_exchange.hpp"
#include "tests/peers/vectors.hpp"

using namespace dance::peers;

namespace {

struct DeviceOptions {
    std::string dev_eui = vectors::kDevEui;
    std::string join_eui = vectors::kJoinEui;
    std::string nwk_key = vectors::kNwkKey;
    std::string app_key;
    std::string mac_version = "1.0.2";
    std::string net_id = vectors::kNetId;
    std::string dev_addr = vectors::kDevAddr;
    bool bad_mic = false;
};

struct Options {
    LoadPlan plan;
    std::string shape = "v3";
    DeviceOptions device;
    std::optional<uint16_t> dev_nonce_start;
    std::optional<uint32_t> transaction_id_start;
    std::vector<std::string> headers;
    std::string latencies_out;  // one latency in ms per line, sorted (the bench's latency plot)
    bool golden = false;
    bool no_verify = false;
};

constexpr const char* kEu868V4CfList = "184f84e85684b85e84886684586e8400";

template <std::size_t N>
std::array<uint8_t, N> hex_option(const std::string& value, const char* option) {
    const auto parsed = fixed_from_hex<N>(value);
    if (!parsed) throw std::runtime_error(std::string(option) + " wants " + std::to_string(2 * N) + " hex digits");
    return *parsed;
}

EmulatedDevice build_device(const DeviceOptions& options, NsShape shape) {
    EmulatedDevice device;
    device.dev_eui = hex_option<8>(options.dev_eui, "--dev-eui");
    device.join_eui = hex_option<8>(options.join_eui, "--join-eui");
    device.nwk_key = hex_option<16>(options.nwk_key, "--nwk-key");
    if (!options.app_key.empty()) device.app_key = hex_option<16>(options.app_key, "--app-key");
    device.mac_version = options.mac_version;
    device.net_id = hex_option<3>(options.net_id, "--net-id");
    device.dev_addr = hex_option<4>(options.dev_addr, "--dev-addr");
    device.dl_settings = vectors::kDlSettings10;
    device.rx_delay = vectors::kRxDelay;
    device.cf_list = *from_hex(shape == NsShape::v3 ? vectors::kCfList : kEu868V4CfList);
    device.corrupt_mic = options.bad_mic;
    return device;
}

void make_golden(Options& options) {
    options.shape = "v3";
    options.device = DeviceOptions{};
    options.plan.count = 1;
    options.dev_nonce_start = vectors::kDevNonce;
    options.transaction_id_start = 1234;
}

std::vector<std::pair<std::string, std::string>> parse_headers(const std::vector<std::string>& headers) {
    std::vector<std::pair<std::string, std::string>> parsed;
    for (const auto& header : headers) {
        const auto colon = header.find(':');
        if (colon == std::string::npos) throw std::runtime_error("--header wants 'Name: value'");
        const auto value_start = header.find_first_not_of(' ', colon + 1);
        const std::string value = value_start == std::string::npos ? "" : header.substr(value_start);
        parsed.emplace_back(header.substr(0, colon), value);
    }
    return parsed;
}

int emulate(Options options) {
    if (options.golden) make_golden(options);
    const NsShape shape = options.shape == "v4" ? NsShape::v4 : NsShape::v3;
    options.plan.headers = shape_headers(shape);
    for (auto& header : parse_headers(options.headers)) options.plan.headers.push_back(std::move(header));
    std::random_device random;
    const auto dev_nonce_start = options.dev_nonce_start.value_or(static_cast<uint16_t>(random()));
    const auto transaction_id_start = options.transaction_id_start.value_or(static_cast<uint32_t>(random()));

    LoadStats stats;
    JoinExchange exchange(shape, build_device(options.device, shape), dev_nonce_start, transaction_id_start,
                          !options.no_verify, stats);
    if (options.golden) exchange.expect_exact_answer(vectors::kJoinAnsV3);
    LoadRunner runner(options.plan, exchange);
    const double duration_s = runner.run();

    nlohmann::ordered_json summary = {{"shape", options.shape}, {"url", options.plan.url}};
    summary.update(stats.summary(duration_s));
    if (!options.latencies_out.empty()) {
        std::ofstream out(options.latencies_out);
        for (double latency : stats.sorted_latencies_ms()) out << latency << '\n';
        if (!out) throw std::runtime_error("cannot write " + options.latencies_out);
    }
    bool ok = stats.error_count() == 0 && stats.problem_count() == 0;
    if (options.golden) {
        summary["golden_match"] = exchange.exact_answer_matched().value_or(false);
        ok = ok && summary["golden_match"];
    }
    std::cout << summary.dump() << std::endl;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options options;
    CLI::App app{"lorawan-ns-emulator: sends ChirpStack-shaped JoinReqs and prints a JSON summary"};
    app.add_option("--url", options.plan.url, "http://HOST:PORT/PATH of the join server or outbound sidecar")
        ->required();
    app.add_option("--shape", options.shape, "v3 or v4 (ChirpStack version whose JoinReq to imitate)")
        ->check(CLI::IsMember({"v3", "v4"}));
    app.add_option("--count", options.plan.count, "requests to send");
    app.add_option("--concurrency", options.plan.concurrency, "requests in flight at most")->check(CLI::PositiveNumber);
    app.add_flag("--keepalive", options.plan.keepalive, "reuse connections (else one per request)");
    app.add_option("--rate", options.plan.rate, "constant rate in requests/s (latency from intended send time)");
    app.add_option("--timeout-ms", options.plan.timeout_ms, "per-request HTTP timeout");
    app.add_flag("--golden", options.golden, "send the golden JoinReq and require the golden JoinAns");
    app.add_option("--dev-eui", options.device.dev_eui);
    app.add_option("--join-eui", options.device.join_eui);
    app.add_option("--nwk-key", options.device.nwk_key, "AppKey for 1.0.x devices");
    app.add_option("--app-key", options.device.app_key, "1.1 AppKey, to check the AppSKey");
    app.add_option("--mac-version", options.device.mac_version, "1.0.x or 1.1.0");
    app.add_option("--net-id", options.device.net_id, "the NS's NetID (SenderID)");
    app.add_option("--dev-addr", options.device.dev_addr);
    app.add_flag("--bad-mic", options.device.bad_mic, "corrupt each JoinRequest MIC");
    app.add_option("--dev-nonce-start", options.dev_nonce_start, "first DevNonce (default random)");
    app.add_option("--transaction-id-start", options.transaction_id_start, "first TransactionID (default random)");
    app.add_option("--header", options.headers, "extra 'Name: value' header, repeatable");
    app.add_option("--latencies-out", options.latencies_out, "write every latency (ms, sorted) to FILE, one a line");
    app.add_flag("--no-verify", options.no_verify, "skip JoinAccept/session-key checks (pure load)");
    CLI11_PARSE(app, argc, argv);
    try {
        return emulate(std::move(options));
    } catch (const std::exception& error) {
        std::cerr << "lorawan-ns-emulator: " << error.what() << "\n";
        return 2;
    }
}
