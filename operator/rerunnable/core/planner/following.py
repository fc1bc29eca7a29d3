"""Step 2: every Execution follows its Job (and ends Interrupted when the Job is gone).

`refused` is the same rule for the one outcome a plan cannot foresee: the API
server refusing a run's Job when the shell creates it.
"""

from collections.abc import Mapping
from datetime import datetime

from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionPhase, ExecutionStatus
from rerunnable.core.execution_status import follow_job, rejected
from rerunnable.core.messages import finished_event
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.working import Pass
from rerunnable.core.reports import stall_deadline
from rerunnable.core.state import ExecutionState, JobState

__all__ = ["cancel", "finished", "follow_jobs", "reap", "refused", "stall"]


def follow_jobs(p: Pass, jobs: Mapping[str, JobState]) -> None:
    for name, execution in p.executions.items():
        new = follow_job(execution, jobs.get(name), now=p.now)
        if new == execution.status:
            continue
        p.updates[name] = new
        p.statuses[name] = new
        if new.phase != execution.status.phase and new.phase in TERMINAL_PHASES:
            p.events.append(finished(name, new))


def cancel(p: Pass) -> None:
    """End the unfinished runs whose Execution asks to be cancelled (rerunnable.dev/cancel)."""
    for name, execution in p.executions.items():
        if execution.cancel_requested and p.statuses[name].phase not in TERMINAL_PHASES:
            p.cancel(name, execution.cancelled_by)


def reap(p: Pass, jobs: Mapping[str, JobState]) -> list[str]:
    """The Jobs to delete of runs that ended Interrupted in an earlier pass: that pass ended
    the run, then stopped before its Job was deleted (a crash, a lost leadership)."""
    return [
        name
        for name, execution in p.executions.items()
        if execution.status.phase == ExecutionPhase.INTERRUPTED
        and (job := jobs.get(name)) is not None
        and not job.deleting
    ]


def stall(p: Pass, heartbeat_seconds: int | None) -> datetime | None:
    """End the Running runs that have not reported within the heartbeat (reason Stalled);
    return when the next of the others would stall, to look again then."""
    upcoming = []
    for name in list(p.statuses):
        deadline = stall_deadline(p.statuses[name], heartbeat_seconds)
        if deadline is None:
            continue
        if p.now >= deadline:
            silent = int((p.now - deadline).total_seconds()) + (heartbeat_seconds or 0)
            p.interrupt(
                name,
                RunReason.STALLED,
                f"stalled: no report for {silent}s (reporting.heartbeatSeconds "
                f"{heartbeat_seconds}); its Job is deleted",
            )
        else:
            upcoming.append(deadline)
    return min(upcoming, default=None)


def finished(name: str, status: ExecutionStatus) -> Event:
    """The Event about a run that ended in `status`."""
    reason, message = finished_event(name, status)
    return Event(
        "Normal" if status.phase == ExecutionPhase.SUCCEEDED else "Warning", reason, message
    )


def refused(
    execution: ExecutionState, message: str, now: datetime
) -> tuple[ExecutionStatus, Event]:
    """A run whose Job the API server refused (422): it ends Failed, and says why."""
    status = rejected(execution.status, message=message, now=now)
    return status, finished(execution.name, status)
