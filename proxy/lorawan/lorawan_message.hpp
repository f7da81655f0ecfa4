// The LoRaWAN Backend Interfaces (TS002) header fields of a request or answer body, for metrics and logs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dance::proxy {

struct BackendMessage {
    std::string message_type;  // "JoinReq", "JoinAns", ...; empty when the body has none
    std::string sender_id;
    std::string receiver_id;
    std::string result_code;  // Result.ResultCode, or a bare top-level ResultCode; empty on requests
    std::optional<uint64_t> transaction_id;
    std::string protocol_version;
};

// Reads the top-level fields above (and Result.ResultCode) with simdjson, which validates the whole body and
// hands out strings in place: key material in the body is never copied. Returns nullopt when the body is not
// a valid JSON object. A field named twice counts once, the last one. Never throws, never logs.
std::optional<BackendMessage> parse_backend_message(std::string_view body) noexcept;

// For decisions (the SenderID binding): the backend must read the same header fields as we do. Also refuses
// (nullopt) a body with a non-ASCII top-level key or a header field named twice in any letter case (Go's
// encoding/json, behind ChirpStack v3, matches keys without regard to case and keeps the last duplicate).
std::optional<BackendMessage> parse_backend_message_strictly(std::string_view body) noexcept;

}  // namespace dance::proxy
