// Proves the peers' LoRaWAN crypto against ChirpStack's golden vectors.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "tests/peers/aes.hpp"
#include "tests/peers/lorawan_crypto.hpp"
#include "tests/peers/vectors.hpp"

using namespace dance::peers;
namespace v = dance::peers::vectors;

namespace {

Key key(const char* hex) { return fixed_from_hex<16>(hex).value(); }
Eui eui(const char* hex) { return fixed_from_hex<8>(hex).value(); }
Bytes bytes(const char* hex) { return from_hex(hex).value(); }

JoinAccept golden_accept(uint8_t dl_settings) {
    JoinAccept accept;
    accept.join_nonce = v::kSentJoinNonce;
    accept.net_id = fixed_from_hex<3>(v::kNetId).value();
    accept.dev_addr = fixed_from_hex<4>(v::kDevAddr).value();
    accept.dl_settings = dl_settings;
    accept.rx_delay = v::kRxDelay;
    accept.cf_list = bytes(v::kCfList);
    return accept;
}

}  // namespace

TEST_CASE("hex round trip, 0x prefix and bad input") {
    CHECK(to_hex(bytes("0xDEADbeef")) == "deadbeef");
    CHECK_FALSE(from_hex("abc"));
    CHECK_FALSE(from_hex("zz"));
    CHECK_FALSE(fixed_from_hex<8>("0102"));
}

TEST_CASE("JoinReq LW10: the JoinRequest MIC is AES-CMAC(NwkKey) over MHDR..DevNonce") {
    const Bytes built = build_join_request(key(v::kNwkKey), eui(v::kJoinEui), eui(v::kDevEui), v::kDevNonce);
    CHECK(to_hex(built) == v::kJoinRequest);
    CHECK(join_request_mic_valid(key(v::kNwkKey), built));
    CHECK_FALSE(join_request_mic_valid(key(v::kAppKey11), built));
    Bytes tampered = built;
    tampered[17] ^= 1;
    CHECK_FALSE(join_request_mic_valid(key(v::kNwkKey), tampered));

    const auto parsed = parse_join_request(built);
    REQUIRE(parsed);
    CHECK(to_hex(parsed->dev_eui) == v::kDevEui);
    CHECK(to_hex(parsed->join_eui) == v::kJoinEui);
    CHECK(parsed->dev_nonce == v::kDevNonce);
    CHECK_FALSE(parse_join_request(Bytes(built.begin(), built.end() - 1)));
}

TEST_CASE("JoinReq LW10: JoinAccept PHYPayload and 1.0 session keys") {
    const Bytes sealed = seal_join_accept_10(key(v::kNwkKey), golden_accept(v::kDlSettings10));
    CHECK(to_hex(sealed) == v::kJoinAccept10);

    const auto opened = open_join_accept_10(key(v::kNwkKey), bytes(v::kJoinAccept10));
    REQUIRE(opened);
    CHECK(opened->join_nonce == v::kSentJoinNonce);
    CHECK(to_hex(opened->dev_addr) == v::kDevAddr);
    CHECK(to_hex(opened->cf_list) == v::kCfList);
    Bytes tampered = bytes(v::kJoinAccept10);
    tampered.back() ^= 1;
    CHECK_FALSE(open_join_accept_10(key(v::kNwkKey), tampered));

    const auto keys = derive_session_keys_10(key(v::kNwkKey), v::kSentJoinNonce, fixed_from_hex<3>(v::kNetId).value(),
                                             v::kDevNonce);
    CHECK(to_hex(keys.nwk_s_key) == v::kNwkSKey);
    CHECK(to_hex(keys.app_s_key) == v::kAppSKey10);
}

TEST_CASE("JoinReq LW11: JoinAccept with JSIntKey MIC and the four 1.1 session keys") {
    const Key js_int_key = derive_js_int_key(key(v::kNwkKey), eui(v::kDevEui));
    const Bytes sealed = seal_join_accept_11(key(v::kNwkKey), js_int_key, eui(v::kJoinEui), v::kDevNonce,
                                             golden_accept(v::kDlSettings11));
    CHECK(to_hex(sealed) == v::kJoinAccept11);
    CHECK(open_join_accept_11(key(v::kNwkKey), js_int_key, eui(v::kJoinEui), v::kDevNonce, sealed));
    CHECK_FALSE(open_join_accept_11(key(v::kNwkKey), js_int_key, eui(v::kJoinEui), v::kDevNonce + 1, sealed));
    CHECK_FALSE(open_join_accept_10(key(v::kNwkKey), sealed));

    const auto keys = derive_session_keys_11(key(v::kNwkKey), key(v::kAppKey11), v::kSentJoinNonce,
                                             eui(v::kJoinEui), v::kDevNonce);
    CHECK(to_hex(keys.s_nwk_s_int_key) == v::kSNwkSIntKey);
    CHECK(to_hex(keys.f_nwk_s_int_key) == v::kFNwkSIntKey);
    CHECK(to_hex(keys.nwk_s_enc_key) == v::kNwkSEncKey);
    CHECK(to_hex(keys.app_s_key) == v::kAppSKey11);
}

TEST_CASE("RFC 3394 key wrap") {
    const Bytes wrapped = aes_key_wrap(key(v::kKek), key(v::kKeyToWrap));
    CHECK(to_hex(wrapped) == v::kWrappedKey);
    CHECK(aes_key_unwrap(key(v::kKek), wrapped) == key(v::kKeyToWrap));
    Bytes tampered = wrapped;
    tampered[3] ^= 1;
    CHECK_FALSE(aes_key_unwrap(key(v::kKek), tampered));
}
