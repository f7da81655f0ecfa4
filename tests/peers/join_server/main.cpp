// lorawan-join-server: a LoRaWAN Backend Interfaces join server peer for tests and benchmarks.
#include <csignal>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "tests/peers/join_server/http_front.hpp"

using namespace dance::peers;

namespace {

struct Options {
    std::string listen;
    std::string config_file;
    std::vector<std::string> devices;
    std::string kek;
    std::string record_file;
    std::string port_file;
    FailModes fail_modes;
};

std::pair<std::string, uint16_t> split_host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("--listen wants HOST:PORT");
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const unsigned long port = std::stoul(text.substr(colon + 1));
    if (port > 65535) throw std::runtime_error("port out of range");
    return {host, static_cast<uint16_t>(port)};
}

JoinServerConfig build_config(const Options& options) {
    JoinServerConfig config;
    if (!options.config_file.empty()) load_config_file(options.config_file, config);
    for (const auto& device : options.devices) add_device_option(device, config);
    if (!options.kek.empty()) config.kek = parse_kek_option(options.kek);
    return config;
}

void stop_loop(evutil_socket_t, short, void* base) { event_base_loopexit(static_cast<event_base*>(base), nullptr); }

int serve(const Options& options) {
    JoinHandler handler(build_config(options));
    std::unique_ptr<RequestRecorder> recorder;
    if (!options.record_file.empty()) recorder = std::make_unique<RequestRecorder>(options.record_file);

    EventBasePtr base(event_base_new());
    EventPtr on_term(evsignal_new(base.get(), SIGTERM, stop_loop, base.get()));
    EventPtr on_int(evsignal_new(base.get(), SIGINT, stop_loop, base.get()));
    evsignal_add(on_term.get(), nullptr);
    evsignal_add(on_int.get(), nullptr);
    {
        HttpFront front(base.get(), handler, recorder.get(), options.fail_modes);
        const auto [host, port] = split_host_port(options.listen);
        const uint16_t bound = front.listen(host, port);
        if (!options.port_file.empty()) std::ofstream(options.port_file) << bound << "\n";
        std::cout << "ready" << std::endl;
        event_base_dispatch(base.get());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer that hung up must not kill the server mid-write
    Options options;
    CLI::App app{"lorawan-join-server: LoRaWAN Backend Interfaces join server peer (answers JoinReq)"};
    app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0: any free port)")->required();
    app.add_option("--config", options.config_file, "JSON device table (see device_table.hpp)");
    app.add_option("--device", options.devices, "DEVEUI:NWKKEY[:APPKEY[:JOINNONCE]], repeatable");
    app.add_option("--kek", options.kek, "LABEL:KEKHEX: wrap session keys (RFC 3394) under this KEK");
    app.add_option("--record", options.record_file, "append one JSON line per request (no bodies)");
    app.add_option("--port-file", options.port_file, "write the bound port here before printing ready");
    app.add_option("--delay-ms", options.fail_modes.delay_ms, "fail mode: answer this many ms late")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--close", options.fail_modes.close_without_answer, "fail mode: close without answering");
    CLI11_PARSE(app, argc, argv);
    try {
        return serve(options);
    } catch (const std::exception& error) {
        std::cerr << "lorawan-join-server: " << error.what() << "\n";
        return 1;
    }
}
