"""The planner with spec.retry, as a user sees it.

A run whose attempt ends Failed (or Interrupted, if `on` lists it) with attempts
left waits for its backoff, counted from the attempt's end, and is then
retried as a new Execution (trigger Retry, attempt n, retryOf its first
attempt) with the first attempt's template copy and parameters. While it
waits it is active for the concurrency policy; it counts once, by its last
attempt, for lastResult and the history limits.

Every case plans one pass at NOW (builders.py) over API objects parsed by the
real parsers.
"""

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.reasons import ConditionType, EventReason, RetryingReason, RunReason
from rerunnable.api.v1alpha1 import Condition, ExecutionPhase, ExecutionStatus, Trigger, to_wire
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.planner import Plan, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.core.builders import NOW, TEMPLATE, at, execution, job, jobs, rjob

SLOT = at("10:17")
FIRST = scheduled_execution_name("backup", SLOT)
OLDER = scheduled_execution_name("backup", at("09:17"))
RETRY = {"limit": 2, "backoff": {"initialSeconds": 30, "factor": 2, "maxSeconds": 600}}
FAILED = {"reason": "BackoffLimitExceeded", "job_name": "x"}


def retried(**spec: Any) -> RerunnableJobState:
    """A daily job at 03:00 (handled already) with retries: nothing is due but retries."""
    spec.setdefault("extra", {})
    spec["extra"] = {"retry": spec.pop("retry", RETRY), **spec["extra"]}
    spec.setdefault("schedule", "0 3 * * *")
    spec.setdefault("status", {"lastScheduleTime": at("03:00")})
    return rjob(**spec)


def attempt(
    n: int,
    phase: str = "Failed",
    ended: datetime | None = None,
    *,
    reason: str = "BackoffLimitExceeded",
    conditions: Iterable[Mapping[str, Any]] = (),
    **kw: Any,
) -> ExecutionState:
    """Attempt n of the run of the 10:17 slot; ended `ended` (default: NOW - 10 s)."""
    name = FIRST if n == 1 else f"{FIRST}-{n}"
    terminal = phase in ("Failed", "Succeeded", "Interrupted")
    status_extra: dict[str, Any] = {"conditions": list(conditions)} if conditions else {}
    return execution(
        name,
        phase=phase,
        trigger="Schedule" if n == 1 else "Retry",
        scheduled_time=SLOT,
        job_name=name,
        start_time=at("10:17:01"),
        completion_time=(ended or NOW - timedelta(seconds=10)) if terminal else None,
        reason=reason if phase in ("Failed", "Interrupted") else None,
        attempt=n,
        retry_of=FIRST if n > 1 else None,
        template=True,
        created=at("10:17:00") + timedelta(minutes=n),
        status_extra=status_extra,
        **kw,
    )


def run(
    r: RerunnableJobState,
    executions: Iterable[ExecutionState],
    world: Mapping[str, JobState] | None = None,
) -> Plan:
    executions = list(executions)
    present = world if world is not None else jobs(*(job(e.name) for e in executions))
    return plan(r, executions, present, NOW)


def condition(status: ExecutionStatus) -> Condition | None:
    return next((c for c in status.conditions if c.type == ConditionType.RETRYING), None)


def written(p: Plan, name: str) -> ExecutionStatus:
    """The status the plan writes on `name` (an update, or an interrupt's)."""
    for i in p.interrupts:
        if i.execution == name:
            return i.status
    return p.execution_updates[name]


def test_an_attempt_that_failed_waits_for_its_backoff() -> None:
    p = run(retried(), [attempt(1, ended=NOW - timedelta(seconds=10))])

    assert p.creates == ()
    status = written(p, FIRST)
    assert status.next_attempt_time == NOW + timedelta(seconds=20)
    c = condition(status)
    assert c is not None
    assert (c.status, c.reason) == ("True", RetryingReason.WAITING)
    assert "attempt 2 of 3" in c.message
    assert p.wake_at == NOW + timedelta(seconds=20)
    # The run is not over: it is active, and its result is not in yet.
    assert p.status.active == [FIRST]
    assert p.status.last_result is None
    assert [e.reason for e in p.events] == [EventReason.RUN_RETRYING]


def test_after_the_backoff_the_next_attempt_starts() -> None:
    first = attempt(1, ended=NOW - timedelta(seconds=30), parameters={"DAY": "2026-11-21"})
    p = run(retried(), [first])

    [new] = p.creates
    assert new.name == f"{FIRST}-2"
    assert new.trigger == Trigger.RETRY
    assert new.spec.attempt == 2
    assert new.spec.retry_of == FIRST
    assert new.spec.scheduled_time == SLOT
    assert new.spec.parameters == {"DAY": "2026-11-21"}
    assert new.spec.job_template is not None
    assert to_wire(new.spec.job_template) == to_wire(first.spec.job_template)  # type: ignore[arg-type]
    assert not new.queued
    c = condition(written(p, FIRST))
    assert c is not None
    assert (c.status, c.reason) == ("False", RetryingReason.RETRIED)
    assert written(p, FIRST).next_attempt_time is None
    assert p.status.active == [f"{FIRST}-2"]


def test_a_retry_runs_the_template_its_first_attempt_copied_not_an_edited_one() -> None:
    edited = retried(generation=2, extra={"jobTemplate": {"spec": {"x": 1}}})
    first = attempt(1, ended=NOW - timedelta(minutes=5))
    [new] = run(edited, [first]).creates
    assert new.spec.template_generation == 1
    assert new.spec.job_template is not None
    assert to_wire(new.spec.job_template) == to_wire(first.spec.job_template)  # type: ignore[arg-type]
    assert to_wire(new.spec.job_template)["spec"] == TEMPLATE["spec"]


def test_the_backoff_grows_by_the_factor_from_the_previous_attempts_end() -> None:
    chain = [
        attempt(1, ended=NOW - timedelta(minutes=3), conditions=[_retried()]),
        attempt(2, ended=NOW - timedelta(seconds=50)),
    ]
    p = run(retried(), chain)
    assert p.creates == ()
    # Attempt 3 waits initial x factor = 60 s after attempt 2 ended.
    assert written(p, f"{FIRST}-2").next_attempt_time == NOW + timedelta(seconds=10)


def test_a_backoff_with_a_fraction_of_a_second_is_rounded_up_and_announced_once() -> None:
    # 1 s x 1.5 = 1.5 s, rounded up: attempt 3 starts at 10:17:31, 2 s after attempt 2 ended.
    backoff = {"limit": 2, "backoff": {"initialSeconds": 1, "factor": 1.5, "maxSeconds": 600}}
    chain = [
        attempt(1, ended=NOW - timedelta(minutes=3), conditions=[_retried()]),
        attempt(2, ended=at("10:17:29")),
    ]
    world = jobs(*(job(e.name) for e in chain))
    p = plan(retried(retry=backoff), chain, world, NOW + timedelta(microseconds=600_000))
    assert p.creates == ()
    assert p.wake_at == at("10:17:31")
    assert [e.reason for e in p.events] == ["RunRetrying"]
    # The next pass reads back what this one wrote, and says nothing again (a fraction of a
    # second, lost on the wire, made every pass announce the retry anew).
    on_the_wire = ExecutionStatus.model_validate(to_wire(written(p, f"{FIRST}-2")))
    waiting = dataclasses.replace(chain[1], status=on_the_wire)
    again = plan(retried(retry=backoff), [chain[0], waiting], world, NOW)
    assert again.events == ()
    p = plan(retried(retry=backoff), chain, world, at("10:17:31"))
    assert [c.name for c in p.creates] == [f"{FIRST}-3"]


def _retried() -> dict[str, Any]:
    return {"type": "Retrying", "status": "False", "reason": "Retried", "message": "m"}


def test_the_first_attempt_of_a_job_with_retries_copies_its_template() -> None:
    r = retried(
        schedule=None,
        token="t1",
        annotations={},
    )
    [new] = run(r, []).creates
    assert new.spec.attempt == 1
    assert new.spec.retry_of is None
    assert new.spec.job_template is not None


def test_a_job_without_retries_copies_no_template() -> None:
    [new] = plan(rjob(token="t1"), [], {}, NOW).creates
    assert new.spec.attempt == 1
    assert new.spec.job_template is None


def test_the_job_failing_in_this_pass_is_marked_at_once() -> None:
    running = attempt(1, phase="Running")
    failed_now = job(
        FIRST, failed="BackoffLimitExceeded", finished_at=NOW, start_time=at("10:17:01")
    )
    p = run(retried(), [running], jobs(failed_now))
    status = written(p, FIRST)
    assert status.phase == ExecutionPhase.FAILED
    assert status.next_attempt_time == NOW + timedelta(seconds=30)


def test_the_last_attempt_failing_ends_the_run_failed() -> None:
    chain = [
        attempt(1, ended=at("10:18"), conditions=[_retried()]),
        attempt(2, ended=at("10:19"), conditions=[_retried()]),
        attempt(3, ended=NOW - timedelta(seconds=1)),
    ]
    p = run(retried(), chain)
    assert p.creates == ()
    c = condition(written(p, f"{FIRST}-3"))
    assert c is not None
    assert (c.status, c.reason) == ("False", RetryingReason.RETRIES_EXHAUSTED)
    assert p.status.active == []
    assert p.status.last_result == ExecutionPhase.FAILED


def test_a_run_that_succeeds_on_a_retry_succeeded() -> None:
    chain = [
        attempt(1, ended=at("10:18"), conditions=[_retried()]),
        attempt(2, "Succeeded", ended=NOW - timedelta(seconds=1)),
    ]
    p = run(retried(), chain)
    assert p.creates == ()
    assert p.status.last_result == ExecutionPhase.SUCCEEDED
    assert p.status.active == []


@pytest.mark.parametrize(
    ("case", "reason", "on", "retried_"),
    [
        pytest.param("Job deleted, on Failed", RunReason.JOB_DELETED, ["Failed"], False, id="a"),
        pytest.param(
            "Job deleted, on Interrupted", RunReason.JOB_DELETED, ["Interrupted"], True, id="b"
        ),
        pytest.param(
            "stalled, on both", RunReason.STALLED, ["Failed", "Interrupted"], True, id="c"
        ),
        pytest.param("cancelled", RunReason.CANCELLED, ["Interrupted"], False, id="d"),
        pytest.param("replaced", RunReason.REPLACED, ["Interrupted"], False, id="e"),
    ],
)
def test_interrupted_runs_are_retried_only_when_on_says_so(
    case: str, reason: str, on: list[str], retried_: bool
) -> None:
    r = retried(retry={**RETRY, "on": on})
    ended = attempt(1, "Interrupted", ended=NOW - timedelta(minutes=1), reason=reason)
    p = run(r, [ended])
    assert bool(p.creates) is retried_, case


def test_a_crash_after_the_note_before_the_create_still_retries() -> None:
    # The pass wrote "attempt 2 is Execution ..." and stopped before creating it.
    first = attempt(1, ended=NOW - timedelta(minutes=1), conditions=[_retried()])
    assert [c.name for c in run(retried(), [first]).creates] == [f"{FIRST}-2"]


def test_the_next_attempt_exists_already_nothing_is_created_twice() -> None:
    chain = [attempt(1, ended=at("10:18"), conditions=[_retried()]), attempt(2, "Running")]
    assert run(retried(), chain).creates == ()


# -- the concurrency policy -------------------------------------------------------------------


def every_minute(policy: str) -> RerunnableJobState:
    """A job with retries that runs every minute; 10:17 ran (FIRST is its run)."""
    status = {"lastScheduleTime": at("10:17")}
    return rjob(schedule="* * * * *", policy=policy, status=status, extra={"retry": RETRY})


LATER = at("10:18:05")  # the 10:18 slot is due


def waiting() -> ExecutionState:
    """The 10:17 slot's first attempt, seen at LATER: failed 5 s ago, its retry due in 25 s."""
    return attempt(1, ended=at("10:18:00"))


def test_forbid_skips_a_new_slot_while_a_retry_waits() -> None:
    # At 10:18, the retry of 10:17 still waits.
    r = every_minute("Forbid")
    p = plan(r, [waiting()], jobs(job(FIRST)), LATER)
    assert p.creates == ()
    assert p.status.last_skipped is not None
    assert p.status.last_skipped.reason == RunReason.CONCURRENCY_FORBIDDEN
    assert FIRST in p.status.last_skipped.message


def test_replace_calls_off_a_waiting_retry_and_runs_the_new_slot() -> None:
    r = every_minute("Replace")
    p = plan(r, [waiting()], jobs(job(FIRST)), LATER)
    assert [c.name for c in p.creates] == [scheduled_execution_name("backup", at("10:18"))]
    status = written(p, FIRST)
    c = condition(status)
    assert c is not None
    assert (c.status, c.reason) == ("False", RetryingReason.REPLACED)
    assert status.next_attempt_time is None
    # And stays called off: the next pass, past the backoff, does not retry it.
    replaced = attempt(1, ended=at("10:18:00"), conditions=[to_wire(c)])
    assert plan(r, [replaced], jobs(job(FIRST)), at("10:30:30")).creates != ()
    assert all(c.trigger != Trigger.RETRY for c in plan(r, [replaced], {}, at("10:30:30")).creates)


def test_replace_in_the_pass_a_retry_comes_due_calls_the_retry_off_before_it_exists() -> None:
    # Found by the chaos suite: the retry's attempt 2, planned in this very pass, was then
    # "interrupted" by the new slot's Replace: an Execution that did not exist yet (the shell
    # failed on it in every pass after, and the job ran nothing more).
    r = every_minute("Replace")
    due_now = attempt(1, ended=at("10:17:30"))  # its retry is due at 10:18:00
    p = plan(r, [due_now], jobs(job(FIRST)), LATER)
    assert [c.name for c in p.creates] == [scheduled_execution_name("backup", at("10:18"))]
    assert [i.execution for i in p.interrupts] == []
    c = condition(written(p, FIRST))
    assert c is not None
    assert (c.status, c.reason) == ("False", RetryingReason.REPLACED)
    assert p.status.active == [scheduled_execution_name("backup", at("10:18"))]


def test_a_queued_run_waits_behind_a_waiting_retry() -> None:
    queued = execution("backup-mqueued", phase="Pending", trigger="Manual", queued=True)
    r = retried(policy="Queue")
    p = plan(r, [waiting(), queued], jobs(job(FIRST)), NOW)
    assert p.starts == ()


def test_a_waiting_retry_can_be_cancelled() -> None:
    cancelled = attempt(
        1,
        ended=NOW - timedelta(seconds=10),
        annotations={"rerunnable.dev/cancel": "true", "rerunnable.dev/cancelled-by": "ana"},
    )
    p = run(retried(), [cancelled])
    c = condition(written(p, FIRST))
    assert c is not None
    assert (c.status, c.reason) == ("False", RetryingReason.CANCELLED)
    assert "by ana" in c.message
    assert p.status.active == []
    assert p.status.last_result == ExecutionPhase.FAILED


# -- history: a run is kept or pruned whole ---------------------------------------------------


def test_the_history_limits_count_a_chain_once_and_prune_it_whole() -> None:
    older = OLDER  # the 09:17 slot: two attempts, both failed
    chain_old = [
        execution(older, phase="Failed", reason="BackoffLimitExceeded", job_name=older,
                  completion_time=at("09:18"), attempt=1, created=at("09:17"),
                  status_extra={"conditions": [_retried()]}),
        execution(f"{older}-2", phase="Failed", reason="BackoffLimitExceeded",
                  job_name=f"{older}-2", completion_time=at("09:20"), attempt=2,
                  retry_of=older, trigger="Retry", created=at("09:19")),
    ]  # fmt: skip
    chain_new = [
        attempt(1, ended=at("10:18"), conditions=[_retried()]),
        attempt(2, ended=at("10:19"), conditions=[_retried()]),
        attempt(3, ended=at("10:20")),
    ]
    # With one retry, both runs are over: two failed runs of five attempts.
    r = retried(failed_limit=1, retry={"limit": 1})
    p = run(r, [*chain_old, *chain_new])
    # The limit of one keeps the newest run, all of it, and prunes the older one whole.
    assert p.deletes == (older, f"{older}-2")
    r2 = retried(failed_limit=2, retry={"limit": 1})
    assert run(r2, [*chain_old, *chain_new]).deletes == ()
