"""kube.resources: the resource a request path names, as the API server's metrics name it."""

import pytest

from rerunnable.kube.resources import EVENTS, EXECUTIONS, JOBS, RERUNNABLE_JOBS, resource_of

PATHS = [
    ("a namespaced collection", JOBS.path("team-a"), "jobs"),
    ("an object", EXECUTIONS.path("team-a", "backup-29"), "executions"),
    ("a subresource", EXECUTIONS.path("team-a", "backup-29", "status"), "executions/status"),
    ("across namespaces", RERUNNABLE_JOBS.path(), "rerunnablejobs"),
    ("the core API", EVENTS.path("team-a"), "events"),
    ("a namespace itself", "/api/v1/namespaces/team-a", "namespaces"),
    ("the namespaces", "/api/v1/namespaces", "namespaces"),
    ("a query string", JOBS.path("team-a") + "?labelSelector=a", "jobs"),
    ("no resource", "/version", ""),
    ("a group's root", "/apis/batch/v1", ""),
]


@pytest.mark.parametrize(("case", "path", "want"), PATHS, ids=[p[0] for p in PATHS])
def test_the_resource_of_a_path(case: str, path: str, want: str) -> None:
    assert resource_of(path) == want, case
