"""Prometheus metrics, served on /metrics.

What an on-call engineer asks first: are runs starting (by trigger), how are
they ending (by phase), how late do scheduled runs start, how many are
running, is the operator failing, and is this replica the leader. Besides: the
build, the process (process_*, python_gc_*, python_info), the work queue under
controller-runtime's names (`QueueMetrics`), and each RerunnableJob's state
(`job_metrics`, registered by the app).
"""

import platform
import time
from collections.abc import Callable, Hashable
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from rerunnable.api.v1alpha1 import TERMINAL_PHASES, Trigger
from rerunnable.kube.resources import resource_of

__all__ = ["QUEUE_BUCKETS", "Metrics", "QueueMetrics", "version_of"]

# Seconds from a slot to its Execution: fine below a second, coarse up to minutes.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# controller-runtime's workqueue buckets, prometheus.ExponentialBuckets(10e-9, 10, 11).
QUEUE_BUCKETS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
QUEUE_NAME = "rerunnablejob"  # the `name` label of the work queue's metrics


def version_of(distribution: str) -> str:
    """An installed distribution's version, "unknown" if it is not installed (a source tree)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.runs_started = Counter(
            "rerunnable_runs_started",
            "Runs started (Jobs created), by trigger.",
            ["trigger"],
            registry=r,
        )
        self.runs_finished = Counter(
            "rerunnable_runs_finished", "Runs that ended, by phase.", ["phase"], registry=r
        )
        # Every series exists from the start, at 0: increase() reads a series' first sample
        # as its start, so the first Interrupted run after a restart would alert no one.
        for trigger in Trigger:
            self.runs_started.labels(trigger.value)
        for phase in sorted(TERMINAL_PHASES):
            self.runs_finished.labels(phase.value)
        self.schedule_lag = Histogram(
            "rerunnable_schedule_lag_seconds",
            "From a scheduled run's slot to the creation of its Job.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.active_executions = Gauge(
            "rerunnable_active_executions", "Executions pending or running.", registry=r
        )
        self.reconcile_errors = Counter(
            "rerunnable_reconcile_errors",
            "Passes that failed and will be retried, by error.",
            ["error"],
            registry=r,
        )
        self.reconcile_duration = Histogram(
            "rerunnable_reconcile_duration_seconds",
            "Time one pass over one object takes.",
            registry=r,
        )
        self.leader = Gauge(
            "rerunnable_leader",
            "1 while this replica holds the Lease and works, else 0.",
            registry=r,
        )
        self.lease_failures = Counter(
            "rerunnable_lease_attempt_failures",
            "Attempts to acquire or renew the leader Lease that failed, by error "
            "(e.g. Timeout, ConnectError, HTTP 503).",
            ["error"],
            registry=r,
        )
        self.runs_stalled = Counter(
            "rerunnable_runs_stalled",
            "Runs ended Interrupted (reason Stalled): no report within reporting.heartbeatSeconds.",
            registry=r,
        )
        self.reports = Counter(
            "rerunnable_reports",
            "Reports from workloads, by outcome: accepted, or why they were refused.",
            ["outcome"],
            registry=r,
        )
        self.report_writes = Counter(
            "rerunnable_report_status_writes",
            "Status writes of reports (at most one per Execution per second).",
            registry=r,
        )
        self.api_requests = Counter(
            "rerunnable_api_requests",
            "Requests to the API server (not the watch streams), by method, resource (as "
            "`executions/status`) and HTTP status (0: no answer).",
            ["method", "resource", "code"],
            registry=r,
        )
        self.schedules_missed = Counter(
            "rerunnable_schedules_missed",
            "Schedule slots the missed-run policy dropped (counted once, when the status that "
            "handles them is written).",
            registry=r,
        )
        self.build_info = Gauge(
            "rerunnable_build_info",
            "1, with the operator's version, Python's and kopf's.",
            ["version", "python_version", "kopf_version"],
            registry=r,
        )
        self.build_info.labels(
            version_of("rerunnable"), platform.python_version(), version_of("kopf")
        ).set(1)
        # process_*, python_info, python_gc_*: on prometheus_client's global registry by
        # default, which this one replaces.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.queue = QueueMetrics(r)
        self._active: dict[object, int] = {}

    def leading(self) -> bool:
        """Whether `rerunnable_leader` is 1 (callable from the scrape's thread)."""
        return any(s.value == 1 for m in self.leader.collect() for s in m.samples)

    def api_request(self, method: str, path: str, status: int) -> None:
        """One request answered (`kube.transport.Answered`)."""
        self.api_requests.labels(method, resource_of(path), str(status)).inc()

    def set_active(self, key: object, count: int) -> None:
        """The active Executions of one RerunnableJob (the gauge is their sum)."""
        previous = self._active.pop(key, 0)
        if count:
            self._active[key] = count
        self.active_executions.inc(count - previous)

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        """Serve /metrics from a background thread (it never blocks the event loop)."""
        start_http_server(port, addr=address, registry=self.registry)


class QueueMetrics:
    """The work queue's metrics (`workqueue.QueueMetrics`), under controller-runtime's names,
    label name="rerunnablejob". The two in-flight gauges are computed when scraped."""

    def __init__(
        self, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        r, labels = registry, ["name"]
        self._clock = clock
        self._depth = Gauge("workqueue_depth", "Current depth of workqueue", labels, registry=r)
        self._adds = Counter(
            "workqueue_adds", "Total number of adds handled by workqueue", labels, registry=r
        )
        self._queued = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            labels,
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self._worked = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            labels,
            buckets=QUEUE_BUCKETS,
            registry=r,
        )
        self._retries = Counter(
            "workqueue_retries", "Total number of retries handled by workqueue", labels, registry=r
        )
        unfinished = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads.",
            labels,
            registry=r,
        )
        longest = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels,
            registry=r,
        )
        self._depth_now = self._depth.labels(QUEUE_NAME)
        self._adds_now = self._adds.labels(QUEUE_NAME)
        self._queued_now = self._queued.labels(QUEUE_NAME)
        self._worked_now = self._worked.labels(QUEUE_NAME)
        self._retries_now = self._retries.labels(QUEUE_NAME)
        # When each key in a worker's hands was taken. Written by the event loop, read by the
        # scrape's thread: it reads a copy, `list(d.values())`, which CPython makes in one C
        # call holding the GIL (no Python code runs in between, so the loop cannot change it).
        self._since: dict[Hashable, float] = {}
        unfinished.labels(QUEUE_NAME).set_function(lambda: sum(self._running()))
        longest.labels(QUEUE_NAME).set_function(lambda: max(self._running(), default=0.0))

    def added(self, depth: int) -> None:
        self._adds_now.inc()
        self._depth_now.set(depth)

    def started(self, key: Hashable, waited: float, depth: int) -> None:
        self._queued_now.observe(waited)
        self._depth_now.set(depth)
        self._since[key] = self._clock()

    def finished(self, key: Hashable, worked: float) -> None:
        self._worked_now.observe(worked)
        self._since.pop(key, None)

    def retried(self) -> None:
        self._retries_now.inc()

    def _running(self) -> list[float]:
        now = self._clock()
        return [now - since for since in list(self._since.values())]
