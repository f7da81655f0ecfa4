#include "proxy/auth/dane_client_verifier.hpp"

#include <algorithm>

#include <openssl/x509v3.h>

#include "base/dns_name.hpp"
#include "proxy/tls/dane_records.hpp"
#include "proxy/tls/raw_public_key.hpp"

namespace dance::proxy {

bool client_name_allowed(const ClientAuthPolicy& policy, std::string_view lower_case_name) {
    for (const std::string& entry : policy.allow) {
        if (allow_entry_matches(entry, lower_case_name)) return true;
    }
    return false;
}

DaneClientVerifier::DaneClientVerifier(const ClientAuthPolicy& policy, dns::TlsaResolver& resolver,
                                       PendingDnsBudget& budget)
    : policy_(policy), resolver_(resolver), budget_(budget) {}

DaneClientVerifier::~DaneClientVerifier() { abandon(); }

IdentityVerdict DaneClientVerifier::check_name(const ParsedClientName& client_name) {
    if (client_name.kind == ClientNameKind::empty) return IdentityVerdict::refused(HandshakeResult::empty_clientid, "empty ClientName");
    if (client_name.kind == ClientNameKind::malformed) {
        return IdentityVerdict::refused(HandshakeResult::bad_clientid, "malformed extension");
    }
    if (std::string why = why_invalid_name(client_name.name); !why.empty()) {
        return IdentityVerdict::refused(HandshakeResult::bad_clientid, "ClientName: " + why);
    }
    client_name_ = lower_case(client_name.name);
    if (!client_name_allowed(policy_, client_name_)) {
        return IdentityVerdict::refused(HandshakeResult::not_allowed, "ClientName not in the allow-list");
    }
    if (auto cached = resolver_.cached_tlsa(client_name_)) {
        answer_ = std::move(cached);
        return verdict();
    }
    // Decided here, before the handshake pauses: a refusal must not hold an async job (there are only a few
    // spare ones beyond max_pending_dns).
    if (budget_.in_use >= budget_.limit) {
        return IdentityVerdict::refused(HandshakeResult::too_many_pending, "too many handshakes waiting for DNS");
    }
    take_slot();
    return IdentityVerdict::pending();
}

IdentityVerdict DaneClientVerifier::resolve(std::function<void()> on_settled) {
    lookup_ = resolver_.lookup_tlsa(client_name_, [this, on_settled = std::move(on_settled)](const dns::TlsaResult& result) {
        release_slot();
        answer_ = result;
        on_settled();
    });
    return IdentityVerdict::pending();
}

void DaneClientVerifier::abandon() {
    lookup_.reset();
    release_slot();
}

IdentityVerdict DaneClientVerifier::verdict() const {
    if (!answer_) return IdentityVerdict::pending();
    if (!answer_->authenticates()) {
        return IdentityVerdict::refused(
            dns_failure_result(answer_->status),
            "TLSA lookup: " + std::string(to_string(answer_->status)) + (answer_->detail.empty() ? "" : ": " + answer_->detail));
    }
    return IdentityVerdict::accepted();
}

namespace {

bool matches_a_raw_key(const dns::TlsaRecord& record) { return record.usage == 3 && record.selector == 1; }

}  // namespace

IdentityVerdict DaneClientVerifier::apply_records(SSL* ssl) {
    // OpenSSL would refuse too (it matches a raw key against DANE-EE SPKI records only); this says why.
    if (client_raw_public_key_negotiated(ssl) &&
        std::none_of(answer_->records.begin(), answer_->records.end(), matches_a_raw_key)) {
        return IdentityVerdict::refused(HandshakeResult::tlsa_mismatch,
                                        "raw public key, but no DANE-EE SPKI (3 1 x) record to match it");
    }
    DaneRecordsApplied applied = apply_tlsa_records(ssl, client_name_, answer_->records, policy_.pkix_usages);
    if (!applied.error.empty()) return IdentityVerdict::refused(HandshakeResult::tls_error, applied.error);
    // With no usable record OpenSSL would fall back to plain PKIX: refuse instead.
    if (applied.usable == 0) return IdentityVerdict::refused(HandshakeResult::tlsa_mismatch, "no usable TLSA record");
    // DANE-TA and PKIX usages: the ClientName must be a dNSName in the SAN, never the subject CN.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    return IdentityVerdict::accepted();
}

std::chrono::steady_clock::time_point DaneClientVerifier::valid_until() const {
    return answer_ ? answer_->valid_until : std::chrono::steady_clock::time_point{};
}

void DaneClientVerifier::take_slot() {
    holds_slot_ = true;
    ++budget_.in_use;
    if (budget_.on_change) budget_.on_change(+1);
}

void DaneClientVerifier::release_slot() {
    if (!holds_slot_) return;
    holds_slot_ = false;
    --budget_.in_use;
    if (budget_.on_change) budget_.on_change(-1);
}

}  // namespace dance::proxy
