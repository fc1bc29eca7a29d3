"""The chart's RBAC, proven: the operator does a full run as the chart's ServiceAccount,
and that account can do nothing it does not need."""

from collections.abc import Iterator

import pytest
from lightkube import Client

from tests.e2e.chart import (
    delete_cluster_scoped,
    helm_template,
    kubectl,
    service_account_kubeconfig,
)
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, events_for, manual_name, wait_phase
from tests.e2e.waiting import wait_until


@pytest.fixture
def release(cluster: Cluster, namespace: str) -> Iterator[str]:
    """The chart's ServiceAccount and RBAC (no Deployment), watching the test's namespace."""
    name = f"rbac-{namespace[-6:]}"
    rendered = helm_template(
        cluster,
        name,
        namespace,
        "--set",
        f"watchNamespaces={{{namespace}}}",
        show_only=("serviceaccount.yaml", "rbac.yaml"),
    )
    kubectl(cluster, "apply", "-n", namespace, "-f", "-", stdin=rendered)
    yield f"{name}-rerunnable"
    delete_cluster_scoped(cluster, name)


def test_the_operator_runs_as_the_charts_service_account(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    release: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    logs = tmp_path_factory.mktemp("sa-operator")
    config = service_account_kubeconfig(cluster, namespace, release, logs / "kubeconfig")
    operator = OperatorProcess(namespace, config, logs)
    operator.start()
    try:
        create_rjob(kube, namespace, "least", duration="1s", successfulJobsHistoryLimit=1)
        for token in ("a", "b"):
            annotate_run(kube, namespace, "least", token)
            wait_phase(kube, namespace, manual_name("least", token), "Succeeded")
        # Pruning (delete), status writes, events and the Lease all worked under the account.
        wait_until(
            lambda: "RunSucceeded" in {r for _, r, _ in events_for(kube, namespace, "least")},
            timeout=30,
            what="a RunSucceeded event posted by the account",
        )
        assert "Forbidden" not in operator.log_path.read_text()
    finally:
        operator.stop()
        print(operator.logs())


# (verb, resource, where) -> may the operator's account do it? "here" is the watched namespace.
CAN_I = [
    ("list", "rerunnablejobs.rerunnable.dev", "here", True),
    ("patch", "rerunnablejobs.rerunnable.dev/status", "here", True),
    ("create", "executions.rerunnable.dev", "here", True),
    ("delete", "executions.rerunnable.dev", "here", True),
    ("create", "jobs.batch", "here", True),
    ("patch", "executions.rerunnable.dev/status", "here", True),
    ("create", "events", "here", True),
    ("update", "leases.coordination.k8s.io", "here", True),
    ("list", "customresourcedefinitions.apiextensions.k8s.io", "cluster", True),
    # Reports: a workload's token, and the pod it is bound to; a run's pods, at its end.
    ("create", "tokenreviews.authentication.k8s.io", "cluster", True),
    ("get", "pods", "here", True),
    ("list", "pods", "here", True),
    # Never the user's configuration, never secrets, never writes to pods, never elsewhere.
    ("patch", "rerunnablejobs.rerunnable.dev", "here", False),
    ("delete", "rerunnablejobs.rerunnable.dev", "here", False),
    ("get", "secrets", "here", False),
    ("create", "pods", "here", False),
    ("create", "pods/exec", "here", False),
    ("delete", "pods", "here", False),
    ("get", "pods", "default", False),
    ("patch", "jobs.batch", "here", False),
    ("create", "jobs.batch", "default", False),
    ("create", "executions.rerunnable.dev", "default", False),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io", "cluster", False),
    ("create", "clusterroles.rbac.authorization.k8s.io", "cluster", False),
    ("create", "leases.coordination.k8s.io", "default", False),
]


@pytest.mark.parametrize(
    ("verb", "resource", "where", "allowed"), CAN_I, ids=[f"{v} {r} {w}" for v, r, w, _ in CAN_I]
)
def test_the_service_account_may_do_exactly_what_it_needs(
    cluster: Cluster,
    namespace: str,
    release: str,
    verb: str,
    resource: str,
    where: str,
    allowed: bool,
) -> None:
    scope = ["-n", namespace] if where == "here" else (["-n", where] if where != "cluster" else [])
    kind, _, subresource = resource.partition("/")
    sub = [f"--subresource={subresource}"] if subresource else []
    done = cluster.kubectl(
        "auth",
        "can-i",
        verb,
        kind,
        *sub,
        *scope,
        f"--as=system:serviceaccount:{namespace}:{release}",
        check=False,
    )
    assert done.stdout.strip() == ("yes" if allowed else "no"), done.stderr
