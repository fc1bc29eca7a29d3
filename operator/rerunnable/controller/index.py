"""The operator's own indexes: the newest known version of each watched object, by RerunnableJob.

Fed by kopf's watch events and by one list per kind at start-up (`listing`).
They replace `@kopf.index`: kopf holds every object's handler until all
indexes are listed, and does so with one toggle per object, each of which wakes
every waiting object when it changes. That made start-up quadratic: 6 s with
1000 RerunnableJobs, over 5 minutes with 10000 (bench/README.md). Here the
wait is a single event: the workers start once the three lists are in.

A list and the watch run at once, so a listed version never overwrites a newer
one, and a deletion seen during the listing is remembered (with its
resourceVersion) so that the list cannot bring the object back.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from rerunnable.controller.kinds import FILING, Key, Kind, Versioned, resource_version

__all__ = ["Indexes", "ObjectIndex", "entry"]

Body = Mapping[str, Any]
_Id = tuple[str, str]  # (namespace, name) of the indexed object itself


def entry(kind: Kind, body: Body) -> tuple[Key, Versioned[Any]]:
    """Where an object of `kind` is filed, and what its index keeps of it (`Filing.keep`)
    with its resourceVersion."""
    filing = FILING[kind]
    meta = body.get("metadata") or {}
    version = Versioned(str(meta.get("name", "")), resource_version(body), filing.keep(body))
    return filing.key_of(body), version


class ObjectIndex(Mapping[Key, Iterable[Versioned[Any]]]):
    """RerunnableJob key -> the versions of the objects indexed under it.

    Put in: what `Filing.keep` made of each object; read out: the state `state_of` makes
    of that (None: what was put in).
    """

    def __init__(self, state_of: Callable[[Any], Any] | None = None) -> None:
        self._state_of = state_of
        self._by_key: dict[Key, dict[str, Versioned[Any]]] = {}
        self._where: dict[_Id, Key] = {}
        # Deletions seen while the initial list may still be arriving; None once listed.
        self._gone: dict[_Id, int] | None = {}

    def __getitem__(self, key: Key) -> Iterable[Versioned[Any]]:
        versions = self._by_key[key].values()
        return versions if self._state_of is None else [self._read(v) for v in versions]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def find(self, namespace: str, name: str) -> Versioned[Any] | None:
        """An object by its own namespace and name, wherever it is filed."""
        known = self._known((namespace, name))
        return None if known is None else self._read(known)

    def snapshot(self) -> list[tuple[Key, Versioned[Any]]]:
        """Every kept version (as put in) with its key; safe to call from another thread.

        For the metrics scrape, which runs in prometheus_client's HTTP thread while the
        event loop changes the index. Each dict is copied in one C call that runs no Python
        code (`dict.copy`, `list(d.values())`: no object is made while copying, so no
        garbage collection, whose callbacks are Python code, can let the loop run halfway),
        so under the GIL the loop cannot change it meanwhile; what is copied (keys, frozen
        `Versioned`s) is immutable. Not `list(d.items())`: the tuples it makes can start a
        collection halfway, and a loop that puts one job and deletes another meanwhile (same
        size, so no RuntimeError) made one scrape in a dozen see 64 jobs of 500 (the threaded
        test in tests/unit/test_metrics.py).
        """
        return [
            (key, version)
            for key, versions in self._by_key.copy().items()
            for version in list(versions.values())
        ]

    def filed_under(self, namespace: str, name: str) -> Key | None:
        """The RerunnableJob an object is filed under."""
        return self._where.get((namespace, name))

    def put(self, key: Key, version: Versioned[Any]) -> None:
        """A version from the watch; an older one than known is ignored."""
        object_id = (key[0], version.name)
        known = self._known(object_id)
        if known is not None and known.resource_version > version.resource_version:
            return
        self._discard(object_id)
        self._by_key.setdefault(key, {})[version.name] = version
        self._where[object_id] = key

    def remove(self, namespace: str, name: str, resource_version: int) -> None:
        """The watch saw the object deleted."""
        object_id = (namespace, name)
        self._discard(object_id)
        if self._gone is not None:
            self._gone[object_id] = max(resource_version, self._gone.get(object_id, 0))

    def listed(self, entries: Iterable[tuple[Key, Versioned[Any]]]) -> None:
        """The initial list: what the watch has not already told newer news of."""
        assert self._gone is not None, "listed twice"
        for key, version in entries:
            object_id = (key[0], version.name)
            if self._gone.get(object_id, -1) >= version.resource_version:
                continue
            self.put(key, version)
        self._gone = None

    def _read(self, kept: Versioned[Any]) -> Versioned[Any]:
        if self._state_of is None:
            return kept
        return Versioned(kept.name, kept.resource_version, self._state_of(kept.obj))

    def _known(self, object_id: _Id) -> Versioned[Any] | None:
        key = self._where.get(object_id)
        return None if key is None else self._by_key[key].get(object_id[1])

    def _discard(self, object_id: _Id) -> None:
        key = self._where.pop(object_id, None)
        if key is None:
            return
        versions = self._by_key[key]
        versions.pop(object_id[1], None)
        if not versions:
            del self._by_key[key]


class Indexes(Mapping[Kind, ObjectIndex]):
    """One ObjectIndex per watched kind."""

    def __init__(self) -> None:
        self._by_kind = {kind: ObjectIndex(FILING[kind].state_of) for kind in Kind}

    def __getitem__(self, kind: Kind) -> ObjectIndex:
        return self._by_kind[kind]

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._by_kind)

    def __len__(self) -> int:
        return len(self._by_kind)
