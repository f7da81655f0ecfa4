// The validated configuration of one dance-sidecar process.
// The YAML schema (README "Configuration reference") maps 1:1 onto these structs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dance::config {

struct HostPort {
    std::string host;  // IPv4 literal, IPv6 literal without brackets, or DNS name
    uint16_t port = 0;
    std::string to_string() const;  // "host:port" or "[v6]:port"
    bool operator==(const HostPort&) const = default;
};

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { json, text };

struct LogConfig {
    LogLevel level = LogLevel::info;
    LogFormat format = LogFormat::json;
};

struct AdminConfig {
    HostPort listen{"127.0.0.1", 9901};
    bool enabled = true;
};

enum class DnsMode { recursive, trust_ad, validate };
enum class DnsTransport { udp, tcp, tls };

struct DnsCacheConfig {
    uint32_t max_entries = 100000;
    uint32_t max_ttl_s = 3600;
    uint32_t negative_ttl_s = 30;
    bool operator==(const DnsCacheConfig&) const = default;
};

struct DnsConfig {
    std::vector<HostPort> resolvers;     // trust-ad / validate: upstreams to query
    std::vector<std::string> root_servers;  // recursive only: root server addresses (labs, private roots)
    DnsMode mode = DnsMode::recursive;
    std::string trust_anchors;        // file with DS/DNSKEY records; "" = built-in root anchor
    DnsTransport transport = DnsTransport::udp;
    std::string tls_auth_name;
    std::string tls_ca_file;          // PEM CAs that authenticate a DoT resolver; "" = system store
    uint32_t timeout_ms = 2000;
    DnsCacheConfig cache;
    bool operator==(const DnsConfig&) const = default;
};

struct DaneClientIdConfig {
    uint16_t codepoint = 65498;
};

struct TlsFiles {
    std::string cert;       // PEM, leaf first then chain
    std::string key;        // PEM private key
    std::string client_id;  // outbound only: our TLSA owner name sent in dane_clientid
    bool raw_public_key = false;  // outbound only: offer our key as an RFC 7250 raw public key (OpenSSL 3.2+)
};

enum class ClientAuthMode { require, optional };

struct ClientAuthConfig {
    ClientAuthMode mode = ClientAuthMode::require;
    std::vector<std::string> allow;  // exact names or "*.zone"; lower-cased by the loader
    std::string ca_file;             // enables PKIX usages 0 and 1; "" = DANE-TA/EE only
    bool raw_public_key = false;     // also accept RFC 7250 raw public keys (OpenSSL 3.2+; DANE-EE 3 1 x only)
    // allow entry -> the LoRaWAN SenderIDs (lower-case hex, no 0x) its clients may send; empty = no binding
    std::map<std::string, std::vector<std::string>> sender_ids;
};

struct InboundTimeouts {
    uint32_t handshake_ms = 5000;
    uint32_t idle_ms = 60000;
    uint32_t backend_ms = 5000;
};

struct InboundListener {
    std::string name;
    HostPort listen;
    HostPort backend;
    TlsFiles tls;
    ClientAuthConfig client_auth;
    std::string identity_header = "X-Dane-Client-Id";
    InboundTimeouts timeouts;
    uint32_t max_connections = 10000;
    uint32_t max_body_bytes = 1024 * 1024;
    uint32_t max_pending_dns = 1024;  // handshakes paused on a TLSA lookup, per worker
    uint32_t max_handshakes = 1000;   // connections still in their handshake, per worker; the oldest makes room
    uint32_t max_handshakes_per_source = 0;  // per client address, per worker; 0 = no limit
    // Request bytes buffered by unauthenticated clients (optional mode), all connections and workers.
    uint32_t max_unauthenticated_buffered_bytes = 16 * 1024 * 1024;
};

enum class ServerAuth { dane, pkix, dane_or_pkix };

struct OutboundTimeouts {
    uint32_t connect_ms = 3000;
    uint32_t handshake_ms = 5000;
    uint32_t request_ms = 5000;
    uint32_t idle_ms = 60000;
};

// A static route of a routing outbound listener: requests whose ReceiverID matches go to `destination`.
struct StaticRoute {
    enum class Match { any_hex, join_eui, net_id, as_id };
    Match match = Match::any_hex;  // any_hex: a prefix of a JoinEUI or of a NetID
    std::string key;               // lower-case hex prefix without 0x; the exact AS-ID for as_id
    HostPort destination;          // host name: SNI and TLSA owner _<port>._tcp.<host>, as for upstream
};

// Routing by ReceiverID through DNS discovery (TS002 1.0 §19.1 names; docs/federation.md).
struct RouteConfig {
    bool discover = false;         // `route:` given: names under the suffixes are looked up
    std::string join_eui_suffix;   // normalized (lower case, no leading or trailing dot); "" = off
    std::string net_id_suffix;
    uint16_t port = 443;           // port of a discovered server (ChirpStack and TTS use https, 443)
    uint32_t max_destinations = 64;  // per worker: upstream pools alive at once
};

struct OutboundListener {
    std::string name;
    HostPort listen;
    HostPort upstream;    // host name: SNI and TLSA owner _<port>._tcp.<host>; empty when routing
    RouteConfig route;
    std::vector<StaticRoute> routes;  // longest key first
    HostPort connect_to;  // empty host = resolve upstream.host
    TlsFiles tls;
    ServerAuth server_auth = ServerAuth::dane;
    std::string ca_file;
    OutboundTimeouts timeouts;
    uint32_t max_idle_connections = 64;
    uint32_t max_body_bytes = 1024 * 1024;
    bool allow_non_loopback_listen = false;  // else listen must be a loopback address

    bool routes_by_receiver() const { return route.discover || !routes.empty(); }
};

struct Config {
    std::string source_file;
    LogConfig log;
    AdminConfig admin;
    DnsConfig dns;
    DaneClientIdConfig dane_clientid;
    uint32_t workers = 0;  // 0 = number of cores
    uint32_t drain_timeout_ms = 10000;
    std::vector<InboundListener> inbound;
    std::vector<OutboundListener> outbound;
};

}  // namespace dance::config
