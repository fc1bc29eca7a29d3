"""The faults, and the scenarios made of them (issue 14; docs/reliability.md).

Each fault is a function of a running Trial that returns how many faults it
injected and adds its figures to the trial's result. A scenario is a Trial
with a set of replicas and a sequence of faults; `smoke` runs one of each kind,
in a few minutes, for `make test`.
"""

import contextlib
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import ApiError, Client
from lightkube.types import PatchType
from tests.e2e import controlplane
from tests.e2e.cluster import Cluster
from tests.e2e.rjobs import ExecutionResource, RerunnableJobResource, manual_name, rjob_body
from tests.e2e.waiting import wait_until

from chaos import hostile, workload
from chaos.fleet import wait_for_takeover
from chaos.recorder import plain
from chaos.trial import Result, Trial, percentiles
from rerunnable.api.names import ANNOTATION_RUN

__all__ = ["SCENARIOS", "SOAK_HISTORY", "Settings", "run"]

# Runs each checked job keeps of each end in the soak: a few minutes of its runs, so that even
# the failed ones (fewer) reach the limit inside the warm-up.
SOAK_HISTORY = 5


@dataclass(frozen=True)
class Settings:
    """Durations and counts; the defaults are `make chaos`'s (about an hour and a half)."""

    jobs: int = 20
    storm_seconds: float = 600
    api_restarts: int = 10
    etcd_restarts: int = 3
    failovers: int = 50
    failover_every: float = 15
    partitions: int = 3
    partition_seconds: float = 20
    reset_seconds: float = 300
    latency_seconds: float = 60
    hostile_cases: int = 0  # 0: the whole corpus
    soak_seconds: float = 3600
    seed: int = 0
    arm_ahead_seconds: int = 0  # the operator's --arm-ahead-seconds (0: runs made at the slot)


# --- faults -------------------------------------------------------------------------------


def kill_storm(trial: Trial, seconds: float, rng: random.Random) -> int:
    """SIGKILL the working replica 0.5-6 s after each start, for `seconds`."""
    deadline = time.monotonic() + seconds
    kills = 0
    while time.monotonic() < deadline:
        target = wait_until(
            lambda: trial.fleet.leader(), timeout=60, what="a working replica", interval=0.05
        )
        time.sleep(rng.uniform(0.5, 6))
        trial.fleet.kill(target)
        kills += 1
    return kills


def control_plane_restarts(
    trial: Trial, component: str, count: int, rng: random.Random, key: str
) -> int:
    """Kill `component` (kube-apiserver or etcd), keep it down 5-15 s, start it again; after each
    recovery, the time until a token acknowledged after it has its Execution."""
    part = (
        controlplane.etcd(trial.cluster)
        if component == "etcd"
        else (controlplane.api_server(trial.cluster))
    )
    outages, recoveries = [], []
    for _ in range(count):
        time.sleep(rng.uniform(8, 15))  # the operator works between outages
        down_at = part.kill()
        time.sleep(rng.uniform(5, 15))
        part.start()
        ready = controlplane.wait_ready(trial.cluster, timeout=180)
        outages.append(ready - down_at)
        recoveries.append(_first_run_after(trial, ready, timeout=120))
    trial.result.figures[f"{key}_outage_s"] = percentiles(outages)
    trial.result.figures[f"{key}_recovery_s"] = percentiles(recoveries)
    return count


def _first_run_after(trial: Trial, since: float, timeout: float) -> float:
    """Seconds from `since` until a token acknowledged after it has its Execution."""
    runner = trial.runner
    assert runner is not None

    def seen() -> float | None:
        for at, job, token in list(runner.acknowledged):
            if at >= since and (t := trial.recorder.seen("Execution", manual_name(job, token))):
                return t
        return None

    try:
        return wait_until(seen, timeout=timeout, what="a run after the recovery") - since
    except AssertionError:
        trial.result.findings.stuck.append(f"no token ran within {timeout:.0f} s of a recovery")
        return timeout


def leader_failovers(trial: Trial, count: int, every: float) -> int:
    """SIGKILL the leader every `every` seconds; kill -> Lease held by another replica, and
    kill -> the first run it starts."""
    takeovers, first_runs = [], []
    for _ in range(count):
        leader = wait_until(trial.fleet.leader, timeout=60, what="a leader", interval=0.05)
        old = leader.identity
        started = time.monotonic()
        trial.fleet.kill(leader)
        taken = wait_for_takeover(trial.fleet, old, timeout=60)
        takeovers.append(taken - started)
        first_runs.append(_first_run_after(trial, started, timeout=60))
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    trial.result.figures["takeover_s"] = percentiles(takeovers)
    trial.result.figures["takeover_to_first_run_s"] = percentiles(first_runs)
    return count


def partitions(trial: Trial, count: int, seconds: float) -> int:
    """Blackhole the leader's path (its requests hang, nothing closes) while the standby keeps
    its own, then deliver what it had in flight. The cut-off leader must be gone before the
    standby leads (it exits at its renew deadline); its late writes must change nothing."""
    exits_before_lead, takeovers, held = [], [], 0
    for _ in range(count):
        leader = wait_until(trial.fleet.leader, timeout=60, what="a leader", interval=0.05)
        old, proxy = leader.identity, trial.fleet.proxy_of(leader)
        exits = len(trial.fleet.exits)
        proxy.cut()
        cut_at = time.monotonic()
        taken = wait_for_takeover(trial.fleet, old, timeout=60)
        takeovers.append(taken - cut_at)
        gone = next((x for x in trial.fleet.exits[exits:] if x.identity == old), None)
        # The kubelet stand-in sees an exit within 50 ms: an exit after the takeover is late.
        exits_before_lead.append(gone is not None and gone.at <= taken + 0.1)
        time.sleep(max(0.0, seconds - (time.monotonic() - cut_at)))
        held += proxy.held_bytes
        proxy.resume()
    trial.result.figures["partition_takeover_s"] = percentiles(takeovers)
    trial.result.figures["partitioned_leader_gone_before_takeover"] = (
        f"{sum(exits_before_lead)}/{len(exits_before_lead)}"
    )
    trial.result.figures["late_bytes_delivered"] = held
    if not all(exits_before_lead):
        trial.result.findings.duplicates.append(
            "a partitioned leader was still running when another replica took the Lease"
        )
    return count


def watch_resets(trial: Trial, seconds: float, rng: random.Random) -> int:
    """Drop every connection of every replica every 2-6 s (watches included)."""
    deadline = time.monotonic() + seconds
    resets = 0
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(2, 6))
        for proxy in trial.fleet.proxies:
            proxy.reset()
        resets += 1
    trial.result.figures["connections_dropped"] = sum(p.resets for p in trial.fleet.proxies)
    return resets


def latency(trial: Trial, seconds: float, delay: float = 2.0) -> int:
    """`delay` seconds on every request of every replica, for `seconds`."""
    for proxy in trial.fleet.proxies:
        proxy.latency = delay
    time.sleep(seconds)
    for proxy in trial.fleet.proxies:
        proxy.latency = 0.0
    return 1


def bad_input(trial: Trial, cases: int, rng: random.Random, hold: float = 150) -> int:
    """Apply the hostile corpus while the good jobs run: each refused with a message, or
    reported Ready=False with a Warning event; the operator neither restarts nor stalls. The
    hostile objects stay `hold` seconds, so the good jobs' slots come while they are there."""
    started = time.monotonic()
    exits_before = len(trial.fleet.exits)  # earlier faults' exits are theirs
    corpus = hostile.corpus(trial_seed(rng))
    if cases:
        corpus = _one_per_kind(corpus, cases)
    refused, reported, unreported = 0, 0, []
    applied = []
    for case in corpus:
        body = {**case.body, "metadata": {**case.body["metadata"], "namespace": trial.namespace}}
        try:
            trial.client.create(RerunnableJobResource.from_dict(body))
        except (ValueError, TypeError):  # not even an object (labels a list): kubectl
            refused += 1  # refuses it before sending, and so does this client
            continue
        except ApiError as e:
            if e.status.message:
                refused += 1
            else:
                unreported.append(f"{case.case}: refused without a message")
            continue
        applied.append(case)
    deadline = time.monotonic() + 120
    pending = {c.body["metadata"]["name"]: c for c in applied}
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            if _reported(trial.client, trial.namespace, name):
                reported += 1
                del pending[name]
        time.sleep(1)
    unreported += [f"{c.case}: accepted and never reported Ready=False" for c in pending.values()]
    trial.result.findings.lost += unreported
    restarts = trial.fleet.restarts(since=exits_before)
    if restarts:
        trial.result.findings.stuck.append(f"the operator exited {restarts} time(s)")
    trial.result.figures["hostile"] = {
        "cases": len(corpus),
        "refused_at_apply": refused,
        "reported_not_ready": reported,
    }
    time.sleep(max(0.0, hold - (time.monotonic() - started)))
    # Hostile jobs are gone before the settle: their runs (if any) are not the subject.
    for case in applied:
        with contextlib.suppress(ApiError):
            trial.client.delete(
                RerunnableJobResource, case.body["metadata"]["name"], namespace=trial.namespace
            )
    return len(corpus)


def trial_seed(rng: random.Random) -> int:
    return rng.randrange(1 << 30)


def _one_per_kind(corpus: list[hostile.Hostile], cases: int) -> list[hostile.Hostile]:
    """At most `cases` cases, the first of each kind (the part of the id before the first '-')
    first."""
    firsts: dict[str, hostile.Hostile] = {}
    for c in corpus:
        firsts.setdefault(c.case.split("-")[0], c)
    rest = [c for c in corpus if c not in firsts.values()]
    return [*firsts.values(), *rest][:cases]


def _reported(client: Client, namespace: str, name: str) -> bool:
    try:
        obj = plain(client.get(RerunnableJobResource, name, namespace=namespace))
    except ApiError:
        return False
    ready = next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"),
        None,
    )
    return ready is not None and ready.get("status") == "False"


def soak(trial: Trial, seconds: float, rng: random.Random) -> int:
    """Churn (jobs created, edited, suspended, deleted, run) with the leader's RSS and open
    file descriptors sampled every 10 s; growth after the first sixth is the figure.

    The checked jobs keep `SOAK_HISTORY` runs, so the Executions the operator holds level
    off inside the warm-up; their count is sampled too, to show that they did.
    """
    deadline = time.monotonic() + seconds
    samples: list[tuple[float, int, int, int]] = []
    churn = 0
    n = 0
    while time.monotonic() < deadline:
        n += 1
        name = f"soak{n % 30:02d}"
        _churn_once(trial, name, n, rng)
        churn += 1
        if not samples or time.monotonic() - samples[-1][0] >= 10:
            count = _executions(trial)
            samples.append((time.monotonic(), trial.fleet.rss_kib(), trial.fleet.open_fds(), count))
        time.sleep(0.5)
    warm = samples[len(samples) // 6 :] or samples
    rss = [s[1] for s in warm]
    fds = [s[2] for s in warm]
    held = [s[3] for s in warm]
    head, tail = max(1, len(rss) // 5), max(1, len(rss) // 5)
    rss_growth = statistics.mean(rss[-tail:]) / max(1.0, statistics.mean(rss[:head])) - 1
    fd_growth = statistics.mean(fds[-tail:]) / max(1.0, statistics.mean(fds[:head])) - 1
    trial.result.figures["soak"] = {
        "samples": len(samples),
        "executions_after_warmup": round(statistics.mean(held[:head])),
        "executions_end": round(statistics.mean(held[-tail:])),
        "rss_mib_after_warmup": round(statistics.mean(rss[:head]) / 1024, 1),
        "rss_mib_end": round(statistics.mean(rss[-tail:]) / 1024, 1),
        "rss_growth_pct": round(100 * rss_growth, 1),
        "fds_after_warmup": round(statistics.mean(fds[:head]), 1),
        "fds_end": round(statistics.mean(fds[-tail:]), 1),
        "fd_growth_pct": round(100 * fd_growth, 1),
        "churn_operations": churn,
    }
    for i in range(30):  # the soak jobs settle with the others
        with contextlib.suppress(ApiError):
            _suspend(trial, f"soak{i:02d}")
    if rss_growth > 0.10 or fd_growth > 0.10:
        trial.result.findings.stuck.append(
            f"the operator grew after warm-up: RSS {100 * rss_growth:.1f} %, "
            f"open files {100 * fd_growth:.1f} %"
        )
    return churn


def _executions(trial: Trial) -> int:
    """The Executions in the namespace now (-1 when the API server does not answer)."""
    try:
        return sum(1 for _ in trial.client.list(ExecutionResource, namespace=trial.namespace))
    except ApiError:
        return -1


def _suspend(trial: Trial, name: str) -> None:
    trial.client.patch(
        RerunnableJobResource,
        name,
        {"spec": {"suspend": True}},
        namespace=trial.namespace,
        patch_type=PatchType.MERGE,
    )


def _churn_once(trial: Trial, name: str, n: int, rng: random.Random) -> None:
    """One user action on the soak jobs, which live beside the checked ones."""
    client, ns = trial.client, trial.namespace
    action = rng.choice(["create", "edit", "suspend", "run", "run", "delete"])
    try:
        if action == "create":
            body = rjob_body(ns, name, duration="1s", schedule="* * * * *")
            client.create(RerunnableJobResource.from_dict(body))
        elif action == "delete":
            client.delete(RerunnableJobResource, name, namespace=ns)
        else:
            patches: dict[str, dict[str, Any]] = {
                "edit": {"spec": {"schedule": f"{rng.randrange(60)} * * * *"}},
                "suspend": {"spec": {"suspend": rng.random() < 0.5}},
                "run": {"metadata": {"annotations": {ANNOTATION_RUN: f"s{n}"}}},
            }
            patch = patches[action]
            client.patch(
                RerunnableJobResource, name, patch, namespace=ns, patch_type=PatchType.MERGE
            )
    except ApiError:
        pass  # not there yet, or gone already: churn


# --- scenarios ----------------------------------------------------------------------------

Fault = Callable[[Trial, Settings, random.Random], int]


@dataclass(frozen=True)
class Scenario:
    name: str
    replicas: int
    leader_elect: bool
    faults: tuple[Fault, ...]
    what: str
    history: int = workload.ALL_RUNS  # runs each checked job keeps


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "storm",
            1,
            False,
            (lambda t, s, r: kill_storm(t, s.storm_seconds, r),),
            "one replica SIGKILLed 0.5-6 s after each start",
        ),
        Scenario(
            "apiserver",
            2,
            True,
            (
                lambda t, s, r: control_plane_restarts(
                    t, "kube-apiserver", s.api_restarts, r, "apiserver"
                ),
            ),
            "kube-apiserver killed and restarted (5-15 s outages), two replicas",
        ),
        Scenario(
            "etcd",
            2,
            True,
            (lambda t, s, r: control_plane_restarts(t, "etcd", s.etcd_restarts, r, "etcd"),),
            "etcd killed and restarted (5-15 s outages), two replicas",
        ),
        Scenario(
            "failover",
            3,
            True,
            (lambda t, s, r: leader_failovers(t, s.failovers, s.failover_every),),
            "three replicas, the leader SIGKILLed again and again",
        ),
        Scenario(
            "partition",
            2,
            True,
            (
                lambda t, s, r: partitions(t, s.partitions, s.partition_seconds),
                lambda t, s, r: watch_resets(t, s.reset_seconds, r),
                lambda t, s, r: latency(t, s.latency_seconds),
            ),
            "the leader blackholed then its writes delivered late; connections dropped "
            "every few seconds; 2 s of latency on every request",
        ),
        Scenario(
            "badinput",
            1,
            True,
            (lambda t, s, r: bad_input(t, s.hostile_cases, r),),
            "the hostile corpus applied while the good jobs run",
        ),
        Scenario(
            "soak",
            1,
            True,
            (lambda t, s, r: soak(t, s.soak_seconds, r),),
            "an hour of churn; memory and open files sampled",
            # The objects level off (runs pruned as new ones come) well inside the
            # warm-up, so what grows after it is the operator, not the world it holds.
            history=SOAK_HISTORY,
        ),
        Scenario(
            "smoke",
            2,
            True,
            (
                lambda t, s, r: kill_storm(t, 20, r),
                lambda t, s, r: control_plane_restarts(t, "kube-apiserver", 1, r, "apiserver"),
                lambda t, s, r: control_plane_restarts(t, "etcd", 1, r, "etcd"),
                lambda t, s, r: leader_failovers(t, 2, 5),
                lambda t, s, r: partitions(t, 1, 8),
                lambda t, s, r: watch_resets(t, 15, r),
                lambda t, s, r: latency(t, 8),
                lambda t, s, r: bad_input(t, 40, r, hold=0),
            ),
            "one of each fault, a few minutes (in make test)",
        ),
    ]
}


def run(
    name: str,
    cluster: Cluster,
    client: Client,
    log_dir: Path,
    settings: Settings,
    *,
    keep: bool = False,
) -> Result:
    scenario = SCENARIOS[name]
    rng = random.Random(settings.seed)
    trial = Trial(
        cluster,
        client,
        log_dir,
        name,
        jobs=settings.jobs,
        replicas=scenario.replicas,
        leader_elect=scenario.leader_elect,
        history=scenario.history,
        arm_ahead=settings.arm_ahead_seconds,
    )
    try:
        trial.begin()
        started = datetime.now(UTC)
        for fault in scenario.faults:
            trial.result.faults += fault(trial, settings, rng)
        trial.result.figures["faults_minutes"] = round(
            (datetime.now(UTC) - started).total_seconds() / 60, 1
        )
        return trial.end()
    finally:
        trial.close(keep=keep)
