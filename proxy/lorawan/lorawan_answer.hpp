// Well-formed LoRaWAN Backend Interfaces error answers, for requests the proxy cannot deliver.
#pragma once

#include <string>
#include <string_view>

namespace dance::proxy {

// TS002 1.0 Table 24 spells the code "UnkownReceiver"; it is what ChirpStack v3 sends and v4 accepts.
inline constexpr std::string_view unknown_receiver_result_code = "UnkownReceiver";

// The ResultCode answering a route that failed with `route_result` (dance_route_lookups_total's result): a
// receiver the federation proves absent is UnkownReceiver, everything else Other.
inline std::string_view route_failure_result_code(std::string_view route_result) {
    return route_result == "unknown_receiver" ? unknown_receiver_result_code : std::string_view("Other");
}

// The answer a Backend Interfaces peer expects for request_body: MessageType "<X>Req" -> "<X>Ans"
// (JoinReq->JoinAns, PRStartReq->PRStartAns, ...), ProtocolVersion echoed (default "1.0"), SenderID and
// ReceiverID swapped, TransactionID echoed, Result {"ResultCode":"Other","Description":description}.
// A body that is not a JSON object with a "...Req" MessageType gets the bare form
// {"ResultCode":"Other","Description":description}, as ChirpStack v3's join server answers bad JSON.
// Never throws; the request's other fields (key material) are never copied.
// `result_code` replaces "Other" where a more precise TS002 code applies (e.g. "UnknownSender").
std::string error_answer_body(std::string_view request_body, std::string_view description,
                              std::string_view result_code = "Other");

// "JoinReq" -> "JoinAns"; "" when message_type is not a request type.
std::string answer_type_for(std::string_view message_type);

}  // namespace dance::proxy
