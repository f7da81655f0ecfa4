// The seam between the inbound TLS handshake and client authentication policy (Envoy's CertValidator idea).
//
// The handshake driver only drives OpenSSL: when the client's ClientName arrives it asks the verifier, which
// answers accepted, refused (with the handshake result to report) or pending (a DNS lookup is needed). On
// pending the driver pauses the handshake, calls resolve() from the event loop and resumes when told; then it
// asks apply_records() to hand OpenSSL what the certificate chain must match.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "dns/tlsa_record.hpp"
#include "proxy/tls/dane_clientid.hpp"
#include "proxy/tls/handshake_result.hpp"

namespace dance::proxy {

struct IdentityVerdict {
    enum class Status { accepted, pending, refused };
    Status status = Status::refused;
    HandshakeResult refusal = HandshakeResult::tls_error;  // meaningful when refused
    std::string detail;                                     // why, for the log line

    static IdentityVerdict accepted() { return {Status::accepted, HandshakeResult::ok, {}}; }
    static IdentityVerdict pending() { return {Status::pending, HandshakeResult::ok, {}}; }
    static IdentityVerdict refused(HandshakeResult why, std::string detail) {
        return {Status::refused, why, std::move(detail)};
    }
    bool is_refused() const { return status == Status::refused; }
};

class ClientIdentityVerifier {
public:
    virtual ~ClientIdentityVerifier() = default;

    // Called from inside OpenSSL's extension callback (a small async-job stack): must not start a lookup.
    // Pending reserves what the lookup will need (a DNS budget slot); refused costs nothing afterwards.
    virtual IdentityVerdict check_name(const ParsedClientName& client_name) = 0;
    // After a pending check_name, from the event loop: starts the lookup. `on_settled` runs once, later, from
    // the loop (never inside this call). Returns pending, or refused if the lookup cannot start.
    virtual IdentityVerdict resolve(std::function<void()> on_settled) = 0;
    // The handshake gives up while pending (its time ran out, or it is torn down): cancels the lookup.
    virtual void abandon() = 0;
    // Once settled: accepted, or refused with the DNS result.
    virtual IdentityVerdict verdict() const = 0;
    // After an accepted verdict: configures `ssl` so OpenSSL verifies the client's chain against the records.
    virtual IdentityVerdict apply_records(SSL* ssl) = 0;

    virtual const std::string& client_name() const = 0;  // lower-cased; "" before check_name
    // When the answer behind an acceptance stops vouching for it (see AuthenticationRenewal).
    virtual std::chrono::steady_clock::time_point valid_until() const = 0;
};

}  // namespace dance::proxy
