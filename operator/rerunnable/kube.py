"""The operator's only door to the API server: the few calls the reconciler makes.

`Kube` is the interface (a fake implements it in unit tests); `LightkubeKube`
implements it with lightkube's async client. Every call returns the object as
a plain dict, as the API server sent it, or raises `AlreadyExistsError`, `NotFoundError`,
`InvalidError` or `KubeError`, so callers never see a client library's own types.

The hot path (the writes of every run) skips lightkube's typed models and its
HTTP stack: `_Http` sends the same JSON with aiohttp, using the lightkube
client's server, TLS settings and credentials. With 1000 runs due at once,
those two were about 40 % of the operator's CPU (py-spy; bench/README.md).
Credentials that need a plugin (`exec`, `auth-provider`) keep lightkube's path.
"""

import asyncio
import itertools
import json
import logging
import ssl
import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

import aiohttp
import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.config.client_adapter import verify_cluster
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
    "ExecutionResource",
    "InvalidError",
    "Kube",
    "KubeError",
    "LightkubeKube",
    "NameConflictError",
    "NotFoundError",
    "ObjectRef",
    "RerunnableJobResource",
    "UnavailableError",
]

FIELD_MANAGER = "rerunnable"
logger = logging.getLogger(__name__)

Body = dict[str, Any]
_MANAGER = {"fieldManager": FIELD_MANAGER}
_BACKGROUND = {"propagationPolicy": "Background"}
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


class UnavailableError(KubeError):
    """The API server could not be reached or could not serve (connection, timeout, 5xx, 429).

    Nothing is wrong with the request: it is retried soon, not with a growing back-off.
    """


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
    return _error(int(status.code or 0), str(status.reason or ""), str(status.message or e))


def _error(code: int, reason: str, message: str) -> KubeError:
    if code == 409 and reason == "AlreadyExists":
        return AlreadyExistsError(code, reason, message)
    if code == 404:
        return NotFoundError(code, reason, message)
    if code == 422:
        return InvalidError(code, reason, message)
    if code >= 500 or code == 429:
        return UnavailableError(code, reason, message)
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
    except (httpx2.TransportError, TimeoutError) as e:
        raise _unavailable(e) from e


def _unavailable(e: BaseException) -> UnavailableError:
    return UnavailableError(0, "Unavailable", f"{type(e).__name__}: {e}".rstrip(": "))


EXECUTIONS = f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/{EXECUTION_PLURAL}"
RERUNNABLE_JOBS = f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/{RERUNNABLE_JOB_PLURAL}"
JOBS = "/apis/batch/v1/namespaces/{ns}/jobs"
TIMEOUT = 10.0  # seconds, as lightkube's default
EVENT_CONCURRENCY = 4


class _Http:
    """JSON requests over aiohttp with a lightkube client's server, TLS and credentials."""

    def __init__(self, server: str, ssl_context: ssl.SSLContext | None) -> None:
        self._server = server.rstrip("/")
        self._ssl = ssl_context
        self._token: str | None = None
        self._token_file: str | None = None
        self._basic: aiohttp.BasicAuth | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closer: asyncio.Task[None] | None = None

    @classmethod
    def for_client(cls, client: AsyncClient) -> "_Http | None":
        """The fast path for this client's configuration, or None where it cannot follow it."""
        try:
            config = client.config
        except Exception:  # not a configured client (a test double): keep lightkube's path
            return None
        user = config.user
        if user is None or user.exec is not None or user.auth_provider is not None:
            return None
        server = config.cluster.server
        context = (
            verify_cluster(config.cluster, user, config.abs_file)
            if server.startswith("https:")
            else None
        )
        http = cls(server, context)
        if user.token_file is not None:
            http._token_file = str(user.token_file)
        elif user.token is not None:
            http._token = user.token
        elif user.username and user.password:
            http._basic = aiohttp.BasicAuth(user.username, user.password)
        return http

    def _headers(self, content_type: str, *, reread: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if self._token_file is not None and (self._token is None or reread):
            # Service account tokens rotate: read again after a 401, as client-go does.
            self._token = Path(self._token_file).read_text().strip()
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False),
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
                auth=self._basic,
            )
            # asyncio.run cancels what is left when the operator stops: close it then.
            self._closer = asyncio.create_task(self._close_when_cancelled(), name="kube-http")
        return self._session

    async def _close_when_cancelled(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Body:
        try:
            return await self._request(method, path, body, params, content_type)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise _unavailable(e) from e

    async def _request(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, str] | None,
        content_type: str,
    ) -> Body:
        session = self._open()
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):
            reread = attempt == 2
            async with session.request(
                method,
                self._server + path,
                data=data,
                params=params,
                headers=self._headers(content_type, reread=reread),
            ) as response:
                text = await response.text()
                if response.status == 401 and self._token_file is not None and not reread:
                    continue
                if response.status >= 400:
                    raise _status_error(response.status, text)
                result: Body = json.loads(text) if text else {}
                return result
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _status_error(code: int, text: str) -> KubeError:
    try:
        status = json.loads(text)
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    return _error(
        int(status.get("code") or code),
        str(status.get("reason") or ""),
        str(status.get("message") or text),
    )


class LightkubeKube:
    def __init__(self, client: AsyncClient, *, instance: str) -> None:
        self._client = client
        self._http = _Http.for_client(client)
        self._event_ids = itertools.count()
        self._instance = instance  # Events' reportingInstance: which replica wrote them
        self._event_prefix = uuid.uuid4().hex[:8]
        # Events go out behind the runs' own writes, a few at a time (see post_event).
        self._event_slots = asyncio.Semaphore(EVENT_CONCURRENCY)
        self._event_tasks: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def create_execution(self, namespace: str, body: Body) -> Body:
        if self._http is not None:
            return await self._http.request(
                "POST", EXECUTIONS.format(ns=namespace), body, params=_MANAGER
            )
        created = await _translated(
            self._client.create(ExecutionResource.from_dict(body), field_manager=FIELD_MANAGER)
        )
        return _as_dict(created)

    async def get_execution(self, namespace: str, name: str) -> Body:
        if self._http is not None:
            return await self._http.request("GET", f"{EXECUTIONS.format(ns=namespace)}/{name}")
        return _as_dict(
            await _translated(self._client.get(ExecutionResource, name, namespace=namespace))
        )

    async def patch_execution_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Body:
        return await self._patch_status(ExecutionResource, namespace, name, status)

    async def delete_execution(self, namespace: str, name: str) -> None:
        if self._http is not None:
            await self._http.request(
                "DELETE", f"{EXECUTIONS.format(ns=namespace)}/{name}", params=_BACKGROUND
            )
            return
        await _translated(
            self._client.delete(
                ExecutionResource, name, namespace=namespace, cascade=CascadeType.BACKGROUND
            )
        )

    async def create_job(self, namespace: str, body: Body) -> Body:
        if self._http is not None:
            return await self._http.request(
                "POST", JOBS.format(ns=namespace), body, params=_MANAGER
            )
        job = cast(Job, Job.from_dict(body))
        return _as_dict(await _translated(self._client.create(job, field_manager=FIELD_MANAGER)))

    async def get_job(self, namespace: str, name: str) -> Body:
        if self._http is not None:
            return await self._http.request("GET", f"{JOBS.format(ns=namespace)}/{name}")
        return _as_dict(await _translated(self._client.get(Job, name, namespace=namespace)))

    async def delete_job(self, namespace: str, name: str) -> None:
        if self._http is not None:
            await self._http.request(
                "DELETE", f"{JOBS.format(ns=namespace)}/{name}", params=_BACKGROUND
            )
            return
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
        if self._http is not None:
            collection = EXECUTIONS if resource is ExecutionResource else RERUNNABLE_JOBS
            return await self._http.request(
                "PATCH",
                f"{collection.format(ns=namespace)}/{name}/status",
                {"status": dict(status)},
                params=_MANAGER,
                content_type="application/merge-patch+json",
            )
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
        """Post an Event without waiting for it: the caller's pass goes on at once.

        Events are best-effort (a failure is a log line), and with many runs due at
        once, waiting for each would put an extra round trip between one run's Job
        and the next. At most EVENT_CONCURRENCY are in flight; the rest wait in order.
        """
        task = asyncio.create_task(self._post_event(regarding, type_, reason, message, now))
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _post_event(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        async with self._event_slots:
            try:
                await self._send_event(regarding, type_, reason, message, now)
            except Exception as e:  # a timeout, a dropped connection: still only a log line
                logger.warning("could not post event %s: %s", reason, e)

    async def _send_event(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        name = f"{regarding['name']}.{self._event_prefix}{next(self._event_ids):x}"
        stamp = rfc3339(now)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
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
        try:
            if self._http is not None:
                await self._http.request(
                    "POST", f"/api/v1/namespaces/{regarding['namespace']}/events", body
                )
            else:
                await self._client.create(cast(CoreEvent, CoreEvent.from_dict(body)))
        except (ApiError, KubeError) as e:
            # An event is worth a log line, never a failed reconcile.
            logger.warning("could not post event %s/%s: %s", reason, name, e)
