"""Backfill end to end: the slots of a past range, each run once, oldest first, at most N at
once, with a second replica running; refusals say why and start nothing."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lightkube import Client

from rerunnable.api.v1alpha1 import rfc3339
from rerunnable.core.naming import scheduled_execution_name
from tests.e2e.cluster import Cluster
from tests.e2e.operator import Kubelet, OperatorProcess
from tests.e2e.rjobs import (
    condition,
    create_rjob,
    executions,
    get_rjob,
    wait_event,
)
from tests.e2e.test_plugin import explain, rerun
from tests.e2e.waiting import wait_until


def ten_minutes_ago() -> datetime:
    """A slot of `*/10 * * * *` at least ten minutes in the past."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 10 + 10)


def backfills(kube: Client, namespace: str, name: str) -> dict[str, Any]:
    return {
        n: e
        for n, e in executions(kube, namespace).items()
        if e["spec"]["rerunnableJob"] == name and e["spec"]["trigger"] == "Backfill"
    }


def test_a_backfill_runs_each_slot_once_and_skips_those_that_ran(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "report", schedule="*/10 * * * *", successfulJobsHistoryLimit=10)
    end = ten_minutes_ago() + timedelta(minutes=10)
    start = end - timedelta(minutes=40)  # 4 slots
    middle = start + timedelta(minutes=20)  # the first 2

    first = rerun(cluster, namespace, "backfill", "report", "--from", rfc3339(start),
                  "--to", rfc3339(middle), "--wait", "--timeout=90s")  # fmt: skip
    assert first.returncode == 0, explain(first)
    assert "2 slots" in first.stdout
    assert sorted(backfills(kube, namespace, "report")) == sorted(
        scheduled_execution_name("report", start + timedelta(minutes=m)) for m in (0, 10)
    )

    second = rerun(cluster, namespace, "backfill", "report", "--from", rfc3339(start),
                   "--to", rfc3339(end), "--wait", "--timeout=90s")  # fmt: skip
    assert second.returncode == 0, explain(second)
    found = backfills(kube, namespace, "report")
    assert sorted(found) == sorted(
        scheduled_execution_name("report", start + timedelta(minutes=m)) for m in (0, 10, 20, 30)
    )
    assert all(e["status"]["phase"] == "Succeeded" for e in found.values())
    status = get_rjob(kube, namespace, "report")["status"]
    fill = status["backfill"]
    assert (fill["total"], fill["skipped"], fill["started"], fill["succeeded"]) == (4, 2, 2, 2)
    backfilling = condition(get_rjob(kube, namespace, "report"), "Backfilling")
    assert backfilling is not None
    assert (backfilling["status"], backfilling["reason"]) == ("False", "Completed")
    wait_event(kube, namespace, "report", "BackfillCompleted")

    # The same range again changes nothing.
    again = rerun(cluster, namespace, "backfill", "report", "--from", rfc3339(start),
                  "--to", rfc3339(end), "--wait", "--timeout=60s")  # fmt: skip
    assert again.returncode == 0, explain(again)
    assert sorted(backfills(kube, namespace, "report")) == sorted(found)


def test_parallelism_bounds_the_runs_at_once_with_two_replicas(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
) -> None:
    kubelet = Kubelet(operator, standby)
    try:
        operator.start()
        standby.start()
        create_rjob(kube, namespace, "slow", schedule="*/10 * * * *", duration="3s",
                    successfulJobsHistoryLimit=10)  # fmt: skip
        end = ten_minutes_ago() + timedelta(minutes=10)
        start = end - timedelta(minutes=60)  # 6 slots
        done = rerun(cluster, namespace, "backfill", "slow", "--from", rfc3339(start),
                     "--to", rfc3339(end), "--parallel", "2", "--wait", "--timeout=3m")  # fmt: skip
        assert done.returncode == 0, explain(done)
    finally:
        kubelet.stop()
    found = backfills(kube, namespace, "slow")
    assert len(found) == 6
    # Oldest first, and never more than two at once: the k-th run (k ≥ 3) was created
    # no earlier than the (k-2)-th had ended.
    by_slot = sorted(found.values(), key=lambda e: e["spec"]["scheduledTime"])
    created = [datetime.fromisoformat(e["metadata"]["creationTimestamp"]) for e in by_slot]
    ended = [datetime.fromisoformat(e["status"]["completionTime"]) for e in by_slot]
    for k in range(2, 6):
        assert created[k] >= min(sorted(ended[:k])[k - 2 :]), (k, created, ended)


@pytest.mark.parametrize(
    ("case", "span", "message"),
    [
        ("future", (-1, 1), "in the future"),
        ("reversed", (-1, -2), "must be after"),
        ("too many", (-720, -24), "more than 1000"),
    ],
)  # fmt: skip
def test_a_refused_backfill_says_why_and_starts_nothing(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    operator: OperatorProcess,
    case: str,
    span: tuple[int, int],
    message: str,
) -> None:
    operator.start()
    create_rjob(kube, namespace, "report", schedule="*/10 * * * *")
    now = datetime.now(UTC)
    start, end = (now + timedelta(hours=h) for h in span)  # hours from now
    refused = rerun(cluster, namespace, "backfill", "report", "--from", rfc3339(start),
                    "--to", rfc3339(end))  # fmt: skip
    assert refused.returncode == 1, explain(refused)
    assert message in refused.stderr
    assert "nothing changed" in refused.stderr

    # Written by hand past the plugin (no webhook here): the operator says why.
    value = f"{rfc3339(start)}/{rfc3339(end)}"
    patch = {"metadata": {"annotations": {"rerunnable.dev/backfill": value}}}
    cluster.kubectl(
        "patch", "rjob/report", "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )
    wait_until(
        lambda: (
            (condition(get_rjob(kube, namespace, "report"), "Backfilling") or {}).get("reason")
            == "InvalidBackfill"
        ),
        timeout=30,
        what="the operator to refuse the backfill",
    )
    said = condition(get_rjob(kube, namespace, "report"), "Backfilling")
    assert said is not None
    assert message in said["message"], case
    wait_event(kube, namespace, "report", "BackfillRefused", "Warning")
    assert backfills(kube, namespace, "report") == {}
