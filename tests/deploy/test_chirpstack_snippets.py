"""The ChirpStack [join_server] snippets in deploy/examples/ parse as TOML, use only keys ChirpStack reads
(from its configuration structs: v3 chirpstack-network-server / chirpstack-application-server
internal/config, v4 chirpstack/src/config.rs JoinServer*), and point at the sidecars' listeners."""
import pathlib
import re
import tomllib
import urllib.parse

import yaml

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "examples"

V3_NS_JOIN_SERVER = {"resolve_join_eui", "resolve_domain_suffix", "default", "certificates", "servers", "kek"}
V3_NS_DEFAULT = {"server", "ca_cert", "tls_cert", "tls_key"}
V3_AS_JOIN_SERVER = {"bind", "ca_cert", "tls_cert", "tls_key", "kek"}
V4_JOIN_SERVER = {"resolve_join_eui_domain_suffix", "servers", "default"}
V4_SERVER = {"join_eui_prefix", "join_eui", "server", "async_timeout", "ca_cert", "tls_cert", "tls_key",
             "authorization_header"}
V4_DEFAULT = {"enabled", "async_timeout", "server", "ca_cert", "tls_cert", "tls_key", "authorization_header"}


def toml(name):
    return tomllib.loads((EXAMPLES / name).read_text())


def sidecar(name):
    return yaml.safe_load((EXAMPLES / name).read_text())


def outbound_url():
    host, port = sidecar("outbound.yaml")["outbound"][0]["listen"].rsplit(":", 1)
    return ("http", host, int(port))


def url_parts(url):
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port)


def test_v3_network_server_uses_the_outbound_sidecar():
    join_server = toml("chirpstack-v3-network-server.toml")["join_server"]
    assert set(join_server) <= V3_NS_JOIN_SERVER
    assert set(join_server["default"]) <= V3_NS_DEFAULT
    assert url_parts(join_server["default"]["server"]) == outbound_url()
    assert join_server["resolve_join_eui"] is False, "JoinEUI discovery would bypass the sidecar"
    assert not any(join_server["default"][key] for key in ("ca_cert", "tls_cert", "tls_key"))


def test_v3_application_server_listens_where_the_inbound_sidecar_forwards():
    join_server = toml("chirpstack-v3-application-server.toml")["join_server"]
    assert set(join_server) <= V3_AS_JOIN_SERVER
    assert join_server["bind"] == sidecar("inbound.yaml")["inbound"][0]["backend"]
    assert join_server["bind"].startswith("127.0.0.1:"), "plain HTTP must stay on loopback"


def test_v4_uses_the_outbound_sidecar():
    join_server = toml("chirpstack-v4.toml")["join_server"]
    assert set(join_server) <= V4_JOIN_SERVER
    servers = join_server["servers"]
    assert servers
    for server in servers:
        assert set(server) <= V4_SERVER
        assert re.fullmatch(r"[0-9a-f]{16}/(\d|[1-5]\d|6[0-4])", server["join_eui_prefix"])
        assert url_parts(server["server"]) == outbound_url()
    catch_all = [i for i, s in enumerate(servers) if s["join_eui_prefix"].endswith("/0")]
    assert catch_all in ([], [len(servers) - 1]), "a catch-all prefix must come last"
    default = join_server["default"]
    assert set(default) <= V4_DEFAULT
    if default.get("enabled"):
        assert url_parts(default["server"]) == outbound_url(), "an empty server means DNS discovery"
