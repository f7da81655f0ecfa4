#include "proxy/lorawan/receiver_route.hpp"

#include <array>
#include <utility>

#include "base/dns_name.hpp"
#include "base/hex_id.hpp"

namespace dance::proxy {
namespace {

constexpr size_t join_eui_digits = 16;
constexpr size_t net_id_digits = 6;

// TS002 1.0 Table 12, both columns; the answers are listed for the asynchronous mode, where each answer is a
// request of its own to the original sender.
constexpr std::array<std::pair<std::string_view, ReceiverKind>, 20> message_kinds{{
    {"JoinReq", ReceiverKind::join_eui},       // NS -> JS
    {"RejoinReq", ReceiverKind::join_eui},     // NS -> JS
    {"AppSKeyReq", ReceiverKind::join_eui},    // AS -> JS
    {"HomeNSReq", ReceiverKind::join_eui},     // NS -> JS
    {"JoinAns", ReceiverKind::net_id},         // JS -> NS
    {"RejoinAns", ReceiverKind::net_id},       // JS -> NS
    {"AppSKeyAns", ReceiverKind::as_id},       // JS -> AS
    {"HomeNSAns", ReceiverKind::net_id},       // JS -> NS
    {"PRStartReq", ReceiverKind::net_id},      // fNS -> sNS/hNS
    {"PRStartAns", ReceiverKind::net_id},
    {"PRStopReq", ReceiverKind::net_id},       // sNS -> fNS
    {"PRStopAns", ReceiverKind::net_id},
    {"HRStartReq", ReceiverKind::net_id},      // sNS -> hNS
    {"HRStartAns", ReceiverKind::net_id},
    {"HRStopReq", ReceiverKind::net_id},       // hNS -> sNS
    {"HRStopAns", ReceiverKind::net_id},
    {"ProfileReq", ReceiverKind::net_id},      // sNS -> hNS
    {"ProfileAns", ReceiverKind::net_id},
    {"XmitDataReq", ReceiverKind::net_id},     // NS <-> NS
    {"XmitDataAns", ReceiverKind::net_id},
}};

}  // namespace

std::string_view to_string(ReceiverKind kind) {
    switch (kind) {
        case ReceiverKind::join_eui: return "join_eui";
        case ReceiverKind::net_id: return "net_id";
        case ReceiverKind::as_id: return "as_id";
        case ReceiverKind::unknown: break;
    }
    return "unknown";
}

ReceiverKind receiver_kind_for(std::string_view message_type) {
    for (const auto& [type, kind] : message_kinds) {
        if (type == message_type) return kind;
    }
    return ReceiverKind::unknown;
}

std::optional<std::string> normalize_receiver_id(ReceiverKind kind, std::string_view receiver_id, std::string& why) {
    size_t digits = 0;
    std::string_view what;
    switch (kind) {
        case ReceiverKind::join_eui:
            digits = join_eui_digits;
            what = "a JoinEUI";
            break;
        case ReceiverKind::net_id:
            digits = net_id_digits;
            what = "a NetID";
            break;
        case ReceiverKind::as_id: why = "an AS-ID has no DNS name"; return std::nullopt;
        case ReceiverKind::unknown: why = "not a Backend Interfaces message type"; return std::nullopt;
    }
    std::string_view hex = without_hex_prefix(receiver_id);
    if (hex.size() != digits) {
        why = "ReceiverID is " + std::string(what) + ": " + std::to_string(digits) + " hex digits expected, got " +
              std::to_string(receiver_id.size()) + " characters";
        return std::nullopt;
    }
    if (!all_hex_digits(hex)) {
        why = "ReceiverID is " + std::string(what) + ": not hexadecimal";
        return std::nullopt;
    }
    return lower_case(hex);
}

std::string join_eui_dns_name(std::string_view join_eui, std::string_view suffix) {
    std::string name;
    name.reserve(join_eui.size() * 2 + suffix.size());
    for (auto nibble = join_eui.rbegin(); nibble != join_eui.rend(); ++nibble) {
        name.push_back(*nibble);
        name.push_back('.');
    }
    name += suffix;
    return name;
}

std::string net_id_dns_name(std::string_view net_id, std::string_view suffix) {
    std::string name(net_id);
    name.push_back('.');
    name += suffix;
    return name;
}

std::optional<std::string> receiver_dns_name(ReceiverKind kind, std::string_view receiver_id,
                                             std::string_view join_eui_suffix, std::string_view net_id_suffix,
                                             std::string& why) {
    auto id = normalize_receiver_id(kind, receiver_id, why);
    if (!id) return std::nullopt;
    std::string_view suffix = kind == ReceiverKind::join_eui ? join_eui_suffix : net_id_suffix;
    if (suffix.empty()) {
        why = std::string("no federation suffix for ") + (kind == ReceiverKind::join_eui ? "JoinEUIs" : "NetIDs");
        return std::nullopt;
    }
    return kind == ReceiverKind::join_eui ? join_eui_dns_name(*id, suffix) : net_id_dns_name(*id, suffix);
}

}  // namespace dance::proxy
