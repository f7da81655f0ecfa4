// The hand-sealed handshake_failure alert must be read by a real OpenSSL client as exactly that alert, in
// every TLS 1.3 suite an inbound listener offers; a record sealed wrongly must not.
#include <doctest/doctest.h>

#include <string>

#include <openssl/err.h>

#include "proxy/tls13_alert.hpp"
#include "tls_test_support.hpp"

using namespace dance::proxy;
using namespace dance::proxy::testing;

namespace {

void capture_secret(const SSL* ssl, const char* line) {
    static_cast<ServerTrafficSecret*>(SSL_get_app_data(ssl))->capture(line);
}

// A server that asks for a client certificate but does not insist, and a client without one, joined by a BIO
// pair: the same shape as an inbound listener before it refuses a certificate-less client.
struct CertificateLessHandshake {
    Identity server_identity = make_self_signed("js.test");
    SslCtxPtr server_ctx{SSL_CTX_new(TLS_server_method())};
    SslCtxPtr client_ctx{SSL_CTX_new(TLS_client_method())};
    SslPtr server;
    SslPtr client;
    ServerTrafficSecret secret;

    explicit CertificateLessHandshake(const char* suite) {
        SSL_CTX_set_min_proto_version(server_ctx.get(), TLS1_3_VERSION);
        SSL_CTX_use_certificate(server_ctx.get(), server_identity.certificate.get());
        SSL_CTX_use_PrivateKey(server_ctx.get(), server_identity.key.get());
        SSL_CTX_set_verify(server_ctx.get(), SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_num_tickets(server_ctx.get(), 0);
        SSL_CTX_set_keylog_callback(server_ctx.get(), capture_secret);
        SSL_CTX_set_min_proto_version(client_ctx.get(), TLS1_3_VERSION);
        SSL_CTX_set_ciphersuites(client_ctx.get(), suite);
        server.reset(SSL_new(server_ctx.get()));
        client.reset(SSL_new(client_ctx.get()));
        SSL_set_app_data(server.get(), &secret);
        BIO* server_end = nullptr;
        BIO* client_end = nullptr;
        BIO_new_bio_pair(&server_end, 0, &client_end, 0);
        SSL_set_bio(server.get(), server_end, server_end);
        SSL_set_bio(client.get(), client_end, client_end);
        SSL_set_accept_state(server.get());
        SSL_set_connect_state(client.get());
    }

    bool complete() {
        bool server_done = false, client_done = false;
        for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
            if (!client_done) client_done = SSL_do_handshake(client.get()) == 1;
            if (!server_done) server_done = SSL_do_handshake(server.get()) == 1;
        }
        return server_done && client_done;
    }

    void send_raw_from_server(const std::vector<uint8_t>& record) {
        REQUIRE(BIO_write(SSL_get_wbio(server.get()), record.data(), static_cast<int>(record.size())) ==
                static_cast<int>(record.size()));
    }

    // What the client's first read reports: OpenSSL's reason code for the failure, or 0 if it read data.
    int client_read_failure() {
        ERR_clear_error();
        char buffer[64];
        int rc = SSL_read(client.get(), buffer, sizeof buffer);
        if (rc > 0 || SSL_get_error(client.get(), rc) != SSL_ERROR_SSL) return 0;
        return ERR_GET_REASON(ERR_peek_error());
    }
};

}  // namespace

TEST_CASE("a client reads the sealed alert as handshake_failure in every offered suite") {
    for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
        CAPTURE(suite);
        CertificateLessHandshake handshake(suite);
        REQUIRE(handshake.complete());
        CHECK(SSL_get0_peer_certificate(handshake.server.get()) == nullptr);
        CHECK(std::string(SSL_get_cipher_name(handshake.server.get())) == suite);
        std::vector<uint8_t> record = seal_first_server_alert(handshake.server.get(), handshake.secret,
                                                              SSL_AD_HANDSHAKE_FAILURE);
        REQUIRE(record.size() == 5 + 3 + 16);
        handshake.send_raw_from_server(record);
        CHECK(handshake.client_read_failure() == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE);
    }
}

TEST_CASE("a record sealed with a corrupted secret or tampered in transit is not accepted as an alert") {
    SUBCASE("tampered tag") {
        CertificateLessHandshake handshake("TLS_AES_128_GCM_SHA256");
        REQUIRE(handshake.complete());
        std::vector<uint8_t> record = seal_first_server_alert(handshake.server.get(), handshake.secret,
                                                              SSL_AD_HANDSHAKE_FAILURE);
        REQUIRE_FALSE(record.empty());
        record.back() ^= 0x01;
        handshake.send_raw_from_server(record);
        CHECK(handshake.client_read_failure() == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
    }
    SUBCASE("secret of another connection") {
        CertificateLessHandshake first("TLS_AES_128_GCM_SHA256");
        CertificateLessHandshake second("TLS_AES_128_GCM_SHA256");
        REQUIRE(first.complete());
        REQUIRE(second.complete());
        std::vector<uint8_t> record = seal_first_server_alert(first.server.get(), second.secret,
                                                              SSL_AD_HANDSHAKE_FAILURE);
        REQUIRE_FALSE(record.empty());
        first.send_raw_from_server(record);
        CHECK(first.client_read_failure() == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
    }
}

TEST_CASE("the keylog capture keeps only the server application traffic secret") {
    ServerTrafficSecret secret;
    const std::string random(64, 'a');
    secret.capture("CLIENT_TRAFFIC_SECRET_0 " + random + " " + std::string(64, '1'));
    CHECK(secret.empty());
    secret.capture("SERVER_TRAFFIC_SECRET_0 " + random + " " + std::string(96, 'f'));
    REQUIRE(secret.bytes().size() == 48);
    CHECK(secret.bytes()[0] == 0xff);
    secret.capture("SERVER_TRAFFIC_SECRET_0 " + random + " 0g");
    CHECK(secret.empty());
    secret.capture("SERVER_TRAFFIC_SECRET_0 " + random + " 0102");
    secret.wipe();
    CHECK(secret.empty());
}

TEST_CASE("nothing is sealed without a secret") {
    CertificateLessHandshake handshake("TLS_AES_128_GCM_SHA256");
    REQUIRE(handshake.complete());
    handshake.secret.wipe();
    CHECK(seal_first_server_alert(handshake.server.get(), handshake.secret, SSL_AD_HANDSHAKE_FAILURE).empty());
}
