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

// Reads only the top-level fields above (and Result.ResultCode) without building a document, so key
// material in the body is never copied. Returns nullopt when the body is not a JSON object.
// Never throws, never logs.
std::optional<BackendMessage> parse_backend_message(std::string_view body) noexcept;

}  // namespace dance::proxy
