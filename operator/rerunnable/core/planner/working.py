"""The working state of one planning pass, shared by its steps."""

from dataclasses import dataclass, field
from datetime import datetime

from rerunnable.api.reasons import EventReason
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionStatus, SkippedRun, Trigger
from rerunnable.core.execution_status import cancelled, interrupted
from rerunnable.core.planner.model import Event, Interrupt, NewExecution
from rerunnable.core.state import ExecutionState, RerunnableJobState

__all__ = ["Pass"]


@dataclass
class Pass:
    """What the pass knows and has decided so far.

    `statuses` and `has_job` start as the world is and change as the steps
    decide (a run that ends, a run created or started in this very pass), so
    each step sees the decisions of the steps before it.
    """

    rjob: RerunnableJobState
    now: datetime
    executions: dict[str, ExecutionState]
    statuses: dict[str, ExecutionStatus]
    has_job: dict[str, bool]
    events: list[Event] = field(default_factory=list)
    updates: dict[str, ExecutionStatus] = field(default_factory=dict)
    interrupts: list[Interrupt] = field(default_factory=list)
    creates: list[NewExecution] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    skipped: SkippedRun | None = None

    @classmethod
    def begin(
        cls,
        rjob: RerunnableJobState,
        executions: dict[str, ExecutionState],
        jobs: set[str],
        now: datetime,
    ) -> "Pass":
        return cls(
            rjob=rjob,
            now=now,
            executions=executions,
            statuses={n: e.status for n, e in executions.items()},
            has_job={n: n in jobs or bool(e.status.job_name) for n, e in executions.items()},
        )

    def active(self) -> list[str]:
        return [n for n, s in self.statuses.items() if s.phase not in TERMINAL_PHASES]

    def running(self) -> list[str]:
        return [n for n in self.active() if self.has_job[n]]

    def waiting(self) -> list[str]:
        """Active runs without a Job, oldest first: queued, or created by a pass that stopped."""
        by_age = sorted(self.active(), key=lambda n: self.executions[n].created)
        return [n for n in by_age if not self.has_job[n]]

    def interrupt(self, name: str, reason: str, message: str) -> None:
        """End a run Interrupted in this pass, and have its Job deleted."""
        status = interrupted(self.statuses[name], reason=reason, message=message, now=self.now)
        self.end(
            name,
            status,
            Event("Warning", EventReason.RUN_INTERRUPTED, f"Execution {name} {message}"),
        )

    def cancel(self, name: str, by: str | None) -> None:
        """End a run its Execution asks to cancel: Interrupted, reason Cancelled, its Job
        deleted (a queued run never gets one)."""
        started = self.has_job[name]
        status = cancelled(self.statuses[name], by=by, started=started, now=self.now)
        assert status.message is not None
        self.end(
            name,
            status,
            # Someone asked for it: news, not a warning.
            Event("Normal", EventReason.RUN_CANCELLED, f"Execution {name} {status.message}"),
        )

    def end(self, name: str, status: ExecutionStatus, event: Event) -> None:
        self.statuses[name] = status
        if name in self.starts:
            # Its Job was about to be created in this very pass: it never gets one.
            self.starts.remove(name)
        self.interrupts.append(Interrupt(name, status))
        self.events.append(event)

    def skip(
        self, trigger: Trigger, slot: datetime | None, token: str | None, reason: str, message: str
    ) -> None:
        self.skipped = SkippedRun(
            time=self.now,
            trigger=trigger,
            scheduled_time=slot,
            token=token,
            reason=reason,
            message=message,
        )
        self.events.append(Event("Warning", EventReason.RUN_SKIPPED, message))
