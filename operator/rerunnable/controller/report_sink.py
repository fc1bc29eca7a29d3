"""Reports into Execution statuses: checked at once, written at most once a second per run.

Every replica takes reports (the report Service picks any pod), leader or not,
so a report never races the leader's own writes by luck: the sink writes only
the fields reports own (`report`, `steps`, `result`) and always on top of the
resourceVersion it read; the leader leaves those fields alone except when a run
ends (closing its steps), and then writes on top of the version it read too. A
409 means the other side wrote first: the sink reads the Execution again and
applies its pending reports on the new version. A report the sink took is
written even if the run ends before its write: the workload was told yes, and
a workload that reports its result and exits at once is the common case (the
run's end keeps its steps closed). See docs/design.md, "Reports".

A report is checked against the run as the sink knows it (what the watch shows,
plus the reports it took) when it arrives: the workload gets its answer (204,
400, 409, 429) then. Accepted reports wait for the next write: the first goes
at once, the next at most a second after the one before, and the last accepted
value is always written.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionStatus,
    RerunnableJobSpec,
    to_wire,
)
from rerunnable.controller.index import Indexes
from rerunnable.controller.kinds import Kind
from rerunnable.controller.metrics import Metrics
from rerunnable.controller.report_auth import ReportRefusedError
from rerunnable.core.execution_status import REPORTED_FIELDS
from rerunnable.core.reports import Report, ReportError, apply_report, apply_reports
from rerunnable.core.state import ExecutionState
from rerunnable.kube.client import Kube
from rerunnable.kube.errors import ConflictError, KubeError, NotFoundError, UnavailableError
from rerunnable.kube.events import RETRY_DELAYS

__all__ = ["RATE", "WRITE_INTERVAL", "ReportSink"]

logger = logging.getLogger(__name__)

WRITE_INTERVAL = 1.0  # seconds between two status writes of one run's reports
RATE = 20  # reports a second one run may send
ATTEMPTS = 5  # writes of one batch before giving up on it (409 each time)
SWEEP_ABOVE = 1000  # runs remembered before the ended ones are forgotten


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Run:
    """What the sink knows of one run: the version it last read or wrote, the reports
    waiting for the next write, and how fast the run reports."""

    base: ExecutionState
    pending: list[tuple[datetime, Report]] = field(default_factory=list)
    view: ExecutionStatus | None = None  # base with the pending reports applied
    last_write: float = float("-inf")
    flushing: asyncio.Task[None] | None = None
    window: float = 0.0  # the second the rate is counted in
    in_window: int = 0


class ReportSink:
    def __init__(
        self,
        kube: Kube,
        indexes: Indexes,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._kube = kube
        self._indexes = indexes
        self._metrics = metrics
        self._clock = clock
        self._runs: dict[tuple[str, str], _Run] = {}

    def accept(self, namespace: str, name: str, report: Report) -> None:
        """Take a report for Execution `namespace/name`, or raise ReportRefusedError saying why."""
        run = self._run(namespace, name)
        loop = asyncio.get_running_loop().time()
        if loop - run.window >= 1.0:
            run.window, run.in_window = loop, 0
        run.in_window += 1
        if run.in_window > RATE:
            raise ReportRefusedError(
                429, "TooMany", f"more than {RATE} reports a second for {name}"
            )
        view = run.view or run.base.status
        if view.phase in TERMINAL_PHASES:
            raise ReportRefusedError(
                409, "Finished", f"Execution {name} has finished ({view.phase.value})"
            )
        now = self._clock()
        try:
            run.view = apply_report(view, report, declared=self._declared(namespace, name), now=now)
        except ReportError as e:
            raise ReportRefusedError(400, "Invalid", str(e)) from None
        run.pending.append((now, report))
        if run.flushing is None or run.flushing.done():
            run.flushing = asyncio.create_task(self._flush(namespace, name, run))

    async def close(self) -> None:
        """Write what is pending (a clean stop), then stop."""
        tasks = [r.flushing for r in self._runs.values() if r.flushing and not r.flushing.done()]
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self, namespace: str, name: str) -> _Run:
        if len(self._runs) > SWEEP_ABOVE:
            self._sweep()
        found = self._indexes[Kind.EXECUTION].find(namespace, name)
        if found is None:
            self._runs.pop((namespace, name), None)
            raise ReportRefusedError(
                404, "NoSuchExecution", f"no Execution {name} in namespace {namespace}"
            )
        execution: ExecutionState = found.obj
        run = self._runs.get((namespace, name))
        if run is None or run.base.uid != execution.uid:
            run = self._runs[(namespace, name)] = _Run(base=execution)
        elif execution.resource_version > run.base.resource_version:
            run.base = execution  # the watch has news (the leader wrote): build on it
            declared = self._declared(namespace, name)
            run.view = apply_reports(execution.status, run.pending, declared=declared)
        return run

    def _sweep(self) -> None:
        """Forget the runs that are gone or over (and not writing)."""
        executions = self._indexes[Kind.EXECUTION]
        for (namespace, name), run in list(self._runs.items()):
            found = executions.find(namespace, name)
            over = found is None or found.obj.status.phase in TERMINAL_PHASES
            if over and (run.flushing is None or run.flushing.done()):
                del self._runs[(namespace, name)]

    def _declared(self, namespace: str, name: str) -> list[str]:
        """The steps the run's job declares (none: steps come as they are reported)."""
        execution = self._indexes[Kind.EXECUTION].find(namespace, name)
        if execution is None:
            return []
        key = (namespace, execution.obj.spec.rerunnable_job)
        rjob = self._indexes[Kind.RERUNNABLE_JOB].find(*key)
        spec: RerunnableJobSpec | None = rjob.obj.spec if rjob is not None else None
        if execution.obj.status.steps:
            return [s.name for s in execution.obj.status.steps]
        return [s.name for s in (spec.steps if spec and spec.steps else [])]

    async def _flush(self, namespace: str, name: str, run: _Run) -> None:
        loop = asyncio.get_running_loop()
        wait = run.last_write + WRITE_INTERVAL - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        delays = iter(RETRY_DELAYS)
        while run.pending:
            batch, run.pending = run.pending, []
            try:
                await self._write(namespace, name, run, batch)
            except UnavailableError as e:
                # The API server away (a restart, etcd down): accepted reports wait for it,
                # as long as an event does; found by the chaos suite (etcd restarts), where
                # an acknowledged result was dropped at the first failed write.
                delay = next(delays, None)
                if delay is not None:
                    run.pending = batch + run.pending
                    await asyncio.sleep(delay)
                    continue
                logger.warning("reports of %s/%s dropped: %s", namespace, name, e)
            except KubeError as e:
                logger.warning("reports of %s/%s not written: %s", namespace, name, e)
            delays = iter(RETRY_DELAYS)
            run.last_write = loop.time()
            if run.pending:
                await asyncio.sleep(WRITE_INTERVAL)
        if run.base.status.phase in TERMINAL_PHASES:
            self._runs.pop((namespace, name), None)  # it takes no more reports

    async def _write(
        self, namespace: str, name: str, run: _Run, batch: list[tuple[datetime, Report]]
    ) -> None:
        declared = self._declared(namespace, name)
        for _ in range(ATTEMPTS):
            status = apply_reports(run.base.status, batch, declared=declared)
            wire = to_wire(status)
            patch = {k: wire[k] for k in REPORTED_FIELDS}
            try:
                body = await self._kube.patch_execution_status(
                    namespace, name, patch, resource_version=run.base.resource_version
                )
            except ConflictError:
                try:
                    body = await self._kube.get_execution(namespace, name)
                except NotFoundError:
                    return
                run.base = ExecutionState.from_body(body)
                continue
            except NotFoundError:
                return
            run.base = ExecutionState.from_body(body)
            run.view = apply_reports(run.base.status, run.pending, declared=declared)
            self._metrics.report_writes.inc()
            return
        logger.warning("reports of %s/%s dropped: %d conflicts in a row", namespace, name, ATTEMPTS)
