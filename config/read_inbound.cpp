#include <algorithm>

#include "base/dns_name.hpp"
#include "base/hex_id.hpp"
#include "config/listener_list.hpp"
#include "config/name_values.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

// A LoRaWAN SenderID as TS002 writes it: a NetID (6 hex digits) or an EUI-64 (16), after any 0x.
std::string why_invalid_sender_id(std::string_view digits) {
    if (!all_hex_digits(digits)) return "not hexadecimal";
    if (digits.size() != 6 && digits.size() != 16)
        return "expected 6 hex digits (NetID) or 16 (JoinEUI/DevEUI), got " + std::to_string(digits.size());
    return "";
}

bool read_sender_id_list(LoadContext& context, const YAML::Node& node, const std::string& path,
                         std::vector<std::string>& out) {
    std::vector<std::string> written;
    if (!read_string_list(context, node, path, written)) return false;
    if (written.empty()) {
        context.report(node.Mark(), path,
                       "empty SenderID list: name the SenderIDs this client may use, or drop the entry");
        return false;
    }
    bool all_valid = true;
    for (size_t i = 0; i < written.size(); ++i) {
        std::string_view digits = without_hex_prefix(written[i]);
        if (std::string why = why_invalid_sender_id(digits); !why.empty()) {
            context.report(node[i].Mark(), index_path(path, i), "invalid SenderID \"" + written[i] + "\": " + why);
            all_valid = false;
            continue;
        }
        out.push_back(dance::lower_case(digits));
    }
    return all_valid;
}

std::string not_an_allow_entry(const std::string& key, const std::vector<std::string>& allow) {
    std::string message = "\"" + key + "\" is not an entry of client_auth.allow";
    auto covering = std::find_if(allow.begin(), allow.end(),
                                 [&](const std::string& entry) { return dance::allow_entry_matches(entry, key); });
    if (covering != allow.end()) message += " (keys are allow entries: \"" + *covering + "\" covers this name)";
    return message;
}

// sender_ids: {allow entry: [SenderID, ...]}. Keys must be entries of `allow` (checked only when the
// allow list itself was valid, so one mistake is not reported twice).
void read_sender_ids(const YamlMap& auth, const std::vector<std::string>* allow,
                     std::map<std::string, std::vector<std::string>>& out) {
    const YAML::Node* node = auth.value("sender_ids");
    if (!node) return;
    LoadContext& context = auth.context();
    const std::string path = auth.path_of("sender_ids");
    if (!node->IsMap()) {
        context.report(node->Mark(), path,
                       "expected a mapping of allow entries to SenderID lists, got " + describe(*node));
        return;
    }
    std::map<std::string, int> first_line;
    for (const auto& pair : *node) {  // yaml-cpp: iterator->first is a temporary, the pair is not
        const YAML::Node& key = pair.first;
        if (!key.IsScalar()) {
            context.report(key.Mark(), path, "keys must be allow entries, got " + describe(key));
            continue;
        }
        const std::string entry = dance::lower_case(key.Scalar());
        const std::string entry_path = path + "[\"" + key.Scalar() + "\"]";
        if (allow && std::find(allow->begin(), allow->end(), entry) == allow->end()) {
            context.report(key.Mark(), entry_path, not_an_allow_entry(key.Scalar(), *allow));
            continue;
        }
        if (auto [first, inserted] = first_line.emplace(entry, key.Mark().line + 1); !inserted) {
            context.report(key.Mark(), entry_path,
                           "duplicate entry (first given on line " + std::to_string(first->second) + ")");
            continue;
        }
        std::vector<std::string> ids;
        if (read_sender_id_list(context, pair.second, entry_path, ids)) out[entry] = std::move(ids);
    }
}

void read_client_auth(const YamlMap& listener, ClientAuthConfig& out) {
    YamlMap auth = listener.child("client_auth", {"mode", "allow", "ca_file", "sender_ids", "raw_public_key"});
    auth.read("mode", out.mode,
              one_of<ClientAuthMode>({{"require", ClientAuthMode::require}, {"optional", ClientAuthMode::optional}}));
    bool allow_valid = auth.require("allow", out.allow, read_allow_list);
    read_file_path(auth, "ca_file", out.ca_file, true);
    read_sender_ids(auth, allow_valid ? &out.allow : nullptr, out.sender_ids);
    read_raw_public_key_switch(auth, out.raw_public_key);
}

void read_timeouts(const YamlMap& listener, InboundTimeouts& out) {
    YamlMap timeouts = listener.child("timeouts", {"handshake_ms", "idle_ms", "backend_ms"});
    timeouts.read("handshake_ms", out.handshake_ms, positive_integer<uint32_t>());
    timeouts.read("idle_ms", out.idle_ms, positive_integer<uint32_t>());
    timeouts.read("backend_ms", out.backend_ms, positive_integer<uint32_t>());
}

// In optional mode, a budget smaller than one largest request would refuse every big request of an
// unauthenticated client. Reported at the key the file sets (the budget's, else max_body_bytes).
void check_budget_holds_one_request(const YamlMap& listener, const InboundListener& out, std::string_view set_key) {
    if (out.client_auth.mode != ClientAuthMode::optional) return;
    constexpr std::uint64_t largest_request_headers = 64 * 1024;  // the HTTP parser's header limit
    std::uint64_t largest_request = std::uint64_t{out.max_body_bytes} + largest_request_headers;
    if (out.max_unauthenticated_buffered_bytes >= largest_request) return;
    listener.context().report(listener.path_of(set_key),
                              "max_unauthenticated_buffered_bytes (" +
                                  std::to_string(out.max_unauthenticated_buffered_bytes) +
                                  ") must hold at least one largest request: max_body_bytes + 64 KiB of headers = " +
                                  std::to_string(largest_request) + " bytes");
}

InboundListener read_inbound(const YamlMap& listener) {
    InboundListener out;
    listener.require("name", out.name, read_listener_name);
    listener.require("listen", out.listen, host_port_value(HostRule::ip_only));
    listener.require("backend", out.backend, host_port_value(HostRule::ip_only));
    read_tls_files(listener, out.tls, false);
    read_client_auth(listener, out.client_auth);
    listener.read("identity_header", out.identity_header, read_header_name);
    read_timeouts(listener, out.timeouts);
    listener.read("max_connections", out.max_connections, positive_integer<uint32_t>());
    bool body_set = listener.read("max_body_bytes", out.max_body_bytes, positive_integer<uint32_t>());
    listener.read("max_pending_dns", out.max_pending_dns, positive_integer<uint32_t>());
    listener.read("max_handshakes", out.max_handshakes, positive_integer<uint32_t>());
    listener.read("max_handshakes_per_source", out.max_handshakes_per_source,
                  integer_between<uint32_t>(0, std::numeric_limits<uint32_t>::max()));
    bool budget_set = listener.read("max_unauthenticated_buffered_bytes", out.max_unauthenticated_buffered_bytes,
                                    positive_integer<uint32_t>());
    if (budget_set || body_set)
        check_budget_holds_one_request(listener, out, budget_set ? "max_unauthenticated_buffered_bytes" : "max_body_bytes");
    return out;
}

}  // namespace

void read_inbound_listeners(const YamlMap& root, std::vector<InboundListener>& out) {
    static const std::vector<std::string_view> keys = {
        "name",     "listen",          "backend",         "tls",           "client_auth",
        "identity_header", "timeouts", "max_connections", "max_body_bytes", "max_pending_dns",
        "max_handshakes", "max_handshakes_per_source", "max_unauthenticated_buffered_bytes"};
    for_each_listener(root, "inbound", keys, [&out](const YamlMap& listener) { out.push_back(read_inbound(listener)); });
}

}  // namespace dance::config
