#include "tests/peers/aes.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "base/c_handles.hpp"

namespace dance::peers {
namespace {

using CipherPtr = std::unique_ptr<EVP_CIPHER, FreeWith<EVP_CIPHER_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, FreeWith<EVP_CIPHER_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, FreeWith<EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, FreeWith<EVP_MAC_CTX_free>>;

// Fetched once: fetching per call would dominate the join server's cost under load.
const EVP_CIPHER* fetched_cipher(const CipherPtr& cipher, const char* name) {
    if (!cipher) throw std::runtime_error(std::string("OpenSSL has no ") + name);
    return cipher.get();
}

const EVP_CIPHER* ecb_cipher() {
    static const CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr));
    return fetched_cipher(cipher, "AES-128-ECB");
}

const EVP_CIPHER* wrap_cipher() {
    static const CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-128-WRAP", nullptr));
    return fetched_cipher(cipher, "AES-128-WRAP");
}

const EVP_MAC* fetched_cmac() {
    static const MacPtr cmac(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
    if (!cmac) throw std::runtime_error("OpenSSL has no CMAC");
    return cmac.get();
}

// One EVP pass; returns nullopt when OpenSSL rejects the input (a failed unwrap integrity check).
std::optional<Bytes> run_cipher(const EVP_CIPHER* cipher, bool encrypt, const Key& key, const uint8_t* in,
                                std::size_t size) {
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || !EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr, encrypt ? 1 : 0,
                                    nullptr))
        throw std::runtime_error("cipher init failed");
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    Bytes out(size + 2 * EVP_MAX_BLOCK_LENGTH);
    int written = 0;
    int final_written = 0;
    if (EVP_CipherUpdate(ctx.get(), out.data(), &written, in, static_cast<int>(size)) <= 0 ||
        EVP_CipherFinal_ex(ctx.get(), out.data() + written, &final_written) <= 0)
        return std::nullopt;
    out.resize(static_cast<std::size_t>(written + final_written));
    return out;
}

Bytes ecb(bool encrypt, const Key& key, const Bytes& data) {
    if (data.size() % 16 != 0) throw std::invalid_argument("AES-ECB needs whole 16-byte blocks");
    auto out = run_cipher(ecb_cipher(), encrypt, key, data.data(), data.size());
    if (!out) throw std::runtime_error("AES-ECB failed");
    return *out;
}

Block to_block(const Bytes& bytes) {
    Block block{};
    std::copy_n(bytes.begin(), block.size(), block.begin());
    return block;
}

}  // namespace

Bytes aes_ecb_encrypt(const Key& key, const Bytes& data) { return ecb(true, key, data); }
Bytes aes_ecb_decrypt(const Key& key, const Bytes& data) { return ecb(false, key, data); }

Block aes_encrypt_block(const Key& key, const Block& block) {
    return to_block(aes_ecb_encrypt(key, Bytes(block.begin(), block.end())));
}

Block aes_decrypt_block(const Key& key, const Block& block) {
    return to_block(aes_ecb_decrypt(key, Bytes(block.begin(), block.end())));
}

Block aes_cmac(const Key& key, const Bytes& data) {
    MacCtxPtr ctx(EVP_MAC_CTX_new(const_cast<EVP_MAC*>(fetched_cmac())));
    char cipher_name[] = "AES-128-CBC";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
        OSSL_PARAM_construct_end(),
    };
    Block mac{};
    std::size_t mac_size = 0;
    if (!ctx || !EVP_MAC_init(ctx.get(), key.data(), key.size(), params) ||
        !EVP_MAC_update(ctx.get(), data.data(), data.size()) ||
        !EVP_MAC_final(ctx.get(), mac.data(), &mac_size, mac.size()) || mac_size != mac.size())
        throw std::runtime_error("AES-CMAC failed");
    return mac;
}

Bytes aes_key_wrap(const Key& kek, const Key& key) {
    auto wrapped = run_cipher(wrap_cipher(), true, kek, key.data(), key.size());
    if (!wrapped) throw std::runtime_error("key wrap failed");
    return *wrapped;
}

std::optional<Key> aes_key_unwrap(const Key& kek, const Bytes& wrapped) {
    if (wrapped.size() != 24) return std::nullopt;
    const auto key = run_cipher(wrap_cipher(), false, kek, wrapped.data(), wrapped.size());
    if (!key || key->size() != 16) return std::nullopt;
    Key unwrapped{};
    std::copy(key->begin(), key->end(), unwrapped.begin());
    return unwrapped;
}

}  // namespace dance::peers
