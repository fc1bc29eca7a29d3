"""Fixtures for end-to-end tests on the real local cluster."""

import re
import uuid
from collections.abc import Iterator

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Namespace

from tests.e2e.cluster import REPO, Cluster, ensure_cluster, install_crds
from tests.e2e.namespaces import create_namespace
from tests.e2e.operator import OperatorProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(REPO / "tests" / "e2e"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    cluster = ensure_cluster()
    install_crds(cluster)
    return cluster


@pytest.fixture(scope="session")
def kube(cluster: Cluster) -> Iterator[Client]:
    with Client(
        config=KubeConfig.from_file(cluster.kubeconfig), field_manager="e2e-tests"
    ) as client:
        yield client


@pytest.fixture
def namespace(kube: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of the test's own, deleted after it."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].rstrip("-")
    name = f"{base}-{uuid.uuid4().hex[:6]}"
    create_namespace(kube, name)
    yield name
    kube.delete(Namespace, name)


@pytest.fixture
def operator(
    cluster: Cluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator, watching the test's namespace; the test starts it (and may kill it)."""
    process = OperatorProcess(namespace, cluster.kubeconfig, tmp_path_factory.mktemp("operator"))
    yield process
    process.stop()
    # Shown by pytest only when the test failed.
    print(process.logs())


@pytest.fixture
def standby(
    cluster: Cluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """A second replica, for the tests of leader election."""
    process = OperatorProcess(namespace, cluster.kubeconfig, tmp_path_factory.mktemp("standby"))
    yield process
    process.stop()
    print(process.logs())
