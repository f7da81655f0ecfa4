// The AES-128 primitives LoRaWAN uses: single-block ECB, AES-CMAC and RFC 3394 key wrap (OpenSSL 3).
#pragma once

#include "tests/peers/bytes.hpp"

namespace dance::peers {

using Block = std::array<uint8_t, 16>;

Block aes_encrypt_block(const Key& key, const Block& block);
Block aes_decrypt_block(const Key& key, const Block& block);

// ECB over a whole number of blocks; throws std::invalid_argument otherwise.
Bytes aes_ecb_encrypt(const Key& key, const Bytes& data);
Bytes aes_ecb_decrypt(const Key& key, const Bytes& data);

Block aes_cmac(const Key& key, const Bytes& data);

// RFC 3394 with the default IV: a 16-byte key wraps to 24 bytes.
Bytes aes_key_wrap(const Key& kek, const Key& key);
std::optional<Key> aes_key_unwrap(const Key& kek, const Bytes& wrapped);

}  // namespace dance::peers
