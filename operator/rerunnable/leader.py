"""Lease-based leader election (coordination.k8s.io/v1), as client-go does it.

Every replica watches and indexes; only the holder of the Lease reconciles.
A candidate takes the Lease when it is free or its holder has not renewed it
for `lease_duration` seconds — measured on the candidate's own monotonic clock
from the moment it last saw the record change, so the replicas' clocks need
not agree. The leader renews every `retry_period`; if it cannot renew for
`renew_deadline` it stops at once (the process exits and is restarted as a
standby), so two leaders never act together for longer than the clocks drift.
A leader that shuts down cleanly releases the Lease for an immediate takeover.
"""

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from lightkube import ApiError, AsyncClient
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

__all__ = ["Election", "LeaderElector", "LeaseRecord", "decide", "default_identity"]

logger = logging.getLogger(__name__)


def default_identity() -> str:
    """POD_NAME in a cluster, else host and process: unique among the replicas."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"


@dataclass(frozen=True)
class LeaseRecord:
    holder: str | None
    duration: int
    transitions: int


Decision = Literal["acquire", "renew", "wait"]


def decide(record: LeaseRecord | None, me: str, observed_at: float, now: float) -> Decision:
    """What a candidate does with the Lease it sees (times from a monotonic clock)."""
    if record is None or not record.holder:
        return "acquire"
    if record.holder == me:
        return "renew"
    if now >= observed_at + record.duration:
        return "acquire"
    return "wait"


@dataclass(frozen=True)
class Election:
    namespace: str
    name: str = "rerunnable-operator"
    identity: str = ""
    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class LeaderElector:
    def __init__(self, client: AsyncClient, election: Election) -> None:
        self._client = client
        self._election = election
        self._me = election.identity or default_identity()
        self._observed: tuple[LeaseRecord | None, str | None] = (None, None)
        self._observed_at = time.monotonic()
        self.leading = False

    @property
    def identity(self) -> str:
        return self._me

    async def run(
        self,
        on_started: Callable[[], Awaitable[None]],
        on_lost: Callable[[], None],
    ) -> None:
        """Campaign until leading, call `on_started`, renew until lost, then `on_lost`."""
        e = self._election
        while not self.leading:
            if await self._try():
                self.leading = True
                logger.info("leading as %s (lease %s/%s)", self._me, e.namespace, e.name)
                await on_started()
            else:
                await asyncio.sleep(e.retry_period)
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(e.retry_period)
            if await self._try():
                last_renewal = time.monotonic()
            elif time.monotonic() - last_renewal >= e.renew_deadline:
                self.leading = False
                logger.error("lost the lease %s/%s; stopping", e.namespace, e.name)
                on_lost()
                return

    async def release(self) -> None:
        """Give the Lease up (clean shutdown), so a standby takes over at once."""
        if not self.leading:
            return
        self.leading = False
        e = self._election
        try:
            lease = await self._client.get(Lease, e.name, namespace=e.namespace)
            if lease.spec is None or lease.spec.holderIdentity != self._me:
                return
            lease.spec.holderIdentity = None
            lease.spec.leaseDurationSeconds = 1
            lease.spec.renewTime = datetime.now(UTC)
            await self._client.replace(lease)
            logger.info("released the lease %s/%s", e.namespace, e.name)
        except ApiError as error:
            logger.warning("could not release the lease: %s", error)

    async def _try(self) -> bool:
        """One attempt to acquire or renew; True if this replica holds the Lease after it."""
        e = self._election
        now = datetime.now(UTC)
        try:
            lease = await self._client.get(Lease, e.name, namespace=e.namespace)
        except ApiError as error:
            if error.status.code != 404:
                logger.warning("reading the lease failed: %s", error)
                return False
            return await self._create(now)
        spec = lease.spec or LeaseSpec()
        record = LeaseRecord(
            holder=spec.holderIdentity,
            duration=spec.leaseDurationSeconds or e.lease_duration,
            transitions=spec.leaseTransitions or 0,
        )
        version = lease.metadata.resourceVersion if lease.metadata else None
        if (record, version) != self._observed:
            self._observed = (record, version)
            self._observed_at = time.monotonic()
        decision = decide(record, self._me, self._observed_at, time.monotonic())
        if decision == "wait":
            return False
        if decision == "acquire":
            spec.acquireTime = now
            spec.leaseTransitions = record.transitions + (1 if record.holder else 0)
        spec.holderIdentity = self._me
        spec.leaseDurationSeconds = e.lease_duration
        spec.renewTime = now
        lease.spec = spec
        try:
            await self._client.replace(lease)
        except ApiError as error:
            # 409: someone else wrote it first; they win this round.
            if error.status.code != 409:
                logger.warning("writing the lease failed: %s", error)
            return False
        return True

    async def _create(self, now: datetime) -> bool:
        e = self._election
        lease = Lease(
            metadata=ObjectMeta(name=e.name, namespace=e.namespace),
            spec=LeaseSpec(
                holderIdentity=self._me,
                leaseDurationSeconds=e.lease_duration,
                acquireTime=now,
                renewTime=now,
                leaseTransitions=0,
            ),
        )
        try:
            await self._client.create(lease)
        except ApiError as error:
            if error.status.code != 409:
                logger.warning("creating the lease failed: %s", error)
            return False
        return True
