"""One list per watched kind at start-up, into the operator's indexes (see `index`)."""

from collections.abc import Sequence
from typing import Any

from rerunnable.controller.index import Indexes, entry
from rerunnable.controller.kinds import FILING, Key, Kind, Versioned
from rerunnable.kube.transport import Transport

__all__ = ["list_into"]


async def list_into(transport: Transport, indexes: Indexes, namespaces: Sequence[str]) -> list[Key]:
    """List every watched kind in `namespaces` (empty: all) into `indexes`; the RerunnableJobs.

    All lists are read before any is applied, so a failure part-way leaves the
    indexes as they were and the call can simply be retried.
    """
    listed: dict[Kind, list[tuple[Key, Versioned[Any]]]] = {}
    for kind in Kind:
        filing = FILING[kind]
        entries = listed.setdefault(kind, [])
        scopes: list[str | None] = [*namespaces] or [None]  # None: all namespaces
        for namespace in scopes:
            async for body in transport.list(filing.resource, namespace, labels=filing.selector):
                entries.append(entry(kind, body))
    for kind, found in listed.items():
        indexes[kind].listed(found)
    return list(indexes[Kind.RERUNNABLE_JOB])
