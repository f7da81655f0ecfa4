// ClientIdentityVerifier for DANE client authentication (draft-ietf-dance-client-auth): ClientName syntax,
// the allow-list before any query, the TLSA lookup under the worker's DNS budget, and the records handed to
// OpenSSL's DANE verifier (PKIX usages only with a configured CA, no PKIX fallback).
#pragma once

#include <optional>

#include "dns/lookup_result.hpp"
#include "dns/tlsa_resolver.hpp"
#include "proxy/auth/client_auth_policy.hpp"
#include "proxy/auth/client_identity_verifier.hpp"

namespace dance::proxy {

class DaneClientVerifier final : public ClientIdentityVerifier {
public:
    DaneClientVerifier(const ClientAuthPolicy& policy, dns::TlsaResolver& resolver, PendingDnsBudget& budget);
    ~DaneClientVerifier() override;
    DaneClientVerifier(const DaneClientVerifier&) = delete;
    DaneClientVerifier& operator=(const DaneClientVerifier&) = delete;

    IdentityVerdict check_name(const ParsedClientName& client_name) override;
    IdentityVerdict resolve(std::function<void()> on_settled) override;
    void abandon() override;
    IdentityVerdict verdict() const override;
    IdentityVerdict apply_records(SSL* ssl) override;
    const std::string& client_name() const override { return client_name_; }
    std::chrono::steady_clock::time_point valid_until() const override;

private:
    void take_slot();
    void release_slot();

    const ClientAuthPolicy& policy_;
    dns::TlsaResolver& resolver_;
    PendingDnsBudget& budget_;
    std::string client_name_;
    std::optional<dns::TlsaResult> answer_;
    dns::PendingLookupPtr lookup_;
    bool holds_slot_ = false;
};

}  // namespace dance::proxy
