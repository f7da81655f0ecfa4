// `dance-sidecar probe`: the client side of a DANE client-authenticated TLS 1.3 handshake, then one HTTP
// request. The operator's `openssl s_client` for dane_clientid, and the tests' client.
#include <fstream>
#include <iostream>
#include <sstream>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "cli/commands.hpp"
#include "cli/host_port_arg.hpp"
#include "cli/tlsa_arg.hpp"
#include "proxy/http/http_parser_response.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/peer_rejection.hpp"
#include "proxy/tls/raw_public_key.hpp"
#include "proxy/tls/tls_connector.hpp"
#include "proxy/tls/tls_context.hpp"

namespace dance::cli {
namespace {

struct ProbeOptions {
    std::string connect;
    std::string cert;
    std::string key;
    std::string client_id;
    std::string sni;
    uint16_t codepoint = proxy::default_dane_clientid_codepoint;
    std::string post_path;
    std::string body_file;
    std::vector<std::string> server_tlsa;
    std::string ca_file;
    uint32_t timeout_ms = 8000;
    bool raw_public_key = false;
};

class Probe {
public:
    explicit Probe(const ProbeOptions& options) : options_(options), base_(event_base_new()) {}

    int run() {
        std::string error;
        auto target = make_target(error);
        if (!target) return report_usage(error);
        if (options_.raw_public_key && !proxy::raw_public_keys_supported) {
            return report_usage(std::string("--raw-public-key needs OpenSSL 3.2 or later; this build uses ") +
                                OPENSSL_VERSION_TEXT);
        }
        proxy::ClientContextOptions context_options{options_.cert, options_.key, options_.ca_file, options_.codepoint,
                                                    options_.raw_public_key};
        ctx_ = proxy::make_client_context(context_options, error);
        if (!ctx_) return report_usage(error);
        if (!load_body(error)) return report_usage(error);
        attempt_ = proxy::connect_tls(base_.get(), ctx_.get(), std::move(*target),
                                      [this](proxy::TlsConnectResult result) { on_connected(std::move(result)); });
        event_base_dispatch(base_.get());
        return exit_code_;
    }

private:
    std::optional<proxy::TlsConnectTarget> make_target(std::string& error) {
        auto endpoint = resolve_host_port(options_.connect, error);
        if (!endpoint) return std::nullopt;
        proxy::TlsConnectTarget target;
        target.address = endpoint->address;
        target.port = endpoint->port;
        target.server_name = options_.sni.empty() ? endpoint->host : options_.sni;
        target.client_id = options_.client_id;
        target.timeout_ms = options_.timeout_ms;
        target.require_offer = false;  // report it instead of refusing
        if (!options_.server_tlsa.empty()) {
            target.verification = proxy::ServerVerification::dane;
            for (const std::string& text : options_.server_tlsa) {
                auto record = parse_tlsa_argument(text, error);
                if (!record) return std::nullopt;
                target.server_tlsa.push_back(std::move(*record));
            }
        } else {
            target.verification = options_.ca_file.empty() ? proxy::ServerVerification::none
                                                          : proxy::ServerVerification::pkix;
        }
        return target;
    }

    bool load_body(std::string& error) {
        if (options_.body_file.empty()) return true;
        std::ifstream file(options_.body_file, std::ios::binary);
        if (!file) {
            error = "cannot read " + options_.body_file;
            return false;
        }
        std::ostringstream content;
        content << file.rdbuf();
        body_ = content.str();
        return true;
    }

    int report_usage(const std::string& error) {
        std::cerr << "dance-sidecar probe: " << error << "\n";
        return exit_usage;
    }

    void on_connected(proxy::TlsConnectResult result) {
        std::cout << "server offered dane_clientid: " << (result.server_offered ? "yes" : "no") << "\n";
        std::cout << "client name sent: " << (result.client_name_sent ? options_.client_id : "(none)") << "\n";
        if (options_.raw_public_key) {
            std::cout << "client credential: "
                      << (result.raw_public_key_sent ? "raw public key" : "certificate (the server took no raw key)")
                      << "\n";
        }
        if (result.reason != proxy::HandshakeResult::ok) {
            std::cout << "handshake: failed (" << to_string(result.reason) << "): " << result.detail << "\n";
            return finish(exit_failure);
        }
        std::cout << "handshake: completed in " << result.seconds * 1000 << " ms\n";
        std::cout << "server authenticated: "
                  << (!result.server_tlsa_used.empty() ? "DANE " + result.server_tlsa_used
                      : options_.ca_file.empty()       ? std::string("no (no --server-tlsa or --ca-file given)")
                                                       : std::string("PKIX"))
                  << "\n";
        connection_ = std::move(result.connection);
        send_request();
    }

    void send_request() {
        proxy::HttpRequest request;
        request.method = options_.post_path.empty() ? "GET" : "POST";
        request.target = options_.post_path.empty() ? "/" : options_.post_path;
        request.add_header("Host", options_.sni.empty() ? options_.connect : options_.sni);
        if (!options_.post_path.empty()) request.add_header("Content-Type", "application/json");
        request.body = body_;
        std::string wire = proxy::serialize(request);
        bufferevent_setcb(connection_.get(), readable, nullptr, event_fired, this);
        bufferevent_enable(connection_.get(), EV_READ | EV_WRITE);
        bufferevent_write(connection_.get(), wire.data(), wire.size());
    }

    void on_readable() {
        if (!parser_.parse_from(bufferevent_get_input(connection_.get()))) {
            if (parser_.failed()) {
                std::cout << "http: malformed answer: " << parser_.error_description() << "\n";
                finish(exit_failure);
            }
            return;
        }
        proxy::HttpResponse response = parser_.take_response();
        std::cout << "identity: accepted by the server\n";
        std::cout << "http: " << response.status << " " << proxy::standard_reason_phrase(response.status) << "\n";
        std::cout << response.body << (response.body.empty() || response.body.back() == '\n' ? "" : "\n");
        finish(response.status >= 200 && response.status < 300 ? exit_ok : exit_failure);
    }

    void on_event(short what) {
        unsigned long tls_error = bufferevent_get_openssl_error(connection_.get());
        if (tls_error != 0 && proxy::is_peer_rejection(tls_error)) {
            char text[256];
            ERR_error_string_n(tls_error, text, sizeof text);
            std::cout << "identity: REJECTED by the server (alert after our Finished: " << text << ")\n";
        } else if (what & BEV_EVENT_EOF) {
            std::cout << "identity: unknown; the server closed the connection without an answer\n";
        } else {
            std::cout << "connection error: "
                      << (tls_error ? ERR_error_string(tls_error, nullptr) : "socket error") << "\n";
        }
        finish(exit_failure);
    }

    void finish(int code) {
        exit_code_ = code;
        event_base_loopexit(base_.get(), nullptr);
    }

    static void readable(bufferevent*, void* self) { static_cast<Probe*>(self)->on_readable(); }
    static void event_fired(bufferevent*, short what, void* self) { static_cast<Probe*>(self)->on_event(what); }

    const ProbeOptions& options_;
    dance::EventBasePtr base_;
    dance::SslCtxPtr ctx_;
    std::unique_ptr<proxy::TlsConnectAttempt> attempt_;
    dance::BuffereventPtr connection_;
    proxy::HttpResponseParser parser_;
    std::string body_;
    int exit_code_ = exit_failure;
};

}  // namespace

void add_probe_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ProbeOptions>();
    auto* command = app.add_subcommand(
        "probe", "Connect with TLS 1.3 + dane_clientid, report whether the server offered and accepted our "
                 "identity, then send one HTTP request. Exit 0 only if accepted with a 2xx answer.");
    command->add_option("--connect", options->connect, "Server HOST:PORT")->required();
    command->add_option("--cert", options->cert, "Client certificate (PEM)")->required();
    command->add_option("--key", options->key, "Client private key (PEM)")->required();
    command->add_option("--client-id", options->client_id, "Our TLSA owner name sent in dane_clientid")
        ->required();
    command->add_option("--sni", options->sni, "Server name (SNI); default: the HOST of --connect");
    command->add_option("--codepoint", options->codepoint, "dane_clientid extension codepoint")
        ->capture_default_str();
    command->add_option("--post", options->post_path, "POST the body to this path instead of GET /");
    command->add_option("--body", options->body_file, "File with the request body (with --post)");
    command->add_option("--server-tlsa", options->server_tlsa,
                        "Authenticate the server by this TLSA record, e.g. \"3 1 1 ab12...\" (repeatable)");
    command->add_option("--ca-file", options->ca_file, "Authenticate the server by PKIX with these CAs");
    command->add_option("--timeout-ms", options->timeout_ms, "Connect + handshake limit")->capture_default_str();
    command->add_flag("--raw-public-key", options->raw_public_key,
                      "Offer our key as an RFC 7250 raw public key (OpenSSL 3.2+); the certificate if the server "
                      "does not take it. Our TLSA record must then be DANE-EE SPKI (3 1 x)");
    command->callback([options, &exit_code] {
        Probe probe(*options);
        exit_code = probe.run();
    });
}

}  // namespace dance::cli
