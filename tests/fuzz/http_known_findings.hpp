// Helpers of the HTTP harnesses, and their known findings (README.md, "Findings"): inputs that show one skip
// the invariant they break, so that fuzzing goes on past them; DANCE_FUZZ_HTTP_STRICT=1 checks them like any
// other input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http/http_message.hpp"
#include "proxy/http/http_parser_core.hpp"

namespace dance::fuzz {

// Whether two parses of the same bytes, one given them whole and one in pieces, ended in compatible errors.
// Both must fail or both succeed; the kind may differ where a limit and a syntax error are both in the
// input: which one is seen first depends on where http-parser's callbacks end, i.e. on the pieces.
inline bool compatible_errors(proxy::HttpParseError a, proxy::HttpParseError b) {
    using proxy::HttpParseError;
    if (a == b) return true;
    if (a == HttpParseError::none || b == HttpParseError::none) return false;
    auto is_limit = [](HttpParseError e) {
        return e == HttpParseError::headers_too_large || e == HttpParseError::body_too_large;
    };
    return is_limit(a) || is_limit(b);
}

inline bool env_flag(const char* name) {
    const char* value = std::getenv(name);
    return value && *value && std::string(value) != "0";
}

inline bool http_strict() {
    static const bool strict = env_flag("DANCE_FUZZ_HTTP_STRICT");
    return strict;
}

inline void report_known_finding_once(bool& reported, const char* harness, const char* what) {
    if (reported) return;
    reported = true;
    std::fprintf(stderr, "%s: known finding: %s; set DANCE_FUZZ_HTTP_STRICT=1 to stop on it\n", harness, what);
}

}  // namespace dance::fuzz
