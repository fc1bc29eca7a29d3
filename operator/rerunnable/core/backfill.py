"""Backfill requests: the range a user asked for (rerunnable.dev/backfill=FROM/TO) and the
slots in it, read and checked the same way by the planner, the validating webhook and
`kubectl rerun backfill`."""

from dataclasses import dataclass
from datetime import UTC, datetime

from rerunnable.api.names import ANNOTATION_BACKFILL, ANNOTATION_BACKFILL_PARALLELISM
from rerunnable.api.v1alpha1 import EARLIEST, LATEST, rfc3339
from rerunnable.core.cron import fire_times_between
from rerunnable.core.schedule import INSTANT, ValidSchedule

__all__ = [
    "MAX_BACKFILL_PARALLELISM",
    "MAX_BACKFILL_SLOTS",
    "BackfillError",
    "BackfillRequest",
    "backfill_slots",
    "parse_request",
    "range_text",
]

MAX_BACKFILL_SLOTS = 1000
MAX_BACKFILL_PARALLELISM = 100


class BackfillError(Exception):
    """A backfill the operator will not start; `message` names the annotation and says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BackfillRequest:
    """FROM (inclusive) and TO (exclusive), and how many runs at once."""

    start: datetime
    end: datetime
    parallelism: int = 1


def range_text(start: datetime, end: datetime) -> str:
    """The annotation's value for a range: `2026-11-01T00:00:00Z/2026-11-08T00:00:00Z`."""
    return f"{rfc3339(start)}/{rfc3339(end)}"


def _instant(text: str, which: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):  # year 1 east of UTC is before the calendar
        utc = None
    if utc is None:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: {which} {text!r} is not an RFC 3339 time with a zone "
            f"(e.g. 2026-11-01T00:00:00Z), in {value!r}"
        )
    if not EARLIEST <= utc < LATEST:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: {which} {text!r} must be from {rfc3339(EARLIEST)} to "
            f"before {rfc3339(LATEST)}, in {value!r}"
        )
    return utc


def parse_request(value: str, parallelism: str | None = None) -> BackfillRequest:
    """The request in the annotations; raise BackfillError naming the annotation."""
    start_text, slash, end_text = value.partition("/")
    if not slash:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: expected FROM/TO (two RFC 3339 times), got {value!r}"
        )
    start = _instant(start_text, "FROM", value)
    end = _instant(end_text, "TO", value)
    if end <= start:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: TO ({rfc3339(end)}) must be after FROM ({rfc3339(start)})"
        )
    n = 1
    if parallelism is not None:
        if (
            not parallelism.strip().isdigit()
            or not 1 <= int(parallelism) <= MAX_BACKFILL_PARALLELISM
        ):
            raise BackfillError(
                f"{ANNOTATION_BACKFILL_PARALLELISM}: expected a whole number from 1 to "
                f"{MAX_BACKFILL_PARALLELISM}, got {parallelism!r}"
            )
        n = int(parallelism)
    return BackfillRequest(start, end, n)


def backfill_slots(
    request: BackfillRequest, schedule: ValidSchedule | None, now: datetime
) -> list[datetime]:
    """Every slot of every schedule in [FROM, TO), oldest first, in UTC, with the same time
    zone and DST rules as live scheduling. Raise BackfillError for a job without a schedule,
    a range that ends in the future, or one of more than 1000 slots."""
    if schedule is None or not schedule.crons:
        raise BackfillError(f"{ANNOTATION_BACKFILL}: the job has no schedule: nothing to backfill")
    if request.end > now:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: TO ({rfc3339(request.end)}) is in the future; a backfill "
            f"runs past slots only (now is {rfc3339(now)})"
        )
    fired = fire_times_between(
        schedule.crons,
        request.start - INSTANT,
        request.end - INSTANT,
        schedule.time_zone,
        limit=MAX_BACKFILL_SLOTS,
    )
    if fired.truncated:
        raise BackfillError(
            f"{ANNOTATION_BACKFILL}: more than {MAX_BACKFILL_SLOTS} slots from "
            f"{rfc3339(request.start)} to {rfc3339(request.end)}; backfill a shorter range"
        )
    return [t.astimezone(UTC) for t in fired.times]
