"""Watching every object of a scenario's namespace and checking each step it takes.

One thread per kind keeps a watch open, through API server and etcd restarts:
when the stream breaks it watches again from scratch, which first sends every
existing object, so nothing that still exists is missed (versions in between
may be, which only makes the check of each step coarser, never wrong).
Each new version of an object is checked against the last one seen
(`invariants.transition`); every Execution ever seen is kept, so runs pruned
by history limits still count at the end.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from lightkube import Client
from lightkube.core.resource import NamespacedResource
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event
from tests.e2e.rjobs import ExecutionResource, RerunnableJobResource

from chaos import invariants

__all__ = ["Recorder", "plain"]

_KINDS: dict[str, type[NamespacedResource]] = {
    "RerunnableJob": RerunnableJobResource,
    "Execution": ExecutionResource,
    "Job": Job,
    # The API server deletes Events an hour after their last update (--event-ttl): the
    # checks of a scenario longer than that (the soak) need the ones it has deleted.
    "Event": Event,
}


class Recorder:
    def __init__(self, client: Client, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._last: dict[str, dict[str, Any]] = {}  # uid -> last version seen
        self.backward: list[str] = []
        self.versions = 0
        self.reconnects = 0
        self.executions: dict[str, dict[str, Any]] = {}  # name -> last version seen
        self.events: dict[str, dict[str, Any]] = {}  # uid -> last version seen
        self.first_seen: dict[str, float] = {}  # "Kind/name" -> monotonic time
        self._tokens: dict[str, list[str | None]] = defaultdict(list)
        self._last_tokens: dict[str, str | None] = {}
        self._threads = [
            threading.Thread(target=self._watch, args=(kind,), daemon=True, name=f"watch-{kind}")
            for kind in _KINDS
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def token_findings(self) -> list[str]:
        with self.lock:
            return [
                line
                for name, history in self._tokens.items()
                for line in invariants.token_went_back(name, history)
            ]

    def in_phase(self, phase: str) -> list[str]:
        """The Executions last seen in `phase`."""
        with self.lock:
            return sorted(
                n
                for n, e in self.executions.items()
                if (e.get("status") or {}).get("phase") == phase
            )

    def last_run_token(self, job: str) -> str | None:
        with self.lock:
            return self._last_tokens.get(job)

    def every_event(self, listed: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The Events listed now, and those seen before and deleted since (their TTL)."""
        with self.lock:
            every = dict(self.events)
        every.update({str((e.get("metadata") or {}).get("uid")): e for e in listed})
        return list(every.values())

    def seen(self, kind: str, name: str) -> float | None:
        with self.lock:
            return self.first_seen.get(f"{kind}/{name}")

    def _watch(self, kind: str) -> None:
        while not self._stop.is_set():
            try:
                for obj in self._stream(kind):
                    self._record(kind, obj)
                    if self._stop.is_set():
                        return
            except Exception:  # a broken stream: watch again, as a controller does
                pass
            with self.lock:
                self.reconnects += 1
            self._stop.wait(0.5)

    def _stream(self, kind: str) -> Iterator[dict[str, Any]]:
        for _, obj in self._client.watch(_KINDS[kind], namespace=self._namespace):
            yield plain(obj)

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        uid, rv = str(meta.get("uid")), int(meta.get("resourceVersion") or 0)
        now = time.monotonic()
        with self.lock:
            self.versions += 1
            self.first_seen.setdefault(f"{kind}/{meta.get('name')}", now)
            before = self._last.get(uid)
            if before is not None and int(before["metadata"].get("resourceVersion") or 0) >= rv:
                return  # the same version again, from a new watch
            if before is not None:
                self.backward += invariants.transition(kind, before, obj)
            self._last[uid] = obj
            if kind == "Execution":
                self.executions[meta["name"]] = obj
            elif kind == "Event":
                self.events[uid] = obj
            elif kind == "RerunnableJob":
                token = (obj.get("status") or {}).get("lastRunToken")
                self._last_tokens[meta["name"]] = token
                # By uid: a job deleted and made again under its name starts afresh.
                history = self._tokens[f"{meta['name']} (uid {uid})"]
                if token is not None or history:
                    history.append(token)


def plain(obj: object) -> dict[str, Any]:
    """A lightkube object as the API server sent it."""
    return obj.to_dict()  # type: ignore[attr-defined, no-any-return]
