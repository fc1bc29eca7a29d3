"""What the operator knows of the cluster: its indexes plus its own recent writes.

Three indexes (`index`) follow the watch streams (RerunnableJobs, Executions,
and the Jobs of Executions), and no pass runs before all three are fully
listed, so a reconcile after a restart sees the whole world.

A watch lags behind the operator's own writes by a few milliseconds. A pass
that ran in that gap would not see the Execution it just created and could,
say, start a second run under `Forbid`. So every write is also put in an
overlay, which wins over the index until the index has caught up (a
resourceVersion at least as new) or the entry expires.
"""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rerunnable.controller.kinds import Key, Kind, Versioned
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState

__all__ = ["OVERLAY_TTL", "IndexView", "Store"]

# An overlay entry the watch never confirmed (the object was deleted meanwhile) goes after this.
OVERLAY_TTL = 120.0

# What the store reads of one kind's index: the versions filed under each RerunnableJob.
IndexView = Mapping[Key, Iterable[Versioned[Any]]]


@dataclass
class _Entry:
    key: Key
    version: Versioned[Any] | None  # None: deleted by us
    expires: float

    def overtaken(self, seen: int | None, *, deletion_seen: bool) -> bool:
        """Whether the watch's view is at least as new as this entry, which can then go.

        `seen`: the resourceVersion the watch has of the object, None if it has none
        (never seen yet, or deleted); `deletion_seen`: the watch saw it deleted.
        Our deletion is overtaken once the watch has no object; our write, once the
        watch has that version or a newer one, or saw the object deleted after it.
        """
        if self.version is None:
            return seen is None
        return deletion_seen or (seen is not None and seen >= self.version.resource_version)


class Store:
    def __init__(
        self, indexes: Mapping[Kind, IndexView], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._indexes = indexes
        self._clock = clock
        self._overlay: dict[tuple[Kind, str, str], _Entry] = {}
        self._by_key: dict[tuple[Kind, Key], set[str]] = {}

    def rerunnable_job(self, key: Key) -> RerunnableJobState | None:
        found: RerunnableJobState | None = self._merged(Kind.RERUNNABLE_JOB, key).get(key[1])
        return found

    def executions(self, key: Key) -> list[ExecutionState]:
        return list(self._merged(Kind.EXECUTION, key).values())

    def jobs(self, key: Key) -> dict[str, JobState]:
        return self._merged(Kind.JOB, key)

    def wrote(self, kind: Kind, key: Key, version: Versioned[Any]) -> None:
        """Remember an object as the operator just wrote it."""
        self._put(kind, key, version.name, version)

    def deleted(self, kind: Kind, key: Key, name: str) -> None:
        """Remember that the operator just deleted an object."""
        self._put(kind, key, name, None)

    def observed(
        self, kind: Kind, key: Key, name: str, resource_version: int, *, deleted: bool
    ) -> None:
        """The watch delivered this version of an object, or its deletion.

        An overlay entry goes as soon as the watch confirms or supersedes it, not
        only when a pass reads it: otherwise a write followed by a deletion, with
        no pass in between, would keep a deleted object alive until the TTL.
        """
        entry = self._overlay.get((kind, key[0], name))
        seen = None if deleted else resource_version
        if entry is not None and entry.overtaken(seen, deletion_seen=deleted):
            self._drop(kind, key, name)

    def _drop(self, kind: Kind, key: Key, name: str) -> None:
        del self._overlay[(kind, key[0], name)]
        names = self._by_key.get((kind, key))
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_key[(kind, key)]

    def _put(self, kind: Kind, key: Key, name: str, version: Versioned[Any] | None) -> None:
        entry_key = (kind, key[0], name)
        self._overlay[entry_key] = _Entry(key, version, self._clock() + OVERLAY_TTL)
        self._by_key.setdefault((kind, key), set()).add(name)

    def _merged(self, kind: Kind, key: Key) -> dict[str, Any]:
        index = self._indexes[kind]
        found: dict[str, Versioned[Any]] = {}
        if key in index:
            for version in index[key]:
                found[version.name] = version
        names = self._by_key.get((kind, key))
        if names:
            now = self._clock()
            for name in list(names):
                entry = self._overlay[(kind, key[0], name)]
                indexed = found.get(name)
                seen = indexed.resource_version if indexed is not None else None
                if entry.overtaken(seen, deletion_seen=False) or entry.expires <= now:
                    del self._overlay[(kind, key[0], name)]
                    names.discard(name)
                    continue
                if entry.version is None:
                    found.pop(name, None)
                else:
                    found[name] = entry.version
            if not names:
                del self._by_key[(kind, key)]
        return {name: version.obj for name, version in found.items()}
