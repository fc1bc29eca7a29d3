"""The planner and the report channel: who may run, the steps a run starts with, a run that
stops reporting, and steps closed when a run ends."""

from collections.abc import Sequence
from datetime import timedelta

from rerunnable.api.reasons import ReadyReason, RunReason
from rerunnable.api.v1alpha1 import Condition, ExecutionPhase, StepPhase
from rerunnable.core.planner import plan
from tests.unit.core.builders import NOW, execution, job, jobs, rjob

REPORTING = {"reporting": {"enabled": True, "heartbeatSeconds": 60}}
STEPS = {"steps": [{"name": "fetch"}, {"name": "load", "description": "into the warehouse"}]}
RUN = "backup-m1"


def ready(conditions: Sequence[Condition]) -> tuple[str, str, str]:
    found = next(c for c in conditions if c.type == "Ready")
    return (found.status, found.reason, found.message)


def test_a_reporting_job_waits_for_an_operator_that_takes_reports() -> None:
    job_ = rjob(token="t1", extra=REPORTING)
    held = plan(job_, [], {}, NOW, reports=False)
    assert held.creates == ()
    status, reason, message = ready(held.status.conditions)
    assert (status, reason) == ("False", ReadyReason.REPORTING_UNAVAILABLE)
    assert "serves no report endpoint" in message
    assert "manual run 't1' starts once this is fixed" in message

    served = plan(job_, [], {}, NOW, reports=True)
    assert [c.token for c in served.creates] == ["t1"]


def test_a_job_without_reporting_needs_no_report_endpoint() -> None:
    assert [c.token for c in plan(rjob(token="t1"), [], {}, NOW).creates] == ["t1"]


def test_every_run_starts_with_the_declared_steps_pending() -> None:
    p = plan(rjob(token="t1", extra=STEPS), [], {}, NOW)
    (new,) = p.creates
    assert [(s.name, s.phase) for s in new.steps] == [
        ("fetch", StepPhase.PENDING),
        ("load", StepPhase.PENDING),
    ]
    assert p.steps == new.steps


def test_a_run_that_stops_reporting_past_its_heartbeat_is_stalled() -> None:
    started = NOW - timedelta(seconds=90)
    run = execution(
        RUN,
        phase="Running",
        job_name=RUN,
        start_time=started,
        status_extra={"report": {"updatedAt": NOW - timedelta(seconds=61)}},
    )
    p = plan(rjob(extra=REPORTING), [run], jobs(job(RUN, start_time=started, active=1)), NOW)
    (interrupt,) = p.interrupts
    assert interrupt.execution == RUN
    assert (interrupt.status.phase, interrupt.status.reason) == (
        ExecutionPhase.INTERRUPTED,
        RunReason.STALLED,
    )
    assert "no report for 61s (reporting.heartbeatSeconds 60)" in (interrupt.status.message or "")
    assert p.stalled == 1
    assert ("Warning", "RunInterrupted") in [(e.type, e.reason) for e in p.events]


def test_a_run_that_keeps_reporting_is_left_running_and_looked_at_when_it_would_stall() -> None:
    started = NOW - timedelta(seconds=90)
    last = NOW - timedelta(seconds=20)
    run = execution(
        RUN,
        phase="Running",
        job_name=RUN,
        start_time=started,
        status_extra={"report": {"updatedAt": last}},
    )
    p = plan(rjob(extra=REPORTING), [run], jobs(job(RUN, start_time=started, active=1)), NOW)
    assert p.interrupts == ()
    assert p.wake_at == last + timedelta(seconds=60)


def test_before_any_report_the_heartbeat_counts_from_the_jobs_start() -> None:
    started = NOW - timedelta(seconds=61)
    run = execution(RUN, phase="Running", job_name=RUN, start_time=started)
    p = plan(rjob(extra=REPORTING), [run], jobs(job(RUN, start_time=started, active=1)), NOW)
    assert [i.status.reason for i in p.interrupts] == [RunReason.STALLED]


def test_a_run_that_ends_closes_its_steps() -> None:
    started = NOW - timedelta(seconds=90)
    steps = [
        {"name": "fetch", "phase": "Succeeded"},
        {"name": "load", "phase": "Running", "startTime": started},
        {"name": "verify", "phase": "Pending"},
    ]
    run = execution(
        RUN, phase="Running", job_name=RUN, start_time=started, status_extra={"steps": steps}
    )
    done = job(RUN, start_time=started, complete=True, finished_at=NOW, succeeded=1)
    p = plan(rjob(), [run], jobs(done), NOW)
    status = p.execution_updates[RUN]
    assert [(s.name, s.phase) for s in status.steps] == [
        ("fetch", StepPhase.SUCCEEDED),
        ("load", StepPhase.SUCCEEDED),
        ("verify", StepPhase.SKIPPED),
    ]
    assert status.steps[1].completion_time == NOW


def test_a_heartbeat_left_on_a_job_whose_reporting_is_off_ends_no_run() -> None:
    # Found by the chaos suite's hostile corpus: runs that cannot report were ended Stalled.
    started = NOW - timedelta(seconds=600)
    run = execution(RUN, phase="Running", job_name=RUN, start_time=started)
    off = {"reporting": {"enabled": False, "heartbeatSeconds": 60}}
    p = plan(rjob(extra=off), [run], jobs(job(RUN, start_time=started, active=1)), NOW)
    assert p.interrupts == ()
    assert p.stalled == 0
