// LoRaWAN Backend Interfaces bodies from a peer (a request to relay, an answer from upstream): the header
// fields the proxy reads with parse_backend_message, and the error answer it builds for a request it cannot
// deliver (error_answer_body).
//
// Input: byte 0 picks the ResultCode (low 4 bits) and the client identity for the SenderID binding (bit 4),
// byte 1 is the length of the Description that follows, the rest is the request body.
//
// Invariants (the contract in proxy/lorawan/lorawan_answer.hpp and lorawan_message.hpp):
//  - the answer is always valid JSON (nlohmann::json::parse) and a JSON object;
//  - for a body that is a JSON object with MessageType "<X>Req": exactly ProtocolVersion (echoed, "1.0" when
//    absent), SenderID = the request's ReceiverID, ReceiverID = the request's SenderID, TransactionID echoed
//    when the request had a non-negative integer one, MessageType "<X>Ans", and
//    Result = {ResultCode: as given, Description: as given}; nothing else of the request is copied;
//  - for any other body: exactly {ResultCode, Description};
//  - parse_backend_message reads the answer back with those values;
//  - parse_backend_message_strictly only ever refuses more: when it accepts, it reads what the lenient one reads;
//  - when the strict reading accepts a body, nlohmann reads it as an object with the same header fields, and
//    a SenderID binding that lets it through saw the one SenderID a case-insensitive JSON backend would read.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "proxy/auth/sender_binding.hpp"
#include "proxy/lorawan/lorawan_answer.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

using dance::fuzz::escaped;
using dance::proxy::BackendMessage;
using json = nlohmann::json;

namespace {

constexpr std::string_view result_codes[] = {
    "Other", "Success", "MICFailed", "JoinReqFailed", "NoRoamingAgreement", "UnknownDevEUI", "UnknownDevAddr",
    "UnknownSender", "UnknownReceiver", "Deferred", "XmitFailed", "InvalidProtocolVersion", "MalformedRequest",
    "FrameSizeError", "", "Other\"\\\n\u00e9"};

bool valid_utf8(std::string_view text) {
    // Round trip through nlohmann's strict serializer: it throws on ill-formed UTF-8.
    try {
        (void)json(std::string(text)).dump();
        return true;
    } catch (const json::exception&) {
        return false;
    }
}

std::string describe(const BackendMessage& m) {
    return "MessageType=" + escaped(m.message_type) + " SenderID=" + escaped(m.sender_id) + " ReceiverID=" +
           escaped(m.receiver_id) + " ResultCode=" + escaped(m.result_code) + " ProtocolVersion=" +
           escaped(m.protocol_version) + " TransactionID=" +
           (m.transaction_id ? std::to_string(*m.transaction_id) : std::string("none"));
}

bool same_message(const BackendMessage& a, const BackendMessage& b) {
    return a.message_type == b.message_type && a.sender_id == b.sender_id && a.receiver_id == b.receiver_id &&
           a.result_code == b.result_code && a.transaction_id == b.transaction_id &&
           a.protocol_version == b.protocol_version;
}

std::string expected_answer_type(std::string_view message_type) {
    if (message_type.size() <= 3 || message_type.substr(message_type.size() - 3) != "Req") return "";
    return std::string(message_type.substr(0, message_type.size() - 3)) + "Ans";
}

// What nlohmann reads as a string field of an object: the last member of that name wins.
std::optional<std::string> nlohmann_string(const json& object, const char* key) {
    auto found = object.find(key);
    if (found == object.end() || !found->is_string()) return std::nullopt;
    return found->get<std::string>();
}

// The strict reading (the one decisions are made on) sees the header fields a JSON backend sees. It refuses
// duplicates of them in any letter case, so "the last duplicate wins" does not matter here.
void check_same_reading(const BackendMessage& ours, std::string_view body) {
    json theirs = json::parse(body.begin(), body.end(), nullptr, false);
    auto context = [&] { return "\n  ours: " + describe(ours) + "\n  body: " + escaped(body); };
    // simdjson accepted the body as an object; so must every conforming JSON parser.
    FUZZ_CHECK(!theirs.is_discarded() && theirs.is_object(), "nlohmann does not read an object" + context());
    const std::pair<const char*, const std::string*> fields[] = {{"MessageType", &ours.message_type},
                                                                 {"SenderID", &ours.sender_id},
                                                                 {"ReceiverID", &ours.receiver_id},
                                                                 {"ProtocolVersion", &ours.protocol_version}};
    for (const auto& [key, value] : fields) {
        std::string expected = nlohmann_string(theirs, key).value_or("");
        FUZZ_CHECK(*value == expected, std::string(key) + ": nlohmann reads " + escaped(expected) + context());
    }
}

bool ascii_iequals(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// The SenderID binding of an inbound listener (proxy/auth/sender_binding.hpp) decides on the same bodies:
// when it lets a request through, the body has exactly one member a case-insensitive JSON reader (Go's
// encoding/json behind ChirpStack v3) takes for SenderID, spelled exactly so, holding an allowed SenderID.
void check_sender_binding(std::string_view body, bool second_identity) {
    static const dance::proxy::SenderBinding binding({{"_ns-client.ns.operator-a.example", {"010203"}},
                                                      {"*.operator-b.example", {"00000b", "abcdef"}}});
    std::string_view identity =
        second_identity ? "_ns-client.ns.Operator-B.example" : "_ns-client.ns.operator-a.example";
    dance::proxy::SenderVerdict verdict = binding.check(identity, body);
    if (!verdict.allowed) return;
    auto context = [&] { return "\n  SenderID " + escaped(verdict.sender_id) + " allowed for " + escaped(identity) +
                                "\n  body: " + escaped(body); };
    json theirs = json::parse(body.begin(), body.end(), nullptr, false);
    FUZZ_CHECK(!theirs.is_discarded() && theirs.is_object(), "allowed, but not a JSON object to nlohmann" + context());
    std::string normalized = dance::proxy::normalize_sender_id(verdict.sender_id);
    bool listed = second_identity ? (normalized == "00000b" || normalized == "abcdef") : normalized == "010203";
    FUZZ_CHECK(listed, "allowed SenderID not in the binding" + context());
    // nlohmann keeps one member per exact key; count the spellings Go would fold together.
    int spellings = 0;
    for (const auto& [key, value] : theirs.items()) {
        if (!ascii_iequals(key, "SenderID")) continue;
        ++spellings;
        FUZZ_CHECK(key == "SenderID" && value.is_string() && value.get<std::string>() == verdict.sender_id,
                   "SenderID member " + escaped(key) + context());
    }
    FUZZ_CHECK(spellings == 1, std::to_string(spellings) + " SenderID spellings" + context());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    std::string_view result_code = result_codes[data[0] % std::size(result_codes)];
    size_t description_length = std::min<size_t>(data[1], size - 2);
    std::string_view description(reinterpret_cast<const char*>(data + 2), description_length);
    std::string_view body(reinterpret_cast<const char*>(data + 2 + description_length), size - 2 - description_length);

    std::optional<BackendMessage> request = dance::proxy::parse_backend_message(body);
    std::optional<BackendMessage> strict = dance::proxy::parse_backend_message_strictly(body);
    if (strict) {
        FUZZ_CHECK(request && same_message(*request, *strict),
                   "strict reading " + describe(*strict) + " but lenient " +
                       (request ? describe(*request) : std::string("refused")) + " for " + escaped(body));
    }
    if (strict) check_same_reading(*strict, body);
    check_sender_binding(body, (data[0] / std::size(result_codes)) % 2 == 1);

    std::string answer_text = dance::proxy::error_answer_body(body, description, result_code);
    auto context = [&] {
        return "\n  answer: " + escaped(answer_text, 2000) + "\n  request: " +
               (request ? describe(*request) : std::string("not an object")) + "\n  body: " + escaped(body) +
               "\n  description: " + escaped(description) + "\n  code: " + escaped(result_code);
    };
    json answer = json::parse(answer_text, nullptr, false);
    FUZZ_CHECK(!answer.is_discarded(), "the answer is not JSON" + context());
    FUZZ_CHECK(answer.is_object(), "the answer is not a JSON object" + context());

    std::string answer_type = request ? expected_answer_type(request->message_type) : "";
    FUZZ_CHECK(answer_type == dance::proxy::answer_type_for(request ? request->message_type : ""), context());
    bool description_exact = valid_utf8(description);

    const json* result = &answer;  // where ResultCode and Description are
    if (answer_type.empty()) {
        FUZZ_CHECK(answer.size() == 2, "bare answer with other members" + context());
    } else {
        bool has_transaction_id = request->transaction_id.has_value();
        FUZZ_CHECK(answer.size() == (has_transaction_id ? 6u : 5u), "members of the answer" + context());
        std::string protocol_version = request->protocol_version.empty() ? "1.0" : request->protocol_version;
        FUZZ_CHECK(answer.value("ProtocolVersion", json()) == protocol_version, "ProtocolVersion" + context());
        FUZZ_CHECK(answer.value("SenderID", json()) == request->receiver_id, "SenderID" + context());
        FUZZ_CHECK(answer.value("ReceiverID", json()) == request->sender_id, "ReceiverID" + context());
        FUZZ_CHECK(answer.value("MessageType", json()) == answer_type, "MessageType" + context());
        if (has_transaction_id) {
            const json& id = answer["TransactionID"];
            FUZZ_CHECK(id.is_number_unsigned() && id.get<uint64_t>() == *request->transaction_id,
                       "TransactionID" + context());
        }
        FUZZ_CHECK(answer.contains("Result") && answer["Result"].is_object() && answer["Result"].size() == 2,
                   "Result" + context());
        result = &answer["Result"];
    }
    FUZZ_CHECK(result->value("ResultCode", json()) == result_code, "ResultCode" + context());
    const json description_member = result->value("Description", json());
    FUZZ_CHECK(description_member.is_string(), "Description" + context());
    if (description_exact) FUZZ_CHECK(description_member == description, "Description" + context());

    // The proxy reads its own answer as it reads an upstream's.
    std::optional<BackendMessage> reread = dance::proxy::parse_backend_message(answer_text);
    FUZZ_CHECK(reread.has_value(), "parse_backend_message refuses the answer" + context());
    FUZZ_CHECK(reread->message_type == answer_type && reread->result_code == result_code,
               "read back: " + describe(*reread) + context());
    if (!answer_type.empty()) {
        FUZZ_CHECK(reread->sender_id == request->receiver_id && reread->receiver_id == request->sender_id &&
                       reread->transaction_id == request->transaction_id,
                   "read back: " + describe(*reread) + context());
    }
    return 0;
}
