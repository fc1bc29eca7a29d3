"""The Helm chart (helm/rerunnable) against the local cluster's real API server."""

import json
from pathlib import Path

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from tests.e2e.chart import CHART, helm
from tests.e2e.cluster import Cluster
from tests.e2e.waiting import wait_until


def test_the_rendered_chart_is_accepted_by_the_api_server(cluster: Cluster, namespace: str) -> None:
    # Render-only checks are chart unit tests (tests/chart); this is what only the API
    # server can say: that it takes every object, with the optional ones turned on.
    extra = ("commonLabels.team=platform", "extraEnv[0].name=X", "extraEnv[0].value=y")
    values = [arg for value in extra for arg in ("--set", value)]
    out = helm(cluster, "template", "rr", str(CHART), "-n", namespace, *values).stdout
    applied = cluster.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", check=False, stdin=out
    )
    assert applied.returncode == 0, applied.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(out) if doc)
    assert kinds.count("CustomResourceDefinition") == 2
    for doc in yaml.safe_load_all(out):
        if doc and doc["kind"] == "CustomResourceDefinition":
            assert doc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


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
