"""The one way to the API server: JSON over aiohttp, with our credentials and TLS.

Every request of the operator and of `kubectl rerun` goes through `Transport`:
the reconciler's writes, the start-up lists, the Lease, the Events. (kopf's
watch streams use kopf's own session, logged in with the same `Credentials`.)
An answer is a plain dict; a failure is one of `errors`' exceptions. A 401 makes
the credentials refresh (token file re-read, exec plugin re-run) and the request
go once more; a new client certificate from a plugin means a new TLS context.
`watch` streams a WATCH's events (`kubectl rerun ... --wait` follows runs with it),
`stream` any answer that streams line by line (a container's log: `kubectl rerun logs`).
Impersonation (`UserConfig.impersonate`) is added here, to every request.

With 1000 runs due at once, lightkube's typed models and its HTTP stack were
about 40 % of the operator's CPU (py-spy; bench/README.md): plain JSON here.
"""

import asyncio
import builtins
import json
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from rerunnable.kube.config import ClusterConfig
from rerunnable.kube.credentials import Credential, Credentials
from rerunnable.kube.errors import from_answer, from_status, unavailable
from rerunnable.kube.resources import Resource

__all__ = [
    "JSON",
    "LIST_CHUNK",
    "MERGE_PATCH",
    "NO_ANSWER",
    "TIMEOUT",
    "WATCH_SECONDS",
    "Answered",
    "Transport",
]

Body = dict[str, Any]
JSON = "application/json"
ANY = "*/*"  # a container's log is text/plain
MERGE_PATCH = "application/merge-patch+json"
TIMEOUT = 10.0  # seconds per request (None: no limit)
LIST_CHUNK = 500
WATCH_SECONDS = 300  # a watch the server ends after this long (the watcher opens another)
NO_ANSWER = 0  # the status `Answered` is told of a request the API server never answered
# Told of every request: its method (WATCH for a watch), its path, the answer's HTTP status
# (or NO_ANSWER).
Answered = Callable[[str, str, int], None]


def _unobserved(method: str, path: str, status: int) -> None:
    return None


def ssl_context(cluster: ClusterConfig, credential: Credential) -> ssl.SSLContext | bool:
    """How to trust the server and prove who we are; False for plain http."""
    if not cluster.server.startswith("https:"):
        return False
    context = ssl.create_default_context()
    if cluster.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cluster.ca is not None:
        context.load_verify_locations(cadata=cluster.ca.decode())
    if credential.client_certificate and credential.client_key:
        # The ssl module loads a certificate chain from files only: a private folder, gone
        # as soon as it is loaded.
        with tempfile.TemporaryDirectory(prefix="rerunnable-tls-") as folder:
            cert, key = Path(folder) / "tls.crt", Path(folder) / "tls.key"
            for path, data in ((cert, credential.client_certificate), (key, credential.client_key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            context.load_cert_chain(cert, key)
    return context


class Transport:
    def __init__(
        self,
        cluster: ClusterConfig,
        credentials: Credentials,
        *,
        timeout: float | None = TIMEOUT,
        answered: Answered = _unobserved,
    ) -> None:
        self.cluster = cluster
        self._answered = answered
        self.credentials = credentials
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._tls_for: tuple[bytes | None, bytes | None] | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        content_type: str = JSON,
    ) -> Body:
        """One request; the answer's JSON. Raises a `kube.errors` exception for a failure."""
        data = None if body is None else json.dumps(body)
        credential = await self.credentials.current()
        for attempt in (1, 2):
            status, text = await self._send(method, path, data, params, content_type, credential)
            if status == 401 and attempt == 1:
                credential = await self.credentials.refresh(credential)
                continue
            if status >= 400:
                raise from_answer(status, text)
            result: Body = json.loads(text) if text else {}
            return result
        raise AssertionError("unreachable")

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
        chunk: int = LIST_CHUNK,
    ) -> AsyncIterator[Body]:
        """Every object of a LIST (paginated), each with its apiVersion and kind set."""
        params: dict[str, str] = {"limit": str(chunk)}
        if labels:
            params["labelSelector"] = labels
        if fields:
            params["fieldSelector"] = fields
        while True:
            page = await self.request("GET", resource.path(namespace), params=params)
            for item in page.get("items") or []:
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                yield item
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = token

    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str,
        fields: str | None = None,
        labels: str | None = None,
        seconds: int = WATCH_SECONDS,
    ) -> AsyncIterator[tuple[str, Body]]:
        """The events of a WATCH from `resource_version` on, as (type, object): ADDED,
        MODIFIED, DELETED, BOOKMARK, until the server ends the stream (after `seconds`).

        An ERROR event raises its error (`GoneError` for 410: the version is too old, list
        again); so does a refused request, and a lost connection (`UnavailableError`). The
        request timeout limits the wait for the answer's headers, not the stream.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(seconds),
        }
        if fields:
            params["fieldSelector"] = fields
        if labels:
            params["labelSelector"] = labels
        path = resource.path(namespace)
        async for line in self.stream(path, params, logged_as="WATCH", accept=JSON):
            if line.strip():
                yield self._event(line, resource)

    async def stream(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        logged_as: str = "GET",
        accept: str = ANY,
    ) -> AsyncIterator[bytes]:
        """The lines of an answer that streams (a WATCH's events, a container's log), each
        without its newline, as they come; the last one also without one. `logged_as`:
        the method `Answered` is told.

        A refused request raises its error; a lost connection, `UnavailableError`. The
        request timeout limits the wait for the answer's headers, not the stream.
        """
        credential = await self.credentials.current()
        for attempt in (1, 2):
            session = self._open(credential)
            try:
                async with asyncio.timeout(self._timeout):
                    response = await session.get(
                        self.cluster.server + path,
                        params=params,
                        headers=self._headers(credential, JSON, accept=accept),
                        server_hostname=self.cluster.tls_server_name,
                        timeout=aiohttp.ClientTimeout(),  # no limit on the stream
                    )
            except (aiohttp.ClientError, TimeoutError) as e:
                self._answered(logged_as, path, NO_ANSWER)
                raise unavailable(e) from e
            self._answered(logged_as, path, response.status)
            try:
                if response.status == 401 and attempt == 1:
                    credential = await self.credentials.refresh(credential)
                    continue
                if response.status >= 400:
                    raise from_answer(response.status, await response.text())
                async for line in self._lines(response):
                    yield line
                return
            finally:
                response.close()

    @staticmethod
    async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        """An answer's lines (of any length) as they come."""
        rest = b""
        try:
            async for chunk in response.content.iter_any():
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    yield line
        except (aiohttp.ClientError, TimeoutError) as e:
            raise unavailable(e) from e
        if rest:
            yield rest

    @staticmethod
    def _event(line: bytes, resource: Resource) -> tuple[str, Body]:
        event = json.loads(line)
        kind, body = str(event.get("type") or ""), event.get("object") or {}
        if kind == "ERROR":
            raise from_status(500, body)
        body.setdefault("apiVersion", resource.api_version)
        body.setdefault("kind", resource.kind)
        return kind, body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(
        self,
        method: str,
        path: str,
        data: str | None,
        params: Mapping[str, str] | None,
        content_type: str,
        credential: Credential,
    ) -> tuple[int, str]:
        session = self._open(credential)
        try:
            async with session.request(
                method,
                self.cluster.server + path,
                data=data,
                params=params,
                headers=self._headers(credential, content_type),
                server_hostname=self.cluster.tls_server_name,
            ) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as e:
            self._answered(method, path, NO_ANSWER)
            raise unavailable(e) from e
        self._answered(method, path, response.status)
        return response.status, text

    def _headers(
        self, credential: Credential, content_type: str, *, accept: str = JSON
    ) -> "builtins.list[tuple[str, str]]":
        headers = [("Accept", accept), ("Content-Type", content_type)]
        authorization = credential.authorization()
        if authorization:
            headers.append(("Authorization", authorization))
        headers.extend(self.cluster.user.impersonation_headers())
        return headers

    def _open(self, credential: Credential) -> aiohttp.ClientSession:
        tls_for = (credential.client_certificate, credential.client_key)
        if self._session is not None and not self._session.closed and self._tls_for == tls_for:
            return self._session
        if self._session is not None and not self._session.closed:
            # A new client certificate: new connections from now on; the old session's
            # requests in flight finish on their own.
            old = self._session
            asyncio.get_running_loop().create_task(old.close())
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(self.cluster, credential)),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )
        self._tls_for = tls_for
        return self._session
