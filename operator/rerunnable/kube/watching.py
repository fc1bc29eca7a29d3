"""Objects kept current by a WATCH, as client-go's informers keep them: `kubectl rerun --wait`.

(The operator's own watches are kopf's; this is for the plugin, which has no kopf.)

`Watched` holds the objects of one resource that match a field selector
(`metadata.name=NAME`: one object or none) or a label selector (the pods of a
run). It lists them once (the initial read), then watches from the list's
resourceVersion in a task of its own:

- the server ends a watch after `seconds` (or a proxy does): the watch is opened
  again from the last resourceVersion seen (an event's or a BOOKMARK's);
- 410 Gone (that version is too old, compacted): list again, then watch from the
  new list's version;
- the API server cannot answer (connection lost, 5xx, 429): `failure` says so
  until a list succeeds again, after a short back-off (RETRY);
- any other error (403: no `watch` verb), or an answer that is not a watch's, ends
  the watch; `failure` holds it (so that nobody waits on a watch that is gone).

After the first read, every change (an event, a new list, a failure) first awaits
`ready`, then is made, then `changed` is called: whoever follows the objects holds the
next change in `ready` until it has looked at the current state, so that each state is
seen in turn (none skipped for a newer one).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from rerunnable.kube.errors import GoneError, KubeError, UnavailableError
from rerunnable.kube.resources import Resource
from rerunnable.kube.transport import WATCH_SECONDS, Transport

__all__ = ["RETRY", "Watched"]

Body = dict[str, Any]
RETRY = (0.5, 1.0, 2.0, 5.0)  # seconds before listing again while the API server cannot answer


async def _ready() -> None:
    return None


def _changed() -> None:
    return None


class Watched:
    def __init__(
        self,
        transport: Transport,
        resource: Resource,
        namespace: str | None,
        fields: str = "",
        *,
        labels: str = "",
        ready: Callable[[], Awaitable[None]] = _ready,
        changed: Callable[[], None] = _changed,
        seconds: int = WATCH_SECONDS,
    ) -> None:
        self.objects: dict[str, Body] = {}  # by name
        self.failure: KubeError | None = None  # why the objects may be out of date
        self.lists = 0  # how many times the objects were listed (the first read included)
        self._transport = transport
        self._resource = resource
        self._namespace = namespace
        self._fields = fields
        self._labels = labels
        self._ready = ready
        self._changed = changed
        self._seconds = seconds
        self._version = ""
        self._task: asyncio.Task[None] | None = None

    def get(self, name: str) -> Body | None:
        return self.objects.get(name)

    async def start(self) -> None:
        """The initial read (its error is raised), then the watch, in the background."""
        self._listed(await self._list())
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _list(self) -> Body:
        params = {"fieldSelector": self._fields, "labelSelector": self._labels}
        return await self._transport.request(
            "GET",
            self._resource.path(self._namespace),
            params={key: value for key, value in params.items() if value},
        )

    def _listed(self, page: Body) -> None:
        self.objects = {item["metadata"]["name"]: item for item in page.get("items") or []}
        self._version = str((page.get("metadata") or {}).get("resourceVersion") or "")
        self.lists += 1
        self.failure = None

    async def _follow(self) -> None:
        listed, failures = True, 0
        while True:
            try:
                if not listed:
                    page = await self._list()
                    await self._ready()
                    self._listed(page)
                    self._changed()
                    listed, failures = True, 0
                async for kind, body in self._transport.watch(
                    self._resource,
                    self._namespace,
                    resource_version=self._version,
                    fields=self._fields,
                    labels=self._labels,
                    seconds=self._seconds,
                ):
                    if kind == "BOOKMARK":  # only a newer version to resume from
                        self._version = str(body["metadata"]["resourceVersion"])
                        continue
                    await self._ready()
                    self._apply(kind, body)
                    self._changed()
            except GoneError:
                listed = False
            except UnavailableError as e:
                await self._ready()
                self.failure, listed = e, False
                self._changed()
                await asyncio.sleep(RETRY[min(failures, len(RETRY) - 1)])
                failures += 1
            except KubeError as e:
                await self._ready()
                self.failure = e
                self._changed()
                return
            except (ValueError, KeyError, TypeError) as e:  # an answer that is not a watch's
                await self._ready()
                self.failure = KubeError(0, type(e).__name__, f"not a watch event: {e}")
                self._changed()
                return

    def _apply(self, kind: str, body: Body) -> None:
        metadata = body.get("metadata") or {}
        self._version = str(metadata.get("resourceVersion") or self._version)
        if kind in ("ADDED", "MODIFIED"):
            self.objects[metadata["name"]] = body
        elif kind == "DELETED":
            self.objects.pop(str(metadata.get("name")), None)
