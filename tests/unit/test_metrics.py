"""The metrics (rerunnable.controller.metrics, job_metrics): each RerunnableJob's state as
series rebuilt from the index at each scrape (leader only), the build, the process, and the
work queue under controller-runtime's names."""

import asyncio
import platform
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rerunnable.controller.index import ObjectIndex, entry
from rerunnable.controller.job_metrics import JobStateCollector
from rerunnable.controller.kinds import FILING, Kind
from rerunnable.controller.metrics import QUEUE_BUCKETS, Metrics, QueueMetrics, version_of
from rerunnable.controller.workqueue import WorkQueue

NS = "team-a"
JOB_SERIES = (
    "rerunnable_job_next_run_timestamp_seconds",
    "rerunnable_job_last_success_timestamp_seconds",
    "rerunnable_job_last_run_timestamp_seconds",
    "rerunnable_job_suspended",
    "rerunnable_job_active_runs",
    "rerunnable_job_last_result",
)


def seconds(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def samples(
    registry: CollectorRegistry, prefix: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(name, labels) -> value of every sample named `prefix`..., as a scrape reads them."""
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(prefix)
    }


def job_series(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return samples(metrics.registry, "rerunnable_job_")


def labels(name: str, **more: str) -> frozenset[tuple[str, str]]:
    return frozenset({"namespace": NS, "rerunnablejob": name, **more}.items())


class World:
    """An operator's RerunnableJob index and metrics; `leading` is what rerunnable_leader says."""

    def __init__(self, *, leading: bool = True) -> None:
        self.metrics = Metrics()
        self.metrics.leader.set(1 if leading else 0)
        self.index = ObjectIndex(FILING[Kind.RERUNNABLE_JOB].state_of)
        self.metrics.registry.register(JobStateCollector(self.index, self.metrics.leading))
        self.versions = 0

    def put(self, name: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        self.versions += 1
        body = {
            "metadata": {"namespace": NS, "name": name, "resourceVersion": str(self.versions)},
            "spec": {"schedule": "0 * * * *", **spec},
            "status": status,
        }
        key, version = entry(Kind.RERUNNABLE_JOB, body)
        self.index.put(key, version)

    def delete(self, name: str) -> None:
        self.versions += 1
        self.index.remove(NS, name, self.versions)


# name, spec, status -> the job's series, name -> value (last_result by its phase label).
STATES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, float]]] = [
    ("new, nothing run yet", {}, {}, {"suspended": 0, "active_runs": 0}),
    (
        "scheduled, last run succeeded",
        {},
        {
            "nextScheduleTime": "2026-11-22T11:00:00Z",
            "lastSuccessfulTime": "2026-11-22T10:00:07Z",
            "lastRunTime": "2026-11-22T10:00:00Z",
            "lastScheduleTime": "2026-11-22T10:00:00Z",
            "lastResult": "Succeeded",
            "activeCount": 0,
        },
        {
            "next_run_timestamp_seconds": seconds("2026-11-22T11:00:00"),
            "last_success_timestamp_seconds": seconds("2026-11-22T10:00:07"),
            "last_run_timestamp_seconds": seconds("2026-11-22T10:00:00"),
            "suspended": 0,
            "active_runs": 0,
            "last_result:Succeeded": 1,
        },
    ),
    (
        "suspended, two running, the last one failed",
        {"suspend": True},
        {
            "lastSuccessfulTime": "2026-11-20T10:00:07Z",
            "lastRunTime": "2026-11-22T10:05:00Z",
            "lastResult": "Failed",
            "active": ["a", "b"],
            "activeCount": 2,
        },
        {
            "last_success_timestamp_seconds": seconds("2026-11-20T10:00:07"),
            "last_run_timestamp_seconds": seconds("2026-11-22T10:05:00"),
            "suspended": 1,
            "active_runs": 2,
            "last_result:Failed": 1,
        },
    ),
    (
        "suspended until a time to come (the Suspended condition)",
        {"suspendUntil": "2026-11-23T00:00:00Z"},
        {
            "nextScheduleTime": "2026-11-23T00:00:00Z",
            "conditions": [{"type": "Suspended", "status": "True", "reason": "SuspendedUntil"}],
        },
        {
            "next_run_timestamp_seconds": seconds("2026-11-23T00:00:00"),
            "suspended": 1,
            "active_runs": 0,
        },
    ),
    (
        "resumed (Suspended False)",
        {},
        {"conditions": [{"type": "Suspended", "status": "False", "reason": "Resumed"}]},
        {"suspended": 0, "active_runs": 0},
    ),
    (
        "last run interrupted, none due",
        {},
        {"lastRunTime": "2026-11-22T10:00:00Z", "lastResult": "Interrupted"},
        {
            "last_run_timestamp_seconds": seconds("2026-11-22T10:00:00"),
            "suspended": 0,
            "active_runs": 0,
            "last_result:Interrupted": 1,
        },
    ),
]


def expected(name: str, want: Mapping[str, float]) -> dict[Any, float]:
    found = {}
    for series, value in want.items():
        metric, _, phase = series.partition(":")
        extra = {"phase": phase} if phase else {}
        found[(f"rerunnable_job_{metric}", labels(name, **extra))] = float(value)
    return found


@pytest.mark.parametrize(
    ("case", "spec", "status", "want"), [pytest.param(*row, id=row[0]) for row in STATES]
)
def test_a_job_state_is_exactly_its_series(
    case: str, spec: dict[str, Any], status: dict[str, Any], want: dict[str, float]
) -> None:
    world = World()
    world.put("backup", spec, status)
    assert job_series(world.metrics) == expected("backup", want), case


def test_every_job_has_its_own_series() -> None:
    world = World()
    for i, (_, spec, status, _) in enumerate(STATES):
        world.put(f"job-{i}", spec, status)
    want: dict[Any, float] = {}
    for i, (*_, series) in enumerate(STATES):
        want |= expected(f"job-{i}", series)
    assert job_series(world.metrics) == want


def test_a_new_last_result_replaces_the_old_series() -> None:
    world = World()
    world.put("backup", {}, {"lastResult": "Succeeded"})
    assert (
        job_series(world.metrics)[
            ("rerunnable_job_last_result", labels("backup", phase="Succeeded"))
        ]
        == 1
    )
    world.put("backup", {}, {"lastResult": "Failed", "activeCount": 1})
    results = {k: v for k, v in job_series(world.metrics).items() if k[0].endswith("last_result")}
    assert results == {("rerunnable_job_last_result", labels("backup", phase="Failed")): 1.0}
    assert job_series(world.metrics)[("rerunnable_job_active_runs", labels("backup"))] == 1


def test_a_deleted_job_has_no_series() -> None:
    world = World()
    world.put("backup", {}, STATES[1][2])
    world.put("report", {}, STATES[1][2])
    world.delete("backup")
    names = {dict(k[1])["rerunnablejob"] for k in job_series(world.metrics)}
    assert names == {"report"}
    world.delete("report")
    assert job_series(world.metrics) == {}


def test_a_standby_exports_no_job_series_until_it_leads() -> None:
    world = World(leading=False)
    world.put("backup", {}, STATES[1][2])
    assert job_series(world.metrics) == {}
    world.metrics.leader.set(1)
    assert len(job_series(world.metrics)) == len(STATES[1][3])
    world.metrics.leader.set(0)  # deposed (the process then exits)
    assert job_series(world.metrics) == {}


def test_scrapes_in_another_thread_while_the_loop_changes_the_index_never_fail() -> None:
    # The scrape runs in prometheus_client's HTTP thread: it reads a copy of the index, which
    # the thread switches (every few milliseconds) never catch half made.
    world = World()
    for i in range(500):
        world.put(f"job-{i}", {}, STATES[1][2])
    counts: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def scrape() -> None:
        while not stop.is_set():
            try:
                found = job_series(world.metrics)
                counts.append(len({dict(k[1])["rerunnablejob"] for k in found}))
            except BaseException as e:
                failures.append(e)
                return

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        for i in range(500, 20000):  # one in, one out: always 500 jobs
            world.put(f"job-{i}", {}, STATES[1][2])
            world.delete(f"job-{i - 500}")
            if len(counts) >= 3:
                break
    finally:
        stop.set()
        scraper.join()
    assert failures == []
    assert counts
    assert all(499 <= n <= 501 for n in counts), counts


def test_build_info_names_the_versions() -> None:
    found = samples(Metrics().registry, "rerunnable_build_info")
    want = {
        "version": version_of("rerunnable"),
        "python_version": platform.python_version(),
        "kopf_version": version_of("kopf"),
    }
    assert found == {("rerunnable_build_info", frozenset(want.items())): 1.0}
    assert version_of("rerunnable") != "unknown"  # installed (editable) in the venv
    assert version_of("no-such-distribution") == "unknown"


def test_run_counters_exist_at_zero_before_the_first_run() -> None:
    """An alert on increase(...[15m]) sees the first Interrupted run after a restart."""
    registry = Metrics().registry
    finished = samples(registry, "rerunnable_runs_finished_total")
    assert finished == {
        ("rerunnable_runs_finished_total", frozenset({("phase", phase)})): 0.0
        for phase in ("Succeeded", "Failed", "Interrupted")
    }
    started = samples(registry, "rerunnable_runs_started_total")
    assert {dict(labels)["trigger"] for _, labels in started} == {
        "Schedule",
        "Manual",
        "Retry",
        "Backfill",
    }


def test_the_process_and_gc_collectors_are_on_the_operators_registry() -> None:
    text = generate_latest(Metrics().registry).decode()
    for name in ("process_resident_memory_bytes", "python_gc_collections_total", "python_info"):
        assert f"\n{name}" in text, name


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def queue_series(registry: CollectorRegistry) -> dict[str, float]:
    """The work queue's samples (no buckets, no _created), by name."""
    return {
        name: value
        for (name, series), value in samples(registry, "workqueue_").items()
        if dict(series)["name"] == "rerunnablejob" and "le" not in dict(series)
        if not name.endswith("_created")
    }


def test_the_work_queue_reports_depth_adds_waits_work_and_retries() -> None:
    clock = Clock()
    registry = CollectorRegistry()
    queue: WorkQueue[str] = WorkQueue(clock=clock, metrics=QueueMetrics(registry, clock))

    async def scenario() -> dict[str, float]:
        queue.add("a")
        queue.add("a")  # waiting already: not an add
        queue.add("b")
        assert queue_series(registry)["workqueue_depth"] == 2
        clock.now += 3.0  # both wait 3 s
        during: dict[str, float] = {}
        done = asyncio.Event()

        async def process(key: str) -> None:
            if key == "b":
                clock.now += 2.0  # "b" takes 2 s
                during.update(queue_series(registry))  # while it is in a worker's hands
                queue.retry_after("b", 10.0)  # as the reconciler does after a failed pass
                done.set()

        worker = asyncio.create_task(queue.run_worker(process))
        await done.wait()
        await asyncio.sleep(0)  # the worker finishes "b"
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        return during

    during = asyncio.run(scenario())
    assert during["workqueue_depth"] == 0
    assert during["workqueue_unfinished_work_seconds"] == 2.0
    assert during["workqueue_longest_running_processor_seconds"] == 2.0
    assert queue_series(registry) == {
        "workqueue_depth": 0,
        "workqueue_adds_total": 2,
        "workqueue_queue_duration_seconds_count": 2,
        "workqueue_queue_duration_seconds_sum": 6.0,
        "workqueue_work_duration_seconds_count": 2,
        "workqueue_work_duration_seconds_sum": 2.0,
        "workqueue_retries_total": 1,
        "workqueue_unfinished_work_seconds": 0,
        "workqueue_longest_running_processor_seconds": 0,
    }


def test_a_key_added_during_its_pass_is_one_add_and_waits_from_then() -> None:
    clock = Clock()
    registry = CollectorRegistry()
    queue: WorkQueue[str] = WorkQueue(clock=clock, metrics=QueueMetrics(registry, clock))
    passes: list[str] = []

    async def scenario() -> None:
        second = asyncio.Event()

        async def process(key: str) -> None:
            passes.append(key)
            if len(passes) == 2:
                second.set()
            if len(passes) == 1:
                queue.add("a")  # to run again: an add, depth 1
                queue.add("a")  # again: nothing more
                assert queue_series(registry)["workqueue_depth"] == 1
                clock.now += 4.0  # the first pass goes on 4 s after that add

        queue.add("a")
        worker = asyncio.create_task(queue.run_worker(process))
        await second.wait()
        await asyncio.sleep(0)  # the worker finishes the second pass
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    asyncio.run(scenario())
    found = queue_series(registry)
    assert found["workqueue_adds_total"] == 2
    assert found["workqueue_depth"] == 0
    assert found["workqueue_queue_duration_seconds_sum"] == 4.0


def test_a_long_pass_shows_in_the_in_flight_gauges() -> None:
    clock = Clock()
    registry = CollectorRegistry()
    metrics = QueueMetrics(registry, clock)
    metrics.started("a", 0.0, 0)
    clock.now += 4.0
    metrics.started("b", 0.0, 0)
    clock.now += 1.0
    found = queue_series(registry)
    assert found["workqueue_unfinished_work_seconds"] == 6.0
    assert found["workqueue_longest_running_processor_seconds"] == 5.0
    metrics.finished("a", 5.0)
    assert queue_series(registry)["workqueue_longest_running_processor_seconds"] == 1.0


def test_the_queue_histograms_have_controller_runtimes_buckets() -> None:
    # prometheus.ExponentialBuckets(10e-9, 10, 11): 1e-8 s up to 100 s.
    assert list(QUEUE_BUCKETS) == pytest.approx([10e-9 * 10**i for i in range(11)], rel=1e-9)
    text = generate_latest(Metrics().registry).decode()
    assert 'workqueue_work_duration_seconds_bucket{le="1e-08",name="rerunnablejob"}' in text
    assert 'workqueue_queue_duration_seconds_bucket{le="100.0",name="rerunnablejob"}' in text
