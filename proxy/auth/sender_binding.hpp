// Which LoRaWAN SenderIDs each authenticated DANE identity may claim on an inbound listener
// (client_auth.sender_ids). Behind the sidecar the backend sees plain HTTP and cannot compare the
// client's certificate with the message's SenderID, as ChirpStack's roaming API does: we do it here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dance::proxy {

struct SenderVerdict {
    bool allowed = false;
    std::string message_type;  // from the body, "" when absent or not a Backend Interfaces message
    std::string sender_id;     // as written in the body (for the log), "" when absent
};

class SenderBinding {
public:
    SenderBinding() = default;  // no binding: every request passes
    // Keys are allow-list entries (exact or "*.zone"), values lower-case hex SenderIDs without 0x,
    // as the config loader stores them.
    explicit SenderBinding(std::map<std::string, std::vector<std::string>> sender_ids);

    bool enabled() const { return !sender_ids_.empty(); }

    // True when some entry matching `identity` lists `sender_id` (any case, optional 0x).
    // An empty identity (unauthenticated client) matches nothing.
    bool allows(std::string_view identity, std::string_view sender_id) const;

    // The decision for one request body. With no binding everything passes; with one, a body that is not
    // a Backend Interfaces message, or has no SenderID, is refused (fail closed).
    SenderVerdict check(std::string_view identity, std::string_view request_body) const;

private:
    std::map<std::string, std::vector<std::string>> sender_ids_;
};

// "0x0102AB" -> "0102ab": the form SenderIDs are compared in.
std::string normalize_sender_id(std::string_view sender_id);

}  // namespace dance::proxy
