"""Step 4: what is due now. Schedule slots (with suspension and the missed-run policy), a new
manual token, and what the status will say about them, as one frozen value: `Due`.

`find_due` finds it before the concurrency policy decides; `settle` completes it after
(step 6): only the slots that started a run count against spec.maxRuns, so what stops the
schedule, the next slot and when to look again are known only then.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from rerunnable.api.reasons import ConditionType, EventReason, RunReason, SuspendedReason
from rerunnable.api.v1alpha1 import MissedRunPolicy, RerunnableJobSpec, SkippedRun, Trigger, rfc3339
from rerunnable.core.cron import fire_times_between
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.stopping import Stops
from rerunnable.core.planner.working import Pass
from rerunnable.core.schedule import INSTANT, ValidSchedule, upcoming_times
from rerunnable.core.state import RerunnableJobState

__all__ = ["MAX_MISSED_RUNS", "SKIP_GRACE", "Due", "find_due", "nothing_due", "settle"]

# missedRunPolicy All starts at most this many missed slots (the latest ones).
MAX_MISSED_RUNS = 100
# missedRunPolicy Skip still runs a slot seen this late (a busy or restarting operator).
SKIP_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Due:
    """What step 4 found (`find_due`), completed once the concurrency policy decided (`settle`).

    - slots: the schedule slots to run now, oldest first, each with its trigger
      (Schedule, or Backfill for older missed slots under missedRunPolicy All);
    - token: a manual run token not handled yet, or None;
    - last_schedule_time, last_run_token: the status fields once these are handled;
    - missed: the slots dropped by the missed-run policy, as status.lastSkipped, or None;
      missed_slots: how many (at least: past MAX_MISSED_RUNS slots, those looked at and one);
    - suspended: (reason, message) of the Suspended condition, or None; before `settle`
      only spec.suspend, suspendUntil and suspendAfterFailures, which stop every slot;

    and, from `settle`:

    - started: how many of `slots` have a run (made in this pass, or by a pass that
      stopped before its status): what counts against spec.maxRuns; a slot the
      policy skipped or superseded does not;
    - next_schedule_time: the next slot (UTC), None if none will come;
    - wake_at: when to look again (the next slot, or the end of a suspendUntil).
    """

    slots: tuple[tuple[datetime, Trigger], ...] = ()
    token: str | None = None
    last_schedule_time: datetime | None = None
    last_run_token: str | None = None
    next_schedule_time: datetime | None = None
    wake_at: datetime | None = None
    suspended: tuple[str, str] | None = None
    missed: SkippedRun | None = None
    missed_slots: int = 0
    started: int = 0

    def missed_event(self) -> Event | None:
        if self.missed is None:
            return None
        return Event("Warning", EventReason.MISSED_SCHEDULE, self.missed.message)


def nothing_due(rjob: RerunnableJobState, made: datetime | None) -> Due:
    """An object whose spec is invalid: nothing runs, the status keeps what it knew (and the
    slots whose runs exist, see `find_due`)."""
    return Due(
        last_schedule_time=_handled(rjob, rjob.status.last_schedule_time, made),
        last_run_token=rjob.status.last_run_token,
    )


def _handled(
    rjob: RerunnableJobState, last_schedule_time: datetime | None, made: datetime | None
) -> datetime | None:
    """lastScheduleTime, or the slot of the latest run made if that is later: a slot whose
    run exists is handled. (A run's slot before the job was created, which no pass makes,
    would move the floor of the due slots back; it moves nothing.)"""
    if made is None or made <= (last_schedule_time or rjob.created):
        return last_schedule_time
    return made


def find_due(
    rjob: RerunnableJobState,
    schedule: ValidSchedule,
    now: datetime,
    stops: Stops,
    made: datetime | None,
) -> Due:
    """The slots due now (no more than spec.maxRuns still allows) and a new manual token; the
    rest once the concurrency policy decided (`settle`).

    `made`: the latest slot a scheduled run exists for. A slot counts as handled once its
    Execution exists; a pass that made it may have stopped before its status (a crash, or
    its status left to a later pass), and a job suspended since sees no slot to run."""
    spec = rjob.spec
    assert spec is not None
    suspended = _suspension(spec, now, stops)
    slots: list[tuple[datetime, Trigger]] = []
    last_schedule_time = rjob.status.last_schedule_time
    missed = None
    missed_slots = 0
    if schedule.crons and suspended is None:
        floor = _resume_floor(rjob, schedule, now)
        if floor != (last_schedule_time or rjob.created):
            last_schedule_time = floor
        slots, latest, missed, missed_slots = _due_slots(spec, schedule, floor, now)
        if stops.remaining is not None:
            slots = slots[: stops.remaining]  # oldest first: the last ones allowed
        last_schedule_time = latest or last_schedule_time
    token = None
    last_token = rjob.status.last_run_token
    if rjob.run_token is not None and rjob.run_token != last_token:
        token = last_token = rjob.run_token
    return Due(
        slots=tuple(slots),
        token=token,
        # Found by the chaos suite: a run made, its status left to a later pass, then the job
        # suspended; lastScheduleTime stayed a slot behind that run while it was suspended.
        last_schedule_time=_handled(rjob, last_schedule_time, made),
        last_run_token=last_token,
        suspended=suspended,
        missed=missed,
        missed_slots=missed_slots,
    )


def settle(p: Pass, found: Due, schedule: ValidSchedule, stops: Stops) -> Due:
    """`found` once the concurrency policy decided (step 6): the slots that started a run
    count against spec.maxRuns (a slot skipped or superseded uses none up); then whether the
    schedule has ended (endTime, maxRuns), its next slot, and when to look again."""
    spec = p.rjob.spec
    assert spec is not None
    started = sum(
        1 for t, _ in found.slots if scheduled_execution_name(p.rjob.name, t) in p.executions
    )
    remaining = None if stops.remaining is None else stops.remaining - started
    suspended = found.suspended
    if suspended is None and schedule.crons:
        suspended = _ended(spec, p.now, remaining)
    upcoming = upcoming_times(
        schedule, spec, p.now, count=1, remaining_runs=remaining, halted=stops.halted
    )
    next_time = upcoming[0].astimezone(UTC) if upcoming else None
    until = spec.suspend_until
    resume_at = until if until is not None and until > p.now else None
    return replace(
        found,
        started=started,
        suspended=suspended,
        next_schedule_time=next_time,
        wake_at=min((t for t in (next_time, resume_at) if t is not None), default=None),
    )


def _suspension(spec: RerunnableJobSpec, now: datetime, stops: Stops) -> tuple[str, str] | None:
    """(reason, message) if no scheduled run may start now; spec.suspend's reason first."""
    if spec.suspend:
        return (SuspendedReason.SUSPENDED, "spec.suspend is true")
    if spec.suspend_until is not None and spec.suspend_until > now:
        return (SuspendedReason.SUSPENDED_UNTIL, f"suspended until {rfc3339(spec.suspend_until)}")
    if stops.halted:
        return (
            SuspendedReason.CONSECUTIVE_FAILURES,
            f"{stops.consecutive_failures} scheduled runs in a row failed "
            f"(spec.suspendAfterFailures {spec.suspend_after_failures}); a successful run, or "
            "a new rerunnable.dev/resume token (kubectl rerun resume), resumes",
        )
    return None


def _ended(spec: RerunnableJobSpec, now: datetime, remaining: int | None) -> tuple[str, str] | None:
    """(reason, message) once no scheduled run will ever start again: past spec.endTime, or
    spec.maxRuns started (slots before either still run, however late they are seen)."""
    if spec.end_time is not None and spec.end_time <= now:
        return (
            SuspendedReason.END_TIME_REACHED,
            f"spec.endTime {rfc3339(spec.end_time)} has passed",
        )
    if remaining is not None and remaining <= 0:
        return (
            SuspendedReason.MAX_RUNS_REACHED,
            f"{spec.max_runs} scheduled runs have started (spec.maxRuns)",
        )
    return None


def _resume_floor(rjob: RerunnableJobState, schedule: ValidSchedule, now: datetime) -> datetime:
    """Slots at or before this instant are not due: handled already, or suspended through.

    Slots before a past suspendUntil were suspended, whether or not a pass saw
    them so (the operator may have been down all along). `suspend: true` leaves
    no time in the spec, so its end is known only to a pass that saw the object
    suspended before and sees it resumed now: the slots up to now are covered.
    So does any other stop a pass reported (failures, endTime, maxRuns): while it
    holds no slot runs, and once it ends (a resume, endTime moved, maxRuns raised)
    the slots in between are not run afterwards. Slots before spec.startTime are
    no slots: none is covered. The latest covered slot becomes lastScheduleTime.
    """
    floor = rjob.status.last_schedule_time or rjob.created
    spec = rjob.spec
    assert spec is not None
    covered_until: datetime | None = None
    if spec.suspend_until is not None and spec.suspend_until <= now:
        covered_until = spec.suspend_until - INSTANT
    was = next((c for c in rjob.status.conditions if c.type == ConditionType.SUSPENDED), None)
    if (
        was is not None
        and was.status == "True"
        and (was.reason == SuspendedReason.SUSPENDED or spec.suspend_until is None)
    ):
        covered_until = now
    after = floor
    if spec.start_time is not None and spec.start_time - INSTANT > after:
        after = spec.start_time - INSTANT
    if covered_until is None or covered_until <= after:
        return floor
    covered = fire_times_between(schedule.crons, after, covered_until, schedule.time_zone, limit=1)
    return covered.times[-1].astimezone(UTC) if covered.times else floor


def _latest(schedule: ValidSchedule, after: datetime, now: datetime) -> datetime | None:
    """The latest slot in (after, now], in UTC, if any: handled by this pass, run or not."""
    if after >= now:
        return None
    fired = fire_times_between(schedule.crons, after, now, schedule.time_zone, limit=1)
    return fired.times[-1].astimezone(UTC) if fired.times else None


def _due_slots(
    spec: RerunnableJobSpec, schedule: ValidSchedule, floor: datetime, now: datetime
) -> tuple[list[tuple[datetime, Trigger]], datetime | None, SkippedRun | None, int]:
    """The slots after `floor` to run now, the latest slot up to now (every one of them is
    handled by this pass: run or missed), the missed ones as a lastSkipped record, and how
    many they are."""
    tz = schedule.time_zone
    # Slots outside [startTime, endTime) are no slots: neither run nor missed.
    if spec.start_time is not None and spec.start_time - INSTANT > floor:
        floor = spec.start_time - INSTANT
    until = now if spec.end_time is None else min(now, spec.end_time - INSTANT)
    fired = fire_times_between(schedule.crons, floor, until, tz, limit=MAX_MISSED_RUNS)
    if not fired.times:
        return [], _latest(schedule, floor, now), None, 0
    # Times leave the planner in UTC: two readings of one instant then compare equal
    # (Python compares datetimes of one zone by wall time, which a DST fall-back repeats).
    times = [t.astimezone(UTC) for t in fired.times]
    latest = _latest(schedule, times[-1], now) or times[-1]
    deadline = (
        now - timedelta(seconds=spec.starting_deadline_seconds)
        if spec.starting_deadline_seconds is not None
        else None
    )
    in_window = [t for t in times if deadline is None or t >= deadline]

    if spec.missed_run_policy == MissedRunPolicy.ALL:
        due = [(t, Trigger.SCHEDULE if t == latest else Trigger.BACKFILL) for t in in_window]
    elif spec.missed_run_policy == MissedRunPolicy.SKIP:
        grace = SKIP_GRACE
        if spec.starting_deadline_seconds is not None:
            grace = min(grace, timedelta(seconds=spec.starting_deadline_seconds))
        due = [(latest, Trigger.SCHEDULE)] if now - latest <= grace else []
    else:
        due = [(latest, Trigger.SCHEDULE)] if latest in in_window else []

    started = {t for t, _ in due}
    dropped = [t for t in times if t not in started]
    if fired.truncated:
        # More slots were due than were looked at; the latest of those is the most recent drop.
        earlier = fire_times_between(schedule.crons, floor, times[0] - INSTANT, tz, limit=1)
        dropped = [t.astimezone(UTC) for t in earlier.times] + dropped
    if not dropped:
        return due, latest, None, 0
    policy = f"missedRunPolicy {spec.missed_run_policy.value}"
    if spec.starting_deadline_seconds is not None:
        policy += f", startingDeadlineSeconds {spec.starting_deadline_seconds}"
    if fired.truncated:
        message = (
            f"more than {len(times)} scheduled runs were due since {rfc3339(floor)}; "
            f"{len(due)} started, the others missed ({policy})"
        )
    else:
        message = f"{len(dropped)} scheduled run(s) missed since {rfc3339(dropped[0])} ({policy})"
    missed = SkippedRun(
        time=now,
        trigger=Trigger.SCHEDULE,
        scheduled_time=max(dropped),
        reason=RunReason.MISSED_SCHEDULE,
        message=message,
    )
    return due, latest, missed, len(dropped)
