"""The inbound listener configuration of the DNS lab tests (one `join-server` listener, trust-ad against the
lab's unbound) and where it listens."""
from processes import free_port


def inbound_config(lab, backend_port, *, resolvers=None, workers=2, dns_timeout_ms=3000, max_ttl_s=3600,
                   negative_ttl_s=30, log_level="info", **listener):
    """A config with one inbound listener `join-server` on a free port, trust-ad against the lab's unbound.
    Keyword arguments override the listener's keys (client_auth, timeouts, max_connections, ...)."""
    inbound = {
        "name": "join-server",
        "listen": f"127.0.0.1:{free_port()}",
        "backend": f"127.0.0.1:{backend_port}",
        "tls": {"cert": str(lab.pki("js.pem")), "key": str(lab.pki("js.key"))},
        "client_auth": {"mode": "require", "allow": [f"*.{lab.LAB_ZONE}"], "ca_file": ""},
        "identity_header": "X-Dane-Client-Id",
        "timeouts": {"handshake_ms": 10000, "idle_ms": 60000, "backend_ms": 5000},
        "max_connections": 10000,
    }
    inbound.update(listener)
    return {
        "log": {"level": log_level, "format": "json"},
        "admin": {"listen": f"127.0.0.1:{free_port()}"},
        "workers": workers,
        "drain_timeout_ms": 5000,
        "dns": {
            "resolvers": resolvers or [f"127.0.0.1:{lab.UNBOUND_PORT}"],
            "mode": "trust-ad",
            "transport": "udp",
            "timeout_ms": dns_timeout_ms,
            "cache": {"max_entries": 10000, "max_ttl_s": max_ttl_s, "negative_ttl_s": negative_ttl_s},
        },
        "dane_clientid": {"codepoint": 65498},
        "inbound": [inbound],
        "outbound": [],
    }


def listen_address(config):
    host, port = config["inbound"][0]["listen"].rsplit(":", 1)
    return host, int(port)

