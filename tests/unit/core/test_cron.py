"""Cron parsing, H spreading, DST mapping and fire-time queries (rerunnable.core.cron).

Expected times are worked out by hand from the calendar (2026-11-22 is a Sunday;
DST in 2026: Europe/Berlin and Europe/Dublin change on 29 March and 25 October,
America/New_York on 8 March and 1 November, Australia/Sydney and
Australia/Lord_Howe on 5 April and 4 October) and written as RFC 3339 strings with
the offset, so each one says which side of a transition it is on.
"""

import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rerunnable.core.cron import (
    CronError,
    CronSchedule,
    FireTimes,
    fire_times_between,
    load_time_zone,
    never_fires,
    next_fire_time,
    parse_cron,
)

KEY = "default/example"


def at(text: str) -> datetime:
    """An aware datetime from an RFC 3339 string ('Z' or an offset)."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


def first(expression: str, zone: str, after: str, count: int) -> list[str]:
    schedule = parse_cron(expression, hash_key=KEY)
    instants = itertools.islice(schedule.instants_after(at(after), ZoneInfo(zone)), count)
    return [instant.isoformat() for instant in instants]


def schedules(*expressions: str) -> list[CronSchedule]:
    return [parse_cron(expression, hash_key=KEY) for expression in expressions]


# Parsing: accepted ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "normalized"),
    [
        ("every minute", "* * * * *", "* * * * *"),
        ("surrounding and inner whitespace", "  */5   *\t* * *\n", "*/5 * * * *"),
        ("list", "0,15,30 * * * *", "0,15,30 * * * *"),
        ("range", "0 9-17 * * *", "0 9-17 * * *"),
        ("range with step", "0-30/10 * * * *", "0-30/10 * * * *"),
        ("start with step means start to max", "5/20 * * * *", "5-59/20 * * * *"),
        ("single-value range is the value", "0 5-5 * * *", "0 5 * * *"),
        ("step past the range's end leaves its start", "10-20/30 * * * *", "10 * * * *"),
        ("leading zeros", "05 07 * * *", "5 7 * * *"),
        ("duplicates collapse", "0,0 * * * *", "0 * * * *"),
        ("a star in a list makes the field a star", "*,5 * * * *", "* * * * *"),
        ("star with step 1 is a star", "0 0 */1 * 1", "0 0 * * 1"),
        ("month names, any case", "0 0 1 jan,Jul,DEC *", "0 0 1 1,7,12 *"),
        ("month name range with step", "0 0 1 JAN-DEC/3 *", "0 0 1 1-12/3 *"),
        ("weekday name range", "0 9 * * MON-FRI", "0 9 * * 1-5"),
        ("weekday names, any case", "0 0 * * sun,Sat", "0 0 * * 0,6"),
        ("weekday 7 is Sunday", "0 0 * * 7", "0 0 * * 0"),
        ("weekday range ending at 7", "0 0 * * 5-7", "0 0 * * 0,5,6"),
        ("weekday star with step", "0 0 * * */2", "0 0 * * */2"),
        ("question mark in day-of-month", "0 0 ? * MON", "0 0 * * 1"),
        ("question mark in day-of-week", "0 0 1 * ?", "0 0 1 * *"),
        ("question mark elsewhere, as robfig", "? 0 * * *", "* 0 * * *"),
        ("both day fields restricted, one full: every day", "0 0 1-31 * MON", "0 0 * * *"),
        ("both day fields restricted, weekday full: every day", "0 0 15 * 0-6", "0 0 * * *"),
        ("both day fields restricted: kept (OR)", "0 0 1,15 * MON", "0 0 1,15 * 1"),
        ("@yearly", "@yearly", "0 0 1 1 *"),
        ("@annually", "@annually", "0 0 1 1 *"),
        ("@monthly", "@monthly", "0 0 1 * *"),
        ("@weekly", "@weekly", "0 0 * * 0"),
        ("@daily", "@daily", "0 0 * * *"),
        ("@midnight", "@midnight", "0 0 * * *"),
        ("@hourly", "@hourly", "0 * * * *"),
        ("macro in capitals, with whitespace", "  @DAILY ", "0 0 * * *"),
    ],
)
def test_parse_accepts(case: str, expression: str, normalized: str) -> None:
    schedule = parse_cron(expression, hash_key=KEY)
    assert schedule.normalized == normalized, case
    assert schedule.expression == expression, case


# Parsing: rejected ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "message"),
    [
        ("empty", "", "the schedule is empty"),
        ("only whitespace", " \t ", "the schedule is empty"),
        ("minute out of range", "61 * * * *", "minute field '61' is out of range 0-59"),
        ("hour out of range", "0 24 * * *", "hour field '24' is out of range 0-23"),
        ("day-of-month 0", "0 0 0 * *", "day-of-month field '0' is out of range 1-31"),
        ("day-of-month 32", "0 0 32 * *", "day-of-month field '32' is out of range 1-31"),
        ("month 13", "0 0 1 13 *", "month field '13' is out of range 1-12"),
        ("month 0", "0 0 1 0 *", "month field '0' is out of range 1-12"),
        ("weekday 8", "0 0 * * 8", "day-of-week field '8' is out of range 0-7"),
        ("range end out of range", "0-60 * * * *", "minute field '60' in '0-60' is out of range"),
        ("step zero", "*/0 * * * *", "minute field '*/0': the step must be a positive integer"),
        (
            "step longer than the field",
            "*/61 * * * *",
            "minute field '*/61': the step must be at most 60",
        ),
        (
            "step past any integer",
            "0 */99999999999999999999999 * * *",
            "hour field '*/99999999999999999999999': the step must be at most 24",
        ),
        ("step not a number", "0 */x * * *", "hour field '*/x': the step must be a positive"),
        ("step missing", "*/ * * * *", "minute field '*/': the step must be a positive"),
        ("two slashes", "*/5/2 * * * *", "minute field '*/5/2': the step must be a positive"),
        ("negative number", "-5 * * * *", "minute field '-5' is missing a value"),
        ("reversed range", "0 0 * * FRI-MON", "day-of-week field 'FRI-MON': the range starts"),
        ("start with step beyond max", "0 0 * * 7/2", "day-of-week field '7/2': the range starts"),
        (
            "unknown month name",
            "0 0 1 JANUARY *",
            "month field 'JANUARY' is neither a number nor a name (JAN-DEC)",
        ),
        ("weekday name as month", "0 0 1 MON *", "month field 'MON' is neither a number"),
        ("month name as weekday", "0 0 * * JAN", "day-of-week field 'JAN' is neither a number"),
        ("name in the minute field", "MON * * * *", "minute field 'MON' is not a number"),
        ("empty list item", "0,,5 * * * *", "minute field '0,,5' has an empty item"),
        ("four fields", "* * * *", "expected 5 fields (minute hour day-of-month month"),
        ("six fields (seconds)", "0 * * * * *", "got 6: '0 * * * * *'; seconds are not supported"),
        ("seven fields", "0 0 0 1 1 * 2030", "expected 5 fields .*, got 7"),
        ("TZ= prefix", "TZ=Europe/Berlin 0 3 * * *", "set the timeZone field instead"),
        ("CRON_TZ= prefix", "CRON_TZ=UTC 0 3 * * *", "set the timeZone field instead"),
        ("lower-case tz= prefix", "tz=UTC 0 3 * * *", "set the timeZone field instead"),
        ("@reboot", "@reboot", "@reboot is not supported"),
        ("@every", "@every 5m", "'@every 5m' is not supported: @every counts from when"),
        ("unknown macro", "@fortnightly", "unknown macro '@fortnightly'; use one of @yearly"),
        ("macro followed by fields", "@daily 0 3", "@daily stands alone; found '0 3' after it"),
        ("Quartz L", "0 0 L * *", "day-of-month field 'L' is not a number"),
        ("Quartz W", "0 0 15W * *", "day-of-month field '15W' is not a number"),
        ("Quartz #", "0 0 * * 1#2", "day-of-week field '1#2' is neither a number nor a name"),
        ("H not closed", "H(0-10 * * * *", "minute field 'H(0-10': write H as H, H/n"),
        ("H with a word after it", "Hourly * * * *", "minute field 'Hourly': write H as"),
        ("H range out of the field", "H(0-60) * * * *", "minute field '60' in 'H(0-60)' is out"),
        ("H range reversed", "H(30-10) * * * *", "minute field 'H(30-10)': the range starts"),
        ("H step zero", "H/0 * * * *", "minute field 'H/0': the step must be a positive"),
    ],
)
def test_parse_rejects(case: str, expression: str, message: str) -> None:
    pattern = message if case in {"seven fields"} else re.escape(message)
    with pytest.raises(CronError, match=pattern):
        parse_cron(expression, hash_key=KEY)


def test_cron_error_is_a_value_error() -> None:
    assert issubclass(CronError, ValueError)


# H ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "normalized"),
    [
        # Frozen: a change to the hash would move every object's runs.
        ("H in every field", "H H H H H", "18 17 9 3 1"),
        ("H/n, H(a-b)", "H/15 H(9-17) H(1-15) * H(1-5)", "3-59/15 14 6 * 3"),
        (
            "H(a-b)/n and H/n per field",
            "H(0-29)/10 H/6 H/10 H/3 *",
            "8-29/10 5-23/6 1-28/10 3-12/3 *",
        ),
        ("lower-case h", "h h * * *", "18 17 * * *"),
    ],
)
def test_hash_is_stable(case: str, expression: str, normalized: str) -> None:
    assert parse_cron(expression, hash_key="team-a/nightly-backup").normalized == normalized, case


def test_same_key_gives_the_same_values_and_other_keys_others() -> None:
    # Different spellings are parsed separately (no shared cache entry).
    one = parse_cron("H H * * *", hash_key="ns/a").normalized
    assert parse_cron("H  H  *  *  *", hash_key="ns/a").normalized == one
    others = {parse_cron("H H * * *", hash_key=f"ns/{name}").normalized for name in "bcdefg"}
    assert others - {one}


def test_key_is_ignored_without_h() -> None:
    assert parse_cron("0 3 * * *", hash_key="a/b") == parse_cron("0 3 * * *", hash_key="c/d")


KEYS = [f"namespace-{index % 7}/job-{index}" for index in range(500)]


@pytest.mark.parametrize(
    ("case", "expression", "field_index", "allowed", "at_least_distinct"),
    [
        ("minute H", "H * * * *", 0, range(60), 40),
        ("hour H", "0 H * * *", 1, range(24), 20),
        ("day-of-month H stays in 1-28", "0 0 H * *", 2, range(1, 29), 25),
        ("month H", "0 0 1 H *", 3, range(1, 13), 12),
        ("day-of-week H", "0 0 * * H", 4, range(7), 7),
        ("minute H(0-29)", "H(0-29) * * * *", 0, range(30), 25),
        ("hour H(9-17)", "0 H(9-17) * * *", 1, range(9, 18), 9),
        ("month H(JAN-MAR)", "0 0 1 H(JAN-MAR) *", 3, range(1, 4), 3),
    ],
)
def test_hash_spreads_over_its_range(
    case: str, expression: str, field_index: int, allowed: range, at_least_distinct: int
) -> None:
    values = [
        int(parse_cron(expression, hash_key=key).normalized.split()[field_index]) for key in KEYS
    ]
    assert set(values) <= set(allowed), case
    assert len(set(values)) >= at_least_distinct, case


@pytest.mark.parametrize(
    ("case", "expression", "step", "runs_per_hour", "highest_minute"),
    [
        ("H/15: four runs an hour at one offset", "H/15 * * * *", 15, 4, 59),
        ("H(0-29)/10: three runs in the first half hour", "H(0-29)/10 * * * *", 10, 3, 29),
    ],
)
def test_hash_with_step_keeps_one_offset(
    case: str, expression: str, step: int, runs_per_hour: int, highest_minute: int
) -> None:
    offsets = set()
    for key in KEYS:
        schedule = parse_cron(expression, hash_key=key)
        runs = schedule.instants_after(at("2026-11-22T09:59:59Z"), ZoneInfo("UTC"))
        hour = itertools.takewhile(lambda t: t < at("2026-11-22T11:00:00Z"), runs)
        minutes = [t.minute for t in hour]
        assert len(minutes) == runs_per_hour, (case, key, minutes)
        assert {minute % step for minute in minutes} == {minutes[0]}, (case, key, minutes)
        assert max(minutes) <= highest_minute, (case, key, minutes)
        offsets.add(minutes[0])
    assert len(offsets) >= step - 2, case


def test_hash_of_each_field_is_independent() -> None:
    # With one shared hash, (minute, hour) would follow the hash mod 120: 120 pairs at most.
    pairs = {tuple(parse_cron("H H * * *", hash_key=key).normalized.split()[:2]) for key in KEYS}
    assert len(pairs) > 300


# Semantics in UTC -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "after", "expected"),
    [
        (
            "weekday 7 runs on Sundays",
            "0 0 * * 7",
            "2026-11-18T00:00:00Z",
            ["2026-11-22T00:00:00+00:00", "2026-11-29T00:00:00+00:00"],
        ),
        (
            "day-of-month OR day-of-week: the 13th or a Friday, 13 Nov once",
            "0 0 13 * FRI",
            "2026-11-01T00:00:00Z",
            [
                "2026-11-06T00:00:00+00:00",
                "2026-11-13T00:00:00+00:00",
                "2026-11-20T00:00:00+00:00",
                "2026-11-27T00:00:00+00:00",
                "2026-12-04T00:00:00+00:00",
                "2026-12-11T00:00:00+00:00",
                "2026-12-13T00:00:00+00:00",
            ],
        ),
        (
            "day-of-month alone when day-of-week is *",
            "0 0 13 * *",
            "2026-11-01T00:00:00Z",
            ["2026-11-13T00:00:00+00:00", "2026-12-13T00:00:00+00:00"],
        ),
        (
            "day-of-week alone when day-of-month is ?",
            "0 0 ? * FRI",
            "2026-11-01T00:00:00Z",
            ["2026-11-06T00:00:00+00:00", "2026-11-13T00:00:00+00:00"],
        ),
        (
            "day-of-month */2 is restricted, so ORed with Monday",
            "0 0 */2 * MON",
            "2026-11-27T00:00:00Z",
            ["2026-11-29T00:00:00+00:00", "2026-11-30T00:00:00+00:00", "2026-12-01T00:00:00+00:00"],
        ),
        (
            "month names and a weekday range",
            "30 9 * JAN,JUL MON-FRI",
            "2026-06-30T00:00:00Z",
            [
                "2026-07-01T09:30:00+00:00",
                "2026-07-02T09:30:00+00:00",
                "2026-07-03T09:30:00+00:00",
                "2026-07-06T09:30:00+00:00",
            ],
        ),
        (
            "the 31st skips short months",
            "0 0 31 * *",
            "2026-01-31T00:00:00Z",
            ["2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00"],
        ),
        (
            "29 February in leap years",
            "0 0 29 2 *",
            "2026-01-01T00:00:00Z",
            ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
        ),
        (
            "29 February across 2100, which is no leap year",
            "0 0 29 2 *",
            "2096-03-01T00:00:00Z",
            ["2104-02-29T00:00:00+00:00"],
        ),
        ("@hourly", "@hourly", "2026-11-22T10:17:00Z", ["2026-11-22T11:00:00+00:00"]),
        ("@daily", "@daily", "2026-11-22T10:17:00Z", ["2026-11-23T00:00:00+00:00"]),
        (
            "@weekly is Sunday midnight",
            "@weekly",
            "2026-11-18T10:17:00Z",
            ["2026-11-22T00:00:00+00:00"],
        ),
        ("@monthly", "@monthly", "2026-11-22T10:17:00Z", ["2026-12-01T00:00:00+00:00"]),
        ("@yearly", "@yearly", "2026-11-22T10:17:00Z", ["2027-01-01T00:00:00+00:00"]),
        (
            "strictly after: the slot at `after` itself is not included",
            "17 10 * * *",
            "2026-11-22T10:17:00Z",
            ["2026-11-23T10:17:00+00:00"],
        ),
        (
            "seconds inside a minute",
            "* * * * *",
            "2026-11-22T10:17:30.5Z",
            ["2026-11-22T10:18:00+00:00", "2026-11-22T10:19:00+00:00"],
        ),
    ],
)
def test_fire_times_in_utc(case: str, expression: str, after: str, expected: list[str]) -> None:
    assert first(expression, "UTC", after, len(expected)) == expected, case


# DST --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "zone", "after", "expected"),
    [
        # Spring forward: 02:00 CET -> 03:00 CEST on 29 March 2026.
        (
            "daily 02:30, DST spring forward, Europe/Berlin: runs once at 03:00",
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        ),
        (
            "every 15 minutes inside the gap, Europe/Berlin: one run",
            "*/15 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"],
        ),
        (
            "gap wall times and 03:00 itself are one run, Europe/Berlin",
            "*/30 2-3 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            ["2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:00:00+02:00"],
        ),
        (
            "hourly, DST spring forward, Europe/Berlin: the missing hour is skipped",
            "0 * * * *",
            "Europe/Berlin",
            "2026-03-29T00:30:00+01:00",
            ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"],
        ),
        # Fall back: 03:00 CEST -> 02:00 CET on 25 October 2026.
        (
            "hourly, DST fall back, Europe/Berlin: once per wall hour",
            "0 * * * *",
            "Europe/Berlin",
            "2026-10-25T00:30:00+02:00",
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T03:00:00+01:00",
                "2026-10-25T04:00:00+01:00",
            ],
        ),
        (
            "every 30 minutes in the repeated hour, Europe/Berlin: first pass only",
            "*/30 2 * * *",
            "Europe/Berlin",
            "2026-10-24T12:00:00+02:00",
            ["2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:00:00+01:00"],
        ),
        (
            "after a time in the second pass, Europe/Berlin: the repeat stays skipped",
            "*/20 * * * *",
            "Europe/Berlin",
            "2026-10-25T02:10:00+01:00",
            ["2026-10-25T03:00:00+01:00", "2026-10-25T03:20:00+01:00"],
        ),
        # Europe/Dublin's tzdata uses negative DST (winter is the "daylight" time).
        (
            "daily 01:30, DST fall back, Europe/Dublin: runs once",
            "30 1 * * *",
            "Europe/Dublin",
            "2026-10-24T12:00:00+01:00",
            ["2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"],
        ),
        # America/New_York: 02:00 EST -> 03:00 EDT on 8 March, 02:00 EDT -> 01:00 EST on 1 Nov.
        (
            "daily 02:30, DST spring forward, America/New_York: runs once at 03:00",
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        ),
        (
            "hourly, DST spring forward, America/New_York: the missing hour is skipped",
            "0 * * * *",
            "America/New_York",
            "2026-03-08T00:30:00-05:00",
            ["2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"],
        ),
        (
            "daily 01:30, DST fall back, America/New_York: runs once",
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
        (
            "hourly, DST fall back, America/New_York: once per wall hour",
            "0 * * * *",
            "America/New_York",
            "2026-10-31T23:30:00-04:00",
            [
                "2026-11-01T00:00:00-04:00",
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T02:00:00-05:00",
                "2026-11-01T03:00:00-05:00",
            ],
        ),
        # Australia/Sydney, the other hemisphere: 02:00 AEST -> 03:00 AEDT on 4 October,
        # 03:00 AEDT -> 02:00 AEST on 5 April.
        (
            "daily 02:30, DST spring forward, Australia/Sydney: runs once at 03:00",
            "30 2 * * *",
            "Australia/Sydney",
            "2026-10-03T12:00:00+10:00",
            ["2026-10-04T03:00:00+11:00", "2026-10-05T02:30:00+11:00"],
        ),
        (
            "daily 02:30, DST fall back, Australia/Sydney: runs once",
            "30 2 * * *",
            "Australia/Sydney",
            "2026-04-04T12:00:00+11:00",
            ["2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"],
        ),
        (
            "hourly, DST fall back, Australia/Sydney: once per wall hour",
            "0 * * * *",
            "Australia/Sydney",
            "2026-04-05T01:30:00+11:00",
            ["2026-04-05T02:00:00+11:00", "2026-04-05T03:00:00+10:00"],
        ),
        # Australia/Lord_Howe moves by 30 minutes: 02:00 -> 02:30 on 4 October,
        # 02:00 -> 01:30 on 5 April.
        (
            "every 15 minutes, half-hour gap, Australia/Lord_Howe",
            "*/15 2 * * *",
            "Australia/Lord_Howe",
            "2026-10-03T12:00:00+10:30",
            ["2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00", "2026-10-05T02:00:00+11:00"],
        ),
        (
            "every 10 minutes, half-hour repeat, Australia/Lord_Howe: first pass only",
            "*/10 1 * * *",
            "Australia/Lord_Howe",
            "2026-04-04T12:00:00+11:00",
            [
                "2026-04-05T01:00:00+11:00",
                "2026-04-05T01:10:00+11:00",
                "2026-04-05T01:20:00+11:00",
                "2026-04-05T01:30:00+11:00",
                "2026-04-05T01:40:00+11:00",
                "2026-04-05T01:50:00+11:00",
                "2026-04-06T01:00:00+10:30",
            ],
        ),
        # Pacific/Apia skipped 30 December 2011 (from -10:00 straight to +14:00).
        (
            "daily noon, skipped day, Pacific/Apia: runs at the next midnight",
            "0 12 * * *",
            "Pacific/Apia",
            "2011-12-29T00:00:00-10:00",
            ["2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"],
        ),
        (
            "daily midnight, skipped day, Pacific/Apia: 30th and 31st are one run",
            "0 0 * * *",
            "Pacific/Apia",
            "2011-12-28T12:00:00-10:00",
            ["2011-12-29T00:00:00-10:00", "2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00"],
        ),
        (
            "UTC has no DST",
            "30 2 * * *",
            "UTC",
            "2026-03-29T00:00:00Z",
            ["2026-03-29T02:30:00+00:00", "2026-03-30T02:30:00+00:00"],
        ),
    ],
)
def test_dst(case: str, expression: str, zone: str, after: str, expected: list[str]) -> None:
    got = first(expression, zone, after, len(expected))
    assert got == expected, case
    timestamps = [at(text).timestamp() for text in got]
    assert timestamps == sorted(set(timestamps)), case


def test_instants_are_in_the_given_zone_and_lazy() -> None:
    zone = ZoneInfo("Europe/Berlin")
    every_minute = parse_cron("* * * * *", hash_key=KEY).instants_after(
        at("2026-01-01T00:00Z"), zone
    )
    many = list(itertools.islice(every_minute, 10_000))
    assert all(instant.tzinfo is zone for instant in many)
    assert many[-1] == at("2026-01-07T23:40:00+01:00")


# Time zones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "name", "key"),
    [
        ("no time zone is UTC", None, "UTC"),
        ("empty time zone is UTC", "", "UTC"),
        ("IANA name", "Europe/Berlin", "Europe/Berlin"),
        ("Etc name", "Etc/UTC", "Etc/UTC"),
    ],
)
def test_load_time_zone(case: str, name: str | None, key: str) -> None:
    assert load_time_zone(name).key == key, case


@pytest.mark.parametrize(
    ("case", "name", "message"),
    [
        ("unknown zone", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("a folder of the database", "Europe", "unknown time zone 'Europe'"),
        ("a path outside the database", "../etc/passwd", "unknown time zone '../etc/passwd'"),
        ("an absolute path", "/etc/localtime", "unknown time zone '/etc/localtime'"),
        ("wrong case", "europe/berlin", "unknown time zone 'europe/berlin'"),
        ("Local, as CronJob refuses it", "Local", "time zone 'Local' is not allowed"),
    ],
)
def test_load_time_zone_rejects(case: str, name: str, message: str) -> None:
    with pytest.raises(CronError, match=re.escape(message)):
        load_time_zone(name)


def test_default_time_zone_is_utc() -> None:
    got = next_fire_time(
        schedules("0 3 * * *"), at("2026-11-22T10:17:00+01:00"), load_time_zone(None)
    )
    assert got is not None
    assert got.isoformat() == "2026-11-23T03:00:00+00:00"


# next_fire_time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expressions", "zone", "after", "expected"),
    [
        (
            "earliest of two",
            ["0 12 * * *", "30 11 * * *"],
            "UTC",
            "2026-11-22T10:17:00Z",
            "2026-11-22T11:30:00+00:00",
        ),
        (
            "two schedules at one instant",
            ["0 12 * * *", "0 */6 * * *"],
            "UTC",
            "2026-11-22T10:17:00Z",
            "2026-11-22T12:00:00+00:00",
        ),
        (
            "three schedules, weekly one first",
            ["0 9 * * MON", "0 0 1 * *", "30 10 * * SUN"],
            "UTC",
            "2026-11-22T10:17:00Z",
            "2026-11-22T10:30:00+00:00",
        ),
        ("no schedules", [], "UTC", "2026-11-22T10:17:00Z", None),
        ("a schedule that never fires", ["0 0 30 2 *"], "UTC", "2026-11-22T10:17:00Z", None),
        (
            "one that never fires next to one that does",
            ["0 0 30 2 *", "@daily"],
            "UTC",
            "2026-11-22T10:17:00Z",
            "2026-11-23T00:00:00+00:00",
        ),
        (
            "result in the schedule's zone",
            ["0 9 * * *"],
            "America/New_York",
            "2026-11-22T10:17:00Z",
            "2026-11-22T09:00:00-05:00",
        ),
        (
            "after given in another zone",
            ["0 12 * * *"],
            "UTC",
            "2026-11-22T11:17:00+01:00",
            "2026-11-22T12:00:00+00:00",
        ),
        (
            "local midnight in Tokyo",
            ["0 0 * * *"],
            "Asia/Tokyo",
            "2026-11-22T10:17:00Z",
            "2026-11-23T00:00:00+09:00",
        ),
    ],
)
def test_next_fire_time(
    case: str, expressions: list[str], zone: str, after: str, expected: str | None
) -> None:
    got = next_fire_time(schedules(*expressions), at(after), ZoneInfo(zone))
    assert (None if got is None else got.isoformat()) == expected, case


# fire_times_between -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expressions", "zone", "start", "end", "limit", "expected", "truncated"),
    [
        (
            "start excluded, end included",
            ["0 * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T12:00:00Z",
            10,
            ["2026-11-22T11:00:00+00:00", "2026-11-22T12:00:00+00:00"],
            False,
        ),
        (
            "two schedules merged in order, a shared instant once",
            ["0 * * * *", "*/30 * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T12:00:00Z",
            10,
            [
                "2026-11-22T10:30:00+00:00",
                "2026-11-22T11:00:00+00:00",
                "2026-11-22T11:30:00+00:00",
                "2026-11-22T12:00:00+00:00",
            ],
            False,
        ),
        (
            "more than the limit: the latest ones, truncated",
            ["*/5 * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T11:00:00Z",
            3,
            ["2026-11-22T10:50:00+00:00", "2026-11-22T10:55:00+00:00", "2026-11-22T11:00:00+00:00"],
            True,
        ),
        (
            "exactly the limit: not truncated",
            ["*/20 * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T11:00:00Z",
            3,
            ["2026-11-22T10:20:00+00:00", "2026-11-22T10:40:00+00:00", "2026-11-22T11:00:00+00:00"],
            False,
        ),
        (
            "limit 0: nothing, truncated if something fell in the window",
            ["*/20 * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T11:00:00Z",
            0,
            [],
            True,
        ),
        (
            "a year of minutes, only the last two",
            ["* * * * *"],
            "UTC",
            "2025-11-22T10:00:00Z",
            "2026-11-22T10:17:30Z",
            2,
            ["2026-11-22T10:16:00+00:00", "2026-11-22T10:17:00+00:00"],
            True,
        ),
        (
            "empty window",
            ["* * * * *"],
            "UTC",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:00Z",
            5,
            [],
            False,
        ),
        (
            "end before start",
            ["* * * * *"],
            "UTC",
            "2026-11-22T11:00:00Z",
            "2026-11-22T10:00:00Z",
            5,
            [],
            False,
        ),
        (
            "never fires",
            ["0 0 30 2 *"],
            "UTC",
            "2020-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            5,
            [],
            False,
        ),
        (
            "no schedules",
            [],
            "UTC",
            "2020-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            5,
            [],
            False,
        ),
        (
            "spring forward, Europe/Berlin: the gap's runs are one",
            ["*/15 2 * * *"],
            "Europe/Berlin",
            "2026-03-29T00:00:00Z",
            "2026-03-29T02:00:00Z",
            10,
            ["2026-03-29T03:00:00+02:00"],
            False,
        ),
        (
            "fall back, Europe/Berlin: the second pass is skipped",
            ["*/30 * * * *"],
            "Europe/Berlin",
            "2026-10-24T23:45:00Z",
            "2026-10-25T02:15:00Z",
            10,
            ["2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00"],
            False,
        ),
        (
            "window ending in the second pass still holds the first pass, Europe/Berlin",
            ["*/10 2 * * *"],
            "Europe/Berlin",
            "2026-10-24T23:55:00Z",
            "2026-10-25T02:05:00+01:00",
            10,
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:10:00+02:00",
                "2026-10-25T02:20:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:40:00+02:00",
                "2026-10-25T02:50:00+02:00",
            ],
            False,
        ),
    ],
)
def test_fire_times_between(
    case: str,
    expressions: list[str],
    zone: str,
    start: str,
    end: str,
    limit: int,
    expected: list[str],
    truncated: bool,
) -> None:
    got = fire_times_between(
        schedules(*expressions), at(start), at(end), ZoneInfo(zone), limit=limit
    )
    assert isinstance(got, FireTimes)
    assert [instant.isoformat() for instant in got.times] == expected, case
    assert got.truncated is truncated, case


@pytest.mark.parametrize(
    ("case", "expressions", "zone", "start", "end"),
    [
        (
            "every 7 minutes over a day, Berlin fall-back",
            ["*/7 * * * *"],
            "Europe/Berlin",
            "2026-10-24T12:00Z",
            "2026-10-25T12:00Z",
        ),
        (
            "two schedules over a day, New York fall-back",
            ["*/20 1-2 * * *", "0 * * * *"],
            "America/New_York",
            "2026-10-31T12:00Z",
            "2026-11-01T12:00Z",
        ),
        (
            "every minute over the Berlin gap",
            ["* * * * *"],
            "Europe/Berlin",
            "2026-03-28T23:00Z",
            "2026-03-29T03:00Z",
        ),
        (
            "Lord Howe fall-back",
            ["*/5 1-2 * * *"],
            "Australia/Lord_Howe",
            "2026-04-04T12:00Z",
            "2026-04-05T12:00Z",
        ),
        (
            "Apia's skipped day",
            ["0 */3 * * *", "30 23 * * *"],
            "Pacific/Apia",
            "2011-12-28T00:00Z",
            "2012-01-02T00:00Z",
        ),
        (
            "OR semantics over a year",
            ["0 0 13 * FRI"],
            "UTC",
            "2026-01-01T00:00Z",
            "2027-01-01T00:00Z",
        ),
    ],
)
def test_fire_times_between_agrees_with_instants_after(
    case: str, expressions: list[str], zone: str, start: str, end: str
) -> None:
    tz = ZoneInfo(zone)
    forward = sorted(
        {
            instant.timestamp()
            for schedule in schedules(*expressions)
            for instant in itertools.takewhile(
                lambda t: t <= at(end), schedule.instants_after(at(start), tz)
            )
        }
    )
    window = fire_times_between(schedules(*expressions), at(start), at(end), tz, limit=100_000)
    assert [instant.timestamp() for instant in window.times] == forward, case
    assert not window.truncated, case
    assert forward, case


# never_fires ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expression", "from_", "expected"),
    [
        ("30 February", "0 0 30 2 *", "2026-11-22T10:17:00Z", True),
        ("31st of the 30-day months", "0 0 31 4,6,9,11 *", "2026-11-22T10:17:00Z", True),
        ("29 February", "0 0 29 2 *", "2026-11-22T10:17:00Z", False),
        ("29 February from 2096, across 2100", "0 0 29 2 *", "2096-03-01T00:00:00Z", False),
        ("the 31st", "0 0 31 * *", "2026-11-22T10:17:00Z", False),
        ("30 February or any Monday (OR)", "0 0 30 2 MON", "2026-11-22T10:17:00Z", False),
        ("every minute", "* * * * *", "2026-11-22T10:17:00Z", False),
    ],
)
def test_never_fires(case: str, expression: str, from_: str, expected: bool) -> None:
    schedule = parse_cron(expression, hash_key=KEY)
    assert never_fires(schedule, ZoneInfo("Europe/Berlin"), from_=at(from_)) is expected, case


# Values and errors ------------------------------------------------------------------


def test_schedules_compare_by_expression_and_normalized_form() -> None:
    assert parse_cron("@daily", hash_key=KEY) == CronSchedule("@daily", "0 0 * * *")
    assert parse_cron("@daily", hash_key=KEY) != parse_cron("0 0 * * *", hash_key=KEY)
    assert len({parse_cron("@daily", hash_key=KEY), CronSchedule("@daily", "0 0 * * *")}) == 1


def test_direct_construction_needs_the_canonical_form() -> None:
    with pytest.raises(ValueError, match="not in canonical form"):
        CronSchedule("0 0 * * MON", "0 0 * * MON")


NAIVE = datetime(2026, 11, 22, 10, 17)
AWARE = datetime(2026, 11, 22, 10, 17, tzinfo=UTC)
DAILY = parse_cron("@daily", hash_key=KEY)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("case", "call"),
    [
        ("instants_after", lambda: DAILY.instants_after(NAIVE, BERLIN)),
        ("next_fire_time", lambda: next_fire_time([DAILY], NAIVE, BERLIN)),
        (
            "fire_times_between start",
            lambda: fire_times_between([DAILY], NAIVE, AWARE, BERLIN, limit=1),
        ),
        (
            "fire_times_between end",
            lambda: fire_times_between([DAILY], AWARE, NAIVE, BERLIN, limit=1),
        ),
        ("never_fires", lambda: never_fires(DAILY, BERLIN, from_=NAIVE)),
    ],
)
def test_naive_datetimes_are_refused(case: str, call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        call()


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must not be negative"):
        fire_times_between([DAILY], AWARE - timedelta(days=1), AWARE, BERLIN, limit=-1)
