"""Lease-based leader election (coordination.k8s.io/v1), as client-go does it.

Every replica watches and indexes; only the holder of the Lease reconciles.
A candidate takes the Lease when it is free or its holder has not renewed it
for `lease_duration` seconds, measured on the candidate's own monotonic clock
from the moment it last saw the record change, so the replicas' clocks need
not agree. Writes carry the Lease's resourceVersion, so two candidates never
both win.

The election never dies of an error: every failure of a read or a write
(refused or reset connections, TLS errors, timeouts, 5xx, 429, anything) is a
failed attempt, counted, logged and retried after `retry_period`. Each attempt
is bounded by a timeout of half the renew deadline (controller-runtime's
choice), and while leading also by the deadline itself.

A leader stops when it has not renewed for `renew_deadline`, counted from the
start of its last successful attempt. A timer on the event loop's monotonic
clock enforces it, whatever request is in flight, so a hung connection cannot
keep a leader alive. `renew_deadline < lease_duration`, so the old leader has
stopped before any standby may take over (a standby counts `lease_duration`
from when it saw that renewal, which is after the attempt started).
A leader that shuts down cleanly releases the Lease for an immediate takeover.
"""

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, Protocol

from rerunnable.controller.metrics import Metrics
from rerunnable.kube.errors import KubeError
from rerunnable.kube.leases import LeaseRecord

__all__ = [
    "Election",
    "LeaderElector",
    "LeaseApi",
    "LeaseRecord",
    "decide",
    "default_identity",
    "describe_error",
]

logger = logging.getLogger(__name__)

RELEASE_TIMEOUT = 2.0  # seconds a clean shutdown waits to hand the Lease over


def default_identity() -> str:
    """POD_NAME in a cluster, else host and process: unique among the replicas."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


class LeaseApi(Protocol):
    """The two calls the election makes; anything they raise is a failed attempt."""

    async def read(self) -> LeaseRecord | None:
        """The Lease as stored, or None if there is none."""

    async def write(self, record: LeaseRecord) -> bool:
        """Create (no `version`) or replace (at `version`) the Lease; False if another won."""


Decision = Literal["acquire", "renew", "wait"]


def decide(record: LeaseRecord | None, me: str, observed_at: float, now: float) -> Decision:
    """What a candidate does with the Lease it sees (times from a monotonic clock).

    Returns "acquire" if the Lease is free or expired (unrenewed for its duration
    since `observed_at`, when this candidate last saw it change), "renew" if this
    candidate holds it, else "wait".
    """
    if record is None or not record.holder:
        return "acquire"
    if record.holder == me:
        return "renew"
    if now >= observed_at + record.duration:
        return "acquire"
    return "wait"


def describe_error(error: BaseException) -> str:
    """A short label for a failed attempt: `HTTP 503`, `Timeout`, `ClientConnectorError`."""
    if isinstance(error, KubeError):
        if error.code:
            return f"HTTP {error.code}"
        return error.message.split(":")[0]  # the connection error's type (errors.unavailable)
    if isinstance(error, TimeoutError):
        return "Timeout"
    return type(error).__name__


@dataclass(frozen=True)
class Election:
    namespace: str
    name: str = "rerunnable-operator"
    identity: str = ""
    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election needs 0 < retry period < renew deadline < lease duration; got "
                f"{self.retry_period} < {self.renew_deadline} < {self.lease_duration}"
            )

    @property
    def attempt_timeout(self) -> float:
        """Longest a single attempt (a read and a write) may take."""
        return self.renew_deadline / 2


class LeaderElector:
    def __init__(
        self, leases: LeaseApi, election: Election, metrics: Metrics | None = None
    ) -> None:
        self._leases = leases
        self._election = election
        self._metrics = metrics if metrics is not None else Metrics()
        self._me = election.identity or default_identity()
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._on_lost: Callable[[], None] = lambda: None
        self.leading = False

    @property
    def identity(self) -> str:
        return self._me

    async def run(
        self,
        on_started: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        """Campaign until leading, call `on_started`, renew until lost, then `on_lost`.

        `on_lost` is called from a timer the moment the renew deadline passes; it
        must stop every write (the operator exits the process). `run` returns then.
        """
        e = self._election
        loop = asyncio.get_running_loop()
        self._on_lost = on_lost
        self._observed_at = loop.time()
        logger.info("campaigning for the lease %s/%s as %s", e.namespace, e.name, self._me)
        while True:
            started = loop.time()
            if await self._attempt(e.attempt_timeout):
                break
            await asyncio.sleep(e.retry_period)
        self.leading = True
        self._metrics.leader.set(1)
        self._arm(started + e.renew_deadline)
        logger.info("leading: acquired the lease %s/%s as %s", e.namespace, e.name, self._me)
        await on_started()
        while self.leading:
            await asyncio.sleep(e.retry_period)
            started = loop.time()
            remaining = self._deadline.when() - started if self._deadline else 0.0
            if not self.leading or remaining <= 0:
                break
            if await self._attempt(min(e.attempt_timeout, remaining)) and self.leading:
                self._arm(started + e.renew_deadline)

    async def release(self) -> None:
        """Give the Lease up (clean shutdown), so a standby takes over at once."""
        if not self.leading:
            return
        self._disarm()
        self.leading = False
        self._metrics.leader.set(0)
        e = self._election
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT):
                record = await self._leases.read()
                if record is None or record.holder != self._me:
                    return
                now = datetime.now(UTC)
                released = replace(record, holder=None, duration=1, renew_time=now)
                if await self._leases.write(released):
                    logger.info("released the lease %s/%s", e.namespace, e.name)
        except Exception as error:  # shutting down: a log line is all that is left to do
            logger.warning("could not release the lease: %s", describe_error(error))

    def _arm(self, deadline: float) -> None:
        self._disarm()
        self._deadline = asyncio.get_running_loop().call_at(deadline, self._lose)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _lose(self) -> None:
        e = self._election
        self._deadline = None
        self.leading = False
        self._metrics.leader.set(0)
        logger.error(
            "lost the lease %s/%s: not renewed within the renew deadline (%ss); stopping",
            e.namespace,
            e.name,
            e.renew_deadline,
        )
        self._on_lost()

    async def _attempt(self, limit: float) -> bool:
        """One attempt of at most `limit` seconds; True if this replica holds the Lease after it."""
        try:
            async with asyncio.timeout(limit):
                return await self._try()
        except Exception as error:
            self._metrics.lease_failures.labels(describe_error(error)).inc()
            detail = f": {error}" if str(error) else ""
            logger.warning(
                "lease %s/%s: attempt failed (%s%s); retrying in %ss",
                self._election.namespace,
                self._election.name,
                describe_error(error),
                detail,
                self._election.retry_period,
            )
            return False

    async def _try(self) -> bool:
        e = self._election
        loop = asyncio.get_running_loop()
        record = await self._leases.read()
        if record != self._observed:
            holder = record.holder if record is not None else None
            before = self._observed.holder if self._observed is not None else None
            if holder != before and holder != self._me:
                logger.info("lease %s/%s is held by %s", e.namespace, e.name, holder or "nobody")
            self._observed = record
            self._observed_at = loop.time()
        decision = decide(record, self._me, self._observed_at, loop.time())
        if decision == "wait":
            return False
        now = datetime.now(UTC)
        if record is None:
            wanted = LeaseRecord(self._me, e.lease_duration, 0, now, now)
        elif decision == "acquire":
            transitions = record.transitions + (1 if record.holder else 0)
            wanted = replace(
                record,
                holder=self._me,
                duration=e.lease_duration,
                transitions=transitions,
                acquire_time=now,
                renew_time=now,
            )
        else:
            wanted = replace(record, duration=e.lease_duration, renew_time=now)
        return await self._leases.write(wanted)
