"""Backfill: the request, its slots (rerunnable.core.backfill) and the planner's step 7.

Slots are every instant of every schedule in [FROM, TO), in the job's time zone with
live scheduling's DST rules; each gets the slot's scheduled name, so a slot that ran
already is skipped, never run twice.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from rerunnable.api.reasons import BackfillingReason, ConditionType, EventReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec, Trigger, to_wire
from rerunnable.core.backfill import (
    BackfillError,
    BackfillRequest,
    backfill_slots,
    parse_request,
)
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.planner import Plan, plan
from rerunnable.core.schedule import validate_schedule
from rerunnable.core.state import ExecutionState, RerunnableJobState
from tests.unit.core.builders import NOW, TEMPLATE, at, execution, job, jobs, rjob

BACKFILL = "rerunnable.dev/backfill"
D1, D2 = "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def slots_of(schedule: dict[str, Any], start: str, end: str, now: datetime = NOW) -> list[str]:
    spec = RerunnableJobSpec.model_validate({"jobTemplate": TEMPLATE, **schedule})
    valid = validate_schedule(spec, hash_key="default/backup", now=now)
    request = BackfillRequest(utc(start), utc(end))
    return [t.strftime("%Y-%m-%dT%H:%MZ") for t in backfill_slots(request, valid, now)]


@pytest.mark.parametrize(
    ("case", "schedule", "start", "end", "expected"),
    [
        pytest.param(
            "FROM inclusive, TO exclusive",
            {"schedule": "0 * * * *"},
            "2026-11-20T01:00:00Z",
            "2026-11-20T04:00:00Z",
            ["2026-11-20T01:00Z", "2026-11-20T02:00Z", "2026-11-20T03:00Z"],
            id="bounds",
        ),
        pytest.param(
            "several schedules, one slot per instant",
            {"schedules": ["0 6 * * *", "0 6,18 * * *"]},
            "2026-11-20T00:00:00Z",
            "2026-11-21T00:00:00Z",
            ["2026-11-20T06:00Z", "2026-11-20T18:00Z"],
            id="schedules",
        ),
        pytest.param(
            "spring forward: 02:30 Berlin runs once at 03:00",
            {"schedule": "30 2 * * *", "timeZone": "Europe/Berlin"},
            "2026-03-28T00:00:00Z",
            "2026-03-30T00:00:00Z",
            ["2026-03-28T01:30Z", "2026-03-29T01:00Z"],
            id="dst spring",
        ),
        pytest.param(
            "fall back: 02:30 Berlin runs once",
            {"schedule": "30 2 * * *", "timeZone": "Europe/Berlin"},
            "2026-10-25T00:00:00Z",
            "2026-10-26T00:00:00Z",
            ["2026-10-25T00:30Z"],
            id="dst fall",
        ),
    ],
)
def test_backfill_slots(
    case: str, schedule: dict[str, Any], start: str, end: str, expected: list[str]
) -> None:
    assert slots_of(schedule, start, end) == expected, case


def test_h_takes_the_same_minute_as_live_scheduling() -> None:
    live = RerunnableJobSpec.model_validate({"jobTemplate": TEMPLATE, "schedule": "H 3 * * *"})
    minute = validate_schedule(live, hash_key="default/backup", now=NOW).crons[0]
    found = slots_of({"schedule": "H 3 * * *"}, "2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z")
    assert len(found) == 2
    assert all(t.startswith(("2026-11-01T03:", "2026-11-02T03:")) for t in found)
    assert minute.expression == "H 3 * * *"


@pytest.mark.parametrize(
    ("case", "value", "parallelism", "message"),
    [
        pytest.param("no slash", "2026-11-01", None, "expected FROM/TO", id="slash"),
        pytest.param("malformed", f"yesterday/{D2}", None, "FROM 'yesterday'", id="bad"),
        pytest.param("no zone", f"2026-11-01T00:00:00/{D2}", None, "with a zone", id="zone"),
        pytest.param("reversed", f"{D2}/{D1}", None, "must be after", id="rev"),
        pytest.param("empty", f"{D2}/{D2}", None, "must be after", id="empty"),
        pytest.param("year 1, east", f"0001-01-01T00:00:00+01:00/{D2}", None, "FROM", id="y1"),
        pytest.param("before 1970", f"0001-01-01T00:00:00Z/{D2}", None, "from 1970", id="old"),
        pytest.param("parallelism 0", f"{D1}/{D2}", "0", "backfill-parallelism", id="p0"),
        pytest.param("parallelism text", f"{D1}/{D2}", "two", "got 'two'", id="ptext"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_annotation(
    case: str, value: str, parallelism: str | None, message: str
) -> None:
    with pytest.raises(BackfillError) as e:
        parse_request(value, parallelism)
    assert message in e.value.message, case
    assert e.value.message.startswith("rerunnable.dev/backfill"), case


def test_ranges_that_cannot_be_backfilled() -> None:
    with pytest.raises(BackfillError, match="more than 1000 slots"):
        slots_of({"schedule": "* * * * *"}, "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z")
    assert (
        len(slots_of({"schedule": "* * * * *"}, "2026-11-20T00:00:00Z", "2026-11-20T16:40:00Z"))
        == 1000
    )
    with pytest.raises(BackfillError, match="is in the future"):
        slots_of({"schedule": "0 * * * *"}, "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z")
    spec = RerunnableJobSpec.model_validate({"jobTemplate": TEMPLATE})
    valid = validate_schedule(spec, hash_key="default/backup", now=NOW)
    with pytest.raises(BackfillError, match="no schedule"):
        backfill_slots(BackfillRequest(utc(D1), NOW), valid, NOW)


# -- the planner ------------------------------------------------------------------------------

RANGE = "2026-11-22T05:00:00Z/2026-11-22T09:00:00Z"  # 05:00, 06:00, 07:00, 08:00 hourly


def hourly(
    annotations: dict[str, str] | None = None, status: dict[str, Any] | None = None, **spec: Any
) -> RerunnableJobState:
    return rjob(
        schedule="0 * * * *",
        status={"lastScheduleTime": at("10:00"), **(status or {})},
        annotations={BACKFILL: RANGE, **(annotations or {})},
        extra=spec,
    )


def slot_name(hour: str) -> str:
    return scheduled_execution_name("backup", at(hour))


def run(r: RerunnableJobState, executions: list[ExecutionState] = []) -> Plan:  # noqa: B006
    return plan(r, executions, jobs(*(job(e.name) for e in executions if e.status.job_name)), NOW)


def backfilling(p: Plan) -> tuple[str, str, str]:
    c = next(c for c in p.status.conditions if c.type == ConditionType.BACKFILLING)
    return (c.status, c.reason, c.message)


def test_one_run_at_a_time_oldest_first_by_default() -> None:
    p = run(hourly())
    [new] = p.creates
    assert new.name == slot_name("05:00")
    assert new.trigger == Trigger.BACKFILL
    assert new.spec.scheduled_time == at("05:00")
    assert p.status.backfill is not None
    assert (p.status.backfill.total, p.status.backfill.started) == (4, 1)
    assert backfilling(p)[:2] == ("True", BackfillingReason.IN_PROGRESS)


def test_parallelism_bounds_the_runs_at_once_with_allow() -> None:
    p = run(hourly({"rerunnable.dev/backfill-parallelism": "3"}))
    assert [c.name for c in p.creates] == [slot_name(h) for h in ("05:00", "06:00", "07:00")]


def test_a_slot_that_ran_already_is_skipped_not_run_again() -> None:
    ran = execution(slot_name("05:00"), phase="Succeeded", job_name=slot_name("05:00"),
                    scheduled_time=at("05:00"), completion_time=at("05:01"))  # fmt: skip
    p = run(hourly({"rerunnable.dev/backfill-parallelism": "2"}), [ran])
    assert [c.name for c in p.creates] == [slot_name("06:00"), slot_name("07:00")]
    assert p.status.backfill is not None
    assert p.status.backfill.skipped == 1


def test_forbid_starts_a_backfill_run_only_when_nothing_runs() -> None:
    live = execution("backup-mlive", phase="Running", trigger="Manual", job_name="backup-mlive")
    p = run(
        hourly({"rerunnable.dev/backfill-parallelism": "4"}, concurrencyPolicy="Forbid"), [live]
    )
    assert p.creates == ()
    alone = run(hourly({"rerunnable.dev/backfill-parallelism": "4"}, concurrencyPolicy="Forbid"))
    assert len(alone.creates) == 1


def test_suspend_does_not_limit_a_backfill() -> None:
    assert len(run(hourly(suspend=True, maxRuns=1, endTime=at("00:00"))).creates) == 1


def test_the_backfill_completes_when_every_slot_is_handled_and_every_run_over() -> None:
    names = [slot_name(h) for h in ("05:00", "06:00", "07:00", "08:00")]
    done = [
        execution(n, phase="Succeeded", trigger="Backfill", job_name=n, scheduled_time=at(h),
                  completion_time=at("10:10"))
        for n, h in zip(names, ("05:00", "06:00", "07:00", "08:00"), strict=True)
    ]  # fmt: skip
    state = {"from": at("05:00"), "to": at("09:00"), "total": 4, "started": 4,
             "lastSlot": at("08:00")}  # fmt: skip
    p = run(hourly(status={"backfill": state, "lastCompletionTime": at("10:00")}), done)
    assert p.creates == ()
    assert backfilling(p)[:2] == ("False", BackfillingReason.COMPLETED)
    assert p.status.backfill is not None
    assert p.status.backfill.succeeded == 4
    assert EventReason.BACKFILL_COMPLETED in [e.reason for e in p.events]


def test_the_same_range_again_changes_nothing_and_a_new_one_starts_over() -> None:
    state = {"from": at("05:00"), "to": at("09:00"), "total": 4, "started": 4, "skipped": 0,
             "lastSlot": at("08:00")}  # fmt: skip
    same = run(hourly(status={"backfill": state}))
    assert same.creates == ()
    other = run(
        hourly({BACKFILL: "2026-11-22T01:00:00Z/2026-11-22T02:00:00Z"}, status={"backfill": state})
    )
    assert [c.name for c in other.creates] == [slot_name("01:00")]
    assert other.status.backfill is not None
    assert other.status.backfill.total == 1


@pytest.mark.parametrize(
    ("case", "value", "spec", "message"),
    [
        pytest.param("future", f"{D1}/2026-11-23T00:00:00Z", {}, "in the future", id="future"),
        pytest.param("malformed", "soon", {}, "expected FROM/TO", id="malformed"),
        pytest.param("too many", f"2026-01-01T00:00:00Z/{D1}", {}, "more than 1000", id="big"),
    ],
)  # fmt: skip
def test_a_refused_backfill_starts_nothing_and_says_why(
    case: str, value: str, spec: dict[str, Any], message: str
) -> None:
    p = run(hourly({BACKFILL: value}, **spec))
    assert p.creates == (), case
    status, reason, said = backfilling(p)
    assert (status, reason) == ("False", BackfillingReason.INVALID_BACKFILL), case
    assert message in said, case
    assert ("Warning", EventReason.BACKFILL_REFUSED) in [(e.type, e.reason) for e in p.events]


def test_a_job_without_a_schedule_has_nothing_to_backfill() -> None:
    r = rjob(annotations={BACKFILL: RANGE})
    p = plan(r, [], {}, NOW)
    assert p.creates == ()
    assert "no schedule" in backfilling(p)[2]


def test_runs_that_end_in_the_same_second_are_each_counted_once() -> None:
    five, six = slot_name("05:00"), slot_name("06:00")
    ended = [
        execution(n, phase="Succeeded", trigger="Backfill", job_name=n, scheduled_time=at(h),
                  completion_time=at("10:10"))
        for n, h in ((five, "05:00"), (six, "06:00"))
    ]  # fmt: skip
    state = {"from": at("05:00"), "to": at("09:00"), "total": 4, "started": 2, "succeeded": 1,
             "lastSlot": at("06:00")}  # fmt: skip
    # The last status counted 05:00's run, which ended in the same second as 06:00's.
    counted = {"backfill": state, "lastCompletionTime": at("10:10"),
               "lastCompletedExecutions": [five]}  # fmt: skip
    p = run(hourly(status=counted), ended)
    assert p.status.backfill is not None
    assert p.status.backfill.succeeded == 2
    assert sorted(p.status.last_completed_executions) == sorted([five, six])
    # And the next pass, from that status, counts neither again.
    again = run(hourly(status=to_wire(p.status)), ended)
    assert again.status.backfill is not None
    assert again.status.backfill.succeeded == 2
