"""Checks deploy/Dockerfile without a Docker engine (none runs here) and without hadolint (not in Debian 12):
its instructions parse, the stages are the agreed ones, every package it installs exists in Debian's
archive under that name, and the runtime stage installs every shared library the built binary links
(DANCE_SIDECAR_BIN, set by CTest to $<TARGET_FILE:dance-sidecar>)."""
import json
import os
import pathlib
import re
import shlex
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
# Shared libraries of the sanitizer builds CTest runs; the image is built in Release without them.
SANITIZER_PACKAGES = {"libasan8", "libubsan1"}


def parse(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        pending += " " + stripped.rstrip("\\").strip() if pending else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
            pending = ""
    if pending:
        raise ValueError(f"dangling continuation: {pending!r}")
    return instructions


def stages(instructions):
    """{stage name: [(INSTRUCTION, arguments)]}, in order, from FROM image AS name."""
    result, current = {}, None
    for keyword, arguments in instructions:
        if keyword == "FROM":
            words = arguments.split()
            current = words[2] if len(words) == 3 and words[1].upper() == "AS" else f"stage{len(result)}"
            result[current] = [(keyword, arguments)]
        else:
            result[current].append((keyword, arguments))
    return result


def apt_packages(stage):
    packages = []
    for keyword, arguments in stage:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;", arguments):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                packages += [word for word in words[2:] if not word.startswith("-")]
    return packages


def exec_form(stage, keyword):
    values = [json.loads(arguments) for word, arguments in stage if word == keyword]
    return values[-1] if values else None


def problems(text):
    """Everything wrong with a Dockerfile's structure, as messages."""
    found = []
    instructions = parse(text)
    found += [f"unknown instruction {keyword}" for keyword, _ in instructions if keyword not in INSTRUCTIONS]
    all_stages = stages(instructions)
    if "build" not in all_stages or all_stages["build"][0][1].split()[0] != "debian:12":
        found.append("no build stage FROM debian:12 AS build")
    final_name = list(all_stages)[-1]
    final = all_stages[final_name]
    if final[0][1].split()[0] != "debian:12-slim":
        found.append("the last (default) stage must be FROM debian:12-slim")
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("the final stage must switch to a non-root USER")
    elif not users[-1].split(":")[0].isdigit():
        found.append("USER must be numeric so Kubernetes' runAsNonRoot can verify it")
    if exec_form(final, "ENTRYPOINT") != ["dance-sidecar"]:
        found.append('ENTRYPOINT must be ["dance-sidecar"]')
    if exec_form(final, "CMD") != ["run", "-c", "/etc/dance-sidecar/sidecar.yaml"]:
        found.append('CMD must be ["run", "-c", "/etc/dance-sidecar/sidecar.yaml"]')
    exposed = {word for keyword, arguments in final if keyword == "EXPOSE" for word in arguments.split()}
    if not {"8003", "9901"} <= exposed:
        found.append("EXPOSE 8003 and 9901")
    return found


DOCKERFILE_TEXT = DOCKERFILE.read_text()
STAGES = stages(parse(DOCKERFILE_TEXT))


def test_dockerfile_structure():
    assert problems(DOCKERFILE_TEXT) == []


def test_structure_check_reports_mistakes():
    broken = DOCKERFILE_TEXT.replace("USER 10001:10001", "USER root").replace("EXPOSE 8003 9901", "EXPOSE 8003")
    broken += "\nRUNN true\n"
    assert problems(broken) == ["unknown instruction RUNN", "the final stage must switch to a non-root USER",
                                "EXPOSE 8003 and 9901"]


def test_runtime_stage_installs_no_build_tools():
    runtime = apt_packages(list(STAGES.values())[-1])
    assert runtime
    assert not [p for p in runtime if p.endswith("-dev") or p in ("build-essential", "cmake", "g++")]


def test_build_stage_has_the_build_packages_of_install_deps():
    script = (ROOT / "deploy" / "install-deps.sh").read_text()
    group = re.search(r"# build\n(.*?)\n\s*#", script, re.S).group(1)
    wanted = set(group.split())
    assert wanted <= set(apt_packages(STAGES["build"])), wanted - set(apt_packages(STAGES["build"]))


def test_every_package_exists_in_debian():
    packages = sorted({p for stage in STAGES.values() for p in apt_packages(stage)})
    policy = subprocess.run(["apt-cache", "policy", *packages], capture_output=True, text=True, check=True).stdout
    candidates = dict(re.findall(r"^(\S+):\n\s+Installed: \S+\n\s+Candidate: (\S+)", policy, re.M))
    missing = [p for p in packages if candidates.get(p, "(none)") == "(none)"]
    assert not missing, f"not in this machine's Debian archive (apt-get update?): {missing}"


def path_forms(path):
    """The names dpkg may have recorded for a library: with merged /usr, /lib and /usr/lib are one."""
    forms = set()
    for candidate in (path, os.path.realpath(path)):
        bare = re.sub(r"^/usr/lib/", "/lib/", candidate)
        forms |= {bare, "/usr" + bare}
    return forms


def owners(paths):
    """{path: Debian package} from one dpkg -S call (it exits 1 when some form is unknown)."""
    listing = subprocess.run(["dpkg", "-S", *sorted(paths)], capture_output=True, text=True).stdout
    return {path: package.split(":")[0] for package, path in
            (line.rsplit(": ", 1) for line in listing.splitlines())}


def linked_packages(binary):
    """Debian packages of the libraries the binary names directly (DT_NEEDED)."""
    dynamic = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"NEEDED\s+(\S+)", dynamic)
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(
        ["ldd", binary], capture_output=True, text=True, check=True).stdout, re.M))
    missing = [soname for soname in needed if soname not in resolved]
    assert not missing, f"ldd cannot resolve {missing}"
    forms = {soname: path_forms(resolved[soname]) for soname in needed}
    owner = owners(set().union(*forms.values()))
    packages = {}
    for soname in needed:
        found = [owner[form] for form in forms[soname] if form in owner]
        assert found, f"no Debian package owns {resolved[soname]}"
        packages[soname] = found[0]
    return packages


def slim_image_packages():
    """debian:12-slim is a minbase: the Essential and Priority: required packages, apt, and what they
    depend on (libc6, libgcc-s1, libstdc++6...). Computed from this machine's dpkg database."""
    listing = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\n"],
                             capture_output=True, text=True, check=True).stdout
    depends, wanted = {}, ["apt"]
    for line in listing.splitlines():
        package, essential, priority, relations = line.split("\t")
        depends[package] = [re.split(r"[ :(]", alternative.strip())[0]
                            for alternative in re.split(r"[,|]", relations) if alternative.strip()]
        if essential == "yes" or priority == "required":
            wanted.append(package)
    image = set()
    while wanted:
        package = wanted.pop()
        if package in depends and package not in image:
            image.add(package)
            wanted += depends[package]
    return image


def test_runtime_stage_installs_every_linked_library():
    binary = os.environ.get("DANCE_SIDECAR_BIN")
    assert binary and os.path.exists(binary), "run through CTest, which sets DANCE_SIDECAR_BIN"
    runtime = set(apt_packages(list(STAGES.values())[-1]))
    in_base_image = slim_image_packages()
    linked = linked_packages(binary)
    uncovered = {soname: package for soname, package in linked.items()
                 if package not in runtime | in_base_image | SANITIZER_PACKAGES}
    assert not uncovered, f"add to the runtime stage of deploy/Dockerfile: {uncovered}"
