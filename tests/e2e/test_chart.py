"""The Helm chart (helm/rerunnable) against the local cluster's real API server."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from tests.e2e.chart import CHART, helm
from tests.e2e.cluster import Cluster
from tests.e2e.waiting import wait_until

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}


def render(cluster: Cluster, namespace: str, *values: str) -> list[dict[str, Any]]:
    out = helm(cluster, "template", "rr", str(CHART), "-n", namespace, *values).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def test_the_chart_lints_and_its_schema_refuses_unknown_values(cluster: Cluster) -> None:
    assert helm(cluster, "lint", str(CHART)).returncode == 0
    refused = helm(cluster, "lint", str(CHART), "--set", "replicas=3", check=False)
    assert refused.returncode != 0
    assert "replicas" in refused.stdout + refused.stderr


def test_the_rendered_chart_is_accepted_by_the_api_server(cluster: Cluster, namespace: str) -> None:
    out = helm(cluster, "template", "rr", str(CHART), "-n", namespace).stdout
    applied = cluster.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", check=False, stdin=out
    )
    assert applied.returncode == 0, applied.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(out) if doc)
    assert kinds.count("CustomResourceDefinition") == 2
    for doc in yaml.safe_load_all(out):
        if doc and doc["kind"] == "CustomResourceDefinition":
            assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_watching_namespaces_grants_no_cluster_wide_writes(
    cluster: Cluster, namespace: str
) -> None:
    docs = render(cluster, namespace, "--set", "watchNamespaces={team-a,team-b}")

    # What the chart binds cluster-wide (the user roles are ClusterRoles too, but the
    # chart binds them to nobody: users bind them per namespace).
    bound = {d["roleRef"]["name"] for d in docs if d["kind"] == "ClusterRoleBinding"}
    cluster_rules = [
        r
        for d in docs
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] in bound
        for r in d["rules"]
    ]
    assert cluster_rules, "kopf still needs to read CRDs and namespaces"
    # A TokenReview is a question to the API server (nothing is stored): not a write.
    writes = [r for r in cluster_rules if r["resources"] != ["tokenreviews"]]
    assert all(not WRITE_VERBS & set(r["verbs"]) for r in writes)
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "Role"
    }
    assert ("team-a", "rr-rerunnable") in roles
    assert ("team-b", "rr-rerunnable") in roles
    args = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--namespace=team-a" in args
    assert "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_the_deployment_is_hardened_and_highly_available(cluster: Cluster, namespace: str) -> None:
    deployment = next(d for d in render(cluster, namespace) if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in container["args"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"]["requests"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_install_and_uninstall(cluster: Cluster, kube: Client, namespace: str) -> None:
    # The CRDs are the session's (applied by the e2e fixture), so the release leaves them be.
    installed = helm(
        cluster,
        "install",
        "rr",
        str(CHART),
        "-n",
        namespace,
        "--set",
        "crds.install=false",
        # The cluster is shared: the fixed-name user roles are left to test_delegation,
        # and the admission policies bind to this test's namespace only.
        "--set",
        "userRoles.create=false",
        "--set",
        f"admissionPolicy.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name={namespace}",
        # The webhooks too: kwok's pods serve nothing, and they fail closed.
        "--set",
        f"webhook.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name={namespace}",
        "--wait",
        "--timeout",
        "120s",
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    assert "kubectl annotate rjob/NAME rerunnable.dev/run=" in installed.stdout  # NOTES.txt

    deployment = kube.get(Deployment, "rr-rerunnable", namespace=namespace)
    assert deployment.status is not None
    assert deployment.status.availableReplicas == 2
    kube.get(ServiceAccount, "rr-rerunnable", namespace=namespace)
    policies = "validatingadmissionpolicybindings.admissionregistration.k8s.io"
    bound = cluster.kubectl("get", policies, "-l", "app.kubernetes.io/instance=rr", "-o", "json")
    selectors = [
        b["spec"]["matchResources"]["namespaceSelector"] for b in json.loads(bound.stdout)["items"]
    ]
    assert selectors == 2 * [{"matchLabels": {"kubernetes.io/metadata.name": namespace}}]

    assert helm(cluster, "uninstall", "rr", "-n", namespace, "--wait").returncode == 0
    wait_until(
        lambda: not list(kube.list(Deployment, namespace=namespace)),
        timeout=60,
        what="the Deployment to be gone",
    )
    assert kube.get(Namespace, namespace)  # the namespace itself is the test's
    left = cluster.kubectl("get", policies, "-l", "app.kubernetes.io/instance=rr", "-o", "name")
    assert not left.stdout


@pytest.fixture(autouse=True)
def _helm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # helm writes caches and config under $HOME; keep the tests' out of the user's.
    for var, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))


def container_args(docs: list[dict[str, Any]]) -> list[str]:
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def test_runs_are_armed_ahead_only_when_asked_and_within_an_hour(
    cluster: Cluster, namespace: str
) -> None:
    assert not [a for a in container_args(render(cluster, namespace)) if "arm-ahead" in a]
    armed = container_args(render(cluster, namespace, "--set", "armAheadSeconds=30"))
    assert "--arm-ahead-seconds=30" in armed
    for bad in ("-1", "3601"):
        refused = helm(
            cluster, "template", "rr", str(CHART), "--set", f"armAheadSeconds={bad}", check=False
        )
        assert refused.returncode != 0
        assert "armAheadSeconds" in refused.stderr
