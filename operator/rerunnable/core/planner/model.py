"""What a plan is made of: the runs to start or end, the Events, the status."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import (
    ExecutionPhase,
    ExecutionSpec,
    ExecutionStatus,
    RerunnableJobStatus,
    StepStatus,
    Trigger,
)
from rerunnable.core import execution_status

__all__ = ["Event", "Interrupt", "NewExecution", "Plan"]


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class NewExecution:
    """An Execution to create (`manifest`); unless `queued` or `armed`, its Job too, at once.

    A queued run, or one armed ahead of its slot, gets `waiting_status` once it exists,
    unless it has one already (another pass, or replica, may have seen it start).
    """

    name: str
    trigger: Trigger
    scheduled_time: datetime | None
    token: str | None
    spec: ExecutionSpec
    manifest: Mapping[str, Any]
    queued: bool = False
    armed: bool = False  # made ahead of its slot: its Job is made at the slot (`arming`)
    requested_by: str | None = None
    steps: tuple[StepStatus, ...] = ()  # the job's declared steps, Pending

    def waiting_status(self, current: ExecutionStatus) -> ExecutionStatus | None:
        """The status to write on a queued or armed run that exists as `current`; None: leave
        it."""
        # Another pass may have seen it start or queued it; an armed run a queue takes over
        # (made ahead by a pass this one did not see) becomes queued.
        if current.job_name or current.reason not in (None, RunReason.SCHEDULED):
            return None
        if self.queued:
            return execution_status.queued(self.steps)
        if self.armed and self.scheduled_time is not None:
            return execution_status.armed(self.scheduled_time, self.steps)
        return None

    def starts_job(self, current: ExecutionStatus) -> bool:
        """Whether its Job is created now, given the Execution as it exists (`current`): not if
        it is queued or armed, nor if another pass saw it end already."""
        return not (self.queued or self.armed) and current.phase == ExecutionPhase.PENDING


@dataclass(frozen=True)
class Interrupt:
    """End a running Execution as Interrupted and delete its Job."""

    execution: str
    status: ExecutionStatus


@dataclass(frozen=True)
class Plan:
    """Everything one pass does, in the order the shell applies it.

    Runs first: `execution_updates` (Executions follow their Jobs), `interrupts`,
    `job_deletes` (Jobs of runs that ended Interrupted earlier and still have one),
    `disarms` (armed runs that will not run as they are), `creates` (each Execution,
    then its Job), `starts` (Jobs of waiting and armed runs). Bookkeeping second: each
    started run's `jobName`, `deletes` (history limits), the RerunnableJob's `status`,
    `arms` (the next slot's Execution, made ahead); then the `events`.
    """

    execution_updates: Mapping[str, ExecutionStatus] = field(default_factory=dict)
    interrupts: tuple[Interrupt, ...] = ()
    job_deletes: tuple[str, ...] = ()
    disarms: tuple[str, ...] = ()
    creates: tuple[NewExecution, ...] = ()
    starts: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    arms: tuple[NewExecution, ...] = ()
    status: RerunnableJobStatus = field(default_factory=RerunnableJobStatus)
    events: tuple[Event, ...] = ()
    wake_at: datetime | None = None
    # Runs that end Stalled in this plan, for metrics.
    stalled: int = 0
    # Schedule slots this plan counts missed (the missed-run policy dropped them), for metrics.
    missed: int = 0
    # The job's declared steps, Pending: a run's status gets them with its Job.
    steps: tuple[StepStatus, ...] = ()

    @property
    def starts_runs(self) -> bool:
        """Whether the plan creates Jobs: then its bookkeeping may wait for busier keys."""
        return bool(self.creates or self.starts)
