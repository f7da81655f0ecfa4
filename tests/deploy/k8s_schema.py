"""Offline schema check of Kubernetes manifests against current Kubernetes models.

Nothing in Debian 12 validates manifests without a cluster, and its python3-kubernetes models are from
Kubernetes 1.22 (no `restartPolicy` on init containers, no `preStop.sleep`). The schema comes from the npm
package kubernetes-models (generated from the Kubernetes OpenAPI spec; version pinned below): its TypeScript
declarations (`*.d.ts`) list, for every object type, each field's JSON name, its type and whether it is
optional (`?`). They are read here, with no JavaScript run: unknown fields, wrong types, values outside
an enum and missing required fields are reported with their path.

The package is installed once with npm into a cache directory (K8S_MODELS_DIR overrides: a node_modules
directory that holds kubernetes-models and @kubernetes-models/apimachinery).
"""
import functools
import os
import pathlib
import re
import shutil
import subprocess
import time

MODELS_VERSION = "5.1.0"  # kubernetes-models on npm: has ContainerRestartRule, so Kubernetes 1.34 or later

# monitoring.coreos.com/v1 ServiceMonitor is a CRD, absent from kubernetes-models: the fields used here,
# from the Prometheus Operator API reference.
SERVICE_MONITOR_SPEC = {"jobLabel", "targetLabels", "podTargetLabels", "endpoints", "selector",
                        "namespaceSelector", "sampleLimit", "attachMetadata"}
SERVICE_MONITOR_ENDPOINT = {"port", "targetPort", "path", "scheme", "params", "interval", "scrapeTimeout",
                            "tlsConfig", "bearerTokenSecret", "honorLabels", "honorTimestamps",
                            "relabelings", "metricRelabelings", "followRedirects", "enableHttp2"}

# monitoring.coreos.com/v1 PrometheusRule, likewise: the rule group and rule fields Prometheus accepts.
PROMETHEUS_RULE_GROUP = {"name", "interval", "rules", "limit", "query_offset", "labels"}
PROMETHEUS_RULE = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}

# The built-in kinds the manifests may use (the base kustomization must stay within them: no CRD).
BUILTIN_KINDS = {
    ("v1", "Namespace"): "IoK8sApiCoreV1Namespace",
    ("v1", "ConfigMap"): "IoK8sApiCoreV1ConfigMap",
    ("v1", "Secret"): "IoK8sApiCoreV1Secret",
    ("v1", "Service"): "IoK8sApiCoreV1Service",
    ("apps/v1", "Deployment"): "IoK8sApiAppsV1Deployment",
    ("policy/v1", "PodDisruptionBudget"): "IoK8sApiPolicyV1PodDisruptionBudget",
    ("networking.k8s.io/v1", "NetworkPolicy"): "IoK8sApiNetworkingV1NetworkPolicy",
}


def _skip(reason):
    """Skips the calling test visibly (the machine cannot reach the models), never passes it."""
    import pytest
    pytest.skip(reason)


FAILED_STAMP = ".npm-install-failed"  # in the prefix: a failure is not retried for FAILED_RETRY_S
FAILED_RETRY_S = 3600


def models_dir():
    """node_modules holding kubernetes-models; installed with npm into the cache on first use. Without the
    npm registry it gives up in about a minute and later calls skip at once for an hour: several checks run in
    one suite, and npm's own retries would otherwise wait ten minutes each."""
    if os.environ.get("K8S_MODELS_DIR"):
        return pathlib.Path(os.environ["K8S_MODELS_DIR"])
    cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    prefix = cache / "dance-sidecar" / f"kubernetes-models-{MODELS_VERSION}"
    modules = prefix / "node_modules"
    if not (modules / "kubernetes-models" / "package.json").exists():
        if shutil.which("npm") is None:
            _skip("npm is not installed: the manifests are not checked against the Kubernetes schema")
        prefix.mkdir(parents=True, exist_ok=True)
        stamp = prefix / FAILED_STAMP
        if stamp.exists() and time.time() - stamp.stat().st_mtime < FAILED_RETRY_S:
            _skip(f"npm install kubernetes-models@{MODELS_VERSION} failed less than an hour ago, not retried: "
                  f"{stamp.read_text()[-400:]}")
        why = _npm_install(prefix)
        if why:
            stamp.write_text(why)
            _skip(f"npm install kubernetes-models@{MODELS_VERSION} failed (the npm registry is needed once; "
                  f"K8S_MODELS_DIR can point at a node_modules instead): {why[-400:]}")
        stamp.unlink(missing_ok=True)
    return modules


def _npm_install(prefix):
    """"" on success, else why not."""
    try:
        result = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                                 "--ignore-scripts", "--loglevel=error", "--fetch-timeout=20000",
                                 "--fetch-retries=1", f"kubernetes-models@{MODELS_VERSION}"],
                                capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "no answer within 120 s"
    return "" if result.returncode == 0 else (result.stderr.strip() or f"exit code {result.returncode}")


_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_INTERFACE = re.compile(r"export interface (\w+)(?: extends [\w, ]+)? \{\n(.*?)\n\}", re.S)
_TYPE_ALIAS = re.compile(r"export type (\w+) = ([^;{]+);")
_EXPORT_AS = re.compile(r"export type \{ (\w+) as I(\w+),")


def split_top(text, separator):
    """Splits at separator outside <>, {} and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "<{[":
            depth += 1
        elif not quoted and char in ">}]":
            depth -= 1
        elif not quoted and depth == 0 and char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def parse_type(text):
    text = text.strip()
    alternatives = split_top(text, "|")
    if len(alternatives) > 1:
        return ("union", tuple(parse_type(a) for a in alternatives))
    if text.startswith("Array<") and text.endswith(">"):
        return ("list", parse_type(text[6:-1]))
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip().rstrip(";")
        match = re.fullmatch(r"\[key: string\]: (.*)", inner, re.S)
        return ("map", parse_type(match.group(1))) if match else ("prim", "any")
    if text.startswith('"'):
        return ("lit", text.strip('"'))
    if text in ("string", "number", "boolean", "any", "object", "unknown"):
        return ("prim", text)
    return ("ref", text[1:] if text.startswith("I") else text)  # IIoK8s... -> IoK8s...


def parse_fields(body):
    fields = {}
    for entry in split_top(body, ";"):
        match = re.fullmatch(r'"([^"]+)"(\??): (.*)', entry, re.S)
        if match:
            fields[match.group(1)] = (parse_type(match.group(3)), match.group(2) != "?")
    return fields


@functools.lru_cache(maxsize=None)
def registry():
    """{canonical name (IoK8sApiCoreV1Container...): ("object", fields) or ("alias", type)}."""
    types = {}
    root = models_dir()
    for package in ("kubernetes-models", "@kubernetes-models/apimachinery"):
        for path in (root / package).rglob("*.d.ts"):
            if "_schemas" in path.parts or "node_modules" in path.relative_to(root / package).parts:
                continue
            text = _COMMENT.sub("", path.read_text())
            exported = dict(_EXPORT_AS.findall(text))  # local interface name -> canonical name
            if not exported:
                continue
            for name, body in _INTERFACE.findall(text):
                if name in exported:
                    types[exported[name]] = ("object", parse_fields(body))
            for name, body in _TYPE_ALIAS.findall(text):
                if name in exported:
                    types[exported[name]] = ("alias", parse_type(body))
    if "IoK8sApiCoreV1Container" not in types:
        raise RuntimeError(f"no Kubernetes models found under {root}")
    return types


def describe(kind):
    tag, value = kind
    if tag == "lit":
        return repr(value)
    if tag == "union":
        return " or ".join(describe(v) for v in value)
    return {"string": "a string", "number": "a number", "boolean": "true/false"}.get(value, str(value))


def check(value, kind, path, errors):
    tag, detail = kind
    if tag == "ref":
        definition = registry().get(detail)
        if definition is None:
            return  # a type the package does not describe further (free-form)
        if definition[0] == "alias":
            check(value, definition[1], path, errors)
        else:
            check_object(value, detail, definition[1], path, errors)
    elif tag == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            check(item, detail, f"{path}[{index}]", errors)
    elif tag == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping")
            return
        for key, item in value.items():
            check(item, detail, f"{path}.{key}", errors)
    elif tag == "union":
        for alternative in detail:
            trial = []
            check(value, alternative, path, trial)
            if not trial:
                return
        errors.append(f"{path}: expected {describe(kind)}, got {value!r}")
    elif tag == "lit":
        if value != detail:
            errors.append(f"{path}: expected {detail!r}, got {value!r}")
    elif detail == "string" and not isinstance(value, str):
        errors.append(f"{path}: expected a string, got {value!r}")
    elif detail == "number" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        errors.append(f"{path}: expected a number, got {value!r}")
    elif detail == "boolean" and not isinstance(value, bool):
        errors.append(f"{path}: expected true/false, got {value!r}")


def check_object(value, name, fields, path, errors):
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a mapping ({name})")
        return
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{path}.{key}: unknown field for {name}")
        elif item is not None:
            check(item, fields[key][0], f"{path}.{key}", errors)
    for key, (_, required) in sorted(fields.items()):
        if required and value.get(key) is None:
            errors.append(f"{path}.{key}: required by {name}")


def check_service_monitor(document, path, errors):
    spec = document.get("spec") or {}
    check(document.get("metadata"), ("ref", "IoK8sApimachineryPkgApisMetaV1ObjectMeta"), f"{path}.metadata", errors)
    errors.extend(f"{path}.spec.{key}: unknown field for ServiceMonitor" for key in spec
                  if key not in SERVICE_MONITOR_SPEC)
    if "selector" not in spec:
        errors.append(f"{path}.spec.selector: required by ServiceMonitor")
    else:
        check(spec["selector"], ("ref", "IoK8sApimachineryPkgApisMetaV1LabelSelector"), f"{path}.spec.selector",
              errors)
    endpoints = spec.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        errors.append(f"{path}.spec.endpoints: required, a non-empty list")
        return
    for index, endpoint in enumerate(endpoints):
        errors.extend(f"{path}.spec.endpoints[{index}].{key}: unknown field for ServiceMonitor endpoint"
                      for key in endpoint if key not in SERVICE_MONITOR_ENDPOINT)


def check_prometheus_rule(document, path, errors):
    check(document.get("metadata"), ("ref", "IoK8sApimachineryPkgApisMetaV1ObjectMeta"), f"{path}.metadata", errors)
    spec = document.get("spec") or {}
    errors.extend(f"{path}.spec.{key}: unknown field for PrometheusRule" for key in spec if key != "groups")
    groups = spec.get("groups")
    if not isinstance(groups, list) or not groups:
        errors.append(f"{path}.spec.groups: required, a non-empty list")
        return
    for index, group in enumerate(groups):
        where = f"{path}.spec.groups[{index}]"
        errors.extend(f"{where}.{key}: unknown field for a rule group" for key in group
                      if key not in PROMETHEUS_RULE_GROUP)
        for number, rule in enumerate(group.get("rules") or []):
            errors.extend(f"{where}.rules[{number}].{key}: unknown field for a rule" for key in rule
                          if key not in PROMETHEUS_RULE)
            if "expr" not in rule or ("alert" in rule) == ("record" in rule):
                errors.append(f"{where}.rules[{number}]: needs expr and exactly one of alert, record")


def schema_errors(document, path):
    """Every schema violation in one manifest document, as 'path: message' strings."""
    errors = []
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if (api_version, kind) == ("monitoring.coreos.com/v1", "ServiceMonitor"):
        check_service_monitor(document, path, errors)
    elif (api_version, kind) == ("monitoring.coreos.com/v1", "PrometheusRule"):
        check_prometheus_rule(document, path, errors)
    elif (api_version, kind) in BUILTIN_KINDS:
        check(document, ("ref", BUILTIN_KINDS[(api_version, kind)]), path, errors)
        if not (document.get("metadata") or {}).get("name"):
            errors.append(f"{path}.metadata.name: required")
    else:
        errors.append(f"{path}: no schema for apiVersion {api_version!r} kind {kind!r}")
    return errors
