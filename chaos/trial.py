"""One scenario's life: set up, run the faults, settle, check, count.

A Trial owns a namespace of its own, the jobs of `workload`, the `Recorder`
watching them, the operator's `Fleet` and a `Runner` sending tokens. The
scenario injects its faults between `begin()` and `end()`; `end()` lets the
operator catch up, suspends every job, waits until nothing is active, and checks
every invariant over what the recorder saw and what is left.
"""

import contextlib
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event, Namespace
from tests.e2e.cluster import Cluster
from tests.e2e.namespaces import create_namespace
from tests.e2e.rjobs import ExecutionResource, RerunnableJobResource

from chaos import invariants, workload
from chaos.fleet import Fleet
from chaos.invariants import ACTIVE, Expected, Findings
from chaos.recorder import Recorder, plain
from chaos.reporter import Reporter
from rerunnable.api.names import ANNOTATION_ARMED

__all__ = ["Result", "Trial", "percentiles"]

# Seconds within which a report taken is written (report_sink.WRITE_INTERVAL, and then some).
REPORT_WRITE_WINDOW = 2.0


@dataclass
class Result:
    scenario: str
    faults: int = 0
    runs: int = 0
    tokens: int = 0
    findings: Findings = field(default_factory=Findings)
    figures: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        counts = {k: len(v) for k, v in self.findings.as_dict().items()}
        return {
            "scenario": self.scenario,
            "faults": self.faults,
            "runs": self.runs,
            "tokens": self.tokens,
            **counts,
            "ok": self.findings.count() == 0,
            "figures": self.figures,
            "seconds": round(self.seconds, 1),
            "findings": {k: v[:50] for k, v in self.findings.as_dict().items() if v},
        }


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 2),
        "p99": round(p99, 2),
        "max": round(ordered[-1], 2),
    }


class Trial:
    def __init__(
        self,
        cluster: Cluster,
        client: Client,
        log_dir: Path,
        scenario: str,
        *,
        jobs: int,
        replicas: int,
        leader_elect: bool,
        token_interval: float = 1.0,
        backfill: bool = True,
        history: int = workload.ALL_RUNS,
        arm_ahead: int = 0,
    ) -> None:
        self.cluster = cluster
        self.client = client
        self.scenario = scenario
        self.namespace = f"chaos-{scenario}-{uuid.uuid4().hex[:6]}"
        self.result = Result(scenario)
        self.expected = Expected()
        self._jobs = jobs
        self._token_interval = token_interval
        self._backfill = backfill
        self._history = history
        self._log_dir = log_dir / self.namespace
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self._started = time.monotonic()
        create_namespace(client, self.namespace)
        self.recorder = Recorder(client, self.namespace)
        self.fleet = Fleet(
            cluster,
            client,
            self.namespace,
            self._log_dir,
            replicas=replicas,
            leader_elect=leader_elect,
            arm_ahead=arm_ahead,
        )
        self.specs: list[workload.JobSpec] = []
        self.runner: workload.Runner | None = None
        self.reporter: Reporter | None = None
        self.created = datetime.now(UTC)

    def begin(self) -> None:
        """The operator runs, the jobs exist, the user is sending tokens."""
        self.fleet.start()
        self.created = datetime.now(UTC)
        self.specs = workload.make_jobs(
            self.client, self.namespace, self._jobs, history=self._history
        )
        if self._backfill:
            plain = next(s for s in self.specs if not s.retries)
            slots = workload.backfill(self.client, self.namespace, plain.name, self.created)
            self.expected.backfills[plain.name] = slots
        self.runner = workload.Runner(
            self.client,
            self.namespace,
            self.specs,
            self.recorder,
            self.expected,
            interval=self._token_interval,
        )
        reporting = [s.name for s in self.specs if s.reporting]
        self.reporter = Reporter(
            self.cluster, self.client, self.namespace, reporting, self.recorder, self.expected
        )

    def end(self, settle: float = 240) -> Result:
        """Stop the faults' aftermath, settle and check; the result."""
        assert self.runner is not None
        assert self.reporter is not None
        self.runner.stop()
        self.reporter.stop()
        last_slot = _caught_up(self, timeout=120)
        for s in self.specs:
            self.expected.windows[s.name] = workload.minute_slots(self.created, last_slot)
        workload.suspend_all(self.client, self.namespace, self.specs)
        _settle(self, timeout=settle)
        self._check()
        self.result.tokens = self.runner.sent
        self.result.seconds = time.monotonic() - self._started
        return self.result

    def close(self, keep: bool = False) -> None:
        if self.runner is not None:
            self.runner.stop()
        if self.reporter is not None:
            self.reporter.stop()
        self.recorder.stop()
        (self._log_dir / "operator.log").write_text(self.fleet.logs(lines=400))
        self.fleet.stop()
        if not keep:
            with contextlib.suppress(Exception):
                self.client.delete(Namespace, self.namespace)

    def _check(self) -> None:
        ns = self.namespace
        rjobs = [plain(o) for o in self.client.list(RerunnableJobResource, namespace=ns)]
        executions = [plain(o) for o in self.client.list(ExecutionResource, namespace=ns)]
        jobs = [plain(o) for o in self.client.list(Job, namespace=ns)]
        events = self.recorder.every_event(plain(o) for o in self.client.list(Event, namespace=ns))
        with self.recorder.lock:
            ever = list(self.recorder.executions.values())
        self._set_aside_reports_at_risk()
        found = invariants.check(rjobs, executions, jobs, events, self.expected, ever)
        found.backward += self.recorder.backward + self.recorder.token_findings()
        # With what the faults found on their way (a partitioned leader still running, a
        # hostile object never reported, a recovery without runs, growth in the soak).
        for kind, lines in self.result.findings.as_dict().items():
            getattr(found, kind).extend(lines)
        self.result.findings = found
        every = invariants.every_execution(executions, ever)
        # A run's lag: its Execution's creation after its slot; for one armed ahead, its Job's
        # (of the Jobs still there at the end).
        made = {j["metadata"]["name"]: j["metadata"].get("creationTimestamp") for j in jobs}
        lags = [
            (created - slot).total_seconds()
            for name, e in every.items()
            if e["spec"].get("trigger") == "Schedule"
            and (slot := invariants.parse_time(e["spec"].get("scheduledTime"))) is not None
            and (
                created := invariants.parse_time(
                    made.get(name)
                    if (e["metadata"].get("annotations") or {}).get(ANNOTATION_ARMED)
                    else e["metadata"].get("creationTimestamp")
                )
            )
        ]
        self.result.figures["slot_lag_s"] = percentiles(lags)
        self.result.runs = len(every)

    def _set_aside_reports_at_risk(self) -> None:
        """A report is written within a second of its 204; one whose replica may have died in
        that second is counted apart, not held against the operator."""
        assert self.reporter is not None
        exits = [x.at for x in self.fleet.exits]
        at_risk = [
            name
            for name, acked in self.reporter.acknowledged.items()
            if any(acked <= at <= acked + REPORT_WRITE_WINDOW for at in exits)
        ]
        with self.recorder.lock:
            seen = {
                n: (e.get("status") or {}).get("result")
                for n, e in self.recorder.executions.items()
            }
        lost = [n for n in at_risk if seen.get(n) != self.expected.results.get(n)]
        for name in at_risk:
            self.expected.results.pop(name, None)
        self.result.figures["reports"] = {
            "acknowledged": len(self.reporter.acknowledged),
            "replica_died_within_a_second": len(at_risk),
            "of_those_lost": len(lost),
            "refused_or_failed": self.reporter.refused,
        }


def _caught_up(trial: Trial, timeout: float) -> datetime:
    """Wait until every job has handled the latest slot (the operator is healthy again);
    return that slot. Jobs that never catch up are left to the checks."""
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [
            (o.get("status") or {})
            for o in trial.client.list(RerunnableJobResource, namespace=trial.namespace)
        ]
        if all(_handled(s, slot) for s in statuses):
            break
        time.sleep(1)
    return slot


def _handled(status: dict[str, Any], slot: datetime) -> bool:
    last = invariants.parse_time(status.get("lastScheduleTime"))
    skipped = invariants.parse_time((status.get("lastSkipped") or {}).get("scheduledTime"))
    return any(t is not None and t >= slot for t in (last, skipped))


def _settle(trial: Trial, timeout: float) -> None:
    """Wait until no run is active, no retry is waiting and every acknowledged token ran."""
    deadline = time.monotonic() + timeout

    def settled() -> bool:
        executions = list(trial.client.list(ExecutionResource, namespace=trial.namespace))
        for e in executions:
            status = e.get("status") or {}
            if status.get("phase") in ACTIVE or status.get("phase") is None:
                return False
            if status.get("nextAttemptTime"):
                at = invariants.parse_time(status["nextAttemptTime"])
                if at is not None and at > datetime.now(UTC) - timedelta(seconds=30):
                    return False
        events = trial.recorder.every_event(
            plain(o) for o in trial.client.list(Event, namespace=trial.namespace)
        )
        found = [plain(e) for e in executions]
        return not invariants.unaccounted_tokens(found, events, trial.expected)

    while time.monotonic() < deadline:
        try:
            if settled():
                return
        except Exception:  # the API server may still be coming back
            pass
        time.sleep(1)
