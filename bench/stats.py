"""Pure accounting: percentiles, and lag / missed / duplicate runs per schedule slot."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["SeenJob", "SlotSummary", "percentile", "ratio", "summarize_slots"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b to three decimals; None if either is missing or b is not positive."""
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 3)


@dataclass(frozen=True)
class SeenJob:
    """A Job as the watcher first saw it."""

    owner: str  # the RerunnableJob or CronJob it runs for
    name: str
    slot: float | None  # scheduled time (Unix seconds); None for a manual run
    seen: float  # Unix seconds (millisecond resolution) when the watch delivered it


@dataclass(frozen=True)
class SlotSummary:
    expected: int  # objects x slots
    on_time: int  # runs with a Job seen inside their slot
    late: int  # runs whose first Job came after the slot ended
    missed: int  # runs without a Job inside their slot (late ones included)
    duplicates: int  # extra Jobs for a run that already had one
    lags: tuple[float, ...]  # seconds, one per run that got a Job (late ones included)

    @property
    def p50(self) -> float | None:
        return percentile(self.lags, 50)

    @property
    def p99(self) -> float | None:
        return percentile(self.lags, 99)

    @property
    def max(self) -> float | None:
        return max(self.lags) if self.lags else None


def summarize_slots(
    owners: Iterable[str], slots: Sequence[float], jobs: Iterable[SeenJob], period: float = 60.0
) -> SlotSummary:
    """Account every (owner, slot) run: lag of its first Job, missed, duplicates.

    A run is missed when no Job for it was seen before the slot ended (`period`
    after the slot time), a duplicate when a second, differently named Job for the
    same owner and slot turns up. Jobs of other owners or other slots are ignored.
    """
    wanted = set(owners)
    slot_set = set(slots)
    first: dict[tuple[str, float], float] = {}
    names: dict[tuple[str, float], set[str]] = {}
    for job in jobs:
        if job.owner not in wanted or job.slot is None or job.slot not in slot_set:
            continue
        run = (job.owner, job.slot)
        names.setdefault(run, set()).add(job.name)
        if run not in first or job.seen < first[run]:
            first[run] = job.seen
    lags = tuple(sorted(seen - run[1] for run, seen in first.items()))
    late = sum(1 for run, seen in first.items() if seen - run[1] >= period)
    expected = len(wanted) * len(slot_set)
    on_time = len(first) - late
    return SlotSummary(
        expected=expected,
        on_time=on_time,
        late=late,
        missed=expected - on_time,
        duplicates=sum(len(n) - 1 for n in names.values()),
        lags=lags,
    )
