"""core/v1 Events about the operator's objects, posted behind the runs' own writes.

Events are best effort: a failure is a log line, never a failed pass. With many
runs due at once, waiting for each event would put a round trip between one
run's Job and the next, so `post` returns at once and at most EVENT_CONCURRENCY
are in flight; the rest wait in order.
"""

import asyncio
import itertools
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from rerunnable.api.v1alpha1 import rfc3339
from rerunnable.kube.resources import EVENTS
from rerunnable.kube.transport import Transport

__all__ = ["EVENT_CONCURRENCY", "EventRecorder", "ObjectRef", "Recorder"]

logger = logging.getLogger(__name__)

EVENT_CONCURRENCY = 4
ObjectRef = Mapping[str, str]  # apiVersion, kind, namespace, name, uid
MESSAGE_LIMIT = 1024


class Recorder(Protocol):
    """What posts an Event (tests/unit/fakes.py has one that records them)."""

    def post(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None: ...


class EventRecorder:
    def __init__(self, transport: Transport, *, instance: str) -> None:
        self._transport = transport
        self._instance = instance  # reportingInstance: which replica wrote it
        self._prefix = uuid.uuid4().hex[:8]
        self._ids = itertools.count()
        self._slots = asyncio.Semaphore(EVENT_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()

    def post(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        task = asyncio.create_task(self._post(regarding, type_, reason, message, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        name = f"{regarding['name']}.{self._prefix}{next(self._ids):x}"
        stamp = rfc3339(now)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": regarding["namespace"]},
            "involvedObject": dict(regarding),
            "type": type_,
            "reason": reason,
            "message": message[:MESSAGE_LIMIT],
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "source": {"component": "rerunnable"},
            "reportingComponent": "rerunnable.dev/operator",
            "reportingInstance": self._instance,
        }
        async with self._slots:
            try:
                await self._transport.request("POST", EVENTS.path(regarding["namespace"]), body)
            except Exception as e:  # a timeout, a dropped connection: still only a log line
                logger.warning("could not post event %s/%s: %s", reason, name, e)
