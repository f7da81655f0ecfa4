"""Configuration files written at bench time: dance-sidecar YAML, HAProxy, the CA-signed client cert."""
import json
import subprocess


def _dns_block(lab, mode):
    if mode == "recursive":
        return (f"dns: {{mode: recursive, root_servers: [\"{lab['ROOT_SERVERS']}\"], "
                f"trust_anchors: \"{lab['TRUST_ANCHOR_FILE']}\", timeout_ms: 3000}}\n")
    anchors = f", trust_anchors: \"{lab['TRUST_ANCHOR_FILE']}\"" if mode == "validate" else ""
    return (f"dns: {{mode: {mode}, resolvers: [\"127.0.0.1:{lab['UNBOUND_PORT']}\"]{anchors}, "
            f"timeout_ms: 3000}}\n")


def _common(workers, admin_port):
    return (f"log: {{level: warn, format: json}}\n"
            f"admin: {{listen: \"127.0.0.1:{admin_port}\"}}\n"
            f"workers: {workers}\n")


def inbound_yaml(path, lab, *, port, backend_port, workers, admin_port, dns_mode="trust-ad"):
    pki = lab["PKI_DIR"]
    text = _common(workers, admin_port) + _dns_block(lab, dns_mode) + f"""inbound:
  - name: bench
    listen: "127.0.0.1:{port}"
    backend: "127.0.0.1:{backend_port}"
    tls: {{cert: {pki}/js.pem, key: {pki}/js.key}}
    client_auth: {{mode: require, allow: ["*.{lab['LAB_ZONE']}"]}}
    timeouts: {{handshake_ms: 30000, idle_ms: 600000, backend_ms: 5000}}
    max_connections: 30000
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def outbound_yaml(path, lab, *, port, upstream_port, workers, admin_port):
    pki = lab["PKI_DIR"]
    text = _common(workers, admin_port) + _dns_block(lab, "trust-ad") + f"""outbound:
  - name: bench
    listen: "127.0.0.1:{port}"
    upstream: "{lab['NAME_JS']}:{upstream_port}"
    connect_to: "127.0.0.1:{upstream_port}"
    tls: {{cert: {pki}/ns-a.pem, key: {pki}/ns-a.key, client_id: "{lab['NAME_NS_A']}"}}
    server_auth: dane
    timeouts: {{connect_ms: 3000, handshake_ms: 5000, request_ms: 5000, idle_ms: 600000}}
    max_idle_connections: 256
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def make_haproxy_pki(workdir, lab):
    """HAProxy cannot do DANE: a bench CA signs a client certificate for ns-a's key (same P-256 key)."""
    pki = lab["PKI_DIR"]
    ca_key, ca_pem = f"{workdir}/bench-ca.key", f"{workdir}/bench-ca.pem"
    client_pem = f"{workdir}/ns-a-ca-signed.pem"

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=bench client CA", "-keyout", ca_key, "-out", ca_pem)
    openssl("req", "-new", "-key", f"{pki}/ns-a.key", "-subj", f"/CN={lab['NAME_NS_A']}", "-out",
            f"{workdir}/ns-a.csr")
    openssl("x509", "-req", "-in", f"{workdir}/ns-a.csr", "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "2", "-out", client_pem)
    server_bundle = f"{workdir}/js-bundle.pem"  # HAProxy wants certificate and key in one file
    with open(server_bundle, "w") as out:
        for part in (f"{pki}/js.pem", f"{pki}/js.key"):
            with open(part) as f:
                out.write(f.read())
    client_bundle = f"{workdir}/ns-a-ca-signed-bundle.pem"
    with open(client_bundle, "w") as out:
        for part in (client_pem, f"{pki}/ns-a.key"):
            with open(part) as f:
                out.write(f.read())
    return {"ca": ca_pem, "client_cert": client_pem, "client_bundle": client_bundle,
            "server_bundle": server_bundle}


def _haproxy_global(threads):
    return f"""global
  nbthread {threads}
  maxconn 10500
  no strict-limits  # 10,000 frontend connections fit the 20,000 descriptors; HAProxy reserves 2 per connection
  ssl-default-bind-options ssl-min-ver TLSv1.3
  ssl-default-bind-curves X25519
  ssl-default-server-options ssl-min-ver TLSv1.3
defaults
  mode http
  timeout connect 5s
  timeout client 600s
  timeout server 10s
  timeout http-keep-alive 600s
  maxconn 10500
"""


def haproxy_inbound_cfg(path, hapki, *, port, backend_port, threads):
    text = _haproxy_global(threads) + f"""frontend inbound
  bind 127.0.0.1:{port} ssl crt {hapki['server_bundle']} verify required ca-file {hapki['ca']}
  default_backend joinserver
backend joinserver
  server js 127.0.0.1:{backend_port}
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def haproxy_outbound_cfg(path, lab, hapki, *, port, upstream_port, threads):
    js_name = lab["NAME_JS"]
    text = _haproxy_global(threads) + f"""frontend outbound
  bind 127.0.0.1:{port}
  default_backend inbound
backend inbound
  http-reuse always
  server in 127.0.0.1:{upstream_port} ssl crt {hapki['client_bundle']} ca-file {lab['PKI_DIR']}/js.pem verify required sni str({js_name}) verifyhost {js_name}
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def write_devices(path, dev_eui, nwk_key):
    with open(path, "w") as f:
        json.dump({"devices": [{"dev_eui": dev_eui, "nwk_key": nwk_key}]}, f)
    return path

