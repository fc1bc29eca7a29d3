"""Restart safety: SIGKILL the operator at the worst moments; the next one converges.

Crash points (rerunnable.faults) make the process kill itself exactly between
two writes, so every interleaving that matters is hit on every run rather
than by luck. After each crash a fresh operator must end with exactly one
Execution and one Job per token or slot, none stuck in a non-terminal phase.
"""

from datetime import datetime

import pytest
from lightkube import Client
from lightkube.resources.batch_v1 import Job
from lightkube.types import PatchType

from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    ExecutionResource,
    annotate_run,
    create_rjob,
    events_for,
    executions,
    get_rjob,
    job_gone_or_going,
    jobs,
    manual_name,
    phases,
    settled_status,
    wait_phase,
)
from tests.e2e.waiting import wait_until

SIGKILL_EXIT = -9


def job_finished(kube: Client, namespace: str, name: str) -> bool:
    job = kube.get(Job, name, namespace=namespace)
    conditions = (job.status and job.status.conditions) or []
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions)


@pytest.mark.parametrize(
    ("crash_at", "state_at_crash"),
    [
        # (Execution exists, Job exists) when the process dies.
        ("after-execution-created", (True, False)),
        ("after-job-created", (True, True)),
        ("before-status-written", (True, True)),
    ],
)
def test_manual_run_survives_sigkill(
    kube: Client,
    namespace: str,
    operator: OperatorProcess,
    crash_at: str,
    state_at_crash: tuple[bool, bool],
) -> None:
    create_rjob(kube, namespace, "sturdy", duration="2s", concurrencyPolicy="Forbid")
    annotate_run(kube, namespace, "sturdy", "t1")
    name = manual_name("sturdy", "t1")
    operator.start(crash_at=crash_at)

    assert operator.wait_killed(timeout=60) == SIGKILL_EXIT
    assert (name in executions(kube, namespace), name in jobs(kube, namespace)) == state_at_crash

    operator.start()
    wait_phase(kube, namespace, name, "Succeeded")

    assert list(executions(kube, namespace)) == [name]
    assert list(jobs(kube, namespace)) == [name]
    status = settled_status(kube, namespace, "sturdy")
    assert status["lastRunToken"] == "t1"
    assert status["activeCount"] == 0
    # A second token after the restart runs once too: nothing is wedged.
    annotate_run(kube, namespace, "sturdy", "t2")
    wait_phase(kube, namespace, manual_name("sturdy", "t2"), "Succeeded")
    assert sorted(executions(kube, namespace)) == sorted([name, manual_name("sturdy", "t2")])


def test_scheduled_slot_runs_once_across_a_crash_before_the_status_write(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "minutely", schedule="* * * * *")
    operator.start(crash_at="before-status-written")

    assert operator.wait_killed(timeout=100) == SIGKILL_EXIT
    (name,) = executions(kube, namespace)
    slot = executions(kube, namespace)[name]["spec"]["scheduledTime"]
    # The crash came before lastScheduleTime recorded the slot.
    assert get_rjob(kube, namespace, "minutely").get("status", {}).get("lastScheduleTime") != slot

    operator.start()
    wait_until(
        lambda: (
            get_rjob(kube, namespace, "minutely").get("status", {}).get("lastScheduleTime") == slot
        ),
        timeout=60,
        what="the restarted operator to record the slot",
    )
    wait_phase(kube, namespace, name, "Succeeded")
    same_slot = [
        n for n, e in executions(kube, namespace).items() if e["spec"].get("scheduledTime") == slot
    ]
    assert same_slot == [name]
    assert int(name.rsplit("-", 1)[1]) * 60 == int(datetime.fromisoformat(slot).timestamp())


def test_a_run_that_ends_while_the_operator_is_down_is_recorded_after_restart(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "unattended", duration="3s")
    operator.start()
    annotate_run(kube, namespace, "unattended", "t1")
    name = manual_name("unattended", "t1")
    wait_phase(kube, namespace, name, "Running")

    operator.kill()
    wait_until(
        lambda: job_finished(kube, namespace, name),
        timeout=60,
        what=f"Job {name} to finish while the operator is down",
    )
    assert phases(kube, namespace)[name] == "Running"

    operator.start()
    wait_phase(kube, namespace, name, "Succeeded")
    assert settled_status(kube, namespace, "unattended")["lastResult"] == "Succeeded"
    wait_until(
        lambda: "RunSucceeded" in {r for _, r, _ in events_for(kube, namespace, "unattended")},
        timeout=30,
        what="a RunSucceeded event",
    )


def test_a_job_deleted_while_the_operator_is_down_ends_interrupted(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "orphaned", duration="600s")
    operator.start()
    annotate_run(kube, namespace, "orphaned", "t1")
    name = manual_name("orphaned", "t1")
    wait_phase(kube, namespace, name, "Running")

    operator.kill()
    kube.delete(Job, name, namespace=namespace)
    wait_until(lambda: name not in jobs(kube, namespace), timeout=60, what=f"Job {name} to be gone")

    operator.start()
    wait_phase(kube, namespace, name, "Interrupted")
    assert executions(kube, namespace)[name]["status"]["reason"] == "JobDeleted"
    assert settled_status(kube, namespace, "orphaned")["activeCount"] == 0


@pytest.mark.parametrize(
    ("crash_at", "job_at_crash"),
    [
        # Does the run's Job still exist when the process dies?
        ("after-interrupt-written", True),
        ("after-job-deleted", False),
    ],
)
def test_a_cancel_survives_sigkill_between_its_writes(
    kube: Client, namespace: str, operator: OperatorProcess, crash_at: str, job_at_crash: bool
) -> None:
    create_rjob(kube, namespace, "cancelled", duration="600s")
    operator.start()
    annotate_run(kube, namespace, "cancelled", "t1")
    name = manual_name("cancelled", "t1")
    wait_phase(kube, namespace, name, "Running")
    operator.stop()

    kube.patch(
        ExecutionResource,
        name,
        {"metadata": {"annotations": {"rerunnable.dev/cancel": "true"}}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    operator.start(crash_at=crash_at)
    assert operator.wait_killed(timeout=60) == SIGKILL_EXIT
    # The status was written before the crash in both cases.
    assert phases(kube, namespace)[name] == "Interrupted"
    assert (not job_gone_or_going(kube, namespace, name)) == job_at_crash

    operator.start()
    wait_until(
        lambda: job_gone_or_going(kube, namespace, name),
        timeout=60,
        what=f"the cancelled run's Job {name} deleted",
    )
    status = executions(kube, namespace)[name]["status"]
    assert (status["phase"], status["reason"]) == ("Interrupted", "Cancelled")
    assert settled_status(kube, namespace, "cancelled")["activeCount"] == 0
    assert list(executions(kube, namespace)) == [name]
    # Nothing is wedged: the next token runs.
    annotate_run(kube, namespace, "cancelled", "t2")
    wait_phase(kube, namespace, manual_name("cancelled", "t2"), "Running")
