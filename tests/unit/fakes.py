"""In-memory stand-ins for the API server and the operator's indexes, for the shell's unit tests.

`FakeKube` implements the `rerunnable.kube.client.Kube` Protocol the way the API
server answers the few calls the reconciler makes, and the Event `Recorder`:

- create: a taken name is 409 AlreadyExists; a missing name is 422; the server
  assigns `uid`, `resourceVersion` (one counter for every write, as etcd's
  revision) and `creationTimestamp`, and ignores any `status` sent on create
  (the status subresource, and a Job's status, are not set by POST);
- get / patch / delete of a missing object: 404 NotFound;
- status patches are JSON merge patches (RFC 7386): `null` deletes a key, lists
  are replaced whole; an Execution in a finished phase refuses to change phase
  (the CRD's CEL transition rule), as 422 Invalid;
- `reject_jobs(message)` makes every Job create answer 422 Invalid with that message;
  `fail_next(verb, error)` makes the next call of that verb raise `error`.

Every call is recorded in order in `calls` (failed ones too: the server saw
them), so tests can assert the write order; events are kept in `events`.

`FakeIndexes` is the operator's three indexes as plain dicts, keyed as the
controller files them: (namespace, RerunnableJob name) -> [Versioned(...)].
`sync(kube)` makes them what the watch streams would deliver once they caught
up with `kube`.

Nothing here imports kopf.
"""

import copy
import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rerunnable.api.names import (
    EXECUTION_KIND,
    LABEL_EXECUTION,
    LABEL_RERUNNABLE_JOB,
    RERUNNABLE_JOB_KIND,
)
from rerunnable.api.v1alpha1 import rfc3339
from rerunnable.controller.kinds import Key, Kind, Versioned, resource_version
from rerunnable.controller.store import Store
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from rerunnable.kube.client import Kube
from rerunnable.kube.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    KubeError,
    NotFoundError,
)
from rerunnable.kube.events import ObjectRef, Recorder

__all__ = [
    "JOB_KIND",
    "POD_KIND",
    "Call",
    "FakeIndex",
    "FakeIndexes",
    "FakeKube",
    "PostedEvent",
    "merge_patch",
]

JOB_KIND = "Job"
POD_KIND = "Pod"
Body = dict[str, Any]
FakeIndex = dict[Key, list[Versioned[Any]]]

_RESOURCE = {
    EXECUTION_KIND: "executions.rerunnable.dev",
    RERUNNABLE_JOB_KIND: "rerunnablejobs.rerunnable.dev",
    JOB_KIND: "jobs.batch",
}
_FINISHED = ("Succeeded", "Failed", "Interrupted")


@dataclass(frozen=True)
class Call:
    """One call the fake received: the Kube method's name, the object, and what was sent."""

    verb: str
    namespace: str
    name: str
    sent: Any = None


@dataclass(frozen=True)
class PostedEvent:
    regarding: Mapping[str, str]
    type: str
    reason: str
    message: str
    time: datetime


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: `null` deletes, objects merge, anything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FakeKube:
    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        self._clock = clock
        self._revision = itertools.count(1001)
        self._uids = itertools.count(1)
        self.objects: dict[tuple[str, str, str], Body] = {}
        self.calls: list[Call] = []
        self.events: list[PostedEvent] = []
        self._job_rejection: str | None = None
        self._failures: dict[str, list[KubeError]] = {}

    # -- test controls ------------------------------------------------------------------------

    def seed(self, kind: str, body: Mapping[str, Any]) -> Body:
        """Store an object as if it had been created earlier (status included); return it."""
        stored = copy.deepcopy(dict(body))
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", self._new_uid())
        meta.setdefault("creationTimestamp", rfc3339(self._clock()))
        meta["resourceVersion"] = self._next_revision()
        self.objects[(kind, meta["namespace"], meta["name"])] = stored
        return copy.deepcopy(stored)

    def remove(self, kind: str, namespace: str, name: str) -> None:
        """Delete an object behind the operator's back (a user, or the garbage collector)."""
        del self.objects[(kind, namespace, name)]
        self._next_revision()

    def modify(self, kind: str, namespace: str, name: str, patch: Mapping[str, Any]) -> Body:
        """Change an object as another actor would (a user, the Job controller); not a call."""
        stored = self._existing(kind, namespace, name)
        merged: Body = merge_patch(stored, patch)
        merged["metadata"]["resourceVersion"] = self._next_revision()
        self.objects[(kind, namespace, name)] = merged
        return copy.deepcopy(merged)

    def get(self, kind: str, namespace: str, name: str) -> Body | None:
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def names(self, kind: str) -> list[str]:
        return sorted(name for (k, _, name) in self.objects if k == kind)

    def reject_jobs(self, message: str) -> None:
        """Answer every Job create with 422 Invalid and this message (an invalid template)."""
        self._job_rejection = message

    def fail_next(self, verb: str, error: KubeError) -> None:
        """Make the next call of `verb` (a Kube method name) raise `error`."""
        self._failures.setdefault(verb, []).append(error)

    def verbs(self) -> list[tuple[str, str]]:
        """(verb, object name) of every call, in order."""
        return [(c.verb, c.name) for c in self.calls]

    def sent(self, verb: str, name: str) -> list[Any]:
        """What was sent with each call of `verb` about `name`, in order."""
        return [c.sent for c in self.calls if c.verb == verb and c.name == name]

    # -- the Kube protocol --------------------------------------------------------------------

    async def create_execution(self, namespace: str, body: Body) -> Body:
        return self._create("create_execution", EXECUTION_KIND, namespace, body)

    async def get_execution(self, namespace: str, name: str) -> Body:
        self._record("get_execution", namespace, name)
        return copy.deepcopy(self._existing(EXECUTION_KIND, namespace, name))

    async def patch_execution_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        self._record("patch_execution_status", namespace, name, status)
        return self._patch_status(EXECUTION_KIND, namespace, name, status, resource_version)

    async def delete_execution(
        self, namespace: str, name: str, *, resource_version: int | None = None
    ) -> None:
        self._record("delete_execution", namespace, name)
        stored = self.objects.get((EXECUTION_KIND, namespace, name))
        if (
            stored is not None
            and resource_version is not None
            and int(stored["metadata"]["resourceVersion"]) != resource_version
        ):
            raise ConflictError(
                409, "Conflict", f'Precondition failed: Execution "{name}" has changed'
            )
        self._delete(EXECUTION_KIND, namespace, name)

    async def create_job(self, namespace: str, body: Body) -> Body:
        return self._create("create_job", JOB_KIND, namespace, body)

    async def list_pods(self, namespace: str, execution: str) -> list[Body]:
        self._record("list_pods", namespace, execution)
        return [
            copy.deepcopy(body)
            for (kind, ns, _), body in sorted(self.objects.items())
            if kind == POD_KIND
            and ns == namespace
            and (body["metadata"].get("labels") or {}).get(LABEL_EXECUTION) == execution
        ]

    async def get_job(self, namespace: str, name: str) -> Body:
        self._record("get_job", namespace, name)
        return copy.deepcopy(self._existing(JOB_KIND, namespace, name))

    async def delete_job(self, namespace: str, name: str) -> None:
        self._record("delete_job", namespace, name)
        self._delete(JOB_KIND, namespace, name)

    async def patch_rerunnable_job_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: int | None = None,
    ) -> Body:
        self._record("patch_rerunnable_job_status", namespace, name, status)
        return self._patch_status(RERUNNABLE_JOB_KIND, namespace, name, status, resource_version)

    def post(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        sent = {"type": type_, "reason": reason, "message": message}
        self._record("post_event", regarding["namespace"], regarding["name"], sent)
        self.events.append(PostedEvent(dict(regarding), type_, reason, message, now))

    async def post_now(
        self, regarding: ObjectRef, type_: str, reason: str, message: str, now: datetime
    ) -> None:
        self.post(regarding, type_, reason, message, now)

    # -- the server's behaviour ---------------------------------------------------------------

    def _record(self, verb: str, namespace: str, name: str, sent: Any = None) -> None:
        self.calls.append(Call(verb, namespace, name, copy.deepcopy(sent)))
        failures = self._failures.get(verb)
        if failures:
            raise failures.pop(0)

    def _next_revision(self) -> str:
        return str(next(self._revision))

    def _new_uid(self) -> str:
        return f"uid-{next(self._uids):04d}"

    def _existing(self, kind: str, namespace: str, name: str) -> Body:
        found = self.objects.get((kind, namespace, name))
        if found is None:
            raise NotFoundError(404, "NotFound", f'{_RESOURCE[kind]} "{name}" not found')
        return found

    def _create(self, verb: str, kind: str, namespace: str, body: Body) -> Body:
        name = str((body.get("metadata") or {}).get("name") or "")
        self._record(verb, namespace, name, body)
        if kind == JOB_KIND and self._job_rejection is not None:
            raise InvalidError(422, "Invalid", self._job_rejection)
        if not name:
            raise InvalidError(
                422,
                "Invalid",
                f"{_RESOURCE[kind]} is invalid: metadata.name: Required value: name is required",
            )
        meta_namespace = body["metadata"].get("namespace")
        if meta_namespace not in (None, namespace):
            raise KubeError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on "
                "the request",
            )
        if (kind, namespace, name) in self.objects:
            raise AlreadyExistsError(
                409, "AlreadyExists", f'{_RESOURCE[kind]} "{name}" already exists'
            )
        stored: Body = _without_nulls(body)  # the API server drops nulls from what it stores
        stored.pop("status", None)  # POST never sets a status
        meta = stored["metadata"]
        meta["namespace"] = namespace
        meta["uid"] = self._new_uid()
        meta["resourceVersion"] = self._next_revision()
        meta["creationTimestamp"] = rfc3339(self._clock())
        meta.setdefault("generation", 1)
        self.objects[(kind, namespace, name)] = stored
        return copy.deepcopy(stored)

    def _patch_status(
        self,
        kind: str,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        resource_version: int | None = None,
    ) -> Body:
        stored = self._existing(kind, namespace, name)
        if resource_version is not None and int(stored["metadata"]["resourceVersion"]) != int(
            resource_version
        ):
            raise ConflictError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind} "{name}": the object has been modified',
            )
        new_status = merge_patch(stored.get("status") or {}, status)
        if kind == EXECUTION_KIND:
            old_phase = (stored.get("status") or {}).get("phase")
            if old_phase in _FINISHED and new_status.get("phase") != old_phase:
                raise InvalidError(
                    422,
                    "Invalid",
                    f'Execution.rerunnable.dev "{name}" is invalid: status: Invalid value: '
                    '"object": a finished Execution\'s phase never changes',
                )
        stored["status"] = new_status
        stored["metadata"]["resourceVersion"] = self._next_revision()
        return copy.deepcopy(stored)

    def _delete(self, kind: str, namespace: str, name: str) -> None:
        self._existing(kind, namespace, name)
        self.remove(kind, namespace, name)


if TYPE_CHECKING:
    _conforms: type[Kube] = FakeKube
    _records: type[Recorder] = FakeKube


@dataclass
class FakeIndexes:
    """The operator's three indexes as plain dicts, keyed as the controller files them
    (rerunnable.controller.kinds)."""

    rerunnable_jobs: FakeIndex = field(default_factory=dict)
    executions: FakeIndex = field(default_factory=dict)
    jobs: FakeIndex = field(default_factory=dict)

    def by_kind(self) -> dict[Kind, FakeIndex]:
        return {
            Kind.RERUNNABLE_JOB: self.rerunnable_jobs,
            Kind.EXECUTION: self.executions,
            Kind.JOB: self.jobs,
        }

    def store(self, clock: Callable[[], float]) -> Store:
        return Store(self.by_kind(), clock=clock)

    def add(self, kind: str, body: Mapping[str, Any]) -> None:
        """Index one object as its watch event would (replacing an older version)."""
        meta = body["metadata"]
        name = str(meta["name"])
        namespace = str(meta["namespace"])
        index: FakeIndex
        if kind == RERUNNABLE_JOB_KIND:
            index, key = self.rerunnable_jobs, (namespace, name)
            state: Any = RerunnableJobState.from_body(body)
        elif kind == EXECUTION_KIND:
            execution = ExecutionState.from_body(body)
            index, key, state = (
                self.executions,
                (namespace, execution.spec.rerunnable_job),
                execution,
            )
        else:
            labels = meta.get("labels") or {}
            if LABEL_EXECUTION not in labels or LABEL_RERUNNABLE_JOB not in labels:
                return  # not one of ours: the Job index selects on both labels
            index, key = self.jobs, (namespace, labels[LABEL_RERUNNABLE_JOB])
            state = JobState.from_body(body)
        versions = [v for v in index.get(key, []) if v.name != name]
        index[key] = [*versions, Versioned(name, resource_version(body), state)]

    def sync(
        self, kube: FakeKube, store: Store | None = None, only: Collection[str] | None = None
    ) -> None:
        """Catch up with everything `kube` holds, as the watch streams eventually do.

        With `store`, also tell it what the watch delivered, as the event handlers do.
        `only` names the streams that catch up (Kind values); the others lag.
        """
        streams = {
            Kind.RERUNNABLE_JOB: (RERUNNABLE_JOB_KIND, self.rerunnable_jobs),
            Kind.EXECUTION: (EXECUTION_KIND, self.executions),
            Kind.JOB: (JOB_KIND, self.jobs),
        }
        chosen = set(streams) if only is None else {Kind(k) for k in only}
        before = self._seen()
        for stream in chosen:
            streams[stream][1].clear()
        kinds = {streams[stream][0] for stream in chosen}
        for (kind, _, _), body in sorted(kube.objects.items()):
            if kind in kinds:
                self.add(kind, body)
        if store is None:
            return
        after = self._seen()
        for (stream, key, name), version in after.items():
            if stream in chosen:
                store.observed(stream, key, name, version, deleted=False)
        for (stream, key, name), version in before.items():
            if stream in chosen and (stream, key, name) not in after:
                store.observed(stream, key, name, version + 1, deleted=True)

    def _seen(self) -> dict[tuple[Kind, Any, str], int]:
        """(kind, key, name) -> resourceVersion of everything indexed."""
        seen = {}
        for kind, index in self.by_kind().items():
            for key, versions in index.items():
                for v in versions:
                    seen[(kind, key, v.name)] = v.resource_version
        return seen
