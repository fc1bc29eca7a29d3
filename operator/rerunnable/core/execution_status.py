"""An Execution follows its Job: the Execution's status as a function of the Job's.

A terminal phase is final (the API server enforces it too), so a finished
Execution is returned unchanged whatever happens to its Job afterwards.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    Condition,
    ExecutionPhase,
    ExecutionProgress,
    ExecutionStatus,
    StepStatus,
    rfc3339,
    to_wire,
)
from rerunnable.core.messages import cancelled_message
from rerunnable.core.reports import close_steps
from rerunnable.core.state import ExecutionState, JobState

__all__ = [
    "REPORTED_FIELDS",
    "armed",
    "cancelled",
    "follow_job",
    "interrupted",
    "queued",
    "rejected",
    "status_patch",
    "waits_armed",
    "with_job",
]


def interrupted(
    status: ExecutionStatus, *, reason: str, message: str, now: datetime
) -> ExecutionStatus:
    """The status of a run that ended without its Job finishing."""
    return _without_pods(_finished(status, ExecutionPhase.INTERRUPTED, reason, message, now))


def cancelled(
    status: ExecutionStatus, *, by: str | None, started: bool, now: datetime
) -> ExecutionStatus:
    """The status of a run its Execution asked to cancel (`by` whom, if stamped); `started`:
    whether it has a Job, which is deleted."""
    ended = _finished(
        status, ExecutionPhase.INTERRUPTED, RunReason.CANCELLED, cancelled_message(by, started), now
    )
    return _without_pods(ended).model_copy(update={"cancelled_by": by})


def rejected(status: ExecutionStatus, *, message: str, now: datetime) -> ExecutionStatus:
    """The status of a run whose Job the API server refused (its template is invalid)."""
    return _finished(status, ExecutionPhase.FAILED, RunReason.JOB_REJECTED, message, now)


def queued(steps: Sequence[StepStatus] = ()) -> ExecutionStatus:
    """The status of a run that waits for the active one to end (concurrencyPolicy Queue)."""
    return ExecutionStatus(
        phase=ExecutionPhase.PENDING,
        reason=RunReason.QUEUED,
        message="waits for the active run to end (concurrencyPolicy Queue)",
        steps=list(steps),
    )


def armed(slot: datetime, steps: Sequence[StepStatus] = ()) -> ExecutionStatus:
    """The status of a run made ahead of its slot: its Job is made at the slot, if the
    concurrency policy then allows."""
    return ExecutionStatus(
        phase=ExecutionPhase.PENDING,
        reason=RunReason.SCHEDULED,
        message=f"waits for its scheduled time, {rfc3339(slot)}",
        steps=list(steps),
    )


def waits_armed(status: ExecutionStatus, *, armed: bool, has_job: bool) -> bool:
    """Whether a run with `status`, made ahead of its slot (`armed`: its Execution says so),
    is no run yet: it has no Job (`has_job`: whether one exists, or `status` names one), the
    policy at its slot has not queued it, and it has not ended (a cancel ends one)."""
    return (
        armed
        and not has_job
        and not status.job_name
        and status.phase not in TERMINAL_PHASES
        and status.reason in (None, RunReason.SCHEDULED)
    )


def with_job(
    status: ExecutionStatus, job_name: str, steps: Sequence[StepStatus] = ()
) -> ExecutionStatus:
    """The status of a run once its Job exists: the Job is named, a waiting reason goes, and
    the declared `steps` are there, Pending, unless the status has its steps already."""
    update: dict[str, Any] = {"job_name": job_name, "reason": None, "message": None}
    if not status.steps and steps:
        update["steps"] = list(steps)
    return status.model_copy(update=update)


def follow_job(
    execution: ExecutionState, job: JobState | None, *, now: datetime
) -> ExecutionStatus:
    """The status `execution` should have given its Job (None: the Job does not exist).

    A run whose Job was created (its status names it) and is now gone, or is
    being deleted before it finished, ends Interrupted: it can never finish.
    """
    status = execution.status
    if status.phase in TERMINAL_PHASES:
        return status
    if job is None:
        if status.job_name:
            return interrupted(
                status,
                reason=RunReason.JOB_DELETED,
                message=f"Job {status.job_name} was deleted before it finished",
                now=now,
            )
        return status
    return _following(status, job, now)


def _following(status: ExecutionStatus, job: JobState, now: datetime) -> ExecutionStatus:
    """The status of an unfinished run whose Job exists: its counts, and its phase."""
    progress = ExecutionProgress(
        succeeded=job.succeeded,
        failed=job.failed,
        active=job.active,
        total=job.completions if job.completions is not None else 1,
    )
    status = status.model_copy(
        update={"job_name": job.name, "start_time": job.start_time, "progress": progress}
    )
    if complete := job.condition("Complete"):
        return _finished(
            status,
            ExecutionPhase.SUCCEEDED,
            complete.reason or RunReason.COMPLETED,
            complete.message or f"Job {job.name} completed",
            job.completion_time or now,
        )
    if failed := job.condition("Failed"):
        return _finished(
            status,
            ExecutionPhase.FAILED,
            failed.reason or RunReason.FAILED,
            failed.message or f"Job {job.name} failed",
            failed.last_transition_time or now,
        )
    if job.deleting:
        return interrupted(
            status,
            reason=RunReason.JOB_DELETED,
            message=f"Job {job.name} is being deleted before it finished",
            now=now,
        )
    if job.start_time is None and job.suspended:
        return status.model_copy(
            update={
                "phase": ExecutionPhase.PENDING,
                "reason": RunReason.JOB_SUSPENDED,
                "message": f"Job {job.name} is suspended",
            }
        )
    if job.start_time is not None or job.active > 0:
        return status.model_copy(
            update={"phase": ExecutionPhase.RUNNING, "reason": None, "message": None}
        )
    # Its Job exists: whatever it waited for (its turn, its slot, a suspended Job) is over.
    return status.model_copy(
        update={"phase": ExecutionPhase.PENDING, "reason": None, "message": None}
    )


def _finished(
    status: ExecutionStatus, phase: ExecutionPhase, reason: str, message: str, at: datetime
) -> ExecutionStatus:
    condition = Condition(
        type=phase.value, status="True", reason=reason, message=message, last_transition_time=at
    )
    return status.model_copy(
        update={
            "phase": phase,
            "reason": reason,
            "message": message,
            "completion_time": status.completion_time or at,
            "conditions": [condition],
            "steps": close_steps(status.steps, phase, at),
        }
    )


def _without_pods(status: ExecutionStatus) -> ExecutionStatus:
    """An interrupted run's Job is deleted with its pods: none is active any more (its Job's
    last count would say otherwise for ever, as the Job is no longer followed)."""
    if status.progress is None or not status.progress.active:
        return status
    return status.model_copy(update={"progress": status.progress.model_copy(update={"active": 0})})


def status_patch(before: ExecutionStatus, after: ExecutionStatus) -> dict[str, Any]:
    """The JSON merge patch of the status from `before` to `after`: the changed fields only,
    so that a write never carries back a field it did not change (a workload's report, say).

    A field `after` no longer has is removed (null): a waiting run's reason and message go
    once its Job exists. Empty if nothing changed; else the phase always goes too (the API
    server has none for a new Execution until it is written).
    """
    old, new = to_wire(before), to_wire(after)
    changed: dict[str, Any] = {key: value for key, value in new.items() if old.get(key) != value}
    changed.update({key: None for key in old if key not in new})
    return {"phase": new["phase"], **changed} if changed else {}


# The fields a workload's reports write (any replica); the leader touches them only with
# the Execution's resourceVersion as a precondition (see docs/design.md, "Reports").
REPORTED_FIELDS = frozenset({"report", "steps", "result"})
