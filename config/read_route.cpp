// `route:` and `routes:` of an outbound listener that routes by ReceiverID (docs/federation.md §3).
#include <algorithm>
#include <map>

#include "base/dns_name.hpp"
#include "base/hex_id.hpp"
#include "config/section_readers.hpp"
#include "config/yaml_values.hpp"

namespace dance::config {
namespace {

constexpr size_t join_eui_digits = 16;
constexpr size_t net_id_digits = 6;

bool read_suffix(LoadContext& context, const YAML::Node& node, const std::string& path, std::string& out) {
    std::string text;
    if (!read_string(context, node, path, text)) return false;
    if (text.empty()) {
        out.clear();  // discovery for this kind is off
        return true;
    }
    std::string why;
    auto suffix = normalize_federation_suffix(text, why);
    if (!suffix) {
        context.report(node.Mark(), path, "invalid federation suffix \"" + text + "\": " + why);
        return false;
    }
    out = std::move(*suffix);
    return true;
}

struct KeyQualifier {
    std::string_view prefix;
    StaticRoute::Match match;
    size_t max_digits;
};

constexpr KeyQualifier key_qualifiers[] = {
    {"joineui:", StaticRoute::Match::join_eui, join_eui_digits},
    {"netid:", StaticRoute::Match::net_id, net_id_digits},
};

// "0807060504030201", "0x70B3D57ED0", "netid:000505", "joineui:0005", "as:as.example.com".
std::string parse_route_key(std::string_view text, StaticRoute& out) {
    if (text.starts_with("as:")) {
        out.match = StaticRoute::Match::as_id;
        out.key = std::string(text.substr(3));
        return out.key.empty() ? "empty AS-ID after \"as:\"" : "";
    }
    size_t max_digits = join_eui_digits;
    for (const KeyQualifier& qualifier : key_qualifiers) {
        if (text.starts_with(qualifier.prefix)) {
            out.match = qualifier.match;
            max_digits = qualifier.max_digits;
            text.remove_prefix(qualifier.prefix.size());
            break;
        }
    }
    std::string_view digits = without_hex_prefix(text);
    if (!all_hex_digits(digits)) {
        return "expected a hex prefix of a ReceiverID (JoinEUI or NetID, \"0x\" allowed), \"joineui:HEX\", "
               "\"netid:HEX\" or \"as:AS-ID\"";
    }
    if (digits.size() > max_digits) {
        return "a prefix of at most " + std::to_string(max_digits) + " hex digits expected, got " +
               std::to_string(digits.size());
    }
    out.key = lower_case(digits);
    return "";
}

bool keys_overlap(const StaticRoute& a, const StaticRoute& b) {
    if (a.key != b.key) return false;
    return a.match == b.match || (a.match != StaticRoute::Match::as_id && b.match != StaticRoute::Match::as_id &&
                                  (a.match == StaticRoute::Match::any_hex || b.match == StaticRoute::Match::any_hex));
}

}  // namespace

void read_route(const YamlMap& listener, RouteConfig& out) {
    if (!listener.value("route")) return;
    YamlMap route = listener.child("route", {"join_eui_suffix", "net_id_suffix", "port", "max_destinations"});
    out.discover = true;
    route.read("join_eui_suffix", out.join_eui_suffix, read_suffix);
    route.read("net_id_suffix", out.net_id_suffix, read_suffix);
    uint32_t port = out.port;
    if (route.read("port", port, integer_between<uint32_t>(1, 65535))) out.port = static_cast<uint16_t>(port);
    route.read("max_destinations", out.max_destinations, integer_between<uint32_t>(1, 100000));
    if (out.join_eui_suffix.empty() && out.net_id_suffix.empty()) {
        listener.context().report(listener.path_of("route"),
                                  "route: needs join_eui_suffix or net_id_suffix (or both); "
                                  "for static routes only, use routes: without route:");
    }
}

void read_static_routes(const YamlMap& listener, std::vector<StaticRoute>& out) {
    const YAML::Node* node = listener.value("routes");
    if (!node) return;
    LoadContext& context = listener.context();
    const std::string path = listener.path_of("routes");
    if (!node->IsMap()) {
        context.report(node->Mark(), path, "expected a mapping of ReceiverID prefixes to host:port, got " + describe(*node));
        return;
    }
    if (node->size() == 0) {
        context.report(node->Mark(), path, "empty routes: give at least one, or use upstream: for a fixed upstream");
        return;
    }
    std::vector<std::pair<StaticRoute, int>> read;  // with the line of the key
    for (const auto& pair : *node) {
        const YAML::Node& key = pair.first;
        if (!key.IsScalar()) {
            context.report(key.Mark(), path, "keys must be ReceiverID prefixes, got " + describe(key));
            continue;
        }
        const std::string entry_path = path + "[\"" + key.Scalar() + "\"]";
        StaticRoute route;
        if (std::string why = parse_route_key(key.Scalar(), route); !why.empty()) {
            context.report(key.Mark(), entry_path, "invalid route key \"" + key.Scalar() + "\": " + why);
            continue;
        }
        auto same = std::find_if(read.begin(), read.end(), [&](const auto& other) { return keys_overlap(other.first, route); });
        if (same != read.end()) {
            context.report(key.Mark(), entry_path,
                           "duplicate route key (the same as the one on line " + std::to_string(same->second) + ")");
            continue;
        }
        if (!host_port_value(HostRule::name_only)(context, pair.second, entry_path, route.destination)) continue;
        read.emplace_back(std::move(route), key.Mark().line + 1);
    }
    for (auto& [route, line] : read) out.push_back(std::move(route));
    // Longest prefix first: the first match wins.
    std::stable_sort(out.begin(), out.end(), [](const StaticRoute& a, const StaticRoute& b) { return a.key.size() > b.key.size(); });
}

}  // namespace dance::config
