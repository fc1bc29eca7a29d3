"""Scheduled runs end to end: slots, suspension, missed runs, bad input.

Slots are whole minutes, so some of these tests wait for a minute or two to
turn; they wait on what the API server shows, with deadlines, never on sleeps.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lightkube import Client
from lightkube.types import PatchType

from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    RerunnableJobResource,
    annotate_run,
    condition,
    create_rjob,
    events_for,
    executions,
    get_rjob,
    jobs,
    manual_name,
    patch_spec,
    phases,
    settled_status,
    wait_phase,
)
from tests.e2e.waiting import wait_until


def minute_name(rjob: str, slot: datetime) -> str:
    return f"{rjob}-{int(slot.timestamp()) // 60}"


def stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def next_minute(after: datetime) -> datetime:
    return after.replace(second=0, microsecond=0) + timedelta(minutes=1)


def scheduled(kube: Client, namespace: str) -> dict[str, Any]:
    return {
        n: e for n, e in executions(kube, namespace).items() if e["spec"]["trigger"] != "Manual"
    }


def test_a_scheduled_run_starts_in_its_slot(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "tick", schedule="* * * * *")

    found = wait_until(
        lambda: scheduled(kube, namespace), timeout=100, what="the first scheduled Execution"
    )

    ((name, execution),) = found.items()
    slot = parse(execution["spec"]["scheduledTime"])
    assert name == minute_name("tick", slot)
    assert execution["spec"]["trigger"] == "Schedule"
    created = parse(execution["metadata"]["creationTimestamp"])
    assert slot <= created < slot + timedelta(minutes=1), "the run must start in its own slot"
    # The Job follows its Execution by a few milliseconds (Execution first, always).
    job = wait_until(lambda: jobs(kube, namespace).get(name), timeout=30, what=f"Job {name}")
    assert job.metadata is not None
    assert (job.metadata.annotations or {})["rerunnable.dev/scheduled-time"] == stamp(slot)
    assert (job.metadata.labels or {})["rerunnable.dev/trigger"] == "Schedule"
    wait_phase(kube, namespace, name, "Succeeded")
    status = settled_status(kube, namespace, "tick")
    assert status["lastScheduleTime"] == stamp(slot)
    assert parse(status["nextScheduleTime"]) > slot
    assert parse(status["nextScheduleTime"]) <= slot + timedelta(minutes=2)


@pytest.mark.slow
def test_suspend_and_suspend_until(kube: Client, namespace: str, operator: OperatorProcess) -> None:
    now = datetime.now(UTC)
    covered = next_minute(now + timedelta(seconds=5))  # the slot suspendUntil covers
    until = covered + timedelta(seconds=20)
    first_free = covered + timedelta(minutes=1)
    operator.start()
    create_rjob(kube, namespace, "paused", schedule="* * * * *", suspend=True)
    create_rjob(kube, namespace, "napping", schedule="* * * * *", suspendUntil=stamp(until))

    napping = wait_until(
        lambda: condition(get_rjob(kube, namespace, "napping"), "Suspended"),
        timeout=30,
        what="napping's Suspended condition",
    )
    assert (napping["status"], napping["reason"]) == ("True", "SuspendedUntil")
    assert get_rjob(kube, namespace, "napping")["status"]["nextScheduleTime"] == stamp(first_free)
    paused = condition(get_rjob(kube, namespace, "paused"), "Suspended")
    assert paused is not None
    assert (paused["status"], paused["reason"]) == ("True", "Suspended")
    assert get_rjob(kube, namespace, "paused")["status"].get("nextScheduleTime") is None

    # napping resumes by itself: the slot after suspendUntil runs, the one before does not.
    wait_until(
        lambda: minute_name("napping", first_free) in executions(kube, namespace),
        timeout=200,
        what=f"napping's run for {stamp(first_free)}",
    )
    assert minute_name("napping", covered) not in executions(kube, namespace)
    resumed = condition(get_rjob(kube, namespace, "napping"), "Suspended")
    assert resumed is not None
    assert resumed["status"] == "False"
    # paused saw the same two slots and ran neither.
    assert [n for n in executions(kube, namespace) if n.startswith("paused-")] == []

    # Resuming does not run the slots missed while suspended.
    patch_spec(kube, namespace, "paused", {"suspend": False})
    wait_until(
        lambda: (
            (condition(get_rjob(kube, namespace, "paused"), "Suspended") or {}).get("status")
            == "False"
        ),
        timeout=30,
        what="paused to resume",
    )
    assert [n for n in executions(kube, namespace) if n.startswith("paused-")] == []
    assert get_rjob(kube, namespace, "paused")["status"]["nextScheduleTime"]


@pytest.mark.parametrize(
    ("policy", "deadline", "expected"),
    [
        # Three hourly slots were missed while the operator was down (see the test).
        ("Latest", None, {0: "Schedule"}),
        ("All", None, {-2: "Backfill", -1: "Backfill", 0: "Schedule"}),
        ("All", 90 * 60, {-1: "Backfill", 0: "Schedule"}),
        ("Skip", None, {}),
    ],
    ids=["Latest", "All", "All-within-deadline", "Skip"],
)
def test_missed_runs_after_operator_downtime(
    kube: Client,
    namespace: str,
    operator: OperatorProcess,
    policy: str,
    deadline: int | None,
    expected: dict[int, str],
) -> None:
    # An hourly schedule whose latest slot was five minutes ago, on an object whose
    # status says the operator last handled a slot three hours ago: as if the
    # operator had been down for the three slots since.
    latest = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    extra: dict[str, Any] = {} if deadline is None else {"startingDeadlineSeconds": deadline}
    create_rjob(
        kube,
        namespace,
        "nightly",
        schedule=f"{latest.minute} * * * *",
        missedRunPolicy=policy,
        **extra,
    )
    kube.patch(
        RerunnableJobResource.Status,
        "nightly",
        {"status": {"lastScheduleTime": stamp(latest - timedelta(hours=3))}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )

    operator.start()

    wait_until(
        lambda: (
            get_rjob(kube, namespace, "nightly")["status"].get("lastScheduleTime") == stamp(latest)
        ),
        timeout=60,
        what="the operator to handle the missed slots",
    )
    want = {minute_name("nightly", latest + timedelta(hours=h)): t for h, t in expected.items()}
    found = {n: e["spec"]["trigger"] for n, e in executions(kube, namespace).items()}
    assert found == want

    def reasons() -> list[tuple[str, str]]:
        return [(r, m) for _, r, m in events_for(kube, namespace, "nightly")]

    if len(expected) < 3:
        missed = wait_until(
            lambda: [m for r, m in reasons() if r == "MissedSchedule"],
            timeout=30,
            what="a MissedSchedule event",
        )
        assert len(missed) == 1
        assert f"{3 - len(expected)} scheduled run(s) missed" in missed[0]
    else:
        # Nothing was missed: the pass that started the three runs reported no miss.
        wait_until(
            lambda: len([r for r, _ in reasons() if r == "RunStarted"]) == 3,
            timeout=30,
            what="three RunStarted events",
        )
        assert "MissedSchedule" not in {r for r, _ in reasons()}


def test_bad_input_is_reported_and_recovers_while_others_run(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "bad-cron", schedule="61 * * * *")
    create_rjob(kube, namespace, "bad-zone", schedule="0 3 * * *", timeZone="Mars/Olympus_Mons")
    create_rjob(kube, namespace, "bad-template")
    broken = {"containers": [{"name": "Not_A_DNS_Label", "image": "busybox:1.36"}]}
    patch_spec(
        kube, namespace, "bad-template", {"jobTemplate": {"spec": {"template": {"spec": broken}}}}
    )
    create_rjob(kube, namespace, "good")

    def not_ready(name: str) -> dict[str, Any] | None:
        found = condition(get_rjob(kube, namespace, name), "Ready")
        return found if found and found["reason"] != "Ready" else None

    bad_cron = wait_until(lambda: not_ready("bad-cron"), timeout=30, what="bad-cron not Ready")
    assert bad_cron["status"] == "False"
    assert bad_cron["reason"] == "InvalidSchedule"
    assert bad_cron["message"].startswith("spec.schedule:")
    assert "61" in bad_cron["message"]
    wait_until(
        lambda: (
            ("Warning", "InvalidSchedule")
            in {(t, r) for t, r, _ in events_for(kube, namespace, "bad-cron")}
        ),
        timeout=30,
        what="an InvalidSchedule Warning event",
    )
    bad_zone = wait_until(lambda: not_ready("bad-zone"), timeout=30, what="bad-zone not Ready")
    assert bad_zone["reason"] == "InvalidTimeZone"
    assert "Mars/Olympus_Mons" in bad_zone["message"]

    annotate_run(kube, namespace, "bad-template", "try")
    rejected = manual_name("bad-template", "try")
    wait_phase(kube, namespace, rejected, "Failed")
    assert executions(kube, namespace)[rejected]["status"]["reason"] == "JobRejected"
    bad_template = wait_until(
        lambda: not_ready("bad-template"), timeout=30, what="bad-template not Ready"
    )
    assert bad_template["reason"] == "InvalidJobTemplate"
    assert bad_template["message"].startswith("spec.jobTemplate:")

    # The broken objects hold up nobody else.
    annotate_run(kube, namespace, "good", "go")
    wait_phase(kube, namespace, manual_name("good", "go"), "Succeeded")

    # Fixing an object makes it Ready again, without restarting the operator.
    patch_spec(kube, namespace, "bad-cron", {"schedule": "0 3 * * *"})
    fixed = {"containers": [{"name": "main", "image": "busybox:1.36"}]}
    patch_spec(
        kube, namespace, "bad-template", {"jobTemplate": {"spec": {"template": {"spec": fixed}}}}
    )
    for name in ("bad-cron", "bad-template"):
        wait_until(ready_again(kube, namespace, name), timeout=30, what=f"{name} Ready again")
    annotate_run(kube, namespace, "bad-template", "again")
    wait_phase(kube, namespace, manual_name("bad-template", "again"), "Succeeded")
    assert phases(kube, namespace)[rejected] == "Failed"


def ready_again(kube: Client, namespace: str, name: str) -> Callable[[], bool]:
    def probe() -> bool:
        ready = condition(get_rjob(kube, namespace, name), "Ready")
        return ready is not None and ready["status"] == "True"

    return probe
