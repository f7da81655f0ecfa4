// Byte strings and the lowercase hex form the Backend Interfaces use for them.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dance::peers {

using Bytes = std::vector<uint8_t>;
using Key = std::array<uint8_t, 16>;
using Eui = std::array<uint8_t, 8>;  // DevEUI / JoinEUI as written (most significant byte first)

std::string to_hex(const uint8_t* data, std::size_t size);
template <typename Container>
std::string to_hex(const Container& bytes) {
    return to_hex(bytes.data(), bytes.size());
}

// Accepts upper or lower case and an optional "0x" prefix, as ChirpStack's readers do.
std::optional<Bytes> from_hex(std::string_view hex);

template <std::size_t N>
std::optional<std::array<uint8_t, N>> fixed_from_hex(std::string_view hex) {
    const auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != N) return std::nullopt;
    std::array<uint8_t, N> fixed{};
    std::copy(bytes->begin(), bytes->end(), fixed.begin());
    return fixed;
}

}  // namespace dance::peers
