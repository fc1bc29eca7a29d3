"""High availability through API-server outages and a partition, with two replicas.

What a control-plane upgrade or a network fault does to a running operator:
the API server is SIGKILLed and started again (its clients see refused
connections), or one replica's connection is blackholed (its requests hang).
A kubelet stand-in restarts a replica that exits, as Kubernetes would. Every
write of the operator carries its identity in its Events' reportingInstance,
so "never two writers at once" is checked on what landed in the cluster.
"""

import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Event

from tests.e2e.blackhole import Blackhole
from tests.e2e.cluster import Cluster
from tests.e2e.controlplane import api_server, wait_ready
from tests.e2e.operator import Kubelet, OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, executions, jobs, manual_name, phases
from tests.e2e.waiting import wait_until

LEASE = "rerunnable-operator"
RENEW_DEADLINE = 3.0  # tests/e2e/operator.py LEASE_TIMINGS
RETRY_PERIOD = 0.5
LONG_OUTAGE = 180.0  # seconds: past kopf's own retries of a watch (about a minute)


@pytest.fixture
def kubelet(operator: OperatorProcess, standby: OperatorProcess) -> Iterator[Kubelet]:
    kubelet = Kubelet(operator, standby)
    yield kubelet
    kubelet.stop()


def lease(kube: Client, namespace: str) -> Lease | None:
    try:
        return kube.get(Lease, LEASE, namespace=namespace)
    except ApiError as e:
        if e.status.code == 404:
            return None
        raise


def holder(kube: Client, namespace: str) -> str | None:
    found = lease(kube, namespace)
    return found.spec.holderIdentity if found is not None and found.spec else None


def start_pair(
    kube: Client, namespace: str, leader: OperatorProcess, standby: OperatorProcess
) -> None:
    """The first replica leads; the second has seen it lead (it watches the Lease)."""
    leader.start()
    wait_until(lambda: holder(kube, namespace) == leader.identity, timeout=30, what="a leader")
    standby.start()
    wait_until(
        lambda: f"is held by {leader.identity}" in standby.log_text(),
        timeout=30,
        what="the standby to see the lease held",
    )


def run_token(kube: Client, namespace: str, rjob: str, token: str, timeout: float = 60) -> None:
    annotate_run(kube, namespace, rjob, token)
    wait_until(
        lambda: manual_name(rjob, token) in executions(kube, namespace),
        timeout=timeout,
        what=f"the Execution of token {token}",
    )


def writers(kube: Client, namespace: str) -> dict[str, tuple[datetime, datetime]]:
    """For each replica that wrote (its Events' reportingInstance): its first and last write."""
    spans: dict[str, list[datetime]] = {}
    for e in kube.list(Event, namespace=namespace):
        if e.reportingComponent == "rerunnable.dev/operator" and e.firstTimestamp:
            spans.setdefault(e.reportingInstance or "", []).append(e.firstTimestamp)
    return {who: (min(times), max(times)) for who, times in spans.items()}


def assert_one_writer_at_a_time(kube: Client, namespace: str) -> None:
    spans = sorted(writers(kube, namespace).values())
    for (_, last), (first, _) in itertools.pairwise(spans):
        assert last < first, f"two replicas wrote at once: {spans}"


def assert_each_token_once(
    kube: Client, namespace: str, rjob: str, tokens: list[str], *, settle: float = 90
) -> None:
    """One Execution and one Job per token, and every run ends Succeeded within `settle` s."""
    found = executions(kube, namespace)
    manual = sorted(
        e["spec"].get("token") for e in found.values() if e["spec"]["trigger"] == "Manual"
    )
    assert manual == sorted(tokens), "every token exactly once"
    # An Execution is written before its Job (by design): the last one's Job may be on its way.
    wait_until(
        lambda: sorted(jobs(kube, namespace)) == sorted(found),
        timeout=30,
        what=f"one Job per Execution, no other (Executions: {sorted(found)})",
    )
    try:
        wait_until(
            lambda: set(phases(kube, namespace).values()) == {"Succeeded"},
            timeout=settle,
            what="every run to succeed",
        )
    except AssertionError as e:
        details = {n: (x.get("status") or {}) for n, x in executions(kube, namespace).items()}
        raise AssertionError(f"{e}; Execution statuses: {details}") from None


def leading_lines(process: OperatorProcess) -> int:
    return process.log_text().count("leading: acquired the lease")


# -- API server down past the renew deadline ------------------------------------------------


def test_the_leader_exits_when_the_api_server_is_gone_past_its_renew_deadline_and_one_leads_after(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
    kubelet: Kubelet,
) -> None:
    leader = operator
    start_pair(kube, namespace, leader, standby)
    create_rjob(kube, namespace, "steady", duration="1s", successfulJobsHistoryLimit=100)
    tokens = ["t0"]
    run_token(kube, namespace, "steady", "t0")
    old = leader.identity
    standing_by = standby.identity
    # Its events are sent in the background: let t0's arrive before the server goes.
    wait_until(lambda: old in writers(kube, namespace), timeout=30, what="the leader's events")
    apiserver = api_server(cluster)

    lost_at = apiserver.kill()
    exit_seen = wait_until(
        lambda: next((x for x in kubelet.exits if x.identity == old), None),
        timeout=30,
        what="the leader to exit",
    )
    exit_after = exit_seen.at - lost_at
    apiserver.start()
    back_at = wait_ready(cluster)
    outage = back_at - lost_at

    new_holder = wait_until(
        lambda: (h := holder(kube, namespace)) not in (None, old) and h,
        timeout=60,
        what="a new leader",
    )
    takeover = time.monotonic() - back_at
    for token in ["t1", "t2", "t3"]:
        run_token(kube, namespace, "steady", token)
        tokens.append(token)
    print(
        f"API server down {outage:.1f}s: leader exited {exit_after:.2f}s after losing it "
        f"(renew deadline {RENEW_DEADLINE}s); new leader {new_holder} {takeover:.1f}s after "
        "it was back"
    )

    assert exit_seen.code != 0
    assert exit_after <= RENEW_DEADLINE + RETRY_PERIOD
    assert "lost the lease" in leader.log_text()
    # The old leader's replacement may start while the API server is still installing its
    # paths, find no CRDs and exit again (crash-only, see rerunnable.controller.supervisor);
    # the standby has no reason to exit.
    assert standing_by not in [x.identity for x in kubelet.exits], "the standby exited"
    assert new_holder in (standby.identity, leader.identity)
    assert leading_lines(standby) + leading_lines(leader) == 2, "one leader before, one after"
    assert_each_token_once(kube, namespace, "steady", tokens)
    assert_one_writer_at_a_time(kube, namespace)
    assert old in writers(kube, namespace)
    assert new_holder in writers(kube, namespace)


# -- API server down for less than the renew deadline -----------------------------------------


def test_an_outage_shorter_than_the_renew_deadline_keeps_the_leader(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
    kubelet: Kubelet,
) -> None:
    # A restart of the API server takes seconds; give the replicas room to ride it out.
    deadline = 20.0
    for p in (operator, standby):
        p.lease_timings = (
            "--lease-duration",
            "30",
            "--renew-deadline",
            str(deadline),
            "--retry-period",
            "1",
        )
    start_pair(kube, namespace, operator, standby)
    create_rjob(kube, namespace, "steady", duration="1s", successfulJobsHistoryLimit=100)
    run_token(kube, namespace, "steady", "t0")
    before = lease(kube, namespace)
    assert before is not None
    assert before.spec is not None

    apiserver = api_server(cluster)
    lost_at = apiserver.kill()
    apiserver.start()
    outage = wait_ready(cluster) - lost_at
    print(f"API server down {outage:.1f}s (renew deadline {deadline}s)")
    assert outage < deadline, "the restart took longer than the test's renew deadline"

    run_token(kube, namespace, "steady", "t1")
    wait_until(
        lambda: (
            (found := lease(kube, namespace)) is not None
            and found.spec is not None
            and found.spec.renewTime is not None
            and before.spec is not None
            and before.spec.renewTime is not None
            and found.spec.renewTime > before.spec.renewTime
        ),
        timeout=30,
        what="the leader to renew again",
    )
    after = lease(kube, namespace)
    assert after is not None
    assert after.spec is not None
    assert after.spec.holderIdentity == operator.identity
    assert after.spec.leaseTransitions == before.spec.leaseTransitions
    assert kubelet.exits == [], "nobody exited"
    assert_each_token_once(kube, namespace, "steady", ["t0", "t1"])
    assert set(writers(kube, namespace)) == {operator.identity}


# -- API server down for minutes ----------------------------------------------------------------


@pytest.mark.slow
def test_minutes_without_the_api_server_then_every_token_runs_once(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
    kubelet: Kubelet,
) -> None:
    start_pair(kube, namespace, operator, standby)
    create_rjob(kube, namespace, "steady", duration="1s", successfulJobsHistoryLimit=100)
    run_token(kube, namespace, "steady", "t0")
    apiserver = api_server(cluster)

    annotate_run(kube, namespace, "steady", "t1")  # it may or may not run before the outage
    lost_at = apiserver.kill()
    time.sleep(LONG_OUTAGE)  # the outage itself: nothing to wait on, the server is gone
    apiserver.start()
    back_at = wait_ready(cluster)
    wait_until(
        lambda: manual_name("steady", "t1") in executions(kube, namespace),
        timeout=120,
        what="the token set as the API server went away",
    )
    recovered = time.monotonic() - back_at
    run_token(kube, namespace, "steady", "t2")  # the watches did not stay dead
    print(
        f"API server down {back_at - lost_at:.0f}s; its token ran {recovered:.1f}s after it "
        "was back; "
        f"exits: {kubelet.exits}"
    )
    # The Job controller and kwok back off too while the server is away (up to a minute
    # each, their logs show): runs started then finish late.
    assert_each_token_once(kube, namespace, "steady", ["t0", "t1", "t2"], settle=300)
    assert_one_writer_at_a_time(kube, namespace)
    assert operator.running
    assert standby.running


# -- a blackholed connection ----------------------------------------------------------------


def test_a_blackholed_leader_exits_the_standby_takes_over_and_late_writes_duplicate_nothing(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
    tmp_path: Path,
) -> None:
    proxy = Blackhole(*cluster.api_address())
    try:
        leader = operator
        leader.kubeconfig = cluster.kubeconfig_through(proxy.port, tmp_path / "kubeconfig")
        kubelet = Kubelet(leader, standby)
        try:
            start_pair(kube, namespace, leader, standby)
            old = leader.identity
            create_rjob(kube, namespace, "steady", duration="1s", successfulJobsHistoryLimit=100)
            for token in ["t0", "t1", "t2"]:
                run_token(kube, namespace, "steady", token)
            # Cut right after a token is set: the leader is receiving it or writing its run.
            annotate_run(kube, namespace, "steady", "t3")
            proxy.cut()
            cut_at = time.monotonic()
            exit_seen = wait_until(
                lambda: next((x for x in kubelet.exits if x.identity == old), None),
                timeout=30,
                what="the cut-off leader to exit",
            )
            wait_until(
                lambda: holder(kube, namespace) == standby.identity,
                timeout=30,
                what="the standby to take over",
            )
            takeover = time.monotonic() - cut_at
            wait_until(
                lambda: manual_name("steady", "t3") in executions(kube, namespace),
                timeout=60,
                what="the token set at the cut to run",
            )
            for token in ["t4", "t5"]:
                run_token(kube, namespace, "steady", token)
            held = proxy.held_bytes
            proxy.resume()  # what the cut-off leader had in flight arrives now
            run_token(kube, namespace, "steady", "t6")
            tokens = [f"t{i}" for i in range(7)]
            exit_after = exit_seen.at - cut_at
            print(
                f"blackholed leader exited {exit_after:.2f}s after the cut; standby led "
                f"{takeover:.1f}s after it; {held} bytes delivered late"
            )
            assert exit_seen.code != 0
            assert exit_after <= RENEW_DEADLINE + RETRY_PERIOD
            assert held > 0, "the cut held requests in flight"
            assert_each_token_once(kube, namespace, "steady", tokens)
        finally:
            kubelet.stop()
    finally:
        proxy.close()
