"""The ChirpStack snippets in deploy/examples/ parse as TOML, use only keys ChirpStack reads (from its
configuration structs: v3 chirpstack-network-server / chirpstack-application-server internal/config, v4
chirpstack/src/config.rs JoinServer*, Roaming*, BackendInterfaces as of v4.19.0), and point at the sidecars'
listeners, with every DNS-based discovery path off."""
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
V4_ROAMING = {"resolve_net_id_domain_suffix", "servers", "default"}
V4_ROAMING_SERVER = {"net_id", "secondary_net_ids", "async_timeout", "passive_roaming_lifetime",
                     "passive_roaming_kek_label", "passive_roaming_validate_mic", "server", "use_target_role_suffix",
                     "ca_cert", "tls_cert", "tls_key", "authorization_header"}
V4_ROAMING_DEFAULT = V4_ROAMING_SERVER - {"net_id", "secondary_net_ids"} | {"enabled"}
V4_BACKEND_INTERFACES = {"bind", "ca_cert", "tls_cert", "tls_key"}
V4_TLS_KEYS = ("ca_cert", "tls_cert", "tls_key")


def toml(name):
    return tomllib.loads((EXAMPLES / name).read_text())


def sidecar(name):
    return yaml.safe_load((EXAMPLES / name).read_text())


def outbound_url(config="outbound.yaml", index=0):
    host, port = sidecar(config)["outbound"][index]["listen"].rsplit(":", 1)
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


V4_SIDECAR = "chirpstack-v4-sidecar.yaml"


def v4_listener_urls():
    return {outbound_url(V4_SIDECAR, index) for index in range(len(sidecar(V4_SIDECAR)["outbound"]))}


def test_v4_join_servers_use_the_outbound_sidecar():
    join_server = toml("chirpstack-v4.toml")["join_server"]
    assert set(join_server) <= V4_JOIN_SERVER
    servers = join_server["servers"]
    assert servers
    for server in servers:
        assert set(server) <= V4_SERVER
        assert re.fullmatch(r"[0-9a-f]{16}/(\d|[1-5]\d|6[0-4])", server["join_eui_prefix"])
        assert url_parts(server["server"]) in v4_listener_urls()
        assert not any(server[key] for key in V4_TLS_KEYS)
    assert url_parts(servers[0]["server"]) == outbound_url(), "the same listener as outbound.yaml"
    catch_all = [i for i, s in enumerate(servers) if s["join_eui_prefix"].endswith("/0")]
    assert catch_all in ([], [len(servers) - 1]), "a catch-all prefix must come last"
    default = join_server["default"]
    assert set(default) <= V4_DEFAULT
    if default.get("enabled"):
        assert url_parts(default["server"]) in v4_listener_urls(), "an empty server means DNS discovery"


def test_v4_roaming_partners_use_the_outbound_sidecar():
    roaming = toml("chirpstack-v4.toml")["roaming"]
    assert set(roaming) <= V4_ROAMING
    for server in roaming["servers"]:
        assert set(server) <= V4_ROAMING_SERVER
        assert re.fullmatch(r"[0-9a-f]{6}", server["net_id"])
        assert server["server"], "an empty server means https://<NetID><resolve_net_id_domain_suffix>, no sidecar"
        assert url_parts(server["server"]) in v4_listener_urls()
        assert not any(server[key] for key in V4_TLS_KEYS)
    assert set(roaming["default"]) <= V4_ROAMING_DEFAULT
    assert roaming["default"]["enabled"] is False, "the default would take any NetID, by DNS when server is empty"


def test_v4_each_remote_server_has_its_own_listener():
    chirpstack = toml("chirpstack-v4.toml")
    urls = [url_parts(s["server"]) for s in chirpstack["join_server"]["servers"] + chirpstack["roaming"]["servers"]]
    assert len(set(urls)) == len(urls) and set(urls) == v4_listener_urls()


def test_v4_backend_interfaces_sit_behind_the_inbound_sidecar():
    chirpstack = toml("chirpstack-v4.toml")
    backend = chirpstack["backend_interfaces"]
    assert set(backend) <= V4_BACKEND_INTERFACES
    assert not any(backend[key] for key in V4_TLS_KEYS), "TLS ends in the sidecar"
    inbound = sidecar(V4_SIDECAR)["inbound"]
    assert [listener["backend"] for listener in inbound] == [backend["bind"]]
    assert backend["bind"].startswith("127.0.0.1:"), "plain HTTP must stay on loopback"
    # ChirpStack finds the sender by the SenderID in the body; the sidecar binds it to the DANE identity.
    auth = inbound[0]["client_auth"]
    assert auth["mode"] == "require"
    assert set(auth["sender_ids"]) == set(auth["allow"])
    assert {s["net_id"] for s in chirpstack["roaming"]["servers"]} == \
        {sender for ids in auth["sender_ids"].values() for sender in ids}


FEDERATION_SIDECAR = "federation-sidecar.yaml"


def test_v4_federation_sends_everything_through_one_routing_listener():
    chirpstack = toml("chirpstack-v4-federation.toml")
    listener = sidecar(FEDERATION_SIDECAR)["outbound"][0]
    assert "upstream" not in listener and listener["route"]["join_eui_suffix"] and listener["route"]["net_id_suffix"]
    url = outbound_url(FEDERATION_SIDECAR)
    join_default = chirpstack["join_server"]["default"]
    roaming_default = chirpstack["roaming"]["default"]
    assert set(chirpstack["join_server"]) <= V4_JOIN_SERVER and set(join_default) <= V4_DEFAULT
    assert set(chirpstack["roaming"]) <= V4_ROAMING and set(roaming_default) <= V4_ROAMING_DEFAULT
    for default in (join_default, roaming_default):
        assert default["enabled"] is True
        assert url_parts(default["server"]) == url, "an empty server would make ChirpStack discover by itself"
        assert not any(default[key] for key in V4_TLS_KEYS)
    assert not chirpstack["join_server"].get("servers") and not chirpstack["roaming"].get("servers"), \
        "no per-partner entry: the routing listener finds each partner"
    backend = chirpstack["backend_interfaces"]
    assert [i["backend"] for i in sidecar(FEDERATION_SIDECAR)["inbound"]] == [backend["bind"]]
