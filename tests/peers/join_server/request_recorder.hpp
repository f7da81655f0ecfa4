// Appends one JSON line per received request, for tests to check what reached the join server:
// {"method":"POST","path":"/","peer":"127.0.0.1:41234","headers":{"content-type":"application/json",...},
//  "message_type":"JoinReq"}. Header names are lower-cased; the body itself is never written.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>

namespace dance::peers {

struct RecordedRequest {
    std::string method;
    std::string path;
    std::string peer;
    std::multimap<std::string, std::string> headers;
    std::string message_type;  // "" when the body had none
};

class RequestRecorder {
public:
    explicit RequestRecorder(const std::string& path);  // throws std::runtime_error
    void record(const RecordedRequest& request);        // flushed line by line

private:
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
};

}  // namespace dance::peers
