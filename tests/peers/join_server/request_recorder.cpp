#include "tests/peers/join_server/request_recorder.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace dance::peers {

RequestRecorder::RequestRecorder(const std::string& path) : file_(std::fopen(path.c_str(), "a"), std::fclose) {
    if (!file_) throw std::runtime_error("cannot open " + path + " for appending");
}

void RequestRecorder::record(const RecordedRequest& request) {
    nlohmann::ordered_json headers = nlohmann::ordered_json::object();
    for (const auto& [name, value] : request.headers) {
        // repeated headers are joined as HTTP allows
        if (headers.contains(name))
            headers[name] = headers[name].get<std::string>() + ", " + value;
        else
            headers[name] = value;
    }
    nlohmann::ordered_json line = {{"method", request.method}, {"path", request.path}, {"peer", request.peer},
                                   {"headers", headers}};
    line["message_type"] = nullptr;
    if (!request.message_type.empty()) line["message_type"] = request.message_type;
    const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), file_.get());
    std::fflush(file_.get());
}

}  // namespace dance::peers
