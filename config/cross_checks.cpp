#include <map>

#include "config/host_port_parse.hpp"
#include "config/section_readers.hpp"

namespace dance::config {
namespace {

struct ListenSocket {
    std::string key_path;
    HostPort address;
};

std::vector<ListenSocket> listen_sockets(const Config& config) {
    std::vector<ListenSocket> sockets;
    if (config.admin.enabled) sockets.push_back({"admin.listen", config.admin.listen});
    for (size_t i = 0; i < config.inbound.size(); ++i)
        sockets.push_back({"inbound[" + std::to_string(i) + "].listen", config.inbound[i].listen});
    for (size_t i = 0; i < config.outbound.size(); ++i)
        sockets.push_back({"outbound[" + std::to_string(i) + "].listen", config.outbound[i].listen});
    std::erase_if(sockets, [](const ListenSocket& socket) { return socket.address.port == 0; });  // unreadable
    return sockets;
}

void check_listen_addresses(LoadContext& context, const Config& config) {
    std::vector<ListenSocket> sockets = listen_sockets(config);
    for (size_t later = 0; later < sockets.size(); ++later) {
        for (size_t earlier = 0; earlier < later; ++earlier) {
            const HostPort& a = sockets[earlier].address;
            const HostPort& b = sockets[later].address;
            if (!listen_addresses_overlap(a, b)) continue;
            std::string how = a.host == b.host ? "is already used by " : "overlaps " + a.to_string() + " of ";
            context.report(sockets[later].key_path,
                           "listen address " + b.to_string() + " " + how + sockets[earlier].key_path);
            break;
        }
    }
}

void check_listener_names(LoadContext& context, const Config& config) {
    std::map<std::string, std::string> first_use;  // name -> key path
    auto check = [&](const std::string& name, const std::string& listener_path) {
        if (name.empty()) return;
        auto [where, inserted] = first_use.emplace(name, listener_path);
        if (!inserted)
            context.report(listener_path + ".name",
                           "listener name \"" + name + "\" is already used by " + where->second);
    };
    for (size_t i = 0; i < config.inbound.size(); ++i)
        check(config.inbound[i].name, "inbound[" + std::to_string(i) + "]");
    for (size_t i = 0; i < config.outbound.size(); ++i)
        check(config.outbound[i].name, "outbound[" + std::to_string(i) + "]");
}

}  // namespace

void check_listeners_do_not_collide(LoadContext& context, const Config& config) {
    check_listen_addresses(context, config);
    check_listener_names(context, config);
}

}  // namespace dance::config
