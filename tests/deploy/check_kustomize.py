#!/usr/bin/python3
"""Builds deploy/kubernetes with `kubectl kustomize` as a user would apply it, and checks what comes out.

Builds: the base alone (`kubectl apply -k deploy/kubernetes`) and the base with every combination of the
components under components/ (what deploy/README.md tells users to add from an overlay: monitoring,
chirpstack-v4). Each combination is built from a temporary overlay that names the base and the components
by relative path, as a user's overlay does. For every build:
- kubectl kustomize must succeed;
- every document must pass the schema check of k8s_schema.py (npm kubernetes-models);
- every namespaced object must be in the namespace lorawan (a component without `namespace:` leaves its
  objects in whatever namespace kubectl's context names);
- no two objects may share a kind and name;
- the objects must be exactly those of the files the kustomizations list, minus the components' delete
  patches, each equal to its file apart from metadata.namespace. tests/deploy/test_kubernetes.py reads
  those files directly, so this ties what it checks to what kubectl applies.

Exit 0 on success, 1 on a failure, 77 (CTest: skipped, reason printed) when kubectl is missing or too old
for components (kubectl 1.21, kustomize v4) or when the Kubernetes models cannot be had. KUBECTL=path
picks the binary; otherwise the one on PATH, else the one deploy/install-deps.sh installs on Debian 12.

Usage: check_kustomize.py DEPLOY_DIR
"""
import copy
import itertools
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

import k8s_schema

SKIP = 77
NAMESPACE = "lorawan"
CLUSTER_SCOPED = {"Namespace"}
MIN_KUBECTL_MINOR = 21  # kubectl 1.21 embeds kustomize v4.0.5: components and `patches:` with $patch: delete
MIN_KUSTOMIZE_MAJOR = 4


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


# Where deploy/install-deps.sh puts Debian 13's kubectl on Debian 12 (outside PATH).
INSTALLED_FOR_TESTS = "/usr/local/libexec/dance-sidecar/kubectl"


def kubectl_version(kubectl):
    """(description, None) of a kubectl new enough for components, or (None, why not)."""
    result = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True,
                            timeout=60)
    try:
        version = json.loads(result.stdout)
        client = version["clientVersion"]
        minor = int(re.match(r"\d+", client["minor"]).group())
        major = int(re.match(r"\d+", client["major"]).group())
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, f"cannot read the version of {kubectl} ({result.stdout.strip()[:200]} {result.stderr.strip()[:200]})"
    described = f"{kubectl} {client.get('gitVersion', f'{major}.{minor}')}"
    if (major, minor) < (1, MIN_KUBECTL_MINOR):
        return None, f"{described} is older than 1.{MIN_KUBECTL_MINOR}: its kustomize cannot build components"
    kustomize = version.get("kustomizeVersion")  # reported from kubectl 1.24 on
    if kustomize:
        described += f", kustomize {kustomize}"
        match = re.match(r"v?(\d+)", kustomize)
        if match and int(match.group(1)) < MIN_KUSTOMIZE_MAJOR:
            return None, f"{described}: kustomize older than v{MIN_KUSTOMIZE_MAJOR}"
    return described, None


def find_kubectl():
    """(path, description) of a kubectl new enough: $KUBECTL, else the one on PATH, else the one
    deploy/install-deps.sh installed for the tests; or exit 77 with the reasons."""
    if os.environ.get("KUBECTL"):
        candidates = [os.environ["KUBECTL"]]
    else:
        candidates = [path for path in (shutil.which("kubectl"), INSTALLED_FOR_TESTS)
                      if path and os.access(path, os.X_OK)]
    if not candidates:
        skip("kubectl is not installed (deploy/install-deps.sh installs Debian 13's, also on Debian 12): "
             "kustomize builds not checked")
    reasons = []
    for kubectl in candidates:
        described, why_not = kubectl_version(kubectl)
        if described:
            return kubectl, described
        reasons.append(why_not)
    skip("; ".join(reasons))


def load_kustomization(directory):
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def file_documents(directory):
    """{(kind, name): document} of every file a kustomization lists (recursing into listed directories)."""
    documents = {}
    for entry in load_kustomization(directory).get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            documents.update(file_documents(path))
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents[(document["kind"], document["metadata"]["name"])] = document
    return documents


def deleted_by(directory):
    """(kind, name) of each object a kustomization's `$patch: delete` patches remove."""
    deleted = set()
    for entry in load_kustomization(directory).get("patches", []):
        text = entry.get("patch") or (directory / entry["path"]).read_text()
        for patch in yaml.safe_load_all(text):
            if patch and patch.get("$patch") == "delete":
                deleted.add((patch["kind"], patch["metadata"]["name"]))
    return deleted


def expected_objects(base, components):
    expected = file_documents(base)
    for component in components:
        for key in deleted_by(component):
            assert key in expected, f"{component.name} deletes {key}, which is not there"
            del expected[key]
        added = file_documents(component)
        clash = set(added) & set(expected)
        assert not clash, f"{component.name} adds objects already there: {sorted(clash)}"
        expected.update(added)
    return expected


def build(kubectl, base, components, scratch):
    """`kubectl kustomize` of the base alone, or of an overlay naming it and the components."""
    if not components:
        target = base
    else:
        target = scratch / "-".join(component.name for component in components)
        target.mkdir()
        relative = lambda path: os.path.relpath(path, target)  # kustomize refuses absolute paths
        (target / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [relative(base)], "components": [relative(c) for c in components]}))
    return subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True, timeout=120)


def check_build(label, built, expected):
    """Every problem with one build, as strings."""
    problems = []
    seen = {}
    for index, document in enumerate(built):
        key = (document.get("kind"), (document.get("metadata") or {}).get("name"))
        where = f"{label}: {key[0]}/{key[1]}"
        if key in seen:
            problems.append(f"{where}: appears twice")
        seen[key] = document
        problems += [f"{label}: {error}" for error in k8s_schema.schema_errors(document, f"{key[0]}/{key[1]}")]
        namespace = document["metadata"].get("namespace")
        if key[0] in CLUSTER_SCOPED:
            if namespace is not None:
                problems.append(f"{where}: cluster-scoped, yet in namespace {namespace}")
        elif namespace != NAMESPACE:
            problems.append(f"{where}: in namespace {namespace!r}, not {NAMESPACE!r}")
    for key in sorted(set(expected) - set(seen)):
        problems.append(f"{label}: {key[0]}/{key[1]} is in the files but not in the build")
    for key in sorted(set(seen) - set(expected)):
        problems.append(f"{label}: {key[0]}/{key[1]} is in the build but in no listed file")
    for key in sorted(set(seen) & set(expected)):
        document = copy.deepcopy(seen[key])
        document["metadata"].pop("namespace", None)
        reference = copy.deepcopy(expected[key])
        reference["metadata"].pop("namespace", None)
        if document != reference:
            problems.append(f"{label}: {key[0]}/{key[1]} differs from its file")
    return problems


def main():
    base = pathlib.Path(sys.argv[1]).resolve() / "kubernetes"
    kubectl, described = find_kubectl()
    print(f"using {described}")
    try:
        k8s_schema.registry()
    except pytest.skip.Exception as reason:  # k8s_schema skips, with the reason, when npm cannot install the models
        skip(str(reason))
    components = sorted(path.parent for path in (base / "components").glob("*/kustomization.yaml"))
    combinations = [list(chosen) for size in range(len(components) + 1)
                    for chosen in itertools.combinations(components, size)]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for chosen in combinations:
            label = " + ".join(["base"] + [component.name for component in chosen])
            result = build(kubectl, base, chosen, pathlib.Path(tmp))
            if result.returncode != 0:
                problems = [f"{label}: kubectl kustomize failed: {result.stderr.strip()}"]
            else:
                built = [document for document in yaml.safe_load_all(result.stdout) if document]
                problems = check_build(label, built, expected_objects(base, chosen))
            failures += bool(problems)
            for problem in problems:
                print(f"FAIL: {problem}")
            if not problems:
                print(f"ok: {label}: {len(built)} objects built, schema valid, all in namespace {NAMESPACE}, "
                      f"as listed in the files")
    print(f"{len(combinations) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
