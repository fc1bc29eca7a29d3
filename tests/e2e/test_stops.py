"""Rules that stop a schedule, end to end: suspendAfterFailures (and resume), maxRuns, endTime
and startTime, and the refusal of a window that ends before it starts."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from lightkube import Client

from rerunnable.api.v1alpha1 import rfc3339
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    annotate_run,
    condition,
    create_rjob,
    executions,
    get_rjob,
    manual_name,
    rjob_body,
    wait_event,
    wait_phase,
)
from tests.e2e.test_plugin import explain, rerun
from tests.e2e.waiting import wait_until


def suspended(kube: Client, namespace: str, name: str) -> tuple[str, str] | None:
    found = condition(get_rjob(kube, namespace, name), "Suspended")
    return (found["status"], found["reason"]) if found else None


@pytest.mark.slow
def test_failures_in_a_row_and_max_runs_stop_the_schedule_and_resume_clears_it(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(
        kube, namespace, "fragile", schedule="* * * * *", exit_code=1, suspendAfterFailures=1
    )
    create_rjob(kube, namespace, "limited", schedule="* * * * *", maxRuns=1)

    # The next minute: each job's first scheduled run, then its rule.
    wait_until(
        lambda: (
            suspended(kube, namespace, "fragile") == ("True", "ConsecutiveFailures")
            and suspended(kube, namespace, "limited") == ("True", "MaxRunsReached")
        ),
        timeout=150,
        what="both jobs to stop after their first scheduled run",
    )
    fragile = get_rjob(kube, namespace, "fragile")["status"]
    assert fragile["consecutiveFailures"] == 1
    assert fragile.get("nextScheduleTime") is None
    wait_event(kube, namespace, "fragile", "SuspendedAfterFailures", "Warning")
    limited = get_rjob(kube, namespace, "limited")["status"]
    assert limited["remainingRuns"] == 0
    assert limited["scheduledRuns"] == 1
    assert limited.get("nextScheduleTime") is None
    nxt = rerun(cluster, namespace, "next", "limited")
    assert "no scheduled runs: 1 scheduled runs have started (spec.maxRuns)" in nxt.stdout, explain(
        nxt
    )
    # The spec is left alone (GitOps tools would fight a change).
    assert not get_rjob(kube, namespace, "fragile")["spec"].get("suspend")

    # Manual runs are not limited by these rules.
    annotate_run(kube, namespace, "limited", "by-hand")
    wait_phase(kube, namespace, manual_name("limited", "by-hand"), "Succeeded")

    resumed = rerun(cluster, namespace, "resume", "fragile")
    assert resumed.returncode == 0, explain(resumed)
    assert "1 failures in a row forgiven" in resumed.stdout
    wait_until(
        lambda: suspended(kube, namespace, "fragile") == ("False", "NotSuspended"),
        timeout=30,
        what="the resume to clear the suspension",
    )
    status = get_rjob(kube, namespace, "fragile")["status"]
    assert status["consecutiveFailures"] == 0
    assert status.get("nextScheduleTime") is not None
    assert len(executions(kube, namespace)) == 3  # fragile's one, limited's one and by-hand


def test_end_time_past_and_start_time_ahead(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    now = datetime.now(UTC)
    create_rjob(
        kube, namespace, "ended", schedule="* * * * *", endTime=rfc3339(now - timedelta(hours=1))
    )
    later = (now + timedelta(days=2)).replace(hour=3, minute=0, second=0, microsecond=0)
    create_rjob(kube, namespace, "later", schedule="0 3 * * *", startTime=rfc3339(later))

    wait_until(
        lambda: suspended(kube, namespace, "ended") == ("True", "EndTimeReached"),
        timeout=30,
        what="a job past its endTime to say so",
    )
    assert get_rjob(kube, namespace, "ended")["status"].get("nextScheduleTime") is None
    wait_until(
        lambda: (
            (get_rjob(kube, namespace, "later").get("status") or {}).get("nextScheduleTime")
            == rfc3339(later)
        ),
        timeout=30,
        what="the first run to be at startTime",
    )
    nxt = rerun(cluster, namespace, "next", "later", "-c", "1")
    assert rfc3339(later) in nxt.stdout, explain(nxt)


def test_a_window_that_ends_before_it_starts_is_refused_at_apply(
    cluster: Cluster, namespace: str
) -> None:
    body = rjob_body(
        namespace,
        "backwards",
        schedule="* * * * *",
        startTime="2026-12-10T00:00:00Z",
        endTime="2026-12-01T00:00:00Z",
    )
    created = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(body), check=False)
    assert created.returncode != 0
    assert "spec.endTime must be after spec.startTime" in created.stderr
