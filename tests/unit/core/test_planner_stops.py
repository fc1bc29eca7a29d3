"""Rules that stop a schedule, as a user sees them: spec.suspendAfterFailures (with the
rerunnable.dev/resume token), spec.startTime, spec.endTime and spec.maxRuns.

A job that runs every minute is planned at NOW (10:17:30, builders.py), with the 10:17
slot due (lastScheduleTime 10:16) unless a rule stops it.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.names import ANNOTATION_RESUME, ANNOTATION_RUN
from rerunnable.api.reasons import ConditionType, EventReason, RunReason, SuspendedReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.planner import Plan, plan
from rerunnable.core.schedule import upcoming_times, validate_schedule
from rerunnable.core.state import ExecutionState, RerunnableJobState
from tests.unit.core.builders import NOW, TEMPLATE, at, execution, job, jobs, rjob

SLOT = at("10:17")
SLOT_NAME = scheduled_execution_name("backup", SLOT)
WATERMARK = at("10:00")  # lastCompletionTime: runs that ended after it are news


def minutely(status: dict[str, Any] | None = None, **spec: Any) -> RerunnableJobState:
    annotations = spec.pop("annotations", None)
    return rjob(
        schedule="* * * * *",
        status={"lastScheduleTime": at("10:16"), "lastCompletionTime": WATERMARK, **(status or {})},
        extra=spec,
        annotations=annotations,
    )


def ended(
    name: str, phase: str, at_: datetime, trigger: str = "Schedule", **kw: Any
) -> ExecutionState:
    return execution(
        name,
        phase=phase,
        trigger=trigger,
        job_name=name,
        completion_time=at_,
        reason=kw.pop("reason", "BackoffLimitExceeded" if phase != "Succeeded" else None),
        **kw,
    )


def run(r: RerunnableJobState, executions: list[ExecutionState] = []) -> Plan:  # noqa: B006
    return plan(r, executions, jobs(*(job(e.name) for e in executions)), NOW)


def suspended(p: Plan) -> tuple[str, str]:
    c = next(c for c in p.status.conditions if c.type == ConditionType.SUSPENDED)
    return (c.status, c.reason)


def created(p: Plan) -> list[str]:
    return [c.name for c in p.creates]


# -- suspendAfterFailures ------------------------------------------------------------------


def test_the_nth_failure_in_a_row_suspends_scheduled_runs() -> None:
    r = minutely({"consecutiveFailures": 1}, suspendAfterFailures=2)
    p = run(r, [ended("backup-a", "Failed", at("10:16:30"))])
    assert created(p) == []
    assert suspended(p) == ("True", SuspendedReason.CONSECUTIVE_FAILURES)
    assert p.status.consecutive_failures == 2
    assert p.status.next_schedule_time is None
    assert EventReason.SUSPENDED_AFTER_FAILURES in [e.reason for e in p.events]


@pytest.mark.parametrize(
    ("case", "execution_", "failures"),
    [
        pytest.param(
            "a success resets", ended("backup-a", "Succeeded", at("10:16:30")), 0, id="success"
        ),
        pytest.param(
            "a manual success resets too",
            ended("backup-m", "Succeeded", at("10:16:30"), trigger="Manual", token="t"),
            0,
            id="manual success",
        ),
        pytest.param(
            "a manual failure does not count",
            ended("backup-m", "Failed", at("10:16:30"), trigger="Manual", token="t"),
            1,
            id="manual failure",
        ),
        pytest.param(
            "a cancelled run does not count",
            ended("backup-a", "Interrupted", at("10:16:30"), reason="Cancelled"),
            1,
            id="cancelled",
        ),
        pytest.param(
            "an interruption counts",
            ended("backup-a", "Interrupted", at("10:16:30"), reason="JobDeleted"),
            2,
            id="interrupted",
        ),
        pytest.param(
            "a run that ended before the last status counts no more",
            ended("backup-a", "Failed", at("09:50")),
            1,
            id="old news",
        ),
    ],
)
def test_what_counts_as_a_failure_in_a_row(
    case: str, execution_: ExecutionState, failures: int
) -> None:
    r = minutely({"consecutiveFailures": 1}, suspendAfterFailures=3)
    p = run(r, [execution_])
    assert p.status.consecutive_failures == failures, case
    assert created(p) == [SLOT_NAME], case


def test_a_run_with_retries_counts_once_by_its_last_attempt() -> None:
    first = ended("backup-a", "Failed", at("10:14"), attempt=1)
    second = ended(
        "backup-a-2", "Failed", at("10:16"), trigger="Retry", attempt=2, retry_of="backup-a"
    )
    r = minutely({"consecutiveFailures": 0}, suspendAfterFailures=2, retry={"limit": 1})
    p = run(r, [first, second])
    assert p.status.consecutive_failures == 1
    assert created(p) == [SLOT_NAME]


def test_a_new_resume_token_clears_the_suspension() -> None:
    halted = {
        "consecutiveFailures": 3,
        "conditions": [
            {"type": "Suspended", "status": "True", "reason": "ConsecutiveFailures",
             "message": "m", "lastTransitionTime": at("09:00")},
        ],
    }  # fmt: skip
    r = minutely(halted, suspendAfterFailures=3, annotations={"rerunnable.dev/resume": "r1"})
    p = run(r)
    assert p.status.consecutive_failures == 0
    assert p.status.last_resume_token == "r1"
    assert suspended(p) == ("False", SuspendedReason.NOT_SUSPENDED)
    # The slots it was suspended through are not run afterwards (as with spec.suspend).
    assert created(p) == []
    assert p.status.next_schedule_time == at("10:18")
    # The same token again changes nothing: the count goes on from there.
    again = minutely(
        {**halted, "lastResumeToken": "r1"},
        suspendAfterFailures=3,
        annotations={"rerunnable.dev/resume": "r1"},
    )
    assert run(again).status.consecutive_failures == 3


def test_spec_suspend_shows_its_own_reason_over_failures() -> None:
    r = minutely({"consecutiveFailures": 5}, suspendAfterFailures=2, suspend=True)
    assert suspended(run(r)) == ("True", SuspendedReason.SUSPENDED)


# -- startTime, endTime, maxRuns ----------------------------------------------------------


def test_no_scheduled_run_at_or_after_end_time() -> None:
    p = run(minutely(endTime=SLOT))
    assert created(p) == []
    assert suspended(p) == ("True", SuspendedReason.END_TIME_REACHED)
    assert p.status.next_schedule_time is None


def test_slots_before_end_time_run_even_when_seen_late() -> None:
    p = run(minutely(endTime=at("10:17:10")))
    assert created(p) == [SLOT_NAME]
    assert suspended(p) == ("True", SuspendedReason.END_TIME_REACHED)


def test_no_scheduled_run_before_start_time() -> None:
    p = run(minutely(startTime=at("11:00")))
    assert created(p) == []
    assert suspended(p) == ("False", SuspendedReason.NOT_SUSPENDED)
    assert p.status.next_schedule_time == at("11:00")


def test_max_runs_counts_down_and_stops() -> None:
    p = run(minutely({"scheduledRuns": 2}, maxRuns=3))
    assert created(p) == [SLOT_NAME]
    assert p.status.scheduled_runs == 3
    assert p.status.remaining_runs == 0
    assert suspended(p) == ("True", SuspendedReason.MAX_RUNS_REACHED)
    assert p.status.next_schedule_time is None
    after = minutely({"scheduledRuns": 3, "lastScheduleTime": at("10:16")}, maxRuns=3)
    assert created(run(after)) == []


# A manual run whose Job runs, and one queued behind it (no Job yet).
ACTIVE = execution(
    "backup-mt0", trigger="Manual", token="t0", phase="Running", job_name="backup-mt0"
)
WAITING = execution("backup-mtq", trigger="Manual", token="tq", created=at("09:30"), queued=True)


@pytest.mark.parametrize(
    ("case", "policy", "executions", "token", "want_skip"),
    [
        pytest.param("Forbid, a run is active", "Forbid", [ACTIVE], None,
                     RunReason.CONCURRENCY_FORBIDDEN, id="forbid"),
        pytest.param("Queue, a run is active and another waits", "Queue", [ACTIVE, WAITING], None,
                     RunReason.QUEUE_FULL, id="queue full"),
        pytest.param("Replace, a manual run due in the same pass supersedes it", "Replace", [],
                     "t1", RunReason.SUPERSEDED, id="replace"),
    ],
)  # fmt: skip
def test_a_slot_the_concurrency_policy_skips_does_not_use_up_max_runs(
    case: str,
    policy: str,
    executions: list[ExecutionState],
    token: str | None,
    want_skip: str,
) -> None:
    r = minutely(
        maxRuns=1,
        concurrencyPolicy=policy,
        annotations={ANNOTATION_RUN: token} if token else None,
    )
    world = jobs(*(job(e.name, active=1) for e in executions if e.status.job_name))
    p = plan(r, executions, world, NOW)
    assert SLOT_NAME not in created(p), case
    assert p.status.last_skipped is not None, case
    assert (p.status.last_skipped.scheduled_time, p.status.last_skipped.reason) == (
        SLOT,
        want_skip,
    ), case
    # The one run maxRuns allows is still to come: the next slot.
    assert (p.status.scheduled_runs, p.status.remaining_runs) == (0, 1), case
    assert suspended(p) == ("False", SuspendedReason.NOT_SUSPENDED), case
    assert p.status.next_schedule_time == at("10:18"), case
    assert p.wake_at == at("10:18"), case


def test_a_slot_run_by_a_pass_that_stopped_before_its_status_counts_once() -> None:
    made = execution(SLOT_NAME, phase="Running", job_name=SLOT_NAME, scheduled_time=SLOT)
    p = run(minutely({"scheduledRuns": 1}, maxRuns=5), [made])
    assert created(p) == []
    assert p.status.scheduled_runs == 2
    assert p.status.remaining_runs == 3


def was_suspended(reason: str) -> dict[str, Any]:
    """A status whose Suspended condition a pass wrote as True, for `reason`."""
    condition = {"type": "Suspended", "status": "True", "reason": reason, "message": "m",
                 "lastTransitionTime": at("09:00")}  # fmt: skip
    return {"conditions": [condition]}


@pytest.mark.parametrize(
    ("case", "status", "spec", "annotations", "want_suspended", "want_next"),
    [
        pytest.param(
            "stopped by maxRuns",
            {**was_suspended("MaxRunsReached"), "scheduledRuns": 1}, {"maxRuns": 1}, None,
            ("True", SuspendedReason.MAX_RUNS_REACHED), None, id="max runs",
        ),
        pytest.param(
            "spec.suspend cleared",
            was_suspended("Suspended"), {}, None,
            ("False", SuspendedReason.NOT_SUSPENDED), at("11:00"), id="suspend",
        ),
        pytest.param(
            "resumed after failures",
            {**was_suspended("ConsecutiveFailures"), "consecutiveFailures": 2},
            {"suspendAfterFailures": 2}, {ANNOTATION_RESUME: "r1"},
            ("False", SuspendedReason.NOT_SUSPENDED), at("11:00"), id="resume",
        ),
    ],
)  # fmt: skip
def test_no_slot_before_start_time_is_taken_as_handled(
    case: str,
    status: dict[str, Any],
    spec: dict[str, Any],
    annotations: dict[str, str] | None,
    want_suspended: tuple[str, str],
    want_next: datetime | None,
) -> None:
    # A new job that starts at 11:00: the minutes before are no slots, run or skipped.
    r = rjob(
        schedule="* * * * *",
        created=at("10:00"),
        status=status,
        extra={"startTime": at("11:00"), **spec},
        annotations=annotations,
    )
    p = run(r)
    assert created(p) == [], case
    assert p.status.last_schedule_time is None, case
    assert suspended(p) == want_suspended, case
    assert p.status.next_schedule_time == want_next, case


def test_raising_max_runs_does_not_run_the_slots_it_stopped() -> None:
    # Stopped at 09:00 by maxRuns 1, raised to 2 now: as resuming from spec.suspend, the
    # slots in between are not run, even with missedRunPolicy All.
    r = minutely(
        {**was_suspended("MaxRunsReached"), "scheduledRuns": 1, "lastScheduleTime": at("09:00")},
        maxRuns=2,
        missedRunPolicy="All",
    )
    p = run(r)
    assert created(p) == []
    assert p.status.last_schedule_time == SLOT
    assert p.status.last_skipped is None
    assert (p.status.scheduled_runs, p.status.remaining_runs) == (1, 1)
    assert suspended(p) == ("False", SuspendedReason.NOT_SUSPENDED)
    assert p.status.next_schedule_time == at("10:18")


def test_slots_after_max_runs_is_reached_are_not_reported_missed() -> None:
    # The last run maxRuns allows started at 10:14; the slots since are no runs to miss.
    r = minutely(
        {**was_suspended("MaxRunsReached"), "scheduledRuns": 1, "lastScheduleTime": at("10:14")},
        maxRuns=1,
    )
    p = run(r)
    assert created(p) == []
    assert p.status.last_skipped is None
    assert EventReason.MISSED_SCHEDULE not in [e.reason for e in p.events]
    assert suspended(p) == ("True", SuspendedReason.MAX_RUNS_REACHED)


def test_manual_runs_are_not_limited_by_stop_rules() -> None:
    r = rjob(
        schedule="* * * * *",
        token="t1",
        status={"scheduledRuns": 3, "lastScheduleTime": at("10:17")},
        extra={"maxRuns": 3, "endTime": at("10:00")},
    )
    assert len(run(r).creates) == 1


# -- kubectl rerun next and nextScheduleTime: one function ----------------------------------


def spec_with(**fields: Any) -> RerunnableJobSpec:
    return RerunnableJobSpec.model_validate(
        {"schedule": "0 * * * *", "jobTemplate": TEMPLATE, **fields}
    )


@pytest.mark.parametrize(
    ("case", "fields", "kwargs", "expected"),
    [
        pytest.param("plain", {}, {}, ["11:00", "12:00", "13:00"], id="plain"),
        pytest.param("end time exclusive", {"endTime": at("12:00")}, {}, ["11:00"], id="end"),
        pytest.param("start time", {"startTime": at("13:00")}, {}, ["13:00", "14:00", "15:00"]),
        pytest.param("remaining runs", {}, {"remaining_runs": 2}, ["11:00", "12:00"]),
        pytest.param("halted", {}, {"halted": True}, [], id="halted"),
    ],
)  # fmt: skip
def test_upcoming_times_honour_the_stop_rules(
    case: str, fields: dict[str, Any], kwargs: dict[str, Any], expected: list[str]
) -> None:
    spec = spec_with(**fields)
    schedule = validate_schedule(spec, hash_key="default/backup", now=NOW)
    times = upcoming_times(schedule, spec, NOW, count=3, **kwargs)
    assert times == [at(t) for t in expected], case
    assert all(t - NOW < timedelta(days=1) for t in times)
