"""One pass over one RerunnableJob (rerunnable.controller.reconciler), against an in-memory
API server.

Each test builds the world as the API server holds it (FakeKube) and as the
watch streams have delivered it so far (FakeIndexes: `sync()` means the watch
caught up; not syncing means it lags), runs `Reconciler.reconcile` at a fixed
instant and checks the calls made, in order, and what the API server then holds.

What is checked is docs/design.md, "Write order": Execution status updates and
interruptions, then each new Execution followed by its Job, then Jobs of waiting
Executions (the Execution's jobName only after its Job exists), then pruning,
then the RerunnableJob's status, and the events last; and DESIGN.md §2: one
Execution per token (rule 1), every Job has its Execution (rule 2), a Job gets
the template of its trigger time (rule 3), a bad template gets Ready=False (rule 5).

NOW is 2026-11-22T10:17:30Z; 2026-11-22T00:00Z is minute 29,921,760 since the epoch.
"""

import asyncio
import copy
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.names import EXECUTION_KIND, RERUNNABLE_JOB_KIND
from rerunnable.controller.kinds import Key, Kind
from rerunnable.controller.logs import ContextFields, JsonFormatter
from rerunnable.controller.metrics import Metrics
from rerunnable.controller.reconciler import CONFLICT_DELAY, Reconciler
from rerunnable.controller.workqueue import NO_QUEUE_METRICS, WorkQueue
from rerunnable.kube.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    KubeError,
    NotFoundError,
    UnavailableError,
)
from tests.unit.fakes import JOB_KIND, POD_KIND, Call, FakeIndexes, FakeKube

NOW = datetime(2026, 11, 22, 10, 17, 30, tzinfo=UTC)
NS = "default"
RJOB = "backup"
RJOB_UID = "uid-backup"
KEY: Key = (NS, RJOB)
GENERATION = 3

pytestmark = pytest.mark.timeout(10)

TEMPLATE: Mapping[str, Any] = {
    "metadata": {"labels": {"team": "storage"}},
    "spec": {
        "backoffLimit": 2,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
            },
        },
    },
}

CREATE_EXECUTION = "create_execution"
GET_EXECUTION = "get_execution"
GET_JOB = "get_job"
PATCH_EXECUTION = "patch_execution_status"
DELETE_EXECUTION = "delete_execution"
CREATE_JOB = "create_job"
DELETE_JOB = "delete_job"
PATCH_RJOB = "patch_rerunnable_job_status"
EVENT = "post_event"
WRITES = {CREATE_EXECUTION, PATCH_EXECUTION, DELETE_EXECUTION, CREATE_JOB, DELETE_JOB, PATCH_RJOB}


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def manual(token: str) -> str:
    """The Execution name of a manual run: `<rjob>-m<first 8 hex of sha256(token)>`."""
    return f"{RJOB}-m{hashlib.sha256(token.encode()).hexdigest()[:8]}"


def slot(moment: datetime) -> str:
    """The Execution name of a scheduled run: `<rjob>-<minutes since the epoch>`."""
    return f"{RJOB}-{int(moment.timestamp()) // 60}"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- API objects, as the API server returns them ------------------------------------------------


def rjob_body(
    *,
    token: str | None = None,
    schedule: str | None = None,
    policy: str | None = None,
    successful_limit: int | None = None,
    failed_limit: int | None = None,
    status: Mapping[str, Any] | None = None,
    created: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    template: Mapping[str, Any] = TEMPLATE,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        key: value
        for key, value in {
            "schedule": schedule,
            "concurrencyPolicy": policy,
            "successfulJobsHistoryLimit": successful_limit,
            "failedJobsHistoryLimit": failed_limit,
        }.items()
        if value is not None
    }
    spec["jobTemplate"] = copy.deepcopy(dict(template))
    metadata: dict[str, Any] = {
        "name": RJOB,
        "namespace": NS,
        "uid": RJOB_UID,
        "generation": GENERATION,
        "creationTimestamp": stamp(created),
    }
    if token is not None:
        metadata["annotations"] = {"rerunnable.dev/run": token}
    return {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": RERUNNABLE_JOB_KIND,
        "metadata": metadata,
        "spec": spec,
        "status": dict(status or {}),
    }


def execution_body(
    name: str,
    *,
    token: str | None = None,
    status: Mapping[str, Any] | None = None,
    created: datetime = NOW - timedelta(hours=1),
    owner_uid: str = RJOB_UID,
    queued: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "rerunnableJob": RJOB,
        "trigger": "Manual",
        "token": token or name,
        "templateGeneration": GENERATION,
    }
    if queued:
        spec["jobTemplate"] = copy.deepcopy(dict(TEMPLATE))
    return {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": EXECUTION_KIND,
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-{name}",
            "creationTimestamp": stamp(created),
            "labels": {
                "rerunnable.dev/rerunnable-job": RJOB,
                "rerunnable.dev/execution": name,
                "rerunnable.dev/trigger": "Manual",
            },
            "ownerReferences": [
                {
                    "apiVersion": "rerunnable.dev/v1alpha1",
                    "kind": RERUNNABLE_JOB_KIND,
                    "name": RJOB,
                    "uid": owner_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
        "status": dict(status or {}),
    }


def job_body(name: str, *, status: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-job-{name}",
            "creationTimestamp": stamp(NOW - timedelta(hours=1)),
            "labels": {
                "rerunnable.dev/rerunnable-job": RJOB,
                "rerunnable.dev/execution": name,
                "rerunnable.dev/trigger": "Manual",
            },
            "ownerReferences": [
                {
                    "apiVersion": "rerunnable.dev/v1alpha1",
                    "kind": EXECUTION_KIND,
                    "name": name,
                    "uid": f"uid-{name}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": copy.deepcopy(dict(TEMPLATE["spec"])),
        "status": dict(status or {}),
    }


STARTED = NOW - timedelta(minutes=30)
PROGRESS_RUNNING = {"succeeded": 0, "failed": 0, "active": 1, "total": 1}
# A Running Execution exactly as it follows its running Job: no pass needs to update it.
RUNNING_STATUS = {"phase": "Running", "startTime": stamp(STARTED), "progress": PROGRESS_RUNNING}
RUNNING_JOB_STATUS = {"startTime": stamp(STARTED), "active": 1}


def running(name: str) -> dict[str, Any]:
    return {**RUNNING_STATUS, "jobName": name}


# -- the world ----------------------------------------------------------------------------------


class Clock:
    """The reconciler's wall clock; the store and the queue read the same instant as seconds."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.read: asyncio.Event | None = None  # set on each reading of `seconds`, if present

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        if self.read is not None:
            self.read.set()
        return self.now.timestamp()


class SpyQueue(WorkQueue[Key]):
    """The real queue, recording every delayed add (backoff and wake-ups)."""

    def __init__(self, clock: Clock, metrics: Metrics | None = None) -> None:
        super().__init__(
            clock=clock.seconds, metrics=metrics.queue if metrics else NO_QUEUE_METRICS
        )
        self.delays: list[tuple[Key, float]] = []

    def add_after(self, key: Key, delay: float) -> None:
        self.delays.append((key, delay))
        super().add_after(key, delay)


class World:
    def __init__(self, now: datetime = NOW, *, arm_ahead: timedelta = timedelta(0)) -> None:
        self.clock = Clock(now)
        self.kube = FakeKube(clock=self.clock)
        self.indexes = FakeIndexes()
        self.store = self.indexes.store(self.clock.seconds)
        self.metrics = Metrics()
        self.queue = SpyQueue(self.clock, self.metrics)
        self.reconciler = Reconciler(
            self.store,
            self.kube,
            self.kube,
            self.queue,
            clock=self.clock,
            metrics=self.metrics,
            arm_ahead=arm_ahead,
        )

    def seed(self, kind: str, body: Mapping[str, Any], *, indexed: bool = True) -> dict[str, Any]:
        stored = self.kube.seed(kind, body)
        if indexed:
            self.indexes.add(kind, stored)
        return stored

    def sync(self) -> None:
        """The watch streams catch up with the API server (and the handlers tell the store)."""
        self.indexes.sync(self.kube, self.store)

    def reconcile(self) -> list[Call]:
        """One pass; the calls it made."""
        start = len(self.kube.calls)
        asyncio.run(self.reconciler.reconcile(KEY))
        return self.kube.calls[start:]

    def run_token(self, token: str) -> list[Call]:
        """A user asks for a run with `token`; the watch catches up; one pass."""
        annotations = {"rerunnable.dev/run": token}
        self.kube.modify(RERUNNABLE_JOB_KIND, NS, RJOB, {"metadata": {"annotations": annotations}})
        self.sync()
        return self.reconcile()

    def execution(self, name: str) -> dict[str, Any]:
        found = self.kube.get(EXECUTION_KIND, NS, name)
        assert found is not None, f"no Execution {name}"
        return found

    def job(self, name: str) -> dict[str, Any]:
        found = self.kube.get(JOB_KIND, NS, name)
        assert found is not None, f"no Job {name}"
        return found

    def rjob_status(self) -> dict[str, Any]:
        found = self.kube.get(RERUNNABLE_JOB_KIND, NS, RJOB)
        assert found is not None
        status: dict[str, Any] = found.get("status") or {}
        return status


def verbs(calls: Iterable[Call]) -> list[tuple[str, str]]:
    return [(c.verb, c.name) for c in calls]


def writes(calls: Iterable[Call]) -> list[tuple[str, str]]:
    return [(c.verb, c.name) for c in calls if c.verb in WRITES]


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    (found,) = [c for c in status.get("conditions") or [] if c["type"] == type_]
    return dict(found)


def assert_events_last(calls: list[Call]) -> None:
    kinds = [c.verb == EVENT for c in calls]
    assert kinds == sorted(kinds), f"an event was posted before a write: {verbs(calls)}"


# 1. A manual run on a fresh RerunnableJob ------------------------------------------------------

T1 = manual("t1")


def test_manual_run_writes_in_order() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))

    calls = world.reconcile()

    assert verbs(calls) == [
        (CREATE_EXECUTION, T1),
        (CREATE_JOB, T1),
        (PATCH_EXECUTION, T1),
        (PATCH_RJOB, RJOB),
        (EVENT, RJOB),
    ]
    assert world.queue.delays == []  # no schedule, nothing failed: nothing to wake for


def test_with_other_keys_waiting_a_run_gets_its_job_first_and_its_statuses_later() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.queue.add((NS, "another-due-rjob"))  # many runs due at once

    first = world.reconcile()

    assert writes(first) == [(CREATE_EXECUTION, T1), (CREATE_JOB, T1)]
    assert world.queue.waiting == 2  # this key went back, behind the other one
    assert "jobName" not in (world.execution(T1).get("status") or {})

    second = world.reconcile()

    assert writes(second) == [(PATCH_EXECUTION, T1), (PATCH_RJOB, RJOB)]
    assert world.execution(T1)["status"]["jobName"] == T1
    assert world.rjob_status()["lastRunToken"] == "t1"
    assert [c.verb for c in first + second].count(EVENT) == 1  # RunStarted, once


def test_with_others_always_waiting_and_a_run_due_each_pass_the_statuses_wait_one_pass_only() -> (
    None
):
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.queue.add((NS, "another-due-rjob"))  # the queue is never empty

    first = world.reconcile()
    assert writes(first) == [(CREATE_EXECUTION, T1), (CREATE_JOB, T1)]

    # Before this key comes round again, a new run is due (a new token, or the next slot).
    t2 = manual("t2")
    second = world.run_token("t2")

    assert (CREATE_EXECUTION, t2) in writes(second)
    assert (PATCH_RJOB, RJOB) in writes(second), "deferred once already: written now"
    assert world.execution(T1)["status"]["jobName"] == T1

    t3 = manual("t3")
    third = world.run_token("t3")
    assert (CREATE_JOB, t3) in writes(third)
    assert (PATCH_RJOB, RJOB) not in writes(third), "and the next may wait again"


# Armed ahead: every minute, the last slot 10:17, the next at 10:18, 30 s from NOW.
NEXT = datetime(2026, 11, 22, 10, 18, tzinfo=UTC)
MINUTELY: dict[str, Any] = {
    "schedule": "* * * * *",
    "status": {"lastScheduleTime": "2026-11-22T10:17:00Z"},
}


def test_the_next_slot_is_armed_after_the_status_and_its_slot_writes_only_its_job() -> None:
    world = World(arm_ahead=timedelta(seconds=30))
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(**MINUTELY))

    before = world.reconcile()

    assert writes(before) == [
        (PATCH_RJOB, RJOB),
        (CREATE_EXECUTION, slot(NEXT)),  # last: nothing counts on it before its slot
        (PATCH_EXECUTION, slot(NEXT)),
    ]
    armed = world.execution(slot(NEXT))
    assert armed["metadata"]["annotations"] == {"rerunnable.dev/armed": "true"}
    assert (armed["status"]["phase"], armed["status"]["reason"]) == ("Pending", "Scheduled")
    assert world.kube.get(JOB_KIND, NS, slot(NEXT)) is None

    world.sync()
    world.clock.now = NEXT
    world.queue.add((NS, "another-due-rjob"))  # many runs due at once
    at_slot = world.reconcile()

    assert writes(at_slot) == [(CREATE_JOB, slot(NEXT))]  # the one write the slot needs
    later = world.reconcile()
    assert writes(later)[:2] == [(PATCH_EXECUTION, slot(NEXT)), (PATCH_RJOB, RJOB)]
    assert world.execution(slot(NEXT))["status"]["jobName"] == slot(NEXT)
    assert "reason" not in world.execution(slot(NEXT))["status"]
    assert world.rjob_status()["lastScheduleTime"] == stamp(NEXT)


def test_a_disarm_deletes_only_the_version_it_planned_from() -> None:
    # A deposed leader's disarm, delivered after the run changed (its Job made, its status
    # written by the new leader), must not delete it.
    world = World(arm_ahead=timedelta(seconds=30))
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(**MINUTELY))
    world.reconcile()
    world.kube.modify(RERUNNABLE_JOB_KIND, NS, RJOB, {"metadata": {"generation": 4}})
    world.sync()
    world.kube.modify(EXECUTION_KIND, NS, slot(NEXT), {"status": {"jobName": slot(NEXT)}})

    calls = world.reconcile()

    assert writes(calls) == [(DELETE_EXECUTION, slot(NEXT))]  # refused: it changed
    assert world.execution(slot(NEXT))["status"]["jobName"] == slot(NEXT)
    assert world.queue.delays[-1] == (KEY, CONFLICT_DELAY)


def test_an_armed_run_made_before_an_edit_is_deleted_then_made_again() -> None:
    world = World(arm_ahead=timedelta(seconds=30))
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(**MINUTELY))
    world.reconcile()
    world.sync()
    edited = {"spec": {"jobTemplate": {"metadata": {"labels": {"team": "db"}}}}}
    world.kube.modify(RERUNNABLE_JOB_KIND, NS, RJOB, {**edited, "metadata": {"generation": 4}})
    world.sync()

    calls = world.reconcile()

    assert writes(calls) == [
        (DELETE_EXECUTION, slot(NEXT)),
        (PATCH_RJOB, RJOB),  # observedGeneration
        (CREATE_EXECUTION, slot(NEXT)),
        (PATCH_EXECUTION, slot(NEXT)),
    ]
    assert world.execution(slot(NEXT))["spec"]["templateGeneration"] == 4


def test_manual_run_execution_is_owned_labelled_and_records_the_token() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()

    execution = world.execution(T1)
    assert execution["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "RerunnableJob",
            "name": RJOB,
            "uid": RJOB_UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert execution["metadata"]["labels"] == {
        "rerunnable.dev/rerunnable-job": RJOB,
        "rerunnable.dev/execution": T1,
        "rerunnable.dev/trigger": "Manual",
    }
    assert "generateName" not in execution["metadata"]
    assert execution["spec"] == {
        "rerunnableJob": RJOB,
        "trigger": "Manual",
        "token": "t1",
        "templateGeneration": GENERATION,
        "attempt": 1,
    }
    assert execution["status"]["jobName"] == T1
    assert execution["status"]["phase"] == "Pending"


def test_manual_run_job_is_owned_by_its_execution_and_carries_the_template() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()

    job = world.job(T1)
    execution_uid = world.execution(T1)["metadata"]["uid"]
    assert job["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "Execution",
            "name": T1,
            "uid": execution_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert job["metadata"]["labels"] == {
        "team": "storage",
        "rerunnable.dev/rerunnable-job": RJOB,
        "rerunnable.dev/execution": T1,
        "rerunnable.dev/trigger": "Manual",
    }
    assert job["spec"]["template"]["spec"] == TEMPLATE["spec"]["template"]["spec"]
    assert job["spec"]["backoffLimit"] == 2


def test_manual_run_status_and_event() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    calls = world.reconcile()

    (patch,) = world.kube.sent(PATCH_RJOB, RJOB)
    assert patch["lastRunToken"] == "t1"
    assert patch["active"] == [T1]
    status = world.rjob_status()
    assert status["lastRunToken"] == "t1"
    assert condition(status, "Ready")["status"] == "True"
    (event,) = world.kube.events
    assert (event.type, event.reason) == ("Normal", "RunStarted")
    assert T1 in event.message
    assert event.regarding == {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": "RerunnableJob",
        "namespace": NS,
        "name": RJOB,
        "uid": RJOB_UID,
    }
    assert event.time == NOW
    assert_events_last(calls)


def test_second_pass_before_the_watch_catches_up_creates_nothing_more() -> None:
    # The overlay: the pass sees its own Execution and status, so the token is handled.
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()

    calls = world.reconcile()

    assert [c for c in calls if c.verb in (CREATE_EXECUTION, CREATE_JOB)] == []
    assert world.kube.names(EXECUTION_KIND) == [T1]
    assert world.kube.names(JOB_KIND) == [T1]


def test_second_pass_before_the_watch_catches_up_leaves_the_new_run_alone() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()

    world.reconcile()

    assert world.execution(T1)["status"]["phase"] == "Pending"
    assert [e.reason for e in world.kube.events] == ["RunStarted"]


def test_pass_that_sees_the_jobname_before_the_job_leaves_the_run_alone() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()
    # The Execution's watch delivers jobName; the Job's ADDED event is still on its way.
    world.indexes.sync(world.kube, world.store, only=[Kind.RERUNNABLE_JOB, Kind.EXECUTION])

    world.reconcile()

    assert world.execution(T1)["status"]["phase"] == "Pending"


def test_same_token_again_yields_nothing() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()
    world.sync()
    world.reconcile()
    world.sync()

    assert writes(world.reconcile()) == []
    assert world.kube.names(EXECUTION_KIND) == [T1]


# 2. AlreadyExists: done if it is ours, an error if it is not ----------------------------------

ALREADY_EXISTS = cases(
    [
        (
            "another replica created the Execution, not yet its Job",
            {},
            False,
            [CREATE_EXECUTION, GET_EXECUTION, CREATE_JOB, PATCH_EXECUTION, PATCH_RJOB, EVENT],
        ),
        (
            "another replica created the Execution and its Job",
            {},
            True,
            # The existing Job is read back: its owner is checked and the next pass sees it.
            [
                CREATE_EXECUTION,
                GET_EXECUTION,
                CREATE_JOB,
                GET_JOB,
                PATCH_EXECUTION,
                PATCH_RJOB,
                EVENT,
            ],
        ),
        (
            "another replica's run is already running",
            running(T1),
            True,
            [CREATE_EXECUTION, GET_EXECUTION, PATCH_RJOB, EVENT],
        ),
    ]
)


@pytest.mark.parametrize(("case", "status", "has_job", "expected"), ALREADY_EXISTS)
def test_execution_already_existing_and_ours_is_done(
    case: str, status: dict[str, Any], has_job: bool, expected: list[str]
) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    # This replica's watch has not delivered them yet.
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", status=status), indexed=False)
    if has_job:
        world.seed(JOB_KIND, job_body(T1, status=RUNNING_JOB_STATUS), indexed=False)

    calls = world.reconcile()

    assert [c.verb for c in calls] == expected
    assert world.kube.names(EXECUTION_KIND) == [T1]
    assert world.kube.names(JOB_KIND) == [T1]
    assert world.job(T1)["metadata"]["ownerReferences"][0]["uid"] == f"uid-{T1}"
    assert world.execution(T1)["status"]["jobName"] == T1
    assert world.rjob_status()["lastRunToken"] == "t1"
    assert world.queue.delays == []


def test_execution_already_existing_and_owned_by_another_uid_fails_with_backoff() -> None:
    # A RerunnableJob of the same name was deleted and re-created; the garbage collector has
    # not yet removed the old one's Execution.
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", owner_uid="uid-old"), indexed=False)

    calls = world.reconcile()

    # The conflict is retried, and said once where the user looks: a Warning event.
    assert verbs(calls) == [(CREATE_EXECUTION, T1), (GET_EXECUTION, T1), (EVENT, RJOB)]
    assert world.kube.names(JOB_KIND) == []
    assert "lastRunToken" not in world.rjob_status()  # the token is not used up
    assert world.queue.delays == [(KEY, 1.0)]
    assert world.queue.scheduled == 1


def test_backoff_doubles_while_failing_and_resets_after_a_success() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", owner_uid="uid-old"), indexed=False)
    for _ in range(4):
        world.reconcile()
    assert [delay for _, delay in world.queue.delays] == [1.0, 2.0, 4.0, 8.0]
    assert world.queue.scheduled == 1  # one timer per key: the earliest

    world.kube.remove(EXECUTION_KIND, NS, T1)  # the garbage collector gets to it
    calls = world.reconcile()
    assert (CREATE_JOB, T1) in verbs(calls)
    assert world.execution(T1)["metadata"]["ownerReferences"][0]["uid"] == RJOB_UID
    assert len(world.queue.delays) == 4

    t2 = manual("t2")
    world.kube.modify(
        RERUNNABLE_JOB_KIND, NS, RJOB, {"metadata": {"annotations": {"rerunnable.dev/run": "t2"}}}
    )
    world.seed(EXECUTION_KIND, execution_body(t2, token="t2", owner_uid="uid-old"), indexed=False)
    world.sync()
    world.reconcile()
    assert world.queue.delays[-1] == (KEY, 1.0)


def test_backoff_is_capped_at_five_minutes() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", owner_uid="uid-old"), indexed=False)
    for _ in range(12):
        world.reconcile()
    assert [delay for _, delay in world.queue.delays][-4:] == [256.0, 300.0, 300.0, 300.0]


def test_a_job_deleted_before_its_status_is_written_is_let_go_without_a_retry() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.kube.remove(RERUNNABLE_JOB_KIND, NS, RJOB)  # the watch has not said so yet
    calls = world.reconcile()

    assert (PATCH_RJOB, RJOB) in verbs(calls)
    assert world.queue.delays == []
    (errors,) = world.metrics.reconcile_errors.collect()
    assert errors.samples == []
    assert world.reconcile() == []  # the store knows it is gone: nothing more to do


def test_the_api_server_away_is_retried_every_ten_seconds_at_most() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    for _ in range(8):
        world.kube.fail_next(
            "create_execution", UnavailableError(0, "Unavailable", "ClientConnectorError")
        )
        world.reconcile()
    assert [delay for _, delay in world.queue.delays] == [1, 2, 4, 8, 10, 10, 10, 10]


# 3. The API server refuses the Job ------------------------------------------------------------

REJECTION = f'Job.batch "{T1}" is invalid: spec.template.spec.containers[0].image: Required value'


@pytest.mark.parametrize("watch", ["watch caught up", "watch lagging"])
def test_rejected_job_fails_the_run_and_marks_the_template_invalid(watch: str) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.kube.reject_jobs(REJECTION)

    calls = world.reconcile()

    assert verbs(calls) == [
        (CREATE_EXECUTION, T1),
        (CREATE_JOB, T1),
        (PATCH_EXECUTION, T1),
        (EVENT, RJOB),  # RunFailed: the Job was refused
        (PATCH_RJOB, RJOB),
        (EVENT, RJOB),
    ]
    status = world.execution(T1)["status"]
    assert (status["phase"], status["reason"], status["message"]) == (
        "Failed",
        "JobRejected",
        REJECTION,
    )
    assert status["completionTime"] == stamp(NOW)
    assert "jobName" not in status
    assert world.kube.names(JOB_KIND) == []
    assert world.rjob_status()["lastRunToken"] == "t1"  # the token was used: its run failed
    assert world.queue.delays == []  # not an error of the pass: no retry

    if watch == "watch caught up":
        world.sync()
    calls = world.reconcile()

    ready = condition(world.rjob_status(), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidJobTemplate")
    assert ready["message"] == f"spec.jobTemplate: {REJECTION}"
    assert [(e.type, e.reason) for e in world.kube.events][-1] == ("Warning", "InvalidJobTemplate")
    assert [c for c in calls if c.verb in (CREATE_EXECUTION, CREATE_JOB)] == []
    assert world.rjob_status()["active"] == []


# 4. Concurrency: Queue and Replace -------------------------------------------------------------

T0 = manual("t0")


def world_with_a_running_run(policy: str, *, job_exists: bool = True) -> World:
    """A run (token t0) whose Job runs, and a new token t1."""
    world = World()
    world.seed(
        RERUNNABLE_JOB_KIND,
        rjob_body(token="t1", policy=policy, status={"lastRunToken": "t0"}),
    )
    world.seed(EXECUTION_KIND, execution_body(T0, token="t0", status=running(T0)))
    job = job_body(T0, status=RUNNING_JOB_STATUS)
    if job_exists:
        world.seed(JOB_KIND, job)
    else:
        world.indexes.add(JOB_KIND, job)  # deleted already; the watch has not said so yet
    return world


def test_queued_run_is_an_execution_with_its_template_and_no_job() -> None:
    world = world_with_a_running_run("Queue")

    calls = world.reconcile()

    assert verbs(calls) == [
        (CREATE_EXECUTION, T1),
        (PATCH_EXECUTION, T1),
        (PATCH_RJOB, RJOB),
        (EVENT, RJOB),
    ]
    queued = world.execution(T1)
    assert queued["spec"]["jobTemplate"] == TEMPLATE
    assert (queued["status"]["phase"], queued["status"]["reason"]) == ("Pending", "Queued")
    assert world.kube.names(JOB_KIND) == [T0]
    assert world.rjob_status()["active"] == [T0, T1]
    assert [e.reason for e in world.kube.events] == ["RunQueued"]


def test_queued_run_starts_with_the_template_it_was_queued_with() -> None:
    # Rule 3: the template at trigger time. An edit made while the run waits changes nothing.
    world = world_with_a_running_run("Queue")
    world.reconcile()
    edited = copy.deepcopy(dict(TEMPLATE))
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:edited"
    world.kube.modify(
        RERUNNABLE_JOB_KIND,
        NS,
        RJOB,
        {"metadata": {"generation": GENERATION + 1}, "spec": {"jobTemplate": edited}},
    )
    finished = stamp(NOW)
    world.kube.modify(
        JOB_KIND,
        NS,
        T0,
        {
            "status": {
                "active": None,
                "succeeded": 1,
                "completionTime": finished,
                "conditions": [
                    {
                        "type": "Complete",
                        "status": "True",
                        "reason": "CompletionsReached",
                        "lastTransitionTime": finished,
                    }
                ],
            }
        },
    )
    world.sync()

    calls = world.reconcile()

    assert writes(calls) == [
        (PATCH_EXECUTION, T0),  # it follows its Job: Succeeded
        (CREATE_JOB, T1),
        (PATCH_EXECUTION, T1),  # jobName, only once the Job exists
        (PATCH_RJOB, RJOB),
    ]
    assert world.execution(T0)["status"]["phase"] == "Succeeded"
    image = world.job(T1)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "busybox:1.36"
    owner = world.job(T1)["metadata"]["ownerReferences"][0]["uid"]
    assert owner == world.execution(T1)["metadata"]["uid"]
    assert world.execution(T1)["status"]["jobName"] == T1
    assert_events_last(calls)


@pytest.mark.parametrize("job_exists", [True, False], ids=["job running", "job already gone"])
def test_replace_interrupts_then_deletes_the_job_then_starts_the_new_run(job_exists: bool) -> None:
    world = world_with_a_running_run("Replace", job_exists=job_exists)

    calls = world.reconcile()

    assert verbs(calls) == [
        (PATCH_EXECUTION, T0),
        (DELETE_JOB, T0),
        (CREATE_EXECUTION, T1),
        (CREATE_JOB, T1),
        (PATCH_EXECUTION, T1),
        (PATCH_RJOB, RJOB),
        (EVENT, RJOB),
        (EVENT, RJOB),
    ]
    interrupted = world.execution(T0)["status"]
    assert (interrupted["phase"], interrupted["reason"]) == ("Interrupted", "Replaced")
    assert world.kube.names(JOB_KIND) == [T1]
    assert [e.reason for e in world.kube.events] == ["RunInterrupted", "RunStarted"]
    assert world.queue.delays == []


# 5. Pruning -----------------------------------------------------------------------------------


def finished(name: str, phase: str, hour: int) -> dict[str, Any]:
    at = NOW.replace(hour=hour, minute=0, second=0)
    return execution_body(
        name,
        created=at - timedelta(minutes=5),
        status={
            "phase": phase,
            "jobName": name,
            "completionTime": stamp(at),
            "reason": "Done",
        },
    )


HISTORY = [
    ("backup-ok-7", "Succeeded", 7),
    ("backup-ok-8", "Succeeded", 8),
    ("backup-ok-9", "Succeeded", 9),
    ("backup-ko-6", "Failed", 6),
    ("backup-ko-8", "Interrupted", 8),
]


@pytest.mark.parametrize(
    "already_gone", [False, True], ids=["still there", "someone deleted them first"]
)
def test_pruning_deletes_the_oldest_finished_executions_before_the_status(
    already_gone: bool,
) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(successful_limit=1, failed_limit=1))
    for name, phase, hour in HISTORY:
        world.seed(EXECUTION_KIND, finished(name, phase, hour))
    if already_gone:
        for name in ("backup-ko-6", "backup-ok-7", "backup-ok-8"):
            world.kube.remove(EXECUTION_KIND, NS, name)

    calls = world.reconcile()

    assert writes(calls) == [
        (DELETE_EXECUTION, "backup-ko-6"),
        (DELETE_EXECUTION, "backup-ok-7"),
        (DELETE_EXECUTION, "backup-ok-8"),
        (PATCH_RJOB, RJOB),
    ]
    assert world.kube.names(EXECUTION_KIND) == ["backup-ko-8", "backup-ok-9"]
    recent = [e["name"] for e in world.rjob_status()["recentExecutions"]]
    assert sorted(recent) == ["backup-ko-8", "backup-ok-9"]
    assert world.queue.delays == []


def test_pruned_executions_stay_pruned_before_the_watch_catches_up() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(successful_limit=1, failed_limit=1))
    for name, phase, hour in HISTORY:
        world.seed(EXECUTION_KIND, finished(name, phase, hour))
    world.reconcile()

    assert world.reconcile() == []


def test_last_result_is_the_latest_run_even_after_it_is_pruned() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(successful_limit=0, failed_limit=1))
    world.seed(EXECUTION_KIND, finished("backup-ko-6", "Failed", 6))
    world.seed(EXECUTION_KIND, finished("backup-ok-9", "Succeeded", 9))
    world.reconcile()
    assert world.rjob_status()["lastResult"] == "Succeeded"
    world.sync()

    world.reconcile()

    assert world.rjob_status()["lastResult"] == "Succeeded"


# 6. Nothing to do, nothing written ------------------------------------------------------------

STEADY = cases(
    [
        ("manual run", NOW, {"token": "t1"}),
        (
            "manual run, clock with microseconds",
            NOW + timedelta(microseconds=654_321),
            {"token": "t1"},
        ),
        (
            "schedule, nothing due yet",
            NOW,
            {"schedule": "*/5 * * * *", "created": NOW - timedelta(minutes=1)},
        ),
        (
            "schedule, a slot due now",
            NOW,
            {"schedule": "*/5 * * * *", "created": NOW - timedelta(hours=1)},
        ),
        ("Forbid skips a run", NOW, {"token": "t1", "policy": "Forbid"}),
    ]
)


@pytest.mark.parametrize(("case", "now", "spec"), STEADY)
def test_status_is_not_patched_when_unchanged(
    case: str, now: datetime, spec: dict[str, Any]
) -> None:
    world = World(now)
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(**spec))
    if spec.get("policy") == "Forbid":
        world.seed(EXECUTION_KIND, execution_body(T0, token="t0", status=running(T0)))
        world.seed(JOB_KIND, job_body(T0, status=RUNNING_JOB_STATUS))
    first = world.reconcile()
    assert (PATCH_RJOB, RJOB) in verbs(first)
    world.sync()

    second = world.reconcile()
    world.sync()
    third = world.reconcile()

    assert (PATCH_RJOB, RJOB) not in verbs(second)
    assert third == []


# 7. Timers, and objects that are gone ----------------------------------------------------------


async def tick(world: World, at: datetime) -> None:
    """Let the queue's timer loop make one pass at `at` (it reads the clock, then waits)."""
    world.clock.now = at
    world.clock.read = asyncio.Event()
    task = asyncio.create_task(world.queue.run_timers())
    try:
        await world.clock.read.wait()
    finally:
        world.clock.read = None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_wake_at_brings_the_key_back_at_the_next_slot() -> None:
    next_slot = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)

    async def main() -> None:
        world = World()
        world.seed(
            RERUNNABLE_JOB_KIND,
            rjob_body(schedule="*/5 * * * *", created=NOW - timedelta(minutes=1)),
        )
        await world.reconciler.reconcile(KEY)
        assert world.kube.names(EXECUTION_KIND) == []
        assert world.rjob_status()["nextScheduleTime"] == stamp(next_slot)
        assert world.queue.delays == [(KEY, 150.0)]
        assert world.queue.scheduled == 1

        await tick(world, next_slot - timedelta(seconds=1))
        assert world.queue.waiting == 0
        await tick(world, next_slot)
        assert (world.queue.waiting, world.queue.scheduled) == (1, 0)

        world.sync()
        await world.reconciler.reconcile(KEY)
        execution = world.execution(slot(next_slot))
        assert execution["spec"]["trigger"] == "Schedule"
        assert execution["spec"]["scheduledTime"] == stamp(next_slot)
        job = world.job(slot(next_slot))
        assert job["metadata"]["annotations"]["rerunnable.dev/scheduled-time"] == stamp(next_slot)
        assert world.queue.delays[-1] == (KEY, 300.0)

    asyncio.run(asyncio.wait_for(main(), timeout=2.0))


def test_deleted_rerunnable_job_is_forgotten() -> None:
    world = World()
    world.queue.add_at(KEY, NOW.timestamp() + 60)

    assert world.reconcile() == []
    assert world.queue.scheduled == 0
    assert world.queue.delays == []


def test_deleted_rerunnable_job_starts_no_run_even_right_after_a_status_write() -> None:
    before_slot = datetime(2026, 11, 22, 10, 19, tzinfo=UTC)
    world = World(before_slot)
    world.seed(
        RERUNNABLE_JOB_KIND,
        rjob_body(schedule="*/5 * * * *", created=before_slot - timedelta(minutes=1)),
    )
    assert (PATCH_RJOB, RJOB) in verbs(world.reconcile())
    world.sync()  # the watch delivers our status write...
    world.kube.remove(RERUNNABLE_JOB_KIND, NS, RJOB)
    world.sync()  # ...and the deletion, before a worker gets to the key again
    world.clock.now = before_slot + timedelta(minutes=1)  # the 10:20 slot is due

    assert world.reconcile() == []
    assert world.kube.names(JOB_KIND) == []
    assert world.queue.scheduled == 0


# 8. A write that fails part-way: the next pass converges ---------------------------------------


def lagging(case: str) -> Any:
    return pytest.param(case, False, id=f"{case}, watch lagging")


FAILED_WRITE = [
    pytest.param(CREATE_JOB, True, id="Job create fails, watch caught up"),
    pytest.param(PATCH_EXECUTION, True, id="jobName patch fails, watch caught up"),
    pytest.param(PATCH_RJOB, True, id="status patch fails, watch caught up"),
    pytest.param(CREATE_JOB, False, id="Job create fails, watch lagging"),
    pytest.param(PATCH_EXECUTION, False, id="jobName patch fails, watch lagging"),
    lagging(PATCH_RJOB),
]


@pytest.mark.parametrize(("failing", "synced"), FAILED_WRITE)
def test_a_failed_write_is_retried_and_the_run_exists_once(failing: str, synced: bool) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.kube.fail_next(failing, KubeError(500, "InternalError", "etcdserver: request timed out"))

    first = world.reconcile()
    assert verbs(first)[-1] == (failing, RJOB if failing == PATCH_RJOB else T1)
    assert world.queue.delays == [(KEY, 1.0)]
    if synced:
        world.sync()

    second = world.reconcile()

    assert CREATE_EXECUTION not in [c.verb for c in second]
    assert world.kube.names(EXECUTION_KIND) == [T1]
    assert world.kube.names(JOB_KIND) == [T1]
    assert world.execution(T1)["status"]["jobName"] == T1
    assert world.execution(T1)["status"]["phase"] == "Pending"
    assert (
        world.job(T1)["metadata"]["ownerReferences"][0]["uid"]
        == (world.execution(T1)["metadata"]["uid"])
    )
    assert world.rjob_status()["lastRunToken"] == "t1"
    assert world.queue.delays == [(KEY, 1.0)]  # the retry succeeded


def test_already_existing_queued_run_that_has_started_is_left_alone() -> None:
    world = world_with_a_running_run("Queue")
    world.seed(
        EXECUTION_KIND,
        execution_body(T1, token="t1", status=running(T1), queued=True),
        indexed=False,
    )
    world.seed(JOB_KIND, job_body(T1, status=RUNNING_JOB_STATUS), indexed=False)

    calls = world.reconcile()

    assert (PATCH_EXECUTION, T1) not in verbs(calls)
    assert world.execution(T1)["status"] == running(T1)


# 9. The fake API server answers as these tests assume -----------------------------------------

MERGE_PATCHES = cases(
    [
        ("a new key is added", {"a": 1}, {"b": 2}, {"a": 1, "b": 2}),
        ("null deletes a key", {"a": 1, "b": 2}, {"b": None}, {"a": 1}),
        ("null for a missing key is a no-op", {"a": 1}, {"b": None}, {"a": 1}),
        ("objects merge", {"p": {"x": 1, "y": 2}}, {"p": {"y": 3}}, {"p": {"x": 1, "y": 3}}),
        (
            "null deletes inside an object",
            {"p": {"x": 1, "y": 2}},
            {"p": {"x": None}},
            {"p": {"y": 2}},
        ),
        ("lists are replaced whole", {"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}),
        ("an object replaces a scalar", {"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}),
    ]
)


@pytest.mark.parametrize(("case", "target", "patch", "expected"), MERGE_PATCHES)
def test_fake_status_patch_is_a_merge_patch(
    case: str, target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    kube = FakeKube(clock=lambda: NOW)
    kube.seed(RERUNNABLE_JOB_KIND, rjob_body(status=target))
    patched = asyncio.run(kube.patch_rerunnable_job_status(NS, RJOB, patch))
    assert patched["status"] == expected


def test_fake_create_assigns_identity_and_refuses_a_taken_name() -> None:
    async def main() -> None:
        kube = FakeKube(clock=lambda: NOW)
        body = execution_body(T1, status={"phase": "Succeeded"})
        del body["metadata"]["uid"]
        created = await kube.create_execution(NS, body)
        meta = created["metadata"]
        assert meta["uid"]
        assert meta["creationTimestamp"] == stamp(NOW)
        assert "status" not in created  # POST never sets the status
        patched = await kube.patch_execution_status(NS, T1, {"phase": "Running"})
        assert int(patched["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
        with pytest.raises(AlreadyExistsError):
            await kube.create_execution(NS, execution_body(T1))
        unnamed = execution_body(T1)
        del unnamed["metadata"]["name"]
        with pytest.raises(InvalidError):
            await kube.create_execution(NS, unnamed)

    asyncio.run(main())


def test_fake_missing_objects_are_not_found() -> None:
    async def main() -> None:
        kube = FakeKube(clock=lambda: NOW)
        with pytest.raises(NotFoundError):
            await kube.get_execution(NS, T1)
        with pytest.raises(NotFoundError):
            await kube.patch_execution_status(NS, T1, {"phase": "Running"})
        with pytest.raises(NotFoundError):
            await kube.delete_execution(NS, T1)
        with pytest.raises(NotFoundError):
            await kube.delete_job(NS, T1)
        with pytest.raises(NotFoundError):
            await kube.patch_rerunnable_job_status(NS, RJOB, {})

    asyncio.run(main())


def test_fake_refuses_to_change_a_finished_phase() -> None:
    async def main() -> None:
        kube = FakeKube(clock=lambda: NOW)
        kube.seed(EXECUTION_KIND, execution_body(T1, status={"phase": "Failed"}))
        await kube.patch_execution_status(NS, T1, {"message": "still failed"})
        with pytest.raises(InvalidError):
            await kube.patch_execution_status(NS, T1, {"phase": "Interrupted"})

    asyncio.run(main())


# 9. Reports: what the pods left, and writes that meet a workload's ------------------------------

COMPLETE_JOB_STATUS = {
    "startTime": stamp(STARTED),
    "completionTime": stamp(NOW),
    "succeeded": 1,
    "conditions": [
        {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
    ],
}


def pod_body(name: str, execution: str, message: str, created: datetime) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": NS,
            "creationTimestamp": stamp(created),
            "labels": {"rerunnable.dev/execution": execution},
        },
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [{"name": "main", "state": {"terminated": {"message": message}}}],
        },
    }


def test_a_run_that_ends_keeps_what_its_pods_left_in_their_termination_messages() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(status={"lastRunToken": "t0"}, token="t0"))
    world.seed(EXECUTION_KIND, execution_body(T0, token="t0", status=running(T0)))
    world.seed(JOB_KIND, job_body(T0, status=COMPLETE_JOB_STATUS))
    first = '{"result": {"rows": "10", "file": "a.csv"}}'
    second = '{"result": {"file": "b.csv"}, "message": "exported"}'
    world.kube.seed(POD_KIND, pod_body("p2", T0, second, NOW - timedelta(minutes=5)))
    world.kube.seed(POD_KIND, pod_body("p1", T0, first, NOW - timedelta(minutes=10)))

    world.reconcile()

    status = world.execution(T0)["status"]
    assert status["phase"] == "Succeeded"
    assert status["result"] == {"rows": "10", "file": "b.csv"}, "pods in creation order"
    assert status["report"]["message"] == "exported"


def test_a_write_of_reported_fields_that_meets_a_report_is_tried_again_soon_not_failed() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(status={"lastRunToken": "t0"}, token="t0"))
    steps = [{"name": "load", "phase": "Running"}]
    world.seed(
        EXECUTION_KIND, execution_body(T0, token="t0", status={**running(T0), "steps": steps})
    )
    world.seed(JOB_KIND, job_body(T0, status=COMPLETE_JOB_STATUS))
    # A workload's report lands after the pass read the Execution (the index is behind).
    world.kube.modify(EXECUTION_KIND, NS, T0, {"status": {"report": {"message": "late"}}})

    calls = world.reconcile()

    assert (PATCH_EXECUTION, T0) in verbs(calls)
    assert world.execution(T0)["status"]["phase"] == "Running", "the conditional write lost"
    assert world.queue.delays == [(KEY, CONFLICT_DELAY)], "again soon, no backoff"
    world.sync()
    world.reconcile()
    status = world.execution(T0)["status"]
    assert status["phase"] == "Succeeded"
    assert status["steps"] == [
        {
            "name": "load",
            "phase": "Succeeded",
            "completionTime": stamp(NOW),
            "message": None,
            "startTime": None,
        }
    ]
    assert status["report"]["message"] == "late", "the report was kept"


def test_a_status_planned_from_an_older_version_is_refused_never_a_step_back() -> None:
    # Found by the chaos suite: a deposed leader's status write, held up in the network and
    # delivered after the new leader's, set lastRunToken back. Every status write is made onto
    # the version it was planned from.
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    # Another replica ran t1 and wrote it after this replica's watch last saw the job.
    world.seed(EXECUTION_KIND, execution_body(manual("t1"), token="t1"), indexed=False)
    world.kube.modify(RERUNNABLE_JOB_KIND, NS, RJOB, {"status": {"lastRunToken": "t1"}})
    world.kube.modify(RERUNNABLE_JOB_KIND, NS, RJOB, {"status": {"lastRunToken": "t2"}})

    calls = world.reconcile()

    assert (PATCH_RJOB, RJOB) in verbs(calls)
    assert world.rjob_status()["lastRunToken"] == "t2", "the stale write went through"
    assert world.queue.delays == [(KEY, CONFLICT_DELAY)], "again soon, no backoff"


def test_a_skipped_run_is_said_before_the_status_counts_it_handled() -> None:
    # Found by the chaos storm: the RunSkipped event went out after the status write, and a
    # SIGKILL in between left a slot that neither ran nor was ever reported.
    world = world_with_a_running_run("Forbid")

    calls = world.reconcile()

    said = [i for i, c in enumerate(calls) if c.verb == EVENT and c.sent["reason"] == "RunSkipped"]
    handled = [i for i, c in enumerate(calls) if c.verb == PATCH_RJOB]
    assert said, verbs(calls)
    assert handled, verbs(calls)
    assert said[0] < handled[0], verbs(calls)
    assert world.rjob_status()["lastSkipped"]["token"] == "t1"


def test_a_run_that_ends_is_counted_once_even_when_its_pass_fails_after_the_write() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()  # T1 runs
    world.sync()
    done = {"type": "Complete", "status": "True", "reason": "CompletionsReached"}
    world.kube.modify(JOB_KIND, NS, T1, {"status": {"succeeded": 1, "conditions": [done]}})
    world.sync()
    world.kube.fail_next(PATCH_RJOB, ConflictError(409, "Conflict", "the object has been modified"))

    first = world.reconcile()  # the run's end is written, then the status write fails
    world.sync()
    second = world.reconcile()

    assert (PATCH_EXECUTION, T1) in writes(first)
    assert (PATCH_EXECUTION, T1) not in writes(second)
    assert world.execution(T1)["status"]["phase"] == "Succeeded"
    counted = world.metrics.registry.get_sample_value(
        "rerunnable_runs_finished_total", {"phase": "Succeeded"}
    )
    assert counted == 1


# Metrics and log lines ------------------------------------------------------------------------


def counted(world: World, name: str) -> float:
    value = world.metrics.registry.get_sample_value(name, {})
    return 0.0 if value is None else value


def test_missed_slots_are_counted_once_when_the_status_handles_them() -> None:
    # Hourly, last handled at 06:00, now 10:17: 07:00, 08:00 and 09:00 are missed (Latest).
    world = World()
    last = {"lastScheduleTime": stamp(datetime(2026, 11, 22, 6, tzinfo=UTC))}
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(schedule="0 * * * *", status=last))
    world.reconcile()
    assert counted(world, "rerunnable_schedules_missed_total") == 3
    world.sync()
    world.reconcile()
    assert counted(world, "rerunnable_schedules_missed_total") == 3


def test_a_status_write_that_fails_counts_no_missed_slot_until_one_succeeds() -> None:
    world = World()
    last = {"lastScheduleTime": stamp(datetime(2026, 11, 22, 6, tzinfo=UTC))}
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(schedule="0 * * * *", status=last))
    world.kube.fail_next("patch_rerunnable_job_status", UnavailableError(503, "", "away"))
    world.reconcile()
    assert counted(world, "rerunnable_schedules_missed_total") == 0
    world.sync()
    world.reconcile()
    assert counted(world, "rerunnable_schedules_missed_total") == 3


def test_a_pass_that_does_not_finish_is_a_work_queue_retry() -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", owner_uid="uid-old"), indexed=False)
    world.reconcile()
    world.reconcile()
    world.kube.remove(EXECUTION_KIND, NS, T1)
    world.kube.fail_next("create_execution", ConflictError(409, "Conflict", "changed"))
    world.reconcile()
    world.reconcile()  # a pass that finishes is no retry
    retries = {"name": "rerunnablejob"}
    assert world.metrics.registry.get_sample_value("workqueue_retries_total", retries) == 3
    assert len(world.queue.delays) == 3


class Lines(logging.Handler):
    """JSON log lines as the operator writes them (--log-format json)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(ContextFields())
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger("rerunnable")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_a_pass_logs_about_its_key_and_each_execution(lines: Lines) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.reconcile()
    about_run = [line for line in lines.lines if line["message"].startswith("started the Job")]
    assert about_run, lines.lines
    for line in about_run:
        assert (line["namespace"], line["rerunnablejob"], line["execution"]) == (NS, RJOB, T1)


def test_a_failed_pass_logs_about_its_key(lines: Lines) -> None:
    world = World()
    world.seed(RERUNNABLE_JOB_KIND, rjob_body(token="t1"))
    world.seed(EXECUTION_KIND, execution_body(T1, token="t1", owner_uid="uid-old"), indexed=False)
    world.reconcile()
    (failed,) = [line for line in lines.lines if "failed (retry in" in line["message"]]
    assert (failed["level"], failed["namespace"], failed["rerunnablejob"]) == ("WARNING", NS, RJOB)
    assert "execution" not in failed  # said about the RerunnableJob, after the Execution's write
    lines.lines.clear()
    logging.getLogger("rerunnable.other").info("outside any pass")
    assert set(lines.lines[0]) == {"time", "level", "logger", "message"}
