#include "proxy/observe/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <ctime>
#include <mutex>

namespace dance::proxy::log {

namespace detail {
std::atomic<int> minimum_level{static_cast<int>(Level::info)};
}

namespace {

std::atomic<int> configured_format{static_cast<int>(Format::json)};

std::mutex& sink_mutex() {
    static std::mutex mutex;
    return mutex;
}

Sink& current_sink() {
    static Sink sink;
    return sink;
}

void write_to_stderr(std::string_view line) {
    while (!line.empty()) {
        ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;  // nowhere to report a failing stderr
        line.remove_prefix(static_cast<std::size_t>(written));
    }
}

// Length of the valid UTF-8 sequence starting at text[0], or 0 if it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
    unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (!continuation(1) || !continuation(2)) return 0;
        if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
        if (lead == 0xED && byte(1) >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
        if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
        if (lead == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

void append_hex_escape(std::string& out, unsigned char c) {
    static constexpr char digits[] = "0123456789abcdef";
    out += "\\u00";
    out += digits[c >> 4];
    out += digits[c & 0xF];
}

bool needs_quotes_in_text(std::string_view text) {
    if (text.empty()) return true;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == '"' || u == '=' || u == '\\' || u >= 0x7F) return true;
    }
    return false;
}

void append_number(std::string& out, const Field::Value& value) {
    char buffer[32];
    std::to_chars_result result{buffer, {}};
    if (auto* i = std::get_if<int64_t>(&value)) result = std::to_chars(buffer, buffer + sizeof buffer, *i);
    if (auto* u = std::get_if<uint64_t>(&value)) result = std::to_chars(buffer, buffer + sizeof buffer, *u);
    if (auto* d = std::get_if<double>(&value)) {
        if (!std::isfinite(*d)) {
            out += "null";
            return;
        }
        result = std::to_chars(buffer, buffer + sizeof buffer, *d);
    }
    out.append(buffer, result.ptr);
}

void append_json_value(std::string& out, const Field::Value& value) {
    if (auto* text = std::get_if<std::string_view>(&value)) {
        append_json_string(out, *text);
    } else if (auto* flag = std::get_if<bool>(&value)) {
        out += *flag ? "true" : "false";
    } else {
        append_number(out, value);
    }
}

// Text values: bare when safe, else JSON-style quoted and escaped (one event can never span two lines).
void append_text_value(std::string& out, const Field::Value& value) {
    if (auto* text = std::get_if<std::string_view>(&value)) {
        if (needs_quotes_in_text(*text)) {
            append_json_string(out, *text);
        } else {
            out += *text;
        }
    } else if (auto* flag = std::get_if<bool>(&value)) {
        out += *flag ? "true" : "false";
    } else {
        append_number(out, value);
    }
}

bool is_forbidden_key(std::string_view key) { return key == "body"; }

std::string format_json(Level level, std::string_view event, Fields fields) {
    std::string line;
    line.reserve(160);
    line += "{\"ts\":\"";
    line += rfc3339_utc_now();
    line += "\",\"level\":\"";
    line += to_string(level);
    line += "\",\"event\":";
    append_json_string(line, event);
    for (const auto& field : fields) {
        if (is_forbidden_key(field.key())) continue;
        line += ',';
        append_json_string(line, field.key());
        line += ':';
        append_json_value(line, field.value());
    }
    line += "}\n";
    return line;
}

std::string format_text(Level level, std::string_view event, Fields fields) {
    std::string line;
    line.reserve(160);
    line += rfc3339_utc_now();
    line += ' ';
    line += to_string(level);
    line += ' ';
    append_text_value(line, event);
    for (const auto& field : fields) {
        if (is_forbidden_key(field.key())) continue;
        line += ' ';
        append_text_value(line, field.key());
        line += '=';
        append_text_value(line, field.value());
    }
    line += '\n';
    return line;
}

}  // namespace

std::string_view to_string(Level level) {
    switch (level) {
        case Level::debug: return "debug";
        case Level::info: return "info";
        case Level::warn: return "warn";
        case Level::error: return "error";
    }
    return "error";
}

void configure(const config::LogConfig& config) {
    set_level(config.level);
    set_format(config.format);
}

void set_level(Level level) { detail::minimum_level.store(static_cast<int>(level), std::memory_order_relaxed); }

void set_format(Format format) { configured_format.store(static_cast<int>(format), std::memory_order_relaxed); }

Format current_format() { return static_cast<Format>(configured_format.load(std::memory_order_relaxed)); }

void set_sink(Sink sink) {
    std::lock_guard lock(sink_mutex());
    current_sink() = std::move(sink);
}

void write_event(Level level, std::string_view event, Fields fields) {
    std::string line = format_line(current_format(), level, event, fields);
    std::lock_guard lock(sink_mutex());
    if (current_sink()) {
        current_sink()(line);
    } else {
        write_to_stderr(line);
    }
}

void access(const AccessEntry& entry) {
    if (!enabled(Level::info)) return;
    write_event(Level::info, "access",
                {{"listener", entry.listener},
                 {"direction", to_string(entry.direction)},
                 {"client", entry.client},
                 {"identity", entry.identity},
                 {"method", entry.method},
                 {"path", entry.path},
                 {"status", entry.status},
                 {"message_type", entry.message_type},
                 {"result_code", entry.result_code},
                 {"duration_ms", entry.duration_ms}});
}

void access(std::string_view listener, Direction direction, std::string_view identity, std::string_view method,
            std::string_view path, int status, std::string_view message_type, std::string_view result_code,
            double duration_ms) {
    access(AccessEntry{.listener = listener,
                       .direction = direction,
                       .client = {},
                       .identity = identity,
                       .method = method,
                       .path = path,
                       .status = status,
                       .message_type = message_type,
                       .result_code = result_code,
                       .duration_ms = duration_ms});
}

std::string format_line(Format format, Level level, std::string_view event, Fields fields) {
    return format == Format::text ? format_text(level, event, fields) : format_json(level, event, fields);
}

void append_json_string(std::string& out, std::string_view text) {
    auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; };
    out += '"';
    while (!text.empty()) {
        std::size_t run = 0;
        while (run < text.size() && plain(static_cast<unsigned char>(text[run]))) ++run;
        out.append(text.substr(0, run));
        text.remove_prefix(run);
        if (text.empty()) break;

        auto c = static_cast<unsigned char>(text[0]);
        std::size_t length = 1;
        if (c == '"') {
            out += "\\\"";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x80) {
            append_hex_escape(out, c);  // other control characters and DEL
        } else if ((length = utf8_sequence_length(text)) != 0) {
            out.append(text.substr(0, length));
        } else {
            out += "\\ufffd";
            length = 1;
        }
        text.remove_prefix(length);
    }
    out += '"';
}

std::string rfc3339_utc_now() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    // gmtime_r + strftime dominate a log line's cost: redo them once per second per thread.
    thread_local time_t cached_second = -1;
    thread_local char cached_prefix[32];
    thread_local std::size_t cached_length = 0;
    if (now.tv_sec != cached_second) {
        tm utc{};
        gmtime_r(&now.tv_sec, &utc);
        cached_length = std::strftime(cached_prefix, sizeof cached_prefix, "%Y-%m-%dT%H:%M:%S", &utc);
        cached_second = now.tv_sec;
    }
    int millis = static_cast<int>(now.tv_nsec / 1000000);
    std::string text(cached_prefix, cached_length);
    text += '.';
    text += static_cast<char>('0' + millis / 100);
    text += static_cast<char>('0' + millis / 10 % 10);
    text += static_cast<char>('0' + millis % 10);
    text += 'Z';
    return text;
}

}  // namespace dance::proxy::log
