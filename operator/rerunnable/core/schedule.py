"""A RerunnableJob's schedules, read and checked, and the times they fire next.

One reading for everyone: the planner, the validating webhook (`admission`)
and `kubectl rerun next` all call `validate_schedule` (the same time-zone
rules, the same `H` values for the hash key "namespace/name") and
`upcoming_times` (the same rule for a suspension).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.cron import (
    CronError,
    CronSchedule,
    load_time_zone,
    never_fires,
    next_fire_time,
    parse_cron,
)

__all__ = ["INSTANT", "InvalidSpecError", "ValidSchedule", "upcoming_times", "validate_schedule"]

INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class ValidSchedule:
    crons: tuple[CronSchedule, ...]
    time_zone: ZoneInfo
    time_zone_name: str
    text: str  # as `kubectl get rjob` shows it


class InvalidSpecError(Exception):
    """A spec the operator cannot serve; `message` names the field, `reason` is the condition's."""

    def __init__(self, reason: ReadyReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def validate_schedule(spec: RerunnableJobSpec, *, hash_key: str, now: datetime) -> ValidSchedule:
    """Parse the schedules and the time zone; raise InvalidSpecError naming the field."""
    try:
        tz = load_time_zone(spec.time_zone)
    except CronError as e:
        raise InvalidSpecError(ReadyReason.INVALID_TIME_ZONE, f"spec.timeZone: {e}") from e
    fields: list[tuple[str, str]] = []
    if spec.schedule is not None:
        fields.append(("spec.schedule", spec.schedule))
    for i, expression in enumerate(spec.schedules or []):
        fields.append((f"spec.schedules[{i}]", expression))
    crons = []
    for where, expression in fields:
        try:
            cron = parse_cron(expression, hash_key=hash_key)
        except CronError as e:
            raise InvalidSpecError(ReadyReason.INVALID_SCHEDULE, f"{where}: {e}") from e
        if never_fires(cron, tz, from_=now):
            raise InvalidSpecError(
                ReadyReason.INVALID_SCHEDULE, f"{where}: {expression!r} never fires"
            )
        crons.append(cron)
    text = ", ".join(c.expression for c in crons) if crons else "(manual only)"
    if crons and spec.time_zone:
        text += f" ({spec.time_zone})"
    return ValidSchedule(
        crons=tuple(crons), time_zone=tz, time_zone_name=spec.time_zone or "UTC", text=text
    )


def upcoming_times(
    schedule: ValidSchedule,
    spec: RerunnableJobSpec,
    now: datetime,
    *,
    count: int,
    remaining_runs: int | None = None,
    halted: bool = False,
) -> list[datetime]:
    """The next `count` scheduled runs after `now`, in the job's time zone (fewer if it stops).

    None while `spec.suspend` is true, or `halted` (spec.suspendAfterFailures reached).
    A `suspendUntil` in the future moves the start there, as does a future
    `startTime`; a slot at exactly either time runs. No slot at or after `endTime`,
    and no more than `remaining_runs` (what spec.maxRuns still allows).
    """
    if not schedule.crons or spec.suspend or halted:
        return []
    if remaining_runs is not None:
        count = min(count, remaining_runs)
    starts = [t for t in (spec.suspend_until, spec.start_time) if t is not None and t > now]
    after = max(starts) - INSTANT if starts else now
    times: list[datetime] = []
    while len(times) < count:
        moment = next_fire_time(schedule.crons, after, schedule.time_zone)
        if moment is None or (spec.end_time is not None and moment >= spec.end_time):
            break
        times.append(moment)
        after = moment
    return times
