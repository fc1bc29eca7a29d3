"""The planner's decisions (rerunnable.core.planner), table by table, as a user sees them.

Every case plans one pass over a RerunnableJob, its Executions and their Jobs at a
fixed instant (NOW = 2026-11-22T10:17:30Z, a Sunday) and checks the returned Plan:
what is created, started, interrupted, deleted and updated, which events are
posted, the status written and when to look again. Expected names and times are
worked out by hand: 2026-11-22T00:00Z is minute 29,921,760 since the Unix epoch
(so 10:17Z is 29,922,377), and in November Europe/Berlin is UTC+1.

Inputs are built as API objects and parsed by the real parsers (see builders.py).
"""

import dataclasses
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.names import ANNOTATION_CANCEL
from rerunnable.api.v1alpha1 import (
    Condition,
    ExecutionPhase,
    ExecutionStatus,
    RerunnableJobStatus,
    Trigger,
    to_wire,
)
from rerunnable.core.cron import parse_cron
from rerunnable.core.planner import MAX_MISSED_RUNS, RECENT_EXECUTIONS, SKIP_GRACE, Plan, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.core.builders import NOW, RJOB, at, execution, job, jobs, rjob

MIDNIGHT_MINUTE = 29_921_760  # 2026-11-22T00:00:00Z in minutes since the Unix epoch

SCHEDULE = Trigger.SCHEDULE
BACKFILL = Trigger.BACKFILL
MANUAL = Trigger.MANUAL


def slot(moment: datetime, rjob_name: str = RJOB) -> str:
    """The Execution name of a scheduled run: `<rjob>-<minutes since the epoch>`."""
    minutes = int(moment.timestamp()) // 60
    return f"{rjob_name}-{minutes}"


def manual(token: str, rjob_name: str = RJOB) -> str:
    """The Execution name of a manual run: `<rjob>-m<first 8 hex of sha256(token)>`."""
    return f"{rjob_name}-m{hashlib.sha256(token.encode()).hexdigest()[:8]}"


def run(
    r: RerunnableJobState,
    executions: Iterable[ExecutionState] = (),
    world: dict[str, JobState] | None = None,
    now: datetime = NOW,
) -> Plan:
    return plan(r, list(executions), world or {}, now)


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def utc(moment: datetime | None) -> datetime | None:
    """In UTC: an instant in a repeated (fall-back) hour never equals one in another zone."""
    return moment.astimezone(UTC) if moment is not None else None


def created(p: Plan) -> list[tuple[str, Trigger, datetime | None]]:
    return [(c.name, c.trigger, utc(c.scheduled_time)) for c in p.creates]


def reasons(p: Plan) -> list[str]:
    return [e.reason for e in p.events]


def condition(status: RerunnableJobStatus, type_: str) -> Condition:
    (found,) = [c for c in status.conditions if c.type == type_]
    return found


def ready_condition(status: str, reason: str, since: datetime) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": reason, "lastTransitionTime": since}


def suspended_condition(status: str, reason: str, since: datetime) -> dict[str, Any]:
    return {"type": "Suspended", "status": status, "reason": reason, "lastTransitionTime": since}


def running(name: str, *, created: datetime | None = None) -> tuple[ExecutionState, JobState]:
    """An Execution whose Job runs (created at 09:00:01 unless said), and that Job."""
    created = created or at("09:00:01")
    return (
        execution(
            name,
            phase="Running",
            job_name=name,
            created=created,
            start_time=created + timedelta(seconds=1),
            progress={"succeeded": 0, "failed": 0, "active": 1, "total": 1},
        ),
        job(name, start_time=created + timedelta(seconds=1), active=1),
    )


def test_hand_worked_slot_name() -> None:
    # Anchors the helper above to the worked-out number in the module docstring.
    assert slot(at("10:17")) == f"backup-{MIDNIGHT_MINUTE + 10 * 60 + 17}" == "backup-29922377"


# 1. Scheduling --------------------------------------------------------------------------------

EVERY_MINUTE = "* * * * *"
HOURLY = "0 * * * *"
# The 10:17 run, created and finished before the status write that records it was lost.
DONE_10_17 = execution(
    "backup-29922377",
    phase="Succeeded",
    job_name="backup-29922377",
    created=at("10:17:01"),
    scheduled_time=at("10:17"),
    completion_time=at("10:17:20"),
)

SCHEDULING = [
    (
        "never ran, is time, Allow",
        rjob(schedule=EVERY_MINUTE, created=at("10:16:10")),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:18"),
    ),
    (
        "never ran, is time, Forbid",
        rjob(schedule=EVERY_MINUTE, policy="Forbid", created=at("10:16:10")),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:18"),
    ),
    (
        "never ran, is time, Replace",
        rjob(schedule=EVERY_MINUTE, policy="Replace", created=at("10:16:10")),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:18"),
    ),
    (
        "never ran, is time, Queue",
        rjob(schedule=EVERY_MINUTE, policy="Queue", created=at("10:16:10")),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:18"),
    ),
    (
        "never ran, not time yet",
        rjob(schedule=HOURLY, created=at("10:16:10")),
        [],
        NOW,
        [],
        None,
        at("11:00"),
    ),
    (
        "never ran, created after the slot",
        rjob(schedule="17 10 * * *", created=at("10:17:10")),
        [],
        NOW,
        [],
        None,
        at("10:17", day=23),
    ),
    (
        "ran, this slot handled already",
        rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:17")}),
        [],
        NOW,
        [],
        at("10:17"),
        at("10:18"),
    ),
    (
        "ran, next slot is due",
        rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:16")}),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:18"),
    ),
    (
        "ran, exactly at the slot",
        rjob(schedule=HOURLY, status={"lastScheduleTime": at("10:00")}),
        [],
        at("11:00"),
        [(slot(at("11:00")), SCHEDULE, at("11:00"))],
        at("11:00"),
        at("12:00"),
    ),
    (
        "several schedules, one of them is due",
        rjob(schedules=["*/5 * * * *", "17 * * * *"], status={"lastScheduleTime": at("10:15")}),
        [],
        NOW,
        [("backup-29922377", SCHEDULE, at("10:17"))],
        at("10:17"),
        at("10:20"),
    ),
    (
        "several schedules firing at one instant run once",
        rjob(schedules=["*/5 * * * *", "15 * * * *"], status={"lastScheduleTime": at("10:14")}),
        [],
        NOW,
        [(slot(at("10:15")), SCHEDULE, at("10:15"))],
        at("10:15"),
        at("10:20"),
    ),
    (
        "several schedules, next is the earliest of them",
        rjob(schedules=["0 3 * * *", "30 10 * * *"], status={"lastScheduleTime": at("03:00")}),
        [],
        NOW,
        [],
        at("03:00"),
        at("10:30"),
    ),
    (
        "daily 03:00 Europe/Berlin, is time (02:00Z)",
        rjob(
            schedule="0 3 * * *",
            time_zone="Europe/Berlin",
            status={"lastScheduleTime": at("02:00", day=21)},
        ),
        [],
        at("02:00:20"),
        [(f"backup-{MIDNIGHT_MINUTE + 120}", SCHEDULE, at("02:00"))],
        at("02:00"),
        at("02:00", day=23),
    ),
    (
        "daily 03:00 Europe/Berlin, 03:00Z is not a slot",
        rjob(
            schedule="0 3 * * *",
            time_zone="Europe/Berlin",
            status={"lastScheduleTime": at("02:00")},
        ),
        [],
        at("03:00:20"),
        [],
        at("02:00"),
        at("02:00", day=23),
    ),
    (
        "slot's Execution exists already (status write lost), Allow: exactly once",
        rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:16")}),
        [DONE_10_17],
        NOW,
        [],
        at("10:17"),
        at("10:18"),
    ),
    (
        "slot's Execution exists already, Forbid: not skipped either",
        rjob(schedule=EVERY_MINUTE, policy="Forbid", status={"lastScheduleTime": at("10:16")}),
        [DONE_10_17],
        NOW,
        [],
        at("10:17"),
        at("10:18"),
    ),
]


@pytest.mark.parametrize(
    ("case", "r", "executions", "now", "want_creates", "want_last", "want_next"),
    cases(SCHEDULING),
)
def test_scheduling(
    case: str,
    r: RerunnableJobState,
    executions: list[ExecutionState],
    now: datetime,
    want_creates: list[tuple[str, Trigger, datetime]],
    want_last: datetime | None,
    want_next: datetime,
) -> None:
    p = run(r, executions, now=now)
    assert created(p) == want_creates, case
    assert all(not c.queued and c.token is None for c in p.creates), case
    assert p.status.last_schedule_time == want_last, case
    assert p.status.next_schedule_time == want_next, case
    assert p.wake_at == want_next, case
    assert p.starts == (), case
    assert p.interrupts == (), case
    assert p.deletes == (), case
    assert reasons(p) == ["RunStarted"] * len(want_creates), case
    assert p.status.last_skipped is None, case
    assert condition(p.status, "Ready").status == "True", case
    assert [e.name for e in p.status.recent_executions[: len(want_creates)]] == [
        name for name, _, _ in reversed(want_creates)
    ], case


# Europe/Berlin, 2026: spring forward on 29 March (02:00 CET -> 03:00 CEST, at 01:00Z),
# fall back on 25 October (03:00 CEST -> 02:00 CET, at 01:00Z).
DST = [
    (
        "skipped local time runs at the end of the gap",
        {"lastScheduleTime": at("2026-03-28T01:30:00Z")},  # 02:30 CET on the 28th
        at("2026-03-29T01:00:20Z"),
        [at("2026-03-29T01:00:00Z")],  # 03:00 CEST
        at("2026-03-30T00:30:00Z"),  # 02:30 CEST
    ),
    (
        "repeated local time runs once: the second 02:30 is not a slot",
        {"lastScheduleTime": at("2026-10-25T00:30:00Z")},  # the first 02:30, CEST
        at("2026-10-25T01:30:20Z"),  # the second 02:30, CET
        [],
        at("2026-10-26T01:30:00Z"),
    ),
    (
        "repeated local time, first pass runs",
        {"lastScheduleTime": at("2026-10-24T00:30:00Z")},
        at("2026-10-25T00:30:20Z"),
        [at("2026-10-25T00:30:00Z")],
        at("2026-10-26T01:30:00Z"),
    ),
]


@pytest.mark.parametrize(("case", "status", "now", "want", "want_next"), cases(DST))
def test_dst(
    case: str,
    status: dict[str, Any],
    now: datetime,
    want: list[datetime],
    want_next: datetime,
) -> None:
    r = rjob(schedule="30 2 * * *", time_zone="Europe/Berlin", status=status)
    p = run(r, now=now)
    assert created(p) == [(slot(t), SCHEDULE, t) for t in want], case
    assert utc(p.status.next_schedule_time) == want_next, case
    assert "MissedSchedule" not in reasons(p), case


def test_steady_state_before_a_fall_back() -> None:
    def berlin(status: dict[str, Any]) -> RerunnableJobState:
        return rjob(schedule="30 2 * * *", time_zone="Europe/Berlin", status=status)

    p1 = run(
        berlin({"lastScheduleTime": at("2026-10-24T00:30:00Z")}), now=at("2026-10-24T12:00:00Z")
    )
    assert utc(p1.status.next_schedule_time) == at("2026-10-25T00:30:00Z")
    stored = berlin(to_wire(p1.status))
    p2 = run(stored, now=at("2026-10-24T12:00:05Z"))
    assert p2.status == stored.status


def test_jenkins_h_is_spread_by_namespace_and_name() -> None:
    expected_minute = int(parse_cron("H * * * *", hash_key="default/backup").normalized.split()[0])
    other_minute = int(parse_cron("H * * * *", hash_key="default/other").normalized.split()[0])
    assert expected_minute != other_minute  # otherwise this test proves nothing

    for name, minute in (("backup", expected_minute), ("other", other_minute)):
        p = run(rjob(name=name, schedule="H * * * *", created=at("10:17")))
        nxt = p.status.next_schedule_time
        assert nxt is not None
        assert nxt.minute == minute
        assert at("10:17") < nxt <= at("11:17")


# 2. Missed runs ---------------------------------------------------------------------------------

FIVE_HOURS_MISSED = {"lastScheduleTime": at("05:00")}  # hourly: 06:00 .. 10:00 are due

MISSED = [
    (
        "missed 5 hourly, Latest: the most recent only",
        rjob(schedule=HOURLY, missed="Latest", status=FIVE_HOURS_MISSED),
        NOW,
        [(at("10:00"), SCHEDULE)],
        "4 scheduled run(s) missed since 2026-11-22T06:00:00Z (missedRunPolicy Latest)",
    ),
    (
        "missed 5 hourly, Latest is the default",
        rjob(schedule=HOURLY, status=FIVE_HOURS_MISSED),
        NOW,
        [(at("10:00"), SCHEDULE)],
        "4 scheduled run(s) missed since 2026-11-22T06:00:00Z (missedRunPolicy Latest)",
    ),
    (
        "missed 5 hourly, All: every slot, older ones as Backfill",
        rjob(schedule=HOURLY, missed="All", status=FIVE_HOURS_MISSED),
        NOW,
        [
            (at("06:00"), BACKFILL),
            (at("07:00"), BACKFILL),
            (at("08:00"), BACKFILL),
            (at("09:00"), BACKFILL),
            (at("10:00"), SCHEDULE),
        ],
        None,
    ),
    (
        "missed 5 hourly, Skip, latest slot older than the grace",
        rjob(schedule=HOURLY, missed="Skip", status=FIVE_HOURS_MISSED),
        NOW,
        [],
        "5 scheduled run(s) missed since 2026-11-22T06:00:00Z (missedRunPolicy Skip)",
    ),
    (
        "missed 5 hourly, Skip, latest slot just within the grace",
        rjob(schedule=HOURLY, missed="Skip", status=FIVE_HOURS_MISSED),
        at("10:00") + SKIP_GRACE,
        [(at("10:00"), SCHEDULE)],
        "4 scheduled run(s) missed since 2026-11-22T06:00:00Z (missedRunPolicy Skip)",
    ),
    (
        "missed 5 hourly, Skip, latest slot just past the grace",
        rjob(schedule=HOURLY, missed="Skip", status=FIVE_HOURS_MISSED),
        at("10:00") + SKIP_GRACE + timedelta(seconds=1),
        [],
        "5 scheduled run(s) missed since 2026-11-22T06:00:00Z (missedRunPolicy Skip)",
    ),
    (
        "on time, Skip runs the slot",
        rjob(schedule=HOURLY, missed="Skip", status={"lastScheduleTime": at("09:00")}),
        at("10:00:05"),
        [(at("10:00"), SCHEDULE)],
        None,
    ),
    (
        "Skip, startingDeadlineSeconds shorter than the grace wins",
        rjob(schedule=HOURLY, missed="Skip", deadline=30, status={"lastScheduleTime": at("09:00")}),
        at("10:00:45"),
        [],
        "1 scheduled run(s) missed since 2026-11-22T10:00:00Z"
        " (missedRunPolicy Skip, startingDeadlineSeconds 30)",
    ),
    (
        "Latest, startingDeadlineSeconds 3600 keeps the latest slot",
        rjob(schedule=HOURLY, deadline=3600, status=FIVE_HOURS_MISSED),
        NOW,
        [(at("10:00"), SCHEDULE)],
        "4 scheduled run(s) missed since 2026-11-22T06:00:00Z"
        " (missedRunPolicy Latest, startingDeadlineSeconds 3600)",
    ),
    (
        "Latest, latest slot out of the startingDeadlineSeconds window",
        rjob(schedule=HOURLY, deadline=600, status=FIVE_HOURS_MISSED),
        NOW,
        [],
        "5 scheduled run(s) missed since 2026-11-22T06:00:00Z"
        " (missedRunPolicy Latest, startingDeadlineSeconds 600)",
    ),
    (
        "Latest, one slot, late beyond startingDeadlineSeconds",
        rjob(schedule=HOURLY, deadline=60, status={"lastScheduleTime": at("09:00")}),
        NOW,
        [],
        "1 scheduled run(s) missed since 2026-11-22T10:00:00Z"
        " (missedRunPolicy Latest, startingDeadlineSeconds 60)",
    ),
    (
        "All, startingDeadlineSeconds 7200 keeps the slots inside the window",
        rjob(schedule=HOURLY, missed="All", deadline=7200, status=FIVE_HOURS_MISSED),
        NOW,
        [(at("09:00"), BACKFILL), (at("10:00"), SCHEDULE)],
        "3 scheduled run(s) missed since 2026-11-22T06:00:00Z"
        " (missedRunPolicy All, startingDeadlineSeconds 7200)",
    ),
    (
        "All, every slot out of the startingDeadlineSeconds window",
        rjob(schedule=HOURLY, missed="All", deadline=600, status=FIVE_HOURS_MISSED),
        NOW,
        [],
        "5 scheduled run(s) missed since 2026-11-22T06:00:00Z"
        " (missedRunPolicy All, startingDeadlineSeconds 600)",
    ),
    (
        "every minute for 3 hours, Latest: the most recent only",
        rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("07:17")}),
        NOW,
        [(at("10:17"), SCHEDULE)],
        "more than",
    ),
]


@pytest.mark.parametrize(("case", "r", "now", "want", "want_missed"), cases(MISSED))
def test_missed_runs(
    case: str,
    r: RerunnableJobState,
    now: datetime,
    want: list[tuple[datetime, Trigger]],
    want_missed: str | None,
) -> None:
    p = run(r, now=now)
    assert created(p) == [(slot(t), trigger, t) for t, trigger in want], case
    # Every slot up to now is handled, run or not.
    want_last = at("10:17") if "every minute" in case else at("10:00")
    assert p.status.last_schedule_time == want_last, case
    missed_events = [e for e in p.events if e.reason == "MissedSchedule"]
    if want_missed is None:
        assert missed_events == [], case
        assert p.status.last_skipped is None, case
        assert p.missed == 0, case
    else:
        (event,) = missed_events
        # The count the shell adds to rerunnable_schedules_missed_total: what the event says
        # (past MAX_MISSED_RUNS slots, a lower bound: those looked at, and one).
        said = want_missed.split()[0]
        assert p.missed == (int(said) if said.isdigit() else MAX_MISSED_RUNS), case
        assert event.type == "Warning", case
        assert want_missed in event.message, case
        skipped = p.status.last_skipped
        assert skipped is not None, case
        assert skipped.reason == "MissedSchedule", case
        assert skipped.trigger == SCHEDULE, case
        assert want_missed in skipped.message, case
        assert skipped.time == now, case
    assert reasons(p).count("RunStarted") == len(want), case


def test_missed_all_is_capped_at_the_latest_slots() -> None:
    # Every minute, last handled at 07:00: 197 slots (07:01 .. 10:17) are due.
    r = rjob(schedule=EVERY_MINUTE, missed="All", status={"lastScheduleTime": at("07:00")})
    p = run(r)
    assert len(p.creates) == MAX_MISSED_RUNS == 100
    times = [c.scheduled_time for c in p.creates]
    assert times == [at("10:17") - timedelta(minutes=n) for n in reversed(range(100))]
    assert times[0] == at("08:38")
    assert [c.trigger for c in p.creates] == [BACKFILL] * 99 + [SCHEDULE]
    assert p.status.last_schedule_time == at("10:17")
    (missed,) = [e for e in p.events if e.reason == "MissedSchedule"]
    assert missed.type == "Warning"
    assert "more than" in missed.message
    assert p.status.last_skipped is not None
    assert p.status.last_skipped.reason == "MissedSchedule"


def test_missed_all_cap_reports_the_dropped_slots() -> None:
    r = rjob(schedule=EVERY_MINUTE, missed="All", status={"lastScheduleTime": at("07:00")})
    p = run(r)
    oldest_run = min(c.scheduled_time for c in p.creates if c.scheduled_time is not None)
    skipped = p.status.last_skipped
    assert skipped is not None
    assert skipped.scheduled_time is not None
    assert skipped.scheduled_time < oldest_run  # a slot that was dropped, not one that ran
    (missed,) = [e for e in p.events if e.reason == "MissedSchedule"]
    assert "more than 0 " not in missed.message


# 3. Suspension ----------------------------------------------------------------------------------


def test_suspend_true_starts_no_scheduled_run() -> None:
    r = rjob(schedule=EVERY_MINUTE, suspend=True, status={"lastScheduleTime": at("10:16")})
    p = run(r)
    assert p.creates == ()
    suspended = condition(p.status, "Suspended")
    assert (suspended.status, suspended.reason) == ("True", "Suspended")
    assert condition(p.status, "Ready").status == "True"
    assert p.status.next_schedule_time is None
    assert p.wake_at is None
    assert p.status.last_schedule_time == at("10:16")  # the slots are not handled as missed
    assert "MissedSchedule" not in reasons(p)


@pytest.mark.parametrize(
    "suspension",
    [
        pytest.param({"suspend": True}, id="suspend true"),
        pytest.param({"suspend_until": at("11:30")}, id="suspendUntil ahead"),
    ],
)
def test_a_slot_run_by_a_pass_that_stopped_before_its_status_is_handled_while_suspended(
    suspension: dict[str, Any],
) -> None:
    # The 10:17 run was made, then the pass stopped (a crash, or its status left to a later
    # pass), then the job was suspended: the slot is handled, and the status says so.
    made = execution(slot(at("10:17")), scheduled_time=at("10:17"), created=at("10:17:01"))
    r = rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:16")}, **suspension)
    p = run(r, [made])
    assert p.creates == ()
    assert p.status.last_schedule_time == at("10:17")
    # A run of another trigger moves nothing: a backfill, or a manual run.
    older = rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:16")}, **suspension)
    backfilled = execution(
        slot(at("10:17")), trigger="Backfill", scheduled_time=at("10:17"), created=at("10:17:01")
    )
    assert run(older, [backfilled]).status.last_schedule_time == at("10:16")


def test_suspend_true_wins_over_suspend_until() -> None:
    r = rjob(schedule=HOURLY, suspend=True, suspend_until=at("11:30"))
    p = run(r)
    assert p.creates == ()
    assert condition(p.status, "Suspended").reason == "Suspended"
    assert p.status.next_schedule_time is None


def test_suspend_until_in_the_future() -> None:
    r = rjob(schedule=HOURLY, suspend_until=at("11:30"), status={"lastScheduleTime": at("09:00")})
    p = run(r)
    assert p.creates == ()
    suspended = condition(p.status, "Suspended")
    assert (suspended.status, suspended.reason) == ("True", "SuspendedUntil")
    assert "2026-11-22T11:30:00Z" in suspended.message
    assert p.status.next_schedule_time == at("12:00")  # first slot at or after 11:30
    assert p.wake_at is not None
    assert p.wake_at <= at("11:30")
    assert p.status.last_schedule_time == at("09:00")


def test_suspend_until_on_a_slot_next_schedule_is_that_slot() -> None:
    r = rjob(schedule=HOURLY, suspend_until=at("12:00"), status={"lastScheduleTime": at("10:00")})
    p = run(r)
    assert p.status.next_schedule_time == at("12:00")


def test_suspend_until_on_a_slot_runs_that_slot_on_resume() -> None:
    r = rjob(
        schedule=HOURLY,
        suspend_until=at("12:00"),
        status={
            "lastScheduleTime": at("10:00"),
            "conditions": [suspended_condition("True", "SuspendedUntil", at("10:05"))],
        },
    )
    p = run(r, now=at("12:00:05"))
    assert created(p) == [(slot(at("12:00")), SCHEDULE, at("12:00"))]


def test_resume_after_suspend_true_does_not_run_the_slots_it_covered() -> None:
    r = rjob(
        schedule=HOURLY,
        status={
            "lastScheduleTime": at("08:00"),
            "conditions": [suspended_condition("True", "Suspended", at("08:30"))],
        },
    )
    p = run(r)
    assert p.creates == ()
    assert "MissedSchedule" not in reasons(p)
    assert p.status.last_skipped is None
    assert p.status.last_schedule_time == at("10:00")
    suspended = condition(p.status, "Suspended")
    assert (suspended.status, suspended.reason) == ("False", "NotSuspended")
    assert suspended.last_transition_time == NOW
    assert p.status.next_schedule_time == at("11:00")

    # The next pass, over the status just written: the slot after the suspension runs.
    again = rjob(schedule=HOURLY, status=to_wire(p.status))
    p2 = run(again, now=at("11:00:10"))
    assert created(p2) == [(slot(at("11:00")), SCHEDULE, at("11:00"))]


def test_resume_after_suspend_until_runs_the_slot_after_it() -> None:
    r = rjob(
        schedule="*/5 * * * *",
        suspend_until=at("10:12"),
        status={
            "lastScheduleTime": at("09:00"),
            "conditions": [suspended_condition("True", "SuspendedUntil", at("09:02"))],
        },
    )
    p = run(r)  # 10:17:30: 09:05 .. 10:10 were suspended, 10:15 is due
    assert created(p) == [(slot(at("10:15")), SCHEDULE, at("10:15"))]
    assert "MissedSchedule" not in reasons(p)
    assert p.status.last_schedule_time == at("10:15")
    assert condition(p.status, "Suspended").status == "False"


def test_suspend_until_passed_unseen_still_covers_its_slots() -> None:
    # The user paused until 10:05 to skip the 10:00 run while the operator was down.
    r = rjob(schedule=HOURLY, suspend_until=at("10:05"), status={"lastScheduleTime": at("09:00")})
    p = run(r)
    assert p.creates == ()


def test_manual_run_is_not_suspended() -> None:
    r = rjob(schedule=HOURLY, suspend=True, token="release-42")
    p = run(r)
    assert created(p) == [(manual("release-42"), MANUAL, None)]
    assert p.status.last_run_token == "release-42"


# 4. Manual runs ----------------------------------------------------------------------------------

MANUAL_RUNS = [
    (
        "new token, manual only",
        rjob(token="release-42"),
        [],
        [("backup-m717e81e2", MANUAL, None)],
        ["RunStarted"],
    ),
    (
        "new token next to an older one",
        rjob(token="release-42", status={"lastRunToken": "release-41"}),
        [],
        [("backup-m717e81e2", MANUAL, None)],
        ["RunStarted"],
    ),
    (
        "same token as lastRunToken",
        rjob(token="release-42", status={"lastRunToken": "release-42"}),
        [],
        [],
        [],
    ),
    (
        "token whose Execution exists already (status write lost)",
        rjob(token="release-42", status={"lastRunToken": "release-41"}),
        [
            execution(
                "backup-m717e81e2",
                trigger="Manual",
                token="release-42",
                phase="Succeeded",
                job_name="backup-m717e81e2",
            )
        ],
        [],
        [],
    ),
    (
        "new token and a due slot, Allow: both run",
        rjob(schedule=EVERY_MINUTE, token="t1", status={"lastScheduleTime": at("10:16")}),
        [],
        [(slot(at("10:17")), SCHEDULE, at("10:17")), (manual("t1"), MANUAL, None)],
        ["RunStarted", "RunStarted"],
    ),
]


@pytest.mark.parametrize(("case", "r", "executions", "want", "want_events"), cases(MANUAL_RUNS))
def test_manual_runs(
    case: str,
    r: RerunnableJobState,
    executions: list[ExecutionState],
    want: list[tuple[str, Trigger, datetime | None]],
    want_events: list[str],
) -> None:
    p = run(r, executions)
    assert created(p) == want, case
    manual_creates = [c for c in p.creates if c.trigger == MANUAL]
    assert [c.token for c in manual_creates] == [r.run_token] * len(manual_creates), case
    assert p.status.last_run_token == r.run_token, case
    assert reasons(p) == want_events, case


def test_manual_only_status() -> None:
    p = run(rjob(token="release-42"))
    assert p.status.schedule_text == "(manual only)"
    assert p.status.next_schedule_time is None
    assert p.wake_at is None
    assert p.status.last_schedule_time is None
    assert p.status.active == ["backup-m717e81e2"]


BY, FOR = "rerunnable.dev/requested-by", "rerunnable.dev/requested-run"

REQUESTERS = [
    ("stamped for this token", {BY: "alice", FOR: "release-42"}, "alice"),
    ("stamp left from an earlier token", {BY: "alice", FOR: "release-41"}, None),
    ("requester without the token it was for", {BY: "alice"}, None),
    ("no stamp (webhook down)", {}, None),
]


@pytest.mark.parametrize(
    ("case", "annotations", "want"), REQUESTERS, ids=[c[0] for c in REQUESTERS]
)
def test_manual_run_records_who_requested_it(
    case: str, annotations: dict[str, str], want: str | None
) -> None:
    p = run(rjob(token="release-42", annotations=annotations))
    [new] = p.creates
    assert new.requested_by == want, case
    started = [e.message for e in p.events if e.reason == "RunStarted"]
    by = f" requested by {want}" if want else ""
    assert started == [f"Started Execution {new.name}: manual run 'release-42'{by}"], case


def test_a_queued_manual_run_keeps_its_requester() -> None:
    r = rjob(policy="Queue", token=TOKEN, annotations={BY: "alice", FOR: TOKEN})
    p = run(r, [ACTIVE], jobs(ACTIVE_JOB))
    [new] = p.creates
    assert (new.queued, new.requested_by) == (True, "alice")


def test_a_scheduled_run_has_no_requester() -> None:
    r = rjob(schedule=EVERY_MINUTE, annotations={BY: "alice", FOR: "t1"}, status=DUE)
    p = run(r)
    assert [c.requested_by for c in p.creates] == [None]


def test_no_token_no_run() -> None:
    p = run(rjob())
    assert p.creates == ()
    assert p.status.last_run_token is None
    assert p.events == ()


# 5. Concurrency policies ------------------------------------------------------------------------

ACTIVE, ACTIVE_JOB = running("backup-29922300")  # the 09:00 run, still going
QUEUED = execution("backup-mqueued1", trigger="Manual", created=at("09:30"), queued=True)
LEFTOVER = execution("backup-mleftove", trigger="Manual", created=at("09:30"))  # no Job: crash
DONE_JOB = job("backup-29922300", start_time=at("09:00:02"), complete=True, finished_at=at("10:01"))
TOKEN = "release-42"
NEW = manual(TOKEN)
DUE = {"lastScheduleTime": at("10:16")}  # every minute: 10:17 is due

CONCURRENCY = [
    (
        "Allow, active run, manual token: runs alongside",
        rjob(policy="Allow", token=TOKEN),
        [ACTIVE],
        [ACTIVE_JOB],
        [(NEW, False)],
        [],
        [],
        None,
    ),
    (
        "Forbid, active run, manual token: skipped",
        rjob(policy="Forbid", token=TOKEN),
        [ACTIVE],
        [ACTIVE_JOB],
        [],
        [],
        [],
        "ConcurrencyForbidden",
    ),
    (
        "Forbid, active run, slot due: skipped",
        rjob(schedule=EVERY_MINUTE, policy="Forbid", status=DUE),
        [ACTIVE],
        [ACTIVE_JOB],
        [],
        [],
        [],
        "ConcurrencyForbidden",
    ),
    (
        "Forbid, no active run: runs",
        rjob(policy="Forbid", token=TOKEN),
        [],
        [],
        [(NEW, False)],
        [],
        [],
        None,
    ),
    (
        "Forbid, the active run's Job completed in this pass: runs",
        rjob(policy="Forbid", token=TOKEN),
        [ACTIVE],
        [DONE_JOB],
        [(NEW, False)],
        [],
        [],
        None,
    ),
    (
        "Forbid, slot and token due together, nothing active: the first runs",
        rjob(schedule=EVERY_MINUTE, policy="Forbid", token=TOKEN, status=DUE),
        [],
        [],
        [(slot(at("10:17")), False)],
        [],
        [],
        "ConcurrencyForbidden",
    ),
    (
        "Forbid, Execution without a Job (crash leftover), nothing running: started",
        rjob(policy="Forbid"),
        [LEFTOVER],
        [],
        [],
        [LEFTOVER.name],
        [],
        None,
    ),
    (
        "Forbid, crash leftover and a running run: waits",
        rjob(policy="Forbid"),
        [ACTIVE, LEFTOVER],
        [ACTIVE_JOB],
        [],
        [],
        [],
        None,
    ),
    (
        "Allow, crash leftover next to a running run: started",
        rjob(policy="Allow"),
        [ACTIVE, LEFTOVER],
        [ACTIVE_JOB],
        [],
        [LEFTOVER.name],
        [],
        None,
    ),
    (
        "Replace, active run, manual token: interrupts it and runs",
        rjob(policy="Replace", token=TOKEN),
        [ACTIVE],
        [ACTIVE_JOB],
        [(NEW, False)],
        [],
        [ACTIVE.name],
        None,
    ),
    (
        "Replace, active run, slot due: interrupts it and runs",
        rjob(schedule=EVERY_MINUTE, policy="Replace", status=DUE),
        [ACTIVE],
        [ACTIVE_JOB],
        [(slot(at("10:17")), False)],
        [],
        [ACTIVE.name],
        None,
    ),
    (
        "Replace, no active run: runs",
        rjob(policy="Replace", token=TOKEN),
        [],
        [],
        [(NEW, False)],
        [],
        [],
        None,
    ),
    (
        "Replace, slot and token due together: the token supersedes the slot",
        rjob(schedule=EVERY_MINUTE, policy="Replace", token=TOKEN, status=DUE),
        [],
        [],
        [(NEW, False)],
        [],
        [],
        "Superseded",
    ),
    (
        "Queue, active run, nothing queued: queued",
        rjob(policy="Queue", token=TOKEN),
        [ACTIVE],
        [ACTIVE_JOB],
        [(NEW, True)],
        [],
        [],
        None,
    ),
    (
        "Queue, active run and one queued: QueueFull",
        rjob(policy="Queue", token=TOKEN),
        [ACTIVE, QUEUED],
        [ACTIVE_JOB],
        [],
        [],
        [],
        "QueueFull",
    ),
    (
        "Queue, nothing running and one queued: starts it",
        rjob(policy="Queue"),
        [QUEUED],
        [],
        [],
        [QUEUED.name],
        [],
        None,
    ),
    (
        "Queue, one running and one queued, nothing due: waits",
        rjob(policy="Queue"),
        [ACTIVE, QUEUED],
        [ACTIVE_JOB],
        [],
        [],
        [],
        None,
    ),
    (
        "Queue, nothing active, slot due: runs at once",
        rjob(schedule=EVERY_MINUTE, policy="Queue", status=DUE),
        [],
        [],
        [(slot(at("10:17")), False)],
        [],
        [],
        None,
    ),
    (
        "Queue, slot and token due together, nothing active: one runs, one queued",
        rjob(schedule=EVERY_MINUTE, policy="Queue", token=TOKEN, status=DUE),
        [],
        [],
        [(slot(at("10:17")), False), (NEW, True)],
        [],
        [],
        None,
    ),
]


@pytest.mark.parametrize(
    (
        "case",
        "r",
        "executions",
        "world",
        "want_creates",
        "want_starts",
        "want_interrupts",
        "want_skip",
    ),
    cases(CONCURRENCY),
)
def test_concurrency_policy(
    case: str,
    r: RerunnableJobState,
    executions: list[ExecutionState],
    world: list[JobState],
    want_creates: list[tuple[str, bool]],
    want_starts: list[str],
    want_interrupts: list[str],
    want_skip: str | None,
) -> None:
    p = run(r, executions, jobs(*world))
    assert [(c.name, c.queued) for c in p.creates] == want_creates, case
    assert list(p.starts) == want_starts, case
    assert [i.execution for i in p.interrupts] == want_interrupts, case
    if want_skip is None:
        assert p.status.last_skipped is None, case
        assert "RunSkipped" not in reasons(p), case
    else:
        assert p.status.last_skipped is not None, case
        assert p.status.last_skipped.reason == want_skip, case
        assert ("Warning", "RunSkipped") in [(e.type, e.reason) for e in p.events], case
    if r.run_token is not None:
        assert p.status.last_run_token == r.run_token, case  # handled, run or skipped
    if r.spec is not None and r.spec.schedule is not None:
        assert p.status.last_schedule_time == at("10:17"), case  # handled, run or skipped


def test_forbid_skip_is_reported() -> None:
    r = rjob(policy="Forbid", token=TOKEN)
    p = run(r, [ACTIVE], jobs(ACTIVE_JOB))
    skipped = p.status.last_skipped
    assert skipped is not None
    assert skipped.trigger == MANUAL
    assert skipped.token == TOKEN
    assert skipped.scheduled_time is None
    assert skipped.time == NOW
    assert ACTIVE.name in skipped.message
    (event,) = p.events
    assert (event.type, event.reason) == ("Warning", "RunSkipped")
    assert event.message == skipped.message
    assert p.status.active == [ACTIVE.name]


def test_forbid_skipped_slot_is_reported_with_its_time() -> None:
    r = rjob(schedule=EVERY_MINUTE, policy="Forbid", status=DUE)
    p = run(r, [ACTIVE], jobs(ACTIVE_JOB))
    skipped = p.status.last_skipped
    assert skipped is not None
    assert (skipped.trigger, skipped.scheduled_time) == (SCHEDULE, at("10:17"))
    assert "2026-11-22T10:17:00Z" in skipped.message


def test_replace_interrupts_the_active_run() -> None:
    r = rjob(policy="Replace", token=TOKEN)
    p = run(r, [ACTIVE], jobs(ACTIVE_JOB))
    (interrupt,) = p.interrupts
    assert interrupt.execution == ACTIVE.name
    assert interrupt.status.phase == ExecutionPhase.INTERRUPTED
    assert interrupt.status.reason == "Replaced"
    assert interrupt.status.completion_time == NOW
    assert NEW in (interrupt.status.message or "")
    assert [(e.type, e.reason) for e in p.events] == [
        ("Warning", "RunInterrupted"),
        ("Normal", "RunStarted"),
    ]
    assert p.status.active == [NEW]
    assert p.status.last_result == ExecutionPhase.INTERRUPTED


def test_queue_holds_the_new_run() -> None:
    r = rjob(policy="Queue", token=TOKEN)
    p = run(r, [ACTIVE], jobs(ACTIVE_JOB))
    assert [(e.type, e.reason) for e in p.events] == [("Normal", "RunQueued")]
    assert p.status.active == [ACTIVE.name, NEW]
    assert p.status.active_count == 2


def test_queue_full_names_the_queued_run() -> None:
    r = rjob(policy="Queue", token=TOKEN)
    p = run(r, [ACTIVE, QUEUED], jobs(ACTIVE_JOB))
    assert p.status.last_skipped is not None
    assert QUEUED.name in p.status.last_skipped.message


def test_queue_new_run_takes_the_place_of_the_started_one() -> None:
    r = rjob(schedule=HOURLY, policy="Queue", status={"lastScheduleTime": at("09:00")})
    p = run(r, [ACTIVE, QUEUED], jobs(DONE_JOB))
    assert list(p.starts) == [QUEUED.name]
    assert [(c.name, c.queued) for c in p.creates] == [(slot(at("10:00")), True)]
    assert p.status.last_skipped is None


# 6. Executions follow their Jobs ----------------------------------------------------------------

RUN = "backup-29922300"
RUN_STARTED = at("09:00:02")
RUNNING_PROGRESS = {"succeeded": 0, "failed": 0, "active": 1, "total": 1}


def _exec(**fields: Any) -> ExecutionState:
    return execution(RUN, created=at("09:00:01"), **fields)


RUNNING_EXEC = _exec(
    phase="Running", job_name=RUN, start_time=RUN_STARTED, progress=RUNNING_PROGRESS
)

FOLLOW = [
    (
        "Pending, Job started: Running",
        _exec(phase="Pending", job_name=RUN),
        [job(RUN, start_time=RUN_STARTED, active=1)],
        ExecutionPhase.RUNNING,
        None,
        None,
    ),
    (
        "Running, Job Complete: Succeeded",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, succeeded=1, complete=True, finished_at=at("10:01"))],
        ExecutionPhase.SUCCEEDED,
        "CompletionsReached",
        ("Normal", "RunSucceeded"),
    ),
    (
        "Running, Job Failed BackoffLimitExceeded: Failed",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, failed="BackoffLimitExceeded", finished_at=at("10:01"))],
        ExecutionPhase.FAILED,
        "BackoffLimitExceeded",
        ("Warning", "RunFailed"),
    ),
    (
        "Running, Job Failed DeadlineExceeded: Failed",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, failed="DeadlineExceeded", finished_at=at("10:01"))],
        ExecutionPhase.FAILED,
        "DeadlineExceeded",
        ("Warning", "RunFailed"),
    ),
    (
        "Running, Job gone, jobName set: Interrupted JobDeleted",
        RUNNING_EXEC,
        [],
        ExecutionPhase.INTERRUPTED,
        "JobDeleted",
        ("Warning", "RunInterrupted"),
    ),
    (
        "Running, Job being deleted: Interrupted JobDeleted",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, active=1, deleting=True)],
        ExecutionPhase.INTERRUPTED,
        "JobDeleted",
        ("Warning", "RunInterrupted"),
    ),
    (
        "Pending, no Job and no jobName: unchanged",
        _exec(phase="Pending"),
        [],
        None,
        None,
        None,
    ),
    (
        "Running, Job unchanged: no update",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, active=1)],
        None,
        None,
        None,
    ),
    (
        "Succeeded, Job gone: unchanged",
        _exec(phase="Succeeded", job_name=RUN, completion_time=at("10:01")),
        [],
        None,
        None,
        None,
    ),
    (
        "Failed, Job now Complete: unchanged",
        _exec(phase="Failed", job_name=RUN, reason="BackoffLimitExceeded"),
        [job(RUN, start_time=RUN_STARTED, complete=True, finished_at=at("10:01"))],
        None,
        None,
        None,
    ),
    (
        "Interrupted, Job still running: unchanged",
        _exec(phase="Interrupted", job_name=RUN, reason="Replaced"),
        [job(RUN, start_time=RUN_STARTED, active=1)],
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "ex", "world", "want_phase", "want_reason", "want_event"), cases(FOLLOW)
)
def test_executions_follow_their_jobs(
    case: str,
    ex: ExecutionState,
    world: list[JobState],
    want_phase: ExecutionPhase | None,
    want_reason: str | None,
    want_event: tuple[str, str] | None,
) -> None:
    p = run(rjob(), [ex], jobs(*world))
    if want_phase is None:
        assert p.execution_updates == {}, case
    else:
        assert list(p.execution_updates) == [RUN], case
        update = p.execution_updates[RUN]
        assert update.phase == want_phase, case
        assert update.reason == want_reason, case
        assert update.job_name == RUN, case
    ended = ("RunSucceeded", "RunFailed", "RunInterrupted")
    finished = [(e.type, e.reason) for e in p.events if e.reason in ended]
    assert finished == ([want_event] if want_event else []), case
    assert p.interrupts == (), case  # following a Job never deletes one


def test_succeeded_run_sets_last_result_and_last_successful_time() -> None:
    world = jobs(job(RUN, start_time=RUN_STARTED, complete=True, finished_at=at("10:01")))
    p = run(rjob(), [RUNNING_EXEC], world)
    update = p.execution_updates[RUN]
    assert update.completion_time == at("10:01")
    assert p.status.last_result == ExecutionPhase.SUCCEEDED
    assert p.status.last_successful_time == at("10:01")
    assert p.status.active == []
    (summary,) = p.status.recent_executions
    assert (summary.name, summary.phase, summary.start_time, summary.completion_time) == (
        RUN,
        ExecutionPhase.SUCCEEDED,
        RUN_STARTED,
        at("10:01"),
    )


# A real clock has a fraction of a second; the API server keeps whole seconds. A run the
# planner ends now ends in the same second as a run whose Job completed at 10:17:30.
CLOCK = NOW + timedelta(microseconds=250_000)
DONE_AT_NOW = execution(
    "backup-29922376", phase="Succeeded", job_name="backup-29922376", completion_time=NOW
)
ONE_SECOND = [
    ("its Job is gone: JobDeleted", RUNNING_EXEC, [], "JobDeleted"),
    (
        "its Job is being deleted: JobDeleted",
        RUNNING_EXEC,
        [job(RUN, start_time=RUN_STARTED, active=1, deleting=True)],
        "JobDeleted",
    ),
    (
        "cancelled: Cancelled",
        _exec(
            phase="Running",
            job_name=RUN,
            start_time=RUN_STARTED,
            annotations={ANNOTATION_CANCEL: "true"},
        ),
        [job(RUN, start_time=RUN_STARTED, active=1)],
        "Cancelled",
    ),
]


@pytest.mark.parametrize(("case", "ex", "world", "want_reason"), cases(ONE_SECOND))
def test_runs_that_end_in_one_second_are_counted_once_whatever_the_clocks_fraction(
    case: str, ex: ExecutionState, world: list[JobState], want_reason: str
) -> None:
    def rjob_with(status: dict[str, Any]) -> RerunnableJobState:
        return rjob(extra={"suspendAfterFailures": 1}, status=status)

    p = run(rjob_with({}), [DONE_AT_NOW, ex], jobs(*world), now=CLOCK)
    ended = {**p.execution_updates, **{i.execution: i.status for i in p.interrupts}}[RUN]
    assert (ended.phase, ended.reason) == (ExecutionPhase.INTERRUPTED, want_reason), case
    assert sorted(p.status.last_completed_executions) == sorted([DONE_AT_NOW.name, RUN]), case
    assert p.status.last_result == ExecutionPhase.INTERRUPTED, case
    # In whole seconds, as they are stored.
    assert (ended.completion_time, p.status.last_completion_time) == (NOW, NOW), case

    # The next pass, over what the first wrote, counts neither run again.
    stored = dataclasses.replace(ex, status=ExecutionStatus.model_validate(to_wire(ended)))
    again = run(rjob_with(to_wire(p.status)), [DONE_AT_NOW, stored], now=CLOCK)
    assert again.status.last_result == ExecutionPhase.INTERRUPTED, case
    assert again.status.consecutive_failures == p.status.consecutive_failures, case
    assert again.status.conditions == p.status.conditions, case
    assert to_wire(again.status) == to_wire(p.status), case


# 7. History -------------------------------------------------------------------------------------


def finished(name: str, phase: str, ended: str, *, started: str = "00:01") -> ExecutionState:
    return execution(
        name,
        phase=phase,
        job_name=name,
        created=at(started),
        completion_time=at(ended),
    )


HISTORY = [
    (
        "4 succeeded, successfulJobsHistoryLimit 2: the 2 oldest go",
        rjob(successful_limit=2),
        [
            finished("backup-s1", "Succeeded", "01:00"),
            finished("backup-s2", "Succeeded", "02:00"),
            finished("backup-s3", "Succeeded", "03:00"),
            finished("backup-s4", "Succeeded", "04:00"),
        ],
        [],
        ["backup-s1", "backup-s2"],
    ),
    (
        "default limits keep 3 succeeded and 1 failed",
        rjob(),
        [
            finished("backup-s1", "Succeeded", "01:00"),
            finished("backup-s2", "Succeeded", "02:00"),
            finished("backup-s3", "Succeeded", "03:00"),
            finished("backup-s4", "Succeeded", "04:00"),
            finished("backup-f1", "Failed", "01:30"),
            finished("backup-f2", "Failed", "02:30"),
        ],
        [],
        ["backup-f1", "backup-s1"],
    ),
    (
        "Interrupted counts as failed",
        rjob(failed_limit=1),
        [
            finished("backup-f1", "Failed", "01:00"),
            finished("backup-i1", "Interrupted", "02:00"),
            finished("backup-i2", "Interrupted", "03:00"),
        ],
        [],
        ["backup-f1", "backup-i1"],
    ),
    (
        "oldest by completion, not by creation",
        rjob(successful_limit=1),
        [
            finished("backup-s1", "Succeeded", "05:00", started="00:01"),
            finished("backup-s2", "Succeeded", "03:00", started="02:00"),
        ],
        [],
        ["backup-s2"],
    ),
    (
        "limits 0: every finished one goes, active ones stay",
        rjob(successful_limit=0, failed_limit=0),
        [
            finished("backup-s1", "Succeeded", "01:00"),
            finished("backup-f1", "Failed", "02:00"),
            ACTIVE,
            execution("backup-pending", phase="Pending", created=at("09:59")),
        ],
        [ACTIVE_JOB],
        ["backup-f1", "backup-s1"],
    ),
    (
        "a run that finishes in this pass counts",
        rjob(successful_limit=1),
        [finished("backup-s1", "Succeeded", "01:00"), ACTIVE],
        [DONE_JOB],
        ["backup-s1"],
    ),
    (
        "within the limits: nothing goes",
        rjob(),
        [finished("backup-s1", "Succeeded", "01:00"), finished("backup-f1", "Failed", "02:00")],
        [],
        [],
    ),
]


@pytest.mark.parametrize(("case", "r", "executions", "world", "want"), cases(HISTORY))
def test_history_limits(
    case: str,
    r: RerunnableJobState,
    executions: list[ExecutionState],
    world: list[JobState],
    want: list[str],
) -> None:
    p = run(r, executions, jobs(*world))
    assert sorted(p.deletes) == want, case
    recent = {e.name for e in p.status.recent_executions}
    assert not recent & set(want), case  # what goes is not shown as recent
    assert not set(p.status.active) & set(want), case


# 8. Invalid input -------------------------------------------------------------------------------

LONG_AGO = {"lastScheduleTime": at("02:00")}

INVALID = [
    (
        "bad cron",
        rjob(schedule="61 * * * *", token="t", status=LONG_AGO),
        "InvalidSchedule",
        "spec.schedule: ",
    ),
    (
        "six fields",
        rjob(schedule="0 0 * * * *", status=LONG_AGO),
        "InvalidSchedule",
        "spec.schedule: ",
    ),
    (
        "schedules[1] bad",
        rjob(schedules=[HOURLY, "every day"], status=LONG_AGO),
        "InvalidSchedule",
        "spec.schedules[1]: ",
    ),
    (
        "unknown timeZone",
        rjob(schedule=HOURLY, time_zone="Mars/Olympus_Mons", status=LONG_AGO),
        "InvalidTimeZone",
        "spec.timeZone: ",
    ),
    (
        "never-firing schedule",
        rjob(schedule="0 0 30 2 *", status=LONG_AGO),
        "InvalidSchedule",
        "spec.schedule: '0 0 30 2 *' never fires",
    ),
    (
        "invalid spec (pydantic)",
        rjob(schedule=HOURLY, extra={"concurrencyPolicy": "Sometimes"}, status=LONG_AGO),
        "InvalidSpec",
        "spec.concurrencyPolicy: ",
    ),
]


@pytest.mark.parametrize(("case", "r", "want_reason", "want_prefix"), cases(INVALID))
def test_invalid_input_is_reported_and_runs_nothing(
    case: str, r: RerunnableJobState, want_reason: str, want_prefix: str
) -> None:
    p = run(r)
    assert p.creates == (), case
    assert p.starts == (), case
    ready = condition(p.status, "Ready")
    assert (ready.status, ready.reason) == ("False", want_reason), case
    assert ready.message.startswith(want_prefix), case
    assert ready.last_transition_time == NOW, case
    warnings = [e for e in p.events if e.reason == want_reason]
    assert [(e.type, e.message) for e in warnings] == [("Warning", ready.message)], case
    assert p.status.next_schedule_time is None, case
    assert p.wake_at is None, case
    assert p.status.last_schedule_time == at("02:00"), case  # nothing counted as handled
    assert "MissedSchedule" not in reasons(p), case


def test_invalid_warning_only_when_ready_changes() -> None:
    since = at("08:00")
    r = rjob(
        schedule="61 * * * *",
        status={"conditions": [ready_condition("False", "InvalidSchedule", since)]},
    )
    p = run(r)
    assert p.events == ()
    ready = condition(p.status, "Ready")
    assert (ready.status, ready.reason, ready.last_transition_time) == (
        "False",
        "InvalidSchedule",
        since,
    )


def test_invalid_warning_again_when_the_reason_changes() -> None:
    r = rjob(
        schedule=HOURLY,
        time_zone="Nowhere/Special",
        status={"conditions": [ready_condition("False", "InvalidSchedule", at("08:00"))]},
    )
    p = run(r)
    assert [(e.type, e.reason) for e in p.events] == [("Warning", "InvalidTimeZone")]


def test_fixed_spec_is_ready_again() -> None:
    r = rjob(
        schedule=HOURLY,
        status={"conditions": [ready_condition("False", "InvalidSchedule", at("08:00"))]},
    )
    ready = condition(run(r).status, "Ready")
    assert (ready.status, ready.reason, ready.last_transition_time) == ("True", "Ready", NOW)


@pytest.mark.parametrize(
    ("case", "r"),
    cases(
        [
            ("bad cron", rjob(schedule="61 * * * *", token=TOKEN)),
            ("invalid spec", rjob(extra={"concurrencyPolicy": "Sometimes"}, token=TOKEN)),
        ]
    ),
)
def test_manual_token_on_invalid_object_waits_for_the_fix(case: str, r: RerunnableJobState) -> None:
    p = run(r)
    assert p.creates == (), case
    # Not used up: the token is still new once the object is fixed, and then it runs.
    assert p.status.last_run_token is None, case
    assert p.status.last_skipped is None, case
    ready = condition(p.status, "Ready")
    assert ready.status == "False", case
    assert f"manual run {TOKEN!r} starts once this is fixed" in ready.message, case


def test_manual_token_held_by_an_invalid_object_runs_once_it_is_fixed() -> None:
    p = run(rjob(schedule="0 3 * * *", token=TOKEN))
    assert [c.token for c in p.creates if c.trigger == MANUAL] == [TOKEN]
    assert p.status.last_run_token == TOKEN


def test_invalid_object_executions_still_follow_their_jobs() -> None:
    world = jobs(job(RUN, start_time=RUN_STARTED, complete=True, finished_at=at("10:01")))
    p = run(rjob(schedule="61 * * * *"), [RUNNING_EXEC], world)
    assert p.execution_updates[RUN].phase == ExecutionPhase.SUCCEEDED
    assert "RunSucceeded" in reasons(p)


def test_invalid_object_does_not_start_queued_runs() -> None:
    p = run(rjob(schedule="61 * * * *", policy="Queue"), [QUEUED])
    assert p.starts == ()


# Ownership ---------------------------------------------------------------------------------------


def test_executions_of_another_owner_are_ignored() -> None:
    # Same names as ours would have, but another RerunnableJob (or nobody) controls them.
    foreign = execution(RUN, phase="Running", job_name=RUN, owner_uid="uid-someone")
    orphan = execution("backup-29922302", phase="Succeeded", owner_uid=None)
    world = jobs(DONE_JOB)  # the foreign run's Job completed: not ours to follow
    r = rjob(policy="Forbid", token=TOKEN, successful_limit=0, failed_limit=0)
    p = run(r, [foreign, orphan], world)
    assert [c.name for c in p.creates] == [NEW]  # nothing of ours is active
    assert p.execution_updates == {}
    assert p.deletes == ()
    assert p.status.active == [NEW]
    assert [e.name for e in p.status.recent_executions] == [NEW]


def test_execution_being_deleted_is_ignored() -> None:
    going = execution(RUN, phase="Running", job_name=RUN, deleting=True)
    p = run(rjob(policy="Forbid", token=TOKEN), [going], jobs(ACTIVE_JOB))
    assert [c.name for c in p.creates] == [NEW]
    assert p.status.active == [NEW]


# 9. Status ---------------------------------------------------------------------------------------


def test_active_oldest_first_and_recent_newest_first() -> None:
    executions = [
        finished("backup-a", "Succeeded", "01:30", started="01:00"),
        finished("backup-b", "Failed", "02:30", started="02:00"),
        finished("backup-c", "Succeeded", "03:30", started="03:00"),
        execution("backup-e", phase="Pending", job_name="backup-e", created=at("05:00")),
        finished("backup-d", "Succeeded", "04:30", started="04:00"),
        execution("backup-f", phase="Running", job_name="backup-f", created=at("04:30")),
        finished("backup-g", "Interrupted", "06:30", started="06:00"),
    ]
    world = jobs(job("backup-e", no_status=True), job("backup-f", start_time=at("04:30"), active=1))
    r = rjob(successful_limit=10, failed_limit=10)
    p = run(r, executions, world)
    assert p.status.active == ["backup-f", "backup-e"]
    assert p.status.active_count == 2
    assert len(p.status.recent_executions) == RECENT_EXECUTIONS == 5
    assert [e.name for e in p.status.recent_executions] == [
        "backup-g",
        "backup-e",
        "backup-f",
        "backup-d",
        "backup-c",
    ]
    assert p.status.recent_executions[0].phase == ExecutionPhase.INTERRUPTED
    assert p.status.recent_executions[0].completion_time == at("06:30")
    assert p.status.last_result == ExecutionPhase.INTERRUPTED  # the latest to finish
    assert p.status.last_successful_time == at("04:30")
    assert p.status.last_run_time == at("06:00")


def test_last_successful_time_survives_pruning() -> None:
    # The success that set lastSuccessfulTime is gone; a newer failure does not reset it.
    r = rjob(status={"lastSuccessfulTime": at("03:00"), "lastResult": "Succeeded"})
    p = run(r, [finished("backup-f1", "Failed", "04:00")])
    assert p.status.last_successful_time == at("03:00")
    assert p.status.last_result == ExecutionPhase.FAILED


def test_conditions_keep_last_transition_time_when_unchanged() -> None:
    since = at("2026-11-20T08:00:00Z")
    r = rjob(
        schedule=HOURLY,
        generation=4,
        status={
            "conditions": [
                ready_condition("True", "Ready", since),
                suspended_condition("False", "NotSuspended", since),
            ]
        },
    )
    p = run(r)
    ready, suspended = condition(p.status, "Ready"), condition(p.status, "Suspended")
    assert ready.last_transition_time == since
    assert suspended.last_transition_time == since
    assert ready.observed_generation == suspended.observed_generation == 4
    assert p.status.observed_generation == 4

    now_suspended = rjob(schedule=HOURLY, suspend=True, status={"conditions": r.status.conditions})
    p2 = run(now_suspended)
    assert condition(p2.status, "Suspended").last_transition_time == NOW
    assert condition(p2.status, "Ready").last_transition_time == since


def test_schedule_text() -> None:
    p = run(rjob(schedules=["0 3 * * *", "@hourly"], time_zone="Europe/Berlin"))
    assert p.status.schedule_text == "0 3 * * *, @hourly (Europe/Berlin)"


def test_steady_state_second_pass_changes_nothing() -> None:
    r = rjob(schedule=EVERY_MINUTE, status={"lastScheduleTime": at("10:16")})
    p1 = run(r)
    (new,) = p1.creates
    # The shell applied the plan: the Execution exists, its Job was created and named.
    ex = execution(
        new.name,
        phase="Pending",
        job_name=new.name,
        created=NOW,
        scheduled_time=new.scheduled_time,
        progress={"succeeded": 0, "failed": 0, "active": 0, "total": 1},
    )
    r2 = rjob(schedule=EVERY_MINUTE, status=to_wire(p1.status))
    p2 = run(r2, [ex], jobs(job(new.name, no_status=True)), now=NOW + timedelta(seconds=5))
    assert p2.creates == ()
    assert p2.starts == ()
    assert p2.deletes == ()
    assert p2.execution_updates == {}
    assert p2.events == ()
    assert p2.status == r2.status  # nothing to write


def _rejected(name: str, created: str, generation: int = 1) -> ExecutionState:
    return execution(
        name,
        trigger="Manual",
        phase="Failed",
        reason="JobRejected",
        message='Job.batch "x" is invalid: spec.template.spec.restartPolicy: Unsupported value',
        created=at(created),
        completion_time=at(created),
        generation=generation,
    )


def test_rejected_job_template_makes_ready_false() -> None:
    p = run(rjob(), [_rejected("backup-m1", "10:00")])
    ready = condition(p.status, "Ready")
    assert (ready.status, ready.reason) == ("False", "InvalidJobTemplate")
    assert ready.message.startswith("spec.jobTemplate: ")
    assert "restartPolicy" in ready.message


def test_rejected_template_of_an_older_generation_does_not_count() -> None:
    p = run(rjob(generation=2), [_rejected("backup-m1", "10:00", generation=1)])
    assert condition(p.status, "Ready").status == "True"


def test_rejected_job_template_posts_a_warning_event() -> None:
    r = rjob(status={"conditions": [ready_condition("True", "Ready", at("08:00"))]})
    p = run(r, [_rejected("backup-m1", "10:00")])
    assert ("Warning", "InvalidJobTemplate") in [(e.type, e.reason) for e in p.events]
