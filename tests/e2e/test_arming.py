"""Runs armed ahead (`--arm-ahead-seconds`): a scheduled run's Execution is made before its
slot (Pending, reason Scheduled) and only its Job at the slot. What a user sees with
kubectl, against the real API server and Job controller: the armed run, the run it
becomes at its slot, an edit before the slot taken, a suspension that removes it, and
exactly one run for the slot across a crash and a leader's death.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lightkube import Client

from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    create_rjob,
    events_for,
    executions,
    get_rjob,
    jobs,
    patch_spec,
    wait_phase,
)
from tests.e2e.test_leader import holder
from tests.e2e.test_plugin import rerun
from tests.e2e.waiting import wait_until

ARMED = "rerunnable.dev/armed"
# Longer than a minute: a minutely job's next slot is armed as soon as the job is seen.
AHEAD = "90"
SIGKILL_EXIT = -9


@pytest.fixture
def arming(operator: OperatorProcess) -> OperatorProcess:
    operator.extra_args += ["--arm-ahead-seconds", AHEAD]
    return operator


def armed_run(kube: Client, namespace: str, *, at_least: float = 0) -> tuple[str, datetime] | None:
    """The armed run waiting for its slot, if its slot is `at_least` seconds away: its name
    and slot."""
    for name, e in executions(kube, namespace).items():
        status = e.get("status") or {}
        if (e["metadata"].get("annotations") or {}).get(ARMED) != "true":
            continue
        if (status.get("phase"), status.get("reason")) != ("Pending", "Scheduled"):
            continue
        slot = datetime.fromisoformat(e["spec"]["scheduledTime"])
        if (slot - datetime.now(UTC)).total_seconds() >= at_least:
            return name, slot
    return None


def wait_armed(kube: Client, namespace: str, *, at_least: float = 0) -> tuple[str, datetime]:
    return wait_until(
        lambda: armed_run(kube, namespace, at_least=at_least),
        timeout=90,
        what=f"a run armed at least {at_least:.0f}s before its slot",
    )


def same_slot(kube: Client, namespace: str, slot: datetime) -> list[str]:
    stamp = slot.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        n for n, e in executions(kube, namespace).items() if e["spec"]["scheduledTime"] == stamp
    ]


def test_an_armed_run_waits_for_its_slot_takes_an_edit_and_runs_once(
    cluster: Cluster, kube: Client, namespace: str, arming: OperatorProcess
) -> None:
    arming.start()
    create_rjob(kube, namespace, "tick", schedule="* * * * *", duration="1s")
    # Far enough from its slot to edit the job before it (else the next one, a minute on).
    name, slot = wait_armed(kube, namespace, at_least=15)

    assert name == f"tick-{int(slot.timestamp()) // 60}"
    assert name not in jobs(kube, namespace)  # its Job comes at the slot
    status = executions(kube, namespace)[name]["status"]
    assert status["message"] == f"waits for its scheduled time, {slot:%Y-%m-%dT%H:%M:%SZ}"

    def next_is_the_armed_slot() -> dict[str, Any] | None:
        status: dict[str, Any] = get_rjob(kube, namespace, "tick").get("status") or {}
        return status if status.get("nextScheduleTime") == f"{slot:%Y-%m-%dT%H:%M:%SZ}" else None

    rjob_status = wait_until(
        next_is_the_armed_slot, timeout=30, what="the status to name the armed slot as the next"
    )
    # An armed run is no run yet (the one before it may still be running).
    assert name not in rjob_status.get("active", [])
    assert rjob_status.get("activeCount", 0) == len(rjob_status.get("active", []))

    # kubectl rerun next names it.
    upcoming = rerun(cluster, namespace, "next", "tick", "-c", "1")
    assert upcoming.returncode == 0, upcoming.stderr
    assert upcoming.stdout.splitlines()[1].split()[-1] == "ARMED"
    assert upcoming.stdout.splitlines()[2].split()[-1] == name

    # An edit before the slot: the run is made again, as the job is now.
    patch_spec(kube, namespace, "tick", {"jobTemplate": {"metadata": {"labels": {"edition": "2"}}}})

    def generation() -> int | None:
        e = executions(kube, namespace).get(name)
        return int(e["spec"]["templateGeneration"]) if e is not None else None

    wait_until(lambda: generation() == 2, timeout=30, what=f"{name} armed again from generation 2")

    wait_phase(kube, namespace, name, "Succeeded", timeout=90)
    job = jobs(kube, namespace)[name]
    assert job.metadata is not None
    assert job.metadata.labels is not None
    assert job.metadata.labels["edition"] == "2"
    assert job.metadata.creationTimestamp is not None
    assert job.metadata.creationTimestamp >= slot  # never before its slot
    finished = executions(kube, namespace)[name]["status"]
    assert finished["jobName"] == name
    assert finished.get("reason") != "Scheduled"
    assert same_slot(kube, namespace, slot) == [name]
    # The next slot is armed in its turn.
    _, following = wait_armed(kube, namespace)
    assert following == slot + timedelta(minutes=1)
    started = [m for t, r, m in events_for(kube, namespace, "tick") if r == "RunStarted"]
    assert any(name in m for m in started)


def test_suspending_removes_the_armed_run_and_resuming_arms_again(
    kube: Client, namespace: str, arming: OperatorProcess
) -> None:
    arming.start()
    create_rjob(kube, namespace, "tick", schedule="* * * * *")
    name, _ = wait_armed(kube, namespace)

    patch_spec(kube, namespace, "tick", {"suspend": True})
    wait_until(
        lambda: name not in executions(kube, namespace),
        timeout=30,
        what="the armed run to go once the job is suspended",
    )
    assert executions(kube, namespace) == {}
    assert jobs(kube, namespace) == {}

    patch_spec(kube, namespace, "tick", {"suspend": False})
    wait_armed(kube, namespace)


@pytest.mark.slow
def test_a_crash_right_after_arming_runs_the_slot_once(
    kube: Client, namespace: str, arming: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "tick", schedule="* * * * *", duration="1s")
    arming.start(crash_at="after-armed")
    assert arming.wait_killed(timeout=60) == SIGKILL_EXIT
    name, slot = wait_armed(kube, namespace)

    arming.start()
    wait_phase(kube, namespace, name, "Succeeded", timeout=120)

    assert same_slot(kube, namespace, slot) == [name]
    assert [j for j in jobs(kube, namespace) if j == name] == [name]


@pytest.mark.slow
def test_a_standby_runs_the_slot_its_dead_leader_armed_once(
    kube: Client, namespace: str, arming: OperatorProcess, standby: OperatorProcess
) -> None:
    standby.extra_args += ["--arm-ahead-seconds", AHEAD]
    arming.start()
    wait_until(
        lambda: holder(kube, namespace) == arming.identity, timeout=30, what="the first to lead"
    )
    standby.start()
    create_rjob(kube, namespace, "tick", schedule="* * * * *", duration="1s")
    # The leader dies with a run armed: its slot falls to the standby.
    name, slot = wait_armed(kube, namespace, at_least=5)
    arming.kill()

    wait_until(lambda: holder(kube, namespace) == standby.identity, timeout=60, what="the takeover")
    wait_phase(kube, namespace, name, "Succeeded", timeout=120)
    assert same_slot(kube, namespace, slot) == [name]
    assert [j for j in jobs(kube, namespace) if j == name] == [name]
    # The standby arms the next slot in its turn.
    _, following = wait_armed(kube, namespace)
    assert following > slot
