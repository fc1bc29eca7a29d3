"""One shared watch per kind: Jobs (first sighting of each) and RerunnableJobs (readiness)."""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench.kubeapi import Api, Body
from bench.stats import SeenJob

__all__ = ["JobWatcher", "RerunnableJobWatcher"]

RJOB_LABEL = "rerunnable.dev/rerunnable-job"
RJOB_SLOT = "rerunnable.dev/scheduled-time"
CRONJOB_SLOT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
RJOBS_PATH = "/apis/rerunnable.dev/v1alpha1/rerunnablejobs"


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def seen_job(job: Body, received: float) -> SeenJob | None:
    """Which object and slot a Job runs for (Rerunnable's or a CronJob's), or None."""
    meta = job["metadata"]
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if RJOB_LABEL in labels:
        slot = annotations.get(RJOB_SLOT)
        return SeenJob(labels[RJOB_LABEL], meta["name"], _epoch(slot) if slot else None, received)
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "CronJob":
            slot = annotations.get(CRONJOB_SLOT)
            return SeenJob(ref["name"], meta["name"], _epoch(slot) if slot else None, received)
    return None


class _Watcher:
    def __init__(self, api: Api, path: str) -> None:
        self._api = api
        self._path = path
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        _, rv = await self._api.list_items(self._path, limit="1")
        self._task = asyncio.create_task(self._run(rv), name=f"watch {self._path}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, rv: str) -> None:
        async for received, kind, obj in self._api.watch(self._path, rv):
            if self._handle(received, kind, obj):
                async with self._changed:
                    self._changed.notify_all()

    def _handle(self, received: float, kind: str, obj: Body) -> bool:
        raise NotImplementedError

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait until `predicate()` holds (checked on every change); False on timeout."""
        if self._task is not None and self._task.done():
            self._task.result()  # a failed watch fails the scenario
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), within)
            except TimeoutError:
                return False
        return True


class JobWatcher(_Watcher):
    """Every Job in the cluster, stamped when the watch first delivered it."""

    def __init__(self, api: Api) -> None:
        super().__init__(api, "/apis/batch/v1/jobs")
        self.jobs: dict[str, dict[str, SeenJob]] = {}  # namespace -> name -> first sighting

    def _handle(self, received: float, kind: str, obj: Body) -> bool:
        if kind == "DELETED":
            return False
        meta = obj["metadata"]
        in_namespace = self.jobs.setdefault(meta["namespace"], {})
        if meta["name"] in in_namespace:
            return False
        seen = seen_job(obj, received)
        if seen is None:
            return False
        in_namespace[meta["name"]] = seen
        return True

    def in_namespace(self, namespace: str) -> list[SeenJob]:
        return list(self.jobs.get(namespace, {}).values())

    def count(self, namespace: str) -> int:
        return len(self.jobs.get(namespace, {}))


class RerunnableJobWatcher(_Watcher):
    """Which RerunnableJobs the operator has handled: status written for their generation."""

    def __init__(self, api: Api) -> None:
        super().__init__(api, RJOBS_PATH)
        self.handled: dict[str, dict[str, float]] = {}  # namespace -> name -> first seen handled
        self.scheduled: dict[str, dict[str, float]] = {}  # ... with a nextScheduleTime

    def _handle(self, received: float, kind: str, obj: Body) -> bool:
        meta = obj["metadata"]
        status: dict[str, Any] = obj.get("status") or {}
        changed = False
        ns = meta["namespace"]
        if kind == "DELETED":
            return False
        if status.get("observedGeneration", 0) >= meta.get("generation", 1):
            handled = self.handled.setdefault(ns, {})
            if meta["name"] not in handled:
                handled[meta["name"]] = received
                changed = True
        if status.get("nextScheduleTime"):
            scheduled = self.scheduled.setdefault(ns, {})
            if meta["name"] not in scheduled:
                scheduled[meta["name"]] = received
                changed = True
        return changed

    def forget(self, namespace: str) -> None:
        self.handled.pop(namespace, None)
        self.scheduled.pop(namespace, None)
