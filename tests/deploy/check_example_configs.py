#!/usr/bin/python3
"""Runs `dance-sidecar check -c` on every sidecar configuration shipped in deploy/.

The configurations name /etc/dance-sidecar/tls/tls.{crt,key}; a fresh self-signed key pair is generated
with openssl and the paths are rewritten to it. Broken variants must be rejected, so a `check` that
accepts anything fails this test. Exit 77 (skipped) while `check` is not implemented yet.

Usage: check_example_configs.py DANCE_SIDECAR_BINARY DEPLOY_DIR
"""
import pathlib
import subprocess
import sys
import tempfile

import yaml

SKIP = 77
TLS_DIR = "/etc/dance-sidecar/tls/"


def shipped_configs(deploy_dir):
    """(label, YAML text) of each example file and each sidecar.yaml embedded in a ConfigMap."""
    for path in sorted((deploy_dir / "examples").glob("*.yaml")):
        yield str(path.relative_to(deploy_dir)), path.read_text()
    for path in sorted((deploy_dir / "kubernetes").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "ConfigMap" and "sidecar.yaml" in doc.get("data", {}):
                yield f"{path.relative_to(deploy_dir)}:sidecar.yaml", doc["data"]["sidecar.yaml"]


def make_key_pair(directory):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "2", "-subj", "/CN=dance-sidecar deploy test",
         "-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt")],
        check=True, capture_output=True)


def run_check(binary, text, directory, name):
    config = directory / name
    config.write_text(text.replace(TLS_DIR, f"{directory}/"))
    return subprocess.run([binary, "check", "-c", str(config)], capture_output=True, text=True, timeout=60)


def broken_variants(text):
    """Configurations that any loader honouring the schema must reject."""
    config = yaml.safe_load(text)
    bad_mode = dict(config, dns=dict(config["dns"], mode="sometimes"))
    bad_codepoint = dict(config, dane_clientid={"codepoint": 70000})
    bad_admin = dict(config, admin={"listen": "127.0.0.1:notaport"})
    for label, variant in (("dns.mode", bad_mode), ("codepoint", bad_codepoint), ("admin.listen", bad_admin)):
        yield label, yaml.safe_dump(variant)


def main():
    binary, deploy_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    configs = list(shipped_configs(deploy_dir))
    if len(configs) < 6:
        print(f"FAIL: expected 3 examples and 3 ConfigMaps, found {[label for label, _ in configs]}")
        return 1
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = pathlib.Path(tmp)
        make_key_pair(directory)
        usage = subprocess.run([binary, "check", "--help"], capture_output=True, text=True, timeout=60)
        if "not implemented" in usage.stdout + usage.stderr:
            print("SKIP: `dance-sidecar check` is not implemented yet in this build")
            return SKIP
        for label, text in configs:
            result = run_check(binary, text, directory, "config.yaml")
            verdict = "ok" if result.returncode == 0 else "FAIL"
            failures += result.returncode != 0
            print(f"{verdict}: check accepts {label}" + ("" if result.returncode == 0 else f": {result.stderr}"))
        for label, text in broken_variants(configs[0][1]):
            result = run_check(binary, text, directory, "broken.yaml")
            verdict = "ok" if result.returncode != 0 else "FAIL"
            failures += result.returncode == 0
            print(f"{verdict}: check rejects a broken {label}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
