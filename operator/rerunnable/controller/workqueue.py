"""One work queue and one timer heap for every RerunnableJob.

Keys (namespace, name) are added when something about an object changes, or
at a time (its next schedule slot). A key is never processed by two workers at
once; a key added while it is being processed runs once more afterwards; a key
added many times while waiting runs once. This is client-go's workqueue with
a delaying heap, which is what lets one process serve thousands of objects
with a fixed number of tasks (kopf's docs warn against a timer per object).

It reports to a `QueueMetrics` (controller-runtime's workqueue metrics, in
`metrics`); the default reports nowhere, so the queue needs no Prometheus.
"""

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

__all__ = ["NO_QUEUE_METRICS", "QueueMetrics", "WorkQueue"]

K = TypeVar("K", bound=Hashable)

logger = logging.getLogger(__name__)


class QueueMetrics(Protocol):
    """What the queue reports, as client-go's workqueue does (seconds on the queue's clock)."""

    def added(self, depth: int) -> None:
        """A key was added (it was not waiting already); `depth`: keys waiting now."""

    def started(self, key: Hashable, waited: float, depth: int) -> None:
        """A worker took `key`, `waited` seconds after it was added."""

    def finished(self, key: Hashable, worked: float) -> None:
        """The worker is done with `key` after `worked` seconds."""

    def retried(self) -> None:
        """A key comes back after a pass that did not finish (`retry_after`)."""


class _NoQueueMetrics:
    def added(self, depth: int) -> None:
        pass

    def started(self, key: Hashable, waited: float, depth: int) -> None:
        pass

    def finished(self, key: Hashable, worked: float) -> None:
        pass

    def retried(self) -> None:
        pass


NO_QUEUE_METRICS: QueueMetrics = _NoQueueMetrics()


class WorkQueue(Generic[K]):
    def __init__(
        self, clock: Callable[[], float] | None = None, metrics: QueueMetrics = NO_QUEUE_METRICS
    ) -> None:
        self._clock = clock
        self._metrics = metrics
        self._added: dict[K, float] = {}  # when each key waiting (or to run again) was added
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._again: set[K] = set()
        self._timers: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}
        self._sequence = 0
        self._timer_changed = asyncio.Event()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def add(self, key: K) -> None:
        """Process `key` as soon as a worker is free."""
        if key in self._processing:
            if key in self._again:
                return
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.put_nowait(key)
        else:
            return
        # Counted as client-go counts: once each time the key becomes due, waiting from now.
        self._added.setdefault(key, self._now())
        self._metrics.added(self.depth)

    def add_at(self, key: K, when: float) -> None:
        """Process `key` at loop time `when`, unless it is due earlier already.

        A key has one timer, the earliest asked for: its pass then asks for the next.
        """
        current = self._due.get(key)
        if current is not None and current <= when:
            return
        self._due[key] = when
        self._sequence += 1
        heapq.heappush(self._timers, (when, self._sequence, key))
        self._timer_changed.set()

    def add_after(self, key: K, delay: float) -> None:
        self.add_at(key, self._now() + max(delay, 0.0))

    def retry_after(self, key: K, delay: float) -> None:
        """`add_after` for a pass that did not finish: counted as a retry."""
        self._metrics.retried()
        self.add_after(key, delay)

    def forget(self, key: K) -> None:
        """Drop the pending timer of a key (its object is gone)."""
        self._due.pop(key, None)

    @property
    def waiting(self) -> int:
        return len(self._queued)

    @property
    def depth(self) -> int:
        """Keys due: waiting, or to run again once their pass ends (client-go's depth)."""
        return len(self._queued) + len(self._again)

    @property
    def scheduled(self) -> int:
        return len(self._due)

    async def run_timers(self) -> None:
        """Move keys whose time has come to the ready queue; runs until cancelled."""
        while True:
            now = self._now()
            while self._timers and self._timers[0][0] <= now:
                when, _, key = heapq.heappop(self._timers)
                if self._due.get(key) == when:
                    del self._due[key]
                    self.add(key)
            self._timer_changed.clear()
            timeout = self._timers[0][0] - now if self._timers else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_changed.wait(), timeout)

    async def run_worker(self, process: Callable[[K], Awaitable[None]]) -> None:
        """Process keys one at a time; runs until cancelled. Start several for parallelism."""
        while True:
            key = await self._ready.get()
            self._queued.discard(key)
            self._processing.add(key)
            start = self._now()
            self._metrics.started(key, start - self._added.pop(key, start), self.depth)
            try:
                await process(key)
            except Exception:
                logger.exception("processing %s failed", key)
            finally:
                self._metrics.finished(key, self._now() - start)
                self._processing.discard(key)
                if key in self._again:  # counted when it was added: it only moves on
                    self._again.discard(key)
                    self._queued.add(key)
                    self._ready.put_nowait(key)
