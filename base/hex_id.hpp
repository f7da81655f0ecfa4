// LoRaWAN IDs as TS002 §22.3 writes them (NetID, JoinEUI, DevEUI, SenderID, ReceiverID): hexadecimal digits in
// either case, optionally after "0x". Shared by the config reader, the SenderID binding and route names.
#pragma once

#include <algorithm>
#include <string_view>

namespace dance {

inline std::string_view without_hex_prefix(std::string_view id) {
    return id.starts_with("0x") || id.starts_with("0X") ? id.substr(2) : id;
}

inline bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// At least one digit, nothing but hex digits.
inline bool all_hex_digits(std::string_view digits) {
    return !digits.empty() && std::all_of(digits.begin(), digits.end(), is_hex_digit);
}

}  // namespace dance
