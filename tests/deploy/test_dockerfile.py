"""Checks deploy/Dockerfile without a container engine (tests/deploy/test_pod.py builds and runs the images)
and without hadolint (not in Debian 12): its instructions parse, the stages are the agreed ones, every
package it installs exists under that name in the archive of the Debian release its stage is built FROM
(not necessarily this machine's), nothing makes BuildKit fetch a frontend image, the final image carries OCI
labels, and deploy/image-rootfs.sh, which assembles the FROM-scratch runtime stage, gives the built binary
(DANCE_SIDECAR_BIN, set by CTest to $<TARGET_FILE:dance-sidecar>) every library it loads and nothing else."""
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
    if "build-deps" not in all_stages or all_stages["build-deps"][0][1].split()[0] != "debian:13":
        found.append("no stage FROM debian:13 AS build-deps")
    if "build" not in all_stages or all_stages["build"][0][1].split()[0] != "build-deps":
        found.append("no stage FROM build-deps AS build")
    final_name = list(all_stages)[-1]
    final = all_stages[final_name]
    if final[0][1].split()[0] != "scratch":
        found.append("the last (default) stage must be FROM scratch (only the binary and what it loads)")
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


def test_runtime_stage_runs_nothing_and_copies_only_the_assembled_root():
    runtime = list(STAGES.values())[-1]
    assert [keyword for keyword, _ in runtime if keyword == "RUN"] == []
    copies = [arguments for keyword, arguments in runtime if keyword == "COPY"]
    assert copies == ["--from=build /rootfs/ /"], copies


def test_no_syntax_directive_so_offline_builds_need_no_frontend_image():
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE_TEXT, re.M | re.I)


def test_final_image_carries_oci_labels():
    labels = " ".join(arguments for keyword, arguments in list(STAGES.values())[-1] if keyword == "LABEL")
    for key in ("title", "description", "version"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_build_stage_has_the_build_packages_of_install_deps():
    script = (ROOT / "deploy" / "install-deps.sh").read_text()
    group = re.search(r"# build\n(.*?)\n\s*#", script, re.S).group(1)
    wanted = set(group.split())
    assert wanted <= set(apt_packages(STAGES["build-deps"])), wanted - set(apt_packages(STAGES["build-deps"]))


# Debian releases by the version tag of their images (debian:13, debian:13-slim).
CODENAMES = {"11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}


def image_release(image):
    """Codename of a debian:N[-slim] image, None for any other image (scratch, an earlier stage)."""
    match = re.fullmatch(r"debian:(\w+?)(?:-slim)?", image)
    return CODENAMES.get(match.group(1), match.group(1)) if match else None


def host_release():
    fields = dict(line.split("=", 1) for line in pathlib.Path("/etc/os-release").read_text().splitlines()
                  if "=" in line)
    return fields.get("VERSION_CODENAME", "").strip('"')


def packages_by_release():
    """{codename: packages installed by the stages built FROM that Debian release (directly or not)}."""
    release_of, wanted = {}, {}
    for name, stage in STAGES.items():
        image = stage[0][1].split()[0]
        release_of[name] = release_of.get(image) or image_release(image)
        if apt_packages(stage):
            assert release_of[name], f"stage {name}: apt-get install in a stage not based on a Debian image"
            wanted.setdefault(release_of[name], set()).update(apt_packages(stage))
    return wanted


def apt_options(release, state):
    """apt options for a private copy of RELEASE's package lists under STATE (not this machine's own)."""
    mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    security = os.environ.get("DEBIAN_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text(f"deb {mirror} {release} main\ndeb {mirror} {release}-updates main\n"
                                        f"deb {security} {release}-security main\n")
    options = {"Dir::Etc::SourceList": state / "sources.list", "Dir::Etc::SourceParts": "-",
               "Dir::State::Lists": state / "lists", "Dir::Cache": state / "cache",
               "Dir::State::status": "/dev/null", "Acquire::Languages": "none", "APT::Sandbox::User": "root",
               "Debug::NoLocking": "1"}
    return [word for key, value in options.items() for word in ("-o", f"{key}={value}")]


def candidates(packages, apt_cache_options=()):
    policy = subprocess.run(["apt-cache", *apt_cache_options, "policy", *packages], capture_output=True, text=True,
                            check=True).stdout
    return dict(re.findall(r"^(\S+):\n\s+Installed: \S+\n\s+Candidate: (\S+)", policy, re.M))


@pytest.mark.parametrize("release", sorted(packages_by_release()))
def test_every_package_exists_in_debian(release, tmp_path_factory):
    """Names are checked against the archive of the release the stage is built FROM: on another release's
    machine (a Debian 12 host for the debian:13 stages) against a private copy of that release's package lists
    (DANCE_APT_STATE_DIR keeps it between runs), skipped with the reason where that archive is out of reach."""
    packages = sorted(packages_by_release()[release])
    if release == host_release():
        found, where = candidates(packages), "this machine's Debian archive (apt-get update?)"
    else:
        # absolute: apt reads a relative Dir::State::Lists as relative to its own root directory
        states = pathlib.Path(os.environ.get("DANCE_APT_STATE_DIR") or tmp_path_factory.mktemp("apt"))
        state = (states / release).resolve()
        options = apt_options(release, state)
        update = subprocess.run(["apt-get", *options, "-qq", "update"], capture_output=True, text=True)
        # the lists may be kept compressed (Packages.lz4, where apt.conf sets Acquire::GzipIndexes)
        if update.returncode != 0 or not any((state / "lists").glob("*_Packages*")):
            pytest.skip(f"the stages FROM {release} are not checked: this machine runs {host_release()} and "
                        f"{release}'s archive is out of reach ({update.stderr.strip()[-300:]})")
        found, where = candidates(packages, options), f"Debian {release}'s archive"
    missing = [p for p in packages if found.get(p, "(none)") == "(none)"]
    assert not missing, f"not in {where}: {missing}"


def test_image_rootfs_holds_exactly_the_libraries_the_binary_loads(tmp_path):
    binary = os.environ.get("DANCE_SIDECAR_BIN")
    assert binary and os.path.exists(binary), "run through CTest, which sets DANCE_SIDECAR_BIN"
    root = tmp_path / "rootfs"
    subprocess.run(["bash", str(ROOT / "deploy" / "image-rootfs.sh"), str(root), binary], check=True)
    loaded = {os.path.basename(line.split()[0]) for line in subprocess.run(
        ["ldd", binary], capture_output=True, text=True, check=True).stdout.splitlines()
        if "linux-vdso" not in line}
    shipped = {path.name for path in root.rglob("*.so*") if not path.is_symlink()}
    assert shipped == loaded, {"not shipped": loaded - shipped, "not loaded": shipped - loaded}
    assert not [name for name in shipped if "prometheus-cpp-pull" in name or "civetweb" in name]
    assert (root / "etc" / "passwd").read_text().count(":10001:10001:") == 1
    if os.geteuid() != 0:
        pytest.skip("chroot into the assembled root needs root")
    # An ASan build (the test suite's) finds its main thread's stack through /proc/self/maps; without it, the
    # exception CLI11 throws for --version is reported as a stack-buffer-overflow. The image runs a Release
    # build, which needs no /proc; a sanitized binary gets one mounted for this check.
    sanitized = any(name.startswith(("libasan", "libubsan")) for name in loaded)
    proc = root / "proc"
    if sanitized:
        proc.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        version = subprocess.run(["chroot", "--userspec=10001:10001", str(root),
                                  f"/usr/local/bin/{os.path.basename(binary)}", "--version"],
                                 capture_output=True, text=True, timeout=60)
    finally:
        if sanitized:
            subprocess.run(["umount", str(proc)], check=True)
    assert version.returncode == 0 and version.stdout.startswith("dance-sidecar "), version
