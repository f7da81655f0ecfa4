// Owning handles for getdns objects.
#pragma once

#include <getdns/getdns.h>

#include <memory>

namespace dance::dns {

struct GetdnsContextDeleter {
    void operator()(getdns_context* context) const { getdns_context_destroy(context); }
};
struct GetdnsDictDeleter {
    void operator()(getdns_dict* dict) const { getdns_dict_destroy(dict); }
};
struct GetdnsListDeleter {
    void operator()(getdns_list* list) const { getdns_list_destroy(list); }
};

using GetdnsContextPtr = std::unique_ptr<getdns_context, GetdnsContextDeleter>;
using GetdnsDictPtr = std::unique_ptr<getdns_dict, GetdnsDictDeleter>;
using GetdnsListPtr = std::unique_ptr<getdns_list, GetdnsListDeleter>;

inline GetdnsDictPtr make_getdns_dict() { return GetdnsDictPtr(getdns_dict_create()); }
inline GetdnsListPtr make_getdns_list() { return GetdnsListPtr(getdns_list_create()); }

}  // namespace dance::dns
