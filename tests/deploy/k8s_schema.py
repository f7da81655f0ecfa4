"""Offline schema check of Kubernetes manifests.

Nothing in Debian 12 validates manifests without a cluster (kubectl needs an API server for that), so the
schema comes from Debian's python3-kubernetes: its model classes are generated from the Kubernetes 1.22
OpenAPI spec and list, for every object type, each field's JSON name and type (`attribute_map`,
`openapi_types`) and which fields are required (their setters reject None). Unknown fields, wrong types
and missing required fields are reported with their path.
"""
import datetime
import functools
import inspect
import re

import kubernetes.client.models as models

BUILTIN_KINDS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("apps/v1", "Deployment"): "V1Deployment",
}

# monitoring.coreos.com/v1 ServiceMonitor is a CRD, absent from python3-kubernetes: the fields used here,
# from the Prometheus Operator API reference.
SERVICE_MONITOR_SPEC = {"jobLabel", "targetLabels", "podTargetLabels", "endpoints", "selector",
                        "namespaceSelector", "sampleLimit", "attachMetadata"}
SERVICE_MONITOR_ENDPOINT = {"port", "targetPort", "path", "scheme", "params", "interval", "scrapeTimeout",
                            "tlsConfig", "bearerTokenSecret", "honorLabels", "honorTimestamps",
                            "relabelings", "metricRelabelings", "followRedirects", "enableHttp2"}

REQUIRED_PATTERN = re.compile(r"Invalid value for `(\w+)`, must not be `None`")


@functools.lru_cache(maxsize=None)
def model_fields(model_name):
    """(json name -> type name, set of required json names) for one generated model class."""
    model = getattr(models, model_name)
    python_to_json = model.attribute_map
    types = {python_to_json[attr]: kind for attr, kind in model.openapi_types.items()}
    required = {python_to_json[attr] for attr in REQUIRED_PATTERN.findall(inspect.getsource(model))}
    return types, required


def check_value(value, type_name, path, errors):
    if type_name.startswith("list["):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            check_value(item, type_name[5:-1], f"{path}[{index}]", errors)
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a mapping")
            return
        item_type = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check_value(item, item_type, f"{path}.{key}", errors)
    elif type_name == "str":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {value!r}")
    elif type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer, got {value!r}")
    elif type_name == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true/false, got {value!r}")
    elif type_name == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{path}: expected a number, got {value!r}")
    elif type_name == "datetime":
        if not isinstance(value, (str, datetime.datetime)):
            errors.append(f"{path}: expected a timestamp")
    elif type_name == "object":  # IntOrString, Quantity, free-form
        if isinstance(value, (list, dict)) and path.endswith(("port", "targetPort")):
            errors.append(f"{path}: expected a port number or name")
    else:
        check_object(value, type_name, path, errors)


def check_object(value, model_name, path, errors):
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a mapping ({model_name})")
        return
    types, required = model_fields(model_name)
    for key, item in value.items():
        if key not in types:
            errors.append(f"{path}.{key}: unknown field for {model_name}")
        elif item is not None:
            check_value(item, types[key], f"{path}.{key}", errors)
    for key in sorted(required - {"apiVersion", "kind"}):
        if value.get(key) is None:
            errors.append(f"{path}.{key}: required by {model_name}")


def check_service_monitor(document, path, errors):
    spec = document.get("spec") or {}
    check_object(document.get("metadata"), "V1ObjectMeta", f"{path}.metadata", errors)
    errors.extend(f"{path}.spec.{key}: unknown field for ServiceMonitor" for key in spec
                  if key not in SERVICE_MONITOR_SPEC)
    if "selector" not in spec:
        errors.append(f"{path}.spec.selector: required by ServiceMonitor")
    else:
        check_object(spec["selector"], "V1LabelSelector", f"{path}.spec.selector", errors)
    endpoints = spec.get("endpoints")
    if not isinstance(endpoints, list) or not endpoints:
        errors.append(f"{path}.spec.endpoints: required, a non-empty list")
        return
    for index, endpoint in enumerate(endpoints):
        errors.extend(f"{path}.spec.endpoints[{index}].{key}: unknown field for ServiceMonitor endpoint"
                      for key in endpoint if key not in SERVICE_MONITOR_ENDPOINT)


def schema_errors(document, path):
    """Every schema violation in one manifest document, as 'path: message' strings."""
    errors = []
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if (api_version, kind) == ("monitoring.coreos.com/v1", "ServiceMonitor"):
        check_service_monitor(document, path, errors)
    elif (api_version, kind) in BUILTIN_KINDS:
        check_object(document, BUILTIN_KINDS[(api_version, kind)], path, errors)
        if not (document.get("metadata") or {}).get("name"):
            errors.append(f"{path}.metadata.name: required")
    else:
        errors.append(f"{path}: no schema for apiVersion {api_version!r} kind {kind!r}")
    return errors
