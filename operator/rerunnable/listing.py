"""One list per watched kind at start-up, into the operator's indexes (see `index`)."""

from collections.abc import Sequence
from typing import Any, cast

from lightkube import AsyncClient
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource

from rerunnable.index import JOB_LABEL_KEYS, KINDS, Index
from rerunnable.kube import ExecutionResource, RerunnableJobResource
from rerunnable.store import Key, Versioned

__all__ = ["list_into"]

CHUNK = 500

# Generic (dict-backed) resources: typed Job models cost several times the parse.
_RESOURCES: dict[str, type[GenericNamespacedResource]] = {
    "rjob": RerunnableJobResource,
    "execution": ExecutionResource,
    "job": create_namespaced_resource("batch", "v1", "Job", "jobs"),
}


async def list_into(
    client: AsyncClient, indexes: dict[str, Index], namespaces: Sequence[str]
) -> list[Key]:
    """List every watched kind in `namespaces` (empty: all) into `indexes`; the RerunnableJobs.

    All lists are read before any is applied, so a failure part-way leaves the
    indexes as they were and the call can simply be retried.
    """
    listed: dict[str, list[tuple[Key, Versioned[Any]]]] = {}
    for kind in indexes:
        entries = listed.setdefault(kind, [])
        for namespace in namespaces or ["*"]:
            async for obj in client.list(
                _RESOURCES[kind],
                namespace=namespace,
                labels=dict.fromkeys(JOB_LABEL_KEYS) if kind == "job" else None,
                chunk_size=CHUNK,
            ):
                body = cast(dict[str, Any], obj.to_dict())  # type: ignore[no-untyped-call]
                entries.append(KINDS[kind].entry(body))
    for kind, index in indexes.items():
        index.listed(listed[kind])
    return list(indexes["rjob"])
