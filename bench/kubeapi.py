"""A bare asyncio client for the API server (aiohttp, JSON dicts, no models).

The benchmark's own traffic must be cheap, or it would slow the operator it
measures on a small machine: bodies stay plain dicts, and watch events are
stamped on receipt, before they are parsed.
"""

import asyncio
import base64
import json
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml

__all__ = ["Api", "ApiError", "WatchEvent"]

Body = dict[str, Any]
WatchEvent = tuple[float, str, Body]  # (receipt in Unix seconds, type, object)


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:300]}")
        self.status = status


def _ssl_context(kubeconfig: Path) -> tuple[str, ssl.SSLContext]:
    config = yaml.safe_load(kubeconfig.read_text())
    context_name = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])

    def path(section: Mapping[str, Any], key: str) -> str:
        if f"{key}-data" in section:
            with tempfile.NamedTemporaryFile("wb", delete=False, suffix=".pem") as f:
                f.write(base64.b64decode(section[f"{key}-data"]))
            return f.name
        return str(section[key])

    ctx = ssl.create_default_context(cafile=path(cluster, "certificate-authority"))
    ctx.load_cert_chain(path(user, "client-certificate"), path(user, "client-key"))
    return str(cluster["server"]), ctx


class Api:
    """JSON over HTTPS to one API server, at most `concurrency` requests at once."""

    def __init__(self, kubeconfig: Path, concurrency: int = 64) -> None:
        self.server, self._ssl = _ssl_context(kubeconfig)
        self.concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Api":
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self.concurrency + 16)
        self._session = aiohttp.ClientSession(
            base_url=self.server, connector=connector, timeout=aiohttp.ClientTimeout(total=None)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use `async with Api(...)`"
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Body:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self.session.request(
            method, path, data=data, params=params, headers=headers
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise ApiError(response.status, text)
            result: Body = json.loads(text) if text else {}
            return result

    async def create(self, path: str, body: Body) -> Body:
        return await self.request("POST", path, body)

    async def merge_patch(self, path: str, patch: Body) -> Body:
        return await self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    async def delete(self, path: str) -> None:
        try:
            await self.request("DELETE", path)
        except ApiError as e:
            if e.status != 404:
                raise

    async def list_items(self, path: str, **params: str) -> tuple[list[Body], str]:
        """Every item of a collection (paged), and the list's resourceVersion."""
        items: list[Body] = []
        query = {"limit": "500", **params}
        while True:
            page = await self.request("GET", path, params=query)
            items.extend(page.get("items") or [])
            more = page["metadata"].get("continue")
            if not more:
                return items, str(page["metadata"]["resourceVersion"])
            query["continue"] = more

    async def watch(self, path: str, resource_version: str) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version`, forever; reconnects where it left off."""
        rv = resource_version
        while True:
            params = {
                "watch": "true",
                "resourceVersion": rv,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "300",
            }
            async with self.session.get(path, params=params) as response:
                if response.status >= 400:
                    raise ApiError(response.status, await response.text())
                async for line in response.content:
                    received = time.time()
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind = event["type"]
                    obj = event["object"]
                    if kind == "ERROR":
                        raise ApiError(int(obj.get("code", 500)), json.dumps(obj))
                    rv = obj["metadata"]["resourceVersion"]
                    if kind != "BOOKMARK":
                        yield received, kind, obj
            await asyncio.sleep(0)
