// Owner names as the dane_clientid extension and the allow-list carry them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dance {

// Presentation-format name as draft-ietf-dance-client-auth wants it in ClientName: ASCII labels of
// letters, digits, hyphen and underscore, 1..63 octets each, at most 253 characters, no trailing dot,
// no "\DDD" escapes. Returns "" when valid, else why not.
std::string why_invalid_name(std::string_view name);

std::string lower_case(std::string_view name);

// Allow-list entry: an exact name, or "*.zone" = any name strictly below zone, at any depth.
// Both sides are compared case-insensitively. A pattern that is neither is never matched.
bool allow_entry_matches(std::string_view entry, std::string_view name);

// A federation suffix as an operator writes it: "joineuis.lora-alliance.org", with ChirpStack v3's leading dot
// (".joineuis.lora-alliance.org") or a trailing dot. Returns it lower-cased without either dot, or nullopt,
// with why set, when it is not a host name (letters, digits, hyphen, underscore; labels 1..63; at most 220
// characters, so that a JoinEUI's 32 characters of labels still fit in 253).
std::optional<std::string> normalize_federation_suffix(std::string_view suffix, std::string& why);

}  // namespace dance
