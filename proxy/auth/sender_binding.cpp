#include "proxy/auth/sender_binding.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "base/dns_name.hpp"
#include "base/hex_id.hpp"
#include "proxy/lorawan/lorawan_message.hpp"

namespace dance::proxy {

std::string normalize_sender_id(std::string_view sender_id) {
    return dance::lower_case(dance::without_hex_prefix(sender_id));
}

SenderBinding::SenderBinding(std::map<std::string, std::vector<std::string>> sender_ids)
    : sender_ids_(std::move(sender_ids)) {}

bool SenderBinding::allows(std::string_view identity, std::string_view sender_id) const {
    if (identity.empty() || sender_id.empty()) return false;
    const std::string wanted = normalize_sender_id(sender_id);
    return std::any_of(sender_ids_.begin(), sender_ids_.end(), [&](const auto& entry) {
        const auto& [pattern, ids] = entry;
        return dance::allow_entry_matches(pattern, identity) && std::find(ids.begin(), ids.end(), wanted) != ids.end();
    });
}

SenderVerdict SenderBinding::check(std::string_view identity, std::string_view request_body) const {
    if (!enabled()) return {true, "", ""};
    std::optional<BackendMessage> message = parse_backend_message_strictly(request_body);
    if (!message) return {false, "", ""};
    bool allowed = allows(identity, message->sender_id);
    return {allowed, std::move(message->message_type), std::move(message->sender_id)};
}

}  // namespace dance::proxy
