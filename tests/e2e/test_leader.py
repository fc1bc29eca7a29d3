"""High availability: two replicas, one Lease, the leader SIGKILLed mid-burst."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Event

from tests.e2e.operator import LEASE_DURATION, OperatorProcess
from tests.e2e.rjobs import (
    annotate_run,
    create_rjob,
    executions,
    manual_name,
    phases,
    settled_status,
)
from tests.e2e.waiting import wait_until

LEASE = "rerunnable-operator"


def holder(kube: Client, namespace: str) -> str | None:
    try:
        lease = kube.get(Lease, LEASE, namespace=namespace)
    except ApiError as e:
        if e.status.code == 404:
            return None
        raise
    return lease.spec.holderIdentity if lease.spec else None


def events_by(kube: Client, namespace: str, instance: str) -> list[Event]:
    return [e for e in kube.list(Event, namespace=namespace) if e.reportingInstance == instance]


@pytest.mark.slow
def test_standby_takes_over_from_a_killed_leader_without_losing_or_doubling_runs(
    kube: Client, namespace: str, operator: OperatorProcess, standby: OperatorProcess
) -> None:
    leader = operator
    leader.start()
    wait_until(
        lambda: holder(kube, namespace) == leader.identity,
        timeout=30,
        what="the first replica to lead",
    )
    standby.start()
    create_rjob(
        kube,
        namespace,
        "burst",
        schedule="* * * * *",
        duration="1s",
        successfulJobsHistoryLimit=100,
    )
    created = datetime.now(UTC)

    def run(token: str) -> None:
        annotate_run(kube, namespace, "burst", token)
        wait_until(
            lambda: manual_name("burst", token) in executions(kube, namespace),
            timeout=60,
            what=f"the Execution of token {token}",
        )

    tokens = [f"t{i}" for i in range(12)]
    for token in tokens[:4]:
        run(token)
    # Kill the leader just before a minute turns, so that slot falls in the gap.
    wait_until(lambda: datetime.now(UTC).second >= 56, timeout=70, what="second 56")
    # The standby has watched everything so far and written nothing.
    assert events_by(kube, namespace, standby.identity) == []
    assert events_by(kube, namespace, leader.identity)
    annotate_run(kube, namespace, "burst", tokens[4])
    killed_at = time.monotonic()
    leader.kill()
    gap_slot = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)

    wait_until(
        lambda: holder(kube, namespace) == standby.identity,
        timeout=60,
        what="the standby to take the lease",
    )
    takeover = time.monotonic() - killed_at
    print(f"takeover after SIGKILL: {takeover:.1f}s (lease duration {LEASE_DURATION}s)")
    wait_until(
        lambda: manual_name("burst", tokens[4]) in executions(kube, namespace),
        timeout=60,
        what="the token annotated as the leader died",
    )
    for token in tokens[5:]:
        run(token)
    # One more slot after the takeover, scheduled by the new leader.
    after = gap_slot + timedelta(minutes=1)
    wait_until(
        lambda: f"burst-{int(after.timestamp()) // 60}" in executions(kube, namespace),
        timeout=130,
        what="the first slot after the takeover",
    )

    found = executions(kube, namespace)
    by_token = [e["spec"].get("token") for e in found.values() if e["spec"]["trigger"] == "Manual"]
    assert sorted(by_token) == sorted(tokens), "every token exactly once"
    slots = sorted(
        e["spec"]["scheduledTime"] for e in found.values() if e["spec"]["trigger"] == "Schedule"
    )
    expected = []
    slot = created.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while slot <= after:
        expected.append(slot.strftime("%Y-%m-%dT%H:%M:%SZ"))
        slot += timedelta(minutes=1)
    assert slots == expected, "every slot exactly once, the one in the gap included"
    wait_until(
        lambda: all(p in ("Succeeded",) for p in phases(kube, namespace).values()),
        timeout=60,
        what="every run to succeed",
    )
    assert settled_status(kube, namespace, "burst")["lastRunToken"] == tokens[-1]
    assert events_by(kube, namespace, standby.identity), "the new leader reports its work"
