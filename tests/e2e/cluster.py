"""Access to the local cluster of DESIGN.md §4 (hack/cluster.sh)."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["REPO", "Cluster", "ensure_cluster", "install_crds"]

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    bin_dir: Path
    state_dir: Path = REPO / ".cluster"
    name: str = "rerunnable"

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            check=check,
            capture_output=True,
            text=True,
        )

    def api_address(self) -> tuple[str, int]:
        """The API server's host and port, as the kubeconfig names them."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        server = config["clusters"][0]["cluster"]["server"]
        host, port = server.removeprefix("https://").rsplit(":", 1)
        return host, int(port)

    def kubeconfig_through(self, proxy_port: int, path: Path) -> Path:
        """Write to `path` a kubeconfig that reaches the API server through a local proxy."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = f"https://127.0.0.1:{proxy_port}"
        path.write_text(yaml.safe_dump(config))
        return path


def ensure_cluster() -> Cluster:
    """Start the local cluster unless it already runs; raise if it cannot start.

    A missing cluster is an error, never a reason to skip: the e2e tests exist
    to run against a real API server.
    """
    bin_dir = subprocess.run(
        [str(REPO / "hack" / "k8s-bin.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    up = subprocess.run([str(REPO / "hack" / "cluster.sh"), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise RuntimeError(f"the local cluster did not start:\n{up.stdout}\n{up.stderr}")
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    # hack/cluster.sh names the cluster CLUSTER_NAME: the control plane's restarts find its
    # components by that name.
    name = os.environ.get("CLUSTER_NAME") or "rerunnable"
    return Cluster(kubeconfig=REPO / ".cluster" / "kubeconfig", bin_dir=Path(bin_dir), name=name)


def install_crds(cluster: Cluster) -> None:
    """Apply crds/ and wait until the API server serves them."""
    crds = sorted((REPO / "crds").glob("*.yaml"))
    if not crds:
        return
    files = [arg for crd in crds for arg in ("-f", str(crd))]
    cluster.kubectl("apply", "--server-side", "--force-conflicts", *files)
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *files)
