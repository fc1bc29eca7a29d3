"""The chaos suite's checks (chaos/invariants.py): each broken promise is found, and a world
that keeps them passes."""

from datetime import UTC, datetime
from typing import Any

import pytest

from chaos.invariants import Expected, Window, check, token_went_back, transition

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
UID = "uid-1"


def at(minute: int, second: int = 0) -> datetime:
    return T0.replace(minute=minute, second=second)


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def rjob(name: str = "a", *, token: str | None = None, **status: Any) -> dict[str, Any]:
    annotations = {"rerunnable.dev/run": token} if token else {}
    return {
        "metadata": {"name": name, "uid": UID, "annotations": annotations},
        "status": {"activeCount": 0, **status},
    }


def execution(
    name: str,
    phase: str | None = "Succeeded",
    *,
    job: str = "a",
    trigger: str = "Manual",
    token: str | None = None,
    slot: datetime | None = None,
    ended: datetime | None = None,
    **spec: Any,
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase} if phase else {}
    if ended:
        status["completionTime"] = z(ended)
    return {
        "metadata": {"name": name, "ownerReferences": [{"uid": UID}]},
        "spec": {
            "rerunnableJob": job,
            "trigger": trigger,
            "token": token,
            "scheduledTime": z(slot) if slot else None,
            **spec,
        },
        "status": status,
    }


def kjob(name: str, execution: str | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"rerunnable.dev/execution": execution or name}}}


def event(reason: str, message: str, when: datetime, name: str = "a") -> dict[str, Any]:
    return {
        "reason": reason,
        "message": message,
        "involvedObject": {"kind": "RerunnableJob", "name": name},
        "firstTimestamp": z(when),
        "lastTimestamp": z(when),
    }


def expected(**tokens: set[str]) -> Expected:
    e = Expected()
    for job, ts in tokens.items():
        e.tokens[job] |= ts
    return e


def test_a_world_that_keeps_every_promise_passes() -> None:
    runs = [
        execution("a-m1", token="t1", ended=at(1)),
        execution("a-m2", token="t2", ended=at(2)),
        execution("a-1", trigger="Schedule", slot=at(3), ended=at(3, 5)),
    ]
    world = [rjob(token="t2", lastRunToken="t2", lastScheduleTime=z(at(3)), lastResult="Succeeded")]
    e = expected(a={"t1", "t2"})
    e.windows["a"] = Window(at(2, 30), at(3), (at(3),))
    found = check(world, runs, [kjob(r["metadata"]["name"]) for r in runs], [], e)
    assert found.as_dict() == {k: [] for k in found.as_dict()}


@pytest.mark.parametrize(
    ("name", "runs", "events", "kind", "says"),
    [
        (
            "token ran twice",
            [execution("a-m1", token="t1"), execution("a-m1b", token="t1")],
            [],
            "duplicates",
            "token t1 ran 2 times",
        ),
        ("token accepted, never ran", [], [], "lost", "token t1 was accepted"),
        (
            "slot without a run or an event",
            [execution("a-m1", token="t1")],
            [],
            "lost",
            "slot 2026-12-02T10:03:00+00:00",
        ),
        (
            "run stuck Running",
            [execution("a-m1", "Running", token="t1")],
            [],
            "stuck",
            "a-m1 is Running",
        ),
    ],
)
def test_each_broken_promise_is_found(
    name: str, runs: list[dict[str, Any]], events: list[dict[str, Any]], kind: str, says: str
) -> None:
    e = expected(a={"t1"})
    e.windows["a"] = Window(at(2, 30), at(3), (at(3),))
    found = check([rjob(token="t1", lastRunToken="t1")], runs, [], events, e)
    assert any(says in line for line in found.as_dict()[kind]), (name, found)


def test_a_token_skipped_by_its_policy_is_accounted_for_by_its_event() -> None:
    skipped = event("RunSkipped", "manual run 't1' skipped: a-x still active", at(1))
    found = check([rjob()], [], [], [skipped], expected(a={"t1"}))
    assert found.lost == []


def test_a_slot_is_accounted_for_by_a_skip_naming_it_or_a_missed_span_covering_it() -> None:
    e = Expected()
    e.windows["a"] = Window(at(0), at(5), (at(1), at(2), at(3), at(5)))
    events = [
        event("RunSkipped", f"scheduled run for {z(at(1))} skipped: busy", at(1, 1)),
        event("MissedSchedule", f"2 scheduled run(s) missed since {z(at(2))} (x)", at(3, 30)),
    ]
    found = check([rjob()], [], [], events, e)
    assert found.lost == ["a: slot 2026-12-02T10:05:00+00:00 neither ran nor was reported missed"]


def test_a_slot_armed_ahead_and_deleted_before_it_ran_is_no_run() -> None:
    e = Expected()
    e.windows["a"] = Window(at(0), at(2), (at(1), at(2)))
    armed = execution("a-1", "Pending", trigger="Schedule", slot=at(1), templateGeneration=1)
    armed["metadata"].update(
        annotations={"rerunnable.dev/armed": "true"}, creationTimestamp=z(at(0))
    )
    armed["status"]["reason"] = "Scheduled"
    ran = execution("a-2", trigger="Schedule", slot=at(2), templateGeneration=1)
    ran["metadata"].update(annotations={"rerunnable.dev/armed": "true"}, creationTimestamp=z(at(1)))
    ran["status"]["jobName"] = "a-2"
    # Both were seen during the run and pruned (or deleted) since.
    found = check([rjob()], [], [], [], e, ever_seen=[armed, ran])
    assert found.lost == ["a: slot 2026-12-02T10:01:00+00:00 neither ran nor was reported missed"]


def test_an_uncertain_token_must_run_only_when_it_landed_on_the_object() -> None:
    e = Expected()
    e.uncertain["a"] |= {"t1", "t2"}
    found = check([rjob(token="t2")], [], [], [], e)
    assert found.lost == ["a: token t2 is on the object and never ran"]


def test_a_job_without_its_execution_and_two_jobs_for_one_execution() -> None:
    runs = [execution("a-m1", token="t1")]
    found = check(
        [rjob()], runs, [kjob("a-m1"), kjob("a-m1x", "a-m1"), kjob("gone")], [], Expected()
    )
    assert found.orphans == ["Job gone has no Execution gone"]
    assert found.duplicates == ["Execution a-m1 has two Jobs: a-m1, a-m1x"]


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ({"activeCount": 1}, "activeCount 1 but 0 active"),
        ({"lastResult": "Succeeded"}, "lastResult Succeeded but the last run to end"),
        ({"lastRunToken": "t0", "lastResult": "Failed"}, "token t1 ran but lastRunToken is t0"),
        ({"lastScheduleTime": z(at(1)), "lastResult": "Failed"}, "lastScheduleTime"),
    ],
)
def test_a_status_that_disagrees_with_the_runs(status: dict[str, Any], says: str) -> None:
    runs = [
        execution("a-m1", "Failed", token="t1", ended=at(3)),
        execution("a-2", trigger="Schedule", slot=at(2), ended=at(2, 5)),
    ]
    base = {"lastRunToken": "t1", "lastScheduleTime": z(at(2)), "lastResult": "Failed"}
    found = check([rjob(token="t1", **(base | status))], runs, [], [], Expected())
    assert any(says in line for line in found.disagreements), found.disagreements


def test_a_run_with_other_parameters_than_sent() -> None:
    e = expected(a={"t1"})
    e.parameters[("a", "t1")] = {"DAY": "d1"}
    runs = [execution("a-m1", token="t1", parameters={"DAY": "today"}, ended=at(1))]
    found = check([rjob(token="t1", lastRunToken="t1", lastResult="Succeeded")], runs, [], [], e)
    assert found.disagreements == [
        "a: token t1 was sent {'DAY': 'd1'} and ran with {'DAY': 'today'}"
    ]


def test_a_backfill_slot_that_never_ran_and_one_that_ran_twice() -> None:
    e = Expected()
    e.backfills["a"] = (at(1), at(2))
    runs = [
        execution("a-b1", trigger="Backfill", slot=at(2), ended=at(5)),
        execution("a-b2", trigger="Backfill", slot=at(2), ended=at(5)),
    ]
    found = check([rjob(lastResult="Succeeded")], runs, [], [], e)
    assert found.lost == ["a: backfill slot 2026-12-02T10:01:00+00:00 never ran"]
    assert found.duplicates == ["a: backfill slot 2026-12-02T10:02:00+00:00 ran 2 times"]


def test_a_retry_attempt_twice_and_a_retry_that_never_came() -> None:
    runs = [
        execution("a-m1", "Failed", token="t1", ended=at(1)),
        execution("a-m1-2", "Failed", trigger="Retry", retryOf="a-m1", attempt=2, ended=at(2)),
        execution("a-m1-2b", "Failed", trigger="Retry", retryOf="a-m1", attempt=2, ended=at(2)),
    ]
    runs[1]["status"]["nextAttemptTime"] = z(at(3))
    found = check([rjob(lastResult="Failed")], runs, [], [], Expected())
    assert found.duplicates == ["a: attempt 2 of a-m1 ran 2 times"]
    assert found.stuck == ["Execution a-m1-2: its retry never came"]


@pytest.mark.parametrize(
    ("kind", "before", "after", "backward"),
    [
        ("Execution", {"phase": "Pending"}, {"phase": "Running"}, False),
        ("Execution", {"phase": "Running"}, {"phase": "Failed"}, False),
        ("Execution", {"phase": "Running"}, {"phase": "Pending"}, True),
        ("Execution", {"phase": "Failed"}, {"phase": "Succeeded"}, True),
        ("Execution", {"phase": "Succeeded"}, {}, True),
        ("RerunnableJob", {"lastScheduleTime": z(at(2))}, {"lastScheduleTime": z(at(3))}, False),
        ("RerunnableJob", {"lastScheduleTime": z(at(3))}, {"lastScheduleTime": z(at(2))}, True),
        ("RerunnableJob", {"lastScheduleTime": z(at(3))}, {}, True),
        ("RerunnableJob", {"lastSuccessfulTime": z(at(3))}, {"lastSuccessfulTime": z(at(1))}, True),
    ],
)
def test_each_step_of_an_object(
    kind: str, before: dict[str, Any], after: dict[str, Any], backward: bool
) -> None:
    found = transition(kind, {"metadata": {"name": "x"}, "status": before}, {"status": after})
    assert bool(found) == backward, found


@pytest.mark.parametrize(
    ("history", "backward"),
    [
        (["t1", "t1", "t2", "t3"], False),
        ([None, "t1", "t2"], False),
        (["t1", "t2", "t1"], True),
        (["t1", None], True),
    ],
)
def test_last_run_token_never_returns_to_a_token_it_left(
    history: list[str | None], backward: bool
) -> None:
    assert bool(token_went_back("a", history)) == backward


def test_a_result_the_operator_acknowledged_must_outlive_the_run() -> None:
    e = Expected()
    e.results["a-m1"] = {"run": "a-m1"}
    e.results["a-m2"] = {"run": "a-m2"}
    runs = [execution("a-m1", token="t1", ended=at(1)), execution("a-m2", token="t2", ended=at(2))]
    runs[0]["status"]["result"] = {"run": "a-m1"}
    found = check([rjob(lastResult="Succeeded")], runs, [], [], e)
    assert found.lost == ["Execution a-m2: its acknowledged result {'run': 'a-m2'} is None"]
