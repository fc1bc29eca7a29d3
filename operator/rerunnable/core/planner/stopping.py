"""Rules that stop a schedule (spec.suspendAfterFailures, startTime, endTime, maxRuns): what the
runs that ended so far and the status say about them, before step 4 finds what is due.

Counts live in the status and move only with the runs that ended, or the slots
that were started, since the status was written: both are written in the same
patch as the marks they count from (lastCompletionTime, lastScheduleTime), so a
pass that repeats after a crash counts nothing twice.
"""

from dataclasses import dataclass

from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import ExecutionPhase, RerunnableJobSpec, Trigger
from rerunnable.core.planner.working import Pass

__all__ = ["Stops", "stops"]

# A run that ended so because someone (or the policy) chose to end it is not a failure.
_NOT_FAILURES = frozenset({RunReason.CANCELLED, RunReason.REPLACED})


@dataclass(frozen=True)
class Stops:
    """- consecutive_failures: scheduled runs that failed in a row, after this pass;
    - resume_token: the rerunnable.dev/resume token handled, after this pass;
    - halted: whether spec.suspendAfterFailures stops scheduled runs now;
    - scheduled_runs: scheduled runs started before this pass (status.scheduledRuns);
    - remaining: scheduled runs that spec.maxRuns still allows, or None without a limit."""

    consecutive_failures: int = 0
    resume_token: str | None = None
    halted: bool = False
    scheduled_runs: int = 0
    remaining: int | None = None


def stops(p: Pass, spec: RerunnableJobSpec) -> Stops:
    previous = p.rjob.status
    failures = previous.consecutive_failures
    for name in p.news():
        status = p.statuses[name]
        first = p.executions.get(p.executions[name].spec.retry_of or name, p.executions[name])
        if status.phase == ExecutionPhase.SUCCEEDED:
            failures = 0
        elif first.spec.trigger in (Trigger.SCHEDULE, Trigger.BACKFILL):
            failures += 0 if status.reason in _NOT_FAILURES else 1
    resume = previous.last_resume_token
    if p.rjob.resume_token is not None and p.rjob.resume_token != resume:
        resume = p.rjob.resume_token
        failures = 0
    limit = spec.suspend_after_failures
    started = previous.scheduled_runs
    return Stops(
        consecutive_failures=failures,
        resume_token=resume,
        halted=limit is not None and failures >= limit,
        scheduled_runs=started,
        remaining=max(0, spec.max_runs - started) if spec.max_runs is not None else None,
    )
