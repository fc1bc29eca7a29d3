"""The leader election's Lease (coordination.k8s.io/v1), read and written as `LeaseRecord`s."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rerunnable.kube.errors import AlreadyExistsError, ConflictError, NotFoundError
from rerunnable.kube.resources import LEASES
from rerunnable.kube.transport import Transport

__all__ = ["LeaseRecord", "Leases"]


@dataclass(frozen=True)
class LeaseRecord:
    """What the election reads and writes of a Lease; `version` is its resourceVersion."""

    holder: str | None
    duration: int
    transitions: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    version: str | None = None


def _micro_time(t: datetime | None) -> str | None:
    """A Lease's times are MicroTime: RFC 3339 with microseconds."""
    return None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Leases:
    """One Lease, for `leader.LeaderElector`."""

    def __init__(self, transport: Transport, namespace: str, name: str) -> None:
        self._transport = transport
        self._namespace = namespace
        self._name = name

    async def read(self) -> LeaseRecord | None:
        try:
            lease = await self._transport.request("GET", LEASES.path(self._namespace, self._name))
        except NotFoundError:
            return None
        spec = lease.get("spec") or {}
        return LeaseRecord(
            holder=spec.get("holderIdentity"),
            duration=int(spec.get("leaseDurationSeconds") or 0),
            transitions=int(spec.get("leaseTransitions") or 0),
            acquire_time=_parse(spec.get("acquireTime")),
            renew_time=_parse(spec.get("renewTime")),
            version=(lease.get("metadata") or {}).get("resourceVersion"),
        )

    async def write(self, record: LeaseRecord) -> bool:
        metadata: dict[str, Any] = {"name": self._name, "namespace": self._namespace}
        if record.version is not None:
            metadata["resourceVersion"] = record.version
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": record.holder,
                "leaseDurationSeconds": record.duration,
                "leaseTransitions": record.transitions,
                "acquireTime": _micro_time(record.acquire_time),
                "renewTime": _micro_time(record.renew_time),
            },
        }
        try:
            if record.version is None:
                await self._transport.request("POST", LEASES.path(self._namespace), body)
            else:
                path = LEASES.path(self._namespace, self._name)
                await self._transport.request("PUT", path, body)
        except (AlreadyExistsError, ConflictError):  # another candidate wrote first: it wins
            return False
        return True
