"""Retries end to end: a run that fails is run again, as a new attempt, after a backoff.

The simulated pods fail by attempt (sim.rerunnable.dev/exit-code-attempt-N reads the
rerunnable.dev/attempt annotation the operator puts on a run's pods), so a run that
fails twice and then succeeds is the same template each time, as in life.
"""

from datetime import datetime, timedelta
from typing import Any

import pytest
from lightkube import Client

from rerunnable.core.naming import attempt_execution_name
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    RerunnableJobResource,
    annotate_run,
    condition,
    executions,
    jobs,
    manual_name,
    phases,
    rjob_body,
    settled_status,
    wait_event,
    wait_phase,
)
from tests.e2e.test_plugin import explain, rerun
from tests.e2e.waiting import wait_until

SIGKILL_EXIT = -9


def create_flaky(
    kube: Client, namespace: str, name: str, exit_codes: dict[int, int], **spec: Any
) -> None:
    """A RerunnableJob whose pods exit with exit_codes[attempt] (0 for attempts not listed)."""
    body = rjob_body(namespace, name, **spec)
    annotations = body["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]
    for attempt, code in exit_codes.items():
        annotations[f"sim.rerunnable.dev/exit-code-attempt-{attempt}"] = str(code)
    kube.create(RerunnableJobResource.from_dict(body))


RETRY = {"limit": 2, "backoff": {"initialSeconds": 2, "factor": 2, "maxSeconds": 60}}


def time_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_run_failing_twice_succeeds_on_attempt_3_after_growing_backoffs(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_flaky(kube, namespace, "flaky", {1: 1, 2: 1}, retry=RETRY)

    result = rerun(
        cluster, namespace, "run", "flaky", "--token", "t1", "--wait", "--timeout", "120s"
    )

    first = manual_name("flaky", "t1")
    second, third = (attempt_execution_name("flaky", first, n) for n in (2, 3))
    assert result.returncode == 0, explain(result)
    assert f"Execution {first} Failed" in result.stdout
    assert f"attempt 2 ({second}) starts at" in result.stdout
    assert f"Execution {third} Succeeded" in result.stdout

    found = executions(kube, namespace)
    assert sorted(found) == sorted([first, second, third])
    assert sorted(jobs(kube, namespace)) == sorted([first, second, third])
    specs = {n: found[n]["spec"] for n in found}
    assert [specs[n]["trigger"] for n in (first, second, third)] == ["Manual", "Retry", "Retry"]
    assert [specs[n]["attempt"] for n in (first, second, third)] == [1, 2, 3]
    assert [specs[n].get("retryOf") for n in (first, second, third)] == [None, first, first]
    assert all(specs[n]["token"] == "t1" for n in found)
    # Each retry waited its backoff, counted from the end of the attempt before.
    for before, after, wait in ((first, second, 2), (second, third, 4)):
        ended = time_of(found[before]["status"]["completionTime"])
        created = time_of(found[after]["metadata"]["creationTimestamp"])
        assert created >= ended + timedelta(seconds=wait - 1), (before, after)
        retrying = condition(found[before], "Retrying")
        assert retrying is not None
        assert retrying["reason"] == "Retried"
        assert found[before]["status"].get("nextAttemptTime") is None
    # One run: it succeeded, and it is not active.
    status = settled_status(kube, namespace, "flaky")
    assert status["lastResult"] == "Succeeded"
    assert status["activeCount"] == 0
    assert len(wait_event(kube, namespace, "flaky", "RunRetrying", count=2)) == 2

    history = rerun(cluster, namespace, "history", "flaky")
    assert "Retry #3" in history.stdout, explain(history)


def test_a_run_that_exhausts_its_retries_fails_once_and_is_pruned_whole(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    retry = {"limit": 1, "backoff": {"initialSeconds": 1}}
    create_flaky(kube, namespace, "doomed", {}, exit_code=1, retry=retry, failedJobsHistoryLimit=1)

    result = rerun(
        cluster, namespace, "run", "doomed", "--token", "a", "--wait", "--timeout", "90s"
    )
    assert result.returncode == 1, explain(result)
    first = manual_name("doomed", "a")
    second = attempt_execution_name("doomed", first, 2)
    assert f"Execution {second} Failed" in result.stdout
    last = executions(kube, namespace)[second]
    exhausted = condition(last, "Retrying")
    assert exhausted is not None
    assert exhausted["reason"] == "RetriesExhausted"
    status = settled_status(kube, namespace, "doomed")
    assert status["lastResult"] == "Failed"
    assert status["activeCount"] == 0

    # A second failed run: the history limit of 1 keeps it, and prunes the first run whole.
    again = rerun(cluster, namespace, "run", "doomed", "--token=b", "--wait", "--timeout=90s")
    assert again.returncode == 1, explain(again)
    b_first = manual_name("doomed", "b")
    b_second = attempt_execution_name("doomed", b_first, 2)
    wait_until(
        lambda: sorted(executions(kube, namespace)) == sorted([b_first, b_second]),
        timeout=30,
        what="the first run's two attempts to be pruned",
    )


def test_a_waiting_retry_makes_forbid_skip_and_can_be_cancelled(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    retry = {"limit": 3, "backoff": {"initialSeconds": 600}}
    create_flaky(kube, namespace, "slow", {}, exit_code=1, retry=retry, concurrencyPolicy="Forbid")
    annotate_run(kube, namespace, "slow", "first")
    first = manual_name("slow", "first")
    wait_phase(kube, namespace, first, "Failed")
    wait_until(
        lambda: (executions(kube, namespace)[first]["status"].get("nextAttemptTime")) is not None,
        timeout=30,
        what="the failed attempt to say when the next starts",
    )
    status = settled_status(kube, namespace, "slow")
    assert status["active"] == [first]

    # While the retry waits, Forbid skips a new run.
    annotate_run(kube, namespace, "slow", "second")
    wait_until(
        lambda: (
            (settled_status(kube, namespace, "slow").get("lastSkipped") or {}).get("token")
            == "second"
        ),
        timeout=30,
        what="the second run to be skipped",
    )
    skipped = settled_status(kube, namespace, "slow")["lastSkipped"]
    assert skipped["reason"] == "ConcurrencyForbidden"
    assert first in skipped["message"]

    # Cancelling the failed attempt calls its retry off; the run is over.
    cancel = rerun(cluster, namespace, "cancel", first)
    assert cancel.returncode == 0, explain(cancel)
    wait_until(
        lambda: (
            (condition(executions(kube, namespace)[first], "Retrying") or {}).get("reason")
            == "Cancelled"
        ),
        timeout=30,
        what="the retry to be called off",
    )
    wait_until(
        lambda: settled_status(kube, namespace, "slow")["activeCount"] == 0,
        timeout=30,
        what="the run to be over",
    )
    assert list(executions(kube, namespace)) == [first]


@pytest.mark.parametrize(
    "crash_at", ["after-execution-created", "after-job-created", "before-status-written"]
)
def test_a_retry_chain_survives_sigkill_at_every_write_point(
    kube: Client, namespace: str, operator: OperatorProcess, crash_at: str
) -> None:
    retry = {"limit": 2, "backoff": {"initialSeconds": 1}}
    create_flaky(kube, namespace, "sturdy", {1: 1, 2: 1}, retry=retry)
    annotate_run(kube, namespace, "sturdy", "t1")
    first = manual_name("sturdy", "t1")
    third = attempt_execution_name("sturdy", first, 3)
    kills = 0

    def done() -> bool:
        nonlocal kills
        if not operator.running:
            if operator.process is not None:
                assert operator.process.returncode == SIGKILL_EXIT, operator.logs()
                kills += 1
            operator.start(crash_at=crash_at)
        return phases(kube, namespace).get(third) == "Succeeded"

    wait_until(done, timeout=240, what=f"attempt 3 to succeed across crashes at {crash_at}")
    operator.stop()
    # Killed at that point in the pass of each attempt it creates.
    assert kills >= 3, operator.logs()
    second = attempt_execution_name("sturdy", first, 2)
    assert sorted(executions(kube, namespace)) == sorted([first, second, third])
    assert sorted(jobs(kube, namespace)) == sorted([first, second, third])
    assert phases(kube, namespace) == {first: "Failed", second: "Failed", third: "Succeeded"}
