// Where a Backend Interfaces request is meant to go, from its own header fields: the kind of its ReceiverID
// (decided by MessageType) and the DNS name a federation derives from it (TS002 1.0 §19.1). Pure functions,
// no DNS: the discovery itself (NAPTR, SRV, CNAMEs, addresses, TLSA) is docs/federation.md's route resolver.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dance::proxy {

enum class ReceiverKind {
    join_eui,  // a Join Server: ReceiverID is a JoinEUI (EUI-64, 16 hex digits), found under joineuis.<federation>
    net_id,    // a Network Server: ReceiverID is a NetID (24 bits, 6 hex digits), found under netids.<federation>
    as_id,     // an Application Server: ReceiverID is an AS-ID (free ASCII); TS002 defines no DNS discovery for it
    unknown,   // not a TS002 1.0 message type
};

// "join_eui", "net_id", "as_id", "unknown": a fixed set, usable as a metric label.
std::string_view to_string(ReceiverKind kind);

// Whose ID the ReceiverID of `message_type` is (TS002 1.0 §22.1: the NetID, JoinEUI or AS-ID of the intended
// receiver). Requests to a Join Server (JoinReq, RejoinReq, AppSKeyReq, HomeNSReq) carry a JoinEUI; roaming
// requests between Network Servers (PRStart/PRStop/HRStart/HRStop/Profile/XmitDataReq) and every answer sent
// as its own request to a Network Server carry a NetID; AppSKeyAns goes to an Application Server. The match
// is exact and case-sensitive, as ChirpStack v4 deserializes MessageType.
ReceiverKind receiver_kind_for(std::string_view message_type);

// The ReceiverID as lower-case hex digits without "0x" (TS002 §22.3: hexadecimal, may start with 0x, either
// case), exactly 16 digits for a JoinEUI and 6 for a NetID. nullopt, with why set, for anything else,
// including the kinds that have no hex ID (as_id, unknown).
std::optional<std::string> normalize_receiver_id(ReceiverKind kind, std::string_view receiver_id, std::string& why);

// TS002 1.0 §19.1, JoinEUI: its 16 nibbles low-order first, one label each, then the suffix:
// 00-00-5E-10-00-00-00-2F -> f.2.0.0.0.0.0.0.0.1.e.5.0.0.0.0.<suffix>. Expects normalized input (see above).
std::string join_eui_dns_name(std::string_view join_eui, std::string_view suffix);

// TS002 1.0 §19.1, NetID: its 6 nibbles high-order first, in one label, then the suffix:
// 0x00050A -> 00050a.<suffix>. Expects normalized input (see above).
std::string net_id_dns_name(std::string_view net_id, std::string_view suffix);

// Both steps: the ReceiverID normalized for `kind`, then the name under the suffix for that kind (already
// normalized). nullopt, with why set, for an ID that is not valid for the kind, or a kind with no DNS name.
std::optional<std::string> receiver_dns_name(ReceiverKind kind, std::string_view receiver_id,
                                             std::string_view join_eui_suffix, std::string_view net_id_suffix,
                                             std::string& why);

}  // namespace dance::proxy
