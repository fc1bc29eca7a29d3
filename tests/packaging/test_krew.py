"""The krew plugin: `hack/krew.sh --host` builds this machine's archive and its manifest.

The manifest follows krew's rules (those of its validation, internal/index/validation):
apiVersion, kind, a name that is the file's and a safe one, a one-line shortDescription, a
semver version (the package's), and for each platform a uri, a sha256 that is the
archive's, a `bin`, `files` with from and to, a selector on os and arch only, no two
platforms alike. The archive holds every `from` of `files`, and `bin` with its exec bit.
Unpacked into a temporary folder, it runs with nothing but a python3: no venv on PATH, no
PYTHONPATH, HOME an empty folder. krew itself (`hack/go-tool.sh krew`, built with Go) installs it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
VERSION = PROJECT["version"]
COMPLETION = "kubectl_complete-rerun" in PROJECT["scripts"]

Manifest = dict[str, Any]


def host() -> tuple[str, str]:
    machine = os.uname().machine
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[machine]
    return {"linux": "linux", "darwin": "darwin"}[sys.platform], arch


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("krew")
    env = {**os.environ, "KREW_BASE_URL": out.as_uri()}
    subprocess.run(
        [str(REPO / "hack" / "krew.sh"), "--host", "--out", str(out)], check=True, env=env
    )
    return out


@pytest.fixture(scope="module")
def manifest(built: Path) -> Manifest:
    doc = yaml.safe_load((built / "rerun.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def archive_of(built: Path, platform: dict[str, Any]) -> Path:
    uri: str = platform["uri"]
    assert uri.startswith(built.as_uri() + "/"), uri
    return built / uri.rsplit("/", 1)[1]


def clean_env(home: Path) -> dict[str, str]:
    """A user's shell: a python3 (the one this venv was made from), no venv, no PYTHONPATH."""
    python_bin = Path(sys.base_prefix) / "bin"
    assert (python_bin / "python3").exists()
    return {"PATH": f"{python_bin}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def test_manifest_follows_krew_rules(manifest: Manifest) -> None:
    assert manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert manifest["kind"] == "Plugin"
    assert manifest["metadata"]["name"] == "rerun"  # the file's name, rerun.yaml
    assert re.fullmatch(r"[\w-]+", manifest["metadata"]["name"])
    spec = manifest["spec"]
    assert spec["version"] == f"v{VERSION}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", spec["version"])
    assert spec["shortDescription"]
    assert "\n" not in spec["shortDescription"]
    assert "\r" not in spec["shortDescription"]
    assert spec["homepage"].startswith("https://")
    assert "python3" in spec["caveats"]
    assert ("kubectl_complete-rerun" in spec["caveats"]) == COMPLETION
    assert spec["platforms"]
    seen = set()
    for platform in spec["platforms"]:
        labels = platform["selector"]["matchLabels"]
        assert set(labels) == {"os", "arch"}
        assert labels["os"] in {"linux", "darwin"}
        assert labels["arch"] in {"amd64", "arm64"}
        seen.add((labels["os"], labels["arch"]))
        assert re.fullmatch(r"[a-f0-9]{64}", platform["sha256"])
        assert platform["uri"].endswith(f"/kubectl-rerun_{labels['os']}_{labels['arch']}.tar.gz")
        assert platform["bin"] == "kubectl-rerun"
        assert platform["files"]
        for op in platform["files"]:
            assert op["from"]
            assert op["to"] == "."
    assert len(seen) == len(spec["platforms"])  # no two platforms alike
    assert seen == {host()}  # --host: this machine's only


def test_each_sha256_is_its_archive(built: Path, manifest: Manifest) -> None:
    for platform in manifest["spec"]["platforms"]:
        data = archive_of(built, platform).read_bytes()
        assert hashlib.sha256(data).hexdigest() == platform["sha256"]


def test_archive_holds_files_and_an_executable_bin(built: Path, manifest: Manifest) -> None:
    for platform in manifest["spec"]["platforms"]:
        with tarfile.open(archive_of(built, platform)) as tar:
            members = {m.name: m for m in tar.getmembers()}
        assert all(m.isfile() and "/" not in name for name, m in members.items())
        assert {op["from"] for op in platform["files"]} == set(members)
        assert members[platform["bin"]].mode & 0o111 == 0o111
        expected = {"kubectl-rerun"} | ({"kubectl_complete-rerun"} if COMPLETION else set())
        expected |= {"LICENSE"} if (REPO / "LICENSE").exists() else set()
        assert set(members) == expected
        assert all(m.mode & 0o111 for name, m in members.items() if name != "LICENSE")


@pytest.fixture(scope="module")
def unpacked(built: Path, manifest: Manifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (platform,) = manifest["spec"]["platforms"]
    folder = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archive_of(built, platform)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def test_kubectl_rerun_runs_with_only_python3(unpacked: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    version = subprocess.run(
        ["./kubectl-rerun", "--version"], cwd=unpacked, env=env, capture_output=True, text=True
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"kubectl-rerun {VERSION}"
    usage = subprocess.run(
        ["./kubectl-rerun", "--help"], cwd=unpacked, env=env, capture_output=True, text=True
    )
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith("usage: kubectl rerun")
    for command in ("run", "cancel", "history", "status"):
        assert command in usage.stdout
    assert list(tmp_path.glob(".shiv/kubectl-rerun_*"))  # unpacked into HOME at its first run


@pytest.mark.skipif(not COMPLETION, reason="no kubectl_complete-rerun in pyproject.toml")
def test_kubectl_complete_rerun_completes_the_commands(unpacked: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        ["./kubectl_complete-rerun", ""],
        cwd=unpacked,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith(":")
    assert {line.split("\t")[0] for line in lines[:-1]} >= {"run", "cancel", "history"}


@pytest.mark.skipif(shutil.which("go") is None, reason="krew is built with Go (hack/go-tool.sh)")
def test_krew_installs_the_plugin(built: Path, manifest: Manifest, tmp_path: Path) -> None:
    krew = subprocess.run(
        [str(REPO / "hack" / "go-tool.sh"), "krew"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (platform,) = manifest["spec"]["platforms"]
    env = {**clean_env(tmp_path), "KREW_ROOT": str(tmp_path / "krew")}
    install = subprocess.run(
        [
            krew,
            "install",
            f"--manifest={built / 'rerun.yaml'}",
            f"--archive={archive_of(built, platform)}",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    assert "Installed plugin: rerun" in install.stderr
    plugin = tmp_path / "krew" / "bin" / "kubectl-rerun"
    assert plugin.is_symlink()
    version = subprocess.run(
        [str(plugin), "--version"], env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"kubectl-rerun {VERSION}"
