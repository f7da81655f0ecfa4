// Structured logging: one line per event, JSON (default) or human-readable text, to stderr.
//
//   log::event(log::Level::warn, "handshake_failed",
//              {{"listener", name}, {"client", peer}, {"client_id", id}, {"reason", "not_allowed"}});
//
// Field values are strings (copied into the line, never retained), integers, doubles or bools. Every
// string is escaped (peer-controlled names and paths cannot forge lines or break the JSON). A field named
// "body" is always dropped: message bodies carry session keys and must never reach a log.
// Thread-safe; a disabled level costs one relaxed atomic load.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"
#include "proxy/observe/direction.hpp"

namespace dance::proxy::log {

using Level = config::LogLevel;
using Format = config::LogFormat;

std::string_view to_string(Level level);

class Field {
public:
    using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;

    Field(std::string_view key, std::string_view value) : key_(key), value_(value) {}
    Field(std::string_view key, const char* value) : key_(key), value_(std::string_view(value ? value : "")) {}
    Field(std::string_view key, const std::string& value) : key_(key), value_(std::string_view(value)) {}
    Field(std::string_view key, bool value) : key_(key), value_(value) {}
    Field(std::string_view key, int value) : key_(key), value_(int64_t{value}) {}
    Field(std::string_view key, long value) : key_(key), value_(int64_t{value}) {}
    Field(std::string_view key, long long value) : key_(key), value_(int64_t{value}) {}
    Field(std::string_view key, unsigned value) : key_(key), value_(uint64_t{value}) {}
    Field(std::string_view key, unsigned long value) : key_(key), value_(uint64_t{value}) {}
    Field(std::string_view key, unsigned long long value) : key_(key), value_(uint64_t{value}) {}
    Field(std::string_view key, double value) : key_(key), value_(value) {}

    std::string_view key() const { return key_; }
    const Value& value() const { return value_; }

private:
    std::string_view key_;
    Value value_;
};

using Fields = std::initializer_list<Field>;

// Receives each finished line, including its trailing '\n'. Called under the logger's lock.
using Sink = std::function<void(std::string_view line)>;

void configure(const config::LogConfig& config);
void set_level(Level level);
void set_format(Format format);
void set_sink(Sink sink);  // an empty Sink restores the default: write(2) to stderr
Format current_format();

namespace detail {
extern std::atomic<int> minimum_level;
}

inline bool enabled(Level level) {
    return static_cast<int>(level) >= detail::minimum_level.load(std::memory_order_relaxed);
}

void write_event(Level level, std::string_view event, Fields fields);

inline void event(Level level, std::string_view name, Fields fields = {}) {
    if (enabled(level)) write_event(level, name, fields);
}
inline void debug(std::string_view name, Fields fields = {}) { event(Level::debug, name, fields); }
inline void info(std::string_view name, Fields fields = {}) { event(Level::info, name, fields); }
inline void warn(std::string_view name, Fields fields = {}) { event(Level::warn, name, fields); }
inline void error(std::string_view name, Fields fields = {}) { event(Level::error, name, fields); }

// One line per proxied request, event "access", level info. No body, ever.
struct AccessEntry {
    std::string_view listener;
    Direction direction = Direction::inbound;
    std::string_view client;    // peer address "ip:port"
    std::string_view identity;  // authenticated DANE ClientName (inbound) or our own (outbound); "" = none
    std::string_view method;
    std::string_view path;
    int status = 0;  // HTTP status sent, 0 = none
    std::string_view message_type;
    std::string_view result_code;
    double duration_ms = 0;
};
void access(const AccessEntry& entry);
void access(std::string_view listener, Direction direction, std::string_view identity, std::string_view method,
            std::string_view path, int status, std::string_view message_type, std::string_view result_code,
            double duration_ms);

// Formatting, exposed for tests and for other line-oriented outputs.
std::string format_line(Format format, Level level, std::string_view event, Fields fields);
void append_json_string(std::string& out, std::string_view text);  // with quotes; invalid UTF-8 -> U+FFFD
std::string rfc3339_utc_now();                                     // "2026-11-25T16:12:06.123Z"

}  // namespace dance::proxy::log
