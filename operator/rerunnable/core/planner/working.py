"""The working state of one planning pass, shared by its steps."""

from dataclasses import dataclass, field
from datetime import datetime

from rerunnable.api.reasons import ConditionType, EventReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    Condition,
    ExecutionStatus,
    SkippedRun,
    Trigger,
)
from rerunnable.core.execution_status import cancelled, interrupted, waits_armed
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
    disarms: list[str] = field(default_factory=list)
    creates: list[NewExecution] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    arms: list[NewExecution] = field(default_factory=list)
    skipped: SkippedRun | None = None
    # Ended attempts whose run goes on after a backoff: the run is still active.
    retry_waiting: set[str] = field(default_factory=set)

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
        """Runs not over: unfinished Executions, and ended attempts whose retry waits. An
        armed Execution is no run yet."""
        armed = set(self.armed())
        return [
            n
            for n, s in self.statuses.items()
            if (s.phase not in TERMINAL_PHASES or n in self.retry_waiting) and n not in armed
        ]

    def armed(self) -> list[str]:
        """Executions made ahead of their slot (`arming`) that are no run yet: no Job, not
        queued by the policy at the slot, not ended (a cancel ends one)."""
        return [
            n
            for n, e in self.executions.items()
            if waits_armed(self.statuses[n], armed=e.armed, has_job=self.has_job[n])
        ]

    def disarm(self, name: str) -> None:
        """Delete the armed Execution `name` in this pass: its slot does not run as it is."""
        self.disarms.append(name)
        for table in (self.statuses, self.has_job, self.executions):
            del table[name]

    def start_armed(self, name: str) -> None:
        """Create the Job of the armed Execution `name`: its slot has come and may run."""
        self.starts.append(name)
        self.has_job[name] = True

    def running(self) -> list[str]:
        return [n for n in self.active() if self.has_job[n]]

    def waiting(self) -> list[str]:
        """Active runs without a Job, oldest first: queued, or created by a pass that stopped."""
        by_age = sorted(self.active(), key=lambda n: self.executions[n].created)
        return [n for n in by_age if not self.has_job[n] and n not in self.retry_waiting]

    def chains(self) -> dict[str, list[str]]:
        """Each run's attempts, by the name of its first: a run without retries is a chain of
        one. Attempts in order."""
        chains: dict[str, list[str]] = {}
        for name, e in self.executions.items():
            chains.setdefault(e.spec.retry_of or name, []).append(name)
        for names in chains.values():
            names.sort(key=lambda n: self.executions[n].spec.attempt or 1)
        return chains

    def latest_scheduled_slot(self) -> datetime | None:
        """The latest slot up to now a scheduled run exists for (trigger Schedule), or None.
        An armed Execution is no run: its slot is handled once the policy decided at it."""
        armed = set(self.armed())
        return max(
            (
                e.spec.scheduled_time
                for n, e in self.executions.items()
                if e.spec.trigger == Trigger.SCHEDULE
                and e.spec.scheduled_time is not None
                and e.spec.scheduled_time <= self.now
                and n not in armed
            ),
            default=None,
        )

    def add(self, new: NewExecution) -> None:
        """Create `new` in this pass: the rest of the pass sees it as an Execution, active, with
        a Job unless queued."""
        self.creates.append(new)
        self.statuses[new.name] = ExecutionStatus()
        self.has_job[new.name] = not new.queued
        self.executions[new.name] = ExecutionState(
            name=new.name,
            uid="",
            created=self.now,
            owner_uid=self.rjob.uid,
            spec=new.spec,
            status=ExecutionStatus(),
            deleting=False,
        )

    def withdraw(self, name: str) -> NewExecution:
        """Take back the create of `name` planned earlier in this pass: it never exists."""
        new = next(c for c in self.creates if c.name == name)
        self.creates.remove(new)
        for table in (self.statuses, self.has_job, self.executions):
            del table[name]
        self.events = [e for e in self.events if name not in e.message]
        return new

    def planned(self, name: str) -> bool:
        """Whether `name` is created by this pass (it does not exist yet)."""
        return any(c.name == name for c in self.creates)

    def run_ends(self) -> list[str]:
        """The last attempt of each run that is over: ended, with no retry to come. A run
        counts once, by it, for lastResult and the history limits."""
        ends = []
        for names in self.chains().values():
            last = names[-1]
            if self.statuses[last].phase in TERMINAL_PHASES and last not in self.retry_waiting:
                ends.append(last)
        return ends

    def ended_at(self, name: str) -> datetime:
        return self.statuses[name].completion_time or self.executions[name].created

    def news(self) -> list[str]:
        """The runs that are over and were not counted by the last status, by when they ended.

        The status counts runs up to its lastCompletionTime and names those that ended
        at that very second (lastCompletedExecutions): times have whole seconds, and
        several runs can end in one.
        """
        mark = self.rjob.status.last_completion_time
        seen = set(self.rjob.status.last_completed_executions)
        fresh = [
            n
            for n in self.run_ends()
            if mark is None
            or self.ended_at(n) > mark
            or (self.ended_at(n) == mark and n not in seen)
        ]
        return sorted(fresh, key=self.ended_at)

    def stop_retry(self, name: str, reason: str, message: str) -> None:
        """Call off the retry the ended attempt `name` waits for: the run is over."""
        self.retry_waiting.discard(name)
        self.retrying(name, "False", reason, message, next_attempt_time=None)
        self.events.append(
            Event("Normal", EventReason.RUN_CANCELLED, f"Execution {name}: retry {message}")
        )

    def amend(self, name: str, status: ExecutionStatus) -> None:
        """Give `name` the status `status`, written with whatever this pass writes on it already
        (an update, or the status of its interrupt)."""
        self.statuses[name] = status
        for i, interrupt in enumerate(self.interrupts):
            if interrupt.execution == name:
                self.interrupts[i] = Interrupt(name, status)
                return
        if status != self.executions[name].status:
            self.updates[name] = status
        else:
            self.updates.pop(name, None)

    def retrying(self, name: str, status: str, reason: str, message: str, **fields: object) -> None:
        """Set the Retrying condition of the ended attempt `name` (and `fields` of its status)."""
        current = self.statuses[name]
        condition = Condition(
            type=ConditionType.RETRYING,
            status="True" if status == "True" else "False",
            reason=reason,
            message=message,
            last_transition_time=self.now,
        )
        old = next((c for c in current.conditions if c.type == ConditionType.RETRYING), None)
        if old is not None and (old.status, old.reason, old.message) == (
            condition.status,
            condition.reason,
            condition.message,
        ):
            condition = old
        others = [c for c in current.conditions if c.type != ConditionType.RETRYING]
        self.amend(name, current.model_copy(update={"conditions": [*others, condition], **fields}))

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
