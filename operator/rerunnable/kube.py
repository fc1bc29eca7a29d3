"""The operator's only door to the API server: the few calls the reconciler makes.

`Kube` is the interface (a fake implements it in unit tests); `LightkubeKube`
implements it with lightkube's async client. Every call returns the object as
a plain dict, as the API server sent it, or raises `AlreadyExistsError`, `NotFoundError`,
`InvalidError` or `KubeError`, so callers never see a client library's own types.
"""

import itertools
import logging
import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any, Protocol, cast

from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event as CoreEvent
from lightkube.types import CascadeType, PatchType

from rerunnable.api.names import (
    EXECUTION_KIND,
    EXECUTION_PLURAL,
    GROUP,
    RERUNNABLE_JOB_KIND,
    RERUNNABLE_JOB_PLURAL,
    VERSION,
)
from rerunnable.api.v1alpha1 import rfc3339

__all__ = [
    "FIELD_MANAGER",
    "AlreadyExistsError",
    "InvalidError",
    "Kube",
    "KubeError",
    "LightkubeKube",
    "NameConflictError",
    "NotFoundError",
    "ObjectRef",
]

FIELD_MANAGER = "rerunnable"
logger = logging.getLogger(__name__)

Body = dict[str, Any]
ObjectRef = Mapping[str, str]  # apiVersion, kind, namespace, name, uid


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message


class AlreadyExistsError(KubeError):
    pass


class NotFoundError(KubeError):
    pass


class NameConflictError(KubeError):
    """The deterministic name is taken by an object this run does not own."""


class InvalidError(KubeError):
    """The API server refused the object (422): the message says which field."""


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
    async def post_event(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None: ...


RerunnableJobResource = create_namespaced_resource(
    GROUP, VERSION, RERUNNABLE_JOB_KIND, RERUNNABLE_JOB_PLURAL
)
ExecutionResource = create_namespaced_resource(GROUP, VERSION, EXECUTION_KIND, EXECUTION_PLURAL)


def _translate(e: ApiError) -> KubeError:
    status = e.status
    code = int(status.code or 0)
    reason = str(status.reason or "")
    message = str(status.message or e)
    if code == 409 and reason == "AlreadyExists":
        return AlreadyExistsError(code, reason, message)
    if code == 404:
        return NotFoundError(code, reason, message)
    if code == 422:
        return InvalidError(code, reason, message)
    return KubeError(code, reason, message)


def _as_dict(obj: Any) -> Body:
    if isinstance(obj, dict):
        return dict(obj)
    result: Body = obj.to_dict()
    return result


async def _translated(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except ApiError as e:
        raise _translate(e) from e


class LightkubeKube:
    def __init__(self, client: AsyncClient, *, instance: str) -> None:
        self._client = client
        self._event_ids = itertools.count()
        self._instance = instance  # Events' reportingInstance: which replica wrote them
        self._event_prefix = uuid.uuid4().hex[:8]

    async def create_execution(self, namespace: str, body: Body) -> Body:
        created = await _translated(
            self._client.create(ExecutionResource.from_dict(body), field_manager=FIELD_MANAGER)
        )
        return _as_dict(created)

    async def get_execution(self, namespace: str, name: str) -> Body:
        return _as_dict(
            await _translated(self._client.get(ExecutionResource, name, namespace=namespace))
        )

    async def patch_execution_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body:
        return await self._patch_status(ExecutionResource, namespace, name, status)

    async def delete_execution(self, namespace: str, name: str) -> None:
        await _translated(
            self._client.delete(
                ExecutionResource, name, namespace=namespace, cascade=CascadeType.BACKGROUND
            )
        )

    async def create_job(self, namespace: str, body: Body) -> Body:
        job = cast(Job, Job.from_dict(body))
        return _as_dict(await _translated(self._client.create(job, field_manager=FIELD_MANAGER)))

    async def get_job(self, namespace: str, name: str) -> Body:
        return _as_dict(await _translated(self._client.get(Job, name, namespace=namespace)))

    async def delete_job(self, namespace: str, name: str) -> None:
        await _translated(
            self._client.delete(Job, name, namespace=namespace, cascade=CascadeType.BACKGROUND)
        )

    async def patch_rerunnable_job_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body:
        return await self._patch_status(RerunnableJobResource, namespace, name, status)

    async def _patch_status(
        self,
        resource: type[GenericNamespacedResource],
        namespace: str,
        name: str,
        status: Mapping[str, Any],
    ) -> Body:
        patched = await _translated(
            self._client.patch(
                resource.Status,
                name,
                {"status": dict(status)},
                namespace=namespace,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        )
        return _as_dict(patched)

    async def post_event(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        name = f"{regarding['name']}.{self._event_prefix}{next(self._event_ids):x}"
        stamp = rfc3339(now)
        event = cast(
            CoreEvent,
            CoreEvent.from_dict(
                {
                    "metadata": {"name": name, "namespace": regarding["namespace"]},
                    "involvedObject": dict(regarding),
                    "type": type_,
                    "reason": reason,
                    "message": message[:1024],
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "count": 1,
                    "source": {"component": "rerunnable"},
                    "reportingComponent": "rerunnable.dev/operator",
                    "reportingInstance": self._instance,
                }
            ),
        )
        try:
            await self._client.create(event)
        except ApiError as e:
            # An event is worth a log line, never a failed reconcile.
            logger.warning("could not post event %s/%s: %s", reason, name, e)
