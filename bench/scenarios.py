"""The three scenarios; each returns plain figures (JSON-ready dicts)."""

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bench.cluster import BenchCluster
from bench.kubeapi import Api, Body
from bench.objects import (
    CRONJOBS,
    EXECUTIONS,
    JOBS,
    RJOBS,
    cronjob,
    delete_namespaces,
    gather_limited,
    job_template,
    make_namespace,
    rerunnable_job,
)
from bench.operator import OperatorUnderTest
from bench.stats import SlotSummary, percentile, ratio, summarize_slots
from bench.watchers import JobWatcher, RerunnableJobWatcher
from rerunnable.api.names import GROUP, VERSION
from rerunnable.api.v1alpha1 import ExecutionSpec, JobTemplate, Trigger, to_wire
from rerunnable.controller.app import WORKERS
from rerunnable.core.manifests import build_job, run_labels

__all__ = ["Bench", "burst", "fanout", "floor_job", "footprint", "foreign", "per_run"]

log = logging.getLogger("bench")

EVERY_MINUTE = "* * * * *"
MIB = 1024 * 1024


@dataclass
class Bench:
    api: Api
    cluster: BenchCluster
    jobs: JobWatcher
    rjobs: RerunnableJobWatcher
    operator: OperatorUnderTest
    concurrency: int  # for creating the objects under test
    suspend_jobs: bool
    floor_concurrency: int = 16  # requests at once of the bare client (the operator's workers)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000)


def _side(summary: SlotSummary) -> dict[str, Any]:
    return {
        "runs_expected": summary.expected,
        "runs_on_time": summary.on_time,
        "p50_ms": _ms(summary.p50),
        "p99_ms": _ms(summary.p99),
        "max_ms": _ms(summary.max),
        "missed": summary.missed,
        "late": summary.late,
        "duplicates": summary.duplicates,
    }


async def _wait_handled(
    b: Bench, namespace: str, n: int, *, scheduled: bool, limit: float = 900
) -> bool:
    """Wait until the operator has handled all n objects; False if `limit` seconds pass."""
    seen = b.rjobs.scheduled if scheduled else b.rjobs.handled
    deadline = time.monotonic() + limit

    def done() -> bool:
        return len(seen.get(namespace, {})) >= n

    while not await b.rjobs.wait_for(done, 10):
        b.operator.check_alive()
        log.info("  %s: %d/%d handled", namespace, len(seen.get(namespace, {})), n)
        if time.monotonic() > deadline:
            return False
    return True


def per_run(writes: Mapping[str, int]) -> dict[str, float]:
    """Writes by "METHOD resource", and their sum as "all", each divided by the runs
    started: the Jobs made (`POST jobs`) in the same window."""
    runs = writes.get("POST jobs", 0)
    if runs <= 0:
        return {}
    per = {what: round(count / runs, 2) for what, count in sorted(writes.items())}
    return {**per, "all": round(sum(writes.values()) / runs, 2)}


async def fanout(
    b: Bench, n: int, slots: int, label: str, *, cronjob_beside: bool = True
) -> dict[str, Any]:
    """N RerunnableJobs and N CronJobs on the same every-minute schedule, same slots.

    Without `cronjob_beside` the RerunnableJobs run alone, as the floor does: at
    N=5000 the two sides at once share the API server that the floor has to itself.
    """
    ns_r, ns_c = f"fanout-{n}-rjob-{label}", f"fanout-{n}-cron-{label}"
    sides = (ns_r, ns_c) if cronjob_beside else (ns_r,)
    for ns in sides:
        await make_namespace(b.api, ns)
    names = [f"fan-{i:05d}" for i in range(n)]
    calls = []
    for name in names:
        body_r = rerunnable_job(name, EVERY_MINUTE, suspend_jobs=b.suspend_jobs)
        calls.append(partial(b.api.create, RJOBS.format(ns=ns_r), body_r))
        if cronjob_beside:
            body_c = cronjob(name, EVERY_MINUTE, suspend_jobs=b.suspend_jobs)
            calls.append(partial(b.api.create, CRONJOBS.format(ns=ns_c), body_c))
    start = time.monotonic()
    await gather_limited(b.concurrency, calls)
    log.info(
        "  created %d RerunnableJobs and %d CronJobs in %.1fs",
        n,
        n if cronjob_beside else 0,
        time.monotonic() - start,
    )
    await _wait_handled(b, ns_r, n, scheduled=True)
    # The first measured slot is the first one after every object is in place.
    first = math.ceil((time.time() + 5) / 60) * 60
    measured = [float(first + 60 * i) for i in range(slots)]
    end = measured[-1] + 60
    log.info(
        "  measuring slots %s .. %s",
        datetime.fromtimestamp(measured[0], UTC).strftime("%H:%M"),
        datetime.fromtimestamp(measured[-1], UTC).strftime("%H:%M"),
    )
    cpu_before = b.operator.cpu_seconds()
    writes_before = await asyncio.to_thread(b.operator.writes)
    cpu_at = time.time()
    # The benchmark's clock decides when slots are over: this wait is the measurement window.
    await asyncio.sleep(max(0.0, end - time.time()))

    def complete() -> bool:
        wanted = set(measured)
        return all(
            sum(1 for j in b.jobs.in_namespace(ns) if j.slot in wanted) >= n * slots for ns in sides
        )

    # Late runs still get a lag figure: wait for them a while longer.
    await b.jobs.wait_for(complete, 120)
    operator_cpu = b.operator.cpu_seconds() - cpu_before
    writes = await asyncio.to_thread(b.operator.writes) - writes_before
    window = time.time() - cpu_at
    rjob = summarize_slots(names, measured, b.jobs.in_namespace(ns_r))
    cron = summarize_slots(names, measured, b.jobs.in_namespace(ns_c)) if cronjob_beside else None
    cleanup = await delete_namespaces(b.api, sides)
    b.rjobs.forget(ns_r)
    floor = await fanout_floor(b, n, label)
    return {
        "n": n,
        "slots": slots,
        "controller_manager_qps": b.cluster.kube_api_qps or 20,
        "controller_manager_burst": b.cluster.kube_api_burst or 30,
        "qps_label": label,
        "rerunnable": _side(rjob),
        "cronjob": None if cron is None else _side(cron),
        "floor": _side(floor),
        "p99_ratio": None if cron is None else ratio(rjob.p99, cron.p99),
        "p99_vs_floor": ratio(rjob.p99, floor.p99),
        "operator_cpu_percent": round(100 * operator_cpu / window, 1),
        # Over the same window (longer than the slots measured: late runs are waited for),
        # per run started in it.
        "operator_writes_per_run": per_run(writes),
        "cleanup_s": round(cleanup, 1),
    }


def floor_job(namespace: str, owner: str, slot: int, *, suspend: bool) -> Body:
    """The Job the operator would make for `owner`'s run at `slot`, without its owner (there
    is no Execution: the garbage collector would delete the Job)."""
    job = build_job(
        template=JobTemplate.model_validate(job_template(suspend=suspend)),
        namespace=namespace,
        rerunnable_job=owner,
        execution=f"{owner}-{slot // 60}",
        execution_uid="",
        trigger=Trigger.SCHEDULE,
        scheduled_time=datetime.fromtimestamp(slot, UTC),
    )
    del job["metadata"]["ownerReferences"]
    return job


async def fanout_floor(b: Bench, n: int, label: str) -> SlotSummary:
    """What a bare client does at a slot with the API server as it is: the same N Jobs the
    operator would make (one write a run, nothing else), from the slot on, at the operator's
    worker count. The operator runs, idle; its objects and the CronJobs are gone."""
    ns = f"fanout-{n}-floor-{label}"
    await make_namespace(b.api, ns)
    slot = math.ceil((time.time() + 5) / 60) * 60
    names = [f"fan-{i:05d}" for i in range(n)]
    manifests = [floor_job(ns, name, slot, suspend=b.suspend_jobs) for name in names]
    path = JOBS.format(ns=ns)
    # The benchmark's clock decides when the slot comes: this wait is the scenario.
    await asyncio.sleep(max(0.0, slot - time.time()))
    await gather_limited(b.floor_concurrency, [partial(b.api.create, path, m) for m in manifests])
    await b.jobs.wait_for(lambda: b.jobs.count(ns) >= n, 600)
    summary = summarize_slots(names, [float(slot)], b.jobs.in_namespace(ns))
    await delete_namespaces(b.api, [ns])
    log.info("  floor: p99 %.2fs for %d Jobs", summary.p99 or 0.0, n)
    return summary


def _floor_run(namespace: str, i: int) -> tuple[Body, JobTemplate]:
    name = f"burst-{i:05d}-m{i:08x}"
    spec = ExecutionSpec(
        rerunnable_job=f"burst-{i:05d}",
        trigger=Trigger.MANUAL,
        token=f"t{i}",
        template_generation=1,
    )
    execution = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": run_labels(f"burst-{i:05d}", name, Trigger.MANUAL),
        },
        "spec": to_wire(spec),
    }
    return execution, JobTemplate.model_validate(job_template(suspend=True))


async def burst(b: Bench, n: int, concurrency: int) -> dict[str, Any]:
    """N manual runs at once, against a bare client making the same objects (the floor)."""
    # The floor: what the API server does with N Executions and N Jobs at this concurrency.
    b.operator.stop()
    ns_f = f"burst-{n}-floor"
    await make_namespace(b.api, ns_f)
    executions = EXECUTIONS.format(ns=ns_f)
    jobs = JOBS.format(ns=ns_f)

    async def one_run(i: int) -> None:
        body, template = _floor_run(ns_f, i)
        created = await b.api.create(executions, body)
        manifest = build_job(
            template=template,
            namespace=ns_f,
            rerunnable_job=body["spec"]["rerunnableJob"],
            execution=body["metadata"]["name"],
            execution_uid=created["metadata"]["uid"],
            trigger=Trigger.MANUAL,
            scheduled_time=None,
        )
        await b.api.create(jobs, manifest)

    start = time.time()
    await gather_limited(concurrency, [partial(one_run, i) for i in range(n)])
    await b.jobs.wait_for(lambda: b.jobs.count(ns_f) >= n, 600)
    floor = max(j.seen for j in b.jobs.in_namespace(ns_f)) - start
    await delete_namespaces(b.api, [ns_f])

    # Rerunnable: the same N runs asked for by annotating N RerunnableJobs.
    b.operator.start()
    ns_r = f"burst-{n}-rjob"
    await make_namespace(b.api, ns_r)
    path = RJOBS.format(ns=ns_r)
    names = [f"burst-{i:05d}" for i in range(n)]
    bodies = [rerunnable_job(name, None, suspend_jobs=b.suspend_jobs) for name in names]
    await gather_limited(b.concurrency, [partial(b.api.create, path, body) for body in bodies])
    await _wait_handled(b, ns_r, n, scheduled=False)
    token = {"metadata": {"annotations": {"rerunnable.dev/run": "burst-1"}}}
    accepted: dict[str, float] = {}  # when the API server answered each annotation

    async def annotate(name: str) -> None:
        await b.api.merge_patch(f"{path}/{name}", token)
        accepted[name] = time.time()

    writes_before = await asyncio.to_thread(b.operator.writes)
    start = time.time()
    await gather_limited(concurrency, [partial(annotate, name) for name in names])
    annotated = time.time() - start
    if not await b.jobs.wait_for(lambda: b.jobs.count(ns_r) >= n, 600):
        raise RuntimeError(f"only {b.jobs.count(ns_r)}/{n} Jobs after 600s")
    # Until the last Job: what the operator wrote on the way to it, bookkeeping included.
    writes = await asyncio.to_thread(b.operator.writes) - writes_before
    seen = b.jobs.in_namespace(ns_r)
    rerunnable = max(j.seen for j in seen) - start
    # The operator's part of each run: its annotation accepted -> its Job seen by the watch.
    latencies = [j.seen - accepted[j.owner] for j in seen if j.owner in accepted]
    await delete_namespaces(b.api, [ns_r])
    b.rjobs.forget(ns_r)
    return {
        "n": n,
        "concurrency": concurrency,
        "floor_s": round(floor, 3),
        "rerunnable_s": round(rerunnable, 3),
        "annotate_s": round(annotated, 3),
        "ratio": round(rerunnable / floor, 3),
        "per_run_p50_ms": _ms(percentile(latencies, 50)),
        "per_run_p99_ms": _ms(percentile(latencies, 99)),
        "operator_writes_per_run": per_run(writes),
    }


async def footprint(
    b: Bench, n: int, idle_window: float, limit: float, *, status_floor_max: int = 10000
) -> dict[str, Any]:
    """Operator memory and CPU with N idle RerunnableJobs; start until all are scheduled."""
    b.operator.stop()
    ns = f"footprint-{n}"
    await make_namespace(b.api, ns)
    # Hourly, half an hour away: nothing fires while the figures are taken.
    minute = (datetime.now(UTC).minute + 30) % 60
    path = RJOBS.format(ns=ns)
    bodies = [
        rerunnable_job(f"idle-{i:05d}", f"{minute} * * * *", suspend_jobs=b.suspend_jobs)
        for i in range(n)
    ]
    start = time.monotonic()
    await gather_limited(b.concurrency, [partial(b.api.create, path, body) for body in bodies])
    log.info("  created %d RerunnableJobs in %.1fs", n, time.monotonic() - start)
    b.operator.start()
    complete = await _wait_handled(b, ns, n, scheduled=True, limit=limit)
    times = b.rjobs.scheduled.get(ns, {}).values()
    scheduled = max(times) - b.operator.started_at if complete else None
    count = len(times)
    cpu_start = b.operator.cpu_seconds()
    # Idle: let the last status writes' watch events drain, then measure a quiet window.
    await asyncio.sleep(10)
    cpu0, t0 = b.operator.cpu_seconds(), time.monotonic()
    await asyncio.sleep(idle_window)
    idle = (b.operator.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    result: dict[str, Any] = {
        "n": n,
        "rss_mib": round(b.operator.rss_bytes() / MIB, 1),
        "peak_rss_mib": round(b.operator.rss_bytes("VmHWM") / MIB, 1),
        "start_cpu_s": round(cpu_start, 2),
        "idle_cpu_percent": round(100 * idle, 2),
        "all_scheduled_s": None if scheduled is None else round(scheduled, 2),
        "scheduled_within_limit": count,  # of n, when all_scheduled_s is None
        "limit_s": limit,
    }
    b.operator.stop()
    log.info("  %s", result)
    if complete and n <= status_floor_max:
        result["status_floor_s"] = round(await _status_floor(b, path), 2)
    try:
        await delete_namespaces(b.api, [ns])
    except Exception as e:  # the figures are taken: keep them, and say what failed
        log.exception("  deleting %s failed", ns)
        result["cleanup_error"] = repr(e)
    b.rjobs.forget(ns)
    return result


async def _status_floor(b: Bench, path: str) -> float:
    """What the API server takes to write every job's status once, as the operator's first
    pass does: a bare client with the operator's 16 workers writes each status again, its
    next run an hour later (a real change), and is timed."""
    items, _ = await b.api.list_items(path)

    def later(status: Body) -> Body:
        when = datetime.fromisoformat(status["nextScheduleTime"]) + timedelta(hours=1)
        return {**status, "nextScheduleTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}

    writes = [
        partial(
            b.api.merge_patch,
            f"{path}/{o['metadata']['name']}/status",
            {"status": later(o["status"])},
        )
        for o in items
    ]
    start = time.monotonic()
    await gather_limited(WORKERS, writes)
    return time.monotonic() - start


async def foreign(b: Bench, jobs: int, rjobs: int, window: float) -> dict[str, Any]:
    """The operator with `jobs` Jobs it did not make in its namespace, against the same run
    without them: each a fresh operator over the same `rjobs` idle RerunnableJobs (hourly,
    half an hour away, their statuses written by a first run that is not measured, so both
    runs have the same objects of their own and the same writes to make: none); its CPU
    from its start over `window` seconds, and its RSS then."""
    b.operator.stop()
    ns = "foreign"
    await make_namespace(b.api, ns)
    minute = (datetime.now(UTC).minute + 30) % 60
    path = RJOBS.format(ns=ns)
    bodies = [rerunnable_job(f"own-{i:05d}", f"{minute} * * * *") for i in range(rjobs)]
    await gather_limited(b.concurrency, [partial(b.api.create, path, body) for body in bodies])
    b.operator.start()
    await _wait_handled(b, ns, rjobs, scheduled=True)
    b.operator.stop()
    without = await _fresh_operator(b, window)
    theirs = {"apiVersion": "batch/v1", "kind": "Job", **job_template(suspend=True)}
    manifests = [
        {**theirs, "metadata": {"name": f"theirs-{i:05d}", "labels": {"app": "theirs"}}}
        for i in range(jobs)
    ]
    start = time.monotonic()
    await gather_limited(
        b.concurrency, [partial(b.api.create, JOBS.format(ns=ns), m) for m in manifests]
    )
    created = time.monotonic() - start
    log.info("  created %d foreign Jobs in %.1fs", jobs, created)
    loaded = await _fresh_operator(b, window)
    await delete_namespaces(b.api, [ns])
    b.rjobs.forget(ns)
    return {
        "jobs": jobs,
        "rjobs": rjobs,
        "window_s": window,
        "create_s": round(created, 1),
        "without": without,
        "with": loaded,
        "rss_ratio": ratio(loaded["rss_mib"], without["rss_mib"]),
        "cpu_ratio": ratio(loaded["cpu_s"], without["cpu_s"]),
    }


async def _fresh_operator(b: Bench, window: float) -> dict[str, float]:
    """Start the operator; its CPU seconds and RSS `window` seconds later."""
    b.operator.start()
    # The benchmark's clock sets the window: this wait is the measurement, not a sync.
    await asyncio.sleep(window)
    b.operator.check_alive()
    figures = {
        "cpu_s": round(b.operator.cpu_seconds(), 2),
        "rss_mib": round(b.operator.rss_bytes() / MIB, 1),
        "peak_rss_mib": round(b.operator.rss_bytes("VmHWM") / MIB, 1),
    }
    b.operator.stop()
    return figures
