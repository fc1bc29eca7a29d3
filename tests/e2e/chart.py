"""The Helm chart's templates applied piecemeal, and kubectl as other users, for e2e tests.

Cluster-scoped objects (ClusterRoles, admission policies) are shared by every
test on the cluster: tests render only the templates they need, bind them to
their own namespace, and delete them by the release's instance label after.
"""

import subprocess
from pathlib import Path

import yaml

from tests.e2e.cluster import REPO, Cluster

__all__ = [
    "CHART",
    "delete_cluster_scoped",
    "helm",
    "helm_template",
    "kubectl",
    "service_account_kubeconfig",
    "try_kubectl",
]

CHART = REPO / "helm" / "rerunnable"

# What a release's templates create outside any namespace.
CLUSTER_SCOPED = (
    "clusterrole,clusterrolebinding,"
    "validatingadmissionpolicy.admissionregistration.k8s.io,"
    "validatingadmissionpolicybinding.admissionregistration.k8s.io"
)


def try_kubectl(
    cluster: Cluster, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as the cluster's admin (or whoever `--as` names); the caller checks the outcome."""
    return cluster.kubectl(*args, check=False, stdin=stdin)


def kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> str:
    done = try_kubectl(cluster, *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def helm(cluster: Cluster, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cluster.bin_dir / "helm"), "--kubeconfig", str(cluster.kubeconfig), *args],
        check=check,
        capture_output=True,
        text=True,
    )


def helm_template(
    cluster: Cluster, release: str, namespace: str, *args: str, show_only: tuple[str, ...]
) -> str:
    """`helm template` of only the named templates (e.g. "rbac.yaml"), with --set etc. in args."""
    shown = [arg for name in show_only for arg in ("--show-only", f"templates/{name}")]
    return helm(
        cluster,
        "template",
        release,
        str(CHART),
        "-n",
        namespace,
        "--set",
        "crds.install=false",
        *args,
        *shown,
    ).stdout


def delete_cluster_scoped(cluster: Cluster, release: str) -> None:
    """Delete what the release's templates made outside namespaces (found by its instance label)."""
    kubectl(
        cluster,
        "delete",
        CLUSTER_SCOPED,
        "-l",
        f"app.kubernetes.io/instance={release}",
        "--ignore-not-found",
    )


def service_account_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount (a TokenRequest token)."""
    token = kubectl(cluster, "create", "token", account, "-n", namespace, "--duration", "1h")
    config = yaml.safe_load(kubectl(cluster, "config", "view", "--raw", "--minify"))
    config["users"] = [{"name": account, "user": {"token": token.strip()}}]
    config["contexts"][0]["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    return path
