"""Chart unit tests: `helm template` and `helm lint` of helm/rerunnable, no cluster.

helm is the one `make k8s-bin` builds (hack/k8s-bin.sh prints where it is, and
builds it first if it is not there); promtool, which checks the alerts and the
dashboard's queries, is the one `make promtool` builds (`hack/go-tool.sh promtool`, likewise).
"""

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "rerunnable"

Docs = list[dict[str, Any]]
Helm = Callable[..., subprocess.CompletedProcess[str]]
Render = Callable[..., Docs]


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    out = subprocess.run(
        [str(REPO / "hack" / "k8s-bin.sh")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip()) / "helm"


@pytest.fixture(scope="session")
def promtool() -> Path:
    out = subprocess.run(
        [str(REPO / "hack" / "go-tool.sh"), "promtool"], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


@pytest.fixture
def helm(helm_bin: Path, tmp_path: Path) -> Helm:
    """Run helm with its caches and config under the test's own folder."""
    env = {
        "HELM_CACHE_HOME": str(tmp_path / "cache"),
        "HELM_CONFIG_HOME": str(tmp_path / "config"),
        "HELM_DATA_HOME": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(helm_bin), *args], capture_output=True, text=True, env=env, check=False
        )

    return run


@pytest.fixture
def render(helm: Helm) -> Render:
    """The objects `helm template rr` makes in namespace "ns" with these --set values."""

    def run(*values: str) -> Docs:
        args = [a for v in values for a in ("--set", v)]
        done = helm("template", "rr", str(CHART), "-n", "ns", *args)
        assert done.returncode == 0, done.stderr
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    return run


@pytest.fixture
def refused(helm: Helm) -> Callable[..., str]:
    """What helm says when it refuses to render with these --set values."""

    def run(*values: str) -> str:
        args = [a for v in values for a in ("--set", v)]
        done = helm("template", "rr", str(CHART), "-n", "ns", *args)
        assert done.returncode != 0, f"rendered with {values}"
        return done.stderr

    return run
