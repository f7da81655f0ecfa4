// Invariant checks for the libFuzzer harnesses: a violated invariant prints what was expected and aborts,
// which libFuzzer reports as a crash and saves the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace dance::fuzz {

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* condition,
                                          const std::string& detail) {
    std::fprintf(stderr, "\n==== INVARIANT VIOLATED at %s:%d\n  %s\n", file, line, condition);
    if (!detail.empty()) std::fprintf(stderr, "  %s\n", detail.c_str());
    std::fflush(stderr);
    std::abort();
}

// Printable form of arbitrary bytes for failure messages: C escapes, cut after `limit` bytes.
inline std::string escaped(std::string_view bytes, size_t limit = 400) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (size_t i = 0; i < bytes.size() && i < limit; ++i) {
        auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (bytes.size() > limit) out += "...(" + std::to_string(bytes.size()) + " bytes)";
    return out + "\"";
}

}  // namespace dance::fuzz

// FUZZ_CHECK(condition, detail): `detail` is only evaluated on failure.
#define FUZZ_CHECK(condition, detail)                                                            \
    do {                                                                                         \
        if (!(condition)) ::dance::fuzz::invariant_failed(__FILE__, __LINE__, #condition, detail); \
    } while (0)
