// tlsa_for_certificate against values computed independently with the openssl command line
// (`openssl x509 -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256`). The certificate
// is public data only; its private key was discarded.
#include <doctest/doctest.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <string>

#include "config/pem_files.hpp"
#include "dns/tlsa_from_cert.hpp"

using dance::dns::tlsa_for_certificate;

namespace {

constexpr const char* known_certificate = R"(-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUPE569Ck7MTMb7kdacTM+ocfG0x4wCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZdGxzYS1rbm93bi1hbnN3ZXIuZXhhbXBsZTAgFw0yNjExMjUx
NjIxMTZaGA8yMTI2MTEwMTE2MjExNlowJDEiMCAGA1UEAwwZdGxzYS1rbm93bi1h
bnN3ZXIuZXhhbXBsZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAX8hPeLh/JW
EhmNKzbdgNNZ7f3snho8qgNW4AgP85Ee8iYt4GGTwqrymCxmnNDjNedgjVe4/2YR
Uxp/rScE1zyjUzBRMB0GA1UdDgQWBBQeKTP5Yn3etPkXJKeadgUWRIDK6TAfBgNV
HSMEGDAWgBQeKTP5Yn3etPkXJKeadgUWRIDK6TAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0gAMEUCICB/TdgU5r2FlVwrz/o71lYCLnuRVPzHC+nSYxw3p23F
AiEA5/+kzlSwAlFz4oc6y/6DCE6JRxoUjBe7jwKcv3dOL70=
-----END CERTIFICATE-----
)";

dance::X509Ptr parse_pem(const char* pem) {
    BIO* bio = BIO_new_mem_buf(pem, -1);
    dance::X509Ptr certificate(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    BIO_free(bio);
    return certificate;
}

}  // namespace

TEST_CASE("TLSA data for a known certificate matches openssl's own computation") {
    auto certificate = parse_pem(known_certificate);
    REQUIRE(certificate);
    CHECK(tlsa_for_certificate(certificate.get(), 3, 1, 1).to_string() ==
          "3 1 1 661b08137c658976223a7dbf046daa178f03f8ae2e984208135d1708ec5b5547");
    CHECK(tlsa_for_certificate(certificate.get(), 2, 0, 1).to_string() ==
          "2 0 1 40c2a12065007d946fd483dcd6935928f68b6ea757d6fcb4f3c4dc13acf82a99");
    CHECK(tlsa_for_certificate(certificate.get(), 3, 1, 2).to_string() ==
          "3 1 2 f0319273438b39faecc65daa95ec88ef567fce56c8986767495442605b94c4cd30d75b7b38b1602afa46dab52235c3ff"
          "898bfdb6975da1dbbab3ebd1781a7ecc");
    CHECK(tlsa_for_certificate(certificate.get(), 3, 1, 0).to_string() ==
          "3 1 0 3059301306072a8648ce3d020106082a8648ce3d0301070342000405fc84f78b87f25612198d2b36dd80d359edfdec9e"
          "1a3caa0356e0080ff3911ef2262de06193c2aaf2982c669cd0e335e7608d57b8ff6611531a7fad2704d73c");
}

TEST_CASE("selector 0 with matching 0 is the certificate's full DER") {
    auto certificate = parse_pem(known_certificate);
    REQUIRE(certificate);
    auto record = tlsa_for_certificate(certificate.get(), 3, 0, 0);
    CHECK(record.data.size() == 0x19f + 4);  // DER header 30 82 01 9f
    CHECK(record.data[0] == 0x30);
    CHECK(record.data[1] == 0x82);
    CHECK(record.parameters() == "3 0 0");
}

TEST_CASE("out-of-range parameters are refused, not encoded") {
    auto certificate = parse_pem(known_certificate);
    REQUIRE(certificate);
    CHECK_THROWS_AS(tlsa_for_certificate(certificate.get(), 4, 1, 1), std::invalid_argument);
    CHECK_THROWS_AS(tlsa_for_certificate(certificate.get(), 3, 2, 1), std::invalid_argument);
    CHECK_THROWS_AS(tlsa_for_certificate(certificate.get(), 3, 1, 3), std::invalid_argument);
    CHECK_THROWS_AS(tlsa_for_certificate(nullptr, 3, 1, 1), std::invalid_argument);
}
