// InboundHandshake driven against a real TLS 1.3 client and a fake resolver whose answers the test times to
// the event-loop iteration: the TLSA answer, the resolver's own timeout and the handshake budget landing in one
// iteration, in either order. Run under ASan: a handshake freed under a paused OpenSSL job shows up here as a
// use-after-free, and a leaked async job as a later handshake refused for want of one.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include <openssl/async.h>

#include "config_test_files.hpp"
#include "dns/tlsa_from_cert.hpp"
#include "fake_resolver.hpp"
#include "http_test_support.hpp"
#include "proxy/auth/dane_client_verifier.hpp"
#include "proxy/inbound/inbound_handshake.hpp"
#include "proxy/tls/handshake_result.hpp"
#include "proxy/tls/raw_public_key.hpp"
#include "proxy/tls/tls_context.hpp"

using namespace dance;
using namespace dance::proxy;
using namespace std::chrono_literals;
using dance::proxy::testing::FakeResolver;

namespace {

constexpr const char* client_name = "ns.client.test";
constexpr uint32_t handshake_ms = 150;
// Few async jobs: a job leaked by one handshake makes a later one fail with too_many_pending.
constexpr size_t async_jobs = 2;

struct Credentials {
    test::TempDir dir;
    std::string server_cert, server_key, client_cert, client_key;
    dance::X509Ptr client_certificate;

    Credentials() {
        auto server_key_object = test::make_ec_key();
        auto server_certificate = test::make_certificate("js.test", server_key_object.get(), nullptr, nullptr, false);
        auto client_key_object = test::make_ec_key();
        client_certificate = test::make_certificate(client_name, client_key_object.get(), nullptr, nullptr, false);
        server_cert = (dir.path() / "server.pem").string();
        server_key = (dir.path() / "server.key").string();
        client_cert = (dir.path() / "client.pem").string();
        client_key = (dir.path() / "client.key").string();
        test::write_certificate_pem(server_cert, server_certificate.get());
        test::write_key_pem(server_key, server_key_object.get());
        test::write_certificate_pem(client_cert, client_certificate.get());
        test::write_key_pem(client_key, client_key_object.get());
    }
};

const Credentials& credentials() {
    static const Credentials made;
    return made;
}

dns::TlsaResult secure_answer_for_client(uint8_t selector = 1) {
    dns::TlsaResult result;
    result.status = dns::LookupStatus::secure;
    result.records.push_back(dns::tlsa_for_certificate(credentials().client_certificate.get(), 3, selector, 1));
    result.ttl = 3600;
    result.valid_until = std::chrono::steady_clock::now() + 1h;
    return result;
}

// What each side of the rig does. Raw public keys (RFC 7250) exist from OpenSSL 3.2 on.
struct RigOptions {
    uint32_t pending_dns_limit = 16;
    bool client_sends_certificate = true;
    bool client_offers_raw_key = false;
    bool server_accepts_raw_key = false;
};

// A blocking TLS 1.3 client with dane_clientid on its own thread; records the alert the server sends.
class Client {
public:
    Client(int fd, bool send_certificate, bool offer_raw_key = false)
        : fd_(fd), send_certificate_(send_certificate), offer_raw_key_(offer_raw_key) {
        timeval limit{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        thread_ = std::thread([this] { run(); });
    }
    ~Client() {
        join();
        close(fd_);
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    std::atomic<bool> finished_sending{false};
    std::atomic<bool> sent_raw_key{false};
    std::atomic<int> received_alert{-1};

private:
    void run() {
        ClientContextOptions options;
        if (send_certificate_) {
            options.cert_file = credentials().client_cert;
            options.key_file = credentials().client_key;
            options.offer_raw_public_key = offer_raw_key_;
        }
        std::string error;
        SslCtxPtr ctx = send_certificate_ ? make_client_context(options, error) : bare_client_context();
        SslPtr ssl(SSL_new(ctx.get()));
        ClientIdentity identity{encode_client_name(client_name)};
        attach_client_identity(ssl.get(), &identity);
        SSL_set_verify(ssl.get(), SSL_VERIFY_NONE, nullptr);  // the server's authentication is not under test
        SSL_set_fd(ssl.get(), fd_);
        SSL_set_app_data(ssl.get(), this);
        SSL_set_info_callback(ssl.get(), [](const SSL* s, int where, int value) {
            if (where & SSL_CB_READ_ALERT) static_cast<Client*>(SSL_get_app_data(s))->received_alert = value & 0xff;
        });
        // Waits a little before answering the server's flight, so that the server has returned to the loop by
        // the time our Certificate arrives, and the test decides in which iteration it is read.
        SSL_set_msg_callback(ssl.get(), [](int write_p, int, int content_type, const void* buf, size_t len, SSL*, void*) {
            if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
                static_cast<const unsigned char*>(buf)[0] == SSL3_MT_FINISHED) {
                std::this_thread::sleep_for(30ms);
            }
        });
        SSL_connect(ssl.get());  // TLS 1.3: returns once our flight is sent, before the server decided
        sent_raw_key = client_raw_public_key_negotiated(ssl.get());
        finished_sending = true;
        char byte;
        SSL_read(ssl.get(), &byte, 1);  // the server's alert, or its close
    }

    static SslCtxPtr bare_client_context() {
        SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
        SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
        install_client_extension(ctx.get(), default_dane_clientid_codepoint);
        return ctx;
    }

    int fd_;
    bool send_certificate_;
    bool offer_raw_key_;
    std::thread thread_;
};

struct Result {
    int calls = 0;
    HandshakeOutcome outcome;
};

// One server handshake on a socket pair, its client, and the loop that drives them.
class Rig {
    // First, so that they outlive the handshake that refers to them.
    int server_fd_ = -1;
    SslCtxPtr ctx_;
    ClientAuthPolicy policy_;
    PendingDnsBudget budget_;
    int last_alert_ = -1;

public:
    explicit Rig(RigOptions rig_options = {}) : resolver(loop.base()) {
        static const bool async_ready = ASYNC_init_thread(async_jobs, 0) == 1;
        REQUIRE(async_ready);
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        server_fd_ = fds[0];
        evutil_make_socket_nonblocking(server_fd_);
        ServerContextOptions options;
        options.cert_file = credentials().server_cert;
        options.key_file = credentials().server_key;
        options.verify_callback = verify_inbound_client;
        options.accept_client_raw_public_key = rig_options.server_accepts_raw_key;
        std::string error;
        ctx_ = make_server_context(options, error);
        REQUIRE_MESSAGE(ctx_, error);
        policy_.allow = {"*.client.test"};
        policy_.handshake_ms = handshake_ms;
        budget_.limit = rig_options.pending_dns_limit;
        client = std::make_unique<Client>(fds[1], rig_options.client_sends_certificate, rig_options.client_offers_raw_key);
        handshake = std::make_unique<InboundHandshake>(
            loop.base(), ctx_.get(), server_fd_, policy_,
            std::make_unique<DaneClientVerifier>(policy_, resolver, budget_),
            [this](HandshakeOutcome outcome, SslPtr, evutil_socket_t fd) {
                ++result.calls;
                result.outcome = std::move(outcome);
                evutil_closesocket(fd);  // like the listener's lingering close, minus the lingering
            });
    }

    // Starts the handshake once the ClientHello is in, so that the server's whole flight goes out inside
    // start(); then waits, without running the loop, until the client's flight has arrived. The next loop
    // iteration reads the client's Certificate and pauses on DNS.
    void start_and_wait_for_client_flight() {
        REQUIRE(wait_readable());
        started_at = std::chrono::steady_clock::now();
        handshake->start();
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!client->finished_sending && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
        REQUIRE(client->finished_sending);
        REQUIRE(wait_readable());
    }

    void run_one_iteration() { event_base_loop(loop.base(), EVLOOP_ONCE); }

    // Runs the loop until the handshake pauses on DNS; counts the iterations it took.
    int run_until_paused() {
        int iterations = 0;
        while (!resolver.waiting() && result.calls == 0 && iterations < 100) {
            run_one_iteration();
            ++iterations;
        }
        return iterations;
    }

    // Lets the handshake finish; the client must have seen it end.
    void finish() {
        REQUIRE(loop.run_until([&] { return result.calls > 0; }, 5s));
        loop.run_for(20ms);  // a stray resume or answer would run now
        stop_client();
        CHECK(result.calls == 1);
        CHECK(budget_.in_use == 0);
    }

    int alert() const { return client ? client->received_alert.load() : last_alert_; }
    void stop_client() {
        client->join();
        last_alert_ = client->received_alert;
        client.reset();
    }

    proxy::testing::EventLoop loop;
    FakeResolver resolver;
    std::unique_ptr<Client> client;
    std::unique_ptr<InboundHandshake> handshake;  // kept after done, as the listener keeps it until reaped
    std::chrono::steady_clock::time_point started_at;  // just before the handshake timer was armed
    Result result;

private:
    bool wait_readable() {
        pollfd p{server_fd_, POLLIN, 0};
        return poll(&p, 1, 5000) == 1;
    }
};

// Runs one handshake whose lookup is answered `answer_delay` after it starts, with the loop blocked until
// both that answer and the handshake budget are due: the next iteration handles both, in deadline order.
void same_iteration_case(std::chrono::microseconds answer_delay, dns::TlsaResult answer, RigOptions options = {}) {
    Rig rig(options);
    rig.start_and_wait_for_client_flight();
    CHECK(rig.client->sent_raw_key == (options.client_offers_raw_key && options.server_accepts_raw_key));
    REQUIRE(rig.run_until_paused() == 1);
    REQUIRE(rig.resolver.waiting());
    rig.resolver.answer_after(answer_delay, std::move(answer));
    std::this_thread::sleep_for(std::chrono::milliseconds(handshake_ms) + answer_delay + 20ms);
    rig.run_one_iteration();
    rig.finish();
    CHECK(rig.result.outcome.reason == HandshakeResult::timeout);
    CHECK(rig.alert() == SSL_AD_HANDSHAKE_FAILURE);
    CHECK(rig.resolver.answers_delivered + rig.resolver.answers_suppressed == 1);
}

}  // namespace

TEST_CASE("a TLSA answer that arrives in time authenticates the client") {
    Rig rig;
    rig.start_and_wait_for_client_flight();
    REQUIRE(rig.run_until_paused() == 1);
    rig.resolver.answer_after(1ms, secure_answer_for_client());
    rig.finish();
    CHECK(rig.result.outcome.reason == HandshakeResult::ok);
    CHECK(rig.result.outcome.client_name == client_name);
    CHECK(rig.result.outcome.matched_tlsa == "3 1 1");
}

TEST_CASE("a failed lookup refuses with handshake_failure and its DNS reason") {
    Rig rig;
    rig.start_and_wait_for_client_flight();
    REQUIRE(rig.run_until_paused() == 1);
    rig.resolver.answer_after(1ms, dns::lookup_failure<dns::TlsaResult>(dns::LookupStatus::bogus, "signature"));
    rig.finish();
    CHECK(rig.result.outcome.reason == HandshakeResult::dns_bogus);
    CHECK(rig.alert() == SSL_AD_HANDSHAKE_FAILURE);
}

TEST_CASE("answer and handshake timer in one loop iteration, answer first: refused, no use after free") {
    // The answer only schedules the resume; the timer then runs before it in the same iteration.
    same_iteration_case(0us, secure_answer_for_client());
}

TEST_CASE("resolver watchdog and handshake timer in one loop iteration") {
    same_iteration_case(0us, dns::lookup_failure<dns::TlsaResult>(dns::LookupStatus::timeout, "watchdog"));
}

TEST_CASE("handshake timer first, answer due in the same iteration: the answer is never delivered") {
    same_iteration_case(std::chrono::milliseconds(handshake_ms + 5), secure_answer_for_client());
}

TEST_CASE("sweep: the answer lands before, with and after the handshake timer, in one or neighbouring iterations") {
    // Blocked loop: every offset lands in one iteration, in both orders.
    for (int offset_ms = 0; offset_ms <= static_cast<int>(handshake_ms) + 10; offset_ms += 16) {
        CAPTURE(offset_ms);
        same_iteration_case(std::chrono::milliseconds(offset_ms), secure_answer_for_client());
    }
    // Free-running loop: answers scheduled around the deadline, 250 us apart; each ends exactly once, either way.
    int authenticated = 0, timed_out = 0;
    for (int step = -16; step <= 16; ++step) {
        CAPTURE(step);
        Rig rig;
        rig.start_and_wait_for_client_flight();
        REQUIRE(rig.run_until_paused() == 1);
        auto budget_left = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::milliseconds(handshake_ms) - (std::chrono::steady_clock::now() - rig.started_at));
        rig.resolver.answer_after(std::max(0us, budget_left + std::chrono::microseconds(step * 250)),
                                  secure_answer_for_client());
        rig.finish();
        if (rig.result.outcome.reason == HandshakeResult::ok) ++authenticated;
        else if (rig.result.outcome.reason == HandshakeResult::timeout) ++timed_out;
        else FAIL("unexpected outcome " << rig.result.outcome.reason);
    }
    CHECK(authenticated + timed_out == 33);
    MESSAGE("free-running sweep: " << authenticated << " authenticated, " << timed_out << " timed out");
}

TEST_CASE("too many handshakes waiting for DNS, with the handshake timer in the same iteration") {
    Rig rig({.pending_dns_limit = 0});
    rig.start_and_wait_for_client_flight();
    // The budget is refused inside the iteration that reads the Certificate; the timer is due in it too.
    std::this_thread::sleep_for(std::chrono::milliseconds(handshake_ms) + 20ms);
    rig.run_one_iteration();
    rig.finish();
    CHECK(rig.resolver.lookups == 0);
    CHECK((rig.result.outcome.reason == HandshakeResult::too_many_pending || rig.result.outcome.reason == HandshakeResult::timeout));
    CHECK(rig.alert() == SSL_AD_HANDSHAKE_FAILURE);
}

TEST_CASE("a handshake destroyed while paused on DNS releases its async job") {
    // With two async jobs, a leak would make the third handshake fail with too_many_pending.
    for (int round = 0; round < 4; ++round) {
        CAPTURE(round);
        Rig rig;
        rig.start_and_wait_for_client_flight();
        REQUIRE(rig.run_until_paused() == 1);
        rig.handshake.reset();  // the listener shutting down
        CHECK_FALSE(rig.resolver.waiting());
        rig.stop_client();
        CHECK(rig.alert() == SSL_AD_HANDSHAKE_FAILURE);
    }
    Rig rig;
    rig.start_and_wait_for_client_flight();
    REQUIRE(rig.run_until_paused() == 1);
    rig.resolver.answer_after(1ms, secure_answer_for_client());
    rig.finish();
    CHECK(rig.result.outcome.reason == HandshakeResult::ok);
}

TEST_CASE("a client without a certificate gets certificate_required from libssl, counted as no_certificate") {
    Rig rig({.client_sends_certificate = false});
    rig.start_and_wait_for_client_flight();
    rig.finish();
    CHECK(rig.result.outcome.reason == HandshakeResult::no_certificate);
    CHECK(rig.alert() == SSL_AD_CERTIFICATE_REQUIRED);
    CHECK(rig.resolver.lookups == 0);
}

// ---- RFC 7250 raw public keys (OpenSSL 3.2+): the same pause, matched by DANE-EE SPKI records only ----

namespace {

constexpr RigOptions raw_keys_both_sides{.client_offers_raw_key = true, .server_accepts_raw_key = true};

Result raw_key_handshake(RigOptions options, dns::TlsaResult answer, int& alert, bool& client_sent_raw_key) {
    Rig rig(options);
    rig.start_and_wait_for_client_flight();
    REQUIRE(rig.run_until_paused() == 1);
    client_sent_raw_key = rig.client->sent_raw_key;
    rig.resolver.answer_after(1ms, std::move(answer));
    rig.finish();
    alert = rig.alert();
    return rig.result;
}

// A raw key that must be refused: sent as a raw key, tlsa_mismatch, handshake_failure.
Result expect_raw_key_refused(dns::TlsaResult answer) {
    int alert = -1;
    bool sent_raw_key = false;
    Result result = raw_key_handshake(raw_keys_both_sides, std::move(answer), alert, sent_raw_key);
    CHECK(sent_raw_key);
    CHECK(result.outcome.reason == HandshakeResult::tlsa_mismatch);
    CHECK(alert == SSL_AD_HANDSHAKE_FAILURE);
    return result;
}

}  // namespace

TEST_CASE("raw public key: matched by a 3 1 1 record after the DNS pause, reported as such" *
          doctest::skip(!raw_public_keys_supported)) {
    int alert = -1;
    bool sent_raw_key = false;
    Result result = raw_key_handshake(raw_keys_both_sides, secure_answer_for_client(1), alert, sent_raw_key);
    CHECK(sent_raw_key);
    CHECK(result.outcome.reason == HandshakeResult::ok);
    CHECK(result.outcome.raw_public_key);
    CHECK(result.outcome.client_name == client_name);
    CHECK(result.outcome.matched_tlsa == "3 1 1");
}

TEST_CASE("raw public key: a certificate record (3 0 1) cannot match it: handshake_failure" *
          doctest::skip(!raw_public_keys_supported)) {
    Result result = expect_raw_key_refused(secure_answer_for_client(0));
    CHECK(result.outcome.detail.find("3 1 x") != std::string::npos);
}

TEST_CASE("raw public key: a 3 1 1 record of another key is refused by OpenSSL's matcher: handshake_failure" *
          doctest::skip(!raw_public_keys_supported)) {
    dns::TlsaResult answer = secure_answer_for_client(1);
    answer.records.front().data.back() ^= 0x01;
    expect_raw_key_refused(std::move(answer));
}

TEST_CASE("raw public key: a record of its certificate (3 0 1) beside a 3 1 1 of another key is not used for it" *
          doctest::skip(!raw_public_keys_supported)) {
    // The 3 1 x record gets the answer past the verifier's own check; OpenSSL's matcher must then ignore 3 0 1.
    dns::TlsaResult answer = secure_answer_for_client(0);
    dns::TlsaRecord foreign = secure_answer_for_client(1).records.front();
    foreign.data.front() ^= 0x80;
    answer.records.push_back(foreign);
    expect_raw_key_refused(std::move(answer));
}

TEST_CASE("raw public key offered to a server that takes none: the certificate is sent and authenticated" *
          doctest::skip(!raw_public_keys_supported)) {
    int alert = -1;
    bool sent_raw_key = true;
    Result result = raw_key_handshake({.client_offers_raw_key = true}, secure_answer_for_client(1), alert, sent_raw_key);
    CHECK_FALSE(sent_raw_key);
    CHECK(result.outcome.reason == HandshakeResult::ok);
    CHECK_FALSE(result.outcome.raw_public_key);
}

TEST_CASE("raw public key sweep: the answer and the handshake timer in one loop iteration, both orders" *
          doctest::skip(!raw_public_keys_supported)) {
    for (int offset_ms = 0; offset_ms <= static_cast<int>(handshake_ms) + 10; offset_ms += 40) {
        CAPTURE(offset_ms);
        same_iteration_case(std::chrono::milliseconds(offset_ms), secure_answer_for_client(1), raw_keys_both_sides);
    }
}

TEST_CASE("without OpenSSL 3.2 a raw public key cannot be enabled" * doctest::skip(raw_public_keys_supported)) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    CHECK_FALSE(enable_client_raw_public_key(ctx.get()));
}
