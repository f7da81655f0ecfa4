#include "dns/lookup_result.hpp"

namespace dance::dns {

std::string_view to_string(LookupStatus status) {
    switch (status) {
        case LookupStatus::secure: return "secure";
        case LookupStatus::insecure: return "insecure";
        case LookupStatus::bogus: return "bogus";
        case LookupStatus::nxdomain: return "nxdomain";
        case LookupStatus::nodata: return "nodata";
        case LookupStatus::timeout: return "timeout";
        case LookupStatus::error: return "error";
    }
    return "error";
}

}  // namespace dance::dns
