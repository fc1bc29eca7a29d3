"""Each RerunnableJob's state as metrics, as kube-state-metrics has a CronJob's.

A Prometheus collector that rebuilds the series from the RerunnableJob index on
every scrape: a deleted job's series are gone with it, and a job whose last
result changes has one `last_result` series, with no bookkeeping to get wrong.
Only the leader exports them: every replica has the same index, and two
replicas exporting would double every sum (docs/design.md, "Metrics").

The scrape runs in prometheus_client's HTTP thread while the event loop changes
the index: it reads `ObjectIndex.snapshot`, a copy made in one C call. A job is
parsed again only when its resourceVersion changed since the last scrape.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from rerunnable.api.reasons import ConditionType
from rerunnable.api.v1alpha1 import parse_time
from rerunnable.controller.index import ObjectIndex
from rerunnable.controller.kinds import Key, Versioned

__all__ = ["JobRow", "JobStateCollector", "row_of"]


@dataclass(frozen=True)
class JobRow:
    """What the metrics read of one RerunnableJob (times in Unix seconds)."""

    namespace: str
    name: str
    next_run: float | None
    last_success: float | None
    last_run: float | None
    suspended: bool
    active: int
    last_result: str | None


def _seconds(value: object) -> float | None:
    moment = parse_time(value)
    return None if moment is None else moment.timestamp()


def _condition_true(status: Mapping[str, Any], type_: str) -> bool:
    conditions = status.get("conditions") or ()
    return any(c.get("type") == type_ and c.get("status") == "True" for c in conditions)


def row_of(key: Key, body: Mapping[str, Any]) -> JobRow:
    """The row of a RerunnableJob's body (as its index keeps it, or as the API server has it)."""
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    active = status.get("activeCount")
    result = status.get("lastResult")
    return JobRow(
        namespace=key[0],
        name=key[1],
        next_run=_seconds(status.get("nextScheduleTime")),
        last_success=_seconds(status.get("lastSuccessfulTime")),
        # lastRunTime: when the latest Execution was made, by any trigger; lastScheduleTime is
        # the latest slot handled, which a skipped or missed slot moves too.
        last_run=_seconds(status.get("lastRunTime")),
        # The Suspended condition covers spec.suspend, a suspendUntil not yet reached and
        # suspendAfterFailures: no scheduled run starts in any of them, so none is late.
        suspended=bool(spec.get("suspend")) or _condition_true(status, ConditionType.SUSPENDED),
        active=int(active) if isinstance(active, int) else len(status.get("active") or ()),
        last_result=str(result) if result else None,
    )


class JobStateCollector(Collector):
    """The per-RerunnableJob series, from `index` (the RerunnableJob kind's, whose versions
    keep compact JSON), while `leading()`."""

    def __init__(self, index: ObjectIndex, leading: Callable[[], bool]) -> None:
        self._index = index
        self._leading = leading
        # (namespace, name) -> (resourceVersion, its samples, by family), as of the last
        # scrape; replaced whole, so two scrapes at once (the HTTP server has a thread each)
        # never share a dict. A job is idle nearly all the time: most scrapes parse nothing.
        self._samples: dict[Key, tuple[int, _JobSamples]] = {}

    def describe(self) -> Iterable[Metric]:
        return _families()

    def collect(self) -> Iterable[Metric]:
        if not self._leading():
            return ()
        before = self._samples
        now: dict[Key, tuple[int, _JobSamples]] = {}
        for key, version in self._index.snapshot():
            known = before.get(key)
            if known is None or known[0] != version.resource_version:
                known = (version.resource_version, _samples(row_of(key, _body(version))))
            now[key] = known
        self._samples = now
        families = _families()
        for _, samples in now.values():
            for family, more in zip(families, samples, strict=True):
                family.samples.extend(more)
        return families


# One job's samples, one tuple per family (in `_FAMILIES`' order).
_JobSamples = tuple[tuple[Sample, ...], ...]

# name, help, extra label: the families, in the order `_samples` fills them.
_FAMILIES = (
    (
        "rerunnable_job_next_run_timestamp_seconds",
        "status.nextScheduleTime: when the next scheduled run is due (absent if none is).",
    ),
    (
        "rerunnable_job_last_success_timestamp_seconds",
        "status.lastSuccessfulTime: when the latest successful run completed.",
    ),
    (
        "rerunnable_job_last_run_timestamp_seconds",
        "status.lastRunTime: when the latest run (its Execution) was made, by any trigger.",
    ),
    (
        "rerunnable_job_suspended",
        "1 while no scheduled run may start (spec.suspend, spec.suspendUntil not reached, "
        "spec.suspendAfterFailures: the Suspended condition), else 0.",
    ),
    ("rerunnable_job_active_runs", "status.activeCount: runs pending or running."),
    (
        "rerunnable_job_last_result",
        "1, labelled with status.lastResult: the phase of the latest finished run.",
    ),
)


def _families() -> list[Metric]:
    return [Metric(name, documentation, "gauge") for name, documentation in _FAMILIES]


def _body(version: Versioned[Any]) -> Mapping[str, Any]:
    kept = version.obj
    body: Mapping[str, Any] = json.loads(kept) if isinstance(kept, bytes | str) else kept
    return body


def _samples(row: JobRow) -> _JobSamples:
    labels = {"namespace": row.namespace, "rerunnablejob": row.name}
    names = [name for name, _ in _FAMILIES]

    def one(i: int, value: float | None) -> tuple[Sample, ...]:
        return () if value is None else (Sample(names[i], labels, value),)

    result = (
        ()
        if row.last_result is None
        else (Sample(names[5], {**labels, "phase": row.last_result}, 1.0),)
    )
    return (
        one(0, row.next_run),
        one(1, row.last_success),
        one(2, row.last_run),
        one(3, 1.0 if row.suspended else 0.0),
        one(4, float(row.active)),
        result,
    )
