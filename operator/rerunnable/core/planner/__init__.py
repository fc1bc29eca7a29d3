"""The planner: one RerunnableJob, its Executions, their Jobs and `now` in; a `Plan` out.

`plan` reads as the reconcile does, in numbered steps, one module each:

1. validate the spec (`validation`): an invalid object gets no new runs;
2. let every Execution follow its Job, ending Interrupted if the Job is gone, the run is
   cancelled, or it stopped reporting past its heartbeat (`following`);
3. retry runs whose attempt failed, after the backoff (`retrying`);
4. find what is due (`due`): schedule slots, with suspension, the rules that stop a
   schedule (`stopping`) and the missed-run policy, and a new manual token;
5. start waiting Executions whose turn has come (`concurrency`);
6. apply the concurrency policy to what is due now (`concurrency`); only the slots that
   started a run count against spec.maxRuns (`due.settle`);
7. start the slots of a backfill, oldest first, as the policy allows (`backfilling`);
8. prune finished runs beyond the history limits (`history`);
9. arm the next slot: make its Execution ahead, so that its slot writes only its Job
   (`arming`);
10. rebuild the status, and say when to look again (`status`).

Nothing here reads the clock or talks to the API server. `now` is taken in whole
seconds, as the API server keeps times: what the plan records (a completion time, a
transition) is what the next pass reads back, and runs that end in one second are
counted together. So the plan wakes on a whole second too. The shell applies
the plan in the order of its fields and writes the status last, so a crash at
any point leaves a state from which the next pass makes the same decisions
(the deterministic names turn a repeated create into AlreadyExists).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from rerunnable.api.reasons import RunReason
from rerunnable.core.planner import (
    arming,
    backfilling,
    concurrency,
    due,
    following,
    history,
    retrying,
    status,
    stopping,
    validation,
)
from rerunnable.core.planner.due import MAX_MISSED_RUNS, SKIP_GRACE
from rerunnable.core.planner.model import Event, Interrupt, NewExecution, Plan
from rerunnable.core.planner.status import RECENT_EXECUTIONS
from rerunnable.core.planner.working import Pass
from rerunnable.core.reports import initial_steps
from rerunnable.core.schedule import InvalidSpecError
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState

# Runs are made at their slot, Execution and Job together (the planner's default).
NO_ARMING = timedelta(0)

__all__ = [
    "MAX_MISSED_RUNS",
    "NO_ARMING",
    "RECENT_EXECUTIONS",
    "SKIP_GRACE",
    "Event",
    "Interrupt",
    "NewExecution",
    "Plan",
    "plan",
]


def plan(
    rjob: RerunnableJobState,
    executions: Iterable[ExecutionState],
    jobs: Mapping[str, JobState],
    now: datetime,
    *,
    reports: bool = False,
    arm_ahead: timedelta = NO_ARMING,
) -> Plan:
    """Decide everything one pass over `rjob` does. See the module docstring.

    `reports`: whether this operator serves the report endpoint (spec.reporting needs it);
    `arm_ahead`: how long before its slot a scheduled run's Execution is made (zero: at
    the slot, with its Job).
    """
    # Whole seconds, as every time the planner reads (and the times it writes, read back).
    now = now.replace(microsecond=0)
    mine = {e.name: e for e in executions if e.owner_uid == rjob.uid and not e.deleting}
    p = Pass.begin(rjob, mine, set(jobs), now)

    # 1. Validate. An invalid object's Executions still follow their Jobs.
    checked = validation.validate(rjob, now, reports=reports)
    schedule = None if isinstance(checked, InvalidSpecError) else checked
    invalid = checked if isinstance(checked, InvalidSpecError) else None

    # 2. Executions follow their Jobs, their cancel requests, and their reports.
    following.follow_jobs(p, jobs)
    reaped = following.reap(p, jobs)
    following.cancel(p)
    reporting = rjob.spec.reporting if rjob.spec is not None else None
    # Without the channel no run can report: a heartbeat would end every run that lasts.
    heartbeat = reporting.heartbeat_seconds if reporting and reporting.enabled else None
    next_stall = following.stall(p, heartbeat)

    # 3. Retries: a run whose attempt ended goes on, or waits for its backoff.
    next_retry = None
    if schedule is not None and rjob.spec is not None:
        next_retry = retrying.retry(p, rjob.spec)

    # 4. What is due, within the rules that stop a schedule.
    stops = stopping.stops(p, rjob.spec) if rjob.spec is not None else stopping.Stops()
    made = p.latest_scheduled_slot()
    found = (
        due.nothing_due(rjob, made)
        if schedule is None
        else due.find_due(rjob, schedule, now, stops, made)
    )
    if (missed := found.missed_event()) is not None:
        p.skipped = found.missed
        p.events.append(missed)

    if schedule is not None and rjob.spec is not None:
        # 5. Waiting Executions whose turn has come, before anything new queues behind them.
        concurrency.start_waiting(p, rjob.spec.concurrency_policy)
        # 6. The concurrency policy over what is due now; what started counts for maxRuns.
        concurrency.admit(p, rjob.spec.concurrency_policy, found)
        found = due.settle(p, found, schedule, stops)

    # 7. Backfill: an explicit request, not limited by suspension or the stop rules.
    filled = (
        backfilling.backfill(p, schedule, rjob.spec.concurrency_policy)
        if rjob.spec is not None
        else backfilling.Backfill(rjob.status.backfill)
    )

    # 8. History limits.
    deletes = history.prune(p, rjob.spec) if rjob.spec is not None else []

    # 9. Arm the next slot.
    next_arm = arming.arm(p, found, arm_ahead, valid=schedule is not None)

    # 10. Status.
    new_status = status.build_status(
        p, found, stops, filled, schedule=schedule, invalid=invalid, deleted=set(deletes)
    )
    return Plan(
        execution_updates=p.updates,
        interrupts=tuple(p.interrupts),
        job_deletes=tuple(reaped),
        disarms=tuple(p.disarms),
        creates=tuple(p.creates),
        starts=tuple(p.starts),
        deletes=tuple(deletes),
        arms=tuple(p.arms),
        status=new_status,
        events=tuple(p.events),
        wake_at=_whole_second(
            min(
                (t for t in (found.wake_at, next_stall, next_retry, next_arm) if t is not None),
                default=None,
            )
        ),
        stalled=sum(1 for i in p.interrupts if i.status.reason == RunReason.STALLED),
        missed=found.missed_slots,
        steps=tuple(initial_steps(rjob.spec.steps if rjob.spec else None)),
    )


def _whole_second(t: datetime | None) -> datetime | None:
    """`t`, or the whole second after it: a pass sees `now` in whole seconds, so it sees an
    instant within a second (a retry whose backoff factor left a fraction) reached only at
    the next one. Woken earlier, it would find nothing due and ask to be woken at once."""
    if t is None or not t.microsecond:
        return t
    return t.replace(microsecond=0) + timedelta(seconds=1)
