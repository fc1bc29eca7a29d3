"""core/v1 Events about the operator's objects, posted behind the runs' own writes.

Events are best effort: a failure is a log line, never a failed pass; an API server
that is away is waited for about a minute (an event is said once, when something
changes). With many
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
from rerunnable.kube.errors import AlreadyExistsError, UnavailableError
from rerunnable.kube.resources import EVENTS
from rerunnable.kube.transport import Transport

__all__ = ["EVENT_CONCURRENCY", "EventRecorder", "ObjectRef", "Recorder"]

logger = logging.getLogger(__name__)

EVENT_CONCURRENCY = 4
# Waits between tries of an event the API server could not take (about a minute in all).
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
ObjectRef = Mapping[str, str]  # apiVersion, kind, namespace, name, uid
MESSAGE_LIMIT = 1024


class Recorder(Protocol):
    """What posts an Event (tests/unit/fakes.py has one that records them)."""

    def post(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        """Post in the background, waiting a while for an API server that is away."""

    async def post_now(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        """Post and return once posted (one try; a failure is a log line)."""


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

    async def post_now(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        await self._post(regarding, type_, reason, message, now, delays=())

    async def flush(self) -> None:
        """Wait until every event posted so far is posted or given up."""
        await asyncio.gather(*list(self._tasks))

    async def _post(
        self,
        regarding: ObjectRef,
        type_: str,
        reason: str,
        message: str,
        now: datetime,
        delays: tuple[float, ...] | None = None,
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
        path = EVENTS.path(regarding["namespace"])
        for delay in (*(RETRY_DELAYS if delays is None else delays), None):
            async with self._slots:
                try:
                    await self._transport.request("POST", path, body)
                    return
                except AlreadyExistsError:  # an earlier try got through after all
                    return
                except UnavailableError as e:
                    # An API server restarting: an event said once (a Ready transition)
                    # would be lost for good, so it waits for the server a while.
                    failure: Exception = e
                except Exception as e:  # refused: trying again would not help
                    logger.warning("could not post event %s/%s: %s", reason, name, e)
                    return
            if delay is None:
                break
            await asyncio.sleep(delay)
        logger.warning("could not post event %s/%s: %s", reason, name, failure)
