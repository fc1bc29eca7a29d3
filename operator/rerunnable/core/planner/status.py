"""Step 7: the RerunnableJob's status, rebuilt from the world and this pass's decisions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rerunnable.api.reasons import (
    ConditionType,
    EventReason,
    ReadyReason,
    RunReason,
    SuspendedReason,
)
from rerunnable.api.v1alpha1 import (
    Condition,
    ExecutionPhase,
    ExecutionSummary,
    RerunnableJobStatus,
)
from rerunnable.core.messages import with_held_token
from rerunnable.core.planner.backfilling import Backfill
from rerunnable.core.planner.due import Due
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.stopping import Stops
from rerunnable.core.planner.working import Pass
from rerunnable.core.schedule import InvalidSpecError, ValidSchedule

__all__ = ["RECENT_EXECUTIONS", "build_status"]

# Length of status.recentExecutions.
RECENT_EXECUTIONS = 5

ConditionStatus = Literal["True", "False", "Unknown"]
Value = tuple[ConditionStatus, str, str]  # status, reason, message


def build_status(
    p: Pass,
    due: Due,
    stops: Stops,
    filled: Backfill,
    *,
    schedule: ValidSchedule | None,
    invalid: InvalidSpecError | None,
    deleted: set[str],
) -> RerunnableJobStatus:
    """The new status; a Warning Event when Ready turns False."""
    previous = p.rjob.status
    armed = set(p.armed())  # no runs yet
    by_age = sorted(
        (n for n in p.executions if n not in armed), key=lambda n: p.executions[n].created
    )
    running = set(p.active())
    active = [n for n in by_age if n in running]
    results = _results(p)
    last_run = max(
        [t for t in [previous.last_run_time, *(_made_at(p, n) for n in by_age)] if t],
        default=None,
    )
    recent = [
        ExecutionSummary(
            name=n,
            trigger=p.executions[n].spec.trigger,
            phase=p.statuses[n].phase,
            start_time=p.statuses[n].start_time,
            completion_time=p.statuses[n].completion_time,
        )
        for n in reversed(by_age)
        if n not in deleted
    ][:RECENT_EXECUTIONS]

    ready = _ready(p, due, invalid)
    suspension: Value = (
        ("True", *due.suspended) if due.suspended else ("False", SuspendedReason.NOT_SUSPENDED, "")
    )
    conditions = [
        _transition(p, ConditionType.READY, ready),
        _transition(p, ConditionType.SUSPENDED, suspension),
    ]
    if filled.condition is not None:
        conditions.append(_transition(p, ConditionType.BACKFILLING, filled.condition))
    if ready[0] == "False" and _changed(p.rjob.status.conditions, ConditionType.READY, ready):
        p.events.append(Event("Warning", ready[1], ready[2]))
    halted = suspension[1] == SuspendedReason.CONSECUTIVE_FAILURES
    if halted and _changed(p.rjob.status.conditions, ConditionType.SUSPENDED, suspension):
        p.events.append(Event("Warning", EventReason.SUSPENDED_AFTER_FAILURES, suspension[2]))
    spec = p.rjob.spec
    # Slots this pass handled whose run exists (made now, or by a pass that stopped before
    # its status): each counts once, as the status that counts it moves lastScheduleTime.
    # The same count as the MaxRunsReached suspension's (due.settle).
    started = stops.scheduled_runs + due.started

    return RerunnableJobStatus(
        observed_generation=p.rjob.generation,
        conditions=conditions,
        schedule_text=schedule.text if schedule else previous.schedule_text,
        active=active,
        active_count=len(active),
        last_schedule_time=due.last_schedule_time,
        last_successful_time=results.last_success,
        last_run_time=last_run,
        last_result=results.last_result,
        last_completion_time=results.last_completion,
        last_completed_executions=list(results.last_completed),
        next_schedule_time=due.next_schedule_time,
        last_run_token=due.last_run_token,
        last_skipped=p.skipped or previous.last_skipped,
        consecutive_failures=stops.consecutive_failures,
        scheduled_runs=started,
        remaining_runs=(
            max(0, spec.max_runs - started) if spec is not None and spec.max_runs else None
        ),
        last_resume_token=stops.resume_token,
        backfill=filled.status,
        recent_executions=recent,
    )


def _made_at(p: Pass, name: str) -> datetime:
    """When the run `name` was made: its Execution's creation, or its slot if it was armed
    ahead of it (its Job was made at the slot, or later); never later than now (an armed
    run cancelled before its slot)."""
    e = p.executions[name]
    slot = e.spec.scheduled_time
    return min(max(e.created, slot), p.now) if e.armed and slot is not None else e.created


@dataclass(frozen=True)
class _Results:
    last_success: datetime | None
    last_result: ExecutionPhase | None
    last_completion: datetime | None
    last_completed: tuple[str, ...]


def _results(p: Pass) -> _Results:
    """The latest success, and the result of the run that ended last (a run counts by its last
    attempt, once no retry is to come)."""
    previous = p.rjob.status
    finished = p.run_ends()

    def completed(n: str) -> datetime:
        return p.statuses[n].completion_time or p.executions[n].created

    successes = [completed(n) for n in finished if p.statuses[n].phase == ExecutionPhase.SUCCEEDED]
    last_success = max([t for t in [previous.last_successful_time, *successes] if t], default=None)
    # A run that ended after the recorded result replaces it; pruning the newest run
    # (it is gone from `finished`) changes nothing.
    newer = p.news()
    if not newer:
        return _Results(
            last_success,
            previous.last_result,
            previous.last_completion_time,
            tuple(previous.last_completed_executions),
        )
    latest = newer[-1]
    at = completed(latest)
    same_second = [n for n in newer if completed(n) == at]
    if at == previous.last_completion_time:
        same_second = [*previous.last_completed_executions, *same_second]
    return _Results(last_success, p.statuses[latest].phase, at, tuple(same_second))


def _ready(p: Pass, due: Due, invalid: InvalidSpecError | None) -> Value:
    if invalid is not None:
        held = p.rjob.run_token if p.rjob.run_token != due.last_run_token else None
        return ("False", invalid.reason, with_held_token(invalid.message, held))
    if rejected := _rejected_template(p):
        return ("False", ReadyReason.INVALID_JOB_TEMPLATE, rejected)
    return ("True", ReadyReason.READY, "schedules and manual runs are served")


def _rejected_template(p: Pass) -> str | None:
    """The API server's message if the newest run of this generation had its Job refused."""
    for n in sorted(p.executions, key=lambda n: p.executions[n].created, reverse=True):
        e = p.executions[n]
        if e.spec.template_generation != p.rjob.generation:
            return None
        if p.statuses[n].reason == RunReason.JOB_REJECTED:
            return f"spec.jobTemplate: {p.statuses[n].message}"
        if p.statuses[n].job_name:
            return None
    return None


def _condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def _changed(conditions: Sequence[Condition], type_: str, value: Value) -> bool:
    old = _condition(conditions, type_)
    return old is None or (old.status, old.reason) != value[:2]


def _transition(p: Pass, type_: str, value: Value) -> Condition:
    status, reason, message = value
    old = _condition(p.rjob.status.conditions, type_)
    since = (
        old.last_transition_time
        if old is not None and old.status == status and old.last_transition_time
        else p.now
    )
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=p.rjob.generation,
    )
