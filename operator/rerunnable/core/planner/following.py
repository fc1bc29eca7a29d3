"""Step 2: every Execution follows its Job (and ends Interrupted when the Job is gone).

`refused` is the same rule for the one outcome a plan cannot foresee: the API
server refusing a run's Job when the shell creates it.
"""

from collections.abc import Mapping
from datetime import datetime

from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionPhase, ExecutionStatus
from rerunnable.core.execution_status import follow_job, rejected
from rerunnable.core.messages import finished_event
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.working import Pass
from rerunnable.core.state import ExecutionState, JobState

__all__ = ["finished", "follow_jobs", "refused"]


def follow_jobs(p: Pass, jobs: Mapping[str, JobState]) -> None:
    for name, execution in p.executions.items():
        new = follow_job(execution, jobs.get(name), now=p.now)
        if new == execution.status:
            continue
        p.updates[name] = new
        p.statuses[name] = new
        if new.phase != execution.status.phase and new.phase in TERMINAL_PHASES:
            p.events.append(finished(name, new))


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
