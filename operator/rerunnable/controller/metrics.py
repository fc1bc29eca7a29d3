"""Prometheus metrics, served on /metrics.

What an on-call engineer asks first: are runs starting (by trigger), how are
they ending (by phase), how late do scheduled runs start, how many are
running, is the operator failing, and is this replica the leader.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from rerunnable.kube.resources import resource_of

__all__ = ["Metrics"]

# Seconds from a slot to its Execution: fine below a second, coarse up to minutes.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


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
        self._active: dict[object, int] = {}

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
