"""The calls the reconciler makes: `Kube` is the interface, `KubeClient` sends them.

A fake implements `Kube` in the unit tests (tests/unit/fakes.py). Every call
returns the object as the API server sent it, or raises a `kube.errors` exception.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from rerunnable.api.names import LABEL_EXECUTION
from rerunnable.kube.resources import EXECUTIONS, JOBS, PODS, RERUNNABLE_JOBS
from rerunnable.kube.transport import MERGE_PATCH, Transport

__all__ = ["FIELD_MANAGER", "Kube", "KubeClient"]

FIELD_MANAGER = "rerunnable"
Body = dict[str, Any]
_MANAGER = {"fieldManager": FIELD_MANAGER}
_BACKGROUND = {"propagationPolicy": "Background"}


class Kube(Protocol):
    async def create_execution(self, namespace: str, body: Body) -> Body: ...
    async def get_execution(self, namespace: str, name: str) -> Body: ...
    async def patch_execution_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        """A merge patch of the status; with `resource_version`, only onto that version of the
        object (ConflictError if it changed since)."""

    async def delete_execution(
        self, namespace: str, name: str, *, resource_version: int | None = None
    ) -> None:
        """Delete it; with `resource_version`, only that version (ConflictError if it
        changed since)."""

    async def create_job(self, namespace: str, body: Body) -> Body: ...
    async def get_job(self, namespace: str, name: str) -> Body: ...
    async def delete_job(self, namespace: str, name: str) -> None: ...
    async def list_pods(self, namespace: str, execution: str) -> list[Body]:
        """The pods of an Execution's Job, by its label."""

    async def patch_rerunnable_job_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        """As patch_execution_status."""


class KubeClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def create_execution(self, namespace: str, body: Body) -> Body:
        return await self._t.request("POST", EXECUTIONS.path(namespace), body, params=_MANAGER)

    async def get_execution(self, namespace: str, name: str) -> Body:
        return await self._t.request("GET", EXECUTIONS.path(namespace, name))

    async def patch_execution_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        return await self._patch_status(
            EXECUTIONS.path(namespace, name, "status"), status, resource_version
        )

    async def delete_execution(
        self, namespace: str, name: str, *, resource_version: int | None = None
    ) -> None:
        path = EXECUTIONS.path(namespace, name)
        if resource_version is None:
            await self._t.request("DELETE", path, params=_BACKGROUND)
            return
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"resourceVersion": str(resource_version)},
            **_BACKGROUND,
        }
        await self._t.request("DELETE", path, options)

    async def create_job(self, namespace: str, body: Body) -> Body:
        return await self._t.request("POST", JOBS.path(namespace), body, params=_MANAGER)

    async def get_job(self, namespace: str, name: str) -> Body:
        return await self._t.request("GET", JOBS.path(namespace, name))

    async def delete_job(self, namespace: str, name: str) -> None:
        await self._t.request("DELETE", JOBS.path(namespace, name), params=_BACKGROUND)

    async def list_pods(self, namespace: str, execution: str) -> list[Body]:
        selector = f"{LABEL_EXECUTION}={execution}"
        return [pod async for pod in self._t.list(PODS, namespace, labels=selector)]

    async def patch_rerunnable_job_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        return await self._patch_status(
            RERUNNABLE_JOBS.path(namespace, name, "status"), status, resource_version
        )

    async def _patch_status(
        self, path: str, status: Mapping[str, Any], resource_version: int | None = None
    ) -> Body:
        patch: Body = {"status": dict(status)}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": str(resource_version)}
        return await self._t.request(
            "PATCH", path, patch, params=_MANAGER, content_type=MERGE_PATCH
        )
