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

}  // namespace

std::optional<BackendMessage> parse_backend_message(std::string_view body, unsigned wanted) noexcept {
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

}  // namespace dance::proxy
