"""Cron schedules: parse them, spread them with `H`, and turn them into instants.

A RerunnableJob's `schedule` / `schedules` and `timeZone` come here. Everything is
pure: the current time is an argument, every datetime is timezone-aware (a naive
one raises ValueError), and nothing reads the clock.

Syntax
------
A superset of what a Kubernetes CronJob accepts (robfig/cron's ParseStandard), so
any CronJob's schedule works unchanged:

- five fields, `minute hour day-of-month month day-of-week`, separated by any
  whitespace (runs of it collapse; surrounding whitespace is ignored);
- in each field a comma-separated list of `*`, `N`, `A-B`, `*/S`, `A-B/S` and
  `N/S` (which means `N-max/S`, as in robfig);
- month names JAN-DEC and weekday names SUN-SAT, in any case;
- `?` means `*` (robfig accepts it in every field, so we do too);
- weekday 7 is Sunday, like 0 (robfig rejects 7, vixie cron accepts it);
- the macros @yearly @annually @monthly @weekly @daily @midnight @hourly, in any
  case, with robfig's meaning (`@hourly` is `0 * * * *`, not spread with H);
- day-of-month and day-of-week are ORed when both are restricted, ANDed when either
  is unrestricted (`*`, `?` or `*/1`), exactly as robfig and vixie cron decide;
- Jenkins-style `H`, see below.

Rejected, each with a message that names the problem: empty schedules, a field
count other than five (six fields, i.e. seconds, get their own message), `TZ=` and
`CRON_TZ=` prefixes (use the `timeZone` field, as CronJob says too), `@reboot`,
unknown macros, out-of-range values (the field is named), steps that are not
positive integers, unknown names, reversed ranges such as `FRI-MON` (robfig rejects
them too), and the Quartz extensions `L`, `W` and `#`.

`@every <duration>` is rejected. robfig accepts it, but its runs are counted from
when the CronJob was created (or last ran), not from the clock, so it has no
meaning as a pure function of a time; most uses are better written as a cron
expression (`*/5 * * * *`), and the error message says so.

Jenkins-style H
---------------
`H` stands for one value chosen by a stable hash of the caller's `hash_key`
("namespace/name"), so that ten thousand objects saying "hourly" do not all start
at minute 0. The hash is sha256 salted with the field's index, so each field of one
object gets its own, independent value, and it never changes for a given key.

- `H`: one value in the field's range (day-of-month: 1-28, as Jenkins, so that it
  fires every month);
- `H/n`: start at `low + hash mod n`, then every n up to the field's maximum;
- `H(a-b)`: one value in a..b;
- `H(a-b)/n`: start at `a + hash mod n`, then every n up to b.

(`mod n` becomes `mod (b - a + 1)` when the range is shorter than n, so a value
always exists.) `CronSchedule.normalized` shows the values actually chosen.

Time zones and DST
------------------
An expression names wall-clock times. They are computed by croniter (pinned) on
naive wall-clock datetimes only, so croniter's own time zone handling never
matters, and each wall time is then mapped to an instant in the time zone:

- a wall time that exists once is that instant;
- one skipped by a DST gap runs at the first instant after the gap (02:30 on
  Berlin's spring-forward day runs at 03:00 CEST). Several skipped wall times,
  and the gap's end itself, are one instant, so it runs once. Gaps of any length
  work: 30 minutes (Australia/Lord_Howe), a whole day (Pacific/Apia, 2011-12-30);
- one repeated by a fall-back runs only at its first occurrence (fold=0): hourly
  runs once per wall-clock hour, and nothing runs in the repeated hour's second
  pass.

Instants come back in the schedule's time zone. Mind that Python compares two
datetimes with the same tzinfo by wall time, ignoring `fold`; compare instants
from the repeated hour through `.timestamp()` or after `.astimezone(UTC)`.

Search horizon
--------------
A five-field expression that fires at all fires at least once every eight years
(29 February across 2100 is the longest wait), so `next_fire_time` looks nine
years ahead and `never_fires` is exact. An expression that can never fire (such
as `0 0 30 2 *`) is recognised when parsed, without searching.
"""

import copy
import hashlib
import heapq
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter  # type: ignore[import-untyped]

__all__ = [
    "CronError",
    "CronSchedule",
    "FireTimes",
    "fire_times_between",
    "load_time_zone",
    "never_fires",
    "next_fire_time",
    "parse_cron",
]

# The longest wait between two fire times of a satisfiable expression is eight
# years (`0 0 29 2 *` from March 2096 to February 2104); one more for safety.
_HORIZON_YEARS = 9

# croniter needs a start time at construction; a fixed one keeps it off the clock.
_COMPILE_ANCHOR = datetime(2000, 1, 1)

# How far back a fall-back can still make a wall time later than the one now on the
# clock: a repeated period (at most a day in tzdata) plus margin.
_FALL_BACK_LOOKBACK_HOURS = (12, 24, 36, 48)

_MACROS: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_FIELD_ORDER = "minute hour day-of-month month day-of-week"

_MONTH_NAMES: Mapping[str, int] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_WEEKDAY_NAMES: Mapping[str, int] = {
    name: number for number, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))
}

# Longest month lengths; February counts its leap day, which does come round.
_MAX_DAYS_IN_MONTH: Mapping[int, int] = {
    1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31,
}  # fmt: skip

_NUMBER = re.compile(r"[0-9]+")
_HASHED = re.compile(r"h(?:\((?P<low>[^()]*)-(?P<high>[^()]*)\))?", re.IGNORECASE)


class CronError(ValueError):
    """A cron expression or time zone that cannot be used.

    str(e) is a message for users that names the problem, e.g.
    "minute field '61' is out of range 0-59"; it ends up in a condition and an event.
    """


@dataclass(frozen=True)
class _Field:
    """What one of the five fields accepts."""

    index: int
    name: str
    low: int
    high: int  # the end of `*` and of `N/S`
    highest: int  # the largest value one may write (7, Sunday, for day-of-week)
    names: Mapping[str, int]
    hash_low: int  # the range of a bare `H`
    hash_high: int

    @property
    def all_values(self) -> frozenset[int]:
        return frozenset(range(self.low, self.high + 1))


_DAY_OF_MONTH = _Field(2, "day-of-month", 1, 31, 31, {}, 1, 28)
_MONTH = _Field(3, "month", 1, 12, 12, _MONTH_NAMES, 1, 12)
_DAY_OF_WEEK = _Field(4, "day-of-week", 0, 6, 7, _WEEKDAY_NAMES, 0, 6)
_FIELDS = (
    _Field(0, "minute", 0, 59, 59, {}, 0, 59),
    _Field(1, "hour", 0, 23, 23, {}, 0, 23),
    _DAY_OF_MONTH,
    _MONTH,
    _DAY_OF_WEEK,
)


@dataclass(frozen=True)
class _Part:
    """One parsed field (or one item of its comma list)."""

    text: str  # canonical form, as croniter is given it
    values: frozenset[int]
    star: bool  # unrestricted, in the sense of the day-of-month/day-of-week rule


@dataclass(frozen=True)
class _Spec:
    """A normalized expression and what is needed to reason about it."""

    normalized: str
    day_of_month: _Part
    month: _Part
    day_of_week: _Part

    @property
    def never_fires(self) -> bool:
        """Whether no date can ever match: only a day-of-month absent from every month.

        With day-of-week restricted too, the two are ORed and some weekday always comes.
        """
        if self.day_of_month.star or not self.day_of_week.star:
            return False
        earliest_day = min(self.day_of_month.values)
        return all(earliest_day > _MAX_DAYS_IN_MONTH[month] for month in self.month.values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression, ready to produce fire times in any time zone.

    Build it with parse_cron(), which validates, expands macros and resolves H;
    constructing it directly with a `normalized` form also works (it is re-checked).
    """

    expression: str  # as the user wrote it
    normalized: str  # the five fields actually evaluated
    _spec: _Spec = field(init=False, repr=False, compare=False)
    _cron: Any = field(init=False, repr=False, compare=False)  # a compiled croniter

    def __post_init__(self) -> None:
        # Compiled once per schedule (parse_cron caches schedules): croniter parses its
        # expression in ~100 µs, a copy of a compiled one costs ~1 µs.
        spec = _normalize(self.normalized.split(), hash_key="")
        if spec.normalized != self.normalized:
            raise ValueError(
                f"normalized {self.normalized!r} is not in canonical form"
                f" ({spec.normalized!r}); build schedules with parse_cron()"
            )
        try:
            cron = croniter(
                spec.normalized,
                _COMPILE_ANCHOR,
                ret_type=datetime,
                max_years_between_matches=_HORIZON_YEARS,
            )
        except CroniterError as error:  # pragma: no cover - _normalize accepts less
            raise CronError(f"cannot evaluate {spec.normalized!r}: {error}") from error
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_cron", cron)

    def instants_after(self, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Fire instants strictly after `after`, in increasing order, tz-aware (in tz).

        Lazy and unbounded; it ends only for a schedule that never fires (or at the
        end of the calendar).
        """
        after_utc = _to_utc(after, "after")
        return (instant.astimezone(tz) for instant in self._utc_after(after_utc, tz))

    def _utc_after(self, after_utc: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Instants strictly after `after_utc`, increasing, in UTC.

        Starts from the wall time on the clock at `after`: wall-to-instant mapping
        never decreases, so no later wall time maps to an instant before it, and wall
        times in a repeated hour's second pass map back to its first and drop out.
        """
        if self._spec.never_fires:
            return
        cron = copy.copy(self._cron)  # its own cursor: generators may interleave
        wall = after_utc.astimezone(tz).replace(tzinfo=None)
        last = after_utc
        while True:
            try:
                wall = cron.get_next(datetime, wall)
                instant = _instant_of_wall_time(wall, tz)
            except (CroniterError, OverflowError, ValueError):
                return  # beyond the horizon or the end of the calendar
            if instant > last:
                last = instant
                yield instant

    def _utc_at_or_before(self, end_utc: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Instants at or before `end_utc`, decreasing, in UTC.

        Walking back starts from the latest wall time the clock has shown up to
        `end`, which a recent fall-back makes later than the wall time at `end`.
        """
        if self._spec.never_fires:
            return
        cron = copy.copy(self._cron)
        wall = _latest_wall_time_until(end_utc, tz) + timedelta(microseconds=1)
        last: datetime | None = None
        while True:
            try:
                wall = cron.get_prev(datetime, wall)
                instant = _instant_of_wall_time(wall, tz)
            except (CroniterError, OverflowError, ValueError):
                return
            if instant <= end_utc and (last is None or instant < last):
                last = instant
                yield instant


@dataclass(frozen=True)
class FireTimes:
    """Fire instants in a window, increasing; `truncated` if earlier ones were left out."""

    times: tuple[datetime, ...]
    truncated: bool


def parse_cron(expression: str, *, hash_key: str) -> CronSchedule:
    """Parse a cron expression (see the module docstring for the syntax).

    `hash_key` ("namespace/name") chooses the values of H; it is required so that no
    caller forgets it, and expressions without H ignore it. Raises CronError.
    """
    uses_hash = any(
        item.startswith(("h", "H")) for word in expression.split() for item in word.split(",")
    )
    return _parse_cached(expression, hash_key if uses_hash else "")


def load_time_zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name`; None or "" is UTC (the `timeZone` field's default).

    Raises CronError for a name the time zone database does not know. "Local" is
    refused as CronJob refuses it: the operator's own zone is no one's business.
    """
    if not name:
        return ZoneInfo("UTC")
    if name.lower() == "local":
        raise CronError(f"time zone {name!r} is not allowed; name an IANA time zone")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise CronError(f"unknown time zone {name!r}") from None


def next_fire_time(
    schedules: Sequence[CronSchedule], after: datetime, tz: ZoneInfo
) -> datetime | None:
    """Earliest instant strictly after `after` over all schedules, in tz.

    None if none fires within the search horizon (e.g. '0 0 30 2 *'), or if there
    are no schedules.
    """
    after_utc = _to_utc(after, "after")
    earliest: datetime | None = None
    for schedule in schedules:
        candidate = next(schedule._utc_after(after_utc, tz), None)
        if candidate is not None and (earliest is None or candidate < earliest):
            earliest = candidate
    return None if earliest is None else earliest.astimezone(tz)


def fire_times_between(
    schedules: Sequence[CronSchedule],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    *,
    limit: int,
) -> FireTimes:
    """Instants t with start < t <= end over all schedules, increasing, in tz.

    Two schedules firing at one instant count once. With more than `limit` of them,
    the latest `limit` are returned and `truncated` is set: a caller catching up on
    missed runs wants the most recent ones and to say that others were dropped. The
    work is proportional to `limit`, not to the length of the window.
    """
    start_utc = _to_utc(start, "start")
    end_utc = _to_utc(end, "end")
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    latest_first: list[datetime] = []
    streams = [schedule._utc_at_or_before(end_utc, tz) for schedule in schedules]
    for instant in heapq.merge(*streams, reverse=True):
        if instant <= start_utc:
            break
        if latest_first and instant == latest_first[-1]:
            continue
        if len(latest_first) == limit:
            return FireTimes(_in_zone(reversed(latest_first), tz), truncated=True)
        latest_first.append(instant)
    return FireTimes(_in_zone(reversed(latest_first), tz), truncated=False)


def never_fires(schedule: CronSchedule, tz: ZoneInfo, *, from_: datetime) -> bool:
    """True if the schedule has no instant after `from_` within the search horizon.

    The horizon covers every expression that can fire at all, so this is True
    exactly for expressions such as '0 0 30 2 *' (and for nothing near the end of
    the calendar). Meant for a clear InvalidSchedule condition.
    """
    return next_fire_time([schedule], from_, tz) is None


# Parsing ----------------------------------------------------------------------------


@lru_cache(maxsize=16384)
def _parse_cached(expression: str, hash_key: str) -> CronSchedule:
    """Parse once per (expression, key): thousands of objects share a few schedules."""
    words = expression.split()
    if not words:
        raise CronError("the schedule is empty; write a cron expression such as '0 3 * * *'")
    if words[0].upper().startswith(("TZ=", "CRON_TZ=")):
        raise CronError(
            "TZ= and CRON_TZ= are not supported in the schedule; set the timeZone field instead"
        )
    if words[0].startswith("@"):
        words = _expand_macro(words)
    return CronSchedule(expression, _normalize(words, hash_key=hash_key).normalized)


def _expand_macro(words: list[str]) -> list[str]:
    """The five fields a macro stands for (robfig's meanings)."""
    macro = words[0].lower()
    if macro == "@every":
        raise CronError(
            f"{' '.join(words)!r} is not supported: @every counts from when the object was"
            " created, not from the clock; write a cron expression instead, such as"
            " '*/5 * * * *' for every five minutes"
        )
    if macro == "@reboot":
        raise CronError("@reboot is not supported: there is no boot to run at")
    if macro not in _MACROS:
        known = " ".join(_MACROS)
        raise CronError(f"unknown macro {words[0]!r}; use one of {known}")
    if len(words) > 1:
        raise CronError(f"{words[0]} stands alone; found {' '.join(words[1:])!r} after it")
    return _MACROS[macro].split()


def _normalize(words: list[str], *, hash_key: str) -> _Spec:
    """Validate five fields and write them in the canonical form croniter evaluates."""
    if len(words) != 5:
        hint = "; seconds are not supported" if len(words) == 6 else ""
        raise CronError(
            f"expected 5 fields ({_FIELD_ORDER}), got {len(words)}: {' '.join(words)!r}{hint}"
        )
    parts = [_parse_field(word, spec, hash_key) for word, spec in zip(words, _FIELDS, strict=True)]
    day_of_month, day_of_week = parts[_DAY_OF_MONTH.index], parts[_DAY_OF_WEEK.index]
    if (
        not day_of_month.star
        and not day_of_week.star
        and (
            day_of_month.values == _DAY_OF_MONTH.all_values
            or day_of_week.values == _DAY_OF_WEEK.all_values
        )
    ):
        # ORed with a side that matches every day: every day. Said as `* *`, because
        # croniter reads a full list next to a `*` differently than robfig does.
        parts[_DAY_OF_MONTH.index] = _star(_DAY_OF_MONTH)
        parts[_DAY_OF_WEEK.index] = _star(_DAY_OF_WEEK)
    return _Spec(
        normalized=" ".join(part.text for part in parts),
        day_of_month=parts[_DAY_OF_MONTH.index],
        month=parts[_MONTH.index],
        day_of_week=parts[_DAY_OF_WEEK.index],
    )


def _parse_field(word: str, spec: _Field, hash_key: str) -> _Part:
    """A comma-separated list; any unrestricted item makes the whole field unrestricted."""
    items = word.split(",")
    if any(not item for item in items):
        raise CronError(f"{spec.name} field {word!r} has an empty item in its list")
    parts = [_parse_item(item, spec, hash_key) for item in items]
    if any(part.star for part in parts):
        return _star(spec)
    texts = list(dict.fromkeys(part.text for part in parts))
    values = frozenset(value for part in parts for value in part.values)
    return _Part(",".join(texts), values, star=False)


def _parse_item(item: str, spec: _Field, hash_key: str) -> _Part:
    """One of `*`, `?`, `N`, `A-B`, `H...`, each optionally followed by `/step`."""
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, item, spec) if slash else 1
    if base in ("*", "?"):
        if step == 1:
            return _star(spec)
        values = frozenset(range(spec.low, spec.high + 1, step))
        return _Part(f"*/{step}", values, star=False)
    if base[:1] in ("h", "H"):
        return _parse_hashed(base, step if slash else None, item, spec, hash_key)
    low_text, dash, high_text = base.partition("-")
    low = _parse_value(low_text, item, spec)
    if dash:
        high = _parse_value(high_text, item, spec)
    elif slash:
        high = spec.high  # `N/S` is `N-max/S`
    else:
        high = low
    return _range(low, high, step, item, spec)


def _parse_hashed(base: str, step: int | None, item: str, spec: _Field, hash_key: str) -> _Part:
    """Jenkins' H, H(a-b), H/n and H(a-b)/n, from a stable hash of the key."""
    match = _HASHED.fullmatch(base)
    if match is None:
        raise CronError(f"{spec.name} field {item!r}: write H as H, H/n, H(a-b) or H(a-b)/n")
    if match["low"] is None:
        low, high = spec.hash_low, spec.hash_high
    else:
        low = _parse_value(match["low"], item, spec)
        high = _parse_value(match["high"], item, spec)
        _check_order(low, high, item, spec)
    size = high - low + 1
    digest = _field_hash(hash_key, spec.index)
    if step is None:
        value = low + digest % size
        return _range(value, value, 1, item, spec)
    return _range(low + digest % min(step, size), high, step, item, spec)


def _field_hash(hash_key: str, field_index: int) -> int:
    """A stable number per key and field; salted so fields do not move together."""
    digest = hashlib.sha256(f"{field_index}:{hash_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _parse_step(text: str, item: str, spec: _Field) -> int:
    if not _NUMBER.fullmatch(text) or int(text) == 0:
        raise CronError(f"{spec.name} field {item!r}: the step must be a positive integer")
    # A longer step than the field's span means the first value only; one past any integer
    # (CronJob refuses it) is a typo, never a schedule.
    span = spec.high - spec.low + 1
    if int(text) > span:
        raise CronError(f"{spec.name} field {item!r}: the step must be at most {span}")
    return int(text)


def _parse_value(text: str, item: str, spec: _Field) -> int:
    """A number in the field's range, or a month or weekday name."""
    where = "" if text == item else f" in {item!r}"
    if _NUMBER.fullmatch(text):
        value = int(text)
        if not spec.low <= value <= spec.highest:
            raise CronError(
                f"{spec.name} field {text!r}{where} is out of range {spec.low}-{spec.highest}"
            )
        return value
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    if not text:
        raise CronError(f"{spec.name} field {item!r} is missing a value")
    if spec.names:
        first, *_, last = spec.names
        raise CronError(
            f"{spec.name} field {text!r}{where} is neither a number nor a name"
            f" ({first.upper()}-{last.upper()})"
        )
    raise CronError(f"{spec.name} field {text!r}{where} is not a number")


def _check_order(low: int, high: int, item: str, spec: _Field) -> None:
    if low > high:
        raise CronError(f"{spec.name} field {item!r}: the range starts after it ends")


def _range(low: int, high: int, step: int, item: str, spec: _Field) -> _Part:
    """`low-high/step` in canonical text: never `A-A` (croniter reads it as `*`)."""
    _check_order(low, high, item, spec)
    written = range(low, high + 1, step)
    values = frozenset(_canonical_value(value, spec) for value in written)
    if len(written) == 1:
        text = str(_canonical_value(low, spec))
    elif spec is _DAY_OF_WEEK and high == 7:
        text = ",".join(str(value) for value in sorted(values))  # 7 is Sunday, 0
    elif step == 1:
        text = f"{low}-{high}"
    else:
        text = f"{low}-{high}/{step}"
    return _Part(text, values, star=False)


def _canonical_value(value: int, spec: _Field) -> int:
    return 0 if spec is _DAY_OF_WEEK and value == 7 else value


def _star(spec: _Field) -> _Part:
    return _Part("*", spec.all_values, star=True)


# Wall times and instants ------------------------------------------------------------


def _to_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(UTC)


def _in_zone(instants: Iterator[datetime], tz: ZoneInfo) -> tuple[datetime, ...]:
    return tuple(instant.astimezone(tz) for instant in instants)


def _instant_of_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant (in UTC) a wall time in tz fires at.

    fold=0 is the earlier reading of a repeated wall time and, for a skipped one,
    the reading with the offset from before the gap (which lands after the gap);
    fold=1 the opposite. So the two readings agree for an ordinary wall time, fold=0
    comes first for a repeated one (take it), and fold=1 comes first inside a gap.
    """
    earlier_offset = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    later_offset = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if earlier_offset <= later_offset:
        return earlier_offset
    return _end_of_gap(later_offset, earlier_offset, tz)


def _end_of_gap(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The transition instant between `before` (old offset) and `after` (new offset).

    Bisects whole seconds (tz transitions fall on them): at most 17 steps for a gap
    of a day, and gaps are rare.
    """
    new_offset = after.astimezone(tz).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _latest_wall_time_until(end_utc: datetime, tz: ZoneInfo) -> datetime:
    """The latest (naive) wall time the clock in tz has shown up to `end_utc`.

    It is the wall time at `end` unless a fall-back happened shortly before; then
    the first pass went further. The largest recent offset bounds that.
    """
    offsets = [end_utc.astimezone(tz).utcoffset() or timedelta(0)]
    for hours in _FALL_BACK_LOOKBACK_HOURS:
        try:
            earlier = (end_utc - timedelta(hours=hours)).astimezone(tz)
        except OverflowError:
            break
        offsets.append(earlier.utcoffset() or timedelta(0))
    return end_utc.replace(tzinfo=None) + max(offsets)
