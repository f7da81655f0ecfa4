// LoRaWAN 1.0.x / 1.1 join procedure cryptography: JoinRequest MIC, JoinAccept construction and opening,
// session key derivation. Multi-byte fields are given as written in Backend Interfaces JSON (most
// significant byte first) and put on the air little-endian here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "tests/peers/bytes.hpp"

namespace dance::peers {

using Mic = std::array<uint8_t, 4>;
using NetId = std::array<uint8_t, 3>;
using DevAddr = std::array<uint8_t, 4>;

constexpr std::size_t kJoinRequestSize = 23;  // MHDR | JoinEUI | DevEUI | DevNonce | MIC
constexpr uint8_t kJoinRequestMhdr = 0x00;
constexpr uint8_t kJoinAcceptMhdr = 0x20;
constexpr uint8_t kOptNegBit = 0x80;  // in DLSettings: the network speaks LoRaWAN 1.1
constexpr uint32_t kMaxJoinNonce = 0xffffff;

struct JoinRequest {
    Eui join_eui{};
    Eui dev_eui{};
    uint16_t dev_nonce = 0;
    Mic mic{};
};

struct JoinAccept {
    uint32_t join_nonce = 0;  // 24 bits
    NetId net_id{};
    DevAddr dev_addr{};
    uint8_t dl_settings = 0;
    uint8_t rx_delay = 0;
    Bytes cf_list;  // empty or 16 bytes
};

struct SessionKeys10 {
    Key nwk_s_key{};
    Key app_s_key{};
};

struct SessionKeys11 {
    Key f_nwk_s_int_key{};
    Key s_nwk_s_int_key{};
    Key nwk_s_enc_key{};
    Key app_s_key{};
};

// nullopt unless 23 bytes with the JoinRequest MHDR. Does not check the MIC.
std::optional<JoinRequest> parse_join_request(const Bytes& phy_payload);
Bytes build_join_request(const Key& nwk_key, const Eui& join_eui, const Eui& dev_eui, uint16_t dev_nonce);
bool join_request_mic_valid(const Key& nwk_key, const Bytes& phy_payload);

// JoinAccept PHYPayload as the join server sends it: MIC added, then "encrypted" with AES-ECB decrypt.
Bytes seal_join_accept_10(const Key& nwk_key, const JoinAccept& accept);
// LoRaWAN 1.1 with OptNeg: MIC with JSIntKey over JoinReqType 0xFF | JoinEUI | DevNonce | MHDR | ...
Bytes seal_join_accept_11(const Key& nwk_key, const Key& js_int_key, const Eui& join_eui, uint16_t dev_nonce,
                          const JoinAccept& accept);

// Device side: "decrypts" with AES-ECB encrypt and checks the MIC; nullopt on any mismatch.
std::optional<JoinAccept> open_join_accept_10(const Key& nwk_key, const Bytes& phy_payload);
std::optional<JoinAccept> open_join_accept_11(const Key& nwk_key, const Key& js_int_key, const Eui& join_eui,
                                              uint16_t dev_nonce, const Bytes& phy_payload);

SessionKeys10 derive_session_keys_10(const Key& nwk_key, uint32_t join_nonce, const NetId& net_id,
                                     uint16_t dev_nonce);
SessionKeys11 derive_session_keys_11(const Key& nwk_key, const Key& app_key, uint32_t join_nonce,
                                     const Eui& join_eui, uint16_t dev_nonce);
Key derive_js_int_key(const Key& nwk_key, const Eui& dev_eui);

}  // namespace dance::peers
