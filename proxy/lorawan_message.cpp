#include "proxy/lorawan_message.hpp"

#include <nlohmann/json.hpp>

namespace dance::proxy {
namespace {

// SAX reader that keeps the few header fields at depth 1 (and ResultCode inside Result at depth 2) and
// skips every other value without storing it.
class HeaderFieldReader : public nlohmann::json_sax<nlohmann::json> {
public:
    HeaderFieldReader(BackendMessage& message, unsigned wanted) : message_(message), wanted_(wanted) {}

    bool null() override { return scalar_done(); }
    bool boolean(bool) override { return scalar_done(); }
    bool number_integer(number_integer_t value) override {
        if (value >= 0) take_transaction_id(static_cast<uint64_t>(value));
        return scalar_done() && !complete();
    }
    bool number_unsigned(number_unsigned_t value) override {
        take_transaction_id(value);
        return scalar_done() && !complete();
    }
    bool number_float(number_float_t, const string_t&) override { return scalar_done(); }
    bool binary(binary_t&) override { return scalar_done(); }

    bool string(string_t& value) override {
        if (std::string* field = string_field()) *field = value;
        return scalar_done() && !complete();
    }

    bool start_object(std::size_t) override {
        if (depth_ == 0) saw_top_object_ = true;
        if (depth_ == 1 && key_ == "Result") in_result_ = true;
        ++depth_;
        key_.clear();
        return true;
    }
    bool end_object() override { return leave_container(); }
    bool start_array(std::size_t) override {
        if (depth_ == 0) return false;  // a top-level array is not a Backend Interfaces message
        ++depth_;
        key_.clear();
        return true;
    }
    bool end_array() override { return leave_container(); }

    bool key(string_t& name) override {
        key_ = name;
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }

    bool saw_top_object() const { return saw_top_object_; }
    // Every wanted field was read: parsing stops early (sax_parse then returns false).
    bool complete() const { return (found_ & wanted_) == wanted_; }

private:
    std::string* found(unsigned field, std::string& slot) {
        found_ |= field;
        return &slot;
    }

    std::string* string_field() {
        if (depth_ == 2 && in_result_ && key_ == "ResultCode") return found(field_result_code, message_.result_code);
        if (depth_ != 1) return nullptr;
        if (key_ == "MessageType") return found(field_message_type, message_.message_type);
        if (key_ == "SenderID") return found(field_sender_id, message_.sender_id);
        if (key_ == "ReceiverID") return found(field_receiver_id, message_.receiver_id);
        if (key_ == "ProtocolVersion") return found(field_protocol_version, message_.protocol_version);
        if (key_ == "ResultCode") return found(field_result_code, message_.result_code);  // bare error answer
        return nullptr;
    }

    void take_transaction_id(uint64_t value) {
        if (depth_ == 1 && key_ == "TransactionID") {
            message_.transaction_id = value;
            found_ |= field_transaction_id;
        }
    }

    bool scalar_done() {
        key_.clear();
        return depth_ > 0;  // a bare scalar document is not a message
    }

    bool leave_container() {
        --depth_;
        if (depth_ == 1) in_result_ = false;
        key_.clear();
        return true;
    }

    BackendMessage& message_;
    unsigned wanted_;
    unsigned found_ = 0;
    std::string key_;
    int depth_ = 0;
    bool in_result_ = false;
    bool saw_top_object_ = false;
};

// The hot path reads two small messages per relayed request. nlohmann's lexer copies every string it meets
// (PHYPayload, keys) into a growing buffer: about eight allocations per body. This scanner handles plain
// JSON (strings of printable ASCII without escapes, depth <= 32) in place and gives up ("not sure") on
// anything else, where the SAX reader above takes over; for any body it accepts, it reports the same fields
// and stops at the same place as that reader (same callbacks, same early stop).
class PlainScanner {
public:
    PlainScanner(std::string_view body, BackendMessage& message, unsigned wanted)
        : body_(body), message_(message), wanted_(wanted) {}

    // true: `message` is the answer. false: not sure, use the full parser (`message` may be half filled).
    bool run() {
        if (complete()) return false;  // nothing wanted: the full reader stops at its first value
        skip_space();
        if (!take('{')) return false;
        if (!push('{')) return false;
        enum class Next { first_in_container, member, element, after_value } next = Next::first_in_container;
        for (;;) {
            skip_space();
            if (next == Next::after_value && depth_ == 0) return at_end();  // trailing bytes: the full parser decides
            if (at_end()) return false;
            std::string_view key;
            switch (next) {
                case Next::first_in_container:
                    if (body_[at_] == closer()) {
                        ++at_;
                        pop();
                        next = Next::after_value;
                    } else {
                        next = kinds_[depth_ - 1] == '{' ? Next::member : Next::element;
                    }
                    continue;
                case Next::member:
                    if (!string(key)) return false;
                    skip_space();
                    if (!take(':')) return false;
                    skip_space();
                    break;
                case Next::element:
                    break;
                case Next::after_value:
                    if (take(',')) {
                        next = kinds_[depth_ - 1] == '{' ? Next::member : Next::element;
                    } else if (take(closer())) {
                        pop();
                    } else {
                        return false;
                    }
                    continue;
            }
            // A value, member `key` (empty for an array element) of the innermost container.
            if (at_end()) return false;
            char c = body_[at_];
            if (c == '{' || c == '[') {
                if (c == '{' && depth_ == 1 && key == "Result") in_result_ = true;
                ++at_;
                if (!push(c)) return false;
                next = Next::first_in_container;
                continue;
            }
            next = Next::after_value;
            if (c == '"') {
                std::string_view value;
                if (!string(value)) return false;
                if (std::string* field = string_field(key)) *field = value;
                if (complete()) return true;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                bool integer = false;
                std::string_view number;
                if (!this->number(number, integer)) return false;
                if (depth_ == 1 && key == "TransactionID") {
                    // nlohmann's typing (signed, unsigned, float, overflow) decides here: plain digits only.
                    std::optional<uint64_t> value = plain_unsigned(number);
                    if (!value) return false;
                    message_.transaction_id = *value;
                    found_ |= field_transaction_id;
                }
                if (integer && complete()) return true;
            } else if (!literal("true") && !literal("false") && !literal("null")) {
                return false;
            }
        }
    }

private:
    static constexpr int max_depth = 32;

    bool at_end() const { return at_ >= body_.size(); }
    bool take(char c) {
        if (at_end() || body_[at_] != c) return false;
        ++at_;
        return true;
    }
    void skip_space() {
        while (!at_end() && (body_[at_] == ' ' || body_[at_] == '\t' || body_[at_] == '\n' || body_[at_] == '\r')) ++at_;
    }
    char closer() const { return kinds_[depth_ - 1] == '{' ? '}' : ']'; }
    bool push(char kind) {
        if (depth_ == max_depth) return false;
        kinds_[depth_++] = kind;
        return true;
    }
    void pop() {
        --depth_;
        if (depth_ == 1) in_result_ = false;
    }
    bool complete() const { return (found_ & wanted_) == wanted_; }

    bool string(std::string_view& value) {
        if (!take('"')) return false;
        std::size_t start = at_;
        for (; !at_end(); ++at_) {
            auto byte = static_cast<unsigned char>(body_[at_]);
            if (byte == '"') {
                value = body_.substr(start, at_ - start);
                ++at_;
                return true;
            }
            if (byte < 0x20 || byte >= 0x80 || byte == '\\') return false;  // escapes, UTF-8: not plain
        }
        return false;
    }

    bool digits() {
        std::size_t start = at_;
        while (!at_end() && body_[at_] >= '0' && body_[at_] <= '9') ++at_;
        return at_ > start;
    }
    // RFC 8259 number grammar, as nlohmann's lexer reads it, for numbers that are surely finite doubles.
    bool number(std::string_view& text, bool& integer) {
        std::size_t start = at_;
        take('-');
        if (take('0')) {
        } else if (!digits()) {
            return false;
        }
        integer = true;
        if (take('.')) {
            integer = false;
            if (!digits()) return false;
        }
        if (take('e') || take('E')) {
            integer = false;
            if (!take('+')) take('-');
            std::size_t exponent_start = at_;
            if (!digits() || at_ - exponent_start > 2) return false;
        }
        text = body_.substr(start, at_ - start);
        // nlohmann rejects numbers beyond double's range; under 10^(100+99) nothing can be.
        return text.size() <= 100;
    }
    static std::optional<uint64_t> plain_unsigned(std::string_view text) {
        if (text.empty() || text.size() > 19 || text[0] == '-') return std::nullopt;  // 19 digits always fit
        uint64_t value = 0;
        for (char digit : text) {
            if (digit < '0' || digit > '9') return std::nullopt;
            value = value * 10 + static_cast<uint64_t>(digit - '0');
        }
        return value;
    }
    bool literal(std::string_view word) {
        if (body_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }

    std::string* found(unsigned field, std::string& slot) {
        found_ |= field;
        return &slot;
    }
    // As HeaderFieldReader::string_field.
    std::string* string_field(std::string_view key) {
        if (depth_ == 2 && in_result_ && key == "ResultCode") return found(field_result_code, message_.result_code);
        if (depth_ != 1) return nullptr;
        if (key == "MessageType") return found(field_message_type, message_.message_type);
        if (key == "SenderID") return found(field_sender_id, message_.sender_id);
        if (key == "ReceiverID") return found(field_receiver_id, message_.receiver_id);
        if (key == "ProtocolVersion") return found(field_protocol_version, message_.protocol_version);
        if (key == "ResultCode") return found(field_result_code, message_.result_code);
        return nullptr;
    }

    std::string_view body_;
    BackendMessage& message_;
    unsigned wanted_;
    unsigned found_ = 0;
    std::size_t at_ = 0;
    int depth_ = 0;
    char kinds_[max_depth] = {};
    bool in_result_ = false;
};

}  // namespace

std::optional<BackendMessage> parse_backend_message_sax(std::string_view body, unsigned wanted) noexcept {
    try {
        BackendMessage message;
        HeaderFieldReader reader(message, wanted);
        bool parsed = nlohmann::json::sax_parse(body, &reader);
        if ((!parsed && !reader.complete()) || !reader.saw_top_object()) return std::nullopt;
        return message;
    } catch (...) {  // allocation failure: the message is just not counted
        return std::nullopt;
    }
}

std::optional<BackendMessage> parse_backend_message(std::string_view body, unsigned wanted) noexcept {
    try {
        BackendMessage message;
        if (PlainScanner(body, message, wanted).run()) return message;
    } catch (...) {  // allocation failure: let the full reader try
    }
    return parse_backend_message_sax(body, wanted);
}

}  // namespace dance::proxy
