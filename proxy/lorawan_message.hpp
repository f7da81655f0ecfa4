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
// `wanted` lets the relay stop reading once it has what it needs: the hot path wants only MessageType from
// requests and ResultCode from answers, which come before the long PHYPayload and key fields.
enum BackendField : unsigned {
    field_message_type = 1u << 0,
    field_sender_id = 1u << 1,
    field_receiver_id = 1u << 2,
    field_result_code = 1u << 3,
    field_transaction_id = 1u << 4,
    field_protocol_version = 1u << 5,
    all_backend_fields = (1u << 6) - 1,
};
std::optional<BackendMessage> parse_backend_message(std::string_view body,
                                                    unsigned wanted = all_backend_fields) noexcept;
// The same with nlohmann's SAX reader only, without the allocation-free fast path for plain JSON (for tests).
std::optional<BackendMessage> parse_backend_message_sax(std::string_view body,
                                                        unsigned wanted = all_backend_fields) noexcept;

}  // namespace dance::proxy
