#include "proxy/lorawan/lorawan_message.hpp"

#include <simdjson.h>

namespace dance::proxy {
namespace {

namespace dom = simdjson::dom;

// simdjson validates the whole document and gives the strings in place (its own buffer, no copy per
// string, unlike nlohmann's lexer). It needs SIMDJSON_PADDING readable bytes after the document, so the
// body is copied into a buffer of the parser's. Each thread keeps one parser and buffer for bodies up to
// reusable_size (Backend Interfaces messages are a few hundred bytes): no allocation per body. A larger body
// gets a parser of its own, so one 1 MiB body does not leave megabytes of parser state in every worker.
constexpr size_t reusable_size = 64 * 1024;

struct PaddingParser {
    dom::parser parser;
    std::string padded;

    simdjson::simdjson_result<dom::element> parse(std::string_view body) {
        padded.assign(body);
        padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
        return parser.parse(padded.data(), body.size(), false);
    }
};

struct HeaderField {
    std::string_view name;
    std::string BackendMessage::*slot;
};

constexpr HeaderField header_fields[] = {
    {"MessageType", &BackendMessage::message_type},
    {"SenderID", &BackendMessage::sender_id},
    {"ReceiverID", &BackendMessage::receiver_id},
    {"ProtocolVersion", &BackendMessage::protocol_version},
    {"ResultCode", &BackendMessage::result_code},  // the bare error answer of ChirpStack v3
};

bool is_ascii(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Strict reading: the backend must see the same header fields as we do. Go's encoding/json (ChirpStack v3)
// matches keys without regard to case, with Unicode folding (U+017F is an "s" to it), and keeps the last
// duplicate; serde (v4) refuses duplicates. So any non-ASCII key, or a header field named twice in any
// letter case, refuses the message.
class HeaderNameClaims {
public:
    bool claim(std::string_view key) {
        if (!is_ascii(key)) return false;
        for (size_t i = 0; i < std::size(header_fields); ++i) {
            if (!equals_ignoring_case(key, header_fields[i].name)) continue;
            if (claimed_ & (1u << i)) return false;
            claimed_ |= 1u << i;
        }
        return true;
    }

private:
    unsigned claimed_ = 0;
};

void read_result_code(dom::element result, BackendMessage& message) {
    dom::object object;
    if (result.get(object)) return;
    std::string_view code;
    for (dom::key_value_pair member : object) {
        if (member.key == "ResultCode" && member.value.get(code) == simdjson::SUCCESS) message.result_code = code;
    }
}

void read_member(std::string_view key, dom::element value, BackendMessage& message) {
    if (key == "TransactionID") {
        uint64_t id = 0;
        // Only a plain non-negative integer: negative, fractional and string forms are ignored, not misread.
        if (value.is_uint64() && value.get(id) == simdjson::SUCCESS) message.transaction_id = id;
        return;
    }
    if (key == "Result") return read_result_code(value, message);
    std::string_view text;
    for (const HeaderField& field : header_fields) {
        if (key == field.name && value.get(text) == simdjson::SUCCESS) message.*field.slot = text;
    }
}

std::optional<BackendMessage> read_message(PaddingParser& parser, std::string_view body, bool strict) {
    dom::object object;
    if (parser.parse(body).get(object)) return std::nullopt;  // not JSON, or not an object
    BackendMessage message;
    HeaderNameClaims claims;
    for (dom::key_value_pair member : object) {
        if (strict && !claims.claim(member.key)) return std::nullopt;
        read_member(member.key, member.value, message);
    }
    return message;
}

// A UTF-8 byte order mark before the document: RFC 8259 forbids sending one. simdjson 3.0 (Debian 12) refuses
// it, 3.12 (Debian 13) skips it; refused here so the answer does not depend on the library's version.
constexpr std::string_view utf8_bom = "\xef\xbb\xbf";

std::optional<BackendMessage> read_message(std::string_view body, bool strict) noexcept {
    if (body.starts_with(utf8_bom)) return std::nullopt;
    try {
        if (body.size() > reusable_size) {
            PaddingParser own;
            return read_message(own, body, strict);
        }
        thread_local PaddingParser reused;
        return read_message(reused, body, strict);
    } catch (...) {  // allocation failure: the message is just not counted (or, strictly, refused)
        return std::nullopt;
    }
}

}  // namespace

std::optional<BackendMessage> parse_backend_message(std::string_view body) noexcept {
    return read_message(body, false);
}

std::optional<BackendMessage> parse_backend_message_strictly(std::string_view body) noexcept {
    return read_message(body, true);
}

}  // namespace dance::proxy
