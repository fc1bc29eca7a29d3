"""Runs armed ahead (rerunnable.core.planner.arming): a scheduled run's Execution is made
`arm_ahead` before its slot, and only its Job at the slot, where the concurrency policy
decides as if the Execution were not there. An armed run that will not run as it is
goes in the next pass.

NOW is 2026-11-22T10:17:30Z (builders.py); the job runs every minute unless said, its last
slot 10:17, so the next is 10:18, 30 s away. Arming is 30 s ahead unless said.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.names import ANNOTATION_ARMED, ANNOTATION_BACKFILL, ANNOTATION_CANCEL
from rerunnable.api.reasons import EventReason, RunReason
from rerunnable.api.v1alpha1 import ExecutionPhase, Trigger
from rerunnable.core.backfill import range_text
from rerunnable.core.planner import Plan, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.core.builders import NOW, at, execution, job, jobs, rjob
from tests.unit.core.test_planner import cases, reasons, running, slot

AHEAD = timedelta(seconds=30)
LAST = {"lastScheduleTime": at("10:17")}


def minutely(**fields: Any) -> RerunnableJobState:
    fields.setdefault("schedule", "* * * * *")
    fields.setdefault("status", LAST)
    return rjob(**fields)


def armed(moment: datetime, *, waiting: bool = True, **fields: Any) -> ExecutionState:
    """The Execution armed for the slot `moment`, made 10 s before the latest arming; with
    its status (Pending, reason Scheduled) unless `waiting` is False (a crash came between
    its create and its status)."""
    annotations = {ANNOTATION_ARMED: "true", **fields.pop("annotations", {})}
    if waiting:
        fields.setdefault("phase", "Pending")
        fields.setdefault("reason", "Scheduled")
    return execution(
        slot(moment),
        scheduled_time=moment,
        created=moment - AHEAD - timedelta(seconds=10),
        template=True,
        annotations=annotations,
        **fields,
    )


def planned(
    r: RerunnableJobState,
    executions: Iterable[ExecutionState] = (),
    world: dict[str, JobState] | None = None,
    now: datetime = NOW,
    ahead: timedelta = AHEAD,
) -> Plan:
    return plan(r, list(executions), world or {}, now, arm_ahead=ahead)


ARMING = [
    # (case, rjob, executions, ahead, want arms, want disarms, want wake)
    ("next slot 30s away: armed", minutely(), [], AHEAD, [at("10:18")], [], at("10:18")),
    (
        "next slot 30s away, armed already: nothing",
        minutely(),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [],
        at("10:18"),
    ),
    (
        "armed, its status lost in a crash: nothing",
        minutely(),
        [armed(at("10:18"), waiting=False)],
        AHEAD,
        [],
        [],
        at("10:18"),
    ),
    (
        "next slot 90s away: woken 30s before it",
        minutely(schedule="19 * * * *"),
        [],
        AHEAD,
        [],
        [],
        at("10:18:30"),
    ),
    (
        "arming off: nothing armed, woken at the slot",
        minutely(),
        [],
        timedelta(0),
        [],
        [],
        at("10:18"),
    ),
    (
        "arming off, one armed before: it goes",
        minutely(),
        [armed(at("10:18"))],
        timedelta(0),
        [],
        [at("10:18")],
        at("10:18"),
    ),
    (
        "suspended: the armed run goes",
        minutely(suspend=True),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        None,
    ),
    (
        "suspended until after the slot: the armed run goes",
        minutely(suspend_until=at("10:20")),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        at("10:20"),
    ),
    (
        "schedule moved: the armed run goes, the new slot is armed in time",
        minutely(schedule="*/5 * * * *"),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        at("10:19:30"),
    ),
    (
        "schedule moved nearer: the new slot armed, the old one goes",
        minutely(schedule="18,19 * * * *"),
        [armed(at("10:19"))],
        timedelta(minutes=5),
        [at("10:18")],
        [at("10:19")],
        at("10:18"),
    ),
    (
        "edited since armed: made again, as the job is now",
        minutely(generation=2),
        [armed(at("10:18"))],
        AHEAD,
        [at("10:18")],
        [at("10:18")],
        at("10:18"),
    ),
    (
        "endTime before the slot: the armed run goes",
        minutely(extra={"endTime": "2026-11-22T10:17:50Z"}),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        None,
    ),
    (
        "maxRuns used up: the armed run goes",
        minutely(status={**LAST, "scheduledRuns": 2}, extra={"maxRuns": 2}),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        None,
    ),
    (
        "invalid schedule: the armed run goes",
        minutely(schedule="61 * * * *"),
        [armed(at("10:18"))],
        AHEAD,
        [],
        [at("10:18")],
        None,
    ),
    (
        "a slot long gone, armed and never decided: it goes, the next is armed",
        minutely(),
        [armed(at("10:10"))],
        AHEAD,
        [at("10:18")],
        [at("10:10")],
        at("10:18"),
    ),
    (
        "cancelled before its slot: it ends, nothing is armed in its place",
        minutely(),
        [armed(at("10:18"), annotations={ANNOTATION_CANCEL: "true"})],
        AHEAD,
        [],
        [],
        at("10:18"),
    ),
]


@pytest.mark.parametrize(
    ("case", "r", "executions", "ahead", "want_arms", "want_disarms", "want_wake"),
    cases(ARMING),
)
def test_arming(
    case: str,
    r: RerunnableJobState,
    executions: list[ExecutionState],
    ahead: timedelta,
    want_arms: list[datetime],
    want_disarms: list[datetime],
    want_wake: datetime | None,
) -> None:
    p = planned(r, executions, ahead=ahead)

    assert [(a.name, a.scheduled_time, a.armed, a.queued) for a in p.arms] == [
        (slot(t), t, True, False) for t in want_arms
    ]
    assert list(p.disarms) == [slot(t) for t in want_disarms]
    assert p.creates == ()
    assert p.starts == ()
    assert p.wake_at == want_wake
    for a in p.arms:  # the template goes with it: an edit makes it stale, never different
        assert a.spec.job_template is not None
        assert a.manifest["metadata"]["annotations"] == {ANNOTATION_ARMED: "true"}


SLOT = at("10:18")
AT_SLOT = SLOT  # the pass at the armed slot
OTHER = slot(at("09:00"))


def active_run() -> tuple[list[ExecutionState], dict[str, JobState]]:
    e, j = running(OTHER)
    return [e], jobs(j)


def test_at_its_slot_an_armed_run_gets_its_job_and_no_new_execution() -> None:
    p = planned(minutely(), [armed(SLOT)], now=AT_SLOT)

    assert p.starts == (slot(SLOT),)
    assert p.creates == ()
    assert p.disarms == ()
    assert reasons(p) == [EventReason.RUN_STARTED]
    assert p.status.last_schedule_time == SLOT
    assert p.status.active == [slot(SLOT)]
    assert p.status.scheduled_runs == 1
    # Made at its slot, however early its Execution was.
    assert p.status.last_run_time == SLOT
    # The next slot is a minute away: armed 30 s before it.
    assert p.arms == ()
    assert p.wake_at == at("10:18:30")


def test_at_its_slot_an_armed_run_that_lost_its_status_still_starts() -> None:
    p = planned(minutely(), [armed(SLOT, waiting=False)], now=AT_SLOT)

    assert p.starts == (slot(SLOT),)
    assert p.creates == ()


def test_at_its_slot_under_forbid_with_a_run_active_the_armed_run_is_skipped_and_goes() -> None:
    executions, world = active_run()
    p = planned(minutely(policy="Forbid"), [*executions, armed(SLOT)], world, now=AT_SLOT)

    assert p.starts == ()
    assert p.disarms == (slot(SLOT),)
    assert reasons(p) == [EventReason.RUN_SKIPPED]
    assert p.status.last_skipped is not None
    assert p.status.last_skipped.reason == RunReason.CONCURRENCY_FORBIDDEN
    assert p.status.last_skipped.scheduled_time == SLOT
    assert p.status.last_schedule_time == SLOT
    assert p.status.active == [OTHER]
    assert p.status.scheduled_runs == 0  # a skipped slot uses up no spec.maxRuns


def test_at_its_slot_under_queue_with_a_run_active_the_armed_run_queues_as_it_is() -> None:
    executions, world = active_run()
    p = planned(minutely(policy="Queue"), [*executions, armed(SLOT)], world, now=AT_SLOT)

    assert p.starts == ()
    assert p.disarms == ()
    assert p.creates == ()
    update = p.execution_updates[slot(SLOT)]
    assert (update.phase, update.reason) == (ExecutionPhase.PENDING, RunReason.QUEUED)
    assert reasons(p) == [EventReason.RUN_QUEUED]
    assert p.status.active == [OTHER, slot(SLOT)]


def test_at_its_slot_under_replace_the_active_run_ends_and_the_armed_run_starts() -> None:
    executions, world = active_run()
    p = planned(minutely(policy="Replace"), [*executions, armed(SLOT)], world, now=AT_SLOT)

    assert [i.execution for i in p.interrupts] == [OTHER]
    assert p.starts == (slot(SLOT),)
    assert p.creates == ()


def test_at_its_slot_an_armed_run_made_before_an_edit_is_made_again_at_once() -> None:
    p = planned(minutely(generation=2), [armed(SLOT)], now=AT_SLOT)

    assert p.disarms == (slot(SLOT),)
    assert [(c.name, c.armed, c.spec.template_generation) for c in p.creates] == [
        (slot(SLOT), False, 2)
    ]
    assert p.starts == ()


def test_an_armed_run_is_no_run_for_the_policy_the_status_or_the_history() -> None:
    executions, world = active_run()
    r = minutely(policy="Forbid", extra={"maxRuns": 5})
    p = planned(r, [*executions, armed(SLOT)], world)

    assert p.status.active == [OTHER]
    assert p.status.active_count == 1
    assert [s.name for s in p.status.recent_executions] == [OTHER]
    assert p.status.last_run_time is None or p.status.last_run_time < SLOT - AHEAD
    assert p.status.last_schedule_time == at("10:17")
    assert p.status.scheduled_runs == 0
    assert p.interrupts == ()
    assert p.disarms == ()


def test_a_waiting_run_never_starts_an_armed_one_before_its_slot() -> None:
    # Queue: the active run just ended; the queue's head starts, never the armed run.
    done = execution(OTHER, phase="Succeeded", job_name=OTHER, completion_time=at("10:17:20"))
    p = planned(
        minutely(policy="Queue"),
        [done, armed(SLOT, waiting=False)],
        jobs(job(OTHER, complete=True, start_time=at("09:00:02"), finished_at=at("10:17:20"))),
    )

    assert p.starts == ()
    assert p.creates == ()


# Found by review: each at the smallest world that showed it.


def test_a_backfill_runs_a_slot_whose_armed_run_passed_undecided() -> None:
    # Armed for 10:18, the operator down until 10:20:30 (Latest: 10:18 and 10:19 missed), and
    # a backfill of 10:18-10:20 asked meanwhile. Was: the backfill took the armed Execution for
    # a run and skipped 10:18, which the arming step then deleted: lost.
    r = minutely(annotations={ANNOTATION_BACKFILL: range_text(at("10:18"), at("10:20"))})
    p = planned(r, [armed(at("10:18"))], now=at("10:20:30"))

    assert slot(at("10:18")) in p.disarms
    assert (slot(at("10:18")), Trigger.BACKFILL) in [(c.name, c.trigger) for c in p.creates]
    assert p.status.backfill is not None
    assert p.status.backfill.skipped == 0


def test_a_queued_run_made_over_an_unseen_armed_execution_queues_it() -> None:
    # A pass that has not seen the armed Execution (a deposed leader's) plans the slot as a
    # new queued run; the create meets the armed one. Was: it stayed armed, its slot handled,
    # and the next pass deleted it: lost.
    executions, world = active_run()
    p = planned(minutely(policy="Queue"), executions, world, now=SLOT)
    (new,) = p.creates
    assert new.queued

    status = new.waiting_status(armed(SLOT).status)

    assert status is not None
    assert (status.phase, status.reason) == (ExecutionPhase.PENDING, RunReason.QUEUED)


def test_an_armed_run_cancelled_before_its_slot_was_not_made_in_the_future() -> None:
    p = planned(minutely(), [armed(SLOT, annotations={ANNOTATION_CANCEL: "true"})])

    assert p.status.last_run_time is not None
    assert p.status.last_run_time <= NOW
