// Owner names as the dane_clientid extension and the allow-list carry them.
#pragma once

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

}  // namespace dance
