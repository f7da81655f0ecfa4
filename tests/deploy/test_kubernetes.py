"""Checks deploy/kubernetes/ offline: schema (k8s_schema.py), cross-references between the manifests,
the security posture the brief asks for, and that the embedded sidecar and unbound configurations agree
with the pod layout."""
import copy
import pathlib
import re
import shutil
import subprocess
import tomllib
import urllib.parse

import pytest
import yaml

import k8s_schema

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"


def load_kustomization(directory=KUBERNETES):
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


# The optional components (monitoring; ChirpStack v4 in place of the v3 Network Server), and the Secrets
# the operator creates (their shape, not applied).
MONITORING = KUBERNETES / "components" / "monitoring"
CHIRPSTACK_V4 = KUBERNETES / "components" / "chirpstack-v4"
EXAMPLE_SECRETS = KUBERNETES / "examples" / "secrets.yaml"


def load_documents(paths):
    documents = []
    for path in paths:
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document:
                documents.append((f"{path.relative_to(KUBERNETES)}#{index}", document))
    return documents


BASE = load_documents(KUBERNETES / name for name in load_kustomization()["resources"])
V4 = load_documents(CHIRPSTACK_V4 / name for name in load_kustomization(CHIRPSTACK_V4)["resources"])
# Everything any installation has: the base, both components (the v3 and v4 Network Servers side by side
# here; the chirpstack-v4 component deletes the v3 one, deploy.kustomize checks each real combination) and
# the operator's Secrets.
DOCUMENTS = BASE + V4 + load_documents([*(MONITORING / name for name in load_kustomization(MONITORING)["resources"]),
                                        EXAMPLE_SECRETS])


def of_kind(kind):
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


def named(kind, name):
    matches = [document for document in of_kind(kind) if document["metadata"]["name"] == name]
    assert matches, f"no {kind} named {name}"
    return matches[0]


def pod_specs():
    return [(deployment["metadata"]["name"], deployment["spec"]["template"]) for deployment in of_kind("Deployment")]


def containers(template):
    """Every container of the pod: the native sidecars (initContainers) and the main ones."""
    return template["spec"].get("initContainers", []) + template["spec"]["containers"]


def sidecar_config(template):
    """The parsed sidecar.yaml of the ConfigMap mounted into this pod's dance-sidecar container."""
    volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
    sidecar = next(c for c in containers(template) if c["name"] == "dance-sidecar")
    mounted = [volumes[mount["name"]] for mount in sidecar["volumeMounts"]]
    config_map = next(volume["configMap"]["name"] for volume in mounted if "configMap" in volume)
    return yaml.safe_load(named("ConfigMap", config_map)["data"]["sidecar.yaml"])


def port_of(host_port):
    return int(host_port.rsplit(":", 1)[1])


def labels_match(selector, labels):
    return all(labels.get(key) == value for key, value in selector.items())


# --- the files ---------------------------------------------------------------------------------------

def test_kustomization_lists_every_manifest():
    listed = set(load_kustomization()["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    for component in (MONITORING, CHIRPSTACK_V4):
        assert load_kustomization(component)["kind"] == "Component"
        assert load_kustomization(component)["namespace"] == load_kustomization()["namespace"]
        assert set(load_kustomization(component)["resources"]) == \
            {path.name for path in component.glob("*.yaml")} - {"kustomization.yaml"}


def test_chirpstack_v4_component_replaces_the_v3_network_server():
    """It deletes the v3 NS and exactly what only that pod uses."""
    deleted = {(patch["kind"], patch["metadata"]["name"])
               for entry in load_kustomization(CHIRPSTACK_V4)["patches"]
               for patch in [yaml.safe_load(entry["patch"])] if patch.get("$patch") == "delete"}
    v3 = named("Deployment", "chirpstack-network-server")["spec"]["template"]
    config_maps = {volume["configMap"]["name"] for volume in v3["spec"]["volumes"] if "configMap" in volume}
    used_elsewhere = {volume["configMap"]["name"] for name, template in pod_specs() if name != "chirpstack-network-server"
                      for volume in template["spec"]["volumes"] if "configMap" in volume}
    policies = [p["metadata"]["name"] for p in of_kind("NetworkPolicy")
                if labels_match(p["spec"]["podSelector"]["matchLabels"], v3["metadata"]["labels"])]
    assert deleted == {("Deployment", "chirpstack-network-server")} | \
        {("ConfigMap", name) for name in config_maps - used_elsewhere} | {("NetworkPolicy", name) for name in policies}


def test_base_never_overwrites_secrets_and_needs_no_crd():
    """`kubectl apply -k` of the base must not replace the operator's Secrets with placeholders, and must
    work on a cluster without the Prometheus Operator's CRDs."""
    kinds = {(document["apiVersion"], document["kind"]) for _, document in BASE}
    assert not [kind for kind in kinds if kind[1] == "Secret"]
    assert kinds <= set(k8s_schema.BUILTIN_KINDS), kinds - set(k8s_schema.BUILTIN_KINDS)


@pytest.mark.parametrize("label,document", DOCUMENTS, ids=[label for label, _ in DOCUMENTS])
def test_manifest_matches_kubernetes_schema(label, document):
    assert k8s_schema.schema_errors(document, label) == []


def test_schema_check_reports_mistakes():
    deployment = copy.deepcopy(of_kind("Deployment")[0])
    pod = deployment["spec"]["template"]["spec"]
    pod["contianers"] = pod.pop("containers")
    service = copy.deepcopy(of_kind("Service")[0])
    del service["spec"]["ports"][0]["port"]
    service["spec"]["ports"][0]["protocol"] = 6
    errors = k8s_schema.schema_errors(deployment, "d") + k8s_schema.schema_errors(service, "s")
    assert "d.spec.template.spec.contianers: unknown field for IoK8sApiCoreV1PodSpec" in errors
    assert "d.spec.template.spec.containers: required by IoK8sApiCoreV1PodSpec" in errors
    assert "s.spec.ports[0].port: required by IoK8sApiCoreV1ServicePort" in errors
    assert "s.spec.ports[0].protocol: expected 'SCTP' or 'TCP' or 'UDP', got 6" in errors


def test_schema_knows_current_kubernetes_fields():
    """Native sidecars (init container restartPolicy: Always, Kubernetes 1.29+) and preStop.sleep (1.30+)
    are in the models; a 1.22 schema would call them unknown fields."""
    deployment = copy.deepcopy(of_kind("Deployment")[0])
    pod = deployment["spec"]["template"]["spec"]
    pod["initContainers"] = [{"name": "sidecar", "image": "i", "restartPolicy": "Always",
                              "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                              "startupProbe": {"httpGet": {"path": "/readyz", "port": 9901}}}]
    assert k8s_schema.schema_errors(deployment, "d") == []
    pod["initContainers"][0]["restartpolicy"] = pod["initContainers"][0].pop("restartPolicy")
    assert k8s_schema.schema_errors(deployment, "d") == [
        "d.spec.template.spec.initContainers[0].restartpolicy: unknown field for IoK8sApiCoreV1Container"]


# --- references between manifests ----------------------------------------------------------------------

def test_volumes_and_env_sources_exist():
    for name, template in pod_specs():
        for volume in template["spec"]["volumes"]:
            if "configMap" in volume:
                named("ConfigMap", volume["configMap"]["name"])
            if "secret" in volume:
                named("Secret", volume["secret"]["secretName"])
        declared = {volume["name"] for volume in template["spec"]["volumes"]}
        for container in containers(template):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in declared, f"{name}/{container['name']} mounts unknown {mount['name']}"
            for source in container.get("envFrom", []):
                named("Secret", source["secretRef"]["name"])


def test_deployment_selectors_match_their_pods():
    for deployment in of_kind("Deployment"):
        assert labels_match(deployment["spec"]["selector"]["matchLabels"],
                            deployment["spec"]["template"]["metadata"]["labels"])


def test_services_select_pods_and_named_ports():
    for service in of_kind("Service"):
        pods = [template for _, template in pod_specs()
                if labels_match(service["spec"]["selector"], template["metadata"]["labels"])]
        assert pods, f"Service {service['metadata']['name']} selects no pod"
        for template in pods:
            port_names = {port["name"] for c in containers(template) for port in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in port_names, (service["metadata"]["name"], port["targetPort"])


def test_service_monitor_selects_the_metrics_service():
    for monitor in of_kind("ServiceMonitor"):
        services = [s for s in of_kind("Service")
                    if labels_match(monitor["spec"]["selector"]["matchLabels"], s["metadata"].get("labels", {}))]
        assert len(services) == 1
        service = services[0]
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
        # Every sidecar pod is a target, and targets get job="dance-sidecar" as the alert rules expect.
        assert [n for n, t in pod_specs() if labels_match(service["spec"]["selector"], t["metadata"]["labels"])] == \
            [n for n, t in pod_specs() if any(c["name"] == "dance-sidecar" for c in containers(t))]
        assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "dance-sidecar"


def test_tls_secrets_have_the_standard_keys():
    for name, template in pod_specs():
        for volume in template["spec"]["volumes"]:
            if "secret" in volume:
                secret = named("Secret", volume["secret"]["secretName"])
                assert secret["type"] == "kubernetes.io/tls"
                assert set(secret.get("stringData") or secret.get("data")) == {"tls.crt", "tls.key"}


# --- security posture -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_pods_meet_the_restricted_profile(name, template):
    pod = template["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID")
    for container in containers(template):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["runAsNonRoot"] is True, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, (container["name"], bound)


@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_sidecar_probes_and_scrape_annotations_use_the_admin_port(name, template):
    admin_port = port_of(sidecar_config(template)["admin"]["listen"])
    assert sidecar_config(template)["admin"]["listen"].startswith("0.0.0.0:"), "kubelet probes the pod IP"
    sidecar = next(c for c in containers(template) if c["name"] == "dance-sidecar")
    ports = {port["name"]: port["containerPort"] for port in sidecar["ports"]}
    assert ports["admin"] == admin_port
    assert sidecar["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(admin_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert sidecar["args"][:2] == ["run", "-c"]


# --- configurations inside the pods -------------------------------------------------------------------

@pytest.mark.parametrize("config_map,example", [("ns-dance-sidecar", "outbound.yaml"),
                                                ("js-dance-sidecar", "inbound.yaml"),
                                                ("chirpstack-dance-sidecar", "chirpstack-v4-sidecar.yaml")])
def test_sidecar_config_maps_follow_the_examples(config_map, example):
    embedded = yaml.safe_load(named("ConfigMap", config_map)["data"]["sidecar.yaml"])
    shipped = yaml.safe_load((DEPLOY / "examples" / example).read_text())
    for key in ("admin", "workers"):  # pod IP for the kubelet; sized to the container, not the host
        embedded.pop(key)
        shipped.pop(key)
    assert embedded == shipped


@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_sidecar_config_matches_the_pod_layout(name, template):
    config = sidecar_config(template)
    sidecar = next(c for c in containers(template) if c["name"] == "dance-sidecar")
    volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
    tls_mounts = [m["mountPath"] for m in sidecar["volumeMounts"] if "secret" in volumes[m["name"]]]
    config_mounts = [m["mountPath"] for m in sidecar["volumeMounts"] if "configMap" in volumes[m["name"]]]
    assert sidecar["args"][2] == f"{config_mounts[0]}/sidecar.yaml"
    for listener in config["inbound"] + config["outbound"]:
        assert listener["tls"]["cert"] == f"{tls_mounts[0]}/tls.crt"
        assert listener["tls"]["key"] == f"{tls_mounts[0]}/tls.key"
    unbound_conf = named("ConfigMap", "dance-unbound")["data"]["unbound.conf"]
    assert config["dns"]["mode"] == "trust-ad"
    assert config["dns"]["resolvers"] == ["127.0.0.1:5353"]
    assert "interface: 127.0.0.1" in unbound_conf and "port: 5353" in unbound_conf


def test_chirpstack_talks_to_the_sidecars():
    ns = named("Deployment", "chirpstack-network-server")["spec"]["template"]
    js = named("Deployment", "chirpstack-application-server")["spec"]["template"]
    ns_env = {e["name"]: e["value"] for c in containers(ns) for e in c.get("env", [])}
    js_env = {e["name"]: e["value"] for c in containers(js) for e in c.get("env", [])}
    outbound = sidecar_config(ns)["outbound"][0]
    inbound = sidecar_config(js)["inbound"][0]
    server = urllib.parse.urlsplit(ns_env["JOIN_SERVER__DEFAULT__SERVER"])
    assert (server.scheme, server.hostname, server.port) == ("http", "127.0.0.1", port_of(outbound["listen"]))
    assert ns_env["JOIN_SERVER__RESOLVE_JOIN_EUI"] == "false"
    assert js_env["JOIN_SERVER__BIND"] == inbound["backend"]
    assert port_of(inbound["listen"]) == 8003


def chirpstack_v4_toml():
    return tomllib.loads(named("ConfigMap", "chirpstack-v4")["data"]["chirpstack.toml"])


def test_chirpstack_v4_config_carries_the_example_sections():
    """The Backend Interfaces tables of the mounted chirpstack.toml are deploy/examples/chirpstack-v4.toml."""
    shipped = tomllib.loads((DEPLOY / "examples" / "chirpstack-v4.toml").read_text())
    mounted = chirpstack_v4_toml()
    assert set(shipped) == {"join_server", "roaming", "backend_interfaces"}
    for section in shipped:
        assert mounted[section] == shipped[section], section


def test_chirpstack_v4_talks_to_the_sidecars():
    """Every Join Server and roaming partner is reached through an outbound listener of the pod's sidecar
    (no DNS discovery: both defaults off), and the inbound listener relays to [backend_interfaces]."""
    template = named("Deployment", "chirpstack")["spec"]["template"]
    config = sidecar_config(template)
    toml = chirpstack_v4_toml()
    outbound = {port_of(listener["listen"]): listener for listener in config["outbound"]}
    servers = toml["join_server"]["servers"] + toml["roaming"]["servers"]
    assert not toml["join_server"]["default"]["enabled"] and not toml["roaming"]["default"]["enabled"]
    used = []
    for server in servers:
        url = urllib.parse.urlsplit(server["server"])
        assert (url.scheme, url.hostname) == ("http", "127.0.0.1"), server
        assert url.port in outbound, server
        used.append(url.port)
    assert sorted(used) == sorted(outbound), "one outbound listener per remote server, none unused"
    inbound = config["inbound"]
    assert [listener["backend"] for listener in inbound] == [toml["backend_interfaces"]["bind"]]
    assert toml["backend_interfaces"]["bind"].startswith("127.0.0.1:")
    bound = {sender for ids in inbound[0]["client_auth"]["sender_ids"].values() for sender in ids}
    assert {server["net_id"].lower() for server in toml["roaming"]["servers"]} == bound, \
        "each roaming partner's identity is bound to its NetID"
    chirpstack = next(c for c in template["spec"]["containers"] if c["name"] == "chirpstack")
    volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in chirpstack["volumeMounts"]}
    assert chirpstack["args"] == ["-c", "/etc/chirpstack"]
    assert mounts["/etc/chirpstack"]["configMap"]["name"] == "chirpstack-v4"


def test_chirpstack_v4_pod_ports_do_not_clash():
    template = named("Deployment", "chirpstack")["spec"]["template"]
    config = sidecar_config(template)
    toml = chirpstack_v4_toml()
    bound = {"api.bind": port_of(toml["api"]["bind"]), "backend_interfaces.bind":
             port_of(toml["backend_interfaces"]["bind"]), "sidecar admin": port_of(config["admin"]["listen"]),
             "unbound": 5353}
    for listener in config["inbound"] + config["outbound"]:
        bound[f"sidecar {listener['name']}"] = port_of(listener["listen"])
    by_port = {}
    for what, port in bound.items():
        by_port.setdefault(port, []).append(what)
    assert not {port: whats for port, whats in by_port.items() if len(whats) > 1}


def test_chirpstack_v4_env_secret_feeds_the_toml_variables():
    """ChirpStack v4 replaces $NAME in its TOML by the environment; each one used must come from the Secret."""
    template = named("Deployment", "chirpstack")["spec"]["template"]
    chirpstack = next(c for c in template["spec"]["containers"] if c["name"] == "chirpstack")
    provided = {e["name"] for e in chirpstack.get("env", [])}
    for source in chirpstack.get("envFrom", []):
        provided |= set(named("Secret", source["secretRef"]["name"])["stringData"])
    used = set(re.findall(r"\$([A-Z_][A-Z0-9_]*)", named("ConfigMap", "chirpstack-v4")["data"]["chirpstack.toml"]))
    assert used and used <= provided, used - provided


def test_unbound_accepts_its_config(tmp_path):
    checker = shutil.which("unbound-checkconf")
    assert checker, "unbound-checkconf missing: install Debian's unbound (deploy/install-deps.sh)"
    conf = tmp_path / "unbound.conf"
    conf.write_text(named("ConfigMap", "dance-unbound")["data"]["unbound.conf"])
    result = subprocess.run([checker, str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ChirpStack Application Server v3 listeners that stay at their defaults in js-deployment.yaml (its
# chirpstack-application-server.toml): [application_server.api] 0.0.0.0:8001 and
# [application_server.external_api] 0.0.0.0:8080. Both log.Fatal on a bind error, so a clash crash-loops the pod.
CHIRPSTACK_AS_V3_DEFAULT_PORTS = {"application_server.api": 8001, "application_server.external_api": 8080}


def test_js_pod_ports_do_not_clash_with_chirpstack_defaults():
    js = named("Deployment", "chirpstack-application-server")["spec"]["template"]
    env = {e["name"]: e["value"] for c in containers(js) for e in c.get("env", [])}
    config = sidecar_config(js)
    bound = dict(CHIRPSTACK_AS_V3_DEFAULT_PORTS)
    bound["join_server.bind (JOIN_SERVER__BIND)"] = port_of(env["JOIN_SERVER__BIND"])
    bound["sidecar inbound listen"] = port_of(config["inbound"][0]["listen"])
    bound["sidecar admin"] = port_of(config["admin"]["listen"])
    bound["unbound"] = 5353
    by_port = {}
    for what, port in bound.items():
        by_port.setdefault(port, []).append(what)
    assert not {port: whats for port, whats in by_port.items() if len(whats) > 1}
    assert env["JOIN_SERVER__BIND"].startswith("127.0.0.1:"), "the JS API must stay on loopback"


@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_sidecars_are_native_and_start_before_chirpstack(name, template):
    """unbound, then dance-sidecar, as init containers with restartPolicy: Always and a startupProbe: the
    kubelet starts ChirpStack only once both are up, and stops them only after ChirpStack has exited."""
    init = template["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["unbound", "dance-sidecar"]
    for container in init:
        assert container["restartPolicy"] == "Always", container["name"]
        assert container["startupProbe"], container["name"]
    assert [c["name"] for c in template["spec"]["containers"]] == [name]


def test_join_server_survives_voluntary_disruptions():
    js = named("Deployment", "chirpstack-application-server")
    labels = js["spec"]["template"]["metadata"]["labels"]
    budgets = [p for p in of_kind("PodDisruptionBudget") if labels_match(p["spec"]["selector"]["matchLabels"], labels)]
    assert len(budgets) == 1 and budgets[0]["spec"]["minAvailable"] < js["spec"]["replicas"]
    spread = js["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"
    assert labels_match(spread[0]["labelSelector"]["matchLabels"], labels)


def test_network_policies_open_only_the_sidecar_ports():
    for name, template in pod_specs():
        labels = template["metadata"]["labels"]
        policies = [p for p in of_kind("NetworkPolicy") if labels_match(p["spec"]["podSelector"]["matchLabels"], labels)]
        assert len(policies) == 1, name
        opened = {port["port"] for rule in policies[0]["spec"]["ingress"] for port in rule["ports"]}
        config = sidecar_config(template)
        expected = {port_of(config["admin"]["listen"])} | {port_of(listener["listen"]) for listener in config["inbound"]}
        assert opened == expected, (name, opened, expected)


PER_CONNECTION_KIB = 34  # one held inbound connection in the image (33.3 KiB, tests/bench/container_memory.py)
BASE_MIB = 64  # the process, its TLSA cache at the default max_entries, allocator slack


def mebibytes(quantity):
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_sidecar_memory_limit_holds_max_connections(name, template):
    sidecar = next(c for c in containers(template) if c["name"] == "dance-sidecar")
    limit = mebibytes(sidecar["resources"]["limits"]["memory"])
    connections = sum(listener.get("max_connections", 10000) for listener in sidecar_config(template)["inbound"])
    assert limit >= BASE_MIB + connections * PER_CONNECTION_KIB / 1024, (name, limit, connections)


@pytest.mark.parametrize("name,template", pod_specs(), ids=[name for name, _ in pod_specs()])
def test_sidecar_workers_match_the_cpu_limit(name, template):
    """workers: 0 means one event loop per host core, whatever the container's CPU limit: on a 64-core node
    a 1-CPU sidecar would run 64 loops and be throttled. The ConfigMap sizes them to limits.cpu."""
    sidecar = next(c for c in containers(template) if c["name"] == "dance-sidecar")
    cpu = sidecar["resources"]["limits"]["cpu"]
    cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    assert sidecar_config(template)["workers"] == max(1, int(cores)), (name, cpu)


def test_prometheus_rule_carries_the_alert_rules_file():
    """The optional component's PrometheusRule must hold exactly the groups promtool tests in deploy/prometheus."""
    rule = next(document for document in of_kind("PrometheusRule"))
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "dance-sidecar.rules.yaml").read_text())
    assert rule["spec"]["groups"] == shipped["groups"]
