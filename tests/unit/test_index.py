"""The operator's indexes: newest version wins, and the start-up list never resurrects."""

import json
from typing import Any

import pytest

from rerunnable.controller.index import Indexes, ObjectIndex, entry
from rerunnable.controller.kinds import Key, Kind, Versioned
from rerunnable.core.state import RerunnableJobState

A: Key = ("team-a", "backup")
B: Key = ("team-a", "report")


def v(name: str, rv: int) -> Versioned[Any]:
    return Versioned(name, rv, f"{name}@{rv}")


def shown(index: ObjectIndex) -> dict[Key, dict[str, int]]:
    return {key: {x.name: x.resource_version for x in index[key]} for key in index}


def test_the_newest_version_wins_whatever_the_order() -> None:
    index = ObjectIndex()
    index.put(A, v("backup-1", 5))
    index.put(A, v("backup-1", 3))  # a late, older event
    assert shown(index) == {A: {"backup-1": 5}}
    index.put(A, v("backup-1", 7))
    assert shown(index) == {A: {"backup-1": 7}}


def test_an_object_that_moves_to_another_key_leaves_the_old_one() -> None:
    index = ObjectIndex()
    index.put(A, v("job-1", 5))
    index.put(B, v("job-1", 6))  # its label now names another RerunnableJob
    assert shown(index) == {B: {"job-1": 6}}
    assert A not in index


def test_removal_empties_the_key() -> None:
    index = ObjectIndex()
    index.put(A, v("backup-1", 5))
    index.put(A, v("backup-2", 6))
    index.remove("team-a", "backup-1", 8)
    assert shown(index) == {A: {"backup-2": 6}}
    index.remove("team-a", "backup-2", 9)
    assert len(index) == 0
    index.remove("team-a", "never-seen", 10)  # harmless


LISTING = [
    ("listed only", [], [(A, v("x", 5))], {A: {"x": 5}}),
    ("watch newer than the list", [("put", A, v("x", 7))], [(A, v("x", 5))], {A: {"x": 7}}),
    ("list newer than the watch", [("put", A, v("x", 5))], [(A, v("x", 7))], {A: {"x": 7}}),
    ("deleted while listing", [("remove", A, v("x", 6))], [(A, v("x", 5))], {}),
    (
        "deleted and made again",
        [("remove", A, v("x", 6)), ("put", A, v("x", 9))],
        [(A, v("x", 5))],
        {A: {"x": 9}},
    ),
    ("made again, listed after", [("remove", A, v("x", 6))], [(A, v("x", 9))], {A: {"x": 9}}),
]


@pytest.mark.parametrize(
    ("case", "watched", "listed", "want"), LISTING, ids=[c[0] for c in LISTING]
)
def test_the_start_up_list_and_the_watch(
    case: str,
    watched: list[tuple[str, Key, Versioned[Any]]],
    listed: list[tuple[Key, Versioned[Any]]],
    want: dict[Key, dict[str, int]],
) -> None:
    index = ObjectIndex()
    for action, key, version in watched:
        if action == "put":
            index.put(key, version)
        else:
            index.remove(key[0], version.name, version.resource_version)
    index.listed(listed)
    assert shown(index) == want, case


def test_after_the_list_a_deletion_is_not_remembered() -> None:
    index = ObjectIndex()
    index.listed([])
    index.remove("team-a", "x", 6)
    index.put(A, v("x", 4))  # a new object (etcd revisions only grow: cannot happen, but harmless)
    assert shown(index) == {A: {"x": 4}}


CREATED = {"creationTimestamp": "2026-11-22T10:00:00Z"}
BODIES = [
    (
        Kind.RERUNNABLE_JOB,
        {
            "metadata": {
                "namespace": "team-a",
                "name": "backup",
                "resourceVersion": "12",
                **CREATED,
            },
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
        },
        ("team-a", "backup"),
    ),
    (
        Kind.EXECUTION,
        {
            "metadata": {
                "namespace": "team-a",
                "name": "backup-29",
                "resourceVersion": "13",
                **CREATED,
            },
            "spec": {"rerunnableJob": "backup", "trigger": "Manual", "templateGeneration": 1},
        },
        ("team-a", "backup"),
    ),
    (
        Kind.JOB,
        {
            "metadata": {
                "namespace": "team-a",
                "name": "backup-29",
                "resourceVersion": "14",
                "labels": {"rerunnable.dev/rerunnable-job": "backup"},
            }
        },
        ("team-a", "backup"),
    ),
]


@pytest.mark.parametrize(("kind", "body", "key"), BODIES, ids=[b[0] for b in BODIES])
def test_each_kind_is_indexed_under_its_rerunnable_job(
    kind: Kind, body: dict[str, Any], key: Key
) -> None:
    got_key, version = entry(kind, body)
    assert got_key == key
    assert (version.name, version.resource_version) == (
        body["metadata"]["name"],
        int(body["metadata"]["resourceVersion"]),
    )


FULL_RERUNNABLE_JOB: dict[str, Any] = {
    "apiVersion": "rerunnable.dev/v1alpha1",
    "kind": "RerunnableJob",
    "metadata": {
        "namespace": "team-a",
        "name": "backup",
        "uid": "0b5c1f4e-8d59-4a57-9d3e-1c2b3a4d5e6f",
        "resourceVersion": "12",
        "generation": 3,
        "labels": {"team": "a"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 4000 + "}",
            "rerunnable.dev/run": "t-7",
            "rerunnable.dev/requested-by": "alice",
            "rerunnable.dev/requested-run": "t-7",
            "rerunnable.dev/parameters-for": "t-7",
            "parameters.rerunnable.dev/REGION": "eu",
        },
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        **CREATED,
    },
    "spec": {
        "schedule": "*/5 * * * *",
        "parameters": [{"name": "REGION", "default": "us"}],
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "m"}]}}}},
    },
    "status": {
        "observedGeneration": 3,
        "nextScheduleTime": "2026-11-22T10:05:00Z",
        "lastRunToken": "t-6",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Scheduled"}],
    },
}


def test_a_rerunnable_job_reads_back_as_parsed_from_its_whole_body() -> None:
    index = Indexes()[Kind.RERUNNABLE_JOB]
    key, version = entry(Kind.RERUNNABLE_JOB, FULL_RERUNNABLE_JOB)
    index.put(key, version)
    want = RerunnableJobState.from_body(FULL_RERUNNABLE_JOB)
    assert want.sent_parameters == {"REGION": "eu"}
    assert want.requested_by == "alice"
    assert [v.obj for v in index[key]] == [want]
    found = index.find("team-a", "backup")
    assert found is not None
    assert found.obj == want


def test_a_rerunnable_job_is_kept_without_what_the_operator_never_reads() -> None:
    _, version = entry(Kind.RERUNNABLE_JOB, FULL_RERUNNABLE_JOB)
    kept = json.loads(version.obj)
    assert "last-applied" not in version.obj.decode()
    assert set(kept["metadata"]) == {
        "namespace", "name", "uid", "resourceVersion", "generation", "creationTimestamp",
        "annotations",
    }  # fmt: skip
    assert len(version.obj) < len(json.dumps(FULL_RERUNNABLE_JOB)) / 4
