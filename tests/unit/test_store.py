"""The store (rerunnable.controller.store): kopf's indexes, plus the operator's own recent writes.

docs/design.md, "The store": a watch lags the operator's writes, so each write
is kept in an overlay that wins until the index holds a resourceVersion at least
as new, or OVERLAY_TTL passes; a deletion by the operator hides the object until
the index drops it. Without this, two passes in quick succession could start a
Forbid run twice.

Objects are Executions parsed from API bodies; `status.message` names the version
("index v5", "ours v7") so that each case can say which one a read returns.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from rerunnable.api.names import EXECUTION_KIND
from rerunnable.controller.kinds import Key, Kind, Versioned
from rerunnable.controller.store import OVERLAY_TTL, Store
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.fakes import FakeIndexes

NS = "default"
KEY: Key = (NS, "backup")
OTHER_KEY: Key = (NS, "report")
OTHER_NS_KEY: Key = ("team-b", "backup")
RUN = "backup-29922377"
CREATED = "2026-11-22T09:17:30Z"


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def execution(name: str, label: str, key: Key = KEY) -> ExecutionState:
    """An Execution of the RerunnableJob `key`, whose status.message is `label`."""
    return ExecutionState.from_body(
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": EXECUTION_KIND,
            "metadata": {
                "name": name,
                "namespace": key[0],
                "uid": f"uid-{name}",
                "creationTimestamp": CREATED,
            },
            "spec": {"rerunnableJob": key[1], "trigger": "Manual", "templateGeneration": 1},
            "status": {"phase": "Running", "message": label},
        }
    )


def job(name: str, label: str) -> JobState:
    """A Job whose only condition's message is `label`."""
    return JobState.from_body(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-job-{name}"},
            "status": {"conditions": [{"type": "Label", "status": "True", "message": label}]},
        }
    )


def rjob(key: Key, run_token: str) -> RerunnableJobState:
    return RerunnableJobState.from_body(
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "RerunnableJob",
            "metadata": {
                "name": key[1],
                "namespace": key[0],
                "uid": f"uid-{key[1]}",
                "generation": 1,
                "creationTimestamp": "2026-11-01T00:00:00Z",
                "annotations": {"rerunnable.dev/run": run_token},
            },
            "spec": {"jobTemplate": {"spec": {"template": {}}}},
        }
    )


def index_execution(indexes: FakeIndexes, name: str, rv: int, key: Key = KEY) -> None:
    versions = [v for v in indexes.executions.get(key, []) if v.name != name]
    indexes.executions[key] = [*versions, Versioned(name, rv, execution(name, f"index v{rv}", key))]


def unindex_execution(indexes: FakeIndexes, name: str, key: Key = KEY) -> None:
    indexes.executions[key] = [v for v in indexes.executions.get(key, []) if v.name != name]


def wrote_execution(store: Store, name: str, rv: int, key: Key = KEY) -> None:
    store.wrote(Kind.EXECUTION, key, Versioned(name, rv, execution(name, f"ours v{rv}", key)))


def seen(store: Store, key: Key = KEY) -> dict[str, str | None]:
    """What a pass over `key` sees: Execution name -> which version."""
    return {e.name: e.status.message for e in store.executions(key)}


def make() -> tuple[FakeIndexes, Store, Clock]:
    indexes = FakeIndexes()
    clock = Clock()
    return indexes, indexes.store(clock), clock


# 1. Index-only reads ---------------------------------------------------------------------------


def test_reads_come_from_the_indexes_when_nothing_was_written() -> None:
    indexes, store, _ = make()
    indexes.rerunnable_jobs[KEY] = [Versioned("backup", 5, rjob(KEY, "t1"))]
    indexes.rerunnable_jobs[OTHER_KEY] = [Versioned("report", 6, rjob(OTHER_KEY, "t9"))]
    index_execution(indexes, "backup-1", 7)
    index_execution(indexes, "backup-2", 8)
    indexes.jobs[KEY] = [Versioned("backup-1", 9, job("backup-1", "index v9"))]

    found = store.rerunnable_job(KEY)
    assert found is not None
    assert found.run_token == "t1"
    assert seen(store) == {"backup-1": "index v7", "backup-2": "index v8"}
    assert {n: j.conditions[0].message for n, j in store.jobs(KEY).items()} == {
        "backup-1": "index v9"
    }


def test_a_key_the_indexes_do_not_have_reads_as_nothing() -> None:
    _, store, _ = make()
    assert store.rerunnable_job(KEY) is None
    assert store.executions(KEY) == []
    assert store.jobs(KEY) == {}


# 2. The overlay of the operator's writes --------------------------------------------------------

# Steps: ("index", name, rv) the watch delivers a version; ("unindex", name) the watch
# delivers a deletion; ("wrote", name, rv) / ("deleted", name) the operator's writes;
# ("wait", seconds) time passes; ("sees", {name: version}) what a pass sees now.
Step = tuple[Any, ...]

OVERLAY_CASES = cases(
    [
        (
            "our newer write wins over an older index version",
            [("index", RUN, 5), ("wrote", RUN, 7), ("sees", {RUN: "ours v7"})],
        ),
        (
            "our create is seen before the watch delivers it",
            [("wrote", RUN, 7), ("sees", {RUN: "ours v7"})],
        ),
        (
            "the index catching up to the same version takes over",
            [("wrote", RUN, 7), ("index", RUN, 7), ("sees", {RUN: "index v7"})],
        ),
        (
            "a newer index version (someone else's write) takes over",
            [("wrote", RUN, 7), ("index", RUN, 9), ("sees", {RUN: "index v9"})],
        ),
        (
            "once caught up, the entry is dropped: a later deletion shows",
            [
                ("wrote", RUN, 7),
                ("index", RUN, 7),
                ("sees", {RUN: "index v7"}),
                ("unindex", RUN),
                ("sees", {}),
            ],
        ),
        (
            "an index still older than our write keeps our version",
            [("wrote", RUN, 7), ("index", RUN, 6), ("sees", {RUN: "ours v7"})],
        ),
        (
            "our latest write wins over our earlier one",
            [("wrote", RUN, 7), ("wrote", RUN, 8), ("index", RUN, 7), ("sees", {RUN: "ours v8"})],
        ),
        (
            "a deletion hides an object the index still has",
            [("index", RUN, 5), ("deleted", RUN), ("sees", {})],
        ),
        (
            "a deletion hides even a newer index version of the object",
            [("index", RUN, 5), ("deleted", RUN), ("index", RUN, 6), ("sees", {})],
        ),
        (
            "once the index drops the object, the deletion is forgotten: a new one shows",
            [
                ("index", RUN, 5),
                ("deleted", RUN),
                ("unindex", RUN),
                ("sees", {}),
                ("index", RUN, 9),
                ("sees", {RUN: "index v9"}),
            ],
        ),
        (
            "a deletion of what we created replaces our write",
            [("wrote", RUN, 7), ("deleted", RUN), ("index", RUN, 7), ("sees", {})],
        ),
        (
            "a write after our deletion shows again",
            [("index", RUN, 5), ("deleted", RUN), ("wrote", RUN, 8), ("sees", {RUN: "ours v8"})],
        ),
        (
            "an unconfirmed write is kept until just before the TTL",
            [("wrote", RUN, 7), ("wait", OVERLAY_TTL - 0.001), ("sees", {RUN: "ours v7"})],
        ),
        (
            "an unconfirmed write expires after the TTL",
            [("wrote", RUN, 7), ("wait", OVERLAY_TTL), ("sees", {})],
        ),
        (
            "an expired write gives the index's older version back",
            [
                ("index", RUN, 5),
                ("wrote", RUN, 7),
                ("wait", OVERLAY_TTL),
                ("sees", {RUN: "index v5"}),
            ],
        ),
        (
            "an unconfirmed deletion expires after the TTL",
            [
                ("index", RUN, 5),
                ("deleted", RUN),
                ("wait", OVERLAY_TTL),
                ("sees", {RUN: "index v5"}),
            ],
        ),
        (
            "the TTL counts from the latest write",
            [
                ("wrote", RUN, 7),
                ("wait", OVERLAY_TTL - 1),
                ("wrote", RUN, 8),
                ("wait", 2),
                ("sees", {RUN: "ours v8"}),
            ],
        ),
        (
            "an expired entry stays gone after the clock is read again",
            [("wrote", RUN, 7), ("wait", OVERLAY_TTL), ("sees", {}), ("wait", 1), ("sees", {})],
        ),
        (
            "other objects of the key are untouched",
            [
                ("index", "backup-1", 3),
                ("index", "backup-2", 4),
                ("wrote", "backup-1", 7),
                ("deleted", "backup-2"),
                ("index", "backup-3", 5),
                ("sees", {"backup-1": "ours v7", "backup-3": "index v5"}),
            ],
        ),
    ]
)


@pytest.mark.parametrize(("case", "steps"), OVERLAY_CASES)
def test_overlay(case: str, steps: Sequence[Step]) -> None:
    indexes, store, clock = make()
    for step in steps:
        match step:
            case ("index", name, rv):
                index_execution(indexes, name, rv)
            case ("unindex", name):
                unindex_execution(indexes, name)
            case ("wrote", name, rv):
                wrote_execution(store, name, rv)
            case ("deleted", name):
                store.deleted(Kind.EXECUTION, KEY, name)
            case ("wait", seconds):
                clock.now += seconds
            case ("sees", expected):
                assert seen(store) == expected, step
            case _:
                raise AssertionError(f"unknown step {step}")


# 3. Other keys and other kinds are unaffected ------------------------------------------------


OTHER_KEY_CASES = cases(
    [
        ("another RerunnableJob in the namespace", OTHER_KEY),
        ("a RerunnableJob of the same name in another namespace", OTHER_NS_KEY),
    ]
)


@pytest.mark.parametrize(("case", "other"), OTHER_KEY_CASES)
def test_writes_under_one_key_do_not_show_under_another(case: str, other: Key) -> None:
    indexes, store, _ = make()
    index_execution(indexes, "shared-name", 5, key=other)
    index_execution(indexes, "theirs", 6, key=other)
    wrote_execution(store, "ours", 7)
    wrote_execution(store, "shared-name", 8)
    store.deleted(Kind.EXECUTION, KEY, "theirs")

    assert seen(store, other) == {"shared-name": "index v5", "theirs": "index v6"}
    assert seen(store) == {"ours": "ours v7", "shared-name": "ours v8"}


def test_writes_of_one_kind_do_not_touch_another_kind_of_the_same_name() -> None:
    # An Execution and its Job share one name (DESIGN.md §1).
    indexes, store, _ = make()
    indexes.jobs[KEY] = [Versioned(RUN, 5, job(RUN, "index v5"))]
    index_execution(indexes, RUN, 4)
    store.deleted(Kind.EXECUTION, KEY, RUN)
    store.wrote(Kind.JOB, KEY, Versioned(RUN, 9, job(RUN, "ours v9")))

    assert seen(store) == {}
    assert {n: j.conditions[0].message for n, j in store.jobs(KEY).items()} == {RUN: "ours v9"}


def test_rerunnable_job_write_is_seen_until_the_index_catches_up() -> None:
    indexes, store, _ = make()
    indexes.rerunnable_jobs[KEY] = [Versioned("backup", 5, rjob(KEY, "old"))]
    indexes.rerunnable_jobs[OTHER_KEY] = [Versioned("report", 6, rjob(OTHER_KEY, "theirs"))]
    store.wrote(Kind.RERUNNABLE_JOB, KEY, Versioned("backup", 7, rjob(KEY, "ours")))

    def token(key: Key) -> str | None:
        found = store.rerunnable_job(key)
        return found.run_token if found is not None else None

    assert (token(KEY), token(OTHER_KEY)) == ("ours", "theirs")
    indexes.rerunnable_jobs[KEY] = [Versioned("backup", 8, rjob(KEY, "edited"))]
    assert token(KEY) == "edited"


def test_deleted_after_the_index_confirmed_our_write_is_gone_without_a_read_between() -> None:
    indexes, store, _ = make()
    index_execution(indexes, RUN, 5)
    wrote_execution(store, RUN, 7)
    index_execution(indexes, RUN, 7)  # the watch confirms our write...
    store.observed(Kind.EXECUTION, KEY, RUN, 7, deleted=False)  # (as the event handler says)
    unindex_execution(indexes, RUN)  # ...then someone deletes the object; no pass read between
    store.observed(Kind.EXECUTION, KEY, RUN, 8, deleted=True)

    assert seen(store) == {}


@pytest.mark.parametrize(
    ("case", "observed_version", "deleted", "still_overlaid"),
    [
        ("an older version of our write", 6, False, True),
        ("our write itself", 7, False, False),
        ("a newer version", 9, False, False),
        ("its deletion", 8, True, False),
    ],
)
def test_the_watch_confirming_a_write_drops_its_overlay_entry(
    case: str, observed_version: int, deleted: bool, still_overlaid: bool
) -> None:
    _, store, _ = make()
    wrote_execution(store, RUN, 7)
    store.observed(Kind.EXECUTION, KEY, RUN, observed_version, deleted=deleted)
    # Nothing indexed: only the overlay can still show the object.
    assert (RUN in seen(store)) == still_overlaid, case


def test_a_tombstone_goes_with_the_deletion_event_only() -> None:
    indexes, store, _ = make()
    index_execution(indexes, RUN, 5)
    store.deleted(Kind.EXECUTION, KEY, RUN)
    store.observed(Kind.EXECUTION, KEY, RUN, 6, deleted=False)  # e.g. deletionTimestamp set
    assert seen(store) == {}
    store.observed(Kind.EXECUTION, KEY, RUN, 7, deleted=True)
    unindex_execution(indexes, RUN)
    assert seen(store) == {}
