"""Step 7: backfill. The slots of the range in rerunnable.dev/backfill get one Execution each
(trigger Backfill, the slot's scheduled name), oldest first, at most `parallelism` at once,
within the concurrency policy. A slot that has an Execution already is skipped: the name is
the slot's, live or backfilled, so no slot ever runs twice.

What the range asked for and how far it got is kept in status.backfill; its counts move
with the slots after `lastSlot` and the runs that ended after lastCompletionTime, both
written in the same status patch, so a repeated pass counts nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rerunnable.api.reasons import BackfillingReason, ConditionType, EventReason
from rerunnable.api.v1alpha1 import (
    BackfillStatus,
    ConcurrencyPolicy,
    ExecutionPhase,
    Trigger,
    rfc3339,
)
from rerunnable.core.backfill import BackfillError, backfill_slots, parse_request
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.parameters import resolve
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.runs import new_execution
from rerunnable.core.planner.working import Pass
from rerunnable.core.schedule import ValidSchedule

__all__ = ["Backfill", "backfill"]

# The Backfilling condition: status, reason, message.
Value = tuple[Literal["True", "False", "Unknown"], str, str]


@dataclass(frozen=True)
class Backfill:
    """- status: status.backfill after this pass (None: never asked for);
    - condition: the Backfilling condition, or None when no backfill was ever asked for."""

    status: BackfillStatus | None = None
    condition: Value | None = None


def backfill(p: Pass, schedule: ValidSchedule | None, policy: ConcurrencyPolicy) -> Backfill:
    rjob = p.rjob
    previous = rjob.status.backfill
    if rjob.backfill is None:
        if previous is None:
            return Backfill()
        done = _counted(p, previous)
        if _over(p, done):
            return _finish(p, done)
        message = "rerunnable.dev/backfill was cleared: no new backfill runs start"
        return Backfill(done, ("False", BackfillingReason.STOPPED, message))
    try:
        request = parse_request(rjob.backfill, rjob.backfill_parallelism)
        slots = backfill_slots(request, schedule, p.now)
    except BackfillError as e:
        _announce(p, ("False", BackfillingReason.INVALID_BACKFILL, e.message))
        return Backfill(previous, ("False", BackfillingReason.INVALID_BACKFILL, e.message))

    same = previous is not None and (previous.start, previous.end) == (
        request.start,
        request.end,
    )
    state = (
        previous.model_copy(update={"parallelism": request.parallelism})
        if same and previous is not None
        else BackfillStatus.model_validate(
            {
                "from": request.start,
                "to": request.end,
                "parallelism": request.parallelism,
                "total": len(slots),
            }
        )
    )
    state = _counted(p, state) if same else state
    state = _start(p, state, slots, policy)
    if state.last_slot == (slots[-1] if slots else None) and _over(p, state):
        return _finish(p, state)
    handled = state.started + state.skipped
    message = (
        f"{handled} of {state.total} slots handled from {rfc3339(state.start)} to "
        f"{rfc3339(state.end)}: {state.started} started, {state.skipped} skipped, "
        f"{state.succeeded} succeeded, {state.failed} failed"
    )
    return Backfill(state, ("True", BackfillingReason.IN_PROGRESS, message))


def _in_range(p: Pass, name: str, state: BackfillStatus) -> bool:
    """Whether `name` is an attempt of a backfill run of this range."""
    first = p.executions.get(p.executions[name].spec.retry_of or name, p.executions[name]).spec
    slot = first.scheduled_time
    if first.trigger != Trigger.BACKFILL or slot is None:
        return False
    return state.start <= slot < state.end


def _counted(p: Pass, state: BackfillStatus) -> BackfillStatus:
    """`state` with the backfill runs that ended since the last status counted."""
    succeeded, failed = state.succeeded, state.failed
    for name in p.news():
        if not _in_range(p, name, state):
            continue
        if p.statuses[name].phase == ExecutionPhase.SUCCEEDED:
            succeeded += 1
        else:
            failed += 1
    return state.model_copy(update={"succeeded": succeeded, "failed": failed})


def _running(p: Pass, state: BackfillStatus) -> int:
    """Backfill runs of this range not over yet."""
    active = set(p.active())
    return sum(
        1 for names in p.chains().values() if names[-1] in active and _in_range(p, names[-1], state)
    )


def _over(p: Pass, state: BackfillStatus) -> bool:
    return _running(p, state) == 0


def _start(
    p: Pass, state: BackfillStatus, slots: list[datetime], policy: ConcurrencyPolicy
) -> BackfillStatus:
    """Start the next slots, oldest first, as far as the parallelism and the policy allow."""
    rjob = p.rjob
    declared = rjob.spec.parameters if rjob.spec is not None else None
    limit = state.parallelism if policy == ConcurrencyPolicy.ALLOW else 1
    running = _running(p, state)
    for slot in slots:
        if state.last_slot is not None and slot <= state.last_slot:
            continue
        name = scheduled_execution_name(rjob.name, slot)
        armed = name in p.armed()  # its slot passed undecided: no run, made again as a backfill
        if name in p.executions and not armed:
            state = state.model_copy(update={"skipped": state.skipped + 1, "last_slot": slot})
            continue
        if running >= limit or (policy != ConcurrencyPolicy.ALLOW and p.active()):
            break
        if armed:
            p.disarm(name)
        new = new_execution(
            rjob,
            name,
            Trigger.BACKFILL,
            slot=slot,
            requested_by=rjob.backfill_requested_by,
            parameters=resolve(declared, {}),
        )
        p.add(new)
        p.events.append(
            Event(
                "Normal",
                EventReason.RUN_STARTED,
                f"Started Execution {name}: backfill of {rfc3339(slot)}",
            )
        )
        running += 1
        state = state.model_copy(update={"started": state.started + 1, "last_slot": slot})
    return state


def _finish(p: Pass, state: BackfillStatus) -> Backfill:
    message = (
        f"backfill from {rfc3339(state.start)} to {rfc3339(state.end)} completed: "
        f"{state.total} slots, {state.started} run ({state.succeeded} succeeded, "
        f"{state.failed} failed), {state.skipped} skipped (they had run already)"
    )
    value: Value = ("False", BackfillingReason.COMPLETED, message)
    _announce(p, value)
    return Backfill(state, value)


def _announce(p: Pass, value: Value) -> None:
    """An Event when the Backfilling condition turns to Completed or InvalidBackfill."""
    old = next((c for c in p.rjob.status.conditions if c.type == ConditionType.BACKFILLING), None)
    if old is not None and (old.status, old.reason, old.message) == value:
        return
    if value[1] == BackfillingReason.COMPLETED:
        p.events.append(Event("Normal", EventReason.BACKFILL_COMPLETED, value[2]))
    elif value[1] == BackfillingReason.INVALID_BACKFILL:
        p.events.append(Event("Warning", EventReason.BACKFILL_REFUSED, value[2]))
