"""The benchmark's own cluster (hack/cluster.sh with its own name and state folder).

It never touches the test cluster (.cluster/): the benchmark can then restart
the controller manager with another client QPS and delete everything at will.
"""

import os
import subprocess
from pathlib import Path

__all__ = ["REPO", "BenchCluster"]

REPO = Path(__file__).resolve().parents[1]


class BenchCluster:
    def __init__(
        self, name: str = "rerunnable-bench", state: Path = REPO / ".cluster-bench"
    ) -> None:
        self.name = name
        self.state = state
        self.kube_api_qps: float | None = None  # None: the controller manager's default
        self.kube_api_burst: int | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    def _env(self, extra_args: list[str]) -> dict[str, str]:
        return {
            **os.environ,
            "CLUSTER": "kwok",
            "CLUSTER_NAME": self.name,
            "CLUSTER_STATE": str(self.state),
            "CLUSTER_EXTRA_ARGS": " ".join(extra_args),
        }

    def _script(self, command: str, extra_args: list[str]) -> None:
        done = subprocess.run(
            [str(REPO / "hack" / "cluster.sh"), command],
            env=self._env(extra_args),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hack/cluster.sh {command} failed:\n{done.stderr}")

    def up(self, kube_api_qps: float | None = None, kube_api_burst: int | None = None) -> None:
        """A fresh cluster; the controller manager gets the given client QPS and burst."""
        self.down()
        extra = []
        if kube_api_qps is not None:
            extra.append(f"kube-controller-manager=kube-api-qps={kube_api_qps:g}")
        if kube_api_burst is not None:
            extra.append(f"kube-controller-manager=kube-api-burst={kube_api_burst}")
        self._script("up", extra)
        self.kube_api_qps, self.kube_api_burst = kube_api_qps, kube_api_burst
        self.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        self.kubectl(
            "wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds")
        )

    def down(self) -> None:
        self._script("down", [])

    def kubectl(self, *args: str) -> str:
        bin_dir = subprocess.run(
            [str(REPO / "hack" / "k8s-bin.sh")], check=True, capture_output=True, text=True
        ).stdout.strip()
        done = subprocess.run(
            [f"{bin_dir}/kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout
