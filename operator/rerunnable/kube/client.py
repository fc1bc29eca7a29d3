"""The calls the reconciler makes: `Kube` is the interface, `KubeClient` sends them.

A fake implements `Kube` in the unit tests (tests/unit/fakes.py). Every call
returns the object as the API server sent it, or raises a `kube.errors` exception.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from rerunnable.kube.resources import EXECUTIONS, JOBS, RERUNNABLE_JOBS
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
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body: ...
    async def delete_execution(self, namespace: str, name: str) -> None: ...
    async def create_job(self, namespace: str, body: Body) -> Body: ...
    async def get_job(self, namespace: str, name: str) -> Body: ...
    async def delete_job(self, namespace: str, name: str) -> None: ...
    async def patch_rerunnable_job_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body: ...


class KubeClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def create_execution(self, namespace: str, body: Body) -> Body:
        return await self._t.request("POST", EXECUTIONS.path(namespace), body, params=_MANAGER)

    async def get_execution(self, namespace: str, name: str) -> Body:
        return await self._t.request("GET", EXECUTIONS.path(namespace, name))

    async def patch_execution_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body:
        return await self._patch_status(EXECUTIONS.path(namespace, name, "status"), status)

    async def delete_execution(self, namespace: str, name: str) -> None:
        await self._t.request("DELETE", EXECUTIONS.path(namespace, name), params=_BACKGROUND)

    async def create_job(self, namespace: str, body: Body) -> Body:
        return await self._t.request("POST", JOBS.path(namespace), body, params=_MANAGER)

    async def get_job(self, namespace: str, name: str) -> Body:
        return await self._t.request("GET", JOBS.path(namespace, name))

    async def delete_job(self, namespace: str, name: str) -> None:
        await self._t.request("DELETE", JOBS.path(namespace, name), params=_BACKGROUND)

    async def patch_rerunnable_job_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body:
        return await self._patch_status(RERUNNABLE_JOBS.path(namespace, name, "status"), status)

    async def _patch_status(self, path: str, status: Mapping[str, Any]) -> Body:
        return await self._t.request(
            "PATCH", path, {"status": dict(status)}, params=_MANAGER, content_type=MERGE_PATCH
        )
