#include "tests/peers/lorawan_crypto.hpp"

#include <algorithm>

#include "tests/peers/aes.hpp"

namespace dance::peers {
namespace {

constexpr uint8_t kJoinRequestType = 0xff;
constexpr std::size_t kMicSize = 4;
constexpr std::size_t kCfListSize = 16;
constexpr std::size_t kJoinAcceptBodySize = 12;  // JoinNonce | NetID | DevAddr | DLSettings | RxDelay

template <std::size_t N>
void append_reversed(Bytes& out, const std::array<uint8_t, N>& field) {
    out.insert(out.end(), field.rbegin(), field.rend());
}

template <std::size_t N>
std::array<uint8_t, N> read_reversed(const Bytes& in, std::size_t offset) {
    std::array<uint8_t, N> field{};
    std::reverse_copy(in.begin() + static_cast<std::ptrdiff_t>(offset),
                      in.begin() + static_cast<std::ptrdiff_t>(offset + N), field.begin());
    return field;
}

void append_le(Bytes& out, uint32_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

uint32_t read_le(const Bytes& in, std::size_t offset, std::size_t size) {
    uint32_t value = 0;
    for (std::size_t i = 0; i < size; ++i) value |= static_cast<uint32_t>(in[offset + i]) << (8 * i);
    return value;
}

Mic truncated_cmac(const Key& key, const Bytes& data) {
    const Block full = aes_cmac(key, data);
    Mic mic{};
    std::copy_n(full.begin(), mic.size(), mic.begin());
    return mic;
}

// MHDR | JoinNonce | NetID | DevAddr | DLSettings | RxDelay | CFList, without MIC.
Bytes join_accept_plain(const JoinAccept& accept) {
    Bytes plain{kJoinAcceptMhdr};
    append_le(plain, accept.join_nonce, 3);
    append_reversed(plain, accept.net_id);
    append_reversed(plain, accept.dev_addr);
    plain.push_back(accept.dl_settings);
    plain.push_back(accept.rx_delay);
    plain.insert(plain.end(), accept.cf_list.begin(), accept.cf_list.end());
    return plain;
}

Bytes join_accept_11_mic_input(const Eui& join_eui, uint16_t dev_nonce, const Bytes& plain) {
    Bytes input{kJoinRequestType};
    append_reversed(input, join_eui);
    append_le(input, dev_nonce, 2);
    input.insert(input.end(), plain.begin(), plain.end());
    return input;
}

Bytes seal(const Key& nwk_key, Bytes plain, const Mic& mic) {
    plain.insert(plain.end(), mic.begin(), mic.end());
    const Bytes body(plain.begin() + 1, plain.end());
    Bytes sealed{plain.front()};
    const Bytes encrypted = aes_ecb_decrypt(nwk_key, body);  // the device decrypts with AES encrypt
    sealed.insert(sealed.end(), encrypted.begin(), encrypted.end());
    return sealed;
}

// Recovers MHDR..CFList (without MIC) and the received MIC; nullopt on a malformed payload.
std::optional<std::pair<Bytes, Mic>> unseal(const Key& nwk_key, const Bytes& phy_payload) {
    const std::size_t body_size = phy_payload.size() - 1;
    if (phy_payload.empty() || phy_payload[0] != kJoinAcceptMhdr ||
        (body_size != kJoinAcceptBodySize + kMicSize && body_size != kJoinAcceptBodySize + kMicSize + kCfListSize))
        return std::nullopt;
    const Bytes body = aes_ecb_encrypt(nwk_key, Bytes(phy_payload.begin() + 1, phy_payload.end()));
    Bytes plain{phy_payload[0]};
    plain.insert(plain.end(), body.begin(), body.end() - kMicSize);
    Mic mic{};
    std::copy(body.end() - kMicSize, body.end(), mic.begin());
    return std::make_pair(plain, mic);
}

JoinAccept read_join_accept(const Bytes& plain) {
    JoinAccept accept;
    accept.join_nonce = read_le(plain, 1, 3);
    accept.net_id = read_reversed<3>(plain, 4);
    accept.dev_addr = read_reversed<4>(plain, 7);
    accept.dl_settings = plain[11];
    accept.rx_delay = plain[12];
    accept.cf_list.assign(plain.begin() + 13, plain.end());
    return accept;
}

Key derive_key(const Key& root, const Bytes& prefix) {
    Block block{};
    std::copy(prefix.begin(), prefix.end(), block.begin());  // zero padded to 16 bytes
    return aes_encrypt_block(root, block);
}

Bytes session_key_input_11(uint8_t type, uint32_t join_nonce, const Eui& join_eui, uint16_t dev_nonce) {
    Bytes input{type};
    append_le(input, join_nonce, 3);
    append_reversed(input, join_eui);
    append_le(input, dev_nonce, 2);
    return input;
}

}  // namespace

std::optional<JoinRequest> parse_join_request(const Bytes& phy_payload) {
    if (phy_payload.size() != kJoinRequestSize || phy_payload[0] != kJoinRequestMhdr) return std::nullopt;
    JoinRequest request;
    request.join_eui = read_reversed<8>(phy_payload, 1);
    request.dev_eui = read_reversed<8>(phy_payload, 9);
    request.dev_nonce = static_cast<uint16_t>(read_le(phy_payload, 17, 2));
    std::copy(phy_payload.end() - kMicSize, phy_payload.end(), request.mic.begin());
    return request;
}

Bytes build_join_request(const Key& nwk_key, const Eui& join_eui, const Eui& dev_eui, uint16_t dev_nonce) {
    Bytes payload{kJoinRequestMhdr};
    append_reversed(payload, join_eui);
    append_reversed(payload, dev_eui);
    append_le(payload, dev_nonce, 2);
    const Mic mic = truncated_cmac(nwk_key, payload);
    payload.insert(payload.end(), mic.begin(), mic.end());
    return payload;
}

bool join_request_mic_valid(const Key& nwk_key, const Bytes& phy_payload) {
    const auto request = parse_join_request(phy_payload);
    if (!request) return false;
    const Bytes signed_part(phy_payload.begin(), phy_payload.end() - kMicSize);
    return truncated_cmac(nwk_key, signed_part) == request->mic;
}

Bytes seal_join_accept_10(const Key& nwk_key, const JoinAccept& accept) {
    const Bytes plain = join_accept_plain(accept);
    return seal(nwk_key, plain, truncated_cmac(nwk_key, plain));
}

Bytes seal_join_accept_11(const Key& nwk_key, const Key& js_int_key, const Eui& join_eui, uint16_t dev_nonce,
                          const JoinAccept& accept) {
    const Bytes plain = join_accept_plain(accept);
    return seal(nwk_key, plain, truncated_cmac(js_int_key, join_accept_11_mic_input(join_eui, dev_nonce, plain)));
}

std::optional<JoinAccept> open_join_accept_10(const Key& nwk_key, const Bytes& phy_payload) {
    const auto unsealed = unseal(nwk_key, phy_payload);
    if (!unsealed || truncated_cmac(nwk_key, unsealed->first) != unsealed->second) return std::nullopt;
    return read_join_accept(unsealed->first);
}

std::optional<JoinAccept> open_join_accept_11(const Key& nwk_key, const Key& js_int_key, const Eui& join_eui,
                                              uint16_t dev_nonce, const Bytes& phy_payload) {
    const auto unsealed = unseal(nwk_key, phy_payload);
    if (!unsealed) return std::nullopt;
    const Bytes mic_input = join_accept_11_mic_input(join_eui, dev_nonce, unsealed->first);
    if (truncated_cmac(js_int_key, mic_input) != unsealed->second) return std::nullopt;
    return read_join_accept(unsealed->first);
}

SessionKeys10 derive_session_keys_10(const Key& nwk_key, uint32_t join_nonce, const NetId& net_id,
                                     uint16_t dev_nonce) {
    auto input = [&](uint8_t type) {
        Bytes prefix{type};
        append_le(prefix, join_nonce, 3);
        append_reversed(prefix, net_id);
        append_le(prefix, dev_nonce, 2);
        return prefix;
    };
    return {derive_key(nwk_key, input(0x01)), derive_key(nwk_key, input(0x02))};
}

SessionKeys11 derive_session_keys_11(const Key& nwk_key, const Key& app_key, uint32_t join_nonce,
                                     const Eui& join_eui, uint16_t dev_nonce) {
    auto input = [&](uint8_t type) { return session_key_input_11(type, join_nonce, join_eui, dev_nonce); };
    SessionKeys11 keys;
    keys.f_nwk_s_int_key = derive_key(nwk_key, input(0x01));
    keys.app_s_key = derive_key(app_key, input(0x02));
    keys.s_nwk_s_int_key = derive_key(nwk_key, input(0x03));
    keys.nwk_s_enc_key = derive_key(nwk_key, input(0x04));
    return keys;
}

Key derive_js_int_key(const Key& nwk_key, const Eui& dev_eui) {
    Bytes prefix{0x06};
    append_reversed(prefix, dev_eui);
    return derive_key(nwk_key, prefix);
}

}  // namespace dance::peers
